// libFuzzer target: the tokenizers. The first byte picks the mode:
//   0: encode the rest with the Shakespeare character vocabulary (arbitrary, often invalid, UTF-8);
//   1: build a character vocabulary from the input itself (duplicates, broken sequences) and encode;
//   2: encode with GPT-2's byte-level BPE (the test tokenizer): must round-trip every byte;
//   3: parse the rest as a tokenizer.json.
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bpe.h"
#include "tokenizer.h"

namespace {
const gpt::CharTokenizer& shakespeare() {
    static const gpt::CharTokenizer t = [] {
        std::vector<std::string> v;
        for (char c : std::string("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")) v.emplace_back(1, c);
        return gpt::CharTokenizer::create(v).take();
    }();
    return t;
}
const gpt::Gpt2Tokenizer& bpe() {
    static const gpt::Gpt2Tokenizer t = [] {
        std::ifstream f(std::string(GPT_TEST_DATA) + "/bpe/tokenizer.json");
        return gpt::Gpt2Tokenizer::from_tokenizer_json(std::string(std::istreambuf_iterator<char>(f), {})).take();
    }();
    return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 4 == 2) {
        if (bpe().decode(bpe().encode_ids(text)) != text) __builtin_trap();
        return 0;
    }
    if (data[0] % 4 == 3) {
        auto t = gpt::Gpt2Tokenizer::from_tokenizer_json(text);
        if (t) t->encode_ids("Hello, world! It's 2024.");
        return 0;
    }
    if (data[0] % 4 == 0) {
        const auto e = shakespeare().encode(text);
        if (e.ok() && shakespeare().decode(e.tokens) != text) __builtin_trap();  // must round-trip
        return 0;
    }
    std::vector<std::string> vocab;
    for (size_t i = 0; i < text.size();) {
        const size_t len = 1 + (static_cast<unsigned char>(text[i]) % 4);
        vocab.push_back(text.substr(i, len));
        i += len;
    }
    auto t = gpt::CharTokenizer::create(vocab);
    if (!t) return 0;
    const auto e = t->encode(text);
    if (e.ok() && t->decode(e.tokens) != text) __builtin_trap();
    return 0;
}
