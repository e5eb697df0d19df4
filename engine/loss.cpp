#include "loss.h"

#include <algorithm>
#include <cmath>

#include "finite.h"

namespace gpt {

Result<LossReport> mean_loss(const Model& m, RunState& s, const std::vector<int>& tokens, const ForwardHooks& hooks) {
    const long n_targets = static_cast<long>(tokens.size()) - 1;
    if (n_targets < 1) return Result<LossReport>::fail("the text needs at least 2 tokens to measure a loss");
    const int T = m.config().block_size, V = m.config().vocab_size;
    for (int t : tokens) {
        if (t < 0 || t >= V) return Result<LossReport>::fail("token id " + std::to_string(t) + " is outside the vocabulary");
    }
    std::vector<float> logits(static_cast<size_t>(V));
    double total = 0.0;
    long windows = 0;
    for (long a = 0; a < n_targets; a += T) {
        const int n = static_cast<int>(std::min<long>(T, n_targets - a));
        if (Status st = forward(m, s, tokens.data() + a, n, 0, hooks); !st) return Result<LossReport>::fail(st.error);
        for (int i = 0; i < n; i++) {
            logits_of_row(m, s, i, logits.data());
            if (Status st = check_logits(s, logits.data(), static_cast<int>(a + i)); !st) return Result<LossReport>::fail(st.error);
            // -log softmax(logits)[target] = logsumexp(logits) - logits[target], in double.
            const double mx = *std::max_element(logits.begin(), logits.end());
            double sum = 0.0;
            for (float v : logits) sum += std::exp(v - mx);
            total += mx + std::log(sum) - logits[static_cast<size_t>(tokens[static_cast<size_t>(a + i + 1)])];
        }
        windows++;
    }
    return LossReport{total / n_targets, n_targets, windows};
}

}  // namespace gpt
