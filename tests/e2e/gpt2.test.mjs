// GPT-2-family checkpoints in the page: several files dropped at once, sub-word tokens on screen,
// and models that cannot fit refused with their memory figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generate, gp, openPage, root, shots, withBrowser } from './harness.mjs';

const DATA = join(root, 'tests', 'data');
const HF = [join(DATA, 'gpt2-hf', 'model.safetensors'), join(DATA, 'bpe', 'tokenizer.json'), join(DATA, 'gpt2-hf', 'config.json')];
const ctx = withBrowser();

const info = (page) => gp(page, '.info').textContent();
const errorText = (page) => gp(page, '.error-text').textContent();
const settings = (page, s) => page.evaluate((s) => document.querySelector('gpt-playground').applySettings(s), s);

test('a Hugging Face GPT-2 checkpoint with its tokenizer.json and config.json, dropped together', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  await gp(page, '.file-input').setInputFiles(HF);
  await page.waitForFunction(() => /Vocabulary\s*50257/.test(document.querySelector('gpt-playground').shadowRoot.querySelector('.info').textContent));
  assert.match(await info(page), /Layers\s*2/);
  assert.match(await info(page), /Heads\s*2/);
  assert.match(await info(page), /File\s*3\.1 MiB F32/);
  const text = JSON.parse(readFileSync(join(DATA, 'gpt2-hf', 'reference.safetensors')).subarray(8, 8 + Number(readFileSync(join(DATA, 'gpt2-hf', 'reference.safetensors')).readBigUInt64LE(0))).toString()).__metadata__;
  await settings(page, { prompt: text.text, maxTokens: 20 });
  await generate(page);
  // One span per token (not per character), with the boundaries shown.
  const tokens = await page.evaluate(() => document.querySelector('gpt-playground').run.tokens.slice(0, document.querySelector('gpt-playground').run.promptLength).map((t) => [t.token, t.label]));
  assert.deepEqual(tokens.map(([id]) => id), JSON.parse(text.tokens));
  assert.equal(tokens.map(([, l]) => l).join(''), text.text);
  assert.ok(tokens.some(([, l]) => l.length > 1), 'multi-character tokens');
  assert.equal(await gp(page, '.output').evaluate((o) => o.classList.contains('subword')), true);
  assert.equal(await page.locator('gpt-playground .output .tok.prompt').count(), tokens.length);
  assert.equal(await page.locator('gpt-playground .output .tok.gen').count(), 20);
  await page.screenshot({ path: join(shots, 'gpt2-hf.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('what is missing beside the weights is named, and the current model stays', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  await gp(page, '.file-input').setInputFiles([HF[1]]);
  assert.match(await errorText(page), /Add the weights \(a \.safetensors file\) together with tokenizer\.json\./);
  await gp(page, '.file-input').setInputFiles([HF[0], HF[2]]);
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.error-text').textContent.includes('model.safetensors'));
  assert.match(await errorText(page), /this checkpoint has no tokenizer: add its tokenizer\.json \(or vocab\.json and merges\.txt\)\. The current model \(shakespeare-char\.safetensors\) is still loaded\./);
  await settings(page, { maxTokens: 10 });
  assert.equal((await generate(page)).length, 10);
  await page.close();
});

test('a model too large for the browser is refused with how much memory it needs', async () => {
  const page = await openPage(ctx.browser, ctx.url);
  // The shipped model's header, claiming 64 layers 2048 wide (3.2B parameters): too large in any
  // weights format (GPT-2 XL's shape no longer is: auto keeps its F16 file's weights in float16,
  // 3.1 GB, which fits the 4 GiB of wasm memory).
  const bytes = readFileSync(join(root, 'weights', 'shakespeare-char.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
  Object.assign(header.__metadata__, { n_layer: '64', n_head: '32', n_embd: '2048', block_size: '1024', vocab_size: '50257' });
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const path = join(tmpdir(), `gpt-playground-${process.pid}-xl.safetensors`);
  writeFileSync(path, Buffer.concat([len, h, bytes.subarray(8 + n)]));
  await gp(page, '.file-input').setInputFiles(path);
  await page.waitForFunction(() => document.querySelector('gpt-playground').shadowRoot.querySelector('.error-text').textContent.includes('needs'));
  rmSync(path);
  assert.match(await errorText(page), /Could not load .*xl\.safetensors: this model needs \d+\.\d GiB of memory \(weights \d+\.\d GiB, activations, KV cache and attention \d+\.\d [MG]iB\), more than the \d+\.\d GiB available\./);
  await page.screenshot({ path: join(shots, 'too-large.png') });
  assert.match(await info(page), /Layers\s*4/);
  await page.close();
});
