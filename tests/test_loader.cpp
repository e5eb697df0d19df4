// The streaming loader (loader.h): a checkpoint fed in pieces of any size loads into exactly the
// model Model::load makes from the whole file, refuses every bad file with the same message, and
// never holds more than the model plus one row (or one transposed tensor) of the file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "bad_files.h"
#include "checkpoint.h"
#include "helpers.h"
#include "loader.h"
#include "model.h"
#include "safetensors.h"
#include "weights_format.h"

using namespace gpt;
using Catch::Matchers::Contains;

namespace {

// Feeds `bytes` in pieces of `piece` bytes (the last one shorter).
Result<Model> stream(const CheckpointFiles& side, const std::vector<uint8_t>& bytes, size_t piece,
                     WeightsIn w = WeightsIn::automatic, ModelLoader** out = nullptr, uint64_t max_memory = UINT64_MAX) {
    static std::unique_ptr<ModelLoader> keep;  // for peak_bytes() after the call
    keep = std::make_unique<ModelLoader>(side, bytes.size(), max_memory, w);
    if (out) *out = keep.get();
    for (size_t at = 0; at < bytes.size(); at += piece) {
        if (Status s = keep->feed(bytes.data() + at, std::min(piece, bytes.size() - at)); !s) return Result<Model>::fail(s.error);
    }
    return keep->finish();
}

std::vector<float> logits_of(const Model& m, const std::vector<int>& tokens) {
    RunState s(m.config());
    REQUIRE(forward(m, s, tokens.data(), static_cast<int>(tokens.size()), 0).ok());
    return s.logits;
}

struct Hf {  // tests/data/gpt2-hf: Conv1D weights stored [in, out] (transposed at load), mask buffers
    std::vector<uint8_t> weights = read_bytes(data_path("gpt2-hf/model.safetensors"));
    CheckpointFiles side() const {
        CheckpointFiles f;
        f.tokenizer_json = read_text(data_path("bpe/tokenizer.json"));
        f.config_json = read_text(data_path("gpt2-hf/config.json"));
        return f;
    }
};

}  // namespace

TEST_CASE("a checkpoint fed in pieces loads into the same model, in every format", "[loader]") {
    const Hf hf;
    struct Case {
        const char* name;
        std::vector<uint8_t> bytes;
        CheckpointFiles side;
        std::vector<int> tokens;
    };
    std::vector<Case> cases = {{"tiny-f32", read_bytes(data_path("tiny-f32.safetensors")), {}, {1, 2, 3, 4, 5}},
                               {"tiny-f16", read_bytes(data_path("tiny-f16.safetensors")), {}, {5, 4, 3}},
                               {"shipped", read_bytes(std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors"), {}, {20, 30, 40, 50}},
                               {"gpt2-hf", hf.weights, hf.side(), {1, 2, 3, 50256}}};
    for (const Case& c : cases) {
        for (WeightsIn w : {WeightsIn::f32, WeightsIn::f16, WeightsIn::int8}) {
            CheckpointFiles whole = c.side;
            whole.weights = c.bytes.data();
            whole.weights_size = c.bytes.size();
            auto ref = Model::load(whole, UINT64_MAX, w);
            REQUIRE(ref.ok());
            const auto want = logits_of(ref.value(), c.tokens);
            for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, size_t{4096}, size_t{65536}, c.bytes.size()}) {
                if (piece == 1 && c.bytes.size() > (1 << 20)) continue;  // byte by byte: only the small files
                INFO(c.name << " as " << weights_in_name(w) << " in pieces of " << piece);
                auto m = stream(c.side, c.bytes, piece, w);
                INFO(m.error());
                REQUIRE(m.ok());
                REQUIRE(m->weights_format() == ref->weights_format());
                REQUIRE(m->weights_bytes() == ref->weights_bytes());
                REQUIRE(m->num_params() == ref->num_params());
                REQUIRE(m->dtype() == ref->dtype());
                REQUIRE(logits_of(m.value(), c.tokens) == want);  // bitwise
            }
        }
    }
}

TEST_CASE("every bad file is refused in pieces with the message of a whole load", "[loader][safetensors]") {
    for (const BadFile& c : bad_files(GPT_TEST_DATA)) {
        for (size_t piece : {size_t{1}, size_t{5}, size_t{64}, size_t{1} << 20}) {
            INFO(c.name << " in pieces of " << piece);
            auto m = stream({}, c.bytes, piece);
            REQUIRE_FALSE(m.ok());
            REQUIRE_THAT(m.error(), Contains(c.message));
        }
    }
}

