// Serves the playground as static files: web/ at /, the wasm build at /wasm/, the shipped weights
// at /weights/, the same layout as the built folder (npm run build). No framework: a few lines of
// node:http with the right MIME types (application/wasm for streaming compilation).
//
//   node scripts/serve.mjs [--port 8080] [--csp] [--no-isolate]
// --csp: send the strict Content-Security-Policy. By default the page is cross-origin isolated
// (ISOLATION_HEADERS), so it runs the threaded engine; --no-isolate serves it as a blog host without
// those headers would (one thread). Everything the page loads is same-origin, so require-corp
// blocks nothing.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";
// What makes a page cross-origin isolated (self.crossOriginIsolated, SharedArrayBuffer: wasm threads).
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
  '.md': 'text/markdown; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
};

// URL prefix -> folder. Longest prefix first.
export const DEV_ROUTES = [
  ['/wasm/', join(root, 'build', 'wasm')],
  ['/weights/', join(root, 'weights')],
  ['/', join(root, 'web')],
];

// Resolves a URL path to a file inside one of the routes' folders, or null (no escaping them).
function resolve(routes, urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  if (path.endsWith('/')) path += 'index.html';
  for (const [prefix, dir] of routes) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    if (file !== dir && !file.startsWith(dir + sep)) return null;
    return file;
  }
  return null;
}

// handlers: {'/path': (req, res) => void} answered before the routes (the tests use it to serve
// broken downloads).
export function serve({ port = 8080, host = '127.0.0.1', routes = DEV_ROUTES, csp = false, isolate = false, log = false, handlers = {} } = {}) {
  const server = createServer((req, res) => {
    const handler = handlers[req.url.split('?')[0]];
    if (handler) return handler(req, res);
    const file = resolve(routes, req.url);
    let stat = null;
    try {
      stat = file && statSync(file);
    } catch {}
    if (!stat || !stat.isFile() || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(stat ? 405 : 404, { 'Content-Type': 'text/plain' });
      res.end(stat ? 'method not allowed' : 'not found');
      if (log) console.log(`404 ${req.url}`);
      return;
    }
    const headers = {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Content-Length': stat.size,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    };
    if (csp) headers['Content-Security-Policy'] = STRICT_CSP;
    if (isolate) Object.assign(headers, ISOLATION_HEADERS);
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolveListen(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const port = Number(args[args.indexOf('--port') + 1]) || Number(process.env.PORT) || 8080;
  const server = await serve({ port, csp: args.includes('--csp'), isolate: !args.includes('--no-isolate'), log: true }).catch((e) => {
    console.error(`serve: cannot listen on port ${port}: ${e.message}`);
    process.exit(1);
  });
  console.log(`gpt-playground: http://localhost:${server.address().port}/  (Ctrl-C to stop)` +
    (args.includes('--no-isolate') ? '' : ', cross-origin isolated: the threaded engine'));
}
