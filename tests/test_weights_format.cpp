// Compact weights (issue 14): the load-time conversions (weights_format.h), a model kept in f16 or
// int8 (exactly the conversion of what the file holds, any layout), its memory accounting, and its
// accuracy against float32: f16 parity on an F16 file, the shipped model's int8 loss and greedy
// agreement, and the KL divergence of the next-token distribution on a GPT-2-shaped random model.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bad_files.h"
#include "checkpoint.h"
#include "generator.h"
#include "golden.h"
#include "helpers.h"
#include "loss.h"
#include "model.h"
#include "safetensors.h"
#include "train.h"
#include "weights_format.h"

using namespace gpt;
using ops::WFormat;

namespace {

Model load_as(const std::vector<uint8_t>& bytes, WeightsIn w) {
    auto m = Model::load(bytes.data(), bytes.size(), UINT64_MAX, w);
    INFO(m.error());
    REQUIRE(m.ok());
    return m.take();
}

CheckpointFiles hf_files(const std::vector<uint8_t>& weights, const std::string& tokenizer, const std::string& config) {
    CheckpointFiles f;
    f.weights = weights.data();
    f.weights_size = weights.size();
    f.tokenizer_json = tokenizer;
    f.config_json = config;
    return f;
}

// Every weight matrix of `m` (any format) against the conversion of the float32 model's rows.
void require_converted(const Model& m, const Model& f32) {
    REQUIRE(f32.weights_format() == WFormat::F32);
    std::vector<TensorSpec> specs = tensor_specs(m.config());
    specs.push_back(lm_head_spec(m.config()));
    for (const TensorSpec& s : specs) {
        if (!s.matrix()) continue;
        INFO(s.name);
        const ops::WeightView got = s.view(m.weights()), src = s.view(f32.weights());
        const int M = static_cast<int>(s.shape[0]), K = static_cast<int>(s.shape[1]);
        std::vector<uint16_t> h(static_cast<size_t>(K));
        std::vector<int8_t> q(static_cast<size_t>(K));
        std::vector<float> sc(static_cast<size_t>(ops::q8_groups(K)));
        for (int r = 0; r < M; r++) {
            const float* row = src.as_f32() + static_cast<size_t>(r) * K;
            if (m.weights_format() == WFormat::F16) {
                REQUIRE(to_f16_row(h.data(), row, K) == -1);
                REQUIRE(std::memcmp(h.data(), static_cast<const uint16_t*>(got.data) + static_cast<size_t>(r) * K, 2 * K) == 0);
            } else {
                quantize_q8_row(q.data(), sc.data(), row, K);
                REQUIRE(std::memcmp(q.data(), static_cast<const int8_t*>(got.data) + static_cast<size_t>(r) * K, K) == 0);
                REQUIRE(std::memcmp(sc.data(), got.scales + static_cast<size_t>(r) * ops::q8_groups(K), 4 * sc.size()) == 0);
            }
        }
    }
}

// The logits of every row of one prefill over tokens, (n, V).
std::vector<float> all_logits(const Model& m, const std::vector<int>& tokens) {
    RunState s(m.config());
    const int n = static_cast<int>(tokens.size()), V = m.config().vocab_size;
    REQUIRE(forward(m, s, tokens.data(), n, 0).ok());
    std::vector<float> out(static_cast<size_t>(n) * V);
    for (int i = 0; i < n; i++) logits_of_row(m, s, i, out.data() + static_cast<size_t>(i) * V);
    return out;
}

// KL(p || q) of softmax(a) and softmax(b), in double.
double kl(const float* a, const float* b, int V) {
    double ma = a[0], mb = b[0];
    for (int i = 1; i < V; i++) ma = std::max(ma, double(a[i])), mb = std::max(mb, double(b[i]));
    double za = 0, zb = 0;
    for (int i = 0; i < V; i++) za += std::exp(a[i] - ma), zb += std::exp(b[i] - mb);
    double d = 0;
    for (int i = 0; i < V; i++) {
        const double lp = a[i] - ma - std::log(za), lq = b[i] - mb - std::log(zb);
        d += std::exp(lp) * (lp - lq);
    }
    return d;
}

int argmax(const float* x, int n) { return static_cast<int>(std::max_element(x, x + n) - x); }

}  // namespace

