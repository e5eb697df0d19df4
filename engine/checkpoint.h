// Reading a checkpoint: the weights file plus what may come beside it (a tokenizer, a config), in
// any of the layouts the engine accepts, into one validated description. Model::load turns that
// into float32 weights in the engine's single internal layout.
//
// Layouts:
//   - the engine's own: nanoGPT names ("transformer.h.0.attn.c_attn.weight"), Linear weights
//     [out, in], config and tokenizer in __metadata__ (README, "Weight format");
//   - Hugging Face GPT-2 ("h.0.attn.c_attn.weight", or with the "transformer." prefix of
//     GPT2LMHeadModel): Conv1D weights stored [in, out] and transposed at load, the attention mask
//     buffers ignored, lm_head recognised as tied when it equals wte; the config from config.json
//     when given, else from the shapes (head size 64, as every GPT-2 model has).
// Tokenizers: tokenizer.json, or vocab.json + merges.txt (GPT-2 BPE), or the metadata's "vocab"
// (characters) or "tokenizer_json".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model.h"
#include "result.h"
#include "safetensors.h"
#include "tokenizer.h"

namespace gpt {

struct CheckpointFiles {
    const uint8_t* weights = nullptr;
    size_t weights_size = 0;
    std::string tokenizer_json, vocab_json, merges_txt, config_json;  // optional: empty when absent
};

struct Checkpoint {
    struct Source {
        TensorSpec spec;                         // what it is in the model
        const safetensors::TensorInfo* stored;  // where it is in the file
        bool transpose;                          // stored [in, out] (Conv1D): transposed to [out, in] at load
    };
    safetensors::File file;  // points into CheckpointFiles::weights (data null while they stream in)
    Config config;
    std::string layout;      // "gpt-playground" or "huggingface"
    std::unique_ptr<Tokenizer> tokenizer;
    std::vector<Source> tensors;  // tensor_specs(config), then lm_head.weight if untied
    ops::WFormat format = ops::WFormat::F32;  // the weight matrices' format in memory (resolved)
    // lm_head.weight is in tensors as untied, but the data was not there to compare it with wte:
    // the loader ties it if their bytes turn out equal.
    bool head_maybe_tied = false;
};

// Validates everything (container, layout, config, memory, tokenizer, tensor names and shapes)
// without reading a single weight. The memory check counts the weight matrices in the format
// weights_in resolves to (weights_format.h).
Result<Checkpoint> read_checkpoint(const CheckpointFiles& files, uint64_t max_memory,
                                   WeightsIn weights_in = WeightsIn::automatic);
// The same from a parsed header (files.weights unused): file.data may be null, the weights not
// arrived yet (loader.h); then an lm_head is taken as untied, with head_maybe_tied set.
Result<Checkpoint> read_checkpoint(safetensors::File file, const CheckpointFiles& files, uint64_t max_memory,
                                   WeightsIn weights_in = WeightsIn::automatic);

}  // namespace gpt
