#include "sampler.h"

#include <algorithm>
#include <cmath>

namespace gpt {

Rng::Rng(uint64_t seed) {
    // pcg32_srandom_r(seed, 54): the reference seeding.
    inc_ = (54u << 1u) | 1u;
    next_u32();
    state_ += seed;
    next_u32();
}

uint32_t Rng::next_u32() {
    const uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + inc_;
    const uint32_t xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
    const uint32_t rot = static_cast<uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

double Rng::uniform() { return next_u32() * (1.0 / 4294967296.0); }

Status validate(const SamplerSettings& s) {
    if (!std::isfinite(s.temperature) || s.temperature < 0.0f || s.temperature > 100.0f) {
        return Status::fail("temperature must be between 0 and 100");
    }
    if (s.top_k < 0) return Status::fail("top-k must be 0 (off) or positive");
    if (!std::isfinite(s.top_p) || s.top_p <= 0.0f || s.top_p > 1.0f) {
        return Status::fail("top-p must be in (0, 1]");
    }
    return Status::success();
}

Sampler::Sampler(int vocab_size) : V_(vocab_size), p_(static_cast<size_t>(vocab_size)), ranked_(p_.size()) {}

int Sampler::sample(const float* logits, const SamplerSettings& s, Rng& rng, float* probs) {
    const bool greedy = s.temperature < 1e-6f;
    const double inv_t = greedy ? 1.0 : 1.0 / s.temperature;
    double mx = logits[0];
    int argmax = 0;
    for (int i = 1; i < V_; i++) {
        if (logits[i] > mx) mx = logits[i], argmax = i;
    }
    double sum = 0.0;
    for (int i = 0; i < V_; i++) sum += (p_[i] = std::exp((logits[i] - mx) * inv_t));
    for (int i = 0; i < V_; i++) probs[i] = static_cast<float>(p_[i] /= sum);
    n_kept_ = 0;
    if (greedy) return argmax;

    for (int i = 0; i < V_; i++) ranked_[i] = {p_[i], i};
    const bool use_k = s.top_k > 0 && s.top_k < V_;
    const bool use_p = s.top_p < 1.0f;
    if (!use_k && !use_p) {
        n_kept_ = V_;
        const double u = rng.uniform();
        double c = 0.0;
        int last = argmax;
        for (int i = 0; i < V_; i++) {
            if (p_[i] > 0.0) last = i;
            if ((c += p_[i]) > u) return i;
        }
        return last;  // u within rounding of the total: the last token that has probability
    }
    const auto better = [](const std::pair<double, int>& a, const std::pair<double, int>& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    };
    int n = use_k ? s.top_k : V_;
    std::partial_sort(ranked_.begin(), ranked_.begin() + n, ranked_.end(), better);
    if (use_p) {
        double c = 0.0;
        int keep = 0;
        while (keep < n) {
            c += ranked_[keep++].first;
            if (c >= s.top_p) break;
        }
        n = keep;
    }
    n_kept_ = n;
    double kept = 0.0;
    for (int i = 0; i < n; i++) kept += ranked_[i].first;
    const double u = rng.uniform() * kept;
    double c = 0.0;
    for (int i = 0; i < n; i++) {
        if ((c += ranked_[i].first) > u) return ranked_[i].second;
    }
    return ranked_[n - 1].second;
}

}  // namespace gpt
