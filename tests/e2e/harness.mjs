// Shared by the browser tests: the static server, headless Chromium, and page helpers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

import { serve } from '../../scripts/serve.mjs';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const shots = join(root, 'test-results', 'screenshots');
mkdirSync(shots, { recursive: true });

export async function startServer(options = {}) {
  const server = await serve({ port: 0, ...options });
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

// One static server and one browser for a test file: ctx.server, ctx.url and ctx.browser are set
// before its tests run, and closed after them.
export function withBrowser(serverOptions = {}) {
  const ctx = {};
  before(async () => {
    Object.assign(ctx, await startServer(serverOptions));
    ctx.browser = await launch();
  });
  after(async () => {
    await ctx.browser?.close();
    ctx.server?.close();
  });
  return ctx;
}

// Debian's Chromium, headless, as root, with nothing reaching out to the network.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--js-flags=--expose-gc', '--enable-precise-memory-info'],
  });
}

// A page that records console errors and uncaught exceptions into page.errors.
export async function openPage(browser, url, viewport = { width: 1400, height: 1000 }) {
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  page.errors = [];
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(url);
  await waitReady(page);
  return page;
}

// After the page's next animation frame (it draws at most once per frame).
export const nextFrame = (page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));

export const gp = (page, sel) => page.locator(`gpt-playground ${sel}`).first();

export async function waitReady(page, timeout = 20000) {
  await page.waitForFunction(() => document.querySelector('gpt-playground')?.shadowRoot
    ?.querySelector('.status')?.textContent.includes('Ready'), null, { timeout });
}

export async function status(page) {
  return gp(page, '.status').textContent();
}

// Clicks Generate and waits for the run to end; returns the generated text as shown on the page.
export async function generate(page, timeout = 60000) {
  await gp(page, '.generate').click();
  await page.waitForFunction(() => {
    const s = document.querySelector('gpt-playground').shadowRoot.querySelector('.status').textContent;
    return s.startsWith('Done') || s.startsWith('Stopped');
  }, null, { timeout });
  return generatedText(page);
}

export async function generatedText(page) {
  return page.evaluate(() => [...document.querySelector('gpt-playground').shadowRoot.querySelectorAll('.output .tok.gen')]
    .map((s) => s.textContent).join(''));
}

// The continuation the native CLI prints for the same weights, prompt and settings.
// ablate, uniform: head lists "L.H,L.H" (the head experiments), passed on when not empty.
export function cliText({ weights, prompt, tokens, temperature, topK = 0, topP = 1, seed, ablate = '', uniform = '', weightsIn = '' }) {
  const heads = [...(ablate ? ['--ablate', ablate] : []), ...(uniform ? ['--uniform', uniform] : []),
                 ...(weightsIn ? ['--weights-in', weightsIn] : [])];
  const out = execFileSync(join(root, 'build', 'native', 'gpt'), ['generate', '--weights', weights, `--prompt=${prompt}`,
    '--tokens', String(tokens), '--temperature', String(temperature), '--top-k', String(topK), '--top-p', String(topP),
    '--seed', String(seed), ...heads], { encoding: 'utf8' });
  if (!out.startsWith(prompt) || !out.endsWith('\n')) throw new Error(`unexpected CLI output: ${out}`);
  return out.slice(prompt.length, -1);
}

// Number of distinct colours in a canvas inside the playground: a blank canvas has one or two.
export async function canvasColours(page, selector) {
  return page.evaluate((sel) => {
    const c = document.querySelector('gpt-playground').shadowRoot.querySelector(sel);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  }, selector);
}

// The Train view (train.test.mjs, threads.test.mjs): its state, as the page holds it.
export const trainState = (page) => page.evaluate(() => {
  const t = document.querySelector('gpt-playground').views.train;
  return { state: t.state, step: t.last?.step ?? 0, losses: t.chart.train.slice(), val: t.chart.val.slice(), probeStep: t.probe?.step ?? -1,
           status: t.$('.train-status').textContent, note: t.$('.train-note').textContent };
});
export const waitTrain = (page, test, { arg = null, timeout = 30000 } = {}) => page.waitForFunction(test, arg, { timeout, polling: 100 });

// Opens the Train view by keyboard (the tabs are one tab stop; arrows move) and waits for the plan.
export async function openTrain(page) {
  await gp(page, '#tab-generate').focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await gp(page, '#tab-train').getAttribute('aria-selected'), 'true');
  assert.equal(await gp(page, '.main').isVisible(), false);
  await waitTrain(page, () => /parameters/.test(document.querySelector('gpt-playground').views?.train?.$('.train-plan').textContent));
}

export async function setSteps(page, steps) {
  await gp(page, 'input[name=steps]').fill(String(steps));
  await gp(page, 'input[name=steps]').dispatchEvent('change');
  await waitTrain(page, (n) => new RegExp(`${n.toLocaleString('en')} steps of`).test(document.querySelector('gpt-playground').views.train.$('.train-plan').textContent), { arg: steps });
}
