// Colour scales for canvas heatmaps: 256-entry lookup tables packed as RGBA uint32 (written
// straight into ImageData), a scale fitted to the data, and a legend drawn on a small canvas.
// Everything but drawLegend is DOM-free (tested in node).

/** Linear interpolation through colour stops [[r, g, b], ...] at t in [0, 1]. */
export function ramp(stops, t) {
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f));
}

// white -> TensorBoard blue -> dark navy (counts and shares)
export const SEQUENTIAL = [[255, 255, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
// blue (fewer now) -> white -> orange (more now), for differences
export const DIVERGING = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [202, 84, 0]];
export const MISSING_RGB = [236, 239, 241];

function pack(r, g, b) {
  // ImageData is RGBA in memory; a little-endian Uint32 view reads it as ABGR
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** Uint32Array(256) of packed colours along `stops` (index 0 = t 0, 255 = t 1). */
export function makeLut(stops) {
  const lut = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = ramp(stops, i / 255);
    lut[i] = pack(r, g, b);
  }
  return lut;
}

export const MISSING = pack(...MISSING_RGB);

/**
 * Position in [0, 1] of v on the square-root scale of [0, max] (so small confusions next to a
 * large diagonal stay visible); NaN stays NaN.
 */
export function sqrtPos(v, max) {
  if (!(max > 0)) return v === v ? 0 : NaN;
  return Math.sqrt(Math.max(0, Math.min(1, v / max)));
}

/** Position in [0, 1] of a signed v on the signed square-root scale of [-max, max] (0 -> 0.5). */
export function signedSqrtPos(v, max) {
  if (v !== v) return NaN;
  if (!(max > 0)) return 0.5;
  const x = Math.max(-1, Math.min(1, v / max));
  return 0.5 + 0.5 * Math.sign(x) * Math.sqrt(Math.abs(x));
}

/**
 * The colour range of a heatmap: [0, 1] when fixed, else the finite values' min and max
 * (widened to at least `minSpan` around their middle, kept inside [0, 1]). Ignores null/NaN.
 */
export function fittedRange(values, fitted, minSpan = 0.05) {
  if (!fitted) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || v === undefined || v !== v) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  if (hi - lo < minSpan) {
    const mid = (lo + hi) / 2;
    lo = Math.max(0, mid - minSpan / 2);
    hi = Math.min(1, lo + minSpan);
    lo = Math.max(0, hi - minSpan);
  }
  return [lo, hi];
}

/** v rescaled from [lo, hi] to [0, 1] (clamped); null/NaN stays NaN. */
export function rescale(v, lo, hi) {
  if (v === null || v === undefined || v !== v) return NaN;
  if (!(hi > lo)) return 0.5;
  return Math.max(0, Math.min(1, (v - lo) / (hi - lo)));
}

/** Fills a legend canvas left to right with cssAt(t) for t in [0, 1]. */
export function drawLegend(canvas, cssAt) {
  const g = canvas.getContext("2d");
  for (let x = 0; x < canvas.width; x++) {
    g.fillStyle = cssAt(x / Math.max(1, canvas.width - 1));
    g.fillRect(x, 0, 1, canvas.height);
  }
}

/** CSS colour of a LUT entry at t in [0, 1]. */
export function lutCss(stops, t) {
  const [r, g, b] = ramp(stops, t);
  return `rgb(${r},${g},${b})`;
}
