// Model files kept in the browser's Cache Storage, so that a checkpoint (GPT-2 small: 500 MB) is
// downloaded once and loads from disk afterwards, also offline. Only complete, verified downloads
// are stored: a cut-off or failed one leaves no entry. Cache Storage is missing outside secure
// contexts and throws in opaque origins (a sandboxed iframe); there nothing is kept and every load
// downloads, as before.
const CACHE = 'gpt-playground-models-v1';

async function open() {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE);
  } catch {
    return null;
  }
}

// The stored response for url, or null.
export async function cachedResponse(url) {
  const cache = await open();
  try {
    return (await cache?.match(url)) ?? null;
  } catch {
    return null;
  }
}

// Stores a complete download (parts: its chunks, in order). Resolves false when it could not be
// kept (no Cache Storage, or over the browser's quota): the model still loads, it just is not kept.
// extraHeaders: {'X-Missing': '1'} records that a folder has no such file.
export async function store(url, parts, byteLength, type, extraHeaders = {}) {
  const cache = await open();
  if (!cache) return false;
  const headers = { 'Content-Type': type || 'application/octet-stream', 'Content-Length': String(byteLength),
                    'X-Stored': new Date().toISOString(), ...extraHeaders };
  try {
    // A Blob lets the browser keep a big file on disk instead of a second copy in memory.
    await cache.put(url, new Response(new Blob(parts), { headers }));
    return true;
  } catch {
    return false;
  }
}

// Stores a download while it streams (body: a ReadableStream of its bytes, total: the length the
// server announced). Resolves true once the whole body is kept; false when it could not be (no
// Cache Storage, the quota, or the body failed or was cancelled: then the browser keeps nothing).
export async function storeStream(url, body, total, type) {
  const cache = await open();
  if (!cache) {
    body.cancel().catch(() => {});
    return false;
  }
  const headers = { 'Content-Type': type || 'application/octet-stream', 'X-Stored': new Date().toISOString() };
  if (total) headers['Content-Length'] = String(total);
  try {
    await cache.put(url, new Response(body, { headers }));
    return true;
  } catch {
    return false;
  }
}

// The files kept: [{url, bytes, stored (Date or null)}], largest first.
export async function listCached() {
  const cache = await open();
  if (!cache) return [];
  const entries = [];
  for (const req of await cache.keys()) {
    const res = await cache.match(req);
    if (res?.headers.has('X-Missing')) continue;
    const stored = res?.headers.get('X-Stored');
    entries.push({ url: req.url, bytes: Number(res?.headers.get('Content-Length')) || 0, stored: stored ? new Date(stored) : null });
  }
  return entries.sort((a, b) => b.bytes - a.bytes);
}

// Forgets one URL, or everything when url is omitted.
export async function forget(url) {
  if (url === undefined) {
    try {
      await caches.delete(CACHE);
    } catch {}
    return;
  }
  const cache = await open();
  await cache?.delete(url);
}
