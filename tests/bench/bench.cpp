// gpt_bench: the engine's speed, and the machine's limits beside it. Built natively (SIMD and scalar
// twins) and to wasm (run by Node); tests/bench/run.mjs runs all three and writes the report.
//
//   gpt_bench limits                       memory bandwidth and peak arithmetic of one core
//   gpt_bench model FILE [--contexts 64,128,256] [--prefill N] [--reps R] [--weights-in f32|f16|int8]
//                        [--threads N] [--no-kernels]
//                                          kernels at the model's shapes (one thread), decode and
//                                          prefill speed on N threads (engine/parallel.h; with N > 1
//                                          decode on one thread too, in turn, and their ratio), the
//                                          streamed load's time and peak, in a weights format
//   gpt_bench train PRESET [--steps S] [--threads N]     training speed of a preset (engine/trainer.h)
//   gpt_bench weights [--reps R]           matvec with W as float32, float16 and int8 (issue 14) at
//                                          GPT-2 small's shapes: time, GB/s of W read, ratios;
//                                          int8's quantization of 128 rows of x, SIMD and scalar
//   gpt_bench split [--threads N] [--reps R]
//                                          what a split over threads costs (8 empty tasks), memory
//                                          bandwidth, and a GPT-2 small token's matrix-vector
//                                          products alone in f32, f16 and int8, on 1 and on N
//                                          threads (engine/parallel.h)
// Prints one JSON object on stdout. Every figure is the median of several timed runs after a warm-up;
// every kernel is checked against its scalar twin before it is timed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#ifdef __EMSCRIPTEN__
#include <emscripten/heap.h>
#else
#include <sys/resource.h>
#include <time.h>
#endif

#include "aligned.h"
#include "generator.h"
#include "loader.h"
#include "weights_format.h"
#include "model.h"
#include "parallel.h"
#include "trainer.h"
#include "ops/ops.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Median seconds per call of fn over `reps` timed runs, each repeating fn until at least
// min_seconds have passed (so short kernels are timed over many calls), after one warm-up run.
template <class F>
double time_median(F fn, int reps = 7, double min_seconds = 0.05) {
    fn();
    std::vector<double> t;
    for (int r = 0; r < reps; r++) {
        long calls = 0;
        const auto t0 = Clock::now();
        double s;
        do {
            fn();
            calls++;
        } while ((s = seconds_since(t0)) < min_seconds);
        t.push_back(s / calls);
    }
    return median(t);
}

std::string json_number(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return buf;
}

const char* build_name() {
#ifdef __EMSCRIPTEN__
    return "wasm";
#else
    return GPT_SIMD ? "native-simd" : "native-scalar";
#endif
}

std::string kernels_name() { return GPT_SIMD ? gpt::ops::simd_arch_name() : "scalar"; }

uint64_t peak_memory_bytes() {
#ifdef __EMSCRIPTEN__
    return emscripten_get_heap_size();  // the wasm heap only grows: its size is the high-water mark
#else
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<uint64_t>(u.ru_maxrss) * 1024;
#endif
}

// ---- limits ----

int cmd_limits() {
    // Streaming read of a buffer far larger than the caches.
    const long n = 64L << 20;  // 64 Mi floats = 256 MiB, on cache lines as the model's weights
    gpt::aligned_vector<float> buf(static_cast<size_t>(n), 1.0f);
    float sink = 0;
    const double t_read = time_median([&] { sink += gpt::ops::sum(buf.data(), n); }, 5, 0.2);
    const double bandwidth = n * 4.0 / t_read;
    // Multiply-adds on registers only.
    const long iters = 1L << 22;
    const double t_fma = time_median([&] { sink += gpt::ops::fma_peak(iters); }, 5, 0.2);
    const double peak = static_cast<double>(iters) * gpt::ops::fma_peak_flops() / t_fma;
    std::printf("{\"build\": \"%s\", \"kernels\": \"%s\", \"bandwidth_GBps\": %s, \"peak_GFLOPs\": %s, \"sink\": %s}\n",
                build_name(), kernels_name().c_str(), json_number(bandwidth / 1e9).c_str(), json_number(peak / 1e9).c_str(),
                json_number(sink != 0 ? 1 : 0).c_str());
    return 0;
}

