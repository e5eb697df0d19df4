// The page's side of one engine worker (worker.js): promises for loading, callbacks for a run.
import { fetchModel, wasmModule } from './shared.js';

// A run's worker is presumed dead when it has been silent for this long, or for ten times its
// longest silence so far in the run (a big model's prefill), whichever is longer.
const SILENCE_MS = 4000;

export class EngineClient {
  // onCrash(message): the worker died (an uncaught error, or silence during a run). The client is
  // finished then; its owner starts a new one.
  constructor({ onCrash = () => {} } = {}) {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map();  // load id -> {resolve, reject}
    this.nextId = 1;
    this.runHandlers = null;   // {runId, stopped, onStarted, onTokens, onDone, onError}
    this.onCrash = onCrash;
    this.dead = false;
    this.worker.onmessage = (e) => this.dispatch(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.crash(`the engine worker failed: ${e.message || 'it could not start'}`);
    };
    this.ready = wasmModule().then((wasm) => this.worker.postMessage({ type: 'init', wasm }));
  }

  crash(message) {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.watchdog);
    this.worker.terminate();
    this.fail(message);
    this.onCrash(message);
  }

  // While a run is on, the worker talks every few milliseconds; silence means it is gone.
  watch() {
    clearInterval(this.watchdog);
    this.last = performance.now();
    this.longestGap = 0;
    this.watchdog = setInterval(() => {
      if (!this.runHandlers) return clearInterval(this.watchdog);
      const silent = performance.now() - this.last;
      if (silent > Math.max(SILENCE_MS, 10 * this.longestGap)) this.crash(`the engine stopped responding (silent for ${Math.round(silent)} ms)`);
    }, 500);
  }

  // source: a URL (a .safetensors file, or a model folder ending in '/': shared.js fetchModel), or
  // {bytes: ArrayBuffer, name, extras: {'tokenizer.json': text, ...}} (the bytes
  // are transferred to the worker). Resolves
  // {info, bytes, ms}; rejects with an Error whose message says what went wrong.
  async load(source, onProgress = () => {}) {
    await this.ready;
    if (this.dead) throw new Error('the engine was restarted');
    // A URL's download is shared with other playgrounds on the page: this worker gets its own copy.
    const { bytes, extras = {} } = typeof source === 'string'
      ? await fetchModel(new URL(source, document.baseURI).href, onProgress) : source;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'load', id, bytes, extras }, [bytes]);
    });
  }

  // params: {prompt, seed, maxTokens, temperature, topK, topP}; handlers as in runHandlers.
  generate(params, handlers) {
    const runId = this.nextId++;
    this.runHandlers = { runId, stopped: false, ...handlers };
    this.worker.postMessage({ type: 'generate', runId, ...params });
    this.watch();
    return runId;
  }

  // Tokens the worker drew after Stop was pressed but before it heard of it are not shown: the run
  // ends where the user stopped it.
  stop() {
    const h = this.runHandlers;
    if (!h) return;
    h.stopped = true;
    this.worker.postMessage({ type: 'stop', runId: h.runId });
  }

  dispatch(msg) {
    if (msg.type === 'loaded' || msg.type === 'load-error') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'loaded') p.resolve(msg);
      else p.reject(new Error(msg.message));
      return;
    }
    const h = this.runHandlers;
    if (!h || msg.runId !== h.runId) return;  // a message of a run that was replaced
    const now = performance.now();
    this.longestGap = Math.max(this.longestGap, now - this.last);
    this.last = now;
    if (msg.type === 'started') h.onStarted?.(msg);
    else if (msg.type === 'tokens' && !h.stopped) h.onTokens?.(msg);
    else if (msg.type === 'done') {
      this.runHandlers = null;
      h.onDone?.(msg);
    } else if (msg.type === 'run-error') {
      this.runHandlers = null;
      h.onError?.(msg);
    }
  }

  fail(message) {
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
    const h = this.runHandlers;
    this.runHandlers = null;
    h?.onError?.({ message, crashed: true });
  }
}
