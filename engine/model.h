// The GPT-2 / nanoGPT architecture: token + learned position embeddings, pre-LayerNorm blocks
// (eps 1e-5, with bias), fused QKV projection, causal multi-head attention, MLP with tanh-GELU,
// final LayerNorm, lm_head tied to the token embedding.
//
// Three structs, one owner (llama2.c): Config, Weights (non-owning views into the Model's buffers:
// float32 for the small tensors, the chosen format for the weight matrices) and RunState (every activation, the KV cache and the attention probabilities,
// sized once from the Config). forward() never allocates.
//
// Dimension names (llm.c): L layers, NH heads, C = n_embd, hs = C / NH, T = block_size, V = vocab.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "aligned.h"
#include "ops/ops.h"
#include "result.h"
#include "tokenizer.h"
#include "weights_format.h"

namespace gpt {

// The widest attention a RunState keeps for display (keys and query rows).
constexpr int kMaxCapture = 256;

struct Config {
    int n_layer = 0;     // L
    int n_head = 0;      // NH
    int n_embd = 0;      // C
    int block_size = 0;  // T, the context window
    int vocab_size = 0;  // V
    // The MLP's GELU: the tanh approximation (GPT-2, Hugging Face "gelu_new"), or exact with erf
    // (PyTorch's nn.GELU(), which nanoGPT uses; metadata "activation": "gelu").
    bool gelu_exact = false;
    int head_size() const { return n_embd / n_head; }
};

// Limits on a checkpoint's config, checked before anything is allocated from it.
struct ConfigLimits {
    int max_layers = 128, max_heads = 256, max_embd = 16384, max_context = 16384, max_vocab = 1 << 20;
};
Status validate(const Config& c, const ConfigLimits& limits = ConfigLimits());

// The weight matrices are WeightViews (float32, float16 or int8, as chosen at load; ops.h); the
// small tensors (LayerNorm, biases, wpe) are always float32.
struct LayerWeights {
    const float* ln1_w;           // (C)
    const float* ln1_b;           // (C)
    ops::WeightView qkv_w;        // (3C, C) rows: q for all heads, then k, then v
    const float* qkv_b;           // (3C)
    ops::WeightView attn_proj_w;  // (C, C)
    const float* attn_proj_b;     // (C)
    const float* ln2_w;           // (C)
    const float* ln2_b;           // (C)
    ops::WeightView fc_w;         // (4C, C)
    const float* fc_b;            // (4C)
    ops::WeightView mlp_proj_w;   // (C, 4C)
    const float* mlp_proj_b;      // (C)
};

struct Weights {
    ops::WeightView wte;  // (V, C) token embedding
    const float* wpe;     // (T, C) position embedding
    std::vector<LayerWeights> layers;
    const float* lnf_w;       // (C)
    const float* lnf_b;       // (C)
    ops::WeightView lm_head;  // (V, C): wte itself when tied (the usual case)
    bool tied() const { return lm_head.data == wte.data; }
};

// One weight tensor a config requires, as the engine lays it out: the one list of a model's tensors,
// for the checkpoint reader (names, shapes) and for Model::load (where Weights points to each).
struct TensorSpec {
    std::string name;                   // nanoGPT's, without "transformer." ("h.0.attn.c_attn.weight")
    std::vector<int64_t> shape;         // Linear weights [out, in]
    bool linear;                        // a Linear weight: Hugging Face's Conv1D stores it [in, out]
    int layer;                          // its block, or -1 for the model-wide tensors
    // Where Weights points to it: a float32 pointer (small tensors) or, for the weight matrices
    // (matrix()), a WeightView; model-wide when layer is -1, else in Weights::layers[layer].
    const float* Weights::*global = nullptr;
    const float* LayerWeights::*field = nullptr;
    ops::WeightView Weights::*global_matrix = nullptr;
    ops::WeightView LayerWeights::*field_matrix = nullptr;
    // A weight matrix: kept in the format chosen at load (the rest stays float32).
    bool matrix() const { return global_matrix || field_matrix; }
    // Points w's entry for this tensor at p (a float32 view for a matrix).
    void point(Weights& w, const float* p) const;
    void point(Weights& w, ops::WeightView v) const;  // a matrix only
    // w's entry for this tensor, as a view (small tensors: a float32 view).
    ops::WeightView view(const Weights& w) const;
    int64_t numel() const;
};
// Every tensor of a model with config c but lm_head, which is wte unless a file has its own.
std::vector<TensorSpec> tensor_specs(const Config& c);
// The untied output head, (V, C).
TensorSpec lm_head_spec(const Config& c);

// Memory a model takes once loaded, computed from its config alone (before anything is allocated).
struct MemoryNeeds {
    uint64_t weights;  // the parameters: float32, the matrices in `format` (Model::weights_bytes())
    uint64_t state;    // a Generator's RunState (kGenerateRows): activations, KV cache, attention probabilities
    uint64_t total() const { return weights + state; }
};
MemoryNeeds memory_needs(const Config& c, bool untied_head = false, ops::WFormat format = ops::WFormat::F32);
// Bytes a tensor takes in a Model: float32, or a matrix in `format` (weights_format.h). The one
// rule memory_needs() and the loader both follow.
uint64_t tensor_bytes(const TensorSpec& t, ops::WFormat format);
// Parameters of a config (elements, whatever their format).
uint64_t count_params(const Config& c, bool untied_head = false);
// "1.5 GiB" and the like, for messages.
std::string format_bytes(uint64_t n);

struct CheckpointFiles;  // checkpoint.h

class Model {
  public:
    // Parses, validates and converts a checkpoint in the engine's safetensors format (README,
    // "Weight format"). Nothing in `bytes` is used before the whole file has been validated; the
    // Model keeps its own float32 copy, so `bytes` can be freed afterwards. A model whose weights
    // and run state would need more than max_memory bytes is refused, with the figure, before any
    // allocation (the browser caps WebAssembly memory at 4 GiB). weights_in: the format the weight
    // matrices are kept in (weights_format.h; automatic: by size), converted tensor by tensor as they
    // are read: never a float32 copy of the whole model.
    static Result<Model> load(const uint8_t* bytes, size_t size, uint64_t max_memory = UINT64_MAX,
                              WeightsIn weights_in = WeightsIn::automatic);
    // The same with what may come beside the weights (tokenizer.json, config.json; checkpoint.h),
    // in any layout the engine reads.
    static Result<Model> load(const CheckpointFiles& files, uint64_t max_memory = UINT64_MAX,
                              WeightsIn weights_in = WeightsIn::automatic);