// ---- model ----

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// Checks the active kernel against its scalar twin on the data it is about to be timed on.
bool close_to_scalar(const std::vector<float>& got, const std::vector<float>& want, int K) {
    for (size_t i = 0; i < got.size(); i++) {
        if (std::fabs(got[i] - want[i]) > 1e-5 * K * (1 + std::fabs(want[i]))) return false;
    }
    return true;
}

std::string bench_kernels(const gpt::Config& c, int N, int reps) {
    const int C = c.n_embd;
    struct Shape {
        const char* name;
        int M, K;
    };
    const Shape shapes[] = {{"qkv", 3 * C, C}, {"attn_proj", C, C}, {"fc", 4 * C, C}, {"mlp_proj", C, 4 * C},
                            {"lm_head", c.vocab_size, C}};
    std::mt19937 rng(1);
    std::ostringstream out;
    out << "[";
    bool first = true;
    for (const Shape& s : shapes) {
        const auto w = random_vector(static_cast<size_t>(s.M) * s.K, rng);
        const auto x = random_vector(static_cast<size_t>(N) * s.K, rng);
        std::vector<float> y(static_cast<size_t>(N) * s.M), ref(y.size());
        // matvec: one row; matmul: N rows (a prefill).
        gpt::ops::matvec(y.data(), w.data(), x.data(), nullptr, s.M, s.K);
        gpt::ops::scalar::matvec(ref.data(), w.data(), x.data(), nullptr, s.M, s.K);
        const bool mv_ok = close_to_scalar({y.begin(), y.begin() + s.M}, {ref.begin(), ref.begin() + s.M}, s.K);
        gpt::ops::matmul(y.data(), x.data(), w.data(), nullptr, N, s.M, s.K);
        gpt::ops::scalar::matmul(ref.data(), x.data(), w.data(), nullptr, N, s.M, s.K);
        const bool mm_ok = close_to_scalar(y, ref, s.K);
        if (!mv_ok || !mm_ok) {
            std::fprintf(stderr, "gpt_bench: %s kernel disagrees with its scalar twin\n", s.name);
            std::exit(1);
        }
        const double t_mv = time_median([&] { gpt::ops::matvec(y.data(), w.data(), x.data(), nullptr, s.M, s.K); }, reps);
        const double t_mv_scalar =
            time_median([&] { gpt::ops::scalar::matvec(y.data(), w.data(), x.data(), nullptr, s.M, s.K); }, reps);
        // The head runs on one row only, even in a prefill: its matmul is not part of the model's work.
        const bool head = std::string(s.name) == "lm_head";
        const double t_mm = head ? 0 : time_median([&] { gpt::ops::matmul(y.data(), x.data(), w.data(), nullptr, N, s.M, s.K); }, reps);
        const double flops_mv = 2.0 * s.M * s.K;
        out << (first ? "" : ", ") << "{\"name\": \"" << s.name << "\", \"M\": " << s.M << ", \"K\": " << s.K
            << ", \"N\": " << N << ", \"matvec_GFLOPs\": " << json_number(flops_mv / t_mv / 1e9)
            << ", \"matvec_scalar_GFLOPs\": " << json_number(flops_mv / t_mv_scalar / 1e9)
            << ", \"matmul_GFLOPs\": " << (head ? std::string("null") : json_number(flops_mv * N / t_mm / 1e9)) << "}";
        first = false;
    }
    out << "]";
    return out.str();
}

