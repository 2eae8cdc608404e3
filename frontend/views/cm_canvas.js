// Painting of the confusion matrix: the layout, the cells at one pixel each into a Uint32 RGBA
// buffer (paintCells, DOM-free, tested in node) and the overlay with class names, numbers and
// the selected cell (drawOverlay, on a 2D canvas context).

import { COLORS } from "../style.js";
import { fmtCount } from "../format.js";
import { densify } from "./matrix.js";
import { makeLut, sqrtPos, signedSqrtPos, SEQUENTIAL, DIVERGING, MISSING } from "./heat.js";

const FONT = '11px Roboto, "Helvetica Neue", Arial, sans-serif';
export const MAX_SIDE = 760;
const MAX_CELL = 46; // px: a few classes do not fill the page
const NAMES_MIN_CELL = 9; // px: class names on the axes from this cell size up
export const NUMBERS_MIN_CELL = 30; // px: numbers inside cells from this size up

// Colour of a linear position quantised to 1/RES (sequential: on the square-root scale of
// [0, max]; diverging: on the signed square-root scale of [-max, max]): no Math.sqrt per cell.
const RES = 4096;
const SEQ = makeLut(SEQUENTIAL);
const DIV = makeLut(DIVERGING);
export const SEQ_LIN = new Uint32Array(RES + 1);
export const DIV_LIN = new Uint32Array(RES + 1);
for (let k = 0; k <= RES; k++) {
  SEQ_LIN[k] = SEQ[Math.round(sqrtPos(k / RES, 1) * 255)];
  DIV_LIN[k] = DIV[Math.round(signedSqrtPos(2 * k / RES - 1, 1) * 255)];
}

/** Where the matrix goes in a box `boxWidth` px wide: {width, height, x0, y0, side, cell, names}. */
export function layout(boxWidth, C) {
  const width = Math.max(240, boxWidth - 4);
  const names = Math.min(MAX_SIDE, width - 130) / C >= NAMES_MIN_CELL;
  const margin = names ? 120 : 22;
  const side = Math.max(100, Math.min(MAX_SIDE, width - margin - 4, C * MAX_CELL));
  const cell = side / C;
  return { width, x0: margin, y0: margin, side, cell, height: side + margin + 4, names };
}

/**
 * Colours the C x C cells into `pixels` (Uint32Array(C*C), packed RGBA) at their display places
 * (`at[class]` = display position): zero cells in one fill, the rows / columns marked missing
 * grey, then the non-zero cells of `v` (a `matrix.sparseValues` result with `max`, `diverging`
 * and `off`: grey diagonal). O(C^2 / fill speed + non-zero cells).
 */
export function paintCells(pixels, C, at, v) {
  const lin = v.diverging ? DIV_LIN : SEQ_LIN;
  const max = v.max;
  const scale = max > 0 ? (v.diverging ? RES / (2 * max) : RES / max) : 0;
  const shift = v.diverging ? RES / 2 : 0;
  pixels.fill(lin[(shift + 0.5) | 0]);
  for (let r = 0; r < C; r++) {
    if (v.missingRows[r]) pixels.fill(MISSING, at[r] * C, at[r] * C + C);
    if (v.missingCols[r]) for (let i = 0; i < C; i++) pixels[i * C + at[r]] = MISSING;
  }
  const nz = v.nz;
  const vals = v.values;
  for (let q = 0; q < nz.length; q++) {
    const idx = nz[q];
    const r = (idx / C) | 0;
    const x = vals[q];
    const o = at[r] * C + at[idx - r * C];
    if (x !== x) {
      pixels[o] = MISSING;
      continue;
    }
    let k = x * scale + shift + 0.5;
    k = k < 0 ? 0 : k > RES ? RES : k;
    pixels[o] = lin[k | 0];
  }
  if (v.off) for (let i = 0; i < C; i++) pixels[i * C + i] = MISSING; // i == j after reordering too
}

