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
    REQUIRE(std::equal(t.state().params().begin(), t.state().params().end(), m.weights().wte));
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
