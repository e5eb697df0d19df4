// The thread pool (engine/parallel.*) and the promise forward makes with it: the same bits with
// 2, 3 or 4 threads as with one, for the kernels it splits and for whole forward passes (logits,
// attention probabilities, KV cache), prefill and decode.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <random>
#include <vector>

#include "golden.h"
#include "helpers.h"
#include "model.h"
#include "parallel.h"
#include "trainer.h"
#include "weights_format.h"

using namespace gpt;

namespace {

// The single-threaded wasm build of these tests has no pool to test (parallel::available() false).
#define REQUIRE_THREADS()                                                 \
    if (!parallel::available()) {                                         \
        WARN("built without threads: the single-threaded wasm build");   \
        return;                                                           \
    }

// Sets the pool for a scope, and back to one thread after it (the other tests run on one).
struct Threads {
    explicit Threads(int n) { REQUIRE(parallel::set_threads(n) == n); }
    ~Threads() { parallel::set_threads(1); }
};

bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

uint16_t to_half(float f) {  // finite, in half's normal range or zero: enough for test weights
    if (f == 0.0f) return 0;
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint32_t sign = (u >> 16) & 0x8000;
    const int exp = static_cast<int>((u >> 23) & 0xFF) - 127 + 15;
    if (exp <= 0) return static_cast<uint16_t>(sign);  // too small for a normal half: signed zero
    if (exp >= 31) return static_cast<uint16_t>(sign | 0x7BFF);  // the largest finite half
    return static_cast<uint16_t>(sign | (exp << 10) | ((u >> 13) & 0x3FF));
}

}  // namespace

TEST_CASE("the pool runs every task once, each on a slot below the thread count", "[parallel]") {
    REQUIRE_THREADS();
    for (int t : {1, 2, 3, 4}) {
        Threads threads(t);
        CHECK(parallel::threads() == t);
        for (int n : {0, 1, 2, 3, 7, 64, 1000}) {
            std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
            std::atomic<int> bad_slot{0};
            for (int rep = 0; rep < 20; rep++) {  // back-to-back jobs, as forward issues them
                parallel::parallel_for(n, [&](int task, int slot) {
                    runs[static_cast<size_t>(task)]++;
                    if (slot < 0 || slot >= t) bad_slot++;
                });
            }
            INFO("threads " << t << ", tasks " << n);
            CHECK(bad_slot == 0);
            for (int i = 0; i < n; i++) CHECK(runs[static_cast<size_t>(i)] == 20);
        }
    }
}

TEST_CASE("jobs of changing sizes back to back: no task of one job runs twice or after it returns", "[parallel]") {
    REQUIRE_THREADS();
    // More threads than this machine's cores, so workers are descheduled mid-claim: a worker that
    // read a finished job's state late once ran a task of the next, larger job before that job was
    // published, and the job then ran it again and returned before it ended.
    Threads threads(4);
    std::atomic<int> runs{0};
    int wrong = 0, last_n = 0;
    for (int rep = 0; rep < 20000; rep++) {
        last_n = 1 + rep % 9;  // each job larger than the last, then back to one task
        runs = 0;
        parallel::parallel_for(last_n, [&](int, int) { runs++; });
        if (runs != last_n) wrong++;
    }
    CHECK(wrong == 0);
    CHECK(runs == last_n);  // the last job's runs, still the same after every later task could have ended
}

TEST_CASE("a job of more tasks than one publication holds runs each once", "[parallel]") {
    REQUIRE_THREADS();
    Threads threads(3);
    const int n = 0x10000 * 2 + 5;  // three slices of the pool's 16-bit task count
    std::vector<std::atomic<unsigned char>> runs(static_cast<size_t>(n));
    parallel::parallel_for(n, [&](int task, int) { runs[static_cast<size_t>(task)]++; });
    int wrong = 0;
    for (int i = 0; i < n; i++) wrong += runs[static_cast<size_t>(i)] != 1;
    CHECK(wrong == 0);
}

TEST_CASE("a task that runs the pool again runs it on its own thread, with its own slot", "[parallel]") {
    REQUIRE_THREADS();
    Threads threads(3);
    std::atomic<int> inner{0}, other_slot{0};
    parallel::parallel_for(6, [&](int, int slot) {
        parallel::parallel_for(5, [&](int, int inner_slot) {
            inner++;
            if (inner_slot != slot) other_slot++;
        });
    });
    CHECK(inner == 30);
    CHECK(other_slot == 0);
}

