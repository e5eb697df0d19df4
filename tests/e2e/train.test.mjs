// The Train view in Chromium, under the strict CSP: a short run of the smallest model whose loss
// goes down, Pause and Resume, the attention of the probe text drawn, weights that go to Generate
// ("Use this model") and to a file that loads back through "Load checkpoint", Reset, and a
// training worker that dies leaving its last weights usable. Screenshots of runs in progress at
// desktop and phone sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { canvasColours, generate, gp, nextFrame, openPage, openTrain, root, setSteps, shots, trainState, waitTrain, withBrowser } from './harness.mjs';

const ctx = withBrowser({ csp: true });
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;

test('a short run: the loss goes down, Pause holds, the weights generate in the page and from the downloaded file', async () => {
  const page = await openPage(ctx.browser, ctx.url, { width: 1440, height: 900 });
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
  assert.ok(loaded.some((n) => n.endsWith('/gpt.wasm')) && !loaded.some((n) => /train|tinyshakespeare/.test(n)), loaded.join(' '));
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await openTrain(page);
  // Only now, with the view open, does its code, worker and text download.
  assert.ok(requests.some((p) => p.endsWith('/train-view.js')) && requests.some((p) => p.endsWith('/tinyshakespeare-200k.txt')));
  assert.match(await gp(page, '.train-text-info').textContent(), /Tiny Shakespeare.*204\.8k characters, 62 distinct/);
  const plan = await gp(page, '.train-plan').textContent();
  assert.match(plan, /^106\.1k parameters \(2 layers × 4 heads, 64 wide, context 32\), 5\.\d MiB of memory; 2,000 steps .*: about \d+ (s|min) on this machine\.$/);
  await setSteps(page, 200);

  // Start, and Pause at once (on this machine 200 tiny steps can end before a later click lands):
  // Pause lands within a batch and holds; Resume goes on from there.
  await page.evaluate(() => {
    const start = document.querySelector('gpt-playground').views.train.$('.train-start');
    start.click();
    if (start.textContent !== 'Pause') throw new Error(`after Start the button says ${start.textContent}`);
    start.click();
  });
  await waitTrain(page, () => document.querySelector('gpt-playground').views.train.state === 'paused');
  const paused = await trainState(page);
  await page.waitForTimeout(700);
  assert.equal((await trainState(page)).step, paused.step);
  assert.ok(paused.step < 200, `paused at step ${paused.step}`);
  assert.match(paused.status, paused.step ? new RegExp(`^Paused at step ${paused.step} of 200 · `) : /^Paused before the first step of 200$/);
  assert.equal(await gp(page, '.train-start').textContent(), 'Resume');
  await gp(page, '.train-start').click();
  await waitTrain(page, () => document.querySelector('gpt-playground').views.train.probe?.step > 0);
  await nextFrame(page);  // the view draws on the frame after a snapshot
  await page.screenshot({ path: join(shots, 'train-desktop.png') });
  assert.ok(await canvasColours(page, '.train-detail') > 20, 'the probe\'s attention is drawn');
  assert.ok(await canvasColours(page, '.loss-chart') > 3, 'the loss curves are drawn');
  await waitTrain(page, () => document.querySelector('gpt-playground').views.train.state === 'finished', { timeout: 60000 });

  const done = await trainState(page);
  assert.equal(done.losses.length, 200);
  assert.match(done.status, /^Done: step 200 of 200 · /);
  const [first, last] = [mean(done.losses.slice(0, 20)), mean(done.losses.slice(-20))];
  assert.ok(last < first - 0.5, `training loss ${first} -> ${last}`);
  assert.ok(done.val.at(-1)[1] < done.val[0][1] - 0.8, `validation loss ${done.val[0][1]} -> ${done.val.at(-1)[1]}`);
  assert.ok(await gp(page, '.train-sample-text').textContent().then((t) => t.length > 100));

  // Download, then load the file back through Load checkpoint, and generate.
  const [download] = await Promise.all([page.waitForEvent('download'), gp(page, '.train-download').click()]);
  assert.equal(download.suggestedFilename(), 'trained-tiny-step200.safetensors');
  const path = join(mkdtempSync(join(tmpdir(), 'gp-train-')), download.suggestedFilename());
  await download.saveAs(path);
  assert.ok(statSync(path).size > 4 * 106000);
  await gp(page, '#tab-generate').click();
  await gp(page, '.file-input').setInputFiles(path);
  await page.waitForFunction(() => /trained-tiny-step200/.test(document.querySelector('gpt-playground').shadowRoot.querySelector('.info').textContent));
  assert.match(await gp(page, '.info').textContent(), /Parameters\s*106\.1k.*Layers\s*2.*Heads\s*4.*Width\s*64.*Context\s*32.*Vocabulary\s*62/);
  assert.equal((await generate(page)).length, 200);

  // Use this model: the same weights straight into Generate, with the heads of the new shape.
  await gp(page, '#tab-train').click();
  await gp(page, '.train-use').click();
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('#tab-generate').getAttribute('aria-selected') === 'true');
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent.startsWith('Ready'));
  assert.equal(await page.locator('gpt-playground .main .grid .cell').count(), 2 * 5);
  assert.equal((await generate(page)).length, 200);
  assert.ok(await canvasColours(page, '.learned') > 10);

  // Reset: back to the set-up, the curves and weights gone.
  await gp(page, '#tab-train').click();
  await gp(page, '.train-reset').click();
  const reset = await trainState(page);
  assert.deepEqual([reset.state, reset.losses.length, reset.status], ['idle', 0, '']);
  assert.equal(await gp(page, '.train-use').isDisabled(), true);
  await waitTrain(page, () => !document.querySelector('gpt-playground').views.train.$('.train-start').disabled);
  assert.equal(await gp(page, '.train-start').textContent(), 'Start');

  // A .txt file dropped on the playground while the Train view is open becomes the text.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['To be, or not to be, that is the question:\n'.repeat(40)], 'hamlet.txt', { type: 'text/plain' }));
    document.querySelector('gpt-playground').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await waitTrain(page, () => /^hamlet\.txt: 1\.7k characters, 17 distinct/.test(document.querySelector('gpt-playground').views.train.$('.train-text-info').textContent));
  assert.equal(await gp(page, '.error').isVisible(), false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('phone: a run in progress; a training worker that dies leaves its last weights usable', async () => {
  const page = await openPage(ctx.browser, ctx.url, { width: 390, height: 844 });
  await openTrain(page);
  // A text of one's own (here picked; dropped files take the same path).
  await gp(page, '.train-file').setInputFiles(join(root, 'tests', 'data', 'train-text.txt'));
  await waitTrain(page, () => /^train-text\.txt: 742 characters/.test(document.querySelector('gpt-playground').views.train.$('.train-text-info').textContent));
  assert.equal(await gp(page, '#train-text').inputValue(), readFileSync(join(root, 'tests', 'data', 'train-text.txt'), 'utf8'));
  await gp(page, '.train-start').click();
  await waitTrain(page, () => document.querySelector('gpt-playground').views.train.probe?.step > 0);
  await nextFrame(page);  // the view draws on the frame after a snapshot
  await gp(page, '.train-progress').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'train-phone.png') });
  await gp(page, '.train-attention').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'train-phone-attention.png') });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page is ${width} px wide on a 390 px screen`);

  await page.evaluate(() => document.querySelector('gpt-playground').views.train.client.worker.terminate());
  await waitTrain(page, () => /The training worker stopped/.test(document.querySelector('gpt-playground').views.train.$('.train-note').textContent), { timeout: 20000 });
  const note = (await trainState(page)).note;
  const kept = Number(note.match(/stopped responding .*The weights of step (\d+) are kept/)?.[1]);
  assert.ok(kept > 0, note);
  await gp(page, '.train-use').click();
  await page.waitForFunction((n) => document.querySelector('gpt-playground').shadowRoot.querySelector('.info').textContent.includes(`step${n}`), kept);
  // The shipped prompt has capitals this text lacks: the prompt becomes the text's first line.
  assert.equal(await gp(page, '#prompt').inputValue(), 'The lamplighter came up the hill at dusk, as he had every evening for forty years.\n');
  assert.equal((await generate(page)).length, 200);

  // Reset in the middle of a run: at once, and nothing of that run arrives afterwards.
  await gp(page, '#tab-train').click();
  await gp(page, '.train-start').click();
  await waitTrain(page, () => document.querySelector('gpt-playground').views.train.last?.step > 0);
  await gp(page, '.train-reset').click();
  assert.equal((await trainState(page)).state, 'idle');
  await page.waitForTimeout(600);
  const after = await trainState(page);
  assert.deepEqual([after.state, after.step, after.losses.length, after.probeStep], ['idle', 0, 0, -1]);
  assert.equal(await gp(page, '.train-use').isDisabled(), true);
  assert.deepEqual(page.errors, []);
  await page.close();
});
