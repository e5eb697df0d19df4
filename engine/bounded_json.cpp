#include "bounded_json.h"

#include <cstddef>
#include <iterator>
#include <vector>

#include "model.h"  // format_bytes

namespace gpt {

namespace {

using json = nlohmann::json;

// What each piece of the tree costs in memory, roughly, on a 64-bit libstdc++ (wasm32 is smaller):
// a value slot, a map node with its key, a container's heap object, a string's heap object. The
// estimate errs high so that the real tree stays under the limit.
constexpr uint64_t kSlot = 32;        // a json in a vector (16), with the vector's growth slack
constexpr uint64_t kMember = 96;      // a std::map node: links, key std::string, json, malloc overhead
constexpr uint64_t kContainer = 64;   // the heap std::map / std::vector behind an object / array
constexpr uint64_t kString = 48;      // the heap std::string behind a string value
uint64_t heap_text(size_t n) { return n > 15 ? n + 17 : 0; }  // past the small-string buffer

class Builder {
  public:
    Builder(const JsonLimits& limits, const std::string& what, const size_t* read)
        : limits_(limits), what_(what), read_(read) {}

    bool null() { return put(json(nullptr), 0); }
    bool boolean(bool b) { return put(json(b), 0); }
    bool number_integer(json::number_integer_t v) { return put(json(v), 0); }
    bool number_unsigned(json::number_unsigned_t v) { return put(json(v), 0); }
    bool number_float(json::number_float_t v, const std::string&) { return put(json(v), 0); }
    bool string(std::string& s) {
        const uint64_t cost = kString + heap_text(s.size());
        return put(json(std::move(s)), cost);
    }
    bool binary(json::binary_t&) { return fail("binary values are not JSON"); }
    bool key(std::string& k) {
        key_ = std::move(k);
        return charge(kMember - kSlot + heap_text(key_.size()));  // put() adds kSlot for the value
    }
    bool start_object(std::size_t) { return open(json::object()); }
    bool start_array(std::size_t) { return open(json::array()); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception&) {
        if (error_.empty()) error_ = what_ + " is not valid JSON (at byte " + std::to_string(pos) + ")";
        return false;
    }

    json& root() { return root_; }
    const std::string& error() const { return error_; }

  private:
    bool fail(const std::string& why) {
        if (error_.empty()) error_ = what_ + " " + why + " (at byte " + std::to_string(*read_) + ")";
        return false;
    }
    bool charge(uint64_t bytes) {
        used_ += bytes;
        if (used_ > limits_.max_memory) {
            return fail("would take more than " + format_bytes(limits_.max_memory) + " of memory as a JSON tree: refused");
        }
        return true;
    }
    // Adds v where the parser is: the root, the next element of the open array, or the member named
    // by the last key of the open object. Returns the slot it went into.
    json* place(json&& v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        json& top = *stack_.back();
        if (top.is_array()) {
            top.get_ref<json::array_t&>().push_back(std::move(v));
            return &top.get_ref<json::array_t&>().back();
        }
        json& slot = top.get_ref<json::object_t&>()[key_];  // a repeated key keeps the last value
        slot = std::move(v);
        return &slot;
    }
    bool put(json&& v, uint64_t extra) {
        if (!charge(kSlot + extra)) return false;
        place(std::move(v));
        return true;
    }
    bool open(json&& container) {
        if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
            return fail("nests deeper than " + std::to_string(limits_.max_depth) + " levels");
        }
        if (!charge(kSlot + kContainer)) return false;
        // The slot stays valid while it is open: only its own children are added until it closes.
        stack_.push_back(place(std::move(container)));
        return true;
    }
    bool close() {
        stack_.pop_back();
        return true;
    }

    const JsonLimits& limits_;
    const std::string& what_;
    json root_;
    std::vector<json*> stack_;  // the open containers, outermost first (at most max_depth)
    std::string key_;
    uint64_t used_ = 0;
    const size_t* read_;  // bytes the parser has read so far
    std::string error_;
};

// A byte pointer that records how far the parser has read, so that a limit's message can say where
// in the file it was crossed (the lexer reads one byte ahead: the figure is within a byte).
struct Tracking {
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;
    const char* p;
    const char* base;
    size_t* read;
    reference operator*() const { return *p; }
    Tracking& operator++() {
        *read = static_cast<size_t>(++p - base);
        return *this;
    }
    bool operator==(const Tracking& o) const { return p == o.p; }
    bool operator!=(const Tracking& o) const { return p != o.p; }
};

}  // namespace

Result<json> parse_json(std::string_view text, const std::string& what, const JsonLimits& limits) {
    size_t read = 0;
    Builder b(limits, what, &read);
    const Tracking first{text.data(), text.data(), &read}, last{text.data() + text.size(), text.data(), &read};
    const bool ok = json::sax_parse(first, last, &b, nlohmann::detail::input_format_t::json, /*strict=*/true);
    if (!ok || !b.error().empty()) return Result<json>::fail(b.error().empty() ? what + " is not valid JSON" : b.error());
    return std::move(b.root());
}

bool json_int64(const json& v, int64_t* out) {
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(INT64_MAX)) return false;
        *out = static_cast<int64_t>(u);
        return true;
    }
    if (v.is_number_integer()) {
        *out = v.get<int64_t>();
        return true;
    }
    return false;
}

}  // namespace gpt
