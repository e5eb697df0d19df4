// Training against PyTorch (golden files from weights/train_reference.py): the gradient of every
// parameter for one batch, and the loss curve of 50 AdamW steps with weights/train.py's optimizer.
//
// Gradient tolerance. Each gradient is a sum of products along the backward chain, which is about
// twice as deep as the forward one; forward results stay within n_layer * sqrt(4C) * 16u of float64
// relative to their scale (helpers.h, logit_tolerance). A parameter gradient is compared relative to
// the largest gradient of its tensor (a bias gradient sums BT terms that may cancel, so an
// element-wise relative error is meaningless); the bound is 2 * logit_tolerance * sqrt(B*T / 16),
// the last factor for the dW sums over B*T rows beyond the 16 (one window) the forward bound covers.
// Loss curve tolerance: PyTorch's own float32 run stays within 5e-7 of its float64 run over the 50
// steps (recorded in the golden file); the engine's float32 arithmetic differs from PyTorch's in
// summation order only, so we allow 50x that drift, 2.5e-5 nats, at every step.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "golden.h"
#include "ops/ops.h"
#include "train.h"
#include "trainer.h"

using namespace gpt;

namespace {

TrainSettings reference_settings(const Reference& ref) {
    TrainSettings s;
    s.batch = std::stoi(ref.meta("batch"));
    s.steps = std::stoi(ref.meta("steps"));
    s.warmup = std::stoi(ref.meta("warmup"));
    s.lr = std::stof(ref.meta("lr"));
    s.min_lr = std::stof(ref.meta("min_lr"));
    s.weight_decay = std::stof(ref.meta("weight_decay"));
    s.grad_clip = std::stof(ref.meta("grad_clip"));
    const auto betas = nlohmann::json::parse(ref.meta("betas"));
    s.beta1 = betas[0].get<float>();
    s.beta2 = betas[1].get<float>();
    return s;
}

Trainer reference_trainer(const Reference& ref, const Model& init) {
    auto t = Trainer::create(ref.meta("text"), Config(), reference_settings(ref), 1, true, &init);
    INFO(t.error());
    REQUIRE(t.ok());
    return t.take();
}

}  // namespace

TEST_CASE("training: gradients of every parameter match PyTorch autograd (tanh and exact GELU)", "[train]") {
    const Reference ref(data_path("train.ref.safetensors"));
    for (const std::string key : {"tanh", "exact"}) {
        const Model m = load_model(read_bytes(data_path(key == "tanh" ? "train-sharp.safetensors" : "train-sharp-gelu.safetensors")));
        Trainer t = reference_trainer(ref, m);
        const Config& c = t.config();
        REQUIRE(c.gelu_exact == (key == "exact"));
        const auto loss = t.gradients_of_first_batch();
        REQUIRE(loss.ok());
        const double want_loss = std::stod(ref.meta("loss." + key));
        const double tol = 2 * logit_tolerance(c.n_layer, c.n_embd) * std::sqrt(t.tokens_per_step() / 16.0);
        INFO(key << " loss " << loss.value() << " want " << want_loss);
        REQUIRE(std::fabs(loss.value() - want_loss) <= logit_tolerance(c.n_layer, c.n_embd) * want_loss);
        TrainState& st = t.state();
        double worst = 0;
        for (size_t i = 0; i < st.specs().size(); i++) {
            const std::string name = "transformer." + st.specs()[i].name;
            const std::vector<float> want = ref.tensor(key + "." + name);
            const float* got = st.grads().data() + st.offset(i);
            double scale = 0, err = 0;
            for (float w : want) scale = std::max(scale, std::fabs(static_cast<double>(w)));
            REQUIRE(scale > 0);  // every parameter takes part
            for (size_t j = 0; j < want.size(); j++) err = std::max(err, std::fabs(got[j] - static_cast<double>(want[j])));
            INFO(key << " " << name << ": max error " << err << " of max |gradient| " << scale << ", tolerance " << tol);
            CHECK(err <= tol * scale);
            worst = std::max(worst, err / scale);
        }
        WARN(key << ": worst gradient error " << worst << " (tolerance " << tol << ")");
    }
}

