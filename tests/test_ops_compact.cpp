// The compact-weight kernels (matvec_w, matmul_w, widen_row; issue 14) with W as F16 and Q8, SIMD
// against the scalar twin, at every K in 0 .. 2*lanes+3 and around the Q8 group size, M not a
// multiple of the row blocks, and misaligned weights, scales, x and bias.
//
// Tolerance as tests/test_ops.cpp: F32 and F16 are sums of K (+1 bias) rounded products of the
// same widened weights in different orders, so they are within 2 gamma_{K+2} sum |w x| (+ |bias|)
// of each other (Higham 3.1). Widening itself is exact (a half is a float; q * scale is one rounding
// in both), so widen_row must agree bit for bit. Q8 products are integers, exact in both; what
// differs is the float sum of the scaled group sums, which SIMD splits over its lanes: at most
// G * lanes terms (+ chunks, + bias), each within gamma_2 of q * xq * scale * xscale, so within
// 2 gamma_{G lanes + 4} sum |w x^| of each other, x^ = xq * xscale (the quantized x).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "helpers.h"
#include "ops/ops.h"
#include "safetensors.h"

using namespace gpt;

namespace {

// Finite halves of every kind: mostly moderate normals, and subnormals, +-0, +-65504 (the largest)
// and any finite pattern.
std::vector<uint16_t> random_halves(size_t n, std::mt19937& rng) {
    std::vector<uint16_t> h(n);
    for (auto& v : h) {
        const uint16_t sign = (rng() & 1) ? 0x8000 : 0;
        const uint16_t mant = rng() & 0x3FF;
        switch (rng() % 10) {
            case 0: v = sign | mant; break;                              // subnormal (or +-0)
            case 1: v = sign; break;                                     // +-0
            case 2: v = sign | 0x7BFF; break;                            // +-65504
            case 3: v = sign | ((rng() % 31) << 10) | mant; break;       // any finite
            default: v = sign | ((5 + rng() % 16) << 10) | mant; break;  // 2^-10 .. 2^5
        }
    }
    return h;
}

std::vector<int8_t> random_q8(size_t n, std::mt19937& rng) {
    std::vector<int8_t> q(n);
    for (auto& v : q) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);  // -128 .. 127
    if (n > 0) q[0] = -128;
    if (n > 1) q[n - 1] = 127;
    return q;
}

// Scales spread over 2^-12 .. 2^2, a few zero or negative: groups of very different size.
std::vector<float> random_scales(size_t n, std::mt19937& rng) {
    std::vector<float> s(n);
    std::uniform_real_distribution<float> u(0.5f, 1.0f);
    for (auto& v : s) {
        const int r = static_cast<int>(rng() % 16);
        v = r == 0 ? 0.0f : std::ldexp(u(rng), -12 + static_cast<int>(rng() % 15)) * (r == 1 ? -1.0f : 1.0f);
    }
    return s;
}

// A W(M, K) of one format with its storage, misaligned by `shift` elements (scales by shift + 1).
struct Weights {
    ops::WFormat format;
    std::vector<float> f;  // F32 data
    std::vector<uint16_t> h;
    std::vector<int8_t> q;
    std::vector<float> s;
    Shifted<float> fs;
    Shifted<uint16_t> hs;
    Shifted<int8_t> qs;
    Shifted<float> ss;
    Weights(ops::WFormat fmt, int M, int K, int shift, std::mt19937& rng)
        : format(fmt),
          f(fmt == ops::WFormat::F32 ? random_floats(static_cast<size_t>(M) * K, rng) : std::vector<float>()),
          h(fmt == ops::WFormat::F16 ? random_halves(static_cast<size_t>(M) * K, rng) : std::vector<uint16_t>()),
          q(fmt == ops::WFormat::Q8 ? random_q8(static_cast<size_t>(M) * K, rng) : std::vector<int8_t>()),
          s(fmt == ops::WFormat::Q8 ? random_scales(static_cast<size_t>(M) * ops::q8_groups(K), rng) : std::vector<float>()),
          fs(f, shift), hs(h, shift), qs(q, shift), ss(s, (shift + 1) % 4) {}
    ops::WeightView view() const {
        switch (format) {
            case ops::WFormat::F16: return {format, hs.p, nullptr};
            case ops::WFormat::Q8: return {format, qs.p, ss.p};
            case ops::WFormat::F32: break;
        }
        return ops::WeightView::f32(fs.p);
    }
    // |W(m, k)|, from the scalar widening (the reference's own view of W).
    std::vector<float> widened(int M, int K) const {
        std::vector<float> w(static_cast<size_t>(M) * K);
        for (int m = 0; m < M; m++) ops::scalar::widen_row(w.data() + static_cast<long>(m) * K, view(), m, K);
        return w;
    }
};

