// RunState::bytes_needed (what the loader checks against the memory limit before allocating) against
// what a RunState really allocates, counted by replacing the global operator new in this binary.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <new>

#include "model.h"

namespace {
bool counting = false;
size_t counted = 0;
}  // namespace

// Every form of the global new and delete is replaced, so that all of them pair malloc with free
// (Catch allocates with the nothrow form; AddressSanitizer checks the pairs).
void* operator new(std::size_t n) {
    if (counting) counted += n;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    if (counting) counted += n;
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

TEST_CASE("RunState::bytes_needed is what a RunState allocates", "[model][memory]") {
    using gpt::Config;
    for (const Config& c : {Config{2, 4, 64, 32, 62}, Config{4, 4, 192, 256, 65}, Config{1, 2, 16, 300, 20},
                            Config{3, 3, 48, 1000, 500}}) {
        INFO("L " << c.n_layer << " NH " << c.n_head << " C " << c.n_embd << " T " << c.block_size << " V " << c.vocab_size);
        counted = 0;
        counting = true;
        const auto* s = new gpt::RunState(c);
        counting = false;
        REQUIRE(counted == sizeof(gpt::RunState) + gpt::RunState::bytes_needed(c));
        delete s;
        // A Generator's: fewer activation rows, the same KV cache and kept attention.
        counted = 0;
        counting = true;
        const auto* g = new gpt::RunState(c, gpt::kGenerateRows);
        counting = false;
        REQUIRE(counted == sizeof(gpt::RunState) + gpt::RunState::bytes_needed(c, gpt::kGenerateRows));
        REQUIRE((c.block_size > gpt::kGenerateRows) == (gpt::RunState::bytes_needed(c, gpt::kGenerateRows) < gpt::RunState::bytes_needed(c)));
        delete g;
    }
}
