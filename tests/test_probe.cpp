// Looking inside forward(): the probe's records and the interventions on heads against PyTorch
// (weights/reference.py probe: tests/data/*.probe.safetensors), in a prefill and token by token.
//
// Tolerances are those of tests/test_model.cpp, derived there: every recorded vector (residuals,
// q, k, scores, head outputs, block outputs) is a chain of dot products of at most 4C terms through
// at most n_layer blocks, like the logits, so it gets the logit tolerance relative to max(1, |x|);
// probabilities get the attention tolerance.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <nlohmann/json.hpp>

#include "generator.h"
#include "heads.h"
#include "golden.h"
#include "helpers.h"
#include "loss.h"
#include "model.h"
#include "ops/ops.h"
#include "probe.h"

using namespace gpt;

namespace {

// The largest |got - want| / max(1, |want|) over n values.
double max_rel_error(const float* got, const float* want, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = std::max(worst, std::fabs(got[i] - want[i]) / std::max(1.0, std::fabs(double(want[i]))));
    return worst;
}

struct Case {
    const char* model;
    const char* reference;
};
const Case kCases[] = {{"tests/data/tiny-f32.safetensors", "tiny-f32.probe.safetensors"},
                       {"weights/shakespeare-char.safetensors", "shakespeare.probe.safetensors"}};

std::string model_path(const Case& k) {
    const std::string m = k.model;
    return m.rfind("weights/", 0) == 0 ? std::string(GPT_WEIGHTS) + m.substr(7) : data_path(m.substr(11));
}

Interventions interventions(const Config& c, const Reference& ref, const std::string& name) {
    Interventions iv(c);
    if (name == "off" || name == "mixed") REQUIRE(iv.set_list(ref.meta("off"), HeadMode::off).ok());
    if (name == "uniform" || name == "mixed") REQUIRE(iv.set_list(ref.meta("uniform"), HeadMode::uniform).ok());
    return iv;
}

// Compares a probe (after forward over every position) with the reference tensors of one case.
void check_probe(const Probe& probe, const RunState& s, const Reference& ref, const std::string& name, int n) {
    const Config& c = probe.config();
    const int L = c.n_layer, NH = c.n_head, C = c.n_embd, hs = c.head_size();
    const double tol = logit_tolerance(L, C), att_tol = attention_tolerance(L, C);
    const auto resid = ref.tensor(name + ".resid");        // (P, L+1, C)
    const auto attn = ref.tensor(name + ".attn_out");      // (P, L, C)
    const auto mlp = ref.tensor(name + ".mlp_out");        // (P, L, C)
    const auto q = ref.tensor(name + ".q");                // (P, L, NH, hs)
    const auto out = ref.tensor(name + ".out");            // (P, L, NH, hs)
    const auto scores = ref.tensor(name + ".scores");      // (P, L, NH, n)
    const auto probs = ref.tensor(name + ".probs");        // (P, L, NH, n)
    double worst = 0, worst_p = 0;
    for (size_t i = 0; i < probe.positions().size(); i++) {
        const int p = probe.positions()[i];
        const int ii = static_cast<int>(i);
        for (int l = -1; l < L; l++) worst = std::max(worst, max_rel_error(probe.residual(ii, l), &resid[(i * (L + 1) + l + 1) * C], C));
        for (int l = 0; l < L; l++) {
            worst = std::max(worst, max_rel_error(probe.attn_out(ii, l), &attn[(i * L + l) * C], C));
            worst = std::max(worst, max_rel_error(probe.mlp_out(ii, l), &mlp[(i * L + l) * C], C));
            for (int h = 0; h < NH; h++) {
                const size_t k = (i * L + l) * NH + h;
                worst = std::max(worst, max_rel_error(probe.q(ii, l, h), &q[k * hs], hs));
                worst = std::max(worst, max_rel_error(probe.out(ii, l, h), &out[k * hs], hs));
                worst = std::max(worst, max_rel_error(probe.scores(ii, l, h), &scores[k * n], p + 1));
                for (int j = 0; j <= p; j++) {
                    worst_p = std::max(worst_p, std::fabs(double(probe.probs(ii, l, h)[j]) - probs[k * n + j]));
                    // The display band keeps the very numbers the head used.
                    REQUIRE(s.att_row(l, h, p)[j - s.capture_first(p)] == probe.probs(ii, l, h)[j]);
                }
            }
        }
    }
    WARN(name << ": max relative error of residuals, q, scores, outputs " << worst << " (tolerance " << tol
              << "); max probability error " << worst_p << " (tolerance " << att_tol << ")");
    REQUIRE(worst <= tol);
    REQUIRE(worst_p <= att_tol);
}

}  // namespace

