// Every SIMD kernel against its scalar twin, for every length 0 .. 2*lanes+3 and for pointers that
// are misaligned with respect to the vector width.
//
// Tolerance: the two differ only in summation order. For a sum of n products each result is within
// gamma_n * sum|a_i b_i| of the exact value (gamma_n = n*u / (1 - n*u), Higham, Accuracy and
// Stability, 3.1), so they are within 2 * gamma_n * sum|a_i b_i| of each other. Element-wise kernels
// (add, axpy) are exact or one rounding apart; exp / tanh from xsimd are within a few ulp of libm.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "helpers.h"
#include "ops/ops.h"

using namespace gpt;

namespace {

int max_len() { return 2 * ops::simd_lanes() + 3; }

}  // namespace

TEST_CASE("dot: SIMD equals scalar for every length and alignment", "[ops]") {
    std::mt19937 rng(1);
    for (int n = 0; n <= max_len(); n++) {
        for (int shift = 0; shift < 4; shift++) {
            Shifted a(random_floats(n, rng), shift), b(random_floats(n, rng), 3 - shift);
            double mag = 0;
            for (int i = 0; i < n; i++) mag += std::fabs(a.p[i] * b.p[i]);
            INFO("n=" << n << " shift=" << shift);
            REQUIRE(std::fabs(ops::simd::dot(a.p, b.p, n) - ops::scalar::dot(a.p, b.p, n)) <= 2 * gamma_n(n) * mag + 1e-30);
        }
    }
}

TEST_CASE("matvec: SIMD equals scalar for every shape and alignment", "[ops]") {
    std::mt19937 rng(2);
    for (int M = 0; M <= max_len() + 8; M += (M < 12 ? 1 : 5)) {
        for (int K = 0; K <= max_len(); K++) {
            const int shift = (M + K) % 4;
            Shifted w(random_floats(static_cast<size_t>(M) * K, rng), shift), x(random_floats(K, rng), 3 - shift),
                bias(random_floats(M, rng), shift);
            std::vector<float> o1(M + 1, 7.0f), o2(M + 1, 7.0f);
            ops::simd::matvec(o1.data(), w.p, x.p, bias.p, M, K);
            ops::scalar::matvec(o2.data(), w.p, x.p, bias.p, M, K);
            for (int m = 0; m < M; m++) {
                double mag = std::fabs(bias.p[m]);
                for (int k = 0; k < K; k++) mag += std::fabs(w.p[m * K + k] * x.p[k]);
                INFO("M=" << M << " K=" << K << " m=" << m);
                REQUIRE(std::fabs(o1[m] - o2[m]) <= 2 * gamma_n(K + 1) * mag + 1e-30);
            }
            REQUIRE(o1[M] == 7.0f);  // nothing written past the end
        }
    }
}

TEST_CASE("matmul: SIMD equals scalar, with and without bias", "[ops]") {
    std::mt19937 rng(3);
    for (int N = 0; N <= 9; N++) {
        for (int M = 0; M <= 2 * ops::simd_lanes() + 3; M++) {
            for (int K : {0, 1, ops::simd_lanes() - 1, ops::simd_lanes(), 2 * ops::simd_lanes() + 3, 37}) {
                if (K < 0) continue;
                const int shift = (N + M + K) % 4;
                Shifted x(random_floats(static_cast<size_t>(N) * K, rng), shift),
                    w(random_floats(static_cast<size_t>(M) * K, rng), 3 - shift), bias(random_floats(M, rng), 1);
                for (const float* b : {static_cast<const float*>(bias.p), static_cast<const float*>(nullptr)}) {
                    std::vector<float> o1(static_cast<size_t>(N) * M + 1, 7.0f), o2(o1.size(), 7.0f);
                    ops::simd::matmul(o1.data(), x.p, w.p, b, N, M, K);
                    ops::scalar::matmul(o2.data(), x.p, w.p, b, N, M, K);
                    for (int n = 0; n < N; n++) {
                        for (int m = 0; m < M; m++) {
                            double mag = b ? std::fabs(b[m]) : 0.0;
                            for (int k = 0; k < K; k++) mag += std::fabs(x.p[n * K + k] * w.p[m * K + k]);
                            INFO("N=" << N << " M=" << M << " K=" << K << " n=" << n << " m=" << m);
                            REQUIRE(std::fabs(o1[n * M + m] - o2[n * M + m]) <= 2 * gamma_n(K + 1) * mag + 1e-30);
                        }
                    }
                    REQUIRE(o1.back() == 7.0f);
                }
            }
        }
    }
}

