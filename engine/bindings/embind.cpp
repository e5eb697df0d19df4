// The engine as seen from JavaScript: one class, Engine (training has its own, train.cpp). Only the
// files of engine/bindings include Emscripten headers.
//
// Errors come back as values ({ok: false, message}), never as exceptions or aborts, and leave the
// engine as it was: a bad file keeps the current model, a bad prompt keeps the current run.
// Bulk data (attention, probabilities) is handed out as typed_memory_view over engine memory; a view
// is detached when the wasm memory grows, so JS re-acquires it after every call instead of keeping it.
#include <emscripten/bind.h>

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
#include "../loader.h"
#include "../generator.h"
#include "../heads.h"
#include "../loss.h"
#include "../model.h"
#include "../ops/ops.h"
#include "../parallel.h"
#include "../probe.h"
#include "common.h"

namespace {

using bindings::available_memory;
using bindings::failure;
using bindings::success;
using emscripten::val;

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

    // The format the weight matrices of the next loads are kept in: "auto" (the default), "f32",
    // "f16" or "int8" (weights_format.h). A bad name is refused and changes nothing.
    val set_weights_in(const std::string& name) {
        auto w = gpt::parse_weights_in(name);
        if (!w) return failure(w.error());
        weights_in_ = w.value();
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
        std::optional<gpt::Result<gpt::Model>> loaded;
        if (val caught = guarded([&] { loaded.emplace(gpt::Model::load(files, available_memory(), weights_in_)); }); !caught.isNull()) {
            return caught;
        }
        return install(*loaded, 0);
    }

    // Loading as the bytes arrive (loader.h): beginLoad(size of the file), then for each piece
    // loadBuffer(n) -> where to copy it in the wasm heap, feedLoad(n); endLoad() installs the model.
    // Only the model, one piece and at most one row or transposed tensor are ever in memory, never
    // the file. Any failure ends the load (the current model stays); later calls say so.
    val begin_load(double size) {
        loader_.reset();
        if (!(size >= 0 && size <= 9007199254740991.0 && size == std::floor(size))) {
            abandon_load();
            return failure("the file size must be a whole number of bytes");
        }
        gpt::CheckpointFiles side = std::move(files_);
        files_ = gpt::CheckpointFiles();
        loader_ = std::make_unique<gpt::ModelLoader>(side, static_cast<uint64_t>(size), available_memory(), weights_in_);
        return success();
    }

    // Room for a piece of n bytes (the same buffer, grown as needed); 0 when there is no load or no
    // memory for it (malloc, not new: a failed allocation must not abort).
    uintptr_t load_buffer(double n) {
        if (!loader_ || !(n >= 0 && n <= 2147483647.0)) return 0;
        const size_t want = static_cast<size_t>(n) ? static_cast<size_t>(n) : 1;
        if (want > piece_size_) {
            piece_.reset(static_cast<uint8_t*>(std::malloc(want)));
            piece_size_ = piece_ ? want : 0;
        }
        return reinterpret_cast<uintptr_t>(piece_.get());
    }

    val feed_load(double n) {
        if (!loader_) return failure("no load is under way: call beginLoad first");
        if (!(n >= 0 && n <= static_cast<double>(piece_size_))) return end_failed("the piece is larger than its buffer");
        gpt::Status s;
        if (val caught = guarded([&] { s = loader_->feed(piece_.get(), static_cast<size_t>(n)); }); !caught.isNull()) {
            return end_failed(caught["message"].as<std::string>());
        }
        if (!s) return end_failed(s.error);
        return success();
    }

    val end_load() {
        if (!loader_) return failure("no load is under way: call beginLoad first");
        const auto loader = std::move(loader_);
        const uint64_t piece = piece_size_;
        piece_.reset();
        piece_size_ = 0;
        std::optional<gpt::Result<gpt::Model>> loaded;
        if (val caught = guarded([&] { loaded.emplace(loader->finish()); }); !caught.isNull()) return caught;
        return install(*loaded, loader->peak_bytes() + piece);
    }

    bool loaded() const { return model_ != nullptr; }

