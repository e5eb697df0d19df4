// The Train view: a text, a model size and a seed; the run's plan (memory, time) before it starts;
// Start / Pause / Resume and Reset; while it trains, the loss curves, samples, and every head's
// attention on a fixed probe text, redrawn as the heads form. The trained weights go to Generate
// ("Use this model") or to a file ("Download"). All the maths is the engine's (train-worker.js).
import { download } from './download.js';
import { bytes, count } from './format.js';
import { DetailView, SCALES } from './heatmap.js';
import { HeadGrid } from './head-grid.js';
import { LossChart } from './loss-chart.js';
import { TrainClient } from './train-client.js';

const DEFAULT_TEXT = new URL('../data/tinyshakespeare-200k.txt', import.meta.url).href;
const CSS_URL = new URL('./train.css', import.meta.url).href;
const PROBE_CHARS = 64;  // the probe is the text's opening (the engine keeps at most a context of it)
const DEFAULT_STEPS = 2000;

const TEMPLATE = `
<div class="train-setup">
  <div class="field">
    <label for="train-text">Training text <span class="hint train-text-info"></span></label>
    <textarea id="train-text" rows="5" spellcheck="false" autocomplete="off"
      placeholder="Paste any text here, drop a .txt file on the playground, or open one."></textarea>
    <div class="train-text-actions">
      <button type="button" class="train-open">Open a .txt file…</button>
      <button type="button" class="train-default">Tiny Shakespeare</button>
      <input type="file" class="train-file" accept=".txt,text/plain" hidden>
    </div>
  </div>
  <div class="train-options">
    <label>Model size <select name="preset"></select></label>
    <label>Steps <input type="number" name="steps" min="10" max="100000" step="10"></label>
    <label>Seed <input type="number" name="seed" min="0" max="4294967295" step="1"></label>
  </div>
  <p class="train-plan"></p>
  <div class="actions">
    <button type="button" class="train-start primary" disabled>Start</button>
    <button type="button" class="train-reset" disabled>Reset</button>
    <button type="button" class="train-use" disabled>Use this model</button>
    <button type="button" class="train-download" disabled>Download</button>
  </div>
  <div class="train-progress">
    <div class="progress-track" role="progressbar" aria-label="Training steps done" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0">
      <div class="progress-bar"></div></div>
    <span class="train-status" role="status"></span>
  </div>
  <p class="train-note" role="status" aria-live="polite"></p>
</div>
<section class="train-curves" aria-label="Loss">
  <h3>Loss <span class="hint">nats per character: <span class="key train-key"></span> training (running average)
    <span class="key val-key"></span> validation (the text's last 10%)</span></h3>
  <canvas class="loss-chart" role="img" aria-label="Training and validation loss by step"></canvas>
</section>
<section class="train-sample" aria-label="Sample">
  <h3>Sample <span class="hint train-sample-step"></span></h3>
  <pre class="train-sample-text"></pre>
</section>
<section class="train-attention" aria-label="Attention on the probe text">
  <h3>Attention on the text's opening <span class="hint train-probe-step"></span></h3>
  <div class="train-grid" role="group" aria-label="Attention heads on the probe text: arrow keys move, Enter opens"></div>
  <canvas class="train-detail" aria-label="The selected head's attention on the probe text"></canvas>
  <p class="hint">Rows are queries, columns keys. A previous-character head lights up the cells just left of the
    diagonal; one that reads a whole word or line shows vertical bands.</p>
</section>`;

export class TrainView {
  // panel: the Train view's element in the shadow root; colors(): the theme's canvas colours;
  // onUse(file, text): load these weights, trained on text, into the playground.
  constructor(panel, { colors, onUse }) {
    this.panel = panel;
    this.colors = colors;
    this.onUse = onUse;
    const link = Object.assign(document.createElement('link'), { rel: 'stylesheet', href: CSS_URL });
    const body = document.createElement('template');
    body.innerHTML = TEMPLATE;
    panel.append(link, body.content.cloneNode(true));
    this.$ = (sel) => panel.querySelector(sel);
    this.chart = new LossChart(this.$('.loss-chart'));
    this.grid = new HeadGrid(this.$('.train-grid'), { onSelect: (l, h, keyboard) => this.selectHead(l, h, keyboard) });
    this.detail = new DetailView(this.$('.train-detail'));
    this.head = { layer: 0, head: 0 };
    this.state = 'idle';     // idle | running | paused | finished
    this.weights = null;     // {bytes: ArrayBuffer, step, text}: the last exported weights (kept if the worker dies)
    this.probe = null;       // {n, labels, data (L, NH, n, n), step}
    this.planSeq = 0;
    this.$('input[name=steps]').value = DEFAULT_STEPS;
    this.$('input[name=seed]').value = 1;
    this.bind();
    this.client = this.newClient();
    this.loadDefault();
    this.resizer = new ResizeObserver(() => this.drawSoon(true));  // the chart and the large head fill their width
    this.resizer.observe(this.$('.loss-chart'));
  }

