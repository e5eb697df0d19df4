// The Embind module as the page's worker uses it, in Node: golden parity through the bindings, and
// errors as values that leave the module usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadBytes, loadModule, readSafetensors, root } from './load-module.mjs';

const data = (name) => join(root, 'tests', 'data', name);
const Module = await loadModule();

function loadedEngine(file = 'tiny-f32.safetensors') {
  const engine = new Module.Engine();
  const r = loadBytes(Module, engine, readFileSync(data(file)));
  assert.equal(r.ok, true, r.message);
  return engine;
}

test('info describes the loaded model', () => {
  const engine = loadedEngine();
  const info = engine.info();
  assert.deepEqual([info.nLayer, info.nHead, info.nEmbd, info.blockSize, info.vocabSize], [2, 4, 64, 32, 62]);
  assert.equal(info.dtype, 'F32');
  assert.equal(info.tokenizer, 'char');
  assert.equal(info.layout, 'gpt-playground');
  assert.ok(info.params > 100000);
  engine.delete();
});

test('attention and probabilities through the bindings match PyTorch', () => {
  for (const dtype of ['f32', 'f16', 'bf16']) {
    const engine = loadedEngine(`tiny-${dtype}.safetensors`);
    const ref = readSafetensors(data(`tiny-${dtype}.ref.safetensors`));
    const tokens = JSON.parse(ref.metadata.tokens);
    const vocab = JSON.parse(readSafetensors(data(`tiny-${dtype}.safetensors`)).metadata.vocab);
    const prompt = tokens.map((t) => vocab[t]).join('');
    const started = engine.start(prompt, 1);
    assert.equal(started.ok, true, started.message);
    assert.equal(started.promptTokens, 32);
    assert.deepEqual([...started.tokens], tokens);
    assert.equal(started.texts.join(''), prompt);
    assert.deepEqual(started.labels, [...prompt]);
    const prompt_rows = engine.promptRows();
    assert.equal(prompt_rows.firstQuery, 0);
    assert.equal(prompt_rows.capture, 32);
    assert.equal(prompt_rows.data.length, 2 * 4 * (32 * 33) / 2);
    const step = engine.step(1.0, 0, 1.0);
    assert.equal(step.ok, true);
    assert.equal(step.pos, 31);
    assert.equal(step.keyStart, 0);

    // probs = softmax(reference logits of the last position), temperature 1.
    const V = vocab.length, T = tokens.length;
    const logits = ref.tensors.logits.data.subarray((T - 1) * V, T * V);
    const mx = Math.max(...logits);
    const z = logits.reduce((s, l) => s + Math.exp(l - mx), 0);
    const probs = engine.probs();
    for (let v = 0; v < V; v++) assert.ok(Math.abs(probs[v] - Math.exp(logits[v] - mx) / z) < 1e-5, `p[${v}] ${dtype}`);
    assert.equal(step.prob, probs[step.token]);

    // The full attention (L, NH, T, T) and the step's rows (L, NH, pos + 1).
    const att = engine.attention();
    const rows = engine.rows();
    assert.equal(rows.length, 2 * 4 * 32);
    for (let l = 0; l < 2; l++) {
      const r = ref.tensors[`att.${l}`].data;  // (NH, T, T)
      for (let h = 0; h < 4; h++) {
        for (let p = 0; p < T; p++) {
          for (let j = 0; j < T; j++) {
            const got = att[((l * 4 + h) * 32 + p) * 32 + j];
            assert.ok(Math.abs(got - r[(h * T + p) * T + j]) < 1e-5, `att l${l} h${h} p${p} j${j}`);
          }
        }
        for (let j = 0; j < T; j++) assert.equal(rows[(l * 4 + h) * 32 + j], att[((l * 4 + h) * 32 + 31) * 32 + j]);
      }
    }
    const top = engine.top(10);
    assert.equal(top.length, 10);
    assert.ok(top.every((t, i) => i === 0 || t.p <= top[i - 1].p));
    assert.equal(top[0].label, vocab[top[0].token]);
    assert.equal(step.label, vocab[step.token]);
    assert.equal(step.text, vocab[step.token]);
    engine.delete();
  }
});

