// The shipped model (weights/shakespeare-char.safetensors) against PyTorch: logits and every head's
// attention for a fixed prompt (tests/data/shakespeare.ref.safetensors, weights/reference.py model),
// and the loss on the first 50,000 validation characters of Tiny Shakespeare. The text is not part
// of the project: that test runs when it finds it (GPT_TINYSHAKESPEARE, or ../shared/data/ beside
// the checkout) and says it was skipped otherwise.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "helpers.h"
#include "loss.h"
#include "model.h"
#include "safetensors.h"
#include "utf8.h"

using namespace gpt;

namespace {

struct Shipped {
    std::vector<uint8_t> bytes = read_bytes(std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors");
    std::vector<uint8_t> ref_bytes = read_bytes(data_path("shakespeare.ref.safetensors"));
    safetensors::File ref;
    Shipped() {
        auto r = safetensors::parse(ref_bytes.data(), ref_bytes.size());
        REQUIRE(r.ok());
        ref = r.take();
    }
    Model model() const {
        auto m = Model::load(bytes.data(), bytes.size());
        INFO(m.error());
        REQUIRE(m.ok());
        return m.take();
    }
};

}  // namespace

TEST_CASE("the shipped model matches PyTorch: logits and every head's attention", "[shipped][golden]") {
    const Shipped s;
    const Model m = s.model();
    const Config& c = m.config();
    const auto tokens = nlohmann::json::parse(s.ref.metadata.at("tokens")).get<std::vector<int>>();
    const int n = static_cast<int>(tokens.size());
    RunState st(c);
    REQUIRE(forward(m, st, tokens.data(), n, 0).ok());
    std::vector<float> want(static_cast<size_t>(n) * c.vocab_size), got(static_cast<size_t>(c.vocab_size));
    safetensors::to_f32(s.ref, *s.ref.find("logits"), want.data());
    const double tol = logit_tolerance(c.n_layer, c.n_embd);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        logits_of_row(m, st, i, got.data());
        for (int v = 0; v < c.vocab_size; v++) {
            const double w = want[static_cast<size_t>(i) * c.vocab_size + v];
            worst = std::max(worst, std::fabs(got[v] - w) / std::max(1.0, std::fabs(w)));
        }
    }
    WARN("shipped model: max relative logit error " << worst << " (tolerance " << tol << ")");
    REQUIRE(worst <= tol);
    double worst_att = 0;
    for (int l = 0; l < c.n_layer; l++) {
        const auto* t = s.ref.find("att." + std::to_string(l));  // (NH, n, n)
        std::vector<float> att(t->numel);
        safetensors::to_f32(s.ref, *t, att.data());
        for (int h = 0; h < c.n_head; h++)
            for (int p = 0; p < n; p++)
                for (int j = 0; j <= p; j++) {
                    worst_att = std::max(worst_att, static_cast<double>(std::fabs(st.att_row(l, h, p)[j] - att[(static_cast<size_t>(h) * n + p) * n + j])));
                }
    }
    WARN("shipped model: max attention error " << worst_att);
    REQUIRE(worst_att <= attention_tolerance(c.n_layer, c.n_embd));
}

TEST_CASE("the shipped model's loss on the first 50,000 validation characters matches PyTorch within 1e-3",
          "[shipped][data]") {
    const char* env = std::getenv("GPT_TINYSHAKESPEARE");
    const std::string path = env ? env : GPT_DEFAULT_DATA;
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        WARN("skipped: the Tiny Shakespeare text is not at " << path << " (set GPT_TINYSHAKESPEARE)");
        return;
    }
    const Shipped s;
    const Model m = s.model();
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // The validation split as train.py cuts it: the last 10% of the characters (all ASCII here).
    std::vector<size_t> starts;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t i = 0; i < text.size();) {
        uint32_t cp;
        const size_t len = utf8::decode(p, text.size(), i, &cp);
        if (len == 0) FAIL("the text is not valid UTF-8 at byte " << i);
        starts.push_back(i);
        i += len;
    }
    const size_t cut = static_cast<size_t>(0.9 * static_cast<double>(starts.size()));
    const size_t n = std::stoul(s.ref.metadata.at("val_chars"));
    REQUIRE(cut + n <= starts.size());
    const size_t end = cut + n < starts.size() ? starts[cut + n] : text.size();
    const auto enc = m.tokenizer().encode(text.substr(starts[cut], end - starts[cut]));
    REQUIRE(enc.ok());
    RunState st(m.config());
    const auto r = mean_loss(m, st, enc.tokens);
    REQUIRE(r.ok());
    const double want = std::stod(s.ref.metadata.at("val_loss"));
    WARN("engine " << r->mean_nats << " nats, PyTorch " << want << ", difference " << std::fabs(r->mean_nats - want));
    REQUIRE(r->targets == std::stol(s.ref.metadata.at("val_targets")));
    REQUIRE(std::fabs(r->mean_nats - want) <= 1e-3);
}
