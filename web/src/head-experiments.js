// Head experiments: which heads are switched off or made uniform (the settings' ablate and uniform
// lists, "L.H,L.H", as the CLI's --ablate / --uniform), the loss readout, and the head roles table
// (the figures of `gpt heads`, measured by the engine in the worker). The grid's tiles show the
// modes and are tinted by the chosen role.
import { count } from './format.js';

const NEXT = { normal: 'off', off: 'uniform', uniform: 'normal' };
const ROLE_COLUMNS = [
  ['lossIncrease', 'loss ↑ off'], ['prevToken', 'prev. token'], ['induction', 'induction'], ['entropy', 'entropy'],
];

const list = (s) => (s ? s.split(',') : []);

// The mode of head l.h in settings s.
export function headMode(s, l, h) {
  const id = `${l}.${h}`;
  return list(s.ablate).includes(id) ? 'off' : list(s.uniform).includes(id) ? 'uniform' : 'normal';
}

// The settings' lists with head l.h moved on to its next mode (normal -> off -> uniform -> normal).
export function cycleHead(s, l, h) {
  const id = `${l}.${h}`, next = NEXT[headMode(s, l, h)];
  const without = (x) => list(x).filter((e) => e !== id);
  return { ablate: [...without(s.ablate), ...(next === 'off' ? [id] : [])].join(','),
           uniform: [...without(s.uniform), ...(next === 'uniform' ? [id] : [])].join(',') };
}

// {loss, baseline, targets} from the engine's windowLoss(), as one sentence.
export function renderLoss(p, r, s) {
  p.replaceChildren();
  if (!r) return;
  const changed = [list(s.ablate).length && `${list(s.ablate).length} off`, list(s.uniform).length && `${list(s.uniform).length} uniform`].filter(Boolean);
  p.append(`Mean next-token loss of this text (${count(r.targets)} predictions): `);
  const now = Object.assign(document.createElement('strong'), { className: 'loss-now', textContent: `${r.loss.toFixed(3)} nats` });
  now.dataset.loss = r.loss;
  p.append(now);
  if (!changed.length) return p.append(' with every head normal.');
  const d = r.loss - r.baseline;
  const delta = Object.assign(document.createElement('span'), { className: d > 0 ? 'worse' : '', textContent: `${d >= 0 ? '+' : ''}${d.toFixed(3)}` });
  p.append(` with ${changed.join(' and ')}, `, Object.assign(document.createElement('span'), { className: 'loss-base', textContent: `${r.baseline.toFixed(3)} nats` }),
           ' with every head normal (', delta, ').');
}

// The head roles: report is the engine's headsStart/headsNext result; sortBy one of ROLE_COLUMNS'
// keys; onSort(key) when a header is pressed. Returns role(l, h) -> 0..1 for the grid's tint.
export function renderRoles(box, report, sortBy, onSort) {
  const progress = box.querySelector('.roles-progress');
  progress.max = report.heads;
  progress.value = report.done;
  box.querySelector('.roles-status').textContent = report.done < report.heads
    ? `Switching each head off in turn: ${report.done} of ${report.heads} measured (loss ${report.loss.toFixed(3)} nats with all heads)…`
    : `All ${report.heads} heads measured on this text (loss ${report.loss.toFixed(3)} nats with all heads). The grid is tinted by the sorted column.`;
  const table = box.querySelector('.roles-table');
  const head = document.createElement('tr');
  head.append(Object.assign(document.createElement('th'), { textContent: 'head' }));
  for (const [key, name] of ROLE_COLUMNS) {
    const th = document.createElement('th');
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: `${name}${key === sortBy ? ' ▼' : ''}` });
    b.addEventListener('click', () => onSort(key));
    th.setAttribute('aria-sort', key === sortBy ? 'descending' : 'none');
    th.append(b);
    head.append(th);
  }
  const rows = [...report.roles].sort((a, b) => (b[sortBy] ?? -Infinity) - (a[sortBy] ?? -Infinity));
  table.replaceChildren(head, ...rows.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.head = `${r.layer}.${r.head}`;
    tr.append(Object.assign(document.createElement('th'), { scope: 'row', textContent: `${r.layer}.${r.head}` }));
    for (const [key] of ROLE_COLUMNS) tr.append(Object.assign(document.createElement('td'), { textContent: r[key] === null ? '…' : r[key].toFixed(3) }));
    return tr;
  }));
  const values = report.roles.map((r) => r[sortBy]).filter((v) => v !== null);
  const lo = Math.min(...values), hi = Math.max(...values);
  const byHead = new Map(report.roles.map((r) => [`${r.layer}.${r.head}`, r[sortBy]]));
  return (l, h) => {
    const v = byHead.get(`${l}.${h}`);
    return v === null || v === undefined || !(hi > lo) ? null : (v - lo) / (hi - lo);
  };
}
