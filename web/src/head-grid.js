// The layer x head grid: one thumbnail button per head (and one for each layer's mean), drawn with
// the same matrices as the large view. The grid is a single tab stop: arrow keys move the
// selection (roving tabindex), click or Enter selects.
import { paintCells } from './heatmap.js';

export class HeadGrid {
  constructor(root, { onSelect }) {
    this.root = root;
    this.onSelect = onSelect;  // (layer, head | 'mean', fromKeyboard)
    this.L = 0;
    this.NH = 0;
    root.addEventListener('click', (e) => {
      const btn = e.target.closest('.cell');
      if (btn) this.onSelect(...this.headOf(btn), false);
    });
    root.addEventListener('keydown', (e) => this.key(e));
  }

  headOf(btn) {
    return [Number(btn.dataset.layer), btn.dataset.head === 'mean' ? 'mean' : Number(btn.dataset.head)];
  }

  // Heads across (and the mean last), layers down; the first row and column are the labels.
  build(L, NH) {
    this.L = L;
    this.NH = NH;
    this.root.style.setProperty('--cols', NH + 1);
    const labelCell = (text) => Object.assign(document.createElement('span'), { className: 'grid-label', textContent: text });
    // Many heads: numbers alone (the corner names the axes), so "H10" does not outgrow its column.
    const short = NH > 8;
    const items = [labelCell(short ? 'L\\H' : ''),
                   ...Array.from({ length: NH + 1 }, (_, h) => labelCell(h === NH ? (short ? 'μ' : 'mean') : short ? `${h}` : `H${h}`))];
    for (let l = 0; l < L; l++) {
      items.push(labelCell(short ? `${l}` : `L${l}`));
      for (let h = 0; h <= NH; h++) {
        const name = h === NH ? `Layer ${l}, mean of heads` : `Layer ${l}, head ${h}`;
        const btn = document.createElement('button');
        btn.type = 'button';
        btn.className = 'cell';
        btn.dataset.layer = l;
        btn.dataset.head = h === NH ? 'mean' : h;
        btn.setAttribute('aria-label', name);
        btn.title = name;
        const thumb = document.createElement('canvas');
        thumb.setAttribute('aria-hidden', 'true');  // the button's label names it
        btn.append(thumb);
        items.push(btn);
      }
    }
    this.root.replaceChildren(...items);
  }

  cells() {
    return this.root.querySelectorAll('.cell');
  }

  // Every thumbnail: rows first..last of run, weightAt from the run, on the given colour scale.
  paint(run, first, last, maskedRGB, scale) {
    for (const btn of this.cells()) {
      const [l, h] = this.headOf(btn);
      paintCells(btn.firstChild, first, last, (q, k) => run.weight(l, h, q, k), maskedRGB, scale);
    }
  }

  // Marks the selected head; it alone is in the tab order.
  select(layer, head) {
    for (const btn of this.cells()) {
      const on = Number(btn.dataset.layer) === layer && String(btn.dataset.head) === String(head);
      btn.setAttribute('aria-pressed', String(on));
      btn.tabIndex = on ? 0 : -1;
    }
  }

  focus(layer, head) {
    this.root.querySelector(`.cell[data-layer="${layer}"][data-head="${head}"]`)?.focus();
  }

  key(e) {
    const btn = e.target.closest('.cell');
    if (!btn) return;
    const cols = this.NH + 1;
    const [l0, h0] = this.headOf(btn);
    let l = l0, h = h0 === 'mean' ? cols - 1 : h0;
    if (e.key === 'ArrowRight') h = Math.min(cols - 1, h + 1);
    else if (e.key === 'ArrowLeft') h = Math.max(0, h - 1);
    else if (e.key === 'ArrowDown') l = Math.min(this.L - 1, l + 1);
    else if (e.key === 'ArrowUp') l = Math.max(0, l - 1);
    else return;
    e.preventDefault();
    this.onSelect(l, h === cols - 1 ? 'mean' : h, true);
  }
}
