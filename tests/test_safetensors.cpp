// The loader against every kind of bad file: each must be refused with a message that says what is
// wrong, and never crash. Files are built in memory, or derived from the valid tiny checkpoint by
// editing its header.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "helpers.h"
#include "model.h"
#include "safetensors.h"

using namespace gpt;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

std::vector<uint8_t> le64(uint64_t n) {
    std::vector<uint8_t> b(8);
    for (int i = 0; i < 8; i++) b[i] = static_cast<uint8_t>(n >> (8 * i));
    return b;
}

std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> f = le64(header.size());
    f.insert(f.end(), header.begin(), header.end());
    f.insert(f.end(), data.begin(), data.end());
    return f;
}

std::string parse_error(const std::vector<uint8_t>& f) {
    auto r = safetensors::parse(f.data(), f.size());
    REQUIRE_FALSE(r.ok());
    return r.error();
}

std::string parse_error(const std::string& header, size_t data_bytes) {
    return parse_error(make_file(header, std::vector<uint8_t>(data_bytes)));
}

// The valid tiny checkpoint, split into its header (as JSON) and data, for editing.
struct Tiny {
    json header;
    std::vector<uint8_t> data;
    Tiny() {
        const auto bytes = read_bytes(data_path("tiny-f32.safetensors"));
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = (n << 8) | bytes[i];
        header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
        data.assign(bytes.begin() + 8 + static_cast<long>(n), bytes.end());
    }
    std::vector<uint8_t> file() const { return make_file(header.dump(), data); }
    std::string load_error() const {
        const auto f = file();
        auto m = Model::load(f.data(), f.size());
        REQUIRE_FALSE(m.ok());
        return m.error();
    }
};

const std::string kOne = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

}  // namespace

TEST_CASE("a valid file parses, with its metadata and tensors", "[safetensors]") {
    const auto f = make_file(R"({"__metadata__":{"k":"v"},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},)" + kOne + "}",
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

TEST_CASE("empty and 1-8 byte files", "[safetensors]") {
    for (size_t n = 0; n < 8; n++) {
        REQUIRE_THAT(parse_error(std::vector<uint8_t>(n, 0x41)), Contains("file too small (" + std::to_string(n) + " bytes)"));
    }
    REQUIRE_THAT(parse_error(std::vector<uint8_t>(8, 0)), Contains("header length is 0"));
    REQUIRE_THAT(parse_error(le64(5)), Contains("header length 5 is larger than the rest of the file (0 bytes)"));
}

TEST_CASE("header length 0, larger than the file, 2^64-1", "[safetensors]") {
    auto f = make_file("{}", {});
    std::memset(f.data(), 0, 8);
    REQUIRE_THAT(parse_error(f), Contains("header length is 0"));
    f = le64(100);
    f.insert(f.end(), {'{', '}'});
    REQUIRE_THAT(parse_error(f), Contains("header length 100 is larger than the rest of the file (2 bytes)"));
    f = le64(UINT64_MAX);
    f.insert(f.end(), 64, ' ');
    REQUIRE_THAT(parse_error(f), Contains("header length 18446744073709551615 is larger than the rest of the file"));
}

TEST_CASE("a header over the size limit", "[safetensors]") {
    safetensors::Limits lim;
    lim.max_header_bytes = 16;
    const auto f = make_file(std::string("{") + std::string(30, ' ') + "}", {});
    auto r = safetensors::parse(f.data(), f.size(), lim);
    REQUIRE_FALSE(r.ok());
    REQUIRE_THAT(r.error(), Contains("header length 32 exceeds the limit of 16 bytes"));
}

TEST_CASE("non-JSON and non-UTF-8 headers", "[safetensors]") {
    REQUIRE_THAT(parse_error("{\"a\": [1, 2", 0), Contains("header is not valid JSON"));
    REQUIRE_THAT(parse_error("hello world", 0), Contains("header is not valid JSON"));
    REQUIRE_THAT(parse_error("[1, 2]", 0), Contains("header must be a JSON object"));
    REQUIRE_THAT(parse_error(std::string("{\"a\xff\": 1}"), 0), Contains("header is not valid UTF-8 (byte 3 of the header)"));
    REQUIRE_THAT(parse_error(std::string("{\"\xc0\xaf\": 1}"), 0), Contains("not valid UTF-8"));  // overlong '/'
}

TEST_CASE("duplicate tensor names", "[safetensors]") {
    REQUIRE_THAT(parse_error("{" + kOne + "," + kOne + "}", 8), Contains("header has the key 'a' twice"));
}

TEST_CASE("unknown and unsupported dtypes", "[safetensors]") {
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8),
                 Contains("tensor 'a': unsupported dtype 'Q4' (supported: F32, F16, BF16)"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8),
                 Contains("unsupported dtype 'F64'"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":7,"shape":[1],"data_offsets":[0,8]}})", 8),
                 Contains("tensor 'a': dtype must be a string"));
}

TEST_CASE("malformed entries", "[safetensors]") {
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2]}})", 8), Contains("tensor 'a': missing field 'data_offsets'"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8),
                 Contains("tensor 'a': unknown field 'x'"));
    REQUIRE_THAT(parse_error(R"({"a":[1]})", 8), Contains("tensor 'a': entry must be an object"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", 8),
                 Contains("tensor 'a': shape must be an array"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8),
                 Contains("data_offsets must be [begin, end]"));
    REQUIRE_THAT(parse_error(R"({"__metadata__":{"k":1}})", 0), Contains("__metadata__ value 'k' is not a string"));
    REQUIRE_THAT(parse_error(R"({"__metadata__":[]})", 0), Contains("__metadata__ must be an object"));
    REQUIRE_THAT(parse_error(R"({"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8), Contains("empty name"));
}