int cmd_model(const std::string& path, const std::vector<int>& contexts, int prefill_n, int reps, gpt::WeightsIn weights_in,
              bool kernel_shapes, int threads) {
    // Streamed from the file a MiB at a time, as the CLI and the page load (loader.h): the peak is
    // the model, not file + model. The format defaults to float32 (under auto a GPT-2-small-sized
    // model would be int8: README, "Weights in memory").
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) {
        std::fprintf(stderr, "gpt_bench: cannot open %s\n", path.c_str());
        return 1;
    }
    const uint64_t size = static_cast<uint64_t>(f.tellg());
    f.seekg(0);
    std::vector<uint8_t> piece(1 << 20);
    gpt::ModelLoader loader({}, size, UINT64_MAX, weights_in);
    const auto t_load0 = Clock::now();
    gpt::Status fed;
    while (fed && f) {
        f.read(reinterpret_cast<char*>(piece.data()), static_cast<std::streamsize>(piece.size()));
        fed = loader.feed(piece.data(), static_cast<size_t>(f.gcount()));
    }
    auto loaded = fed ? loader.finish() : gpt::Result<gpt::Model>::fail(fed.error);
    if (!loaded) {
        std::fprintf(stderr, "gpt_bench: %s\n", loaded.error().c_str());
        return 1;
    }
    const double load_s = seconds_since(t_load0);
    const uint64_t load_peak = loader.peak_bytes() + piece.size();
    const gpt::Model& m = loaded.value();
    const gpt::Config& c = m.config();
    const int T = c.block_size;
    prefill_n = std::min(prefill_n > 0 ? prefill_n : T, T);

    std::mt19937 rng(7);
    std::vector<int> tokens(static_cast<size_t>(T));
    for (auto& t : tokens) t = static_cast<int>(rng() % static_cast<unsigned>(c.vocab_size));

    const std::string kernels = kernel_shapes ? bench_kernels(c, prefill_n, reps) : "null";
    // After the kernels (timed on one thread), before the RunState (its scratch is per thread).
    threads = gpt::parallel::set_threads(threads);

    gpt::RunState s(c, gpt::kGenerateRows);  // as a Generator's: prompts longer go in chunks
    gpt::Sampler sampler(c.vocab_size);
    gpt::Rng r(1);
    std::vector<float> probs(static_cast<size_t>(c.vocab_size));
    gpt::SamplerSettings settings;
    const int steps_per_decode = 8;

    // Decode at context n: the time of one step (forward with attention capture, then sampling)
    // at positions n-8 .. n-1, after a prefill of the positions before; each repetition decodes the
    // same positions again (they rewrite the same keys and values). With more than one thread, each
    // repetition also times the same steps on one thread, right before: the two see the same
    // machine, so their ratio holds where this machine's speed drifts by tens of percent from one
    // run to the next (decode_speedup: the median of those ratios).
    const auto decode_step_s = [&](int n) {
        const auto t0 = Clock::now();
        for (int p = n - steps_per_decode; p < n; p++) {
            gpt::forward(m, s, &tokens[static_cast<size_t>(p)], 1, p);
            sampler.sample(s.logits.data(), settings, r, probs.data());
        }
        return seconds_since(t0) / steps_per_decode;
    };
    std::ostringstream decode, decode_one, speedup;
    for (size_t i = 0; i < contexts.size(); i++) {
        const int n = std::min(contexts[i], T);
        std::vector<double> per_token, per_token_one, ratio;
        gpt::prefill(m, s, tokens.data(), n - steps_per_decode);
        for (int rep = 0; rep < reps + 1; rep++) {
            if (threads > 1) {
                gpt::parallel::set_threads(1);
                const double one = decode_step_s(n);
                gpt::parallel::set_threads(threads);
                if (rep > 0) per_token_one.push_back(one);
            }
            const double t = decode_step_s(n);
            if (rep == 0) continue;  // rep 0 warms up
            per_token.push_back(t);
            if (threads > 1) ratio.push_back(per_token_one.back() / t);
        }
        const char* sep = i ? ", " : "";
        const std::string key = "\"" + std::to_string(n) + "\": ";
        decode << sep << key << json_number(1.0 / median(per_token));
        if (threads > 1) {
            decode_one << sep << key << json_number(1.0 / median(per_token_one));
            speedup << sep << key << json_number(median(ratio));
        }
    }
    const std::string decode_json = "{" + decode.str() + "}";
    const std::string paired_json = threads > 1 ? ", \"decode_one_thread_tok_s\": {" + decode_one.str() +
                                                      "}, \"decode_speedup\": {" + speedup.str() + "}"
                                                : "";

    std::vector<double> t_prefill;
    for (int rep = 0; rep < reps + 1; rep++) {
        const auto t0 = Clock::now();
        gpt::prefill(m, s, tokens.data(), prefill_n);
        if (rep > 0) t_prefill.push_back(seconds_since(t0));
    }
    const double prefill_tps = prefill_n / median(t_prefill);
    // Arithmetic of one prefill: the linear layers (2 flops per weight per row, lm_head for the last
    // row only) and attention (QK^T and AV over p+1 keys at row p).
    const double C = c.n_embd, L = c.n_layer;
    const double linear = 2.0 * L * 12 * C * C * prefill_n + 2.0 * c.vocab_size * C;
    const double attention = 2.0 * 2 * L * C * (static_cast<double>(prefill_n) * (prefill_n + 1) / 2);

    const gpt::MemoryNeeds needs = gpt::memory_needs(c, !m.weights().tied(), m.weights_format());
    std::printf("{\"build\": \"%s\", \"kernels\": \"%s\", \"model\": \"%s\", \"weights_in\": \"%s\", \"params\": %zu, "
                "\"n_layer\": %d, \"n_head\": %d, \"n_embd\": %d, \"block_size\": %d, \"vocab_size\": %d, "
                "\"weight_bytes\": %llu, \"state_bytes\": %llu, \"threads\": %d, \"load_s\": %s, \"load_peak_bytes\": %llu, "
                "\"decode_tok_s\": %s%s, \"prefill_tokens\": %d, \"prefill_tok_s\": %s, "
                "\"prefill_GFLOPs\": %s, \"kernel_shapes\": %s, \"peak_memory_bytes\": %llu}\n",
                build_name(), kernels_name().c_str(), path.c_str(), gpt::format_name(m.weights_format()), m.num_params(),
                c.n_layer, c.n_head, c.n_embd, T, c.vocab_size, static_cast<unsigned long long>(needs.weights),
                static_cast<unsigned long long>(needs.state), threads, json_number(load_s).c_str(),
                static_cast<unsigned long long>(load_peak),
                decode_json.c_str(), paired_json.c_str(), prefill_n, json_number(prefill_tps).c_str(),
                json_number((linear + attention) / median(t_prefill) / 1e9).c_str(), kernels.c_str(),
                static_cast<unsigned long long>(peak_memory_bytes()));
    return 0;
}

