// embed.html: the playground for hosts that only allow iframes. The query string sets it up:
//   embed.html?prompt=...&seed=...&tokens=...&temperature=...&top_k=...&top_p=...&layer=...&head=...
//              &view=both|text|attention|trick&controls=full|minimal|none&theme=auto|light|dark
//              &autoplay=1&src=weights.safetensors&ablate=0.1,2.3&uniform=1.0
// src must be on the same origin as this page: an embed link cannot make the frame fetch elsewhere.
// The frame tells its parent how tall it is ({type: 'gpt-playground:height', height}) whenever
// that changes, so a host page can size the iframe to fit (the README's snippet).
import './gpt-playground.js';
import { fromParams } from './settings.js';

const params = new URLSearchParams(location.search);
const el = document.querySelector('gpt-playground');
for (const name of ['view', 'theme', 'controls']) {
  if (params.has(name)) el.setAttribute(name, params.get(name));
}
if (params.get('autoplay') === '1' || params.get('autoplay') === 'true') el.setAttribute('autoplay', '');
if (params.has('src')) {
  const src = new URL(params.get('src'), location.href);
  if (src.origin === location.origin) el.setAttribute('src', src.href);
  else console.warn(`embed.html: ignoring src on another origin (${src.origin})`);
}
el.applySettings(fromParams(params));

if (window.parent !== window) {
  let last = 0;
  new ResizeObserver(() => {
    const height = Math.ceil(el.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: 'gpt-playground:height', height }, '*');  // a height is no secret
  }).observe(el);
}