TEST_CASE("the probe and every kind of intervention match PyTorch, in a prefill and token by token", "[probe][golden]") {
    for (const Case& k : kCases) {
        INFO(k.model);
        const Model m = load_model(read_bytes(model_path(k)));
        const Config& c = m.config();
        const Reference ref(data_path(k.reference));
        const auto tokens = ref.ints("tokens");
        const auto positions = ref.ints("positions");
        const int n = static_cast<int>(tokens.size());
        const double tol = logit_tolerance(c.n_layer, c.n_embd);
        for (const std::string name : {"normal", "off", "uniform", "mixed"}) {
            INFO("case " << name);
            const Interventions iv = interventions(c, ref, name);
            const auto logits = ref.tensor(name + ".logits");  // (n, V)

            // Prefill: every position at once.
            RunState s(c);
            Probe probe(c, positions);
            REQUIRE(forward(m, s, tokens.data(), n, 0, {&iv, &probe}).ok());
            REQUIRE(max_logit_error(m, s, first_rows(n), logits) <= tol);
            check_probe(probe, s, ref, name, n);
            if (name == "normal") {
                const auto keys = ref.tensor("normal.k");  // (L, NH, mk, hs)
                const int hs = c.head_size(), mk = static_cast<int>(keys.size() / (c.n_layer * c.n_head * hs));
                double worst = 0;
                for (int l = 0; l < c.n_layer; l++)
                    for (int h = 0; h < c.n_head; h++)
                        for (int j = 0; j < mk; j++)
                            worst = std::max(worst, max_rel_error(key(s, l, h, j), &keys[((l * c.n_head + h) * mk + j) * hs], hs));
                REQUIRE(worst <= tol);
            }

            // Decoding: one token at a time through the KV cache.
            RunState d(c);
            Probe step_probe(c, positions);
            for (int p = 0; p < n; p++) {
                REQUIRE(forward(m, d, &tokens[p], 1, p, {&iv, &step_probe}).ok());
                REQUIRE(max_rel_error(d.logits.data(), &logits[static_cast<size_t>(p) * c.vocab_size], c.vocab_size) <= tol);
            }
            check_probe(step_probe, d, ref, name, n);

            // The loss, as `gpt loss --ablate/--uniform` measures it.
            RunState ls(c);
            const auto r = mean_loss(m, ls, tokens, {&iv});
            REQUIRE(r.ok());
            REQUIRE(std::fabs(r->mean_nats - std::stod(ref.meta(name + ".loss"))) <= tol);
        }
    }
}

TEST_CASE("with no intervention and a probe, forward computes exactly what it computes without", "[probe]") {
    const Model m = load_model(read_bytes(data_path("tiny-f32.safetensors")));
    const Config& c = m.config();
    const auto tokens = Reference(data_path("tiny-f32.ref.safetensors")).ints("tokens");
    const int n = static_cast<int>(tokens.size());
    RunState plain(c), probed(c);
    const Interventions none(c);
    Probe probe(c, {0, 5, n - 1});
    REQUIRE(forward(m, plain, tokens.data(), n, 0).ok());
    REQUIRE(forward(m, probed, tokens.data(), n, 0, {&none, &probe}).ok());
    REQUIRE(plain.xn == probed.xn);
    REQUIRE(plain.att == probed.att);
    REQUIRE(plain.logits == probed.logits);
    // A probe restricted to one head records that head, the same numbers.
    RunState one(c);
    Probe narrow(c, {n - 1}, 1, 2);
    REQUIRE(forward(m, one, tokens.data(), n, 0, {nullptr, &narrow}).ok());
    for (int j = 0; j < n; j++) REQUIRE(narrow.probs(0, 1, 2)[j] == probe.probs(2, 1, 2)[j]);
    for (int d = 0; d < c.head_size(); d++) REQUIRE(narrow.q(0, 1, 2)[d] == probe.q(2, 1, 2)[d]);
}