TEST_CASE("float -> half rounds to nearest even and gives back every finite half exactly", "[weights]") {
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00) continue;  // infinities and NaN: never in a model
        const float f = safetensors::half_to_float(static_cast<uint16_t>(h));
        INFO(h);
        REQUIRE(float_to_half(f) == h);
    }
    // Halfway cases go to the even neighbour; just past halfway rounds up.
    REQUIRE(float_to_half(1.0f + 1.0f / 2048) == 0x3C00);              // 1 + 2^-11: tie -> 1.0 (even)
    REQUIRE(float_to_half(1.0f + 3.0f / 2048) == 0x3C02);              // tie -> the even 1 + 2^-9
    REQUIRE(float_to_half(std::nextafter(1.0f + 1.0f / 2048, 2.0f)) == 0x3C01);
    REQUIRE(float_to_half(std::ldexp(1.5f, -24)) == 0x0002);           // subnormal tie 1.5 -> 2
    REQUIRE(float_to_half(std::ldexp(2.5f, -24)) == 0x0002);           // subnormal tie 2.5 -> 2
    REQUIRE(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);           // half the smallest: tie -> 0
    REQUIRE(float_to_half(std::ldexp(1.0f, -15)) == 0x0200);           // a subnormal, exactly
    REQUIRE(float_to_half(-0.0f) == 0x8000);
    REQUIRE(float_to_half(65519.0f) == 0x7BFF);                        // rounds down to 65504
    REQUIRE(float_to_half(65520.0f) == 0x7C00);                        // halfway past the largest: inf
    const float row[3] = {1.0f, -70000.0f, 2.0f};
    uint16_t out[3];
    REQUIRE(to_f16_row(out, row, 3) == 1);
}

TEST_CASE("int8 rows: scale max|w|/127 per 32 along K, |error| <= scale/2, 0 for an all-zero group", "[weights]") {
    std::mt19937 rng(5);
    for (int K : {1, 31, 32, 33, 64, 100}) {
        std::vector<float> w = random_floats(static_cast<size_t>(K), rng, 0.5f);
        if (K >= 64) std::fill(w.begin() + 32, w.begin() + 64, 0.0f);  // an all-zero group
        std::vector<int8_t> q(static_cast<size_t>(K));
        std::vector<float> sc(static_cast<size_t>(ops::q8_groups(K)));
        quantize_q8_row(q.data(), sc.data(), w.data(), K);
        INFO("K " << K);
        for (int g = 0; g < ops::q8_groups(K); g++) {
            float amax = 0;
            int qmax = 0;
            for (int k = g * 32; k < std::min(K, g * 32 + 32); k++) {
                amax = std::max(amax, std::fabs(w[static_cast<size_t>(k)]));
                qmax = std::max(qmax, std::abs(int(q[static_cast<size_t>(k)])));
            }
            REQUIRE(sc[static_cast<size_t>(g)] == amax / 127.0f);
            REQUIRE(qmax == (amax > 0 ? 127 : 0));
        }
        for (int k = 0; k < K; k++) {
            const float s = sc[static_cast<size_t>(k / 32)];
            REQUIRE(std::fabs(q[static_cast<size_t>(k)] * s - w[static_cast<size_t>(k)]) <= s / 2 * (1 + 1e-6f));
        }
    }
}