TEST_CASE("gemv_nt and gemv_nn: SIMD equals scalar, and each output is the dot / axpy sum it stands for, bit for bit", "[ops]") {
    std::mt19937 rng(14);
    const int lanes = ops::simd_lanes();
    for (int M : {0, 1, 3, 4, 5, lanes - 1, lanes, 8 * lanes - 1, 8 * lanes, 8 * lanes + lanes + 3, 64, 130}) {
        for (int K : {0, 1, 3, lanes, 2 * lanes + 1, 64, 129}) {
            const int ldw = K + 5, ldv = M + 3;
            Shifted x(random_floats(K, rng), (M + K) % 4), w(random_floats(static_cast<size_t>(M) * ldw + 1, rng), 1),
                v(random_floats(static_cast<size_t>(K) * ldv + 1, rng), 2);
            INFO("M=" << M << " K=" << K);
            std::vector<float> o1(M + 1, 7.0f), o2(M + 1, 7.0f), ref(M + 1, 7.0f);
            ops::simd::gemv_nt(o1.data(), x.p, w.p, ldw, 0.125f, M, K);
            ops::scalar::gemv_nt(o2.data(), x.p, w.p, ldw, 0.125f, M, K);
            for (int m = 0; m < M; m++) {
                double mag = 0;
                for (int k = 0; k < K; k++) mag += std::fabs(0.125 * x.p[k] * w.p[m * ldw + k]);
                REQUIRE(std::fabs(o1[m] - o2[m]) <= 2 * gamma_n(K + 1) * mag + 1e-30);
                // A decode's score is the one dot() gives, in any block of rows.
                REQUIRE(o1[m] == ops::simd::dot(x.p, w.p + m * ldw, K) * 0.125f);
            }
            REQUIRE(o1[M] == 7.0f);
            ops::simd::gemv_nn(o1.data(), x.p, v.p, ldv, M, K);
            ops::scalar::gemv_nn(o2.data(), x.p, v.p, ldv, M, K);
            std::fill(ref.begin(), ref.begin() + M, 0.0f);
            for (int k = 0; k < K; k++) ops::simd::axpy(ref.data(), x.p[k], v.p + k * ldv, M);
            for (int m = 0; m < M; m++) {
                double mag = 0;
                for (int k = 0; k < K; k++) mag += std::fabs(x.p[k] * v.p[k * ldv + m]);
                REQUIRE(std::fabs(o1[m] - o2[m]) <= 2 * gamma_n(K + 1) * mag + 1e-30);
                REQUIRE(o1[m] == ref[m]);  // the context vector the row-by-row axpy gave
            }
            REQUIRE(o1[M] == 7.0f);
        }
    }
}

TEST_CASE("gemm_nt and gemm_nn: SIMD equals scalar with strides, alpha and every shape", "[ops]") {
    std::mt19937 rng(13);
    const int lanes = ops::simd_lanes();
    for (int N : {1, 2, 5, 13}) {
        for (int M : {1, 3, 2 * lanes - 1, 2 * lanes, 2 * lanes + 3, 48}) {
            for (int K : {0, 1, 7, 48, 300}) {
                const int ldx = K + 3, ldw = K + 5, ldv = M + 2, ldo = M + 4;
                Shifted x(random_floats(static_cast<size_t>(N) * ldx, rng), (N + M) % 4),
                    w(random_floats(static_cast<size_t>(M) * ldw, rng), 1), v(random_floats(static_cast<size_t>(K) * ldv + 1, rng), 2);
                std::vector<float> o1(static_cast<size_t>(N) * ldo, 7.0f), o2(o1);
                ops::simd::gemm_nt(o1.data(), ldo, x.p, ldx, w.p, ldw, 0.5f, N, M, K);
                ops::scalar::gemm_nt(o2.data(), ldo, x.p, ldx, w.p, ldw, 0.5f, N, M, K);
                for (int n = 0; n < N; n++)
                    for (int m = 0; m < ldo; m++) {
                        double mag = 0;
                        for (int k = 0; k < K && m < M; k++) mag += std::fabs(0.5 * x.p[n * ldx + k] * w.p[m * ldw + k]);
                        INFO("nt N=" << N << " M=" << M << " K=" << K << " n=" << n << " m=" << m);
                        if (m >= M) REQUIRE(o1[n * ldo + m] == 7.0f);  // the stride's padding is untouched
                        else REQUIRE(std::fabs(o1[n * ldo + m] - o2[n * ldo + m]) <= 2 * gamma_n(K + 1) * mag + 1e-30);
                    }
                std::fill(o1.begin(), o1.end(), 7.0f);
                std::fill(o2.begin(), o2.end(), 7.0f);
                ops::simd::gemm_nn(o1.data(), ldo, x.p, ldx, v.p, ldv, N, M, K);
                ops::scalar::gemm_nn(o2.data(), ldo, x.p, ldx, v.p, ldv, N, M, K);
                for (int n = 0; n < N; n++)
                    for (int m = 0; m < ldo; m++) {
                        double mag = 0;
                        for (int k = 0; k < K && m < M; k++) mag += std::fabs(x.p[n * ldx + k] * v.p[k * ldv + m]);
                        INFO("nn N=" << N << " M=" << M << " K=" << K << " n=" << n << " m=" << m);
                        if (m >= M) REQUIRE(o1[n * ldo + m] == 7.0f);
                        else REQUIRE(std::fabs(o1[n * ldo + m] - o2[n * ldo + m]) <= 2 * gamma_n(K + 1) * mag + 1e-30);
                    }
            }
        }
    }
}

