// Attention matrices on canvas. Rows are queries, columns are keys, both a span of absolute token
// positions [first, last]; cell colour is the weight on the viridis scale, and cells a query cannot
// see (the future: the causal mask) get their own neutral colour so the triangle stays visible.
import { LUT } from './colormap.js';
import { label } from './format.js';

// Colour scales: weight in [0, 1] -> position on the colour map. The square root spreads out the
// small weights that most attention rows are made of; linear shows the values as they are.
export const SCALES = { sqrt: Math.sqrt, linear: (w) => w };

// Paints one cell per pixel into canvas (resized to n x n). weightAt(q, k) -> number | null.
export function paintCells(canvas, first, last, weightAt, maskedRGB, scale = SCALES.linear) {
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
        px[o] = maskedRGB[0];
        px[o + 1] = maskedRGB[1];
        px[o + 2] = maskedRGB[2];
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

  // labels: token texts of the span; colors: {text, muted, masked: [r,g,b], background, highlight}
  draw({ first, last, weightAt, labels, title, colors, highlight, maxWidth, scale }) {
    const n = Math.max(0, last - first + 1);
    paintCells(this.cells, first, last, weightAt, colors.masked, scale);
    // Labels: one character per token for a char model, whole sub-words (cut at 8 characters) for
    // BPE; the margin fits the longest, and the key labels run upwards so long ones do not collide.
    const texts = labels.map((t) => (t.length > 8 ? `${label(t.slice(0, 7))}…` : label(t)));
    const measure = this.canvas.getContext('2d');
    measure.font = '11px ui-monospace, monospace';
    const longest = Math.max(0, ...texts.map((t) => measure.measureText(t).width));
    let cell = Math.max(3, Math.min(22, Math.floor((maxWidth - 24) / Math.max(n, 1))));
    const showLabels = cell >= 9;
    const margin = showLabels ? Math.ceil(Math.min(90, longest) + 8) : 4;
    if (showLabels) cell = Math.max(9, Math.min(cell, Math.floor((maxWidth - margin - 4) / Math.max(n, 1))));
    const top = 22 + margin;
    const size = n * cell;
    const dpr = window.devicePixelRatio || 1;
    const W = margin + size + 4, H = top + size + 4;
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
    ctx.fillText(title, 0, 2);
    if (n === 0) return;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.cells, margin, top, size, size);
    if (showLabels) {
      ctx.font = `${Math.min(12, cell)}px ui-monospace, monospace`;
      ctx.textBaseline = 'middle';
      ctx.fillStyle = colors.muted;
      for (let i = 0; i < n; i++) {
        ctx.textAlign = 'right';
        ctx.fillText(texts[i], margin - 4, top + i * cell + cell / 2);  // queries, down the left
        ctx.save();  // keys, along the top, reading upwards
        ctx.translate(margin + i * cell + cell / 2, top - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'left';
        ctx.fillText(texts[i], 0, 0);
        ctx.restore();
      }
    }
    if (highlight !== undefined && highlight >= first && highlight <= last) {
      ctx.strokeStyle = colors.highlight;
      ctx.lineWidth = 2;
      ctx.strokeRect(margin - 1, top + (highlight - first) * cell - 1, size + 2, cell + 2);
    }
    this.layout = { first, n, cell, margin, top, weightAt };
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