const char* name(ops::WFormat f) { return f == ops::WFormat::F16 ? "F16" : f == ops::WFormat::Q8 ? "Q8" : "F32"; }

std::vector<int> k_values() {
    std::vector<int> ks;
    for (int k = 0; k <= 2 * ops::simd_lanes() + 3; k++) ks.push_back(k);
    for (int k : {31, 32, 33, 63, 64, 65, 100, 768, 1100})  // 1100: x quantized in two chunks
        if (k > 2 * ops::simd_lanes() + 3) ks.push_back(k);
    return ks;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// x as the kernels multiply it: exactly x for F32 and F16, x^ = xq * xscale for Q8.
std::vector<float> as_multiplied(ops::WFormat fmt, const float* x, int K) {
    std::vector<float> xm(x, x + K);
    if (fmt != ops::WFormat::Q8) return xm;
    std::vector<int16_t> xq(K);
    std::vector<float> xs(ops::q8_groups(K));
    ops::quantize_x16(xq.data(), xs.data(), x, K);
    for (int k = 0; k < K; k++) xm[k] = xq[k] * xs[k / ops::kQ8Group];
    return xm;
}

// How far SIMD and scalar may be apart for a row whose sum |w x| (x as multiplied) is mag.
double twin_tolerance(ops::WFormat fmt, int K, double mag) {
    const int terms = fmt == ops::WFormat::Q8 ? ops::q8_groups(K) * ops::simd_lanes() + 4 : K + 2;
    return 2 * gamma_n(terms) * mag + 1e-30;
}

}  // namespace

TEST_CASE("matvec_w: SIMD equals scalar for F16 and Q8 at every K, M and alignment", "[ops][compact]") {
    std::mt19937 rng(21);
    for (ops::WFormat fmt : {ops::WFormat::F32, ops::WFormat::F16, ops::WFormat::Q8}) {
        for (int K : k_values()) {
            for (int M : {0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 17, 19}) {
                const int shift = (M + K) % 7;
                const Weights w(fmt, M, K, shift, rng);
                // Now and then one |x| >= 2^15, where wasm's F16 kernel cannot fold its 2^112 into x.
                std::vector<float> xv = random_floats(K, rng);
                if (K > 0 && M % 2) xv[K / 2] = 40000.0f;
                const Shifted<float> x(xv, 3 - shift % 4), bias(random_floats(M, rng), shift % 4);
                const auto wf = w.widened(M, K);
                const auto xm = as_multiplied(fmt, x.p, K);
                for (const float* b : {static_cast<const float*>(bias.p), static_cast<const float*>(nullptr)}) {
                    std::vector<float> o1(M + 1, 7.0f), o2(M + 1, 7.0f);
                    ops::simd::matvec_w(o1.data(), w.view(), x.p, b, M, K);
                    ops::scalar::matvec_w(o2.data(), w.view(), x.p, b, M, K);
                    for (int m = 0; m < M; m++) {
                        double mag = b ? std::fabs(b[m]) : 0.0;
                        for (int k = 0; k < K; k++) mag += std::fabs(static_cast<double>(wf[m * K + k]) * xm[k]);
                        INFO(name(fmt) << " M=" << M << " K=" << K << " m=" << m << " simd=" << o1[m] << " scalar=" << o2[m]);
                        REQUIRE(std::isfinite(o1[m]));
                        REQUIRE(std::fabs(o1[m] - o2[m]) <= twin_tolerance(fmt, K, mag));
                    }
                    REQUIRE(o1[M] == 7.0f);  // nothing written past the end
                }
            }
        }
    }
}

