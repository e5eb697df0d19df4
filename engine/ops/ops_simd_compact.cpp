// The compact weight formats' SIMD kernels (issue 14; ops.h, WeightView): F16 widened in registers,
// Q8 multiplied as integers (a matvec and a GEMM of their own), and the public matvec_w, matmul_w
// and widen_row that pick among them and the float32 kernels of ops_simd.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "simd_kernels.h"

namespace gpt {
namespace ops {
namespace simd {
using namespace detail;
namespace {

// ---- widening F16 and Q8 ----
// widen_f16 / widen_q8: L consecutive compact weights -> one float batch, reading exactly their
// bytes. Natively the CPU converts halves itself (F16C / AVX-512); SSE4.1, which is what the wasm
// build targets (Emscripten lowers these intrinsics to wasm SIMD128), has no half conversion, so
// there the halves are widened by integer operations: for a finite half h sign-extended to 32 bits
// s, (s << 13) & 0x8FFFE000 is h's sign in bit 31 and its exponent and mantissa in bits 27..13,
// i.e. the float32 whose value is h * 2^-112 (a normal half's exponent rebiased by 127 - 15 = 112,
// a subnormal half lands on a subnormal float with the same mantissa), so one multiply by 2^112
// restores it, exactly, sign and -0 included (a load with sign extension, a shift, an and, a
// multiply; no branch, no table).

// The same as a scalar, for the tails.
inline float half_bits_to_float(uint16_t h) {
    const uint32_t s = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(h)));
    const uint32_t bits = (s << 13) & 0x8FFFE000u;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f * 0x1p112f;
}

#if defined(__AVX512F__)
static_assert(L == 16, "AVX-512 builds use 16-lane float batches");
inline batch widen_f16(const uint16_t* h) { return batch(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h)))); }
inline batch widen_q8(const int8_t* q) {
    return batch(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)))));
}
#elif defined(__AVX2__) && defined(__F16C__)
static_assert(L == 8, "AVX2 builds use 8-lane float batches");
inline batch widen_f16(const uint16_t* h) { return batch(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)))); }
inline batch widen_q8(const int8_t* q) {
    return batch(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)))));
}
#elif defined(__SSE4_1__) && !defined(__AVX__)
static_assert(L == 4, "SSE4.1 (and wasm) builds use 4-lane float batches");
// h * 2^-112: the widening without its multiply, for a matvec that multiplies x by 2^112 instead.
inline batch widen_f16_scaled(const uint16_t* h) {
    const __m128i s = _mm_cvtepi16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(h)));
    return batch(_mm_castsi128_ps(_mm_and_si128(_mm_slli_epi32(s, 13), _mm_set1_epi32(static_cast<int>(0x8FFFE000u)))));
}
inline batch widen_f16(const uint16_t* h) { return widen_f16_scaled(h) * batch(0x1p112f); }
// The same for the high half of each 32-bit lane of a vector of 8 halves: an arithmetic shift right
// by 3 puts that half's sign in bits 31..28 and its exponent and mantissa in bits 27..13, and the
// mask leaves exactly widen_f16_scaled's bits, with no sign extension (in wasm, i32x4.load16x4_s is
// a load and a shuffle, and the shuffles were what limited the F16 matvec: matvec_f16_pairs_rows below).
inline batch widen_f16_high_scaled(__m128i pairs) {
    return batch(_mm_castsi128_ps(_mm_and_si128(_mm_srai_epi32(pairs, 3), _mm_set1_epi32(static_cast<int>(0x8FFFE000u)))));
}
inline __m128i load_halves(const uint16_t* h) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(h)); }
#define GPT_F16_SCALED 1
// int8 -> float without an int -> float conversion: LLVM merges the sign extension into the
// conversion (sitofp <4 x i8>), which its wasm backend scalarises (four extract_lane +
// f32.convert_i32_s + replace_lane, measured 4x slower than float32). Instead the widened integer
// q is added to the bits of 1.5 * 2^23, giving the float 1.5 * 2^23 + q exactly (|q| < 2^22),
// and one subtraction leaves q: two SIMD operations, no scalar lane in sight.
inline batch widen_q8(const int8_t* q) {
    int32_t four;  // the four bytes as one 32-bit load (wasm: v128.load32_zero)
    std::memcpy(&four, q, sizeof four);
    const __m128i biased = _mm_add_epi32(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(four)), _mm_set1_epi32(0x4B400000));
    return batch(_mm_sub_ps(_mm_castsi128_ps(biased), _mm_set1_ps(12582912.0f)));
}
#else
// Any other target: through a register-sized buffer (correct, not fast).
inline batch widen_f16(const uint16_t* h) {
    alignas(64) float t[L];
    for (int i = 0; i < L; i++) t[i] = half_bits_to_float(h[i]);
    return batch::load_aligned(t);
}
inline batch widen_q8(const int8_t* q) {
    alignas(64) float t[L];
    for (int i = 0; i < L; i++) t[i] = static_cast<float>(q[i]);
    return batch::load_aligned(t);
}
#endif


