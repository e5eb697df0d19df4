// The engine as seen from JavaScript: one class, Engine. This is the only file that includes
// Emscripten headers.
//
// Errors come back as values ({ok: false, message}), never as exceptions or aborts, and leave the
// engine as it was: a bad file keeps the current model, a bad prompt keeps the current run.
// Bulk data (attention, probabilities) is handed out as typed_memory_view over engine memory; a view
// is detached when the wasm memory grows, so JS re-acquires it after every call instead of keeping it.
#include <emscripten/bind.h>
#include <emscripten/heap.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../bpe.h"
#include "../checkpoint.h"
#include "../generator.h"
#include "../model.h"
#include "../ops/ops.h"

namespace {

using emscripten::val;

val failure(const std::string& message) {
    val r = val::object();
    r.set("ok", false);
    r.set("message", message);
    return r;
}

val success() {
    val r = val::object();
    r.set("ok", true);
    return r;
}

class Engine {
  public:
    // The weight file goes straight from JS into this buffer in the wasm heap (HEAPU8.set), the
    // only copy of the bytes; load() parses it and releases it.
    // Returns 0 when the memory cannot be had (malloc, not new: a failed allocation must not abort).
    // A failure also drops the side files set for this load: the load is abandoned, and they must not
    // attach themselves to the next one.
    uintptr_t upload_buffer(double size) {
        upload_.reset();
        upload_size_ = 0;
        if (!(size >= 0 && size <= 2147483647.0)) return abandon_load();
        upload_size_ = static_cast<size_t>(size);
        upload_.reset(static_cast<uint8_t*>(std::malloc(upload_size_ ? upload_size_ : 1)));
        if (!upload_) return abandon_load();
        return reinterpret_cast<uintptr_t>(upload_.get());
    }

    // A file that comes beside the weights, for the next load(): "tokenizer.json", "vocab.json",
    // "merges.txt" or "config.json".
    val set_file(const std::string& name, const std::string& content) {
        std::string* slot = name == "tokenizer.json" ? &files_.tokenizer_json
                          : name == "vocab.json"     ? &files_.vocab_json
                          : name == "merges.txt"     ? &files_.merges_txt
                          : name == "config.json"    ? &files_.config_json
                                                     : nullptr;
        if (!slot) {
            abandon_load();  // the caller's load fails: none of its files may stay for the next one
            return failure("'" + name + "' is not a file the engine reads beside the weights");
        }
        *slot = content;
        return success();
    }

    val load() {
        // Everything this load consumes leaves the engine first, so that whatever happens below (a
        // refusal, or an exception that escapes), the next load starts clean.
        gpt::CheckpointFiles files = std::move(files_);
        files_ = gpt::CheckpointFiles();
        const auto upload = std::move(upload_);
        files.weights = upload.get();
        files.weights_size = std::exchange(upload_size_, 0);
        // The engine refuses bad files with values and bounds what it allocates; if the system still
        // refuses memory (a tokenizer parsed while a large model fills the heap), the bad_alloc is
        // caught here, the one file compiled with -fexceptions, instead of reaching JS as a number.
        std::optional<gpt::Result<gpt::Model>> loaded;
        try {
            loaded.emplace(gpt::Model::load(files, available_memory()));
        } catch (const std::bad_alloc&) {
            return failure("out of memory while loading this model (the browser's wasm memory is full): nothing was changed");
        } catch (...) {
            return failure("unexpected error while loading this model: nothing was changed");
        }
        auto& m = *loaded;
        if (!m) return failure(m.error());
        generator_.reset();  // refers to the old model
        model_ = std::make_unique<gpt::Model>(m.take());
        const gpt::Config& c = model_->config();
        rows_.clear();
        rows_.reserve(static_cast<size_t>(c.n_layer) * c.n_head * std::min(c.block_size, gpt::kMaxCapture));  // the most a step needs
        val r = success();
        r.set("info", info());
        return r;
    }

    bool loaded() const { return model_ != nullptr; }

    val info() const {
        if (!model_) return val::null();
        const gpt::Config& c = model_->config();
        val i = val::object();
        i.set("nLayer", c.n_layer);
        i.set("nHead", c.n_head);
        i.set("nEmbd", c.n_embd);
        i.set("blockSize", c.block_size);
        i.set("vocabSize", c.vocab_size);
        i.set("params", static_cast<double>(model_->num_params()));
        i.set("dtype", model_->dtype());
        i.set("kernels", std::string(GPT_SIMD ? gpt::ops::simd_arch_name() : "scalar"));
        i.set("tokenizer", std::string(model_->tokenizer().kind()));
        i.set("layout", model_->layout());
        return i;
    }