TEST_CASE("int8 rows: q = round(w / scale), halves away from zero, as std::round", "[weights]") {
    // The loader rounds without std::round (a libc call per weight in wasm): it must give its bits.
    // Group 0: max 127, so scale is 1 and every w / scale is w itself: halves of both signs, values
    // a step either side of a half, -0. Then random groups of every size, against std::round.
    std::vector<float> w = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 126.5f, -126.5f, 1.5f, -1.5f, -0.0f,
                            std::nextafter(2.5f, 0.0f), std::nextafter(2.5f, 3.0f), std::nextafter(-0.5f, 0.0f),
                            std::nextafter(-0.5f, -1.0f), 3.49999f, -3.50001f};
    const int8_t want0[] = {127, 3, -3, 1, -1, 127, -127, 2, -2, 0, 2, 3, 0, -1, 3, -4};
    w.resize(32, 0.25f);
    std::mt19937 rng(15);
    for (int g = 1; g < 64; g++) {
        const float scale = std::ldexp(1.0f, static_cast<int>(rng() % 40) - 20);
        for (int k = 0; k < 32; k++) w.push_back(random_floats(1, rng, scale)[0]);
    }
    const int K = static_cast<int>(w.size());
    std::vector<int8_t> q(static_cast<size_t>(K));
    std::vector<float> sc(static_cast<size_t>(ops::q8_groups(K)));
    quantize_q8_row(q.data(), sc.data(), w.data(), K);
    REQUIRE(sc[0] == 1.0f);
    for (int k = 0; k < 16; k++) {
        INFO("w " << w[static_cast<size_t>(k)]);
        REQUIRE(int(q[static_cast<size_t>(k)]) == int(want0[k]));
    }
    for (int k = 0; k < K; k++) {
        const float r = std::round(w[static_cast<size_t>(k)] / sc[static_cast<size_t>(k / 32)]);
        INFO("k " << k << " w " << w[static_cast<size_t>(k)]);
        REQUIRE(int(q[static_cast<size_t>(k)]) == int(std::max(-127.0f, std::min(127.0f, r))));
    }
}

TEST_CASE("the values of --weights-in and the automatic rule", "[weights]") {
    REQUIRE(parse_weights_in("auto").value() == WeightsIn::automatic);
    REQUIRE(parse_weights_in("f16").value() == WeightsIn::f16);
    REQUIRE(parse_weights_in("int8").value() == WeightsIn::int8);
    REQUIRE_THAT(parse_weights_in("q4").error(), Catch::Matchers::Contains("auto, f32, f16 or int8, got 'q4'"));
    const uint64_t small = kAutoF32MaxBytes / 4, large = small + 1;
    REQUIRE(resolve_weights_in(WeightsIn::automatic, small, true) == WFormat::F32);
    REQUIRE(resolve_weights_in(WeightsIn::automatic, large, true) == WFormat::F16);
    REQUIRE(resolve_weights_in(WeightsIn::automatic, large, false) == WFormat::Q8);
    REQUIRE(resolve_weights_in(WeightsIn::f32, large, false) == WFormat::F32);
    // The shipped model and the golden models stay float32 under auto (their PyTorch parity).
    for (const std::string& p : {std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors", data_path("tiny-f16.safetensors"),
                                 data_path("tiny-f32.safetensors"), data_path("tiny-bf16.safetensors")}) {
        INFO(p);
        REQUIRE(load_as(read_bytes(p), WeightsIn::automatic).weights_format() == WFormat::F32);
    }
}

TEST_CASE("a compact model holds exactly the conversion of the file's weights, in either layout", "[weights]") {
    const auto tiny = read_bytes(data_path("tiny-f16.safetensors"));
    const Model f32 = load_as(tiny, WeightsIn::f32);
    for (WeightsIn w : {WeightsIn::f16, WeightsIn::int8}) require_converted(load_as(tiny, w), f32);

    // Hugging Face: Conv1D weights stored [in, out], transposed through the scratch.
    const auto weights = read_bytes(data_path("gpt2-hf/model.safetensors"));
    const std::string tok = read_text(data_path("bpe/tokenizer.json")), cfg = read_text(data_path("gpt2-hf/config.json"));
    const auto files = hf_files(weights, tok, cfg);
    auto hf32 = Model::load(files, UINT64_MAX, WeightsIn::f32);
    REQUIRE(hf32.ok());
    for (WeightsIn w : {WeightsIn::f16, WeightsIn::int8}) {
        auto m = Model::load(files, UINT64_MAX, w);
        INFO(m.error());
        REQUIRE(m.ok());
        REQUIRE(m->layout() == "huggingface");
        require_converted(m.value(), hf32.value());
    }
}

