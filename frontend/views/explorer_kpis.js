// The explorer's headline cards at the slider: Keras' `accuracy`, micro / macro / weighted F1,
// binary and exact-match accuracy against their all-negative baselines, ranking and the data
// card, each with its rule as a title tooltip; plus the baseline trap line and the single-label
// note. Numbers come from the prepared explorer model (calc.js prepareExplorer).

import { h } from "../dom.js";
import { fmtMetric, fmtCount, fmtPct, baselineSentence, fmtRows, fmtN } from "../format.js";

const KERAS_RULES = {
  CategoricalAccuracy: "argmax(y_true) == argmax(y_pred) per sample: what Keras' " +
    "metrics=[\"accuracy\"] logs for outputs with more than one column (CategoricalAccuracy); " +
    "independent of the threshold",
  SparseCategoricalAccuracy: "argmax(y_pred) == the class id per sample: what Keras' " +
    "metrics=[\"accuracy\"] logs for class-id labels (SparseCategoricalAccuracy); " +
    "independent of the threshold",
  BinaryAccuracy: "one output column: Keras' metrics=[\"accuracy\"] is BinaryAccuracy " +
    "(s > 0.5), i.e. binary accuracy at t = 0.5 except for scores exactly 0.5",
};

const ZERO_DIVISION_TEXT = {
  0: "a label with no predicted positives (or no positives) scores 0 there (zero_division=0)",
  1: "a label with no predicted positives (or no positives) scores 1 there (zero_division=1)",
  nan: "a label whose precision or recall divides by zero is left out (zero_division=nan)",
};

/** The rule of each card as its title tooltip (DOM-free): m is a prepared explorer model. */
export function cardRules(m) {
  const unit = m.sampleUnit === "positions" ? "positions (each time step or pixel of a sample)"
    : "samples (rows of y_true)";
  return {
    micro_f1: "Micro F1 at the slider: TP, FP and FN pooled over all labels (every (sample, " +
      "label) cell counts once), then F1 = 2TP / (2TP + FP + FN); frequent labels dominate.",
    macro_f1: "Macro F1 at the slider: the mean of the per-label F1, every label weighted " +
      `equally, so rare labels count as much as frequent ones; ${ZERO_DIVISION_TEXT[m.zeroDivisionName] ||
        ZERO_DIVISION_TEXT[0]} (the Zero division choice).`,
    weighted_f1: "Weighted F1 at the slider: the per-label F1 averaged with weights = support " +
      "(positives per label), as scikit-learn's average=\"weighted\".",
    data: `${m.weighted ? "n is the sum of the sample weights of the " : "n counts the "}${unit} seen at this ` +
      `step; ${fmtN(m.L, "label")} (columns of y_true), ${fmtN(m.T, "stored threshold")}.` +
      (m.nanTotal > 0 ? " NaN scores are never counted positive." : ""),
  };
}

function kpi(key, title) {
  const v = h("div", { class: "v" }, "\u2014");
  const s = h("div", { class: "s" });
  const el = h("div", { class: "tbm-card tbm-kpi", dataset: { kpi: key } },
    h("div", { class: "k" }, title), v, s);
  return { el, v, s };
}

export class ExplorerKpis {
  constructor() {
    this.k = {
      micro: kpi("micro_f1", "Micro F1"),
      macro: kpi("macro_f1", "Macro F1"),
      weighted: kpi("weighted_f1", "Weighted F1"),
      keras: kpi("keras_accuracy", "Keras `accuracy`"),
      binary: kpi("binary_accuracy", "Binary accuracy"),
      exact: kpi("exact_match_accuracy", "Exact-match accuracy"),
      ranking: kpi("ranking", "Macro AP"),
      data: kpi("data", "Data"),
    };
    this.el = h("div", { class: "tbm-kpis" }, Object.values(this.k).map((x) => x.el));
    this.trapEl = h("div", { class: "tbm-trap tbm-hidden", role: "status", dataset: { trap: "1" } });
    // Single-label (softmax) tags lead with what they are judged on: argmax and top-k accuracy.
    this.singleEl = h("div", { class: "tbm-single tbm-hidden", role: "note", dataset: { single: "1" } });
  }

