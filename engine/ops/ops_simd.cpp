// xsimd versions of the kernels. The batch width is whatever the compiler flags allow: AVX-512 or
// AVX2 natively with -march=native, SSE4.1 in the WebAssembly build (-msimd128 -msse4.1: Emscripten
// lowers the SSE intrinsics xsimd emits to wasm SIMD128).
//
// Horizontal adds are slow (emulated with shuffles in wasm), so reductions keep one accumulator per
// output and reduce a whole group of them once, after the loop over K.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "ops.h"

namespace gpt {
namespace ops {

using batch = xsimd::batch<float>;
constexpr int L = static_cast<int>(batch::size);

int simd_lanes() { return L; }
const char* simd_arch_name() { return xsimd::default_arch::name(); }

namespace simd {
namespace {

inline batch load(const float* p) { return batch::load_unaligned(p); }

// The mean of x(C) and 1 / sqrt(variance + 1e-5): what layernorm and its backward both start from.
inline void mean_rstd(const float* x, int C, float* mean_out, float* rstd_out) {
    const int Cv = C - C % L;
    batch acc(0.0f);
    for (int i = 0; i < Cv; i += L) acc += load(x + i);
    float sum = xsimd::hadd(acc);
    for (int i = Cv; i < C; i++) sum += x[i];
    const float mean = sum / C;
    const batch mv(mean);
    acc = batch(0.0f);
    for (int i = 0; i < Cv; i += L) {
        const batch d = load(x + i) - mv;
        acc = xsimd::fma(d, d, acc);
    }
    float var = xsimd::hadd(acc);
    for (int i = Cv; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= C;
    *mean_out = mean;
    *rstd_out = 1.0f / std::sqrt(var + 1e-5f);
}

// out[r] = sum of the lanes of acc[r], r < R; uses the parallel reduction when R is a multiple of
// the lane count (R batches -> R/L stores instead of R separate horizontal adds). Not with 16
// lanes: xsimd 8.1's AVX-512 haddp returns the sums in the wrong lanes (rows 2-5 and 10-13 swap);
// its SSE and AVX2 versions are right (checked by tests/test_ops.cpp through matmul).
template <int R>
inline void reduce_rows(float* out, const batch (&acc)[R]) {
    if constexpr (R % L == 0 && L <= 8) {
        for (int r = 0; r < R; r += L) xsimd::haddp(acc + r).store_unaligned(out + r);
    } else {
        for (int r = 0; r < R; r++) out[r] = xsimd::hadd(acc[r]);
    }
}

}  // namespace

float dot(const float* a, const float* b, int n) {
    // Two accumulators: consecutive FMAs into one register would wait on each other's latency.
    batch s0(0.0f), s1(0.0f);
    int i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
        s0 = xsimd::fma(load(a + i), load(b + i), s0);
        s1 = xsimd::fma(load(a + i + L), load(b + i + L), s1);
    }
    for (; i + L <= n; i += L) s0 = xsimd::fma(load(a + i), load(b + i), s0);
    float s = xsimd::hadd(s0 + s1);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void matvec(float* out, const float* w, const float* x, const float* bias, int M, int K) {
    // Eight rows at a time: each x chunk is loaded once for eight FMAs on independent accumulators.
    constexpr int R = 8;
    const int Kv = K - K % L;
    int m = 0;
    for (; m + R <= M; m += R) {
        const float* wr = w + static_cast<long>(m) * K;
        batch acc[R];
        for (int r = 0; r < R; r++) acc[r] = batch(0.0f);
        for (int k = 0; k < Kv; k += L) {
            const batch xv = load(x + k);
            for (int r = 0; r < R; r++) acc[r] = xsimd::fma(load(wr + static_cast<long>(r) * K + k), xv, acc[r]);
        }
        float sums[R];
        reduce_rows(sums, acc);
        for (int r = 0; r < R; r++) {
            float s = sums[r];
            for (int k = Kv; k < K; k++) s += wr[static_cast<long>(r) * K + k] * x[k];
            out[m + r] = s + (bias ? bias[m + r] : 0.0f);
        }
    }
    for (; m < M; m++) out[m] = dot(w + static_cast<long>(m) * K, x, K) + (bias ? bias[m] : 0.0f);
}

namespace {

// The GEMM micro-kernel: out(MR rows, NR = 2L columns) = alpha * x(MR rows, kc) · panel(kc, NR)
// (+ bias on the first k block; added to out on the others). The panel is a slice of the right-hand
// matrix packed k-major (by gemm below). Every k broadcasts one element of each x row against two
// vectors of the panel: MR * 2 independent accumulators, no horizontal sums. kAT: x is stored
// transposed, x(i, k) = x[k * ldx + i] (the MR elements of one k are then adjacent).
// add_out: the product is added to what out holds (a later k block, or an accumulating gemm);
// otherwise to bias (when given) or to nothing.
template <int MR, bool kAT>
inline void gemm_micro(float* out, int ldo, const float* x, int ldx, const float* panel, int kc, int nr, bool add_out,
                       const float* bias, float alpha) {
    constexpr int NR = 2 * L;
    batch acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = batch(0.0f);
    for (int k = 0; k < kc; k++) {
        const batch w0 = batch::load_aligned(panel + k * NR), w1 = batch::load_aligned(panel + k * NR + L);
        for (int i = 0; i < MR; i++) {
            const batch xv(kAT ? x[static_cast<long>(k) * ldx + i] : x[static_cast<long>(i) * ldx + k]);
            acc[i][0] = xsimd::fma(xv, w0, acc[i][0]);
            acc[i][1] = xsimd::fma(xv, w1, acc[i][1]);
        }
    }
    alignas(64) float base[NR] = {};  // what the product is added to: bias, or the partial sum in out
    if (!add_out && bias) std::copy(bias, bias + nr, base);
    const batch a(alpha);
    for (int i = 0; i < MR; i++) {
        float* o = out + static_cast<long>(i) * ldo;
        if (add_out) std::copy(o, o + nr, base);
        alignas(64) float t[NR];
        xsimd::fma(acc[i][0], a, batch::load_aligned(base)).store_aligned(t);
        xsimd::fma(acc[i][1], a, batch::load_aligned(base + L)).store_aligned(t + L);
        std::copy(t, t + nr, o);
    }
}

// Rows of x per micro-kernel call: MR * 2 accumulators + 2 loaded vectors + 1 broadcast must fit
// the register file (32 with AVX-512, 16 with AVX2, SSE and wasm).
constexpr int kMR = L >= 16 ? 12 : 6;

template <bool kAT, int... MRs>
inline void gemm_micro_rows(int mr, std::integer_sequence<int, MRs...>, float* out, int ldo, const float* x, int ldx,
                            const float* panel, int kc, int nr, bool add_out, const float* bias, float alpha) {
    ((mr == MRs + 1 ? gemm_micro<MRs + 1, kAT>(out, ldo, x, ldx, panel, kc, nr, add_out, bias, alpha) : void()), ...);
}

// The k block of a packed panel: kKC * 2L floats (32 KiB with AVX-512: it stays in L1). A multiple
// of kQ8Group, so a block never starts inside a Q8 group.
constexpr int kKC = 256;
static_assert(kKC % kQ8Group == 0, "a k block must hold whole Q8 groups");

// Packers: fill panel(kc, NR = 2L), k-major, with B(k0 + k, m0 + j) for j < nr and zeros past nr.
// B(k, m) = b[m * ldb + k] when kBT (the rows of a weight matrix W(M, K)), else b[k * ldb + m].
template <bool kBT>
struct PackFloat {
    const float* b;
    int ldb;
    void operator()(float* panel, int m0, int nr, int k0, int kc) const {
        constexpr int NR = 2 * L;
        for (int k = 0; k < kc; k++) {
            for (int j = 0; j < NR; j++) {
                panel[k * NR + j] = j >= nr ? 0.0f  // columns past M
                                  : kBT ? b[static_cast<long>(m0 + j) * ldb + k0 + k]
                                        : b[static_cast<long>(k0 + k) * ldb + m0 + j];
            }
        }
    }
};

// out(N, M) = alpha * x(N, K) · B(K, M) + bias(M), in the BLIS way: a panel of NR columns of B,
// packed k-major for a block of kKC k's by `pack`, is swept by micro-kernels down all N rows of x;
// partial sums over k blocks accumulate in out.
// kAT: x(n, k) = x[k * ldx + n] (training's dW = dYᵀ · X). accumulate: out += the product.
template <bool kAT, class Pack>
void gemm_packed(float* out, int ldo, const float* x, int ldx, const Pack& pack, const float* bias, float alpha, int N,
                 int M, int K, bool accumulate = false) {
    constexpr int NR = 2 * L;
    alignas(64) float panel[kKC * NR];
    for (int m0 = 0; m0 < M; m0 += NR) {
        const int nr = std::min(NR, M - m0);
        for (int k0 = 0; k0 == 0 || k0 < K; k0 += kKC) {  // once even when K == 0: out = bias
            const int kc = std::min(kKC, K - k0);
            pack(panel, m0, nr, k0, kc);
            for (int n0 = 0; n0 < N; n0 += kMR) {
                const float* xb = kAT ? x + static_cast<long>(k0) * ldx + n0 : x + static_cast<long>(n0) * ldx + k0;
                gemm_micro_rows<kAT>(std::min(kMR, N - n0), std::make_integer_sequence<int, kMR>{},
                                     out + static_cast<long>(n0) * ldo + m0, ldo, xb, ldx, panel, kc, nr,
                                     k0 > 0 || accumulate, bias ? bias + m0 : nullptr, alpha);
            }
        }
    }
}

template <bool kBT, bool kAT = false>
void gemm(float* out, int ldo, const float* x, int ldx, const float* b, int ldb, const float* bias, float alpha, int N,
          int M, int K, bool accumulate = false) {
    gemm_packed<kAT>(out, ldo, x, ldx, PackFloat<kBT>{b, ldb}, bias, alpha, N, M, K, accumulate);
}

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
// kScaled (wasm): xs = x * 2^112 and the rows widened to h * 2^-112, which saves widen_f16's
// multiply; each product is the same real number, so it rounds to the same float (bit for bit the
// unscaled kernel, as long as x * 2^112 stays finite: matvec_f16 checks).
template <int R, bool kScaled = false>
inline void matvec_f16_rows(float* out, const uint16_t* w, const float* x, const float* bias, int K,
                            [[maybe_unused]] const float* xs = nullptr) {
    const int Kv = K - K % L;
    batch acc[R];
    for (int r = 0; r < R; r++) acc[r] = batch(0.0f);
    for (int k = 0; k < Kv; k += L) {
#ifdef GPT_F16_SCALED
        if constexpr (kScaled) {
            const batch xv = load(xs + k);
            for (int r = 0; r < R; r++) acc[r] = xsimd::fma(widen_f16_scaled(w + static_cast<long>(r) * K + k), xv, acc[r]);
            continue;
        }
#endif
        const batch xv = load(x + k);
        for (int r = 0; r < R; r++) acc[r] = xsimd::fma(widen_f16(w + static_cast<long>(r) * K + k), xv, acc[r]);
    }
    float sums[R];
    reduce_rows(sums, acc);
    for (int r = 0; r < R; r++) {
        float s = sums[r];
        for (int k = Kv; k < K; k++) s += half_bits_to_float(w[static_cast<long>(r) * K + k]) * x[k];
        out[r] = s + (bias ? bias[r] : 0.0f);
    }
}

// ---- Q8 as integer products (ops.h) ----
// ivec: L int32 lanes, one per float lane. q8_load_w widens 2L int8 weights to int16, q8_madd
// multiplies them with 2L int16 x and sums adjacent pairs into the L lanes (pmaddwd;
// i32x4.dot_i16x8_s in wasm), q8_float converts the lanes to a float batch, q8_splat_pair repeats
// one pair of int16 (the GEMM's x).
#if defined(__AVX512BW__)
using ivec = __m512i;
inline ivec q8_load_w(const int8_t* q) { return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q))); }
inline ivec q8_load_x(const int16_t* x) { return _mm512_loadu_si512(x); }
inline ivec q8_madd(ivec w, ivec x) { return _mm512_madd_epi16(w, x); }
inline ivec q8_add(ivec a, ivec b) { return _mm512_add_epi32(a, b); }
inline ivec q8_zero() { return _mm512_setzero_si512(); }
inline ivec q8_splat_pair(const int16_t* x) {  // x[0], x[1] in every pair of lanes (wasm: v128.load32_splat)
    int32_t pair;
    std::memcpy(&pair, x, sizeof pair);
    return _mm512_set1_epi32(pair);
}
inline batch q8_float(ivec a) { return batch(_mm512_cvtepi32_ps(a)); }
#define GPT_Q8_INT 1
#elif defined(__AVX2__) && !defined(__AVX512F__)
using ivec = __m256i;
inline ivec q8_load_w(const int8_t* q) { return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q))); }
inline ivec q8_load_x(const int16_t* x) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)); }
inline ivec q8_madd(ivec w, ivec x) { return _mm256_madd_epi16(w, x); }
inline ivec q8_add(ivec a, ivec b) { return _mm256_add_epi32(a, b); }
inline ivec q8_zero() { return _mm256_setzero_si256(); }
inline ivec q8_splat_pair(const int16_t* x) {  // x[0], x[1] in every pair of lanes (wasm: v128.load32_splat)
    int32_t pair;
    std::memcpy(&pair, x, sizeof pair);
    return _mm256_set1_epi32(pair);
}
inline batch q8_float(ivec a) { return batch(_mm256_cvtepi32_ps(a)); }
#define GPT_Q8_INT 1
#elif defined(__SSE4_1__) && !defined(__AVX__)
using ivec = __m128i;
inline ivec q8_load_w(const int8_t* q) { return _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q))); }
inline ivec q8_load_x(const int16_t* x) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(x)); }
inline ivec q8_madd(ivec w, ivec x) { return _mm_madd_epi16(w, x); }
inline ivec q8_add(ivec a, ivec b) { return _mm_add_epi32(a, b); }
inline ivec q8_zero() { return _mm_setzero_si128(); }
inline ivec q8_splat_pair(const int16_t* x) {  // x[0], x[1] in every pair of lanes (wasm: v128.load32_splat)
    int32_t pair;
    std::memcpy(&pair, x, sizeof pair);
    return _mm_set1_epi32(pair);
}
inline batch q8_float(ivec a) { return batch(_mm_cvtepi32_ps(a)); }
#define GPT_Q8_INT 1
#endif

