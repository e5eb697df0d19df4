// <gpt-playground>: the whole playground as one custom element. The full page (index.html) is this
// element at full size plus page chrome; a blog post embeds the same element.
//
// Attributes (all optional; changing one updates the element):
//   src          weights URL, or a model folder's URL ending in '/' (default: the shipped model)
//   prompt, max-tokens, temperature, top-k, top-p, seed, layer, head   initial settings
//   view         both | text | attention | trick      (what is shown; default both)
//   theme        auto | light | dark                  (default auto: follows prefers-color-scheme)
//   controls     full | minimal | none                (minimal: prompt, Generate/Stop, head menus;
//                                                      none: the text and pictures only)
//   autoplay     generate as soon as the model is loaded
//   ablate, uniform   heads switched off / made uniform, "L.H,L.H" (as the CLI's --ablate, --uniform)
//   weights-in   auto | f32 | f16 | int8              (the weight matrices in memory; a change reloads)
// Nothing heavy (worker, wasm, weights) is fetched until the element is near the viewport or used.
// Properties: settings, applySettings(partial). Events: settingschange, modelload, generationend.
import { EngineClient } from './engine-client.js';
import { GRADIENT_CSS } from './colormap.js';
import { bytes, count, label, percent } from './format.js';
import { download } from './download.js';
import { ignoredNote, readFiles, sortFiles } from './files.js';
import { modelName } from './shared.js';
import { HeadGrid } from './head-grid.js';
import { LookInside } from './look-inside.js';
import { DetailPanel } from './detail-panel.js';
import { SCALES } from './heatmap.js';
import { Run } from './run.js';
import { defaults, parseValue, randomSeed } from './settings.js';
import { TEMPLATE } from './template.js';
import { TextView } from './text-view.js';
import { Views } from './views.js';
import { renderTopK } from './topk-view.js';
import { bindWeightsIn, weightsLine } from './weights-in.js';

const DEFAULT_WEIGHTS = new URL('../weights/shakespeare-char.safetensors', import.meta.url).href;
// attribute -> setting
const ATTRIBUTE_SETTINGS = { prompt: 'prompt', 'max-tokens': 'maxTokens', temperature: 'temperature', 'top-k': 'topK',
                             'top-p': 'topP', seed: 'seed', layer: 'layer', head: 'head',
                             ablate: 'ablate', uniform: 'uniform', 'weights-in': 'weightsIn' };
const CSS_URL = new URL('./playground.css', import.meta.url).href;
const HEAVY_MS = 100;  // the matrices' redraw interval while tokens stream

export class GptPlayground extends HTMLElement {
  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = CSS_URL;
    const body = document.createElement('template');
    body.innerHTML = TEMPLATE;
    this.root.append(link, body.content.cloneNode(true));
    this.$ = (sel) => this.root.querySelector(sel);

    this.s = defaults();
    this.info = null;       // the loaded model
    this.run = null;        // the current or last Run
    this.running = false;
    this.selected = -1;     // token index of the selected step (-1: follow the newest)
    this.focusToken = -1;   // token the head view shows
    this.dirty = false;
    this.lastHeavyDraw = 0;
    this.client = null;
    this.lastLoad = null;      // what Retry loads: the last URL or File asked for
    this.loadSeq = 0;          // the latest load: an earlier one that ends later is dropped (the last drop wins)
    this.loadedSource = null;  // the URL or File of the model in use (reloaded after a crash)

