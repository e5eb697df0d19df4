// A run of the shipped model through the bindings, printed as JSON: each step's token and the bits
// of its probabilities and attention rows. threads.test.mjs runs it in a child process per build,
// because the threaded build's pthread workers (Node worker_threads) keep a process alive.
//   node --no-experimental-fetch tests/wasm/threaded-run.mjs THREADS   (1: gpt.mjs, else gpt_mt.mjs)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadBytes, loadModule, root } from './load-module.mjs';

const threads = Number(process.argv[2]);
const SHIPPED = readFileSync(join(root, 'weights', 'shakespeare-char.safetensors'));
const PROMPT = 'ROMEO:\nBut soft, what light through yonder window breaks? It is the east';

const Module = await loadModule('gpt', threads);
const bits = (f32) => Buffer.from(new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength)).toString('base64');
const engine = new Module.Engine();
const out = { threads: 0, tokens: [], bits: [], error: null };
try {
  const r = loadBytes(Module, engine, SHIPPED);
  if (!r.ok) throw new Error(r.message);
  out.threads = engine.info().threads;
  const started = engine.start(PROMPT, 99);
  if (!started.ok) throw new Error(started.message);
  out.bits.push(bits(engine.promptRows().data.slice()));
  for (let i = 0; i < 40; i++) {
    const s = engine.step(0.9, 0, 1);
    if (!s.ok) throw new Error(s.message);
    out.tokens.push(s.token);
    out.bits.push(bits(engine.probs().slice()), bits(engine.rows().slice()));
  }
  out.bits.push(bits(engine.attention().slice()));  // every kept row, (L, NH, R, K)
} catch (e) {
  out.error = e.message;
}
process.stdout.write(JSON.stringify(out), () => process.exit(0));