#ifdef GPT_Q8_INT
static_assert(sizeof(ivec) == sizeof(batch), "one int32 lane per float lane");
constexpr int kQ8Step = 2 * L;  // weights per q8_madd
static_assert(kQ8Group % kQ8Step == 0, "a group is whole steps");

// x is quantized a chunk at a time into a stack buffer (kernels do not allocate): 2 KiB of int16.
constexpr int kQ8Chunk = 1024;
static_assert(kQ8Chunk % kQ8Group == 0, "a chunk is whole groups");

// out(R) (+)= R rows of a Q8 W(., K), from column k0 on, times the quantized chunk xq(kc), xs: the
// rows' group sums in int32 lanes, scaled once per group into float lanes. w and scales point at the
// first row's chunk (rows K and G apart); xq is zero up to the next whole group past kc.
template <int R>
inline void matvec_q8_rows(float* out, const int8_t* w, const float* scales, const int16_t* xq, const float* xs, int kc,
                           int K, int G, bool first) {
    batch acc[R];
    for (int r = 0; r < R; r++) acc[r] = batch(0.0f);
    for (int g = 0, k0 = 0; k0 < kc; g++, k0 += kQ8Group) {
        const int n = std::min(kQ8Group, kc - k0), whole = n - n % kQ8Step;
        ivec is[R];
        for (int r = 0; r < R; r++) is[r] = q8_zero();
        for (int k = k0; k < k0 + whole; k += kQ8Step) {
            const ivec xv = q8_load_x(xq + k);
            for (int r = 0; r < R; r++) is[r] = q8_add(is[r], q8_madd(q8_load_w(w + static_cast<long>(r) * K + k), xv));
        }
        if (whole < n) {  // the end of a row that is not whole steps: its bytes, zero-padded
            const ivec xv = q8_load_x(xq + k0 + whole);
            for (int r = 0; r < R; r++) {
                alignas(64) int8_t t[kQ8Step] = {};
                std::memcpy(t, w + static_cast<long>(r) * K + k0 + whole, n - whole);
                is[r] = q8_add(is[r], q8_madd(q8_load_w(t), xv));
            }
        }
        for (int r = 0; r < R; r++) acc[r] = xsimd::fma(q8_float(is[r]), batch(scales[static_cast<long>(r) * G + g] * xs[g]), acc[r]);
    }
    float sums[R];
    reduce_rows(sums, acc);
    for (int r = 0; r < R; r++) out[r] = first ? sums[r] : out[r] + sums[r];
}

