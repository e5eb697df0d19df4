// What the SIMD kernel files (ops_simd.cpp: the float32 forward and training kernels;
// ops_simd_compact.cpp: the F16 and Q8 weight formats) share, and nothing outside engine/ops
// includes: the float batch, the row reduction and the packed float GEMM.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <utility>

#include "ops.h"

namespace gpt {
namespace ops {

using batch = xsimd::batch<float>;
constexpr int L = static_cast<int>(batch::size);

namespace simd {
namespace detail {

inline batch load(const float* p) { return batch::load_unaligned(p); }

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

// The matvecs' row order: R rows at a time, but not R consecutive ones. Group g takes the rows g,
// g + G, ..., g + (R - 1)G (G = M / R), so each of the R streams of weights it reads runs on through
// G consecutive rows, which the hardware prefetchers follow; R consecutive rows would be R streams
// one row long, each begun cold (GPT-2 small's decode in wasm, alternating runs: float32 34 -> 42-49
// tokens/s, f16 46 -> 61; README, "Weights in memory"). The rows from R * G on go one at a time.
// Each row's sum is computed the same whichever group it is in, so results do not depend on the
// order; where the one-row path sums differently (float32 and F16, 8 rows: a divisor of parallel.h's
// kRowAlign), a split over rows leaves the same rows to it as one thread does.
template <int R, class Group, class One>
inline void for_row_groups(int M, Group&& group, One&& one) {
    const int G = M / R;
    for (int g = 0; g < G; g++) group(g, G);
    for (int m = G * R; m < M; m++) one(m);
}

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
    const batch a(alpha);
    if (nr == NR) {  // a whole panel: out read and written as batches (the same sums as below)
        const batch b0 = !add_out && bias ? batch::load_unaligned(bias) : batch(0.0f),
                    b1 = !add_out && bias ? batch::load_unaligned(bias + L) : batch(0.0f);
        for (int i = 0; i < MR; i++) {
            float* o = out + static_cast<long>(i) * ldo;
            xsimd::fma(acc[i][0], a, add_out ? batch::load_unaligned(o) : b0).store_unaligned(o);
            xsimd::fma(acc[i][1], a, add_out ? batch::load_unaligned(o + L) : b1).store_unaligned(o + L);
        }
        return;
    }
    alignas(64) float base[NR] = {};  // what the product is added to: bias, or the partial sum in out
    if (!add_out && bias) std::copy(bias, bias + nr, base);
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
// the register file (32 with AVX-512, 16 with AVX2 and SSE). In wasm the register allocator is
// V8's, which with 6 rows (15 vectors live) kept some in memory: 4 rows there ran the training
// steps 1.5x faster and float32 prefill 1.4x (4 and 5 measured, against 6; 5 was as fast in some
// processes and no faster than 6 in others).
#if defined(__wasm__)
constexpr int kMR = 4;
#else
constexpr int kMR = L >= 16 ? 12 : 6;
#endif

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

}  // namespace detail
}  // namespace simd
}  // namespace ops
}  // namespace gpt