// out(R) = R rows of an F16 W(., K) · x(K) + bias: the float matvec with the rows widened as loaded.
// Row r of the R is row r * stride of w, out and bias (for_row_groups).
template <int R>
inline void matvec_f16_rows(float* out, const uint16_t* w, long stride, const float* x, const float* bias, int K) {
    const int Kv = K - K % L;
    batch acc[R];
    for (int r = 0; r < R; r++) acc[r] = batch(0.0f);
    for (int k = 0; k < Kv; k += L) {
        const batch xv = load(x + k);
        for (int r = 0; r < R; r++) acc[r] = xsimd::fma(widen_f16(w + r * stride * K + k), xv, acc[r]);
    }
    float sums[R];
    reduce_rows(sums, acc);
    for (int r = 0; r < R; r++) {
        float s = sums[r];
        for (int k = Kv; k < K; k++) s += half_bits_to_float(w[r * stride * K + k]) * x[k];
        out[r * stride] = s + (bias ? bias[r * stride] : 0.0f);
    }
}

#ifdef GPT_F16_SCALED
// The same for wasm, 8 halves at a time as 4 lanes of pairs, with x prepared by matvec_f16:
// xd(K - K % 8) holds x * 2^112 with each block of 8 split into its even elements, then its odd
// ones, to match the lanes' low and high halves. The odd halves come from one 16-byte load
// (widen_f16_high_scaled); the even ones from a second load one half earlier, which moves each lane
// up by 16 bits (in the first block, which has nothing before it, a shift does that). The rows are
// widened to h * 2^-112 and x carries the 2^112, so each product is the same real number as in the
// unscaled kernel and rounds to the same float; the sums run in another order (the twin tests'
// tolerance). Per 8 weights: 2 loads, 2 shifts, 2 ands, 2 multiplies, 2 adds, where
// matvec_f16_rows' sign-extending loads (i32x4.load16x4_s) are a load and a shuffle each, and the
// shuffles were its limit: gpt_bench weights, F16 at GPT-2 small's shapes, 13.4 -> 15.0-15.9 GB/s
// where W is in cache, 8.6 -> 11.4 GB/s streamed (lm_head); decode 1.25x (README, "Weights in memory").
template <int R>
inline void matvec_f16_pairs_rows(float* out, const uint16_t* w, long stride, const float* x, const float* xd, const float* bias,
                                  int K) {
    const int K8 = K - K % 8;
    batch acc[R];
    for (int r = 0; r < R; r++) acc[r] = batch(0.0f);
    if (K8 > 0) {
        const batch xe = load(xd), xo = load(xd + 4);
        for (int r = 0; r < R; r++) {
            const __m128i pairs = load_halves(w + r * stride * K);
            acc[r] += widen_f16_high_scaled(_mm_slli_epi32(pairs, 16)) * xe + widen_f16_high_scaled(pairs) * xo;
        }
    }
    for (int k = 8; k < K8; k += 8) {
        const batch xe = load(xd + k), xo = load(xd + k + 4);
        for (int r = 0; r < R; r++) {
            const uint16_t* p = w + r * stride * K + k - 1;  // loads at p and p + 1: the + 1 folds into the load
            acc[r] += widen_f16_high_scaled(load_halves(p)) * xe + widen_f16_high_scaled(load_halves(p + 1)) * xo;
        }
    }
    float sums[R];
    reduce_rows(sums, acc);
    for (int r = 0; r < R; r++) {
        float s = sums[r];
        for (int k = K8; k < K; k++) s += half_bits_to_float(w[r * stride * K + k]) * x[k];
        out[r * stride] = s + (bias ? bias[r * stride] : 0.0f);
    }
}
#endif