TEST_CASE("weight matrices start on a cache line, so no row's loads straddle two", "[weights]") {
    const auto on_line = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % kWeightAlign == 0; };
    for (const std::string& p : {std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors", data_path("tiny-f32.safetensors")}) {
        const auto bytes = read_bytes(p);
        for (WeightsIn w : {WeightsIn::f32, WeightsIn::f16, WeightsIn::int8}) {
            const Model m = load_as(bytes, w);
            INFO(p << " " << format_name(m.weights_format()));
            // The float32 store itself; a compact matrix's data and scales wherever they fall.
            REQUIRE(on_line(m.weights().wte.data));
            const bool whole_lines = m.config().n_embd % 16 == 0;
            for (const TensorSpec& t : tensor_specs(m.config())) {
                if (!t.matrix()) continue;
                const ops::WeightView v = t.view(m.weights());
                INFO(t.name);
                // float32 tensors lie end to end: on a line where every tensor before is whole lines
                // (the shipped model's and GPT-2's are).
                if (v.format != WFormat::F32 || whole_lines) CHECK(on_line(v.data));
                if (v.format == WFormat::Q8) CHECK(on_line(v.scales));
            }
        }
    }
}

TEST_CASE("memory_needs() for each format is what the Model allocates", "[weights][memory]") {
    const auto tiny = read_bytes(data_path("tiny-f32.safetensors"));
    uint64_t bytes[3];
    int i = 0;
    for (WeightsIn w : {WeightsIn::f32, WeightsIn::f16, WeightsIn::int8}) {
        const Model m = load_as(tiny, w);
        INFO(format_name(m.weights_format()));
        REQUIRE(memory_needs(m.config(), false, m.weights_format()).weights == m.weights_bytes());
        bytes[i++] = m.weights_bytes();
    }
    // Roughly 1/2 and a bit over 1/4 of float32 (the small tensors stay float32).
    REQUIRE(bytes[1] < bytes[0] * 0.55);
    REQUIRE(bytes[2] < bytes[0] * 0.35);
    // The check before loading uses the chosen format: a limit between int8 and f32 needs refuses
    // one and admits the other.
    const Model m = load_as(tiny, WeightsIn::int8);
    const uint64_t limit = memory_needs(m.config(), false, WFormat::Q8).total();
    REQUIRE(Model::load(tiny.data(), tiny.size(), limit, WeightsIn::int8).ok());
    auto refused = Model::load(tiny.data(), tiny.size(), limit, WeightsIn::f32);
    REQUIRE_FALSE(refused.ok());
    REQUIRE_THAT(refused.error(), Catch::Matchers::Contains("needs"));
}

TEST_CASE("f16 on an F16 file: the file's bits in memory, logits as the float32 load's", "[weights][golden]") {
    const auto bytes = read_bytes(data_path("tiny-f16.safetensors"));
    const Model f32 = load_as(bytes, WeightsIn::f32), f16 = load_as(bytes, WeightsIn::f16);
    // The exact bits of the file: c_attn of block 0 as stored.
    auto parsed = safetensors::parse(bytes.data(), bytes.size());
    REQUIRE(parsed.ok());
    const auto* t = parsed->find("transformer.h.0.attn.c_attn.weight");
    REQUIRE(t);
    REQUIRE(t->dtype == safetensors::DType::F16);
    REQUIRE(std::memcmp(parsed->data + t->begin, f16.weights().layers[0].qkv_w.data, t->end - t->begin) == 0);

    const auto tokens = Reference(data_path("tiny-f16.ref.safetensors")).ints("tokens");
    const auto a = all_logits(f32, tokens), b = all_logits(f16, tokens);
    double worst = 0;
    for (size_t i = 0; i < a.size(); i++) worst = std::max(worst, double(std::fabs(a[i] - b[i])) / std::max(1.0f, std::fabs(a[i])));
#if GPT_SIMD
    // Same weights, same float32 arithmetic; the SIMD F16 kernels may sum in another order than
    // the float32 ones: the golden tests' summation-order tolerance.
    WARN("f16 vs f32 load of an F16 file: max relative logit difference " << worst);
    REQUIRE(worst <= logit_tolerance(f32.config().n_layer, f32.config().n_embd));
#else
    // The scalar twins sum in the same order for every format: bitwise identical.
    REQUIRE(worst == 0);
#endif
}

