// Attention matrices on canvas. Rows are queries, columns are keys, both a span of absolute token
// positions [first, last]; cell colour is the weight on the viridis scale, and cells a query cannot
// see (the future: the causal mask) get their own neutral colour so the triangle stays visible.
import { LUT } from './colormap.js';
import { label } from './format.js';

// Colour scales: weight in [0, 1] -> position on the colour map. The square root spreads out the
// small weights that most attention rows are made of; linear shows the values as they are.
export const SCALES = { sqrt: Math.sqrt, linear: (w) => w };

// Paints one cell per pixel into canvas (resized to n x n). weightAt(q, k) -> number | null; null is
// drawn in colors.masked where k > q (the causal mask) and in colors.outside where k <= q (keys that
// slid out of the context window). colors: {masked: [r, g, b], outside: [r, g, b]}.
export function paintCells(canvas, first, last, weightAt, colors, scale = SCALES.linear) {
  const n = Math.max(0, last - first + 1);
  if (canvas.width !== n || canvas.height !== n) {
    canvas.width = n;
    canvas.height = n;
  }
  if (n === 0) return;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(n, n);
  const px = img.data;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const w = weightAt(first + i, first + j);
      const o = 4 * (i * n + j);
      if (w === null) {
        const c = j > i ? colors.masked : colors.outside;
        px[o] = c[0];
        px[o + 1] = c[1];
        px[o + 2] = c[2];
      } else {
        const c = 4 * Math.max(0, Math.min(255, Math.round(scale(w) * 255)));
        px[o] = LUT[c];
        px[o + 1] = LUT[c + 1];
        px[o + 2] = LUT[c + 2];
      }
      px[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

// The large view of one matrix: cells scaled up, the tokens as row and column labels, a title, and
// a highlighted query row. Drawn entirely on the canvas, so "export PNG" exports what is seen.
export class DetailView {
  constructor(canvas) {
    this.canvas = canvas;
    this.cells = document.createElement('canvas');
    this.layout = null;  // {first, n, cell, margin, top, weightAt}: what was drawn, for cellAt()
  }

  // labels: token texts of the span; colors: {text, muted, masked, outside, background, highlight};
  // cellText(q, k): text to print inside a cell when it is large enough (the trick's fractions).
  // The matrix always fits maxWidth: with many rows a cell is less than a pixel wide rather than
  // the canvas wider than its figure.
  draw({ first, last, weightAt, labels, title, colors, highlight, maxWidth, scale, cellText }) {
    const n = Math.max(0, last - first + 1);
    paintCells(this.cells, first, last, weightAt, colors, scale);
    // Labels: one character per token for a char model, whole sub-words (cut at 8 characters) for
    // BPE; the margin fits the longest, and the key labels run upwards so long ones do not collide.
    const texts = labels.map((t) => (t.length > 8 ? `${label(t.slice(0, 7))}…` : label(t)));
    const measure = this.canvas.getContext('2d');
    measure.font = '11px ui-monospace, monospace';
    const longest = Math.min(90, Math.max(0, ...texts.map((t) => measure.measureText(t).width)));
    const margin = Math.ceil(longest + 8);
    const cell = Math.min(cellText ? 30 : 22, (maxWidth - margin - 4) / Math.max(n, 1));
    // Rows too thin for a label each get one every `every` positions (multiples, so labels do not
    // jump while the text streams).
    const every = Math.ceil(9 / cell);
    const top = 22 + margin;
    const size = n * cell;
    const dpr = window.devicePixelRatio || 1;
    const W = Math.ceil(margin + size + 4), H = Math.ceil(top + size + 4);
    this.canvas.width = Math.round(W * dpr);
    this.canvas.height = Math.round(H * dpr);
    this.canvas.style.width = `${W}px`;
    this.canvas.style.height = `${H}px`;
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = colors.background;
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = colors.text;
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.fillText(title, 0, 2, W);
    if (n === 0) return;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.cells, margin, top, size, size);
    ctx.font = `${Math.min(12, Math.max(9, cell))}px ui-monospace, monospace`;
    ctx.textBaseline = 'middle';
    ctx.fillStyle = colors.muted;
    for (let i = 0; i < n; i++) {
      if ((first + i) % every) continue;
      const at = i * cell + (every === 1 ? cell / 2 : 0.5);
      ctx.textAlign = 'right';
      ctx.fillText(texts[i], margin - 4, top + at);  // queries, down the left
      ctx.save();  // keys, along the top, reading upwards
      ctx.translate(margin + at, top - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(texts[i], 0, 0);
      ctx.restore();
    }
    if (cellText && cell >= 16) {
      ctx.textAlign = 'center';
      ctx.font = `${Math.floor(cell * 0.5)}px system-ui, sans-serif`;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          const w = weightAt(first + i, first + j);
          if (w === null) continue;
          ctx.fillStyle = scale(w) > 0.6 ? '#000' : '#fff';  // dark on the bright end of viridis
          ctx.fillText(cellText(first + i, first + j), margin + (j + 0.5) * cell, top + (i + 0.5) * cell);
        }
      }
    }
    if (highlight !== undefined && highlight >= first && highlight <= last) {
      ctx.strokeStyle = colors.highlight;
      ctx.lineWidth = 2;
      ctx.strokeRect(margin - 1, top + (highlight - first) * cell - 1, size + 2, cell + 2);
    }
    this.layout = { first, n, cell, margin, top, every, weightAt };
  }

  // {q, k, w} under a mouse event (w: the weight drawn there, null where masked), or null.
  cellAt(event) {
    const L = this.layout;
    if (!L) return null;
    const r = this.canvas.getBoundingClientRect();
    const x = event.clientX - r.left - L.margin, y = event.clientY - r.top - L.top;
    const j = Math.floor(x / L.cell), i = Math.floor(y / L.cell);
    if (i < 0 || j < 0 || i >= L.n || j >= L.n) return null;
    const q = L.first + i, k = L.first + j;
    return { q, k, w: L.weightAt(q, k) };
  }
}