TEST_CASE("a split's row blocks are whole groups of the matvecs and whole SIMD runs", "[parallel]") {
    // The float32 and F16 matvecs take rows 8 at a time and sum the leftover rows another way; an
    // element-wise kernel (the GELU of fc's split) has a SIMD body and a scalar tail.
    CHECK(parallel::kRowAlign % 8 == 0);
    CHECK(parallel::kRowAlign % ops::simd_lanes() == 0);
}

TEST_CASE("split matrix products are bitwise those of one thread, in every weight format", "[parallel]") {
    REQUIRE_THREADS();
    std::mt19937 rng(7);
    // M around the split's blocks of A = kRowAlign rows: below one, one, and a last part ending in
    // a whole 8-row group of the float32 and F16 kernels (A + 8, 200 with A = 16) or in their
    // leftover rows (A + 1, 100, 515).
    constexpr int A = parallel::kRowAlign;
    for (int M : {1, A - 1, A, A + 1, A + 8, 63, 64, 100, 200, 515}) {
        for (int K : {1, 33, 96}) {
            const auto wf = random_floats(static_cast<size_t>(M) * K, rng, 0.5f);
            std::vector<uint16_t> wh(wf.size());
            for (size_t i = 0; i < wf.size(); i++) wh[i] = to_half(wf[i]);
            std::vector<int8_t> wq(wf.size());
            for (size_t i = 0; i < wf.size(); i++) wq[i] = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
            const auto scales = random_floats(static_cast<size_t>(M) * ops::q8_groups(K), rng, 0.01f);
            const auto bias = random_floats(static_cast<size_t>(M), rng);
            for (const ops::WeightView w : {ops::WeightView::f32(wf.data()), ops::WeightView{ops::WFormat::F16, wh.data(), nullptr},
                                            ops::WeightView{ops::WFormat::Q8, wq.data(), scales.data()}}) {
                for (int N : {1, 3, 4, 7, 8, 17, 40}) {
                    const auto x = random_floats(static_cast<size_t>(N) * K, rng);
                    std::vector<float> want(static_cast<size_t>(N) * M), got(want.size());
                    ops::matmul_w(want.data(), x.data(), w, bias.data(), N, M, K);
                    // The MLP's fc: the product, then GELU over each whole row on one thread.
                    std::vector<float> want_gelu(want), want_exact(want);
                    for (int n = 0; n < N; n++) {
                        ops::gelu(want_gelu.data() + n * M, want_gelu.data() + n * M, M);
                        ops::gelu_exact(want_exact.data() + n * M, want_exact.data() + n * M, M);
                    }
                    for (int t : {1, 2, 3, 4}) {
                        Threads threads(t);
                        INFO("M " << M << " K " << K << " N " << N << " format " << format_name(w.format) << " threads " << t);
                        std::fill(got.begin(), got.end(), -1.0f);
                        parallel::matmul_w(got.data(), x.data(), w, bias.data(), N, M, K);
                        CHECK(same_bits(got.data(), want.data(), want.size()));
                        for (const auto& [act, expected] : {std::pair{parallel::Act::gelu, &want_gelu},
                                                            std::pair{parallel::Act::gelu_exact, &want_exact}}) {
                            std::fill(got.begin(), got.end(), -1.0f);
                            parallel::matmul_w(got.data(), x.data(), w, bias.data(), N, M, K, act);
                            CHECK(same_bits(got.data(), expected->data(), want.size()));
                        }
                        if (t == 1) continue;
                        if (N == 1) {
                            std::fill(got.begin(), got.end(), -1.0f);
                            parallel::matvec_w(got.data(), w, x.data(), nullptr, M, K);
                            std::vector<float> want_nb(static_cast<size_t>(M));
                            ops::matvec_w(want_nb.data(), w, x.data(), nullptr, M, K);
                            CHECK(same_bits(got.data(), want_nb.data(), want_nb.size()));
                        }
                    }
                }
            }
        }
    }
}

namespace {

// Runs a prefill of n tokens then `decode` single steps; returns every float forward leaves behind
// that matters: the logits after each call, the KV cache and the kept attention probabilities.
std::vector<float> run_model(const Model& m, const std::vector<int>& tokens, int n, int decode) {
    RunState s(m.config());
    std::vector<float> out;
    REQUIRE(forward(m, s, tokens.data(), n, 0).ok());
    out.insert(out.end(), s.logits.begin(), s.logits.end());
    for (int i = 0; i < decode; i++) {
        REQUIRE(forward(m, s, tokens.data() + n + i, 1, n + i).ok());
        out.insert(out.end(), s.logits.begin(), s.logits.end());
    }
    out.insert(out.end(), s.key_cache.begin(), s.key_cache.end());
    out.insert(out.end(), s.value_cache.begin(), s.value_cache.end());
    out.insert(out.end(), s.att.begin(), s.att.end());
    return out;
}

Model random_model(const Config& c, uint32_t seed, WeightsIn weights_in = WeightsIn::f32) {
    std::vector<std::string> vocab;
    for (int i = 0; i < c.vocab_size; i++) vocab.emplace_back(1, static_cast<char>(' ' + i));
    size_t n = 0;
    for (const auto& spec : tensor_specs(c)) {
        size_t k = 1;
        for (auto d : spec.shape) k *= static_cast<size_t>(d);
        n += k;
    }
    std::mt19937 rng(seed);
    auto params = random_floats(n, rng, 0.2f);
    return load_model(write_checkpoint(c, vocab, params), weights_in);
}

}  // namespace

