// Vectors whose data starts on a 64-byte boundary: a cache line, and AVX-512's vector width. The
// kernels' loads of a weight row then never straddle two cache lines (every row of every GPT-2
// matrix is a multiple of 64 bytes long). std::vector's malloc gives 16: natively, GPT-2 small's
// float32 decode streamed its weights at ~22 GB/s so, where aligned loads read ~30.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace gpt {

constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheAligned {
    using value_type = T;
    CacheAligned() = default;
    template <class U>
    CacheAligned(const CacheAligned<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine})); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{kCacheLine}); }
    template <class U>
    bool operator==(const CacheAligned<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const CacheAligned<U>&) const noexcept { return false; }
};

template <class T>
using aligned_vector = std::vector<T, CacheAligned<T>>;

}  // namespace gpt