TEST_CASE("training: 50 AdamW steps follow PyTorch's loss curve (weights/train.py's optimizer)", "[train]") {
    const Reference ref(data_path("train.ref.safetensors"));
    const Model init = load_model(read_bytes(data_path("train-init.safetensors")));
    Trainer t = reference_trainer(ref, init);
    const auto want = nlohmann::json::parse(ref.meta("losses")).get<std::vector<double>>();
    const auto want32 = nlohmann::json::parse(ref.meta("losses_f32")).get<std::vector<double>>();
    REQUIRE(static_cast<int>(want.size()) == std::stoi(ref.meta("steps")));
    double drift32 = 0, worst = 0;
    for (size_t i = 0; i < want.size(); i++) drift32 = std::max(drift32, std::fabs(want[i] - want32[i]));
    REQUIRE(drift32 < 5e-7);  // the premise of the tolerance (header comment)
    for (size_t i = 0; i < want.size(); i++) {
        const StepReport r = t.step();
        INFO("step " << i << ": engine " << r.loss << ", PyTorch " << want[i]);
        REQUIRE(std::fabs(r.loss - want[i]) <= 2.5e-5);
        worst = std::max(worst, std::fabs(r.loss - want[i]));
    }
    REQUIRE(want.back() < want.front() - 0.5);  // it learns: the comparison is not of flat curves
    WARN("loss curve: worst difference from PyTorch float64 " << worst << " nats (PyTorch float32: " << drift32 << ")");
}

TEST_CASE("training: the schedule is train.py's lr_at", "[train]") {
    TrainSettings s;
    s.lr = 1.0f;
    s.min_lr = 0.1f;
    s.warmup = 10;
    s.steps = 110;
    REQUIRE(learning_rate(s, 0) == Approx(0.1));
    REQUIRE(learning_rate(s, 9) == Approx(1.0));
    REQUIRE(learning_rate(s, 10) == Approx(1.0));
    REQUIRE(learning_rate(s, 60) == Approx(0.55));
    REQUIRE(learning_rate(s, 110) == Approx(0.1f));
    REQUIRE(learning_rate(s, 500) == Approx(0.1f));
}

TEST_CASE("training: seeded initialisation is nanoGPT's and deterministic", "[train]") {
    Config c;
    c.n_layer = 2, c.n_head = 2, c.n_embd = 64, c.block_size = 32, c.vocab_size = 50;
    auto a = TrainState::create(c, 2, 7), b = TrainState::create(c, 2, 7), other = TrainState::create(c, 2, 8);
    REQUIRE(a.ok());
    REQUIRE(a->params() == b->params());
    REQUIRE(a->params() != other->params());
    for (size_t i = 0; i < a->specs().size(); i++) {
        const TensorSpec& s = a->specs()[i];
        const size_t n = (i + 1 < a->specs().size() ? a->offset(i + 1) : a->params().size()) - a->offset(i);
        const float* p = a->params().data() + a->offset(i);
        double sum = 0, sq = 0;
        for (size_t j = 0; j < n; j++) sum += p[j], sq += static_cast<double>(p[j]) * p[j];
        INFO(s.name);
        if (s.shape.size() == 1) {
            const bool gain = s.name.find("ln_") != std::string::npos && s.name.find("weight") != std::string::npos;
            REQUIRE(sum == (gain ? static_cast<double>(n) : 0.0));
            REQUIRE(sq == (gain ? static_cast<double>(n) : 0.0));
        } else {
            const double want = s.name.find("c_proj.weight") != std::string::npos ? 0.02 / std::sqrt(2.0 * c.n_layer) : 0.02;
            const double sd = std::sqrt(sq / n - (sum / n) * (sum / n));
            REQUIRE(std::fabs(sd - want) < 5 * want / std::sqrt(static_cast<double>(n)));  // sampling error of a std
            REQUIRE(std::fabs(sum / n) < 5 * want / std::sqrt(static_cast<double>(n)));
        }
    }
}

