// UTF-8 decoding shared by the safetensors header check and the tokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpt {
namespace utf8 {

// Decodes the code point starting at s[i] (n bytes in all) into *cp and returns its length in
// bytes, or 0 if the bytes there are not well-formed UTF-8 (overlong forms, surrogates and values
// above U+10FFFF included).
inline size_t decode(const unsigned char* s, size_t n, size_t i, uint32_t* cp) {
    const unsigned char c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n - i < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[i + k] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

// Byte offset of the first malformed sequence, or n if the whole buffer is valid UTF-8.
inline size_t first_invalid(const unsigned char* s, size_t n) {
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        const size_t len = decode(s, n, i, &cp);
        if (len == 0) return i;
        i += len;
    }
    return n;
}

inline std::string encode(uint32_t cp) {
    std::string out;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return out;
}

}  // namespace utf8
}  // namespace gpt
