// A character-level training run on a text, as the CLI (`gpt train`) and the page's Train view
// use it: the text and its vocabulary, the split (train = first 90% of the characters, validation =
// the rest, as weights/train.py), batches, steps, validation loss, and the export of the weights
// as a checkpoint in the engine's format (README, "Weight format") that Model::load reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model.h"
#include "result.h"
#include "sampler.h"
#include "train.h"

namespace gpt {

// Model sizes the page offers (and `gpt train --preset`): each trains visibly on a laptop; the
// smallest shows a previous-character head within a minute in wasm.
struct Preset {
    const char* name;
    const char* description;
    int n_layer, n_head, n_embd, block_size, batch;
    float lr;
};
const std::vector<Preset>& presets();
const Preset* find_preset(const std::string& name);

// The text as character tokens: vocab = its distinct code points in code-point order (Python's
// sorted(set(text))), token i = vocab[i]; or, given a character tokenizer (a checkpoint to start
// from), that tokenizer's vocabulary, which must then know every character of the text.
struct Corpus {
    std::vector<std::string> vocab;  // UTF-8 of each character
    std::vector<int> tokens;         // (N) the whole text
    size_t n_train = 0;              // tokens [0, n_train) train, [n_train, N) validation
    static Result<Corpus> from_text(const std::string& text, const Tokenizer* tokenizer = nullptr);
};

// Writes the engine's checkpoint format (F32): nanoGPT names in tensor_specs order, the config
// and the character vocabulary in __metadata__, exactly as weights/gptref.py export() does.
std::vector<uint8_t> write_checkpoint(const Config& c, const std::vector<std::string>& vocab, const std::vector<float>& params);

struct StepReport {
    int step;         // the step just taken (from 0)
    float loss;       // its training loss (before the update)
    float lr;
    float grad_norm;  // before clipping
};

class Trainer {
  public:
    // A fresh model of `arch` (n_layer, n_head, n_embd, block_size; vocab_size and the GELU come
    // from the text and arch.gelu_exact) from the seed, or the weights of `init` when given (its
    // vocabulary must cover the text's characters). sequential: batches are consecutive
    // non-overlapping windows from the start of the training split (wrapping at its end), else
    // windows at random positions drawn from the seed.
    static Result<Trainer> create(const std::string& text, const Config& arch, const TrainSettings& s, uint64_t seed,
                                  bool sequential, const Model* init = nullptr);
    // Bytes a run of this shape takes (parameters, gradients, AdamW moments, activations).
    static uint64_t memory_needed(const Config& arch, int vocab_size, int batch);

    StepReport step();  // one optimizer step
    // Mean loss over consecutive windows of the validation split (at most max_windows of them).
    Result<float> validation_loss(int max_windows);
    // The first batch's gradients: runs forward and backward on batch 0 without an update.
    Result<float> gradients_of_first_batch();

    int steps_done() const { return step_; }
    long tokens_per_step() const { return static_cast<long>(settings_.batch) * config_.block_size; }
    const Config& config() const { return config_; }
    const Corpus& corpus() const { return corpus_; }
    TrainState& state() { return *state_; }
    std::vector<uint8_t> export_checkpoint() const { return write_checkpoint(config_, corpus_.vocab, state_->params()); }

  private:
    Trainer() = default;
    void batch_windows(int step);  // fills inputs_, targets_

    Config config_;
    TrainSettings settings_;
    Corpus corpus_;
    std::unique_ptr<TrainState> state_;
    Rng rng_;
    bool sequential_ = false;
    int step_ = 0;
    std::vector<int> inputs_, targets_;  // (B, T)
};

}  // namespace gpt
