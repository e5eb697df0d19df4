// Hostile but well-formed inputs (issue 16) that the bad-file table cannot hold: models that load
// but overflow float32 when run, tokenizer files whose size or counts are the attack, and config
// values that must be reported as written. Big inputs are generated here, never committed.
#include <catch2/catch.hpp>

#include <cstring>
#include <nlohmann/json.hpp>

#include "bad_files.h"
#include "bpe.h"
#include "checkpoint.h"
#include "finite.h"
#include "generator.h"
#include "helpers.h"
#include "loss.h"
#include "model.h"
#include "safetensors.h"

using namespace gpt;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

// The tiny F32 checkpoint with every weight multiplied by `factor`: finite, so it loads, but with
// factor 1e18 the attention scores (q . k ~ 64 * 1e36) overflow float32 in the first layer.
std::vector<uint8_t> scaled_tiny(float factor) {
    std::vector<uint8_t> bytes = read_bytes(data_path("tiny-f32.safetensors"));
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | bytes[static_cast<size_t>(i)];
    for (size_t at = 8 + n; at + 4 <= bytes.size(); at += 4) {
        float v;
        std::memcpy(&v, bytes.data() + at, 4);
        v *= factor;
        std::memcpy(bytes.data() + at, &v, 4);
    }
    return bytes;
}

}  // namespace

TEST_CASE("finite but huge weights: generation, loss and attention stop with a message", "[hostile][generator]") {
    const auto bytes = scaled_tiny(1e18f);
    auto m = Model::load(bytes.data(), bytes.size());
    REQUIRE(m.ok());  // every weight is finite: the loader has no reason to refuse
    const std::vector<int> prompt = {1, 2, 3, 4};

    Generator g(m.value());
    const Status st = g.start(prompt, 1);
    REQUIRE_FALSE(st.ok());
    REQUIRE_THAT(st.error, Contains("the logits at position 3 are not finite"));
    REQUIRE_THAT(st.error, Contains("first in the attention of layer 0, head"));
    REQUIRE_THAT(st.error, Contains("the run is stopped"));

    RunState s(m->config());
    const auto loss = mean_loss(m.value(), s, prompt);
    REQUIRE_FALSE(loss.ok());
    REQUIRE_THAT(loss.error(), Contains("the logits at position 0 are not finite"));

    REQUIRE(forward(m.value(), s, prompt.data(), 4, 0).ok());
    REQUIRE_THAT(check_attention(s).error, Contains("the attention probabilities of layer 0, head"));

    // The sane model passes the same checks.
    const auto good = read_bytes(data_path("tiny-f32.safetensors"));
    auto ok = Model::load(good.data(), good.size());
    REQUIRE(ok.ok());
    Generator g2(ok.value());
    REQUIRE(g2.start(prompt, 1).ok());
    REQUIRE(g2.step(SamplerSettings{}).ok());
    REQUIRE(check_attention(g2.state()).ok());
}

TEST_CASE("a step whose logits are not finite draws nothing, and the next step says the same", "[hostile][generator]") {
    // Position 4's embedding gets two elements of 3.4e38: their sum overflows in LayerNorm's mean,
    // so the row becomes NaN there, and only there. A 4-token prompt (positions 0..3) runs clean;
    // the first drawn token, run at position 4, does not.
    std::vector<uint8_t> bytes = read_bytes(data_path("tiny-f32.safetensors"));
    auto file = safetensors::parse(bytes.data(), bytes.size());
    REQUIRE(file.ok());
    const auto* wpe = file->find("transformer.wpe.weight");
    const size_t at = static_cast<size_t>(file->data - bytes.data()) + wpe->begin + 4 * 64 * 4;  // row 4 of (32, 64)
    const float huge = 3.4e38f;
    std::memcpy(bytes.data() + at, &huge, 4);
    std::memcpy(bytes.data() + at + 4, &huge, 4);
    auto m = Model::load(bytes.data(), bytes.size());
    REQUIRE(m.ok());
    Generator g(m.value());
    REQUIRE(g.start({1, 2, 3, 4}, 1).ok());
    const auto first = g.step(SamplerSettings{});
    REQUIRE(first.ok());  // drawn from position 3's logits
    const auto second = g.step(SamplerSettings{});
    REQUIRE_FALSE(second.ok());
    REQUIRE(second.token == -1);
    REQUIRE_THAT(second.error, Contains("the logits at position 4 are not finite"));
    REQUIRE_THAT(second.error, Contains("first in the attention of layer 0, head"));
    REQUIRE(g.tokens().size() == 5);  // nothing was drawn
    const auto third = g.step(SamplerSettings{});
    REQUIRE(third.error == second.error);
    REQUIRE(std::isfinite(g.probs()[first.token]));  // the last good distribution is kept
}

