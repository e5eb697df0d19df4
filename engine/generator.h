// Prompt -> token stream, with the context-window policy, keeping per-step attention rows.
//
// Context policy (sliding window): the model sees at most T = block_size tokens, at positions
// 0..T-1. A prompt longer than T is cut to its last T tokens. When a new token no longer fits, the
// window slides by half: its newest max(1, T/2) tokens (the new one included) are re-encoded at
// positions 0.. with one prefill, and decoding continues from there. Each token is thus predicted
// from between T/2 and T tokens of context, at the cost of one prefill every T/2 tokens, and the
// output for a fixed seed is deterministic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model.h"
#include "probe.h"
#include "result.h"
#include "sampler.h"

namespace gpt {

class Generator {
  public:
    explicit Generator(const Model& model);  // allocates the RunState once

    // Heads switched off or made uniform from the next forward call on (start() or a step()).
    // Refuses interventions shaped for another model.
    Status set_interventions(const Interventions& iv);
    const Interventions& interventions() const { return interventions_; }

    // Encodes the (already tokenized) prompt into the window; the next step() samples after it.
    // Fails on non-finite logits (finite.h).
    Status start(const std::vector<int>& prompt, uint64_t seed);

    struct Step {
        int token;         // the token drawn
        int pos;           // window position whose attention rows (every layer and head) produced it
        int window_start;  // index in tokens() of window position 0
        std::string error; // non-empty when nothing was drawn: the logits were not finite (finite.h)
        bool ok() const { return error.empty(); }
    };
    // Runs the model over the previous token if needed, then draws the next one. Settings must be
    // valid (validate()); they may change between steps. Non-finite logits stop the run: this step
    // and every later one return the error, and nothing is drawn.
    Step step(const SamplerSettings& s);

    const Model& model() const { return model_; }
    const RunState& state() const { return state_; }
    const std::vector<int>& tokens() const { return tokens_; }  // the prompt, then every drawn token
    const float* probs() const { return probs_.data(); }       // (V) distribution of the last draw
    const Sampler& sampler() const { return sampler_; }        // what the last draw chose among
    int prompt_length() const { return prompt_length_; }
    int window_start() const { return window_start_; }  // index in tokens() of window position 0

  private:
    const Model& model_;
    RunState state_;
    Sampler sampler_;
    Rng rng_;
    Interventions interventions_;  // (L, NH) modes, all normal by default
    std::vector<float> probs_;     // (V)
    std::vector<int> tokens_;
    int prompt_length_ = 0;
    int window_start_ = 0;  // tokens_[window_start_ ..] sit at positions 0..
    bool pending_ = false;  // the last token has been drawn but not yet run through the model
};

}  // namespace gpt