TEST_CASE("a stream that ends early, runs long or is fed after a failure is refused", "[loader]") {
    const auto bytes = read_bytes(data_path("tiny-f32.safetensors"));
    for (size_t cut : {size_t{0}, size_t{4}, size_t{8}, size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
        INFO("cut at " << cut);
        ModelLoader l({}, bytes.size());
        REQUIRE(l.feed(bytes.data(), cut).ok());
        auto m = l.finish();
        REQUIRE_FALSE(m.ok());
        REQUIRE_THAT(m.error(), Contains("the file ended after " + std::to_string(cut) + " of its " + std::to_string(bytes.size()) + " bytes"));
    }
    ModelLoader l({}, bytes.size() - 1);  // a file that grew while it was read
    const Status s = l.feed(bytes.data(), bytes.size());
    REQUIRE_FALSE(s.ok());
    REQUIRE_THAT(s.error, Contains("more bytes than the file's"));
    REQUIRE(l.feed(bytes.data(), 1).error == s.error);  // failed once, failed for good
    REQUIRE(l.finish().error() == s.error);
    REQUIRE(l.held_bytes() == 0);  // nothing of a failed load is kept
}

TEST_CASE("an lm_head seen before wte's data is tied when the bytes match", "[loader][gpt2]") {
    // GPT2LMHeadModel's files may carry the tied head as a copy of wte: streamed, the loader cannot
    // compare it before converting; it compares after and ties it.
    Hf hf;
    const auto side = hf.side();
    auto base = stream(side, hf.weights, 1 << 20);
    REQUIRE(base.ok());
    for (bool untie : {false, true}) {
        SafetensorsParts parts(hf.weights);
        parts.append_lm_head("wte.weight", untie);
        const auto file = parts.file();
        for (WeightsIn w : {WeightsIn::f32, WeightsIn::int8}) {
            auto m = stream(side, file, 4096, w);
            REQUIRE(m.ok());
            REQUIRE(m->weights().tied() == !untie);
            REQUIRE(m->num_params() == base->num_params() + (untie ? 50257u * 16 : 0));
        }
    }
}

TEST_CASE("streaming holds the model plus one row, or one transposed tensor, never the file", "[loader][memory]") {
    const auto shipped = read_bytes(std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors");
    const Hf hf;
    for (WeightsIn w : {WeightsIn::f32, WeightsIn::f16, WeightsIn::int8}) {
        for (size_t piece : {size_t{4096}, size_t{65536}}) {
            INFO(weights_in_name(w) << " in pieces of " << piece);
            // The engine's own layout: nothing is transposed, so what is kept back is at most a row
            // (plus the header, and a row's float32 scratch for a compact format).
            ModelLoader* l = nullptr;
            auto m = stream({}, shipped, piece, w, &l);
            REQUIRE(m.ok());
            const uint64_t header = 8 + safetensors::header_bytes(shipped.data());
            const uint64_t C = static_cast<uint64_t>(m->config().n_embd);
            const uint64_t row = 4 * 4 * C;  // the widest row: (4C) floats
            REQUIRE(l->peak_bytes() >= m->weights_bytes());
            REQUIRE(l->peak_bytes() <= m->weights_bytes() + header + row + 4 * 4 * C);
            REQUIRE(l->peak_bytes() < m->weights_bytes() + shipped.size() / 4);  // far from file + model

            // Hugging Face's layout: Conv1D weights are taken whole, with their float32 copy.
            auto h = stream(hf.side(), hf.weights, piece, w, &l);
            REQUIRE(h.ok());
            auto file = safetensors::parse(hf.weights.data(), hf.weights.size());
            uint64_t largest = 0;
            for (const auto& t : file->tensors) {
                if (t.shape.size() == 2 && t.name != "wte.weight" && t.name != "wpe.weight") {  // the Conv1D weights
                    largest = std::max<uint64_t>(largest, (t.end - t.begin) + 4 * t.numel + 4 * static_cast<uint64_t>(t.shape[0]));
                }
            }
            const uint64_t hf_header = 8 + safetensors::header_bytes(hf.weights.data());
            REQUIRE(largest > 0);
            const uint64_t hf_row = 4 * 4 * static_cast<uint64_t>(h->config().n_embd);
            REQUIRE(l->peak_bytes() <= h->weights_bytes() + hf_header + largest + 2 * hf_row);
        }
    }
}