  newClient() {
    return new TrainClient({
      onReady: (presets, threads) => {
        this.threads = threads;
        this.fillPresets(presets);
      },
      onCreated: (plan) => this.created(plan),
      onProgress: (m) => this.progress(m),
      onSnapshot: (m) => this.snapshot(m),
      onPaused: () => this.setState('paused'),
      onFinished: () => this.setState('finished'),
      onError: (message) => this.fail(message),
      onCrash: (message) => this.crashed(message),
    });
  }

  bind() {
    const $ = this.$;
    $('.train-start').addEventListener('click', () => this.startPause());
    $('.train-reset').addEventListener('click', () => this.reset());
    $('.train-use').addEventListener('click', () => this.use());
    $('.train-download').addEventListener('click', () => this.save());
    $('.train-open').addEventListener('click', () => $('.train-file').click());
    $('.train-file').addEventListener('change', (e) => {
      if (e.target.files[0]) this.openFile(e.target.files[0]);
      e.target.value = '';  // the same file picked again is read again
    });
    $('.train-default').addEventListener('click', () => this.loadDefault());
    $('#train-text').addEventListener('input', () => {
      this.source = null;  // edited: no longer the file or default it came from
      clearTimeout(this.planTimer);
      this.planTimer = setTimeout(() => this.replan(), 400);
    });
    for (const el of this.panel.querySelectorAll('.train-options :is(select, input)')) el.addEventListener('change', () => this.replan());
  }

  // Shown again, or the theme changed: everything is redrawn in the current colours.
  shown() {
    this.drawSoon(true);
  }

  // ---- the text ----

  async loadDefault() {
    this.note('Loading Tiny Shakespeare…');
    try {
      const res = await fetch(DEFAULT_TEXT);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.setText(await res.text(), 'Tiny Shakespeare, its first 200 KB (public domain)');
      this.note('');
    } catch (e) {
      this.note(`Could not download the default text (${e.message}): paste or open one.`);
    }
  }

  async openFile(file) {
    try {
      this.setText(await file.text(), file.name);
    } catch (e) {
      this.note(`The browser could not read ${file.name} (${e.name}).`);
    }
  }

  setText(text, source) {
    this.$('#train-text').value = text;
    this.source = source;
    this.replan();
  }

  text() {
    return this.$('#train-text').value;
  }

  // ---- the plan: what the run will take, before it starts ----

  options() {
    return { preset: this.$('select[name=preset]').value || 'tiny', steps: Number(this.$('input[name=steps]').value) };
  }

  fillPresets(presets) {
    const sel = this.$('select[name=preset]'), chosen = sel.value;  // a new worker keeps the choice
    sel.replaceChildren(...presets.map((p) => Object.assign(document.createElement('option'),
      { value: p.name, textContent: `${p.name}: ${p.description}` })));
    if (chosen) sel.value = chosen;
    this.replan();
  }

  async replan() {
    if (this.state !== 'idle' || !this.$('select[name=preset]').value) return;
    // Leaving a field (a click on Start does) sends 'change' even when nothing changed.
    const text = this.text(), key = JSON.stringify(this.options());
    if (this.planned && this.planned.text === text && this.planned.key === key) return;
    this.planned = { text, key };
    const seq = ++this.planSeq;
    // Start stays as it was meanwhile: a click on it runs with the fields as they are now (the
    // engine checks them again).
    this.$('.train-plan').textContent = 'Working out the memory and time…';
    try {
      if (this.client.dead) this.client = this.newClient();  // the element left the page and came back
      const { plan: p, secondsPerStep } = await this.client.plan(text, this.options());
      if (seq !== this.planSeq) return;
      const chars = p.trainChars + p.valChars;
      this.$('.train-text-info').textContent = `${this.source && text.length ? `${this.source}: ` : ''}${count(chars)} characters, ` +
        `${p.vocabSize} distinct (${count(p.trainChars)} to train on, ${count(p.valChars)} to validate)`;
      const cores = this.threads > 1 ? ` (${this.threads} threads)` : '';
      const time = secondsPerStep ? `: about ${approx(secondsPerStep * p.steps)} on this machine${cores}` : '';
      this.$('.train-plan').textContent = `${count(p.params)} parameters (${p.nLayer} layers × ${p.nHead} heads, ${p.nEmbd} wide, ` +
        `context ${p.blockSize}), ${bytes(p.memoryBytes)} of memory; ${int(p.steps)} steps of ${p.batch} × ${p.blockSize} characters${time}.`;
      this.plan = p;
      this.secondsPerStep = secondsPerStep;
      this.$('.train-start').disabled = false;
    } catch (e) {
      if (seq !== this.planSeq) return;
      this.plan = null;
      this.$('.train-start').disabled = true;
      this.$('.train-plan').textContent = `Cannot train on this: ${e.message}.`;
    }
  }

