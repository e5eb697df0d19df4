// What every playground on a page shares: the compiled wasm module and downloaded weights. Each
// element has its own worker (runs are independent and can use several cores), but the wasm is
// fetched and compiled once and each weights URL is downloaded once.
import { cachedResponse, forget, store } from './model-cache.js';

// The engine in two builds: single-threaded, and with wasm threads (SharedArrayBuffer), which only a
// cross-origin isolated page may use (served with COOP same-origin + COEP require-corp, as npm start
// does). A blog post without those headers gets the single-threaded one and never fetches the other.
const WASM_URLS = {
  single: new URL('../wasm/gpt.wasm', import.meta.url).href,
  threaded: new URL('../wasm/gpt_mt.wasm', import.meta.url).href,
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

// The compiled engine for a playground and its thread count: the threaded build where the page may
// use it (falling back to the single-threaded one if that build is missing), else the single one.
export async function engineModule() {
  const threads = engineThreads();
  if (threads > 1) {
    try {
      return { wasm: await wasmModule('threaded'), threads };
    } catch {}
  }
  return { wasm: await wasmModule('single'), threads: 1 };
}

const downloads = new Map();  // absolute URL -> {promise, listeners: Set<(loaded, total) => void>}
// Downloaded weights stay in memory for playgrounds that start later, up to this size; a bigger file
// (GPT-2: 500 MB) is only shared by the playgrounds already waiting for it, and is read back from the
// browser's Cache Storage (model-cache.js) by later ones.
const KEEP_BYTES = 64 << 20;

// The bytes at url, downloaded once however many elements ask (and once per browser, where Cache
// Storage is available); onProgress(loaded, total) reports the shared download (total is 0 when the
// server does not say).
export function fetchWeights(url, onProgress) {
  let d = downloads.get(url);
  if (!d) {
    d = { listeners: new Set() };
    d.promise = download(url, (loaded, total) => d.listeners.forEach((f) => f(loaded, total)));
    d.promise.then((bytes) => bytes.byteLength > KEEP_BYTES && downloads.delete(url), () => downloads.delete(url));
    downloads.set(url, d);
  }
  d.listeners.add(onProgress);
  return d.promise.finally(() => d.listeners.delete(onProgress));
}

// Files a model folder may hold beside model.safetensors, laid out like a Hugging Face repository.
// tokenizer.json is preferred; vocab.json + merges.txt are fetched only where it is missing.
const FOLDER_SIDE_FILES = ['config.json', 'tokenizer.json'];
const FOLDER_BPE_FILES = ['vocab.json', 'merges.txt'];

// A model by URL: a .safetensors file, or a folder (a URL ending in '/') holding model.safetensors
// and its side files. Resolves {bytes: ArrayBuffer (a copy of its own), extras: {file: text}}.
export async function fetchModel(url, onProgress) {
  if (!url.endsWith('/')) {
    return { bytes: (await fetchWeights(url, onProgress)).slice(0), extras: {} };
  }
  const side = async (names) => Object.fromEntries((await Promise.all(names.map(async (n) => [n, await fetchSideFile(url + n)])))
    .filter(([, text]) => text !== null));
  const [weights, extras] = await Promise.all([fetchWeights(url + 'model.safetensors', onProgress), side(FOLDER_SIDE_FILES)]);
  if (!('tokenizer.json' in extras)) Object.assign(extras, await side(FOLDER_BPE_FILES));
  return { bytes: weights.slice(0), extras };
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

async function download(url, onProgress) {
  let res = await cachedResponse(url);
  const fromCache = res !== null;
  if (!fromCache) {
    try {
      res = await fetch(url);
    } catch (e) {
      throw new Error(`could not download ${url}: the network request failed`);
    }
    if (!res.ok) throw new Error(`could not download ${url}: HTTP ${res.status} ${res.statusText}`.trim());
  }
  const total = Number(res.headers.get('Content-Length')) || 0;
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch {
      throw new Error(`the download of ${url} was cut off after ${loaded}${total ? ` of ${total}` : ''} bytes`);
    }
    const { done, value } = chunk;
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  if (total > 0 && loaded !== total) {
    if (fromCache) await forget(url);  // a damaged entry: the next load downloads again
    throw new Error(`the download of ${url} was cut off: received ${loaded} of ${total} bytes`);
  }
  // Only now, complete and verified, is the file kept.
  if (!fromCache) await store(url, chunks, loaded, res.headers.get('Content-Type'));
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes.buffer;
}
