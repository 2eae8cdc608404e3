// Text of the confusion-matrix view (DOM-free, tested in node): the summary cards (Keras'
// accuracy, top-k, samples; with the difference against another step or run in percentage
// points) and the hover text of a cell.

import { fmtMetric, fmtCount, fmtPct } from "../format.js";
import { nonZeroCells } from "./matrix.js";

/** A difference of two shares in percentage points: "+12.0 pp", "\u22120.4 pp", "\u00b10.0 pp". */
export function pp(delta) {
  if (delta === null || delta === undefined || delta !== delta) return "";
  const v = Math.round(delta * 1000) / 10;
  if (v === 0) return "\u00b10.0 pp";
  return `${v > 0 ? "+" : "\u2212"}${Math.abs(v).toFixed(1)} pp`;
}

/** A signed count difference: "+3", "\u22122", "\u00b10". */
export function signedCount(delta) {
  return (delta > 0 ? "+" : delta < 0 ? "\u2212" : "\u00b1") + fmtCount(Math.abs(delta));
}

/**
 * The summary cards of a `confusion` answer `d` (classes in `d.C`): [[key, label, value, sub,
 * title]]. `againstName` names the other side of a difference ("step 0", "run/x step 2").
 */
export function summaryItems(d, againstName) {
  const a = d.against;
  // single-label: the matrix's trace over n; multi-label (no matrix): Keras' CategoricalAccuracy,
  // argmax(y_true) == argmax(y_pred), i.e. the top-scoring label is the first positive label
  const rule = d.multiclass ? "share of samples whose top score is the true class = trace / n"
    : "share of samples with argmax(y_true) == argmax(y_pred) (CategoricalAccuracy)";
  const title = d.multiclass
    ? "What Keras logs as `accuracy` for an output with more than one column (SparseCategoricalAccuracy / CategoricalAccuracy): the top-scoring class is the true class; ties take the first class."
    : "What Keras logs as `accuracy` for a multi-label [N, L] output (CategoricalAccuracy): argmax(y_true) == argmax(y_pred) per sample, i.e. the top-scoring label is the first positive label (a row with no positive counts as label 0); ties take the first label. Neither correct cells nor rows with every label right.";
  const items = [["categorical_accuracy", "Keras `accuracy` (argmax)", fmtMetric(d.categorical_accuracy),
    a ? `vs ${againstName}: ${fmtMetric(a.categorical_accuracy)} (${pp(d.categorical_accuracy - a.categorical_accuracy)})`
      : rule, title]];
  if (d.multiclass) {
    (d.top_k_accuracy || []).forEach((v, i) => {
      if (i === 0) return; // top-1 is the accuracy above
      const before = a && a.top_k_accuracy ? a.top_k_accuracy[i] : null;
      items.push([`top_${i + 1}`, `Top-${i + 1} accuracy`, fmtMetric(v),
        before !== null ? `vs ${fmtMetric(before)} (${pp(v - before)})` : `true class among the ${i + 1} top scores`, null]);
    });
  }
  items.push(["samples", d.sample_weighted ? "Samples (weighted)" : "Samples", fmtCount(d.n),
    `${fmtCount(d.C)} ${d.multiclass ? "classes" : "labels"} \u00b7 step ${d.step}`, null]);
  return items;
}

/** Row sums (true-class samples) and column sums (predictions) of d.matrix, from its non-zero
 * cells, cached on `d`. */
export function matrixSums(d) {
  if (!d.sums) {
    const C = d.C;
    if (!d.nz) d.nz = nonZeroCells(d.matrix);
    const rows = new Float64Array(C);
    const cols = new Float64Array(C);
    for (let q = 0; q < d.nz.length; q++) {
      const idx = d.nz[q];
      const r = (idx / C) | 0;
      rows[r] += d.matrix[idx];
      cols[idx - r * C] += d.matrix[idx];
    }
    d.sums = { rows, cols };
  }
  return d.sums;
}

/** Hover text of cell (true t, predicted p): its count, its share of the true class and of the
 * predictions, and the other side's count with the change. */
export function cellText(d, t, p, againstName) {
  const C = d.C;
  const { rows, cols } = matrixSums(d);
  const v = d.matrix[t * C + p];
  const lines = [`true ${d.classes[t]} \u2192 predicted ${d.classes[p]}${t === p ? " (correct)" : ""}`,
    `step ${d.step}: ${fmtCount(v)} samples`,
    `${fmtPct(rows[t] > 0 ? v / rows[t] : NaN)} of true ${d.classes[t]} (${fmtCount(rows[t])})`,
    `${fmtPct(cols[p] > 0 ? v / cols[p] : NaN)} of predicted ${d.classes[p]} (${fmtCount(cols[p])})`];
  if (d.against && d.against.matrix) {
    const b = d.against.matrix[t * C + p];
    lines.push(`${againstName}: ${fmtCount(b)} (${signedCount(v - b)})`);
  }
  return lines.join("\n");
}
