// The numeric kernels of the forward pass and of training. This folder is the only place SIMD lives: every kernel
// exists twice, as a plain scalar loop (ops::scalar, the reference and the "SIMD off" build) and
// as xsimd batches (ops::simd). Model code calls the unqualified ops:: names below, which pick one
// at compile time (GPT_SIMD), and never sees a SIMD type.
//
// Conventions (llm.c): outputs first, then inputs, then sizes. Matrices are row-major; a weight
// matrix W of a Linear layer is (M, K) = (out, in), as PyTorch stores it. `bias` may be null.
// No kernel allocates, and every kernel accepts any alignment and any length, 0 included.
#pragma once

#include <cstdint>

namespace gpt {
namespace ops {

// ---- Compact weights (issue 14) ----
// A weight matrix W(M, K) as the model keeps it in memory:
//   F32: float data[M * K];
//   F16: uint16_t data[M * K], IEEE half bit patterns (exactly what an F16 file holds; finite);
//   Q8:  int8_t data[M * K] with one float scale per group of kQ8Group consecutive elements of a
//        row: W(m, k) = data[m * K + k] * scales[m * q8_groups(K) + k / kQ8Group] (the last group
//        of a row is shorter when K is not a multiple of kQ8Group).
// F32 and F16: the kernels taking a WeightView widen to float32 in registers; their result is the
// float32 kernel's on the widened matrix, up to the order of the sums. No float32 copy is ever made.
// Q8: matvec_w and matmul_w multiply integers. Each row of x is quantized to int16 in the same
// groups of kQ8Group along K (quantize_x16 below), so a group's products q * xq are summed exactly
// in int32, and the group's sum is scaled once: sum_g float(isum_g) * (scale_g * xscale_g). Integer
// multiply-adds are what wasm SIMD has that is faster than float ones (i32x4.dot_i16x8_s: 8
// products and their pairwise sums in one operation, against a multiply and an add per 4 floats),
// and int16 x adds an error ~60x below what int8 weights already make (README, "Weights in memory").
enum class WFormat : unsigned char { F32, F16, Q8 };
constexpr int kQ8Group = 32;
inline int q8_groups(int K) { return (K + kQ8Group - 1) / kQ8Group; }

// x(n) -> xq(n) int16 and xs(q8_groups(n)) with x[k] ~= xq[k] * xs[k / kQ8Group]: each group's
// scale is the power of two 2^e, e = max(E - 14, -126) for the group's max |x| in [2^(E-1), 2^E),
// so |xq| <= 2^14 (no clamping, and pairs of products fit i32x4.dot_i16x8_s), xq = x * 2^-e rounded
// to nearest even (the multiply is exact, so the error is at most half a step, 2^-15 of the group's
// max |x|), and scale * xscale is exact too (a one-hot x gives W's column exactly). A group holding
// an infinity or NaN gets xs = NaN and xq = 0, so what it touches comes out NaN, as with floats.
// (A kernel with twins, below: the SIMD one gives the same bits. It is O(K) against the product's
// O(M K), but a two-thread prefill quantizes all of x in each thread's part, and the scalar loop's
// frexp/nearbyint took 285 us per 128 x 768 in wasm, ~3% of a qkv product of those rows.)
struct WeightView {
    WFormat format = WFormat::F32;
    const void* data = nullptr;
    const float* scales = nullptr;  // Q8 only: (M, q8_groups(K))
    static WeightView f32(const float* w) { return {WFormat::F32, w, nullptr}; }
    // The float32 data of an F32 view (training and tests, which only ever hold float32).
    const float* as_f32() const { return format == WFormat::F32 ? static_cast<const float*>(data) : nullptr; }
};

#define GPT_OPS_KERNELS                                                                          \
    /* sum_i a[i] * b[i] */                                                                      \
    float dot(const float* a, const float* b, int n);                                            \
    /* out(M) = W(M, K) · x(K) + bias(M) */                                                      \
    void matvec(float* out, const float* w, const float* x, const float* bias, int M, int K);   \
    /* out(N, M) = x(N, K) · W(M, K)ᵀ + bias(M): a Linear layer over N rows at once */            \
    void matmul(float* out, const float* x, const float* w, const float* bias, int N, int M,     \
                int K);                                                                          \
    /* Strided products for attention over a block of rows (rows of each matrix ld* apart): */   \
    /* out(N, M) = alpha * x(N, K) · W(M, K)ᵀ  (scores: Q · Kᵀ / sqrt(d_k)) */                    \
    void gemm_nt(float* out, int ldo, const float* x, int ldx, const float* w, int ldw, float alpha, \
                 int N, int M, int K);                                                           \
    /* out(N, M) = x(N, K) · V(K, M)  (context vectors: A · V) */                                 \
    void gemm_nn(float* out, int ldo, const float* x, int ldx, const float* v, int ldv, int N, int M, \
                 int K);                                                                         \
    /* The same for one row, a decode step's (nothing packed; each output summed in k order): */ \
    /* out(M) = alpha * W(M, K) · x(K), each out[m] = dot(x, W row m) * alpha, bit for bit */   \
    void gemv_nt(float* out, const float* x, const float* w, int ldw, float alpha, int M, int K); \
    /* out(M) = x(K) · V(K, M), each out[m] the sum of axpy(out, x[k], V row k) over k in order */ \
    void gemv_nn(float* out, const float* x, const float* v, int ldv, int M, int K);            \
    /* out(C) = (x - mean) / sqrt(var + 1e-5) * w + b, biased variance (PyTorch LayerNorm) */    \
    void layernorm(float* out, const float* x, const float* w, const float* b, int C);          \
    /* In place: x[0, n_valid) <- softmax(x[0, n_valid)); x[n_valid, n) <- 0 (the causal mask). */ \
    void masked_softmax(float* x, int n, int n_valid);                                           \
    /* out(n) = GELU(x), tanh approximation (GPT-2) */                                          \
    void gelu(float* out, const float* x, int n);                                                \
    /* out(n) = GELU(x) = x Phi(x), exact (erf), as PyTorch's nn.GELU() and nanoGPT */           \
    void gelu_exact(float* out, const float* x, int n);                                          \
    /* out(n) = a + b (the residual connection; out may alias a or b) */                         \
    void add(float* out, const float* a, const float* b, int n);                                 \
    /* y(n) += a * x(n) */                                                                        \
    void axpy(float* y, float a, const float* x, int n);                                         \
    /* x(n) -> xq(n), xs(q8_groups(n)): x quantized in groups for the Q8 products (above) */   \
    void quantize_x16(int16_t* xq, float* xs, const float* x, int n);                            \
    /* The same three with W in any WeightView format (widened in registers): */                \
    void matvec_w(float* out, WeightView w, const float* x, const float* bias, int M, int K);   \
    /* matvec_w of a Q8 W with x quantized beforehand: xq, xs from quantize_x16(xq, xs, x, K), */ \
    /* xq zero from K up to q8_groups(K) * kQ8Group. The same bits as matvec_w; the parts of a */ \
    /* split product share one quantization (parallel::matvec_w). */                            \
    void matvec_q8_quantized(float* out, WeightView w, const int16_t* xq, const float* xs, const float* bias, \
                             int M, int K);                                                      \
    /* (matmul_w's rows of out are ldo apart: a parallel split writes a block of columns) */   \
    void matmul_w(float* out, int ldo, const float* x, WeightView w, const float* bias, int N, int M, int K); \
    /* out(K) = row `row` of W(., K) as float32 (an embedding lookup) */                        \
    void widen_row(float* out, WeightView w, int row, int K);                                    \
    /* ---- training (backward passes and the optimizer; engine/train.cpp) ---- */              \
    /* out(N, M) = alpha * op(a) · op(b), added to out when accumulate. op(a) (N, K) is a itself */ \
    /* (rows lda apart) or, trans_a, a(K, N)ᵀ; op(b) (K, M) is b or, trans_b, b(M, K)ᵀ. */        \
    void gemm(float* out, int ldo, const float* a, int lda, bool trans_a, const float* b, int ldb, \
              bool trans_b, float alpha, bool accumulate, int N, int M, int K);                \
    /* The backward of matmul(out, x, w, bias, N, M, K), given dout(N, M): dx(N, K) = dout · W */ \
    /* (overwritten); dw(M, K) += doutᵀ · x; dbias(M) += the column sums of dout (dbias may */  \
    /* be null; dx may be null when the input needs no gradient). */                          \
    void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x,  \
                         const float* w, int N, int M, int K);                                 \
    /* The backward of layernorm(out, x, w, b, C) (mean and rstd recomputed from x): */        \
    /* dx(C) += , dw(C) += , db(C) += their gradients given dout(C). */                         \
    void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x,  \
                            const float* w, int C);                                             \
    /* The backward of masked_softmax, from its output y(n) and dy(n): dx = y (dy - y·dy) on */ \
    /* [0, n_valid), 0 on [n_valid, n). dx may alias dy. */                                    \
    void masked_softmax_backward(float* dx, const float* y, const float* dy, int n, int n_valid); \
    /* dx(n) = dout * GELU'(x), tanh approximation / exact; dx may alias dout. */               \
    void gelu_backward(float* dx, const float* x, const float* dout, int n);                     \
    void gelu_exact_backward(float* dx, const float* x, const float* dout, int n);               \
    /* One AdamW step of n parameters p with moments m, v and gradient g, as PyTorch's AdamW: */ \
    /* p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; */                            \
    /* p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), t = step (from 1). */      \
    void adamw(float* p, float* m, float* v, const float* g, float lr, float beta1, float beta2, \
               float eps, float weight_decay, int step, int n);                                \
    /* x(n) *= a */                                                                             \
    void scale(float* x, float a, int n);                                                       \
    /* Machine probes for the benchmarks: a streaming sum of x(n) (memory bandwidth), and */     \
    /* `iters` rounds of multiply-adds on register-resident accumulators (peak arithmetic); */   \
    /* fma_peak_flops() is the number of floating-point operations one round performs. */       \
    float sum(const float* x, long n);                                                           \
    float fma_peak(long iters);                                                                  \
    long fma_peak_flops();