TEST_CASE("the logit lens on the last residual is the model's prediction, bit for bit", "[probe]") {
    const Model m = load_model(read_bytes(std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors"));
    const Config& c = m.config();
    const auto tokens = m.tokenizer().encode("ROMEO:\nBut soft").tokens;
    const int n = static_cast<int>(tokens.size());
    RunState s(c);
    Probe probe(c, {n - 1});
    REQUIRE(forward(m, s, tokens.data(), n, 0, {nullptr, &probe}).ok());
    std::vector<float> scratch(c.n_embd), p(c.vocab_size), want(s.logits);
    lens(m, probe.residual(0, c.n_layer - 1), scratch.data(), p.data());
    ops::masked_softmax(want.data(), c.vocab_size, c.vocab_size);
    REQUIRE(p == want);
    const auto top = top_indices(p.data(), c.vocab_size, 5);
    REQUIRE(top.size() == 5);
    for (size_t i = 1; i < top.size(); i++) REQUIRE(p[top[i]] <= p[top[i - 1]]);
    REQUIRE(*std::max_element(p.begin(), p.end()) == p[top[0]]);
    // Earlier layers give distributions too (they sum to 1), not the same one.
    lens(m, probe.residual(0, -1), scratch.data(), p.data());
    REQUIRE(std::accumulate(p.begin(), p.end(), 0.0) == Approx(1.0).margin(1e-5));
    REQUIRE(p != want);
}

TEST_CASE("tempering: softmax(alpha * scores) goes from the causal average (alpha 0) to the head (alpha 1)", "[probe]") {
    const float scores[] = {2.0f, -1.0f, 0.5f, 3.0f, 99.0f};  // the last one is masked
    std::vector<float> out(5), want(scores, scores + 5);
    temper(out.data(), scores, 5, 4, 0.0f);
    for (int j = 0; j < 4; j++) REQUIRE(out[j] == 0.25f);
    REQUIRE(out[4] == 0.0f);
    temper(out.data(), scores, 5, 4, 1.0f);
    ops::masked_softmax(want.data(), 5, 4);
    REQUIRE(out == want);
    temper(out.data(), scores, 5, 4, 0.5f);
    double z = 0;
    for (int j = 0; j < 4; j++) z += std::exp(0.5 * scores[j]);
    for (int j = 0; j < 4; j++) REQUIRE(out[j] == Approx(std::exp(0.5 * scores[j]) / z).margin(1e-6));
}

TEST_CASE("interventions are written layer.head, and bad lists are refused, naming the item", "[probe]") {
    Interventions iv(4, 4);
    REQUIRE(iv.set_list("0.1,2.3", HeadMode::off).ok());
    REQUIRE(iv.set_list("3.0", HeadMode::uniform).ok());
    REQUIRE(iv.set_list("", HeadMode::uniform).ok());
    REQUIRE(iv.at(0, 1) == HeadMode::off);
    REQUIRE(iv.at(2, 3) == HeadMode::off);
    REQUIRE(iv.at(3, 0) == HeadMode::uniform);
    REQUIRE(iv.at(0, 0) == HeadMode::normal);
    REQUIRE(iv.list(HeadMode::off) == "0.1,2.3");
    REQUIRE(iv.list(HeadMode::uniform) == "3.0");
    REQUIRE(iv.any());
    const Interventions before = iv;
    REQUIRE_THAT(iv.set_list("1.1,4.0", HeadMode::off).error, Catch::Matchers::Contains("head 4.0 does not exist: the model has layers 0-3"));
    REQUIRE_THAT(iv.set_list("1", HeadMode::off).error, Catch::Matchers::Contains("'1' is not a head"));
    REQUIRE_THAT(iv.set_list("0.1,,", HeadMode::off).error, Catch::Matchers::Contains("'' is not a head"));
    REQUIRE_THAT(iv.set_list("a.b", HeadMode::off).error, Catch::Matchers::Contains("'a.b' is not a head"));
    REQUIRE(iv.modes == before.modes);  // a refused list changes nothing
    REQUIRE_FALSE(Interventions(4, 4).any());
}

TEST_CASE("forward and the generator refuse interventions shaped for another model", "[probe]") {
    const Model m = load_model(read_bytes(data_path("tiny-f32.safetensors")));
    RunState s(m.config());
    const Interventions other(3, 4);
    const int t = 1;
    REQUIRE_THAT(forward(m, s, &t, 1, 0, {&other}).error, Catch::Matchers::Contains("the interventions are for 3 layers x 4 heads"));
    Generator g(m);
    REQUIRE_FALSE(g.set_interventions(other).ok());
}

TEST_CASE("gpt heads' figures are the loss with the head off and the means of its attention rows", "[probe][heads]") {
    const Model m = load_model(read_bytes(data_path("tiny-f32.safetensors")));
    const Config& c = m.config();
    const int T = c.block_size;
    const auto tokens = m.tokenizer().encode(read_text(data_path("tiny-text.txt"))).tokens;
    auto study = HeadStudy::start(m, tokens);
    REQUIRE(study.ok());
    int measured = 0;
    while (study->next()) measured++;
    REQUIRE(measured == c.n_layer * c.n_head);
    REQUIRE_FALSE(study->next());

    // The same figures computed here from the kept attention (T = 32: every row is kept).
    RunState s(c);
    const auto base = mean_loss(m, s, tokens);
    REQUIRE(study->loss() == base->mean_nats);
    std::vector<double> prev(measured), ent(measured), ind(measured);
    std::vector<long> rows(measured), ind_rows(measured);
    const long n_targets = static_cast<long>(tokens.size()) - 1;
    for (long a = 0; a < n_targets; a += T) {
        const int n = static_cast<int>(std::min<long>(T, n_targets - a));
        REQUIRE(forward(m, s, tokens.data() + a, n, 0).ok());
        for (int k = 0; k < measured; k++)
            for (int p = 1; p < n; p++) {
                const float* row = s.att_row(k / c.n_head, k % c.n_head, p);
                prev[k] += row[p - 1];
                for (int j = 0; j <= p; j++) ent[k] -= row[j] > 0 ? row[j] * std::log(double(row[j])) : 0.0;
                rows[k]++;
            }
    }
    const int N = HeadStudy::period(c);
    for (const auto& seq : HeadStudy::repeated_sequences(c)) {
        REQUIRE(seq.size() == 2u * N);
        for (int i = 0; i < N; i++) REQUIRE(seq[i] == seq[i + N]);
        REQUIRE(forward(m, s, seq.data(), 2 * N, 0).ok());
        for (int k = 0; k < measured; k++)
            for (int p = N; p < 2 * N; p++) ind[k] += s.att_row(k / c.n_head, k % c.n_head, p)[p - N + 1], ind_rows[k]++;
    }
    for (int k = 0; k < measured; k++) {
        const HeadRole& r = study->roles()[k];
        REQUIRE(r.prev_token == Approx(prev[k] / rows[k]).margin(1e-9));
        REQUIRE(r.entropy == Approx(ent[k] / rows[k]).margin(1e-9));
        REQUIRE(r.induction == Approx(ind[k] / ind_rows[k]).margin(1e-9));
        Interventions off(c);
        off.modes[k] = HeadMode::off;
        REQUIRE(r.loss_increase == Approx(mean_loss(m, s, tokens, {&off})->mean_nats - base->mean_nats).margin(1e-12));
    }
}
