// npm run build, last step: the self-contained, versioned folder a blogger copies to any static
// host, dist/gpt-playground-<version>/. Relative URLs only, nothing from a CDN.
//
//   index.html, embed.html    the full page and the iframe route
//   src/                      the <gpt-playground> element, its worker and styles (ES modules as written)
//   wasm/                     the engine (Emscripten ES module + wasm), its threaded build (gpt_mt.*), and
//                             the training engine's two builds (gpt-train.*, gpt-train_mt.*)
//   weights/                  the shipped model and its card
//   data/                     the Train view's default text (fetched only when that view opens)
//   examples/blog-post.html   an article with two widgets
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
export const distDir = join(root, 'dist', `gpt-playground-${version}`);

// The widget's own files (everything but the page chrome) and the engine: what a post downloads
// before the weights. Not the threaded engine (gpt_mt.*): only a cross-origin isolated page loads it,
// which a blog host is not unless it chooses to be; nor the training engine (gpt-train.*), which
// loads when a reader opens the Train view (its JS modules, loaded then too, are counted).
export function widgetFiles(dir) {
  const src = readdirSync(join(dir, 'src')).filter((f) => !['page.js', 'embed.js', 'cache-list.js'].includes(f)).map((f) => join(dir, 'src', f));
  return [...src, join(dir, 'wasm', 'gpt.mjs'), join(dir, 'wasm', 'gpt.wasm')];
}

export function gzipSize(file) {
  return gzipSync(readFileSync(file), { level: 9 }).length;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rmSync(distDir, { recursive: true, force: true });
  mkdirSync(distDir, { recursive: true });
  for (const f of ['index.html', 'embed.html', 'page.css', 'embed.css', 'favicon.svg']) cpSync(join(root, 'web', f), join(distDir, f));
  cpSync(join(root, 'web', 'src'), join(distDir, 'src'), { recursive: true });
  cpSync(join(root, 'web', 'examples'), join(distDir, 'examples'), { recursive: true });
  cpSync(join(root, 'web', 'data'), join(distDir, 'data'), { recursive: true });
  mkdirSync(join(distDir, 'wasm'));
  // The threaded engine, which only a cross-origin isolated page loads, and the training engine,
  // which only the Train view's worker loads, in its two builds likewise (web/src/shared.js).
  for (const f of ['gpt.mjs', 'gpt.wasm', 'gpt_mt.mjs', 'gpt_mt.wasm', 'gpt_mt.worker.js', 'gpt-train.mjs', 'gpt-train.wasm',
                   'gpt-train_mt.mjs', 'gpt-train_mt.wasm', 'gpt-train_mt.worker.js']) {
    cpSync(join(root, 'build', 'wasm', f), join(distDir, 'wasm', f));
  }
  mkdirSync(join(distDir, 'weights'));
  for (const f of ['shakespeare-char.safetensors', 'MODEL_CARD.md']) cpSync(join(root, 'weights', f), join(distDir, 'weights', f));
  writeFileSync(join(distDir, 'VERSION'), `${version}\n`);

  const files = widgetFiles(distDir);
  const raw = files.reduce((s, f) => s + statSync(f).size, 0);
  const gz = files.reduce((s, f) => s + gzipSize(f), 0);
  const weights = statSync(join(distDir, 'weights', 'shakespeare-char.safetensors')).size;
  console.log(`package: ${distDir}`);
  console.log(`  widget JS + CSS + wasm: ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip (${files.length} files)`);
  const train = ['gpt-train.mjs', 'gpt-train.wasm'].reduce((s, f) => s + gzipSize(join(distDir, 'wasm', f)), 0);
  console.log(`  the training engine, loaded when the Train view opens: ${(train / 1024).toFixed(1)} KiB gzip`);
  console.log(`  weights: ${(weights / 1024 / 1024).toFixed(2)} MiB`);
}