    Model(Model&&) = default;
    Model& operator=(Model&&) = default;
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    const Config& config() const { return config_; }
    const Weights& weights() const { return weights_; }
    const Tokenizer& tokenizer() const { return *tokenizer_; }
    size_t num_params() const { return num_params_; }
    ops::WFormat weights_format() const { return format_; }  // of the weight matrices in memory
    uint64_t weights_bytes() const { return 4 * params_.size() + compact_.size(); }  // what load allocated
    const std::string& dtype() const { return dtype_; }    // of the file: F32, F16, BF16 or mixed
    const std::string& layout() const { return layout_; }  // "gpt-playground" or "huggingface"

  private:
    friend class ModelLoader;  // loader.h: builds a Model as its bytes arrive
    Model() = default;
    Config config_;
    Weights weights_{};
    std::unique_ptr<Tokenizer> tokenizer_;
    std::string dtype_, layout_;
    ops::WFormat format_ = ops::WFormat::F32;
    size_t num_params_ = 0;
    // Float32 tensors in tensor_specs() order: every weight when format_ is F32, else the small ones.
    aligned_vector<float> params_;
    // The weight matrices when format_ is compact, in tensor_specs() order: each one's data then (Q8)
    // its scales, every part kWeightAlign-aligned (weights_format.h, matrix_bytes()).
    aligned_vector<uint8_t> compact_;
};

// The rows one forward call takes on a RunState made for generating (Generator, prefill() below):
// a longer prompt goes through in chunks. Its activations then take 128 rows' worth instead of the
// whole window's (GPT-2 small: 3.75 MiB instead of 30 MiB, which brings int8 GPT-2 under 300 MB),
// and the prefill loses nothing: the integer GEMM quantizes 128 rows of x at a time anyway.
constexpr int kGenerateRows = 128;

struct RunState {
    // rows: the most rows one forward call may take, at most (and by default) the context window;
    // every buffer sized by R below is sized by it.
    explicit RunState(const Config& c, int rows = 0);
    // Bytes the buffers below take for this config (computed, not allocated; from the same list of
    // buffers the constructor allocates, model.cpp).
    static uint64_t bytes_needed(const Config& c, int rows = 0);

