// The layer x head grid: one thumbnail button per head (and one for each layer's mean), drawn with
// the same matrices as the large view. The grid is a single tab stop: arrow keys move the
// selection (roving tabindex), click or Enter selects. Each head's tile has a corner switch for the
// head experiments (normal -> off -> uniform -> normal); M on a focused head does the same.
import { paintCells } from './heatmap.js';

export class HeadGrid {
  constructor(root, { onSelect, onMode = () => {} }) {
    this.root = root;
    this.onSelect = onSelect;  // (layer, head | 'mean', fromKeyboard)
    this.onMode = onMode;      // (layer, head): the tile's switch was pressed
    this.L = 0;
    this.NH = 0;
    root.addEventListener('click', (e) => {
      const sw = e.target.closest('.mode');
      if (sw) return this.onMode(Number(sw.dataset.layer), Number(sw.dataset.head));
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
        const tile = document.createElement('div');
        tile.className = 'tile';
        tile.append(btn);
        if (h < NH) {
          btn.setAttribute('aria-keyshortcuts', 'M');
          // Out of the tab order (the grid is one tab stop): M on the head does what a click here does.
          const sw = Object.assign(document.createElement('button'), { type: 'button', className: 'mode', tabIndex: -1 });
          sw.dataset.layer = l;
          sw.dataset.head = h;
          tile.append(sw);
        }
        items.push(tile);
      }
    }
    this.root.replaceChildren(...items);
  }

  // modeOf(l, h) -> 'normal' | 'off' | 'uniform': the tiles and their switches say it.
  setModes(modeOf) {
    const next = { normal: 'off', off: 'uniform', uniform: 'normal' };
    for (const sw of this.root.querySelectorAll('.mode')) {
      const l = Number(sw.dataset.layer), h = Number(sw.dataset.head), mode = modeOf(l, h);
      sw.parentElement.dataset.mode = mode;
      sw.textContent = mode === 'off' ? '×' : mode === 'uniform' ? '=' : '';
      sw.title = `Layer ${l}, head ${h} is ${mode}: click (or press M on the head) to make it ${next[mode]}`;
      sw.setAttribute('aria-label', sw.title);
      sw.previousElementSibling.setAttribute('aria-label', `Layer ${l}, head ${h}${mode === 'normal' ? '' : ` (${mode})`}`);
    }
  }

  // role(l, h) -> 0..1 or null: tints each head's tile (the head roles view), or clears the tint.
  tint(role) {
    for (const tile of this.root.querySelectorAll('.tile')) {
      const btn = tile.firstChild, v = role && btn.dataset.head !== 'mean' ? role(Number(btn.dataset.layer), Number(btn.dataset.head)) : null;
      if (v === null || v === undefined) tile.style.removeProperty('--role');
      else tile.style.setProperty('--role', `${Math.round(Math.max(0, Math.min(1, v)) * 100)}%`);
    }
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
    else if ((e.key === 'm' || e.key === 'M') && h0 !== 'mean') {
      e.preventDefault();
      return this.onMode(l0, h0);
    } else return;
    e.preventDefault();
    this.onSelect(l, h === cols - 1 ? 'mean' : h, true);
  }
}
