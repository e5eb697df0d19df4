// The training run as seen from JavaScript: one class, Trainer, for the page's Train view.
// A Trainer runs in the page's worker: create() from a text, a preset or shape, and a seed (its
// memory is computed and checked before anything is allocated), then step(n) in short batches so
// Stop lands between them; losses, validation loss, tokens/s, samples, the attention of a probe
// text, and the weights as a .safetensors file the Engine loads (`exportBytes`).
#include <emscripten/bind.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../generator.h"
#include "../model.h"
#include "../parallel.h"
#include "../trainer.h"
#include "common.h"

namespace {

using bindings::available_memory;
using bindings::failure;
using bindings::success;
using emscripten::val;

val preset_object(const gpt::Preset& p) {
    val o = val::object();
    o.set("name", std::string(p.name));
    o.set("description", std::string(p.description));
    o.set("nLayer", p.n_layer);
    o.set("nHead", p.n_head);
    o.set("nEmbd", p.n_embd);
    o.set("blockSize", p.block_size);
    o.set("batch", p.batch);
    o.set("lr", p.lr);
    return o;
}

val training_presets() {
    val a = val::array();
    for (const gpt::Preset& p : gpt::presets()) a.call<void>("push", preset_object(p));
    return a;
}

class Trainer {
  public:
    // What a run of `options` on `text` would be, computed without allocating: {ok, vocabSize,
    // params, memoryBytes, trainChars, valChars, ...} or {ok: false, message}.
    val plan(const std::string& text, val options) {
        Plan p;
        if (std::string e = read_plan(text, options, &p); !e.empty()) return failure(e);
        return describe(p);
    }

    // Starts a run (replacing the current one). options: {preset: "tiny" | ..., nLayer, nHead, nEmbd,
    // blockSize, batch, lr, minLr, steps (the schedule's length), warmup, gelu: "tanh" | "exact"};
    // fields override the preset's.
    val create(const std::string& text, val options, double seed) {
        if (!(seed >= 0 && seed <= 4294967295.0 && seed == std::floor(seed))) return failure("the seed must be a whole number from 0 to 4294967295");
        Plan p;
        if (std::string e = read_plan(text, options, &p); !e.empty()) return failure(e);
        if (p.memory > available_memory()) {
            return failure("this run needs " + gpt::format_bytes(p.memory) + " but only " + gpt::format_bytes(available_memory()) +
                           " of memory is left: choose a smaller model, batch or context");
        }
        trainer_.reset();
        model_.reset();
        auto t = gpt::Trainer::create(text, p.arch, p.settings, static_cast<uint64_t>(seed), false);
        if (!t) return failure(t.error());
        trainer_ = std::make_unique<gpt::Trainer>(t.take());
        seconds_ = 0;
        val r = describe(p);
        r.set("ok", true);
        return r;
    }

    // n optimizer steps: {ok, losses (one per step), step (steps done), lr, tokensPerSecond (over
    // the whole run so far), seconds}.
    val step(int n) {
        if (!trainer_) return failure("no training run: create one first");
        n = std::max(1, std::min(n, 100000));
        val losses = val::array();
        const auto t0 = std::chrono::steady_clock::now();
        gpt::StepReport r{};
        for (int i = 0; i < n; i++) {
            r = trainer_->step();
            losses.call<void>("push", r.loss);
        }
        seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        model_.reset();  // the weights changed
        val o = success();
        o.set("losses", losses);
        o.set("step", trainer_->steps_done());
        o.set("lr", r.lr);
        o.set("gradNorm", r.grad_norm);
        o.set("seconds", seconds_);
        o.set("tokensPerSecond", static_cast<double>(trainer_->tokens_per_step()) * trainer_->steps_done() / seconds_);
        return o;
    }

    // Mean loss over up to maxWindows windows of the validation text (the last 10%).
    val validation_loss(int max_windows) {
        if (!trainer_) return failure("no training run: create one first");
        const auto l = trainer_->validation_loss(max_windows);
        if (!l) return failure(l.error());
        val o = success();
        o.set("loss", l.value());
        return o;
    }

    // The weights as a .safetensors file: a view into engine memory, valid until the next call
    // (copy it with .slice()).
    val export_bytes() {
        if (!trainer_) return val::null();
        exported_ = trainer_->export_checkpoint();
        return val(emscripten::typed_memory_view(exported_.size(), exported_.data()));
    }

