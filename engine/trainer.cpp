#include "trainer.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "utf8.h"

namespace gpt {

const std::vector<Preset>& presets() {
    // Work per step is about 6 x parameters x B x T flops plus attention. "tiny" takes short
    // windows, small batches and a high learning rate so that it makes many steps a second in wasm:
    // a layer-0 head puts 30% of its attention on the previous character after ~600 steps, under
    // half a minute in Node on a busy core (tests/bench/train-bench.mjs measures it).
    static const std::vector<Preset> p = {
        {"tiny", "2 layers x 4 heads, 64 wide, context 32 (0.1M parameters)", 2, 4, 64, 32, 8, 1e-2f},
        {"small", "4 layers x 4 heads, 128 wide, context 64 (0.8M parameters)", 4, 4, 128, 64, 16, 3e-3f},
        {"shakespeare", "4 layers x 4 heads, 192 wide, context 256: the shipped model's shape (1.8M parameters)", 4, 4,
         192, 256, 16, 2e-3f},
    };
    return p;
}

const Preset* find_preset(const std::string& name) {
    for (const Preset& p : presets())
        if (name == p.name) return &p;
    return nullptr;
}

Result<Corpus> Corpus::from_text(const std::string& text, const Tokenizer* tokenizer) {
    Corpus c;
    if (tokenizer) {
        if (std::string(tokenizer->kind()) != "char") return Result<Corpus>::fail("training needs a character-level model");
        const auto enc = tokenizer->encode(text);
        if (!enc.ok()) return Result<Corpus>::fail(enc.error);
        c.tokens = enc.tokens;
        for (int i = 0; i < tokenizer->vocab_size(); i++) c.vocab.push_back(tokenizer->token_bytes(i));
    } else {
        const auto* s = reinterpret_cast<const unsigned char*>(text.data());
        std::vector<uint32_t> cps;
        for (size_t i = 0; i < text.size();) {
            uint32_t cp;
            const size_t len = utf8::decode(s, text.size(), i, &cp);
            if (len == 0) return Result<Corpus>::fail("the text is not valid UTF-8 (byte " + std::to_string(i) + ")");
            cps.push_back(cp);
            i += len;
        }
        std::vector<uint32_t> chars(cps);
        std::sort(chars.begin(), chars.end());
        chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
        std::map<uint32_t, int> index;
        for (uint32_t cp : chars) {
            index[cp] = static_cast<int>(c.vocab.size());
            c.vocab.push_back(utf8::encode(cp));
        }
        c.tokens.reserve(cps.size());
        for (uint32_t cp : cps) c.tokens.push_back(index[cp]);
    }
    c.n_train = static_cast<size_t>(0.9 * static_cast<double>(c.tokens.size()));  // train.py: int(0.9 * len(ids))
    return c;
}

std::vector<uint8_t> write_checkpoint(const Config& c, const std::vector<std::string>& vocab, const std::vector<float>& params) {
    // The vocabulary as json.dumps(vocab, ensure_ascii=False) writes it: ", " between entries.
    std::string v = "[";
    for (size_t i = 0; i < vocab.size(); i++) v += (i ? ", " : "") + nlohmann::json(vocab[i]).dump();
    v += "]";
    nlohmann::ordered_json meta;
    meta["format"] = "gpt-playground";
    meta["format_version"] = "1";
    meta["tokenizer"] = "char";
    meta["vocab"] = v;
    if (c.gelu_exact) meta["activation"] = "gelu";
    meta["n_layer"] = std::to_string(c.n_layer);
    meta["n_head"] = std::to_string(c.n_head);
    meta["n_embd"] = std::to_string(c.n_embd);
    meta["block_size"] = std::to_string(c.block_size);
    meta["vocab_size"] = std::to_string(c.vocab_size);
    nlohmann::ordered_json header;
    header["__metadata__"] = meta;
    size_t offset = 0;
    for (const TensorSpec& s : tensor_specs(c)) {
        size_t n = 1;
        for (int64_t d : s.shape) n *= static_cast<size_t>(d);
        header["transformer." + s.name] = {{"dtype", "F32"}, {"shape", s.shape}, {"data_offsets", {offset, offset + 4 * n}}};
        offset += 4 * n;
    }
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');  // the data starts 8-byte aligned, as gptref.py writes it
    std::vector<uint8_t> out(8 + h.size() + 4 * params.size());
    const uint64_t n = h.size();
    for (int i = 0; i < 8; i++) out[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
    std::memcpy(out.data() + 8, h.data(), h.size());
    // float32 little-endian: the byte order of every machine the engine builds for (x86, wasm).
    std::memcpy(out.data() + 8 + h.size(), params.data(), 4 * params.size());
    return out;
}

uint64_t Trainer::memory_needed(const Config& arch, int vocab_size, int batch) {
    Config c = arch;
    c.vocab_size = vocab_size;
    return train_memory(c, batch);
}

Result<Trainer> Trainer::create(const std::string& text, const Config& arch, const TrainSettings& s, uint64_t seed,
                                bool sequential, const Model* init) {
    using R = Result<Trainer>;
    if (Status st = validate(s); !st) return R::fail(st.error);
    auto corpus = Corpus::from_text(text, init ? &init->tokenizer() : nullptr);
    if (!corpus) return R::fail(corpus.error());
    Trainer t;
    t.corpus_ = corpus.take();
    t.config_ = init ? init->config() : arch;
    if (!init) t.config_.vocab_size = static_cast<int>(t.corpus_.vocab.size());
    if (Status st = validate(t.config_); !st) return R::fail(st.error);
    const int T = t.config_.block_size;
    if (t.corpus_.n_train < static_cast<size_t>(T) + 2) {
        return R::fail("the text is too short: its training part (the first 90%) has " + std::to_string(t.corpus_.n_train) +
                       " characters, and a window of " + std::to_string(T) + " needs at least " + std::to_string(T + 2));
    }
    auto st = init ? TrainState::from_model(*init, s.batch) : TrainState::create(t.config_, s.batch, seed);
    if (!st) return R::fail(st.error());
    t.state_ = std::make_unique<TrainState>(st.take());
    t.settings_ = s;
    t.rng_ = Rng(seed);
    t.sequential_ = sequential;
    t.inputs_.resize(static_cast<size_t>(s.batch) * T);
    t.targets_.resize(t.inputs_.size());
    return t;
}

void Trainer::batch_windows(int step) {
    const int B = settings_.batch, T = config_.block_size;
    const std::vector<int>& d = corpus_.tokens;  // the training split is d[0, n_train)
    const size_t windows = (corpus_.n_train - 1) / static_cast<size_t>(T);
    for (int b = 0; b < B; b++) {
        size_t start;
        if (sequential_) {
            start = ((static_cast<size_t>(step) * B + b) % windows) * T;
        } else {  // train.py: torch.randint(len(d) - T - 1) for each row
            start = static_cast<size_t>(rng_.uniform() * static_cast<double>(corpus_.n_train - T - 1));
        }
        std::copy(d.begin() + static_cast<long>(start), d.begin() + static_cast<long>(start + T), inputs_.begin() + b * T);
        std::copy(d.begin() + static_cast<long>(start + 1), d.begin() + static_cast<long>(start + T + 1),
                  targets_.begin() + b * T);
    }
}

StepReport Trainer::step() {
    batch_windows(step_);
    const auto loss = state_->forward(inputs_.data(), targets_.data(), settings_.batch, config_.block_size);
    state_->backward();
    StepReport r;
    r.step = step_;
    r.loss = loss.ok() ? loss.value() : NAN;  // the batch comes from the corpus: always in range
    r.lr = static_cast<float>(learning_rate(settings_, step_));
    r.grad_norm = state_->update(settings_, step_);
    step_++;
    return r;
}

Result<float> Trainer::gradients_of_first_batch() {
    batch_windows(0);
    const auto loss = state_->forward(inputs_.data(), targets_.data(), settings_.batch, config_.block_size);
    if (loss) state_->backward();
    return loss;
}

Result<float> Trainer::validation_loss(int max_windows) {
    const std::vector<int>& d = corpus_.tokens;
    const size_t n_val = d.size() - corpus_.n_train;
    if (n_val < 2) return Result<float>::fail("the validation part (the last 10%) is under 2 characters");
    // Windows of t tokens from the start of the validation split (shorter than the context when
    // the split is), B at a time, as many as fit up to max_windows.
    const int t = static_cast<int>(std::min<size_t>(static_cast<size_t>(config_.block_size), n_val - 1));
    const int windows = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(1, max_windows)), (n_val - 1) / t));
    double total = 0;
    for (int w0 = 0; w0 < windows; w0 += settings_.batch) {
        const int n = std::min(settings_.batch, windows - w0);
        for (int b = 0; b < n; b++) {
            const size_t start = corpus_.n_train + static_cast<size_t>(w0 + b) * t;
            std::copy(d.begin() + static_cast<long>(start), d.begin() + static_cast<long>(start + t), inputs_.begin() + b * t);
            std::copy(d.begin() + static_cast<long>(start + 1), d.begin() + static_cast<long>(start + t + 1),
                      targets_.begin() + b * t);
        }
        const auto loss = state_->forward(inputs_.data(), targets_.data(), n, t);
        if (!loss) return loss;
        total += static_cast<double>(loss.value()) * n;
    }
    return static_cast<float>(total / windows);
}

}  // namespace gpt
