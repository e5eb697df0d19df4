// Scalar twins of the kernels: plain loops, the reference every SIMD kernel is tested against and
// what the engine runs when built with GPT_SIMD=OFF.
#include <cmath>

#include "ops.h"

namespace gpt {
namespace ops {
namespace scalar {

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
