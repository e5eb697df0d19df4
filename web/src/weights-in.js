// "Weights in memory": the format the engine keeps a model's weight matrices in (float32, float16
// or int8 with a scale per 32 weights; README, "Weights in memory"), as the select in the model
// section, the `weights-in` attribute and the URL's `weights` key set it. A change reloads the model.
import { bytes } from './format.js';

const NAMES = { f32: 'float32', f16: 'float16', int8: 'int8' };

// The info line's value: "1.9 MiB, int8".
export function weightsLine(info) {
  return `${bytes(info.weightsBytes)}, ${NAMES[info.weightsIn] ?? info.weightsIn}`;
}

// The select drives the setting; the setting's change reloads what is loaded (or being loaded).
export function bindWeightsIn(el) {
  const select = el.$('select[name=weightsIn]');
  select.addEventListener('change', () => {
    el.applySettings({ weightsIn: select.value });
    el.emitSettings();  // the page's URL keeps it
  });
  return {
    sync: (s) => { if (select.value !== s.weightsIn) select.value = s.weightsIn; },
    changed: (before, s) => {
      if (before === s.weightsIn || !el.client || !el.lastLoad) return;
      el.loadWeights(el.loadedSource ?? el.lastLoad);
    },
  };
}