    // Makes a loaded model the current one (or passes its refusal on; the current model stays).
    // peak: the bytes the load held at most, by the engine's own accounting (0: not counted).
    val install(gpt::Result<gpt::Model>& m, uint64_t peak) {
        if (!m) return failure(m.error());
        generator_.reset();  // refers to the old model
        lab_.reset();
        study_.reset();  // refers to the old model
        model_ = std::make_unique<gpt::Model>(m.take());
        interventions_ = gpt::Interventions(model_->config());
        const gpt::Config& c = model_->config();
        rows_.clear();
        rows_.reserve(static_cast<size_t>(c.n_layer) * c.n_head * std::min(c.block_size, gpt::kMaxCapture));  // the most a step needs
        val r = success();
        r.set("info", info());
        if (peak) r.set("peakLoadBytes", static_cast<double>(peak));
        return r;
    }


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
        i.set("weightsIn", std::string(gpt::format_name(model_->weights_format())));  // the matrices in memory
        i.set("weightsBytes", static_cast<double>(model_->weights_bytes()));
        i.set("kernels", std::string(GPT_SIMD ? gpt::ops::simd_arch_name() : "scalar"));
        i.set("threads", gpt::parallel::threads());
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
        g->set_interventions(interventions_);  // shaped for this model: cannot fail
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

