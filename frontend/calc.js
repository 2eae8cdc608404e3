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

function div(num, den, zd = 0) {
  return den === 0 ? zd : num / den; // zero_division (0, 1 or NaN), as Counts' safe_divide
}

/** The `zero_division` choice ("0" | "1" | "nan", the route's spelling) as a number. */
export function zeroDivisionValue(name) {
  return name === "1" ? 1 : name === "nan" ? NaN : 0;
}

/**
 * Per-label precision, recall and F1 at threshold index `ti`, from flat row-major tp/fp [L*T]
 * and support [L] (fn = support - tp), with `zd` = zero_division (0, 1 or NaN; default 0).
 * Writes into `out` (reused between slider moves to avoid allocation) and returns it.
 */
export function perLabelAt(tp, fp, support, numLabels, numThresholds, ti, out, zd = 0) {
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
    P[l] = div(t, t + f, zd);
    R[l] = div(t, t + fn, zd);
    const num = 2 * t;
    F[l] = div(num, num + f + fn, zd);
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

/** One label's ROC curve: false and true positive rates at every threshold, as
 * Counts.roc_curve (fp / negatives, tp / positives; NaN when the label has none), where
 * negatives = observed - support. */
export function labelRoc(tp, fp, support, observed, numThresholds, label) {
  const fpr = new Float64Array(numThresholds);
  const tpr = new Float64Array(numThresholds);
  const pos = support[label];
  const neg = observed[label] - pos;
  const base = label * numThresholds;
  for (let i = 0; i < numThresholds; i++) {
    fpr[i] = neg === 0 ? NaN : fp[base + i] / neg;
    tpr[i] = pos === 0 ? NaN : tp[base + i] / pos;
  }
  return { fpr, tpr };
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

/** Why a /regex/ filter is invalid ("Invalid /regex/ /a(/: ..."), or null when the filter is
 * plain text or a valid regex. */
export function filterError(query) {
  const q = (query || "").trim();
  const m = /^\/(.*)\/([a-z]*)$/.exec(q);
  if (!m) return null;
  const flags = m[2].includes("i") ? m[2] : m[2] + "i";
  try {
    new RegExp(m[1], flags); // eslint-disable-line no-new
    return null;
  } catch (e) {
    // V8: "Invalid regular expression: /<source>/<flags>: <reason>"; keep only the reason
    const echo = `Invalid regular expression: /${m[1]}/${flags}: `;
    const reason = e.message.startsWith(echo) ? e.message.slice(echo.length)
      : e.message.replace(/^Invalid regular expression: /, "");
    return `Invalid /regex/ ${q}: ${reason}`;
  }
}

/** Labels whose name matches the filter: a case-insensitive substring, or /regex/ when slashed.
 * Returns an Int32Array of label indices, or null when the filter is empty (all labels); an
 * invalid /regex/ matches nothing (filterError says why). */
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
      return new Int32Array(0);
    }
    test = (s) => re.test(s);
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

function nullNaN(v) {
  return v === null || v === undefined ? NaN : v;
}

function f64(values) {
  return values ? toFloatArray(values) : null;
}

/** The explorer route's JSON as typed arrays, ready for the views (built once per response). */
export function prepareExplorer(d) {
  const L = d.labels.length;
  const T = d.thresholds.length;
  const bestIdx = Int32Array.from(d.best.index);
  const best = d.best;
  const rank = d.ranking || {};
  const observed = d.observed ? f64(d.observed) : f64(d.support).map(() => d.n);
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
    observed,
    hasIgnored: observed.some((v) => v !== d.n), // labels with ignored cells (ignore_value)
    sampleUnit: d.sample_unit || "samples",
    weighted: !!d.sample_weighted,
    multiclass: !!d.multiclass,
    topK: d.top_k_accuracy ? d.top_k_accuracy.map(nullNaN) : null, // [k = 1..K] single-label
    zeroDivisionName: d.zero_division || "0",
    zeroDivision: zeroDivisionValue(d.zero_division || "0"),
    warnings: (d.warnings || []).map((w) => (typeof w === "string" ? { kind: "read", message: w } : w)),
    nan: f64(d.nan),
    nanTotal: d.nan.reduce((a, b) => a + (b || 0), 0),
    microPredicted: predictedPerThreshold(d.tp, d.fp, L, T),
    micro: { precision: f64(d.micro.precision), recall: f64(d.micro.recall), f1: f64(d.micro.f1) },
    macro: { precision: f64(d.macro.precision), recall: f64(d.macro.recall), f1: f64(d.macro.f1) },
    weightedF1: f64(d.weighted.f1),
    binaryAccuracy: f64(d.binary_accuracy),
    exactMatchAccuracy: f64(d.exact_match_accuracy),
    allNegativeAccuracy: d.all_negative_accuracy === null ? NaN : d.all_negative_accuracy,
    allNegativeExactMatch: nullNaN(d.all_negative_exact_match),
    categoricalAccuracy: nullNaN(d.categorical_accuracy),
    precisionAt1: nullNaN(d.precision_at_1),
    kerasAccuracy: d.keras_accuracy || { metric: "CategoricalAccuracy", value: null },
    ap: d.average_precision ? f64(d.average_precision) : null,
    rocAuc: d.roc_auc ? f64(d.roc_auc) : null,
    ranking: rank,
    microRoc: d.micro_roc ? { fpr: f64(d.micro_roc.fpr), tpr: f64(d.micro_roc.tpr) } : null,
    objective: { metric: best.metric || "f1", params: best.params || {},
      higherIsBetter: best.higher_is_better !== false },
    bestIdx,
    bestT: f64(best.threshold),
    bestValue: f64(best.value || best.f1),
    bestF1: f64(best.f1), // F1 at each label's best threshold of the objective
    _atIndex: -1,
    _at: null,
  };
}

