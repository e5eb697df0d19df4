#include "bpe.h"

#include <algorithm>
#include <queue>

#include <nlohmann/json.hpp>

#include "bounded_json.h"
#include "utf8.h"

namespace gpt {

namespace {

using json = nlohmann::json;

struct CodePointRange {
    uint32_t first, last;
};
#include "unicode_tables.inc"

template <size_t N>
bool in(const CodePointRange (&table)[N], uint32_t cp) {
    const auto* it = std::upper_bound(table, table + N, cp, [](uint32_t c, const CodePointRange& r) { return c < r.first; });
    return it != table && cp <= (it - 1)->last;
}

enum class Class { Letter, Number, Space, Other };

Class classify(uint32_t cp) {
    if (in(kLetter, cp)) return Class::Letter;
    if (in(kNumber, cp)) return Class::Number;
    if (in(kSpace, cp)) return Class::Space;
    return Class::Other;
}

// GPT-2's table: printable bytes map to themselves, the others to U+0100 onwards, so that every
// byte is a visible character in the vocabulary files.
struct ByteTable {
    uint32_t to_cp[256];
    std::unordered_map<uint32_t, uint8_t> to_byte;
    ByteTable() {
        int n = 0;
        for (int b = 0; b < 256; b++) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            to_cp[b] = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
            to_byte[to_cp[b]] = static_cast<uint8_t>(b);
        }
    }
};

const ByteTable& byte_table() {
    static const ByteTable t;
    return t;
}

// A vocabulary spelling ("Ġhello") -> the raw bytes it stands for (" hello"); false if it is not
// byte-level (a character outside the table).
bool spelling_to_bytes(const std::string& s, std::string* out) {
    const auto& table = byte_table().to_byte;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    out->clear();
    for (size_t i = 0; i < s.size();) {
        uint32_t cp;
        const size_t len = utf8::decode(p, s.size(), i, &cp);
        const auto it = len ? table.find(cp) : table.end();
        if (it == table.end()) return false;
        out->push_back(static_cast<char>(it->second));
        i += len;
    }
    return true;
}

using Vocab = std::vector<std::pair<std::string, int>>;  // (spelling, id)
using Merges = std::vector<std::pair<std::string, std::string>>;  // in rank order

// Token ids are checked as the 64-bit values the file holds, before anything is sized by them:
// an id of -1, 2^32 + 5 or 10^9 is refused naming that id, never narrowed or used as an index.
constexpr int64_t kMaxId = (1 << 20) - 1;
// At most this many merges (GPT-2 has 50,000; the largest BPE vocabularies a few hundred thousand):
// a bigger table is refused before it is stored.
constexpr size_t kMaxMerges = 1000000;

std::string id_text(const json& v) {
    return v.is_number_unsigned() ? std::to_string(v.get<uint64_t>()) : std::to_string(v.get<int64_t>());
}

Status check_id(const json& v, const std::string& what, int* out) {
    int64_t id;
    if (!v.is_number_integer()) return Status::fail(what + " has no integer id");
    if (!json_int64(v, &id) || id < 0 || id > kMaxId) {
        return Status::fail(what + ": token id " + id_text(v) + " is out of range (0 to " + std::to_string(kMaxId) + ")");
    }
    *out = static_cast<int>(id);
    return Status::success();
}

// A JSON object of spelling -> id (vocab.json, tokenizer.json's model.vocab).
Result<Vocab> vocab_from(const json& v) {
    if (v.size() > static_cast<size_t>(kMaxId) + 1) {
        return Result<Vocab>::fail("the vocabulary has " + std::to_string(v.size()) + " tokens, more than the limit of " +
                                   std::to_string(kMaxId + 1));
    }
    Vocab vocab;
    vocab.reserve(v.size());
    for (auto it = v.begin(); it != v.end(); ++it) {
        int id;
        if (Status s = check_id(*it, "token '" + it.key() + "'", &id); !s) return Result<Vocab>::fail(s.error);
        vocab.emplace_back(it.key(), id);
    }
    return vocab;
}

// "a b" -> (a, b), the way both file formats write a merge; false unless there is exactly one space.
bool split_merge(const std::string& s, Merges* out) {
    const size_t sp = s.find(' ');
    if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) return false;
    out->emplace_back(s.substr(0, sp), s.substr(sp + 1));
    return true;
}

