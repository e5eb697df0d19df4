// The engine against the references weights/reference.py writes with PyTorch: a reference is a
// safetensors file of tensors (logits, att.<layer> of shape (NH, n, n), ...) with the inputs and
// scalar results (token ids, loss) in its metadata. Tolerances: helpers.h.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "helpers.h"
#include "model.h"
#include "safetensors.h"

struct Reference {
    std::vector<uint8_t> bytes;
    gpt::safetensors::File file;

    Reference(const Reference&) = delete;  // file points into bytes
    explicit Reference(const std::string& path) : bytes(read_bytes(path)) {
        auto f = gpt::safetensors::parse(bytes.data(), bytes.size());
        INFO(path);
        REQUIRE(f.ok());
        file = f.take();
    }
    const std::string& meta(const std::string& key) const { return file.metadata.at(key); }
    std::vector<int> ints(const std::string& key) const { return nlohmann::json::parse(meta(key)).get<std::vector<int>>(); }
    std::vector<float> tensor(const std::string& name) const {
        const auto* t = file.find(name);
        INFO(name);
        REQUIRE(t);
        std::vector<float> v(t->numel);
        gpt::safetensors::to_f32(file, *t, v.data());
        return v;
    }
};

// A checkpoint that must load (its weight matrices kept in `weights_in`).
inline gpt::Model load_model(const std::vector<uint8_t>& bytes, gpt::WeightsIn weights_in = gpt::WeightsIn::automatic) {
    auto m = gpt::Model::load(bytes.data(), bytes.size(), UINT64_MAX, weights_in);
    INFO(m.error());
    REQUIRE(m.ok());
    return m.take();
}

// 0, 1, ..., n - 1.
inline std::vector<int> first_rows(int n) {
    std::vector<int> r(static_cast<size_t>(n));
    std::iota(r.begin(), r.end(), 0);
    return r;
}

// After forward(): the largest |engine - reference| / max(1, |reference|) over the logits of the
// window positions `rows`; want holds V logits for each of them, in that order.
inline double max_logit_error(const gpt::Model& m, const gpt::RunState& s, const std::vector<int>& rows,
                              const std::vector<float>& want) {
    const size_t V = static_cast<size_t>(m.config().vocab_size);
    std::vector<float> got(V);
    double worst = 0;
    for (size_t r = 0; r < rows.size(); r++) {
        gpt::logits_of_row(m, s, rows[r], got.data());
        for (size_t v = 0; v < V; v++) {
            const double w = want[r * V + v];
            worst = std::max(worst, std::fabs(got[v] - w) / std::max(1.0, std::fabs(w)));
        }
    }
    return worst;
}

// After forward() over n positions: the largest |engine - reference| over the attention of every
// layer, head, query and key (the future included: zero in both).
inline double max_attention_error(const gpt::RunState& s, const Reference& ref, int n) {
    double worst = 0;
    for (int l = 0; l < s.config.n_layer; l++) {
        const auto att = ref.tensor("att." + std::to_string(l));  // (NH, n, n)
        for (int h = 0; h < s.config.n_head; h++)
            for (int p = 0; p < n; p++)
                for (int j = 0; j < n; j++) {
                    const double r = att[(static_cast<size_t>(h) * n + p) * n + j];
                    worst = std::max(worst, std::fabs(s.att_row(l, h, p)[j] - r));
                }
    }
    return worst;
}
