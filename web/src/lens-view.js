// The logit lens for one position: each layer's residual stream (after the embedding, after every
// block) through the final LayerNorm and lm_head, its top predictions as bars. The engine computes
// every figure (lens()); the last row is the model's own next-token distribution.
import { label, percent } from './format.js';

// table: the <table>; layers: the engine's [{layer (-1: embedding), top: [{token, label, p}]}].
export function renderLens(table, layers) {
  table.replaceChildren();
  layers.forEach((row, i) => {
    const tr = document.createElement('tr');
    const last = i === layers.length - 1;
    if (last) tr.className = 'real';
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = row.layer < 0 ? 'embedding' : `after block ${row.layer}${last ? ' = output' : ''}`;
    const td = document.createElement('td');
    td.className = 'pred';
    for (const t of row.top) {
      const span = document.createElement('span');
      span.className = 'pp';
      span.dataset.token = t.token;
      span.dataset.p = t.p;
      span.title = `${JSON.stringify(t.label)}: ${t.p.toFixed(5)}`;
      const tok = Object.assign(document.createElement('span'), { className: 'tok-label', textContent: label(t.label) });
      const bar = Object.assign(document.createElement('span'), { className: 'pbar' });
      bar.style.setProperty('--p', t.p.toFixed(4));
      span.append(tok, ' ', bar, percent(t.p));
      td.append(span);
    }
    tr.append(th, td);
    table.append(tr);
  });
}
