// Every malformed checkpoint the loader must refuse, with the message it must give. One table, used
// by the tests (tests/test_safetensors.cpp) and as the fuzzers' seed corpus (tests/fuzz/).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

struct BadFile {
    std::string name;            // short, file-name friendly
    std::vector<uint8_t> bytes;
    std::string message;         // a substring of the error the loader must report
    bool model_level;            // valid safetensors, refused by Model::load (config, tensors, values)
};

// data_dir holds tiny-f32.safetensors, which the model-level cases are derived from.
std::vector<BadFile> bad_files(const std::string& data_dir);

// A safetensors file from a header string and a data section.
std::vector<uint8_t> make_safetensors(const std::string& header, const std::vector<uint8_t>& data);

// A safetensors file split into its header (as JSON) and data section, for the tests that rewrite
// one; file() puts it back together.
struct SafetensorsParts {
    nlohmann::json header;
    std::vector<uint8_t> data;
    explicit SafetensorsParts(const std::vector<uint8_t>& file);
    std::vector<uint8_t> file() const { return make_safetensors(header.dump(), data); }
    // Appends lm_head.weight as GPT2LMHeadModel's files carry it: the bytes of the tensor `wte`
    // again (tied), or with one bit changed (untie).
    void append_lm_head(const std::string& wte, bool untie);
};