TEST_CASE("negative, fractional and overflowing shapes", "[safetensors]") {
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                 Contains("tensor 'a': dimension -2 is negative"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8),
                 Contains("tensor 'a': dimension 2.5 is not an integer"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2,9223372036854775807],"data_offsets":[0,8]}})", 8),
                 Contains("tensor 'a': shape [2, 9223372036854775807] has too many elements"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
                 Contains("tensor 'a': shape [4294967296, 4294967296] has too many elements"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[1e30],"data_offsets":[0,8]}})", 8),
                 Contains("is out of range"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})", 8),
                 Contains("dimension 9223372036854775808 is out of range"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4),
                 Contains("rank 9 exceeds the limit of 8"));
}

TEST_CASE("offsets out of range, overlapping, with gaps; trailing bytes; size mismatch", "[safetensors]") {
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
                 Contains("tensor 'a': data_offsets [0, 8] run past the end of the data (4 bytes)"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", 8),
                 Contains("run past the end of the data"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), Contains("end before they begin"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", 8),
                 Contains("data offset -1 is negative"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                 Contains("tensor 'a': shape [3] of F32 needs 12 bytes, but data_offsets span 8"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                 Contains("tensors 'a' and 'b' overlap in the data"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16),
                 Contains("gap of 4 bytes in the data before tensor 'b'"));
    REQUIRE_THAT(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                 Contains("gap of 4 bytes in the data before tensor 'a'"));
    REQUIRE_THAT(parse_error("{" + kOne + "}", 9), Contains("1 trailing bytes after the last tensor"));
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

TEST_CASE("model: missing and unexpected tensors", "[model][load]") {
    Tiny t;
    t.header["transformer.h.1.ln_2.beta"] = t.header["transformer.h.1.ln_2.bias"];
    t.header.erase("transformer.h.1.ln_2.bias");
    REQUIRE_THAT(t.load_error(), Contains("missing tensor 'transformer.h.1.ln_2.bias'"));
    Tiny u;
    u.header["extra"] = {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {u.data.size(), u.data.size() + 4}}};
    u.data.resize(u.data.size() + 4);
    REQUIRE_THAT(u.load_error(), Contains("unexpected tensor 'extra'"));
}

TEST_CASE("model: shapes inconsistent with the config", "[model][load]") {
    Tiny t;
    t.header["transformer.h.0.attn.c_attn.weight"]["shape"] = {64, 192};
    REQUIRE_THAT(t.load_error(), Contains("tensor 'transformer.h.0.attn.c_attn.weight': wrong shape [64, 192], expected [192, 64]"));
    Tiny u;
    u.header["__metadata__"]["block_size"] = "16";
    REQUIRE_THAT(u.load_error(), Contains("tensor 'transformer.wpe.weight': wrong shape [32, 64], expected [16, 64]"));
}

TEST_CASE("model: invalid configs", "[model][load]") {
    const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> cases = {
        {{"n_head", "5"}, "n_head 5 does not divide n_embd 64"},
        {{"block_size", "0"}, "block_size must be positive, got 0"},
        {{"vocab_size", "0"}, "vocab_size must be positive, got 0"},
        {{"n_layer", "-1"}, "'n_layer' must be a positive integer, got '-1'"},
        {{"n_embd", "6.5"}, "'n_embd' must be a positive integer, got '6.5'"},
        {{"n_embd", "99999999999"}, "'n_embd' must be a positive integer"},
        {{"n_layer", "129"}, "n_layer 129 exceeds the limit of 128"},
        {{"vocab_size", "63"}, "vocab has 62 entries but vocab_size is 63"},
        {{"tokenizer", "bpe"}, "tokenizer 'bpe' is not supported"},
        {{"vocab", "[\"a\", \"a\"]"}, "vocab has 2 entries"},
        {{"vocab", "not json"}, "'vocab' must be a JSON array of strings"},
    };
    for (const auto& [kv, msg] : cases) {
        Tiny t;
        t.header["__metadata__"][kv.first] = kv.second;
        INFO(kv.first << " = " << kv.second);
        REQUIRE_THAT(t.load_error(), Contains(msg));
    }
    Tiny t;
    t.header["__metadata__"].erase("n_embd");
    REQUIRE_THAT(t.load_error(), Contains("__metadata__ has no 'n_embd'"));
    Tiny d;
    auto vocab = json::parse(d.header["__metadata__"]["vocab"].get<std::string>());
    vocab[1] = vocab[0];
    d.header["__metadata__"]["vocab"] = vocab.dump();
    REQUIRE_THAT(d.load_error(), Contains("vocabulary has the character '\\n' twice"));
    Tiny e;
    vocab[1] = "ab";
    e.header["__metadata__"]["vocab"] = vocab.dump();
    REQUIRE_THAT(e.load_error(), Contains("vocabulary entry 1 is not a single UTF-8 character"));
}

TEST_CASE("model: NaN and infinity in weights are refused", "[model][load]") {
    // Decision (README): a non-finite weight can only produce NaN logits, so the file is refused at
    // load with the tensor and element named.
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        Tiny t;
        const size_t at = t.header["transformer.ln_f.bias"]["data_offsets"][0].get<size_t>() + 4 * 3;
        std::memcpy(t.data.data() + at, &bad, 4);
        REQUIRE_THAT(t.load_error(), Contains("tensor 'transformer.ln_f.bias' holds a non-finite value (NaN or infinity) at element 3"));
    }
}