  /** Writes every card for model m at threshold index ti. */
  update(m, ti) {
    const k = this.k;
    const rules = cardRules(m);
    k.micro.v.textContent = fmtMetric(m.micro.f1[ti]);
    k.micro.s.textContent = `precision ${fmtMetric(m.micro.precision[ti])} \u00b7 recall ${fmtMetric(m.micro.recall[ti])}`;
    k.micro.el.title = rules.micro_f1;
    k.macro.v.textContent = fmtMetric(m.macro.f1[ti]);
    k.macro.s.textContent = `precision ${fmtMetric(m.macro.precision[ti])} \u00b7 recall ${fmtMetric(m.macro.recall[ti])}`;
    k.macro.el.title = rules.macro_f1;
    k.weighted.v.textContent = fmtMetric(m.weightedF1[ti]);
    k.weighted.s.textContent = "per-label F1 weighted by support";
    k.weighted.el.title = rules.weighted_f1;
    const bin = m.binaryAccuracy[ti];
    const base = m.allNegativeAccuracy;
    k.binary.v.textContent = fmtMetric(bin);
    const binNote = baselineSentence("Binary accuracy", bin, base);
    k.binary.s.textContent = binNote.trap ? `predicting nothing: ${fmtPct(base)}` : binNote.text;
    k.binary.el.classList.toggle("warn", binNote.trap);
    k.binary.el.title = "Correct (sample, label) cells over all cells at the slider, counting " +
      "s \u2265 t (Keras' BinaryAccuracy counts s > t: they differ only for scores exactly on t). " +
      "Predicting every label negative already scores the baseline.";
    this.trapEl.textContent = binNote.trap ? binNote.text : "";
    this.trapEl.classList.toggle("tbm-hidden", !binNote.trap);
    const exact = m.exactMatchAccuracy[ti];
    k.exact.v.textContent = fmtMetric(exact);
    const exNote = baselineSentence("Exact-match accuracy", exact, m.allNegativeExactMatch);
    k.exact.s.textContent = exNote.text || "samples with every label right";
    k.exact.el.classList.toggle("warn", exNote.trap);
    k.exact.el.title = "Samples whose every label is right at the slider (subset accuracy). " +
      "Baseline: the share of samples with no positive label, what predicting nothing scores.";
    const ka = m.kerasAccuracy;
    this.singleEl.classList.toggle("tbm-hidden", !m.multiclass);
    if (m.multiclass) {
      const topk = (m.topK || []).map((v, i) => `top-${i + 1} ${fmtMetric(v)}`).join(" \u00b7 ");
      this.singleEl.textContent = `Single-label classes: accuracy (argmax, what Keras logs) ` +
        `${fmtMetric(ka.value)} \u00b7 ${topk}. A softmax model picks one class by argmax, so ` +
        "these are its numbers; the threshold metrics below treat each class one-vs-rest, and " +
        "exact match at a threshold is not how such a model is used. The Confusion matrix view " +
        "shows which class is mistaken for which.";
      k.exact.el.classList.add("tbm-hidden");
      k.keras.el.parentNode.insertBefore(k.keras.el, k.keras.el.parentNode.firstChild);
    } else {
      k.exact.el.classList.remove("tbm-hidden");
    }
    k.keras.v.textContent = fmtMetric(ka.value);
    k.keras.s.textContent = (ka.metric === "BinaryAccuracy" ? "BinaryAccuracy: see binary accuracy at 0.5"
      : `${ka.metric} \u00b7 precision@1 ${fmtMetric(m.precisionAt1)}`);
    k.keras.el.title = `${KERAS_RULES[ka.metric] || ka.metric}. Precision@1: share of samples whose ` +
      "top-scoring label is a positive.";
    const r = m.ranking || {};
    k.ranking.v.textContent = fmtMetric(r.macro ? r.macro.average_precision : null);
    k.ranking.s.textContent = `ROC-AUC macro ${fmtMetric(r.macro ? r.macro.roc_auc : null)} \u00b7 ` +
      `micro AP ${fmtMetric(r.micro ? r.micro.average_precision : null)}`;
    k.ranking.el.title = "Average precision and ROC-AUC over the stored thresholds, independent " +
      "of the slider: is the model ranking well at all? Macro leaves out labels without positives.";
    k.data.v.textContent = `step ${m.step}`;
    k.data.s.textContent = `${fmtRows(m.n, m.sampleUnit, m.weighted)} \u00b7 ${fmtN(m.L, "label")} \u00b7 ` +
      fmtN(m.T, "threshold") + (m.nanTotal > 0 ? ` \u00b7 \u26a0 ${fmtCount(m.nanTotal)} NaN scores` : "");
    k.data.el.classList.toggle("warn", m.nanTotal > 0);
    k.data.el.title = rules.data;
  }
}