    // Tokenizes the prompt and runs it through the model. On failure the current run is kept.
    val start(const std::string& prompt, double seed) {
        if (!model_) return failure("no model is loaded");
        if (!(seed >= 0 && seed <= 4294967295.0 && seed == std::floor(seed))) {
            return failure("the seed must be a whole number from 0 to 4294967295");
        }
        const auto enc = model_->tokenizer().encode(prompt);
        if (!enc.ok()) {
            val r = failure(enc.error);
            val unknown = val::array();
            for (const auto& u : enc.unknown) {
                val e = val::object();
                e.set("text", u.text);
                e.set("index", static_cast<double>(u.index));
                e.set("utf16Index", static_cast<double>(u.utf16_index));
                unknown.call<void>("push", e);
            }
            r.set("unknown", unknown);
            return r;
        }
        auto g = std::make_unique<gpt::Generator>(*model_);
        if (gpt::Status s = g->start(enc.tokens, static_cast<uint64_t>(seed)); !s) return failure(s.error);
        generator_ = std::move(g);
        stopped_ = false;
        val r = success();
        // The prompt's token ids (a view, like rows()), and for each token its label and its text:
        // the characters it completes (a BPE token may end inside a character; the next completes it).
        r.set("tokens", val(emscripten::typed_memory_view(generator_->tokens().size(), generator_->tokens().data())));
        val texts = val::array(), labels = val::array();
        stream_ = gpt::Utf8Stream();
        for (int t : enc.tokens) {
            texts.call<void>("push", stream_.push(model_->tokenizer().token_bytes(t)));
            labels.call<void>("push", gpt::token_label(model_->tokenizer(), t));
        }
        r.set("texts", texts);
        r.set("labels", labels);
        r.set("promptTokens", static_cast<int>(enc.tokens.size()));
        r.set("windowStart", generator_->window_start());
        return r;
    }

    // Draws the next token. Afterwards rows() holds the attention rows that produced it and probs()
    // the distribution it was drawn from.
    val step(float temperature, int top_k, float top_p) {
        if (!generator_) return failure("nothing to continue: start a generation first");
        if (stopped_) return failure("this generation was stopped: start a new one");
        gpt::SamplerSettings s;
        s.temperature = temperature;
        s.top_k = top_k;
        s.top_p = top_p;
        if (gpt::Status st = gpt::validate(s); !st) return failure(st.error);
        const auto step = generator_->step(s);
        if (!step.ok()) {  // non-finite logits: the run ends here, its last good draw stays readable
            stopped_ = true;
            return failure(step.error);
        }
        rows_.clear();
        append_rows(rows_, step.pos);
        val r = success();
        r.set("token", step.token);
        r.set("text", stream_.push(model_->tokenizer().token_bytes(step.token)));
        r.set("label", gpt::token_label(model_->tokenizer(), step.token));
        r.set("pos", step.pos);
        r.set("windowStart", step.window_start);
        r.set("keyStart", step.window_start + generator_->state().capture_first(step.pos));  // of rows()
        r.set("prob", generator_->probs()[step.token]);
        return r;
    }

    // Ends the current generation: step() refuses until the next start(). Its last attention and
    // probabilities stay readable.
    void stop() { stopped_ = true; }

    // (L, NH, len): for every layer and head, the kept attention row of the query at window position
    // `pos` (the token the last draw continued from), over keys capture_first(pos) .. pos.
    val rows() const { return val(emscripten::typed_memory_view(rows_.size(), rows_.data())); }

    // The kept attention rows of the prompt's last positions (at most RunState::capture of them),
    // query after query: for window position q from firstQuery on, (L, NH, len_q) with
    // len_q = q - capture_first(q) + 1. {data, firstQuery, capture}; data is a view like rows().
    val prompt_rows() {
        if (!generator_) return val::null();
        const auto& s = generator_->state();
        const int n = static_cast<int>(generator_->tokens().size()) - generator_->window_start();
        const int q0 = std::max(0, n - s.capture);
        packed_.clear();
        for (int q = q0; q < n; q++) append_rows(packed_, q);
        val r = val::object();
        r.set("data", val(emscripten::typed_memory_view(packed_.size(), packed_.data())));
        r.set("firstQuery", q0);
        r.set("capture", s.capture);
        return r;
    }

