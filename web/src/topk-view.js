// The next-token distribution of one step: the most likely candidates as bars, the drawn one marked.
import { label, percent } from './format.js';

export function renderTopK(list, top, drawn) {
  list.replaceChildren();
  if (!top) return;
  const max = Math.max(...top.map((t) => t.p), 1e-9);
  for (const t of top) {
    const li = document.createElement('li');
    if (drawn !== undefined && t.token === drawn) li.className = 'drawn';
    const tok = document.createElement('span');
    tok.className = 'tok-label';
    tok.textContent = label(t.label);
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.setProperty('--p', (t.p / max).toFixed(4));
    const p = document.createElement('span');
    p.className = 'p';
    p.textContent = percent(t.p);
    li.append(tok, bar, p);
    li.title = `${JSON.stringify(t.label)}: probability ${t.p.toFixed(5)}${li.className ? ' (drawn)' : ''}`;
    list.append(li);
  }
}