/** The overlay: frame, class names (or axis titles), numbers in cells, the selected cell. */
export function drawOverlay(g, dpr, lay, d, order, v, numbers, selected) {
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, lay.width, lay.height);
  g.strokeStyle = COLORS.border;
  g.strokeRect(lay.x0 - 0.5, lay.y0 - 0.5, lay.side + 1, lay.side + 1);
  g.font = FONT;
  g.fillStyle = COLORS.muted;
  g.textBaseline = "middle";
  if (lay.names) drawNames(g, lay, d, order);
  else {
    g.textAlign = "left";
    g.fillText("predicted \u2192", lay.x0, lay.y0 - 10);
    g.save();
    g.translate(lay.x0 - 10, lay.y0);
    g.rotate(Math.PI / 2);
    g.fillText("true \u2192", 0, 0);
    g.restore();
  }
  if (numbers) drawNumbers(g, lay, d, order, v);
  drawSelection(g, lay, order, selected);
}

function drawNames(g, lay, d, order) {
  const fit = (s, w) => {
    s = String(s);
    if (g.measureText(s).width <= w) return s;
    while (s.length > 1 && g.measureText(s + "\u2026").width > w) s = s.slice(0, -1);
    return s + "\u2026";
  };
  g.textAlign = "right";
  for (let i = 0; i < d.C; i++) {
    g.fillText(fit(d.classes[order[i]], lay.x0 - 8), lay.x0 - 4, lay.y0 + (i + 0.5) * lay.cell);
  }
  for (let j = 0; j < d.C; j++) {
    g.save();
    g.translate(lay.x0 + (j + 0.5) * lay.cell, lay.y0 - 4);
    g.rotate(-Math.PI / 3);
    g.textAlign = "left";
    g.fillText(fit(d.classes[order[j]], lay.y0 / Math.sin(Math.PI / 3) - 12), 0, 0);
    g.restore();
  }
  g.fillStyle = COLORS.text;
  g.textAlign = "left";
  g.fillText("true \u2193  predicted \u2192", 4, 10);
}

function drawNumbers(g, lay, d, order, v) {
  if (!v.dense) v.dense = densify(v, d.C); // only for matrices small enough to print numbers
  g.textAlign = "center";
  for (let i = 0; i < d.C; i++) {
    for (let j = 0; j < d.C; j++) {
      const x = v.dense[order[i] * d.C + order[j]];
      if (x !== x || (v.off && order[i] === order[j])) continue;
      const pos = v.diverging ? Math.abs(signedSqrtPos(x, v.max) - 0.5) * 2 : sqrtPos(x, v.max);
      g.fillStyle = pos > 0.6 ? "#fff" : COLORS.text;
      const text = v.mode === "counts" ? (v.diverging && x > 0 ? "+" : "") + fmtCount(x)
        : (v.diverging && x > 0 ? "+" : "") + x.toFixed(2);
      g.fillText(text, lay.x0 + (j + 0.5) * lay.cell, lay.y0 + (i + 0.5) * lay.cell);
    }
  }
}

function drawSelection(g, lay, order, selected) {
  if (!selected) return;
  const [t, p] = selected;
  const i = order.indexOf(t);
  const j = order.indexOf(p);
  if (i < 0 || j < 0) return;
  const w = Math.max(lay.cell, 3);
  g.strokeStyle = COLORS.accent;
  g.lineWidth = 2;
  g.strokeRect(lay.x0 + j * lay.cell - (w - lay.cell) / 2 - 1, lay.y0 + i * lay.cell - (w - lay.cell) / 2 - 1, w + 2, w + 2);
  g.lineWidth = 1;
  g.globalAlpha = 0.35;
  g.beginPath();
  g.moveTo(lay.x0, lay.y0 + (i + 0.5) * lay.cell);
  g.lineTo(lay.x0 + lay.side, lay.y0 + (i + 0.5) * lay.cell);
  g.moveTo(lay.x0 + (j + 0.5) * lay.cell, lay.y0);
  g.lineTo(lay.x0 + (j + 0.5) * lay.cell, lay.y0 + lay.side);
  g.stroke();
  g.globalAlpha = 1;
}
