// The training kernels (backward passes, the general GEMM, AdamW) against their scalar twins, at
// every length 0 .. 2*lanes+3 and with misaligned pointers, as tests/test_ops.cpp does for the
// forward kernels; and the backward kernels against finite differences of their forward kernels.
// Tolerances as there: sums of n products agree within 2 gamma_n sum|terms| (Higham 3.1).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "helpers.h"
#include "ops/ops.h"

using namespace gpt;

namespace {

int max_len() { return 2 * ops::simd_lanes() + 3; }

}  // namespace

TEST_CASE("gemm: SIMD equals scalar for every transposition, accumulate, stride and shape", "[ops][train]") {
    std::mt19937 rng(21);
    const int lanes = ops::simd_lanes();
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (bool acc : {false, true})
                for (int N : {0, 1, 5, 13})
                    for (int M : {0, 1, 3, 2 * lanes - 1, 2 * lanes + 3})
                        for (int K : {0, 1, 7, 37, 300}) {
                            // a: (N, K) or stored (K, N); b: (K, M) or stored (M, K); 3 floats of padding per row.
                            const int lda = (ta ? N : K) + 3, ldb = (tb ? K : M) + 3, ldo = M + 2;
                            const int arows = ta ? K : N, brows = tb ? M : K;
                            Shifted a(random_floats(static_cast<size_t>(arows) * lda, rng), (N + K) % 4),
                                b(random_floats(static_cast<size_t>(brows) * ldb, rng), (M + 1) % 4);
                            const auto init = random_floats(static_cast<size_t>(N) * ldo, rng);
                            std::vector<float> o1(init), o2(init);
                            ops::simd::gemm(o1.data(), ldo, a.p, lda, ta, b.p, ldb, tb, 0.75f, acc, N, M, K);
                            ops::scalar::gemm(o2.data(), ldo, a.p, lda, ta, b.p, ldb, tb, 0.75f, acc, N, M, K);
                            for (int n = 0; n < N; n++)
                                for (int m = 0; m < ldo; m++) {
                                    const size_t o = static_cast<size_t>(n) * ldo + m;
                                    INFO("ta=" << ta << " tb=" << tb << " acc=" << acc << " N=" << N << " M=" << M << " K=" << K
                                               << " n=" << n << " m=" << m);
                                    if (m >= M) {
                                        REQUIRE(o1[o] == init[o]);  // the stride's padding is untouched
                                        continue;
                                    }
                                    double mag = acc ? std::fabs(init[o]) : 0.0;
                                    for (int k = 0; k < K; k++) {
                                        const float av = ta ? a.p[k * lda + n] : a.p[n * lda + k];
                                        const float bv = tb ? b.p[m * ldb + k] : b.p[k * ldb + m];
                                        mag += std::fabs(0.75 * av * bv);
                                    }
                                    REQUIRE(std::fabs(o1[o] - o2[o]) <= 2 * gamma_n(K + 2) * mag + 1e-30);
                                }
                        }
}

TEST_CASE("matmul_backward: SIMD equals scalar and the exact products", "[ops][train]") {
    std::mt19937 rng(22);
    for (int N : {1, 4, 17})
        for (int M = 0; M <= max_len(); M += 3)
            for (int K = 0; K <= max_len(); K += 2) {
                Shifted dout(random_floats(static_cast<size_t>(N) * M, rng), 1), x(random_floats(static_cast<size_t>(N) * K, rng), 2),
                    w(random_floats(static_cast<size_t>(M) * K, rng), 3);
                const auto dw0 = random_floats(static_cast<size_t>(M) * K, rng), db0 = random_floats(M, rng);
                std::vector<float> dx1(static_cast<size_t>(N) * K + 1, 7.0f), dx2(dx1), dw1(dw0), dw2(dw0), db1(db0), db2(db0);
                ops::simd::matmul_backward(dx1.data(), dw1.data(), db1.data(), dout.p, x.p, w.p, N, M, K);
                ops::scalar::matmul_backward(dx2.data(), dw2.data(), db2.data(), dout.p, x.p, w.p, N, M, K);
                INFO("N=" << N << " M=" << M << " K=" << K);
                REQUIRE(dx1.back() == 7.0f);
                for (int n = 0; n < N; n++)
                    for (int k = 0; k < K; k++) {
                        double exact = 0, mag = 0;
                        for (int m = 0; m < M; m++) exact += double(dout.p[n * M + m]) * w.p[m * K + k], mag += std::fabs(dout.p[n * M + m] * w.p[m * K + k]);
                        REQUIRE(std::fabs(dx1[n * K + k] - exact) <= gamma_n(M + 1) * mag + 1e-30);
                        REQUIRE(std::fabs(dx2[n * K + k] - exact) <= gamma_n(M + 1) * mag + 1e-30);
                    }
                for (int m = 0; m < M; m++) {
                    for (int k = 0; k < K; k++) {
                        double exact = dw0[m * K + k], mag = std::fabs(exact);
                        for (int n = 0; n < N; n++) exact += double(dout.p[n * M + m]) * x.p[n * K + k], mag += std::fabs(dout.p[n * M + m] * x.p[n * K + k]);
                        REQUIRE(std::fabs(dw1[m * K + k] - exact) <= gamma_n(N + 2) * mag + 1e-30);
                        REQUIRE(std::fabs(dw2[m * K + k] - exact) <= gamma_n(N + 2) * mag + 1e-30);
                    }
                    double exact = db0[m], mag = std::fabs(exact);
                    for (int n = 0; n < N; n++) exact += dout.p[n * M + m], mag += std::fabs(dout.p[n * M + m]);
                    REQUIRE(std::fabs(db1[m] - exact) <= gamma_n(N + 1) * mag + 1e-30);
                }
                ops::simd::matmul_backward(nullptr, dw1.data(), nullptr, dout.p, x.p, w.p, N, M, K);  // no dx, no bias
            }
}

