// Training: the model's forward pass over a (B, T) batch keeping every activation, the backward
// pass, and AdamW. Its own unit beside the inference forward (model.cpp), in the style of llm.c's
// train_gpt2.c: parameters in one float32 buffer in tensor_specs() order (the layout Model::load
// fills and the checkpoint writer reads), gradients in a second buffer of the same layout, named
// *_backward functions whose arguments mirror the forward ones, activations per layer.
//
// Checked against PyTorch autograd and weights/train.py's optimizer by tests/test_train.cpp (golden
// files from weights/train_reference.py).
#pragma once

#include <cstdint>
#include <vector>

#include "model.h"
#include "result.h"
#include "sampler.h"

namespace gpt {

// The optimizer and schedule, with weights/train.py's names and defaults where it has them.
struct TrainSettings {
    int batch = 16;             // B, windows per step
    int steps = 2000;           // length of the cosine schedule (train.py --max-iters)
    int warmup = 100;           // linear warm-up steps
    float lr = 3e-3f;           // peak learning rate
    float min_lr = 3e-4f;       // the end of the cosine
    float beta1 = 0.9f, beta2 = 0.99f, eps = 1e-8f;
    float weight_decay = 0.1f;  // on matrices only (every parameter of rank 2, as train.py)
    float grad_clip = 1.0f;     // the gradients' global norm is clipped to this (0: off)
};
Status validate(const TrainSettings& s);

// train.py's lr_at(step): linear warm-up to lr over `warmup` steps, cosine decay to min_lr at
// `steps`, min_lr after.
double learning_rate(const TrainSettings& s, int step);

// Memory of a TrainState for a config and batch, computed before anything is allocated (with
// per-thread scratch for the pool's threads now: engine/parallel.h).
uint64_t train_memory(const Config& c, int batch);
// Arithmetic of one step, counted as for "model flops utilisation": 6 per weight of every matrix
// product per token (forward 2, backward 4; the tied head included) plus attention's QKᵀ and AV
// over the causal half, 3 x 4 x L x C x T / 2 per token.
double train_flops_per_step(const Config& c, int batch);

class TrainState {
  public:
    // A fresh model with nanoGPT's initialisation drawn from PCG32(seed): weights N(0, 0.02), the
    // residual projections (c_proj) N(0, 0.02 / sqrt(2 L)), biases 0, LayerNorm gains 1.
    static Result<TrainState> create(const Config& c, int batch, uint64_t seed);
    // Starts from a loaded model's weights (its head must be tied to wte, as the engine trains it).
    static Result<TrainState> from_model(const Model& m, int batch);

    const Config& config() const { return config_; }
    int batch() const { return B_; }
    const std::vector<TensorSpec>& specs() const { return specs_; }
    const std::vector<float>& params() const { return params_; }  // (P) in specs() order
    std::vector<float>& grads() { return grads_; }                  // (P) d loss / d params
    size_t offset(size_t spec) const { return offsets_[spec]; }      // of tensor `spec` in both
    Weights weights() const;                                         // views into params()

    // Runs rows (n <= batch) windows of t (<= block_size) tokens: inputs and targets are (n, t).
    // Keeps the activations for backward() and returns the mean cross-entropy of the n * t targets.
    Result<float> forward(const int* inputs, const int* targets, int n, int t);
    // Sets grads() to the gradient of the last forward()'s mean loss.
    void backward();
    // Clips the gradients to s.grad_clip by global norm and takes one AdamW step at
    // learning_rate(s, step) (step counts from 0). Returns the norm before clipping.
    float update(const TrainSettings& s, int step);

    // The attention probabilities of the last forward(): (L, n, NH, t, t), row i zero past i.
    const float* attention(int layer, int row, int head) const;

  private:
    TrainState() = default;
    void allocate(const Config& c, int batch);

    Config config_;
    int B_ = 0;                      // batch capacity
    int n_ = 0, t_ = 0;              // rows and length of the last forward()
    std::vector<TensorSpec> specs_;
    std::vector<size_t> offsets_;    // start of each spec in params_ / grads_
    std::vector<float> params_, grads_;
    std::vector<float> m_, v_;       // AdamW moments, (P) each
    int adam_steps_ = 0;

    // Activations of the last forward, per layer as in llm.c (L = layers, BT = n * t rows).
    std::vector<int> inputs_, targets_;  // (B, T)
    std::vector<float> encoded;   // (B, T, C) wte + wpe
    std::vector<float> ln1;       // (L, B, T, C)
    std::vector<float> qkv;       // (L, B, T, 3C)
    std::vector<float> att;       // (L, B, NH, T, T) probabilities, zero above the diagonal
    std::vector<float> atty;      // (L, B, T, C) attention output, heads side by side
    std::vector<float> res2;      // (L, B, T, C) residual after attention
    std::vector<float> ln2;       // (L, B, T, C)
    std::vector<float> fch;       // (L, B, T, 4C) before GELU
    std::vector<float> fch_gelu;  // (L, B, T, 4C)
    std::vector<float> res3;      // (L, B, T, C) residual after the MLP: the layer's output
    std::vector<float> lnf;       // (B, T, C)
    std::vector<float> probs;     // (B, T, V) softmax of the logits; backward turns it into dlogits
    std::vector<double> losses;   // (B, T) each target's cross-entropy
    // Backward scratch.
    std::vector<float> dres;      // (B, T, C) gradient of the residual stream
    std::vector<float> dtmp;      // (B, T, C)
    std::vector<float> dbig;      // (B, T, 4C)
    std::vector<float> dqkv;      // (B, T, 3C)
    std::vector<float> datt;      // (slots, T, T) one head's, a slot per thread of the pool
    int datt_slots_ = 0;
};

// The fused-QKV causal multi-head attention of a (n, t) batch and its backward:
//   out(n, t, C), att(n, NH, t, t) from qkv(n, t, 3C);
//   dqkv(n, t, 3C) (overwritten) from dout(n, t, C), with datt(datt_slots, t, t) as scratch.
// Both split their (row, head) pairs over the pool; the backward runs on one thread when datt has
// fewer slots than the pool has threads.
void attention_forward(float* out, float* att, const float* qkv, int n, int t, int C, int NH);
void attention_backward(float* dqkv, float* datt, int datt_slots, const float* dout, const float* qkv, const float* att,
                        int n, int t, int C, int NH);

}  // namespace gpt
