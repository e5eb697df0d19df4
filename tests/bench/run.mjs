// npm run bench: builds what it needs, then measures the engine natively (SIMD and scalar kernels)
// and as wasm in Node, on the shipped model and on a random GPT-2-small-shaped one, next to this
// machine's limits; two threads against one (native and the threaded wasm build); training speed of the page's presets (beside PyTorch's); PyTorch for comparison when it is installed; and the page's own tokens/s in
// headless Chromium. Prints a table and writes build/bench/results.json.
//
//   node tests/bench/run.mjs [--quick]     (--quick: fewer repetitions, no GPT-2 small in scalar)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

import { loadBytes, loadModule, root } from '../wasm/load-module.mjs';
import { exportOnnx, loadOrt, onnxPeer } from './onnx-peer.mjs';
import { previousCharacterHead, trainingBench, trainingTable } from './train-bench.mjs';

const quick = process.argv.includes('--quick');
const out = join(root, 'build', 'bench');
mkdirSync(out, { recursive: true });
const SHIPPED = join(root, 'weights', 'shakespeare-char.safetensors');
const GPT2 = join(out, 'gpt2-small-random.safetensors');
const log = (...a) => console.error(...a);

log('bench: building native, scalar and wasm');
execFileSync(join(root, 'scripts', 'build.sh'), ['native', 'scalar', 'wasm'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (!existsSync(GPT2)) {
  log('bench: writing a random GPT-2-small-shaped checkpoint');
  execFileSync('node', [join(root, 'tests', 'bench', 'make-random-checkpoint.mjs'), GPT2], { stdio: 'inherit' });
}

const builds = {
  'native-simd': [join(root, 'build', 'native', 'gpt_bench')],
  'native-scalar': [join(root, 'build', 'scalar', 'gpt_bench')],
  wasm: ['node', '--no-experimental-fetch', join(root, 'build', 'wasm', 'gpt_bench.js')],
};
const run = (build, args) => {
  const [cmd, ...pre] = builds[build];
  log(`bench: ${build} ${args.join(' ')}`);
  return JSON.parse(execFileSync(cmd, [...pre, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 }));
};

const reps = quick ? '3' : '5';
const results = { machine: { cpu: cpus()[0]?.model, cores: cpus().length, date: new Date().toISOString() }, builds: {} };
for (const build of Object.keys(builds)) {
  const r = { limits: run(build, ['limits']) };
  r.shakespeare = run(build, ['model', SHIPPED, '--contexts', '64,128,256', '--prefill', '256', '--reps', reps]);
  if (!(quick && build === 'native-scalar')) {
    r.gpt2small = run(build, ['model', GPT2, '--contexts', '128', '--prefill', '128', '--reps', '3']);
  }
  // GPT-2 small's shape with its weights kept in float16 and int8 (issue 14): load peak, memory,
  // decode and prefill, beside float32's above. Each format in its own process, so that its peak
  // memory is its own.
  if (build !== 'native-scalar') {
    for (const w of ['f16', 'int8']) {
      r[`gpt2small_${w}`] = run(build, ['model', GPT2, '--contexts', '128', '--prefill', '128', '--reps', '3', '--weights-in', w, '--no-kernels']);
    }
  }
  // Compact weights (issue 14): matvec with W as f32, f16, int8 at GPT-2 small's shapes.
  if (build !== 'native-scalar') r.weights = run(build, ['weights', '--reps', reps]);
  results.builds[build] = r;
}

// Two threads against one (issue 14: forward split over engine/parallel.h's pool), natively and in
// the threaded wasm build in Node (its pthreads are worker_threads; the page runs the same build).
// 1 and 2 threads alternate, pairs back to back so both see the same machine load; medians of the
// pairs, and the ratio of the medians. The two-thread runs also time decode on one thread in turn
// with two inside the same process, repetition by repetition (gpt_bench's decode_speedup): this
// machine's speed drifts by tens of percent between processes, so that paired ratio is the steadier
// figure for decode.
const threadBuilds = {
  'native-simd': builds['native-simd'],
  'wasm-threads': ['node', '--no-experimental-fetch', join(root, 'build', 'wasm', 'gpt_bench_mt.js')],
};
results.threads = {};
results.split = {};
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [build, cmd] of Object.entries(threadBuilds)) {
  builds[build] = cmd;
  results.threads[build] = {};
  for (const [model, file, ctxArgs] of [['shakespeare', SHIPPED, ['--contexts', '256', '--prefill', '256']],
                                        ['gpt2small', GPT2, ['--contexts', '128', '--prefill', '128']],
                                        ['gpt2small_int8', GPT2, ['--contexts', '128', '--prefill', '128', '--weights-in', 'int8', '--no-kernels']]]) {
    const runs = { 1: [], 2: [] };
    for (let pair = 0; pair < (quick ? 1 : 3); pair++) {
      for (const t of [1, 2]) runs[t].push(run(build, ['model', file, ...ctxArgs, '--reps', '3', '--threads', String(t)]));
    }
    const fig = (t) => ({
      threads: runs[t][0].threads,
      decode_tok_s: med(runs[t].map((r) => Object.values(r.decode_tok_s)[0])),
      prefill_tok_s: med(runs[t].map((r) => r.prefill_tok_s)),
    });
    const one = fig(1), two = fig(2);
    results.threads[build][model] = {
      one, two, decode_ratio: two.decode_tok_s / one.decode_tok_s, prefill_ratio: two.prefill_tok_s / one.prefill_tok_s,
      decode_ratio_paired: med(runs[2].map((r) => Object.values(r.decode_speedup)[0])),
    };
  }
  // A split's own cost, the memory bandwidth both cores share (float32 decode's ceiling), and a
  // GPT-2-small token's matrix-vector products alone, on 1 and 2 threads.
  results.split[build] = run(build, ['split', '--threads', '2', '--reps', quick ? '3' : '5']);
}

// PyTorch, nanoGPT-style, when Debian's python3-torch is there.
try {
  execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  log('bench: PyTorch reference (nanoGPT-style generation)');
  results.torch = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'tests', 'bench', 'torch_bench.py'), SHIPPED, '--tokens', '200'], { encoding: 'utf8' }));
} catch {
  results.torch = null;
  log('bench: PyTorch not installed; comparison skipped');
}

