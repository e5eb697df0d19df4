// What every playground on a page shares: the compiled wasm module and downloaded weights. Each
// element has its own worker (runs are independent and can use several cores), but the wasm is
// fetched and compiled once and each weights URL is downloaded once.
import { cachedResponse, forget, store, storeStream } from './model-cache.js';

// The engine in two builds: single-threaded, and with wasm threads (SharedArrayBuffer), which only a
// cross-origin isolated page may use (served with COOP same-origin + COEP require-corp, as npm start
// does). A blog post without those headers gets the single-threaded one and never fetches the other.
const WASM_URLS = {
  single: new URL('../wasm/gpt.wasm', import.meta.url).href,
  threaded: new URL('../wasm/gpt_mt.wasm', import.meta.url).href,
  // The training engine (engine/bindings/train.cpp), for the Train view's worker only: a post that
  // never opens that view never downloads it. Also in two builds, on the same terms.
  train: new URL('../wasm/gpt-train.wasm', import.meta.url).href,
  trainThreaded: new URL('../wasm/gpt-train_mt.wasm', import.meta.url).href,
};
const MAX_THREADS = 4;  // past a few, decode is bound by memory bandwidth, and the machine is shared

// Threads the engine may use here: 1 unless the page is cross-origin isolated.
export function engineThreads() {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1));
}

const compiled = {};  // kind -> Promise<WebAssembly.Module>
export function wasmModule(kind = 'single') {
  const url = WASM_URLS[kind];
  let wasm = compiled[kind];
  wasm ??= compiled[kind] = (async () => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`could not download the engine (${url}): HTTP ${res.status}`);
    // compileStreaming needs the server to say application/wasm; compile the bytes otherwise.
    return (res.headers.get('Content-Type') || '').startsWith('application/wasm')
      ? WebAssembly.compileStreaming(res)
      : WebAssembly.compile(await res.arrayBuffer());
  })();
  wasm.catch(() => delete compiled[kind]);  // a failed download can be retried
  return wasm;
}

// The threaded builds a worker of this page could not start although they compiled (their glue or
// pthread workers failed to load: wasm-start.js): the page's later workers skip them.
const threadedFailed = new Set();

// The compiled build for a worker and its thread count: the threaded build where the page may use
// it (falling back to the single-threaded one if that build is missing), else the single one.
async function buildFor(single, threaded) {
  const threads = threadedFailed.has(threaded) ? 1 : engineThreads();
  if (threads > 1) {
    try {
      return { wasm: await wasmModule(threaded), threads };
    } catch {}
  }
  return { wasm: await wasmModule(single), threads: 1 };
}

// The engine for a playground's worker (worker.js), and the training engine for the Train view's
// (train-worker.js).
export const engineModule = () => buildFor('single', 'threaded');
export const trainModule = () => buildFor('train', 'trainThreaded');

// A worker could not start the threaded build: the single-threaded one for it (compiled once for
// the page, like any), and for every worker of that kind the page starts from now on.
export function engineModuleWithoutThreads() {
  threadedFailed.add('threaded');
  return engineModule();
}
export function trainModuleWithoutThreads() {
  threadedFailed.add('trainThreaded');
  return trainModule();
}

// Model files arrive as a stream of pieces that go straight on to the engine's worker, which
// converts them as they come (engine loader.h): neither the page nor the worker ever holds a whole
// checkpoint (GPT-2 small: 500 MB). A source is {size, extras, pieces} with pieces an async
// iterable of Uint8Arrays (the file's bytes, in order); stopping the iteration early lets the
// download go.

const downloads = new Map();  // absolute URL -> Download under way
// A download is shared by the playgrounds that ask for its URL while it runs: its pieces are kept
// for ones that join late as long as they total at most this (the shipped model, 7.5 MB); past it
// a late one waits for the end and reads the file back from Cache Storage (or downloads it again
// where there is none).
const KEEP_BYTES = 64 << 20;

