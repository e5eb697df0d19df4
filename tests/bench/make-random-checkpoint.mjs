// Writes a randomly initialised checkpoint in the engine's format, for benchmarks: GPT-2-small-shaped
// by default (12 layers, 12 heads, 768 wide, vocabulary 50257, context 1024), F16.
//   node tests/bench/make-random-checkpoint.mjs OUT [n_layer n_head n_embd block_size vocab_size]
// The weights are random and small (|w| < 0.125): the speed of a forward pass does not depend on
// their values. The vocabulary is 50257 distinct characters (U+0100 onwards), one per token.
import { closeSync, openSync, writeSync } from 'node:fs';

const [out, ...dims] = process.argv.slice(2);
if (!out) {
  console.error('usage: make-random-checkpoint.mjs OUT [n_layer n_head n_embd block_size vocab_size]');
  process.exit(2);
}
const [L, NH, C, T, V] = dims.length ? dims.map(Number) : [12, 12, 768, 1024, 50257];

const shapes = [['transformer.wte.weight', [V, C]], ['transformer.wpe.weight', [T, C]]];
for (let l = 0; l < L; l++) {
  const p = `transformer.h.${l}.`;
  shapes.push([p + 'ln_1.weight', [C]], [p + 'ln_1.bias', [C]], [p + 'attn.c_attn.weight', [3 * C, C]],
              [p + 'attn.c_attn.bias', [3 * C]], [p + 'attn.c_proj.weight', [C, C]], [p + 'attn.c_proj.bias', [C]],
              [p + 'ln_2.weight', [C]], [p + 'ln_2.bias', [C]], [p + 'mlp.c_fc.weight', [4 * C, C]],
              [p + 'mlp.c_fc.bias', [4 * C]], [p + 'mlp.c_proj.weight', [C, 4 * C]], [p + 'mlp.c_proj.bias', [C]]);
}
shapes.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);

const vocab = Array.from({ length: V }, (_, i) => String.fromCodePoint(0x100 + i));
const header = { __metadata__: { format: 'gpt-playground', n_layer: `${L}`, n_head: `${NH}`, n_embd: `${C}`,
                                 block_size: `${T}`, vocab_size: `${V}`, tokenizer: 'char', vocab: JSON.stringify(vocab) } };
let offset = 0;
for (const [name, shape] of shapes) {
  const bytes = 2 * shape.reduce((a, b) => a * b, 1);
  header[name] = { dtype: 'F16', shape, data_offsets: [offset, offset + bytes] };
  offset += bytes;
}
const json = Buffer.from(JSON.stringify(header));
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(json.length));

const fd = openSync(out, 'w');
writeSync(fd, len);
writeSync(fd, json);
let x = 0x9e3779b9;
for (const [name, shape] of shapes) {
  const n = shape.reduce((a, b) => a * b, 1);
  const h = new Uint16Array(n);
  if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name.endsWith('ln_f.weight')) {
    h.fill(0x3c00);  // 1.0
  } else if (!name.endsWith('.bias')) {
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;  // xorshift32
      // sign, exponent 2^-10 .. 2^-4, random mantissa: a half in (-0.125, 0.125)
      h[i] = ((x >>> 31) << 15) | ((5 + ((x >>> 10) % 7)) << 10) | (x & 0x3ff);
    }
  }
  writeSync(fd, Buffer.from(h.buffer));
}
closeSync(fd);
console.log(`${out}: ${L} layers, ${NH} heads, width ${C}, context ${T}, vocabulary ${V}`);
