// Non-finite numbers stop a run. Weights that are finite but huge (N(0, 1e10), or one 3e38 in wte)
// pass the loader's checks yet overflow float32 inside the forward pass: the logits become inf or
// NaN, softmax turns them into NaN probabilities, and a sampler comparing NaNs draws the same token
// forever. Everything that consumes logits or attention probabilities (generator, loss, the CLI's
// attention table, the bindings) checks them here and stops with a message instead.
#pragma once

#include <cstddef>

#include "model.h"
#include "result.h"

namespace gpt {

// Index of the first NaN or infinity in v[0, n), or -1.
long first_non_finite(const float* v, size_t n);

// Ok when logits(V) are all finite. Otherwise a message naming the position and, when the attention
// probabilities kept in s already went non-finite, the first layer and head where they did (forward
// runs layer by layer, so that is where the overflow first reached attention).
Status check_logits(const RunState& s, const float* logits, int pos);

// Ok when every attention probability kept in s is finite; otherwise names the first layer and head.
Status check_attention(const RunState& s);

}  // namespace gpt