TEST_CASE("training: the export is byte for byte what gptref.py writes, and loads", "[train]") {
    const Reference ref(data_path("train.ref.safetensors"));
    const std::vector<uint8_t> file = read_bytes(data_path("train-init.safetensors"));
    const Model init = load_model(file);
    Trainer t = reference_trainer(ref, init);
    REQUIRE(t.export_checkpoint() == file);
    // After training, the weights load back in the engine and give its own forward's losses.
    for (int i = 0; i < 3; i++) t.step();
    const std::vector<uint8_t> bytes = t.export_checkpoint();
    const Model m = load_model(bytes);
    REQUIRE(m.num_params() == t.state().params().size());
    REQUIRE(std::equal(t.state().params().begin(), t.state().params().end(), m.weights().wte.as_f32()));
    REQUIRE(m.tokenizer().vocab_size() == init.tokenizer().vocab_size());
}

TEST_CASE("training: random batches from a seed are deterministic and the loss goes down", "[train]") {
    const Reference ref(data_path("train.ref.safetensors"));
    Config arch;
    arch.n_layer = 1, arch.n_head = 2, arch.n_embd = 32, arch.block_size = 16;
    TrainSettings s;
    s.batch = 8, s.steps = 60, s.warmup = 5, s.lr = 1e-2f, s.min_lr = 1e-3f;
    std::vector<float> first, second;
    for (std::vector<float>* out : {&first, &second}) {
        auto t = Trainer::create(ref.meta("text"), arch, s, 42, false);
        REQUIRE(t.ok());
        for (int i = 0; i < s.steps; i++) out->push_back(t->step().loss);
        const auto val = t->validation_loss(64);
        REQUIRE(val.ok());
        REQUIRE(val.value() < first.front());
    }
    REQUIRE(first == second);
    double head = 0, tail = 0;
    for (int i = 0; i < 10; i++) head += first[static_cast<size_t>(i)], tail += first[first.size() - 1 - static_cast<size_t>(i)];
    REQUIRE(tail < head - 10 * 0.5);  // at least half a nat lower on average
}

TEST_CASE("training: bad input is refused with a message", "[train]") {
    Config arch;
    arch.n_layer = 1, arch.n_head = 3, arch.n_embd = 32, arch.block_size = 16;
    TrainSettings s;
    auto bad_heads = Trainer::create(std::string(200, 'a') + "bc", arch, s, 1, false);
    REQUIRE(!bad_heads.ok());
    REQUIRE(bad_heads.error().find("n_head 3 does not divide n_embd 32") != std::string::npos);
    arch.n_head = 2;
    auto short_text = Trainer::create("abc", arch, s, 1, false);
    REQUIRE(!short_text.ok());
    REQUIRE(short_text.error().find("the text is too short") != std::string::npos);
    auto bad_utf8 = Trainer::create(std::string(100, 'a') + "\xff", arch, s, 1, false);
    REQUIRE(bad_utf8.error().find("not valid UTF-8") != std::string::npos);
    s.lr = -1;
    REQUIRE(Trainer::create(std::string(100, 'a'), arch, s, 1, false).error().find("learning rate") != std::string::npos);
    const Model m = load_model(read_bytes(data_path("train-init.safetensors")));
    s.lr = 1e-3f;
    auto unknown = Trainer::create(std::string(100, 'a') + "~", arch, s, 1, false, &m);
    REQUIRE(unknown.error().find("does not know the character '~'") != std::string::npos);
}

