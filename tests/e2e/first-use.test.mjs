// First use on every screen (issue 15): what a newcomer trips on, at 1440×900, on a tablet
// (820×1180, touch), on a phone (390×844, touch) and with the keyboard only. One browser for the
// file; screenshots of every viewport in test-results/screenshots/first-use-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DEV_ROUTES } from '../../scripts/serve.mjs';
import { gp, root, shots, waitReady, withBrowser } from './harness.mjs';
import { charModel } from './model-file.mjs';

const ROUTES = [['/fixtures/data/', join(root, 'tests', 'data')], ['/fixtures/', join(root, 'tests', 'e2e', 'fixtures')], ...DEV_ROUTES];
const ctx = withBrowser({ routes: ROUTES });
const VIEWPORTS = {
  desktop: { viewport: { width: 1440, height: 900 } },
  tablet: { viewport: { width: 820, height: 1180 }, hasTouch: true, isMobile: true },
  phone: { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true },
};

async function open(kind, path = '') {
  const page = await ctx.browser.newPage(VIEWPORTS[kind]);
  page.kind = kind;
  page.errors = [];
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(ctx.url + path);
  await waitReady(page);
  return page;
}

const el = (page, fn, arg) => page.evaluate(([src, arg]) => {
  const e = document.querySelector('gpt-playground');
  return new Function('el', 'root', 'arg', `return (${src})(el, root, arg)`)(e, e.shadowRoot, arg);
}, [fn.toString(), arg]);
const settings = (page, s) => page.evaluate((s) => document.querySelector('gpt-playground').applySettings(s), s);
const text = (page, sel) => gp(page, sel).textContent();
// The text of sel once it matches re (the page redraws on the next animation frame after a click).
async function textWhen(page, sel, re) {
  await page.waitForFunction(([sel, src]) => new RegExp(src).test(document.querySelector('gpt-playground').shadowRoot.querySelector(sel).textContent),
                             [sel, re.source]).catch(() => {});
  return text(page, sel);
}
// Clicks, or taps on a touch screen.
const press = (page, locator) => (page.kind === 'desktop' ? locator.click() : locator.tap());

async function run(page, s) {
  await settings(page, s);
  await page.evaluate(() => { document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent = ''; });
  await press(page, gp(page, '.generate'));
  await page.waitForFunction(() => /^(Done|Stopped)/.test(document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent),
                             null, { timeout: 60000 });
}

const rect = (page, sel) => gp(page, sel).evaluate((e) => {
  const r = e.getBoundingClientRect();
  return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height, innerHeight, innerWidth };
});