// A file's pieces, fanned out to subscribers, each with its own queue.
class Download {
  constructor(url, onEnd) {
    this.url = url;
    this.kept = [];            // pieces so far, while they total at most KEEP_BYTES; null after
    this.keptBytes = 0;
    this.subscribers = new Set();
    this.size = null;          // resolves with {size, fromCache} once the response has arrived
    this.finished = false;
    this.error = null;
    this.onEnd = onEnd;
    this.ended = new Promise((resolve) => (this.markEnded = resolve));  // however it ends
    this.started = this.start();
  }

  async start() {
    this.abort = new AbortController();
    const { res, fromCache } = await openResponse(this.url, this.abort.signal);
    const total = Number(res.headers.get('Content-Length')) || 0;
    let body = res.body;
    let stored = null;
    if (!fromCache) {
      // Kept in Cache Storage while it streams; a download that fails or comes up short leaves no entry.
      const [forCache, forUs] = body.tee();
      body = forUs;
      stored = storeStream(this.url, forCache, total, res.headers.get('Content-Type'));
    }
    this.reader = body.getReader();
    this.pump(total, fromCache, stored);
    return { size: total, fromCache };
  }

  async pump(total, fromCache, stored) {
    let loaded = 0;
    try {
      for (;;) {
        let chunk;
        try {
          chunk = await this.reader.read();
        } catch {
          throw new Error(`the download of ${this.url} was cut off after ${loaded}${total ? ` of ${total}` : ''} bytes`);
        }
        if (chunk.done) break;
        loaded += chunk.value.length;
        if (this.kept) {
          this.keptBytes += chunk.value.length;
          if (this.keptBytes <= KEEP_BYTES) this.kept.push(chunk.value);
          else this.kept = null;
        }
        for (const s of this.subscribers) s.push(chunk.value, loaded, total);
      }
      if (total > 0 && loaded !== total) {
        if (fromCache) await forget(this.url);  // a damaged entry: the next load downloads again
        throw new Error(`the download of ${this.url} was cut off: received ${loaded} of ${total} bytes`);
      }
      if (stored && !(await stored)) await forget(this.url);  // the cache's copy did not complete
      this.finished = true;
      for (const s of this.subscribers) s.end();
    } catch (e) {
      this.error = e;
      if (stored) stored.then(() => forget(this.url));
      for (const s of this.subscribers) s.fail(e);
    } finally {
      this.onEnd(this);
      this.markEnded();
    }
  }

  // A new reader of this download: its pieces so far (when kept) then the rest as they come; null
  // when it is too late to join.
  subscribe(onProgress) {
    if (this.error || (!this.kept && this.keptBytes > 0)) return null;
    const q = new PieceQueue(onProgress, () => {
      this.subscribers.delete(q);
      // Nobody reads it any more: the download stops (both branches of the tee), and the cache
      // keeps nothing of it.
      if (this.subscribers.size === 0 && !this.finished) this.abort.abort();
    });
    let at = 0;
    for (const piece of this.kept ?? []) q.push(piece, (at += piece.length), 0);
    if (this.finished) q.end();
    this.subscribers.add(q);
    return q;
  }
}

// An async iterator over pieces pushed to it; return() (a for-await loop left early) unsubscribes.
class PieceQueue {
  constructor(onProgress, onClose) {
    this.items = [];
    this.waiting = null;
    this.done = false;
    this.error = null;
    this.onProgress = onProgress;
    this.onClose = onClose;
  }
  push(piece, loaded, total) {
    this.items.push(piece);
    this.onProgress(loaded, total);
    this.wake();
  }
  end() { this.done = true; this.wake(); }
  fail(e) { this.error = e; this.wake(); }
  wake() {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }
  async next() {
    for (;;) {
      if (this.items.length) return { value: this.items.shift(), done: false };
      if (this.error) throw this.error;
      if (this.done) return this.close();
      await new Promise((r) => (this.waiting = r));
    }
  }
  close() {
    this.onClose();
    this.onClose = () => {};
    return { value: undefined, done: true };
  }
  async return() { return this.close(); }
  [Symbol.asyncIterator]() { return this; }
}

