// A short training run through the Trainer binding, printed as JSON: the bits of every step's loss
// and of the exported weights. threads.test.mjs runs it in a child process per build, because the
// threaded build's pthread workers (Node worker_threads) keep a process alive.
//   node --no-experimental-fetch tests/wasm/threaded-train.mjs THREADS   (1: gpt-train.mjs, else gpt-train_mt.mjs)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadModule, root } from './load-module.mjs';

const threads = Number(process.argv[2]);
const text = readFileSync(join(root, 'tests', 'data', 'train-text.txt'), 'utf8');
// C 128: the projections split over columns; T 40 over two attention row blocks.
const OPTIONS = { nLayer: 2, nHead: 4, nEmbd: 128, blockSize: 40, batch: 6, lr: 0.01, steps: 50 };

const Module = await loadModule('gpt-train', threads);
const out = { threads: Module.threads(), losses: [], weights: null, error: null };
try {
  const t = new Module.Trainer();
  const created = t.create(text, OPTIONS, 7);
  if (!created.ok) throw new Error(created.message);
  for (let i = 0; i < 3; i++) {
    const r = t.step(2);
    if (!r.ok) throw new Error(r.message);
    out.losses.push(...r.losses.map((x) => Buffer.from(new Float64Array([x]).buffer).toString('hex')));
  }
  out.weights = createHash('sha256').update(t.exportBytes()).digest('hex');
} catch (e) {
  out.error = e.message;
}
process.stdout.write(JSON.stringify(out), () => process.exit(0));