// The peer: ONNX Runtime Web's wasm backend, one thread, on the same checkpoints exported with
// torch.onnx (needs PyTorch for the export; tests/bench/onnx-peer.mjs).
results.onnx = null;
const ort = results.torch ? await loadOrt(log) : null;
if (ort) {
  log('bench: ONNX Runtime Web (wasm, one thread)');
  const onnx = { shakespeare: join(out, 'shakespeare-char.onnx'), gpt2small: join(out, 'gpt2-small-random.onnx') };
  exportOnnx(SHIPPED, onnx.shakespeare, log);
  exportOnnx(GPT2, onnx.gpt2small, log);
  results.onnx = {
    shakespeare: await onnxPeer(ort, { weights: SHIPPED, onnx: onnx.shakespeare, prompt: 'ROMEO:\n', context: 256, prefill: 256, reps: Number(reps) }),
    // The random checkpoint's vocabulary is one character per token from U+0100.
    gpt2small: await onnxPeer(ort, { weights: GPT2, onnx: onnx.gpt2small, prompt: String.fromCodePoint(...Array.from({ length: 16 }, (_, i) => 0x100 + 37 * i)),
                                     context: 128, prefill: 128, reps: 3 }),
  };
}

// Generation as the page's worker does it (step, copy the attention rows, top-10), in Node.
async function nodeGeneration(tokens) {
  const Module = await loadModule();
  const engine = new Module.Engine();
  if (!loadBytes(Module, engine, readFileSync(SHIPPED)).ok) throw new Error('cannot load the shipped model');
  const rates = [];
  for (let rep = 0; rep < 3; rep++) {
    engine.start('ROMEO:\n', 1337);
    let t0 = 0;
    for (let i = 0; i < tokens; i++) {
      engine.step(0.8, 0, 1);
      engine.rows().slice();
      engine.top(10);
      if (i === 0) t0 = performance.now();
    }
    rates.push(((tokens - 1) * 1000) / (performance.now() - t0));
  }
  engine.delete();
  return rates.sort((a, b) => a - b)[1];
}

