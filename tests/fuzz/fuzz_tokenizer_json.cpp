// libFuzzer target, structure-aware: a tokenizer.json assembled from valid pieces chosen by the fuzz
// input (GPT-2's 256 byte tokens, merged tokens built from them, merges in both spellings,
// added_tokens) with the mistakes an attacker would make: ids that are negative, past 2^20, past
// 2^32 or 2^63, not integers, used twice; tokens missing; merges of unknown tokens; nesting where
// a value belongs. from_tokenizer_json() must return a value; a tokenizer it accepts must
// round-trip any text byte for byte.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bpe.h"

namespace {

using json = nlohmann::json;

// GPT-2's byte -> printable character table (bpe.cpp), as the vocabulary files spell bytes.
std::string byte_spelling(int b) {
    static std::vector<std::string> table = [] {
        std::vector<std::string> t(256);
        int n = 0;
        for (int c = 0; c < 256; c++) {
            const bool printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
            const uint32_t cp = printable ? static_cast<uint32_t>(c) : static_cast<uint32_t>(256 + n++);
            std::string s;
            if (cp < 0x80) s += static_cast<char>(cp);
            else {
                s += static_cast<char>(0xC0 | (cp >> 6));
                s += static_cast<char>(0x80 | (cp & 0x3F));
            }
            t[static_cast<size_t>(c)] = s;
        }
        return t;
    }();
    return table[static_cast<size_t>(b)];
}

json id_value(FuzzedDataProvider& in, int good) {
    switch (in.ConsumeIntegralInRange<int>(0, 15)) {
        case 0: return -1;
        case 1: return -2;
        case 2: return INT32_MIN;
        case 3: return 1000000000;
        case 4: return (1ull << 32) + 5;
        case 5: return UINT64_MAX;
        case 6: return (1 << 20) - 1;
        case 7: return 1 << 20;
        case 8: return 1.5;
        case 9: return std::to_string(good);
        case 10: return in.ConsumeIntegralInRange<int>(0, 600);
        default: return good;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    json vocab = json::object();
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; b++) {
        if (in.ConsumeIntegralInRange<int>(0, 255) == 0) continue;  // a byte without its token
        tokens.push_back(byte_spelling(b));
    }
    json merges = json::array();
    const size_t n_merges = in.ConsumeIntegralInRange<size_t>(0, 64);
    for (size_t i = 0; i < n_merges && !tokens.empty(); i++) {
        const std::string a = tokens[in.ConsumeIntegralInRange<size_t>(0, tokens.size() - 1)];
        const std::string b = in.ConsumeIntegralInRange<int>(0, 31) ? tokens[in.ConsumeIntegralInRange<size_t>(0, tokens.size() - 1)]
                                                                     : std::string("unknown");
        if (in.ConsumeBool()) merges.push_back(a + " " + b);
        else merges.push_back({a, b});
        if (in.ConsumeIntegralInRange<int>(0, 15)) tokens.push_back(a + b);  // else the merge's result is missing
    }
    for (size_t i = 0; i < tokens.size(); i++) vocab[tokens[i]] = id_value(in, static_cast<int>(i));
    json added = json::array();
    const size_t n_added = in.ConsumeIntegralInRange<size_t>(0, 4);
    for (size_t i = 0; i < n_added; i++) {
        json a = {{"id", id_value(in, static_cast<int>(tokens.size() + i))}, {"content", "<|special" + std::to_string(i) + "|>"}};
        if (in.ConsumeIntegralInRange<int>(0, 15) == 0) a.erase(in.ConsumeBool() ? "id" : "content");
        added.push_back(a);
    }
    json tj = {{"version", "1.0"}, {"added_tokens", added}, {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
    std::string text = tj.dump();
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) {  // nesting where a value belongs
        const size_t depth = in.ConsumeIntegralInRange<size_t>(1, 3000);
        text.pop_back();
        text += ",\"x\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
    }
    const std::string prompt = in.ConsumeRemainingBytesAsString();
    auto t = gpt::Gpt2Tokenizer::from_tokenizer_json(text);
    if (!t) return 0;
    if (t->decode(t->encode_ids(prompt)) != prompt) __builtin_trap();
    return 0;
}
