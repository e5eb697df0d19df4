// Whole-model parity with PyTorch (weights/reference.py, float64) on the tiny random checkpoint in
// F32, F16 and BF16, the KV cache against a full prefill, the loss, and the generator's window.
//
// Tolerance, from float32 rounding (u = 2^-24): the reference is float64, so what the tests see is
// the engine's own rounding. A dot product of K terms rounds like a random walk, ~sqrt(K) * u of
// its magnitude; the longest ones have K = 4C (the MLP projection); each block adds its share, so
// the error grows about linearly with n_layer. Activations after LayerNorm are O(1) and the logits
// O(10), which with a margin for LayerNorm's 1/sigma amplification gives the factor 16:
//     logits:    |engine - reference| <= n_layer * sqrt(4C) * 16u * max(1, |reference|)
//     attention: |engine - reference| <= n_layer * sqrt(4C) * 4u   (probabilities are in [0, 1])
// For the tiny model (2 layers, C = 64) that is 3.1e-5 and 7.6e-6; measured: 2.5e-6 and 6e-7.
// A real bug (a wrong scale, a missing bias, an off-by-one mask) moves values by 1e-2 or more.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <nlohmann/json.hpp>

#include "bad_files.h"
#include "generator.h"
#include "golden.h"
#include "helpers.h"
#include "loss.h"
#include "model.h"
#include "safetensors.h"
#include "weights_format.h"

using namespace gpt;

namespace {

double logit_tol(const Config& c) { return logit_tolerance(c.n_layer, c.n_embd); }
double att_tol(const Config& c) { return attention_tolerance(c.n_layer, c.n_embd); }

Model load(const std::string& name) { return load_model(read_bytes(data_path(name))); }
Reference reference(const std::string& name) { return Reference(data_path(name)); }

}  // namespace

TEST_CASE("logits and attention match PyTorch in F32, F16 and BF16, and with exact GELU", "[model][golden]") {
    for (const std::string dtype : {"f32", "f16", "bf16", "gelu-f32"}) {
        INFO("dtype " << dtype);
        const Model m = load("tiny-" + dtype + ".safetensors");
        const Reference ref = reference("tiny-" + dtype + ".ref.safetensors");
        const Config& c = m.config();
        const auto tokens = ref.ints("tokens");
        const int n = static_cast<int>(tokens.size());
        RunState s(c);
        REQUIRE(forward(m, s, tokens.data(), n, 0).ok());

        const double worst = max_logit_error(m, s, first_rows(n), ref.tensor("logits"));  // (n, V)
        WARN("max relative logit error " << worst);
        REQUIRE(worst <= logit_tol(c));
        // The last row's logits are also left in s.logits.
        std::vector<float> last(c.vocab_size);
        logits_of_row(m, s, n - 1, last.data());
        for (int v = 0; v < c.vocab_size; v++) REQUIRE(s.logits[v] == last[v]);

        const double worst_att = max_attention_error(s, ref, n);
        WARN("max attention error " << worst_att);
        REQUIRE(worst_att <= att_tol(c));
    }
}

TEST_CASE("loss matches PyTorch over several windows, the last one partial", "[model][golden]") {
    for (const std::string dtype : {"f32", "f16", "bf16", "gelu-f32"}) {
        const Model m = load("tiny-" + dtype + ".safetensors");
        const Reference ref = reference("tiny-" + dtype + ".ref.safetensors");
        const auto loss_tokens = ref.ints("loss_tokens");
        RunState s(m.config());
        const auto r = mean_loss(m, s, loss_tokens);
        REQUIRE(r.ok());
        REQUIRE(r->targets == static_cast<long>(loss_tokens.size()) - 1);
        REQUIRE(r->windows == (r->targets + m.config().block_size - 1) / m.config().block_size);
        REQUIRE(std::fabs(r->mean_nats - std::stod(ref.meta("loss"))) <= logit_tol(m.config()));
    }
}

