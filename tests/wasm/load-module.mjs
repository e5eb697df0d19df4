// Loads the web build of the engine (build/wasm/gpt.mjs) in Node, for the tests and benchmarks.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const buildDir = process.env.GPT_WASM_DIR || join(root, 'build', 'wasm');

// name: 'gpt' (the engine) or 'gpt-train' (the training engine, the Train view's). threads > 1: its
// threaded build (name_mt; the pthreads are Node worker_threads, which keep the process alive), set
// to that many threads.
export async function loadModule(name = 'gpt', threads = 1) {
  // Emscripten 3.1.6's ES-module glue still reaches for CommonJS `require` and `__dirname` when it
  // sees Node; give it both, and hand it the wasm bytes so it never tries fetch() on a file path.
  globalThis.require ??= createRequire(import.meta.url);
  globalThis.__dirname ??= buildDir;
  const build = threads > 1 ? `${name}_mt` : name;
  const { default: createGptModule } = await import(join(buildDir, `${build}.mjs`));
  const wasmBinary = readFileSync(join(buildDir, `${build}.wasm`));
  if (threads === 1) return createGptModule({ wasmBinary });
  const module = await createGptModule({ wasmBinary, pthreadPoolSize: threads - 1 });
  module.setThreads(threads);
  return module;
}

// Copies a file's bytes into the engine (the page's worker does the same) and loads it.
export function loadBytes(module, engine, bytes) {
  const ptr = engine.uploadBuffer(bytes.length);
  module.HEAPU8.set(bytes, ptr);
  return engine.load();
}

// The F32 safetensors reference files written by weights/reference.py (tensors of other dtypes are
// skipped; their metadata is read).
export function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const data = buf.subarray(8 + n);
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || t.dtype !== 'F32') continue;  // references are F32; others: metadata only
    const [a, b] = t.data_offsets;
    const bytes = new Uint8Array(data.subarray(a, b));  // copy: aligned for Float32Array
    tensors[name] = { shape: t.shape, data: new Float32Array(bytes.buffer) };
  }
  return { metadata: header.__metadata__ ?? {}, tensors };
}

// Streams a file's bytes into the engine in pieces, as the page's worker does with a download
// (beginLoad, then loadBuffer + a copy + feedLoad per piece, endLoad). Returns endLoad()'s result,
// or the first failure.
export function streamBytes(module, engine, bytes, piece = 1 << 16) {
  const begun = engine.beginLoad(bytes.length);
  if (!begun.ok) return begun;
  for (let at = 0; at < bytes.length; at += piece) {
    const part = bytes.subarray(at, Math.min(at + piece, bytes.length));
    const ptr = engine.loadBuffer(part.length);  // before the copy: growing the heap detaches HEAPU8
    if (!ptr) return { ok: false, message: 'no memory for the next piece' };
    module.HEAPU8.set(part, ptr);
    const fed = engine.feedLoad(part.length);
    if (!fed.ok) return fed;
  }
  return engine.endLoad();
}