    // The k most likely tokens of the last draw: [{token, label, p, kept?, q?}], most likely first
    // (kept and q only when top-k, top-p or greedy decoding filtered the candidates).
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
        // What the top-k / top-p filters kept, and the renormalised probability q each kept token
        // was drawn with (the sampler's own candidates, in double); a greedy draw kept only its
        // token. Without a filter every token is kept with q = p, and neither is reported.
        const gpt::Sampler& sm = generator_->sampler();
        const int n_kept = sm.kept_count();
        const bool drawn_yet = static_cast<int>(generator_->tokens().size()) > generator_->prompt_length();
        const bool filtered = drawn_yet && n_kept < V;
        double kept_sum = 0;
        for (int i = 0; filtered && i < n_kept; i++) kept_sum += sm.kept(i).first;
        const auto kept_q = [&](int token) -> double {  // -1 when the filters removed it
            if (n_kept == 0) return token == generator_->tokens().back() ? 1.0 : -1.0;
            for (int i = 0; i < n_kept; i++) {
                if (sm.kept(i).second == token) return sm.kept(i).first / kept_sum;
            }
            return -1.0;
        };
        for (int i = 0; i < k; i++) {
            val e = val::object();
            e.set("token", idx[i]);
            e.set("label", gpt::token_label(model_->tokenizer(), idx[i]));
            e.set("p", p[idx[i]]);
            if (filtered) {
                const double q = kept_q(idx[i]);
                e.set("kept", q >= 0);
                if (q >= 0) e.set("q", q);
            }
            out.call<void>("push", e);
        }
        return out;
    }

    // ---- Looking inside (probe.h, heads.h): interventions, one row's numbers, the lens, head roles ----
    // Every figure is computed here; the page only draws them. Inspections re-run the current
    // window (the generator's tokens from windowStart) on a RunState of their own, so generation
    // continues undisturbed.

    // Heads to switch off / make uniform, as "L.H,L.H" lists (the widget's ablate attribute): they
    // replace the current interventions, apply to the current run's next steps and every later
    // start(), and to the inspections. A bad list changes nothing.
    val set_interventions(const std::string& off, const std::string& uniform) {
        if (!model_) return failure("no model is loaded");
        gpt::Interventions iv(model_->config());
        if (gpt::Status s = iv.set_list(off, gpt::HeadMode::off); !s) return failure(s.error);
        if (gpt::Status s = iv.set_list(uniform, gpt::HeadMode::uniform); !s) return failure(s.error);
        interventions_ = iv;
        if (generator_) generator_->set_interventions(interventions_);
        return interventions();
    }
    // One head: mode "normal", "off" or "uniform".
    val set_head(int layer, int head, const std::string& mode) {
        if (!model_) return failure("no model is loaded");
        const gpt::Config& c = model_->config();
        if (layer < 0 || layer >= c.n_layer || head < 0 || head >= c.n_head) return failure("no head " + std::to_string(layer) + "." + std::to_string(head));
        const gpt::HeadMode m = mode == "off" ? gpt::HeadMode::off : mode == "uniform" ? gpt::HeadMode::uniform : gpt::HeadMode::normal;
        if (m == gpt::HeadMode::normal && mode != "normal") return failure("a head's mode is normal, off or uniform, not '" + mode + "'");
        gpt::Interventions iv = interventions_;
        iv.set(layer, head, m);
        return set_interventions(iv.list(gpt::HeadMode::off), iv.list(gpt::HeadMode::uniform));
    }
    // {ok, off: "0.1,2.3", uniform: "..."}
    val interventions() const {
        val r = success();
        r.set("off", interventions_.list(gpt::HeadMode::off));
        r.set("uniform", interventions_.list(gpt::HeadMode::uniform));
        return r;
    }

    // The numbers behind the attention row of window position `pos` in (layer, head), each a view
    // (one buffer, valid until the next call): q (hs); k, v (pos+1, hs) the keys and values of
    // positions 0..pos; dots (pos+1) q·k_j; scores (pos+1) dots / sqrt(hs), before the mask;
    // probs (pos+1) the weights the head used (equal to its row in attention()); contributions
    // (pos+1) |probs_j v_j|; along (pos+1) probs_j v_j projected on the output; out (hs) sum_j probs_j v_j.
    val explain(int layer, int head, int pos) {
        val bad = inspect_check(layer, head, pos);
        if (!bad.isNull()) return bad;
        const gpt::Config& c = model_->config();
        gpt::Probe probe(c, {pos}, layer, head);
        run_window(&probe);
        const int n = pos + 1, hs = c.head_size();
        const float* out = probe.out(0, layer, head);
        const float out_len = std::sqrt(gpt::ops::dot(out, out, hs));
        std::vector<float>& b = lab_buffer_;
        b.clear();
        auto put = [&b](const float* x, int len) { b.insert(b.end(), x, x + len); };
        put(probe.q(0, layer, head), hs);
        for (int j = 0; j < n; j++) put(gpt::key(*lab_, layer, head, j), hs);
        for (int j = 0; j < n; j++) put(gpt::value(*lab_, layer, head, j), hs);
        const float* scores = probe.scores(0, layer, head);
        const float* probs = probe.probs(0, layer, head);
        for (int j = 0; j < n; j++) b.push_back(scores[j] * std::sqrt(static_cast<float>(hs)));
        put(scores, n);
        put(probs, n);
        for (int j = 0; j < n; j++) {
            const float* v = gpt::value(*lab_, layer, head, j);
            b.push_back(probs[j] * std::sqrt(gpt::ops::dot(v, v, hs)));
        }
        for (int j = 0; j < n; j++) b.push_back(out_len > 0 ? probs[j] * gpt::ops::dot(gpt::value(*lab_, layer, head, j), out, hs) / out_len : 0.0f);
        put(out, hs);
        val r = success();
        // Everything that may allocate in the wasm heap before the views (growing the heap detaches them).
        r.set("headSize", hs);
        r.set("scale", 1.0f / std::sqrt(static_cast<float>(hs)));
        r.set("mode", std::string(kModes[static_cast<int>(interventions_.at(layer, head))]));
        val all = val(emscripten::typed_memory_view(b.size(), b.data()));
        size_t at = 0;
        for (const auto& [name, len] : std::initializer_list<std::pair<const char*, int>>{
                 {"q", hs}, {"k", n * hs}, {"v", n * hs}, {"dots", n}, {"scores", n}, {"probs", n}, {"contributions", n}, {"along", n}, {"out", hs}}) {
            r.set(name, all.call<val>("subarray", static_cast<double>(at), static_cast<double>(at + len)));
            at += static_cast<size_t>(len);
        }
        return r;
    }

    // The α slider: softmax(α · scores) under the causal mask for (layer, head), in attention()'s
    // band layout: {data (rows, K), firstQuery, capture}, row q over keys capture_first(q)..q then
    // zeros. α = 0 is the causal average, α = 1 the head's own weights (a uniform head: its scores).
    val tempered(int layer, int head, float alpha) {
        val bad = inspect_check(layer, head, 0);
        if (!bad.isNull()) return bad;
        if (!(alpha >= 0 && alpha <= 100)) return failure("alpha must be between 0 and 100");
        const gpt::Config& c = model_->config();
        const int n = window_length(), R = std::min(c.block_size, gpt::kMaxCapture), q0 = std::max(0, n - R);
        std::vector<int> rows;
        for (int q = q0; q < n; q++) rows.push_back(q);
        gpt::Probe probe(c, rows, layer, head);
        run_window(&probe);
        lab_buffer_.assign(static_cast<size_t>(n - q0) * R, 0.0f);
        std::vector<float> row(static_cast<size_t>(n));
        for (int q = q0; q < n; q++) {
            gpt::temper(row.data(), probe.scores(q - q0, layer, head), q + 1, q + 1, alpha);
            const int first = std::max(0, q - R + 1);
            std::copy(row.begin() + first, row.begin() + q + 1, lab_buffer_.begin() + static_cast<size_t>(q - q0) * R);
        }
        val r = success();
        r.set("data", val(emscripten::typed_memory_view(lab_buffer_.size(), lab_buffer_.data())));
        r.set("firstQuery", q0);
        r.set("capture", R);
        return r;
    }

    // The logit lens at window position pos: for the residual stream after the embedding and after
    // each block, softmax(lm_head(ln_f(.))) and its top k: [{layer (-1: embedding), top: [{token,
    // label, p}]}]. The last entry is the model's own next-token distribution.
    val lens(int pos, int k) {
        val bad = inspect_check(0, 0, pos);
        if (!bad.isNull()) return bad;
        const gpt::Config& c = model_->config();
        gpt::Probe probe(c, {pos}, 0, 0);
        run_window(&probe);
        std::vector<float> scratch(static_cast<size_t>(c.n_embd)), p(static_cast<size_t>(c.vocab_size));
        val layers = val::array();
        for (int l = -1; l < c.n_layer; l++) {
            gpt::lens(*model_, probe.residual(0, l), scratch.data(), p.data());
            val top = val::array();
            for (int t : gpt::top_indices(p.data(), c.vocab_size, k)) {
                val e = val::object();
                e.set("token", t);
                e.set("label", gpt::token_label(model_->tokenizer(), t));
                e.set("p", p[static_cast<size_t>(t)]);
                top.call<void>("push", e);
            }
            val row = val::object();
            row.set("layer", l);
            row.set("top", top);
            layers.call<void>("push", row);
        }
        val r = success();
        r.set("layers", layers);
        return r;
    }

    // The window's mean next-token loss with the current interventions and without: {loss,
    // baseline, targets}.
    val window_loss() {
        val bad = inspect_check(0, 0, 0);
        if (!bad.isNull()) return bad;
        const int n = window_length();
        if (n < 2) return failure("the text needs at least 2 tokens to measure a loss");
        const std::vector<int> tokens(generator_->tokens().begin() + generator_->window_start(), generator_->tokens().end());
        const auto with = gpt::mean_loss(*model_, *lab_, tokens, {&interventions_});
        const auto without = gpt::mean_loss(*model_, *lab_, tokens);
        if (!with || !without) return failure(with ? without.error() : with.error());
        val r = success();
        r.set("loss", with->mean_nats);
        r.set("baseline", without->mean_nats);
        r.set("targets", static_cast<double>(with->targets));
        return r;
    }

    // `gpt heads`, a head at a time so the worker can show progress: headsStart(text) measures the
    // model's loss, previous-token scores, entropies and induction scores; each headsNext() one
    // head's loss when off. {ok, done, heads, loss, roles: [{layer, head, lossIncrease (null until
    // measured), prevToken, induction, entropy}]}.
    val heads_start(const std::string& text) {
        if (!model_) return failure("no model is loaded");
        const auto enc = model_->tokenizer().encode(text);
        if (!enc.ok()) return failure(enc.error);
        auto st = gpt::HeadStudy::start(*model_, enc.tokens);
        if (!st) return failure(st.error());
        study_ = std::make_unique<gpt::HeadStudy>(st.take());
        return heads_report();
    }
    val heads_next() {
        if (!study_) return failure("start a head study first (headsStart)");
        study_->next();
        return heads_report();
    }

  private:
    uintptr_t abandon_load() {
        upload_.reset();
        upload_size_ = 0;
        files_ = gpt::CheckpointFiles();
        return 0;
    }

    // Runs fn, a step of a load; null when it returned. The engine refuses bad files with values
    // and bounds what it allocates; if the system still refuses memory (a tokenizer parsed while a
    // large model fills the heap), the bad_alloc is caught here, the one file compiled with
    // -fexceptions, and becomes a failure instead of reaching JS as a number.
    template <typename F>
    val guarded(F fn) {
        try {
            fn();
        } catch (const std::bad_alloc&) {
            return failure("out of memory while loading this model (the browser's wasm memory is full): nothing was changed");
        } catch (...) {
            return failure("unexpected error while loading this model: nothing was changed");
        }
        return val::null();
    }

    // A streamed load that failed: everything it held goes.
    val end_failed(const std::string& message) {
        loader_.reset();
        piece_.reset();
        piece_size_ = 0;
        return failure(message);
    }


    static constexpr const char* kModes[] = {"normal", "off", "uniform"};

    int window_length() const { return static_cast<int>(generator_->tokens().size()) - generator_->window_start(); }

    // null when (layer, head, pos) can be inspected in the current window, else the failure.
    val inspect_check(int layer, int head, int pos) {
        if (!generator_) return failure("nothing to inspect: start a generation first");
        const gpt::Config& c = model_->config();
        if (layer < 0 || layer >= c.n_layer || head < 0 || head >= c.n_head) return failure("no head " + std::to_string(layer) + "." + std::to_string(head));
        if (pos < 0 || pos >= window_length()) return failure("position " + std::to_string(pos) + " is outside the window of " + std::to_string(window_length()) + " tokens");
        if (!lab_) {
            // A second run state: checked against the memory left first (a failed allocation would abort).
            const uint64_t need = gpt::RunState::bytes_needed(c);
            if (need > available_memory()) return failure("inspecting this model needs " + gpt::format_bytes(need) + " more memory than is available");
            lab_ = std::make_unique<gpt::RunState>(c);
        }
        return val::null();
    }

    // The current window through the model on lab_, with the interventions and an observer.
    void run_window(gpt::Observer* obs) {
        const auto& t = generator_->tokens();
        gpt::forward(*model_, *lab_, t.data() + generator_->window_start(), window_length(), 0, {&interventions_, obs});
    }

    val heads_report() const {
        const gpt::Config& c = model_->config();
        val roles = val::array();
        for (int k = 0; k < study_->heads(); k++) {
            const gpt::HeadRole& h = study_->roles()[static_cast<size_t>(k)];
            val e = val::object();
            e.set("layer", k / c.n_head);
            e.set("head", k % c.n_head);
            e.set("lossIncrease", k < study_->done() ? val(h.loss_increase) : val::null());
            e.set("prevToken", h.prev_token);
            e.set("induction", h.induction);
            e.set("entropy", h.entropy);
            roles.call<void>("push", e);
        }
        val r = success();
        r.set("done", study_->done());
        r.set("heads", study_->heads());
        r.set("loss", study_->loss());
        r.set("roles", roles);
        return r;
    }

    gpt::Interventions interventions_;         // applied to every run and inspection
    std::unique_ptr<gpt::RunState> lab_;        // the inspections' own run state, made on first use
    std::vector<float> lab_buffer_;             // explain(), tempered(): what their views show
    std::unique_ptr<gpt::HeadStudy> study_;

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
    std::unique_ptr<gpt::ModelLoader> loader_;  // a streamed load under way
    std::unique_ptr<uint8_t, Free> piece_;      // (piece_size_) where JS copies the next piece
    size_t piece_size_ = 0;
    size_t upload_size_ = 0;
    gpt::CheckpointFiles files_;  // what comes beside the uploaded weights
    gpt::WeightsIn weights_in_ = gpt::WeightsIn::automatic;  // for the next loads (setWeightsIn)
    std::vector<float> rows_;    // rows(): (L, NH, len) of the last step's query
    std::vector<float> packed_;  // prompt_rows(): (rows, L, NH, len_q)
    bool stopped_ = false;
};

}  // namespace

