#include "tokenizer.h"

#include <cstdio>
#include <set>

#include "utf8.h"

namespace gpt {

Result<CharTokenizer> CharTokenizer::create(std::vector<std::string> vocab) {
    CharTokenizer t;
    for (size_t i = 0; i < vocab.size(); i++) {
        const auto* s = reinterpret_cast<const unsigned char*>(vocab[i].data());
        uint32_t cp = 0;
        if (vocab[i].empty() || utf8::decode(s, vocab[i].size(), 0, &cp) != vocab[i].size()) {
            return Result<CharTokenizer>::fail("vocabulary entry " + std::to_string(i) +
                                               " is not a single UTF-8 character");
        }
        if (!t.index_.emplace(cp, static_cast<int>(i)).second) {
            return Result<CharTokenizer>::fail("vocabulary has the character '" + printable(vocab[i]) + "' twice");
        }
    }
    t.bytes_ = std::move(vocab);
    return t;
}

CharTokenizer::Encoded CharTokenizer::encode(const std::string& text) const {
    Encoded out;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    size_t index = 0, utf16 = 0;
    for (size_t i = 0; i < text.size(); index++) {
        uint32_t cp;
        const size_t len = utf8::decode(s, text.size(), i, &cp);
        if (len == 0) {
            out.tokens.clear();
            out.error = "the text is not valid UTF-8 (byte " + std::to_string(i) + ")";
            return out;
        }
        const auto it = index_.find(cp);
        if (it == index_.end()) {
            out.unknown.push_back({text.substr(i, len), index, utf16});
        } else {
            out.tokens.push_back(it->second);
        }
        utf16 += cp >= 0x10000 ? 2 : 1;
        i += len;
    }
    if (!out.unknown.empty()) {
        std::set<std::string> seen;
        std::string list;
        for (const auto& u : out.unknown) {
            if (seen.insert(u.text).second) list += (list.empty() ? "'" : ", '") + printable(u.text) + "'";
        }
        out.error = "the model does not know " + std::string(seen.size() == 1 ? "the character " : "the characters ") +
                    list + " (" + std::to_string(out.unknown.size()) + " occurrence" +
                    (out.unknown.size() == 1 ? "" : "s") + ", first at position " +
                    std::to_string(out.unknown.front().index) + ")";
        out.tokens.clear();
    }
    return out;
}

const std::string& Tokenizer::token_bytes(int id) const {
    static const std::string none;
    return id >= 0 && id < vocab_size() ? bytes_[static_cast<size_t>(id)] : none;
}

std::string Tokenizer::decode(const std::vector<int>& tokens) const {
    std::string s;
    for (int t : tokens) s += token_bytes(t);
    return s;
}

std::string printable(const std::string& ch) {
    if (ch == "\n") return "\\n";
    if (ch == "\t") return "\\t";
    if (ch == "\r") return "\\r";
    if (ch.size() == 1 && (static_cast<unsigned char>(ch[0]) < 0x20 || ch[0] == 0x7F)) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(static_cast<unsigned char>(ch[0])));
        return buf;
    }
    return ch;
}

std::string token_label(const Tokenizer& t, int id) {
    const std::string& b = t.token_bytes(id);
    if (b.empty()) return "<id=" + std::to_string(id) + ">";  // an id the tokenizer does not spell (padding)
    const auto* p = reinterpret_cast<const unsigned char*>(b.data());
    if (utf8::first_invalid(p, b.size()) == b.size()) return b;
    std::string out = "<";
    char hex[4];
    for (size_t i = 0; i < b.size(); i++) {
        std::snprintf(hex, sizeof hex, "%s%02x", i ? " " : "", static_cast<unsigned>(p[i]));
        out += hex;
    }
    return out + ">";
}

}  // namespace gpt