test('the shipped model through the bindings matches PyTorch', () => {
  const engine = new Module.Engine();
  assert.equal(loadBytes(Module, engine, readFileSync(join(root, 'weights', 'shakespeare-char.safetensors'))).ok, true);
  const ref = readSafetensors(data('shakespeare.ref.safetensors'));
  const tokens = JSON.parse(ref.metadata.tokens);
  const vocab = JSON.parse(readSafetensors(join(root, 'weights', 'shakespeare-char.safetensors')).metadata.vocab);
  const started = engine.start(tokens.map((t) => vocab[t]).join(''), 1);
  assert.deepEqual([...started.tokens], tokens);
  engine.step(1, 0, 1);
  const n = tokens.length, V = vocab.length;
  const logits = ref.tensors.logits.data.subarray((n - 1) * V, n * V);
  const mx = Math.max(...logits);
  const z = logits.reduce((s, l) => s + Math.exp(l - mx), 0);
  const probs = engine.probs();
  for (let v = 0; v < V; v++) assert.ok(Math.abs(probs[v] - Math.exp(logits[v] - mx) / z) < 1e-5, `p[${v}]`);
  const rows = engine.rows();  // the last prompt position's row in every layer and head
  for (let l = 0; l < 4; l++) {
    const att = ref.tensors[`att.${l}`].data;  // (NH, n, n)
    for (let h = 0; h < 4; h++) {
      for (let j = 0; j < n; j++) assert.ok(Math.abs(rows[(l * 4 + h) * n + j] - att[(h * n + n - 1) * n + j]) < 1e-5);
    }
  }
  engine.delete();
});

test('a bad file is an error value, and the loaded model keeps working', () => {
  const engine = loadedEngine();
  for (const [bytes, message] of [
    [new Uint8Array(0), /file too small/],
    [new Uint8Array(4096).map((_, i) => (i * 7919) & 255), /header length .* is larger than the rest of the file/],
    [readFileSync(data('tiny-f32.safetensors')).subarray(0, 100000), /run past the end of the data|larger than the rest/],
    [readFileSync(data('tiny-f32.ref.safetensors')), /no token embedding .*: not a GPT checkpoint/],
  ]) {
    const r = loadBytes(Module, engine, bytes);
    assert.equal(r.ok, false);
    assert.match(r.message, message);
    assert.equal(engine.info().nLayer, 2);  // the previous model is still there
  }
  const s = engine.start('First Citizen:\n', 3);
  assert.equal(s.ok, true);
  assert.equal(engine.step(0.8, 0, 1).ok, true);
  engine.delete();
});

