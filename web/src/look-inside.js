// Looking inside the current run: the head experiments (a head off or uniform, the loss readout,
// the head roles), the math of one attention row with the α slider, and the logit lens. It asks the
// worker (EngineClient.inspect) for the engine's numbers and hands them to the views
// (head-experiments.js, row-math.js, lens-view.js); nothing is recomputed here.
import { cycleHead, headMode, renderLoss, renderRoles } from './head-experiments.js';
import { label } from './format.js';
import { renderLens } from './lens-view.js';
import { renderRowMath } from './row-math.js';

export class LookInside {
  // pg: the <gpt-playground> (its $, s, run, client, grid, detail, generate, stop, requestDraw).
  constructor(pg) {
    this.pg = pg;
    this.$ = pg.$;
    this.row = -1;          // the query row opened in the math panel (a token index), -1: none
    this.alpha = 1;
    this.whole = false;     // α applied to the selected head's whole matrix in the large view
    this.slots = {};        // kind -> {run, key, value}: the engine's last answer, asked again when the key changes
    this.busy = new Set();  // kinds with a question in the worker
    this.drawn = {};        // what the panels show now, to redraw them only when it changes
    this.lastSelected = -1;
    this.alphaRow = null;   // {t, q, row}: the α column, kept while its inputs stay
    this.span = { first: 0, last: -1 };
    this.sortBy = 'lossIncrease';
    this.report = null;     // the head study's latest report
    const canvas = this.$('.learned');
    canvas.tabIndex = 0;
    canvas.setAttribute('aria-keyshortcuts', 'ArrowUp ArrowDown Home End Escape');
    canvas.setAttribute('aria-description', 'Click a row, or use the arrow keys, to see how its weights are computed');
    canvas.addEventListener('click', (e) => {
      const cell = pg.detail.learned.cellAt(e);
      if (cell) this.open(cell.q);
    });
    canvas.addEventListener('keydown', (e) => this.key(e));
    this.$('.alpha').addEventListener('input', (e) => {
      this.alpha = Number(e.target.value);
      this.$('.alpha-value').textContent = this.alpha.toFixed(2);
      pg.requestDraw();
    });
    this.$('.alpha-whole').addEventListener('change', (e) => {
      this.whole = e.target.checked;
      pg.requestDraw();
    });
    this.$('.reset-heads').addEventListener('click', () => this.setHeads({ ablate: '', uniform: '' }));
    this.$('.roles-start').addEventListener('click', () => this.measureRoles());
  }

  open(q) {
    this.row = q;
    this.pg.requestDraw();
  }