EMSCRIPTEN_BINDINGS(gpt_playground) {
    // Threads for forward, the caller included (the threaded build; always 1 in the other): set
    // once before the first load, as RunState sizes its scratch from it. Returns the number in use.
    emscripten::function("setThreads", &gpt::parallel::set_threads);
    emscripten::function("threads", &gpt::parallel::threads);
    emscripten::class_<Engine>("Engine")
        .constructor<>()
        .function("uploadBuffer", &Engine::upload_buffer)
        .function("setFile", &Engine::set_file)
        .function("setWeightsIn", &Engine::set_weights_in)
        .function("load", &Engine::load)
        .function("beginLoad", &Engine::begin_load)
        .function("loadBuffer", &Engine::load_buffer)
        .function("feedLoad", &Engine::feed_load)
        .function("endLoad", &Engine::end_load)
        .function("loaded", &Engine::loaded)
        .function("info", &Engine::info)
        .function("start", &Engine::start)
        .function("step", &Engine::step)
        .function("stop", &Engine::stop)
        .function("rows", &Engine::rows)
        .function("attention", &Engine::attention)
        .function("promptRows", &Engine::prompt_rows)
        .function("probs", &Engine::probs)
        .function("top", &Engine::top)
        // Looking inside
        .function("setInterventions", &Engine::set_interventions)
        .function("setHead", &Engine::set_head)
        .function("interventions", &Engine::interventions)
        .function("explain", &Engine::explain)
        .function("tempered", &Engine::tempered)
        .function("lens", &Engine::lens)
        .function("windowLoss", &Engine::window_loss)
        .function("headsStart", &Engine::heads_start)
        .function("headsNext", &Engine::heads_next);
}