TEST_CASE("KV-cache decoding gives the same logits and attention as a full prefill", "[model]") {
    const Model m = load("tiny-f32.safetensors");
    const Config& c = m.config();
    const auto tokens = reference("tiny-f32.ref.safetensors").ints("tokens");
    const int n = static_cast<int>(tokens.size());
    RunState full(c), step(c);
    REQUIRE(forward(m, full, tokens.data(), n, 0).ok());
    // Decode: a 5-token prefill, then one token at a time.
    REQUIRE(forward(m, step, tokens.data(), 5, 0).ok());
    std::vector<float> row(c.vocab_size);
    for (int p = 5; p < n; p++) {
        REQUIRE(forward(m, step, &tokens[p], 1, p).ok());
        logits_of_row(m, full, p, row.data());
        for (int v = 0; v < c.vocab_size; v++) {
            // Same math, different grouping (matmul tiles vs matvec): float32 rounding only.
            REQUIRE(step.logits[v] == Approx(row[v]).margin(logit_tol(c) * std::max(1.0f, std::fabs(row[v]))));
        }
        for (int l = 0; l < c.n_layer; l++)
            for (int h = 0; h < c.n_head; h++)
                for (int j = 0; j < c.block_size; j++) REQUIRE(step.att_row(l, h, p)[j] == Approx(full.att_row(l, h, p)[j]).margin(att_tol(c)));
    }
}

TEST_CASE("forward refuses positions outside the window and unknown token ids", "[model]") {
    const Model m = load("tiny-f32.safetensors");
    RunState s(m.config());
    const int T = m.config().block_size;
    std::vector<int> tokens(T + 1, 1);
    REQUIRE_THAT(forward(m, s, tokens.data(), T + 1, 0).error, Catch::Matchers::Contains("outside the context window of 32"));
    REQUIRE_FALSE(forward(m, s, tokens.data(), 1, T).ok());
    REQUIRE_FALSE(forward(m, s, tokens.data(), 0, 0).ok());
    tokens[0] = m.config().vocab_size;
    REQUIRE_THAT(forward(m, s, tokens.data(), 1, 0).error, Catch::Matchers::Contains("token id 62 is outside the vocabulary"));
}

TEST_CASE("generation is deterministic for a seed and slides its window past the context", "[generator]") {
    const Model m = load("tiny-f32.safetensors");
    const int T = m.config().block_size;
    const auto prompt = m.tokenizer().encode("First Citizen:\n").tokens;
    SamplerSettings s;
    s.temperature = 0.9f;
    s.top_k = 20;
    auto run = [&](uint64_t seed, int n) {
        Generator g(m);
        REQUIRE(g.start(prompt, seed).ok());
        std::vector<Generator::Step> steps;
        for (int i = 0; i < n; i++) steps.push_back(g.step(s));
        return std::make_pair(g.tokens(), steps);
    };
    const int n = 3 * T;  // several slides
    const auto [a, steps] = run(7, n);
    const auto [b, steps_b] = run(7, n);
    const auto [c, steps_c] = run(8, n);
    REQUIRE(a == b);
    REQUIRE(a != c);
    REQUIRE(a.size() == prompt.size() + n);

    // The window policy: positions grow to T-1, then the window keeps the newest T/2 tokens.
    int prev_start = 0;
    for (size_t i = 0; i < steps.size(); i++) {
        const auto& st = steps[i];
        const int index = static_cast<int>(prompt.size() + i) - 1;  // the token whose row produced the draw
        REQUIRE(st.pos == index - st.window_start);
        REQUIRE(st.pos < T);
        REQUIRE(st.pos >= 0);
        if (st.window_start != prev_start) REQUIRE(st.pos == T / 2 - 1);
        prev_start = st.window_start;
    }
    REQUIRE(prev_start > 0);

    // Each step's distribution is the model's prediction for the same window, computed from scratch.
    Generator g(m);
    REQUIRE(g.start(prompt, 7).ok());
    RunState fresh(m.config());
    for (int i = 0; i < n; i++) {
        const auto st = g.step(s);
        const auto& toks = g.tokens();
        REQUIRE(forward(m, fresh, toks.data() + st.window_start, st.pos + 1, 0).ok());
        std::vector<float> p(fresh.logits.size());
        SamplerSettings greedy;
        greedy.temperature = s.temperature;  // same temperature: compare the distributions
        Sampler sampler(m.config().vocab_size);
        Rng rng(0);
        sampler.sample(fresh.logits.data(), greedy, rng, p.data());
        for (size_t v = 0; v < p.size(); v++) REQUIRE(g.probs()[v] == Approx(p[v]).margin(1e-5));
    }
}