// The response for url: from Cache Storage when kept there, else from the network.
async function openResponse(url, signal) {
  const kept = await cachedResponse(url);
  if (kept) return { res: kept, fromCache: true };
  let res;
  try {
    res = await fetch(url, { signal });
  } catch {
    throw new Error(`could not download ${url}: the network request failed`);
  }
  if (!res.ok) throw new Error(`could not download ${url}: HTTP ${res.status} ${res.statusText}`.trim());
  return { res, fromCache: false };
}

// The weights at url as a source {size, pieces}, downloaded once however many playgrounds ask (and
// once per browser, where Cache Storage is available); onProgress(loaded, total) reports it (total
// is 0 when the server does not say).
export async function openWeights(url, onProgress) {
  for (;;) {
    let d = downloads.get(url);
    if (!d) {
      // A finished download stays for playgrounds that start later when its pieces were kept.
      d = new Download(url, (done) => (done.error || !done.kept) && downloads.get(url) === done && downloads.delete(url));
      downloads.set(url, d);
      d.started.catch(() => downloads.get(url) === d && downloads.delete(url));
    }
    const { size } = await d.started;
    if (d.error) throw d.error;
    const pieces = d.subscribe(onProgress);
    if (pieces) return { size, pieces };
    // Too late to join a big download: wait for its end (it has left `downloads` then), and read the
    // file back (from the cache).
    await d.ended;
  }
}

// Files a model folder may hold beside model.safetensors, laid out like a Hugging Face repository.
// tokenizer.json is preferred; vocab.json + merges.txt are fetched only where it is missing.
const FOLDER_SIDE_FILES = ['config.json', 'tokenizer.json'];
const FOLDER_BPE_FILES = ['vocab.json', 'merges.txt'];

// A model by URL: a .safetensors file, or a folder (a URL ending in '/') holding model.safetensors
// and its side files. Resolves a source {size, pieces, extras: {file: text}}.
export async function openModel(url, onProgress) {
  if (!url.endsWith('/')) return { ...(await openWeights(url, onProgress)), extras: {} };
  const side = async (names) => Object.fromEntries((await Promise.all(names.map(async (n) => [n, await fetchSideFile(url + n)])))
    .filter(([, text]) => text !== null));
  const [weights, extras] = await Promise.all([openWeights(url + 'model.safetensors', onProgress), side(FOLDER_SIDE_FILES)]);
  if (!('tokenizer.json' in extras)) Object.assign(extras, await side(FOLDER_BPE_FILES));
  return { ...weights, extras };
}

// What to call a model URL in messages: its file name, or a folder's name with its slash.
export function modelName(url) {
  return url.endsWith('/') ? `${url.split('/').slice(-2)[0]}/` : url.split('/').pop();
}

// A side file's text, or null when the folder does not have it (404).
// Where Cache Storage is available, that a file is missing is kept too, so that a second load of
// the folder makes no request at all.
async function fetchSideFile(url) {
  const kept = await cachedResponse(url);
  if (kept) return kept.headers.has('X-Missing') ? null : kept.text();
  let res;
  try {
    res = await fetch(url);
  } catch {
    throw new Error(`could not download ${url}: the network request failed`);
  }
  if (res.status === 404) {
    await store(url, [], 0, 'text/plain', { 'X-Missing': '1' });
    return null;
  }
  if (!res.ok) throw new Error(`could not download ${url}: HTTP ${res.status} ${res.statusText}`.trim());
  const text = await res.text();
  await store(url, [text], new TextEncoder().encode(text).length, res.headers.get('Content-Type'));
  return text;
}