namespace {
// The first n validation characters of Tiny Shakespeare (weights/train.py's split), or empty.
std::string validation_text(size_t n) {
    const char* env = std::getenv("GPT_TINYSHAKESPEARE");
    std::ifstream f(env ? env : GPT_DEFAULT_DATA, std::ios::binary);
    if (!f) return "";
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t cut = static_cast<size_t>(0.9 * static_cast<double>(text.size()));  // ASCII: chars = bytes
    return text.substr(cut, n);
}
}  // namespace

TEST_CASE("int8 on the shipped model: validation loss within 0.01 nats, greedy text agrees", "[weights][shipped]") {
    const auto bytes = read_bytes(std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors");
    const Model f32 = load_as(bytes, WeightsIn::f32), q8 = load_as(bytes, WeightsIn::int8);

    // Greedy, 500 tokens from the same prompt: the length of the identical prefix, and the top-1
    // agreement of int8 with float32 along float32's text (every position, teacher-forced, with
    // the same windows: each window's last T/2 rows, the first window's all).
    const auto prompt = f32.tokenizer().encode("ROMEO:\n").tokens;
    SamplerSettings greedy;
    greedy.temperature = 0;
    Generator ga(f32), gb(q8);
    REQUIRE(ga.start(prompt, 1).ok());
    REQUIRE(gb.start(prompt, 1).ok());
    int same_prefix = 0;
    bool diverged = false;
    for (int i = 0; i < 500; i++) {
        const int a = ga.step(greedy).token, b = gb.step(greedy).token;
        if (a != b) diverged = true;
        if (!diverged) same_prefix++;
    }
    const std::vector<int>& text = ga.tokens();  // prompt + 500
    const int T = f32.config().block_size, V = f32.config().vocab_size, n = static_cast<int>(text.size());
    int agree = 0, predicted = 0;
    for (int start = 0, from = 0; from < n - 1; start += T / 2) {
        const int len = std::min(T, n - start);
        const std::vector<int> window(text.begin() + start, text.begin() + start + len);
        const auto la = all_logits(f32, window), lb = all_logits(q8, window);
        for (int i = from - start; i < len; i++) {
            if (start + i < static_cast<int>(prompt.size()) - 1 || start + i >= n - 1) continue;  // predicts a generated token
            predicted++;
            agree += argmax(&la[static_cast<size_t>(i) * V], V) == argmax(&lb[static_cast<size_t>(i) * V], V);
        }
        from = start + len;
    }
    WARN("int8 vs f32, shipped model, 500 greedy tokens: identical prefix " << same_prefix << ", top-1 agreement "
                                                                            << agree << "/" << predicted);
    REQUIRE(predicted == 500);
    // Measured 499/500 (README; the identical prefix was 99 tokens): a kernel's summation order may
    // flip a near-tie or two more, a broken conversion drops far below.
    REQUIRE(agree >= 495);

    const std::string val = validation_text(4096);
    if (val.empty()) {
        WARN("skipped the loss part: the Tiny Shakespeare text is not at " << GPT_DEFAULT_DATA);
        return;
    }
    const auto tokens = f32.tokenizer().encode(val).tokens;
    RunState s(f32.config());
    const auto la = mean_loss(f32, s, tokens), lb = mean_loss(q8, s, tokens);
    REQUIRE(la.ok());
    REQUIRE(lb.ok());
    WARN("validation loss, first 4096 characters: f32 " << la->mean_nats << ", int8 " << lb->mean_nats << " nats");
    REQUIRE(lb->mean_nats - la->mean_nats <= 0.01);
}

namespace {
// A random checkpoint shaped like GPT-2 (head size 64, tanh GELU, tied head) with `L` layers and
// width C, in the engine's format; weights N(0, 0.1^2) so the next-token distribution is far from
// uniform, biases N(0, 0.02^2), LayerNorm gains 1.
std::vector<uint8_t> gpt2_shaped(int L, int C, int T) {
    Config c;
    c.n_layer = L;
    c.n_head = C / 64;
    c.n_embd = C;
    c.block_size = T;
    std::vector<std::string> vocab = {"\n"};
    for (char ch = ' '; ch <= '~'; ch++) vocab.emplace_back(1, ch);
    c.vocab_size = static_cast<int>(vocab.size());
    nlohmann::json header;
    header["__metadata__"] = {{"n_layer", std::to_string(L)}, {"n_head", std::to_string(c.n_head)}, {"n_embd", std::to_string(C)},
                              {"block_size", std::to_string(T)}, {"vocab_size", std::to_string(c.vocab_size)},
                              {"vocab", nlohmann::json(vocab).dump()}};
    std::mt19937 rng(7);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<uint8_t> data;
    for (const TensorSpec& t : tensor_specs(c)) {
        const size_t n = static_cast<size_t>(t.numel());
        header["transformer." + t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + 4 * n}}};
        const bool gain = t.name.find("ln_") != std::string::npos && t.name.find("weight") != std::string::npos;
        for (size_t i = 0; i < n; i++) {
            const float v = gain ? 1.0f : d(rng) * (t.shape.size() == 2 ? 0.1f : 0.02f);
            const auto* b = reinterpret_cast<const uint8_t*>(&v);
            data.insert(data.end(), b, b + 4);
        }
    }
    return make_safetensors(header.dump(), data);
}

