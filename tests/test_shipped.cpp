// The shipped model (weights/shakespeare-char.safetensors) against PyTorch: logits and every head's
// attention for a fixed prompt (tests/data/shakespeare.ref.safetensors, weights/reference.py model),
// and the loss on the first 50,000 validation characters of Tiny Shakespeare. The text is not part
// of the project: that test runs when it finds it (GPT_TINYSHAKESPEARE, or ../shared/data/ beside
// the checkout) and says it was skipped otherwise.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "golden.h"
#include "helpers.h"
#include "loss.h"
#include "model.h"
#include "safetensors.h"
#include "utf8.h"

using namespace gpt;

namespace {

Model shipped() { return load_model(read_bytes(std::string(GPT_WEIGHTS) + "/shakespeare-char.safetensors")); }
const std::string kReference = data_path("shakespeare.ref.safetensors");

}  // namespace

TEST_CASE("the shipped model matches PyTorch: logits and every head's attention", "[shipped][golden]") {
    const Model m = shipped();
    const Reference ref(kReference);
    const Config& c = m.config();
    const auto tokens = ref.ints("tokens");
    const int n = static_cast<int>(tokens.size());
    RunState st(c);
    REQUIRE(forward(m, st, tokens.data(), n, 0).ok());
    const double tol = logit_tolerance(c.n_layer, c.n_embd);
    const double worst = max_logit_error(m, st, first_rows(n), ref.tensor("logits"));  // (n, V)
    WARN("shipped model: max relative logit error " << worst << " (tolerance " << tol << ")");
    REQUIRE(worst <= tol);
    const double worst_att = max_attention_error(st, ref, n);
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
    const Model m = shipped();
    const Reference ref(kReference);
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
    const size_t n = std::stoul(ref.meta("val_chars"));
    REQUIRE(cut + n <= starts.size());
    const size_t end = cut + n < starts.size() ? starts[cut + n] : text.size();
    const auto enc = m.tokenizer().encode(text.substr(starts[cut], end - starts[cut]));
    REQUIRE(enc.ok());
    RunState st(m.config());
    const auto r = mean_loss(m, st, enc.tokens);
    REQUIRE(r.ok());
    const double want = std::stod(ref.meta("val_loss"));
    WARN("engine " << r->mean_nats << " nats, PyTorch " << want << ", difference " << std::fabs(r->mean_nats - want));
    REQUIRE(r->targets == std::stol(ref.meta("val_targets")));
    REQUIRE(std::fabs(r->mean_nats - want) <= 1e-3);
}
