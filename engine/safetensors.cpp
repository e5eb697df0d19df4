#include "safetensors.h"

#include <algorithm>
#include <cmath>
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

// A JSON value as a non-negative integer that fits in `max`; `what` names it in the message.
bool as_uint(const json& v, uint64_t max, const std::string& what, uint64_t* out, std::string* err) {
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > max) {
            *err = what + " " + std::to_string(u) + " is out of range (at most " + std::to_string(max) + ")";
            return false;
        }
        *out = u;
        return true;
    }
    if (v.is_number_integer()) {
        *err = what + " " + std::to_string(v.get<int64_t>()) + " is negative";
    } else if (v.is_number_float()) {
        const double d = v.get<double>();
        *err = what + " " + v.dump() + (std::isfinite(d) && d == std::floor(d) ? " is out of range" : " is not an integer");
    } else {
        *err = what + " must be a non-negative integer, got " + v.dump();
    }
    return false;
}

Status parse_dtype(const json& v, const std::string& name, DType* out) {
    if (!v.is_string()) return Status::fail("tensor '" + name + "': dtype must be a string");
    const std::string s = v.get<std::string>();
    if (s == "F32") *out = DType::F32;
    else if (s == "F16") *out = DType::F16;
    else if (s == "BF16") *out = DType::BF16;
    else return Status::fail("tensor '" + name + "': unsupported dtype '" + s + "' (supported: F32, F16, BF16)");
    return Status::success();
}

Status parse_entry(const std::string& name, const json& e, size_t data_size, const Limits& limits,
                   TensorInfo* t) {
    const std::string where = "tensor '" + name + "'";
    if (!e.is_object()) return Status::fail(where + ": entry must be an object");
    for (auto it = e.begin(); it != e.end(); ++it) {
        if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
            return Status::fail(where + ": unknown field '" + it.key() + "'");
        }
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
        if (!e.contains(field)) return Status::fail(where + ": missing field '" + field + "'");
    }
    t->name = name;
    if (Status s = parse_dtype(e["dtype"], name, &t->dtype); !s) return s;

    const json& shape = e["shape"];
    if (!shape.is_array()) return Status::fail(where + ": shape must be an array");
    if (shape.size() > limits.max_rank) {
        return Status::fail(where + ": rank " + std::to_string(shape.size()) + " exceeds the limit of " +
                            std::to_string(limits.max_rank));
    }
    uint64_t numel = 1;
    bool overflow = false;
    std::string err;
    for (size_t i = 0; i < shape.size(); i++) {
        uint64_t d;
        if (!as_uint(shape[i], INT64_MAX, "dimension", &d, &err)) return Status::fail(where + ": " + err);
        t->shape.push_back(static_cast<int64_t>(d));
        overflow = overflow || (d != 0 && numel > UINT64_MAX / d);
        if (!overflow) numel *= d;
    }
    if (overflow || numel > UINT64_MAX / dtype_size(t->dtype)) {
        return Status::fail(where + ": shape " + shape_str(t->shape) + " has too many elements");
    }

    const json& offs = e["data_offsets"];
    if (!offs.is_array() || offs.size() != 2) {
        return Status::fail(where + ": data_offsets must be [begin, end]");
    }
    uint64_t begin, end;
    if (!as_uint(offs[0], UINT64_MAX, "data offset", &begin, &err) ||
        !as_uint(offs[1], UINT64_MAX, "data offset", &end, &err)) {
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

}  // namespace

Result<File> parse(const uint8_t* bytes, size_t size, const Limits& limits) {
    if (size < 8) {
        return Result<File>::fail("file too small (" + std::to_string(size) +
                                  " bytes): a safetensors file starts with an 8-byte header length");
    }
    const uint64_t n = read_u64_le(bytes);
    if (n == 0) return Result<File>::fail("header length is 0: not a safetensors file");
    if (n > size - 8) {
        return Result<File>::fail("header length " + std::to_string(n) + " is larger than the rest of the file (" +
                                  std::to_string(size - 8) + " bytes): not a safetensors file, or truncated");
    }
    if (n > limits.max_header_bytes) {
        return Result<File>::fail("header length " + std::to_string(n) + " exceeds the limit of " +
                                  std::to_string(limits.max_header_bytes) + " bytes");
    }
    const size_t hn = static_cast<size_t>(n);  // <= size - 8, so it fits
    const uint8_t* hdr = bytes + 8;
    const size_t bad = utf8::first_invalid(hdr, hn);
    if (bad != hn) {
        return Result<File>::fail("header is not valid UTF-8 (byte " + std::to_string(bad) + " of the header)");
    }

    // nlohmann keeps the last of duplicate keys silently; the callback sees every key, per object.
    std::vector<std::set<std::string>> keys;
    std::string duplicate;
    auto cb = [&](int, json::parse_event_t ev, json& parsed) {
        if (ev == json::parse_event_t::object_start) keys.emplace_back();
        else if (ev == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
        else if (ev == json::parse_event_t::key && !keys.empty() && parsed.is_string()) {
            if (!keys.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
                duplicate = parsed.get<std::string>();
            }
        }
        return true;
    };
    const json header = json::parse(hdr, hdr + hn, cb, /*allow_exceptions=*/false);
    if (header.is_discarded()) return Result<File>::fail("header is not valid JSON");
    if (!duplicate.empty()) return Result<File>::fail("header has the key '" + duplicate + "' twice");
    if (!header.is_object()) return Result<File>::fail("header must be a JSON object");

    File file;
    file.data = bytes + 8 + hn;
    file.data_size = size - 8 - hn;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        if (name == "__metadata__") {
            if (!it->is_object()) return Result<File>::fail("__metadata__ must be an object of strings");
            for (auto m = it->begin(); m != it->end(); ++m) {
                if (!m->is_string()) return Result<File>::fail("__metadata__ value '" + m.key() + "' is not a string");
                file.metadata[m.key()] = m->get<std::string>();
            }
            continue;
        }
        if (name.empty()) return Result<File>::fail("a tensor has an empty name");
        if (name.size() > limits.max_name_bytes) {
            return Result<File>::fail("tensor name '" + name.substr(0, 40) + "...' is longer than " +
                                      std::to_string(limits.max_name_bytes) + " bytes");
        }
        if (file.tensors.size() >= limits.max_tensors) {
            return Result<File>::fail("more than " + std::to_string(limits.max_tensors) + " tensors");
        }
        TensorInfo t;
        if (Status s = parse_entry(name, *it, file.data_size, limits, &t); !s) return Result<File>::fail(s.error);
        file.tensors.push_back(std::move(t));
    }

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

long to_f32(const File& file, const TensorInfo& t, float* out) {
    const uint8_t* p = file.data + t.begin;
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
