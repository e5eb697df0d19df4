// Character-level tokenizer: token i is the i-th string of the vocabulary stored in the checkpoint's
// metadata, one Unicode character each (UTF-8). Nothing is dropped silently: characters outside the
// vocabulary are reported, each with its position, and encoding fails.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "result.h"

namespace gpt {

class CharTokenizer {
  public:
    // vocab[i] is the UTF-8 text of token i: exactly one code point, no duplicates.
    static Result<CharTokenizer> create(std::vector<std::string> vocab);

    struct Unknown {
        std::string text;   // the character (UTF-8)
        size_t index;       // position in the text, in code points
        size_t utf16_index; // the same position in UTF-16 code units (JavaScript string index)
    };
    struct Encoded {
        std::vector<int> tokens;
        std::vector<Unknown> unknown;  // every occurrence, in order; empty when encoding succeeded
        std::string error;             // empty on success; names the unknown characters otherwise
        bool ok() const { return error.empty(); }
    };
    // Text must be valid UTF-8; each code point becomes one token.
    Encoded encode(const std::string& text) const;

    const std::string& decode(int token) const { return vocab_[static_cast<size_t>(token)]; }
    std::string decode(const std::vector<int>& tokens) const;
    int vocab_size() const { return static_cast<int>(vocab_.size()); }
    const std::vector<std::string>& vocab() const { return vocab_; }

  private:
    std::vector<std::string> vocab_;
    std::unordered_map<uint32_t, int> index_;  // code point -> token
};

// A character as it should appear in a message or a label: printable as is, else escaped ("\n",
// "\t", "U+0007").
std::string printable(const std::string& ch);

}  // namespace gpt
