// The training Web Worker: owns its own wasm module and one Trainer (engine/bindings/embind.cpp),
// apart from the generation worker, so a run never holds up Generate and the page stays responsive.
// Steps run in short batches with a yield between them, so Pause lands within one batch (Reset
// ends the worker).
//
// The messages are in protocol.js (TRAIN).
import { TRAIN } from './protocol.js';
import { startBuild } from './wasm-start.js';

const BATCH_MS = 60;         // steps per batch are sized to take about this long
const SNAPSHOT_MS = 2500;    // validation loss, a sample, the probe's attention and the weights this often,
const SNAPSHOT_SHARE = 0.2;  // or less often where they would take more than this share of the time
const VAL_TOKENS = 2048;     // the validation loss reads this many characters (whole windows)
const SAMPLE_TOKENS = 120;

let Module = null;
let settle = null;  // the module, once INIT has started it: the other messages wait for it
const ready = new Promise((resolve, reject) => (settle = { resolve, reject }));
let trainer = null;
let run = null;  // {plan, prompt, probe, seed, step, perStep (ms), lastSnapshot, snapshotMs, running, finished, samples}

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

// threads > 1: the wasm is the threaded training build (shared.js), whose steps split over that
// many threads with the same results. If it cannot start (wasm-start.js), the page is told
// (THREADS_FAILED) and sends the single-threaded build.
async function init(wasm, threads = 1) {
  try {
    Module = await startBuild(wasm, threads, () => import('../wasm/gpt-train.mjs'), () => import('../wasm/gpt-train_mt.mjs'));
  } catch (e) {
    if (threads > 1) return post({ type: TRAIN.THREADS_FAILED, message: e.message ?? String(e) });
    settle.reject(e);
    return post({ type: TRAIN.TRAIN_ERROR, message: `the training engine did not load (${e.message ?? e})` });
  }
  trainer = new Module.Trainer();
  post({ type: TRAIN.READY, presets: Module.trainingPresets(), threads: Module.threads() });
  settle.resolve();
}

// The plan (sizes, memory: nothing allocated), and the time of one step on this machine, from a
// throwaway run of the same shape: with batch 1 (a full step is about `batch` times its work, a
// little less), then, where that is quick, with the full batch.
function plan({ id, text, options }) {
  const p = trainer.plan(text, options);
  if (!p.ok) return post({ type: TRAIN.PLAN_ERROR, id, message: p.message });
  // Once per shape: the text changes little of a step's work (only the vocabulary's share), and
  // re-timing on every edit of the text would keep the worker busy while the reader types.
  const shape = JSON.stringify([p.nLayer, p.nHead, p.nEmbd, p.blockSize, p.batch]);
  if (!timed.has(shape) && !run) {
    let seconds = timeStep(text, { ...options, batch: 1 }) * p.batch;
    if (seconds < 0.25) seconds = timeStep(text, options);
    if (seconds) timed.set(shape, seconds);
  }
  post({ type: TRAIN.PLANNED, id, plan: p, secondsPerStep: timed.get(shape) ?? null });
}
const timed = new Map();  // shape -> seconds per step

// Seconds per step, timed in slices of SLICE_MS until two agree (the browser first runs wasm from
// a quick baseline compile and swaps in optimised code while it runs; a single step of a small
// model is also too short to time on a busy machine), for at most TIME_MS.
const SLICE_MS = 100, TIME_MS = 1500;
function timeStep(text, options) {
  const scratch = new Module.Trainer();
  let seconds = null;
  if (scratch.create(text, options, 1).ok) {
    scratch.step(1);  // the first step touches fresh memory
    const start = performance.now();
    let previous = Infinity;
    for (;;) {
      const t0 = performance.now();
      let n = 0;
      do scratch.step(1), n++;
      while (performance.now() - t0 < SLICE_MS);
      seconds = (performance.now() - t0) / n / 1000;
      if (Math.abs(seconds - previous) < 0.15 * seconds || performance.now() - start > TIME_MS) break;
      previous = seconds;
    }
  }
  scratch.delete();
  return seconds;
}