uint64_t pair_key(int a, int b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

}  // namespace

std::vector<std::string_view> Gpt2Tokenizer::pretokenize(std::string_view text) {
    struct Char {
        size_t pos, len;
        uint32_t cp;
        Class cls;
    };
    std::vector<Char> c;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0xFFFD;
        size_t len = utf8::decode(p, text.size(), i, &cp);
        const bool valid = len != 0;
        if (!valid) len = 1;  // an invalid byte stands alone, as "other"
        c.push_back({i, len, cp, valid ? classify(cp) : Class::Other});
        i += len;
    }
    const size_t n = c.size();
    auto is = [&](size_t j, Class k) { return j < n && c[j].cls == k; };
    auto cp_at = [&](size_t j) { return j < n ? c[j].cp : 0u; };
    std::vector<std::string_view> out;
    for (size_t i = 0; i < n;) {
        size_t end = i;
        if (c[i].cp == '\'') {  // 's 't 're 've 'm 'll 'd
            const uint32_t a = cp_at(i + 1), b = cp_at(i + 2);
            if (a == 's' || a == 't' || a == 'm' || a == 'd') end = i + 2;
            else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) end = i + 3;
        }
        if (end == i) {
            const size_t j = c[i].cp == ' ' ? i + 1 : i;  // the optional leading space of ` ?X+`
            for (Class k : {Class::Letter, Class::Number, Class::Other}) {
                if (is(j, k)) {
                    end = j;
                    while (is(end, k)) end++;
                    break;
                }
            }
        }
        if (end == i) {  // whitespace: \s+(?!\S), else \s+
            end = i;
            while (is(end, Class::Space)) end++;
            if (end < n && end - i > 1) end--;  // leave the last space to the word that follows
        }
        const size_t from = c[i].pos, to = end < n ? c[end].pos : text.size();
        out.push_back(text.substr(from, to - from));
        i = end;
    }
    return out;
}

Result<Gpt2Tokenizer> Gpt2Tokenizer::build(std::vector<std::pair<std::string, int>> vocab,
                                           const std::vector<std::pair<std::string, std::string>>& merges) {
    using R = Result<Gpt2Tokenizer>;
    Gpt2Tokenizer t;
    if (vocab.empty()) return R::fail("the tokenizer has an empty vocabulary");
    int max_id = -1;
    std::unordered_map<std::string, int> ids;
    for (const auto& [s, id] : vocab) {  // ids are in [0, kMaxId] (vocab_from)
        if (!ids.emplace(s, id).second) return R::fail("the vocabulary has the token '" + s + "' twice");
        max_id = std::max(max_id, id);
    }
    t.bytes_.assign(static_cast<size_t>(max_id) + 1, std::string());
    std::vector<bool> seen(t.bytes_.size());
    for (const auto& [s, id] : vocab) {
        if (seen[static_cast<size_t>(id)]) return R::fail("token id " + std::to_string(id) + " is used twice");
        seen[static_cast<size_t>(id)] = true;
        if (!spelling_to_bytes(s, &t.bytes_[static_cast<size_t>(id)])) {
            return R::fail("vocabulary entry '" + s + "' is not byte-level BPE (a character outside GPT-2's byte table)");
        }
    }
    for (int b = 0; b < 256; b++) {
        const auto it = ids.find(utf8::encode(byte_table().to_cp[b]));
        if (it == ids.end()) return R::fail("the vocabulary has no token for byte " + std::to_string(b));
        t.byte_token_[b] = it->second;
    }
    for (size_t r = 0; r < merges.size(); r++) {
        const auto& [a, b] = merges[r];
        const auto ia = ids.find(a), ib = ids.find(b), iab = ids.find(a + b);
        if (ia == ids.end() || ib == ids.end() || iab == ids.end()) {
            return R::fail("merge " + std::to_string(r) + " ('" + a + "' + '" + b + "') uses a token missing from the vocabulary");
        }
        t.merges_.emplace(pair_key(ia->second, ib->second), Merge{static_cast<int>(r), iab->second});  // first (lowest rank) wins
    }
    return t;
}

