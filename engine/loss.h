// The evaluation behind `gpt loss`: mean next-token cross-entropy of a model over a text.
#pragma once

#include <vector>

#include "model.h"
#include "result.h"

namespace gpt {

struct LossReport {
    double mean_nats;  // mean of -log p(target) over every target
    long targets;      // number of predicted positions
    long windows;
};

// Consecutive non-overlapping windows of T = block_size input tokens from the start of `tokens`:
// window w feeds tokens[w*T, w*T + T) and predicts tokens[w*T + 1, w*T + T + 1); a final shorter
// window takes the remainder. Every position of every window counts (as weights/gptref.py
// eval_loss_windows, the PyTorch twin it is checked against). hooks: interventions on heads and an
// observer for every forward call (model.h).
Result<LossReport> mean_loss(const Model& m, RunState& s, const std::vector<int>& tokens, const ForwardHooks& hooks = {});

}  // namespace gpt
