// The playground's settings: one schema for the controls, the URL hash (page.js) and the widget's
// attributes. Every value read from outside is clamped to its range; nothing invalid gets through.
export const DEFAULT_PROMPT = 'ROMEO:\nBut soft, what light through yonder window breaks?\n';

// name -> {type, default, min, max, hash: the short key used in URLs}
export const SCHEMA = {
  prompt: { type: 'string', default: DEFAULT_PROMPT, hash: 'prompt' },
  seed: { type: 'int', default: 1337, min: 0, max: 4294967295, hash: 'seed' },
  randomSeed: { type: 'bool', default: false, hash: 'random' },
  maxTokens: { type: 'int', default: 200, min: 1, max: 5000, hash: 'tokens' },
  temperature: { type: 'float', default: 0.8, min: 0, max: 2, hash: 'temperature' },
  topK: { type: 'int', default: 0, min: 0, max: 1000000, hash: 'top_k' },
  topP: { type: 'float', default: 1, min: 0.01, max: 1, hash: 'top_p' },
  layer: { type: 'int', default: 0, min: 0, max: 1000, hash: 'layer' },
  // A head index, or 'mean' (of the layer's heads). Head 1 of layer 0 is the shipped model's
  // previous-character head: the clearest pattern to open on.
  head: { type: 'head', default: 1, hash: 'head' },
  span: { type: 'int', default: 64, min: 8, max: 256, hash: 'span' },
  scale: { type: 'enum', values: ['sqrt', 'linear'], default: 'sqrt', hash: 'scale' },
  // Head experiments: heads switched off / made uniform, as "L.H,L.H" (the CLI's --ablate / --uniform).
  ablate: { type: 'heads', default: '', hash: 'ablate' },
  uniform: { type: 'heads', default: '', hash: 'uniform' },
  // The format the engine keeps the weight matrices in (README, "Weights in memory"); a change
  // reloads the model.
  weightsIn: { type: 'enum', values: ['auto', 'f32', 'f16', 'int8'], default: 'auto', hash: 'weights' },
};

export function defaults() {
  return Object.fromEntries(Object.entries(SCHEMA).map(([k, s]) => [k, s.default]));
}

// A value from text (a URL, an attribute, an input) in its type and range, or undefined.
export function parseValue(name, text) {
  const s = SCHEMA[name];
  if (!s || text == null) return undefined;
  switch (s.type) {
    case 'string':
      return String(text);
    case 'enum':
      return s.values.includes(text) ? text : undefined;
    case 'heads': {  // "L.H,L.H" with spaces dropped; the engine checks the heads exist in the model
      const t = String(text).replace(/\s+/g, '');
      return /^(\d+\.\d+(,\d+\.\d+)*)?$/.test(t) ? t : undefined;
    }
    case 'bool':
      return text === '' || text === 'true' || text === '1' || text === true;
    case 'head':
      if (text === 'mean') return 'mean';
    // falls through: a head number
    case 'int':
    case 'float': {
      const x = Number(text);
      if (text === '' || !Number.isFinite(x)) return undefined;
      const v = s.type === 'float' ? x : Math.round(x);
      return Math.min(s.max ?? Infinity, Math.max(s.min ?? 0, v));
    }
  }
  return undefined;
}

export function toHash(settings) {
  const p = new URLSearchParams();
  for (const [name, s] of Object.entries(SCHEMA)) {
    if (settings[name] !== undefined) p.set(s.hash, String(settings[name]));
  }
  return '#' + p.toString();
}

export function fromHash(hash) {
  return fromParams(new URLSearchParams(hash.replace(/^#/, '')));
}

// Settings from URL parameters (the hash of the page, the query of embed.html), by their short keys.
export function fromParams(p) {
  const out = {};
  for (const [name, s] of Object.entries(SCHEMA)) {
    const v = parseValue(name, p.get(s.hash));
    if (v !== undefined) out[name] = v;
  }
  return out;
}

export function randomSeed() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
