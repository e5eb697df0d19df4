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
    REQUIRE_THAT(Gpt2Tokenizer::from_tokenizer_json("nope").error(), Contains("not a JSON object"));
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

TEST_CASE("the real GPT-2 tokenizer, where its files are on this machine", "[bpe][gpt2]") {
    const char* path = std::getenv("GPT2_TOKENIZER_JSON");
    if (!path || !std::ifstream(path)) {
        WARN("skipped: set GPT2_TOKENIZER_JSON to GPT-2's tokenizer.json to run it");
        return;
    }
    auto t = Gpt2Tokenizer::from_tokenizer_json(read_text(path));
    REQUIRE(t.ok());
    REQUIRE(t->vocab_size() == 50257);
    REQUIRE(t->encode_ids("Hello world") == std::vector<int>{15496, 995});
    REQUIRE(t->token_bytes(50256) == "<|endoftext|>");
    for (const Case& c : reference()) REQUIRE(t->decode(t->encode_ids(c.bytes)) == c.bytes);
}
