// Training speed (engine/trainer.h): tokens/s of each of the page's presets natively and in wasm,
// on one thread and on two (the threaded wasm build, which the Train view runs where the page is
// cross-origin isolated), beside PyTorch CPU training the same model with the same batch shape (when
// python3-torch is installed; 1 thread and all of them), and the fraction of each build's peak
// arithmetic (gpt_bench limits) one thread reaches. Part of `npm run bench` (tests/bench/run.mjs); alone:
//
//   node tests/bench/train-bench.mjs [--quick]      (builds native and wasm first)
//
// Each figure is the median step of several after a second of warm-up (in wasm the first steps run
// V8's baseline code while its optimising compiler works on other threads); "cpu" figures are the thread's CPU
// time per step (natively and for PyTorch with one thread), which a busy machine disturbs less than
// the wall clock.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadModule, root } from '../wasm/load-module.mjs';

export const PRESETS = ['tiny', 'small', 'shakespeare'];

// run(build, args) -> the JSON gpt_bench prints (builds 'native-simd', 'wasm' and 'wasm-threads');
// peak(build) -> its peak GFLOP/s.
export function trainingBench(run, peak, quick, log = console.error) {
  const out = {};
  for (const preset of PRESETS) {
    const steps = preset === 'shakespeare' ? '3' : quick ? '10' : '30';
    const r = {};
    for (const build of ['native-simd', 'wasm']) {
      r[build] = run(build, ['train', preset, '--steps', steps]);
      r[build].of_peak = r[build].GFLOPs / peak(build);
    }
    if (cpus().length >= 2) {
      r['native-simd-2'] = run('native-simd', ['train', preset, '--steps', steps, '--threads', '2']);
      r['wasm-2'] = run('wasm-threads', ['train', preset, '--steps', steps, '--threads', '2']);
    }
    const n = r['native-simd'];
    for (const threads of [1, cpus().length]) {
      try {
        r[threads === 1 ? 'torch_1' : 'torch_all'] = JSON.parse(execFileSync('/usr/bin/python3', [
          join(root, 'tests', 'bench', 'torch_train_bench.py'), '--n-layer', n.n_layer, '--n-head', n.n_head, '--n-embd', n.n_embd,
          '--block-size', n.block_size, '--batch', n.batch, '--vocab', n.vocab_size, '--steps', steps, '--threads', threads,
        ].map(String), { encoding: 'utf8' }));
      } catch {
        log('bench: PyTorch not installed; training comparison skipped');
      }
    }
    out[preset] = r;
  }
  return out;
}

// How soon the page's smallest preset shows a previous-character head: the tiny preset trains in
// wasm (the page's module, in Node, one thread) on the first 256 KiB of Tiny Shakespeare, 5 steps
// between probes; at each probe, the layer-0 head with the most mean attention on the previous
// character (over a fixed 80-character probe text). Returns when that passes `threshold`, or after
// `seconds`. null without the text (it is not part of the project).
export async function previousCharacterHead(seconds = 60, threshold = 0.3) {
  const data = process.env.GPT_TINYSHAKESPEARE || join(root, '..', 'shared', 'data', 'tinyshakespeare.txt');
  if (!existsSync(data)) return null;
  const Module = await loadModule('gpt-train');
  const t = new Module.Trainer();
  const plan = t.create(readFileSync(data, 'utf8').slice(0, 256 * 1024), { preset: 'tiny' }, 1337);
  if (!plan.ok) throw new Error(plan.message);
  const probe = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.';
  const t0 = performance.now();
  let best = 0, step = 0, at = null;
  while ((performance.now() - t0) / 1000 < seconds) {
    step = t.step(5).step;
    const p = t.probe(probe);
    best = 0;
    for (let h = 0; h < plan.nHead; h++) {
      let m = 0;
      for (let q = 1; q < p.n; q++) m += p.data[(h * p.n + q) * p.n + q - 1];
      best = Math.max(best, m / (p.n - 1));
    }
    if (best >= threshold) {
      at = (performance.now() - t0) / 1000;
      break;
    }
  }
  t.delete();
  return { threshold, seconds_to_threshold: at, steps: step, mean_attention_on_previous: best };
}

export function trainingTable(training) {
  const num = (x) => (x == null ? '—' : Number(x).toFixed(0));
  const pct = (x) => `${(100 * x).toFixed(0)}%`;
  const ratio = (a, b) => (a && b ? `${(a / b).toFixed(1)}x` : '—');
  const rows = [['training tokens/s: wall (cpu)', 'native SIMD', 'native 2 thr', 'wasm (Node)', 'wasm 2 thr', 'PyTorch 1 thread',
    `PyTorch ${cpus().length} threads`, 'native / torch-1 (cpu)', 'wasm / torch-1', 'wasm 2 thr / torch-1, all', 'native, wasm % of peak']];
  for (const [preset, r] of Object.entries(training)) {
    const n = r['native-simd'], w = r.wasm, n2 = r['native-simd-2'], w2 = r['wasm-2'], t1 = r.torch_1, ta = r.torch_all;
    const tok = n.batch * n.block_size;
    rows.push([`${preset} ${n.n_layer}x${n.n_head}x${n.n_embd}, batch ${n.batch}x${n.block_size}`,
      `${num(n.tok_s)} (${num(tok / n.cpu_step_s)})`, num(n2?.tok_s), num(w.tok_s), num(w2?.tok_s),
      t1 ? `${num(t1.tok_s)} (${num(tok / t1.cpu_step_s)})` : '—', ta ? num(ta.tok_s) : '—',
      t1 ? `${(n.tok_s / t1.tok_s).toFixed(1)}x (${(t1.cpu_step_s / n.cpu_step_s).toFixed(1)}x)` : '—',
      ratio(w.tok_s, t1?.tok_s), `${ratio(w2?.tok_s, t1?.tok_s)}, ${ratio(w2?.tok_s, ta?.tok_s)}`, `${pct(n.of_peak)}, ${pct(w.of_peak)}`]);
  }
  const width = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(width[i]) : String(c).padStart(width[i]))).join('  ')).join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  console.error('bench: building native and wasm');
  execFileSync(join(root, 'scripts', 'build.sh'), ['native', 'wasm'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const builds = {
    'native-simd': [join(root, 'build', 'native', 'gpt_bench')],
    wasm: ['node', '--no-experimental-fetch', join(root, 'build', 'wasm', 'gpt_bench.js')],
    'wasm-threads': ['node', '--no-experimental-fetch', join(root, 'build', 'wasm', 'gpt_bench_mt.js')],
  };
  const run = (build, args) => {
    const [cmd, ...pre] = builds[build];
    console.error(`bench: ${build} ${args.join(' ')}`);
    return JSON.parse(execFileSync(cmd, [...pre, ...args], { encoding: 'utf8' }));
  };
  const limits = Object.fromEntries(['native-simd', 'wasm'].map((b) => [b, run(b, ['limits'])]));
  const training = trainingBench(run, (b) => limits[b].peak_GFLOPs, quick);
  const head = await previousCharacterHead();
  console.log(JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, date: new Date().toISOString() }, limits, training, head }));
  console.log(trainingTable(training));
  console.log(head ? `tiny preset in wasm: a layer-0 head puts ${head.mean_attention_on_previous.toFixed(2)} of its attention on the previous character after ${head.steps} steps` +
    (head.seconds_to_threshold ? ` (${head.seconds_to_threshold.toFixed(0)} s)` : ' (threshold not reached in 60 s)') : 'previous-character head: Tiny Shakespeare not found');
}