TEST_CASE("a prompt longer than the context keeps its last block_size tokens", "[generator]") {
    const Model m = load("tiny-f32.safetensors");
    const int T = m.config().block_size;
    std::vector<int> prompt(T + 10);
    for (size_t i = 0; i < prompt.size(); i++) prompt[i] = static_cast<int>(i % 50);
    Generator g(m);
    REQUIRE(g.start(prompt, 1).ok());
    const auto st = g.step(SamplerSettings{});
    REQUIRE(st.window_start == 10);
    REQUIRE(st.pos == T - 1);
    REQUIRE_THAT(g.start({}, 1).error, Catch::Matchers::Contains("the prompt is empty"));
}

namespace {
// A random model in the engine's format, built in memory (F32, a character vocabulary).
std::vector<uint8_t> random_checkpoint(int L, int NH, int C, int T, int V, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.3f);
    nlohmann::json header;
    std::vector<std::string> vocab;
    for (int i = 0; i < V; i++) vocab.push_back(std::string(1, static_cast<char>('A' + i)));
    header["__metadata__"] = {{"n_layer", std::to_string(L)}, {"n_head", std::to_string(NH)}, {"n_embd", std::to_string(C)},
                              {"block_size", std::to_string(T)}, {"vocab_size", std::to_string(V)},
                              {"vocab", nlohmann::json(vocab).dump()}};
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {{"transformer.wte.weight", {V, C}},
                                                                       {"transformer.wpe.weight", {T, C}}};
    for (int l = 0; l < L; l++) {
        const std::string p = "transformer.h." + std::to_string(l) + ".";
        for (auto& [n, s] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
                 {"ln_1.weight", {C}}, {"ln_1.bias", {C}}, {"attn.c_attn.weight", {3 * C, C}}, {"attn.c_attn.bias", {3 * C}},
                 {"attn.c_proj.weight", {C, C}}, {"attn.c_proj.bias", {C}}, {"ln_2.weight", {C}}, {"ln_2.bias", {C}},
                 {"mlp.c_fc.weight", {4 * C, C}}, {"mlp.c_fc.bias", {4 * C}}, {"mlp.c_proj.weight", {C, 4 * C}}, {"mlp.c_proj.bias", {C}}}) {
            shapes.push_back({p + n, s});
        }
    }
    shapes.push_back({"transformer.ln_f.weight", {C}});
    shapes.push_back({"transformer.ln_f.bias", {C}});
    std::vector<uint8_t> data;
    for (const auto& [name, shape] : shapes) {
        size_t n = 1;
        for (auto s : shape) n *= static_cast<size_t>(s);
        header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + 4 * n}}};
        for (size_t i = 0; i < n; i++) {
            const float v = name.find("ln_") != std::string::npos && name.find("weight") != std::string::npos ? 1.0f : d(rng);
            const auto* b = reinterpret_cast<const uint8_t*>(&v);
            data.insert(data.end(), b, b + 4);
        }
    }
    return make_safetensors(header.dump(), data);
}
}  // namespace

