// Looking inside, in headless Chromium on the shipped model: the math of one attention row, the α
// slider, the logit lens, head experiments (off / uniform, the loss readout, the URL hash and the
// widget's attributes) and the head roles. Every figure on the page is the engine's; these tests
// check the panels agree with what the rest of the page shows, and the hash with the native CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { cliText, generate, generatedText, gp, nextFrame, openPage, root, shots, withBrowser } from './harness.mjs';

const WEIGHTS = join(root, 'weights', 'shakespeare-char.safetensors');
const ctx = withBrowser();
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

const setSettings = (page, s) => page.evaluate((s) => document.querySelector('gpt-playground').applySettings(s), s);
const inRoot = (page, fn, arg) => page.evaluate(([f, a]) => new Function('el', 'root', 'arg', f)(
  document.querySelector('gpt-playground'), document.querySelector('gpt-playground').shadowRoot, a), [fn, arg]);
// The numbers in the math panel's weight (or α) column, key -> p, and the heatmap's row from the run.
const column = (page, cls) => inRoot(page, `return [...root.querySelectorAll('.keys .${cls}')].map((s) => [Number(s.dataset.key ?? s.previousElementSibling.dataset.key), Number(s.dataset.p)]);`);
const waitText = (page, sel, re) => page.waitForFunction(([s, r]) => new RegExp(r).test(document.querySelector('gpt-playground').shadowRoot.querySelector(s)?.textContent ?? ''),
  [sel, re.source], { timeout: 20000 });
// `gpt loss` on a text (one window when it fits the context), with head lists as on the page.
function cliLoss(text, ablate = '') {
  const file = join(mkdtempSync(join(tmpdir(), 'gp-loss-')), 'text.txt');
  writeFileSync(file, text);
  const out = execFileSync(join(root, 'build', 'native', 'gpt'), ['loss', '--weights', WEIGHTS, '--data', file, '--split', 'all',
    ...(ablate ? ['--ablate', ablate] : [])], { encoding: 'utf8' });
  return Number(out.match(/^loss ([0-9.]+) nats/)[1]);
}
// A status already saying Done (the last run's) would answer waitDone at once: clear it first.
const clearStatus = (page) => page.evaluate(() => { document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent = ''; });
const waitDone = (page) => page.waitForFunction(() => /^(Done|Stopped)/.test(document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent), null, { timeout: 60000 });

