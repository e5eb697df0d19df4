// The safetensors container: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then
// the raw tensor bytes. The JSON maps each tensor name to {dtype, shape, data_offsets: [begin, end]}
// (offsets relative to the start of the data) and may hold "__metadata__", a string -> string map.
//
// parse() validates the whole file before anything points into it: header length and JSON, every
// entry's fields, shapes (non-negative integers, no overflow), that byte sizes match shapes, and
// that the tensors tile the data exactly (no overlap, no gap, no trailing bytes). Every 64-bit value
// is range-checked before it is narrowed to size_t (32 bits on wasm32). Messages name the tensor.
// The header is read as a stream of JSON events, never as a JSON tree: time is linear in its size,
// memory is what the File keeps, and nesting where a number belongs is refused where it starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "result.h"

namespace gpt {
namespace safetensors {

enum class DType { F32, F16, BF16 };
const char* dtype_name(DType d);
size_t dtype_size(DType d);

// Bounds on what parse() accepts: they keep a hostile header from costing unbounded memory or time.
struct Limits {
    uint64_t max_header_bytes = 100u << 20;  // 100 MiB, as the reference safetensors crate
    size_t max_tensors = 100000;
    size_t max_name_bytes = 1024;
    size_t max_rank = 8;
    size_t max_metadata = 1000;  // keys of __metadata__
};

struct TensorInfo {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    size_t numel;
    size_t begin, end;  // byte range in the data section
};

struct File {
    std::vector<TensorInfo> tensors;  // in data order
    std::map<std::string, std::string> metadata;
    const uint8_t* data = nullptr;  // start of the data section, inside the caller's bytes
    size_t data_size = 0;

    const TensorInfo* find(const std::string& name) const;
};

// The returned File points into `bytes`, which must outlive it.
Result<File> parse(const uint8_t* bytes, size_t size, const Limits& limits = Limits());

// For a file whose bytes arrive in order (a download, a file read in pieces): the header alone,
// validated as parse() does, against the whole file's size. `bytes` holds the file's first `size`
// bytes, at least 8 + header_bytes(bytes); the returned File has data null (the tensors' bytes are
// read as they arrive: loader.h).
Result<File> parse_header(const uint8_t* bytes, size_t size, uint64_t file_size, const Limits& limits = Limits());
// The header length a file's first 8 bytes announce (not checked against anything).
uint64_t header_bytes(const uint8_t* first8);

// Converts the tensor's elements to float32 into out[numel]. Returns the index of the first value
// that is NaN or infinite, or -1 if all are finite.
long to_f32(const File& file, const TensorInfo& t, float* out);
// The same from the tensor's bytes wherever they are (p: t.end - t.begin bytes).
long to_f32(const TensorInfo& t, const uint8_t* p, float* out);

// IEEE half and bfloat16 bit patterns -> float (exact; subnormals, infinities and NaN kept).
float half_to_float(uint16_t h);
float bf16_to_float(uint16_t h);

// "[2, 3]": shapes as they appear in messages.
std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace safetensors
}  // namespace gpt
