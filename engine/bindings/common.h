// What the binding files share: errors as values, and how much wasm memory is left. Only files
// under engine/bindings include Emscripten headers.
#pragma once

#include <emscripten/heap.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <cstdint>
#include <string>

namespace bindings {

using emscripten::val;

// {ok: false, message}: every error crosses to JavaScript as a value, never as an exception.
inline val failure(const std::string& message) {
    val r = val::object();
    r.set("ok", false);
    r.set("message", message);
    return r;
}

inline val success() {
    val r = val::object();
    r.set("ok", true);
    return r;
}

// What a new allocation may take: the most the wasm heap can grow to, less what is allocated now
// and some slack for the stack and small allocations.
inline uint64_t available_memory() {
    const uint64_t max = emscripten_get_heap_max();
    // uordblks is declared int but dlmalloc fills it as a 32-bit size_t: past 2 GiB in use it reads
    // negative, which as uint64 would leave "0 bytes available". Read it unsigned.
    const uint64_t used = static_cast<uint64_t>(static_cast<uint32_t>(mallinfo().uordblks)) + (16u << 20);
    return max > used ? max - used : 0;
}

}  // namespace bindings
