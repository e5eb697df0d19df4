// The large view: the selected head over the span on show, beside the uniform average over the
// first positions of the same window (further down its rows are 1/100 ... 1/256, all one colour),
// each filling its figure's width; the captions, the legend, and the tooltip under the pointer.
import { label } from './format.js';
import { DetailView, SCALES } from './heatmap.js';

const TRICK_ROWS = 10;  // the uniform average is shown for the first positions, where 1, 1/2, 1/3 ... differ
const FRACTIONS = ['1', '½', '⅓', '¼', '⅕', '⅙', '⅐', '⅛', '⅑', '⅒'];

export class DetailPanel {
  constructor(root) {
    this.$ = (sel) => root.querySelector(sel);
    this.learned = new DetailView(this.$('.learned'));
    this.trick = new DetailView(this.$('.trick'));
    this.run = null;
    for (const view of [this.learned, this.trick]) {
      view.canvas.addEventListener('mousemove', (e) => this.tooltip(e, view));
      view.canvas.addEventListener('mouseleave', () => (this.$('.tooltip').hidden = true));
    }
  }

  // state: {first, last, selected (token index or -1), layer, head, headLabel, scale, colors}, and
  // from look-inside.js: highlight (the row opened in the math panel), weightAt (the head at α).
  update(run, { first, last, selected, layer, head, headLabel, scale, colors, highlight: opened, weightAt }) {
    this.run = run;
    this.$('.outside-legend').hidden = !(run.rows[last]?.start > first);
    this.$('.scale-name').textContent = scale === 'sqrt' ? '(colour ∝ √weight)' : '(colour ∝ weight)';
    if (last < 0) return;
    const labelsOf = (a, b) => run.tokens.slice(a, b + 1).map((t) => t.label);
    const highlight = opened ?? (selected >= 0 ? run.tokens[selected].query : undefined);
    const maxWidth = Math.max(120, this.$('.learned-fig').clientWidth || 300);
    this.learned.draw({ first, last, labels: labelsOf(first, last), colors, highlight, maxWidth, scale: SCALES[scale],
                        title: weightAt ? `${headLabel} at α` : `Learned: ${headLabel}`,
                        weightAt: weightAt ?? ((q, k) => run.weight(layer, head, q, k)) });
    const before = selected >= 0 && highlight === run.tokens[selected].query ? run.tokens[highlight] : null;
    this.$('.learned-caption').textContent = before
      ? `The outlined row is “${label(before.label)}”: what it attended to when “${label(run.tokens[selected].label)}” was predicted from it.`
      : 'Each row: what that character attends to; the newest is at the bottom.';
    const ws = run.rows[last]?.windowStart ?? 0;
    const n = Math.min(TRICK_ROWS, last - ws + 1);
    this.trick.draw({ first: ws, last: ws + n - 1, labels: labelsOf(ws, ws + n - 1), colors, maxWidth, scale: SCALES.sqrt,
                      title: `Uniform: the first ${n} positions, row t = 1/(t+1)`,
                      weightAt: (q, k) => run.uniform(ws, q, k),
                      cellText: (q) => FRACTIONS[q - ws] ?? `1/${q - ws + 1}` });
  }

  tooltip(e, view) {
    const tip = this.$('.tooltip');
    const cell = this.run && view.cellAt(e);
    if (!cell) {
      tip.hidden = true;
      return;
    }
    const { q, k, w } = cell;
    const t = this.run.tokens;
    tip.textContent = `query “${label(t[q].label)}” #${q} → key “${label(t[k].label)}” #${k}: ` +
      (w === null ? (k > q ? 'masked (the future)' : 'outside the window') : w.toFixed(4));
    const box = this.$('.detail').getBoundingClientRect();
    tip.style.left = `${e.clientX - box.left + 12}px`;
    tip.style.top = `${e.clientY - box.top + 12}px`;
    tip.hidden = false;
  }
}