// The JSON limits for a tokenizer file, within the memory the caller can spare.
static JsonLimits json_limits(uint64_t max_memory) {
    JsonLimits l;
    l.max_memory = std::min(l.max_memory, max_memory);
    return l;
}

Result<Gpt2Tokenizer> Gpt2Tokenizer::from_tokenizer_json(const std::string& text, uint64_t max_memory) {
    using R = Result<Gpt2Tokenizer>;
    const auto parsed = parse_json(text, "tokenizer.json", json_limits(max_memory));
    if (!parsed) return R::fail(parsed.error());
    const json& j = parsed.value();
    if (!j.is_object()) return R::fail("tokenizer.json is not a JSON object");
    if (!j.contains("model") || !j["model"].is_object()) return R::fail("tokenizer.json has no \"model\"");
    const json& m = j["model"];
    if (m.contains("type") && !(m["type"].is_string() && m["type"].get<std::string>() == "BPE")) {
        return R::fail("tokenizer.json's model is not BPE");
    }
    if (!m.contains("vocab") || !m["vocab"].is_object()) return R::fail("tokenizer.json has no model.vocab object");
    if (!m.contains("merges") || !m["merges"].is_array()) return R::fail("tokenizer.json has no model.merges array");
    auto vocab = vocab_from(m["vocab"]);
    if (!vocab) return R::fail(vocab.error());
    if (m["merges"].size() > kMaxMerges) {
        return R::fail("tokenizer.json has " + std::to_string(m["merges"].size()) + " merges, more than the limit of " +
                       std::to_string(kMaxMerges));
    }
    Merges merges;
    merges.reserve(m["merges"].size());
    for (const auto& e : m["merges"]) {
        if (e.is_string()) {
            if (!split_merge(e.get<std::string>(), &merges)) return R::fail("merge '" + e.get<std::string>() + "' is not 'a b'");
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
            merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
        } else {
            return R::fail("a merge is neither \"a b\" nor [\"a\", \"b\"]");
        }
    }
    // Added tokens (<|endoftext|>): known for decoding; their content is raw text, not byte-mapped.
    // is_added: one flag per possible id, so that setting them apart is linear, not a search each.
    Vocab added;
    std::vector<bool> is_added(static_cast<size_t>(kMaxId) + 1);
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
        const json& list = j["added_tokens"];
        for (size_t i = 0; i < list.size(); i++) {
            const json& a = list[i];
            const std::string what = "added_tokens entry " + std::to_string(i);
            if (!a.is_object() || !a.contains("content") || !a["content"].is_string()) {
                return R::fail(what + " has no string \"content\"");
            }
            int id;
            if (Status s = check_id(a.contains("id") ? a["id"] : json(), what, &id); !s) return R::fail(s.error);
            if (is_added[static_cast<size_t>(id)]) return R::fail(what + ": token id " + std::to_string(id) + " is used twice");
            is_added[static_cast<size_t>(id)] = true;
            added.emplace_back(a["content"].get<std::string>(), id);
        }
    }
    Vocab regular;
    regular.reserve(vocab->size());
    for (auto& v : vocab.value()) {
        if (!is_added[static_cast<size_t>(v.second)]) regular.push_back(std::move(v));
    }
    auto t = build(std::move(regular), merges);
    if (!t) return t;
    for (const auto& [content, id] : added) {
        if (static_cast<size_t>(id) >= t->bytes_.size()) t->bytes_.resize(static_cast<size_t>(id) + 1);
        t->bytes_[static_cast<size_t>(id)] = content;
    }
    return t;
}