// ---- weights ----

// matvec of one row against W(M, K) stored as F32, F16 and Q8 (the same N(0, 0.02) weights, as
// GPT-2's: some halves are subnormal), at GPT-2 small's Linear shapes. Decoding is one matvec per
// layer and token: memory-bound, so the compact formats should approach their byte ratio.
int cmd_weights(int reps) {
    struct Shape {
        const char* name;
        int M, K;
    };
    const Shape shapes[] = {{"qkv", 3 * 768, 768}, {"fc", 3072, 768}, {"mlp_proj", 768, 3072}, {"lm_head", 50257, 768}};
    std::mt19937 rng(5);
    std::ostringstream out;
    out << "{\"build\": \"" << build_name() << "\", \"kernels\": \"" << kernels_name() << "\", \"shapes\": [";
    for (size_t si = 0; si < std::size(shapes); si++) {
        const Shape& s = shapes[si];
        const size_t n = static_cast<size_t>(s.M) * s.K;
        const int G = gpt::ops::q8_groups(s.K);
        std::vector<float> wf = random_vector(n, rng);
        for (auto& v : wf) v *= 0.02f;
        std::vector<uint16_t> wh(n);
        gpt::to_f16_row(wh.data(), wf.data(), static_cast<int>(n));
        std::vector<int8_t> wq(n);
        std::vector<float> scales(static_cast<size_t>(s.M) * G);
        for (int m = 0; m < s.M; m++) {
            gpt::quantize_q8_row(wq.data() + static_cast<size_t>(m) * s.K, scales.data() + static_cast<size_t>(m) * G,
                                 wf.data() + static_cast<size_t>(m) * s.K, s.K);
        }
        const auto x = random_vector(static_cast<size_t>(s.K), rng);
        std::vector<float> y(static_cast<size_t>(s.M)), ref(y.size());
        const gpt::ops::WeightView views[] = {gpt::ops::WeightView::f32(wf.data()), {gpt::ops::WFormat::F16, wh.data(), nullptr},
                                              {gpt::ops::WFormat::Q8, wq.data(), scales.data()}};
        const char* names[] = {"f32", "f16", "q8"};
        const double bytes[] = {4.0 * n, 2.0 * n, 1.0 * n + 4.0 * scales.size()};
        for (int f = 0; f < 3; f++) {
            gpt::ops::matvec_w(y.data(), views[f], x.data(), nullptr, s.M, s.K);
            gpt::ops::scalar::matvec_w(ref.data(), views[f], x.data(), nullptr, s.M, s.K);
            if (!close_to_scalar(y, ref, s.K)) {
                std::fprintf(stderr, "gpt_bench: %s matvec_w (%s) disagrees with its scalar twin\n", s.name, names[f]);
                std::exit(1);
            }
        }
        // The three formats take turns within each repetition, and each ratio is the median of the
        // per-repetition ratios: a busy machine slows neighbouring timings alike.
        std::vector<double> times[3], r16, r8;
        for (int rep = 0; rep < reps; rep++) {
            for (int f = 0; f < 3; f++)
                times[f].push_back(time_median([&] { gpt::ops::matvec_w(y.data(), views[f], x.data(), nullptr, s.M, s.K); }, 1));
            r16.push_back(times[0].back() / times[1].back());
            r8.push_back(times[0].back() / times[2].back());
        }
        const double t[3] = {median(times[0]), median(times[1]), median(times[2])};
        // matmul_w of a 128-token prefill (F16: the float GEMM widening while it packs; Q8: the
        // integer GEMM); not for the head, which runs on one row.
        const bool head = std::string(s.name) == "lm_head";
        const int N = 128;
        const auto xs = random_vector(static_cast<size_t>(N) * s.K, rng);
        std::vector<float> ys(head ? 0 : static_cast<size_t>(N) * s.M);
        double tm[3] = {0, 0, 0};
        for (int f = 0; f < 3 && !head; f++)
            tm[f] = time_median([&] { gpt::ops::matmul_w(ys.data(), xs.data(), views[f], nullptr, N, s.M, s.K); }, 3);
        // The int8 products' quantization of x (128 rows), SIMD against its twin: what each thread's
        // part of a two-thread int8 prefill repeats.
        std::vector<int16_t> xq(static_cast<size_t>(N) * s.K);
        std::vector<float> xsc(static_cast<size_t>(N) * G);
        const auto quantize = [&](auto kernel) {
            for (int r = 0; r < N; r++)
                kernel(xq.data() + static_cast<size_t>(r) * s.K, xsc.data() + static_cast<size_t>(r) * G,
                       xs.data() + static_cast<size_t>(r) * s.K, s.K);
        };
        const double tq = time_median([&] { quantize(gpt::ops::quantize_x16); }, 3);
        const double tq_scalar = time_median([&] { quantize(gpt::ops::scalar::quantize_x16); }, 3);
        out << (si ? ", " : "") << "{\"name\": \"" << s.name << "\", \"M\": " << s.M << ", \"K\": " << s.K;
        for (int f = 0; f < 3; f++) {
            out << ", \"" << names[f] << "_us\": " << json_number(t[f] * 1e6) << ", \"" << names[f]
                << "_GBps\": " << json_number(bytes[f] / t[f] / 1e9);
        }
        for (int f = 0; f < 3; f++)
            out << ", \"" << names[f] << "_matmul128_GFLOPs\": " << (head ? std::string("null") : json_number(2.0 * N * n / tm[f] / 1e9));
        out << ", \"quantize128_us\": " << json_number(tq * 1e6) << ", \"quantize128_scalar_us\": " << json_number(tq_scalar * 1e6);
        out << ", \"f16_speedup\": " << json_number(median(r16)) << ", \"q8_speedup\": " << json_number(median(r8)) << "}";
    }
    out << "]}";
    std::printf("%s\n", out.str().c_str());
    return 0;
}

