// The engine's Web Worker: owns the wasm module and one Engine, so the page never blocks on it.
//
// The messages are in protocol.js.
import { MSG } from './protocol.js';
import { startBuild } from './wasm-start.js';

const TOP_K_SHOWN = 10;
const BATCH_MS = 8;  // generate for at most this long between messages: Stop lands within a batch

// The Emscripten module, once 'init' has started it (a threaded build that cannot start is replaced
// by the single-threaded one: init). Loads wait for it.
let settle = null;
const ready = new Promise((resolve, reject) => (settle = { resolve, reject }));
let Module = null;
let engine = null;
let run = null;  // {id, left, settings, count, tFirst}
let windowStart = 0;  // the engine window's first token, as a run token index (inspections translate)
let study = 0;        // the id of the head study under way ('heads'): a newer one replaces it

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

// A model arrives in pieces (protocol.js LOAD_*), converted by the engine as they come. The
// messages of a load are handled in order, one after the other (the first awaits the module).
let loading = null;  // {id, size, t0}: the load under way
const PIECE_BYTES = 256 << 10;
let loadQueue = Promise.resolve();

async function loadMessage(msg) {
  const fail = (message) => {
    loading = null;
    post({ type: MSG.LOAD_ERROR, id: msg.id, message });
  };
  try {
    if (msg.type === MSG.LOAD_BEGIN) {
      Module ??= await ready;
      engine ??= new Module.Engine();
      if (run) finish('stopped');  // a new model ends the current run, whether or not it loads
      loading = { id: msg.id, size: msg.size, t0: performance.now() };
      for (const [name, text] of Object.entries(msg.extras)) {
        const r = engine.setFile(name, text);
        if (!r.ok) return fail(r.message);
      }
      const w = engine.setWeightsIn(msg.weightsIn ?? 'auto');
      if (!w.ok) return fail(w.message);
      const r = engine.beginLoad(msg.size);
      if (!r.ok) fail(r.message);
      return;
    }
    if (loading?.id !== msg.id) return;  // refused already, or replaced by a later load
    if (msg.type === MSG.LOAD_PIECE) {
      // At most PIECE_BYTES at a time through the engine's buffer, however large the browser's pieces.
      for (let at = 0; at < msg.piece.length; at += PIECE_BYTES) {
        const part = msg.piece.subarray(at, at + PIECE_BYTES);
        // Room first: growing the wasm memory detaches the old HEAPU8 view.
        const ptr = engine.loadBuffer(part.length);
        if (!ptr) return fail(`no memory for the next ${part.length} bytes of the file`);
        Module.HEAPU8.set(part, ptr);
        const r = engine.feedLoad(part.length);
        if (!r.ok) return fail(r.message);
      }
    } else if (msg.type === MSG.LOAD_END) {
      const r = engine.endLoad();
      if (!r.ok) return fail(r.message);
      post({ type: MSG.LOADED, id: msg.id, info: r.info, bytes: loading.size, ms: performance.now() - loading.t0, peak: r.peakLoadBytes });
      loading = null;
    } else if (msg.type === MSG.LOAD_ABORT) {
      engine.endLoad();  // refused (the file is short): what the load held goes, the current model stays
      loading = null;
    }
  } catch (e) {
    fail(e.message ?? String(e));
  }
}

function generate(msg) {
  if (!engine?.loaded()) {
    post({ type: MSG.RUN_ERROR, runId: msg.runId, message: 'no model is loaded yet' });
    return;
  }
  run = null;
  const iv = engine.setInterventions(msg.off ?? '', msg.uniform ?? '');
  if (!iv.ok) {
    post({ type: MSG.RUN_ERROR, runId: msg.runId, message: `Head experiments: ${iv.message}` });
    return;
  }
  // A lone surrogate has no UTF-8 form: Embind's encoder would pair it with the next character and
  // the unknown-character message would name a character nobody typed. U+FFFD keeps the UTF-16
  // positions, so the engine's utf16Index still points into the prompt as typed.
  const r = engine.start(msg.prompt.toWellFormed(), msg.seed);
  if (!r.ok) {
    post({ type: MSG.RUN_ERROR, runId: msg.runId, message: r.message, unknown: r.unknown ?? [] });
    return;
  }
  windowStart = r.windowStart;
  const tokens = r.tokens.slice();  // copy out of the wasm heap before anything can grow it
  const rows = engine.promptRows();
  const att = rows.data.slice();
  post({ type: MSG.STARTED, runId: msg.runId, tokens, texts: r.texts, labels: r.labels, windowStart: r.windowStart, att,
         firstQuery: rows.firstQuery, capture: rows.capture }, [tokens.buffer, att.buffer]);
  run = { id: msg.runId, left: msg.maxTokens, settings: msg, count: 0, tFirst: 0 };
  if (run.left > 0) schedule();
  else finish('length');
}

