// Files a reader drops or picks: which is the checkpoint, which side files the engine reads, and
// what it ignores (a Hugging Face model folder also holds tokenizer_config.json,
// generation_config.json, README.md ...). Then the checkpoint's bytes, refused by size before
// reading: the browser's own message for a file it cannot read talks of "permission problems".
import { bytes } from './format.js';

// Files that may come beside the weights (the engine's checkpoint.h).
export const SIDE_FILES = ['tokenizer.json', 'vocab.json', 'merges.txt', 'config.json'];
// The engine converts a file as it arrives into weights that take at least half as many bytes
// (int8 from F16), beside the run state, in a wasm memory of 4 GiB: past this, a file cannot load.
export const MAX_FILE_BYTES = 2 ** 31;

const isWeights = (f) => /\.safetensors$/i.test(f.name);

// -> {weights: File, extras: [File], ignored: [names]} or {error: message}.
export function sortFiles(files) {
  const weights = files.filter(isWeights);
  const extras = files.filter((f) => SIDE_FILES.includes(f.name));
  const ignored = files.filter((f) => !isWeights(f) && !SIDE_FILES.includes(f.name)).map((f) => f.name);
  if (weights.length === 1) return { weights: weights[0], extras, ignored };
  if (weights.length > 1) return { error: `Drop one weights file at a time (got ${weights.map((f) => f.name).join(', ')}).` };
  const named = [...extras.map((f) => f.name), ...ignored];
  return { error: `Add the weights (a .safetensors file)${named.length ? ` together with ${named.join(' and ')}` : ''}.` };
}

// The note shown when a model loaded with side files left aside.
export function ignoredNote(ignored) {
  return ignored.length ? ` Ignored ${ignored.join(', ')}: the engine does not read ${ignored.length === 1 ? 'it' : 'them'}.` : '';
}

// A dropped checkpoint as a source for the engine (engine-client.js): its size, its bytes as a
// stream of pieces (read as the engine converts them: the file is never in memory whole), and the
// text of its side files.
export async function readFiles({ weights, extras }) {
  if (weights.size >= MAX_FILE_BYTES) {
    throw new Error(`the file is ${bytes(weights.size)}, too large: the page loads checkpoints under ${bytes(MAX_FILE_BYTES)} ` +
                    '(the engine\'s wasm memory is 4 GiB)');
  }
  try {
    return {
      size: weights.size,
      pieces: filePieces(weights),
      name: weights.name,
      extras: Object.fromEntries(await Promise.all(extras.map(async (f) => [f.name, await f.text()]))),
    };
  } catch (e) {
    throw unreadable(e);
  }
}

// NotReadableError: the file changed or vanished since it was picked, or the browser refused it.
const unreadable = (e) => new Error(`the browser could not read the file (${e.name}); pick it again`);

async function* filePieces(file) {
  const reader = file.stream().getReader();
  try {
    for (;;) {
      let r;
      try {
        r = await reader.read();
      } catch (e) {
        throw unreadable(e);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}
