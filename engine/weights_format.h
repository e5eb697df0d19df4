// The precision a model's weight matrices are kept in once loaded (issue 14, "Compact weights"), and
// the load-time conversions into it. The kernels that read these formats are in ops/ (WeightView);
// this is the code that runs once per tensor while a checkpoint is read, so it lives apart from ops.
//
// float16: IEEE half, round to nearest even; a value an F16 file holds comes back with its exact bits.
// int8:    per group of ops::kQ8Group = 32 consecutive weights of a row (along K, the input
//          dimension), scale = max|w| / 127 and q = round(w / scale) in [-127, 127]; an all-zero
//          group has scale 0. 32 keeps one scale per SIMD-friendly block (4 bytes per 32: +12.5%)
//          while an outlier spoils the resolution of only 31 neighbours.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "aligned.h"
#include "ops/ops.h"
#include "result.h"

namespace gpt {

// What the caller asks for: a format, or automatic (README, "Weights in memory").
enum class WeightsIn { automatic, f32, f16, int8 };
// "auto", "f32", "f16", "int8" (also "float32", "float16") -> WeightsIn, else a one-line message.
Result<WeightsIn> parse_weights_in(const std::string& s);
const char* weights_in_name(WeightsIn w);  // "auto", "f32", "f16", "int8"
const char* format_name(ops::WFormat f);   // "f32", "f16", "int8"

// The automatic rule: float32 while the float32 weights take at most kAutoF32MaxBytes; above that
// float16 when every tensor of the file is F16 (lossless), else int8.
constexpr uint64_t kAutoF32MaxBytes = uint64_t{256} << 20;
ops::WFormat resolve_weights_in(WeightsIn w, uint64_t params, bool file_all_f16);

// The compact store's own alignment (Model keeps it in an aligned_vector), so offsets rounded to
// it are cache lines in memory too.
constexpr uint64_t kWeightAlign = kCacheLine;
// Bytes a (M, K) matrix takes in format f (data, then for Q8 its (M, q8_groups(K)) float scales,
// each part rounded up to kWeightAlign so every matrix and scale table starts aligned).
inline uint64_t align_up(uint64_t n) { return (n + kWeightAlign - 1) / kWeightAlign * kWeightAlign; }
uint64_t matrix_data_bytes(ops::WFormat f, uint64_t M, uint64_t K);
uint64_t matrix_scale_bytes(ops::WFormat f, uint64_t M, uint64_t K);
inline uint64_t matrix_bytes(ops::WFormat f, uint64_t M, uint64_t K) {
    return align_up(matrix_data_bytes(f, M, K)) + align_up(matrix_scale_bytes(f, M, K));
}

// float -> IEEE half bits, round to nearest even (subnormals included). Values beyond half's range
// (|x| >= 65520) become infinity: to_f16_row reports them.
uint16_t float_to_half(float x);
// out(n) = half(w(n)). Returns the index of the first value that does not fit in float16 (infinite
// after rounding), or -1.
long to_f16_row(uint16_t* out, const float* w, int n);
// One row of K weights -> q(K) and scales(q8_groups(K)) (the rule above).
void quantize_q8_row(int8_t* q, float* scales, const float* w, int K);

}  // namespace gpt
