// Viridis (matplotlib; van der Walt & Smith): perceptually uniform and readable with the common
// forms of colour blindness. Ten published stops, linearly interpolated into a 256-entry table.
const STOPS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

// LUT[4*i .. 4*i+3] = RGBA for value i/255.
export const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 4);
  const stops = STOPS.map(rgb);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(x));
    const f = x - k;
    for (let c = 0; c < 3; c++) lut[4 * i + c] = Math.round(stops[k][c] * (1 - f) + stops[k + 1][c] * f);
    lut[4 * i + 3] = 255;
  }
  return lut;
})();

export const GRADIENT_CSS = `linear-gradient(to right, ${STOPS.join(', ')})`;