// Rows per block: R int32 and R float accumulators, one x vector and one weight vector in registers.
// Measured (gpt_bench weights, GPT-2 small's shapes): natively with AVX-512, 4 rows are 2-2.4x
// float32 where 8 are 1.1-1.6x and 12 slower than float32 (the weight and scale streams of more
// rows at once defeat the prefetchers: lm_head read at 4.5 GB/s); in wasm 6 beat 4 and 3.
constexpr int kQ8Rows = L >= 16 ? 4 : 6;

void matvec_q8(float* out, const int8_t* w, const float* scales, const float* x, const float* bias, int M, int K) {
    const int G = q8_groups(K);
    alignas(64) int16_t xq[kQ8Chunk];
    float xs[kQ8Chunk / kQ8Group];
    if (K == 0) std::fill(out, out + M, 0.0f);
    for (int k0 = 0; k0 < K; k0 += kQ8Chunk) {
        const int kc = std::min(kQ8Chunk, K - k0);
        quantize_x16(xq, xs, x + k0, kc);
        std::fill(xq + kc, xq + q8_groups(kc) * kQ8Group, int16_t{0});
        const int8_t* wc = w + k0;
        const float* sc = scales + k0 / kQ8Group;
        int m = 0;
        for (; m + kQ8Rows <= M; m += kQ8Rows)
            matvec_q8_rows<kQ8Rows>(out + m, wc + static_cast<long>(m) * K, sc + static_cast<long>(m) * G, xq, xs, kc, K, G, k0 == 0);
        for (; m < M; m++) matvec_q8_rows<1>(out + m, wc + static_cast<long>(m) * K, sc + static_cast<long>(m) * G, xq, xs, kc, K, G, k0 == 0);
    }
    if (bias)
        for (int m = 0; m < M; m++) out[m] += bias[m];
}
#else
// Any other target: the scalar twin's integer products.
void matvec_q8(float* out, const int8_t* w, const float* scales, const float* x, const float* bias, int M, int K) {
    scalar::matvec_w(out, {WFormat::Q8, w, scales}, x, bias, M, K);
}
#endif

