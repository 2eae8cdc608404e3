// Number and text formatting for the views: pure, DOM-free (tested in node).

export const DASH = "\u2014"; // shown for an undefined value

function isMissing(v) {
  return v === null || v === undefined || (typeof v === "number" && Number.isNaN(v));
}

/** A metric in [0, 1] with `digits` decimals ("0.812"); a dash when undefined. */
export function fmtMetric(v, digits = 3) {
  return isMissing(v) ? DASH : Number(v).toFixed(digits);
}

/** A fraction as a percentage ("81.2%"). */
export function fmtPct(v, digits = 1) {
  return isMissing(v) ? DASH : `${(100 * Number(v)).toFixed(digits)}%`;
}

/** A count: integers with thousands separators, weighted (fractional) counts with 2 decimals. */
export function fmtCount(v) {
  if (isMissing(v)) return DASH;
  const x = Number(v);
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  return x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A probability threshold: the shortest of up to 4 decimals that names it ("0.35", "0.125"). */
export function fmtThreshold(t) {
  if (isMissing(t)) return DASH;
  const x = Number(t);
  for (let d = 2; d <= 4; d++) {
    const s = x.toFixed(d);
    if (Math.abs(Number(s) - x) < 5e-7) return s;
  }
  return x.toFixed(4);
}

/** A logit ("-0.619", "+2.197", "-\u221e", "+\u221e"). */
export function fmtLogit(z) {
  if (isMissing(z)) return DASH;
  const x = Number(z);
  if (x === Infinity) return "+\u221e";
  if (x === -Infinity) return "\u2212\u221e";
  const s = Math.abs(x).toFixed(3);
  if (Number(s) === 0) return "0.000";
  return (x < 0 ? "\u2212" : "+") + s;
}

/** Slider read-out: "t = 0.35" or "t = 0.35 (logit \u22120.619)". */
export function fmtThresholdLabel(t, logit, fromLogits) {
  const base = `t = ${fmtThreshold(t)}`;
  return fromLogits ? `${base}  (logit ${fmtLogit(logit)})` : base;
}

/** Wall time (seconds since the epoch) as local "YYYY-MM-DD HH:MM:SS". */
export function fmtWallTime(seconds) {
  if (isMissing(seconds)) return DASH;
  const d = new Date(Number(seconds) * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "how long ago" for the live-refresh status line. */
export function fmtAgo(ms) {
  if (isMissing(ms) || ms < 0) return DASH;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.round(m / 60)} h ago`;
}

/** Shortens a long name for a chart axis, keeping its end (labels often share prefixes). */
export function ellipsize(name, max) {
  const s = String(name);
  if (s.length <= max) return s;
  if (max <= 1) return "\u2026";
  return "\u2026" + s.slice(s.length - max + 1);
}

/** File name for the best-thresholds download: only safe characters. */
export function downloadName(run, tag, step) {
  const safe = (x) => String(x).replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "");
  return `best_thresholds_${safe(run) || "run"}_${safe(tag) || "tag"}_step${step}.json`;
}

/** A difference of two fractions in percentage points, rounded honestly to `digits`:
 * "+1.2 pp", "\u22123.4 pp", and "0.0 pp" (never "\u22120.0") when it rounds to zero. */
export function fmtPP(diff, digits = 1) {
  if (isMissing(diff)) return DASH;
  const s = Math.abs(100 * Number(diff)).toFixed(digits);
  if (Number(s) === 0) return `${s} pp`;
  return `${diff > 0 ? "+" : "\u2212"}${s} pp`;
}

/**
 * The plain sentence under an accuracy card that has an all-negative baseline (what predicting
 * nothing scores). `what`: "Binary accuracy" or "Exact-match accuracy". Returns {text, trap}:
 * trap is true when the accuracy is within one percentage point of the baseline, the "97%
 * accuracy" trap of sparse labels.
 */
export function baselineSentence(what, accuracy, baseline) {
  if (isMissing(accuracy) || isMissing(baseline)) return { text: "", trap: false };
  const diff = accuracy - baseline;
  const base = `Predicting nothing scores ${fmtPct(baseline)} (${fmtPP(diff)}).`;
  if (Math.abs(diff) <= 0.01) {
    return {
      trap: true,
      text: `${what} is within a point of predicting no positives at all (${fmtPct(baseline)}): ` +
        "the model predicts almost no positives here, so this accuracy says little. " +
        "Look at recall and F1.",
    };
  }
  return { text: base, trap: false };
}

/** "18,000 positions (time steps or pixels)", "400 samples", "391.27 weighted samples". */
export function fmtRows(n, unit, weighted) {
  const noun = unit === "positions" ? "positions (time steps or pixels)" : "samples";
  return `${fmtCount(n)} ${weighted ? "weighted " : ""}${noun}`;
}

/** A count and its noun, singular for exactly one: fmtN(1, "label") -> "1 label", "1,200 labels". */
export function fmtN(n, singular, plural = `${singular}s`) {
  return `${fmtCount(n)} ${n === 1 ? singular : plural}`;
}
