// The threaded web builds (build/wasm/gpt_mt.mjs and gpt-train_mt.mjs; their pthreads are Node
// worker_threads here) against the single-threaded ones, through the bindings as the page's workers
// use them: the same tokens, probabilities and attention rows (threaded-run.mjs), and the same
// training losses and weights (threaded-train.mjs), bit for bit, with 2 and 3 threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { buildDir, root } from './load-module.mjs';

// A script's JSON, run in a child process on `threads` threads.
const child = (script, threads) => JSON.parse(execFileSync(process.execPath,
  ['--no-experimental-fetch', join(root, 'tests', 'wasm', script), String(threads)],
  { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120000 }));
const run = (threads) => child('threaded-run.mjs', threads);
const train = (threads) => child('threaded-train.mjs', threads);

test('the threaded build gives the single-threaded build\'s tokens, probabilities and attention',
  { skip: !existsSync(join(buildDir, 'gpt_mt.mjs')) && 'no threaded build' }, () => {
    const want = run(1);
    assert.equal(want.error, null);
    assert.equal(want.threads, 1);
    assert.equal(want.tokens.length, 40);
    for (const threads of [2, 3]) {
      const got = run(threads);
      assert.equal(got.error, null);
      assert.equal(got.threads, threads);
      assert.deepEqual(got.tokens, want.tokens);
      assert.equal(got.bits.length, want.bits.length);
      assert.ok(got.bits.every((b, i) => b === want.bits[i]), `${threads} threads: the floats differ`);
    }
  });

test('the threaded training build gives the single-threaded build\'s losses and weights, bit for bit',
  { skip: !existsSync(join(buildDir, 'gpt-train_mt.mjs')) && 'no threaded build' }, () => {
    const want = train(1);
    assert.equal(want.error, null);
    assert.equal(want.threads, 1);
    assert.equal(want.losses.length, 6);
    for (const threads of [2, 3]) {
      const got = train(threads);
      assert.equal(got.error, null);
      assert.equal(got.threads, threads);
      assert.deepEqual(got.losses, want.losses);
      assert.equal(got.weights, want.weights);
    }
  });
