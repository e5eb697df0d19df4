// Two cores (or four) for the forward pass and for training: a small persistent thread pool and the
// splits they use, as loops over ranges calling the same ops:: kernels (SIMD stays in ops/).
//
// Every split gives results bitwise identical to one thread: work is divided over outputs, never
// over a sum. A matrix-vector product is split over the rows of W (output elements), at multiples
// of kRowAlign, so that every row goes through the same kernel path (ops' matvec handles rows in
// groups, and its leftover rows another way); a matrix product over its output columns (W's rows)
// in whole panels of the GEMM, or over its rows where it has too few columns (the GEMMs sum every output
// in the same order whatever block of rows or columns it is computed in), each part keeping enough
// rows to take the same path as the whole; attention over its heads. Which thread computes an
// output never changes how it is computed.
//
// The pool is process-wide (like a BLAS's): threads are set once by the front end (the CLI's
// --threads, the page's worker from navigator.hardwareConcurrency in the threaded wasm build) before
// models are loaded; RunState sizes its per-thread attention scratch from it (model.cpp). Built
// without threads (the single-threaded wasm build), threads() is always 1 and nothing is spawned.
#pragma once

#include <algorithm>
#include <type_traits>

#include "ops/ops.h"

namespace gpt {
namespace parallel {

constexpr int kMaxThreads = 8;
// Rows of W per split boundary, so no row changes path between one thread and several: a multiple
// of the float32 and F16 matvecs' 8-row groups (their leftover rows are summed another way; Q8 sums
// a row the same in a group or alone) and of the SIMD width (a part's GELU then has the whole row's
// scalar tail, and no other; 16 lanes with AVX-512). Not coarser: GPT-2 small's 768-row products
// were 12 blocks of 64 for 8 parts, some parts twice the others, and a decode waited for the last
// (64 -> 16: two-thread decode ~7% faster in float32 and f16; README, "Two threads").
constexpr int kRowAlign = 16;

// Sets the number of threads forward uses, the caller included (clamped to 1..kMaxThreads, and to 1
// in a build without threads); starts or stops workers as needed. Not while a forward runs.
// Returns the number now in use.
int set_threads(int n);
int threads();
// Whether this build can run more than one thread at all.
bool available();

// Runs fn(task, slot) for every task in [0, n_tasks), spread over the pool; slot (< threads())
// identifies the thread running it (for per-thread scratch). Returns when all tasks are done.
// From inside a task, or with one thread, runs everything on the caller.
using TaskFn = void (*)(void* ctx, int task, int slot);
void run(int n_tasks, TaskFn fn, void* ctx);
template <class F>
void parallel_for(int n_tasks, F&& f) {
    using Fn = std::remove_reference_t<F>;
    run(n_tasks, [](void* ctx, int task, int slot) { (*static_cast<Fn*>(ctx))(task, slot); },
        const_cast<void*>(static_cast<const void*>(&f)));
}

// The view of rows m0.. of a weight matrix W(., K) in any format.
ops::WeightView rows_from(ops::WeightView w, int m0, int K);

// What a Linear layer's outputs go through before they are returned: nothing, or the MLP's GELU
// (tanh approximation, GPT-2; exact, nanoGPT). Each part of a split applies it to the outputs it
// has just computed, while they are in its cache and without a split of its own; a row's parts
// start at multiples of the SIMD width, so every element takes the path it takes over the whole row.
enum class Act { none, gelu, gelu_exact };

// ops::matvec_w split over the rows of W across the pool (bitwise the same as ops::matvec_w), then act.
void matvec_w(float* out, ops::WeightView w, const float* x, const float* bias, int M, int K, Act act = Act::none);
// ops::matmul_w split across the pool (bitwise the same as ops::matmul_w), then act on each row.
void matmul_w(float* out, const float* x, ops::WeightView w, const float* bias, int N, int M, int K,
              Act act = Act::none);

// The bounds [*i0, *i1) of part `part` of `parts` over `blocks` blocks of `align` elements, the
// last part taking the remainder up to n.
inline void part_bounds(int part, int parts, int blocks, int align, int n, int* i0, int* i1) {
    *i0 = static_cast<int>(static_cast<long>(blocks) * part / parts) * align;
    *i1 = part + 1 == parts ? n : static_cast<int>(static_cast<long>(blocks) * (part + 1) / parts) * align;
}

// Runs f(i0, i1) on parts of [0, n) whose bounds are multiples of `align` (the last part ends at n),
// a few parts per thread; f(0, n) on the caller with one thread. For element-wise kernels, whose
// SIMD body and scalar tail then split every range the same way.
template <class F>
void for_ranges(int n, int align, F&& f) {
    const int blocks = n / align, parts = std::min(blocks, 4 * threads());
    if (parts < 2) return f(0, n);
    parallel_for(parts, [&](int part, int) {
        int i0, i1;
        part_bounds(part, parts, blocks, align, n, &i0, &i1);
        f(i0, i1);
    });
}

// Runs f(i) for every i in [0, n), in ranges as for_ranges (row-wise work: one i per row).
template <class F>
void for_each_index(int n, F&& f) {
    for_ranges(n, 1, [&](int i0, int i1) {
        for (int i = i0; i < i1; i++) f(i);
    });
}

// For training (engine/train.cpp), bitwise the same as their ops:: kernels:
// ops::gemm split over out's columns, or over its rows where it has fewer than two blocks of them.
void gemm(float* out, int ldo, const float* a, int lda, bool trans_a, const float* b, int ldb, bool trans_b, float alpha,
          bool accumulate, int N, int M, int K);
// ops::matmul_backward: dx and dW as split products, dbias split over its elements.
void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w, int N, int M,
                     int K);

}  // namespace parallel
}  // namespace gpt