TEST_CASE("matmul of one row is matvec", "[ops]") {
    std::mt19937 rng(4);
    const int M = 37, K = 29;
    auto w = random_floats(M * K, rng), x = random_floats(K, rng), b = random_floats(M, rng);
    std::vector<float> o1(M), o2(M);
    ops::matmul(o1.data(), x.data(), w.data(), b.data(), 1, M, K);
    ops::matvec(o2.data(), w.data(), x.data(), b.data(), M, K);
    REQUIRE(o1 == o2);
}

TEST_CASE("layernorm: SIMD equals scalar and normalises", "[ops]") {
    std::mt19937 rng(5);
    for (int C = 1; C <= max_len() + 64; C++) {
        Shifted x(random_floats(C, rng, 3.0f), C % 4), w(random_floats(C, rng), 1), b(random_floats(C, rng), 2);
        std::vector<float> o1(C), o2(C);
        ops::simd::layernorm(o1.data(), x.p, w.p, b.p, C);
        ops::scalar::layernorm(o2.data(), x.p, w.p, b.p, C);
        for (int i = 0; i < C; i++) {
            INFO("C=" << C << " i=" << i);
            REQUIRE(std::fabs(o1[i] - o2[i]) <= 1e-5 * (1 + std::fabs(w.p[i]) * 3 + std::fabs(b.p[i])));
        }
        // With unit gain and zero bias the output has mean 0 and variance var/(var+eps) ~ 1.
        if (C >= 8) {
            std::vector<float> ones(C, 1.0f), zeros(C, 0.0f), o(C);
            ops::layernorm(o.data(), x.p, ones.data(), zeros.data(), C);
            double mean = 0, var = 0;
            for (float v : o) mean += v;
            mean /= C;
            for (float v : o) var += (v - mean) * (v - mean);
            var /= C;
            REQUIRE(std::fabs(mean) < 1e-5);
            REQUIRE(std::fabs(var - 1.0) < 1e-3);
        }
    }
    ops::simd::layernorm(nullptr, nullptr, nullptr, nullptr, 0);  // C = 0: nothing to do, no crash
}

TEST_CASE("masked_softmax: SIMD equals scalar; masked tail is exactly zero", "[ops]") {
    std::mt19937 rng(6);
    for (int n = 0; n <= max_len(); n++) {
        for (int valid = 0; valid <= n; valid++) {
            Shifted a(random_floats(n, rng, 4.0f), (n + valid) % 4), b(std::vector<float>(a.p, a.p + n), 1);
            ops::simd::masked_softmax(a.p, n, valid);
            ops::scalar::masked_softmax(b.p, n, valid);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                INFO("n=" << n << " valid=" << valid << " i=" << i);
                REQUIRE(std::fabs(a.p[i] - b.p[i]) <= 8 * n * kU);
                if (i >= valid) REQUIRE(a.p[i] == 0.0f);
                sum += a.p[i];
            }
            if (valid > 0) REQUIRE(std::fabs(sum - 1.0) <= 2 * n * kU + 1e-7);
        }
    }
    // Large logits: subtracting the max keeps exp finite.
    std::vector<float> big = {1000.0f, 999.0f, -1000.0f};
    ops::masked_softmax(big.data(), 3, 3);
    REQUIRE(big[0] == Approx(1.0 / (1.0 + std::exp(-1.0))).epsilon(1e-6));
    REQUIRE(big[2] == 0.0f);
}

