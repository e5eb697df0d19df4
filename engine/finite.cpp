#include "finite.h"

#include <cmath>
#include <string>

namespace gpt {

namespace {

// "layer 1, head 0" for the first non-finite attention probability, or "" when all are finite.
// RunState::att is (L, NH, R, K) with R = K = capture: the layer and head follow from the index.
std::string first_bad_head(const RunState& s) {
    const long i = first_non_finite(s.att.data(), s.att.size());
    if (i < 0) return "";
    const size_t per_head = static_cast<size_t>(s.capture) * static_cast<size_t>(s.capture);
    const size_t head = static_cast<size_t>(i) / per_head;
    const size_t nh = static_cast<size_t>(s.config.n_head);
    return "layer " + std::to_string(head / nh) + ", head " + std::to_string(head % nh);
}

}  // namespace

long first_non_finite(const float* v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!std::isfinite(v[i])) return static_cast<long>(i);
    }
    return -1;
}

Status check_logits(const RunState& s, const float* logits, int pos) {
    const long bad = first_non_finite(logits, static_cast<size_t>(s.config.vocab_size));
    if (bad < 0) return Status::success();
    const std::string where = first_bad_head(s);
    return Status::fail("the logits at position " + std::to_string(pos) + " are not finite (token " + std::to_string(bad) +
                        " is " + (std::isnan(logits[bad]) ? "NaN" : "infinite") + "): the model's numbers overflow float32" +
                        (where.empty() ? " after its last attention" : ", first in the attention of " + where) +
                        "; the run is stopped");
}

Status check_attention(const RunState& s) {
    const std::string where = first_bad_head(s);
    if (where.empty()) return Status::success();
    return Status::fail("the attention probabilities of " + where + " are not finite: the model's numbers overflow float32");
}

}  // namespace gpt
