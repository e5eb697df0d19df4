#include "weights_format.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gpt {

Result<WeightsIn> parse_weights_in(const std::string& s) {
    if (s == "auto") return WeightsIn::automatic;
    if (s == "f32" || s == "float32") return WeightsIn::f32;
    if (s == "f16" || s == "float16") return WeightsIn::f16;
    if (s == "int8") return WeightsIn::int8;
    return Result<WeightsIn>::fail("weights format must be auto, f32, f16 or int8, got '" + s + "'");
}

const char* weights_in_name(WeightsIn w) {
    switch (w) {
        case WeightsIn::f32: return "f32";
        case WeightsIn::f16: return "f16";
        case WeightsIn::int8: return "int8";
        case WeightsIn::automatic: break;
    }
    return "auto";
}

const char* format_name(ops::WFormat f) {
    switch (f) {
        case ops::WFormat::F16: return "f16";
        case ops::WFormat::Q8: return "int8";
        case ops::WFormat::F32: break;
    }
    return "f32";
}

ops::WFormat resolve_weights_in(WeightsIn w, uint64_t params, bool file_all_f16) {
    switch (w) {
        case WeightsIn::f32: return ops::WFormat::F32;
        case WeightsIn::f16: return ops::WFormat::F16;
        case WeightsIn::int8: return ops::WFormat::Q8;
        case WeightsIn::automatic: break;
    }
    if (4 * params <= kAutoF32MaxBytes) return ops::WFormat::F32;
    return file_all_f16 ? ops::WFormat::F16 : ops::WFormat::Q8;
}

uint64_t matrix_data_bytes(ops::WFormat f, uint64_t M, uint64_t K) {
    switch (f) {
        case ops::WFormat::F16: return 2 * M * K;
        case ops::WFormat::Q8: return M * K;
        case ops::WFormat::F32: break;
    }
    return 4 * M * K;
}

uint64_t matrix_scale_bytes(ops::WFormat f, uint64_t M, uint64_t K) {
    return f == ops::WFormat::Q8 ? 4 * M * static_cast<uint64_t>(ops::q8_groups(static_cast<int>(K))) : 0;
}

uint16_t float_to_half(float x) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000);
    const uint32_t a = b & 0x7FFFFFFF;
    if (a > 0x7F800000) return sign | 0x7E00;     // NaN
    if (a >= 0x477FF000) return sign | 0x7C00;    // >= 65520 (halfway past 65504): infinity
    if (a >= 0x38800000) {                        // >= 2^-14: a normal half
        // Round the 23-bit mantissa to 10 bits, to nearest even; a carry correctly bumps the exponent.
        const uint32_t r = a + 0xFFF + ((a >> 13) & 1);
        return static_cast<uint16_t>(sign | ((r - (112u << 23)) >> 13));  // rebias 127 -> 15
    }
    // Subnormal half (or zero): a multiple of 2^-24. Scaling by 2^24 is exact; nearbyint rounds to
    // nearest even. 1024 lands on the smallest normal, whose bit pattern is exactly 0x400.
    const float m = std::nearbyint(std::fabs(x) * 16777216.0f);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(m));
}

long to_f16_row(uint16_t* out, const float* w, int n) {
    long bad = -1;
    for (int i = 0; i < n; i++) {
        out[i] = float_to_half(w[i]);
        if (bad < 0 && (out[i] & 0x7C00) == 0x7C00) bad = i;
    }
    return bad;
}

namespace {
// std::round(x) (halves away from zero), exactly: wasm has no instruction for it, so std::round is
// a libc call per weight there (half of GPT-2 small's int8 load in a profile), where trunc and
// copysign are instructions and x - trunc(x) is exact.
inline float round_half_away(float x) {
    const float t = std::trunc(x);
    return std::fabs(x - t) >= 0.5f ? t + std::copysign(1.0f, x) : t;
}
}  // namespace

void quantize_q8_row(int8_t* q, float* scales, const float* w, int K) {
    for (int g = 0, k0 = 0; k0 < K; g++, k0 += ops::kQ8Group) {
        const int k1 = std::min(K, k0 + ops::kQ8Group);
        float amax = 0.0f;
        for (int k = k0; k < k1; k++) amax = std::max(amax, std::fabs(w[k]));
        const float scale = amax / 127.0f;
        scales[g] = scale;
        if (!(scale > 0.0f)) {
            std::fill(q + k0, q + k1, int8_t{0});
            continue;
        }
        for (int k = k0; k < k1; k++) {
            // r + 1.5 * 2^23 holds the integer r in its low bits: a float -> int conversion without
            // wasm's range checks around i32.trunc_f32_s, so the loop vectorises there.
            const float r = std::max(-127.0f, std::min(127.0f, round_half_away(w[k] / scale))) + 12582912.0f;
            uint32_t bits;
            std::memcpy(&bits, &r, sizeof bits);
            q[k] = static_cast<int8_t>(static_cast<int32_t>(bits - 0x4B400000u));
        }
    }
}

}  // namespace gpt
