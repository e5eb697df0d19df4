// Next-token sampling: greedy, temperature, top-k, top-p, with a seeded RNG. Plain scalar C++ in a
// fixed order, so the same seed draws the same tokens natively and in WebAssembly.
//
// The rule, exactly:
//   temperature 0 (or below 1e-6): the argmax, lowest token id on ties; the RNG is not used.
//   Otherwise p = softmax(logits / temperature) in double precision. Candidates are ranked by p
//   descending, token id ascending on ties. top_k > 0 keeps the first top_k; top_p < 1 keeps the
//   shortest prefix whose probabilities sum to at least top_p (at least one token). One uniform
//   draw u in [0, 1) picks the first candidate whose running sum exceeds u * (sum of kept p).
//   With neither filter the candidates are walked in token-id order (no ranking needed).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "result.h"

namespace gpt {

// PCG32 (O'Neill, pcg-random.org, "pcg32_random_r"): small, fast, and specified bit for bit.
class Rng {
  public:
    explicit Rng(uint64_t seed = 0);
    uint32_t next_u32();
    double uniform();  // [0, 1), 32 random bits

  private:
    uint64_t state_ = 0, inc_ = 0;
};

struct SamplerSettings {
    float temperature = 1.0f;
    int top_k = 0;       // 0: off
    float top_p = 1.0f;  // 1: off
};
Status validate(const SamplerSettings& s);

class Sampler {
  public:
    explicit Sampler(int vocab_size);  // sizes the scratch buffers once
    // Returns the drawn token. probs(V) receives the distribution it was drawn from before the top-k /
    // top-p filters, softmax(logits / temperature), or softmax(logits) when greedy: what the page shows.
    int sample(const float* logits, const SamplerSettings& s, Rng& rng, float* probs);

    // The candidates the last draw chose among, as (probability before renormalising, token):
    // ranked best first when a filter was on, in token order otherwise; empty after a greedy draw.
    int kept_count() const { return n_kept_; }
    const std::pair<double, int>& kept(int i) const { return ranked_[static_cast<size_t>(i)]; }

  private:
    int V_;
    int n_kept_ = 0;
    std::vector<double> p_;                   // (V)
    std::vector<std::pair<double, int>> ranked_;  // (V) (probability, token), best first
};

}  // namespace gpt
