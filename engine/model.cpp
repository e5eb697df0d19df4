#include "model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "ops/ops.h"
#include "safetensors.h"

namespace gpt {

namespace {

// A metadata value that must be a positive decimal integer (at most 9 digits: fits an int).
Status metadata_int(const std::map<std::string, std::string>& meta, const char* key, int* out) {
    const auto it = meta.find(key);
    if (it == meta.end()) {
        return Status::fail(std::string("__metadata__ has no '") + key +
                            "': not a gpt-playground checkpoint (see the README, weight format)");
    }
    const std::string& s = it->second;
    bool digits = !s.empty() && s.size() <= 9;
    for (char c : s) digits = digits && c >= '0' && c <= '9';
    if (!digits) return Status::fail(std::string("__metadata__ '") + key + "' must be a positive integer, got '" + s + "'");
    *out = std::stoi(s);
    return Status::success();
}

struct Spec {
    std::string name;
    std::vector<int64_t> shape;
    const float** dest;
};

std::vector<Spec> tensor_specs(const Config& c, Weights& w) {
    const int64_t C = c.n_embd, V = c.vocab_size, T = c.block_size;
    std::vector<Spec> s = {{"transformer.wte.weight", {V, C}, &w.wte}, {"transformer.wpe.weight", {T, C}, &w.wpe}};
    w.layers.resize(static_cast<size_t>(c.n_layer));
    for (int l = 0; l < c.n_layer; l++) {
        const std::string p = "transformer.h." + std::to_string(l) + ".";
        LayerWeights& lw = w.layers[static_cast<size_t>(l)];
        s.push_back({p + "ln_1.weight", {C}, &lw.ln1_w});
        s.push_back({p + "ln_1.bias", {C}, &lw.ln1_b});
        s.push_back({p + "attn.c_attn.weight", {3 * C, C}, &lw.qkv_w});
        s.push_back({p + "attn.c_attn.bias", {3 * C}, &lw.qkv_b});
        s.push_back({p + "attn.c_proj.weight", {C, C}, &lw.attn_proj_w});
        s.push_back({p + "attn.c_proj.bias", {C}, &lw.attn_proj_b});
        s.push_back({p + "ln_2.weight", {C}, &lw.ln2_w});
        s.push_back({p + "ln_2.bias", {C}, &lw.ln2_b});
        s.push_back({p + "mlp.c_fc.weight", {4 * C, C}, &lw.fc_w});
        s.push_back({p + "mlp.c_fc.bias", {4 * C}, &lw.fc_b});
        s.push_back({p + "mlp.c_proj.weight", {C, 4 * C}, &lw.mlp_proj_w});
        s.push_back({p + "mlp.c_proj.bias", {C}, &lw.mlp_proj_b});
    }
    s.push_back({"transformer.ln_f.weight", {C}, &w.lnf_w});
    s.push_back({"transformer.ln_f.bias", {C}, &w.lnf_b});
    return s;
}

}  // namespace

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

MemoryNeeds memory_needs(const Config& c, bool untied_head) {
    const uint64_t C = static_cast<uint64_t>(c.n_embd), V = static_cast<uint64_t>(c.vocab_size);
    const uint64_t params = V * C * (untied_head ? 2 : 1) + static_cast<uint64_t>(c.block_size) * C +
                            static_cast<uint64_t>(c.n_layer) * (12 * C * C + 13 * C) + 2 * C;
    return {4 * params, RunState::bytes_needed(c)};
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

Result<Model> Model::load(const uint8_t* bytes, size_t size, uint64_t max_memory) {
    auto parsed = safetensors::parse(bytes, size);
    if (!parsed) return Result<Model>::fail(parsed.error());
    const safetensors::File& file = parsed.value();

    Model m;
    Config& c = m.config_;
    for (auto [key, dest] : {std::pair{"n_layer", &c.n_layer}, {"n_head", &c.n_head}, {"n_embd", &c.n_embd},
                             {"block_size", &c.block_size}, {"vocab_size", &c.vocab_size}}) {
        if (Status s = metadata_int(file.metadata, key, dest); !s) return Result<Model>::fail(s.error);
    }
    if (Status s = validate(c); !s) return Result<Model>::fail(s.error);

    // Computed first, from the config alone: a model that cannot fit is refused before anything else
    // is checked or allocated. Config limits bound every product here: C <= 2^14, L <= 2^7, V <= 2^20, T <= 2^14, far from overflow.
    const MemoryNeeds needs = memory_needs(c, file.find("lm_head.weight") != nullptr);
    if (needs.total() > max_memory) {
        return Result<Model>::fail("this model needs " + format_bytes(needs.total()) + " of memory (weights " +
                                   format_bytes(needs.weights) + ", activations, KV cache and attention " +
                                   format_bytes(needs.state) + "), more than the " + format_bytes(max_memory) +
                                   " available");
    }

    const auto tok = file.metadata.find("tokenizer");
    if (tok != file.metadata.end() && tok->second != "char") {
        return Result<Model>::fail("tokenizer '" + tok->second + "' is not supported (supported: char)");
    }
    const auto vit = file.metadata.find("vocab");
    if (vit == file.metadata.end()) return Result<Model>::fail("__metadata__ has no 'vocab' (the tokenizer's characters)");
    const auto vj = nlohmann::json::parse(vit->second, nullptr, /*allow_exceptions=*/false);
    if (vj.is_discarded() || !vj.is_array()) {
        return Result<Model>::fail("__metadata__ 'vocab' must be a JSON array of strings");
    }
    std::vector<std::string> vocab;
    for (const auto& e : vj) {
        if (!e.is_string()) return Result<Model>::fail("__metadata__ 'vocab' must be a JSON array of strings");
        vocab.push_back(e.get<std::string>());
    }
    if (static_cast<int64_t>(vocab.size()) != c.vocab_size) {
        return Result<Model>::fail("vocab has " + std::to_string(vocab.size()) + " entries but vocab_size is " +
                                   std::to_string(c.vocab_size));
    }
    auto tokenizer = CharTokenizer::create(std::move(vocab));
    if (!tokenizer) return Result<Model>::fail(tokenizer.error());
    m.tokenizer_ = tokenizer.take();

    // Every expected tensor present with its exact shape, and nothing unexpected.
    std::vector<Spec> specs = tensor_specs(c, m.weights_);
    const int64_t V = c.vocab_size, C = c.n_embd;
    const float* untied_head = nullptr;
    if (file.find("lm_head.weight")) specs.push_back({"lm_head.weight", {V, C}, &untied_head});
    std::set<std::string> expected;
    size_t total = 0;
    for (const Spec& s : specs) {
        expected.insert(s.name);
        const safetensors::TensorInfo* t = file.find(s.name);
        if (!t) return Result<Model>::fail("missing tensor '" + s.name + "'");
        if (t->shape != s.shape) {
            return Result<Model>::fail("tensor '" + s.name + "': wrong shape " + safetensors::shape_str(t->shape) +
                                       ", expected " + safetensors::shape_str(s.shape));
        }
        total += t->numel;
    }
    for (const auto& t : file.tensors) {
        if (!expected.count(t.name)) return Result<Model>::fail("unexpected tensor '" + t.name + "'");
    }

    // Only now, with the whole file validated, are its bytes read.
    m.params_.resize(total);
    std::set<std::string> dtypes;
    size_t at = 0;
    for (const Spec& s : specs) {
        const safetensors::TensorInfo& t = *file.find(s.name);
        float* dst = m.params_.data() + at;
        const long bad = safetensors::to_f32(file, t, dst);
        if (bad >= 0) {
            return Result<Model>::fail("tensor '" + s.name + "' holds a non-finite value (NaN or infinity) at element " +
                                       std::to_string(bad));
        }
        *s.dest = dst;
        dtypes.insert(safetensors::dtype_name(t.dtype));
        at += t.numel;
    }
    m.weights_.lm_head = untied_head ? untied_head : m.weights_.wte;
    m.dtype_ = dtypes.size() == 1 ? *dtypes.begin() : "mixed";
    return m;
}

RunState::RunState(const Config& c)
    : config(c),
      x(static_cast<size_t>(c.block_size) * c.n_embd),
      xn(x.size()),
      qkv(3 * x.size()),
      y(x.size()),
      h(4 * x.size()),
      key_cache(static_cast<size_t>(c.n_layer) * x.size()),
      value_cache(key_cache.size()),
      att(static_cast<size_t>(c.n_layer) * c.n_head * c.block_size * c.block_size),
      logits(static_cast<size_t>(c.vocab_size)) {}

uint64_t RunState::bytes_needed(const Config& c) {
    const uint64_t TC = static_cast<uint64_t>(c.block_size) * c.n_embd;
    const uint64_t floats = TC * (1 + 1 + 3 + 1 + 4) + 2 * static_cast<uint64_t>(c.n_layer) * TC +
                            static_cast<uint64_t>(c.n_layer) * c.n_head * c.block_size * c.block_size +
                            static_cast<uint64_t>(c.vocab_size);
    return 4 * floats;
}

Status forward(const Model& m, RunState& s, const int* tokens, int n, int pos0) {
    const Config& c = m.config();
    const Weights& w = m.weights();
    const int C = c.n_embd, NH = c.n_head, hs = c.head_size(), T = c.block_size;
    if (n < 1 || pos0 < 0 || pos0 + n > T) {
        return Status::fail("positions " + std::to_string(pos0) + ".." + std::to_string(pos0 + n - 1) +
                            " are outside the context window of " + std::to_string(T));
    }
    for (int i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size) {
            return Status::fail("token id " + std::to_string(tokens[i]) + " is outside the vocabulary");
        }
    }
    float* x = s.x.data();
    float* xn = s.xn.data();
    float* qkv = s.qkv.data();
    float* y = s.y.data();
    float* h = s.h.data();

    for (int i = 0; i < n; i++) {
        ops::add(x + i * C, w.wte + static_cast<size_t>(tokens[i]) * C, w.wpe + static_cast<size_t>(pos0 + i) * C, C);
    }
    for (int l = 0; l < c.n_layer; l++) {
        const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
        float* kc = s.key_cache.data() + static_cast<size_t>(l) * T * C;    // (T, C) of this layer
        float* vc = s.value_cache.data() + static_cast<size_t>(l) * T * C;  // (T, C)

        // Attention: x += proj(attn(ln_1(x))).
        for (int i = 0; i < n; i++) ops::layernorm(xn + i * C, x + i * C, lw.ln1_w, lw.ln1_b, C);
        ops::matmul(qkv, xn, lw.qkv_w, lw.qkv_b, n, 3 * C, C);
        for (int i = 0; i < n; i++) {
            std::memcpy(kc + static_cast<size_t>(pos0 + i) * C, qkv + i * 3 * C + C, sizeof(float) * C);
            std::memcpy(vc + static_cast<size_t>(pos0 + i) * C, qkv + i * 3 * C + 2 * C, sizeof(float) * C);
        }
        for (int i = 0; i < n; i++) {
            const int p = pos0 + i;
            for (int hd = 0; hd < NH; hd++) {
                float* att = s.att.data() + ((static_cast<size_t>(l) * NH + hd) * T + p) * T;  // (T)
                attend(y + i * C + hd * hs, att, qkv + i * 3 * C + hd * hs, kc + hd * hs, vc + hd * hs, C, p, hs, T);
            }
        }
        ops::matmul(xn, y, lw.attn_proj_w, lw.attn_proj_b, n, C, C);
        ops::add(x, x, xn, n * C);

        // MLP: x += proj(gelu(fc(ln_2(x)))).
        for (int i = 0; i < n; i++) ops::layernorm(xn + i * C, x + i * C, lw.ln2_w, lw.ln2_b, C);
        ops::matmul(h, xn, lw.fc_w, lw.fc_b, n, 4 * C, C);
        ops::gelu(h, h, n * 4 * C);
        ops::matmul(xn, h, lw.mlp_proj_w, lw.mlp_proj_b, n, C, 4 * C);
        ops::add(x, x, xn, n * C);
    }
    for (int i = 0; i < n; i++) ops::layernorm(xn + i * C, x + i * C, w.lnf_w, w.lnf_b, C);
    logits_of_row(m, s, n - 1, s.logits.data());
    return Status::success();
}

void attend(float* out, float* att, const float* q, const float* keys, const float* values, int stride, int p,
            int hs, int T) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    for (int j = 0; j <= p; j++) att[j] = ops::dot(q, keys + static_cast<size_t>(j) * stride, hs) * scale;
    ops::masked_softmax(att, T, p + 1);
    std::memset(out, 0, sizeof(float) * hs);
    for (int j = 0; j <= p; j++) ops::axpy(out, att[j], values + static_cast<size_t>(j) * stride, hs);
}

void logits_of_row(const Model& m, const RunState& s, int i, float* out) {
    const Config& c = m.config();
    ops::matvec(out, m.weights().lm_head, s.xn.data() + static_cast<size_t>(i) * c.n_embd, nullptr, c.vocab_size,
                c.n_embd);
}

}  // namespace gpt
