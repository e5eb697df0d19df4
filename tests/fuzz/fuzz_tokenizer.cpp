// libFuzzer target: the character tokenizer. Even first byte: encode the input with the Shakespeare
// vocabulary (arbitrary, often invalid, UTF-8). Odd: build a vocabulary from the input itself (one
// entry per 1-4 bytes, so duplicates and broken sequences appear) and encode the input with it.
#include <cstdint>
#include <string>
#include <vector>

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
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
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
