// Writes a random checkpoint in the engine's own format, for tests that need a model of a given
// shape or with weights of a given scale without committing one:
//   make_checkpoint OUT N_LAYER N_HEAD N_EMBD BLOCK_SIZE SCALE
// Weights are N(0, SCALE^2) (seeded: the same arguments write the same file); the vocabulary is
// "\n" and the printable ASCII characters (96 tokens). tests/cli_errors.cmake uses it for a model
// too large for an address-space limit and for one whose finite weights overflow when run.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model.h"

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: make_checkpoint OUT N_LAYER N_HEAD N_EMBD BLOCK_SIZE SCALE\n");
        return 2;
    }
    gpt::Config c;
    c.n_layer = std::atoi(argv[2]);
    c.n_head = std::atoi(argv[3]);
    c.n_embd = std::atoi(argv[4]);
    c.block_size = std::atoi(argv[5]);
    const double scale = std::atof(argv[6]);
    std::vector<std::string> vocab = {"\n"};
    for (char ch = ' '; ch <= '~'; ch++) vocab.emplace_back(1, ch);
    c.vocab_size = static_cast<int>(vocab.size());
    if (gpt::Status s = gpt::validate(c); !s) {
        std::fprintf(stderr, "make_checkpoint: %s\n", s.error.c_str());
        return 2;
    }

    nlohmann::json header;
    header["__metadata__"] = {{"n_layer", std::to_string(c.n_layer)},       {"n_head", std::to_string(c.n_head)},
                              {"n_embd", std::to_string(c.n_embd)},         {"block_size", std::to_string(c.block_size)},
                              {"vocab_size", std::to_string(c.vocab_size)}, {"vocab", nlohmann::json(vocab).dump()}};
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, static_cast<float>(scale));
    std::vector<float> data;  // every tensor, in tensor_specs order
    for (const gpt::TensorSpec& t : gpt::tensor_specs(c)) {
        size_t n = 1;
        for (int64_t d : t.shape) n *= static_cast<size_t>(d);
        header["transformer." + t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {4 * data.size(), 4 * (data.size() + n)}}};
        for (size_t i = 0; i < n; i++) data.push_back(normal(rng));
    }
    const std::string h = header.dump();
    std::FILE* f = std::fopen(argv[1], "wb");
    if (!f) {
        std::perror(argv[1]);
        return 1;
    }
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = static_cast<unsigned char>(static_cast<uint64_t>(h.size()) >> (8 * i));
    const bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(h.data(), 1, h.size(), f) == h.size() &&
                    std::fwrite(data.data(), 4, data.size(), f) == data.size();
    return std::fclose(f) == 0 && ok ? 0 : 1;
}
