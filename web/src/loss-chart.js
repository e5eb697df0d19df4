// The training curves on one canvas: the loss of every step (faint), its running average (the train
// curve) and the validation loss at each snapshot, against the step, with the whole schedule as
// the x axis so the curve fills it as the run goes.
const SMOOTH = 0.9;  // the running average's weight on the past

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.clear(1);
  }

  clear(steps) {
    this.steps = steps;      // the schedule's length: the x axis
    this.train = [];         // train[i]: the loss of step i + 1
    this.smooth = [];        // its running average (bias-corrected, as Adam's moments)
    this.val = [];           // [step, loss]
    this.avg = 0;
  }

  addTrain(losses) {
    for (const l of losses) {
      this.train.push(l);
      this.avg = SMOOTH * this.avg + (1 - SMOOTH) * l;
      this.smooth.push(this.avg / (1 - SMOOTH ** this.train.length));
    }
  }

  addVal(step, loss) {
    if (loss !== null) this.val.push([step, loss]);
  }

  get lastSmooth() {
    return this.smooth.at(-1) ?? null;
  }

  // colors: {text, muted, accent, val, grid, background}
  draw(colors) {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const W = c.clientWidth || 300, H = c.clientHeight || 180;
    if (c.width !== Math.round(W * dpr) || c.height !== Math.round(H * dpr)) {
      c.width = Math.round(W * dpr);
      c.height = Math.round(H * dpr);
    }
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = colors.background;
    ctx.fillRect(0, 0, W, H);
    const left = 34, right = 8, top = 8, bottom = 20;
    const all = [...this.train, ...this.val.map((v) => v[1])];
    const yMax = Math.max(1, Math.ceil(Math.max(...all, 0)));
    const yMin = Math.max(0, Math.floor(Math.min(...all, yMax) - 0.25));
    const x = (step) => left + ((W - left - right) * step) / Math.max(1, this.steps);
    const y = (loss) => top + ((H - top - bottom) * (yMax - loss)) / Math.max(1e-9, yMax - yMin);
    ctx.font = '10.5px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeStyle = colors.grid;
    ctx.fillStyle = colors.muted;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const yStep = yMax - yMin > 4 ? 1 : 0.5;
    for (let v = yMin; v <= yMax + 1e-9; v += yStep) {
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y(v)) + 0.5);
      ctx.lineTo(W - right, Math.round(y(v)) + 0.5);
      ctx.stroke();
      ctx.fillText(v.toFixed(yStep < 1 ? 1 : 0), left - 4, y(v));
    }
    ctx.textBaseline = 'top';
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      ctx.textAlign = f === 1 ? 'right' : 'center';  // the last label ends at the edge rather than past it
      ctx.fillText(String(Math.round(f * this.steps)), x(f * this.steps), H - bottom + 5);
    }
    const line = (points, color, width, alpha = 1) => {
      if (points.length === 0) return;
      ctx.globalAlpha = alpha;
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      points.forEach(([s, l], i) => (i ? ctx.lineTo(x(s), y(l)) : ctx.moveTo(x(s), y(l))));
      ctx.stroke();
      ctx.globalAlpha = 1;
    };
    line(this.train.map((l, i) => [i + 1, l]), colors.accent, 1, 0.25);
    line(this.smooth.map((l, i) => [i + 1, l]), colors.accent, 2);
    line(this.val, colors.val, 2);
    ctx.fillStyle = colors.val;
    for (const [s, l] of this.val) {
      ctx.beginPath();
      ctx.arc(x(s), y(l), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}
