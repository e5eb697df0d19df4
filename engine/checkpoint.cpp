#include "checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "bounded_json.h"
#include "bpe.h"

namespace gpt {

namespace {

using json = nlohmann::json;
template <class T>
using R = Result<T>;

// The engine's config in __metadata__: key -> Config field.
const std::pair<const char*, int Config::*> kConfigKeys[] = {{"n_layer", &Config::n_layer},
                                                             {"n_head", &Config::n_head},
                                                             {"n_embd", &Config::n_embd},
                                                             {"block_size", &Config::block_size},
                                                             {"vocab_size", &Config::vocab_size}};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A metadata value that must be a positive decimal integer (at most 9 digits: fits an int).
Status metadata_int(const std::map<std::string, std::string>& meta, const char* key, int* out) {
    const auto it = meta.find(key);
    if (it == meta.end()) {
        return Status::fail(std::string("__metadata__ has no '") + key +
                            "': not a gpt-playground checkpoint (see the README, weight format)");
    }
    const std::string& s = it->second;
    bool digits = !s.empty() && s.size() <= 9;
    for (char c : s) digits = digits && c >= '0' && c <= '9';
    if (!digits) return Status::fail(std::string("__metadata__ '") + key + "' must be a positive integer, got '" + s + "'");
    *out = std::stoi(s);
    return Status::success();
}

bool has_engine_metadata(const safetensors::File& f) {
    for (const auto& [key, field] : kConfigKeys) {
        if (f.metadata.count(key)) return true;
    }
    return f.metadata.count("vocab") != 0;
}

// The config of a file without the engine's metadata: from config.json if given, else the shapes.
R<Config> config_from_shapes(const safetensors::File& f, const std::string& prefix, const std::string& config_json,
                             uint64_t max_memory) {
    Config c;
    const auto* wte = f.find(prefix + "wte.weight");
    const auto* wpe = f.find(prefix + "wpe.weight");
    if (!wpe) return R<Config>::fail("missing tensor '" + prefix + "wpe.weight'");
    if (wte->shape.size() != 2 || wpe->shape.size() != 2) return R<Config>::fail("wte and wpe must be matrices");
    // Dimensions are checked as the 64-bit values they are before they become ints.
    for (const auto* t : {wte, wpe}) {
        for (int64_t d : t->shape) {
            if (d > (1 << 30)) {
                return R<Config>::fail("tensor '" + t->name + "': dimension " + std::to_string(d) + " is out of range (at most " +
                                       std::to_string(1 << 30) + ")");
            }
        }
    }
    c.vocab_size = static_cast<int>(wte->shape[0]);
    c.n_embd = static_cast<int>(wte->shape[1]);
    c.block_size = static_cast<int>(wpe->shape[0]);
    while (c.n_layer < 1000 && f.find(prefix + "h." + std::to_string(c.n_layer) + ".ln_1.weight")) c.n_layer++;
    if (c.n_layer == 0) return R<Config>::fail("no transformer blocks (" + prefix + "h.0.*) in the file");
    c.n_head = c.n_embd % 64 == 0 ? c.n_embd / 64 : 0;  // GPT-2 models all have heads of 64

    if (!config_json.empty()) {
        JsonLimits limits;
        limits.max_memory = std::min(limits.max_memory, max_memory / 2);  // before the model's needs are known
        const auto parsed = parse_json(config_json, "config.json", limits);
        if (!parsed) return R<Config>::fail(parsed.error());
        const json& j = parsed.value();
        if (!j.is_object()) return R<Config>::fail("config.json is not a JSON object");
        struct Field {
            const char* key;
            int* value;
        };
        for (const Field& fd : {Field{"n_layer", &c.n_layer}, Field{"n_head", &c.n_head}, Field{"n_embd", &c.n_embd},
                                Field{"n_positions", &c.block_size}, Field{"vocab_size", &c.vocab_size}}) {
            if (!j.contains(fd.key)) continue;
            if (!j[fd.key].is_number_integer()) return R<Config>::fail(std::string("config.json: ") + fd.key + " is not an integer");
            int64_t v;
            if (!json_int64(j[fd.key], &v) || v < 1 || v > (1 << 30)) {  // the figure as written, never narrowed
                const json& x = j[fd.key];
                return R<Config>::fail(std::string("config.json: ") + fd.key + " " +
                                       (x.is_number_unsigned() ? std::to_string(x.get<uint64_t>()) : std::to_string(x.get<int64_t>())) +
                                       " is out of range (1 to " + std::to_string(1 << 30) + ")");
            }
            if (fd.value == &c.n_head) {
                c.n_head = static_cast<int>(v);
            } else if (v != *fd.value) {
                return R<Config>::fail(std::string("config.json says ") + fd.key + " " + std::to_string(v) +
                                       ", but the weights have " + std::to_string(*fd.value));
            }
        }
        if (j.contains("activation_function") && j["activation_function"].is_string()) {
            const std::string a = j["activation_function"].get<std::string>();
            if (a == "gelu") {
                c.gelu_exact = true;
            } else if (a != "gelu_new" && a != "gelu_pytorch_tanh" && a != "gelu_fast") {
                return R<Config>::fail("config.json: activation_function '" + a +
                                       "' is not supported (supported: gelu_new, gelu_pytorch_tanh, gelu_fast, gelu)");
            }
        }
        if (j.contains("layer_norm_epsilon") && j["layer_norm_epsilon"].is_number() &&
            std::abs(j["layer_norm_epsilon"].get<double>() - 1e-5) > 1e-9) {
            return R<Config>::fail("config.json: layer_norm_epsilon must be 1e-5");
        }
    } else if (c.n_head == 0) {
        return R<Config>::fail("the number of heads is not in the file and n_embd " + std::to_string(c.n_embd) +
                               " is not a multiple of 64: add the model's config.json");
    }
    return c;
}

// memory: what a GPT-2 tokenizer may take to parse its files.
R<std::unique_ptr<Tokenizer>> tokenizer_for(const safetensors::File& f, const CheckpointFiles& files, const Config& c,
                                            uint64_t memory) {
    using Out = R<std::unique_ptr<Tokenizer>>;
    auto wrap = [](auto r) -> Out {
        if (!r) return Out::fail(r.error());
        return std::unique_ptr<Tokenizer>(new auto(r.take()));
    };
    if (!files.tokenizer_json.empty()) return wrap(Gpt2Tokenizer::from_tokenizer_json(files.tokenizer_json, memory));
    if (!files.vocab_json.empty() || !files.merges_txt.empty()) {
        if (files.vocab_json.empty() || files.merges_txt.empty()) return Out::fail("vocab.json and merges.txt go together: add both");
        return wrap(Gpt2Tokenizer::from_vocab_merges(files.vocab_json, files.merges_txt, memory));
    }
    const auto tok = f.metadata.find("tokenizer");
    const auto tj = f.metadata.find("tokenizer_json");
    if (tj != f.metadata.end()) return wrap(Gpt2Tokenizer::from_tokenizer_json(tj->second, memory));
    if (tok != f.metadata.end() && tok->second == "gpt2") {
        return Out::fail("this checkpoint's GPT-2 tokenizer is not in the file: add its tokenizer.json (or vocab.json and merges.txt)");
    }
    if (tok != f.metadata.end() && tok->second != "char") {
        return Out::fail("tokenizer '" + tok->second + "' is not supported (supported: char, gpt2)");
    }
    const auto vit = f.metadata.find("vocab");
    if (vit == f.metadata.end()) {
        return Out::fail(has_engine_metadata(f) ? "__metadata__ has no 'vocab' (the tokenizer's characters)"
                                                : "this checkpoint has no tokenizer: add its tokenizer.json (or vocab.json and merges.txt)");
    }
    // One character per token: a small array whose tree is bounded by the default limit.
    const auto parsed = parse_json(vit->second, "__metadata__ 'vocab'");
    if (!parsed) return Out::fail("__metadata__ 'vocab' must be a JSON array of strings (" + parsed.error() + ")");
    if (!parsed->is_array()) return Out::fail("__metadata__ 'vocab' must be a JSON array of strings");
    const json& vj = parsed.value();
    std::vector<std::string> vocab;
    for (const auto& e : vj) {
        if (!e.is_string()) return Out::fail("__metadata__ 'vocab' must be a JSON array of strings");
        vocab.push_back(e.get<std::string>());
    }
    if (static_cast<int64_t>(vocab.size()) != c.vocab_size) {
        return Out::fail("vocab has " + std::to_string(vocab.size()) + " entries but vocab_size is " + std::to_string(c.vocab_size));
    }
    return wrap(CharTokenizer::create(std::move(vocab)));
}

bool same_bytes(const safetensors::File& f, const safetensors::TensorInfo& a, const safetensors::TensorInfo& b) {
    return a.dtype == b.dtype && a.numel == b.numel && std::memcmp(f.data + a.begin, f.data + b.begin, a.end - a.begin) == 0;
}

}  // namespace

Result<Checkpoint> read_checkpoint(const CheckpointFiles& files, uint64_t max_memory, WeightsIn weights_in) {
    auto parsed = safetensors::parse(files.weights, files.weights_size);
    if (!parsed) return R<Checkpoint>::fail(parsed.error());
    return read_checkpoint(parsed.take(), files, max_memory, weights_in);
}

Result<Checkpoint> read_checkpoint(safetensors::File file, const CheckpointFiles& files, uint64_t max_memory,
                                   WeightsIn weights_in) {
    Checkpoint ck;
    ck.file = std::move(file);
    const safetensors::File& f = ck.file;

    // Layout: the embedding's name says whether names carry "transformer."; the metadata whether
    // this is the engine's own format; c_attn's shape whether Linear weights are stored [in, out].
    const bool engine_format = has_engine_metadata(f);
    std::string prefix = "transformer.";
    if (!f.find("transformer.wte.weight")) {
        if (engine_format || !f.find("wte.weight")) {
            return R<Checkpoint>::fail("no token embedding (transformer.wte.weight or wte.weight): not a GPT checkpoint");
        }
        prefix = "";
    }
    ck.layout = engine_format ? "gpt-playground" : "huggingface";

    Config& c = ck.config;
    if (engine_format) {
        for (const auto& [key, field] : kConfigKeys) {
            if (Status s = metadata_int(f.metadata, key, &(c.*field)); !s) return R<Checkpoint>::fail(s.error);
        }
        const auto act = f.metadata.find("activation");
        if (act != f.metadata.end()) {
            if (act->second != "gelu" && act->second != "gelu_tanh") {
                return R<Checkpoint>::fail("__metadata__ 'activation' must be gelu_tanh or gelu, got '" + act->second + "'");
            }
            c.gelu_exact = act->second == "gelu";
        }
    } else {
        auto derived = config_from_shapes(f, prefix, files.config_json, max_memory);
        if (!derived) return R<Checkpoint>::fail(derived.error());
        c = derived.value();
    }
    if (Status s = validate(c); !s) return R<Checkpoint>::fail(s.error);

    // The head: absent or equal to wte means tied. Without the data (a file read as it arrives),
    // a head is loaded as its own tensor and compared with wte once both are in (loader.h).
    const auto* head = f.find("lm_head.weight");
    const auto* wte = f.find(prefix + "wte.weight");
    const bool untied = head && !(wte && f.data && same_bytes(f, *head, *wte));
    ck.head_maybe_tied = untied && wte && !f.data && head->dtype == wte->dtype;

    // Computed first, from the config alone: a model that cannot fit is refused before anything
    // else is checked or allocated. Config limits keep every product far from overflow.
    bool all_f16 = !f.tensors.empty();
    for (const auto& t : f.tensors) all_f16 = all_f16 && t.dtype == safetensors::DType::F16;
    ck.format = resolve_weights_in(weights_in, count_params(c, untied), all_f16);
    const MemoryNeeds needs = memory_needs(c, untied, ck.format);
    if (needs.total() > max_memory) {
        return R<Checkpoint>::fail("this model needs " + format_bytes(needs.total()) + " of memory (weights " +
                                   format_bytes(needs.weights) + ", activations, KV cache and attention " +
                                   format_bytes(needs.state) + "), more than the " + format_bytes(max_memory) + " available");
    }

    // Half of what the model leaves goes to parsing the tokenizer, so that a tokenizer file too
    // large for the memory at hand is a refusal with the figure, not an allocation that fails.
    auto tokenizer = tokenizer_for(f, files, c, (max_memory - needs.total()) / 2);
    if (!tokenizer) return R<Checkpoint>::fail(tokenizer.error());
    ck.tokenizer = tokenizer.take();
    if (ck.tokenizer->vocab_size() > c.vocab_size) {
        return R<Checkpoint>::fail("the tokenizer has " + std::to_string(ck.tokenizer->vocab_size()) +
                                   " tokens but the model only " + std::to_string(c.vocab_size));
    }

    // Every expected tensor present with its exact shape, and nothing unexpected.
    const auto* c_attn = f.find(prefix + "h.0.attn.c_attn.weight");
    const int64_t C = c.n_embd;
    const bool conv1d = !engine_format && c_attn && c_attn->shape == std::vector<int64_t>{C, 3 * C};
    std::set<std::string> used;
    for (const TensorSpec& e : tensor_specs(c)) {
        const std::string name = prefix + e.name;
        const auto* t = f.find(name);
        if (!t) return R<Checkpoint>::fail("missing tensor '" + name + "'");
        const bool transpose = conv1d && e.linear;
        const std::vector<int64_t> want = transpose ? std::vector<int64_t>{e.shape[1], e.shape[0]} : e.shape;
        if (t->shape != want) {
            return R<Checkpoint>::fail("tensor '" + name + "': wrong shape " + safetensors::shape_str(t->shape) + ", expected " +
                                       safetensors::shape_str(want));
        }
        ck.tensors.push_back({e, t, transpose});
        used.insert(name);
    }
    if (head) {
        const TensorSpec spec = lm_head_spec(c);
        if (head->shape != spec.shape) {
            return R<Checkpoint>::fail("tensor 'lm_head.weight': wrong shape " + safetensors::shape_str(head->shape) +
                                       ", expected " + safetensors::shape_str(spec.shape));
        }
        if (untied) ck.tensors.push_back({spec, head, false});
        used.insert("lm_head.weight");
    }
    for (const auto& t : f.tensors) {
        if (used.count(t.name)) continue;
        // Hugging Face checkpoints may carry the causal mask as buffers: the engine has its own.
        const bool mask_buffer = !engine_format && t.name.rfind(prefix + "h.", 0) == 0 &&
                                 (ends_with(t.name, ".attn.bias") || ends_with(t.name, ".attn.masked_bias"));
        if (!mask_buffer) return R<Checkpoint>::fail("unexpected tensor '" + t.name + "'");
    }
    return ck;
}

}  // namespace gpt