// ---- train ----

// This thread's CPU time: what a busy machine (other processes on the same cores) disturbs less than
// the wall clock. In wasm there is none; the wall clock stands in.
double thread_cpu_seconds() {
#ifdef __EMSCRIPTEN__
    return seconds_since(Clock::time_point());
#else
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
#endif
}

// Training steps of a preset on a random text of 65 characters (the work does not depend on the
// text): tokens/s and the arithmetic rate (flops per step: gpt::train_flops_per_step).
int cmd_train(const std::string& name, int steps, int threads) {
    const gpt::Preset* p = gpt::find_preset(name);
    if (!p) {
        std::fprintf(stderr, "gpt_bench: unknown preset %s\n", name.c_str());
        return 2;
    }
    threads = gpt::parallel::set_threads(threads);  // before the trainer sizes its per-thread scratch
    std::mt19937 rng(3);
    std::string text;
    for (int i = 0; i < 200000; i++) text += static_cast<char>(' ' + (i < 65 ? i : static_cast<int>(rng() % 65)));
    gpt::Config arch;
    arch.n_layer = p->n_layer, arch.n_head = p->n_head, arch.n_embd = p->n_embd, arch.block_size = p->block_size;
    gpt::TrainSettings s;
    s.batch = p->batch;
    auto t = gpt::Trainer::create(text, arch, s, 1, false);
    if (!t) {
        std::fprintf(stderr, "gpt_bench: %s\n", t.error().c_str());
        return 1;
    }
    // Warm-up: at least one step, and steps for a second, which in wasm is when V8 has its
    // optimised code in (it compiles that on background threads, which meanwhile take a core from
    // a second thread of ours: a 0.2 s run of the tiny preset was slower on two threads than one).
    const auto warm0 = Clock::now();
    do t->step();
    while (seconds_since(warm0) < 1.0);
    std::vector<double> per_step, cpu_per_step;
    for (int i = 0; i < steps; i++) {
        const auto t0 = Clock::now();
        const double c0 = thread_cpu_seconds();
        t->step();
        cpu_per_step.push_back(thread_cpu_seconds() - c0);
        per_step.push_back(seconds_since(t0));
    }
    const gpt::Config& c = t->config();
    const double tokens = static_cast<double>(t->tokens_per_step()), flops = gpt::train_flops_per_step(c, s.batch);
    const double step_s = median(per_step);
    std::printf("{\"build\": \"%s\", \"kernels\": \"%s\", \"preset\": \"%s\", \"params\": %zu, \"n_layer\": %d, "
                "\"n_head\": %d, \"n_embd\": %d, \"block_size\": %d, \"batch\": %d, \"vocab_size\": %d, \"step_s\": %s, "
                "\"cpu_step_s\": %s, \"tok_s\": %s, \"GFLOPs\": %s, \"memory_bytes\": %llu, \"threads\": %d}\n",
                build_name(), kernels_name().c_str(), p->name, t->state().params().size(), c.n_layer, c.n_head, c.n_embd,
                c.block_size, s.batch, c.vocab_size, json_number(step_s).c_str(), json_number(median(cpu_per_step)).c_str(),
                json_number(tokens / step_s).c_str(),
                json_number(flops / step_s / 1e9).c_str(),
                static_cast<unsigned long long>(gpt::train_memory(c, s.batch)), threads);
    return 0;
}