  // ---- the run ----

  startPause() {
    if (this.state === 'running') return this.client.pause();
    if (this.state === 'paused') {
      this.client.resume();
      return this.setState('running');
    }
    if (!this.plan) return;
    if (this.client.dead) this.client = this.newClient();
    const text = this.text();
    this.runText = text;
    this.chart.clear(this.plan.steps);
    this.probe = null;
    this.weights = null;
    this.last = null;
    this.$('.train-sample-text').textContent = '';
    this.$('.train-sample-step').textContent = '';
    this.t0 = performance.now();
    this.client.start({ text, options: this.options(), seed: Number(this.$('input[name=seed]').value) || 0,
                        secondsPerStep: this.secondsPerStep,
                        probe: [...text].slice(0, PROBE_CHARS).join(''), prompt: text.includes('\n') ? '\n' : [...text][0] });
    this.setState('running');
    this.note('');
    this.status('Starting…');
  }

  created(plan) {
    this.plan = plan;
    this.chart.clear(plan.steps);
    this.grid.build(plan.nLayer, plan.nHead);
    this.head = { layer: 0, head: 0 };
    this.grid.select(0, 0);
  }

  progress(m) {
    this.chart.addTrain(m.losses);
    this.last = m;
    this.drawSoon();
  }

  snapshot(m) {
    this.chart.addVal(m.step, m.valLoss);
    this.valLoss = m.valLoss;
    this.weights = { bytes: m.bytes, step: m.step, text: this.runText };
    if (m.probe) this.probe = { ...m.probe, step: m.step };
    const sample = this.$('.train-sample-text');
    sample.textContent = m.sample ?? m.sampleError;
    this.$('.train-sample-step').textContent = `after ${int(m.step)} steps, temperature 0.8`;
    this.$('.train-probe-step').textContent = `after ${int(m.step)} steps`;
    this.drawSoon(true);
    this.buttons();
  }

  // The worker goes, with its wasm memory (which never shrinks) and any step under way: Reset is
  // immediate even while a step of a big model takes seconds.
  reset() {
    this.client.dispose();
    this.client = this.newClient();
    this.weights = null;
    this.probe = null;
    this.last = null;
    this.chart.clear(this.plan?.steps ?? 1);
    this.grid.build(0, 0);
    this.$('.train-sample-text').textContent = '';
    this.$('.train-sample-step').textContent = '';
    this.$('.train-probe-step').textContent = '';
    this.setState('idle');
    this.status('');
    this.note('');
    this.$('.progress-bar').style.width = '0';
    this.replan();
  }

  // The weights of the latest step: a running model pauses first (its snapshot comes before PAUSED).
  async use() {
    if (this.state === 'running') {
      this.afterPause = () => this.use();
      return this.client.pause();
    }
    if (this.weights) this.onUse(this.file(), this.weights.text);
  }

  save() {
    if (this.weights) download(this.panel, this.file(), this.file().name);
  }

  file() {
    return new File([this.weights.bytes], `trained-${this.options().preset}-step${this.weights.step}.safetensors`,
                    { type: 'application/octet-stream' });
  }

  setState(state) {
    this.state = state;
    const start = this.$('.train-start');
    start.textContent = { idle: 'Start', running: 'Pause', paused: 'Resume', finished: 'Done' }[state];
    start.disabled = state === 'finished' || (state === 'idle' && !this.plan);
    this.$('.train-reset').disabled = state === 'idle' && !this.weights;
    for (const el of this.panel.querySelectorAll('.train-options :is(select, input), .train-open, .train-default')) {
      el.disabled = state !== 'idle';
    }
    this.$('#train-text').readOnly = state !== 'idle';  // still scrolls and selects
    this.buttons();
    this.drawProgress();
    this.drawSoon();
    if (state !== 'running' && this.afterPause) {
      const then = this.afterPause;
      this.afterPause = null;
      then();
    }
  }

