// Models kept in the browser's Cache Storage (a second load makes no request; a cut-off download
// leaves nothing behind; the page lists what is kept and forgets it) and model folders laid out like
// a Hugging Face repository given as the element's src.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { generate, gp, root, shots, waitReady, withBrowser } from './harness.mjs';

const DATA = join(root, 'tests', 'data');
const WEIGHTS = readFileSync(join(root, 'weights', 'shakespeare-char.safetensors'));
const file = (type, bytes) => (req, res) => {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': bytes.length });
  res.end(bytes);
};
// A GPT-2-shaped checkpoint in a folder like a Hugging Face repository: model.safetensors,
// config.json, tokenizer.json (and no vocab.json / merges.txt, which must then not be asked for).
const handlers = {
  '/hf/model.safetensors': file('application/octet-stream', readFileSync(join(DATA, 'gpt2-hf', 'model.safetensors'))),
  '/hf/config.json': file('application/json', readFileSync(join(DATA, 'gpt2-hf', 'config.json'))),
  '/hf/tokenizer.json': file('application/json', readFileSync(join(DATA, 'bpe', 'tokenizer.json'))),
  // Half of the announced length, then the socket closes.
  '/broken/truncated.safetensors': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': WEIGHTS.length });
    res.write(WEIGHTS.subarray(0, WEIGHTS.length >> 1), () => res.destroy());
  },
};
const ctx = withBrowser({ handlers });

// Pages of one browser context share its Cache Storage, like tabs of one profile.
async function contextPage(context, path = '') {
  const page = await context.newPage({ viewport: { width: 1400, height: 1000 } });
  page.errors = [];
  page.requested = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  page.on('request', (r) => page.requested.push(new URL(r.url()).pathname));
  await page.goto(ctx.url + path);
  return page;
}

const keptUrls = (page) => page.evaluate(async () => (await (await caches.open('gpt-playground-models-v1')).keys()).map((r) => new URL(r.url).pathname));
const info = (page) => gp(page, '.info').textContent();

test('the shipped model is downloaded once: a second page loads it from the cache, the page lists it and forgets it', async () => {
  const context = await ctx.browser.newContext();
  const first = await contextPage(context);
  await waitReady(first);
  assert.equal(first.requested.filter((p) => p.endsWith('.safetensors')).length, 1);
  // The download went to the engine piece by piece (engine loader.h): by the engine's own count the
  // load held the float32 weights, a piece (256 KiB, worker.js) and a row, never the 3.5 MiB file
  // beside them.
  const loaded = await first.evaluate(() => document.querySelector('gpt-playground').info);
  assert.ok(loaded.peakLoad >= 4 * loaded.params && loaded.peakLoad <= 4 * loaded.params + (512 << 10),
            `peak while loading ${loaded.peakLoad}, weights ${4 * loaded.params}`);
  await first.locator('.kept-models li').first().waitFor();
  assert.match(await first.locator('.kept-models').textContent(), /\/weights\/shakespeare-char\.safetensors\s*3\.5 MiB/);
  assert.match(await first.locator('.kept-models .total').textContent(), /^1 file, 3\.5 MiB$/);
  await first.screenshot({ path: join(shots, 'kept-models.png'), fullPage: true });

  const second = await contextPage(context);
  await waitReady(second);
  assert.deepEqual(second.requested.filter((p) => p.endsWith('.safetensors')), [], 'no request for the weights');
  assert.match(await info(second), /Layers\s*4/);
  const fromCache = await second.evaluate(() => document.querySelector('gpt-playground').info);
  assert.ok(fromCache.peakLoad <= 4 * fromCache.params + (512 << 10), `peak while loading from the cache ${fromCache.peakLoad}`);
  await second.evaluate(() => document.querySelector('gpt-playground').applySettings({ maxTokens: 10, seed: 7 }));
  assert.equal((await generate(second)).length, 10);

  await second.locator('.kept-models .forget-all').click();
  await second.locator('.kept-models').waitFor({ state: 'hidden' });
  assert.deepEqual(await keptUrls(second), []);
  const third = await contextPage(context);
  await waitReady(third);
  assert.equal(third.requested.filter((p) => p.endsWith('.safetensors')).length, 1, 'downloaded again once forgotten');
  for (const p of [first, second, third]) assert.deepEqual(p.errors, []);
  await context.close();
});