    this.text = new TextView(this.$('.output'), {
      onFocusToken: (i) => this.setFocusToken(i),
      onSelectToken: (i) => this.selectToken(i),
    });
    this.grid = new HeadGrid(this.$('.grid'), { onSelect: (l, h, keyboard) => this.selectHead(l, h, keyboard),
                                                onMode: (l, h) => this.look.cycle(l, h) });
    this.detail = new DetailPanel(this.root);
    this.look = new LookInside(this);
    // The large view fills its figure: redraw when the width the host gives changes.
    let width = 0;
    this.resizer = new ResizeObserver(([entry]) => {
      if (Math.round(entry.contentRect.width) === width) return;
      width = Math.round(entry.contentRect.width);
      this.requestDraw();
    });
    this.$('.scale-bar').style.background = GRADIENT_CSS;
    this.bindControls();
    this.views = new Views(this);  // Generate | Train
  }

  static get observedAttributes() {
    return ['src', 'theme', 'view', 'controls', ...Object.keys(ATTRIBUTE_SETTINGS)];
  }

  attributeChangedCallback(name, old, value) {
    if (name in ATTRIBUTE_SETTINGS) {
      if (value !== null) this.applySettings({ [ATTRIBUTE_SETTINGS[name]]: value });
    } else if (name === 'src') {
      if (this.client && old !== value) this.loadWeights(this.weightsUrl());
    } else if (name === 'theme') {
      this.updateTheme();
    } else if (name === 'view' || name === 'controls') {
      this.requestDraw();
    }
  }

  connectedCallback() {
    this.updateTheme();
    this.resizer.observe(this.$('.detail-pair'));
    if (this.client) return;
    // Lazy: start when the element comes within a screen of the viewport, or when it is used.
    this.$('.status').textContent = 'The model loads when the playground comes into view.';
    this.observer ??= new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && this.start(),
                                               { rootMargin: '50% 0px' });
    this.observer.observe(this);
    this.addEventListener('pointerdown', () => this.start(), { once: true });
    this.addEventListener('focusin', () => this.start(), { once: true });
  }

  // Removed from the page: the worker and the listeners outside the element go. A move (removed
  // and inserted again in the same task) keeps everything.
  disconnectedCallback() {
    this.observer?.disconnect();
    this.resizer.disconnect();
    queueMicrotask(() => {
      if (this.isConnected) return;
      if (this.running) this.stop();
      this.client?.dispose();
      this.views.dispose();
      this.client = null;
      this.info = null;
      this.darkQuery?.removeEventListener('change', this.darkListener);
      this.darkListener = null;
    });
  }

  start() {
    if (this.client || !this.isConnected) return;
    this.observer?.disconnect();
    this.client = this.newClient();
    this.loadWeights(this.weightsUrl());
  }

  newClient() {
    return new EngineClient({ onCrash: (message) => this.recover(message) });
  }

  // The worker died: start a new one and load the same model again. The prompt and settings are
  // untouched; the interrupted run keeps what it had produced.
  async recover(message) {
    this.client = this.newClient();
    const source = this.loadedSource ?? this.weightsUrl();
    const recovered = await this.loadWeights(source, { quiet: true });
    this.showError(recovered ? `The engine stopped (${message}). It was restarted with the same model; your prompt is as you left it.`
                             : `The engine stopped (${message}), and reloading the model failed.`, !recovered);
  }

  weightsUrl() {
    return this.getAttribute('src') || DEFAULT_WEIGHTS;
  }

  // theme="dark" / "light", or auto: the reader's prefers-color-scheme, followed live.
  updateTheme() {
    const theme = this.getAttribute('theme') || 'auto';
    this.darkQuery ??= matchMedia('(prefers-color-scheme: dark)');
    if (!this.darkListener) {
      this.darkListener = () => this.updateTheme();
      this.darkQuery.addEventListener('change', this.darkListener);
    }
    const dark = theme === 'dark' || (theme !== 'light' && this.darkQuery.matches);
    this.$('.gp').classList.toggle('dark', dark);
    this.colorCache = null;
    this.requestDraw();
    this.views?.train?.shown();
  }

  get settings() {
    return { ...this.s };
  }

  applySettings(partial) {
    const before = this.s.weightsIn;
    for (const [k, v] of Object.entries(partial)) {
      const parsed = parseValue(k, v);
      if (parsed !== undefined) this.s[k] = parsed;
    }
    this.syncControls();
    this.look.refreshModes();
    this.requestDraw();
    this.weightsIn.changed(before, this.s);
  }

  // ---- loading ----

  // source: a URL, or {weights: File, extras: [File]} (dropped or picked: the weights and what
  // comes beside them, a tokenizer.json or config.json). Resolves true when the model loaded.
  async loadWeights(source, { quiet = false } = {}) {
    this.lastLoad = source;
    const seq = ++this.loadSeq;
    const latest = () => seq === this.loadSeq;
    const name = typeof source === 'string' ? modelName(source) : source.weights.name;
    const progress = this.$('.progress');
    progress.hidden = false;
    this.$('.progress-text').textContent = `Loading ${name}…`;
    if (!this.info) this.$('.status').textContent = `Loading the model (${name})…`;
    this.setBar(0);
    if (this.running) this.stop();
    const t0 = performance.now();
    try {
      const payload = typeof source === 'string' ? source : await readFiles(source);
      const r = await this.client.load(payload, (loaded, total) => {
        if (!latest()) return;
        this.setBar(total ? loaded / total : 0);
        this.$('.progress-text').textContent = `Loading ${name}: ${bytes(loaded)}${total ? ` of ${bytes(total)}` : ''}`;
      }, latest, this.s.weightsIn);
      // The worker holds this model now, even if a later load was asked for meanwhile: the info
      // panel, and any message naming "the current model", must say so.
      const first = !this.info;
      this.info = { ...r.info, fileBytes: r.bytes, loadMs: performance.now() - t0, parseMs: r.ms, peakLoad: r.peak, name };
      this.$('.output').classList.toggle('subword', r.info.tokenizer !== 'char');  // show token boundaries
      this.loadedSource = source;
      this.showInfo();
      this.buildGrid();
      if (!quiet) {
        this.run = null;
        this.text.clear();
        renderTopK(this.$('.topk'), null);
      }
      if (!latest()) return false;
      if (!quiet) this.hideError();
      this.$('.status').textContent = `Ready.${ignoredNote(source.ignored ?? [])}`;
      this.$('.generate').disabled = false;
      this.dispatchEvent(new CustomEvent('modelload', { detail: this.info }));
      if (first && this.hasAttribute('autoplay')) this.generate();
      return true;
    } catch (e) {
      if (!latest()) return false;  // a later load took over; its outcome is what the reader sees
      const keep = this.info ? ` The current model (${this.info.name}) is still loaded.` : '';
      if (!quiet) this.showError(`Could not load ${name}: ${e.message.replace(/\.$/, '')}.${keep}`, typeof source === 'string');
      if (!this.info) this.$('.status').textContent = '';
      return false;
    } finally {
      if (latest()) progress.hidden = true;
    }
  }

  setBar(fraction) {
    this.$('.progress-bar').style.width = `${(fraction * 100).toFixed(1)}%`;
    this.$('.progress-track').setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
  }

  showInfo() {
    const i = this.info;
    const rows = [
      ['Model', i.name], ['Parameters', count(i.params)], ['Layers', i.nLayer], ['Heads', i.nHead], ['Width', i.nEmbd],
      ['Context', i.blockSize], ['Vocabulary', i.vocabSize], ['File', `${bytes(i.fileBytes)} ${i.dtype}`],
      ['In memory', weightsLine(i)],
      ['Loaded in', `${Math.round(i.loadMs)} ms`],
      // The engine's own count: the threaded engine where the page is cross-origin isolated
      // (shared.js) and it could start (worker.js), else one thread.
      ['Engine', i.threads > 1 ? `${i.threads} threads` : '1 thread'],
    ];
    const dl = this.$('.info');
    dl.replaceChildren();
    for (const [k, v] of rows) {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = k;
      dd.textContent = String(v);
      div.append(dt, dd);
      dl.append(div);
    }
    dl.title = `${i.name}: downloaded and converted as it arrived in ${Math.round(i.loadMs)} ms (in the engine ${Math.round(i.parseMs)} ms; ` +
               `at most ${bytes(i.peakLoad)} held while loading); kernels ${i.kernels}`;
  }

  showError(message, retry = false) {
    this.$('.error-text').textContent = message;
    this.$('.error-retry').hidden = !retry;
    this.$('.error').hidden = false;
  }

  hideError() {
    this.$('.error').hidden = true;
  }

  // ---- generation ----

  // keepSeed: an experiment's rerun (look-inside.js) keeps the seed even with random seeds on.
  generate({ keepSeed = false } = {}) {
    if (!this.info) {
      this.start();
      return;
    }
    const prompt = this.$('#prompt').value;
    this.s.prompt = prompt;
    this.$('.prompt-issues').hidden = true;
    if (prompt.length === 0) {
      this.showPromptIssue('Type a prompt for the model to continue.');
      return;
    }
    if (this.s.randomSeed && !keepSeed) this.s.seed = randomSeed();
    this.syncControls();
    this.emitSettings();
    this.hideError();
    const settings = { ...this.s };
    const run = new Run(this.info, settings);
    this.run = run;
    this.running = true;
    this.selected = -1;
    this.setFocusToken(-1);
    this.text.clear();
    this.setRunning(true);
    this.$('.status').textContent = `Generating with seed ${settings.seed}…`;
    this.client.generate(
      { prompt, seed: settings.seed, maxTokens: settings.maxTokens, temperature: settings.temperature,
        topK: settings.topK, topP: settings.topP, off: settings.ablate, uniform: settings.uniform },
      {
        onStarted: (m) => {
          run.setPrompt(m);
          this.requestDraw();
        },
        onTokens: (m) => {
          for (const item of m.items) run.addStep(item);
          run.tokensPerSec = m.tokensPerSec;
          this.requestDraw();
        },
        onDone: (m) => {
          run.tokensPerSec = m.tokensPerSec || run.tokensPerSec;
          run.done = true;
          this.running = false;
          this.setRunning(false);
          this.draw();  // the text is complete on screen by the time the status says so
          const n = run.length - run.promptLength;
          this.$('.status').textContent = `${m.reason === 'stopped' ? 'Stopped after' : 'Done:'} ${n} tokens, ${run.tokensPerSec.toFixed(0)} tokens/s, seed ${settings.seed}.`;
          this.dispatchEvent(new CustomEvent('generationend', { detail: { reason: m.reason, text: run.text(run.promptLength), tokensPerSec: run.tokensPerSec } }));
        },
        onError: (m) => {
          this.running = false;
          this.setRunning(false);
          if (m.crashed) {  // recover() explains; keep what the run had produced
            this.$('.status').textContent = `Interrupted after ${run.length - run.promptLength} tokens.`;
            this.draw();
            return;
          }
          this.$('.status').textContent = '';
          if (m.unknown?.length) this.showUnknown(prompt, m.message, m.unknown);
          else this.showError(m.message);
          this.run = null;
        },
      },
    );
  }

  // The run ends with what is on screen when Stop is pressed: tokens that arrived since the last
  // frame, or are still on their way from the worker, are dropped.
  stop() {
    if (!this.running) return;
    this.run?.truncate(this.text.shownCount());
    this.client.stop();
  }

  // Focus follows the run when it was on Generate or Stop: Enter on Generate lands on Stop, and
  // the end of the run returns it to Generate (a disabled button would drop it to the page).
  setRunning(on) {
    const generate = this.$('.generate'), stop = this.$('.stop');
    const focused = this.root.activeElement;
    generate.disabled = on;
    stop.disabled = !on;
    if (focused === generate || focused === stop) (on ? stop : generate).focus();
    this.toggleAttribute('generating', on);
  }

  showPromptIssue(message) {
    const p = this.$('.prompt-issues');
    p.textContent = message;
    p.hidden = false;
  }

  // Points out characters the model does not know: the message lists them and the first is
  // selected in the prompt box. The prompt itself is left exactly as typed.
  showUnknown(prompt, message, unknown) {
    this.showPromptIssue(`${message}. Edit or remove ${unknown.length === 1 ? 'it' : 'them'} and generate again.`);
    const ta = this.$('#prompt');
    const at = unknown[0].utf16Index;
    ta.focus();
    ta.setSelectionRange(at, at + unknown[0].text.length);
  }

  // ---- selection and head view ----

  selectToken(i) {
    if (!this.run || i < 0) return;
    this.selected = this.run.tokens[i]?.generated ? i : -1;
    this.text.markSelected(this.selected);
    this.requestDraw();
  }

  setFocusToken(i) {
    this.focusToken = i;
    this.drawHeadView();
  }

  headLabel() {
    return this.s.head === 'mean' ? `layer ${this.s.layer}, mean of heads` : `layer ${this.s.layer}, head ${this.s.head}`;
  }

  drawHeadView() {
    const run = this.run, q = this.focusToken, status = this.$('.head-view-status');
    const weights = new Map();
    if (!run || q < 0 || !run.rows[q]) {
      this.text.shade(-1, weights);
      status.textContent = run ? 'Hover a character (or focus the text and use the arrow keys) to see what it attends to.' : '';
      return;
    }
    for (let k = run.rows[q].start; k <= q; k++) weights.set(k, run.weight(this.s.layer, this.s.head, q, k));
    this.text.shade(q, weights);
    const best = [...weights].sort((a, b) => b[1] - a[1]).slice(0, 3);
    status.textContent = `What “${label(run.tokens[q].label)}” attends to (${this.headLabel()}): most to ` +
      best.map(([k, w]) => `“${label(run.tokens[k].label)}” ${percent(w)}`).join(', ');
  }

  // ---- drawing (at most once per animation frame) ----

  requestDraw() {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      this.draw();
    });
  }

  // The span of query rows on show: ending at the selected step's query, or at the newest row.
  span() {
    const run = this.run;
    let last = this.selected >= 0 ? run.tokens[this.selected].query : run.length - 1;
    while (last >= 0 && !run.rows[last]) last--;
    return { first: Math.max(0, last - this.s.span + 1), last };
  }

  // The theme's colours for canvas drawing, read from the CSS once per theme.
  colors() {
    if (!this.colorCache) {
      const cs = getComputedStyle(this.$('.gp'));
      const rgb = (name) => cs.getPropertyValue(name).trim().match(/\d+/g)?.map(Number) ?? [230, 230, 235];
      this.colorCache = { masked: rgb('--masked'), outside: rgb('--outside'),
                          text: cs.getPropertyValue('--fg').trim(), muted: cs.getPropertyValue('--muted').trim(),
                          background: cs.getPropertyValue('--panel').trim(), highlight: cs.getPropertyValue('--accent').trim() };
    }
    return this.colorCache;
  }

  draw() {
    const run = this.run;
    if (!run) return;
    this.text.update(run);
    if (this.running) {
      const n = run.length - run.promptLength;
      this.$('.status').textContent = `Generating: ${n} of ${run.settings.maxTokens} tokens, ${run.tokensPerSec.toFixed(0)} tokens/s (seed ${run.settings.seed})`;
    }
    // While tokens stream, the text updates every frame but the matrices and the distribution at
    // most every HEAVY_MS: they cost far more to draw, and on a small machine the worker that
    // generates shares the cores with the drawing (a full draw follows the last token).
    const now = performance.now();
    if (this.running && now - this.lastHeavyDraw < HEAVY_MS) {
      this.requestDraw();
      return;
    }
    this.lastHeavyDraw = now;
    const { first, last } = this.span();
    this.grid.paint(run, first, last, this.colors(), SCALES[this.s.scale]);
    const look = this.look.update(run, { first, last, layer: this.s.layer, head: this.s.head, headLabel: this.headLabel(),
                                         selected: this.selected, running: this.running });
    this.detail.update(run, { first, last, selected: this.selected, layer: this.s.layer, head: this.s.head,
                              headLabel: this.headLabel(), scale: this.s.scale, colors: this.colors(), ...look });
    if (this.revealPending) {
      this.revealPending = false;
      this.revealDetail();
    }
    // The distribution of the selected step, or of the newest.
    const stepIndex = this.selected >= 0 ? this.selected : run.length - 1;
    const t = run.tokens[stepIndex];
    renderTopK(this.$('.topk'), t?.generated ? t.top : null, t?.token, run.settings);
    // Clicking a character shows how it was chosen: the distribution computed at the character
    // before it (the highlighted row of the large view), which hovering does not show.
    const before = t?.generated ? run.tokens[t.query] : null;
    this.$('.next-name').textContent = this.selected >= 0 ? `How “${label(t.label)}” was chosen` : 'Next-token distribution';
    this.$('.next-step').textContent = !t?.generated ? '' : this.selected >= 0
      ? `drawn with p = ${percent(t.prob)} from what the model predicted after “${label(before.label)}” (token ${t.query})`
      : `for the newest token, “${label(t.label)}” (token ${stepIndex}, drawn with p = ${percent(t.prob)})`;
    if (this.focusToken >= 0) this.drawHeadView();
  }

  buildGrid() {
    const { nLayer: L, nHead: NH } = this.info;
    this.grid.build(L, NH);
    this.look.refreshModes();
    this.s.layer = Math.min(this.s.layer, L - 1);
    if (this.s.head !== 'mean') this.s.head = Math.min(this.s.head, NH - 1);
    this.fillSelect('layer', Array.from({ length: L }, (_, l) => [l, `${l}`]));
    this.fillSelect('head', [...Array.from({ length: NH }, (_, h) => [h, `${h}`]), ['mean', 'mean']]);
    this.syncControls();
  }

  fillSelect(name, options) {
    const sel = this.$(`select[name=${name}]`);
    sel.replaceChildren(...options.map(([v, t]) => Object.assign(document.createElement('option'), { value: v, textContent: t })));
  }

  // A click (or Enter) on a head brings the large view into sight if it is not; arrow keys only
  // move the selection, so the grid stays where the keyboard is.
  selectHead(layer, head, focus = false) {
    this.s.layer = layer;
    this.s.head = head;
    this.syncControls();
    this.emitSettings();
    this.requestDraw();
    if (focus) this.grid.focus(layer, head);
    else if (this.run) this.revealPending = true;  // after the draw, which may resize what is above it
    else this.revealDetail();
  }

  // Scrolls as little as shows the whole large view, or its top when it is taller than the window.
  revealDetail() {
    const detail = this.$('.detail');
    const r = detail.getBoundingClientRect();
    if (!r.height) return;
    if (r.height <= innerHeight && (r.top < 0 || r.bottom > innerHeight)) detail.scrollIntoView({ block: r.top < 0 ? 'start' : 'end' });
    else if (r.height > innerHeight && (r.top < 0 || r.top > innerHeight - 200)) detail.scrollIntoView({ block: 'start' });
  }

  // ---- controls ----

  bindControls() {
    const $ = this.$;
    $('.generate').addEventListener('click', () => this.generate());
    $('.stop').addEventListener('click', () => this.stop());
    $('#prompt').addEventListener('input', (e) => {
      this.s.prompt = e.target.value;
      this.emitSettings();
    });
    $('#prompt').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) this.generate();
    });
    for (const input of this.root.querySelectorAll('.settings input, .attn-controls select')) {
      input.addEventListener(input.type === 'range' ? 'input' : 'change', () => {
        const v = parseValue(input.name, input.type === 'checkbox' ? input.checked : input.value);
        if (v !== undefined) this.s[input.name] = v;
        this.syncControls();
        this.emitSettings();
        this.requestDraw();
      });
    }
    $('.export-png').addEventListener('click', () => this.exportPng());
    $('.export-json').addEventListener('click', () => this.exportJson());
    $('.error-close').addEventListener('click', () => this.hideError());
    $('.error-retry').addEventListener('click', () => {
      if (this.client?.dead) this.client = this.newClient();
      if (this.lastLoad) this.loadWeights(this.lastLoad);
    });
    this.weightsIn = bindWeightsIn(this);
    $('.load-file').addEventListener('click', () => $('.file-input').click());
    $('.file-input').addEventListener('change', (e) => this.loadFiles(e.target.files));
    const overlay = $('.drop-overlay');
    this.addEventListener('dragover', (e) => {
      if (![...e.dataTransfer.types].includes('Files')) return;
      e.preventDefault();
      overlay.hidden = false;
    });
    this.addEventListener('dragleave', (e) => {
      if (!this.contains(e.relatedTarget) && e.relatedTarget !== this) overlay.hidden = true;
    });
    this.addEventListener('drop', (e) => {
      e.preventDefault();
      overlay.hidden = true;
      this.loadFiles(e.dataTransfer.files);
    });
  }

  // Dropped or picked files: one .safetensors, optionally with tokenizer.json (or vocab.json and
  // merges.txt) and config.json.
  // Side files the engine does not read (a Hugging Face folder's tokenizer_config.json ...) are
  // left aside with a note.
  loadFiles(files) {
    files = [...files];
    if (files.length === 0 || this.views.takeFiles(files)) return;
    const sorted = sortFiles(files);
    if (sorted.error) this.showError(sorted.error);
    else this.loadWeights(sorted);
  }

  syncControls() {
    const s = this.s;
    const ta = this.$('#prompt');
    if (ta.value !== s.prompt) ta.value = s.prompt;
    for (const input of this.root.querySelectorAll('.settings input, .attn-controls select')) {
      if (input.type === 'checkbox') input.checked = s[input.name];
      else if (String(input.value) !== String(s[input.name])) input.value = s[input.name];
      const out = input.parentElement.querySelector('output');
      if (out) out.textContent = Number(s[input.name]).toFixed(2);
    }
    this.grid.select(s.layer, s.head);
    this.weightsIn.sync(s);
  }

  emitSettings() {
    this.dispatchEvent(new CustomEvent('settingschange', { detail: this.settings }));
  }

  // ---- export ----

  exportPng() {
    if (!this.run) return;
    this.detail.learned.canvas.toBlob((blob) => download(this.root, blob, `attention-layer${this.s.layer}-head${this.s.head}.png`));
  }

  exportJson() {
    if (!this.run) return;
    download(this.root, new Blob([JSON.stringify(this.run.toJSON())], { type: 'application/json' }), 'attention.json');
  }
}

// A second copy of the script (two posts' snippets on one page) finds the element defined.
if (!customElements.get('gpt-playground')) customElements.define('gpt-playground', GptPlayground);
