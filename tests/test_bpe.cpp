// GPT-2's byte-level BPE against reference encodings computed by OpenAI's algorithm (weights/
// reference.py, with the `regex` module) for a corpus of tricky strings, on a small merges table
// built for the tests; and, where real GPT-2 vocabulary files are on the machine, against them.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bpe.h"
#include "helpers.h"

using namespace gpt;
using Catch::Matchers::Contains;

namespace {

std::string base64(const std::string& in) {
    static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t val = 0;
    int bits = -8;
    for (char c : in) {
        const size_t k = abc.find(c);
        if (k == std::string::npos) break;  // '=' padding
        val = ((val << 6) | static_cast<uint32_t>(k)) & 0xFFFFFF;  // only the last 24 bits are ever read
        if ((bits += 6) >= 0) {
            out.push_back(static_cast<char>((val >> bits) & 0xFF));
            bits -= 8;
        }
    }
    return out;
}

struct Case {
    std::string bytes;
    std::vector<std::string> pieces;
    std::vector<int> ids;
};

std::vector<Case> reference() {
    const auto j = nlohmann::json::parse(read_text(data_path("bpe/reference.json")));
    std::vector<Case> cases;
    for (const auto& c : j["cases"]) {
        Case k{base64(c["bytes"].get<std::string>()), {}, c["ids"].get<std::vector<int>>()};
        for (const auto& p : c["pieces"]) k.pieces.push_back(base64(p.get<std::string>()));
        cases.push_back(k);
    }
    return cases;
}

}  // namespace

TEST_CASE("the GPT-2 pattern splits text exactly as the regex module does", "[bpe]") {
    for (const Case& c : reference()) {
        INFO(c.bytes);
        std::vector<std::string> got;
        for (auto p : Gpt2Tokenizer::pretokenize(c.bytes)) got.emplace_back(p);
        REQUIRE(got == c.pieces);
    }
}

TEST_CASE("BPE encodings match the reference for every tricky string, from both file formats", "[bpe]") {
    auto from_json = Gpt2Tokenizer::from_tokenizer_json(read_text(data_path("bpe/tokenizer.json")));
    auto from_pair = Gpt2Tokenizer::from_vocab_merges(read_text(data_path("bpe/vocab.json")), read_text(data_path("bpe/merges.txt")));
    REQUIRE(from_json.ok());
    REQUIRE(from_pair.ok());
    const int eot = from_json->vocab_size() - 1;
    REQUIRE(from_json->token_bytes(eot) == "<|endoftext|>");
    for (const Case& c : reference()) {
        INFO(c.bytes);
        REQUIRE(from_json->encode_ids(c.bytes) == c.ids);
        REQUIRE(from_pair->encode_ids(c.bytes) == c.ids);
        REQUIRE(from_json->decode(c.ids) == c.bytes);  // every byte comes back, valid UTF-8 or not
        // <|endoftext|> typed by a user is text, never the special token.
        for (int id : c.ids) REQUIRE(id != eot);
    }
}

TEST_CASE("a 1 MB piece without spaces encodes fast (merges by priority queue, not rescans)", "[bpe]") {
    auto t = Gpt2Tokenizer::from_tokenizer_json(read_text(data_path("bpe/tokenizer.json")));
    REQUIRE(t.ok());
    std::string word;
    while (word.size() < (1 << 20)) word += "therethenthe";
    const auto ids = t->encode_ids(word);  // a quadratic merge loop would take hours here
    REQUIRE(ids.size() < word.size());  // merges happened
    REQUIRE(t->decode(ids) == word);
}

TEST_CASE("streamed decoding holds back incomplete UTF-8", "[bpe]") {
    Utf8Stream s;
    REQUIRE(s.push("ab\xF0\x9F") == "ab");  // the first half of 😀
    REQUIRE(s.push("\x98") == "");
    REQUIRE(s.push("\x80!") == "\xF0\x9F\x98\x80!");
    REQUIRE(s.push("\xC3") == "");
    REQUIRE(s.flush() == "\xEF\xBF\xBD");  // a character that never completed
    REQUIRE(s.push("x\xFFy") == "x\xEF\xBF\xBDy");  // a byte that can never start a character
    REQUIRE(s.push("\xE2\x82z") == "\xEF\xBF\xBD\xEF\xBF\xBDz");  // interrupted by a new character
    REQUIRE(s.flush().empty());
}

