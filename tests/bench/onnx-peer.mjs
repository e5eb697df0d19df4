// The peer a reader would pick instead of this engine: the same checkpoint exported from PyTorch
// with torch.onnx (tests/bench/onnx_export.py) and run by ONNX Runtime Web's wasm backend, one
// thread, in Node. The exported model is nanoGPT's: no KV cache, so generating a token re-runs the
// whole context (as nanoGPT's generate() and the exported graph do), and its decode rate at
// context c is one forward pass of c tokens per token. Prefill is one pass over n tokens.
//
// Before timing, the peer's next-token distribution is checked against the engine's on the same
// prompt (the same model, or the comparison means nothing).
//
//   onnxPeer({ weights, onnx, prompt, context, prefill, reps }) ->
//     { decode_context, decode_tok_s, prefill_tokens, prefill_tok_s, max_prob_diff }
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadBytes, loadModule, root } from '../wasm/load-module.mjs';

const PEER = join(root, 'tests', 'bench', 'peer');

// Installs the pinned onnxruntime-web into tests/bench/peer (not a dependency of the project: only
// this benchmark uses it). Returns the module, or null with the reason logged.
export async function loadOrt(log) {
  const entry = join(PEER, 'node_modules', 'onnxruntime-web', 'dist', 'ort.node.min.mjs');
  if (!existsSync(entry)) {
    log('bench: installing onnxruntime-web for the peer comparison (tests/bench/peer)');
    try {
      execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: PEER, stdio: ['ignore', 'ignore', 'inherit'] });
    } catch {
      log('bench: cannot install onnxruntime-web; the ONNX Runtime Web comparison is skipped');
      return null;
    }
  }
  const ort = await import(entry);
  ort.env.wasm.numThreads = 1;  // one thread, like the engine's single-threaded build
  return ort;
}

// Exports `weights` to `onnx` with PyTorch unless it is there already.
export function exportOnnx(weights, onnx, log) {
  if (existsSync(onnx)) return;
  log(`bench: exporting ${weights} to ONNX`);
  execFileSync('/usr/bin/python3', [join(root, 'tests', 'bench', 'onnx_export.py'), weights, onnx], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

export async function onnxPeer(ort, { weights, onnx, prompt, context, prefill, reps = 3 }) {
  // The engine's tokens and next-token distribution for the prompt.
  const Module = await loadModule();
  const engine = new Module.Engine();
  if (!loadBytes(Module, engine, readFileSync(weights)).ok) throw new Error(`the engine cannot load ${weights}`);
  const started = engine.start(prompt, 1);
  if (!started.ok) throw new Error(started.message);
  const ids = Array.from(started.tokens);
  engine.step(1, 0, 1);  // one draw at temperature 1, no truncation: probs() is then softmax(logits)
  const expected = Float32Array.from(engine.probs());
  engine.delete();

  const session = await ort.InferenceSession.create(readFileSync(onnx), { executionProviders: ['wasm'] });
  const run = async (tokens) => {
    const idx = new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]);
    return (await session.run({ idx })).logits;
  };

  // The same model: softmax of the last row against the engine's probabilities.
  const logits = await run(ids);
  const last = logits.data;  // (1, 1, V): the last position's
  const mx = Math.max(...last);
  const e = Array.from(last, (x) => Math.exp(x - mx));
  const z = e.reduce((a, b) => a + b, 0);
  const max_prob_diff = Math.max(...e.map((x, i) => Math.abs(x / z - expected[i])));
  if (!(max_prob_diff < 1e-3)) throw new Error(`ONNX Runtime's next-token distribution differs from the engine's by ${max_prob_diff}`);

  const window = (n) => Array.from({ length: n }, (_, i) => ids[i % ids.length]);
  const time = async (n) => {
    const tokens = window(n);
    await run(tokens);  // warm-up
    const t = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await run(tokens);
      t.push((performance.now() - t0) / 1000);
    }
    return median(t);
  };
  const t_decode = await time(context);
  const t_prefill = prefill === context ? t_decode : await time(prefill);
  await session.release();
  return { decode_context: context, decode_tok_s: 1 / t_decode, prefill_tokens: prefill, prefill_tok_s: prefill / t_prefill, max_prob_diff };
}
