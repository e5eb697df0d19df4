// Looking inside forward(): interventions on heads, and an observer forward reports to at fixed
// points (gemma.cpp's activations observer), with Probe, the observer that records chosen positions.
//
// Both are inputs to forward() (ForwardHooks, model.h), off by default. Off costs a null-pointer
// test per layer, head and fixed point, never per element; nothing is computed or copied for an
// observer that is not there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model.h"
#include "result.h"

namespace gpt {

// What one attention head does in forward():
//   normal   softmax(q·k_j / sqrt(hs)) under the causal mask, as trained;
//   off      its output (the value-weighted sum) is zero: the head contributes nothing;
//   uniform  its probabilities are replaced by the causal average, 1/(p+1) for every key j <= p
//            (tril(ones) divided by the row sums: the "mathematical trick").
enum class HeadMode : uint8_t { normal = 0, off = 1, uniform = 2 };

// One mode per (layer, head); all normal by default.
struct Interventions {
    int n_layer = 0, n_head = 0;
    std::vector<HeadMode> modes;  // (L, NH)

    Interventions() = default;
    Interventions(int layers, int heads)
        : n_layer(layers), n_head(heads), modes(static_cast<size_t>(layers) * heads, HeadMode::normal) {}
    explicit Interventions(const Config& c) : Interventions(c.n_layer, c.n_head) {}
    HeadMode at(int layer, int head) const { return modes[static_cast<size_t>(layer) * n_head + head]; }
    void set(int layer, int head, HeadMode m) { modes[static_cast<size_t>(layer) * n_head + head] = m; }
    bool any() const;
    // "0.1,2.3": heads as layer.head, as the CLI's --ablate/--uniform and the widget's attribute
    // write them. Sets each to `mode`; a bad item or a head the model lacks is an error naming it,
    // and leaves *this as it was.
    Status set_list(const std::string& list, HeadMode mode);
    // The heads in `mode`, as set_list reads them ("" when none).
    std::string list(HeadMode mode) const;
};

// The fixed points at which forward() reports, for the rows it runs whose position wants() accepts.
// Pointers are views into the RunState, valid during the call only.
class Observer {
  public:
    virtual ~Observer() = default;
    virtual bool wants(int pos) const = 0;
    // The residual stream (C) of the row at `pos` after the embedding (layer -1) or after block `layer`.
    virtual void residual(int layer, int pos, const float* x) = 0;
    // What block `layer`'s attention (after c_proj) and then its MLP add to that row's residual
    // stream (C each).
    virtual void attn_output(int layer, int pos, const float* a) = 0;
    virtual void mlp_output(int layer, int pos, const float* m) = 0;
    // One head at query position pos: q (hs) and its scaled scores q·k_j / sqrt(hs) for keys
    // j = 0..pos, before the mask and before any intervention.
    virtual void head_scores(int layer, int head, int pos, const float* q, const float* scores) = 0;
    // The probabilities (pos + 1) the head used (after the intervention) and its output (hs):
    // sum_j probs_j v_j, zero for a head switched off.
    virtual void head_output(int layer, int head, int pos, const float* probs, const float* out) = 0;
};

// Records everything at a few chosen window positions: per position the residual stream after the
// embedding and every block, what each block's attention and MLP add, and per head q, the scores,
// the probabilities and the output. Keys and values need no copy: after the forward call they are
// the KV cache's rows 0..pos (key(), value()). Allocates once, in the constructor.
class Probe final : public Observer {
  public:
    // `positions`: window positions (each recorded when a forward call runs it). layer/head >= 0
    // restrict the per-head records to that one head (a whole window of rows stays small on GPT-2).
    Probe(const Config& c, std::vector<int> positions, int layer = -1, int head = -1);

    const Config& config() const { return c_; }
    const std::vector<int>& positions() const { return positions_; }
    int slot(int pos) const;  // index of pos in positions(), or -1
    bool records_head(int layer, int head) const {
        return (layer_ < 0 || layer == layer_) && (head_ < 0 || head == head_);
    }

    // The records of slot i (views; see the class comment for the shapes).
    const float* residual(int i, int layer) const;  // layer -1: after the embedding. (C)
    const float* attn_out(int i, int layer) const;  // (C)
    const float* mlp_out(int i, int layer) const;   // (C)
    const float* q(int i, int layer, int head) const;       // (hs)
    const float* scores(int i, int layer, int head) const;  // (positions()[i] + 1)
    const float* probs(int i, int layer, int head) const;   // (positions()[i] + 1)
    const float* out(int i, int layer, int head) const;     // (hs)

    bool wants(int pos) const override { return slot(pos) >= 0; }
    void residual(int layer, int pos, const float* x) override;
    void attn_output(int layer, int pos, const float* a) override;
    void mlp_output(int layer, int pos, const float* m) override;
    void head_scores(int layer, int head, int pos, const float* q, const float* scores) override;
    void head_output(int layer, int head, int pos, const float* probs, const float* out) override;

  private:
    size_t head_index(int i, int layer, int head) const;  // slot i's record of (layer, head)
    size_t resid_at(int i, int layer) const;
    size_t block_at(int i, int layer) const;
    Config c_;
    std::vector<int> positions_;
    int layer_, head_, heads_;  // heads_: per-head records kept per (slot, layer): NH, or 1 with a head chosen
    int T_;                     // row length of scores/probs: max position + 1
    std::vector<float> resid_;  // (P, L+1, C)
    std::vector<float> attn_, mlp_;        // (P, L, C)
    std::vector<float> q_, out_;           // (P, L, heads_, hs)
    std::vector<float> scores_, probs_;    // (P, L, heads_, T_)
};

// The keys and values of one head after forward(): row j of (T, hs) rows C floats apart.
const float* key(const RunState& s, int layer, int head, int j);
const float* value(const RunState& s, int layer, int head, int j);

// The α slider: out(n) = softmax(α · scores[0, n_valid)) under the causal mask (zeros from n_valid
// on). α = 1 is the learned head, α = 0 exactly the causal average 1/n_valid.
void temper(float* out, const float* scores, int n, int n_valid, float alpha);

// The logit lens: the model's head applied to a residual stream x (C): out(V) = softmax(lm_head ·
// ln_f(x)). On the residual after the last block this is the model's own prediction, bit for bit.
// scratch: (C).
void lens(const Model& m, const float* x, float* scratch, float* out);

// The k most likely entries of p(n), most likely first (ties: lower index first).
std::vector<int> top_indices(const float* p, int n, int k);

}  // namespace gpt