constexpr int kF16Rows = 8;  // as the float matvec

void matvec_f16(float* out, const uint16_t* w, const float* x, const float* bias, int M, int K) {
#ifdef GPT_F16_SCALED
    // x * 2^112 on the stack (kernels do not allocate), when it is exact and finite: |x| < 2^15.
    constexpr int kMaxScaledK = 8192;  // 32 KiB; GPT-2 XL's widest K is 6400
    alignas(64) float xs[kMaxScaledK];
    bool scaled = K <= kMaxScaledK;
    for (int k = 0; scaled && k < K; k++) {
        scaled = std::fabs(x[k]) < 0x1p15f;  // false for NaN too
        xs[k] = x[k] * 0x1p112f;
    }
    if (scaled) {
        int m = 0;
        for (; m + kF16Rows <= M; m += kF16Rows)
            matvec_f16_rows<kF16Rows, true>(out + m, w + static_cast<long>(m) * K, x, bias ? bias + m : nullptr, K, xs);
        for (; m < M; m++) matvec_f16_rows<1, true>(out + m, w + static_cast<long>(m) * K, x, bias ? bias + m : nullptr, K, xs);
        return;
    }
#endif
    int m = 0;
    for (; m + kF16Rows <= M; m += kF16Rows)
        matvec_f16_rows<kF16Rows>(out + m, w + static_cast<long>(m) * K, x, bias ? bias + m : nullptr, K);
    for (; m < M; m++) matvec_f16_rows<1>(out + m, w + static_cast<long>(m) * K, x, bias ? bias + m : nullptr, K);
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

// out(N, M) = x(N, K) · W(M, K)ᵀ + bias for a Q8 W, x quantized per row as matvec_q8 does.
void matmul_q8(float* out, const float* x, const int8_t* w, const float* scales, const float* bias, int N, int M, int K) {
    constexpr int NR = 2 * L, XG = kKC / kQ8Group;
    if (K == 0) {
        for (int n = 0; n < N; n++)
            for (int m = 0; m < M; m++) out[static_cast<long>(n) * M + m] = bias ? bias[m] : 0.0f;
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
                                 out + static_cast<long>(n0 + i0) * M + m0, M, xb.xq + i0 * kKC, xb.xs + i0 * XG, panel,
                                 kc, nr, k0 > 0, bias ? bias + m0 : nullptr);
                }
            }
        }
    }
}
#else
void matmul_q8(float* out, const float* x, const int8_t* w, const float* scales, const float* bias, int N, int M, int K) {
    scalar::matmul_w(out, x, {WFormat::Q8, w, scales}, bias, N, M, K);
}
#endif

}  // namespace

