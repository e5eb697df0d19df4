// Two cores (or four) for the forward pass: a small persistent thread pool and the splits forward
// uses, as loops over ranges calling the same ops:: kernels (SIMD stays in ops/).
//
// Every split gives results bitwise identical to one thread: work is divided over outputs, never
// over a sum. A matrix-vector product is split over the rows of W (output elements), at multiples
// of kRowAlign, so that every row goes through the same kernel path (ops' matvec handles rows in
// groups, and its leftover rows another way); a matrix product is split over its input rows
// (tokens), each part keeping enough rows to take the same path as the whole; attention over its
// heads. Which thread computes an output never changes how it is computed.
//
// The pool is process-wide (like a BLAS's): threads are set once by the front end (the CLI's
// --threads, the page's worker from navigator.hardwareConcurrency in the threaded wasm build) before
// models are loaded; RunState sizes its per-thread attention scratch from it (model.cpp). Built
// without threads (the single-threaded wasm build), threads() is always 1 and nothing is spawned.
#pragma once

#include <type_traits>

#include "ops/ops.h"

namespace gpt {
namespace parallel {

constexpr int kMaxThreads = 8;
// Rows of W per split boundary: a multiple of every row grouping of the matvec kernels (8 rows
// float32; the compact formats' groups), so no row changes path between one thread and several.
constexpr int kRowAlign = 64;

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

// ops::matvec_w split over the rows of W across the pool (bitwise the same as ops::matvec_w).
void matvec_w(float* out, ops::WeightView w, const float* x, const float* bias, int M, int K);
// ops::matmul_w split across the pool (bitwise the same as ops::matmul_w).
void matmul_w(float* out, const float* x, ops::WeightView w, const float* bias, int N, int M, int K);

}  // namespace parallel
}  // namespace gpt