// ---- Q8 as integer products (ops.h) ----
// ivec: L int32 lanes, one per float lane. q8_load_w widens 2L int8 weights to int16, q8_madd
// multiplies them with 2L int16 x and sums adjacent pairs into the L lanes (pmaddwd;
// i32x4.dot_i16x8_s in wasm), q8_float converts the lanes to a float batch, q8_set1 repeats one
// int32 (q8_splat_pair below: one pair of int16, the GEMM's x).
#if defined(__AVX512BW__)
using ivec = __m512i;
inline ivec q8_load_w(const int8_t* q) { return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q))); }
inline ivec q8_load_x(const int16_t* x) { return _mm512_loadu_si512(x); }
inline ivec q8_madd(ivec w, ivec x) { return _mm512_madd_epi16(w, x); }
inline ivec q8_add(ivec a, ivec b) { return _mm512_add_epi32(a, b); }
inline ivec q8_zero() { return _mm512_setzero_si512(); }
inline ivec q8_set1(int32_t v) { return _mm512_set1_epi32(v); }
inline batch q8_float(ivec a) { return batch(_mm512_cvtepi32_ps(a)); }
#define GPT_Q8_INT 1
#elif defined(__AVX2__) && !defined(__AVX512F__)
using ivec = __m256i;
inline ivec q8_load_w(const int8_t* q) { return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q))); }
inline ivec q8_load_x(const int16_t* x) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)); }
inline ivec q8_madd(ivec w, ivec x) { return _mm256_madd_epi16(w, x); }
inline ivec q8_add(ivec a, ivec b) { return _mm256_add_epi32(a, b); }
inline ivec q8_zero() { return _mm256_setzero_si256(); }
inline ivec q8_set1(int32_t v) { return _mm256_set1_epi32(v); }
inline batch q8_float(ivec a) { return batch(_mm256_cvtepi32_ps(a)); }
#define GPT_Q8_INT 1
#elif defined(__SSE4_1__) && !defined(__AVX__)
using ivec = __m128i;
inline ivec q8_load_w(const int8_t* q) { return _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q))); }
inline ivec q8_load_x(const int16_t* x) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(x)); }
inline ivec q8_madd(ivec w, ivec x) { return _mm_madd_epi16(w, x); }
inline ivec q8_add(ivec a, ivec b) { return _mm_add_epi32(a, b); }
inline ivec q8_zero() { return _mm_setzero_si128(); }
inline ivec q8_set1(int32_t v) { return _mm_set1_epi32(v); }
inline batch q8_float(ivec a) { return batch(_mm_cvtepi32_ps(a)); }
#define GPT_Q8_INT 1
#endif

#ifdef GPT_Q8_INT
static_assert(sizeof(ivec) == sizeof(batch), "one int32 lane per float lane");
inline ivec q8_splat_pair(const int16_t* x) {  // x[0], x[1] in every pair of lanes (wasm: v128.load32_splat)
    int32_t pair;
    std::memcpy(&pair, x, sizeof pair);
    return q8_set1(pair);
}
constexpr int kQ8Step = 2 * L;  // weights per q8_madd
static_assert(kQ8Group % kQ8Step == 0, "a group is whole steps");

// x is quantized a chunk at a time into a stack buffer (kernels do not allocate): 2 KiB of int16.
constexpr int kQ8Chunk = 1024;
static_assert(kQ8Chunk % kQ8Group == 0, "a chunk is whole groups");

