// Training speed (engine/trainer.h): tokens/s of each of the page's presets natively and in wasm
// (one thread), beside PyTorch CPU training the same model with the same batch shape (when
// python3-torch is installed; 1 thread and all of them), and the fraction of each build's peak
// arithmetic (gpt_bench limits) it reaches. Part of `npm run bench` (tests/bench/run.mjs); alone:
//
//   node tests/bench/train-bench.mjs [--quick]      (builds native and wasm first)
//
// Each figure is the median step of several after a warm-up; "cpu" figures are the thread's CPU
// time per step (natively and for PyTorch with one thread), which a busy machine disturbs less than
// the wall clock.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { root } from '../wasm/load-module.mjs';

export const PRESETS = ['tiny', 'small', 'shakespeare'];

// run(build, args) -> the JSON gpt_bench prints; peak(build) -> its peak GFLOP/s.
export function trainingBench(run, peak, quick, log = console.error) {
  const out = {};
  for (const preset of PRESETS) {
    const steps = quick || preset === 'shakespeare' ? '3' : '10';
    const r = {};
    for (const build of ['native-simd', 'wasm']) {
      r[build] = run(build, ['train', preset, '--steps', steps]);
      r[build].of_peak = r[build].GFLOPs / peak(build);
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

export function trainingTable(training) {
  const num = (x) => (x == null ? '—' : Number(x).toFixed(0));
  const pct = (x) => `${(100 * x).toFixed(0)}%`;
  const rows = [['training tokens/s: wall (cpu)', 'native SIMD', 'wasm (Node)', 'PyTorch 1 thread', `PyTorch ${cpus().length} threads`,
    'native / torch-1 (cpu)', 'wasm / torch-1', 'native, wasm % of peak']];
  for (const [preset, r] of Object.entries(training)) {
    const n = r['native-simd'], w = r.wasm, t1 = r.torch_1, ta = r.torch_all;
    const tok = n.batch * n.block_size;
    rows.push([`${preset} ${n.n_layer}x${n.n_head}x${n.n_embd}, batch ${n.batch}x${n.block_size}`,
      `${num(n.tok_s)} (${num(tok / n.cpu_step_s)})`, num(w.tok_s), t1 ? `${num(t1.tok_s)} (${num(tok / t1.cpu_step_s)})` : '—',
      ta ? num(ta.tok_s) : '—', t1 ? `${(n.tok_s / t1.tok_s).toFixed(1)}x (${(t1.cpu_step_s / n.cpu_step_s).toFixed(1)}x)` : '—',
      t1 ? `${(w.tok_s / t1.tok_s).toFixed(1)}x` : '—', `${pct(n.of_peak)}, ${pct(w.of_peak)}`]);
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
  };
  const run = (build, args) => {
    const [cmd, ...pre] = builds[build];
    console.error(`bench: ${build} ${args.join(' ')}`);
    return JSON.parse(execFileSync(cmd, [...pre, ...args], { encoding: 'utf8' }));
  };
  const limits = Object.fromEntries(Object.keys(builds).map((b) => [b, run(b, ['limits'])]));
  const training = trainingBench(run, (b) => limits[b].peak_GFLOPs, quick);
  console.log(JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, date: new Date().toISOString() }, limits, training }));
  console.log(trainingTable(training));
}
