// The loader against every kind of bad file: each must be refused with a message that says what is
// wrong, and never crash. Files are built in memory, or derived from the valid tiny checkpoint by
// editing its header.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "bad_files.h"
#include "helpers.h"
#include "model.h"
#include "safetensors.h"

using namespace gpt;
using json = nlohmann::json;
using Catch::Matchers::Contains;


TEST_CASE("every bad file is refused with its message", "[safetensors][model][load]") {
    const auto cases = bad_files(GPT_TEST_DATA);
    REQUIRE(cases.size() > 60);
    for (const BadFile& c : cases) {
        INFO(c.name);
        if (!c.model_level) {
            // The container is already wrong: parse() says so, and Model::load passes it on.
            auto r = safetensors::parse(c.bytes.data(), c.bytes.size());
            REQUIRE_FALSE(r.ok());
            REQUIRE_THAT(r.error(), Contains(c.message));
        } else {
            REQUIRE(safetensors::parse(c.bytes.data(), c.bytes.size()).ok());
        }
        auto m = Model::load(c.bytes.data(), c.bytes.size());
        REQUIRE_FALSE(m.ok());
        REQUIRE_THAT(m.error(), Contains(c.message));
    }
}

TEST_CASE("a model that would not fit the memory limit is refused with the figure", "[model][load]") {
    const auto bytes = read_bytes(data_path("tiny-f32.safetensors"));
    auto ok = Model::load(bytes.data(), bytes.size());
    REQUIRE(ok.ok());
    const MemoryNeeds needs = memory_needs(ok->config());
    REQUIRE(needs.weights == 4 * ok->num_params());
    REQUIRE(needs.state == RunState::bytes_needed(ok->config()));
    REQUIRE(Model::load(bytes.data(), bytes.size(), needs.total()).ok());
    auto m = Model::load(bytes.data(), bytes.size(), needs.total() - 1);
    REQUIRE_FALSE(m.ok());
    REQUIRE_THAT(m.error(), Contains("this model needs " + format_bytes(needs.total()) + " of memory (weights 414.5 KiB, " +
                                     "activations, KV cache and attention " + format_bytes(needs.state) + ")"));
    REQUIRE_THAT(m.error(), Contains("more than the"));
    REQUIRE(format_bytes(5ull << 30) == "5.0 GiB");
    REQUIRE(format_bytes(100) == "100 bytes");
}

TEST_CASE("a valid file parses, with its metadata and tensors", "[safetensors]") {
    const auto f = make_safetensors(R"({"__metadata__":{"k":"v"},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},)"
                                    R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                             {0, 0, 128, 63, 0, 0, 0, 64, 0, 60, 0, 192});
    auto r = safetensors::parse(f.data(), f.size());
    REQUIRE(r.ok());
    REQUIRE(r->metadata.at("k") == "v");
    REQUIRE(r->tensors.size() == 2);
    REQUIRE(r->tensors[0].name == "a");  // in data order
    float out[2];
    REQUIRE(safetensors::to_f32(r.value(), *r->find("a"), out) == -1);
    REQUIRE(out[0] == 1.0f);
    REQUIRE(out[1] == 2.0f);
    REQUIRE(safetensors::to_f32(r.value(), *r->find("b"), out) == -1);
    REQUIRE(out[0] == 1.0f);
    REQUIRE(out[1] == -2.0f);
}

TEST_CASE("a header over the size limit", "[safetensors]") {
    safetensors::Limits lim;
    lim.max_header_bytes = 16;
    const auto f = make_safetensors(std::string("{") + std::string(30, ' ') + "}", {});
    auto r = safetensors::parse(f.data(), f.size(), lim);
    REQUIRE_FALSE(r.ok());
    REQUIRE_THAT(r.error(), Contains("header length 32 exceeds the limit of 16 bytes"));
}

TEST_CASE("half and bfloat16 conversion is exact", "[safetensors]") {
    REQUIRE(safetensors::half_to_float(0x3C00) == 1.0f);
    REQUIRE(safetensors::half_to_float(0xC000) == -2.0f);
    REQUIRE(safetensors::half_to_float(0x7BFF) == 65504.0f);
    REQUIRE(safetensors::half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
    REQUIRE(safetensors::half_to_float(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
    REQUIRE(safetensors::half_to_float(0x0400) == std::ldexp(1.0f, -14));   // smallest normal
    REQUIRE(std::signbit(safetensors::half_to_float(0x8000)));
    REQUIRE(std::isinf(safetensors::half_to_float(0x7C00)));
    REQUIRE(std::isnan(safetensors::half_to_float(0x7E00)));
    REQUIRE(safetensors::bf16_to_float(0x3F80) == 1.0f);
    REQUIRE(safetensors::bf16_to_float(0xC0A0) == -5.0f);
    // Every finite half value survives a round trip through float.
    for (uint32_t h = 0; h < 0x10000; h++) {
        const float f = safetensors::half_to_float(static_cast<uint16_t>(h));
        if (std::isfinite(f)) REQUIRE(std::fabs(f) <= 65504.0f);
    }
}