Result<Gpt2Tokenizer> Gpt2Tokenizer::from_vocab_merges(const std::string& vocab_json, const std::string& merges_txt,
                                                       uint64_t max_memory) {
    using R = Result<Gpt2Tokenizer>;
    const auto parsed = parse_json(vocab_json, "vocab.json", json_limits(max_memory));
    if (!parsed) return R::fail(parsed.error());
    const json& v = parsed.value();
    if (!v.is_object()) return R::fail("vocab.json is not a JSON object of token -> id");
    auto vocab = vocab_from(v);
    if (!vocab) return R::fail(vocab.error());
    // Counted before anything is stored: a 120 MB merges.txt is refused with its figure.
    const size_t lines = static_cast<size_t>(std::count(merges_txt.begin(), merges_txt.end(), '\n'));
    if (lines > kMaxMerges + 1) {  // + 1: the "#version" line
        return R::fail("merges.txt has " + std::to_string(lines) + " lines, more than the limit of " +
                       std::to_string(kMaxMerges) + " merges");
    }
    Merges merges;
    merges.reserve(lines + 1);
    size_t line_no = 0;
    for (size_t i = 0; i < merges_txt.size();) {
        size_t e = merges_txt.find('\n', i);
        if (e == std::string::npos) e = merges_txt.size();
        std::string line = merges_txt.substr(i, e - i);
        i = e + 1;
        line_no++;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.rfind("#version", 0) == 0) continue;
        if (!split_merge(line, &merges)) return R::fail("merges.txt line " + std::to_string(line_no) + " is not 'a b'");
    }
    return build(vocab.take(), merges);
}

void Gpt2Tokenizer::encode_piece(std::string_view piece, std::vector<int>& out) const {
    const int n = static_cast<int>(piece.size());
    std::vector<int> id(piece.size()), prev(piece.size()), next(piece.size());
    for (int i = 0; i < n; i++) {
        id[i] = byte_token_[static_cast<unsigned char>(piece[static_cast<size_t>(i)])];
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
    }
    // (rank, left position, left id, right id): lowest rank first, then leftmost. An entry is stale
    // when either side has changed since it was queued.
    using Entry = std::tuple<int, int, int, int>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> q;
    auto consider = [&](int left) {
        if (left < 0 || next[left] < 0) return;
        const auto it = merges_.find(pair_key(id[left], id[next[left]]));
        if (it != merges_.end()) q.emplace(it->second.rank, left, id[left], id[next[left]]);
    };
    for (int i = 0; i + 1 < n; i++) consider(i);
    while (!q.empty()) {
        const auto [rank, left, lid, rid] = q.top();
        q.pop();
        const int right = next[left];
        if (id[left] != lid || right < 0 || id[right] != rid) continue;  // stale
        id[left] = merges_.at(pair_key(lid, rid)).id;
        next[left] = next[right];
        if (next[right] >= 0) prev[next[right]] = left;
        id[right] = -1;
        consider(prev[left]);
        consider(left);
    }
    for (int i = 0; i >= 0 && i < n; i = next[i]) out.push_back(id[i]);
}

std::vector<int> Gpt2Tokenizer::encode_ids(std::string_view text) const {
    std::vector<int> out;
    for (std::string_view piece : pretokenize(text)) encode_piece(piece, out);
    return out;
}

Tokenizer::Encoded Gpt2Tokenizer::encode(const std::string& text) const {
    Encoded e;
    e.tokens = encode_ids(text);
    return e;
}

std::string Utf8Stream::push(std::string_view bytes) {
    pending_.append(bytes);
    std::string out;
    const auto* p = reinterpret_cast<const unsigned char*>(pending_.data());
    const size_t n = pending_.size();
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        const size_t len = utf8::decode(p, n, i, &cp);
        if (len) {
            out.append(pending_, i, len);
            i += len;
            continue;
        }
        // A valid start whose continuation bytes have not all arrived yet: wait for them.
        const unsigned char c = p[i];
        const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        bool prefix = need > n - i && c >= 0xC2 && c <= 0xF4;
        for (size_t k = i + 1; prefix && k < n; k++) prefix = (p[k] & 0xC0) == 0x80;
        if (prefix) break;
        out += "\xEF\xBF\xBD";  // U+FFFD
        i++;
    }
    pending_.erase(0, i);
    return out;
}

std::string Utf8Stream::flush() {
    std::string out = pending_.empty() ? "" : "\xEF\xBF\xBD";
    pending_.clear();
    return out;
}

}  // namespace gpt
