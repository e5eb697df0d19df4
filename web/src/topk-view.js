// The next-token distribution of one step: the most likely candidates as bars, the drawn one marked.
// With top-k or top-p on, candidates the filters removed are struck through, and where the engine
// reports it (item.q), each kept candidate shows the renormalised probability it was drawn with.
// Nothing is recomputed here: kept and q come from the engine's sampler (worker.js).
import { label, percent } from './format.js';

// top: [{token, label, p, kept?, q?}], most likely first; settings: the run's {topK, topP}.
export function renderTopK(list, top, drawn, settings = {}) {
  list.replaceChildren();
  const note = list.parentElement?.querySelector('.topk-note');
  if (note) note.hidden = true;
  if (!top) return;
  const max = Math.max(...top.map((t) => t.p), 1e-9);
  for (const t of top) {
    const li = document.createElement('li');
    if (drawn !== undefined && t.token === drawn) li.classList.add('drawn');
    if (t.kept === false) li.classList.add('removed');
    const tok = document.createElement('span');
    tok.className = 'tok-label';
    tok.textContent = label(t.label);
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.setProperty('--p', (t.p / max).toFixed(4));
    const p = document.createElement('span');
    p.className = 'p';
    p.textContent = t.kept === false ? `removed (${percent(t.p)})` : t.q !== undefined ? `${percent(t.p)} → ${percent(t.q)}` : percent(t.p);
    li.append(tok, bar, p);
    li.title = `${JSON.stringify(t.label)}: probability ${t.p.toFixed(5)}` +
      (t.kept === false ? ', removed by the filters before drawing' : t.q !== undefined ? `, ${t.q.toFixed(5)} after the filters` : '') +
      (li.classList.contains('drawn') ? ' (drawn)' : '');
    list.append(li);
  }
  const filters = settings.temperature === 0 ? ['greedy decoding (temperature 0)']
    : [settings.topK > 0 && `top-k ${settings.topK}`, settings.topP < 1 && `top-p ${settings.topP}`].filter(Boolean);
  if (note && filters.length) {
    const removed = top.filter((t) => t.kept === false).length;
    note.textContent = `${filters.join(' and ')}: ${removed} of these ${top.length} candidates ${removed === 1 ? 'was' : 'were'} removed ` +
      'before the draw' + (top.some((t) => t.q !== undefined) ? '; the kept ones were drawn with the renormalised probabilities after the arrow.' : '.');
    note.hidden = false;
  }
}