    Config config;
    int rows;                        // R: the most rows one forward call may take (<= T)
    // Activations of the rows of one forward call: up to R rows (a prefill), 1 when decoding.
    std::vector<float> x;            // (R, C) residual stream
    std::vector<float> xn;           // (R, C) LayerNorm output / projection scratch; after forward:
                                     //        the final hidden states (after ln_f)
    std::vector<float> qkv;          // (R, 3C)
    std::vector<float> y;            // (R, C) attention output, heads side by side
    std::vector<float> h;            // (R, 4C) MLP hidden layer
    // The KV cache, head by head: a head's keys (values) are one run of T rows of hs floats, so
    // attention reads them in sequence rather than hs floats out of every C. (GPT-2 small decoding
    // at 512 keys in wasm: with rows C apart, attention took 5.5 ms a token on one thread and 5.4
    // on two; with runs and ops::gemv_nt / gemv_nn, 3.0 and 1.8 ms.)
    std::vector<float> key_cache;    // (L, NH, T, hs)
    std::vector<float> value_cache;  // (L, NH, T, hs)
    // The attention probabilities kept for display. For every layer and head, the rows of the last
    // R = capture query positions (a ring: position p lives in slot p % R), each over the last
    // K = capture keys up to p (keys capture_first(p) .. p, then zeros). With block_size <= 256
    // that is the whole T x T matrix; a longer context keeps a 256-wide band, so memory stays
    // bounded (GPT-2 small: 38 MiB instead of 604 MiB).
    int capture;                     // R = K = min(T, kMaxCapture)
    std::vector<float> att;          // (L, NH, R, K)
    // Attention's scratch, one slot per thread of the pool when the RunState was made (parallel.h):
    std::vector<float> scores;       // (S, T) one row's scores, then probabilities, while decoding
    std::vector<float> block;        // (S, R, T) one head's scores/probabilities for a prefill's rows
    std::vector<float> logits;       // (V) next-token logits of the last row processed
    // The kept row of query position p (one of the last R processed), K floats.
    const float* att_row(int layer, int head, int pos) const { return att.data() + att_offset(layer, head, pos); }
    float* att_row(int layer, int head, int pos) { return att.data() + att_offset(layer, head, pos); }
    size_t att_offset(int layer, int head, int pos) const {
        const size_t R = static_cast<size_t>(capture);
        return ((static_cast<size_t>(layer) * config.n_head + head) * R + static_cast<size_t>(pos) % R) * R;
    }
    int capture_first(int pos) const { return pos - capture + 1 > 0 ? pos - capture + 1 : 0; }
    // Head `head` of layer `layer`: its keys (values) by position, (T, hs), key j at row j.
    const float* keys(int layer, int head) const { return key_cache.data() + kv_offset(layer, head); }
    float* keys(int layer, int head) { return key_cache.data() + kv_offset(layer, head); }
    const float* values(int layer, int head) const { return value_cache.data() + kv_offset(layer, head); }
    float* values(int layer, int head) { return value_cache.data() + kv_offset(layer, head); }
    size_t kv_offset(int layer, int head) const {
        return (static_cast<size_t>(layer) * config.n_head + head) * config.block_size * config.head_size();
    }
};

struct Interventions;  // probe.h
class Observer;        // probe.h

// What a forward call may be given besides its tokens, all optional (the default is the plain
// model): interventions on heads, and an observer reporting activations at fixed points (probe.h).
struct ForwardHooks {
    const Interventions* interventions = nullptr;  // null: every head normal
    Observer* observer = nullptr;                  // null: nothing reported, nothing copied
};

// Runs tokens[0, n) at positions pos0 .. pos0+n-1. The KV cache must hold positions < pos0 (a
// prefill passes pos0 = 0); their keys and values are appended. Afterwards s.xn holds the final
// hidden states of the n rows and s.logits the logits of the last one. n > 1 does the linear layers
// as matrix-matrix products (one pass over each weight matrix for all rows).
Status forward(const Model& m, RunState& s, const int* tokens, int n, int pos0, const ForwardHooks& hooks = {});

// forward() of tokens[0, n) at positions 0 .. n-1 in chunks of at most s.rows rows (the KV cache
// carries each chunk's keys and values to the next), balanced so that none is under 4 rows when n
// is not: every chunk takes the GEMM path, and the results are bit for bit one call's (each output
// of the GEMM, the attention's products and the row-wise kernels is computed alike for any number
// of rows; a masked score is an exact 0), for s.rows >= 8. Afterwards s.logits holds the last row's logits, and
// s.xn the final hidden states of the last chunk's rows only.
Status prefill(const Model& m, RunState& s, const int* tokens, int n, const ForwardHooks& hooks = {});

// Causal scaled dot-product attention of one head for the query at position p:
//   att[j] = softmax_j(q · k_j / sqrt(hs)) for j <= p, att[j] = 0 for p < j < T (the causal mask);
//   out = sum_j att[j] v_j.
// q: (hs); keys, values: rows j = 0..p of hs floats, `stride` floats apart; att: (T); out: (hs).
void attend(float* out, float* att, const float* q, const float* keys, const float* values, int stride, int p,
            int hs, int T);

// out(V) = logits of row i of the last forward call.
void logits_of_row(const Model& m, const RunState& s, int i, float* out);

}  // namespace gpt
