// What every playground on a page shares: the compiled wasm module and downloaded weights. Each
// element has its own worker (runs are independent and can use several cores), but the wasm is
// fetched and compiled once and each weights URL is downloaded once.
import { cachedResponse, forget, store } from './model-cache.js';

const WASM_URL = new URL('../wasm/gpt.wasm', import.meta.url).href;

let wasm = null;
export function wasmModule() {
  wasm ??= (async () => {
    const res = await fetch(WASM_URL);
    if (!res.ok) throw new Error(`could not download the engine (${WASM_URL}): HTTP ${res.status}`);
    // compileStreaming needs the server to say application/wasm; compile the bytes otherwise.
    return (res.headers.get('Content-Type') || '').startsWith('application/wasm')
      ? WebAssembly.compileStreaming(res)
      : WebAssembly.compile(await res.arrayBuffer());
  })();
  wasm.catch(() => (wasm = null));  // a failed download can be retried
  return wasm;
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
