// What each head does, measured (`gpt heads`, the page's "head roles"): for every (layer, head),
// how much the loss rises when it is switched off, how much it attends to the previous token, how
// much it behaves as an induction head, and how spread out its attention is.
#pragma once

#include <algorithm>
#include <vector>

#include "model.h"
#include "result.h"

namespace gpt {

struct HeadRole {
    double loss_increase = 0;  // mean loss over the text with this head off, minus the model's (nats/token)
    double prev_token = 0;     // mean probability from position p to p - 1, over the text's rows p >= 1
    double induction = 0;      // on a random sequence repeated once (period N): mean probability from p
                               // to p - N + 1, the token after the previous occurrence of p's token,
                               // over the second copy (Olsson et al. 2022, "In-context learning and
                               // induction heads")
    double entropy = 0;        // mean entropy of the rows p >= 1 over the text, nats
};

// The measurements, a head at a time, so a caller can show progress: start() makes one pass over
// the text (the model's loss, previous-token scores and entropies, as `gpt loss` runs its windows)
// and one over the repeated sequences (induction); each next() one pass with one head off.
class HeadStudy {
  public:
    static Result<HeadStudy> start(const Model& m, std::vector<int> tokens);

    int heads() const { return static_cast<int>(roles_.size()); }  // L * NH, layer-major
    int done() const { return done_; }                              // heads whose loss increase is measured
    double loss() const { return loss_; }                           // the model's own mean loss
    // Measures the loss increase of head done() and returns true; false when every head is done.
    bool next();
    const std::vector<HeadRole>& roles() const { return roles_; }

    // The induction test: kSequences sequences of period(c) random tokens (PCG32, seed 0), each
    // repeated once.
    static constexpr int kSequences = 4;
    static int period(const Config& c) { return std::max(1, std::min(c.block_size / 2, 100)); }
    static std::vector<std::vector<int>> repeated_sequences(const Config& c);

  private:
    HeadStudy(const Model& m, std::vector<int> tokens);
    const Model* m_;
    std::vector<int> tokens_;
    RunState s_;
    double loss_ = 0;
    int done_ = 0;
    std::vector<HeadRole> roles_;  // (L, NH)
};

}  // namespace gpt