void matmul(float* out, const float* x, const float* w, const float* bias, int N, int M, int K) {
    // A few rows (decoding, a short prompt): the dot-product kernel reads W once per row anyway.
    if (N < 4) {
        for (int n = 0; n < N; n++) matvec(out + static_cast<long>(n) * M, w, x + static_cast<long>(n) * K, bias, M, K);
        return;
    }
    gemm<true>(out, M, x, K, w, K, bias, 1.0f, N, M, K);
}

// ---- Compact weights (issue 14): F16 and Q8 widened to float32 in registers ----

void matvec_w(float* out, WeightView w, const float* x, const float* bias, int M, int K) {
    switch (w.format) {
        case WFormat::F32: return matvec(out, w.as_f32(), x, bias, M, K);
        case WFormat::F16: return matvec_f16(out, static_cast<const uint16_t*>(w.data), x, bias, M, K);
        case WFormat::Q8: return matvec_q8(out, static_cast<const int8_t*>(w.data), w.scales, x, bias, M, K);
    }
}

void matmul_w(float* out, const float* x, WeightView w, const float* bias, int N, int M, int K) {
    if (w.format == WFormat::F32) return matmul(out, x, w.as_f32(), bias, N, M, K);
    // Few rows: every row reads all of W anyway, and the matvec reads it in its compact form.
    if (N < 4) {
        for (int n = 0; n < N; n++) simd::matvec_w(out + static_cast<long>(n) * M, w, x + static_cast<long>(n) * K, bias, M, K);
        return;
    }
    if (w.format == WFormat::Q8) return matmul_q8(out, x, static_cast<const int8_t*>(w.data), w.scales, bias, N, M, K);
    // The GEMM widens while it packs: each (m0, k0) panel is widened once and used for all N rows.
    gemm_packed<false>(out, M, x, K, PackCompact{w, K}, bias, 1.0f, N, M, K);
}

