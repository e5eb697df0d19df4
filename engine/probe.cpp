#include "probe.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "ops/ops.h"

namespace gpt {

bool Interventions::any() const {
    return std::any_of(modes.begin(), modes.end(), [](HeadMode m) { return m != HeadMode::normal; });
}

Status Interventions::set_list(const std::string& list, HeadMode mode) {
    std::vector<std::pair<int, int>> heads;
    size_t at = 0;
    while (at <= list.size() && !list.empty()) {
        const size_t comma = std::min(list.find(',', at), list.size());
        const std::string item = list.substr(at, comma - at);
        const size_t dot = item.find('.');
        auto number = [](const std::string& t, int* out) {
            if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos) return false;
            *out = std::atoi(t.c_str());
            return true;
        };
        int l = -1, h = -1;
        if (dot == std::string::npos || !number(item.substr(0, dot), &l) || !number(item.substr(dot + 1), &h)) {
            return Status::fail("'" + item + "' is not a head: write layer.head, e.g. 0.1");
        }
        if (l >= n_layer || h >= n_head) {
            return Status::fail("head " + item + " does not exist: the model has layers 0-" + std::to_string(n_layer - 1) +
                                " and heads 0-" + std::to_string(n_head - 1));
        }
        heads.emplace_back(l, h);
        at = comma + 1;
    }
    for (const auto& [l, h] : heads) set(l, h, mode);
    return Status::success();
}

std::string Interventions::list(HeadMode mode) const {
    std::string s;
    for (int l = 0; l < n_layer; l++)
        for (int h = 0; h < n_head; h++)
            if (at(l, h) == mode) s += (s.empty() ? "" : ",") + std::to_string(l) + "." + std::to_string(h);
    return s;
}

Probe::Probe(const Config& c, std::vector<int> positions, int layer, int head)
    : c_(c), positions_(std::move(positions)), layer_(layer), head_(head) {
    const int L = c.n_layer, C = c.n_embd, hs = c.head_size();
    heads_ = (layer_ >= 0 ? 1 : L) * (head_ >= 0 ? 1 : c.n_head);
    T_ = 1;
    for (int p : positions_) T_ = std::max(T_, p + 1);
    const size_t P = positions_.size();
    resid_.assign(P * (L + 1) * C, 0.0f);
    attn_.assign(P * L * C, 0.0f);
    mlp_.assign(P * L * C, 0.0f);
    q_.assign(P * heads_ * hs, 0.0f);
    out_.assign(q_.size(), 0.0f);
    scores_.assign(P * heads_ * T_, 0.0f);
    probs_.assign(scores_.size(), 0.0f);
}

int Probe::slot(int pos) const {
    for (size_t i = 0; i < positions_.size(); i++)
        if (positions_[i] == pos) return static_cast<int>(i);
    return -1;
}

size_t Probe::head_index(int i, int layer, int head) const {
    const int l = layer_ >= 0 ? 0 : layer, h = head_ >= 0 ? 0 : head;
    const int per_layer = head_ >= 0 ? 1 : c_.n_head;
    return static_cast<size_t>(i) * heads_ + static_cast<size_t>(l) * per_layer + h;
}

size_t Probe::resid_at(int i, int layer) const { return (static_cast<size_t>(i) * (c_.n_layer + 1) + layer + 1) * c_.n_embd; }
size_t Probe::block_at(int i, int layer) const { return (static_cast<size_t>(i) * c_.n_layer + layer) * c_.n_embd; }

const float* Probe::residual(int i, int layer) const { return resid_.data() + resid_at(i, layer); }
const float* Probe::attn_out(int i, int layer) const { return attn_.data() + block_at(i, layer); }
const float* Probe::mlp_out(int i, int layer) const { return mlp_.data() + block_at(i, layer); }
const float* Probe::q(int i, int layer, int head) const { return q_.data() + head_index(i, layer, head) * c_.head_size(); }
const float* Probe::out(int i, int layer, int head) const { return out_.data() + head_index(i, layer, head) * c_.head_size(); }
const float* Probe::scores(int i, int layer, int head) const { return scores_.data() + head_index(i, layer, head) * T_; }
const float* Probe::probs(int i, int layer, int head) const { return probs_.data() + head_index(i, layer, head) * T_; }

void Probe::residual(int layer, int pos, const float* x) {
    std::memcpy(resid_.data() + resid_at(slot(pos), layer), x, sizeof(float) * c_.n_embd);
}
void Probe::attn_output(int layer, int pos, const float* a) {
    std::memcpy(attn_.data() + block_at(slot(pos), layer), a, sizeof(float) * c_.n_embd);
}
void Probe::mlp_output(int layer, int pos, const float* m) {
    std::memcpy(mlp_.data() + block_at(slot(pos), layer), m, sizeof(float) * c_.n_embd);
}
void Probe::head_scores(int layer, int head, int pos, const float* q_in, const float* scores_in) {
    if (!records_head(layer, head)) return;
    const size_t k = head_index(slot(pos), layer, head);
    std::memcpy(q_.data() + k * c_.head_size(), q_in, sizeof(float) * c_.head_size());
    std::memcpy(scores_.data() + k * T_, scores_in, sizeof(float) * (pos + 1));
}
void Probe::head_output(int layer, int head, int pos, const float* probs_in, const float* out_in) {
    if (!records_head(layer, head)) return;
    const size_t k = head_index(slot(pos), layer, head);
    std::memcpy(probs_.data() + k * T_, probs_in, sizeof(float) * (pos + 1));
    std::memcpy(out_.data() + k * c_.head_size(), out_in, sizeof(float) * c_.head_size());
}

const float* key(const RunState& s, int layer, int head, int j) {
    return s.keys(layer, head) + static_cast<size_t>(j) * s.config.head_size();
}
const float* value(const RunState& s, int layer, int head, int j) {
    return s.values(layer, head) + static_cast<size_t>(j) * s.config.head_size();
}

void temper(float* out, const float* scores, int n, int n_valid, float alpha) {
    for (int j = 0; j < n_valid; j++) out[j] = alpha * scores[j];
    ops::masked_softmax(out, n, n_valid);
}

void lens(const Model& m, const float* x, float* scratch, float* out) {
    const Config& c = m.config();
    const Weights& w = m.weights();
    // The same kernels, in the same order, as the end of forward() and logits_of_row().
    ops::layernorm(scratch, x, w.lnf_w, w.lnf_b, c.n_embd);
    ops::matvec_w(out, w.lm_head, scratch, nullptr, c.vocab_size, c.n_embd);
    ops::masked_softmax(out, c.vocab_size, c.vocab_size);
}

std::vector<int> top_indices(const float* p, int n, int k) {
    k = std::max(0, std::min(k, n));
    std::vector<int> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [p](int a, int b) { return p[a] != p[b] ? p[a] > p[b] : a < b; });
    idx.resize(static_cast<size_t>(k));
    return idx;
}

}  // namespace gpt