test('the math of one row: opened from the heatmap by click and keyboard, its softmax weights are the heatmap row', async () => {
  const page = await openPage(ctx.browser, ctx.url, DESKTOP);
  await setSettings(page, { prompt: 'ROMEO:\nBut soft, what light', seed: 3, maxTokens: 40, layer: 2, head: 3 });
  await generate(page);
  assert.equal(await gp(page, '.look').isHidden(), true);
  // Keyboard: the large view takes focus; End opens the newest row, ArrowUp the one above.
  await gp(page, 'canvas.learned').focus();
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowUp');
  await waitText(page, '.math-body', /q·k_j/);
  const title = await gp(page, '.math-title').textContent();
  const q = Number(title.match(/\(#(\d+)\)/)[1]);
  const length = await inRoot(page, 'return el.run.length;');
  assert.equal(q, length - 3);  // rows end at the query before the newest token
  const weights = await column(page, 'weight');
  assert.equal(weights.length, q + 1);  // every visible key, the future masked
  const row = await inRoot(page, 'return Array.from({ length: arg + 1 }, (_, k) => el.run.weight(2, 3, arg, k));', q);
  for (const [k, p] of weights) assert.ok(Math.abs(p - row[k]) < 1e-5, `key ${k}: panel ${p}, heatmap ${row[k]}`);
  assert.match(await gp(page, '.math-body').textContent(), /later positions: masked/);
  // Vectors are strips of head size 48 (one cell per dimension), with the values on hover.
  assert.equal(await inRoot(page, 'return root.querySelector(".math-steps canvas.strip").width;'), 48);
  // A click on a row of the large view opens that row.
  const box = await gp(page, 'canvas.learned').boundingBox();
  await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.5);
  await page.waitForFunction((old) => !document.querySelector('gpt-playground').shadowRoot.querySelector('.math-title').textContent.includes(`(#${old})`), q);
  await waitText(page, '.math-body', /q·k_j/);
  await page.keyboard.press('Escape');
  await gp(page, 'canvas.learned').press('Escape');
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.look').hidden);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('α from 0 to 1: the uniform causal average 1/(i+1), then the learned head, for the row and the whole matrix', async () => {
  const page = await openPage(ctx.browser, ctx.url, DESKTOP);
  await setSettings(page, { prompt: 'ROMEO:\nBut soft', seed: 5, maxTokens: 30, layer: 0, head: 1 });
  await generate(page);
  await gp(page, 'canvas.learned').focus();
  await page.keyboard.press('End');
  await waitText(page, '.math-body', /q·k_j/);
  const q = Number((await gp(page, '.math-title').textContent()).match(/\(#(\d+)\)/)[1]);
  await gp(page, '.alpha').fill('0');
  await waitText(page, '.keys', /α=0\.00/);
  const zero = await column(page, 'alpha-weight');
  assert.equal(zero.length, q + 1);
  for (const [, p] of zero) assert.equal(p, Math.fround(1 / (q + 1)));
  // The whole head at α = 0: every row of the large view is the uniform average.
  await gp(page, '.alpha-whole').check();
  // Its tooltip reads the matrix drawn: a cell on the diagonal half of a row holds 1/(query + 1).
  await page.waitForTimeout(300);
  await gp(page, 'canvas.learned').scrollIntoViewIfNeeded();
  const box = await gp(page, 'canvas.learned').boundingBox();
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.8);
  const tip = await gp(page, '.tooltip').textContent();
  const [, tq, w] = tip.match(/#(\d+) → key .* #\d+: ([0-9.]+)$/);
  assert.equal(w, (1 / (Number(tq) + 1)).toFixed(4), tip);
  await page.screenshot({ path: join(shots, 'look-alpha0-desktop.png') });
  await gp(page, '.alpha').fill('1');
  await waitText(page, '.keys', /α=1\.00/);
  const one = await column(page, 'alpha-weight');
  const weights = new Map(await column(page, 'weight'));
  for (const [k, p] of one) assert.ok(Math.abs(p - weights.get(k)) < 1e-6, `α = 1, key ${k}: ${p} vs ${weights.get(k)}`);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the logit lens of a position ends on the next-token distribution the page shows for it', async () => {
  const page = await openPage(ctx.browser, ctx.url, DESKTOP);
  // At temperature 1 the bars are the model's own distribution (otherwise softmax(logits / T)).
  await setSettings(page, { prompt: 'JULIET:\nO Romeo, Romeo', seed: 11, maxTokens: 30, temperature: 1 });
  await generate(page);
  await gp(page, '.output .tok.gen >> nth=12').click();  // how it was chosen: its distribution
  await waitText(page, '.lens-table', /after block 3/);
  const lens = await inRoot(page, 'return [...root.querySelectorAll(".lens-table tr")].map((tr) => [tr.querySelector("th").textContent, [...tr.querySelectorAll(".pp")].map((s) => [s.querySelector(".tok-label").textContent, Number(s.dataset.p)])]);');
  assert.deepEqual(lens.map(([name]) => name), ['embedding', 'after block 0', 'after block 1', 'after block 2', 'after block 3 = output']);
  const shown = await inRoot(page, 'return [...root.querySelectorAll(".topk li")].slice(0, 5).map((li) => [li.querySelector(".tok-label").textContent, Number(li.title.match(/probability ([0-9.]+)/)[1])]);');
  const last = lens.at(-1)[1];
  assert.deepEqual(last.map(([t]) => t), shown.map(([t]) => t));
  last.forEach(([, p], i) => assert.ok(Math.abs(p - shown[i][1]) < 1e-5, `${shown[i][0]}: lens ${p}, shown ${shown[i][1]}`));
  await gp(page, '.look').screenshot({ path: join(shots, 'look-math-lens-desktop.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a head switched off (click or keyboard) changes the distribution, the loss readout and the hash; reset all', async () => {
  const page = await openPage(ctx.browser, ctx.url, DESKTOP);
  await setSettings(page, { prompt: 'ROMEO:\nBut soft, what light', seed: 21, maxTokens: 40 });
  await generate(page);
  await waitText(page, '.loss-readout', /every head normal\.$/);
  const firstDist = async () => {
    await gp(page, '.output .tok.gen >> nth=0').click();
    // The page draws on the next animation frame: read the bars after it, not the last run's.
    await nextFrame(page);
    await nextFrame(page);
    return inRoot(page, 'return [...root.querySelectorAll(".topk li")].map((li) => li.title);');
  };
  const before = await firstDist();
  await clearStatus(page);
  await gp(page, '.tile:nth-of-type(2) .mode').click();  // layer 0, head 1: the previous-character head
  await waitDone(page);
  await waitText(page, '.loss-readout', /with 1 off/);
  assert.equal(await inRoot(page, 'return root.querySelector(".tile:nth-of-type(2)").dataset.mode;'), 'off');
  assert.match(await page.evaluate(() => location.hash), /ablate=0\.1(&|$)/);
  assert.notDeepEqual(await firstDist(), before);
  const loss = await inRoot(page, 'return [Number(root.querySelector(".loss-now").dataset.loss), root.querySelector(".loss-base").textContent];');
  assert.ok(loss[0] > 0 && /nats/.test(loss[1]));
  await page.screenshot({ path: join(shots, 'look-head-off-desktop.png') });
  // Keyboard: M on a focused head moves it on (normal -> off -> uniform).
  await gp(page, '.cell[data-layer="1"][data-head="2"]').focus();
  await clearStatus(page);
  await page.keyboard.press('m');
  await page.keyboard.press('m');
  await waitDone(page);
  // The first press's run may be the one that said Done: wait for the second's loss, so that no run
  // is left going (and then stopped) when Reset all starts the next.
  await waitText(page, '.loss-readout', /with 1 off and 1 uniform/);
  assert.equal(await inRoot(page, 'return root.querySelector(".cell[data-layer=\'1\'][data-head=\'2\']").parentElement.dataset.mode;'), 'uniform');
  assert.match(await page.evaluate(() => location.hash), /uniform=1\.2(&|$)/);
  await clearStatus(page);
  await gp(page, '.reset-heads').click();
  await waitDone(page);
  await waitText(page, '.loss-readout', /every head normal\.$/);
  assert.deepEqual(await firstDist(), before);
  assert.equal(await inRoot(page, 'return root.querySelectorAll(".tile:not([data-mode=normal]) .mode").length;'), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('ablation in the URL hash reproduces the CLI `gpt generate --ablate --uniform` text; the widget takes them as attributes', async () => {
  const settings = { prompt: 'KING RICHARD:\n', seed: 77, tokens: 80, temperature: 0.8 };
  const hash = `#prompt=${encodeURIComponent(settings.prompt)}&seed=77&tokens=80&temperature=0.8&ablate=0.1,2.3&uniform=1.0`;
  const page = await openPage(ctx.browser, ctx.url + hash, DESKTOP);
  const text = await generate(page);
  assert.equal(text, cliText({ weights: WEIGHTS, ...settings, ablate: '0.1,2.3', uniform: '1.0' }));
  assert.notEqual(text, cliText({ weights: WEIGHTS, ...settings }));
  assert.equal(await inRoot(page, 'return [...root.querySelectorAll(".tile:not([data-mode=normal]) .mode")].map((b) => b.dataset.layer + "." + b.dataset.head + b.parentElement.dataset.mode).join(" ");'),
               '0.1off 1.0uniform 2.3off');
  // The element's attributes: an article's "this model with its previous-character head off".
  await page.evaluate(() => {
    const el = document.querySelector('gpt-playground');
    el.setAttribute('ablate', '0.1');
    el.setAttribute('uniform', '');
  });
  assert.equal(await generate(page), cliText({ weights: WEIGHTS, ...settings, ablate: '0.1' }));
  // The loss readout is `gpt loss` on the same text, with the head off and without.
  await waitText(page, '.loss-readout', /with 1 off/);
  const whole = await inRoot(page, 'return el.run.text();');
  const [now, base] = await inRoot(page, 'return [Number(root.querySelector(".loss-now").dataset.loss), root.querySelector(".loss-base").textContent];');
  assert.ok(Math.abs(now - cliLoss(whole, '0.1')) < 1e-4, `loss with 0.1 off: page ${now}, CLI ${cliLoss(whole, '0.1')}`);
  assert.equal(base, `${cliLoss(whole).toFixed(3)} nats`);
  // A head the model does not have: a clear message, nothing generated, the page keeps working.
  await page.evaluate(() => document.querySelector('gpt-playground').setAttribute('ablate', '9.9'));
  await gp(page, '.generate').click();
  await waitText(page, '.error-text', /Head experiments: .*9\.9/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('head roles: measured in the worker with progress, sortable, tinting the grid; phone screenshots', async () => {
  const page = await openPage(ctx.browser, ctx.url, PHONE);
  await setSettings(page, { prompt: 'ROMEO:\nBut soft, what light through yonder window breaks?\n', seed: 2, maxTokens: 60 });
  await generate(page);
  await gp(page, '.roles-start').click();
  await waitText(page, '.roles-status', /All 16 heads measured/);
  assert.equal(await inRoot(page, 'return root.querySelector(".roles-progress").value;'), 16);
  const rows = await inRoot(page, 'return [...root.querySelectorAll(".roles-table tr[data-head]")].map((tr) => Number(tr.children[1].textContent));');
  assert.equal(rows.length, 16);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1] >= rows[i], 'sorted by the loss increase');
  await inRoot(page, 'root.querySelectorAll(".roles-table th button")[1].click();');
  const prev = await inRoot(page, 'return [...root.querySelectorAll(".roles-table tr[data-head]")].map((tr) => Number(tr.children[2].textContent));');
  for (let i = 1; i < prev.length; i++) assert.ok(prev[i - 1] >= prev[i], 'sorted by the previous-token score');
  assert.equal(await inRoot(page, 'return root.querySelector(".roles-table tr[data-head]").dataset.head;'), '0.1');  // the previous-character head
  assert.ok(await inRoot(page, 'return root.querySelectorAll(".tile[style*=\'--role\']").length;') >= 16);
  await gp(page, '.experiments').screenshot({ path: join(shots, 'look-roles-phone.png') });
  // The math panel and the lens on a phone.
  await gp(page, '.output .tok.gen >> nth=20').click();
  await waitText(page, '.lens-table', /after block 3/);
  await waitText(page, '.math-body', /q·k_j/);
  await gp(page, '.look').screenshot({ path: join(shots, 'look-math-lens-phone.png') });
  await gp(page, '.tile:nth-of-type(2) .mode').click();
  await waitDone(page);
  await waitText(page, '.loss-readout', /with 1 off/);
  await gp(page, '.grid').screenshot({ path: join(shots, 'look-head-off-phone.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});