TEST_CASE("matvec_q8_quantized: x quantized beforehand gives matvec_w's bits, SIMD and scalar", "[ops][compact]") {
    std::mt19937 rng(22);
    std::vector<int> ks = k_values();
    for (int k : {1023, 1024, 1025, 2100}) ks.push_back(k);  // the SIMD kernel's chunks of x
    for (int K : ks) {
        for (int M : {0, 1, 5, 6, 7, 12, 13, 19}) {
            const int shift = (M + K) % 7;
            const Weights w(ops::WFormat::Q8, M, K, shift, rng);
            const Shifted<float> x(random_floats(K, rng), 3 - shift % 4), bias(random_floats(M, rng), shift % 4);
            // quantize_x16's output, zero from K to the next whole group (the entry's contract)
            std::vector<int16_t> xq(static_cast<size_t>(ops::q8_groups(K)) * ops::kQ8Group, int16_t{0});
            std::vector<float> xs(ops::q8_groups(K));
            ops::quantize_x16(xq.data(), xs.data(), x.p, K);
            for (const float* b : {static_cast<const float*>(bias.p), static_cast<const float*>(nullptr)}) {
                std::vector<float> want(M + 1, 7.0f), got(M + 1, 7.0f), want_s(M + 1, 7.0f), got_s(M + 1, 7.0f);
                ops::simd::matvec_w(want.data(), w.view(), x.p, b, M, K);
                ops::simd::matvec_q8_quantized(got.data(), w.view(), xq.data(), xs.data(), b, M, K);
                ops::scalar::matvec_w(want_s.data(), w.view(), x.p, b, M, K);
                ops::scalar::matvec_q8_quantized(got_s.data(), w.view(), xq.data(), xs.data(), b, M, K);
                INFO("M=" << M << " K=" << K);
                for (int m = 0; m <= M; m++) {  // m == M: nothing written past the end
                    REQUIRE(same_bits(got[m], want[m]));
                    REQUIRE(same_bits(got_s[m], want_s[m]));
                }
            }
        }
    }
}

TEST_CASE("matmul_w: SIMD (widening while packing) equals scalar for F16 and Q8", "[ops][compact]") {
    std::mt19937 rng(22);
    const int lanes = ops::simd_lanes();
    for (ops::WFormat fmt : {ops::WFormat::F32, ops::WFormat::F16, ops::WFormat::Q8}) {
        for (int N = 1; N <= 13; N++) {
            for (int M : {1, 2 * lanes - 1, 2 * lanes, 2 * lanes + 3, 9, 33}) {
                // 300: two k blocks of the packed GEMM, the second starting inside no Q8 group.
                for (int K : {0, 1, lanes + 1, 31, 32, 33, 65, 100, 300}) {
                    const int shift = (N + M + K) % 7;
                    const Weights w(fmt, M, K, shift, rng);
                    const Shifted<float> x(random_floats(static_cast<size_t>(N) * K, rng), (shift + 2) % 4),
                        bias(random_floats(M, rng), 1);
                    const auto wf = w.widened(M, K);
                    std::vector<float> xm;
                    for (int n = 0; n < N; n++) {
                        const auto row = as_multiplied(fmt, x.p + static_cast<long>(n) * K, K);
                        xm.insert(xm.end(), row.begin(), row.end());
                    }
                    for (const float* b : {static_cast<const float*>(bias.p), static_cast<const float*>(nullptr)}) {
                        // out's rows ldo apart (a parallel split's block of columns): the gap stays.
                        const int ldo = M + (N % 2) * 3;
                        std::vector<float> o1(static_cast<size_t>(N) * ldo + 1, 7.0f), o2(o1.size(), 7.0f);
                        ops::simd::matmul_w(o1.data(), ldo, x.p, w.view(), b, N, M, K);
                        ops::scalar::matmul_w(o2.data(), ldo, x.p, w.view(), b, N, M, K);
                        for (int n = 0; n < N; n++) {
                            for (int m = M; m < ldo; m++) REQUIRE((o1[n * ldo + m] == 7.0f && o2[n * ldo + m] == 7.0f));
                            for (int m = 0; m < M; m++) {
                                double mag = b ? std::fabs(b[m]) : 0.0;
                                for (int k = 0; k < K; k++) mag += std::fabs(static_cast<double>(wf[m * K + k]) * xm[n * K + k]);
                                INFO(name(fmt) << " N=" << N << " M=" << M << " K=" << K << " n=" << n << " m=" << m);
                                REQUIRE(std::fabs(o1[n * ldo + m] - o2[n * ldo + m]) <= twin_tolerance(fmt, K, mag));
                            }
                        }
                        REQUIRE(o1.back() == 7.0f);
                    }
                }
            }
        }
    }
}

