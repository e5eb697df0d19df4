// Two cores where the page may use them (issue 14): served with the cross-origin isolation headers
// (as npm start does), the page runs the threaded engine (gpt_mt) and generates exactly the tokens
// of the single-threaded one; without them (a blog host) it runs single-threaded and never fetches
// the threaded build. The blog post and the iframe route work under require-corp too.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { cliText, generate, gp, launch, openTrain, root, setSteps, startServer, trainState, waitReady, waitTrain } from './harness.mjs';

const WEIGHTS = join(root, 'weights', 'shakespeare-char.safetensors');
const ctx = {};
before(async () => {
  ctx.isolated = await startServer({ isolate: true });
  ctx.plain = await startServer();
  ctx.browser = await launch();
});
after(async () => {
  await ctx.browser?.close();
  ctx.isolated?.server.close();
  ctx.plain?.server.close();
});

// before(page): set up before the page loads (routes, init scripts).
async function open(url, before = async () => {}) {
  const page = await ctx.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.errors = [];
  page.warnings = [];
  page.requests = [];
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  page.on('console', (m) => m.type() === 'warning' && page.warnings.push(m.text()));
  page.on('pageerror', (e) => page.errors.push(e.message));
  // Requests of the page's workers too (the engine worker fetches nothing itself; its pthread
  // workers load gpt_mt.worker.js and gpt_mt.mjs).
  page.context().on('request', (r) => page.requests.push(new URL(r.url()).pathname));
  await before(page);
  await page.goto(url);
  return page;
}
const requested = (page, suffix) => page.requests.filter((p) => p.endsWith(suffix)).length;
const setSettings = (page, s) => page.evaluate((s) => document.querySelector('gpt-playground').applySettings(s), s);

const SETTINGS = { prompt: 'ROMEO:\nBut soft, what light', seed: 4242, maxTokens: 200, temperature: 0.8, topK: 0, topP: 1 };

test('isolated: the threaded engine runs and gives exactly the single-threaded tokens', async () => {
  const page = await open(ctx.isolated.url);
  await waitReady(page);
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const info = await gp(page, '.info').textContent();
  if (cores >= 2) {
    assert.match(info, /Engine\s*[2-4] threads/);
    assert.equal(requested(page, '/wasm/gpt_mt.wasm'), 1);
    assert.equal(requested(page, '/wasm/gpt.wasm'), 0);
  } else {
    assert.match(info, /Engine\s*1 thread/);  // one core: nothing to split over
  }
  await setSettings(page, SETTINGS);
  const threaded = await generate(page);
  assert.equal(threaded.length, 200);

  const plain = await open(ctx.plain.url);
  await waitReady(plain);
  assert.equal(await plain.evaluate(() => self.crossOriginIsolated), false);
  assert.match(await gp(plain, '.info').textContent(), /Engine\s*1 thread/);
  await setSettings(plain, SETTINGS);
  assert.equal(await generate(plain), threaded);
  assert.equal(requested(plain, 'gpt_mt.wasm') + requested(plain, 'gpt_mt.mjs'), 0);
  assert.equal(threaded, cliText({ weights: WEIGHTS, prompt: SETTINGS.prompt, tokens: 200, temperature: 0.8, seed: 4242 }));
  assert.deepEqual(page.errors, []);
  assert.deepEqual(plain.errors, []);
  await page.close();
  await plain.close();
});

test('isolated: the blog post and the iframe route load everything under require-corp', async () => {
  for (const path of ['examples/blog-post.html', 'embed.html']) {
    const page = await open(ctx.isolated.url + path);
    await page.locator('gpt-playground').first().scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelector('gpt-playground')?.shadowRoot
      ?.querySelector('.info')?.children.length > 0, null, { timeout: 30000 });
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, path);
    assert.deepEqual(page.errors, [], path);
    await page.close();
  }
});