// out(R) (+)= R rows of a Q8 W(., K), from column k0 on, times the quantized chunk xq(kc), xs: the
// rows' group sums in int32 lanes, scaled once per group into float lanes. w and scales point at the
// first row's chunk; row r of the R is row r * stride of w, scales and out (for_row_groups); rows
// are K weights and G scales long. xq is zero up to the next whole group past kc.
template <int R>
inline void matvec_q8_rows(float* out, const int8_t* w, const float* scales, long stride, const int16_t* xq, const float* xs,
                           int kc, int K, int G, bool first) {
    batch acc[R];
    for (int r = 0; r < R; r++) acc[r] = batch(0.0f);
    for (int g = 0, k0 = 0; k0 < kc; g++, k0 += kQ8Group) {
        const int n = std::min(kQ8Group, kc - k0), whole = n - n % kQ8Step;
        ivec is[R];
        for (int r = 0; r < R; r++) is[r] = q8_zero();
        for (int k = k0; k < k0 + whole; k += kQ8Step) {
            const ivec xv = q8_load_x(xq + k);
            for (int r = 0; r < R; r++) is[r] = q8_add(is[r], q8_madd(q8_load_w(w + r * stride * K + k), xv));
        }
        if (whole < n) {  // the end of a row that is not whole steps: its bytes, zero-padded
            const ivec xv = q8_load_x(xq + k0 + whole);
            for (int r = 0; r < R; r++) {
                alignas(64) int8_t t[kQ8Step] = {};
                std::memcpy(t, w + r * stride * K + k0 + whole, n - whole);
                is[r] = q8_add(is[r], q8_madd(q8_load_w(t), xv));
            }
        }
        for (int r = 0; r < R; r++) acc[r] = xsimd::fma(q8_float(is[r]), batch(scales[r * stride * G + g] * xs[g]), acc[r]);
    }
    float sums[R];
    reduce_rows(sums, acc);
    for (int r = 0; r < R; r++) out[r * stride] = first ? sums[r] : out[r * stride] + sums[r];
}

// Rows per block: R int32 and R float accumulators, one x vector and one weight vector in registers.
// Measured (gpt_bench weights, GPT-2 small's shapes): natively with AVX-512, 4 rows are 2-2.4x
// float32 where 8 are 1.1-1.6x and 12 slower than float32 (the weight and scale streams of more
// rows at once defeat the prefetchers: lm_head read at 4.5 GB/s); in wasm 6 beat 4 and 3.
constexpr int kQ8Rows = L >= 16 ? 4 : 6;

// out (+)= columns k0 .. k0 + kc of a Q8 W(M, K) times x's quantized chunk xq(kc), xs (xq zero up to
// the next whole group past kc): set by the first chunk, added to by the others.
void matvec_q8_chunk(float* out, const int8_t* w, const float* scales, const int16_t* xq, const float* xs, int k0, int kc,
                     int M, int K) {
    const int G = q8_groups(K);
    const int8_t* wc = w + k0;
    const float* sc = scales + k0 / kQ8Group;
    const bool first = k0 == 0;
    for_row_groups<kQ8Rows>(
        M,
        [&](int g, int Gr) {
            matvec_q8_rows<kQ8Rows>(out + g, wc + static_cast<long>(g) * K, sc + static_cast<long>(g) * G, Gr, xq, xs, kc, K, G, first);
        },
        [&](int m) { matvec_q8_rows<1>(out + m, wc + static_cast<long>(m) * K, sc + static_cast<long>(m) * G, 0, xq, xs, kc, K, G, first); });
}

void add_bias(float* out, const float* bias, int M) {
    if (bias)
        for (int m = 0; m < M; m++) out[m] += bias[m];
}

void matvec_q8(float* out, const int8_t* w, const float* scales, const float* x, const float* bias, int M, int K) {
    alignas(64) int16_t xq[kQ8Chunk];
    float xs[kQ8Chunk / kQ8Group];
    if (K == 0) std::fill(out, out + M, 0.0f);
    for (int k0 = 0; k0 < K; k0 += kQ8Chunk) {
        const int kc = std::min(kQ8Chunk, K - k0);
        quantize_x16(xq, xs, x + k0, kc);
        std::fill(xq + kc, xq + q8_groups(kc) * kQ8Group, int16_t{0});
        matvec_q8_chunk(out, w, scales, xq, xs, k0, kc, M, K);
    }
    add_bias(out, bias, M);
}

void matvec_q8_xq(float* out, const int8_t* w, const float* scales, const int16_t* xq, const float* xs, const float* bias, int M,
                  int K) {
    if (K == 0) std::fill(out, out + M, 0.0f);
    for (int k0 = 0; k0 < K; k0 += kQ8Chunk)
        matvec_q8_chunk(out, w, scales, xq + k0, xs + k0 / kQ8Group, k0, std::min(kQ8Chunk, K - k0), M, K);
    add_bias(out, bias, M);
}
#else
// Any other target: the scalar twin's integer products.
void matvec_q8(float* out, const int8_t* w, const float* scales, const float* x, const float* bias, int M, int K) {
    scalar::matvec_w(out, {WFormat::Q8, w, scales}, x, bias, M, K);
}
void matvec_q8_xq(float* out, const int8_t* w, const float* scales, const int16_t* xq, const float* xs, const float* bias, int M,
                  int K) {
    scalar::matvec_q8_quantized(out, {WFormat::Q8, w, scales}, xq, xs, bias, M, K);
}
#endif