  // The large view as a keyboard control: up and down move the opened row, Escape closes it.
  key(e) {
    const { first, last } = this.span, at = this.row < 0 ? last + 1 : this.row;
    const to = { ArrowUp: at - 1, ArrowDown: at + 1, Home: first, End: last, Escape: -1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    this.open(to < 0 ? -1 : Math.max(first, Math.min(last, to)));
  }

  // Head l.h to its next mode; the text is generated again with the same seed.
  cycle(l, h) {
    this.setHeads(cycleHead(this.pg.s, l, h));
  }

  setHeads(lists) {
    const pg = this.pg;
    Object.assign(pg.s, lists);
    pg.emitSettings();
    this.refreshModes();
    if (!pg.run) return;
    if (pg.running) pg.stop();
    pg.generate({ keepSeed: true });
  }

  refreshModes() {
    const s = this.pg.s;
    if (!this.pg.info) return;
    this.pg.grid.setModes((l, h) => headMode(s, l, h));
    this.$('.reset-heads').disabled = !s.ablate && !s.uniform;
  }

  // The engine's answer for (kind, args) on this run, or undefined while it is on its way (a
  // redraw follows its arrival); {error} when the engine refused. One question of a kind at a time:
  // keys held down or a slider dragged ask only for where they are when the last answer comes.
  get(run, kind, args) {
    const key = JSON.stringify(args), slot = this.slots[kind];
    if (slot?.run === run && slot.key === key) return slot.value;
    if (this.busy.has(kind)) return undefined;
    const s = { run, key, value: undefined };
    this.slots[kind] = s;
    this.busy.add(kind);
    this.pg.client.inspect(kind, args)
      .then((v) => (s.value = v), (e) => (s.value = { error: e.message }))
      .finally(() => {
        this.busy.delete(kind);
        this.pg.requestDraw();
      });
    return undefined;
  }

  // state: {first, last, layer, head, headLabel, selected, running}. Returns what the large view
  // draws differently: {highlight: the opened row, weightAt: the head at α when applied to it}.
  update(run, { first, last, layer, head, headLabel, selected, running }) {
    this.span = { first, last };
    if (selected !== this.lastSelected) {
      this.lastSelected = selected;
      if (selected >= 0) this.row = run.tokens[selected].query;
    }
    if (this.row > last) this.row = -1;
    const ready = run.done && !running && this.pg.client;
    const loss = ready ? this.get(run, 'loss', {}) : undefined;
    this.show('loss', [loss], () => {
      renderLoss(this.$('.loss-readout'), loss && !loss.error ? loss : null, this.pg.s);
      if (loss?.error) this.$('.loss-readout').textContent = `No loss readout: ${loss.error}`;
    });
    const look = this.$('.look');
    look.hidden = this.row < 0;
    if (this.row < 0) return {};
    const q = this.row, ws = run.rows[last]?.windowStart ?? 0, name = `“${label(run.tokens[q].label)}” (#${q})`;
    const sameWindow = run.rows[q]?.windowStart === ws;
    const one = head !== 'mean';
    const e = ready && sameWindow && one ? this.get(run, 'explain', { layer, head, pos: q, ws }) : undefined;
    const t = ready && one && (this.alpha < 1 || this.whole) ? this.get(run, 'tempered', { layer, head, alpha: this.alpha, ws }) : undefined;
    const lens = ready && sameWindow ? this.get(run, 'lens', { pos: q, k: 5, ws }) : undefined;
    const why = !run.done || running ? 'The numbers come when the run ends.'
      : !sameWindow ? 'This row was computed in an earlier context window; open a row of the current window.' : '';
    const tOk = t && !t.error ? t : null;
    // Row q of the tempered band (keys ws..q), the same array while t and q stay (show() compares).
    if (this.alphaRow?.t !== tOk || this.alphaRow.q !== q) {
      const at = tOk ? (q - tOk.firstQuery) * tOk.capture : -1;
      this.alphaRow = { t: tOk, q, row: tOk && at >= 0 && q - tOk.capture + 1 <= ws ? tOk.data.subarray(at, at + q - ws + 1) : null };
    }
    const alphaRow = this.alphaRow.row;
    this.show('math', [q, layer, head, e, alphaRow, why], () => {
      this.$('.math-title').textContent = `Row ${name} in ${headLabel}: where its weights come from`;
      const body = this.$('.math-body');
      if (!one) body.textContent = 'Choose one head (not the mean) to see its arithmetic.';
      else if (why || !e) body.textContent = why || 'Asking the engine…';
      else if (e.error) body.textContent = e.error;
      else renderRowMath(body, { run, row: q, windowStart: e.windowStart, e, alpha: this.alpha, alphaRow });
    });
    this.show('lens', [q, lens, why], () => {
      this.$('.lens-title').textContent = `Logit lens at ${name}: what each layer predicts next`;
      const table = this.$('.lens-table');
      if (lens && !lens.error) renderLens(table, lens.layers);
      else table.replaceChildren(Object.assign(document.createElement('caption'), { textContent: lens?.error ?? (why || 'Asking the engine…') }));
    });
    if (!this.whole || !tOk) return { highlight: q };
    const R = tOk.capture;
    return {
      highlight: q,
      weightAt: (qq, k) => {
        const first = Math.max(ws, qq - R + 1);
        if (qq < tOk.firstQuery || k > qq || k < first) return qq < tOk.firstQuery ? run.weight(layer, head, qq, k) : null;
        return tOk.data[(qq - tOk.firstQuery) * R + k - first];
      },
    };
  }

  // Runs draw() when any of deps differs from what panel `name` was last drawn with.
  show(name, deps, draw) {
    const old = this.drawn[name];
    if (old && old.length === deps.length && old.every((d, i) => d === deps[i])) return;
    this.drawn[name] = deps;
    draw();
  }

  // `gpt heads` on the current text, a head at a time in the worker; the table fills as it goes.
  measureRoles() {
    const pg = this.pg;
    if (!pg.client || !pg.info) return;
    const box = this.$('.roles');
    box.hidden = false;
    this.$('.roles-start').setAttribute('aria-expanded', 'true');
    this.$('.roles-status').textContent = 'Measuring…';
    const shown = (r) => {
      this.report = r;
      this.tint();
    };
    pg.client.inspect('heads', { text: pg.run ? pg.run.text() : pg.s.prompt }, shown)
      .then(shown, (e) => (this.$('.roles-status').textContent = `Could not measure the heads: ${e.message}`));
  }

  tint() {
    if (!this.report) return;
    this.pg.grid.tint(renderRoles(this.$('.roles'), this.report, this.sortBy, (key) => {
      this.sortBy = key;
      this.tint();
    }));
  }
}