for (const kind of Object.keys(VIEWPORTS)) {
  test(`${kind}: the first click or tap on a character selects it, nothing scrolls (item 1)`, async () => {
    const page = await open(kind);
    await run(page, { maxTokens: 600, seed: 3 });  // enough to scroll the text box
    const tok = gp(page, '.output .tok.gen >> nth=12');
    await tok.scrollIntoViewIfNeeded();
    const before = await page.evaluate(() => [scrollY, document.querySelector('gpt-playground').shadowRoot.querySelector('.output').scrollTop]);
    await press(page, tok);
    assert.equal(await tok.evaluate((s) => s.classList.contains('selected')), true);
    assert.deepEqual(await page.evaluate(() => [scrollY, document.querySelector('gpt-playground').shadowRoot.querySelector('.output').scrollTop]), before);
    const label = await tok.textContent();
    assert.equal(await textWhen(page, '.next-name', /^How/), `How “${label === ' ' ? '␣' : label === '\n' ? '↵' : label}” was chosen`);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test(`${kind}: choosing a head brings the large view into sight; the trick shows 1, ½, ⅓ ... (items 2, 3, 5, 9)`, async () => {
    const page = await open(kind);
    await run(page, { maxTokens: 150, seed: 11 });
    await page.evaluate(() => scrollTo(0, 0));
    const cell = gp(page, '.cell[data-layer="2"][data-head="3"]');
    await cell.scrollIntoViewIfNeeded();
    await press(page, cell);
    await page.waitForTimeout(100);
    const detail = await rect(page, 'canvas.learned');
    assert.ok(detail.top >= 0 && detail.top < detail.innerHeight - 150, `${kind}: the large view is at y = ${detail.top}`);
    assert.equal(await gp(page, 'select[name=head]').inputValue(), '3');
    await page.screenshot({ path: join(shots, `first-use-${kind}-head.png`) });

    // The trick: the first ten positions, row t = 1/(t+1), in distinct colours and written out.
    const trick = await el(page, (e) => e.detail.trick.layout);
    assert.equal(trick.first, 0);
    assert.equal(trick.n, 10);
    const colours = await el(page, (e) => {
      const L = e.detail.trick.layout, c = e.detail.trick.canvas, dpr = c.width / parseFloat(c.style.width);
      const px = (i) => [...c.getContext('2d').getImageData(Math.round((L.margin + 2) * dpr), Math.round((L.top + (i + 0.1) * L.cell) * dpr), 1, 1).data].join();
      return [0, 1, 2, 5, 9].map(px);
    });
    assert.equal(new Set(colours).size, 5, `rows 1, 2, 3, 6, 10 look alike: ${colours}`);

    // Hover and click say different things, in words.
    const tok = gp(page, '.output .tok.gen >> nth=30');
    if (kind === 'desktop') {
      await tok.hover();
      assert.match(await text(page, '.head-view-status'), /^What “.+” attends to \(layer 2, head 3\): most to “.+” \d/);
    }
    await press(page, tok);
    assert.match(await textWhen(page, '.next-name', /^How/), /^How “.+” was chosen$/);
    assert.match(await text(page, '.next-step'), /drawn with p = .+ from what the model predicted after “.+” \(token \d+\)/);
    assert.match(await textWhen(page, '.learned-caption', /outlined/), /The outlined row is “.+”: what it attended to when “.+” was predicted from it\./);

    // Phone and tablet: the pictures span the column, directly under the text and the head menus,
    // with labels.
    if (kind !== 'desktop') {
      const out = await rect(page, '.output-wrap');
      const menus = await rect(page, '.attn-head');
      const fig = await rect(page, '.detail');
      const learned = await rect(page, 'canvas.learned');
      assert.ok(menus.top > out.bottom && menus.top - out.bottom < 20, `the head menus start ${menus.top - out.bottom}px under the text`);
      assert.ok(fig.top > menus.bottom && fig.top - menus.bottom < 20, `the pictures start ${fig.top - menus.bottom}px under the menus`);
      if (kind === 'phone') assert.ok(learned.width >= 0.9 * out.width, `learned view ${learned.width}px of ${out.width}px`);
      assert.ok((await el(page, (e) => e.detail.learned.layout.every)) <= 3, 'labels on at least every third row');
    }
    await page.screenshot({ path: join(shots, `first-use-${kind}.png`), fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test(`${kind}: Rows = 256 fits its figure; a slid window is explained (items 3, 4)`, async () => {
    const page = await open(kind);
    const prompt = 'Now is the winter of our discontent\nMade glorious summer by this sun of York;\n'.repeat(4);
    await run(page, { prompt, maxTokens: 120, seed: 5, span: 256 });
    for (const fig of ['.learned-fig', '.trick-fig']) {
      const size = await gp(page, fig).evaluate((f) => ({ scroll: f.scrollWidth, client: f.clientWidth, canvas: f.querySelector('canvas').getBoundingClientRect().width }));
      assert.ok(size.canvas <= size.client + 0.5 && size.scroll <= size.client, `${fig}: ${JSON.stringify(size)}`);
    }
    assert.ok(await page.evaluate(() => document.scrollingElement.scrollWidth <= innerWidth));
    assert.equal(await gp(page, '.outside-legend').isVisible(), true);
    await gp(page, '.detail').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, `first-use-${kind}-rows256.png`) });
    await settings(page, { prompt: 'ROMEO:\n' });
    await run(page, { maxTokens: 40, span: 64 });
    assert.equal(await gp(page, '.outside-legend').isVisible(), false);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
}

test('desktop: the attention column stays in view while the text streams (item 2)', async () => {
  const page = await open('desktop');
  await settings(page, { maxTokens: 2000 });
  await gp(page, '.generate').click();
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelectorAll('.tok.gen').length > 50);
  await page.evaluate(() => scrollTo(0, 700));
  const learned = await rect(page, 'canvas.learned');
  assert.ok(learned.top >= 0 && learned.top < 900 - 200, `learned view at y = ${learned.top} after scrolling`);
  await gp(page, '.stop').click();
  await page.close();
});

test('keyboard: Enter on Generate lands on Stop, the end of the run returns to Generate (item 7)', async () => {
  const page = await open('desktop');
  await settings(page, { maxTokens: 3000 });
  const focused = () => page.evaluate(() => document.querySelector('gpt-playground').shadowRoot.activeElement?.className ?? null);
  await gp(page, '.generate').focus();
  await page.keyboard.press('Enter');
  assert.equal(await focused(), 'stop');
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelectorAll('.tok.gen').length > 20);
  await page.keyboard.press('Enter');  // Stop
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent.startsWith('Stopped'));
  assert.equal(await focused(), 'generate primary');
  // A run that ends by itself hands focus back too.
  await settings(page, { maxTokens: 30 });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent.startsWith('Done'));
  assert.equal(await focused(), 'generate primary');
  // The text by keyboard: focus starts at the newest character, arrows move, Enter selects; the
  // page does not scroll.
  const y = await page.evaluate(() => scrollY);
  await gp(page, '.output').focus();
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  const n = await page.locator('gpt-playground .output .tok').count();
  await page.waitForFunction((i) => document.querySelector('gpt-playground').shadowRoot.querySelectorAll('.output .tok')[i]
    .classList.contains('selected'), n - 2);
  assert.match(await textWhen(page, '.next-name', /^How/), /^How “.+” was chosen$/);
  assert.equal(await page.evaluate(() => scrollY), y);
  // Enter on a grid head opens it large and keeps focus in the grid.
  await gp(page, '.cell[aria-pressed="true"]').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.equal(await gp(page, '.cell[data-layer="1"][data-head="1"]').getAttribute('aria-pressed'), 'true');
  assert.match(await focused(), /cell/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('top-k 5: the bars show which candidates the filter removed (item 6)', async () => {
  const page = await open('desktop');
  await run(page, { maxTokens: 40, topK: 5, temperature: 1, seed: 9 });
  for (const nth of [5, 20, 39]) {
    await gp(page, `.output .tok.gen >> nth=${nth}`).click();
    await page.waitForFunction((nth) => {
      const root = document.querySelector('gpt-playground').shadowRoot;
      return root.querySelector('.next-step').textContent.includes(`(token ${root.querySelectorAll('.tok.prompt').length + nth - 1})`);
    }, nth);
    const bars = await page.evaluate(() => [...document.querySelector('gpt-playground').shadowRoot.querySelectorAll('.topk li')]
      .map((li) => ({ removed: li.classList.contains('removed'), drawn: li.classList.contains('drawn') })));
    assert.equal(bars.length, 10);
    assert.deepEqual(bars.map((b) => b.removed), [false, false, false, false, false, true, true, true, true, true]);
    assert.ok(bars.some((b) => b.drawn && !b.removed), 'the drawn token is among the kept');
  }
  assert.match(await text(page, '.topk-note'), /^top-k 5: 5 of these 10 candidates were removed before the draw/);
  await gp(page, '.next').screenshot({ path: join(shots, 'first-use-topk.png') });
  await page.close();
});

test('top-p 0.5: the bars mark what the nucleus left out and the renormalised probabilities the draw used (item 6)', async () => {
  const page = await open('desktop');
  await run(page, { maxTokens: 30, topK: 0, topP: 0.5, temperature: 1, seed: 4 });
  await gp(page, '.output .tok.gen >> nth=12').click();
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.next-step').textContent.includes('token'));
  const bars = await page.evaluate(() => [...document.querySelector('gpt-playground').shadowRoot.querySelectorAll('.topk li')]
    .map((li) => ({ removed: li.classList.contains('removed'), drawn: li.classList.contains('drawn'), text: li.textContent })));
  const kept = bars.filter((b) => !b.removed).length;
  assert.ok(kept >= 1 && kept < bars.length, `${kept} of ${bars.length} kept`);
  assert.deepEqual(bars.map((b) => b.removed), bars.map((_, i) => i >= kept), 'the kept ones are the most likely');
  assert.ok(bars.some((b) => b.drawn && !b.removed), 'the drawn token is among the kept');
  // Each kept bar reads "p → q" with q ≥ p (renormalised over less than the whole distribution).
  for (const b of bars.slice(0, kept)) {
    const [p, q] = b.text.match(/([\d.]+)% → ([\d.]+)%/).slice(1).map(Number);
    assert.ok(q >= p, b.text);
  }
  assert.match(await text(page, '.topk-note'), /renormalised/);
  await page.close();
});

test('controls="minimal" and "none"; a 720×560 iframe shows attention and tells its height (item 8)', async () => {
  const page = await ctx.browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(ctx.url + 'fixtures/iframe-fit.html');
  const frame = page.frameLocator('#fixed');
  await page.waitForFunction(() => document.querySelector('#fixed').contentDocument?.querySelector('gpt-playground')
    ?.shadowRoot?.querySelector('.status')?.textContent.startsWith('Done'), null, { timeout: 60000 });
  const w = frame.locator('gpt-playground');
  for (const hidden of ['.settings', '.model', '.exports', '.span-control']) assert.equal(await w.locator(hidden).isVisible(), false, hidden);
  for (const shown of ['#prompt', '.generate', 'select[name=head]', 'canvas.learned']) assert.equal(await w.locator(shown).isVisible(), true, shown);
  const learned = await w.locator('canvas.learned').boundingBox();
  const frameBox = await page.locator('#fixed').boundingBox();
  assert.ok(learned.y - frameBox.y < 560 - 100, `the attention starts ${learned.y - frameBox.y}px down a 560px frame`);
  await page.screenshot({ path: join(shots, 'first-use-iframe-720.png') });

  // The host snippet sizes the second frame to what it holds.
  await page.waitForFunction(() => {
    const f = document.querySelector('#fitted');
    const inner = f.contentDocument?.querySelector('gpt-playground')?.getBoundingClientRect().height ?? 0;
    return inner > 300 && Math.abs(f.getBoundingClientRect().height - inner) <= 1;
  }, null, { timeout: 30000 });

  await w.evaluate((e) => e.setAttribute('controls', 'none'));
  for (const hidden of ['#prompt', '.generate', '.attn-controls', '.settings']) assert.equal(await w.locator(hidden).isVisible(), false, hidden);
  for (const shown of ['.output', 'canvas.learned', '.grid']) assert.equal(await w.locator(shown).isVisible(), true, shown);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a Hugging Face folder: side files the engine does not read are ignored with a note (item 10)', async () => {
  const page = await open('desktop');
  const dir = join(tmpdir(), `gpt-playground-hf-${process.pid}`);
  const extra = { 'tokenizer_config.json': '{"model_max_length": 1024}', 'generation_config.json': '{"bos_token_id": 50256}', 'README.md': '# gpt2\n' };
  rmSync(dir, { recursive: true, force: true });
  const paths = [join(root, 'tests/data/gpt2-hf/model.safetensors'), join(root, 'tests/data/gpt2-hf/config.json'),
                 join(root, 'tests/data/bpe/tokenizer.json'), join(root, 'tests/data/bpe/vocab.json'), join(root, 'tests/data/bpe/merges.txt')];
  for (const [name, body] of Object.entries(extra)) {
    writeFileSync(join(tmpdir(), name), body);
    paths.push(join(tmpdir(), name));
  }
  await gp(page, '.file-input').setInputFiles(paths);
  await page.waitForFunction(() => /Vocabulary\s*50257/.test(document.querySelector('gpt-playground').shadowRoot.querySelector('.info').textContent));
  assert.equal(await gp(page, '.error').isVisible(), false);
  assert.equal(await text(page, '.status'), 'Ready. Ignored tokenizer_config.json, generation_config.json, README.md: the engine does not read them.');
  for (const name of Object.keys(extra)) rmSync(join(tmpdir(), name));
  await page.close();
});

test('a 12 × 12 model: tiles without wrapped captions, on desktop and phone; the status says it loads (item 11)', async () => {
  const path = join(tmpdir(), `gpt-playground-${process.pid}-twelve.safetensors`);
  writeFileSync(path, charModel({ layers: 12, heads: 12, width: 48 }));
  for (const kind of ['desktop', 'phone']) {
    const page = await open(kind);
    await gp(page, '.file-input').setInputFiles(path);
    await page.waitForFunction(() => /Layers\s*12/.test(document.querySelector('gpt-playground').shadowRoot.querySelector('.info').textContent));
    await run(page, { prompt: 'ROMEO:\n', maxTokens: 20 });
    assert.equal(await page.locator('gpt-playground .grid .cell').count(), 12 * 13);
    const labels = await page.evaluate(() => [...document.querySelector('gpt-playground').shadowRoot.querySelectorAll('.grid-label')]
      .map((l) => ({ text: l.textContent, h: l.getBoundingClientRect().height, wide: l.scrollWidth > l.clientWidth + 1 })));
    assert.equal(labels.length, 1 + 13 + 12);
    for (const l of labels) assert.ok(l.h < 20 && !l.wide, `label ${l.text} wraps or overflows`);
    assert.equal(await page.locator('gpt-playground .cell span').count(), 0);  // no caption inside tiles
    const tile = await gp(page, '.cell[data-layer="0"][data-head="0"]').boundingBox();
    assert.ok(tile.width >= 18, `tiles are ${tile.width}px`);
    await page.screenshot({ path: join(shots, `first-use-twelve-${kind}.png`), fullPage: kind === 'phone' });
    assert.deepEqual(page.errors, []);
    await page.close();
  }
  rmSync(path);

  // While the model is loading, the status says so (not that it will load when in view).
  const page = await ctx.browser.newPage();
  let release;
  const held = new Promise((r) => (release = r));
  await page.route('**/weights/shakespeare-char.safetensors', async (r) => {
    await held;
    r.continue();
  });
  await page.goto(ctx.url + 'fixtures/lazy.html');
  assert.match(await gp(page, '.status').textContent(), /loads when the playground comes into view/);
  await gp(page, '.output').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent.startsWith('Loading the model'));
  release();
  await waitReady(page);
  await page.close();
});

test('the large view follows the width it is given: resized, it redraws to fit its figure (item 8)', async () => {
  const page = await open('desktop');
  await run(page, { maxTokens: 60 });
  const fit = () => gp(page, '.learned-fig').evaluate((f) => ({ fig: f.clientWidth, canvas: f.querySelector('canvas').getBoundingClientRect().width,
                                                                 drawn: f.querySelector('canvas').width / devicePixelRatio }));
  const wide = await fit();
  await page.setViewportSize({ width: 1000, height: 900 });
  await page.waitForFunction((w) => {
    const f = document.querySelector('gpt-playground').shadowRoot.querySelector('.learned-fig');
    return f.clientWidth !== w && Math.abs(f.querySelector('canvas').width / devicePixelRatio - f.clientWidth) <= 2;
  }, wide.fig);
  const narrow = await fit();
  assert.ok(narrow.drawn < wide.drawn, `${JSON.stringify(narrow)} after ${JSON.stringify(wide)}`);
  assert.ok(Math.abs(narrow.drawn - narrow.fig) <= 2);
  await page.close();
});