constexpr int kF16Rows = 8;  // as the float matvec

void matvec_f16(float* out, const uint16_t* w, const float* x, const float* bias, int M, int K) {
    const auto bias_at = [bias](int m) { return bias ? bias + m : nullptr; };
#ifdef GPT_F16_SCALED
    // xd (above) on the stack (kernels do not allocate), when x * 2^112 is exact and finite: |x| < 2^15.
    constexpr int kMaxScaledK = 8192;  // 32 KiB; GPT-2 XL's widest K is 6400
    alignas(64) float xd[kMaxScaledK];
    const int K8 = K - K % 8;
    bool scaled = K <= kMaxScaledK;
    for (int k = 0; scaled && k < K; k++) scaled = std::fabs(x[k]) < 0x1p15f;  // false for NaN too
    if (scaled) {
        for (int k = 0; k < K8; k += 8) {
            for (int j = 0; j < 4; j++) {
                xd[k + j] = x[k + 2 * j] * 0x1p112f;
                xd[k + 4 + j] = x[k + 2 * j + 1] * 0x1p112f;
            }
        }
        return for_row_groups<kF16Rows>(
            M, [&](int g, int G) { matvec_f16_pairs_rows<kF16Rows>(out + g, w + static_cast<long>(g) * K, G, x, xd, bias_at(g), K); },
            [&](int m) { matvec_f16_pairs_rows<1>(out + m, w + static_cast<long>(m) * K, 0, x, xd, bias_at(m), K); });
    }
#endif
    for_row_groups<kF16Rows>(
        M, [&](int g, int G) { matvec_f16_rows<kF16Rows>(out + g, w + static_cast<long>(g) * K, G, x, bias_at(g), K); },
        [&](int m) { matvec_f16_rows<1>(out + m, w + static_cast<long>(m) * K, 0, x, bias_at(m), K); });
}

// out(n) = W(row, k0 .. k0 + n) widened, for an F16 or Q8 W(., K); k0 is a multiple of L (0, or a
// k block start), so no batch straddles two Q8 groups. Q8: q * scale, one rounding, as the scalar twin.
void widen_range(float* out, WeightView w, int row, int K, int k0, int n) {
    const long base = static_cast<long>(row) * K + k0;
    const int nv = n - n % L;
    if (w.format == WFormat::F16) {
        const uint16_t* h = static_cast<const uint16_t*>(w.data) + base;
        for (int i = 0; i < nv; i += L) widen_f16(h + i).store_unaligned(out + i);
        for (int i = nv; i < n; i++) out[i] = half_bits_to_float(h[i]);
    } else {
        const int8_t* q = static_cast<const int8_t*>(w.data) + base;
        const float* sc = w.scales + static_cast<long>(row) * q8_groups(K);
        for (int i = 0; i < nv; i += L) (widen_q8(q + i) * batch(sc[(k0 + i) / kQ8Group])).store_unaligned(out + i);
        for (int i = nv; i < n; i++) out[i] = static_cast<float>(q[i]) * sc[(k0 + i) / kQ8Group];
    }
}

// Packs the rows m0 .. m0 + nr of an F16 W(M, K) as the columns of B = Wᵀ (Q8 has its integer GEMM,
// below): each row's k block is widened with SIMD into a buffer, then scattered into the panel's
// column (the float packer gathers the same way).
struct PackCompact {
    WeightView w;
    int K;
    void operator()(float* panel, int m0, int nr, int k0, int kc) const {
        constexpr int NR = 2 * L;
        alignas(64) float row[kKC];  // (kc) one widened row segment
        for (int j = 0; j < NR; j++) {
            if (j < nr) widen_range(row, w, m0 + j, K, k0, kc);
            for (int k = 0; k < kc; k++) panel[k * NR + j] = j < nr ? row[k] : 0.0f;
        }
    }
};