    // `tokens` characters sampled after `prompt` from the current weights: {ok, text}.
    val sample(const std::string& prompt, int tokens, float temperature, double seed) {
        if (const std::string e = current_model(); !e.empty()) return failure(e);
        const auto enc = model_->tokenizer().encode(prompt);
        if (!enc.ok()) return failure(enc.error);
        if (enc.tokens.empty()) return failure("the prompt is empty");
        gpt::SamplerSettings s;
        s.temperature = temperature;
        if (gpt::Status st = gpt::validate(s); !st) return failure(st.error);
        gpt::Generator g(*model_);
        if (gpt::Status st = g.start(enc.tokens, static_cast<uint64_t>(std::max(0.0, seed))); !st) return failure(st.error);
        std::string text;
        for (int i = 0; i < std::max(0, std::min(tokens, 10000)); i++) {
            const auto step = g.step(s);
            if (!step.ok()) return failure(step.error);  // weights gone non-finite (a learning rate too high)
            text += model_->tokenizer().token_bytes(step.token);
        }
        val o = success();
        o.set("text", text);
        return o;
    }

    // The attention of the current weights on a probe text (its first blockSize characters):
    // {ok, n, labels, data: (L, NH, n, n) row = query, zero above the diagonal; a view like
    // exportBytes}.
    val probe(const std::string& text) {
        if (const std::string e = current_model(); !e.empty()) return failure(e);
        const gpt::Config& c = model_->config();
        auto enc = model_->tokenizer().encode(text);
        if (!enc.ok()) return failure(enc.error);
        if (enc.tokens.empty()) return failure("the probe text is empty");
        const int n = std::min(static_cast<int>(enc.tokens.size()), std::min(c.block_size, gpt::kMaxCapture));
        gpt::RunState s(c);
        if (gpt::Status st = gpt::forward(*model_, s, enc.tokens.data(), n, 0); !st) return failure(st.error);
        probe_.assign(static_cast<size_t>(c.n_layer) * c.n_head * n * n, 0.0f);
        for (int l = 0; l < c.n_layer; l++)
            for (int h = 0; h < c.n_head; h++)
                for (int q = 0; q < n; q++)
                    std::copy(s.att_row(l, h, q), s.att_row(l, h, q) + q + 1,
                              probe_.begin() + static_cast<long>(((static_cast<size_t>(l) * c.n_head + h) * n + q) * n));
        val labels = val::array();
        for (int i = 0; i < n; i++) labels.call<void>("push", gpt::token_label(model_->tokenizer(), enc.tokens[static_cast<size_t>(i)]));
        val o = success();
        o.set("n", n);
        o.set("labels", labels);
        o.set("data", val(emscripten::typed_memory_view(probe_.size(), probe_.data())));
        return o;
    }

    // Ends the run and frees its memory.
    void reset() {
        trainer_.reset();
        model_.reset();
        std::vector<uint8_t>().swap(exported_);
        std::vector<float>().swap(probe_);
    }

  private:
    struct Plan {
        gpt::Config arch;
        gpt::TrainSettings settings;
        int vocab_size = 0;
        size_t train_chars = 0, val_chars = 0;
        uint64_t memory = 0, params = 0;
    };

