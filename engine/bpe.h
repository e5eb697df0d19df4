// GPT-2's byte-level BPE (Radford et al. 2019; OpenAI's encoder.py, Hugging Face's tokenizer.json).
//
//   1. Pre-tokenization: the text is split by GPT-2's pattern
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      (implemented by hand over code points, with the `regex` module's classes: unicode.h).
//   2. Each piece's UTF-8 bytes become symbols, one per byte (the bytes<->unicode table maps each
//      byte to a printable character, as the vocabulary files spell them).
//   3. Merges are applied lowest rank first (leftmost first among equals) with a priority queue
//      over a linked list of symbols: O(n log n), so a 1 MB piece with no spaces stays fast.
//   4. Each final symbol is looked up in the vocabulary.
// Any byte string encodes (bytes that are not valid UTF-8 are classified as "other" and kept), and
// decoding a token gives its raw bytes. Special tokens such as <|endoftext|> typed by a user are
// plain text: encode() never produces them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "result.h"
#include "tokenizer.h"

namespace gpt {

class Gpt2Tokenizer : public Tokenizer {
  public:
    // From a Hugging Face tokenizer.json (model.type "BPE": model.vocab, model.merges as "a b"
    // strings or [a, b] pairs; added_tokens are added to the vocabulary for decoding).
    // max_memory bounds the JSON tree parsed on the way (engine/bounded_json.h; at most 256 MiB):
    // the checkpoint reader passes what the model leaves of the memory it may take.
    static Result<Gpt2Tokenizer> from_tokenizer_json(const std::string& json, uint64_t max_memory = UINT64_MAX);
    // From OpenAI's / Hugging Face's vocab.json + merges.txt.
    static Result<Gpt2Tokenizer> from_vocab_merges(const std::string& vocab_json, const std::string& merges_txt,
                                                   uint64_t max_memory = UINT64_MAX);

    // Any bytes encode: byte-level BPE has no unknown characters.
    Encoded encode(const std::string& text) const override;
    std::vector<int> encode_ids(std::string_view text) const;
    const char* kind() const override { return "gpt2"; }

    // Step 1 alone: the pieces the pattern splits text into (views into text).
    static std::vector<std::string_view> pretokenize(std::string_view text);

  private:
    static Result<Gpt2Tokenizer> build(std::vector<std::pair<std::string, int>> vocab,
                                       const std::vector<std::pair<std::string, std::string>>& merges);
    void encode_piece(std::string_view piece, std::vector<int>& out) const;

    int byte_token_[256] = {};        // byte -> id of its single-byte token
    struct Merge {
        int rank;
        int id;  // the merged token
    };
    std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
};

// Streams decoded bytes out as text: complete UTF-8 characters are released, an incomplete one at
// the end is held back until its remaining bytes arrive; invalid bytes become U+FFFD.
class Utf8Stream {
  public:
    std::string push(std::string_view bytes);
    std::string flush();  // whatever is held back, as U+FFFD

  private:
    std::string pending_;
};

}  // namespace gpt
