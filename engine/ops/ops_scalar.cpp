// Scalar twins of the kernels (forward, backward, optimizer): plain loops, the reference every SIMD kernel is tested against and
// what the engine runs when built with GPT_SIMD=OFF.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "ops.h"

namespace gpt {
namespace ops {

namespace scalar {

void quantize_x16(int16_t* xq, float* xs, const float* x, int n) {
    for (int g0 = 0; g0 < n; g0 += kQ8Group) {
        const int g1 = std::min(g0 + kQ8Group, n);
        float amax = 0.0f;
        bool finite = true;
        for (int k = g0; k < g1; k++) {
            finite = finite && std::isfinite(x[k]);
            amax = std::max(amax, std::fabs(x[k]));
        }
        float& scale = xs[g0 / kQ8Group];
        if (!finite) {
            scale = std::numeric_limits<float>::quiet_NaN();
            std::fill(xq + g0, xq + g1, int16_t{0});
            continue;
        }
        int E = 0;
        std::frexp(amax, &E);  // amax in [2^(E-1), 2^E) (E = 0 for 0)
        const int e = std::max(E - 14, -126);
        scale = std::ldexp(1.0f, e);
        const float inv = std::ldexp(1.0f, -e);
        for (int k = g0; k < g1; k++) xq[k] = static_cast<int16_t>(std::nearbyint(x[k] * inv));
    }
}

float dot(const float* a, const float* b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void matvec(float* out, const float* w, const float* x, const float* bias, int M, int K) {
    for (int m = 0; m < M; m++) {
        out[m] = dot(w + static_cast<long>(m) * K, x, K) + (bias ? bias[m] : 0.0f);
    }
}

void matmul(float* out, const float* x, const float* w, const float* bias, int N, int M, int K) {
    for (int n = 0; n < N; n++) {
        matvec(out + static_cast<long>(n) * M, w, x + static_cast<long>(n) * K, bias, M, K);
    }
}

namespace {
// IEEE half -> float for finite values (normal, subnormal, zero): exact.
float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const int exp = (h >> 10) & 0x1F;
    const int mant = h & 0x3FF;
    const float mag = exp == 0 ? std::ldexp(static_cast<float>(mant), -24)                  // subnormal
                               : std::ldexp(static_cast<float>(mant | 0x400), exp - 25);  // normal
    return sign ? -mag : mag;
}

// W(m, k) of any format.
inline float weight_at(WeightView w, int m, int k, int K) {
    const long i = static_cast<long>(m) * K + k;
    switch (w.format) {
        case WFormat::F16: return half_to_float(static_cast<const uint16_t*>(w.data)[i]);
        case WFormat::Q8:
            return static_cast<float>(static_cast<const int8_t*>(w.data)[i]) *
                   w.scales[static_cast<long>(m) * q8_groups(K) + k / kQ8Group];
        case WFormat::F32: break;
    }
    return static_cast<const float*>(w.data)[i];
}
}  // namespace

void widen_row(float* out, WeightView w, int row, int K) {
    for (int k = 0; k < K; k++) out[k] = weight_at(w, row, k, K);
}

namespace {
// out(M) += group g's products of a Q8 W(M, K) with xq(n), x quantized over that group (scale xs):
// summed exactly, then scaled once (ops.h).
void q8_group(float* out, const int8_t* q, const float* scales, const int16_t* xq, float xs, int g, int M, int K) {
    const int G = q8_groups(K), k0 = g * kQ8Group, n = std::min(kQ8Group, K - k0);
    for (int m = 0; m < M; m++) {
        int32_t isum = 0;
        for (int k = 0; k < n; k++) isum += int32_t{q[static_cast<long>(m) * K + k0 + k]} * xq[k];
        out[m] += static_cast<float>(isum) * (scales[static_cast<long>(m) * G + g] * xs);
    }
}

// Q8 (ops.h): x quantized group by group as the products go.
void matvec_q8(float* out, const int8_t* q, const float* scales, const float* x, const float* bias, int M, int K) {
    std::fill(out, out + M, 0.0f);
    for (int g = 0; g < q8_groups(K); g++) {
        const int k0 = g * kQ8Group;
        int16_t xq[kQ8Group];
        float xs;
        quantize_x16(xq, &xs, x + k0, std::min(kQ8Group, K - k0));
        q8_group(out, q, scales, xq, xs, g, M, K);
    }
    if (bias)
        for (int m = 0; m < M; m++) out[m] += bias[m];
}
}  // namespace

void matvec_q8_quantized(float* out, WeightView w, const int16_t* xq, const float* xs, const float* bias, int M, int K) {
    std::fill(out, out + M, 0.0f);
    for (int g = 0; g < q8_groups(K); g++)
        q8_group(out, static_cast<const int8_t*>(w.data), w.scales, xq + g * kQ8Group, xs[g], g, M, K);
    if (bias)
        for (int m = 0; m < M; m++) out[m] += bias[m];
}

void matvec_w(float* out, WeightView w, const float* x, const float* bias, int M, int K) {
    if (w.format == WFormat::Q8) return matvec_q8(out, static_cast<const int8_t*>(w.data), w.scales, x, bias, M, K);
    for (int m = 0; m < M; m++) {
        float s = 0.0f;
        for (int k = 0; k < K; k++) s += weight_at(w, m, k, K) * x[k];
        out[m] = s + (bias ? bias[m] : 0.0f);
    }
}

void matmul_w(float* out, int ldo, const float* x, WeightView w, const float* bias, int N, int M, int K) {
    for (int n = 0; n < N; n++) scalar::matvec_w(out + static_cast<long>(n) * ldo, w, x + static_cast<long>(n) * K, bias, M, K);
}

void gemm_nt(float* out, int ldo, const float* x, int ldx, const float* w, int ldw, float alpha, int N, int M, int K) {
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            out[static_cast<long>(n) * ldo + m] = alpha * dot(x + static_cast<long>(n) * ldx, w + static_cast<long>(m) * ldw, K);
        }
}

void gemm_nn(float* out, int ldo, const float* x, int ldx, const float* v, int ldv, int N, int M, int K) {
    for (int n = 0; n < N; n++) {
        float* o = out + static_cast<long>(n) * ldo;
        for (int m = 0; m < M; m++) o[m] = 0.0f;
        for (int k = 0; k < K; k++) axpy(o, x[static_cast<long>(n) * ldx + k], v + static_cast<long>(k) * ldv, M);
    }
}

void gemv_nt(float* out, const float* x, const float* w, int ldw, float alpha, int M, int K) {
    for (int m = 0; m < M; m++) out[m] = dot(x, w + static_cast<long>(m) * ldw, K) * alpha;
}

void gemv_nn(float* out, const float* x, const float* v, int ldv, int M, int K) {
    for (int m = 0; m < M; m++) out[m] = 0.0f;
    for (int k = 0; k < K; k++) axpy(out, x[k], v + static_cast<long>(k) * ldv, M);
}

void layernorm(float* out, const float* x, const float* w, const float* b, int C) {
    if (C <= 0) return;
    float mean = 0.0f;
    for (int i = 0; i < C; i++) mean += x[i];
    mean /= C;
    float var = 0.0f;  // two passes: no cancellation from E[x²] - E[x]²
    for (int i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= C;
    const float rstd = 1.0f / std::sqrt(var + 1e-5f);
    for (int i = 0; i < C; i++) out[i] = (x[i] - mean) * rstd * w[i] + b[i];
}

void masked_softmax(float* x, int n, int n_valid) {
    if (n_valid > 0) {
        float mx = x[0];
        for (int i = 1; i < n_valid; i++) mx = x[i] > mx ? x[i] : mx;
        float sum = 0.0f;
        for (int i = 0; i < n_valid; i++) {
            x[i] = std::exp(x[i] - mx);
            sum += x[i];
        }
        const float inv = 1.0f / sum;
        for (int i = 0; i < n_valid; i++) x[i] *= inv;
    }
    for (int i = n_valid < 0 ? 0 : n_valid; i < n; i++) x[i] = 0.0f;
}

void gelu(float* out, const float* x, int n) {
    const float k = 0.7978845608028654f;  // sqrt(2 / pi)
    for (int i = 0; i < n; i++) {
        const float v = x[i];
        out[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
    }
}

void gelu_exact(float* out, const float* x, int n) {
    for (int i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void add(float* out, const float* a, const float* b, int n) {
    for (int i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void axpy(float* y, float a, const float* x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

// ---- training ----

void gemm(float* out, int ldo, const float* a, int lda, bool trans_a, const float* b, int ldb, bool trans_b, float alpha,
          bool accumulate, int N, int M, int K) {
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) {
                const float av = trans_a ? a[static_cast<long>(k) * lda + n] : a[static_cast<long>(n) * lda + k];
                const float bv = trans_b ? b[static_cast<long>(m) * ldb + k] : b[static_cast<long>(k) * ldb + m];
                s += av * bv;
            }
            float& o = out[static_cast<long>(n) * ldo + m];
            o = alpha * s + (accumulate ? o : 0.0f);
        }
}

void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w, int N, int M,
                     int K) {
    if (dx) gemm(dx, K, dout, M, false, w, K, false, 1.0f, false, N, K, M);
    gemm(dw, K, dout, M, true, x, K, false, 1.0f, true, M, K, N);
    if (dbias)
        for (int n = 0; n < N; n++) axpy(dbias, 1.0f, dout + static_cast<long>(n) * M, M);
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w, int C) {
    if (C <= 0) return;
    float mean = 0.0f;
    for (int i = 0; i < C; i++) mean += x[i];
    mean /= C;
    float var = 0.0f;
    for (int i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= C;
    const float rstd = 1.0f / std::sqrt(var + 1e-5f);
    // With xhat = (x - mean) rstd and g = dout w: dx = rstd (g - mean(g) - xhat mean(g xhat)).
    float g_mean = 0.0f, gx_mean = 0.0f;
    for (int i = 0; i < C; i++) {
        const float g = dout[i] * w[i];
        g_mean += g;
        gx_mean += g * (x[i] - mean) * rstd;
    }
    g_mean /= C;
    gx_mean /= C;
    for (int i = 0; i < C; i++) {
        const float xhat = (x[i] - mean) * rstd;
        dw[i] += dout[i] * xhat;
        db[i] += dout[i];
        dx[i] += rstd * (dout[i] * w[i] - g_mean - xhat * gx_mean);
    }
}

void masked_softmax_backward(float* dx, const float* y, const float* dy, int n, int n_valid) {
    float s = 0.0f;
    for (int i = 0; i < n_valid; i++) s += y[i] * dy[i];
    for (int i = 0; i < n_valid; i++) dx[i] = y[i] * (dy[i] - s);
    for (int i = n_valid < 0 ? 0 : n_valid; i < n; i++) dx[i] = 0.0f;
}

void gelu_backward(float* dx, const float* x, const float* dout, int n) {
    const float k = 0.7978845608028654f;  // sqrt(2 / pi)
    for (int i = 0; i < n; i++) {
        const float v = x[i];
        const float t = std::tanh(k * (v + 0.044715f * v * v * v));
        dx[i] = dout[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * k * (1.0f + 3.0f * 0.044715f * v * v));
    }
}

void gelu_exact_backward(float* dx, const float* x, const float* dout, int n) {
    // d/dx x Phi(x) = Phi(x) + x phi(x)
    for (int i = 0; i < n; i++) {
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
    for (int i = 0; i < n; i++) {
        p[i] *= decay;
        m[i] = m[i] * beta1 + g[i] * (1.0f - beta1);
        v[i] = v[i] * beta2 + (1.0f - beta2) * g[i] * g[i];
        p[i] -= step_size * (m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps));
    }
}

void scale(float* x, float a, int n) {
    for (int i = 0; i < n; i++) x[i] *= a;
}

float sum(const float* x, long n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // independent chains, as a compiler without -ffast-math won't
    long i = 0;
    for (; i + 4 <= n; i += 4) s0 += x[i], s1 += x[i + 1], s2 += x[i + 2], s3 += x[i + 3];
    for (; i < n; i++) s0 += x[i];
    return (s0 + s1) + (s2 + s3);
}

namespace {
constexpr int kPeakChains = 8;  // enough independent multiply-adds to cover their latency
}

float fma_peak(long iters) {
    float acc[kPeakChains];
    for (int j = 0; j < kPeakChains; j++) acc[j] = 0.1f * j;
    const float m = 0.9999999f, a = 1e-7f;
    for (long i = 0; i < iters; i++) {
        for (int j = 0; j < kPeakChains; j++) acc[j] = acc[j] * m + a;
    }
    float s = 0;
    for (float v : acc) s += v;
    return s;
}

long fma_peak_flops() { return 2 * kPeakChains; }

}  // namespace scalar
}  // namespace ops
}  // namespace gpt
