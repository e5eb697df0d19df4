// The embeddable widget, end to end, from the built folder (npm run build) served statically:
// the example blog post with two widgets, lazy loading, isolation from the host page, the iframe
// route, attributes, themes and the size budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { distDir, gzipSize, widgetFiles } from '../../scripts/package.mjs';
import { cliText, root, shots, startServer, withBrowser } from './harness.mjs';

const ROUTES = [
  ['/fixtures/data/', join(root, 'tests', 'data')],
  ['/fixtures/', join(root, 'tests', 'e2e', 'fixtures')],
  ['/', distDir],
];
const WEIGHTS = join(root, 'weights', 'shakespeare-char.safetensors');
assert.ok(existsSync(distDir), `${distDir} is missing: run npm run build`);
const ctx = withBrowser({ routes: ROUTES });

async function newPage({ viewport = { width: 1280, height: 900 }, colorScheme = 'light' } = {}) {
  const page = await ctx.browser.newPage({ viewport, colorScheme });
  page.errors = [];
  page.requests = [];
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('request', (r) => page.requests.push(new URL(r.url()).pathname));
  return page;
}

const widget = (page, i) => page.locator('gpt-playground').nth(i);
const requested = (page, suffix) => page.requests.filter((p) => p.endsWith(suffix)).length;

// Waits for widget i to finish a run; returns its generated text.
async function waitRun(page, i, timeout = 60000) {
  await page.waitForFunction((i) => {
    const s = document.querySelectorAll('gpt-playground')[i].shadowRoot.querySelector('.status').textContent;
    return s.startsWith('Done') || s.startsWith('Stopped');
  }, i, { timeout });
  return page.evaluate((i) => [...document.querySelectorAll('gpt-playground')[i].shadowRoot.querySelectorAll('.tok.gen')]
    .map((s) => s.textContent).join(''), i);
}

async function waitLoaded(page, i) {
  await page.waitForFunction((i) => document.querySelectorAll('gpt-playground')[i]?.shadowRoot.querySelector('.info').children.length > 0, i);
}

async function generateIn(page, i) {
  await page.evaluate((i) => { document.querySelectorAll('gpt-playground')[i].shadowRoot.querySelector('.status').textContent = ''; }, i);
  await widget(page, i).locator('.generate').click();
  return waitRun(page, i);
}

