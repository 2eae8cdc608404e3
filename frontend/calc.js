// Pure arithmetic for the views: no DOM, no fetch. Mirrors tb_metrics_plugin/metrics.py
// operation for operation, so the numbers drawn are bit-identical to what the Python API returns
// (checked against fixtures written by the Python code: tests/js/calc.test.mjs).

/** Index of the stored threshold nearest `t` (the lower one on a tie), as Counts.threshold_index. */
export function thresholdIndex(thresholds, t) {
  let best = 0;
  let bestDist = Infinity;
  for (let i = 0; i < thresholds.length; i++) {
    const d = Math.abs(thresholds[i] - t);
    if (d < bestDist) {
      bestDist = d;
      best = i;
    }
  }
  return best;
}

/** The logit cut of a probability threshold as the Python code stores it:
 * float32(log(t / (1 - t))) computed in float64; t=0 gives -Infinity, t=1 gives +Infinity. */
export function logitCut(t) {
  if (t <= 0) return -Infinity;
  if (t >= 1) return Infinity;
  return Math.fround(Math.log(t / (1 - t)));
}

function div(num, den) {
  return den === 0 ? 0 : num / den; // zero_division=0, as the Python default
}

/**
 * Per-label precision, recall and F1 at threshold index `ti`, from flat row-major tp/fp [L*T]
 * and support [L] (fn = support - tp). zero_division = 0. Writes into `out` (reused between
 * slider moves to avoid allocation) and returns it.
 */
export function perLabelAt(tp, fp, support, numLabels, numThresholds, ti, out) {
  const o = out && out.f1 && out.f1.length === numLabels ? out : {
    precision: new Float64Array(numLabels),
    recall: new Float64Array(numLabels),
    f1: new Float64Array(numLabels),
  };
  const P = o.precision;
  const R = o.recall;
  const F = o.f1;
  for (let l = 0, k = ti; l < numLabels; l++, k += numThresholds) {
    const t = tp[k];
    const f = fp[k];
    const fn = support[l] - t;
    P[l] = div(t, t + f);
    R[l] = div(t, t + fn);
    const num = 2 * t;
    F[l] = div(num, num + f + fn);
  }
  return o;
}

/** One label's precision, recall and F1 at every threshold (its PR curve). */
export function labelCurve(tp, fp, support, numThresholds, label) {
  const precision = new Float64Array(numThresholds);
  const recall = new Float64Array(numThresholds);
  const f1 = new Float64Array(numThresholds);
  const s = support[label];
  const base = label * numThresholds;
  for (let i = 0; i < numThresholds; i++) {
    const t = tp[base + i];
    const f = fp[base + i];
    const fn = s - t;
    precision[i] = div(t, t + f);
    recall[i] = div(t, t + fn);
    f1[i] = div(2 * t, 2 * t + f + fn);
  }
  return { precision, recall, f1 };
}

/** Nullable number arrays from JSON (null = undefined value) as Float64Array with NaN. */
export function toFloatArray(values) {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null || v === undefined ? NaN : v;
  }
  return out;
}

/** Labels whose name matches the filter: a case-insensitive substring, or /regex/ when slashed.
 * Returns an Int32Array of label indices, or null when the filter is empty (all labels). */
export function filterLabels(labels, query) {
  const q = (query || "").trim();
  if (!q) return null;
  let test;
  const m = /^\/(.*)\/([a-z]*)$/.exec(q);
  if (m) {
    let re;
    try {
      re = new RegExp(m[1], m[2].includes("i") ? m[2] : m[2] + "i");
    } catch (e) {
      re = null;
    }
    test = re ? (s) => re.test(s) : (s) => s.toLowerCase().includes(q.toLowerCase());
  } else {
    const lower = q.toLowerCase();
    test = (s) => s.toLowerCase().includes(lower);
  }
  const keep = [];
  for (let i = 0; i < labels.length; i++) if (test(String(labels[i]))) keep.push(i);
  return Int32Array.from(keep);
}

const Q = 2 ** 30; // value quantum for the packed sort: values closer than 1e-9 are ties
const IDX = 2 ** 21; // labels the packed sort handles (Q * IDX < 2**53: exact in a double)
let packBuf = new Float64Array(0);

/**
 * Sorts label indices by a numeric column (Float64Array/array, NaN always last) or by name.
 * Ties break on the label index, so the order is stable and deterministic.
 * `indices`: Int32Array of labels to order (modified in place and returned).
 *
 * Numbers in [0, 1] (every sortable column but support) are sorted as packed keys
 * (quantised value * 2^21 + index) with the native numeric sort of a Float64Array: 10,000
 * labels re-sort in well under a millisecond on every slider move.
 */
