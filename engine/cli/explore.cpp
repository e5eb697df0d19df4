// The commands that look inside the model: explain (the numbers behind one attention row), lens
// (what each layer already predicts) and heads (what each head does, measured).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "../heads.h"
#include "../model.h"
#include "../ops/ops.h"
#include "../probe.h"
#include "cli.h"

namespace cli {

namespace {

// --position I within a window of n tokens (default: the last).
int position(const Args& a, int n) { return static_cast<int>(a.integer("position", n - 1, 0, n - 1)); }

}  // namespace

int cmd_explain(const Args& a) {
    const gpt::Model m = load_model(a);
    const gpt::Config& c = m.config();
    if (!a.has("layer") || !a.has("head") || !a.has("position")) fail(2, "explain needs --layer, --head and --position");
    const int layer = static_cast<int>(a.integer("layer", 0, 0, c.n_layer - 1));
    const int head = static_cast<int>(a.integer("head", 0, 0, c.n_head - 1));
    const std::vector<int> tokens = prompt_window(a, m);
    const int n = static_cast<int>(tokens.size()), I = position(a, n), hs = c.head_size();
    const gpt::Interventions iv = interventions(a, m);
    gpt::RunState s(c);
    gpt::Probe probe(c, {I}, layer, head);
    if (gpt::Status st = gpt::forward(m, s, tokens.data(), n, 0, {&iv, &probe}); !st) fail(1, st.error);
    const float* q = probe.q(0, layer, head);
    const float* scores = probe.scores(0, layer, head);
    const float* probs = probe.probs(0, layer, head);
    const float* out = probe.out(0, layer, head);
    const char* mode[] = {"normal", "off: its output is zero", "uniform: its weights are the causal average"};

    std::printf("layer %d, head %d, query position %d '%s' (%s); d_k = %d, score_j = q.k_j / sqrt(%d) = q.k_j / %.4f\n",
                layer, head, I, label(m, tokens[static_cast<size_t>(I)]).c_str(),
                mode[static_cast<int>(iv.at(layer, head))], hs, hs, std::sqrt(static_cast<float>(hs)));
    std::printf("q      ");
    for (int d = 0; d < hs; d++) std::printf(" %.2f", q[d]);
    std::printf("\n%5s  %-6s %10s %10s  %-7s %8s\n", "key", "token", "q.k_j", "score_j", "mask", "weight");
    for (int j = 0; j < n; j++) {
        const std::string tok = "'" + label(m, tokens[static_cast<size_t>(j)]) + "'";
        if (j <= I) {
            std::printf("%5d  %-6s %10.4f %10.4f  %-7s %8.4f\n", j, tok.c_str(), scores[j] * std::sqrt(static_cast<float>(hs)),
                        scores[j], "visible", probs[j]);
        } else {
            std::printf("%5d  %-6s %10s %10s  %-7s %8.4f\n", j, tok.c_str(), "", "-inf", "future", 0.0);
        }
    }
    // The same figures as row I of `gpt attention`, in its format.
    std::printf("weights");
    for (int j = 0; j < n; j++) std::printf(" %6.4f", j <= I ? probs[j] : 0.0f);
    double total = 0;
    for (int j = 0; j <= I; j++) total += probs[j];
    std::printf("\nthe weights sum to %.6f\n", total);

    // What each visible value adds to the output: weight_j * v_j, largest first.
    std::vector<std::pair<double, int>> contrib;
    for (int j = 0; j <= I; j++) {
        const float* v = gpt::value(s, layer, head, j);
        contrib.emplace_back(probs[j] * std::sqrt(static_cast<double>(gpt::ops::dot(v, v, hs))), j);
    }
    std::sort(contrib.begin(), contrib.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    const double out_len = std::sqrt(static_cast<double>(gpt::ops::dot(out, out, hs)));
    std::printf("output = sum_j weight_j v_j, length %.4f; the largest contributions weight_j v_j:\n", out_len);
    std::printf("%5s  %-6s %8s %10s %16s\n", "key", "token", "weight", "|w_j v_j|", "along the output");
    for (size_t r = 0; r < std::min<size_t>(5, contrib.size()); r++) {
        const int j = contrib[r].second;
        const float* v = gpt::value(s, layer, head, j);
        // The part of the output this term accounts for: its projection on the output's direction.
        const double along = out_len > 0 ? probs[j] * gpt::ops::dot(v, out, hs) / out_len : 0;
        const std::string tok = "'" + label(m, tokens[static_cast<size_t>(j)]) + "'";
        std::printf("%5d  %-6s %8.4f %10.4f %16.4f\n", j, tok.c_str(), probs[j], contrib[r].first, along);
    }
    return 0;
}

int cmd_lens(const Args& a) {
    const gpt::Model m = load_model(a);
    const gpt::Config& c = m.config();
    const std::vector<int> tokens = prompt_window(a, m);
    const int n = static_cast<int>(tokens.size()), I = position(a, n);
    const int top = static_cast<int>(a.integer("top", 5, 1, c.vocab_size));
    const gpt::Interventions iv = interventions(a, m);
    gpt::RunState s(c);
    gpt::Probe probe(c, {I}, 0, 0);  // residuals only: one head's records are the least to keep
    if (gpt::Status st = gpt::forward(m, s, tokens.data(), n, 0, {&iv, &probe}); !st) fail(1, st.error);
    std::printf("logit lens at position %d '%s': softmax(lm_head(ln_f(residual))) after each layer, top %d; the last line is the model's prediction\n", I,
                label(m, tokens[static_cast<size_t>(I)]).c_str(), top);
    std::vector<float> scratch(static_cast<size_t>(c.n_embd)), p(static_cast<size_t>(c.vocab_size));
    for (int l = -1; l < c.n_layer; l++) {
        gpt::lens(m, probe.residual(0, l), scratch.data(), p.data());
        const std::string name = l < 0 ? "embedding" : "block " + std::to_string(l);
        std::printf("%-10s", name.c_str());
        for (int t : gpt::top_indices(p.data(), c.vocab_size, top)) std::printf("  '%s' %.4f", label(m, t).c_str(), p[static_cast<size_t>(t)]);
        std::printf("\n");
    }
    return 0;
}

int cmd_heads(const Args& a) {
    const gpt::Model m = load_model(a);
    const gpt::Config& c = m.config();
    std::string where;
    const std::vector<int> tokens = encode(m, read_split(a, &where));
    auto study = gpt::HeadStudy::start(m, tokens);
    if (!study) fail(1, study.error());
    const int N = gpt::HeadStudy::period(c);
    std::printf("heads over %zu tokens (%s); the model's loss %.4f nats/token\n", tokens.size(), where.c_str(), study->loss());
    std::printf("loss_off: mean loss with the head switched off, minus the model's; prev_token: mean weight on the previous\n"
                "token; induction: mean weight on the token after the previous occurrence, on %d random sequences of %d\n"
                "tokens repeated once; entropy: mean entropy of its rows (nats)\n",
                gpt::HeadStudy::kSequences, N);
    std::printf("%5s %4s %9s %10s %9s %7s\n", "layer", "head", "loss_off", "prev_token", "induction", "entropy");
    while (study->next()) {
        const int k = study->done() - 1;
        const gpt::HeadRole& r = study->roles()[static_cast<size_t>(k)];
        std::printf("%5d %4d %+9.4f %10.3f %9.3f %7.3f\n", k / c.n_head, k % c.n_head, r.loss_increase, r.prev_token,
                    r.induction, r.entropy);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace cli
