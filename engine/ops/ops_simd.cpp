// xsimd versions of the kernels. The batch width is whatever the compiler flags allow: AVX-512 or
// AVX2 natively with -march=native, SSE4.1 in the WebAssembly build (-msimd128 -msse4.1: Emscripten
// lowers the SSE intrinsics xsimd emits to wasm SIMD128).
//
// Horizontal adds are slow (emulated with shuffles in wasm), so reductions keep one accumulator per
// output and reduce a whole group of them once, after the loop over K.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "simd_kernels.h"

namespace gpt {
namespace ops {

int simd_lanes() { return L; }
const char* simd_arch_name() { return xsimd::default_arch::name(); }

namespace simd {
using namespace detail;
namespace {

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
    for_row_groups<R>(
        M,
        [&](int g, int G) {  // rows g + r * G
            const float* wr = w + static_cast<long>(g) * K;
            const long stride = static_cast<long>(G) * K;
            batch acc[R];
            for (int r = 0; r < R; r++) acc[r] = batch(0.0f);
            for (int k = 0; k < Kv; k += L) {
                const batch xv = load(x + k);
                for (int r = 0; r < R; r++) acc[r] = xsimd::fma(load(wr + r * stride + k), xv, acc[r]);
            }
            float sums[R];
            reduce_rows(sums, acc);
            for (int r = 0; r < R; r++) {
                float s = sums[r];
                for (int k = Kv; k < K; k++) s += wr[r * stride + k] * x[k];
                out[g + r * G] = s + (bias ? bias[g + r * G] : 0.0f);
            }
        },
        [&](int m) { out[m] = dot(w + static_cast<long>(m) * K, x, K) + (bias ? bias[m] : 0.0f); });
}

void matmul(float* out, const float* x, const float* w, const float* bias, int N, int M, int K) {
    // A few rows (decoding, a short prompt): the dot-product kernel reads W once per row anyway.
    if (N < 4) {
        for (int n = 0; n < N; n++) matvec(out + static_cast<long>(n) * M, w, x + static_cast<long>(n) * K, bias, M, K);
        return;
    }
    gemm<true>(out, M, x, K, w, K, bias, 1.0f, N, M, K);
}

void gemm_nt(float* out, int ldo, const float* x, int ldx, const float* w, int ldw, float alpha, int N, int M, int K) {
    gemm<true>(out, ldo, x, ldx, w, ldw, nullptr, alpha, N, M, K);
}

void gemm_nn(float* out, int ldo, const float* x, int ldx, const float* v, int ldv, int N, int M, int K) {
    gemm<false>(out, ldo, x, ldx, v, ldv, nullptr, 1.0f, N, M, K);
}

void gemv_nt(float* out, const float* x, const float* w, int ldw, float alpha, int M, int K) {
    // Four rows share each chunk of x; each row is summed exactly as dot() sums it (even and odd
    // chunks in two accumulators, then the tail), so a score is the same in any block.
    constexpr int R = 4;
    int m = 0;
    for (; m + R <= M; m += R) {
        const float* wr = w + static_cast<long>(m) * ldw;
        batch s0[R], s1[R];
        for (int r = 0; r < R; r++) s0[r] = s1[r] = batch(0.0f);
        int k = 0;
        for (; k + 2 * L <= K; k += 2 * L) {
            const batch x0 = load(x + k), x1 = load(x + k + L);
            for (int r = 0; r < R; r++) {
                s0[r] = xsimd::fma(x0, load(wr + static_cast<long>(r) * ldw + k), s0[r]);
                s1[r] = xsimd::fma(x1, load(wr + static_cast<long>(r) * ldw + k + L), s1[r]);
            }
        }
        for (; k + L <= K; k += L) {
            const batch x0 = load(x + k);
            for (int r = 0; r < R; r++) s0[r] = xsimd::fma(x0, load(wr + static_cast<long>(r) * ldw + k), s0[r]);
        }
        for (int r = 0; r < R; r++) {
            float sum = xsimd::hadd(s0[r] + s1[r]);
            for (int i = k; i < K; i++) sum += x[i] * wr[static_cast<long>(r) * ldw + i];
            out[m + r] = sum * alpha;
        }
    }
    for (; m < M; m++) out[m] = dot(x, w + static_cast<long>(m) * ldw, K) * alpha;
}

void gemv_nn(float* out, const float* x, const float* v, int ldv, int M, int K) {
    // A block of columns stays in registers down all K rows of V: one multiply-add per element of V
    // (axpy, one row at a time, also loads and stores out for every row). Each column's sum is
    // axpy's, k by k.
    constexpr int R = 8;
    int m = 0;
    for (; m + R * L <= M; m += R * L) {
        batch acc[R];
        for (int r = 0; r < R; r++) acc[r] = batch(0.0f);
        for (int k = 0; k < K; k++) {
            const batch a(x[k]);
            const float* vr = v + static_cast<long>(k) * ldv + m;
            for (int r = 0; r < R; r++) acc[r] = xsimd::fma(a, load(vr + r * L), acc[r]);
        }
        for (int r = 0; r < R; r++) acc[r].store_unaligned(out + m + r * L);
    }
    for (; m + L <= M; m += L) {
        batch acc(0.0f);
        for (int k = 0; k < K; k++) acc = xsimd::fma(batch(x[k]), load(v + static_cast<long>(k) * ldv + m), acc);
        acc.store_unaligned(out + m);
    }
    for (; m < M; m++) {
        float sum = 0.0f;
        for (int k = 0; k < K; k++) sum += x[k] * v[static_cast<long>(k) * ldv + m];
        out[m] = sum;
    }
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
    scalar::gelu_exact_backward(dx + nv, x + nv, dout + nv, n - nv);  // the tail, as the twin
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