    // (L, NH, R, K): every kept attention row (RunState::att; R = K = T for contexts up to 256).
    val attention() const {
        if (!generator_) return val::null();
        const auto& att = generator_->state().att;
        return val(emscripten::typed_memory_view(att.size(), att.data()));
    }

    // (V): the distribution of the last draw (softmax(logits / temperature)).
    val probs() const {
        if (!generator_) return val::null();
        return val(emscripten::typed_memory_view(static_cast<size_t>(model_->config().vocab_size), generator_->probs()));
    }

    // The k most likely tokens of the last draw: [{token, label, p}], most likely first.
    val top(int k) const {
        val out = val::array();
        if (!generator_) return out;
        const int V = model_->config().vocab_size;
        k = std::max(0, std::min(k, V));
        std::vector<int> idx(static_cast<size_t>(V));
        std::iota(idx.begin(), idx.end(), 0);
        const float* p = generator_->probs();
        // A strict weak order even if a NaN got here (the generator stops before it does): NaN ranks last.
        const auto key = [p](int a) { return std::isnan(p[a]) ? -1.0f : p[a]; };
        std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                          [&key](int a, int b) { return key(a) != key(b) ? key(a) > key(b) : a < b; });
        for (int i = 0; i < k; i++) {
            val e = val::object();
            e.set("token", idx[i]);
            e.set("label", gpt::token_label(model_->tokenizer(), idx[i]));
            e.set("p", p[idx[i]]);
            out.call<void>("push", e);
        }
        return out;
    }

  private:
    uintptr_t abandon_load() {
        upload_.reset();
        upload_size_ = 0;
        files_ = gpt::CheckpointFiles();
        return 0;
    }

    // What a new model may take: the most the wasm heap can grow to, less what is allocated now (the
    // uploaded file and the current model, which stays until the new one has loaded) and some slack
    // for the stack and small allocations.
    static uint64_t available_memory() {
        const uint64_t max = emscripten_get_heap_max();
        // uordblks is declared int but dlmalloc fills it as a 32-bit size_t: past 2 GiB in use it
        // reads negative, which as uint64 would leave "0 bytes available". Read it unsigned.
        const uint64_t used = static_cast<uint64_t>(static_cast<uint32_t>(mallinfo().uordblks)) + (16u << 20);
        return max > used ? max - used : 0;
    }

    // Appends (L, NH, len) to out: the kept attention row of window position q in every layer and
    // head, over keys capture_first(q) .. q (len of them).
    void append_rows(std::vector<float>& out, int q) const {
        const gpt::Config& c = model_->config();
        const auto& s = generator_->state();
        const size_t len = static_cast<size_t>(q - s.capture_first(q) + 1);
        for (int l = 0; l < c.n_layer; l++)
            for (int h = 0; h < c.n_head; h++) out.insert(out.end(), s.att_row(l, h, q), s.att_row(l, h, q) + len);
    }

    std::unique_ptr<gpt::Model> model_;
    std::unique_ptr<gpt::Generator> generator_;
    gpt::Utf8Stream stream_;  // the run's text as it is generated
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    std::unique_ptr<uint8_t, Free> upload_;
    size_t upload_size_ = 0;
    gpt::CheckpointFiles files_;  // what comes beside the uploaded weights
    std::vector<float> rows_;    // rows(): (L, NH, len) of the last step's query
    std::vector<float> packed_;  // prompt_rows(): (rows, L, NH, len_q)
    bool stopped_ = false;
};

}  // namespace

EMSCRIPTEN_BINDINGS(gpt_playground) {
    emscripten::class_<Engine>("Engine")
        .constructor<>()
        .function("uploadBuffer", &Engine::upload_buffer)
        .function("setFile", &Engine::set_file)
        .function("load", &Engine::load)
        .function("loaded", &Engine::loaded)
        .function("info", &Engine::info)
        .function("start", &Engine::start)
        .function("step", &Engine::step)
        .function("stop", &Engine::stop)
        .function("rows", &Engine::rows)
        .function("attention", &Engine::attention)
        .function("promptRows", &Engine::prompt_rows)
        .function("probs", &Engine::probs)
        .function("top", &Engine::top);
}
