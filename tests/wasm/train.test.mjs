// The Trainer binding as the page's worker uses it, in Node: a short run whose loss goes down,
// samples and the attention of a probe text, and exported weights that the Engine loads and
// generates from; errors as values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadBytes, loadModule, root } from './load-module.mjs';

const Module = await loadModule('gpt-train');
const EngineModule = await loadModule();  // the exported weights load in the page's engine
const text = readFileSync(join(root, 'tests', 'data', 'train-text.txt'), 'utf8');
const SMALL = { nLayer: 1, nHead: 2, nEmbd: 32, blockSize: 16, batch: 8, lr: 0.01, steps: 100 };
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;

test('presets describe the page\'s model sizes', () => {
  const presets = Module.trainingPresets();
  assert.deepEqual(presets.map((p) => p.name), ['tiny', 'small', 'shakespeare']);
  for (const p of presets) assert.ok(p.nEmbd % p.nHead === 0 && p.batch > 0 && p.lr > 0 && p.description.length > 10);
});

test('plan reports the memory and shape before anything is allocated', () => {
  const t = new Module.Trainer();
  const p = t.plan(text, { preset: 'tiny' });
  assert.equal(p.ok, true, p.message);
  assert.deepEqual([p.nLayer, p.nHead, p.nEmbd, p.blockSize, p.batch], [2, 4, 64, 32, 8]);
  assert.equal(p.vocabSize, new Set(text).size);
  assert.ok(p.params > 100000 && p.memoryBytes > 8 * p.params, `${p.params} parameters, ${p.memoryBytes} bytes`);
  assert.equal(p.trainChars + p.valChars, [...text].length);
  assert.ok(p.flopsPerStep > 4 * p.params * p.tokensPerStep);
  t.delete();
});

test('a short run lowers the loss, samples, probes, and its export loads in the Engine', () => {
  const t = new Module.Trainer();
  const created = t.create(text, SMALL, 3);
  assert.equal(created.ok, true, created.message);
  const losses = [];
  let last;
  for (let i = 0; i < 5; i++) {
    last = t.step(20);
    assert.equal(last.ok, true, last.message);
    losses.push(...last.losses);
  }
  assert.equal(losses.length, 100);
  assert.equal(last.step, 100);
  assert.ok(last.tokensPerSecond > 0 && last.seconds > 0);
  assert.ok(mean(losses.slice(-20)) < mean(losses.slice(0, 20)) - 0.2, `${mean(losses.slice(0, 20))} -> ${mean(losses.slice(-20))}`);
  const val = t.validationLoss(64);
  assert.equal(val.ok, true, val.message);
  assert.ok(val.loss > 0 && val.loss < losses[0]);

  const s = t.sample('The lamp', 40, 0.8, 1);
  assert.equal(s.ok, true, s.message);
  assert.equal([...s.text].length, 40);

  const probe = t.probe('The lamplighter came');
  assert.equal(probe.ok, true, probe.message);
  const n = probe.n;
  assert.equal(n, 16);  // the context window
  assert.deepEqual(probe.labels, [...'The lamplighter ']);
  assert.equal(probe.data.length, 1 * 2 * n * n);
  for (let h = 0; h < 2; h++) {
    for (let q = 0; q < n; q++) {
      const row = probe.data.subarray((h * n + q) * n, (h * n + q + 1) * n);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      for (let k = q + 1; k < n; k++) assert.equal(row[k], 0);
    }
  }

  const bytes = t.exportBytes().slice();
  const engine = new EngineModule.Engine();
  const loaded = loadBytes(EngineModule, engine, bytes);
  assert.equal(loaded.ok, true, loaded.message);
  assert.deepEqual([loaded.info.nLayer, loaded.info.nHead, loaded.info.nEmbd, loaded.info.blockSize], [1, 2, 32, 16]);
  assert.equal(loaded.info.dtype, 'F32');
  assert.equal(engine.start('The lamp', 1).ok, true);
  for (let i = 0; i < 20; i++) assert.equal(engine.step(0.8, 0, 1).ok, true);
  engine.delete();
  t.delete();
});

test('the same seed trains the same weights', () => {
  const runs = [1, 2].map(() => {
    const t = new Module.Trainer();
    assert.equal(t.create(text, SMALL, 11).ok, true);
    const l = t.step(10).losses;
    const bytes = t.exportBytes().slice();
    t.delete();
    return { l, bytes };
  });
  assert.deepEqual(runs[0].l, runs[1].l);
  assert.deepEqual(runs[0].bytes, runs[1].bytes);
});

test('bad options and calls out of order come back as values', () => {
  const t = new Module.Trainer();
  assert.match(t.step(1).message, /no training run/);
  assert.equal(t.exportBytes(), null);
  assert.match(t.create(text, { preset: 'huge' }, 1).message, /unknown preset 'huge'/);
  assert.match(t.create(text, { ...SMALL, nHead: 3 }, 1).message, /n_head 3 does not divide n_embd 32/);
  assert.match(t.create(text, { ...SMALL, lr: -1 }, 1).message, /lr must be a number/);
  assert.match(t.create('abc', SMALL, 1).message, /the text is too short/);
  assert.match(t.create(text, SMALL, -1).message, /seed/);
  assert.match(t.create(text, { preset: 'tiny', nEmbd: 2048, nLayer: 64, blockSize: 1024, batch: 512 }, 1).message,
    /this run needs .* but only .* of memory is left/);
  assert.equal(t.create(text, SMALL, 1).ok, true);
  assert.match(t.sample('~', 5, 1, 1).message, /does not know the character '~'/);
  assert.match(t.probe('').message, /empty/);
  t.reset();
  assert.match(t.step(1).message, /no training run/);
  t.delete();
});