void widen_row(float* out, WeightView w, int row, int K) {
    if (w.format == WFormat::F32) {
        const float* r = w.as_f32() + static_cast<long>(row) * K;
        return void(std::copy(r, r + K, out));
    }
    widen_range(out, w, row, K, 0, K);
}

void gemm_nt(float* out, int ldo, const float* x, int ldx, const float* w, int ldw, float alpha, int N, int M, int K) {
    gemm<true>(out, ldo, x, ldx, w, ldw, nullptr, alpha, N, M, K);
}

void gemm_nn(float* out, int ldo, const float* x, int ldx, const float* v, int ldv, int N, int M, int K) {
    gemm<false>(out, ldo, x, ldx, v, ldv, nullptr, 1.0f, N, M, K);
}

void layernorm(float* out, const float* x, const float* w, const float* b, int C) {
    if (C <= 0) return;
    const int Cv = C - C % L;
    float mean, rstd;
    mean_rstd(x, C, &mean, &rstd);
    const batch mv(mean), rv(rstd);
    for (int i = 0; i < Cv; i += L) {
        xsimd::fma((load(x + i) - mv) * rv, load(w + i), load(b + i)).store_unaligned(out + i);
    }
    for (int i = Cv; i < C; i++) out[i] = (x[i] - mean) * rstd * w[i] + b[i];
}

void masked_softmax(float* x, int n, int n_valid) {
    if (n_valid > 0) {
        const int nv = n_valid - n_valid % L;
        float mx = x[0];
        if (nv > 0) {
            batch m = load(x);
            for (int i = L; i < nv; i += L) m = xsimd::max(m, load(x + i));
            alignas(64) float lanes[L];
            m.store_aligned(lanes);
            for (int j = 0; j < L; j++) mx = std::max(mx, lanes[j]);
        }
        for (int i = nv; i < n_valid; i++) mx = std::max(mx, x[i]);
        const batch mv(mx);
        batch acc(0.0f);
        for (int i = 0; i < nv; i += L) {
            const batch e = xsimd::exp(load(x + i) - mv);
            e.store_unaligned(x + i);
            acc += e;
        }
        float sum = xsimd::hadd(acc);
        for (int i = nv; i < n_valid; i++) {
            x[i] = std::exp(x[i] - mx);
            sum += x[i];
        }
        const float inv = 1.0f / sum;
        const batch iv(inv);
        for (int i = 0; i < nv; i += L) (load(x + i) * iv).store_unaligned(x + i);
        for (int i = nv; i < n_valid; i++) x[i] *= inv;
    }
    std::fill(x + std::max(n_valid, 0), x + std::max(n, 0), 0.0f);
}

void gelu(float* out, const float* x, int n) {
    const float kf = 0.7978845608028654f;  // sqrt(2 / pi)
    const batch k(kf), c(0.044715f), half(0.5f), one(1.0f);
    const int nv = n - n % L;
    for (int i = 0; i < nv; i += L) {
        const batch v = load(x + i);
        const batch inner = k * xsimd::fma(c * v, v * v, v);
        (half * v * (one + xsimd::tanh(inner))).store_unaligned(out + i);
    }
    for (int i = nv; i < n; i++) {
        const float v = x[i];
        out[i] = 0.5f * v * (1.0f + std::tanh(kf * (v + 0.044715f * v * v * v)));
    }
}

