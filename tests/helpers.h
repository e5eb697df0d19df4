// Shared by the test files: reading test data and comparing with a tolerance.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

inline std::string data_path(const std::string& name) { return std::string(GPT_TEST_DATA) + "/" + name; }

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// float32 unit roundoff: the relative error of one rounding.
constexpr double kU = 1.0 / (1 << 24);
// gamma_n = n u / (1 - n u): the bound on the relative error that n roundings accumulate (Higham).
inline double gamma_n(int n) { return n * kU / (1 - n * kU); }

// A copy of v whose data() (p) is `shift` elements past a 64-byte boundary (shift < 16): the
// kernels are tested at every misalignment.
template <class T = float>
struct Shifted {
    std::vector<T> storage;
    T* p;
    Shifted(const std::vector<T>& v, int shift) : storage(v.size() + 64 / sizeof(T) + 16) {
        const auto addr = reinterpret_cast<uintptr_t>(storage.data());
        p = storage.data() + ((64 - addr % 64) % 64) / sizeof(T) + shift;
        std::copy(v.begin(), v.end(), p);
    }
};

inline std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Tolerances for the engine against float64 references (derivation: tests/test_model.cpp). Both
// scale with depth and with sqrt of the longest dot product (4C).
inline double logit_tolerance(int n_layer, int n_embd) { return n_layer * std::sqrt(4.0 * n_embd) * 16 * kU; }
inline double attention_tolerance(int n_layer, int n_embd) { return n_layer * std::sqrt(4.0 * n_embd) * 4 * kU; }