test('the blog post: two widgets run independently, seeds reproduce, weights download once', async () => {
  const page = await newPage();
  await page.goto(ctx.url + 'examples/blog-post.html');
  await widget(page, 0).scrollIntoViewIfNeeded();
  const first = await waitRun(page, 0);  // the first widget autoplays: 120 tokens, seed 2024
  assert.equal(first.length, 120);
  assert.equal(first, cliText({ weights: WEIGHTS, prompt: 'HAMLET:\nTo be, or not to be, that is the question:\n', tokens: 120, temperature: 0.7, seed: 2024 }));

  await widget(page, 1).scrollIntoViewIfNeeded();
  await waitLoaded(page, 1);
  const a = await generateIn(page, 1);
  assert.equal(a.length, 300);
  await widget(page, 1).evaluate((el) => el.setAttribute('seed', '8'));
  const b = await generateIn(page, 1);
  assert.notEqual(a, b);                                        // another seed, another text
  await widget(page, 1).evaluate((el) => el.setAttribute('seed', '7'));
  assert.equal(await generateIn(page, 1), a);                   // the same seed, the same text
  assert.equal(await waitRun(page, 0), first);                  // the other widget is untouched

  // Both widgets running at once stay independent.
  await widget(page, 0).evaluate((el) => el.setAttribute('max-tokens', '300'));
  await page.evaluate(() => document.querySelectorAll('gpt-playground').forEach((el) => {
    el.shadowRoot.querySelector('.status').textContent = '';
    el.shadowRoot.querySelector('.generate').click();
  }));
  const [x, y] = await Promise.all([waitRun(page, 0), waitRun(page, 1)]);
  assert.equal(x.length, 300);
  assert.equal(y, a);

  assert.equal(requested(page, '/weights/shakespeare-char.safetensors'), 1);
  assert.equal(requested(page, '/wasm/gpt.wasm'), 1);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('host page styles are unchanged, the widget is unaffected by them, and no globals leak', async () => {
  const probe = () => {
    const pick = (el) => {
      const cs = getComputedStyle(el);
      return ['font-family', 'font-size', 'color', 'background-color', 'line-height', 'margin-top'].map((p) => cs.getPropertyValue(p)).join('|');
    };
    return {
      styles: ['body', 'h1', 'h2', 'p', 'code', '.caption', 'nav.site a', 'article'].map((s) => pick(document.querySelector(s))),
      globals: Object.getOwnPropertyNames(window).sort(),
    };
  };
  // Without the widget's module...
  const bare = await newPage();
  await bare.route('**/src/gpt-playground.js', (r) => r.fulfill({ body: '', contentType: 'text/javascript' }));
  await bare.goto(ctx.url + 'examples/blog-post.html');
  const before = await bare.evaluate(probe);
  await bare.close();
  // ...and with it, both widgets loaded.
  const page = await newPage();
  await page.goto(ctx.url + 'examples/blog-post.html');
  await widget(page, 0).scrollIntoViewIfNeeded();
  await waitRun(page, 0);
  const withWidget = await page.evaluate(probe);
  assert.deepEqual(withWidget.styles, before.styles);
  assert.deepEqual(withWidget.globals.filter((g) => !before.globals.includes(g)), []);
  assert.ok(await page.evaluate(() => customElements.get('gpt-playground') !== undefined));

  // The blog's `button { background: hotpink }` and red borders do not reach inside.
  const inside = await widget(page, 0).locator('.generate').evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.notEqual(inside, 'rgb(255, 105, 180)');
  const border = await widget(page, 0).locator('#prompt').evaluate((t) => getComputedStyle(t).borderTopColor);
  assert.notEqual(border, 'rgb(255, 0, 0)');
  await page.close();
});

test('lazy: nothing heavy is fetched until the widget nears the viewport', async () => {
  const page = await newPage();
  await page.goto(ctx.url + 'fixtures/lazy.html');
  await page.waitForTimeout(1500);
  for (const heavy of ['.safetensors', '.wasm', 'worker.js', 'gpt.mjs']) assert.equal(requested(page, heavy), 0, `${heavy} fetched early`);
  assert.match(await widget(page, 0).locator('.status').textContent(), /loads when the playground comes into view/);
  await widget(page, 0).scrollIntoViewIfNeeded();
  await waitLoaded(page, 0);
  assert.equal(requested(page, '.safetensors'), 1);
  assert.equal(requested(page, '.wasm'), 1);
  await page.close();
});

test('the iframe route: embed.html with query parameters', async () => {
  const page = await newPage();
  await page.goto(ctx.url + 'fixtures/iframe.html');
  const frame = page.frameLocator('#frame');
  await page.waitForFunction(() => {
    const doc = document.querySelector('#frame').contentDocument;
    const s = doc?.querySelector('gpt-playground')?.shadowRoot?.querySelector('.status')?.textContent ?? '';
    return s.startsWith('Done');
  }, null, { timeout: 60000 });
  const text = await frame.locator('gpt-playground .output').evaluate((o) => [...o.querySelectorAll('.tok.gen')].map((s) => s.textContent).join(''));
  assert.equal(text, cliText({ weights: WEIGHTS, prompt: 'JULIET:\n', tokens: 50, temperature: 0.6, seed: 5 }));
  assert.equal(await frame.locator('gpt-playground .cell[data-layer="1"][data-head="2"]').getAttribute('aria-pressed'), 'true');
  await page.screenshot({ path: join(shots, 'widget-iframe.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('attribute changes take effect: view, theme, layer/head, prompt, src', async () => {
  const page = await newPage();
  await page.goto(ctx.url + 'examples/blog-post.html');
  await widget(page, 1).scrollIntoViewIfNeeded();
  await waitLoaded(page, 1);
  const w = widget(page, 1);
  assert.equal(await w.locator('.grid').isVisible(), false);  // view="text"
  await w.evaluate((el) => el.setAttribute('view', 'both'));
  assert.equal(await w.locator('.grid').isVisible(), true);
  await w.evaluate((el) => el.setAttribute('view', 'attention'));
  assert.equal(await w.locator('.settings').isVisible(), false);
  assert.equal(await w.locator('.grid').isVisible(), true);
  await w.evaluate((el) => { el.setAttribute('layer', '3'); el.setAttribute('head', 'mean'); });
  assert.equal(await w.locator('.cell[data-layer="3"][data-head="mean"]').getAttribute('aria-pressed'), 'true');
  await w.evaluate((el) => el.setAttribute('prompt', 'KING LEAR:\n'));
  assert.equal(await w.locator('#prompt').inputValue(), 'KING LEAR:\n');
  await w.evaluate((el) => el.setAttribute('temperature', '0.3'));
  assert.equal(await w.locator('input[name=temperature]').inputValue(), '0.3');
  await w.evaluate((el) => el.setAttribute('theme', 'dark'));
  assert.equal(await w.locator('.gp').evaluate((g) => g.classList.contains('dark')), true);
  await w.evaluate((el) => el.setAttribute('theme', 'light'));
  assert.equal(await w.locator('.gp').evaluate((g) => g.classList.contains('dark')), false);
  await w.evaluate((el) => el.setAttribute('src', '/fixtures/data/tiny-f32.safetensors'));
  await page.waitForFunction(() => /Layers\s*2/.test(document.querySelectorAll('gpt-playground')[1].shadowRoot.querySelector('.info').textContent));
  assert.match(await widget(page, 0).locator('.info').textContent(), /Layers\s*4/);  // the other widget keeps its model
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('weights in memory: the weights-in attribute and the select switch the format, generation still works', async () => {
  const page = await newPage();
  await page.goto(ctx.url + 'examples/blog-post.html');
  await widget(page, 1).scrollIntoViewIfNeeded();
  await waitLoaded(page, 1);
  const w = widget(page, 1);
  await w.evaluate((el) => el.setAttribute('max-tokens', '40'));  // short runs: the compact kernels may be scalar
  const info = () => w.locator('.info').textContent();
  assert.match(await info(), /In memory\s*[0-9.]+ MiB, float32/);  // auto: the shipped model is small
  await w.evaluate((el) => el.setAttribute('weights-in', 'int8'));
  await page.waitForFunction(() => /In memory\s*[0-9.]+ MiB, int8/.test(
    document.querySelectorAll('gpt-playground')[1].shadowRoot.querySelector('.info').textContent));
  assert.equal(await w.locator('select[name=weightsIn]').inputValue(), 'int8');
  assert.ok((await generateIn(page, 1)).length > 0);
  await w.locator('select[name=weightsIn]').selectOption('f16');  // the page's setting
  await page.waitForFunction(() => /In memory\s*[0-9.]+ MiB, float16/.test(
    document.querySelectorAll('gpt-playground')[1].shadowRoot.querySelector('.info').textContent));
  assert.equal(await w.evaluate((el) => el.settings.weightsIn), 'f16');
  assert.ok((await generateIn(page, 1)).length > 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('every control has an accessible name', async () => {
  const page = await newPage();
  await page.goto(ctx.url + 'examples/blog-post.html');
  await widget(page, 0).evaluate((el) => el.setAttribute('view', 'both'));
  await widget(page, 0).scrollIntoViewIfNeeded();
  await waitLoaded(page, 0);
  const unnamed = await widget(page, 0).evaluate((el) => {
    const root = el.shadowRoot;
    const name = (c) => c.getAttribute('aria-label') ||
      (c.getAttribute('aria-labelledby') && root.getElementById(c.getAttribute('aria-labelledby'))?.textContent) ||
      (c.labels && [...c.labels].map((l) => l.textContent).join(' ')) || c.textContent || c.title;
    return [...root.querySelectorAll('button, input, select, textarea, [tabindex="0"], canvas')]
      .filter((c) => c.type !== 'file' && !c.closest('[aria-hidden="true"]') && !(name(c) || '').trim())
      .map((c) => c.outerHTML.slice(0, 80));
  });
  assert.deepEqual(unnamed, []);
  await page.close();
});

test('strict CSP: the blog post works with script-src self and wasm-unsafe-eval only', async () => {
  const strict = await startServer({ routes: ROUTES, csp: true });
  try {
    const page = await newPage();
    await page.goto(strict.url + 'examples/blog-post.html');
    await widget(page, 0).scrollIntoViewIfNeeded();
    assert.equal((await waitRun(page, 0)).length, 120);
    await widget(page, 1).scrollIntoViewIfNeeded();
    await waitLoaded(page, 1);
    assert.equal((await generateIn(page, 1)).length, 300);
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    strict.server.close();
  }
});

test('screenshots of the blog post in light and dark themes', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const page = await newPage({ colorScheme, viewport: { width: 1200, height: 900 } });
    await page.goto(ctx.url + 'examples/blog-post.html');
    await widget(page, 0).scrollIntoViewIfNeeded();
    await waitRun(page, 0);
    await widget(page, 1).scrollIntoViewIfNeeded();
    await waitLoaded(page, 1);
    await generateIn(page, 1);
    await widget(page, 0).locator('.output .tok.gen >> nth=50').hover();
    await page.screenshot({ path: join(shots, `blog-post-${colorScheme}.png`), fullPage: true });
    assert.equal(await widget(page, 0).locator('.gp').evaluate((g) => g.classList.contains('dark')), colorScheme === 'dark');
    assert.deepEqual(page.errors, []);
    await page.close();
  }
});

test('size budget: widget JS + wasm at most 250 KB gzip (weights excluded)', () => {
  const total = widgetFiles(distDir).reduce((s, f) => s + gzipSize(f), 0);
  console.log(`widget JS + CSS + wasm: ${(total / 1024).toFixed(1)} KiB gzip`);
  assert.ok(total <= 250 * 1000, `${total} bytes gzip`);
});
