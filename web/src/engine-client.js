// The page's side of one engine worker (worker.js): promises for loading, callbacks for a run.
import { MSG } from './protocol.js';
import { engineModule, engineModuleWithoutThreads, openModel } from './shared.js';

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
    this.ready = engineModule().then((m) => this.init(m));
  }

  init({ wasm, threads }) {
    this.worker.postMessage({ type: MSG.INIT, wasm, threads });
  }

  // The worker could not start the threaded build (worker.js init): it gets the single-threaded one,
  // as a page without cross-origin isolation would. The loads sent meanwhile wait for it there.
  async withoutThreads(message) {
    console.warn(`gpt-playground: the threaded engine could not start (${message}); running on one thread instead`);
    try {
      this.init(await engineModuleWithoutThreads());
    } catch (e) {
      this.crash(`the engine could not start: ${e.message}`);
    }
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

  // source: a URL (a .safetensors file, or a model folder ending in '/': shared.js openModel), or
  // {size, pieces, extras: {'tokenizer.json': text, ...}} (files.js readFiles). The file's pieces go
  // to the worker as they arrive and the engine converts them there (protocol.js LOAD_*): neither
  // side ever holds the whole file. Resolves {info, bytes, ms, peak}; rejects with an Error whose
  // message says what went wrong (the download's, or the engine's). current() is asked before each
  // piece goes: a load overtaken by a later one stops there, so the worker ends with the model
  // asked for last. weightsIn: 'auto' | 'f32' | 'f16' | 'int8', the format the weight matrices are
  // kept in.
  async load(source, onProgress = () => {}, current = () => true, weightsIn = 'auto') {
    await this.ready;
    if (this.dead) throw new Error('the engine was restarted');
    const src = typeof source === 'string' ? await openModel(new URL(source, document.baseURI).href, onProgress) : source;
    const pieces = src.size > 0 ? src.pieces : [await gather(src.pieces)];  // the engine needs the size first
    const size = src.size > 0 ? src.size : pieces[0].length;
    const id = this.nextId++;
    let refused = null;
    const loaded = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    loaded.catch((e) => (refused = e));
    const send = (msg) => this.worker.postMessage({ id, ...msg });
    try {
      if (!current()) throw new Error('another model was asked for meanwhile');
      send({ type: MSG.LOAD_BEGIN, size, extras: src.extras ?? {}, weightsIn });
      for await (const piece of pieces) {
        if (refused || this.dead) break;  // the engine said no (a bad header): the rest is not needed
        if (!current()) throw new Error('another model was asked for meanwhile');
        send({ type: MSG.LOAD_PIECE, piece });
      }
    } catch (e) {
      send({ type: MSG.LOAD_ABORT });
      this.pending.delete(id);
      throw e;
    }
    if (!refused) send({ type: MSG.LOAD_END });
    return loaded;
  }

  // params: {prompt, seed, maxTokens, temperature, topK, topP}; handlers as in runHandlers.
  generate(params, handlers) {
    const runId = this.nextId++;
    this.runHandlers = { runId, stopped: false, ...handlers };
    this.worker.postMessage({ type: MSG.GENERATE, runId, ...params });
    this.watch();
    return runId;
  }

  // Looks inside the worker's current window (protocol.js INSPECT): resolves the engine's result,
  // rejects with its message. onProgress(result) hears a head study's progress.
  inspect(kind, args = {}, onProgress) {
    if (this.dead) return Promise.reject(new Error('the engine was restarted'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ type: MSG.INSPECT, id, kind, ...args });
    });
  }

  // Tokens the worker drew after Stop was pressed but before it heard of it are not shown: the run
  // ends where the user stopped it.
  stop() {
    const h = this.runHandlers;
    if (!h) return;
    h.stopped = true;
    this.worker.postMessage({ type: MSG.STOP, runId: h.runId });
  }

  dispatch(msg) {
    if (msg.type === MSG.THREADS_FAILED) return this.withoutThreads(msg.message);
    if (msg.type === MSG.LOADED || msg.type === MSG.LOAD_ERROR || msg.type === MSG.INSPECTED || msg.type === MSG.PROGRESS) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === MSG.PROGRESS) return p.onProgress?.(msg.result);
      if (msg.type === MSG.INSPECTED) {
        this.pending.delete(msg.id);
        return msg.ok ? p.resolve(msg.result) : p.reject(new Error(msg.message));
      }
      this.pending.delete(msg.id);
      if (msg.type === MSG.LOADED) p.resolve(msg);
      else p.reject(new Error(msg.message));
      return;
    }
    const h = this.runHandlers;
    if (!h || msg.runId !== h.runId) return;  // a message of a run that was replaced
    const now = performance.now();
    this.longestGap = Math.max(this.longestGap, now - this.last);
    this.last = now;
    if (msg.type === MSG.STARTED) h.onStarted?.(msg);
    else if (msg.type === MSG.TOKENS && !h.stopped) h.onTokens?.(msg);
    else if (msg.type === MSG.DONE) {
      this.runHandlers = null;
      h.onDone?.(msg);
    } else if (msg.type === MSG.RUN_ERROR) {
      this.runHandlers = null;
      h.onError?.(msg);
    }
  }

  // The element left the page: the worker goes, and nothing more is reported.
  dispose() {
    this.dead = true;
    clearInterval(this.watchdog);
    this.worker.terminate();
    this.pending.clear();
    this.runHandlers = null;
  }

  fail(message) {
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
    const h = this.runHandlers;
    this.runHandlers = null;
    h?.onError?.({ message, crashed: true });
  }
}

// All of an iterable's pieces in one Uint8Array (a download whose length the server did not say).
async function gather(pieces) {
  const parts = [];
  let n = 0;
  for await (const p of pieces) {
    parts.push(p);
    n += p.length;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