void gelu_exact(float* out, const float* x, int n) {
    const batch half(0.5f), one(1.0f), r2(0.70710678118654752f);
    const int nv = n - n % L;
    for (int i = 0; i < nv; i += L) {
        const batch v = load(x + i);
        (half * v * (one + xsimd::erf(v * r2))).store_unaligned(out + i);
    }
    for (int i = nv; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void add(float* out, const float* a, const float* b, int n) {
    const int nv = n - n % L;
    for (int i = 0; i < nv; i += L) (load(a + i) + load(b + i)).store_unaligned(out + i);
    for (int i = nv; i < n; i++) out[i] = a[i] + b[i];
}

void axpy(float* y, float a, const float* x, int n) {
    const batch av(a);
    const int nv = n - n % L;
    for (int i = 0; i < nv; i += L) xsimd::fma(av, load(x + i), load(y + i)).store_unaligned(y + i);
    for (int i = nv; i < n; i++) y[i] += a * x[i];
}

// ---- training ----

void gemm(float* out, int ldo, const float* a, int lda, bool trans_a, const float* b, int ldb, bool trans_b, float alpha,
          bool accumulate, int N, int M, int K) {
    if (trans_a) {
        if (trans_b) gemm<true, true>(out, ldo, a, lda, b, ldb, nullptr, alpha, N, M, K, accumulate);
        else gemm<false, true>(out, ldo, a, lda, b, ldb, nullptr, alpha, N, M, K, accumulate);
    } else {
        if (trans_b) gemm<true, false>(out, ldo, a, lda, b, ldb, nullptr, alpha, N, M, K, accumulate);
        else gemm<false, false>(out, ldo, a, lda, b, ldb, nullptr, alpha, N, M, K, accumulate);
    }
}

void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w, int N, int M,
                     int K) {
    if (dx) gemm<false>(dx, K, dout, M, w, K, nullptr, 1.0f, N, K, M);              // dx(N, K) = dout(N, M) · W(M, K)
    gemm<false, true>(dw, K, dout, M, x, K, nullptr, 1.0f, M, K, N, true);         // dW(M, K) += doutᵀ · x(N, K)
    if (dbias)
        for (int n = 0; n < N; n++) add(dbias, dbias, dout + static_cast<long>(n) * M, M);
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w, int C) {
    if (C <= 0) return;
    const int Cv = C - C % L;
    float mean, rstd;
    mean_rstd(x, C, &mean, &rstd);
    const batch mv(mean), rv(rstd);
    // With xhat = (x - mean) rstd and g = dout w: dx = rstd (g - mean(g) - xhat mean(g xhat)).
    batch ag(0.0f), agx(0.0f);
    for (int i = 0; i < Cv; i += L) {
        const batch g = load(dout + i) * load(w + i);
        ag += g;
        agx = xsimd::fma(g, (load(x + i) - mv) * rv, agx);
    }
    float g_mean = xsimd::hadd(ag), gx_mean = xsimd::hadd(agx);
    for (int i = Cv; i < C; i++) {
        const float g = dout[i] * w[i];
        g_mean += g;
        gx_mean += g * (x[i] - mean) * rstd;
    }
    g_mean /= C;
    gx_mean /= C;
    const batch gm(g_mean), gxm(gx_mean);
    for (int i = 0; i < Cv; i += L) {
        const batch xhat = (load(x + i) - mv) * rv, d = load(dout + i);
        xsimd::fma(d, xhat, load(dw + i)).store_unaligned(dw + i);
        (load(db + i) + d).store_unaligned(db + i);
        xsimd::fma(rv, d * load(w + i) - gm - xhat * gxm, load(dx + i)).store_unaligned(dx + i);
    }
    for (int i = Cv; i < C; i++) {
        const float xhat = (x[i] - mean) * rstd;
        dw[i] += dout[i] * xhat;
        db[i] += dout[i];
        dx[i] += rstd * (dout[i] * w[i] - g_mean - xhat * gx_mean);
    }
}

void masked_softmax_backward(float* dx, const float* y, const float* dy, int n, int n_valid) {
    const float s = n_valid > 0 ? dot(y, dy, n_valid) : 0.0f;
    const batch sv(s);
    const int nv = n_valid > 0 ? n_valid - n_valid % L : 0;
    for (int i = 0; i < nv; i += L) (load(y + i) * (load(dy + i) - sv)).store_unaligned(dx + i);
    for (int i = nv; i < n_valid; i++) dx[i] = y[i] * (dy[i] - s);
    std::fill(dx + std::max(n_valid, 0), dx + std::max(n, 0), 0.0f);
}

void gelu_backward(float* dx, const float* x, const float* dout, int n) {
    const float kf = 0.7978845608028654f, cf = 0.044715f;  // sqrt(2 / pi)
    const batch k(kf), c(cf), c3(3.0f * cf), half(0.5f), one(1.0f);
    const int nv = n - n % L;
    for (int i = 0; i < nv; i += L) {
        const batch v = load(x + i);
        const batch t = xsimd::tanh(k * xsimd::fma(c * v, v * v, v));
        const batch d = half * (one + t) + half * v * (one - t * t) * k * xsimd::fma(c3, v * v, one);
        (load(dout + i) * d).store_unaligned(dx + i);
    }
    for (int i = nv; i < n; i++) {
        const float v = x[i];
        const float t = std::tanh(kf * (v + cf * v * v * v));
        dx[i] = dout[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * kf * (1.0f + 3.0f * cf * v * v));
    }
}

void gelu_exact_backward(float* dx, const float* x, const float* dout, int n) {
    // d/dx x Phi(x) = Phi(x) + x phi(x)
    const batch half(0.5f), one(1.0f), r2(0.70710678118654752f), ip(0.3989422804014327f), mh(-0.5f);
    const int nv = n - n % L;
    for (int i = 0; i < nv; i += L) {
        const batch v = load(x + i);
        const batch d = half * (one + xsimd::erf(v * r2)) + v * ip * xsimd::exp(mh * v * v);
        (load(dout + i) * d).store_unaligned(dx + i);
    }
    for (int i = nv; i < n; i++) {
        const float v = x[i];
        dx[i] = dout[i] * (0.5f * (1.0f + std::erf(v * 0.70710678118654752f)) +
                           v * 0.3989422804014327f * std::exp(-0.5f * v * v));
    }
}

void adamw(float* p, float* m, float* v, const float* g, float lr, float beta1, float beta2, float eps,
           float weight_decay, int step, int n) {
    const float decay = static_cast<float>(1.0 - static_cast<double>(lr) * weight_decay);
    const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), step), bc2 = 1.0 - std::pow(static_cast<double>(beta2), step);
    const float step_size = static_cast<float>(lr / bc1), bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    const batch dv(decay), b1(beta1), b2(beta2), c1(1.0f - beta1), c2(1.0f - beta2), ss(step_size), bs(bc2_sqrt), ev(eps);
    const int nv = n - n % L;
    // Products and sums as separate roundings (no fma), in PyTorch's order: the same figures as the
    // scalar twin.
    for (int i = 0; i < nv; i += L) {
        const batch gi = load(g + i);
        const batch mi = load(m + i) * b1 + gi * c1;
        const batch vi = load(v + i) * b2 + c2 * gi * gi;
        const batch pi = load(p + i) * dv - ss * (mi / (xsimd::sqrt(vi) / bs + ev));
        mi.store_unaligned(m + i);
        vi.store_unaligned(v + i);
        pi.store_unaligned(p + i);
    }
    for (int i = nv; i < n; i++) {
        p[i] *= decay;
        m[i] = m[i] * beta1 + g[i] * (1.0f - beta1);
        v[i] = v[i] * beta2 + (1.0f - beta2) * g[i] * g[i];
        p[i] -= step_size * (m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps));
    }
}

