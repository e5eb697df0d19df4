#include "model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include "checkpoint.h"
#include "loader.h"
#include "ops/ops.h"
#include "parallel.h"
#include "probe.h"
#include "safetensors.h"
#include "weights_format.h"

namespace gpt {

Status validate(const Config& c, const ConfigLimits& lim) {
    struct Field {
        const char* name;
        int value, max;
    };
    for (const Field& f : {Field{"n_layer", c.n_layer, lim.max_layers}, Field{"n_head", c.n_head, lim.max_heads},
                           Field{"n_embd", c.n_embd, lim.max_embd}, Field{"block_size", c.block_size, lim.max_context},
                           Field{"vocab_size", c.vocab_size, lim.max_vocab}}) {
        if (f.value <= 0) return Status::fail(std::string(f.name) + " must be positive, got " + std::to_string(f.value));
        if (f.value > f.max) {
            return Status::fail(std::string(f.name) + " " + std::to_string(f.value) + " exceeds the limit of " +
                                std::to_string(f.max));
        }
    }
    if (c.n_embd % c.n_head != 0) {
        return Status::fail("n_head " + std::to_string(c.n_head) + " does not divide n_embd " + std::to_string(c.n_embd));
    }
    return Status::success();
}

std::vector<TensorSpec> tensor_specs(const Config& c) {
    const int64_t C = c.n_embd, V = c.vocab_size, T = c.block_size;
    struct Part {
        const char* name;
        std::vector<int64_t> shape;
        bool linear;
        const float* LayerWeights::*field;
        ops::WeightView LayerWeights::*matrix;
    };
    const Part block[] = {
        {"ln_1.weight", {C}, false, &LayerWeights::ln1_w, nullptr},
        {"ln_1.bias", {C}, false, &LayerWeights::ln1_b, nullptr},
        {"attn.c_attn.weight", {3 * C, C}, true, nullptr, &LayerWeights::qkv_w},
        {"attn.c_attn.bias", {3 * C}, false, &LayerWeights::qkv_b, nullptr},
        {"attn.c_proj.weight", {C, C}, true, nullptr, &LayerWeights::attn_proj_w},
        {"attn.c_proj.bias", {C}, false, &LayerWeights::attn_proj_b, nullptr},
        {"ln_2.weight", {C}, false, &LayerWeights::ln2_w, nullptr},
        {"ln_2.bias", {C}, false, &LayerWeights::ln2_b, nullptr},
        {"mlp.c_fc.weight", {4 * C, C}, true, nullptr, &LayerWeights::fc_w},
        {"mlp.c_fc.bias", {4 * C}, false, &LayerWeights::fc_b, nullptr},
        {"mlp.c_proj.weight", {C, 4 * C}, true, nullptr, &LayerWeights::mlp_proj_w},
        {"mlp.c_proj.bias", {C}, false, &LayerWeights::mlp_proj_b, nullptr},
    };
    std::vector<TensorSpec> s = {{"wte.weight", {V, C}, false, -1, nullptr, nullptr, &Weights::wte, nullptr},
                                 {"wpe.weight", {T, C}, false, -1, &Weights::wpe, nullptr, nullptr, nullptr}};
    for (int l = 0; l < c.n_layer; l++) {
        for (const Part& x : block) {
            s.push_back({"h." + std::to_string(l) + "." + x.name, x.shape, x.linear, l, nullptr, x.field, nullptr, x.matrix});
        }
    }
    s.push_back({"ln_f.weight", {C}, false, -1, &Weights::lnf_w, nullptr, nullptr, nullptr});
    s.push_back({"ln_f.bias", {C}, false, -1, &Weights::lnf_b, nullptr, nullptr, nullptr});
    return s;
}

TensorSpec lm_head_spec(const Config& c) {
    return {"lm_head.weight", {c.vocab_size, c.n_embd}, false, -1, nullptr, nullptr, &Weights::lm_head, nullptr};
}

void TensorSpec::point(Weights& w, const float* p) const {
    if (matrix()) return point(w, ops::WeightView::f32(p));
    if (layer < 0) w.*global = p;
    else w.layers[static_cast<size_t>(layer)].*field = p;
}

void TensorSpec::point(Weights& w, ops::WeightView v) const {
    if (layer < 0) w.*global_matrix = v;
    else w.layers[static_cast<size_t>(layer)].*field_matrix = v;
}

ops::WeightView TensorSpec::view(const Weights& w) const {
    if (!matrix()) return ops::WeightView::f32(layer < 0 ? w.*global : w.layers[static_cast<size_t>(layer)].*field);
    return layer < 0 ? w.*global_matrix : w.layers[static_cast<size_t>(layer)].*field_matrix;
}

int64_t TensorSpec::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

uint64_t tensor_bytes(const TensorSpec& t, ops::WFormat format) {
    if (!t.matrix() || format == ops::WFormat::F32) return 4 * static_cast<uint64_t>(t.numel());
    return matrix_bytes(format, static_cast<uint64_t>(t.shape[0]), static_cast<uint64_t>(t.shape[1]));
}

uint64_t count_params(const Config& c, bool untied_head) {
    const uint64_t C = static_cast<uint64_t>(c.n_embd), V = static_cast<uint64_t>(c.vocab_size);
    return V * C * (untied_head ? 2 : 1) + static_cast<uint64_t>(c.block_size) * C +
           static_cast<uint64_t>(c.n_layer) * (12 * C * C + 13 * C) + 2 * C;
}

MemoryNeeds memory_needs(const Config& c, bool untied_head, ops::WFormat format) {
    const uint64_t state = RunState::bytes_needed(c, kGenerateRows);  // a Generator's
    if (format == ops::WFormat::F32) return {4 * count_params(c, untied_head), state};
    uint64_t bytes = 0;
    for (const TensorSpec& t : tensor_specs(c)) bytes += tensor_bytes(t, format);
    if (untied_head) bytes += tensor_bytes(lm_head_spec(c), format);
    return {bytes, state};
}

std::string format_bytes(uint64_t n) {
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

Result<Model> Model::load(const uint8_t* bytes, size_t size, uint64_t max_memory, WeightsIn weights_in) {
    CheckpointFiles files;
    files.weights = bytes;
    files.weights_size = size;
    return load(files, max_memory, weights_in);
}

Result<Model> Model::load(const CheckpointFiles& files, uint64_t max_memory, WeightsIn weights_in) {
    // One load path: the streaming loader, fed the whole file at once (it then reads the weights
    // straight from `files`, keeping nothing back).
    ModelLoader loader(files, files.weights_size, max_memory, weights_in);
    if (Status s = loader.feed(files.weights, files.weights_size); !s) return Result<Model>::fail(s.error);
    return loader.finish();
}

namespace {

// Every buffer of a RunState and its length in floats for a config: the one list the constructor
// allocates from and bytes_needed() adds up.
// R: the rows one forward call may take (RunState::rows).
uint64_t TC(const Config& c) { return static_cast<uint64_t>(c.block_size) * c.n_embd; }
uint64_t RC(const Config& c, int R) { return static_cast<uint64_t>(R) * c.n_embd; }
uint64_t capture_of(const Config& c) { return static_cast<uint64_t>(std::min(c.block_size, kMaxCapture)); }
int rows_of(const Config& c, int rows) { return rows > 0 ? std::min(rows, c.block_size) : c.block_size; }
const struct {
    std::vector<float> RunState::*buffer;
    uint64_t (*floats)(const Config& c, int R);
} kBuffers[] = {
    {&RunState::x, [](const Config& c, int R) { return RC(c, R); }},
    {&RunState::xn, [](const Config& c, int R) { return RC(c, R); }},
    {&RunState::qkv, [](const Config& c, int R) { return 3 * RC(c, R); }},
    {&RunState::y, [](const Config& c, int R) { return RC(c, R); }},
    {&RunState::h, [](const Config& c, int R) { return 4 * RC(c, R); }},
    {&RunState::key_cache, [](const Config& c, int) { return static_cast<uint64_t>(c.n_layer) * TC(c); }},
    {&RunState::value_cache, [](const Config& c, int) { return static_cast<uint64_t>(c.n_layer) * TC(c); }},
    {&RunState::att, [](const Config& c, int) { return static_cast<uint64_t>(c.n_layer) * c.n_head * capture_of(c) * capture_of(c); }},
    // Attention's scratch, one per thread the pool has when the RunState is made (parallel.h).
    {&RunState::scores, [](const Config& c, int) { return static_cast<uint64_t>(parallel::threads()) * c.block_size; }},
    {&RunState::block,
     [](const Config& c, int R) { return static_cast<uint64_t>(parallel::threads()) * R * c.block_size; }},
    {&RunState::logits, [](const Config& c, int) { return static_cast<uint64_t>(c.vocab_size); }},
};

// Row p's scaled scores att[j] = q · k_j / sqrt(hs), j = 0..p (keys `stride` floats apart).
void scaled_scores(float* att, const float* q, const float* keys, int stride, int p, int hs) {
    ops::gemv_nt(att, q, keys, stride, 1.0f / std::sqrt(static_cast<float>(hs)), p + 1, hs);
}

// Scores -> the probabilities a head uses, in place over row(n) with keys [0, n_valid) visible:
// softmax under the causal mask, or for a uniform head the causal average 1/n_valid.
void probabilities(float* row, int n, int n_valid, HeadMode mode) {
    if (mode != HeadMode::uniform) {
        ops::masked_softmax(row, n, n_valid);
        return;
    }
    std::fill(row, row + n_valid, 1.0f / static_cast<float>(n_valid));
    std::fill(row + n_valid, row + n, 0.0f);
}

// out(hs) = sum_{j <= p} att[j] v_j (values `stride` floats apart).
void weighted_sum(float* out, const float* att, const float* values, int stride, int p, int hs) {
    ops::gemv_nn(out, att, values, stride, hs, p + 1);
}

// Causal multi-head self-attention of layer l (llm.c's attention_forward) for the n rows at
// positions pos0 .. pos0+n-1, whose queries, keys and values are in qkv (n, 3C); their keys and
// values are appended to the layer's KV cache. y (n, C) receives the heads' outputs side by side.
// Every row's probabilities are also kept in the display band RunState::att. modes (NH): this
// layer's interventions, or null for none; obs: the observer, or null.
void attention_forward(float* y, RunState& s, int l, const float* qkv, int n, int pos0, const HeadMode* modes,
                       Observer* obs) {
    const Config& c = s.config;
    const int C = c.n_embd, NH = c.n_head, hs = c.head_size(), T = c.block_size;
    auto keep = [&](int hd, int p, const float* probs) {
        const int first = s.capture_first(p), kept = p - first + 1;
        float* row = s.att_row(l, hd, p);  // (K)
        std::memcpy(row, probs + first, sizeof(float) * kept);
        std::fill(row + kept, row + s.capture, 0.0f);
    };
    // One head per task over the pool (parallel.h), each thread with its own scratch: heads share
    // nothing but their inputs, and each is computed as with one thread. The observer is not
    // thread-safe, so its runs stay on one thread.
    const int slots = static_cast<int>(s.scores.size() / static_cast<size_t>(T));
    auto head = [&](int hd, int slot) {
        const HeadMode mode = modes ? modes[hd] : HeadMode::normal;
        float* kc = s.keys(l, hd);    // (T, hs)
        float* vc = s.values(l, hd);  // (T, hs)
        for (int i = 0; i < n; i++) {  // this head's keys and values of the new rows, into the cache
            std::memcpy(kc + static_cast<size_t>(pos0 + i) * hs, qkv + i * 3 * C + C + hd * hs, sizeof(float) * hs);
            std::memcpy(vc + static_cast<size_t>(pos0 + i) * hs, qkv + i * 3 * C + 2 * C + hd * hs, sizeof(float) * hs);
        }
        if (n == 1) {  // decoding: one query against the cache, dot products
            const float* q = qkv + hd * hs;
            float* att = s.scores.data() + static_cast<size_t>(slot) * T;  // (pos0 + 1)
            float* out = y + hd * hs;      // (hs)
            scaled_scores(att, q, kc, hs, pos0, hs);
            if (obs && obs->wants(pos0)) obs->head_scores(l, hd, pos0, q, att);
            probabilities(att, pos0 + 1, pos0 + 1, mode);
            keep(hd, pos0, att);
            if (mode == HeadMode::off) std::memset(out, 0, sizeof(float) * hs);
            else weighted_sum(out, att, vc, hs, pos0, hs);
            if (obs && obs->wants(pos0)) obs->head_output(l, hd, pos0, att, out);
            return;
        }
        // A block of rows: scores = Q Kᵀ / sqrt(hs) and context = A V as matrix products over the
        // P keys so far; row i is masked past key pos0 + i.
        const int P = pos0 + n;
        float* S = s.block.data() + static_cast<size_t>(slot) * s.rows * T;  // (n, P), rows T apart
        ops::gemm_nt(S, T, qkv + hd * hs, 3 * C, kc, hs, 1.0f / std::sqrt(static_cast<float>(hs)), n, P, hs);
        if (obs) {
            for (int i = 0; i < n; i++) {
                if (obs->wants(pos0 + i)) obs->head_scores(l, hd, pos0 + i, qkv + i * 3 * C + hd * hs, S + static_cast<size_t>(i) * T);
            }
        }
        for (int i = 0; i < n; i++) {
            probabilities(S + static_cast<size_t>(i) * T, P, pos0 + i + 1, mode);
            keep(hd, pos0 + i, S + static_cast<size_t>(i) * T);
        }
        if (mode == HeadMode::off) {
            for (int i = 0; i < n; i++) std::memset(y + i * C + hd * hs, 0, sizeof(float) * hs);
        } else {
            ops::gemm_nn(y + hd * hs, C, S, T, vc, hs, n, hs, P);
        }
        if (obs) {
            for (int i = 0; i < n; i++) {
                if (obs->wants(pos0 + i)) obs->head_output(l, hd, pos0 + i, S + static_cast<size_t>(i) * T, y + i * C + hd * hs);
            }
        }
    };
    // A RunState made before the pool grew has too few scratch slots: it runs on one thread.
    if (obs || parallel::threads() < 2 || slots < parallel::threads()) {
        for (int hd = 0; hd < NH; hd++) head(hd, 0);
    } else {
        parallel::parallel_for(NH, head);
    }
}

}  // namespace

RunState::RunState(const Config& c, int r) : config(c), rows(rows_of(c, r)), capture(static_cast<int>(capture_of(c))) {
    for (const auto& b : kBuffers) (this->*b.buffer).resize(static_cast<size_t>(b.floats(c, rows)));
}

uint64_t RunState::bytes_needed(const Config& c, int rows) {
    uint64_t floats = 0;
    for (const auto& b : kBuffers) floats += b.floats(c, rows_of(c, rows));
    return 4 * floats;
}

Status forward(const Model& m, RunState& s, const int* tokens, int n, int pos0, const ForwardHooks& hooks) {
    const Config& c = m.config();
    const Weights& w = m.weights();
    const int C = c.n_embd, NH = c.n_head, T = c.block_size;
    if (n < 1 || pos0 < 0 || pos0 + n > T) {
        return Status::fail("positions " + std::to_string(pos0) + ".." + std::to_string(pos0 + n - 1) +
                            " are outside the context window of " + std::to_string(T));
    }
    if (n > s.rows) {
        return Status::fail(std::to_string(n) + " rows in one forward call on a run state made for " +
                            std::to_string(s.rows) + " (prefill() takes them in chunks)");
    }
    for (int i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size) {
            return Status::fail("token id " + std::to_string(tokens[i]) + " is outside the vocabulary");
        }
    }
    const Interventions* iv = hooks.interventions;
    if (iv && (iv->n_layer != c.n_layer || iv->n_head != NH)) {
        return Status::fail("the interventions are for " + std::to_string(iv->n_layer) + " layers x " +
                            std::to_string(iv->n_head) + " heads, the model has " + std::to_string(c.n_layer) + " x " +
                            std::to_string(NH));
    }
    if (iv && !iv->any()) iv = nullptr;
    Observer* obs = hooks.observer;
    // The observer sees the rows it wants at each fixed point; without one, nothing happens here.
    auto report = [&](auto&& call) {
        if (!obs) return;
        for (int i = 0; i < n; i++)
            if (obs->wants(pos0 + i)) call(i, pos0 + i);
    };
    float* x = s.x.data();
    float* xn = s.xn.data();
    float* qkv = s.qkv.data();
    float* y = s.y.data();
    float* h = s.h.data();

    for (int i = 0; i < n; i++) {  // x = wte[token] + wpe[pos], the embedding widened to float32 first
        ops::widen_row(x + i * C, w.wte, tokens[i], C);
        ops::add(x + i * C, x + i * C, w.wpe + static_cast<size_t>(pos0 + i) * C, C);
    }
    report([&](int i, int p) { obs->residual(-1, p, x + i * C); });
    for (int l = 0; l < c.n_layer; l++) {
        const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
        // x = x + attn(ln_1(x))
        for (int i = 0; i < n; i++) ops::layernorm(xn + i * C, x + i * C, lw.ln1_w, lw.ln1_b, C);
        parallel::matmul_w(qkv, xn, lw.qkv_w, lw.qkv_b, n, 3 * C, C);
        attention_forward(y, s, l, qkv, n, pos0, iv ? &iv->modes[static_cast<size_t>(l) * NH] : nullptr, obs);
        parallel::matmul_w(xn, y, lw.attn_proj_w, lw.attn_proj_b, n, C, C);
        report([&](int i, int p) { obs->attn_output(l, p, xn + i * C); });
        ops::add(x, x, xn, n * C);
        // x = x + mlp(ln_2(x)), mlp = proj(gelu(fc(.)))
        for (int i = 0; i < n; i++) ops::layernorm(xn + i * C, x + i * C, lw.ln2_w, lw.ln2_b, C);
        // GELU by each part of fc's split, on the outputs it computed (parallel.h): a decode's row
        // too is spread over the threads, and no split waits for it.
        parallel::matmul_w(h, xn, lw.fc_w, lw.fc_b, n, 4 * C, C, c.gelu_exact ? parallel::Act::gelu_exact : parallel::Act::gelu);
        parallel::matmul_w(xn, h, lw.mlp_proj_w, lw.mlp_proj_b, n, C, 4 * C);
        report([&](int i, int p) { obs->mlp_output(l, p, xn + i * C); });
        ops::add(x, x, xn, n * C);
        report([&](int i, int p) { obs->residual(l, p, x + i * C); });
    }
    for (int i = 0; i < n; i++) ops::layernorm(xn + i * C, x + i * C, w.lnf_w, w.lnf_b, C);
    logits_of_row(m, s, n - 1, s.logits.data());
    return Status::success();
}

Status prefill(const Model& m, RunState& s, const int* tokens, int n, const ForwardHooks& hooks) {
    const int chunks = std::max(1, (n + s.rows - 1) / s.rows);
    for (int c = 0, i = 0; c < chunks; c++) {
        const int size = (n - i) / (chunks - c);  // the rest shared out evenly, the larger ones last
        if (Status st = forward(m, s, tokens + i, size, i, hooks); !st) return st;
        i += size;
    }
    return Status::success();
}

void attend(float* out, float* att, const float* q, const float* keys, const float* values, int stride, int p,
            int hs, int T) {
    scaled_scores(att, q, keys, stride, p, hs);
    ops::masked_softmax(att, T, p + 1);
    weighted_sum(out, att, values, stride, p, hs);
}

void logits_of_row(const Model& m, const RunState& s, int i, float* out) {
    const Config& c = m.config();
    parallel::matvec_w(out, m.weights().lm_head, s.xn.data() + static_cast<size_t>(i) * c.n_embd,
                       nullptr, c.vocab_size, c.n_embd);
}

}  // namespace gpt
