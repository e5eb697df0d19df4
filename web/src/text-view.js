// The run's text, one span per token (textContent only: model output is never HTML). Hovering or
// focusing a token shades the earlier tokens it attends to ("head view"); clicking a generated token
// selects its step. Keyboard: the text is one tab stop; arrows move between tokens, Enter selects,
// Escape clears.
const MAX_PROMPT_SHOWN = 2000;  // a huge prompt shows its tail; the model only sees its last block_size

export class TextView {
  constructor(root, { onFocusToken, onSelectToken }) {
    this.root = root;
    this.onFocusToken = onFocusToken;
    this.onSelectToken = onSelectToken;
    this.spans = [];      // token index -> span (undefined for hidden prompt tokens)
    this.first = 0;       // first token shown
    this.cursor = -1;     // keyboard position
    this.shaded = [];

    root.addEventListener('mouseover', (e) => {
      const i = this.indexOf(e.target);
      if (i >= 0) this.onFocusToken(i);
    });
    root.addEventListener('mouseleave', () => this.onFocusToken(this.cursor >= 0 ? this.cursor : -1));
    root.addEventListener('click', (e) => {
      const i = this.indexOf(e.target);
      if (i >= 0) {
        this.moveCursor(i);
        this.onSelectToken(i);
      }
    });
    root.addEventListener('keydown', (e) => this.key(e));
    // Focus by keyboard starts the cursor at the newest token; focus by a click or tap leaves it to
    // the click, which must land on the character pressed (nothing may move or scroll before it).
    // (A tap focuses after pointerup, so the test is "pressed within the last second".)
    this.pressedAt = -Infinity;
    root.addEventListener('pointerdown', () => (this.pressedAt = performance.now()));
    root.addEventListener('focus', () => {
      const pressed = performance.now() - this.pressedAt < 1000;
      if (!pressed && this.cursor < 0 && this.spans.length) this.moveCursor(this.spans.length - 1);
    });
    root.addEventListener('blur', () => this.onFocusToken(-1));
  }

  // Tokens drawn so far (the hidden head of a long prompt included).
  shownCount() {
    return this.spans.length;
  }

  indexOf(el) {
    const i = el?.closest?.('.tok')?.dataset?.i;
    return i === undefined ? -1 : Number(i);
  }

  clear() {
    this.root.replaceChildren();
    this.spans = [];
    this.shaded = [];
    this.cursor = -1;
  }

  // Appends spans for tokens [this.spans.length, run.length).
  update(run) {
    if (this.spans.length === 0 && run.promptLength > MAX_PROMPT_SHOWN) {
      this.first = run.promptLength - MAX_PROMPT_SHOWN;
      const note = document.createElement('span');
      note.className = 'elided';
      note.textContent = `[${this.first.toLocaleString()} earlier prompt characters not shown] `;
      this.root.append(note);
      this.spans.length = this.first;
    } else if (this.spans.length === 0) {
      this.first = 0;
    }
    const frag = document.createDocumentFragment();
    for (let i = this.spans.length; i < run.length; i++) {
      const t = run.tokens[i];
      const s = document.createElement('span');
      s.dataset.i = i;
      s.className = t.generated ? 'tok gen' : 'tok prompt';
      // Newlines get a visible mark, an empty span drawn by CSS, so textContent stays the text.
      t.text.split('\n').forEach((part, k) => {
        if (k > 0) s.append(Object.assign(document.createElement('span'), { className: 'nl' }), '\n');
        if (part) s.append(part);
      });
      this.spans[i] = s;
      frag.append(s);
    }
    this.root.append(frag);
  }

  // weights[k] in [0, 1] for the tokens the focused token attends to; shading is relative to the
  // largest weight so a diffuse head still shows its pattern (the exact value is in the title).
  shade(focus, weights) {
    for (const s of this.shaded) {
      s.style.removeProperty('--w');
      s.classList.remove('attended', 'focus');
      s.removeAttribute('title');
    }
    this.shaded = [];
    if (focus < 0 || !this.spans[focus]) return;
    const max = Math.max(1e-9, ...weights.values());
    for (const [k, w] of weights) {
      const s = this.spans[k];
      if (!s) continue;
      s.style.setProperty('--w', (w / max).toFixed(3));
      s.classList.add('attended');
      s.title = `attention ${w.toFixed(4)}`;
      this.shaded.push(s);
    }
    this.spans[focus].classList.add('focus');
    this.shaded.push(this.spans[focus]);
  }

  markSelected(i) {
    this.root.querySelector('.selected')?.classList.remove('selected');
    this.spans[i]?.classList.add('selected');
  }

  moveCursor(i) {
    const n = this.spans.length;
    if (n === 0) return;
    this.cursor = Math.max(this.first, Math.min(n - 1, i));
    this.reveal(this.spans[this.cursor]);
    this.onFocusToken(this.cursor);
  }

  // Scrolls the text box (never the page) so that span is visible.
  reveal(span) {
    if (!span) return;
    const box = this.root.getBoundingClientRect(), r = span.getBoundingClientRect();
    if (r.top < box.top) this.root.scrollTop -= box.top - r.top;
    else if (r.bottom > box.bottom) this.root.scrollTop += r.bottom - box.bottom;
  }

  key(e) {
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -40, ArrowDown: 40 };
    if (e.key in moves) this.moveCursor(this.cursor + moves[e.key]);
    else if (e.key === 'Home') this.moveCursor(this.first);
    else if (e.key === 'End') this.moveCursor(this.spans.length - 1);
    else if (e.key === 'Enter' || e.key === ' ') this.onSelectToken(this.cursor);
    else if (e.key === 'Escape') {
      this.cursor = -1;
      this.onFocusToken(-1);
    } else return;
    e.preventDefault();
  }
}
