// One generation as the page keeps it: every token, and for every token that served as a query its
// attention row in every layer and head. Positions here are absolute indices into the run's tokens;
// the engine's window positions are translated once, on arrival.
import { promptRowLength, rowIndex, rowSize } from './protocol.js';

export class Run {
  constructor(info, settings) {
    this.info = info;
    this.settings = settings;
    this.L = info.nLayer;
    this.NH = info.nHead;
    this.tokens = [];  // {text, label, generated, prob?, top?, query?}: query = the token whose row drew it;
                       // text = the characters this token completes (a BPE token may hold part of one)
    this.rows = [];    // rows[q] = {start, windowStart, data}: data (L, NH, q - start + 1) over keys start..q,
                       // the band the engine keeps (all of the window for contexts up to 256)
    this.promptLength = 0;
    this.tokensPerSec = 0;
    this.done = false;
  }

  // The prompt's tokens and the attention rows the engine kept for its last positions: att holds,
  // for window positions q = firstQuery.., (L, NH, len_q) with len_q = min(q + 1, capture).
  setPrompt(m) {
    this.tokens = Array.from(m.tokens, (token, i) => ({ token, text: m.texts[i], label: m.labels[i], generated: false }));
    this.promptLength = this.tokens.length;
    const n = this.promptLength - m.windowStart;
    let at = 0;
    for (let q = m.firstQuery; q < n; q++) {
      const len = promptRowLength(q, m.capture);
      const size = rowSize(this.L, this.NH, len);
      this.rows[m.windowStart + q] = { start: m.windowStart + q - len + 1, windowStart: m.windowStart,
                                       data: m.att.subarray(at, at + size) };
      at += size;
    }
  }

  // One engine step: the drawn token, and the rows of the query it was drawn after.
  addStep(item) {
    const query = item.windowStart + item.pos;
    this.rows[query] = { start: item.keyStart, windowStart: item.windowStart, data: item.rows };
    this.tokens.push({ text: item.text, label: item.label, generated: true, prob: item.prob, top: item.top, token: item.token, query });
  }

  // Keeps the first n tokens (n >= the prompt): Stop ends the run at what was on screen.
  truncate(n) {
    this.tokens.length = Math.max(this.promptLength, Math.min(n, this.tokens.length));
  }

  get length() {
    return this.tokens.length;
  }

  text(from = 0) {
    return this.tokens.slice(from).map((t) => t.text).join('');
  }

  // Attention of query q on key k in layer l, head h ('mean': the layer's average), or null where q
  // does not see k (the future, or before its window).
  weight(l, h, q, k) {
    const row = this.rows[q];
    if (!row || k > q || k < row.start) return null;
    const len = q - row.start + 1;
    const j = k - row.start;
    if (h === 'mean') {
      let s = 0;
      for (let hh = 0; hh < this.NH; hh++) s += row.data[rowIndex(this.NH, len, l, hh, j)];
      return s / this.NH;
    }
    return row.data[rowIndex(this.NH, len, l, h, j)];
  }

  // The "mathematical trick" for a window starting at windowStart: every visible key weighted
  // 1 / (number visible), null for the future.
  uniform(windowStart, q, k) {
    return k > q || k < windowStart ? null : 1 / (q - windowStart + 1);
  }

  // Everything needed to redraw the run elsewhere, as plain JSON.
  toJSON() {
    const round = (x) => Math.round(x * 1e6) / 1e6;
    return {
      format: 'gpt-playground attention v1',
      model: this.info,
      settings: this.settings,
      tokens: this.tokens.map((t, i) => ({ index: i, token: t.token, text: t.text, label: t.label, generated: t.generated,
                                          prob: t.prob, drawnAfter: t.query })),
      attention: {
        layout: 'weights[layer][head][key - start] for keys start..query',
        rows: this.rows.flatMap((row, q) => {
          if (!row) return [];
          const len = q - row.start + 1;
          const weights = [];
          for (let l = 0; l < this.L; l++) {
            weights.push([]);
            for (let h = 0; h < this.NH; h++) {
              const at = rowIndex(this.NH, len, l, h, 0);
              weights[l].push(Array.from(row.data.subarray(at, at + len), round));
            }
          }
          return [{ query: q, start: row.start, weights }];
        }),
      },
    };
  }
}
