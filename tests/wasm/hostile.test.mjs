// Hostile but well-formed files through the Embind module (issue 16): each is one clear error value
// (never a bare number thrown at JS, never "Maximum call stack size exceeded"), leaves no side file
// or half-loaded state behind, does not grow the heap, and the module keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadBytes, loadModule, root } from './load-module.mjs';

const data = (name) => join(root, 'tests', 'data', name);
const Module = await loadModule();
const tiny = readFileSync(data('tiny-f32.safetensors'));
const bpeJson = readFileSync(data('bpe/tokenizer.json'), 'utf8');

// The tiny checkpoint split into its header (as an object, or edited as text) and its data.
function split(bytes = tiny) {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), data: bytes.subarray(8 + n) };
}
function safetensors(headerText, data) {
  const h = Buffer.from(headerText);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

function loadedEngine() {
  const engine = new Module.Engine();
  const r = loadBytes(Module, engine, tiny);
  assert.equal(r.ok, true, r.message);
  return engine;
}

// The engine still has the tiny model and generates with it.
function assertUsable(engine) {
  assert.equal(engine.info().nLayer, 2);
  assert.equal(engine.info().tokenizer, 'char');
  assert.equal(engine.start('First Citizen:\n', 3).ok, true);
  assert.equal(engine.step(0.8, 0, 1).ok, true);
}

test('added_tokens ids in a dropped file are messages, never a bare number; later loads work', () => {
  const engine = loadedEngine();
  // 2^32 + 5 is written as text: JSON numbers past 2^53 would lose digits in JS.
  for (const [id, message] of [['-1', /added_tokens entry 0: token id -1 is out of range \(0 to 1048575\)/],
    ['-2', /token id -2 is out of range/], ['-2147483648', /token id -2147483648 is out of range/],
    ['1000000000', /token id 1000000000 is out of range/], ['4294967301', /token id 4294967301 is out of range/]]) {
    const { header, data } = split();
    header.__metadata__.tokenizer_json = bpeJson.replace('"id": 438', `"id": ${id}`);
    const r = loadBytes(Module, engine, safetensors(JSON.stringify(header), data));
    assert.equal(r.ok, false);
    assert.equal(typeof r.message, 'string');
    assert.match(r.message, message);
    assertUsable(engine);
    // Even after the failure, the shipped-style model alone loads in a fresh engine call.
    assert.equal(loadBytes(Module, engine, tiny).ok, true);
  }
  engine.delete();
});

test('side files never outlive the load they were set for', () => {
  const engine = loadedEngine();
  // A failed upload (too large to allocate) abandons the load: the tokenizer set for it goes too.
  assert.equal(engine.setFile('tokenizer.json', bpeJson).ok, true);
  assert.equal(engine.uploadBuffer(3e9), 0);
  let r = loadBytes(Module, engine, tiny);
  assert.equal(r.ok, true, r.message);  // was: "the tokenizer has 439 tokens but the model only 62"
  assert.equal(r.info.tokenizer, 'char');
  // A refused side file abandons the load likewise.
  assert.equal(engine.setFile('tokenizer.json', bpeJson).ok, true);
  assert.equal(engine.setFile('weights.bin', 'x').ok, false);
  r = loadBytes(Module, engine, tiny);
  assert.equal(r.ok, true, r.message);
  // A failed load consumes its side files and keeps the model that was there.
  assert.equal(engine.setFile('tokenizer.json', bpeJson).ok, true);
  r = loadBytes(Module, engine, tiny);
  assert.equal(r.ok, false);
  assert.match(r.message, /the tokenizer has 439 tokens but the model only 62/);
  assertUsable(engine);
  assert.equal(loadBytes(Module, engine, tiny).ok, true);
  engine.delete();
});

test('a shape element nested 10,000 deep is a one-line refusal, with no stack overflow and no leak', () => {
  const engine = loadedEngine();
  const deep = '['.repeat(10000) + '1' + ']'.repeat(10000);
  const file = safetensors(`{"a":{"dtype":"F32","shape":[${deep}],"data_offsets":[0,8]}}`, Buffer.alloc(8));
  let heap = 0;
  for (let i = 0; i < 30; i++) {
    const r = loadBytes(Module, engine, file);
    assert.equal(r.ok, false);
    assert.equal(r.message, "tensor 'a': dimension must be a non-negative integer, got an array");
    if (i === 0) heap = Module.HEAPU8.length;
  }
  assert.equal(Module.HEAPU8.length, heap);  // was ~4 MB more per attempt, never reclaimed
  // The same nesting inside a tokenizer.json in the metadata.
  const { header, data } = split();
  header.__metadata__.tokenizer_json = `{"model": ${deep}}`;
  const r = loadBytes(Module, engine, safetensors(JSON.stringify(header), data));
  assert.match(r.message, /^tokenizer\.json nests deeper than 64 levels \(at byte \d+\)$/);
  assertUsable(engine);
  engine.delete();
});

test('a 64 MiB header of nested objects and 100,001 tensors are refused without a tree or a stall', () => {
  const engine = loadedEngine();
  const before = Module.HEAPU8.length;
  const parts = ['{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":['];
  const chunk = '{"k":{}},'.repeat(1 << 16);
  while (parts.length * chunk.length < 64 << 20) parts.push(chunk);
  parts.push('{}]}}');
  const big = safetensors(parts.join(''), Buffer.alloc(8));
  let r = loadBytes(Module, engine, big);
  assert.equal(r.ok, false);
  assert.equal(r.message, "tensor 'a': unknown field 'x'");
  // The upload itself is in the heap; a tree would have taken gigabytes (3.5 GiB for 100 MiB).
  assert.ok(Module.HEAPU8.length - before <= big.length + (32 << 20), `heap grew by ${Module.HEAPU8.length - before}`);
  const entries = [];
  for (let i = 0; i <= 100000; i++) entries.push(`"t${i}":{"dtype":"F32","shape":[1],"data_offsets":[${4 * i},${4 * i + 4}]}`);
  r = loadBytes(Module, engine, safetensors(`{${entries.join(',')}}`, Buffer.alloc(4 * 100001)));
  assert.equal(r.message, 'more than 100000 tensors');
  assertUsable(engine);
  engine.delete();
});

test('finite but huge weights: start and step stop with a message, never NaN probabilities', () => {
  const engine = loadedEngine();
  const { header, data } = split();
  // Every weight times 1e18: the first layer's attention scores overflow float32.
  const scaled = new Float32Array(new Uint8Array(data).buffer).map((v) => v * 1e18);
  let r = loadBytes(Module, engine, safetensors(JSON.stringify(header), Buffer.from(scaled.buffer)));
  assert.equal(r.ok, true, r.message);  // finite: nothing for the loader to refuse
  let s = engine.start('First', 1);
  assert.equal(s.ok, false);
  assert.match(s.message, /^the logits at position 4 are not finite .*first in the attention of layer 0, head \d; the run is stopped$/);

  // Position 4's embedding overflows LayerNorm: the prompt runs clean, the first drawn token does not.
  const wpe = new Float32Array(new Uint8Array(data).buffer);
  const off = header['transformer.wpe.weight'].data_offsets[0] / 4 + 4 * 64;
  wpe[off] = 3.4e38;
  wpe[off + 1] = 3.4e38;
  r = loadBytes(Module, engine, safetensors(JSON.stringify(header), Buffer.from(wpe.buffer)));
  assert.equal(r.ok, true, r.message);
  s = engine.start('Firs', 1);
  assert.equal(s.ok, true, s.message);
  const first = engine.step(1, 0, 1);
  assert.equal(first.ok, true);
  assert.ok(Number.isFinite(first.prob));
  const second = engine.step(1, 0, 1);
  assert.equal(second.ok, false);
  assert.match(second.message, /the logits at position 4 are not finite/);
  assert.match(engine.step(1, 0, 1).message, /stopped/);
  const top = engine.top(5);  // the last good distribution, in order
  assert.equal(top.length, 5);
  assert.ok(top.every((t, i) => Number.isFinite(t.p) && (i === 0 || t.p <= top[i - 1].p)));
  assert.equal(loadBytes(Module, engine, tiny).ok, true);
  assertUsable(engine);
  engine.delete();
});

const gpt2 = join(root, '..', 'shared', 'gpt2');
test('GPT-2\'s real vocab.json and merges.txt through the bindings', { skip: !existsSync(join(gpt2, 'vocab.json')) &&
  `GPT-2's vocab.json and merges.txt are not in ${gpt2}` }, () => {
  const engine = new Module.Engine();
  for (const name of ['vocab.json', 'merges.txt']) assert.equal(engine.setFile(name, readFileSync(join(gpt2, name), 'utf8')).ok, true);
  assert.equal(engine.setFile('config.json', readFileSync(data('gpt2-hf/config.json'), 'utf8')).ok, true);
  const r = loadBytes(Module, engine, readFileSync(data('gpt2-hf/model.safetensors')));
  assert.equal(r.ok, true, r.message);
  assert.equal(r.info.tokenizer, 'gpt2');
  const s = engine.start('Hello world', 1);
  assert.equal(s.ok, true, s.message);
  assert.deepEqual([...s.tokens], [15496, 995]);
  assert.deepEqual(s.texts, ['Hello', ' world']);
  engine.delete();
});

// Fills the wasm heap with other engines' upload buffers, then gives back `spare` MiB.
function fillHeap(spare) {
  const fillers = [];
  for (const size of [256 << 20, 16 << 20, 1 << 20]) {
    for (;;) {
      const e = new Module.Engine();
      if (!e.uploadBuffer(size)) {
        e.delete();
        break;
      }
      fillers.push(e);
    }
  }
  for (let i = 0; i < spare; i++) fillers.pop().delete();  // 1 MiB buffers
  return { release: () => fillers.forEach((e) => e.delete()) };
}

test('with the heap nearly full, a tokenizer too big for what is left is refused with the figure', () => {
  // 200,439 tokens; 18 MiB left: the tiny model's memory check passes (0.6 MiB + 16 MiB of slack),
  // and half of what it leaves bounds the tokenizer's tree.
  const tj = JSON.parse(bpeJson);
  for (let id = 439; id < 200439; id++) tj.added_tokens.push({ id, content: `<${id}>` });
  const engine = loadedEngine();
  assert.equal(engine.setFile('tokenizer.json', JSON.stringify(tj)).ok, true);  // its text, before the heap fills
  const heap = fillHeap(18);
  try {
    const r = loadBytes(Module, engine, tiny);
    assert.equal(r.ok, false);
    assert.match(r.message, /^tokenizer\.json would take more than [\d.]+ [KM]iB of memory as a JSON tree: refused \(at byte \d+\)$/);
  } finally {
    heap.release();
  }
  assertUsable(engine);  // the previous model, intact
  assert.equal(loadBytes(Module, engine, tiny).ok, true);  // and no tokenizer left behind
  engine.delete();
});

test('an allocation the system still refuses during a load is caught: a message, and nothing changes', () => {
  // merges.txt of 999,999 lines: its table is reserved in one ~64 MB allocation, which a heap with
  // 18 MiB left cannot give, while the exception itself still finds the few bytes it needs.
  const engine = loadedEngine();
  assert.equal(engine.setFile('vocab.json', readFileSync(data('bpe/vocab.json'), 'utf8')).ok, true);
  assert.equal(engine.setFile('merges.txt', '#version: 0.2\n' + 'a b\n'.repeat(999999)).ok, true);
  const heap = fillHeap(18);
  try {
    const r = loadBytes(Module, engine, tiny);
    assert.equal(r.ok, false);
    assert.equal(r.message, "out of memory while loading this model (the browser's wasm memory is full): nothing was changed");
  } finally {
    heap.release();
  }
  assertUsable(engine);
  assert.equal(loadBytes(Module, engine, tiny).ok, true);
  engine.delete();
});
