#include "train.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/ops.h"
#include "parallel.h"

namespace gpt {

Status validate(const TrainSettings& s) {
    if (s.batch < 1 || s.batch > 4096) return Status::fail("batch must be from 1 to 4096, got " + std::to_string(s.batch));
    if (s.steps < 1) return Status::fail("steps must be positive, got " + std::to_string(s.steps));
    if (s.warmup < 0) return Status::fail("warmup must not be negative");
    if (!(s.lr > 0 && s.lr < 10)) return Status::fail("the learning rate must be between 0 and 10");
    if (!(s.min_lr >= 0 && s.min_lr <= s.lr)) return Status::fail("the minimum learning rate must be from 0 to the learning rate");
    if (!(s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1)) return Status::fail("AdamW's betas must be in [0, 1)");
    if (!(s.eps > 0) || !(s.weight_decay >= 0) || !(s.grad_clip >= 0)) {
        return Status::fail("eps must be positive, weight decay and gradient clip not negative");
    }
    return Status::success();
}

double learning_rate(const TrainSettings& s, int step) {
    if (step < s.warmup) return static_cast<double>(s.lr) * (step + 1) / s.warmup;
    if (step >= s.steps) return s.min_lr;
    const double t = static_cast<double>(step - s.warmup) / std::max(1, s.steps - s.warmup);
    return s.min_lr + 0.5 * (1 + std::cos(M_PI * t)) * (static_cast<double>(s.lr) - s.min_lr);
}

uint64_t train_memory(const Config& c, int batch) {
    const uint64_t C = static_cast<uint64_t>(c.n_embd), L = static_cast<uint64_t>(c.n_layer),
                   T = static_cast<uint64_t>(c.block_size), V = static_cast<uint64_t>(c.vocab_size),
                   BT = static_cast<uint64_t>(batch) * T;
    const uint64_t P = memory_needs(c).weights / 4;
    const uint64_t acts = BT * C * (1 + 1) + L * BT * C * 16 + L * batch * c.n_head * T * T + BT * V;
    const uint64_t scratch = BT * C * (1 + 1 + 4 + 3) + static_cast<uint64_t>(parallel::threads()) * T * T;
    return 4 * (4 * P + acts + scratch) + 8 * BT + 8 * BT;  // + the tokens, + the losses
}

double train_flops_per_step(const Config& c, int batch) {
    const double C = c.n_embd, L = c.n_layer, T = c.block_size, tokens = static_cast<double>(batch) * T;
    return tokens * (6.0 * (L * 12 * C * C + c.vocab_size * C) + 6.0 * L * C * T);
}

void TrainState::allocate(const Config& c, int batch) {
    config_ = c;
    B_ = batch;
    specs_ = tensor_specs(c);
    size_t total = 0;
    for (const TensorSpec& s : specs_) {
        offsets_.push_back(total);
        size_t n = 1;
        for (int64_t d : s.shape) n *= static_cast<size_t>(d);
        total += n;
    }
    params_.assign(total, 0.0f);
    grads_.assign(total, 0.0f);
    m_.assign(total, 0.0f);
    v_.assign(total, 0.0f);
    const size_t C = static_cast<size_t>(c.n_embd), L = static_cast<size_t>(c.n_layer), T = static_cast<size_t>(c.block_size),
                 BT = static_cast<size_t>(batch) * T;
    inputs_.assign(BT, 0);
    targets_.assign(BT, 0);
    encoded.assign(BT * C, 0.0f);
    ln1.assign(L * BT * C, 0.0f);
    qkv.assign(L * BT * 3 * C, 0.0f);
    att.assign(L * static_cast<size_t>(batch) * c.n_head * T * T, 0.0f);
    atty.assign(L * BT * C, 0.0f);
    res2.assign(L * BT * C, 0.0f);
    ln2.assign(L * BT * C, 0.0f);
    fch.assign(L * BT * 4 * C, 0.0f);
    fch_gelu.assign(L * BT * 4 * C, 0.0f);
    res3.assign(L * BT * C, 0.0f);
    lnf.assign(BT * C, 0.0f);
    probs.assign(BT * static_cast<size_t>(c.vocab_size), 0.0f);
    dres.assign(BT * C, 0.0f);
    dtmp.assign(BT * C, 0.0f);
    dbig.assign(BT * 4 * C, 0.0f);
    dqkv.assign(BT * 3 * C, 0.0f);
    losses.assign(BT, 0.0);
    datt_slots_ = parallel::threads();
    datt.assign(static_cast<size_t>(datt_slots_) * T * T, 0.0f);
}

namespace {

Status check_sizes(const Config& c, int batch) {
    if (Status s = validate(c); !s) return s;
    if (batch < 1 || batch > 4096) return Status::fail("batch must be from 1 to 4096, got " + std::to_string(batch));
    return Status::success();
}

// A standard normal from two uniform draws (Box-Muller), in double so that the same seed gives the
// same weights natively and in wasm.
double normal(Rng& rng) {
    const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();  // u1 in (0, 1]
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

bool ends_with(const std::string& s, const char* suffix) {
    const size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

Result<TrainState> TrainState::create(const Config& c, int batch, uint64_t seed) {
    if (Status s = check_sizes(c, batch); !s) return Result<TrainState>::fail(s.error);
    TrainState t;
    t.allocate(c, batch);
    Rng rng(seed);
    for (size_t i = 0; i < t.specs_.size(); i++) {
        const TensorSpec& s = t.specs_[i];
        float* p = t.params_.data() + t.offsets_[i];
        const size_t n = (i + 1 < t.specs_.size() ? t.offsets_[i + 1] : t.params_.size()) - t.offsets_[i];
        if (s.shape.size() == 1) {  // biases 0, LayerNorm gains 1
            std::fill(p, p + n, ends_with(s.name, ".bias") || s.name.find("ln_") == std::string::npos ? 0.0f : 1.0f);
            continue;
        }
        const double std_dev = ends_with(s.name, "c_proj.weight") ? 0.02 / std::sqrt(2.0 * c.n_layer) : 0.02;
        for (size_t j = 0; j < n; j++) p[j] = static_cast<float>(std_dev * normal(rng));
    }
    return t;
}

Result<TrainState> TrainState::from_model(const Model& m, int batch) {
    if (Status s = check_sizes(m.config(), batch); !s) return Result<TrainState>::fail(s.error);
    if (!m.weights().tied()) {
        return Result<TrainState>::fail("this checkpoint has its own lm_head; training ties the head to wte");
    }
    TrainState t;
    t.allocate(m.config(), batch);
    // Training is float32: a model kept in a compact format is widened here, matrix by matrix.
    const Weights& w = m.weights();
    for (size_t i = 0; i < t.specs_.size(); i++) {
        const TensorSpec& s = t.specs_[i];
        float* dst = t.params_.data() + t.offsets_[i];
        const ops::WeightView v = s.view(w);
        if (const float* f = v.as_f32()) {
            std::memcpy(dst, f, sizeof(float) * static_cast<size_t>(s.numel()));
            continue;
        }
        const int M = static_cast<int>(s.shape[0]), K = static_cast<int>(s.shape[1]);
        for (int r = 0; r < M; r++) ops::widen_row(dst + static_cast<size_t>(r) * K, v, r, K);
    }
    return t;
}

Weights TrainState::weights() const {
    Weights w{};
    w.layers.resize(static_cast<size_t>(config_.n_layer));
    for (size_t i = 0; i < specs_.size(); i++) specs_[i].point(w, params_.data() + offsets_[i]);
    w.lm_head = w.wte;
    return w;
}

const float* TrainState::attention(int layer, int row, int head) const {
    const size_t T = static_cast<size_t>(t_), NH = static_cast<size_t>(config_.n_head);
    return att.data() + ((static_cast<size_t>(layer) * n_ + row) * NH + head) * T * T;
}

namespace {
// Attention works on blocks of kRows query rows (or key columns): each block's products stop at the
// causal boundary, so only about half of the T x T products are computed.
constexpr int kRows = 32;
}  // namespace

void attention_forward(float* out, float* att, const float* qkv, int n, int t, int C, int NH) {
    const int hs = C / NH;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    // One task per (row of the batch, head): each writes its own block of att and columns of out.
    parallel::parallel_for(n * NH, [&](int task, int) {
        const int b = task / NH, h = task % NH;
        const float* q0 = qkv + static_cast<size_t>(b) * t * 3 * C;  // (t, 3C) of this row
        float* o0 = out + static_cast<size_t>(b) * t * C;             // (t, C)
        const float* q = q0 + h * hs;
        const float* k = q0 + C + h * hs;
        const float* v = q0 + 2 * C + h * hs;
        float* a = att + (static_cast<size_t>(b) * NH + h) * t * t;  // (t, t)
        // Rows i0 .. i0+rows-1 see keys 0 .. i0+rows-1: S = scale Q Kᵀ, softmax, out = A V.
        for (int i0 = 0; i0 < t; i0 += kRows) {
            const int rows = std::min(kRows, t - i0), keys = i0 + rows;
            float* ab = a + static_cast<size_t>(i0) * t;
            ops::gemm(ab, t, q + static_cast<size_t>(i0) * 3 * C, 3 * C, false, k, 3 * C, true, scale, false, rows, keys, hs);
            for (int i = i0; i < keys; i++) ops::masked_softmax(a + static_cast<size_t>(i) * t, t, i + 1);
            ops::gemm(o0 + static_cast<size_t>(i0) * C + h * hs, C, ab, t, false, v, 3 * C, false, 1.0f, false, rows, hs, keys);
        }
    });
}

void attention_backward(float* dqkv, float* datt, int datt_slots, const float* dout, const float* qkv, const float* att,
                        int n, int t, int C, int NH) {
    const int hs = C / NH;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    // One task per (row of the batch, head), on the thread whose slot of datt it uses; on one
    // thread when datt has fewer slots than the pool has threads (a state made before it grew).
    const auto head = [&](int task, int slot) {
        const int b = task / NH, h = task % NH;
        float* datt_h = datt + static_cast<size_t>(slot) * t * t;
        const float* q0 = qkv + static_cast<size_t>(b) * t * 3 * C;
        float* d0 = dqkv + static_cast<size_t>(b) * t * 3 * C;
        const float* q = q0 + h * hs;
        const float* k = q0 + C + h * hs;
        const float* v = q0 + 2 * C + h * hs;
        const float* a = att + (static_cast<size_t>(b) * NH + h) * t * t;  // (t, t)
        const float* dy = dout + static_cast<size_t>(b) * t * C + h * hs;   // (t, hs), rows C apart
        // By query rows: dA = dout Vᵀ; dS = softmax backward of each row (zero past i); dQ = s dS K.
        for (int i0 = 0; i0 < t; i0 += kRows) {
            const int rows = std::min(kRows, t - i0), keys = i0 + rows;
            float* db = datt_h + static_cast<size_t>(i0) * t;
            ops::gemm(db, t, dy + static_cast<size_t>(i0) * C, C, false, v, 3 * C, true, 1.0f, false, rows, keys, hs);
            for (int i = i0; i < keys; i++) {
                float* r = datt_h + static_cast<size_t>(i) * t;
                ops::masked_softmax_backward(r, a + static_cast<size_t>(i) * t, r, t, i + 1);
            }
            ops::gemm(d0 + static_cast<size_t>(i0) * 3 * C + h * hs, 3 * C, db, t, false, k, 3 * C, false, scale, false,
                      rows, hs, keys);
        }
        // By key columns j0 .. j0+cols-1, which queries j0 .. t-1 see: dK = s dSᵀ Q, dV = Aᵀ dout.
        for (int j0 = 0; j0 < t; j0 += kRows) {
            const int cols = std::min(kRows, t - j0), queries = t - j0;
            const size_t corner = static_cast<size_t>(j0) * t + j0;
            ops::gemm(d0 + C + static_cast<size_t>(j0) * 3 * C + h * hs, 3 * C, datt_h + corner, t, true,
                      q + static_cast<size_t>(j0) * 3 * C, 3 * C, false, scale, false, cols, hs, queries);
            ops::gemm(d0 + 2 * C + static_cast<size_t>(j0) * 3 * C + h * hs, 3 * C, a + corner, t, true,
                      dy + static_cast<size_t>(j0) * C, C, false, 1.0f, false, cols, hs, queries);
        }
    };
    if (datt_slots >= parallel::threads()) return parallel::parallel_for(n * NH, head);
    for (int task = 0; task < n * NH; task++) head(task, 0);
}

Result<float> TrainState::forward(const int* inputs, const int* targets, int n, int t) {
    const Config& c = config_;
    if (n < 1 || n > B_ || t < 1 || t > c.block_size) {
        return Result<float>::fail("a batch of " + std::to_string(n) + " x " + std::to_string(t) + " tokens does not fit " +
                                   std::to_string(B_) + " x " + std::to_string(c.block_size));
    }
    const int BT = n * t;
    for (int i = 0; i < BT; i++) {
        if (inputs[i] < 0 || inputs[i] >= c.vocab_size || targets[i] < 0 || targets[i] >= c.vocab_size) {
            return Result<float>::fail("token id outside the vocabulary at position " + std::to_string(i));
        }
    }
    n_ = n;
    t_ = t;
    std::copy(inputs, inputs + BT, inputs_.begin());
    std::copy(targets, targets + BT, targets_.begin());
    const Weights w = weights();
    const int C = c.n_embd, V = c.vocab_size, NH = c.n_head;
    const size_t BTC = static_cast<size_t>(BT) * C;
    // The work is split over the pool (engine/parallel.h) the way forward()'s is: by output, so the
    // same bits come out on any number of threads.
    const auto linear = [BT](float* out, const float* in, const float* wm, const float* bias, int M, int K) {
        parallel::matmul_w(out, in, ops::WeightView::f32(wm), bias, BT, M, K);
    };

    for (int i = 0; i < BT; i++) {
        ops::add(encoded.data() + static_cast<size_t>(i) * C, w.wte.as_f32() + static_cast<size_t>(inputs[i]) * C,
                 w.wpe + static_cast<size_t>(i % t) * C, C);
    }
    for (int l = 0; l < c.n_layer; l++) {
        const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
        const float* x = l == 0 ? encoded.data() : res3.data() + (l - 1) * BTC;  // (BT, C) the layer's input
        float* l_ln1 = ln1.data() + l * BTC;
        float* l_qkv = qkv.data() + l * 3 * BTC;
        float* l_att = att.data() + static_cast<size_t>(l) * n * NH * t * t;
        float* l_atty = atty.data() + l * BTC;
        float* l_res2 = res2.data() + l * BTC;
        float* l_ln2 = ln2.data() + l * BTC;
        float* l_fch = fch.data() + l * 4 * BTC;
        float* l_fchg = fch_gelu.data() + l * 4 * BTC;
        float* l_res3 = res3.data() + l * BTC;
        float* tmp = dtmp.data();  // (BT, C) the projections before the residual add

        parallel::for_each_index(BT, [&](int i) { ops::layernorm(l_ln1 + i * C, x + i * C, lw.ln1_w, lw.ln1_b, C); });
        linear(l_qkv, l_ln1, lw.qkv_w.as_f32(), lw.qkv_b, 3 * C, C);
        attention_forward(l_atty, l_att, l_qkv, n, t, C, NH);
        linear(tmp, l_atty, lw.attn_proj_w.as_f32(), lw.attn_proj_b, C, C);
        parallel::for_each_index(BT, [&](int i) { ops::add(l_res2 + i * C, x + i * C, tmp + i * C, C); });
        parallel::for_each_index(BT, [&](int i) { ops::layernorm(l_ln2 + i * C, l_res2 + i * C, lw.ln2_w, lw.ln2_b, C); });
        linear(l_fch, l_ln2, lw.fc_w.as_f32(), lw.fc_b, 4 * C, C);
        parallel::for_ranges(BT * 4 * C, 64, [&](int i0, int i1) {
            if (c.gelu_exact) ops::gelu_exact(l_fchg + i0, l_fch + i0, i1 - i0);
            else ops::gelu(l_fchg + i0, l_fch + i0, i1 - i0);
        });
        linear(tmp, l_fchg, lw.mlp_proj_w.as_f32(), lw.mlp_proj_b, C, 4 * C);
        parallel::for_each_index(BT, [&](int i) { ops::add(l_res3 + i * C, l_res2 + i * C, tmp + i * C, C); });
    }
    const float* last = res3.data() + (c.n_layer - 1) * BTC;
    parallel::for_each_index(BT, [&](int i) { ops::layernorm(lnf.data() + i * C, last + i * C, w.lnf_w, w.lnf_b, C); });
    linear(probs.data(), lnf.data(), w.wte.as_f32(), nullptr, V, C);  // logits: the head is tied to wte
    // Cross-entropy from the logits (log-sum-exp in double), then the logits become probabilities;
    // the rows' losses are summed in order.
    parallel::for_each_index(BT, [&](int i) {
        float* row = probs.data() + static_cast<size_t>(i) * V;
        const double mx = *std::max_element(row, row + V);
        double s = 0;
        for (int v = 0; v < V; v++) s += std::exp(row[v] - mx);
        losses[static_cast<size_t>(i)] = mx + std::log(s) - row[targets[i]];
        ops::masked_softmax(row, V, V);
    });
    double total = 0;
    for (int i = 0; i < BT; i++) total += losses[static_cast<size_t>(i)];
    return static_cast<float>(total / BT);
}

void TrainState::backward() {
    const Config& c = config_;
    const int n = n_, t = t_, BT = n * t, C = c.n_embd, V = c.vocab_size, NH = c.n_head;
    const size_t BTC = static_cast<size_t>(BT) * C;
    const Weights w = weights();
    parallel::for_ranges(static_cast<int>(grads_.size()), 1024, [&](int i0, int i1) {
        std::fill(grads_.begin() + i0, grads_.begin() + i1, 0.0f);
    });
    // Gradient views in the same layout as the weights.
    Weights g{};
    g.layers.resize(static_cast<size_t>(c.n_layer));
    for (size_t i = 0; i < specs_.size(); i++) specs_[i].point(g, grads_.data() + offsets_[i]);
    auto mut = [](const float* p) { return const_cast<float*>(p); };  // views of grads_, which we own

    // Mean cross-entropy: dlogits = (softmax - onehot(target)) / BT, in place of the probabilities.
    const float inv = 1.0f / static_cast<float>(BT);
    parallel::for_each_index(BT, [&](int i) {
        float* row = probs.data() + static_cast<size_t>(i) * V;
        row[targets_[static_cast<size_t>(i)]] -= 1.0f;
        ops::scale(row, inv, V);
    });
    // logits = lnf · wteᵀ
    parallel::matmul_backward(dtmp.data(), mut(g.wte.as_f32()), nullptr, probs.data(), lnf.data(), w.wte.as_f32(), BT, V, C);
    std::fill(dres.begin(), dres.begin() + static_cast<long>(BTC), 0.0f);
    const float* last = res3.data() + (c.n_layer - 1) * BTC;
    for (int i = 0; i < BT; i++) {
        ops::layernorm_backward(dres.data() + i * C, mut(g.lnf_w), mut(g.lnf_b), dtmp.data() + i * C, last + i * C, w.lnf_w, C);
    }
    for (int l = c.n_layer - 1; l >= 0; l--) {
        const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
        const LayerWeights& lg = g.layers[static_cast<size_t>(l)];
        const float* x = l == 0 ? encoded.data() : res3.data() + (l - 1) * BTC;
        const float* l_ln1 = ln1.data() + l * BTC;
        const float* l_qkv = qkv.data() + l * 3 * BTC;
        const float* l_att = att.data() + static_cast<size_t>(l) * n * NH * t * t;
        const float* l_atty = atty.data() + l * BTC;
        const float* l_res2 = res2.data() + l * BTC;
        const float* l_ln2 = ln2.data() + l * BTC;
        const float* l_fch = fch.data() + l * 4 * BTC;
        const float* l_fchg = fch_gelu.data() + l * 4 * BTC;
        float* d = dres.data();  // (BT, C): d loss / d this layer's output, then its input

        // MLP: out = res2 + proj(gelu(fc(ln_2(res2)))).
        parallel::matmul_backward(dbig.data(), mut(lg.mlp_proj_w.as_f32()), mut(lg.mlp_proj_b), d, l_fchg, lw.mlp_proj_w.as_f32(), BT, C, 4 * C);
        parallel::for_ranges(BT * 4 * C, 64, [&](int i0, int i1) {
            if (c.gelu_exact) ops::gelu_exact_backward(dbig.data() + i0, l_fch + i0, dbig.data() + i0, i1 - i0);
            else ops::gelu_backward(dbig.data() + i0, l_fch + i0, dbig.data() + i0, i1 - i0);
        });
        parallel::matmul_backward(dtmp.data(), mut(lg.fc_w.as_f32()), mut(lg.fc_b), dbig.data(), l_ln2, lw.fc_w.as_f32(), BT, 4 * C, C);
        for (int i = 0; i < BT; i++) {
            ops::layernorm_backward(d + i * C, mut(lg.ln2_w), mut(lg.ln2_b), dtmp.data() + i * C, l_res2 + i * C, lw.ln2_w, C);
        }
        // Attention: res2 = x + proj(attn(ln_1(x))).
        parallel::matmul_backward(dtmp.data(), mut(lg.attn_proj_w.as_f32()), mut(lg.attn_proj_b), d, l_atty, lw.attn_proj_w.as_f32(), BT, C, C);
        attention_backward(dqkv.data(), datt.data(), datt_slots_, dtmp.data(), l_qkv, l_att, n, t, C, NH);
        parallel::matmul_backward(dtmp.data(), mut(lg.qkv_w.as_f32()), mut(lg.qkv_b), dqkv.data(), l_ln1, lw.qkv_w.as_f32(), BT, 3 * C, C);
        for (int i = 0; i < BT; i++) {
            ops::layernorm_backward(d + i * C, mut(lg.ln1_w), mut(lg.ln1_b), dtmp.data() + i * C, x + i * C, lw.ln1_w, C);
        }
    }
    // encoded = wte[input] + wpe[position]
    for (int i = 0; i < BT; i++) {
        const float* di = dres.data() + static_cast<size_t>(i) * C;
        float* we = mut(g.wte.as_f32()) + static_cast<size_t>(inputs_[static_cast<size_t>(i)]) * C;
        float* pe = mut(g.wpe) + static_cast<size_t>(i % t) * C;
        ops::add(we, we, di, C);
        ops::add(pe, pe, di, C);
    }
}

float TrainState::update(const TrainSettings& s, int step) {
    // torch.nn.utils.clip_grad_norm_: the norm of the per-tensor norms; scaled by
    // max_norm / (norm + 1e-6) when that is below 1.
    // Each tensor's norm on one thread (a task each), summed in order.
    const int n_specs = static_cast<int>(specs_.size());
    const auto end_of = [&](size_t i) { return i + 1 < specs_.size() ? offsets_[i + 1] : grads_.size(); };
    std::vector<double> tensor_sq(specs_.size());
    parallel::parallel_for(n_specs, [&](int i, int) {
        const size_t a = offsets_[static_cast<size_t>(i)], b = end_of(static_cast<size_t>(i));
        const double tn = std::sqrt(static_cast<double>(ops::dot(grads_.data() + a, grads_.data() + a, static_cast<int>(b - a))));
        tensor_sq[static_cast<size_t>(i)] = tn * tn;
    });
    double sq = 0;
    for (double t : tensor_sq) sq += t;
    const float norm = static_cast<float>(std::sqrt(sq));
    const float coef = s.grad_clip > 0 ? s.grad_clip / (norm + 1e-6f) : 1.0f;
    const float lr = static_cast<float>(learning_rate(s, step));
    adam_steps_++;
    for (size_t i = 0; i < specs_.size(); i++) {
        const size_t a = offsets_[i], n = end_of(i) - a;
        const float wd = specs_[i].shape.size() >= 2 ? s.weight_decay : 0.0f;  // matrices only, as train.py
        parallel::for_ranges(static_cast<int>(n), 64, [&](int i0, int i1) {
            float* g = grads_.data() + a + i0;
            if (coef < 1.0f) ops::scale(g, coef, i1 - i0);
            ops::adamw(params_.data() + a + i0, m_.data() + a + i0, v_.data() + a + i0, g, lr, s.beta1, s.beta2, s.eps,
                       wd, adam_steps_, i1 - i0);
        });
    }
    return norm;
}

}  // namespace gpt
