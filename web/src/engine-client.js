// The page's side of one engine worker (worker.js): promises for loading, callbacks for a run.
import { fetchWeights, wasmModule } from './shared.js';

export class EngineClient {
  constructor() {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map();  // load id -> {resolve, reject}
    this.nextId = 1;
    this.runHandlers = null;   // {runId, stopped, onStarted, onTokens, onDone, onError}
    this.worker.onmessage = (e) => this.dispatch(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.fail(`the engine worker failed: ${e.message || 'could not start it'}`);
    };
    this.ready = wasmModule().then((wasm) => this.worker.postMessage({ type: 'init', wasm }));
  }

  // source: a URL, or {bytes: ArrayBuffer, name} (transferred to the worker). Resolves
  // {info, bytes, ms}; rejects with an Error whose message says what went wrong.
  async load(source, onProgress = () => {}) {
    await this.ready;
    let bytes = source.bytes;
    if (typeof source === 'string') {
      // The download is shared with other playgrounds on the page: this worker gets its own copy.
      bytes = (await fetchWeights(new URL(source, document.baseURI).href, onProgress)).slice(0);
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'load', id, bytes }, [bytes]);
    });
  }

  // params: {prompt, seed, maxTokens, temperature, topK, topP}; handlers as in runHandlers.
  generate(params, handlers) {
    const runId = this.nextId++;
    this.runHandlers = { runId, stopped: false, ...handlers };
    this.worker.postMessage({ type: 'generate', runId, ...params });
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
    h?.onError?.({ message });
  }
}