  buttons() {
    this.$('.train-use').disabled = !this.weights;
    this.$('.train-download').disabled = !this.weights;
  }

  fail(message) {
    this.note(`${this.last ? 'Training stopped' : 'Could not start'}: ${message}`);
    this.setState(this.weights ? 'paused' : 'idle');
  }

  // The worker died: what it last exported stays usable; a new worker starts with the next run.
  crashed(message) {
    this.state = 'idle';
    this.planned = null;  // a plan asked of the dead worker is asked again
    this.client = this.newClient();
    this.setState('idle');
    this.$('.train-reset').disabled = false;
    this.note(`The training worker stopped (${message}).${this.weights
      ? ` The weights of step ${int(this.weights.step)} are kept: use or download them, or start again.` : ''}`);
  }

  status(text) {
    this.$('.train-status').textContent = text;
  }

  note(text) {
    this.$('.train-note').textContent = text;
  }

  // ---- drawing, at most once a frame ----

  drawSoon(heavy = false) {
    this.heavy ||= heavy;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  draw() {
    const c = this.colors();
    this.chart.draw({ background: c.background, text: c.text, muted: c.muted, accent: c.highlight, val: '#0e9f6e',
                      grid: 'rgba(128, 128, 140, 0.25)' });
    this.drawProgress();
    if (this.heavy && this.probe) this.drawProbe(c);
    this.heavy = false;
  }

  // The progress bar and line (cheap: also drawn at once when the state changes).
  drawProgress() {
    const m = this.last, steps = this.plan?.steps ?? 0;
    if (!m && steps && this.state === 'paused') return this.status(`Paused before the first step of ${int(steps)}`);
    if (!m || !steps) return;
    const done = m.step / steps;
    this.$('.progress-bar').style.width = `${(100 * done).toFixed(1)}%`;
    this.$('.progress-track').setAttribute('aria-valuenow', String(Math.round(100 * done)));
    const state = { running: 'Training', paused: 'Paused at', finished: 'Done:', idle: 'Stopped at' }[this.state];
    const left = this.state === 'running' && m.step > 0 && m.step < steps ? ` (about ${approx((m.seconds * (steps - m.step)) / m.step)} to go)` : '';
    const loss = this.chart.lastSmooth, val = this.valLoss;
    this.status(`${state} step ${int(m.step)} of ${int(steps)} · ${count(Math.round(m.tokensPerSecond))} characters/s · ` +
      `${duration(m.seconds)}${left} · loss ${loss.toFixed(3)}${val != null ? `, validation ${val.toFixed(3)}` : ''}`);
  }

  // weight(l, h, q, k) on the probe's (L, NH, n, n) matrices, as HeadGrid and DetailView read a run.
  probeWeight(l, h, q, k) {
    const { n, data } = this.probe, NH = this.plan.nHead;
    if (k > q || q >= n) return null;
    if (h !== 'mean') return data[((l * NH + h) * n + q) * n + k];
    let s = 0;
    for (let hh = 0; hh < NH; hh++) s += data[((l * NH + hh) * n + q) * n + k];
    return s / NH;
  }

  drawProbe(c) {
    const n = this.probe.n, { layer, head } = this.head;
    const run = { weight: (l, h, q, k) => this.probeWeight(l, h, q, k) };
    this.grid.paint(run, 0, n - 1, c, SCALES.sqrt);
    const width = this.$('.train-attention').clientWidth - 26;
    this.detail.draw({ first: 0, last: n - 1, weightAt: (q, k) => this.probeWeight(layer, head, q, k), labels: this.probe.labels,
                       title: `Layer ${layer}, ${head === 'mean' ? 'mean of heads' : `head ${head}`}, after ${int(this.probe.step)} steps`,
                       colors: c, maxWidth: Math.max(160, Math.min(width, 440)), scale: SCALES.sqrt });
  }

  selectHead(layer, head, keyboard) {
    this.head = { layer, head };
    this.grid.select(layer, head);
    if (keyboard) this.grid.focus(layer, head);
    this.drawSoon(true);
  }

  dispose() {
    this.resizer.disconnect();
    this.client.dispose();
  }
}

const int = (n) => n.toLocaleString('en');

// Roughly: "40 s", "12 min", "3.5 h".
function approx(seconds) {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// 75 -> "1:15", 4000 -> "1:06:40".
function duration(seconds) {
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