namespace {

// d/dx_i of sum_j dout_j f(x)_j by central differences in double, for a forward in float: the
// step is large enough that float rounding of f stays far below the change it measures.
std::vector<double> numeric_grad(const std::function<void(float*, const float*)>& f, const std::vector<float>& x,
                                 const std::vector<float>& dout, double h) {
    std::vector<double> g(x.size());
    std::vector<float> xp(x), out(dout.size());
    for (size_t i = 0; i < x.size(); i++) {
        double s[2];
        for (int side = 0; side < 2; side++) {
            xp[i] = static_cast<float>(x[i] + (side ? -h : h));
            f(out.data(), xp.data());
            s[side] = 0;
            for (size_t j = 0; j < out.size(); j++) s[side] += double(dout[j]) * out[j];
        }
        g[i] = (s[0] - s[1]) / (static_cast<double>(static_cast<float>(x[i] + h)) - static_cast<float>(x[i] - h));
        xp[i] = x[i];
    }
    return g;
}

}  // namespace

TEST_CASE("layernorm_backward: SIMD equals scalar, and finite differences of layernorm", "[ops][train]") {
    std::mt19937 rng(23);
    for (int C = 1; C <= max_len() + 40; C++) {
        Shifted x(random_floats(C, rng, 2.0f), C % 4), w(random_floats(C, rng), 1), dout(random_floats(C, rng), 2);
        const auto dx0 = random_floats(C, rng), dw0 = random_floats(C, rng), db0 = random_floats(C, rng);
        std::vector<float> dx1(dx0), dx2(dx0), dw1(dw0), dw2(dw0), db1(db0), db2(db0);
        ops::simd::layernorm_backward(dx1.data(), dw1.data(), db1.data(), dout.p, x.p, w.p, C);
        ops::scalar::layernorm_backward(dx2.data(), dw2.data(), db2.data(), dout.p, x.p, w.p, C);
        for (int i = 0; i < C; i++) {
            INFO("C=" << C << " i=" << i);
            REQUIRE(std::fabs(dx1[i] - dx2[i]) <= 1e-5 * (1 + std::fabs(dx2[i] - dx0[i])) * std::sqrt(double(C)));
            REQUIRE(std::fabs(dw1[i] - dw2[i]) <= 1e-5 * (1 + std::fabs(dw2[i])));
            REQUIRE(std::fabs(db1[i] - db2[i]) <= 1e-6 * (1 + std::fabs(db2[i])));
        }
        if (C % 7 == 3) {  // against the forward kernel
            const std::vector<float> xv(x.p, x.p + C), dv(dout.p, dout.p + C), bias(C, 0.5f);
            const auto g = numeric_grad([&](float* o, const float* xi) { ops::scalar::layernorm(o, xi, w.p, bias.data(), C); }, xv, dv, 1e-2);
            std::vector<float> dx(C, 0.0f), dw(C, 0.0f), db(C, 0.0f);
            ops::layernorm_backward(dx.data(), dw.data(), db.data(), dv.data(), xv.data(), w.p, C);
            for (int i = 0; i < C; i++) REQUIRE(dx[i] == Approx(g[i]).margin(2e-3).epsilon(2e-3));
        }
    }
    ops::simd::layernorm_backward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0);
}

TEST_CASE("masked_softmax_backward: SIMD equals scalar, masked tail zero, in place", "[ops][train]") {
    std::mt19937 rng(24);
    for (int n = 0; n <= max_len(); n++)
        for (int valid = 0; valid <= n; valid++) {
            std::vector<float> y = random_floats(n, rng, 2.0f);
            ops::scalar::masked_softmax(y.data(), n, valid);
            Shifted ys(y, n % 4), dy(random_floats(n, rng), valid % 4);
            std::vector<float> d1(dy.p, dy.p + n), d2(n, 9.0f);
            ops::simd::masked_softmax_backward(d1.data(), ys.p, d1.data(), n, valid);  // dx aliasing dy
            ops::scalar::masked_softmax_backward(d2.data(), ys.p, dy.p, n, valid);
            double s = 0;
            for (int i = 0; i < valid; i++) s += double(y[i]) * dy.p[i];
            for (int i = 0; i < n; i++) {
                INFO("n=" << n << " valid=" << valid << " i=" << i);
                const double exact = i < valid ? y[i] * (dy.p[i] - s) : 0.0;
                REQUIRE(std::fabs(d1[i] - exact) <= 4 * (n + 2) * kU * (std::fabs(dy.p[i]) + 3) * y[i] + 1e-30);
                REQUIRE(std::fabs(d2[i] - exact) <= 4 * (n + 2) * kU * (std::fabs(dy.p[i]) + 3) * y[i] + 1e-30);
                if (i >= valid) REQUIRE((d1[i] == 0.0f && d2[i] == 0.0f));
            }
        }
}