TEST_CASE("widen_row: SIMD equals scalar bit for bit", "[ops][compact]") {
    std::mt19937 rng(23);
    for (ops::WFormat fmt : {ops::WFormat::F32, ops::WFormat::F16, ops::WFormat::Q8}) {
        for (int K : k_values()) {
            const int M = 3, shift = K % 7;
            const Weights w(fmt, M, K, shift, rng);
            for (int row = 0; row < M; row++) {
                std::vector<float> o1(K + 1, 7.0f), o2(K + 1, 7.0f);
                ops::simd::widen_row(o1.data(), w.view(), row, K);
                ops::scalar::widen_row(o2.data(), w.view(), row, K);
                for (int k = 0; k < K; k++) {
                    INFO(name(fmt) << " K=" << K << " row=" << row << " k=" << k << " simd=" << o1[k] << " scalar=" << o2[k]);
                    REQUIRE(same_bits(o1[k], o2[k]));
                }
                REQUIRE(o1[K] == 7.0f);
            }
        }
    }
}

TEST_CASE("widen_row of F16 is safetensors::half_to_float for every finite half", "[ops][compact]") {
    std::vector<uint16_t> all;  // (63488) every pattern but exponent 31 (infinities and NaN)
    for (uint32_t h = 0; h < 0x10000; h++)
        if (((h >> 10) & 0x1F) != 0x1F) all.push_back(static_cast<uint16_t>(h));
    REQUIRE(all.size() == 63488);
    const int K = static_cast<int>(all.size());
    const ops::WeightView w{ops::WFormat::F16, all.data(), nullptr};
    std::vector<float> scalar(K), simd(K);
    ops::scalar::widen_row(scalar.data(), w, 0, K);
    ops::simd::widen_row(simd.data(), w, 0, K);
    for (int i = 0; i < K; i++) {
        const float want = safetensors::half_to_float(all[i]);
        INFO("half 0x" << std::hex << all[i] << std::dec << " want " << want << " scalar " << scalar[i] << " simd " << simd[i]);
        REQUIRE(same_bits(scalar[i], want));
        REQUIRE(same_bits(simd[i], want));
    }
}

TEST_CASE("matvec_w of a one-hot x picks W's widened column exactly", "[ops][compact]") {
    // x = e_j: every sum has one non-zero term, so SIMD and scalar must both return W(m, j) exactly
    // (times the group's scale): the sums cannot hide a widening that is off.
    std::mt19937 rng(24);
    const int M = 13, K = 2 * ops::simd_lanes() + 37;
    for (ops::WFormat fmt : {ops::WFormat::F16, ops::WFormat::Q8}) {
        const Weights w(fmt, M, K, 3, rng);
        const auto wf = w.widened(M, K);
        for (int j = 0; j < K; j++) {
            std::vector<float> x(K, 0.0f), o(M);
            x[j] = 1.0f;
            ops::simd::matvec_w(o.data(), w.view(), x.data(), nullptr, M, K);
            for (int m = 0; m < M; m++) {
                INFO(name(fmt) << " j=" << j << " m=" << m);
                REQUIRE(o[m] == wf[m * K + j]);
            }
        }
    }
}

