// Loading as the bytes arrive, through the bindings (beginLoad / loadBuffer / feedLoad / endLoad):
// the same model as a whole load, a peak the engine accounts for that is the model plus a piece,
// never the file; and every misuse or cut-off stream is a message that leaves the current model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadBytes, loadModule, root, streamBytes } from './load-module.mjs';

const Module = await loadModule();
const shipped = readFileSync(join(root, 'weights', 'shakespeare-char.safetensors'));

// The next-token distribution after a prompt (temperature 1, no truncation).
function distribution(engine, prompt) {
  assert.equal(engine.start(prompt, 7).ok, true);
  assert.equal(engine.step(1, 0, 1).ok, true);
  return Float32Array.from(engine.probs());
}

test('a streamed load gives the model a whole load gives, and its peak is the model plus a piece', () => {
  const whole = new Module.Engine();
  assert.equal(loadBytes(Module, whole, shipped).ok, true);
  const want = distribution(whole, 'ROMEO:\nWhat');
  for (const piece of [4096, 65536, 1 << 20]) {
    const engine = new Module.Engine();
    const r = streamBytes(Module, engine, shipped, piece);
    assert.equal(r.ok, true, r.message);
    assert.deepEqual(r.info, whole.info());
    assert.deepEqual(distribution(engine, 'ROMEO:\nWhat'), want);
    // The weights (float32, every parameter) plus the header, a row and the piece: far below file + model.
    const weights = 4 * r.info.params;
    assert.ok(r.peakLoadBytes >= weights, `${r.peakLoadBytes}`);
    assert.ok(r.peakLoadBytes <= weights + piece + (64 << 10), `peak ${r.peakLoadBytes} with pieces of ${piece}`);
    engine.delete();
  }
  whole.delete();
});

test('misuse and cut-off streams are refused and the current model stays', () => {
  const engine = new Module.Engine();
  assert.equal(loadBytes(Module, engine, shipped).ok, true);
  const before = distribution(engine, 'KING');

  assert.match(engine.feedLoad(10).message, /no load is under way/);
  assert.match(engine.endLoad().message, /no load is under way/);
  assert.equal(engine.loadBuffer(10), 0);
  assert.match(engine.beginLoad(-1).message, /whole number of bytes/);
  assert.match(engine.beginLoad(1.5).message, /whole number of bytes/);

  // Cut off after half the file: refused at the end with both figures.
  assert.equal(engine.beginLoad(shipped.length).ok, true);
  const half = shipped.subarray(0, shipped.length >> 1);
  Module.HEAPU8.set(half, engine.loadBuffer(half.length));
  assert.equal(engine.feedLoad(half.length).ok, true);
  assert.match(engine.endLoad().message, new RegExp(`the file ended after ${half.length} of its ${shipped.length} bytes`));

  // A piece claimed larger than its buffer, and bytes past the announced size.
  assert.equal(engine.beginLoad(shipped.length).ok, true);
  engine.loadBuffer(16);
  assert.match(engine.feedLoad(1 << 20).message, /larger than its buffer/);
  assert.match(engine.feedLoad(1).message, /no load is under way/);  // that load is over
  // The first 100 bytes passed off as a whole file: its header cannot fit.
  assert.match(streamBytes(Module, engine, shipped.subarray(0, 100), 7).message, /is larger than the rest of the file \(92 bytes\)/);
  assert.equal(engine.beginLoad(10).ok, true);
  Module.HEAPU8.set(shipped.subarray(0, 16), engine.loadBuffer(16));
  assert.match(engine.feedLoad(16).message, /more bytes than the file's 10/);

  // A bad header is refused as soon as it has arrived, with the whole load's message.
  const bad = Buffer.from(shipped);
  bad.writeBigUInt64LE(0n, 0);
  const r = streamBytes(Module, engine, bad, 4096);
  assert.match(r.message, /header length is 0/);

  assert.equal(engine.loaded(), true);
  assert.deepEqual(distribution(engine, 'KING'), before);
  engine.delete();
});