TEST_CASE("tokenizer files are validated with messages", "[bpe]") {
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json("nope").error(), Contains("tokenizer.json is not valid JSON (at byte 2)"));
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json("[1]").error(), Contains("tokenizer.json is not a JSON object"));
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json("{}").error(), Contains("has no \"model\""));
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json(R"({"model":{"type":"WordPiece","vocab":{}}})").error(), Contains("not BPE"));
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json(R"({"model":{"vocab":{"a":0},"merges":[]}})").error(),
                 Contains("no token for byte 0"));
    auto vocab = nlohmann::json::parse(read_text(data_path("bpe/vocab.json")));
    REQUIRE_THAT(Gpt2Tokenizer::from_vocab_merges(vocab.dump(), "#version: 0.2\nq z\n").error(),
                 Contains("merge 0 ('q' + 'z') uses a token missing from the vocabulary"));
    REQUIRE_THAT(Gpt2Tokenizer::from_vocab_merges(vocab.dump(), "a b c\n").error(), Contains("line 1 is not 'a b'"));
    vocab["\xE2\x82\xAC"] = 9999;  // '€' is not in GPT-2's byte table
    REQUIRE_THAT(Gpt2Tokenizer::from_vocab_merges(vocab.dump(), "").error(), Contains("is not byte-level BPE"));
}

// GPT-2's own vocab.json and merges.txt (OpenAI's encoder.json and vocab.bpe, 1.5 MB, not part of the
// project): from ../shared/gpt2 beside the checkout, or $GPT2_TOKENIZER_DIR; skipped, saying so,
// when absent. Reference ids from tiktoken 0.7 and transformers 4.44, which agree on them
// (opencv/opencv_extra, testdata/dnn/llm/gpt2/gpt2_hf_tik_testdata.json), plus "Hello world".
TEST_CASE("the real GPT-2 tokenizer, where its files are on this machine", "[bpe][gpt2]") {
    const char* env = std::getenv("GPT2_TOKENIZER_DIR");
    const std::string dir = env ? env : GPT2_TOKENIZER_DIR;
    if (!std::ifstream(dir + "/vocab.json") || !std::ifstream(dir + "/merges.txt")) {
        WARN("skipped: GPT-2's vocab.json and merges.txt are not in " << dir << " (set GPT2_TOKENIZER_DIR)");
        return;
    }
    auto t = Gpt2Tokenizer::from_vocab_merges(read_text(dir + "/vocab.json"), read_text(dir + "/merges.txt"));
    REQUIRE(t.ok());
    REQUIRE(t->vocab_size() == 50257);
    REQUIRE(t->token_bytes(50256) == "<|endoftext|>");
    const std::vector<std::pair<std::string, std::vector<int>>> reference_ids = {
        {"Hello world", {15496, 995}},
        {"\u00a1Hola, mundo! \u00bfC\u00f3mo est\u00e1s?", {126, 94, 39, 5708, 11, 27943, 78, 0, 1587, 123, 34, 10205, 5908, 1556, 40138, 30}},
        {"\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u041a\u0430\u043a \u0434\u0435\u043b\u0430?",
         {140, 253, 21169, 18849, 38857, 16843, 20375, 11, 12466, 120, 18849, 21169, 0, 12466, 248, 16142, 31583, 12466, 112,
          16843, 30143, 16142, 30}},
        {"Merhaba d\u00fcnya! Nas\u0131ls\u0131n?", {13102, 5976, 64, 288, 9116, 3281, 64, 0, 22767, 30102, 7278, 30102, 77, 30}},
        {"\U0001F469\U0001F3FD\u200D\U0001F4BB\u2728\U0001F680 \u2014 coding time!",
         {41840, 102, 8582, 237, 121, 447, 235, 8582, 240, 119, 26486, 101, 8582, 248, 222, 851, 19617, 640, 0}},
        {"\u4f60\u597d\uff0c\u4e16\u754c\uff01\u4eca\u5929\u5929\u6c14\u4e0d\u9519\u3002",
         {19526, 254, 25001, 121, 171, 120, 234, 10310, 244, 45911, 234, 171, 120, 223, 20015, 232, 25465, 25465, 36365, 242,
          38834, 165, 242, 247, 16764}},
    };
    for (const auto& [text, ids] : reference_ids) {
        INFO(text);
        REQUIRE(t->encode_ids(text) == ids);
        REQUIRE(t->decode(ids) == text);
    }
    for (const Case& c : reference()) REQUIRE(t->decode(t->encode_ids(c.bytes)) == c.bytes);
}