TEST_CASE("tokenizer.json: 200,000 added tokens load in linear time", "[hostile][bpe]") {
    json tj = json::parse(read_text(data_path("bpe/tokenizer.json")));
    for (int id = 439; id < 200439; id++) tj["added_tokens"].push_back({{"id", id}, {"content", "<" + std::to_string(id) + ">"}});
    auto t = Gpt2Tokenizer::from_tokenizer_json(tj.dump());  // a search per vocabulary entry took 14 s
    REQUIRE(t.ok());
    REQUIRE(t->vocab_size() == 200439);
    REQUIRE(t->token_bytes(200438) == "<200438>");
    REQUIRE(t->token_bytes(438) == "<|endoftext|>");
}

TEST_CASE("tokenizer files past the limits are refused with the figure, before they are stored", "[hostile][bpe]") {
    const std::string vocab = read_text(data_path("bpe/vocab.json"));
    std::string merges = "#version: 0.2\n";
    for (int i = 0; i < 1000001; i++) merges += "a b\n";
    REQUIRE_THAT(Gpt2Tokenizer::from_vocab_merges(vocab, merges).error(),
                 Contains("merges.txt has 1000002 lines, more than the limit of 1000000 merges"));

    json tj = json::parse(read_text(data_path("bpe/tokenizer.json")));
    tj["model"]["merges"] = json::array();
    for (int i = 0; i < 1000001; i++) tj["model"]["merges"].push_back("a b");
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json(tj.dump()).error(),
                 Contains("tokenizer.json has 1000001 merges, more than the limit of 1000000"));

    // 3,000,000 empty objects (9 MB of text) would be ~300 MiB as a tree: refused while parsing.
    std::string big = read_text(data_path("bpe/tokenizer.json"));
    big.pop_back();  // the closing brace
    big += ",\"x\":[";
    for (int i = 0; i < 3000000; i++) big += i ? ",{}" : "{}";
    big += "]}";
    const std::string err = Gpt2Tokenizer::from_tokenizer_json(big).error();
    REQUIRE_THAT(err, Contains("tokenizer.json would take more than 256.0 MiB of memory as a JSON tree: refused (at byte "));

    // 10,000 nested arrays: refused at the 65th, no recursion anywhere.
    const std::string deep = "{\"x\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json(deep).error(), Contains("tokenizer.json nests deeper than 64 levels (at byte 69)"));
    REQUIRE_THAT(Gpt2Tokenizer::from_vocab_merges(deep, "").error(), Contains("vocab.json nests deeper than 64 levels"));
    REQUIRE_THAT(Gpt2Tokenizer::from_vocab_merges(R"({"a": -1})", "").error(), Contains("token 'a': token id -1 is out of range"));
    // The caller's budget: what a loaded model leaves (checkpoint.cpp gives half of it).
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json(read_text(data_path("bpe/tokenizer.json")), 20000).error(),
                 Contains("tokenizer.json would take more than 19.5 KiB of memory as a JSON tree: refused (at byte "));
}