function start({ text, options, seed, probe, prompt }) {
  run = null;
  const r = trainer.create(text, options, seed);
  if (!r.ok) return post({ type: TRAIN.TRAIN_ERROR, message: r.message });
  run = { plan: r, probe, prompt, seed, perStep: 0, lastSnapshot: 0, running: false, samples: 0 };
  post({ type: TRAIN.CREATED, plan: r });
  snapshot(0);  // the untrained model: loss near ln(vocabulary), attention near uniform
  resume();
}

// Everything the page shows between the loss curves: the validation loss, a sample, the probe
// text's attention in every head, and the weights (kept by the page, so a worker that dies
// leaves the last ones behind).
function snapshot(step) {
  const p = run.plan;
  const t0 = performance.now();
  const val = trainer.validationLoss(Math.max(p.batch, Math.ceil(VAL_TOKENS / p.blockSize)));
  const sample = trainer.sample(run.prompt, SAMPLE_TOKENS, 0.8, run.seed + run.samples++);
  const probed = trainer.probe(run.probe);
  // Copies out of the wasm heap: the next call reuses (or grows) that memory.
  const probe = probed.ok ? { n: probed.n, labels: probed.labels, data: probed.data.slice() } : null;
  const bytes = trainer.exportBytes().slice();
  post({ type: TRAIN.SNAPSHOT, step, valLoss: val.ok ? val.loss : null, sample: sample.ok ? run.prompt + sample.text : null,
         sampleError: sample.ok ? null : sample.message, probe, bytes: bytes.buffer },
       [bytes.buffer, ...(probe ? [probe.data.buffer] : [])]);
  run.lastSnapshot = performance.now();
  run.snapshotMs = run.lastSnapshot - t0;
}

function resume() {
  if (!run || run.running || run.finished) return;
  run.running = true;
  schedule();
}

function pause() {
  if (!run?.running) return;
  run.running = false;
  snapshot(run.step ?? 0);
  post({ type: TRAIN.PAUSED, step: run.step ?? 0 });
}

function batch() {
  if (!run?.running) return;
  const left = run.plan.steps - (run.step ?? 0);
  const n = Math.max(1, Math.min(left, run.perStep > 0 ? Math.floor(BATCH_MS / run.perStep) : 1));
  const t0 = performance.now();
  const r = trainer.step(n);
  if (!r.ok) {
    run.running = false;
    return post({ type: TRAIN.TRAIN_ERROR, message: r.message });
  }
  run.perStep = (performance.now() - t0) / n;
  run.step = r.step;
  post({ type: TRAIN.PROGRESS, losses: r.losses, step: r.step, lr: r.lr, tokensPerSecond: r.tokensPerSecond, seconds: r.seconds });
  if (r.step >= run.plan.steps) {
    run.running = false;
    run.finished = true;
    snapshot(r.step);
    return post({ type: TRAIN.FINISHED, step: r.step });
  }
  if (performance.now() - run.lastSnapshot > Math.max(SNAPSHOT_MS, run.snapshotMs / SNAPSHOT_SHARE)) snapshot(r.step);
  schedule();
}

// Yield to the event loop between batches (so Pause is read) without setTimeout's clamp.
const channel = new MessageChannel();
channel.port1.onmessage = () => batch();
const schedule = () => channel.port2.postMessage(null);

self.onmessage = async (e) => {
  const msg = e.data;
  if (msg.type === TRAIN.INIT) return init(msg.wasm, msg.threads);
  try {
    await ready;
  } catch (err) {  // the single-threaded build could not start either: every request says so
    const message = `the training engine did not load (${err.message ?? err})`;
    return post(msg.type === TRAIN.PLAN ? { type: TRAIN.PLAN_ERROR, id: msg.id, message } : { type: TRAIN.TRAIN_ERROR, message });
  }
  if (msg.type === TRAIN.PLAN) plan(msg);
  else if (msg.type === TRAIN.START) start(msg);
  else if (msg.type === TRAIN.RESUME) resume();
  else if (msg.type === TRAIN.PAUSE) pause();
};