#ifdef GPT_Q8_INT
// ---- The Q8 GEMM: integer micro-kernels (ops.h) ----
// As the float GEMM (panels of NR = 2L columns of W for a block of kKC k's, swept by micro-kernels
// down the rows of x), with integers inside: the panel holds W's int8 widened to int16 in k pairs,
// (kc/2, NR, 2), so that one q8_madd of a panel vector (L columns x 2 k's) with x's pair (k, k+1)
// splatted gives L columns' sums of two products; 2 operations (madd, add) per 2L multiply-adds
// where floats take 2 per L. The group sums are scaled into float once per group.
// Rows per micro-kernel: MR * 2 int32 and MR * 2 float accumulators + 2 panel vectors + 1 splat
// must fit the register file (32 with AVX-512, 16 with AVX2, SSE and wasm, where V8 spills the rest
// inside the loop).
constexpr int kQ8MR = L >= 16 ? 6 : 3;
// x is quantized a block of rows and k's at a time, on the stack (kernels do not allocate: 64 KiB
// of int16), and the panels are packed again for each block of rows: kQ8XRows rows share each
// packing (a prefill of 128 tokens packs W once).
constexpr int kQ8XRows = 128;

struct Q8Panel {
    alignas(64) int16_t w[kKC * 2 * L];                // (kKC/2, NR, 2) W's int8 as int16 pairs, 0 past kc and nr
    alignas(64) float scales[kKC / kQ8Group * 2 * L];  // (kKC/32, NR) W's group scales, 0 past nr
};

struct Q8XBlock {
    alignas(64) int16_t xq[kQ8XRows * kKC];     // (rows, kKC) x quantized, 0 past kc (an odd kc's last pair)
    float xs[kQ8XRows * (kKC / kQ8Group)];      // (rows, kKC/32) x's group scales
};

void pack_q8(Q8Panel& p, const int8_t* w, const float* scales, int K, int m0, int nr, int k0, int kc) {
    constexpr int NR = 2 * L;
    const int G = q8_groups(K), pairs = (kc + 1) / 2, groups = q8_groups(kc);
    for (int j = 0; j < NR; j++) {
        if (j >= nr) {  // columns past M
            for (int q = 0; q < pairs; q++) p.w[(q * NR + j) * 2] = p.w[(q * NR + j) * 2 + 1] = 0;
            for (int g = 0; g < groups; g++) p.scales[g * NR + j] = 0.0f;
            continue;
        }
        const int8_t* row = w + static_cast<long>(m0 + j) * K + k0;
        for (int q = 0; q < pairs; q++) {
            int16_t* d = p.w + (q * NR + j) * 2;
            d[0] = row[2 * q];
            d[1] = 2 * q + 1 < kc ? row[2 * q + 1] : 0;
        }
        for (int g = 0; g < groups; g++) p.scales[g * NR + j] = scales[static_cast<long>(m0 + j) * G + k0 / kQ8Group + g];
    }
}

// out(MR rows, nr <= NR columns) (+)= x(MR rows, kc) · panel, from the quantized rows xq (kKC apart)
// and their scales xs (kKC/32 apart). add_out: added to what out holds (a later k block); otherwise
// to bias when given.
template <int MR>
inline void gemm_q8_micro(float* out, int ldo, const int16_t* xq, const float* xs, const Q8Panel& p, int kc, int nr,
                          bool add_out, const float* bias) {
    constexpr int NR = 2 * L, XG = kKC / kQ8Group;
    batch tile[MR][2];  // the float sums of the scaled groups
    for (int i = 0; i < MR; i++) tile[i][0] = tile[i][1] = batch(0.0f);
    for (int g = 0, k0 = 0; k0 < kc; g++, k0 += kQ8Group) {
        const int q0 = k0 / 2, q1 = (std::min(k0 + kQ8Group, kc) + 1) / 2;
        ivec acc[MR][2];
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = q8_zero();
        for (int q = q0; q < q1; q++) {
            const ivec w0 = q8_load_x(p.w + q * 2 * NR), w1 = q8_load_x(p.w + q * 2 * NR + 2 * L);
            for (int i = 0; i < MR; i++) {
                const ivec xv = q8_splat_pair(xq + i * kKC + 2 * q);
                acc[i][0] = q8_add(acc[i][0], q8_madd(xv, w0));
                acc[i][1] = q8_add(acc[i][1], q8_madd(xv, w1));
            }
        }
        const batch s0 = batch::load_aligned(p.scales + g * NR), s1 = batch::load_aligned(p.scales + g * NR + L);
        for (int i = 0; i < MR; i++) {
            const batch xsc(xs[i * XG + g]);
            tile[i][0] = xsimd::fma(q8_float(acc[i][0]), s0 * xsc, tile[i][0]);
            tile[i][1] = xsimd::fma(q8_float(acc[i][1]), s1 * xsc, tile[i][1]);
        }
    }
    for (int i = 0; i < MR; i++) {
        float* o = out + static_cast<long>(i) * ldo;
        alignas(64) float t[NR];
        tile[i][0].store_aligned(t);
        tile[i][1].store_aligned(t + L);
        for (int j = 0; j < nr; j++) o[j] = t[j] + (add_out ? o[j] : bias ? bias[j] : 0.0f);
    }
}

