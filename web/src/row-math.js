// The math of one attention row: for the selected query, q, every visible key k_j, q·k_j, the score
// q·k_j/√d_k, the masked future, the softmax weights and what the weighted values add up to. Every
// number is the engine's (explain(), tempered()); this module only draws them. Vectors are coloured
// strips (one cell per dimension; hovering names the dimension and its value), so a head of size 48
// or 64 reads as a picture rather than a wall of digits.
import { label } from './format.js';

// A signed value as RGBA: blue below zero, orange above, as opaque as |value| / m (m = the largest
// |value| of the strips compared), so zero is the panel's own colour in either theme.
function diverging(v, m) {
  const t = Math.min(1, Math.abs(v) / (m || 1));
  return [...(v < 0 ? [49, 104, 196] : [222, 110, 20]), Math.round(255 * t)];
}

// values (a Float32Array of one vector); m: the scale shared by the strips that are compared.
export function strip(values, m, name) {
  const c = document.createElement('canvas');
  c.className = 'strip';
  c.width = values.length;
  c.height = 1;
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(values.length, 1);
  values.forEach((v, i) => img.data.set(diverging(v, m), 4 * i));
  ctx.putImageData(img, 0, 0);
  c.title = `${name}: ${values.length} numbers (hover for each)`;
  c.addEventListener('mousemove', (e) => {
    const i = Math.min(values.length - 1, Math.floor(((e.clientX - c.getBoundingClientRect().left) / c.clientWidth) * values.length));
    c.title = `${name}[${i}] = ${values[i].toFixed(4)}`;
  });
  return c;
}

const el = (tag, className, text) => Object.assign(document.createElement(tag), { className, textContent: text ?? '' });
const maxAbs = (a) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

// body: the panel's container. x: {run, row (token index), windowStart, e (explain's result),
// alpha, alphaRow (softmax(α·scores) for the row, keys windowStart..row, or null)}.
export function renderRowMath(body, { run, row, windowStart, e, alpha, alphaRow }) {
  const hs = e.headSize, n = e.probs.length;
  const m = Math.max(maxAbs(e.q), maxAbs(e.k));
  const steps = el('div', 'math-steps');
  const note = e.mode === 'off' ? ' This head is switched off: its output is zero whatever the weights.'
    : e.mode === 'uniform' ? ' This head is made uniform: it uses the causal average instead of softmax(scores).' : '';
  steps.append(el('span', 'what', `q (query of “${label(run.tokens[row].label)}”, ${hs} numbers)`), strip(e.q, m, 'q'),
               el('span', 'what', `output = Σ weight_j · v_j (${hs} numbers)`), strip(e.out, maxAbs(e.out), 'output'));
  const how = el('p', 'look-note', `score_j = q·k_j ÷ √${hs} (× ${e.scale.toFixed(4)}). Keys after #${row} are the future: masked ` +
    `(−∞ before the softmax), weight 0. weight_j = softmax(scores)_j = exp(score_j) / Σ exp(score_i).${note} ` +
    'Strips: one cell per dimension, blue below zero, orange above (hover for the value).');

  const keys = el('div', alphaRow ? 'keys with-alpha' : 'keys');
  keys.setAttribute('role', 'table');
  keys.setAttribute('aria-label', 'The visible keys, their scores and weights');
  const heads = ['key', `k_j (${hs})`, 'q·k_j', `÷√${hs}`, 'weight', ...(alphaRow ? [`α=${alpha.toFixed(2)}`] : [])];
  for (const h of heads) keys.append(el('span', 'k-head', h));
  for (let j = n - 1; j >= 0; j--) {  // the query's own key first: the nearest characters lead
    const k = windowStart + j;
    const tok = el('span', 'tok-label', label(run.tokens[k]?.label ?? '?'));
    tok.title = `key #${k}`;
    const w = el('span', 'num weight', e.probs[j].toFixed(4));
    w.dataset.key = k;
    w.dataset.p = e.probs[j];
    keys.append(tok, strip(e.k.subarray(j * hs, (j + 1) * hs), m, `k_${k}`), el('span', 'num', e.dots[j].toFixed(3)),
                el('span', 'num', e.scores[j].toFixed(3)), w);
    if (!alphaRow) continue;
    const a = el('span', 'num alpha-weight', alphaRow[j].toFixed(4));
    a.title = `softmax(α · scores) at α = ${alpha}`;
    a.dataset.p = alphaRow[j];
    keys.append(a);
  }
  const future = run.length - 1 - row;
  if (future > 0) keys.append(el('span', 'masked', '…'), el('span', 'masked', `${future} later positions: masked, −∞ → weight 0`),
                              el('span'), el('span'), el('span', 'num masked', '0'), ...(alphaRow ? [el('span', 'num masked', '0')] : []));
  body.replaceChildren(steps, how, keys);
}