TEST_CASE("training: causal attention forward and backward over several row blocks match a float64 reference", "[train]") {
    // Longer than the blocks attention_forward/backward cut the rows into (the golden model's
    // context of 16 is a single block), odd sizes, two rows of the batch.
    const int n = 2, t = 77, NH = 3, hs = 5, C = NH * hs;
    std::mt19937 rng(31);
    const auto qkv = random_floats(static_cast<size_t>(n) * t * 3 * C, rng);
    const auto dout = random_floats(static_cast<size_t>(n) * t * C, rng);
    std::vector<float> out(static_cast<size_t>(n) * t * C), att(static_cast<size_t>(n) * NH * t * t, 7.0f),
        dqkv(qkv.size(), 7.0f), datt(static_cast<size_t>(t) * t);
    attention_forward(out.data(), att.data(), qkv.data(), n, t, C, NH);
    attention_backward(dqkv.data(), datt.data(), 1, dout.data(), qkv.data(), att.data(), n, t, C, NH);

    const double scale = 1.0 / std::sqrt(static_cast<double>(hs));
    double worst_out = 0, worst_att = 0, worst_grad = 0, mag = 0;
    std::vector<double> want(qkv.size(), 0.0);
    for (int b = 0; b < n; b++)
        for (int h = 0; h < NH; h++) {
            auto Q = [&](int i, int d) { return static_cast<double>(qkv[(static_cast<size_t>(b) * t + i) * 3 * C + h * hs + d]); };
            auto K = [&](int i, int d) { return static_cast<double>(qkv[(static_cast<size_t>(b) * t + i) * 3 * C + C + h * hs + d]); };
            auto V = [&](int i, int d) { return static_cast<double>(qkv[(static_cast<size_t>(b) * t + i) * 3 * C + 2 * C + h * hs + d]); };
            auto DY = [&](int i, int d) { return static_cast<double>(dout[(static_cast<size_t>(b) * t + i) * C + h * hs + d]); };
            auto W = [&](int i, int part, int d) -> double& { return want[(static_cast<size_t>(b) * t + i) * 3 * C + part * C + h * hs + d]; };
            for (int i = 0; i < t; i++) {
                std::vector<double> a(static_cast<size_t>(i) + 1), da(a.size());
                double mx = -1e300, z = 0, dot = 0;
                for (int j = 0; j <= i; j++) {
                    double s = 0;
                    for (int d = 0; d < hs; d++) s += Q(i, d) * K(j, d);
                    a[j] = s * scale, mx = std::max(mx, a[j]);
                }
                for (double& x : a) z += (x = std::exp(x - mx));
                for (double& x : a) x /= z;
                const float* row = att.data() + ((static_cast<size_t>(b) * NH + h) * t + i) * t;
                for (int j = 0; j < t; j++) worst_att = std::max(worst_att, std::fabs(row[j] - (j <= i ? a[j] : 0.0)));
                for (int d = 0; d < hs; d++) {
                    double o = 0;
                    for (int j = 0; j <= i; j++) o += a[j] * V(j, d);
                    worst_out = std::max(worst_out, std::fabs(out[(static_cast<size_t>(b) * t + i) * C + h * hs + d] - o));
                }
                for (int j = 0; j <= i; j++) {
                    for (int d = 0; d < hs; d++) da[j] += DY(i, d) * V(j, d), W(j, 2, d) += a[j] * DY(i, d);
                    dot += a[j] * da[j];
                }
                for (int j = 0; j <= i; j++) {
                    const double ds = a[j] * (da[j] - dot) * scale;
                    for (int d = 0; d < hs; d++) W(i, 0, d) += ds * K(j, d), W(j, 1, d) += ds * Q(i, d);
                }
            }
        }
    for (size_t i = 0; i < want.size(); i++) {
        worst_grad = std::max(worst_grad, std::fabs(dqkv[i] - want[i]));
        mag = std::max(mag, std::fabs(want[i]));
    }
    INFO("out " << worst_out << ", att " << worst_att << ", dqkv " << worst_grad << " of " << mag);
    // Sums of up to t products of order-one numbers: within sqrt(t) * 64u of their scale.
    REQUIRE(worst_att <= std::sqrt(t) * 64 * kU);
    REQUIRE(worst_out <= std::sqrt(t) * 64 * kU * 3);
    REQUIRE(worst_grad <= std::sqrt(t) * 64 * kU * mag);
}
