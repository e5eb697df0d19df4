// A GPT-2-shaped checkpoint in Hugging Face's layout (tests/data/gpt2-hf, from weights/reference.py:
// GPT-2's vocabulary size, Conv1D weights stored [in, out], mask buffers, config.json, the test BPE
// tokenizer) loads into the engine's one internal layout and matches PyTorch.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

#include "bad_files.h"
#include "checkpoint.h"
#include "golden.h"
#include "helpers.h"
#include "loss.h"
#include "model.h"
#include "safetensors.h"

using namespace gpt;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

struct Hf {
    std::vector<uint8_t> weights = read_bytes(data_path("gpt2-hf/model.safetensors"));
    std::string tokenizer = read_text(data_path("bpe/tokenizer.json"));
    std::string config = read_text(data_path("gpt2-hf/config.json"));

    Result<Model> load() const {
        CheckpointFiles f;
        f.weights = weights.data();
        f.weights_size = weights.size();
        f.tokenizer_json = tokenizer;
        f.config_json = config;
        return Model::load(f);
    }

    // Rewrites the file: fn edits its header (name -> entry) and may append to its data.
    void edit(const std::function<void(SafetensorsParts&)>& fn) {
        SafetensorsParts parts(weights);
        fn(parts);
        weights = parts.file();
    }
};

}  // namespace

TEST_CASE("a Hugging Face GPT-2 checkpoint matches PyTorch: logits, attention, loss", "[gpt2][golden]") {
    const Hf hf;
    auto m = hf.load();
    INFO(m.error());
    REQUIRE(m.ok());
    const Config& c = m->config();
    REQUIRE(m->layout() == "huggingface");
    REQUIRE(std::string(m->tokenizer().kind()) == "gpt2");
    REQUIRE(c.vocab_size == 50257);
    REQUIRE(c.n_head == 2);  // from config.json: 16 is not a multiple of GPT-2's head size

    const Reference ref(data_path("gpt2-hf/reference.safetensors"));
    const auto tokens = ref.ints("tokens");
    const auto rows = ref.ints("rows");
    REQUIRE(m->tokenizer().encode(ref.meta("text")).tokens == tokens);  // the BPE, end to end

    const int n = static_cast<int>(tokens.size());
    RunState s(c);
    REQUIRE(forward(m.value(), s, tokens.data(), n, 0).ok());
    const double tol = logit_tolerance(c.n_layer, c.n_embd);
    REQUIRE(max_logit_error(m.value(), s, rows, ref.tensor("logits_rows")) <= tol);  // (rows, V)
    REQUIRE(max_attention_error(s, ref, n) <= attention_tolerance(c.n_layer, c.n_embd));
    const auto loss = mean_loss(m.value(), s, tokens);
    REQUIRE(loss.ok());
    REQUIRE(std::fabs(loss->mean_nats - std::stod(ref.meta("loss"))) <= tol);
}

TEST_CASE("Hugging Face layouts: the transformer. prefix, a tied or untied lm_head", "[gpt2]") {
    const Hf plain;
    auto base = plain.load();
    REQUIRE(base.ok());
    std::vector<int> tokens = {1, 2, 3, 50256};
    RunState s0(base->config());
    REQUIRE(forward(base.value(), s0, tokens.data(), 4, 0).ok());

    for (bool untie : {false, true}) {
        Hf prefixed;
        prefixed.edit([&](SafetensorsParts& p) {
            json out;
            for (auto it = p.header.begin(); it != p.header.end(); ++it)
                out[it.key() == "__metadata__" ? it.key() : "transformer." + it.key()] = *it;
            p.header = out;
            p.append_lm_head("transformer.wte.weight", untie);  // GPT2LMHeadModel's head
        });
        auto m = prefixed.load();
        INFO(m.error());
        REQUIRE(m.ok());
        REQUIRE(m->weights().tied() == !untie);
        REQUIRE(m->num_params() == base->num_params() + (untie ? 50257u * 16 : 0));
        RunState s(m->config());
        REQUIRE(forward(m.value(), s, tokens.data(), 4, 0).ok());
        // The untied head differs in its first row only (one changed weight): logit 0 moves, the rest not.
        REQUIRE((s.logits[0] != s0.logits[0]) == untie);
        for (int v = 1; v < 50257; v += 97) REQUIRE(s.logits[v] == s0.logits[v]);
    }
}

TEST_CASE("Hugging Face checkpoints: what is missing or inconsistent is named", "[gpt2]") {
    Hf hf;
    hf.config.clear();
    REQUIRE_THAT(hf.load().error(), Contains("the number of heads is not in the file and n_embd 16 is not a multiple of 64: add the model's config.json"));
    Hf no_tok;
    no_tok.tokenizer.clear();
    REQUIRE_THAT(no_tok.load().error(), Contains("this checkpoint has no tokenizer: add its tokenizer.json (or vocab.json and merges.txt)"));
    Hf wrong;
    wrong.config = R"({"n_embd": 32, "n_head": 2})";
    REQUIRE_THAT(wrong.load().error(), Contains("config.json says n_embd 32, but the weights have 16"));
    Hf relu;
    relu.config = R"({"n_head": 2, "activation_function": "relu"})";
    REQUIRE_THAT(relu.load().error(), Contains("activation_function 'relu' is not supported"));
    Hf exact;
    exact.config = R"({"n_head": 2, "activation_function": "gelu"})";
    REQUIRE(exact.load()->config().gelu_exact);
    // Integers are reported as written, never narrowed first (-4 was "got 0", 2^40 became 1048576).
    for (const auto& [value, figure] : std::vector<std::pair<std::string, std::string>>{
             {"-4", "-4"}, {"0", "0"}, {"1099511627776", "1099511627776"}, {"18446744073709551615", "18446744073709551615"}}) {
        Hf heads;
        heads.config = R"({"n_head": )" + value + "}";
        REQUIRE_THAT(heads.load().error(), Contains("config.json: n_head " + figure + " is out of range (1 to 1073741824)"));
    }
    Hf layers;
    layers.config = R"({"n_head": 2, "n_layer": 4294967298})";
    REQUIRE_THAT(layers.load().error(), Contains("config.json: n_layer 4294967298 is out of range"));
    Hf wide;
    wide.edit([](SafetensorsParts& p) {
        p.header["h.0.attn.masked_bias"] = p.header["wpe.weight"];  // keeps the bytes (a mask buffer: ignored)
        p.header["wpe.weight"] = {{"dtype", "F32"}, {"shape", {4294967296ull, 0}}, {"data_offsets", {0, 0}}};
    });
    REQUIRE_THAT(wide.load().error(), Contains("tensor 'wpe.weight': dimension 4294967296 is out of range (at most 1073741824)"));
    Hf odd;
    odd.edit([](SafetensorsParts& p) { p.header["h.1.attn.c_fc_extra.weight"] = p.header["h.1.ln_1.bias"]; });
    REQUIRE_THAT(odd.load().error(), Contains("overlap"));  // the container check comes first
    Hf big;
    big.config = R"({"n_head": 2})";
    CheckpointFiles f;
    f.weights = big.weights.data();
    f.weights_size = big.weights.size();
    f.tokenizer_json = big.tokenizer;
    f.config_json = big.config;
    REQUIRE_THAT(Model::load(f, 1000000).error(), Contains("this model needs"));
}
