// Tokenizers: text <-> token ids. Two kinds behind one interface: character level (the vocabulary
// stored in the checkpoint's metadata) and GPT-2's byte-level BPE (bpe.h). Nothing is dropped
// silently: characters a tokenizer cannot represent are reported, each with its position, and
// encoding fails.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "result.h"

namespace gpt {

class Tokenizer {
  public:
    virtual ~Tokenizer() = default;

    struct Unknown {
        std::string text;    // the character (UTF-8)
        size_t index;        // position in the text, in code points
        size_t utf16_index;  // the same position in UTF-16 code units (JavaScript string index)
    };
    struct Encoded {
        std::vector<int> tokens;
        std::vector<Unknown> unknown;  // every occurrence, in order; empty when encoding succeeded
        std::string error;             // empty on success; says what is wrong otherwise
        bool ok() const { return error.empty(); }
    };
    virtual Encoded encode(const std::string& text) const = 0;
    // The bytes token `id` stands for: one character for the char tokenizer; for BPE possibly part
    // of a UTF-8 character (decode a stream with Utf8Stream). Empty for ids it does not know.
    const std::string& token_bytes(int id) const;
    int vocab_size() const { return static_cast<int>(bytes_.size()); }
    virtual const char* kind() const = 0;  // "char" or "gpt2"

    std::string decode(const std::vector<int>& tokens) const;

  protected:
    std::vector<std::string> bytes_;  // token id -> the bytes it stands for (empty: an id it does not spell)
};

class CharTokenizer : public Tokenizer {
  public:
    // vocab[i] is the UTF-8 text of token i: exactly one code point, no duplicates.
    static Result<CharTokenizer> create(std::vector<std::string> vocab);

    // Text must be valid UTF-8; each code point becomes one token.
    Encoded encode(const std::string& text) const override;
    const char* kind() const override { return "char"; }

  private:
    std::unordered_map<uint32_t, int> index_;  // code point -> token
};

// A character as it should appear in a message or a label: printable as is, else escaped ("\n",
// "\t", "U+0007").
std::string printable(const std::string& ch);

// A token as a label (heatmap axes, candidate lists): its text when its bytes are whole UTF-8
// characters, else its bytes in hex ("<e2 80>"), since a BPE token can hold part of a character;
// "<id=N>" for an id the tokenizer has no bytes for (a model's vocabulary padded past it).
std::string token_label(const Tokenizer& t, int id);

}  // namespace gpt