// Tokens per second after the first token (llama2.c): the prompt's prefill is not counted.
function rate() {
  return run.count > 1 ? ((run.count - 1) * 1000) / (performance.now() - run.tFirst) : 0;
}

function finish(reason) {
  post({ type: MSG.DONE, runId: run.id, reason, tokensPerSec: rate() });
  engine.stop();
  run = null;
}

function pump(id) {
  if (!run || run.id !== id) return;  // stopped or replaced meanwhile
  const { temperature, topK, topP } = run.settings;
  const items = [];
  const transfer = [];
  const deadline = performance.now() + BATCH_MS;
  do {
    const s = engine.step(temperature, topK, topP);
    if (!s.ok) {
      post({ type: MSG.RUN_ERROR, runId: run.id, message: s.message });
      run = null;
      return;
    }
    windowStart = s.windowStart;
    if (run.count++ === 0) run.tFirst = performance.now();
    const rows = engine.rows().slice();
    items.push({ token: s.token, text: s.text, label: s.label, pos: s.pos, windowStart: s.windowStart, keyStart: s.keyStart,
                 prob: s.prob, rows, top: engine.top(TOP_K_SHOWN) });
    transfer.push(rows.buffer);
  } while (--run.left > 0 && performance.now() < deadline);
  post({ type: MSG.TOKENS, runId: run.id, items, tokensPerSec: rate() }, transfer);
  if (run.left === 0) finish('length');
  else schedule();
}

// Looking inside the current window: every number comes from the engine; views into the wasm
// heap are copied out before anything can grow it. Positions are run token indices.
const copy = (r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, ArrayBuffer.isView(v) ? v.slice() : v]));
function inspect(msg) {
  const { id, kind, layer, head, pos } = msg;
  const reply = (r) => post(r.ok ? { type: MSG.INSPECTED, id, ok: true, result: copy(r) } : { type: MSG.INSPECTED, id, ok: false, message: r.message });
  if (!engine?.loaded()) return reply({ ok: false, message: 'no model is loaded yet' });
  // ws: the window the page drew the row in; the engine's may have moved on (a run stopped on screen).
  if (msg.ws !== undefined && msg.ws !== windowStart) return reply({ ok: false, message: 'the engine has moved on to another context window: generate again' });
  if (kind === 'explain') return reply({ ...engine.explain(layer, head, pos - windowStart), windowStart });
  if (kind === 'lens') return reply(engine.lens(pos - windowStart, msg.k));
  if (kind === 'loss') return reply(engine.windowLoss());
  if (kind === 'tempered') {
    const r = engine.tempered(layer, head, msg.alpha);
    return reply(r.ok ? { ...r, firstQuery: r.firstQuery + windowStart, windowStart } : r);
  }
  if (kind === 'heads') {
    study = id;
    let r = engine.headsStart(msg.text);
    const next = () => {
      if (study !== id) return;  // replaced by a newer study
      if (!r.ok || r.done === r.heads) return reply(r);
      post({ type: MSG.PROGRESS, id, result: r });
      r = engine.headsNext();
      setTimeout(next, 0);  // one head at a time: generation and other messages go between
    };
    return next();
  }
  reply({ ok: false, message: `unknown inspection '${kind}'` });
}

// Yield to the event loop (so 'stop' can arrive) without setTimeout's 4 ms clamping.
const channel = new MessageChannel();
channel.port1.onmessage = (e) => pump(e.data);
function schedule() {
  channel.port2.postMessage(run.id);
}

// threads > 1: the wasm is the threaded build (shared.js). If it cannot start (wasm-start.js), the
// page is told (THREADS_FAILED) and sends the single-threaded build: the messages that came
// meanwhile wait for it.
async function init(wasm, threads = 1) {
  try {
    settle.resolve(await startBuild(wasm, threads, () => import('../wasm/gpt.mjs'), () => import('../wasm/gpt_mt.mjs')));
  } catch (e) {
    if (threads === 1) return settle.reject(e);
    post({ type: MSG.THREADS_FAILED, message: e.message ?? String(e) });
  }
}

self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === MSG.INIT) init(msg.wasm, msg.threads);
  else if (msg.type === MSG.LOAD_BEGIN || msg.type === MSG.LOAD_PIECE || msg.type === MSG.LOAD_END || msg.type === MSG.LOAD_ABORT) {
    loadQueue = loadQueue.then(() => loadMessage(msg));
  }
  else if (msg.type === MSG.GENERATE) generate(msg);
  else if (msg.type === MSG.INSPECT) inspect(msg);
  else if (msg.type === MSG.STOP && run && (msg.runId === undefined || msg.runId === run.id)) finish('stopped');
};