TEST_CASE("quantize_x16: power-of-two scales, |xq| <= 2^14, within half a step", "[ops][compact]") {
    std::mt19937 rng(25);
    const int K = 32 * 9 + 5;  // a short last group
    std::vector<float> x = random_floats(K, rng);
    // Groups of very different sizes: all zero, subnormal-small, tiny (the 2^-126 floor), huge.
    const float group_scale[] = {0.0f, 1e-42f, 1e-36f, 1e-20f, 1.0f, 3e4f, 1e20f, 1e38f, 0.5f, 7.0f};
    for (int k = 0; k < K; k++) x[k] *= group_scale[k / 32];
    std::vector<int16_t> xq(K);
    std::vector<float> xs(ops::q8_groups(K));
    ops::quantize_x16(xq.data(), xs.data(), x.data(), K);
    for (int g = 0; g < ops::q8_groups(K); g++) {
        int e = 0;
        REQUIRE(std::frexp(xs[g], &e) == 0.5f);  // a power of two
        double amax = 0.0;
        for (int k = 32 * g; k < std::min(K, 32 * g + 32); k++) {
            INFO("g=" << g << " k=" << k << " x=" << x[k] << " xq=" << xq[k] << " xs=" << xs[g]);
            REQUIRE(std::abs(xq[k]) <= 16384);
            REQUIRE(std::fabs(x[k] - static_cast<double>(xq[k]) * xs[g]) <= 0.5 * xs[g]);
            amax = std::max(amax, std::fabs(static_cast<double>(x[k])));
        }
        // Not coarser than needed: the largest |x| takes at least 2^13 steps, unless the group is
        // zero or at the floor.
        if (amax > 0 && xs[g] > 0x1p-126f) REQUIRE(amax >= 8192.0 * xs[g]);
    }
}

TEST_CASE("quantize_x16: SIMD and scalar twins give the same bits", "[ops][compact]") {
    // Every length up to a few groups and past a Q8 chunk, x misaligned, and groups of every kind:
    // random, zero, subnormal, at the 2^-126 floor, huge, halves that round to even (scale 1: the
    // group's max is 2^13), -0, and an infinity or NaN.
    std::mt19937 rng(28);
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<int> ns;
    for (int n = 0; n <= 3 * ops::kQ8Group + 1; n++) ns.push_back(n);
    for (int n : {255, 256, 257, 768, 1100}) ns.push_back(n);
    for (int n : ns) {
        for (int shift = 0; shift < 4; shift++) {
            std::vector<float> x = random_floats(n, rng);
            for (int g = 0; g * ops::kQ8Group < n; g++) {
                float* xg = x.data() + g * ops::kQ8Group;
                const int len = std::min(ops::kQ8Group, n - g * ops::kQ8Group);
                const int kind = static_cast<int>(rng() % 10);
                for (int k = 0; k < len; k++) {
                    switch (kind) {
                        case 0: xg[k] = 0.0f; break;
                        case 1: xg[k] *= 1e-42f; break;
                        case 2: xg[k] *= 1e-34f; break;
                        case 3: xg[k] *= 3e37f; break;
                        case 4: xg[k] = static_cast<float>(static_cast<int>(rng() % 64) - 32) + 0.5f; break;
                        case 5: xg[k] = k % 2 ? -0.0f : xg[k]; break;
                        default: break;
                    }
                }
                if (kind == 4) xg[rng() % len] = 8192.0f;
                if (kind == 6) xg[rng() % len] = rng() % 2 ? nan : -inf;
            }
            const Shifted<float> xs_in(x, shift);
            std::vector<int16_t> q1(n + 1, 7), q2(n + 1, 7);
            std::vector<float> s1(ops::q8_groups(n) + 1, 7.0f), s2(ops::q8_groups(n) + 1, 7.0f);
            ops::simd::quantize_x16(q1.data(), s1.data(), xs_in.p, n);
            ops::scalar::quantize_x16(q2.data(), s2.data(), xs_in.p, n);
            INFO("n=" << n << " shift=" << shift);
            REQUIRE(q1 == q2);  // the element past the end untouched as well
            for (size_t g = 0; g < s1.size(); g++) {
                INFO("group " << g << ": " << s1[g] << " vs " << s2[g]);
                REQUIRE((same_bits(s1[g], s2[g]) || (std::isnan(s1[g]) && std::isnan(s2[g]))));
            }
        }
    }
}