// The page's own readout, in headless Chromium.
async function pageGeneration(tokens) {
  const { launch, openPage, startServer, generate, status } = await import('../e2e/harness.mjs');
  const { server, url } = await startServer();
  const browser = await launch();
  try {
    const page = await openPage(browser, url);
    await page.evaluate((n) => document.querySelector('gpt-playground').applySettings({ prompt: 'ROMEO:\n', seed: 1337, maxTokens: n, temperature: 0.8 }), tokens);
    const rates = [];
    for (let rep = 0; rep < 3; rep++) {
      await generate(page, 120000);
      rates.push(Number((await status(page)).match(/([\d.]+) tokens\/s/)[1]));
    }
    return rates.sort((a, b) => a - b)[1];
  } finally {
    await browser.close();
    server.close();
  }
}

const GEN_TOKENS = 2000;
log('bench: generation in Node (wasm) and in the page');
results.generation = { tokens: GEN_TOKENS, node_wasm_tok_s: await nodeGeneration(GEN_TOKENS), page_tok_s: await pageGeneration(GEN_TOKENS) };

// Training speed of the page's presets (tests/bench/train-bench.mjs).
results.training = trainingBench(run, (build) => results.builds[build].limits.peak_GFLOPs, quick, log);
results.previous_character_head = await previousCharacterHead();

// ---- derived figures ----
const B = results.builds;
const frac = (x) => `${(100 * x).toFixed(0)}%`;
const num = (x, d = 0) => (x == null ? '—' : Number(x).toFixed(d));
function derive(build, model) {
  const r = B[build][model];
  if (!r) return null;
  const lim = B[build].limits;
  const ctx = Object.keys(r.decode_tok_s).map(Number);
  const decode = r.decode_tok_s[String(Math.max(...ctx))];
  return {
    decode,
    decode_roofline: (r.weight_bytes * decode) / (lim.bandwidth_GBps * 1e9),
    prefill_peak: r.prefill_GFLOPs / lim.peak_GFLOPs,
  };
}
results.derived = {};
for (const build of Object.keys(B)) {
  for (const model of ['shakespeare', 'gpt2small']) {
    const d = derive(build, model);
    if (d) results.derived[`${build}/${model}`] = d;
  }
}
const mv = (build, shape) => B[build].shakespeare.kernel_shapes.find((k) => k.name === shape);
results.ratios = {
  simd_over_scalar_matvec: Object.fromEntries(B['native-simd'].shakespeare.kernel_shapes.map((k) => [k.name, k.matvec_GFLOPs / k.matvec_scalar_GFLOPs])),
  wasm_over_native_decode: B.wasm.shakespeare.decode_tok_s['256'] / B['native-simd'].shakespeare.decode_tok_s['256'],
  engine_over_torch: results.torch ? B['native-simd'].shakespeare.decode_tok_s['256'] / results.torch.tok_s : null,
  page_over_node: results.generation.page_tok_s / results.generation.node_wasm_tok_s,
  // The engine in wasm over ONNX Runtime Web, both one thread in Node, same weights, same run.
  wasm_over_onnx: results.onnx && {
    shakespeare_decode_256: B.wasm.shakespeare.decode_tok_s['256'] / results.onnx.shakespeare.decode_tok_s,
    shakespeare_prefill_256: B.wasm.shakespeare.prefill_tok_s / results.onnx.shakespeare.prefill_tok_s,
    gpt2small_decode_128: B.wasm.gpt2small.decode_tok_s['128'] / results.onnx.gpt2small.decode_tok_s,
    gpt2small_prefill_128: B.wasm.gpt2small.prefill_tok_s / results.onnx.gpt2small.prefill_tok_s,
    // The engine's int8 weights (integer products) against ONNX Runtime's float32.
    gpt2small_int8_decode_128: B.wasm.gpt2small_int8.decode_tok_s['128'] / results.onnx.gpt2small.decode_tok_s,
    gpt2small_int8_prefill_128: B.wasm.gpt2small_int8.prefill_tok_s / results.onnx.gpt2small.prefill_tok_s,
  },
};
writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2));

