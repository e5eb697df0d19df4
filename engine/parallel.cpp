#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <cstdint>

// The single-threaded wasm build has no threads at all (std::thread would fail at run time).
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
#define GPT_THREADS 0
#else
#define GPT_THREADS 1
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#endif

namespace gpt {
namespace parallel {

ops::WeightView rows_from(ops::WeightView w, int m0, int K) {
    const size_t first = static_cast<size_t>(m0) * static_cast<size_t>(K);  // elements before row m0
    switch (w.format) {
        case ops::WFormat::F32: w.data = static_cast<const float*>(w.data) + first; break;
        case ops::WFormat::F16: w.data = static_cast<const uint16_t*>(w.data) + first; break;
        case ops::WFormat::Q8:
            w.data = static_cast<const int8_t*>(w.data) + first;
            w.scales += static_cast<size_t>(m0) * static_cast<size_t>(ops::q8_groups(K));
            break;
    }
    return w;
}

#if !GPT_THREADS

int set_threads(int) { return 1; }
int threads() { return 1; }
bool available() { return false; }
void run(int n_tasks, TaskFn fn, void* ctx) {
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
}

#else

namespace {

// One job at a time, described by one word, `work`: the generation (high 32 bits), the number of
// tasks (16 bits) and the next task to claim (low 16). The caller publishes fn and ctx, then the
// word. Any thread claims a task by a compare-and-swap of (gen, n, i) to (gen, n, i + 1) with
// i < n, and only then reads fn and ctx: they cannot change before the caller's wait for that
// claimed task ends. A worker that wakes late (the machine is busy, it was descheduled) with an old
// word claims nothing, since its swap fails once the word has moved on; the caller then does more
// of the tasks itself, and waits only for tasks actually claimed.
//
// (The count once lived beside the word: a worker that read an old job's finished word, then the
// next job's larger count, could claim and run a task of the next job before that job was published,
// twice, under load. The threaded training test caught it as a loss that differed from step 4 on.)
struct Pool {
    std::vector<std::thread> workers;
    std::atomic<uint64_t> work{0};
    std::atomic<TaskFn> fn{nullptr};
    std::atomic<void*> ctx{nullptr};
    std::atomic<int> done{0};  // tasks of the current job finished
    std::atomic<int> sleepers{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> busy{false};  // a job is running: a nested or concurrent run() goes serial
    std::mutex mu;
    std::condition_variable wake;
    ~Pool();  // joins the workers at exit (a thread still waiting would outlive the condition variable)
};

Pool& pool() {
    static Pool p;
    return p;
}

// This thread's slot: a worker's own, 0 elsewhere. A nested run() (from inside a task) runs its
// tasks on it, so they use the scratch of the thread they run on.
thread_local int this_slot = 0;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Spins before sleeping: decode calls run() several times per layer, a few microseconds apart, and
// a futex wake-up costs more than that; a training step has serial stretches (LayerNorm's backward,
// the embeddings') of tens of microseconds between its splits. In wasm, cpu_relax is no pause
// instruction but nothing, so a spin is 16x as many (much cheaper) iterations for about the same
// time: with 2^14 the tiny training preset's workers slept between splits (two threads
// 24-37k tokens/s, one 28k; with 2^18, 38k).
#ifdef __EMSCRIPTEN__
constexpr int kSpins = 1 << 18;
#else
constexpr int kSpins = 1 << 14;
#endif

constexpr int kMaxTasks = 0xFFFF;  // tasks per job the word holds; run() does more in slices
inline uint32_t gen_of(uint64_t w) { return static_cast<uint32_t>(w >> 32); }
inline int count_of(uint64_t w) { return static_cast<int>((w >> 16) & 0xFFFF); }
inline int next_of(uint64_t w) { return static_cast<int>(w & 0xFFFF); }

// Claims and runs tasks of the job published as generation `gen` until none is left.
void work_on(Pool& p, uint32_t gen, int slot) {
    uint64_t w = p.work.load(std::memory_order_acquire);
    for (;;) {
        if (gen_of(w) != gen || next_of(w) >= count_of(w)) return;
        if (!p.work.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        // Claimed: the job's fn and ctx stay until the caller has seen this task done.
        p.fn.load(std::memory_order_relaxed)(p.ctx.load(std::memory_order_relaxed), next_of(w), slot);
        p.done.fetch_add(1, std::memory_order_release);
        w = p.work.load(std::memory_order_acquire);
    }
}

void worker_loop(int slot) {
    this_slot = slot;
    Pool& p = pool();
    uint32_t seen = gen_of(p.work.load(std::memory_order_acquire));
    for (;;) {
        uint32_t gen = seen;
        for (int i = 0; i < kSpins && gen == seen; i++) {
            cpu_relax();
            gen = gen_of(p.work.load(std::memory_order_acquire));
        }
        if (gen == seen) {
            std::unique_lock<std::mutex> lock(p.mu);
            p.sleepers.fetch_add(1);  // seq_cst: pairs with run()'s store of work then load of sleepers
            p.wake.wait(lock, [&] {
                return p.stop.load() || gen_of(p.work.load()) != seen;
            });
            p.sleepers.fetch_sub(1);
            gen = gen_of(p.work.load(std::memory_order_acquire));
        }
        if (p.stop.load()) return;
        seen = gen;
        work_on(p, gen, slot);
    }
}

void stop_workers(Pool& p) {
    {
        std::lock_guard<std::mutex> lock(p.mu);
        p.stop.store(true);
    }
    p.wake.notify_all();
    for (auto& t : p.workers) t.join();
    p.workers.clear();
    p.stop.store(false);
}

Pool::~Pool() { stop_workers(*this); }

}  // namespace

int set_threads(int n) {
    n = std::clamp(n, 1, kMaxThreads);
    Pool& p = pool();
    if (static_cast<int>(p.workers.size()) + 1 == n) return n;
    stop_workers(p);
    for (int slot = 1; slot < n; slot++) p.workers.emplace_back(worker_loop, slot);
    return n;
}

int threads() { return static_cast<int>(pool().workers.size()) + 1; }
bool available() { return true; }

void run(int n_tasks, TaskFn fn, void* ctx) {
    Pool& p = pool();
    if (n_tasks <= 0) return;
    if (n_tasks == 1 || p.workers.empty() || p.busy.exchange(true, std::memory_order_acquire)) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, this_slot);
        return;
    }
    // A job's tasks in slices of at most kMaxTasks, each published as a job of its own.
    struct Slice {
        TaskFn fn;
        void* ctx;
        int first;
    } slice{fn, ctx, 0};
    const TaskFn sliced = [](void* c, int task, int slot) {
        const Slice& s = *static_cast<const Slice*>(c);
        s.fn(s.ctx, s.first + task, slot);
    };
    p.fn.store(n_tasks > kMaxTasks ? sliced : fn, std::memory_order_relaxed);
    p.ctx.store(n_tasks > kMaxTasks ? static_cast<void*>(&slice) : ctx, std::memory_order_relaxed);
    for (; slice.first < n_tasks; slice.first += kMaxTasks) {
        const int n = std::min(n_tasks - slice.first, kMaxTasks);
        p.done.store(0, std::memory_order_relaxed);
        const uint32_t gen = gen_of(p.work.load(std::memory_order_relaxed)) + 1;
        p.work.store(static_cast<uint64_t>(gen) << 32 | static_cast<uint64_t>(n) << 16);  // seq_cst: publishes the above
        if (p.sleepers.load() > 0) {
            { std::lock_guard<std::mutex> lock(p.mu); }  // a worker between its check and its wait has waited
            p.wake.notify_all();
        }
        work_on(p, gen, 0);
        // Every task is claimed; wait for those still running on workers.
        for (int i = 0; p.done.load(std::memory_order_acquire) < n; i++) {
            if (i < kSpins) cpu_relax();
            else std::this_thread::yield();
        }
    }
    p.busy.store(false, std::memory_order_release);
}

#endif  // GPT_THREADS

namespace {

// Below this many rows, ops::matmul_w computes each row as a matrix-vector product (ops_simd.cpp);
// a split over rows keeps every part at or above it, so no part changes kernel.
constexpr int kGemmRows = 4;
// Columns per block of a matrix product split over its columns (W's rows): each column is summed
// the same way in any block (the GEMMs' micro-kernels and packers treat columns independently), so
// this only keeps the blocks whole panels of every build's GEMM (2L columns: 8 in wasm, 32 with
// AVX-512), so that a product of 192 or 64 columns (the small training presets) still splits evenly.
constexpr int kColAlign = 32;
// Rows per part of a product split over its rows at least: each part packs all of B's panels again
// (the arithmetic of some 30 rows), so a split over rows has one part per thread, no more. A split
// over columns packs nothing twice and is preferred wherever out has two blocks of columns.
constexpr int kMinPartRows = 16;

}  // namespace

// Widest K whose Q8 x parallel::matvec_w quantizes once for all its parts, on the stack (16 KiB).
constexpr int kMaxSharedQ8K = 8192;

namespace {

void activate(float* x, int n, Act act) {
    if (act == Act::gelu) ops::gelu(x, x, n);
    else if (act == Act::gelu_exact) ops::gelu_exact(x, x, n);
}

// Rows n0..n1 of out (rows ldo apart), columns m0..m1, through act.
void activate_block(float* out, int ldo, int n0, int n1, int m0, int m1, Act act) {
    if (act == Act::none) return;
    for (int n = n0; n < n1; n++) activate(out + static_cast<size_t>(n) * ldo + m0, m1 - m0, act);
}

}  // namespace

void matvec_w(float* out, ops::WeightView w, const float* x, const float* bias, int M, int K, Act act) {
    const int t = threads();
    const int blocks = M / kRowAlign;  // whole aligned blocks; the last part takes the remainder
    const int parts = std::min(blocks, 4 * t);  // a few per thread: a late thread delays less
    if (t == 1 || parts < 2) {
        ops::matvec_w(out, w, x, bias, M, K);
        return activate(out, M, act);
    }
    // Q8: x quantized once for every part, where ops::matvec_w would quantize it again in each: that
    // was ~5% of a two-thread int8 decode (a profile's quantize_x16).
    const bool shared_q8 = w.format == ops::WFormat::Q8 && K <= kMaxSharedQ8K;
    alignas(64) int16_t xq[kMaxSharedQ8K];
    float xs[kMaxSharedQ8K / ops::kQ8Group];
    if (shared_q8) {
        ops::quantize_x16(xq, xs, x, K);
        std::fill(xq + K, xq + ops::q8_groups(K) * ops::kQ8Group, int16_t{0});
    }
    parallel_for(parts, [&](int part, int) {
        int m0, m1;
        part_bounds(part, parts, blocks, kRowAlign, M, &m0, &m1);
        const float* b = bias ? bias + m0 : nullptr;
        if (shared_q8) ops::matvec_q8_quantized(out + m0, rows_from(w, m0, K), xq, xs, b, m1 - m0, K);
        else ops::matvec_w(out + m0, rows_from(w, m0, K), x, b, m1 - m0, K);
        activate(out + m0, m1 - m0, act);
    });
}

void matmul_w(float* out, const float* x, ops::WeightView w, const float* bias, int N, int M, int K, Act act) {
    const auto whole = [&] {  // the product on the caller, as one thread computes it
        ops::matmul_w(out, x, w, bias, N, M, K);
        activate_block(out, M, 0, N, 0, M, act);
    };
    const int t = threads();
    if (t == 1) return whole();
    if (N < kGemmRows) {  // ops::matmul_w does these rows one matrix-vector product each
        for (int n = 0; n < N; n++) {
            parallel::matvec_w(out + static_cast<size_t>(n) * M, w, x + static_cast<size_t>(n) * K, bias, M, K, act);
        }
        return;
    }
    // Over W's rows (out's columns): each part packs (and widens) only its own rows of W; the rows
    // of x are read by every part. A few parts per thread where nothing is done twice for them: a
    // thread the machine slows down (a shared virtual core) then takes fewer, instead of holding up
    // the product with half of it. Q8 quantizes x in every part, which was not free (measured: with 8
    // parts, GPT-2 small's int8 prefill on two threads gained less than with 2), so one per thread;
    // with the SIMD quantizer 1, 2 and 4 per thread measured alike.
    const int blocks = M / kColAlign;
    if (blocks >= 2) {
        const int parts = std::min(blocks, (w.format == ops::WFormat::Q8 ? 1 : 4) * t);
        parallel_for(parts, [&](int part, int) {
            int m0, m1;
            part_bounds(part, parts, blocks, kColAlign, M, &m0, &m1);
            ops::matmul_w(out + m0, M, x, rows_from(w, m0, K), bias ? bias + m0 : nullptr, N, m1 - m0, K);
            activate_block(out, M, 0, N, m0, m1, act);
        });
        return;
    }
    const int parts = std::min(N / kMinPartRows, t);
    if (parts < 2) return whole();
    parallel_for(parts, [&](int part, int) {
        int n0, n1;
        part_bounds(part, parts, N, 1, N, &n0, &n1);
        ops::matmul_w(out + static_cast<size_t>(n0) * M, x + static_cast<size_t>(n0) * K, w, bias, n1 - n0, M, K);
        activate_block(out, M, n0, n1, 0, M, act);
    });
}

void gemm(float* out, int ldo, const float* a, int lda, bool trans_a, const float* b, int ldb, bool trans_b, float alpha,
          bool accumulate, int N, int M, int K) {
    const int t = threads(), blocks = M / kColAlign;
    if (t > 1 && blocks >= 2) {  // over out's columns: B's columns m0.. (its rows, when transposed), as matmul_w
        const int parts = std::min(blocks, 4 * t);
        parallel_for(parts, [&](int part, int) {
            int m0, m1;
            part_bounds(part, parts, blocks, kColAlign, M, &m0, &m1);
            ops::gemm(out + m0, ldo, a, lda, trans_a, b + (trans_b ? static_cast<size_t>(m0) * ldb : m0), ldb, trans_b,
                      alpha, accumulate, N, m1 - m0, K);
        });
        return;
    }
    const int parts = std::min(N / kMinPartRows, t);
    if (parts < 2) return ops::gemm(out, ldo, a, lda, trans_a, b, ldb, trans_b, alpha, accumulate, N, M, K);
    parallel_for(parts, [&](int part, int) {  // over out's rows: A's rows n0.. (its columns, when transposed)
        int n0, n1;
        part_bounds(part, parts, N, 1, N, &n0, &n1);
        ops::gemm(out + static_cast<size_t>(n0) * ldo, ldo, a + (trans_a ? n0 : static_cast<size_t>(n0) * lda), lda,
                  trans_a, b, ldb, trans_b, alpha, accumulate, n1 - n0, M, K);
    });
}

void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w, int N, int M,
                     int K) {
    if (threads() == 1) return ops::matmul_backward(dx, dw, dbias, dout, x, w, N, M, K);
    if (dx) parallel::gemm(dx, K, dout, M, false, w, K, false, 1.0f, false, N, K, M);  // dx(N, K) = dout · W(M, K)
    parallel::gemm(dw, K, dout, M, true, x, K, false, 1.0f, true, M, K, N);            // dW(M, K) += doutᵀ · x
    if (dbias) {  // column sums, each column summed over n in order whichever part has it
        for_ranges(M, kRowAlign, [&](int m0, int m1) {
            for (int n = 0; n < N; n++) ops::add(dbias + m0, dbias + m0, dout + static_cast<size_t>(n) * M + m0, m1 - m0);
        });
    }
}

}  // namespace parallel
}  // namespace gpt
