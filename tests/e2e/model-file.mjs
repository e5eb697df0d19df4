// Character-level checkpoints of any shape, built in memory for the browser tests (a 12 x 12 model,
// a 48 MB one): the engine's safetensors layout (README, "Weight format"), F32, seeded small random
// weights, layer norms at 1 and biases at 0. The engine validates them like any dropped file.
const VOCAB = [...'\n !\',-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'];

export function charModel({ layers, heads, width, context = 32, vocab = VOCAB, seed = 1 }) {
  const C = width, V = vocab.length, T = context;
  const tensors = [['transformer.wte.weight', [V, C]], ['transformer.wpe.weight', [T, C]]];
  for (let l = 0; l < layers; l++) {
    const h = `transformer.h.${l}.`;
    tensors.push([`${h}ln_1.weight`, [C]], [`${h}ln_1.bias`, [C]],
                 [`${h}attn.c_attn.weight`, [3 * C, C]], [`${h}attn.c_attn.bias`, [3 * C]],
                 [`${h}attn.c_proj.weight`, [C, C]], [`${h}attn.c_proj.bias`, [C]],
                 [`${h}ln_2.weight`, [C]], [`${h}ln_2.bias`, [C]],
                 [`${h}mlp.c_fc.weight`, [4 * C, C]], [`${h}mlp.c_fc.bias`, [4 * C]],
                 [`${h}mlp.c_proj.weight`, [C, 4 * C]], [`${h}mlp.c_proj.bias`, [C]]);
  }
  tensors.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);

  const header = { __metadata__: { format: 'gpt-playground', tokenizer: 'char', vocab: JSON.stringify(vocab),
                                   n_layer: String(layers), n_head: String(heads), n_embd: String(C),
                                   block_size: String(T), vocab_size: String(V) } };
  let offset = 0;
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);  // tensor data 8-byte aligned
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length));
  out.write(json, 8, 'latin1');
  const data = new Float32Array(out.buffer, out.byteOffset + 8 + json.length, offset / 4);
  let x = seed >>> 0;
  for (const [name, shape] of tensors) {
    const { data_offsets: [a, b] } = header[name];
    const weight = shape.length === 2;
    const one = /ln_\d\.weight|ln_f\.weight/.test(name);
    for (let i = a / 4; i < b / 4; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      data[i] = weight ? ((x / 2 ** 32) - 0.5) * 0.1 : one ? 1 : 0;
    }
  }
  return out;
}