export function sortIndices(indices, values, dir, names) {
  const sign = dir === "desc" ? -1 : 1;
  if (names) {
    const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
    return indices.sort((a, b) => sign * coll.compare(names[a], names[b]) || a - b);
  }
  const n = indices.length;
  let unit = n > 64 && n < IDX;
  for (let i = 0; unit && i < n; i++) {
    const v = values[indices[i]];
    if (indices[i] >= IDX || v < 0 || v > 1) unit = false;
  }
  if (unit) {
    if (packBuf.length < n) packBuf = new Float64Array(Math.max(n, 2 * packBuf.length));
    const keys = packBuf.subarray(0, n);
    for (let i = 0; i < n; i++) {
      const l = indices[i];
      const v = values[l];
      const q = v !== v ? Q + 1 : sign > 0 ? Math.round(v * Q) : Q - Math.round(v * Q);
      keys[i] = q * IDX + l;
    }
    keys.sort();
    for (let i = 0; i < n; i++) indices[i] = keys[i] % IDX;
    return indices;
  }
  return indices.sort((a, b) => {
    const va = values[a];
    const vb = values[b];
    const na = va !== va; // NaN
    const nb = vb !== vb;
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    return va === vb ? a - b : sign * (va < vb ? -1 : 1);
  });
}

/** Arithmetic mean of the non-NaN values (NaN when none). */
export function nanMean(values) {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === v) {
      s += v;
      n++;
    }
  }
  return n ? s / n : NaN;
}

// Colour scale for F1 in [0, 1]: deep orange (fails) -> pale -> TensorBoard blue (good).
const STOPS = [
  [0.0, [191, 54, 12]],
  [0.25, [244, 81, 30]],
  [0.5, [255, 183, 77]],
  [0.7, [224, 231, 236]],
  [0.85, [100, 181, 246]],
  [1.0, [21, 101, 192]],
];

/** [r, g, b] for an F1 value; null for NaN (undefined). */
export function f1Color(v) {
  if (v !== v || v === null || v === undefined) return null;
  const x = Math.min(1, Math.max(0, v));
  for (let i = 1; i < STOPS.length; i++) {
    if (x <= STOPS[i][0]) {
      const [x0, c0] = STOPS[i - 1];
      const [x1, c1] = STOPS[i];
      const f = (x - x0) / (x1 - x0);
      return [0, 1, 2].map((j) => Math.round(c0[j] + f * (c1[j] - c0[j])));
    }
  }
  return STOPS[STOPS.length - 1][1].slice();
}

/** CSS colour string for an F1 value (grey for undefined). */
export function f1Css(v) {
  const c = f1Color(v);
  return c ? `rgb(${c[0]},${c[1]},${c[2]})` : "#cfd8dc";
}

function f64(values) {
  return values ? toFloatArray(values) : null;
}

/** The explorer route's JSON as typed arrays, ready for the views (built once per response). */
export function prepareExplorer(d) {
  const L = d.labels.length;
  const T = d.thresholds.length;
  const bestIdx = Int32Array.from(d.best.index);
  return {
    raw: d,
    step: d.step,
    wallTime: d.wall_time,
    L,
    T,
    n: d.n,
    labels: d.labels.map(String),
    fromLogits: !!d.from_logits,
    thresholds: f64(d.thresholds),
    logits: d.from_logits ? Float64Array.from(d.thresholds, (t) => logitCut(t)) : null,
    tp: f64(d.tp),
    fp: f64(d.fp),
    support: f64(d.support),
    nan: f64(d.nan),
    nanTotal: d.nan.reduce((a, b) => a + (b || 0), 0),
    microPredicted: predictedPerThreshold(d.tp, d.fp, L, T),
    micro: { precision: f64(d.micro.precision), recall: f64(d.micro.recall), f1: f64(d.micro.f1) },
    macro: { precision: f64(d.macro.precision), recall: f64(d.macro.recall), f1: f64(d.macro.f1) },
    weightedF1: f64(d.weighted.f1),
    binaryAccuracy: f64(d.binary_accuracy),
    exactMatchAccuracy: f64(d.exact_match_accuracy),
    allNegativeAccuracy: d.all_negative_accuracy === null ? NaN : d.all_negative_accuracy,
    bestIdx,
    bestT: f64(d.best.threshold),
    bestF1: f64(d.best.f1),
    _atIndex: -1,
    _at: null,
  };
}

/** Per-label precision/recall/F1 at threshold index `ti` of a prepared model (memoised). */
export function labelMetricsAt(m, ti) {
  if (m._atIndex !== ti) {
    m._at = perLabelAt(m.tp, m.fp, m.support, m.L, m.T, ti, m._at);
    m._atIndex = ti;
  }
  return m._at;
}

/** [T] predicted positives (tp + fp) summed over labels, from flat [L*T] tp and fp. */
export function predictedPerThreshold(tp, fp, L, T) {
  const out = new Float64Array(T);
  for (let l = 0; l < L; l++) {
    const base = l * T;
    for (let i = 0; i < T; i++) out[i] += tp[base + i] + fp[base + i];
  }
  return out;
}

/** The points of a PR curve where precision is defined (something is predicted positive):
 * [recall[], precision[]] as plain arrays, for the chart. */
export function prPoints(recall, precision, predicted) {
  const xs = [];
  const ys = [];
  for (let i = 0; i < recall.length; i++) {
    if (predicted[i] > 0) {
      xs.push(recall[i]);
      ys.push(precision[i]);
    }
  }
  return [xs, ys];
}