    static std::string read_plan(const std::string& text, val o, Plan* p) {
        if (o.isNull() || o.typeOf().as<std::string>() != "object") return "the training options must be an object";
        const std::string preset = o["preset"].isString() ? o["preset"].as<std::string>() : "tiny";
        const gpt::Preset* pr = gpt::find_preset(preset);
        if (!pr) return "unknown preset '" + preset + "'";
        auto num = [&](const char* key, double def, double lo, double hi, double* out) -> std::string {
            const val v = o[key];
            if (v.isUndefined() || v.isNull()) return *out = def, "";
            if (!v.isNumber() || !(v.as<double>() >= lo && v.as<double>() <= hi)) {
                return std::string(key) + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi);
            }
            return *out = v.as<double>(), "";
        };
        double nl, nh, ne, bs, b, lr, min_lr, steps, warmup;
        for (const std::string& e : {num("nLayer", pr->n_layer, 1, 64, &nl), num("nHead", pr->n_head, 1, 64, &nh),
                                     num("nEmbd", pr->n_embd, 1, 2048, &ne), num("blockSize", pr->block_size, 2, 1024, &bs),
                                     num("batch", pr->batch, 1, 512, &b), num("lr", pr->lr, 1e-6, 1, &lr),
                                     num("steps", 2000, 1, 1e7, &steps)}) {
            if (!e.empty()) return e;
        }
        for (const std::string& e : {num("minLr", lr / 10, 0, lr, &min_lr), num("warmup", std::min(100.0, std::floor(steps / 10)), 0, 1e7, &warmup)}) {
            if (!e.empty()) return e;
        }
        p->arch.n_layer = static_cast<int>(nl), p->arch.n_head = static_cast<int>(nh), p->arch.n_embd = static_cast<int>(ne);
        p->arch.block_size = static_cast<int>(bs);
        p->arch.gelu_exact = o["gelu"].isString() && o["gelu"].as<std::string>() == "exact";
        p->settings.batch = static_cast<int>(b), p->settings.lr = static_cast<float>(lr), p->settings.min_lr = static_cast<float>(min_lr);
        p->settings.steps = static_cast<int>(steps), p->settings.warmup = static_cast<int>(warmup);
        auto corpus = gpt::Corpus::from_text(text);  // for the vocabulary size and the split
        if (!corpus) return corpus.error();
        p->vocab_size = static_cast<int>(corpus->vocab.size());
        p->train_chars = corpus->n_train;
        p->val_chars = corpus->tokens.size() - corpus->n_train;
        gpt::Config c = p->arch;
        c.vocab_size = std::max(1, p->vocab_size);
        if (gpt::Status st = gpt::validate(c); !st) return st.error;
        if (gpt::Status st = gpt::validate(p->settings); !st) return st.error;
        p->params = gpt::memory_needs(c).weights / 4;
        // The run, plus the exported file and a loaded copy for samples and the probe.
        p->memory = gpt::train_memory(c, p->settings.batch) + 2 * gpt::memory_needs(c).total();
        return "";
    }

    static val describe(const Plan& p) {
        val r = success();
        r.set("nLayer", p.arch.n_layer);
        r.set("nHead", p.arch.n_head);
        r.set("nEmbd", p.arch.n_embd);
        r.set("blockSize", p.arch.block_size);
        r.set("batch", p.settings.batch);
        r.set("steps", p.settings.steps);
        r.set("lr", p.settings.lr);
        r.set("vocabSize", p.vocab_size);
        r.set("params", static_cast<double>(p.params));
        r.set("memoryBytes", static_cast<double>(p.memory));
        r.set("memory", gpt::format_bytes(p.memory));
        r.set("trainChars", static_cast<double>(p.train_chars));
        r.set("valChars", static_cast<double>(p.val_chars));
        r.set("tokensPerStep", static_cast<double>(p.settings.batch) * p.arch.block_size);
        gpt::Config c = p.arch;
        c.vocab_size = p.vocab_size;
        r.set("flopsPerStep", gpt::train_flops_per_step(c, p.settings.batch));  // with a measured rate: time
        return r;
    }

    // The current weights as a Model (for samples and the probe), rebuilt after steps.
    std::string current_model() {
        if (!trainer_) return "no training run: create one first";
        if (model_) return "";
        const std::vector<uint8_t> bytes = trainer_->export_checkpoint();
        auto m = gpt::Model::load(bytes.data(), bytes.size());
        if (!m) return m.error();
        model_ = std::make_unique<gpt::Model>(m.take());
        return "";
    }

    std::unique_ptr<gpt::Trainer> trainer_;
    std::unique_ptr<gpt::Model> model_;  // the weights as of the last step, when asked for
    std::vector<uint8_t> exported_;      // exportBytes()
    std::vector<float> probe_;           // probe(): (L, NH, n, n)
    double seconds_ = 0;                 // time spent in steps
};

}  // namespace

EMSCRIPTEN_BINDINGS(gpt_training) {
    emscripten::function("trainingPresets", &training_presets);
    // Threads for the steps, the caller included (gpt-train_mt; always 1 in gpt-train): set before
    // the first run, whose per-thread scratch is sized from it. Returns the number in use.
    emscripten::function("setThreads", &gpt::parallel::set_threads);
    emscripten::function("threads", &gpt::parallel::threads);
    emscripten::class_<Trainer>("Trainer")
        .constructor<>()
        .function("plan", &Trainer::plan)
        .function("create", &Trainer::create)
        .function("step", &Trainer::step)
        .function("validationLoss", &Trainer::validation_loss)
        .function("exportBytes", &Trainer::export_bytes)
        .function("sample", &Trainer::sample)
        .function("probe", &Trainer::probe)
        .function("reset", &Trainer::reset);
}