/** Per-label precision/recall/F1 at threshold index `ti` of a prepared model (memoised). */
export function labelMetricsAt(m, ti) {
  if (m._atIndex !== ti) {
    m._at = perLabelAt(m.tp, m.fp, m.support, m.L, m.T, ti, m._at,
      m.zeroDivision === undefined ? 0 : m.zeroDivision);
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
/** The (x, y) pairs where both are numbers (not NaN or null), as two arrays: a curve's drawable
 * points. */
export function finitePairs(xs, ys) {
  const a = [];
  const b = [];
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] === xs[i] && ys[i] === ys[i] && xs[i] !== null && ys[i] !== null) {
      a.push(xs[i]);
      b.push(ys[i]);
    }
  }
  return [a, b];
}

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

/**
 * A score histogram (T+1 bins: (-inf, t_0), [t_0, t_1), ..., [t_{T-1}, +inf)) as the x / y
 * arrays of a stepped chart: x = the T+2 bin edges with the two open bins drawn outside
 * [t_0, t_{T-1}], a typical bin wide but at least 3% of the range (so that out-of-range scores
 * stay visible), y = the counts (the last repeated to close the step), as
 * log10(1 + count) when `log`.
 */
export function histogramSteps(thresholds, counts, log) {
  const T = thresholds.length;
  const span = T > 1 ? thresholds[T - 1] - thresholds[0] : 1;
  const w = Math.max(T > 1 ? span / (T - 1) : 0.05, 0.03 * span);
  const x = new Array(T + 2);
  x[0] = thresholds[0] - w;
  for (let i = 0; i < T; i++) x[i + 1] = thresholds[i];
  x[T + 1] = thresholds[T - 1] + w;
  const y = new Array(T + 2);
  for (let i = 0; i <= T; i++) {
    const c = counts[i] === null ? 0 : counts[i];
    y[i] = log ? Math.log10(1 + c) : c;
  }
  y[T + 1] = y[T];
  return { x, y };
}

/** Axis ticks of a count axis from 0 to `max`: linear "nice" steps (1, 2, 5 x 10^k), or with
 * `log` the positions log10(1 + c) of c = 0, 1, 10, 100, ... (histogramSteps' log scale; 1 is
 * left out when the axis passes about 300). */
export function countTicks(max, log) {
  if (!(max > 0)) return [0];
  if (log) {
    const out = [0];
    // the tick of 1 sits close to 0: left out once the axis spans three decades
    for (let k = max > 2.5 ? 1 : 0; Math.log10(1 + 10 ** k) <= max * 1.0001; k++) out.push(Math.log10(1 + 10 ** k));
    return out;
  }
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw);
  const out = [];
  for (let v = 0; v <= max * 1.0001; v += step) out.push(Math.round(v / step) * step);
  return out;
}