// ---- the table ----
const rows = [];
const row = (...c) => rows.push(c);
row('', 'native SIMD', 'native scalar', 'wasm (Node)');
row('kernels', ...Object.keys(B).map((b) => B[b].limits.kernels));
row('memory bandwidth, GB/s', ...Object.keys(B).map((b) => num(B[b].limits.bandwidth_GBps, 1)));
row('peak arithmetic, GFLOP/s', ...Object.keys(B).map((b) => num(B[b].limits.peak_GFLOPs, 1)));
for (const [model, label] of [['shakespeare', 'shipped model (1.8M)'], ['gpt2small', 'GPT-2 small shape (124M)']]) {
  const any = Object.values(B).find((b) => b[model])[model];
  for (const c of Object.keys(any.decode_tok_s)) {
    row(`${label}: decode tok/s @${c}`, ...Object.keys(B).map((b) => num(B[b][model]?.decode_tok_s[c], 1)));
  }
  row(`${label}: decode / bandwidth roofline`, ...Object.keys(B).map((b) => (results.derived[`${b}/${model}`] ? frac(results.derived[`${b}/${model}`].decode_roofline) : '—')));
  row(`${label}: prefill tok/s (${any.prefill_tokens})`, ...Object.keys(B).map((b) => num(B[b][model]?.prefill_tok_s, 0)));
  row(`${label}: prefill GFLOP/s (of peak)`, ...Object.keys(B).map((b) => (B[b][model] ? `${num(B[b][model].prefill_GFLOPs, 1)} (${frac(results.derived[`${b}/${model}`].prefill_peak)})` : '—')));
  row(`${label}: peak memory, MiB`, ...Object.keys(B).map((b) => num(B[b][model] && B[b][model].peak_memory_bytes / 2 ** 20, 0)));
}
for (const k of B['native-simd'].shakespeare.kernel_shapes) {
  row(`matvec ${k.name} ${k.M}x${k.K}, GFLOP/s`, ...Object.keys(B).map((b) => num(mv(b, k.name).matvec_GFLOPs, 1)));
  if (k.matmul_GFLOPs !== null) row(`matmul ${k.name} ${k.N}x${k.K} · ${k.K}x${k.M}, GFLOP/s`, ...Object.keys(B).map((b) => num(mv(b, k.name).matmul_GFLOPs, 1)));
}
for (const k of B['native-simd'].weights.shapes) {
  const cell = (b, f) => {
    const s = B[b].weights?.shapes.find((x) => x.name === k.name);
    return s ? `${num(s[`${f}_us`], 0)} us, ${num(s[`${f}_GBps`], 1)} GB/s${f === 'f32' ? '' : ` (${num(s[`${f}_speedup`], 2)}x)`}` : '—';
  };
  for (const f of ['f32', 'f16', 'q8']) row(`matvec_w ${f} ${k.name} ${k.M}x${k.K}`, ...Object.keys(B).map((b) => cell(b, f)));
  if (k.f32_matmul128_GFLOPs !== null) {
    row(`matmul_w 128 rows ${k.name}, GFLOP/s f32 / f16 / q8`, ...Object.keys(B).map((b) => {
      const s = B[b].weights?.shapes.find((x) => x.name === k.name);
      return s ? ['f32', 'f16', 'q8'].map((f) => num(s[`${f}_matmul128_GFLOPs`], 1)).join(' / ') : '—';
    }));
  }
}
// Weights in memory at GPT-2 small's shape: every figure of each format, and its ratio to float32.
const MiB = (x) => num(x / 2 ** 20, 0);
for (const [f, key] of [['f32', 'gpt2small'], ['f16', 'gpt2small_f16'], ['int8', 'gpt2small_int8']]) {
  const at = (b) => B[b][key];
  const ratio = (b, get) => (f === 'f32' || !at(b) || !B[b].gpt2small ? '' : ` (${(get(at(b)) / get(B[b].gpt2small)).toFixed(2)}x)`);
  row(`GPT-2 small ${f}: weights / load peak / peak, MiB`, ...Object.keys(B).map((b) => (at(b) ? `${MiB(at(b).weight_bytes)} / ${MiB(at(b).load_peak_bytes)} / ${MiB(at(b).peak_memory_bytes)}` : '—')));
  row(`GPT-2 small ${f}: decode tok/s @128`, ...Object.keys(B).map((b) => (at(b) ? `${num(at(b).decode_tok_s['128'], 1)}${ratio(b, (x) => x.decode_tok_s['128'])}` : '—')));
  row(`GPT-2 small ${f}: prefill tok/s (128)`, ...Object.keys(B).map((b) => (at(b) ? `${num(at(b).prefill_tok_s, 0)}${ratio(b, (x) => x.prefill_tok_s)}` : '—')));
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
console.log(rows.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ')).join('\n'));
console.log('');
console.log(`SIMD / scalar, matvec (same run): ${Object.entries(results.ratios.simd_over_scalar_matvec).map(([k, v]) => `${k} ${v.toFixed(1)}x`).join(', ')}`);
console.log(`wasm / native decode @256: ${results.ratios.wasm_over_native_decode.toFixed(2)}`);
console.log(`engine (native, 1 thread) / PyTorch (${results.torch ? `${results.torch.threads} threads, ${num(results.torch.tok_s, 1)} tok/s` : 'not installed'}): ${results.ratios.engine_over_torch ? `${results.ratios.engine_over_torch.toFixed(1)}x` : '—'}`);
if (results.onnx) {
  for (const [model, label] of [['shakespeare', 'shipped model'], ['gpt2small', 'GPT-2 small shape']]) {
    const o = results.onnx[model];
    const r = results.ratios.wasm_over_onnx;
    console.log(`ONNX Runtime Web (wasm, 1 thread), ${label}: decode @${o.decode_context} ${num(o.decode_tok_s, 1)} tok/s ` +
                `(engine ${r[`${model}_decode_${o.decode_context}`].toFixed(1)}x), prefill ${o.prefill_tokens} ${num(o.prefill_tok_s, 0)} tok/s ` +
                `(engine ${r[`${model}_prefill_${o.prefill_tokens}`].toFixed(2)}x)`);
  }
  const r = results.ratios.wasm_over_onnx;
  console.log(`  the engine with int8 weights over it, GPT-2 small shape: decode ${r.gpt2small_int8_decode_128.toFixed(1)}x, prefill ${r.gpt2small_int8_prefill_128.toFixed(2)}x`);
} else {
  console.log('ONNX Runtime Web: not measured (needs python3-torch for the export, and npm to install onnxruntime-web)');
}
console.log(`page / Node wasm, generating ${GEN_TOKENS} tokens: ${num(results.generation.page_tok_s)} / ${num(results.generation.node_wasm_tok_s)} tok/s = ${frac(results.ratios.page_over_node)}`);
console.log('');
for (const [build, models] of Object.entries(results.threads)) {
  for (const [model, r] of Object.entries(models)) {
    console.log(`${build} ${model}, ${r.two.threads} threads / 1: decode ${num(r.two.decode_tok_s, 1)} / ${num(r.one.decode_tok_s, 1)} tok/s = ${r.decode_ratio.toFixed(2)}x ` +
      `(paired in one process: ${r.decode_ratio_paired.toFixed(2)}x), ` +
      `prefill ${num(r.two.prefill_tok_s)} / ${num(r.one.prefill_tok_s)} tok/s = ${r.prefill_ratio.toFixed(2)}x`);
  }
}
for (const [build, r] of Object.entries(results.split)) {
  const products = ['f32', 'f16', 'int8'].map((f) =>
    `${f} ${num(r[`${f}_products_ms`][0], 1)} / ${num(r[`${f}_products_ms`][1], 1)} ms = ${r[`${f}_speedup`].toFixed(2)}x`);
  console.log(`${build}: a split of 8 empty tasks ${num(r.split_us, 2)} us; memory bandwidth, 1 / ${r.threads} threads: ` +
    `${num(r.bandwidth_GBps[0], 1)} / ${num(r.bandwidth_GBps[1], 1)} GB/s = ${r.bandwidth_speedup.toFixed(2)}x; ` +
    `a GPT-2-small token's products: ${products.join(', ')}`);
}
console.log('');
console.log(trainingTable(results.training));
const head = results.previous_character_head;
if (head) console.log(`tiny preset in wasm: previous-character attention ${head.mean_attention_on_previous.toFixed(2)} after ${head.steps} steps${head.seconds_to_threshold ? ` (${head.seconds_to_threshold.toFixed(0)} s)` : ''}`);
console.log(`\nwritten: ${join(out, 'results.json')}`);