TEST_CASE("a context longer than 256 keeps a 256-wide band of attention, the full rows' tail", "[model][attention]") {
    const int T = 300;
    const auto bytes = random_checkpoint(1, 2, 16, T, 20, 3);
    auto m = Model::load(bytes.data(), bytes.size());
    INFO(m.error());
    REQUIRE(m.ok());
    RunState s(m->config());
    REQUIRE(s.capture == kMaxCapture);
    REQUIRE(s.att.size() == 2u * 256 * 256);  // not 2 * 300 * 300
    std::vector<int> tokens(T);
    for (int i = 0; i < T; i++) tokens[i] = (i * 7 + 3) % 20;
    REQUIRE(forward(m.value(), s, tokens.data(), T, 0).ok());
    // Recompute every row of the (only) layer in full from the cache; the kept band must be its tail.
    const int C = 16, hs = 8;
    std::vector<float> full(T), out(hs);
    for (int h = 0; h < 2; h++) {
        for (int p = T - kMaxCapture; p < T; p++) {
            attend(out.data(), full.data(), s.qkv.data() + p * 3 * C + h * hs, s.keys(0, h), s.values(0, h), hs, p,
                   hs, T);
            const int first = s.capture_first(p);
            REQUIRE(first == std::max(0, p - 255));
            const float* row = s.att_row(0, h, p);
            // The prefill computes the row as a matrix product, attend() as dot products: float32 rounding apart.
            for (int j = 0; j < kMaxCapture; j++) {
                if (first + j <= p) REQUIRE(row[j] == Approx(full[first + j]).margin(attention_tolerance(1, C)));
                else REQUIRE(row[j] == 0.0f);
            }
        }
    }
    // And the generator runs on past the window with it.
    Generator g(m.value());
    REQUIRE(g.start(tokens, 1).ok());
    for (int i = 0; i < 200; i++) g.step(SamplerSettings{});
    REQUIRE(g.tokens().size() == static_cast<size_t>(T + 200));
}

TEST_CASE("prefill in chunks is one forward call bit for bit, in every weights format", "[model][generator]") {
    // Width 64: the Q8 groups (32) are whole, and the integer GEMM's x blocks are what they are in
    // GPT-2. Rows 8: chunks of 5..8 rows for the longer prompts.
    const int T = 64, C = 64;
    const auto bytes = random_checkpoint(2, 2, C, T, 20, 11);
    for (WeightsIn w : {WeightsIn::f32, WeightsIn::f16, WeightsIn::int8}) {
        auto loaded = Model::load(bytes.data(), bytes.size(), UINT64_MAX, w);
        INFO(loaded.error());
        REQUIRE(loaded.ok());
        const Model& m = loaded.value();
        for (int n : {1, 4, 8, 9, 17, 40, 64}) {
            INFO(weights_in_name(w) << " n=" << n);
            std::vector<int> tokens(n);
            for (int i = 0; i < n; i++) tokens[i] = (i * 13 + 5) % 20;
            RunState one(m.config()), chunked(m.config(), 8);
            REQUIRE(chunked.rows == 8);
            REQUIRE(forward(m, one, tokens.data(), n, 0).ok());
            REQUIRE(prefill(m, chunked, tokens.data(), n).ok());
            REQUIRE(std::equal(one.logits.begin(), one.logits.end(), chunked.logits.begin()));
            const size_t cached = static_cast<size_t>(n) * m.config().head_size();  // a head's first n keys
            for (int l = 0; l < m.config().n_layer; l++) {
                for (int h = 0; h < m.config().n_head; h++) {
                    REQUIRE(std::equal(one.keys(l, h), one.keys(l, h) + cached, chunked.keys(l, h)));
                    REQUIRE(std::equal(one.values(l, h), one.values(l, h) + cached, chunked.values(l, h)));
                }
            }
            REQUIRE(one.att == chunked.att);
            // And decoding on from there is the same too.
            if (n < T) {
                const int next = 7;
                REQUIRE(forward(m, one, &next, 1, n).ok());
                REQUIRE(forward(m, chunked, &next, 1, n).ok());
                REQUIRE(one.logits == chunked.logits);
            }
        }
    }
}

TEST_CASE("a forward call of more rows than its run state holds is refused, and the state still works", "[model]") {
    const Model m = load("tiny-f32.safetensors");
    RunState s(m.config(), 4);
    std::vector<int> tokens(10, 1);
    REQUIRE_THAT(forward(m, s, tokens.data(), 5, 0).error, Catch::Matchers::Contains("5 rows in one forward call on a run state made for 4"));
    REQUIRE(forward(m, s, tokens.data(), 4, 0).ok());
    REQUIRE(prefill(m, s, tokens.data(), 10).ok());
}