TEST_CASE("forward with 2, 3 or 4 threads is bitwise forward with one", "[parallel][model]") {
    REQUIRE_THREADS();
    // The shipped model and a random one, each of whose matrices splits (the logits too: V 65 and
    // 90 are 4 and 5 blocks of kRowAlign rows), in every weights format.
    std::vector<Model> models;
    for (WeightsIn in : {WeightsIn::f32, WeightsIn::f16, WeightsIn::int8}) {
        models.push_back(load_model(read_bytes(std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors"), in));
        models.push_back(random_model(Config{2, 8, 256, 64, 90}, 11, in));
    }
    // And one whose GELU rows are not whole SIMD runs (4C = 72: with 16 lanes, each ends in the
    // scalar tail).
    models.push_back(random_model(Config{1, 3, 18, 64, 30}, 12));
    for (const Model& m : models) {
        const int T = m.config().block_size;
        std::vector<int> tokens(static_cast<size_t>(T));
        for (int i = 0; i < T; i++) tokens[static_cast<size_t>(i)] = (i * 7 + 3) % m.config().vocab_size;
        for (int n : {1, 5, 37}) {  // a prefill one row (matvec), a few (below the split), many
            const int decode = std::min(6, T - n);
            const auto want = run_model(m, tokens, n, decode);
            for (int t : {2, 3, 4}) {
                Threads threads(t);
                INFO("C " << m.config().n_embd << " format " << format_name(m.weights_format()) << " prefill " << n
                          << " threads " << t);
                const auto got = run_model(m, tokens, n, decode);
                REQUIRE(got.size() == want.size());
                CHECK(same_bits(got.data(), want.data(), want.size()));
            }
        }
    }
}

TEST_CASE("a RunState made before the pool grew still runs, on fewer scratch slots", "[parallel][model]") {
    REQUIRE_THREADS();
    const Model m = load_model(read_bytes(std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors"));
    std::vector<int> tokens(40);
    for (size_t i = 0; i < tokens.size(); i++) tokens[i] = static_cast<int>(i % 60);
    RunState one(m.config());  // one scratch slot
    REQUIRE(forward(m, one, tokens.data(), 40, 0).ok());
    const std::vector<float> want = one.logits;
    Threads threads(4);
    RunState s(m.config());
    CHECK(s.scores.size() == 4u * static_cast<size_t>(m.config().block_size));
    RunState small = std::move(one);
    REQUIRE(forward(m, small, tokens.data(), 40, 0).ok());
    CHECK(same_bits(small.logits.data(), want.data(), want.size()));
}

TEST_CASE("split products for training (gemm, matmul_backward) are bitwise those of one thread", "[parallel][train]") {
    REQUIRE_THREADS();
    std::mt19937 rng(5);
    // Columns below, at and past two split blocks (a split over rows, then over columns) and rows
    // below and above kMinPartRows' two parts; K over two k blocks (300).
    for (int M : {7, 64, 129, 300}) {
        for (int N : {3, 31, 64}) {
            for (int K : {5, 64, 300}) {
                for (int trans = 0; trans < 4; trans++) {
                    const bool ta = trans & 1, tb = trans & 2;
                    const int lda = (ta ? N : K) + 1, ldb = (tb ? K : M) + 2, ldo = M + 3;
                    const auto a = random_floats(static_cast<size_t>(ta ? K : N) * lda, rng);
                    const auto b = random_floats(static_cast<size_t>(tb ? M : K) * ldb, rng);
                    const auto start = random_floats(static_cast<size_t>(N) * ldo, rng);
                    for (bool acc : {false, true}) {
                        std::vector<float> want = start;
                        ops::gemm(want.data(), ldo, a.data(), lda, ta, b.data(), ldb, tb, 0.5f, acc, N, M, K);
                        for (int t : {2, 3}) {
                            Threads threads(t);
                            std::vector<float> got = start;
                            parallel::gemm(got.data(), ldo, a.data(), lda, ta, b.data(), ldb, tb, 0.5f, acc, N, M, K);
                            INFO("M " << M << " N " << N << " K " << K << " trans " << trans << " acc " << acc << " threads " << t);
                            CHECK(same_bits(got.data(), want.data(), want.size()));
                        }
                    }
                }
                // matmul_backward(dx, dw, dbias, dout(N, M), x(N, K), w(M, K))
                const auto dout = random_floats(static_cast<size_t>(N) * M, rng), x = random_floats(static_cast<size_t>(N) * K, rng),
                           w = random_floats(static_cast<size_t>(M) * K, rng), dw0 = random_floats(static_cast<size_t>(M) * K, rng),
                           db0 = random_floats(static_cast<size_t>(M), rng);
                std::vector<float> dx(static_cast<size_t>(N) * K), dw = dw0, db = db0;
                ops::matmul_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), N, M, K);
                for (int t : {2, 4}) {
                    Threads threads(t);
                    std::vector<float> dx2(dx.size(), -1.0f), dw2 = dw0, db2 = db0;
                    parallel::matmul_backward(dx2.data(), dw2.data(), db2.data(), dout.data(), x.data(), w.data(), N, M, K);
                    INFO("backward M " << M << " N " << N << " K " << K << " threads " << t);
                    CHECK(same_bits(dx2.data(), dx.data(), dx.size()));
                    CHECK(same_bits(dw2.data(), dw.data(), dw.size()));
                    CHECK(same_bits(db2.data(), db.data(), db.size()));
                }
            }
        }
    }
}

namespace {

// Three AdamW steps of a seeded model on fixed batches: every loss, gradient norm and the final
// parameters, gradients and attention.
std::vector<float> train_steps(const Config& c, int batch) {
    auto st = TrainState::create(c, batch, 3);
    REQUIRE(st.ok());
    TrainState& s = st.value();
    TrainSettings set;
    set.batch = batch;
    set.warmup = 1;
    std::vector<float> out;
    const int t = c.block_size;
    std::vector<int> in(static_cast<size_t>(batch) * t), tg(in.size());
    for (int step = 0; step < 3; step++) {
        for (size_t i = 0; i < in.size(); i++) {
            in[i] = static_cast<int>((i * 7 + step * 3) % c.vocab_size);
            tg[i] = static_cast<int>((i * 5 + step + 1) % c.vocab_size);
        }
        const auto loss = s.forward(in.data(), tg.data(), batch, t);
        REQUIRE(loss.ok());
        out.push_back(loss.value());
        s.backward();
        out.push_back(s.update(set, step));
    }
    out.insert(out.end(), s.params().begin(), s.params().end());
    out.insert(out.end(), s.grads().begin(), s.grads().end());
    for (int l = 0; l < c.n_layer; l++)
        for (int h = 0; h < c.n_head; h++) out.insert(out.end(), s.attention(l, batch - 1, h), s.attention(l, batch - 1, h) + t * t);
    return out;
}

}  // namespace

TEST_CASE("training steps on 2, 3 or 4 threads are bitwise those on one", "[parallel][train]") {
    REQUIRE_THREADS();
    // C 128: the projections split over columns; C 48 (and V 70): over rows. T 40 over two
    // attention row blocks; exact GELU in one.
    for (Config c : {Config{2, 4, 128, 40, 70}, Config{1, 3, 48, 16, 70, true}}) {
        const auto want = train_steps(c, 5);
        for (int t : {2, 3, 4}) {
            Threads threads(t);
            INFO("C " << c.n_embd << " threads " << t);
            const auto got = train_steps(c, 5);
            REQUIRE(got.size() == want.size());
            CHECK(same_bits(got.data(), want.data(), want.size()));
        }
    }
}

TEST_CASE("a TrainState made before the pool grew still trains, its attention backward on one thread", "[parallel][train]") {
    REQUIRE_THREADS();
    const Config c{1, 4, 64, 32, 50};
    std::vector<int> in(4 * 32), tg(in.size());
    for (size_t i = 0; i < in.size(); i++) in[i] = static_cast<int>(i % 50), tg[i] = static_cast<int>((i + 1) % 50);
    auto one = TrainState::create(c, 4, 9);
    REQUIRE(one.ok());
    REQUIRE(one.value().forward(in.data(), tg.data(), 4, 32).ok());
    one.value().backward();
    const std::vector<float> want = one.value().grads();
    auto early = TrainState::create(c, 4, 9);  // one scratch slot
    Threads threads(3);
    REQUIRE(early.value().forward(in.data(), tg.data(), 4, 32).ok());
    early.value().backward();
    CHECK(same_bits(early.value().grads().data(), want.data(), want.size()));
}