void scale(float* x, float a, int n) {
    const batch av(a);
    const int nv = n - n % L;
    for (int i = 0; i < nv; i += L) (load(x + i) * av).store_unaligned(x + i);
    for (int i = nv; i < n; i++) x[i] *= a;
}

float sum(const float* x, long n) {
    batch a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    long i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
        a0 += load(x + i);
        a1 += load(x + i + L);
        a2 += load(x + i + 2 * L);
        a3 += load(x + i + 3 * L);
    }
    float s = xsimd::hadd((a0 + a1) + (a2 + a3));
    for (; i < n; i++) s += x[i];
    return s;
}

namespace {
constexpr int kPeakChains = 12;  // FMA latency x throughput on current x86 cores, with margin
}

float fma_peak(long iters) {
    batch acc[kPeakChains];
    for (int j = 0; j < kPeakChains; j++) acc[j] = batch(0.1f * j);
    const batch m(0.9999999f), a(1e-7f);
    for (long i = 0; i < iters; i++) {
        for (int j = 0; j < kPeakChains; j++) acc[j] = xsimd::fma(acc[j], m, a);
    }
    batch s(0.0f);
    for (const auto& v : acc) s += v;
    return xsimd::hadd(s);
}

long fma_peak_flops() { return 2L * kPeakChains * L; }

}  // namespace simd
}  // namespace ops
}  // namespace gpt