TEST_CASE("quantize_x16 and matvec_w Q8: a group with an infinity or NaN makes NaN", "[ops][compact]") {
    std::mt19937 rng(26);
    const int M = 9, K = 100;
    const Weights w(ops::WFormat::Q8, M, K, 0, rng);
    for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::quiet_NaN()}) {
        std::vector<float> x = random_floats(K, rng);
        x[40] = bad;
        std::vector<int16_t> xq(K);
        std::vector<float> xs(ops::q8_groups(K));
        ops::quantize_x16(xq.data(), xs.data(), x.data(), K);
        REQUIRE(std::isnan(xs[1]));
        REQUIRE((std::isfinite(xs[0]) && std::isfinite(xs[2]) && std::isfinite(xs[3])));
        for (int k = 32; k < 64; k++) REQUIRE(xq[k] == 0);
        std::vector<float> o1(M), o2(M);
        ops::simd::matvec_w(o1.data(), w.view(), x.data(), nullptr, M, K);
        ops::scalar::matvec_w(o2.data(), w.view(), x.data(), nullptr, M, K);
        for (int m = 0; m < M; m++) REQUIRE((std::isnan(o1[m]) && std::isnan(o2[m])));
    }
}

TEST_CASE("matvec_w and matmul_w Q8 are the float product up to x's quantization", "[ops][compact]") {
    // |Q8 result - sum w x| <= sum |w| * xscale / 2 (each x moved by at most half a step) + rounding:
    // a wrong scale, a lost group or a rounding that is not to nearest would break it.
    std::mt19937 rng(27);
    for (int K : {7, 32, 100, 300, 768, 3072}) {
        const int M = 13, N = K == 300 ? 101 : 5;  // 101: the GEMM's x in several blocks of rows
        const Weights w(ops::WFormat::Q8, M, K, 1, rng);
        const auto wf = w.widened(M, K);
        std::vector<float> x = random_floats(static_cast<size_t>(N) * K, rng);
        std::vector<float> o_mv(M), o_mm(static_cast<size_t>(N) * M);
        ops::matmul_w(o_mm.data(), x.data(), w.view(), nullptr, N, M, K);
        for (int n = 0; n < N; n++) {
            const float* xr = x.data() + static_cast<long>(n) * K;
            ops::matvec_w(o_mv.data(), w.view(), xr, nullptr, M, K);
            std::vector<int16_t> xq(K);
            std::vector<float> xs(ops::q8_groups(K));
            ops::quantize_x16(xq.data(), xs.data(), xr, K);
            for (int m = 0; m < M; m++) {
                double exact = 0.0, step = 0.0, mag = 0.0;
                for (int k = 0; k < K; k++) {
                    exact += static_cast<double>(wf[m * K + k]) * xr[k];
                    step += std::fabs(static_cast<double>(wf[m * K + k])) * 0.5 * xs[k / 32];
                    mag += std::fabs(static_cast<double>(wf[m * K + k]) * xr[k]);
                }
                const double bound = step + 2 * gamma_n(ops::q8_groups(K) * ops::simd_lanes() + 4) * (mag + step);
                INFO("K=" << K << " n=" << n << " m=" << m << " exact=" << exact << " matvec=" << o_mv[m]
                           << " matmul=" << o_mm[n * M + m] << " bound=" << bound);
                REQUIRE(std::fabs(o_mv[m] - exact) <= bound);
                REQUIRE(std::fabs(o_mm[n * M + m] - exact) <= bound);
            }
        }
    }
}
