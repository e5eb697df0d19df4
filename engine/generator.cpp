#include "generator.h"

#include <algorithm>

#include "finite.h"

namespace gpt {

Generator::Generator(const Model& model)
    : model_(model),
      state_(model.config(), kGenerateRows),
      sampler_(model.config().vocab_size),
      interventions_(model.config()),
      probs_(static_cast<size_t>(model.config().vocab_size)) {}

Status Generator::set_interventions(const Interventions& iv) {
    const Config& c = model_.config();
    if (iv.n_layer != c.n_layer || iv.n_head != c.n_head) return Status::fail("the interventions are for another model's heads");
    interventions_ = iv;
    return Status::success();
}

Status Generator::start(const std::vector<int>& prompt, uint64_t seed) {
    if (prompt.empty()) return Status::fail("the prompt is empty: give the model at least one character to continue");
    const int T = model_.config().block_size;
    const int n = static_cast<int>(prompt.size());
    const int start = std::max(0, n - T);
    if (Status s = prefill(model_, state_, prompt.data() + start, n - start, {&interventions_}); !s) return s;
    if (Status s = check_logits(state_, state_.logits.data(), n - start - 1); !s) return s;
    tokens_ = prompt;
    prompt_length_ = n;
    window_start_ = start;
    pending_ = false;
    rng_ = Rng(seed);
    return Status::success();
}

Generator::Step Generator::step(const SamplerSettings& s) {
    const int T = model_.config().block_size;
    // forward() cannot fail here: drawn tokens are in the vocabulary and positions stay in the window.
    if (pending_) {
        const int n_window = static_cast<int>(tokens_.size()) - window_start_;  // the new token included
        if (n_window > T) {
            const int keep = std::max(1, T / 2);
            window_start_ = static_cast<int>(tokens_.size()) - keep;
            prefill(model_, state_, tokens_.data() + window_start_, keep, {&interventions_});
        } else {
            forward(model_, state_, &tokens_.back(), 1, n_window - 1, {&interventions_});
        }
    }
    pending_ = false;  // a failed step stays failed: the next one finds the same logits
    const int pos = static_cast<int>(tokens_.size()) - 1 - window_start_;
    if (Status st = check_logits(state_, state_.logits.data(), pos); !st) return {-1, pos, window_start_, st.error};
    const int token = sampler_.sample(state_.logits.data(), s, rng_, probs_.data());
    tokens_.push_back(token);
    pending_ = true;
    return {token, pos, window_start_, {}};
}

}  // namespace gpt
