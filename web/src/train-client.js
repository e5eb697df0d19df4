// The page's side of the training worker (train-worker.js): a promise for each plan, callbacks for
// the run, and a watchdog that notices a worker that died (terminated, or out of memory).
import { TRAIN } from './protocol.js';
import { trainModule, trainModuleWithoutThreads } from './shared.js';

// While a run is on, the worker reports after every batch (~60 ms, or one step of a big model);
// silence this long, ten times the longest gap so far, or three times the planned time of a step
// (a big model's first), means it is gone.
const SILENCE_MS = 5000;

export class TrainClient {
  // handlers: {onReady(presets, threads), onCreated(plan), onProgress(msg), onSnapshot(msg), onPaused(msg),
  //            onFinished(msg), onError(message), onCrash(message)}
  constructor(handlers) {
    this.h = handlers;
    this.pending = new Map();  // plan id -> {resolve, reject}
    this.nextId = 1;
    this.running = false;
    this.dead = false;
    this.worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e) => this.dispatch(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.crash(`the training worker failed: ${e.message || 'it could not start'}`);
    };
    trainModule().then((m) => this.init(m), (e) => this.crash(e.message));
  }

  init({ wasm, threads }) {
    this.worker.postMessage({ type: TRAIN.INIT, wasm, threads });
  }

  // The worker could not start the threaded build (train-worker.js init): it gets the
  // single-threaded one, as a page without cross-origin isolation would.
  async withoutThreads(message) {
    console.warn(`gpt-playground: the threaded training engine could not start (${message}); training on one thread instead`);
    try {
      this.init(await trainModuleWithoutThreads());
    } catch (e) {
      this.crash(`the training engine could not start: ${e.message}`);
    }
  }

  // -> {plan, secondsPerStep}; rejects with the engine's message.
  plan(text, options) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: TRAIN.PLAN, id, text, options });
    });
  }

  // params: {text, options, seed, probe, prompt, secondsPerStep}
  start({ secondsPerStep, ...params }) {
    this.stepMs = (secondsPerStep ?? 0) * 1000;
    this.post({ type: TRAIN.START, ...params }, true);
  }

  resume() {
    this.post({ type: TRAIN.RESUME }, true);
  }

  pause() {
    this.post({ type: TRAIN.PAUSE }, false);
  }

  post(msg, running) {
    if (this.dead) return;
    this.worker.postMessage(msg);
    this.setRunning(running);
  }

  setRunning(on) {
    this.running = on;
    clearInterval(this.watchdog);
    if (!on) return;
    this.last = performance.now();
    this.longestGap = 0;
    this.watchdog = setInterval(() => {
      const silent = performance.now() - this.last;
      if (silent > Math.max(SILENCE_MS, 10 * this.longestGap, 3 * (this.stepMs ?? 0))) this.crash(`it stopped responding (silent for ${Math.round(silent / 1000)} s)`);
    }, 500);
  }

  dispatch(msg) {
    const now = performance.now();
    if (this.running) this.longestGap = Math.max(this.longestGap, now - this.last);
    this.last = now;
    if (msg.type === TRAIN.PLANNED || msg.type === TRAIN.PLAN_ERROR) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.type === TRAIN.PLANNED) p?.resolve(msg);
      else p?.reject(new Error(msg.message));
    } else if (msg.type === TRAIN.THREADS_FAILED) this.withoutThreads(msg.message);
    else if (msg.type === TRAIN.READY) this.h.onReady(msg.presets, msg.threads);
    else if (msg.type === TRAIN.CREATED) this.h.onCreated(msg.plan);
    else if (msg.type === TRAIN.PROGRESS) this.h.onProgress(msg);
    else if (msg.type === TRAIN.SNAPSHOT) this.h.onSnapshot(msg);
    else if (msg.type === TRAIN.PAUSED || msg.type === TRAIN.FINISHED) {
      this.setRunning(false);
      (msg.type === TRAIN.PAUSED ? this.h.onPaused : this.h.onFinished)(msg);
    } else if (msg.type === TRAIN.TRAIN_ERROR) {
      this.setRunning(false);
      this.h.onError(msg.message);
    }
  }

  crash(message) {
    if (this.dead) return;
    this.dispose();
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
    this.h.onCrash(message);
  }

  dispose() {
    this.dead = true;
    this.setRunning(false);
    this.worker.terminate();
  }
}