TEST_CASE("gelu: SIMD equals scalar and the tanh formula", "[ops]") {
    std::mt19937 rng(7);
    for (int n = 0; n <= max_len(); n++) {
        Shifted x(random_floats(n, rng, 3.0f), n % 4);
        std::vector<float> o1(n), o2(n);
        ops::simd::gelu(o1.data(), x.p, n);
        ops::scalar::gelu(o2.data(), x.p, n);
        for (int i = 0; i < n; i++) {
            const double v = x.p[i];
            const double ref = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
            REQUIRE(std::fabs(o1[i] - o2[i]) <= 1e-6 * (1 + std::fabs(ref)));
            REQUIRE(std::fabs(o2[i] - ref) <= 1e-6 * (1 + std::fabs(ref)));
        }
    }
    std::vector<float> edge = {-20.0f, 0.0f, 20.0f}, out(3);
    ops::gelu(out.data(), edge.data(), 3);
    REQUIRE(std::fabs(out[0]) < 1e-6);
    REQUIRE(out[1] == 0.0f);
    REQUIRE(out[2] == Approx(20.0f));
}

TEST_CASE("gelu_exact: SIMD equals scalar and x Phi(x)", "[ops]") {
    std::mt19937 rng(17);
    for (int n = 0; n <= max_len(); n++) {
        Shifted x(random_floats(n, rng, 3.0f), n % 4);
        std::vector<float> o1(n), o2(n);
        ops::simd::gelu_exact(o1.data(), x.p, n);
        ops::scalar::gelu_exact(o2.data(), x.p, n);
        for (int i = 0; i < n; i++) {
            const double v = x.p[i], ref = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
            REQUIRE(std::fabs(o1[i] - ref) <= 2e-6 * (1 + std::fabs(ref)));
            REQUIRE(std::fabs(o2[i] - ref) <= 2e-6 * (1 + std::fabs(ref)));
        }
    }
}

TEST_CASE("add and axpy: SIMD equals scalar exactly", "[ops]") {
    std::mt19937 rng(8);
    for (int n = 0; n <= max_len(); n++) {
        Shifted a(random_floats(n, rng), n % 4), b(random_floats(n, rng), (n + 1) % 4);
        std::vector<float> o1(n), o2(n);
        ops::simd::add(o1.data(), a.p, b.p, n);
        ops::scalar::add(o2.data(), a.p, b.p, n);
        REQUIRE(o1 == o2);
        std::vector<float> y1(a.p, a.p + n), y2(y1);
        ops::simd::axpy(y1.data(), 0.37f, b.p, n);
        ops::scalar::axpy(y2.data(), 0.37f, b.p, n);
        // The SIMD version may fuse the multiply-add: at most one rounding apart.
        for (int i = 0; i < n; i++) REQUIRE(std::fabs(y1[i] - y2[i]) <= 2 * kU * (std::fabs(y2[i]) + std::fabs(0.37f * b.p[i])));
    }
}

TEST_CASE("sum: SIMD equals scalar for every length and alignment", "[ops]") {
    std::mt19937 rng(9);
    for (int n = 0; n <= 4 * ops::simd_lanes() + 3; n++) {
        Shifted x(random_floats(n, rng), n % 4);
        double mag = 0, exact = 0;
        for (int i = 0; i < n; i++) mag += std::fabs(x.p[i]), exact += x.p[i];
        INFO("n=" << n);
        REQUIRE(std::fabs(ops::simd::sum(x.p, n) - exact) <= gamma_n(n) * mag + 1e-30);
        REQUIRE(std::fabs(ops::scalar::sum(x.p, n) - exact) <= gamma_n(n) * mag + 1e-30);
    }
}

TEST_CASE("fma_peak computes its recurrence (so the benchmark times real work)", "[ops]") {
    // Each chain j runs acc <- acc * m + a from 0.1 j: acc_n = m^n acc_0 + a (1 - m^n) / (1 - m).
    const double m = 0.9999999f, a = 1e-7f;
    for (const auto& [peak, chains] : {std::pair{&ops::simd::fma_peak, ops::simd::fma_peak_flops() / 2 / ops::simd_lanes()},
                                       std::pair{&ops::scalar::fma_peak, ops::scalar::fma_peak_flops() / 2}}) {
        const long n = 1000;
        const long lanes = peak == &ops::simd::fma_peak ? ops::simd_lanes() : 1;
        double expect = 0;
        for (long j = 0; j < chains; j++) expect += lanes * (std::pow(m, n) * float(0.1f * j) + a * (1 - std::pow(m, n)) / (1 - m));
        REQUIRE(peak(n) == Approx(expect).epsilon(1e-4));
    }
}
