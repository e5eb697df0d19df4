// What every playground on a page shares: the compiled wasm module and downloaded weights. Each
// element has its own worker (runs are independent and can use several cores), but the wasm is
// fetched and compiled once and each weights URL is downloaded once.
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
// Downloaded weights stay cached for playgrounds that start later, up to this size; a bigger file
// (GPT-2: 500 MB) is only shared by the playgrounds already waiting for it, not kept in memory.
const KEEP_BYTES = 64 << 20;

// The bytes at url, downloaded once however many elements ask; onProgress(loaded, total) reports
// the shared download (total is 0 when the server does not say).
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

async function download(url, onProgress) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not download ${url}: the network request failed`);
  }
  if (!res.ok) throw new Error(`could not download ${url}: HTTP ${res.status} ${res.statusText}`.trim());
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
    throw new Error(`the download of ${url} was cut off: received ${loaded} of ${total} bytes`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes.buffer;
}