test('a download cut off at 50% leaves nothing in the cache, and the next try downloads again', async () => {
  const context = await ctx.browser.newContext();
  const page = await contextPage(context);
  await waitReady(page);
  await page.evaluate(() => document.querySelector('gpt-playground').setAttribute('src', '/broken/truncated.safetensors'));
  await gp(page, '.error').waitFor({ state: 'visible' });
  assert.match(await gp(page, '.error-text').textContent(), /was cut off after \d+ of \d+ bytes/);
  assert.deepEqual(await keptUrls(page), ['/weights/shakespeare-char.safetensors']);
  // Retry: the message stays up meanwhile, so wait for the second request and the end of its load.
  await gp(page, '.error-retry').click();
  const truncated = () => page.requested.filter((p) => p === '/broken/truncated.safetensors').length;
  for (let t = 0; truncated() < 2 && t < 200; t++) await page.waitForTimeout(50);
  assert.equal(truncated(), 2);
  await gp(page, '.progress').waitFor({ state: 'hidden' });
  assert.match(await gp(page, '.error-text').textContent(), /was cut off after \d+ of \d+ bytes/);
  assert.deepEqual(await keptUrls(page), ['/weights/shakespeare-char.safetensors']);
  await context.close();
});

test('src may name a model folder laid out like a Hugging Face repository; its files are fetched and kept', async () => {
  const context = await ctx.browser.newContext();
  const page = await contextPage(context);
  await waitReady(page);
  await page.evaluate(() => document.querySelector('gpt-playground').setAttribute('src', '/hf/'));
  await page.waitForFunction(() => /Vocabulary\s*50257/.test(document.querySelector('gpt-playground').shadowRoot.querySelector('.info').textContent));
  assert.match(await info(page), /Layers\s*2/);
  assert.deepEqual(page.requested.filter((p) => p.startsWith('/hf/')).sort(), ['/hf/config.json', '/hf/model.safetensors', '/hf/tokenizer.json']);
  await page.evaluate(() => document.querySelector('gpt-playground').applySettings({ prompt: 'Hello world', maxTokens: 8 }));
  await generate(page);
  assert.equal(await page.locator('gpt-playground .output .tok.gen').count(), 8);
  assert.equal(await page.locator('gpt-playground .output .tok.prompt').count() > 1, true);

  // A second element, on a new page of the same browser: nothing is downloaded.
  const again = await contextPage(context);
  await waitReady(again);
  again.requested.length = 0;
  await again.evaluate(() => document.querySelector('gpt-playground').setAttribute('src', '/hf/'));
  await again.waitForFunction(() => /Vocabulary\s*50257/.test(document.querySelector('gpt-playground').shadowRoot.querySelector('.info').textContent));
  assert.deepEqual(again.requested.filter((p) => p.startsWith('/hf/')), []);
  for (const p of [page, again]) assert.deepEqual(p.errors, []);
  await context.close();
});

test('a folder without config.json or a tokenizer: missing side files are skipped, and the engine says what it needs', async () => {
  const context = await ctx.browser.newContext();
  const page = await contextPage(context);
  await waitReady(page);
  // /weights/ holds the shipped model under another name: there is no model.safetensors.
  await page.evaluate(() => document.querySelector('gpt-playground').setAttribute('src', '/weights/'));
  await gp(page, '.error').waitFor({ state: 'visible' });
  assert.match(await gp(page, '.error-text').textContent(), /Could not load weights\/: could not download .*\/weights\/model\.safetensors: HTTP 404/);
  assert.match(await info(page), /Layers\s*4/);
  await context.close();
});