template <int... MRs>
inline void gemm_q8_rows(int mr, std::integer_sequence<int, MRs...>, float* out, int ldo, const int16_t* xq,
                         const float* xs, const Q8Panel& p, int kc, int nr, bool add_out, const float* bias) {
    ((mr == MRs + 1 ? gemm_q8_micro<MRs + 1>(out, ldo, xq, xs, p, kc, nr, add_out, bias) : void()), ...);
}

// out(N, M) = x(N, K) · W(M, K)ᵀ + bias for a Q8 W, x quantized per row as matvec_q8 does; out's rows ldo
// apart.
void matmul_q8(float* out, int ldo, const float* x, const int8_t* w, const float* scales, const float* bias, int N, int M, int K) {
    constexpr int NR = 2 * L, XG = kKC / kQ8Group;
    if (K == 0) {
        for (int n = 0; n < N; n++)
            for (int m = 0; m < M; m++) out[static_cast<long>(n) * ldo + m] = bias ? bias[m] : 0.0f;
        return;
    }
    Q8Panel panel;
    Q8XBlock xb;
    for (int n0 = 0; n0 < N; n0 += kQ8XRows) {
        const int nb = std::min(kQ8XRows, N - n0);
        for (int k0 = 0; k0 < K; k0 += kKC) {
            const int kc = std::min(kKC, K - k0);
            for (int i = 0; i < nb; i++) {
                int16_t* xq = xb.xq + i * kKC;
                quantize_x16(xq, xb.xs + i * XG, x + static_cast<long>(n0 + i) * K + k0, kc);
                if (kc % 2) xq[kc] = 0;
            }
            for (int m0 = 0; m0 < M; m0 += NR) {
                const int nr = std::min(NR, M - m0);
                pack_q8(panel, w, scales, K, m0, nr, k0, kc);
                for (int i0 = 0; i0 < nb; i0 += kQ8MR) {
                    gemm_q8_rows(std::min(kQ8MR, nb - i0), std::make_integer_sequence<int, kQ8MR>{},
                                 out + static_cast<long>(n0 + i0) * ldo + m0, ldo, xb.xq + i0 * kKC, xb.xs + i0 * XG, panel,
                                 kc, nr, k0 > 0, bias ? bias + m0 : nullptr);
                }
            }
        }
    }
}
#else
void matmul_q8(float* out, int ldo, const float* x, const int8_t* w, const float* scales, const float* bias, int N, int M, int K) {
    scalar::matmul_w(out, ldo, x, {WFormat::Q8, w, scales}, bias, N, M, K);
}
#endif

}  // namespace