test('a model too large for wasm memory is refused with its figure, before any allocation', () => {
  const engine = loadedEngine();
  // The tiny checkpoint's header, claiming a 48-layer, 8192-wide model with a 2048 context.
  const bytes = readFileSync(data('tiny-f32.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  Object.assign(header.__metadata__, { n_layer: '48', n_head: '64', n_embd: '8192', block_size: '2048' });
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const r = loadBytes(Module, engine, Buffer.concat([len, h, bytes.subarray(8 + n)]));
  assert.equal(r.ok, false);
  assert.match(r.message, /^this model needs \d+\.\d GiB of memory \(weights \d+\.\d GiB, activations, KV cache and attention \d+\.\d GiB\), more than the \d\.\d GiB available$/);
  assert.equal(engine.info().nLayer, 2);
  engine.delete();
});

test('unknown characters are reported with their positions; the run before them survives', () => {
  const engine = loadedEngine();
  assert.equal(engine.start('Hello', 1).ok, true);
  const first = engine.step(1, 0, 1);
  const bad = engine.start('a😀~b~', 1);
  assert.equal(bad.ok, false);
  assert.match(bad.message, /does not know the characters '😀', '~'/);
  assert.deepEqual(bad.unknown.map((u) => [u.text, u.index, u.utf16Index]), [['😀', 1, 1], ['~', 2, 3], ['~', 4, 5]]);
  assert.equal(engine.step(1, 0, 1).ok, true);  // the earlier run continues
  assert.ok(first.ok);
  engine.delete();
});

test('bad settings, seeds and call orders are error values', () => {
  const engine = new Module.Engine();
  assert.match(engine.start('a', 1).message, /no model is loaded/);
  assert.match(engine.step(1, 0, 1).message, /start a generation first/);
  assert.equal(engine.info(), null);
  const r = loadBytes(Module, engine, readFileSync(data('tiny-f32.safetensors')));
  assert.ok(r.ok);
  assert.match(engine.start('a', -1).message, /seed must be a whole number/);
  assert.match(engine.start('a', 1.5).message, /seed must be a whole number/);
  assert.match(engine.start('', 1).message, /prompt is empty/);
  assert.equal(engine.start('ab', 4294967295).ok, true);
  assert.match(engine.step(-1, 0, 1).message, /temperature/);
  assert.match(engine.step(1, 0, 0).message, /top-p/);
  assert.equal(engine.step(1, 5, 0.9).ok, true);
  engine.stop();
  assert.match(engine.step(1, 0, 1).message, /stopped/);
  assert.equal(engine.start('ab', 2).ok, true);
  assert.equal(engine.step(1, 0, 1).ok, true);
  engine.delete();
});

test('the same seed gives the same text; generation runs past the context window', () => {
  const engine = loadedEngine();
  const run = (seed) => {
    assert.equal(engine.start('First', seed).ok, true);
    let text = '';
    for (let i = 0; i < 100; i++) text += engine.step(0.9, 30, 0.95).text;  // > 3 windows of 32
    return text;
  };
  assert.equal(run(5), run(5));
  assert.notEqual(run(5), run(6));
  engine.delete();
});

test('top() marks what top-k, top-p and greedy decoding removed, with the probabilities the draw used', () => {
  const engine = loadedEngine();
  const V = engine.info().vocabSize;
  const near = (a, b) => Math.abs(a - b) < 1e-6;
  assert.equal(engine.start('hello', 3).ok, true);
  assert.deepEqual(engine.top(5).map((t) => 'kept' in t), [false, false, false, false, false], 'nothing drawn yet');

  // No filter: every token is a candidate with q = p; nothing is reported.
  assert.equal(engine.step(1, 0, 1).ok, true);
  assert.ok(engine.top(V).every((t) => !('kept' in t) && !('q' in t)));

  // top-k 3: the three most likely are kept, renormalised among themselves.
  const k3 = engine.step(1, 3, 1);
  let top = engine.top(V);
  assert.deepEqual(top.map((t) => t.kept), top.map((_, i) => i < 3));
  const mass = top.slice(0, 3).reduce((s, t) => s + t.p, 0);
  for (const t of top.slice(0, 3)) assert.ok(near(t.q, t.p / mass), `q of ${t.token}`);
  assert.ok(near(top.slice(0, 3).reduce((s, t) => s + t.q, 0), 1));
  assert.ok(top.slice(3).every((t) => !('q' in t)));
  assert.ok(top.slice(0, 3).some((t) => t.token === k3.token), 'the drawn token was kept');

  // top-p 0.6: the shortest prefix whose probability reaches 0.6.
  engine.step(1, 0, 0.6);
  top = engine.top(V);
  const n = top.filter((t) => t.kept).length;
  assert.deepEqual(top.map((t) => t.kept), top.map((_, i) => i < n));
  const prefix = (m) => top.slice(0, m).reduce((s, t) => s + t.p, 0);
  assert.ok(prefix(n) >= 0.6 - 1e-6 && (n === 1 || prefix(n - 1) < 0.6 + 1e-6), `${n} kept`);
  assert.ok(near(top.filter((t) => t.kept).reduce((s, t) => s + t.q, 0), 1));

  // Greedy: only the drawn token, with certainty.
  const g = engine.step(0, 0, 1);
  top = engine.top(V);
  assert.deepEqual(top.filter((t) => t.kept).map((t) => [t.token, t.q]), [[g.token, 1]]);
  assert.equal(top[0].token, g.token);
  engine.delete();
});

test('setWeightsIn: every format loads and says so; f16 on an F16 file gives float32\'s probabilities', () => {
  const bytes = readFileSync(data('tiny-f16.safetensors'));
  const probs = {};
  for (const w of ['f32', 'f16', 'int8', 'auto']) {
    const engine = new Module.Engine();
    const set = engine.setWeightsIn(w);
    assert.equal(set.ok, true, set.message);
    const r = loadBytes(Module, engine, bytes);
    assert.equal(r.ok, true, r.message);
    assert.equal(r.info.weightsIn, w === 'auto' ? 'f32' : w);  // a small model stays float32 under auto
    assert.ok(r.info.weightsBytes > 0);
    assert.equal(engine.start('First Citizen:\n', 1).ok, true);
    assert.equal(engine.step(1.0, 0, 1.0).ok, true);
    probs[w] = Float64Array.from(engine.probs());
    engine.delete();
  }
  // The same float32 arithmetic on the same weights, up to the kernels' order of summation.
  for (let v = 0; v < probs.f32.length; v++) assert.ok(Math.abs(probs.f16[v] - probs.f32[v]) <= 1e-6, `p[${v}]`);
  // int8 is close, not equal (a loose bound: the measured figures are in the README).
  assert.ok(probs.int8.some((p, v) => p !== probs.f32[v]));
  for (let v = 0; v < probs.f32.length; v++) assert.ok(Math.abs(probs.int8[v] - probs.f32[v]) < 0.05, `int8 p[${v}]`);

  // A bad name is refused and changes nothing: the next load is float32 as set before.
  const engine = new Module.Engine();
  assert.equal(engine.setWeightsIn('f32').ok, true);
  const bad = engine.setWeightsIn('q4');
  assert.equal(bad.ok, false);
  assert.match(bad.message, /auto, f32, f16 or int8, got 'q4'/);
  assert.equal(loadBytes(Module, engine, bytes).info.weightsIn, 'f32');
  engine.delete();
});