// The mean KL divergence of the next-token distribution of the model in `bytes` loaded as f16 and
// as int8 from float32, over the positions of a fixed text; each is required to stay under its bound.
void require_kl_from_f32(const std::vector<uint8_t>& bytes, double f16_bound, double int8_bound) {
    const Model f32 = load_as(bytes, WeightsIn::f32);
    const auto tokens = f32.tokenizer().encode("First Citizen:\nBefore we proceed any further, hear me speak.\n").tokens;
    const int V = f32.config().vocab_size, n = static_cast<int>(tokens.size());
    const auto ref = all_logits(f32, tokens);
    for (WeightsIn w : {WeightsIn::f16, WeightsIn::int8}) {
        const auto got = all_logits(load_as(bytes, w), tokens);
        double mean = 0, worst = 0;
        for (int i = 0; i < n; i++) {
            const double k = kl(&ref[static_cast<size_t>(i) * V], &got[static_cast<size_t>(i) * V], V);
            mean += k / n;
            worst = std::max(worst, k);
        }
        WARN(weights_in_name(w) << ": mean KL " << mean << " nats, max " << worst << " over " << n << " positions");
        REQUIRE(mean <= (w == WeightsIn::f16 ? f16_bound : int8_bound));
    }
}
}  // namespace

TEST_CASE("GPT-2-shaped random model: KL divergence of f16 and int8 from float32", "[weights]") {
    // Loose bounds, ~10x the measured figures (f16 1.5e-6, int8 8.8e-4 nats; README): a broken
    // conversion is orders of magnitude above.
    require_kl_from_f32(gpt2_shaped(2, 384, 64), 2e-5, 1e-2);
}

// The README's figure at GPT-2 small's full shape (12 layers, width 768; its 96-character vocabulary
// aside): hidden, run by hand (`gpt_tests "[.kl-gpt2-small]"`), as it takes ~1 GiB and a minute.
TEST_CASE("GPT-2-small-shaped random model: KL divergence of f16 and int8 from float32", "[.kl-gpt2-small]") {
    require_kl_from_f32(gpt2_shaped(12, 768, 64), 1e-4, 1e-1);
}

TEST_CASE("training from a compact model starts from its weights widened to float32", "[weights][train]") {
    const auto bytes = read_bytes(data_path("tiny-f32.safetensors"));
    const Model q8 = load_as(bytes, WeightsIn::int8);
    auto t = TrainState::from_model(q8, 1);
    INFO(t.error());
    REQUIRE(t.ok());
    const Weights w = t->weights();
    const ops::WeightView v = q8.weights().layers[1].fc_w;
    const int K = q8.config().n_embd;
    std::vector<float> row(static_cast<size_t>(K));
    for (int r = 0; r < 4 * K; r++) {
        ops::widen_row(row.data(), v, r, K);
        REQUIRE(std::memcmp(row.data(), w.layers[1].fc_w.as_f32() + static_cast<size_t>(r) * K, 4 * K) == 0);
    }
}