TEST_CASE("gelu_backward and gelu_exact_backward: SIMD equals scalar and the derivative", "[ops][train]") {
    std::mt19937 rng(25);
    using Fwd = void (*)(float*, const float*, int);
    using Bwd = void (*)(float*, const float*, const float*, int);
    struct Case {
        Fwd fwd;
        Bwd simd, scalar;
    };
    for (const Case& k : {Case{ops::scalar::gelu, ops::simd::gelu_backward, ops::scalar::gelu_backward},
                          Case{ops::scalar::gelu_exact, ops::simd::gelu_exact_backward, ops::scalar::gelu_exact_backward}}) {
        for (int n = 0; n <= max_len(); n++) {
            Shifted x(random_floats(n, rng, 3.0f), n % 4), dout(random_floats(n, rng), (n + 1) % 4);
            std::vector<float> d1(n), d2(dout.p, dout.p + n);
            k.simd(d1.data(), x.p, dout.p, n);
            k.scalar(d2.data(), x.p, d2.data(), n);  // in place
            const std::vector<float> xv(x.p, x.p + n), dv(dout.p, dout.p + n);
            const auto g = numeric_grad([&](float* o, const float* xi) { k.fwd(o, xi, n); }, xv, dv, 1e-2);
            for (int i = 0; i < n; i++) {
                INFO("n=" << n << " i=" << i << " x=" << x.p[i]);
                REQUIRE(std::fabs(d1[i] - d2[i]) <= 2e-6 * (1 + std::fabs(d2[i])));
                REQUIRE(d2[i] == Approx(g[i]).margin(2e-3 * std::fabs(dv[i]) + 1e-5).epsilon(2e-3));
            }
        }
    }
    // Far tails: GELU' -> 0 on the left, 1 on the right.
    const std::vector<float> edge = {-30.0f, 30.0f}, ones = {1.0f, 1.0f};
    std::vector<float> d(2);
    ops::gelu_backward(d.data(), edge.data(), ones.data(), 2);
    REQUIRE(std::fabs(d[0]) < 1e-6);
    REQUIRE(d[1] == Approx(1.0f));
}

TEST_CASE("adamw and scale: SIMD equals scalar exactly; adamw is PyTorch's AdamW", "[ops][train]") {
    std::mt19937 rng(26);
    for (int n = 0; n <= max_len(); n++) {
        const auto p0 = random_floats(n, rng), m0 = random_floats(n, rng, 0.1f), g = random_floats(n, rng);
        std::vector<float> v0(n);
        for (int i = 0; i < n; i++) v0[i] = std::fabs(random_floats(1, rng, 0.01f)[0]);
        Shifted gs(g, n % 4);
        std::vector<float> p1(p0), p2(p0), m1(m0), m2(m0), v1(v0), v2(v0);
        ops::simd::adamw(p1.data(), m1.data(), v1.data(), gs.p, 3e-3f, 0.9f, 0.99f, 1e-8f, 0.1f, 7, n);
        ops::scalar::adamw(p2.data(), m2.data(), v2.data(), gs.p, 3e-3f, 0.9f, 0.99f, 1e-8f, 0.1f, 7, n);
        REQUIRE(p1 == p2);  // both do PyTorch's operations in its order, without fused multiply-adds
        REQUIRE(m1 == m2);
        REQUIRE(v1 == v2);
        for (int i = 0; i < n; i++) {  // the update, in double
            const double m = 0.9 * m0[i] + 0.1 * g[i], v = 0.99 * v0[i] + 0.01 * double(g[i]) * g[i];
            const double p = p0[i] * (1 - 3e-3 * 0.1) - 3e-3 / (1 - std::pow(0.9, 7)) * m / (std::sqrt(v) / std::sqrt(1 - std::pow(0.99, 7)) + 1e-8);
            REQUIRE(p2[i] == Approx(p).epsilon(1e-5));
        }
        std::vector<float> s1(p0), s2(p0);
        Shifted s3(p0, (n + 3) % 4);
        ops::simd::scale(s1.data(), 0.37f, n);
        ops::scalar::scale(s2.data(), 0.37f, n);
        ops::simd::scale(s3.p, 0.37f, n);
        REQUIRE(s1 == s2);
        REQUIRE(std::equal(s1.begin(), s1.end(), s3.p));
    }
}
