// The playground page end to end, in headless Chromium, on the shipped model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { canvasColours, cliText, generate, generatedText, gp, openPage, root, shots, startServer, status, withBrowser } from './harness.mjs';

const WEIGHTS = join(root, 'weights', 'shakespeare-char.safetensors');
const ctx = withBrowser();

const setSettings = (page, s) => page.evaluate((s) => document.querySelector('gpt-playground').applySettings(s), s);

test('the page loads the shipped model and shows its info', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  const info = await gp(page, '.info').textContent();
  assert.match(info, /Parameters\s*1\.84M/);
  assert.match(info, /Layers\s*4/);
  assert.match(info, /Heads\s*4/);
  assert.match(info, /Context\s*256/);
  assert.match(info, /Vocabulary\s*65/);
  assert.match(info, /File\s*3\.5 MiB F16/);
  assert.match(info, /Loaded in\s*\d+ ms/);
  assert.equal(await gp(page, '.generate').isDisabled(), false);
  await page.screenshot({ path: join(shots, 'loaded.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('200 tokens with a fixed seed give exactly the native CLI text; heatmaps are drawn', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  const settings = { prompt: 'ROMEO:\nBut soft, what light', seed: 4242, maxTokens: 200, temperature: 0.8, topK: 0, topP: 1 };
  await setSettings(page, settings);
  const text = await generate(page);
  assert.equal(text.length, 200);
  assert.equal(text, cliText({ weights: WEIGHTS, prompt: settings.prompt, tokens: 200, temperature: 0.8, seed: 4242 }));
  assert.match(await status(page), /^Done: 200 tokens, \d+ tokens\/s, seed 4242\.$/);

  // Every grid canvas holds a picture, not a blank.
  const cells = await page.locator('gpt-playground .grid .cell').count();
  assert.equal(cells, 4 * 5);
  for (const sel of ['.grid .tile:nth-of-type(1) canvas', '.grid .tile:nth-of-type(7) canvas', '.grid .tile:nth-of-type(20) canvas']) {
    assert.ok((await canvasColours(page, sel)) > 20, `${sel} is blank`);
  }
  // The next-token view lists ten candidates, one of them the drawn token.
  assert.equal(await page.locator('gpt-playground .topk li').count(), 10);
  await page.screenshot({ path: join(shots, 'generated.png'), fullPage: true });

  // Head view: hovering a generated character shades what it attends to and names the top keys.
  await gp(page, '.output .tok.gen >> nth=40').hover();
  assert.ok(await page.locator('gpt-playground .output .tok.attended').count() > 10);
  assert.match(await gp(page, '.head-view-status').textContent(), /^What “.+” attends to \(layer 0, head 1\): most to “.+” \d/);
  await page.screenshot({ path: join(shots, 'head-view.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a head opens large by click and by keyboard; a step can be revisited', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  await setSettings(page, { maxTokens: 60, seed: 7 });
  await generate(page);
  await gp(page, '.cell[data-layer="2"][data-head="3"]').click();
  assert.equal(await gp(page, '.cell[data-layer="2"][data-head="3"]').getAttribute('aria-pressed'), 'true');
  assert.equal(await gp(page, 'select[name=layer]').inputValue(), '2');
  assert.equal(await gp(page, 'select[name=head]').inputValue(), '3');
  assert.match(await page.evaluate(() => location.hash), /layer=2&head=3/);
  assert.ok((await canvasColours(page, 'canvas.learned')) > 20);
  assert.ok((await canvasColours(page, 'canvas.trick')) > 5);

  // Keyboard: the grid is one tab stop; arrows move between heads.
  await gp(page, '.cell[data-layer="2"][data-head="3"]').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await gp(page, '.cell[data-layer="3"][data-head="2"]').getAttribute('aria-pressed'), 'true');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await gp(page, '.cell[data-layer="3"][data-head="mean"]').getAttribute('aria-pressed'), 'true');

  // Hovering the detail shows the value under the pointer.
  await gp(page, 'canvas.learned').scrollIntoViewIfNeeded();
  const box = await gp(page, 'canvas.learned').boundingBox();
  await page.mouse.move(box.x + box.width - 8, box.y + box.height - 8);
  assert.match(await gp(page, '.tooltip').textContent(), /query “.+” #\d+ → key “.+” #\d+: (0\.\d{4}|masked)/);

  // Clicking a generated character shows the distribution it was drawn from.
  const tok = gp(page, '.output .tok.gen >> nth=10');
  await tok.click();
  const drawn = await tok.textContent();
  assert.match(await gp(page, '.next-step').textContent(), /drawn with p = /);
  const drawnLabel = await gp(page, '.topk li.drawn .tok-label').textContent().catch(() => null);
  if (drawnLabel !== null) assert.equal(drawnLabel, drawn === '\n' ? '↵' : drawn === ' ' ? '␣' : drawn);
  await page.screenshot({ path: join(shots, 'step-selected.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Stop stops within a few tokens', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  await setSettings(page, { maxTokens: 5000 });
  await gp(page, '.generate').click();
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelectorAll('.tok.gen').length >= 30);
  await page.screenshot({ path: join(shots, 'generating.png') });
  // The number of generated characters on screen at the moment the click lands.
  await page.evaluate(() => {
    const root = document.querySelector('gpt-playground').shadowRoot;
    root.querySelector('.stop').addEventListener('click', () => (window.atClick = root.querySelectorAll('.tok.gen').length));
  });
  await gp(page, '.stop').click();
  const atClick = await page.evaluate(() => window.atClick);
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent.startsWith('Stopped'));
  const stopped = Number((await status(page)).match(/Stopped after (\d+) tokens/)[1]);
  await page.waitForTimeout(300);
  const final = (await generatedText(page)).length;
  assert.equal(final, stopped);
  // The run ends with what was on screen when Stop was pressed.
  assert.equal(stopped, atClick);
  assert.ok(stopped < 5000);
  assert.equal(await gp(page, '.generate').isDisabled(), false);
  assert.equal(await gp(page, '.stop').isDisabled(), true);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a corrupt file shows the error and the current model keeps generating', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  const junk = Buffer.alloc(5000, 0x5a);
  await gp(page, '.file-input').setInputFiles({ name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: junk });
  await gp(page, '.error').waitFor({ state: 'visible' });
  const msg = await gp(page, '.error-text').textContent();
  assert.match(msg, /Could not load broken\.safetensors: header length \d+ is larger than the rest of the file/);
  assert.match(msg, /The current model \(shakespeare-char\.safetensors\) is still loaded\./);
  await page.screenshot({ path: join(shots, 'bad-file.png') });
  assert.match(await gp(page, '.info').textContent(), /Parameters\s*1\.84M/);
  await setSettings(page, { maxTokens: 20 });
  assert.equal((await generate(page)).length, 20);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('unknown characters in the prompt are pointed out and the prompt is kept', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  const prompt = 'To be, or not to be — that is the question 😀';
  await setSettings(page, { prompt });
  await gp(page, '.generate').click();
  await gp(page, '.prompt-issues').waitFor({ state: 'visible' });
  assert.match(await gp(page, '.prompt-issues').textContent(), /does not know the characters '—', '😀'/);
  assert.equal(await gp(page, '#prompt').inputValue(), prompt);
  const sel = await page.evaluate(() => {
    const ta = document.querySelector('gpt-playground').shadowRoot.querySelector('#prompt');
    return [ta.selectionStart, ta.selectionEnd];
  });
  assert.deepEqual(sel, [prompt.indexOf('—'), prompt.indexOf('—') + 1]);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a copied URL reproduces the settings and the text', async () => {
  const hash = '#prompt=KING+RICHARD%3A%0A&seed=99&tokens=80&temperature=0.5&top_k=20&top_p=0.9&layer=1&head=2';
  const page = await openPage(ctx.browser, ctx.url + hash);
  assert.equal(await gp(page, '#prompt').inputValue(), 'KING RICHARD:\n');
  assert.equal(await gp(page, 'input[name=seed]').inputValue(), '99');
  assert.equal(await gp(page, 'input[name=topK]').inputValue(), '20');
  assert.equal(await gp(page, '.cell[data-layer="1"][data-head="2"]').getAttribute('aria-pressed'), 'true');
  const text = await generate(page);
  assert.equal(text, cliText({ weights: WEIGHTS, prompt: 'KING RICHARD:\n', tokens: 80, temperature: 0.5, topK: 20, topP: 0.9, seed: 99 }));
  // The page keeps the hash in step with what is on screen.
  const h = await page.evaluate(() => location.hash);
  for (const part of ['seed=99', 'tokens=80', 'temperature=0.5', 'top_k=20', 'top_p=0.9', 'layer=1', 'head=2']) assert.ok(h.includes(part), h);
  await page.close();
});

test('weights in memory: #weights=int8 gives the CLI\'s int8 text; the select reloads the model as float16', async () => {
  const info = (re) => (page) => page.waitForFunction((re) => new RegExp(re).test(
    document.querySelector('gpt-playground').shadowRoot.querySelector('.info').textContent), re);
  const page = await openPage(ctx.browser, ctx.url + '#prompt=ROMEO%3A%0A&seed=5&tokens=40&temperature=0.8&weights=int8');
  await info('In memory\\s*[0-9.]+ MiB, int8')(page);
  assert.equal(await gp(page, 'select[name=weightsIn]').inputValue(), 'int8');
  const text = await generate(page);
  assert.equal(text, cliText({ weights: WEIGHTS, prompt: 'ROMEO:\n', tokens: 40, temperature: 0.8, seed: 5, weightsIn: 'int8' }));
  await gp(page, 'select[name=weightsIn]').selectOption('f16');
  await info('In memory\\s*[0-9.]+ MiB, float16')(page);
  assert.match(await page.evaluate(() => location.hash), /weights=f16(&|$)/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('exports: the heatmap as PNG and the run as JSON', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  await setSettings(page, { maxTokens: 30 });
  await generate(page);
  const [png] = await Promise.all([page.waitForEvent('download'), gp(page, '.export-png').click()]);
  assert.match(png.suggestedFilename(), /^attention-layer0-head1\.png$/);
  const pngBytes = await streamBytes(await png.createReadStream());
  assert.deepEqual([...pngBytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const [json] = await Promise.all([page.waitForEvent('download'), gp(page, '.export-json').click()]);
  const run = JSON.parse((await streamBytes(await json.createReadStream())).toString('utf8'));
  assert.equal(run.model.nLayer, 4);
  assert.equal(run.tokens.filter((t) => t.generated).length, 30);
  const row = run.attention.rows.at(-1);
  assert.equal(row.weights.length, 4);
  assert.equal(row.weights[0].length, 4);
  const sum = row.weights[3][1].reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-4, `row sums to ${sum}`);
  await page.close();
});

async function streamBytes(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

test('phone-sized viewport: one column, nothing wider than the screen', async () => {
  const page = await openPage(ctx.browser, ctx.url, { width: 390, height: 844 });
  await setSettings(page, { maxTokens: 40 });
  await generate(page);
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
  await page.screenshot({ path: join(shots, 'phone.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('works under a strict Content-Security-Policy (no eval, no inline script or style)', async () => {
  const strict = await startServer({ csp: true });
  try {
    const page = await openPage(ctx.browser, strict.url);
    await setSettings(page, { maxTokens: 25 });
    assert.equal((await generate(page)).length, 25);
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    strict.server.close();
  }
});

test('the packed attention rows follow protocol.js: every layer and head of every kept row sums to 1', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  await setSettings(page, { maxTokens: 40 });
  await generate(page);
  const worst = await page.evaluate(async () => {
    const { rowIndex, rowSize } = await import('/src/protocol.js');
    const run = document.querySelector('gpt-playground').run;
    let worst = 0, rows = 0;
    run.rows.forEach((row, q) => {
      const len = q - row.start + 1;
      if (row.data.length !== rowSize(run.L, run.NH, len)) throw new Error(`row ${q}: ${row.data.length} values`);
      for (let l = 0; l < run.L; l++) {
        for (let h = 0; h < run.NH; h++) {
          let sum = 0;
          for (let j = 0; j < len; j++) sum += row.data[rowIndex(run.NH, len, l, h, j)];
          worst = Math.max(worst, Math.abs(sum - 1));
        }
      }
      rows++;
    });
    return { worst, rows };
  });
  assert.ok(worst.rows >= 40, `${worst.rows} rows`);
  assert.ok(worst.worst < 1e-5, `a row sums to 1 ± ${worst.worst}`);
  await page.close();
});
