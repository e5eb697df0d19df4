#include "bad_files.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

using json = nlohmann::json;

namespace {

std::vector<uint8_t> le64(uint64_t n) {
    std::vector<uint8_t> b(8);
    for (int i = 0; i < 8; i++) b[i] = static_cast<uint8_t>(n >> (8 * i));
    return b;
}

std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::string& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// helpers.h's read_bytes, which this file cannot include: write_corpus builds it without GPT_TEST_DATA.
std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The model-level cases edit the valid tiny checkpoint's parts.
using Tiny = SafetensorsParts;

const std::string kOne = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

}  // namespace

std::vector<uint8_t> make_safetensors(const std::string& header, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> f = concat(le64(header.size()), header);
    f.insert(f.end(), data.begin(), data.end());
    return f;
}

SafetensorsParts::SafetensorsParts(const std::vector<uint8_t>& file) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | file.at(static_cast<size_t>(i));
    header = json::parse(file.begin() + 8, file.begin() + 8 + static_cast<long>(n));
    data.assign(file.begin() + 8 + static_cast<long>(n), file.end());
}

void SafetensorsParts::append_lm_head(const std::string& wte, bool untie) {
    const json entry = header.at(wte);
    const size_t a = entry["data_offsets"][0], b = entry["data_offsets"][1];
    std::vector<uint8_t> head(data.begin() + static_cast<long>(a), data.begin() + static_cast<long>(b));
    if (untie) head[3] ^= 0x01;
    header["lm_head.weight"] = {{"dtype", entry["dtype"]}, {"shape", entry["shape"]}, {"data_offsets", {data.size(), data.size() + head.size()}}};
    data.insert(data.end(), head.begin(), head.end());
}