// The threaded build compiles but cannot start: a host that did not copy one of its files, or a
// network that stalls. Its glue missing, the engine worker cannot import it; gpt_mt.worker.js
// missing, the pthread workers fail to load, which only the glue hears of (it rethrows their error
// events); never answered, nobody hears of anything and the start times out (worker.js). Each time
// the page falls back to the single-threaded engine: the same tokens as without isolation, one
// thread shown, and nothing on the page says anything went wrong. Four cores, so that three pthread
// workers fail, wherever the test runs. The server refuses the file: playwright's routes do not see
// the script of a worker started by a worker (the pthread ones).
const notFound = (req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
};
const FAILURES = [
  ['gpt_mt.worker.js', 'missing', notFound],
  ['gpt_mt.mjs', 'missing', notFound],
  ['gpt_mt.worker.js', 'never answered', () => {}],
];
for (const [file, how, answer] of FAILURES) {
  test(`isolated, ${file} ${how}: the single-threaded engine starts instead and gives the same tokens`, async (t) => {
    let asked = 0;
    const { server, url } = await startServer({ isolate: true, handlers: { [`/wasm/${file}`]: (req, res) => (asked++, answer(req, res)) } });
    t.after(() => server.close());
    const page = await open(url, (page) => page.addInitScript(() => Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 4 })));
    await waitReady(page, 30000);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    assert.ok(asked >= 1, `${file} was not asked for`);
    assert.match(await gp(page, '.info').textContent(), /Engine\s*1 thread/);
    assert.equal(requested(page, '/wasm/gpt_mt.wasm'), 1);
    assert.equal(requested(page, '/wasm/gpt.wasm'), 1);
    await setSettings(page, SETTINGS);
    assert.equal(await generate(page), cliText({ weights: WEIGHTS, prompt: SETTINGS.prompt, tokens: 200, temperature: 0.8, seed: 4242 }));
    assert.ok(page.warnings.some((w) => /the threaded engine could not start \(.+\); running on one thread instead/.test(w)), page.warnings.join('\n'));
    assert.equal(await gp(page, '.error').isVisible(), false);  // no restart either (gpt-playground.js recover)
    assert.deepEqual(page.errors, []);
    await page.close();
  });
}

// The Train view: the threaded training build (gpt-train_mt) where the page is isolated, the same
// losses as the single-threaded one step for step (the engine's splits keep every bit), and the same
// fall back to one thread when it cannot start.
const TRAIN_STEPS = 30;
async function train(page) {
  await waitReady(page, 30000);
  await openTrain(page);
  await setSteps(page, TRAIN_STEPS);
  const plan = await gp(page, '.train-plan').textContent();
  await gp(page, '.train-start').click();
  await waitTrain(page, () => document.querySelector('gpt-playground').views.train.state === 'finished', { timeout: 60000 });
  const { losses } = await trainState(page);
  assert.equal(losses.length, TRAIN_STEPS);
  return { plan, losses };
}
let plainTraining = null;  // the single-threaded run's, once
async function trainPlain() {
  if (plainTraining) return plainTraining;
  const page = await open(ctx.plain.url);
  plainTraining = await train(page);
  assert.equal(requested(page, 'gpt-train_mt.wasm') + requested(page, 'gpt-train_mt.mjs'), 0);
  assert.doesNotMatch(plainTraining.plan, /threads/);
  assert.deepEqual(page.errors, []);
  await page.close();
  return plainTraining;
}

test('isolated: the Train view trains on the threaded build, with the single-threaded losses', async () => {
  const page = await open(ctx.isolated.url);
  const got = await train(page);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  if (cores >= 2) {
    assert.match(got.plan, /on this machine \([2-4] threads\)\.$/);
    assert.equal(requested(page, '/wasm/gpt-train_mt.wasm'), 1);
    assert.equal(requested(page, '/wasm/gpt-train.wasm'), 0);
  }
  assert.deepEqual(got.losses, (await trainPlain()).losses);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('isolated, gpt-train_mt.worker.js missing: the Train view trains on one thread instead, with the same losses', async (t) => {
  let asked = 0;
  const { server, url } = await startServer({ isolate: true, handlers: { '/wasm/gpt-train_mt.worker.js': (req, res) => (asked++, notFound(req, res)) } });
  t.after(() => server.close());
  const page = await open(url, (page) => page.addInitScript(() => Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 4 })));
  const got = await train(page);
  assert.ok(asked >= 1, 'gpt-train_mt.worker.js was not asked for');
  assert.doesNotMatch(got.plan, /threads/);
  assert.equal(requested(page, '/wasm/gpt-train.wasm'), 1);
  assert.deepEqual(got.losses, (await trainPlain()).losses);
  assert.ok(page.warnings.some((w) => /the threaded training engine could not start \(.+\); training on one thread instead/.test(w)), page.warnings.join('\n'));
  assert.deepEqual(page.errors, []);
  await page.close();
});