namespace scalar {
GPT_OPS_KERNELS
}
namespace simd {
GPT_OPS_KERNELS
}
#undef GPT_OPS_KERNELS

// Lanes of the SIMD float batch this build targets (1 when built without SIMD): tests sweep
// lengths around it.
int simd_lanes();
// "avx512f", "sse4.1", ... or "scalar": reported by `gpt info` and the benchmarks.
const char* simd_arch_name();

#if GPT_SIMD
namespace active = simd;
#else
namespace active = scalar;
#endif

inline float dot(const float* a, const float* b, int n) { return active::dot(a, b, n); }
inline void matvec(float* out, const float* w, const float* x, const float* bias, int M, int K) {
    active::matvec(out, w, x, bias, M, K);
}
inline void matmul(float* out, const float* x, const float* w, const float* bias, int N, int M,
                   int K) {
    active::matmul(out, x, w, bias, N, M, K);
}
inline void matvec_w(float* out, WeightView w, const float* x, const float* bias, int M, int K) {
    active::matvec_w(out, w, x, bias, M, K);
}
inline void matmul_w(float* out, const float* x, WeightView w, const float* bias, int N, int M, int K) {
    active::matmul_w(out, M, x, w, bias, N, M, K);
}
inline void matmul_w(float* out, int ldo, const float* x, WeightView w, const float* bias, int N, int M, int K) {
    active::matmul_w(out, ldo, x, w, bias, N, M, K);
}
inline void matvec_q8_quantized(float* out, WeightView w, const int16_t* xq, const float* xs, const float* bias, int M,
                                int K) {
    active::matvec_q8_quantized(out, w, xq, xs, bias, M, K);
}
inline void widen_row(float* out, WeightView w, int row, int K) { active::widen_row(out, w, row, K); }
inline void quantize_x16(int16_t* xq, float* xs, const float* x, int n) { active::quantize_x16(xq, xs, x, n); }
inline void gemm_nt(float* out, int ldo, const float* x, int ldx, const float* w, int ldw, float alpha, int N, int M,
                    int K) {
    active::gemm_nt(out, ldo, x, ldx, w, ldw, alpha, N, M, K);
}
inline void gemm_nn(float* out, int ldo, const float* x, int ldx, const float* v, int ldv, int N, int M, int K) {
    active::gemm_nn(out, ldo, x, ldx, v, ldv, N, M, K);
}
inline void gemv_nt(float* out, const float* x, const float* w, int ldw, float alpha, int M, int K) {
    active::gemv_nt(out, x, w, ldw, alpha, M, K);
}
inline void gemv_nn(float* out, const float* x, const float* v, int ldv, int M, int K) {
    active::gemv_nn(out, x, v, ldv, M, K);
}
inline void layernorm(float* out, const float* x, const float* w, const float* b, int C) {
    active::layernorm(out, x, w, b, C);
}
inline void masked_softmax(float* x, int n, int n_valid) { active::masked_softmax(x, n, n_valid); }
inline void gelu(float* out, const float* x, int n) { active::gelu(out, x, n); }
inline void gelu_exact(float* out, const float* x, int n) { active::gelu_exact(out, x, n); }
inline void add(float* out, const float* a, const float* b, int n) { active::add(out, a, b, n); }
inline void axpy(float* y, float a, const float* x, int n) { active::axpy(y, a, x, n); }
inline void gemm(float* out, int ldo, const float* a, int lda, bool trans_a, const float* b, int ldb, bool trans_b,
                 float alpha, bool accumulate, int N, int M, int K) {
    active::gemm(out, ldo, a, lda, trans_a, b, ldb, trans_b, alpha, accumulate, N, M, K);
}
inline void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w, int N,
                            int M, int K) {
    active::matmul_backward(dx, dw, dbias, dout, x, w, N, M, K);
}
inline void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                               int C) {
    active::layernorm_backward(dx, dw, db, dout, x, w, C);
}
inline void masked_softmax_backward(float* dx, const float* y, const float* dy, int n, int n_valid) {
    active::masked_softmax_backward(dx, y, dy, n, n_valid);
}
inline void gelu_backward(float* dx, const float* x, const float* dout, int n) { active::gelu_backward(dx, x, dout, n); }
inline void gelu_exact_backward(float* dx, const float* x, const float* dout, int n) {
    active::gelu_exact_backward(dx, x, dout, n);
}
inline void adamw(float* p, float* m, float* v, const float* g, float lr, float beta1, float beta2, float eps,
                  float weight_decay, int step, int n) {
    active::adamw(p, m, v, g, lr, beta1, beta2, eps, weight_decay, step, n);
}
inline void scale(float* x, float a, int n) { active::scale(x, a, n); }
inline float sum(const float* x, long n) { return active::sum(x, n); }
inline float fma_peak(long iters) { return active::fma_peak(iters); }
inline long fma_peak_flops() { return active::fma_peak_flops(); }

}  // namespace ops
}  // namespace gpt