std::vector<BadFile> bad_files(const std::string& dir) {
    std::vector<BadFile> v;
    auto file = [&](std::string name, std::vector<uint8_t> bytes, std::string msg) {
        v.push_back({std::move(name), std::move(bytes), std::move(msg), false});
    };
    auto header = [&](std::string name, const std::string& h, size_t data_bytes, std::string msg) {
        file(std::move(name), make_safetensors(h, std::vector<uint8_t>(data_bytes)), std::move(msg));
    };

    // The container.
    for (size_t n = 0; n < 8; n++) {
        file("short-" + std::to_string(n), std::vector<uint8_t>(n, 0x41), "file too small (" + std::to_string(n) + " bytes)");
    }
    file("zero-length-8", std::vector<uint8_t>(8, 0), "header length is 0");
    file("zero-length", concat(le64(0), "{}"), "header length is 0");
    file("length-past-end-empty", le64(5), "header length 5 is larger than the rest of the file (0 bytes)");
    file("length-past-end", concat(le64(100), "{}"), "header length 100 is larger than the rest of the file (2 bytes)");
    file("length-max", concat(le64(UINT64_MAX), std::string(64, ' ')),
         "header length 18446744073709551615 is larger than the rest of the file");
    header("json-truncated", "{\"a\": [1, 2", 0, "header is not valid JSON");
    header("json-garbage", "hello world", 0, "header is not valid JSON");
    header("json-array", "[1, 2]", 0, "header must be a JSON object");
    header("utf8-invalid", "{\"a\xff\": 1}", 0, "header is not valid UTF-8 (byte 3 of the header)");
    header("utf8-overlong", "{\"\xc0\xaf\": 1}", 0, "not valid UTF-8");
    header("duplicate-name", "{" + kOne + "," + kOne + "}", 8, "header has the key 'a' twice");
    header("dtype-unknown", R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8,
           "tensor 'a': unsupported dtype 'Q4' (supported: F32, F16, BF16)");
    header("dtype-f64", R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8, "unsupported dtype 'F64'");
    header("dtype-number", R"({"a":{"dtype":7,"shape":[1],"data_offsets":[0,8]}})", 8, "tensor 'a': dtype must be a string");
    header("field-missing", R"({"a":{"dtype":"F32","shape":[2]}})", 8, "tensor 'a': missing field 'data_offsets'");
    header("field-unknown", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8, "tensor 'a': unknown field 'x'");
    header("entry-array", R"({"a":[1]})", 8, "tensor 'a': entry must be an object");
    header("shape-scalar", R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", 8, "tensor 'a': shape must be an array");
    header("offsets-one", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8, "data_offsets must be [begin, end]");
    header("metadata-number", R"({"__metadata__":{"k":1}})", 0, "__metadata__ value 'k' is not a string");
    header("metadata-array", R"({"__metadata__":[]})", 0, "__metadata__ must be an object");
    header("name-empty", R"({"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8, "empty name");
    header("name-long", "{\"" + std::string(1100, 'n') + R"(":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8,
           "is longer than 1024 bytes");

    // Shapes.
    header("shape-negative", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, "tensor 'a': dimension -2 is negative");
    header("shape-fraction", R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8,
           "tensor 'a': dimension 2.5 is not an integer");
    header("shape-overflow-int64", R"({"a":{"dtype":"F32","shape":[2,9223372036854775807],"data_offsets":[0,8]}})", 8,
           "tensor 'a': shape [2, 9223372036854775807] has too many elements");
    header("shape-overflow-2x32", R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8,
           "tensor 'a': shape [4294967296, 4294967296] has too many elements");
    header("shape-float-huge", R"({"a":{"dtype":"F32","shape":[1e30],"data_offsets":[0,8]}})", 8, "is out of range");
    header("shape-past-int64", R"({"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})", 8,
           "dimension 9223372036854775808 is out of range");
    header("shape-rank-9", R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4,
           "rank 9 exceeds the limit of 8");

    // Offsets.
    header("offsets-past-data", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4,
           "tensor 'a': data_offsets [0, 8] run past the end of the data (4 bytes)");
    header("offsets-max", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", 8,
           "run past the end of the data");
    header("offsets-reversed", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "end before they begin");
    header("offsets-negative", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", 8, "data offset -1 is negative");
    header("size-mismatch", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8,
           "tensor 'a': shape [3] of F32 needs 12 bytes, but data_offsets span 8");
    header("overlap", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12,
           "tensors 'a' and 'b' overlap in the data");
    header("gap-between", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16,
           "gap of 4 bytes in the data before tensor 'b'");
    header("gap-start", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12, "gap of 4 bytes in the data before tensor 'a'");
    header("trailing", "{" + kOne + "}", 9, "1 trailing bytes after the last tensor");

    // Hostile but well-formed headers (issue 16): nesting where a number belongs, counts past the
    // limits, and the shapes that made the old tree-building parser quadratic or gigabytes large.
    // Each is refused in time linear in its size, without building a JSON tree.
    const std::string deep = std::string(10000, '[') + "1" + std::string(10000, ']');
    header("shape-nested-10000", R"({"a":{"dtype":"F32","shape":[)" + deep + R"(],"data_offsets":[0,8]}})", 8,
           "tensor 'a': dimension must be a non-negative integer, got an array");
    header("offsets-object", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,{"x":[]}]}})", 8,
           "tensor 'a': data offset must be a non-negative integer, got an object");
    header("shape-string", R"({"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", 8,
           "tensor 'a': dimension must be a non-negative integer, got a string");
    header("dtype-nested", R"({"a":{"dtype":)" + deep + R"(,"shape":[2],"data_offsets":[0,8]}})", 8,
           "tensor 'a': dtype must be a string");
    header("metadata-nested", R"({"__metadata__":{"k":)" + deep + "}}", 0, "__metadata__ value 'k' is not a string");
    header("field-twice", R"({"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})", 8,
           "header has the key 'dtype' twice");
    header("metadata-key-twice", R"({"__metadata__":{"k":"a","k":"b"}})", 0, "header has the key 'k' twice");
    // Semantic errors never hide a JSON syntax error further on.
    header("json-broken-after-error", R"({"a":[1], "b": })", 0, "header is not valid JSON (at byte 16 of the header)");
    {
        std::string h = R"({"__metadata__":{)";
        for (int i = 0; i <= 1000; i++) h += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
        header("metadata-keys-1001", h + "}}", 0, "__metadata__ has more than 1000 keys");
    }
    {
        // 100,001 one-element tensors (5 MB): took 125 s when every object's end rescanned its parent.
        std::string h = "{";
        for (int i = 0; i <= 100000; i++) {
            h += (i ? ",\"t" : "\"t") + std::to_string(i) + R"(":{"dtype":"F32","shape":[1],"data_offsets":[)" +
                 std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}";
        }
        header("tensors-100001", h + "}", 4 * 100001, "more than 100000 tensors");
    }
    {
        // 1,000,000 empty objects in an array where a tensor entry belongs (3 MB; minutes before).
        std::string h = R"({"a":[)";
        for (int i = 0; i < 1000000; i++) h += i ? ",{}" : "{}";
        header("objects-1M", h + "]}", 0, "tensor 'a': entry must be an object");
    }
    {
        // One entry with 1,000,000 keys (13 MB; hours before, gigabytes of tree in the browser).
        std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8])";
        for (int i = 0; i < 1000000; i++) h += ",\"k" + std::to_string(i) + "\":{}";
        header("keys-1M", h + "}}", 8, "tensor 'a': unknown field 'k0'");
    }

    // The model on top: derived from the valid tiny checkpoint.
    auto model = [&](std::string name, const std::function<void(Tiny&)>& edit, std::string msg) {
        Tiny t(read_file(dir + "/tiny-f32.safetensors"));
        edit(t);
        v.push_back({std::move(name), t.file(), std::move(msg), true});
    };
    auto meta = [&](std::string name, const std::string& key, const std::string& value, std::string msg) {
        model(std::move(name), [&](Tiny& t) { t.header["__metadata__"][key] = value; }, std::move(msg));
    };
    model("tensor-missing", [](Tiny& t) {
        t.header["transformer.h.1.ln_2.beta"] = t.header["transformer.h.1.ln_2.bias"];
        t.header.erase("transformer.h.1.ln_2.bias");
    }, "missing tensor 'transformer.h.1.ln_2.bias'");
    model("tensor-unexpected", [](Tiny& t) {
        t.header["extra"] = {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {t.data.size(), t.data.size() + 4}}};
        t.data.resize(t.data.size() + 4);
    }, "unexpected tensor 'extra'");
    model("shape-transposed", [](Tiny& t) { t.header["transformer.h.0.attn.c_attn.weight"]["shape"] = {64, 192}; },
          "tensor 'transformer.h.0.attn.c_attn.weight': wrong shape [64, 192], expected [192, 64]");
    meta("config-context-mismatch", "block_size", "16", "tensor 'transformer.wpe.weight': wrong shape [32, 64], expected [16, 64]");
    meta("config-head-divides", "n_head", "5", "n_head 5 does not divide n_embd 64");
    meta("config-context-0", "block_size", "0", "block_size must be positive, got 0");
    meta("config-vocab-0", "vocab_size", "0", "vocab_size must be positive, got 0");
    meta("config-negative", "n_layer", "-1", "'n_layer' must be a positive integer, got '-1'");
    meta("config-fraction", "n_embd", "6.5", "'n_embd' must be a positive integer, got '6.5'");
    meta("config-huge", "n_embd", "99999999999", "'n_embd' must be a positive integer");
    meta("config-layers-limit", "n_layer", "129", "n_layer 129 exceeds the limit of 128");
    meta("config-vocab-mismatch", "vocab_size", "63", "vocab has 62 entries but vocab_size is 63");
    meta("tokenizer-unknown", "tokenizer", "bpe", "tokenizer 'bpe' is not supported");
    meta("vocab-short", "vocab", "[\"a\", \"a\"]", "vocab has 2 entries");
    meta("vocab-not-json", "vocab", "not json", "'vocab' must be a JSON array of strings");
    model("config-missing", [](Tiny& t) { t.header["__metadata__"].erase("n_embd"); }, "__metadata__ has no 'n_embd'");
    model("vocab-duplicate", [](Tiny& t) {
        auto vocab = json::parse(t.header["__metadata__"]["vocab"].get<std::string>());
        vocab[1] = vocab[0];
        t.header["__metadata__"]["vocab"] = vocab.dump();
    }, "vocabulary has the character '\\n' twice");
    model("vocab-two-chars", [](Tiny& t) {
        auto vocab = json::parse(t.header["__metadata__"]["vocab"].get<std::string>());
        vocab[1] = "ab";
        t.header["__metadata__"]["vocab"] = vocab.dump();
    }, "vocabulary entry 1 is not a single UTF-8 character");
    // tokenizer.json in the metadata (one dropped .safetensors carries it): added_tokens ids are
    // checked as the 64-bit values written, before anything is indexed or sized by them.
    auto tokenizer_json = [&](std::string name, const std::function<void(json&)>& edit, std::string msg) {
        std::ifstream f(dir + "/bpe/tokenizer.json", std::ios::binary);
        json tj = json::parse(std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()));
        edit(tj);
        meta(std::move(name), "tokenizer_json", tj.dump(), std::move(msg));
    };
    const auto added_id = [](json id) { return [id](json& tj) { tj["added_tokens"][0]["id"] = id; }; };
    tokenizer_json("added-id-minus-1", added_id(-1), "added_tokens entry 0: token id -1 is out of range (0 to 1048575)");
    tokenizer_json("added-id-minus-2", added_id(-2), "added_tokens entry 0: token id -2 is out of range");
    tokenizer_json("added-id-int-min", added_id(INT32_MIN), "token id -2147483648 is out of range");
    tokenizer_json("added-id-1e9", added_id(1000000000), "token id 1000000000 is out of range");
    tokenizer_json("added-id-2p32-5", added_id((1ull << 32) + 5), "token id 4294967301 is out of range");
    tokenizer_json("added-id-u64-max", added_id(UINT64_MAX), "token id 18446744073709551615 is out of range");
    tokenizer_json("added-id-string", added_id("7"), "added_tokens entry 0 has no integer id");
    tokenizer_json("added-id-twice", [](json& tj) { tj["added_tokens"].push_back(tj["added_tokens"][0]); },
                   "added_tokens entry 1: token id 438 is used twice");
    tokenizer_json("vocab-id-2p32", [](json& tj) { tj["model"]["vocab"]["a"] = (1ull << 32) + 5; },
                   "token 'a': token id 4294967301 is out of range");
    tokenizer_json("tokenizer-nested", [&](json& tj) { tj["x"] = json::parse(std::string(100, '[') + std::string(100, ']')); },
                   "tokenizer.json nests deeper than 64 levels");
    meta("vocab-nested", "vocab", deep, "'vocab' must be a JSON array of strings (__metadata__ 'vocab' nests deeper than 64 levels");

    // A non-finite weight can only produce NaN logits: the file is refused, naming tensor and element.
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        model(std::isnan(bad) ? "weight-nan" : "weight-inf", [bad](Tiny& t) {
            const size_t at = t.header["transformer.ln_f.bias"]["data_offsets"][0].get<size_t>() + 4 * 3;
            std::memcpy(t.data.data() + at, &bad, 4);
        }, "tensor 'transformer.ln_f.bias' holds a non-finite value (NaN or infinity) at element 3");
    }
    return v;
}