// ---- split ----

// Seconds per call of fn on one thread and on `threads` (medians), and the median of their ratios:
// each repetition times one thread, then `threads`, back to back, so both see the machine alike.
struct Paired {
    double one, many, speedup;
};
template <class F>
Paired time_paired(F fn, int threads, int reps) {
    std::vector<double> t1, tn, ratio;
    for (int rep = 0; rep < reps; rep++) {
        gpt::parallel::set_threads(1);
        t1.push_back(time_median(fn, 1, 0.2));
        gpt::parallel::set_threads(threads);
        tn.push_back(time_median(fn, 1, 0.2));
        ratio.push_back(t1.back() / tn.back());
    }
    return {median(t1), median(tn), median(ratio)};
}

// A split's own cost (parallel::run of 8 empty tasks), the machine's memory bandwidth, and decode's
// matrix-vector products without the rest of a token: the 49 matrices of GPT-2 small (per layer
// qkv, attention's projection, fc, the MLP's projection; then the logits), random, in turn through
// parallel::matvec_w, on one thread and on `threads`, alternating within each repetition. Where two
// threads speed the products up less than twice, this tells whether the products or the rest of the
// token are why, and the bandwidth whether the memory is.
int cmd_split(int threads, int reps) {
    threads = std::max(2, threads);
    std::ostringstream out;
    out << "{\"build\": \"" << build_name() << "\", \"threads\": " << gpt::parallel::set_threads(threads);
    const int calls = 20000;
    const double t_split = time_median([&] {
        for (int c = 0; c < calls; c++) gpt::parallel::parallel_for(8, [](int, int) {});
    }, reps) / calls;
    out << ", \"split_us\": " << json_number(t_split * 1e6);

    // The memory both cores share: a streaming sum of 256 MiB, whole on one thread, then in one
    // contiguous part per thread. Decode reads every weight once per token; float32's weights come
    // from memory at about one core's bandwidth, so two threads speed them up about as much as
    // they speed this up, and no more.
    {
        const long n = 64L << 20;
        gpt::aligned_vector<float> buf(static_cast<size_t>(n), 1.0f);
        std::vector<float> part_sum(gpt::parallel::kMaxThreads);
        float sink = 0;
        const auto stream = [&] {
            const int parts = gpt::parallel::threads();
            gpt::parallel::parallel_for(parts, [&](int part, int) {
                const long i0 = n * part / parts, i1 = n * (part + 1) / parts;
                part_sum[part] = gpt::ops::sum(buf.data() + i0, i1 - i0);
            });
            for (int p = 0; p < parts; p++) sink += part_sum[p];
        };
        const Paired t = time_paired(stream, threads, reps);
        out << ", \"bandwidth_GBps\": [" << json_number(n * 4.0 / t.one / 1e9) << ", " << json_number(n * 4.0 / t.many / 1e9)
            << "], \"bandwidth_speedup\": " << json_number(t.speedup) << ", \"sink\": " << (sink != 0 ? 1 : 0);
    }

    struct Shape {
        int M, K;
    };
    std::vector<Shape> shapes;
    for (int l = 0; l < 12; l++) shapes.insert(shapes.end(), {{3 * 768, 768}, {768, 768}, {4 * 768, 768}, {768, 4 * 768}});
    shapes.push_back({50257, 768});
    std::mt19937 rng(9);
    std::vector<float> x(4 * 768), y(50257);
    for (auto& v : x) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
    for (const char* format : {"f32", "f16", "int8"}) {
        const bool q8 = std::string(format) == "int8", f32 = std::string(format) == "f32";
        std::vector<std::vector<float>> floats;
        std::vector<std::vector<uint16_t>> halves;
        std::vector<std::vector<int8_t>> q;
        std::vector<std::vector<float>> scales;
        std::vector<gpt::ops::WeightView> views;
        for (const Shape& sh : shapes) {
            const size_t n = static_cast<size_t>(sh.M) * sh.K;
            if (q8) {
                q.emplace_back(n);
                for (auto& v : q.back()) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
                scales.emplace_back(static_cast<size_t>(sh.M) * gpt::ops::q8_groups(sh.K), 1e-3f);
                views.push_back({gpt::ops::WFormat::Q8, q.back().data(), scales.back().data()});
            } else if (f32) {
                floats.emplace_back(n);
                for (auto& v : floats.back()) v = static_cast<float>(static_cast<int>(rng() & 0xFFF) - 0x800) * 1e-5f;
                views.push_back(gpt::ops::WeightView::f32(floats.back().data()));
            } else {
                halves.emplace_back(n);
                for (auto& v : halves.back()) v = static_cast<uint16_t>(0x1C00 + (rng() & 0x83FF));  // |w| in [2^-8, 2^-7)
                views.push_back({gpt::ops::WFormat::F16, halves.back().data(), nullptr});
            }
        }
        const auto token = [&] {
            for (size_t i = 0; i < shapes.size(); i++)
                gpt::parallel::matvec_w(y.data(), views[i], x.data(), nullptr, shapes[i].M, shapes[i].K);
        };
        const Paired t = time_paired(token, threads, reps);
        out << ", \"" << format << "_products_ms\": [" << json_number(t.one * 1e3) << ", " << json_number(t.many * 1e3)
            << "], \"" << format << "_speedup\": " << json_number(t.speedup);
    }
    out << "}";
    std::printf("%s\n", out.str().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "limits") return cmd_limits();
    if (!args.empty() && args[0] == "weights") {
        const int reps = args.size() >= 3 && args[1] == "--reps" ? std::max(1, std::atoi(args[2].c_str())) : 7;
        return cmd_weights(reps);
    }
    if (args.size() >= 2 && args[0] == "model") {
        std::vector<int> contexts = {64, 128, 256};
        int prefill = 0, reps = 5, threads = 1;
        gpt::WeightsIn weights_in = gpt::WeightsIn::f32;
        bool kernel_shapes = true;
        for (size_t i = 2; i < args.size(); i += 2) {
            if (args[i] == "--no-kernels") {
                kernel_shapes = false;
                i--;
                continue;
            }
            if (i + 1 >= args.size()) break;
            if (args[i] == "--weights-in") {
                auto w = gpt::parse_weights_in(args[i + 1]);
                if (!w) {
                    std::fprintf(stderr, "gpt_bench: --weights-in: %s\n", w.error().c_str());
                    return 2;
                }
                weights_in = w.value();
            } else if (args[i] == "--contexts") {
                contexts.clear();
                std::stringstream ss(args[i + 1]);
                for (std::string part; std::getline(ss, part, ',');) contexts.push_back(std::atoi(part.c_str()));
            } else if (args[i] == "--prefill") {
                prefill = std::atoi(args[i + 1].c_str());
            } else if (args[i] == "--reps") {
                reps = std::max(1, std::atoi(args[i + 1].c_str()));
            } else if (args[i] == "--threads") {
                threads = std::max(1, std::atoi(args[i + 1].c_str()));
            }
        }
        return cmd_model(args[1], contexts, prefill, reps, weights_in, kernel_shapes, threads);
    }
    if (!args.empty() && args[0] == "split") {
        int threads = 2, reps = 5;
        for (size_t i = 1; i + 1 < args.size(); i += 2) {
            if (args[i] == "--threads") threads = std::atoi(args[i + 1].c_str());
            else if (args[i] == "--reps") reps = std::max(1, std::atoi(args[i + 1].c_str()));
        }
        return cmd_split(threads, reps);
    }
    if (args.size() >= 2 && args[0] == "train") {
        int steps = 10, threads = 1;
        for (size_t i = 2; i + 1 < args.size(); i += 2) {
            if (args[i] == "--steps") steps = std::max(1, std::atoi(args[i + 1].c_str()));
            else if (args[i] == "--threads") threads = std::max(1, std::atoi(args[i + 1].c_str()));
        }
        return cmd_train(args[1], steps, threads);
    }
    std::fprintf(stderr, "usage: gpt_bench limits | gpt_bench weights [--reps R] | gpt_bench split [--threads N] [--reps R] | gpt_bench train PRESET [--steps S] [--threads N] | gpt_bench model FILE [--contexts 64,128,256] [--prefill N] [--reps R] [--weights-in f32|f16|int8] [--threads N] [--no-kernels]\n");
    return 2;
}
