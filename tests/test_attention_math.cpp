// The ideas readers of "Let's build GPT" and "Build an LLM from Scratch" just learned, as executable
// statements about the engine.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "helpers.h"
#include "model.h"
#include "ops/ops.h"

using namespace gpt;

TEST_CASE("the mathematical trick: three ways to average the past agree", "[attention]") {
    // Karpathy's example: B x T x C = 4 x 8 x 2; position t gets the mean of positions 0..t.
    const int B = 4, T = 8, C = 2;
    std::mt19937 rng(1337);
    const auto x = random_floats(B * T * C, rng);

    // (1) a loop over the past.
    std::vector<float> xbow(B * T * C, 0.0f);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                float s = 0;
                for (int j = 0; j <= t; j++) s += x[(b * T + j) * C + c];
                xbow[(b * T + t) * C + c] = s / (t + 1);
            }

    // (2) wei = tril(ones(T, T)), each row divided by its sum; xbow2 = wei @ x.
    std::vector<float> wei(T * T, 0.0f);
    for (int t = 0; t < T; t++)
        for (int j = 0; j <= t; j++) wei[t * T + j] = 1.0f / (t + 1);

    // (3) wei = softmax(masked_fill(zeros(T, T), tril == 0, -inf)) with the engine's masked softmax.
    std::vector<float> wei3(T * T, 0.0f);
    for (int t = 0; t < T; t++) {
        for (int j = 0; j < T; j++) wei3[t * T + j] = j <= t ? 0.0f : -std::numeric_limits<float>::infinity();
        ops::masked_softmax(wei3.data() + t * T, T, t + 1);
    }

    for (int t = 0; t < T; t++) {
        for (int j = 0; j < T; j++) {
            REQUIRE(wei3[t * T + j] == Approx(wei[t * T + j]).margin(1e-7));
            if (j > t) REQUIRE(wei3[t * T + j] == 0.0f);  // no talking to the future
        }
    }
    for (int b = 0; b < B; b++) {
        // wei @ x[b]: (T, T) x (T, C) with the engine's matmul, as x[b]^T rows against wei rows.
        std::vector<float> xt(C * T);
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) xt[c * T + t] = x[(b * T + t) * C + c];
        for (const auto* w : {&wei, &wei3}) {
            std::vector<float> out(T * C);
            ops::matmul(out.data(), w->data(), xt.data(), nullptr, T, C, T);
            for (int i = 0; i < T * C; i++) REQUIRE(out[i] == Approx(xbow[b * T * C + i]).margin(1e-6));
        }
    }
}

TEST_CASE("scaled dot-product attention equals softmax(QK^T / sqrt(d_k)) V", "[attention]") {
    std::mt19937 rng(42);
    for (int hs : {1, 3, 8, 16, 48}) {
        const int T = 13, stride = hs + 5;  // keys/values rows interleaved with other data, as in the KV cache
        const auto q = random_floats(T * hs, rng, 1.5f);
        const auto k = random_floats(T * stride, rng, 1.5f);
        const auto v = random_floats(T * stride, rng);
        for (int p = 0; p < T; p++) {
            std::vector<float> att(T, -1.0f), out(hs);
            attend(out.data(), att.data(), q.data() + p * hs, k.data(), v.data(), stride, p, hs, T);

            // The explicit formula, in double: Omega = q K^T; A = softmax(Omega / sqrt(d_k)); A V.
            std::vector<double> omega(p + 1);
            double mx = -1e300;
            for (int j = 0; j <= p; j++) {
                double s = 0;
                for (int d = 0; d < hs; d++) s += double(q[p * hs + d]) * k[j * stride + d];
                omega[j] = s / std::sqrt(double(hs));
                mx = std::max(mx, omega[j]);
            }
            double z = 0;
            for (double& o : omega) z += (o = std::exp(o - mx));
            double row_sum = 0;
            for (int j = 0; j < T; j++) {
                INFO("hs=" << hs << " p=" << p << " j=" << j);
                if (j <= p) {
                    REQUIRE(att[j] == Approx(omega[j] / z).margin(1e-6));
                } else {
                    REQUIRE(att[j] == 0.0f);  // future positions get exactly zero weight
                }
                row_sum += att[j];
            }
            REQUIRE(row_sum == Approx(1.0).margin(1e-6));  // every row sums to 1
            for (int d = 0; d < hs; d++) {
                double ref = 0;
                for (int j = 0; j <= p; j++) ref += omega[j] / z * v[j * stride + d];
                REQUIRE(out[d] == Approx(ref).margin(1e-5));
            }
        }
    }
}

TEST_CASE("a trained-shape model's attention is causal and row-stochastic in every head", "[attention]") {
    const auto bytes = read_bytes(data_path("tiny-f32.safetensors"));
    auto m = Model::load(bytes.data(), bytes.size());
    REQUIRE(m.ok());
    const Config& c = m->config();
    RunState s(c);
    std::vector<int> tokens(c.block_size);
    for (int i = 0; i < c.block_size; i++) tokens[i] = (i * 7) % c.vocab_size;
    REQUIRE(forward(m.value(), s, tokens.data(), c.block_size, 0).ok());
    for (int l = 0; l < c.n_layer; l++)
        for (int h = 0; h < c.n_head; h++)
            for (int p = 0; p < c.block_size; p++) {
                const float* row = s.att_row(l, h, p);
                double sum = 0;
                for (int j = 0; j < c.block_size; j++) {
                    if (j > p) REQUIRE(row[j] == 0.0f);
                    REQUIRE(row[j] >= 0.0f);
                    sum += row[j];
                }
                REQUIRE(sum == Approx(1.0).margin(1e-5));
            }
}
