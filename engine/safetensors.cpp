#include "safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "utf8.h"

namespace gpt {
namespace safetensors {

using json = nlohmann::json;

const char* dtype_name(DType d) {
    switch (d) {
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
    }
    return "?";
}

size_t dtype_size(DType d) { return d == DType::F32 ? 4 : 2; }

const TensorInfo* File::find(const std::string& name) const {
    for (const auto& t : tensors) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

std::string shape_str(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

namespace {

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

// A number (or what stood where a number belongs) as the header wrote it: kept until the entry is
// complete, then checked in the same order whatever order the fields came in.
struct Num {
    enum Kind { Unsigned, Negative, Float, Other } kind = Other;
    uint64_t u = 0;
    int64_t i = 0;
    double d = 0;
    std::string text;  // a float as written ("2.5"), or what was there instead ("an array")
};

// A Num as a non-negative integer that fits in `max`; `what` names it in the message.
bool as_uint(const Num& v, uint64_t max, const std::string& what, uint64_t* out, std::string* err) {
    switch (v.kind) {
        case Num::Unsigned:
            if (v.u > max) {
                *err = what + " " + std::to_string(v.u) + " is out of range (at most " + std::to_string(max) + ")";
                return false;
            }
            *out = v.u;
            return true;
        case Num::Negative: *err = what + " " + std::to_string(v.i) + " is negative"; return false;
        case Num::Float:
            *err = what + " " + v.text + (std::isfinite(v.d) && v.d == std::floor(v.d) ? " is out of range" : " is not an integer");
            return false;
        case Num::Other: *err = what + " must be a non-negative integer, got " + v.text; return false;
    }
    return false;
}

// One tensor entry as read: {dtype, shape, data_offsets}.
struct Entry {
    std::string name;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    bool dtype_is_string = false, shape_is_array = false, offsets_is_array = false;
    std::string dtype, unknown;
    std::vector<Num> shape, offsets;  // at most max_rank + 1 and 3 kept: enough to refuse
    size_t rank = 0, n_offsets = 0;   // how many there were
};

Status parse_dtype(const Entry& e, DType* out) {
    if (!e.dtype_is_string) return Status::fail("tensor '" + e.name + "': dtype must be a string");
    const std::string& s = e.dtype;
    if (s == "F32") *out = DType::F32;
    else if (s == "F16") *out = DType::F16;
    else if (s == "BF16") *out = DType::BF16;
    else return Status::fail("tensor '" + e.name + "': unsupported dtype '" + s + "' (supported: F32, F16, BF16)");
    return Status::success();
}

Status check_entry(const Entry& e, size_t data_size, const Limits& limits, TensorInfo* t) {
    const std::string where = "tensor '" + e.name + "'";
    if (!e.unknown.empty()) return Status::fail(where + ": unknown field '" + e.unknown + "'");
    if (!e.has_dtype) return Status::fail(where + ": missing field 'dtype'");
    if (!e.has_shape) return Status::fail(where + ": missing field 'shape'");
    if (!e.has_offsets) return Status::fail(where + ": missing field 'data_offsets'");
    t->name = e.name;
    if (Status s = parse_dtype(e, &t->dtype); !s) return s;

    if (!e.shape_is_array) return Status::fail(where + ": shape must be an array");
    if (e.rank > limits.max_rank) {
        return Status::fail(where + ": rank " + std::to_string(e.rank) + " exceeds the limit of " + std::to_string(limits.max_rank));
    }
    uint64_t numel = 1;
    bool overflow = false;
    std::string err;
    for (const Num& n : e.shape) {
        uint64_t d;
        if (!as_uint(n, INT64_MAX, "dimension", &d, &err)) return Status::fail(where + ": " + err);
        t->shape.push_back(static_cast<int64_t>(d));
        overflow = overflow || (d != 0 && numel > UINT64_MAX / d);
        if (!overflow) numel *= d;
    }
    if (overflow || numel > UINT64_MAX / dtype_size(t->dtype)) {
        return Status::fail(where + ": shape " + shape_str(t->shape) + " has too many elements");
    }

    if (!e.offsets_is_array || e.n_offsets != 2) return Status::fail(where + ": data_offsets must be [begin, end]");
    uint64_t begin, end;
    if (!as_uint(e.offsets[0], UINT64_MAX, "data offset", &begin, &err) ||
        !as_uint(e.offsets[1], UINT64_MAX, "data offset", &end, &err)) {
        return Status::fail(where + ": " + err);
    }
    if (begin > end) {
        return Status::fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                            "] end before they begin");
    }
    if (end > data_size) {
        return Status::fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                            "] run past the end of the data (" + std::to_string(data_size) + " bytes)");
    }
    const uint64_t nbytes = numel * dtype_size(t->dtype);
    if (nbytes != end - begin) {
        return Status::fail(where + ": shape " + shape_str(t->shape) + " of " + dtype_name(t->dtype) + " needs " +
                            std::to_string(nbytes) + " bytes, but data_offsets span " + std::to_string(end - begin));
    }
    // Safe to narrow: end <= data_size, which is a size_t, and numel <= nbytes.
    t->numel = static_cast<size_t>(numel);
    t->begin = static_cast<size_t>(begin);
    t->end = static_cast<size_t>(end);
    return Status::success();
}

// Reads the header as a stream of JSON events (nlohmann's SAX interface) straight into the File,
// without building a JSON tree: time is linear in the header and memory is what the File keeps
// (the names, the metadata strings, one TensorInfo per tensor). The header's shape is fixed
// ({name: {dtype, shape: [..], data_offsets: [..]}, "__metadata__": {key: string}}), so anything
// nested deeper than that is refused where it starts, and skipped by counting, never by recursion.
// The first error is kept; parsing then only goes on to tell a JSON syntax error, which comes first.
class HeaderReader {
  public:
    HeaderReader(File* file, const Limits& limits) : file_(file), limits_(limits) {}

    bool null() { return scalar(other("null")); }
    bool boolean(bool b) { return scalar(other(b ? "true" : "false")); }
    bool number_integer(int64_t v) {  // the lexer hands only integers written with '-' here
        Num n;
        n.kind = v < 0 ? Num::Negative : Num::Unsigned;
        n.i = v;
        n.u = v < 0 ? 0 : static_cast<uint64_t>(v);
        return scalar(n);
    }
    bool number_unsigned(uint64_t v) {
        Num n;
        n.kind = Num::Unsigned;
        n.u = v;
        return scalar(n);
    }
    bool number_float(double v, const std::string& text) {
        Num n;
        n.kind = Num::Float;
        n.d = v;
        n.text = text;
        return scalar(n);
    }
    bool string(std::string& s) {
        if (skip()) return true;
        if (depth_ == 2 && in_meta_) {
            file_->metadata[key_] = std::move(s);
            return true;
        }
        if (depth_ == 2 && field_ == Field::Dtype) {
            entry_.dtype_is_string = true;
            entry_.dtype = std::move(s);
            return true;
        }
        return scalar(other("a string"));
    }
    bool binary(nlohmann::json::binary_t&) { return true; }  // JSON has none
    bool key(std::string& k) {
        if (skip()) return true;
        if (depth_ == 1) return top_key(std::move(k));
        if (depth_ == 2 && in_meta_) {
            if (file_->metadata.count(k)) return error("header has the key '" + k + "' twice");
            if (file_->metadata.size() >= limits_.max_metadata) {
                return error("__metadata__ has more than " + std::to_string(limits_.max_metadata) + " keys");
            }
            key_ = std::move(k);
            return true;
        }
        // depth 2: a field of a tensor entry.
        bool* seen = k == "dtype" ? &entry_.has_dtype : k == "shape" ? &entry_.has_shape : k == "data_offsets" ? &entry_.has_offsets : nullptr;
        field_ = k == "dtype" ? Field::Dtype : k == "shape" ? Field::Shape : k == "data_offsets" ? Field::Offsets : Field::Unknown;
        if (!seen) {
            if (entry_.unknown.empty()) entry_.unknown = k;
        } else if (*seen) {
            return error("header has the key '" + k + "' twice");
        } else {
            *seen = true;
        }
        return true;
    }
    bool start_object(std::size_t) { return open(false); }
    bool start_array(std::size_t) { return open(true); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception&) {
        syntax_error_at_ = pos;
        return false;
    }

    const Status& status() const { return status_; }
    size_t syntax_error_at() const { return syntax_error_at_; }

  private:
    enum class Field { Dtype, Shape, Offsets, Unknown };

    static Num other(const char* what) {
        Num n;
        n.text = what;
        return n;
    }
    bool skip() const { return !status_.ok() || skip_ > 0; }
    bool error(const std::string& message) {
        if (status_.ok()) status_ = Status::fail(message);
        return true;  // keep reading: a JSON syntax error later in the header is reported instead
    }

    bool top_key(std::string&& name) {
        if (!names_.insert(name).second) return error("header has the key '" + name + "' twice");
        in_meta_ = name == "__metadata__";
        if (in_meta_) return true;
        if (name.empty()) return error("a tensor has an empty name");
        if (name.size() > limits_.max_name_bytes) {
            return error("tensor name '" + name.substr(0, 40) + "...' is longer than " + std::to_string(limits_.max_name_bytes) + " bytes");
        }
        if (file_->tensors.size() >= limits_.max_tensors) return error("more than " + std::to_string(limits_.max_tensors) + " tensors");
        entry_ = Entry();
        entry_.name = std::move(name);
        return true;
    }

    // A value that is not a container, wherever it is.
    bool scalar(const Num& n) {
        if (skip()) return true;
        if (depth_ == 0) return error("header must be a JSON object");
        if (depth_ == 1) {
            return error(in_meta_ ? "__metadata__ must be an object of strings" : "tensor '" + entry_.name + "': entry must be an object");
        }
        if (depth_ == 2 && in_meta_) return error("__metadata__ value '" + key_ + "' is not a string");
        if (depth_ == 2) return true;  // dtype not a string, shape or data_offsets not an array: refused at the end of the entry
        // depth 3: an element of shape or data_offsets.
        keep(n);
        return true;
    }
    void keep(const Num& n) {
        if (field_ == Field::Shape) {
            if (entry_.shape.size() <= limits_.max_rank) entry_.shape.push_back(n);
            entry_.rank++;
        } else if (field_ == Field::Offsets) {
            if (entry_.offsets.size() < 3) entry_.offsets.push_back(n);
            entry_.n_offsets++;
        }
    }

    bool open(bool array) {
        if (skip()) {
            if (skip_ > 0) skip_++;
            return true;
        }
        if (depth_ == 0) {
            if (array) return error("header must be a JSON object");
        } else if (depth_ == 1) {
            if (in_meta_ && array) return error("__metadata__ must be an object of strings");
            if (!in_meta_ && array) return error("tensor '" + entry_.name + "': entry must be an object");
        } else if (depth_ == 2) {
            if (in_meta_) return error("__metadata__ value '" + key_ + "' is not a string");
            const bool wanted = array && (field_ == Field::Shape || field_ == Field::Offsets);
            if (field_ == Field::Shape) entry_.shape_is_array = array;
            if (field_ == Field::Offsets) entry_.offsets_is_array = array;
            if (!wanted) {
                skip_ = 1;  // refused at the end of the entry; what is inside does not matter
                return true;
            }
        } else {
            // depth 3: a container where a number belongs.
            keep(other(array ? "an array" : "an object"));
            skip_ = 1;
            return true;
        }
        depth_++;
        return true;
    }
    bool close() {
        if (skip_ > 0) {
            skip_--;
            return true;
        }
        if (!status_.ok()) return true;
        depth_--;
        if (depth_ == 1 && !in_meta_) {
            TensorInfo t;
            if (Status s = check_entry(entry_, file_->data_size, limits_, &t); !s) return error(s.error);
            file_->tensors.push_back(std::move(t));
        }
        return true;
    }

    File* file_;
    const Limits& limits_;
    Status status_;
    size_t syntax_error_at_ = 0;
    int depth_ = 0;       // open containers that are part of the header's fixed shape (at most 3)
    uint64_t skip_ = 0;   // > 0: inside a value being skipped, this many containers deep
    bool in_meta_ = false;
    std::string key_;     // the metadata key being read
    Field field_ = Field::Unknown;
    Entry entry_;         // the tensor entry being read
    std::set<std::string> names_;  // ordered, not hashed: no collisions to craft
};

}  // namespace

Result<File> parse(const uint8_t* bytes, size_t size, const Limits& limits) {
    auto file = parse_header(bytes, size, size, limits);
    if (file) file->data = bytes + 8 + header_bytes(bytes);
    return file;
}

uint64_t header_bytes(const uint8_t* first8) { return read_u64_le(first8); }

Result<File> parse_header(const uint8_t* bytes, size_t size, uint64_t file_size, const Limits& limits) {
    if (file_size < 8) {
        return Result<File>::fail("file too small (" + std::to_string(file_size) +
                                  " bytes): a safetensors file starts with an 8-byte header length");
    }
    if (size < 8) return Result<File>::fail("the header is not all there: " + std::to_string(size) + " of its first 8 bytes");
    const uint64_t n = read_u64_le(bytes);
    if (n == 0) return Result<File>::fail("header length is 0: not a safetensors file");
    if (n > file_size - 8) {
        return Result<File>::fail("header length " + std::to_string(n) + " is larger than the rest of the file (" +
                                  std::to_string(file_size - 8) + " bytes): not a safetensors file, or truncated");
    }
    if (n > limits.max_header_bytes) {
        return Result<File>::fail("header length " + std::to_string(n) + " exceeds the limit of " +
                                  std::to_string(limits.max_header_bytes) + " bytes");
    }
    if (n > size - 8) {
        return Result<File>::fail("the header is not all there: " + std::to_string(size) + " of its " + std::to_string(n + 8) + " bytes");
    }
    const size_t hn = static_cast<size_t>(n);  // <= size - 8, so it fits
    const uint8_t* hdr = bytes + 8;
    const size_t bad = utf8::first_invalid(hdr, hn);
    if (bad != hn) {
        return Result<File>::fail("header is not valid UTF-8 (byte " + std::to_string(bad) + " of the header)");
    }

    if (file_size - 8 - n > SIZE_MAX) return Result<File>::fail("the file is too large for this build (" + std::to_string(file_size) + " bytes)");
    File file;
    file.data_size = static_cast<size_t>(file_size - 8 - n);
    HeaderReader reader(&file, limits);
    const bool ok = json::sax_parse(hdr, hdr + hn, &reader, nlohmann::detail::input_format_t::json, /*strict=*/true);
    if (!ok) {
        return Result<File>::fail("header is not valid JSON (at byte " + std::to_string(reader.syntax_error_at()) + " of the header)");
    }
    if (!reader.status()) return Result<File>::fail(reader.status().error);

    // The tensors must tile [0, data_size) exactly, as the safetensors validate() requires.
    std::sort(file.tensors.begin(), file.tensors.end(),
              [](const TensorInfo& a, const TensorInfo& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    size_t at = 0;
    const TensorInfo* prev = nullptr;
    for (const auto& t : file.tensors) {
        if (t.begin < at) {
            return Result<File>::fail("tensors '" + prev->name + "' and '" + t.name + "' overlap in the data");
        }
        if (t.begin > at) {
            return Result<File>::fail("gap of " + std::to_string(t.begin - at) + " bytes in the data before tensor '" +
                                      t.name + "'");
        }
        at = t.end;
        prev = &t;
    }
    if (at != file.data_size) {
        return Result<File>::fail(std::to_string(file.data_size - at) + " trailing bytes after the last tensor");
    }
    return file;
}

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1F;
    uint32_t mant = h & 0x3FF;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000 | (mant << 13);  // inf / NaN
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);  // rebias 15 -> 127
    } else if (mant == 0) {
        bits = sign;  // +-0
    } else {
        // Subnormal half: normalise the mantissa.
        uint32_t e = 113;
        while (!(mant & 0x400)) {
            mant <<= 1;
            e--;
        }
        bits = sign | (e << 23) | ((mant & 0x3FF) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

float bf16_to_float(uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

long to_f32(const File& file, const TensorInfo& t, float* out) { return to_f32(t, file.data + t.begin, out); }

long to_f32(const TensorInfo& t, const uint8_t* p, float* out) {
    long first_bad = -1;
    for (size_t i = 0; i < t.numel; i++) {
        float v;
        if (t.dtype == DType::F32) {
            std::memcpy(&v, p + 4 * i, 4);  // the file is little-endian, as are x86 and wasm
        } else {
            const uint16_t h = static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8));
            v = t.dtype == DType::F16 ? half_to_float(h) : bf16_to_float(h);
        }
        if (first_bad < 0 && !std::isfinite(v)) first_bad = static_cast<long>(i);
        out[i] = v;
    }
    return first_bad;
}

}  // namespace safetensors
}  // namespace gpt
