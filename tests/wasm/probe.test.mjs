// Looking inside through the bindings, as the page will: interventions, one row's numbers
// (explain), the α slider (tempered), the logit lens, the window's loss and the head roles, against
// the PyTorch references of weights/reference.py probe (tests/data/*.probe.safetensors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadBytes, loadModule, readSafetensors, root } from './load-module.mjs';

const Module = await loadModule();
const CASES = [
  { weights: join(root, 'tests', 'data', 'tiny-f32.safetensors'), ref: join(root, 'tests', 'data', 'tiny-f32.probe.safetensors') },
  { weights: join(root, 'weights', 'shakespeare-char.safetensors'), ref: join(root, 'tests', 'data', 'shakespeare.probe.safetensors') },
];
// float32 against float64 through a few layers: the native tests derive ~1e-4 relative for the
// shipped model (tests/test_probe.cpp); probabilities 3e-5.
const REL = 1e-4;
const PROB = 3e-5;

function close(got, want, tol, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    assert.ok(err <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

function setup({ weights, ref: refPath }) {
  const engine = new Module.Engine();
  const bytes = readFileSync(weights);
  const r = loadBytes(Module, engine, bytes);
  assert.equal(r.ok, true, r.message);
  const ref = readSafetensors(refPath);
  const vocab = JSON.parse(readSafetensors(weights).metadata.vocab);
  const tokens = JSON.parse(ref.metadata.tokens);
  return { engine, info: r.info, ref, vocab, tokens, prompt: tokens.map((t) => vocab[t]).join('') };
}

const caseLists = (ref, name) => ({
  off: name === 'off' || name === 'mixed' ? ref.metadata.off : '',
  uniform: name === 'uniform' || name === 'mixed' ? ref.metadata.uniform : '',
});

test('explain: q, k, scores, probabilities and outputs match PyTorch with every kind of intervention', () => {
  for (const c of CASES) {
    const { engine, info, ref, tokens, prompt } = setup(c);
    const { nLayer: L, nHead: NH, nEmbd: C } = info;
    const hs = C / NH, n = tokens.length;
    const positions = JSON.parse(ref.metadata.positions);
    for (const name of ['normal', 'off', 'uniform', 'mixed']) {
      const lists = caseLists(ref, name);
      const set = engine.setInterventions(lists.off, lists.uniform);
      assert.equal(set.ok, true, set.message);
      assert.deepEqual([set.off, set.uniform], [lists.off, lists.uniform]);
      assert.equal(engine.start(prompt, 1).ok, true);
      const t = (k) => ref.tensors[`${name}.${k}`].data;
      positions.forEach((p, i) => {
        for (let l = 0; l < L; l++) {
          for (let h = 0; h < NH; h++) {
            const e = engine.explain(l, h, p);
            assert.equal(e.ok, true, e.message);
            const k = (i * L + l) * NH + h;
            close(e.q, t('q').subarray(k * hs, (k + 1) * hs), REL, `${name} q ${l}.${h}@${p}`);
            close(e.out, t('out').subarray(k * hs, (k + 1) * hs), REL, `${name} out ${l}.${h}@${p}`);
            close(e.scores, t('scores').subarray(k * n, k * n + p + 1), REL, `${name} scores ${l}.${h}@${p}`);
            close(e.probs, t('probs').subarray(k * n, k * n + p + 1), PROB, `${name} probs ${l}.${h}@${p}`);
            // The row's arithmetic, as the math panel shows it: dots = scores * sqrt(hs), the
            // output is the weighted sum of the values (zero for a head switched off).
            for (let j = 0; j <= p; j++) assert.ok(Math.abs(e.dots[j] * e.scale - e.scores[j]) <= 1e-5 * Math.max(1, Math.abs(e.scores[j])));
            const off = lists.off.split(',').includes(`${l}.${h}`);
            for (let d = 0; d < hs; d++) {
              if (off) {
                assert.equal(e.out[d], 0);
                continue;
              }
              let s = 0;
              for (let j = 0; j <= p; j++) s += e.probs[j] * e.v[j * hs + d];
              assert.ok(Math.abs(s - e.out[d]) <= 1e-4 * Math.max(1, Math.abs(s)), `sum_j p_j v_j [${d}]`);
            }
            assert.equal(e.mode, off ? 'off' : lists.uniform.split(',').includes(`${l}.${h}`) ? 'uniform' : 'normal');
            if (name === 'normal' && i === 1) {
              const keys = ref.tensors['normal.k'];  // (L, NH, m, hs)
              const m = keys.shape[2];
              close(e.k.subarray(0, m * hs), keys.data.subarray((l * NH + h) * m * hs, (l * NH + h + 1) * m * hs), REL, `k ${l}.${h}`);
            }
          }
        }
      });
      // The loss of the window, with and without the interventions.
      const loss = engine.windowLoss();
      assert.equal(loss.ok, true, loss.message);
      assert.ok(Math.abs(loss.loss - Number(ref.metadata[`${name}.loss`])) < 1e-4, `${name} loss ${loss.loss}`);
      assert.ok(Math.abs(loss.baseline - Number(ref.metadata['normal.loss'])) < 1e-4);
      assert.equal(loss.targets, n - 1);
      // The generator runs with the interventions: its next-token distribution is the reference's.
      engine.step(1, 0, 1);
      const logits = t('logits').subarray((n - 1) * info.vocabSize, n * info.vocabSize);
      const mx = Math.max(...logits), z = logits.reduce((s, x) => s + Math.exp(x - mx), 0);
      const probs = engine.probs();
      for (let v = 0; v < info.vocabSize; v++) assert.ok(Math.abs(probs[v] - Math.exp(logits[v] - mx) / z) < 1e-5, `${name} p[${v}]`);
    }
    engine.delete();
  }
});

test('explain agrees with the attention rows the page draws, and the lens ends on the real prediction', () => {
  const { engine, info, prompt, tokens } = setup(CASES[1]);
  engine.setHead(1, 2, 'off');
  engine.setHead(0, 3, 'uniform');
  assert.deepEqual({ ...engine.interventions() }, { ok: true, off: '1.2', uniform: '0.3' });
  assert.equal(engine.start(prompt, 1).ok, true);
  const n = tokens.length, R = info.blockSize;
  const att = engine.attention().slice();  // (L, NH, R, K)
  const e = engine.explain(2, 1, n - 1);
  for (let j = 0; j < n; j++) assert.equal(e.probs[j], att[((2 * info.nHead + 1) * R + n - 1) * R + j]);
  const u = engine.explain(0, 3, 9);
  for (let j = 0; j <= 9; j++) assert.equal(u.probs[j], Math.fround(1 / 10));
  assert.ok(engine.explain(1, 2, 9).out.every((x) => x === 0));

  const lens = engine.lens(n - 1, 5);
  assert.equal(lens.ok, true);
  assert.deepEqual(lens.layers.map((r) => r.layer), [-1, 0, 1, 2, 3]);
  engine.step(1, 0, 1);
  const last = lens.layers.at(-1).top, top = engine.top(5);
  assert.deepEqual(last.map((t) => t.token), top.map((t) => t.token));
  last.forEach((t, i) => assert.ok(Math.abs(t.p - top[i].p) < 1e-6));
  // Positions other than the last: the lens at p predicts token p + 1.
  assert.equal(engine.lens(3, 2).layers.length, 5);
  engine.delete();
});

test('tempered: α = 0 is the causal average, α = 1 the head itself, in the band layout', () => {
  const { engine, info, prompt, tokens } = setup(CASES[0]);
  assert.equal(engine.start(prompt, 1).ok, true);
  const n = tokens.length, R = info.blockSize;
  const att = engine.attention().slice();
  const one = engine.tempered(1, 3, 1);
  assert.equal(one.ok, true, one.message);
  assert.equal(one.firstQuery, 0);
  assert.equal(one.data.length, n * R);
  for (let q = 0; q < n; q++) {
    for (let j = 0; j < R; j++) assert.ok(Math.abs(one.data[q * R + j] - att[((1 * info.nHead + 3) * R + q) * R + j]) < 1e-6);
  }
  const zero = engine.tempered(1, 3, 0).data.slice();
  for (let q = 0; q < n; q++) for (let j = 0; j < R; j++) assert.equal(zero[q * R + j], j <= q ? Math.fround(1 / (q + 1)) : 0);
  const half = engine.tempered(1, 3, 0.5).data;
  for (let q = 1; q < n; q++) {
    const row = half.subarray(q * R, q * R + q + 1);
    assert.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-5);
    // Flatter than the head, sharper than the average: its largest weight lies between theirs.
    const mx = Math.max(...row), mxHead = Math.max(...att.subarray(((1 * info.nHead + 3) * R + q) * R, ((1 * info.nHead + 3) * R + q) * R + q + 1));
    assert.ok(mx <= mxHead + 1e-6 && mx >= 1 / (q + 1) - 1e-6);
  }
  assert.equal(engine.tempered(1, 3, -1).ok, false);
  engine.delete();
});

test('head roles a head at a time, the loss increase equal to the window loss with that head off', () => {
  const { engine, info, prompt } = setup(CASES[0]);
  let r = engine.headsStart(prompt);
  assert.equal(r.ok, true, r.message);
  assert.equal(r.heads, info.nLayer * info.nHead);
  assert.equal(r.done, 0);
  assert.equal(r.roles[0].lossIncrease, null);
  while (r.done < r.heads) r = engine.headsNext();
  assert.equal(engine.start(prompt, 1).ok, true);
  for (const role of r.roles) {
    assert.ok(role.prevToken >= 0 && role.prevToken <= 1 && role.induction >= 0 && role.induction <= 1 && role.entropy >= 0);
    engine.setInterventions(`${role.layer}.${role.head}`, '');
    const w = engine.windowLoss();
    assert.ok(Math.abs(w.loss - w.baseline - role.lossIncrease) < 1e-9, `${role.layer}.${role.head}`);
  }
  assert.ok(Math.abs(r.loss - engine.windowLoss().baseline) < 1e-12);
  engine.delete();
});

test('bad requests are values and change nothing', () => {
  const { engine, prompt } = setup(CASES[0]);
  assert.equal(engine.explain(0, 0, 0).ok, false);  // nothing started
  assert.match(engine.setInterventions('0.1,5.0', '').message, /head 5.0 does not exist/);
  assert.match(engine.setInterventions('', 'x').message, /'x' is not a head/);
  assert.match(engine.setHead(0, 1, 'sideways').message, /normal, off or uniform/);
  assert.deepEqual({ ...engine.interventions() }, { ok: true, off: '', uniform: '' });
  assert.equal(engine.start(prompt, 1).ok, true);
  assert.match(engine.explain(0, 9, 0).message, /no head 0.9/);
  assert.match(engine.explain(0, 0, 32).message, /position 32 is outside the window of 32 tokens/);
  assert.match(engine.lens(-1, 5).message, /outside the window/);
  assert.match(engine.headsNext().message, /start a head study first/);
  assert.equal(engine.step(1, 0, 1).ok, true);  // the run goes on
  engine.delete();
});

test('a head study ends with its model: after another load, headsNext asks for a new one', () => {
  const { engine, prompt } = setup(CASES[0]);
  assert.equal(engine.headsStart(prompt).ok, true);
  assert.equal(loadBytes(Module, engine, readFileSync(join(root, 'weights', 'shakespeare-char.safetensors'))).ok, true);
  assert.match(engine.headsNext().message, /start a head study first/);
  assert.equal(engine.headsStart('ROMEO:\nBut soft').ok, true);
  assert.equal(engine.headsNext().ok, true);
  engine.delete();
});
