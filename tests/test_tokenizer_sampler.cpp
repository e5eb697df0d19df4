#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "sampler.h"
#include "tokenizer.h"

using namespace gpt;
using Catch::Matchers::Contains;

TEST_CASE("char tokenizer round-trips and names unknown characters", "[tokenizer]") {
    auto t = CharTokenizer::create({"\n", " ", "a", "b", "é", "😀"});
    REQUIRE(t.ok());
    const auto e = t->encode("ab é😀\n");
    REQUIRE(e.ok());
    REQUIRE(e.tokens == std::vector<int>{2, 3, 1, 4, 5, 0});
    REQUIRE(t->decode(e.tokens) == "ab é😀\n");

    const auto bad = t->encode("a😀xbxz");
    REQUIRE_FALSE(bad.ok());
    REQUIRE(bad.tokens.empty());  // nothing silently dropped
    REQUIRE(bad.error == "the model does not know the characters 'x', 'z' (3 occurrences, first at position 2)");
    REQUIRE(bad.unknown.size() == 3);
    REQUIRE(bad.unknown[0].text == "x");
    REQUIRE(bad.unknown[0].index == 2);
    REQUIRE(bad.unknown[0].utf16_index == 3);  // the emoji is two UTF-16 units
    REQUIRE(bad.unknown[2].index == 5);

    REQUIRE(t->encode("\t").error == "the model does not know the character '\\t' (1 occurrence, first at position 0)");
    REQUIRE_THAT(t->encode("a\xff").error, Contains("not valid UTF-8 (byte 1)"));
    REQUIRE(t->encode("").ok());
}

TEST_CASE("PCG32 matches the reference implementation", "[sampler]") {
    // pcg32-demo: pcg32_srandom_r(&rng, 42u, 54u), first six outputs.
    Rng r(42);
    for (uint32_t want : {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u, 0x83d2f293u, 0xbfa4784bu, 0xcbed606eu}) {
        REQUIRE(r.next_u32() == want);
    }
}

namespace {
// The tokens a sampler keeps for these settings, as a set.
std::set<int> kept_set(Sampler& s, const std::vector<float>& logits, const SamplerSettings& st) {
    Rng rng(1);
    std::vector<float> probs(logits.size());
    s.sample(logits.data(), st, rng, probs.data());
    std::set<int> out;
    for (int i = 0; i < s.kept_count(); i++) out.insert(s.kept(i).second);
    return out;
}
}  // namespace

TEST_CASE("temperature 0 is argmax; probabilities are softmax(logits / T)", "[sampler]") {
    const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f};
    Sampler s(5);
    Rng rng(3);
    std::vector<float> probs(5);
    SamplerSettings greedy;
    greedy.temperature = 0.0f;
    for (int i = 0; i < 10; i++) REQUIRE(s.sample(logits.data(), greedy, rng, probs.data()) == 1);  // lowest id on ties
    SamplerSettings t2;
    t2.temperature = 2.0f;
    s.sample(logits.data(), t2, rng, probs.data());
    double z = 0;
    for (float l : logits) z += std::exp(l / 2.0);
    for (int i = 0; i < 5; i++) REQUIRE(probs[i] == Approx(std::exp(logits[i] / 2.0) / z));
}

TEST_CASE("top-k and top-p keep exactly the right set", "[sampler]") {
    // probabilities (temperature 1): softmax of log p = p.
    const std::vector<double> p = {0.05, 0.30, 0.10, 0.25, 0.20, 0.10};
    std::vector<float> logits;
    for (double x : p) logits.push_back(static_cast<float>(std::log(x)));
    Sampler s(6);
    SamplerSettings st;
    st.top_k = 1;
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1});
    st.top_k = 3;
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1, 3, 4});
    st.top_k = 4;  // tokens 2 and 5 tie at 0.10: the lower id wins the last place
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1, 2, 3, 4});
    st.top_k = 5;
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1, 2, 3, 4, 5});
    st.top_k = 0;
    st.top_p = 0.5f;  // 0.30 + 0.25 = 0.55 >= 0.5
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1, 3});
    st.top_p = 0.29f;  // the first token alone (0.30) is enough
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1});
    st.top_p = 0.01f;
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1});
    st.top_p = 0.8f;  // 0.30 + 0.25 + 0.20 = 0.75 < 0.8: needs the next (0.10, id 2)
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1, 2, 3, 4});
    st.top_k = 2;  // both: top-k first, then top-p within it
    REQUIRE(kept_set(s, logits, st) == std::set<int>{1, 3});
    st.top_k = 0;
    st.top_p = 1.0f;
    REQUIRE(kept_set(s, logits, st).size() == 6);

    // Draws only ever come from the kept set, and in proportion to it.
    st.top_k = 3;
    Rng rng(11);
    std::vector<float> probs(6);
    std::map<int, int> counts;
    const int N = 20000;
    for (int i = 0; i < N; i++) counts[s.sample(logits.data(), st, rng, probs.data())]++;
    REQUIRE(counts.size() == 3);
    REQUIRE(counts[1] / double(N) == Approx(0.30 / 0.75).margin(0.02));
    REQUIRE(counts[4] / double(N) == Approx(0.20 / 0.75).margin(0.02));
}

TEST_CASE("the same seed draws the same tokens", "[sampler]") {
    std::vector<float> logits(50);
    for (int i = 0; i < 50; i++) logits[i] = std::sin(i * 0.7f) * 3;
    auto draws = [&](uint64_t seed, SamplerSettings st) {
        Sampler s(50);
        Rng rng(seed);
        std::vector<float> probs(50);
        std::vector<int> out;
        for (int i = 0; i < 200; i++) out.push_back(s.sample(logits.data(), st, rng, probs.data()));
        return out;
    };
    SamplerSettings plain, filtered;
    filtered.top_k = 10;
    filtered.top_p = 0.9f;
    REQUIRE(draws(5, plain) == draws(5, plain));
    REQUIRE(draws(5, filtered) == draws(5, filtered));
    REQUIRE(draws(5, plain) != draws(6, plain));
}

TEST_CASE("sampler settings are validated", "[sampler]") {
    SamplerSettings s;
    REQUIRE(validate(s).ok());
    s.temperature = -1;
    REQUIRE_THAT(validate(s).error, Contains("temperature"));
    s.temperature = std::nanf("");
    REQUIRE_FALSE(validate(s).ok());
    s = {};
    s.top_p = 0;
    REQUIRE_THAT(validate(s).error, Contains("top-p"));
    s.top_p = 1.5f;
    REQUIRE_FALSE(validate(s).ok());
    s = {};
    s.top_k = -3;
    REQUIRE_THAT(validate(s).error, Contains("top-k"));
}
