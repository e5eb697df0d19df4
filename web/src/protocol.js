// The engine worker's protocol, defined once for worker.js, engine-client.js, run.js and the tests.
//
// Page -> worker: {type: INIT, wasm: WebAssembly.Module, threads}   (compiled once per page, shared;
//   threads > 1: wasm is the threaded build, gpt_mt; if that cannot start, the worker answers
//   THREADS_FAILED and the page sends INIT again with the single-threaded build, threads 1)
//                 {type: LOAD_BEGIN, id, size, weightsIn, extras: {'tokenizer.json': text, ...}}, then the file's
//                     bytes in order: {type: LOAD_PIECE, id, piece: Uint8Array} ..., then {type: LOAD_END, id};
//                     or {type: LOAD_ABORT, id} (the download failed, or another model was asked for)
//                 {type: GENERATE, runId, prompt, seed, maxTokens, temperature, topK, topP}
//                 {type: STOP, runId}
//                     GENERATE also carries off, uniform: heads as "L.H,L.H" lists (engine setInterventions)
//                 {type: INSPECT, id, kind, ...}  the current window, looked inside (look-inside.js):
//                     kind 'explain' {layer, head, pos} | 'tempered' {layer, head, alpha} | 'lens' {pos, k}
//                     | 'loss' | 'heads' {text}; pos is a token index of the run; ws (optional): the
//                     window start the page expects (refused when the engine's differs)
// Worker -> page: {type: THREADS_FAILED, message}   the threaded build did not start (worker.js init);
//                     the messages sent meanwhile wait for the next INIT
//                 {type: LOADED, id, info, bytes, ms, peak} | {type: LOAD_ERROR, id, message}
//                     (LOAD_ERROR may come before LOAD_END: the pieces after it are ignored);
//                     peak: the most memory the load held, by the engine's own accounting
//                 {type: STARTED, runId, tokens, texts, labels, windowStart, att, firstQuery, capture}
//                     att: the prompt's kept attention rows, query after query (engine promptRows())
//                 {type: TOKENS, runId, items, tokensPerSec}
//                     items[i]: {token, text, label, pos, windowStart, keyStart, prob, rows, top}
//                     rows: one packed row (below) over keys keyStart..; top: [{token, label, p, kept?, q?}]
//                 {type: DONE, runId, reason: 'length' | 'stopped', tokensPerSec}
//                 {type: RUN_ERROR, runId, message, unknown}
//                 {type: INSPECTED, id, ok, result | message}; 'heads' first sends {type: PROGRESS, id, result}
//                     after each head (result: the engine's headsNext() report)
// Attention arrives in Float32Arrays whose buffers are transferred, not copied.
export const MSG = Object.freeze({
  INIT: 'init', THREADS_FAILED: 'threads-failed', LOAD_BEGIN: 'load-begin', LOAD_PIECE: 'load-piece', LOAD_END: 'load-end', LOAD_ABORT: 'load-abort',
  GENERATE: 'generate', STOP: 'stop',
  LOADED: 'loaded', LOAD_ERROR: 'load-error', STARTED: 'started', TOKENS: 'tokens', DONE: 'done', RUN_ERROR: 'run-error',
  INSPECT: 'inspect', INSPECTED: 'inspected', PROGRESS: 'progress',
});

// A packed attention row: for one query, every layer and head over the same len keys, (L, NH, len).
export const rowSize = (L, NH, len) => L * NH * len;
export const rowIndex = (NH, len, l, h, j) => (l * NH + h) * len + j;
// In STARTED's att, window position q's row has this many keys (the engine keeps at most capture).
export const promptRowLength = (q, capture) => Math.min(q + 1, capture);

// The training worker's protocol (train-worker.js, train-client.js; the engine's Trainer binding).
//
// Page -> worker: {type: INIT, wasm, threads}   threads > 1: wasm is the threaded build (gpt-train_mt);
//                     if it cannot start, the worker answers THREADS_FAILED and the page sends INIT
//                     again with the single-threaded build, threads 1
//                 {type: PLAN, id, text, options}        options: {preset, steps, ...} as Trainer.plan takes them
//                 {type: START, text, options, seed, probe, prompt}   a new run (replacing any)
//                 {type: RESUME} | {type: PAUSE}           (Reset ends the worker: immediate, and frees its memory)
// Worker -> page: {type: READY, presets, threads}  | {type: THREADS_FAILED, message}
//                 {type: PLANNED, id, plan, secondsPerStep} | {type: PLAN_ERROR, id, message}
//                     secondsPerStep: one step, timed on this machine in a throwaway run of the same shape
//                 {type: CREATED, plan}
//                 {type: PROGRESS, losses, step, lr, tokensPerSecond, seconds}   after each batch of steps
//                 {type: SNAPSHOT, step, valLoss, sample, probe: {n, labels, data}, bytes}   every few seconds,
//                     at pause and at the end; data (L, NH, n, n) and bytes (the .safetensors) are transferred
//                 {type: PAUSED, step} | {type: FINISHED, step} (the schedule is complete)
//                 {type: TRAIN_ERROR, message}   a run failed, or the engine did not load (then every PLAN gets PLAN_ERROR)
export const TRAIN = Object.freeze({
  INIT: 'init', THREADS_FAILED: 'threads-failed', PLAN: 'plan', START: 'start', RESUME: 'resume', PAUSE: 'pause',
  READY: 'ready', PLANNED: 'planned', PLAN_ERROR: 'plan-error', CREATED: 'created', PROGRESS: 'progress',
  SNAPSHOT: 'snapshot', PAUSED: 'paused', FINISHED: 'finished', TRAIN_ERROR: 'train-error',
});