// The scalar twin's quantization (ops.h), a whole group of 32 at a time in batches, with the same
// bits: the group's max |x| and whether all of it is finite; e from the max's exponent field (a
// normal max with biased exponent b lies in [2^(b-127), 2^(b-126)), so frexp's E is b - 126, and a
// subnormal max lands on the floor e = -126 as in the twin); then x * 2^-e rounded to nearest even
// by adding 1.5 * 2^23: |x * 2^-e| < 2^14, so the sum's last place is 1 and the add itself rounds
// (ties to even, as nearbyint; 1.5 * 2^23 is even), and its bits minus those of 1.5 * 2^23 are the
// integer. No frexp, ldexp or float -> int conversion, which wasm runs as scalar calls. A short last
// group goes to the twin.
void quantize_x16(int16_t* xq, float* xs, const float* x, int n) {
    static_assert(kQ8Group % L == 0, "a group is whole batches");
    using ibatch = xsimd::batch<int32_t>;
    const auto pow2 = [](int e) {  // 2^e for e in [-126, 127]
        const uint32_t bits = static_cast<uint32_t>(e + 127) << 23;
        float f;
        std::memcpy(&f, &bits, sizeof f);
        return f;
    };
    const batch largest(std::numeric_limits<float>::max()), magic(0x1.8p23f);
    const ibatch magic_bits(0x4B400000);
    const int whole = n / kQ8Group * kQ8Group;
    for (int g0 = 0; g0 < whole; g0 += kQ8Group) {
        batch amax(0.0f);
        auto finite = amax <= largest;  // all true
        for (int k = g0; k < g0 + kQ8Group; k += L) {
            const batch a = xsimd::abs(batch::load_unaligned(x + k));
            finite = finite & (a <= largest);  // false for an infinity or NaN
            amax = xsimd::max(amax, a);
        }
        if (!xsimd::all(finite)) {
            xs[g0 / kQ8Group] = std::numeric_limits<float>::quiet_NaN();
            std::fill(xq + g0, xq + g0 + kQ8Group, int16_t{0});
            continue;
        }
        alignas(64) float lanes[L];
        amax.store_aligned(lanes);
        const float m = *std::max_element(lanes, lanes + L);
        uint32_t mbits;
        std::memcpy(&mbits, &m, sizeof mbits);
        const int e = m == 0.0f ? -14 : std::max(static_cast<int>(mbits >> 23) - 140, -126);  // frexp(0): E = 0
        xs[g0 / kQ8Group] = pow2(e);
        const batch inv(pow2(-e));
        alignas(64) int32_t q[kQ8Group];
        for (int k = 0; k < kQ8Group; k += L) {
            const batch y = batch::load_unaligned(x + g0 + k) * inv + magic;
            (xsimd::bitwise_cast<ibatch>(y) - magic_bits).store_aligned(q + k);
        }
        for (int k = 0; k < kQ8Group; k++) xq[g0 + k] = static_cast<int16_t>(q[k]);
    }
    if (whole < n) scalar::quantize_x16(xq + whole, xs + whole / kQ8Group, x + whole, n - whole);
}

void matvec_w(float* out, WeightView w, const float* x, const float* bias, int M, int K) {
    switch (w.format) {
        case WFormat::F32: return matvec(out, w.as_f32(), x, bias, M, K);
        case WFormat::F16: return matvec_f16(out, static_cast<const uint16_t*>(w.data), x, bias, M, K);
        case WFormat::Q8: return matvec_q8(out, static_cast<const int8_t*>(w.data), w.scales, x, bias, M, K);
    }
}

void matvec_q8_quantized(float* out, WeightView w, const int16_t* xq, const float* xs, const float* bias, int M, int K) {
    matvec_q8_xq(out, static_cast<const int8_t*>(w.data), w.scales, xq, xs, bias, M, K);
}

void matmul_w(float* out, int ldo, const float* x, WeightView w, const float* bias, int N, int M, int K) {
    // Few rows: every row reads all of W anyway, and the matvec reads it in its compact form.
    if (N < 4) {
        for (int n = 0; n < N; n++) simd::matvec_w(out + static_cast<long>(n) * ldo, w, x + static_cast<long>(n) * K, bias, M, K);
        return;
    }
    if (w.format == WFormat::F32) return gemm<true>(out, ldo, x, K, w.as_f32(), K, bias, 1.0f, N, M, K);
    if (w.format == WFormat::Q8) return matmul_q8(out, ldo, x, static_cast<const int8_t*>(w.data), w.scales, bias, N, M, K);
    // The GEMM widens while it packs: each (m0, k0) panel is widened once and used for all N rows.
    gemm_packed<false>(out, ldo, x, K, PackCompact{w, K}, bias, 1.0f, N, M, K);
}

void widen_row(float* out, WeightView w, int row, int K) {
    if (w.format == WFormat::F32) {
        const float* r = w.as_f32() + static_cast<long>(row) * K;
        return void(std::copy(r, r + K, out));
    }
    widen_range(out, w, row, K, 0, K);
}

}  // namespace simd
}  // namespace ops
}  // namespace gpt
