// View 1, the threshold explorer: headline numbers at the slider, micro/macro P/R/F1 and the
// accuracies against threshold (with the all-negative baseline), the PR curve (micro and the
// selected label) and the per-label table.

import { h } from "../dom.js";
import { COLORS } from "../style.js";
import { LineChart, legend } from "./chart.js";
import { LabelTable } from "./table.js";
import {
  thresholdIndex, labelMetricsAt, labelCurve, filterLabels, sortIndices, prPoints,
} from "../calc.js";
import { fmtMetric, fmtCount, fmtThreshold, fmtPct } from "../format.js";

const THRESHOLD_SORTED = new Set(["precision", "recall", "f1"]);

function kpi(key, title) {
  const v = h("div", { class: "v" }, "\u2014");
  const s = h("div", { class: "s" });
  const el = h("div", { class: "tbm-card tbm-kpi", dataset: { kpi: key } },
    h("div", { class: "k" }, title), v, s);
  return { el, v, s };
}

export class ExplorerView {
  constructor(ctx) {
    this.ctx = ctx;
    this.m = null;
    this.ti = -1;
    this.filtered = null; // Int32Array of labels matching the filter, or null (all)
    this.filterKey = null;
    this.orderBuf = null;
    this.staticOrder = null; // cached order for sort keys that do not depend on the threshold
    this.staticKey = null;

    this.k = {
      micro: kpi("micro_f1", "Micro F1"),
      macro: kpi("macro_f1", "Macro F1"),
      weighted: kpi("weighted_f1", "Weighted F1"),
      binary: kpi("binary_accuracy", "Binary accuracy"),
      exact: kpi("exact_match_accuracy", "Exact-match accuracy"),
      data: kpi("data", "Data"),
    };
    const kpis = h("div", { class: "tbm-kpis" }, Object.values(this.k).map((x) => x.el));

    const prfSeries = [
      { label: "F1 micro", color: COLORS.f1, width: 2.25 },
      { label: "precision micro", color: COLORS.precision },
      { label: "recall micro", color: COLORS.recall },
      { label: "F1 macro", color: COLORS.f1, dash: [5, 4], width: 2.25 },
      { label: "precision macro", color: COLORS.precision, dash: [5, 4] },
      { label: "recall macro", color: COLORS.recall, dash: [5, 4] },
    ];
    const accSeries = [
      { label: "binary", color: COLORS.binary, width: 2 },
      { label: "exact-match", color: COLORS.exact, width: 2 },
      { label: "all-negative baseline", color: COLORS.allNegative, dash: [3, 3] },
    ];
    this.prfSeries = prfSeries;
    this.accSeries = accSeries;
    this.prSeries = [
      { label: "micro", color: COLORS.f1, width: 2 },
      { label: "selected label", color: COLORS.label, width: 2 },
    ];

    this.prfBox = h("div", { class: "tbm-chart", dataset: { chart: "prf" } });
    this.accBox = h("div", { class: "tbm-chart", dataset: { chart: "accuracy" } });
    this.prBox = h("div", { class: "tbm-chart", dataset: { chart: "pr" } });
    this.prfLegend = legend(prfSeries.map((s) => ({ ...s, label: s.label })));
    this.accLegend = legend(accSeries);
    this.prLegend = legend(this.prSeries);
    this.prLabelName = this.prLegend.el.children[1];
    this.prTitleLabel = h("span", { class: "tbm-muted" });

    const charts = h("div", { class: "tbm-grid3" },
      h("div", { class: "tbm-card" }, h("h3", null, "Precision, recall, F1 vs threshold"),
        this.prfBox, this.prfLegend.el),
      h("div", { class: "tbm-card" }, h("h3", null, "Accuracy vs threshold"),
        this.accBox, this.accLegend.el),
      h("div", { class: "tbm-card" }, h("h3", null, "Precision-recall curve ", this.prTitleLabel),
        this.prBox, this.prLegend.el));

    this.table = new LabelTable((key) => ctx.onSort(key), (l) => ctx.selectLabel(l));
    this.filterInput = h("input", {
      type: "search", placeholder: "Filter labels (text or /regex/)", "aria-label": "Filter labels",
      oninput: () => ctx.store.set({ filter: this.filterInput.value }),
    });
    this.countEl = h("span", { class: "tbm-muted tbm-small" });
    const tableCard = h("div", { class: "tbm-card" },
      h("div", { class: "tbm-tablebar" }, h("h3", { style: { margin: 0 } }, "Per-label metrics"),
        this.filterInput, this.countEl),
      this.table.el);

    this.el = h("section", { class: "tbm-view", dataset: { view: "explorer" } },
      kpis, charts, tableCard);
    this.charts = null;
  }

  _ensureCharts() {
    if (this.charts) return;
    const xOpts = { xRange: [0, 1], yRange: [0, 1], xLabel: "threshold", height: 220 };
    this.charts = {
      prf: new LineChart(this.prfBox, { ...xOpts, series: this.prfSeries }),
      acc: new LineChart(this.accBox, { ...xOpts, series: this.accSeries }),
      pr: new LineChart(this.prBox, {
        facets: true, xRange: [0, 1], yRange: [0, 1.02], xLabel: "recall", yLabel: "precision",
        height: 220, series: this.prSeries,
      }),
    };
  }

  /** New data (a prepared explorer model). */
  setData(m, state) {
    this.m = m;
    this.ti = -1;
    this.staticKey = null;
    this.filterKey = null;
    this._ensureCharts();
    const x = Array.from(m.thresholds);
    this.charts.prf.setData([x, m.micro.f1, m.micro.precision, m.micro.recall,
      m.macro.f1, m.macro.precision, m.macro.recall].map((a) => Array.from(a)));
    const base = Array.from(m.thresholds, () => m.allNegativeAccuracy);
    this.charts.acc.setData([x, Array.from(m.binaryAccuracy), Array.from(m.exactMatchAccuracy), base]);
    this.prSelected = undefined;
    this.table.invalidate();
    if (this.filterInput.value !== state.filter) this.filterInput.value = state.filter;
    this.update(state, null);
  }

  _order(state, at) {
    const m = this.m;
    if (this.filterKey !== state.filter) {
      this.filterKey = state.filter;
      this.filtered = filterLabels(m.labels, state.filter);
      this.staticKey = null;
    }
    const base = this.filtered;
    const n = base ? base.length : m.L;
    const key = state.sortKey;
    const threshDep = THRESHOLD_SORTED.has(key);
    const sk = `${key}|${state.sortDir}|${state.filter}`;
    if (!threshDep && this.staticKey === sk) return this.staticOrder;
    if (!this.orderBuf || this.orderBuf.length !== n) this.orderBuf = new Int32Array(n);
    const buf = this.orderBuf;
    if (base) buf.set(base);
    else for (let i = 0; i < n; i++) buf[i] = i;
    const values = {
      support: m.support, precision: at.precision, recall: at.recall, f1: at.f1,
      best_t: m.bestT, best_f1: m.bestF1,
    }[key];
    sortIndices(buf, values, state.sortDir, key === "name" ? m.labels : null);
    if (!threshDep) {
      this.staticKey = sk;
      this.staticOrder = buf;
    }
    return buf;
  }

  /** Redraws what depends on the state (synchronous; the slider's hot path). */
  update(state, changed) {
    const m = this.m;
    if (!m) return;
    const all = !changed;
    const has = (k) => all || changed.includes(k);
    const ti = thresholdIndex(m.thresholds, state.threshold);
    const tiChanged = ti !== this.ti;
    this.ti = ti;
    const at = labelMetricsAt(m, ti);
    const t = m.thresholds[ti];

    if (tiChanged || all) this._updateNumbers(ti, t);
    if (tiChanged || all || has("selectedLabel")) this._updatePR(state.selectedLabel, ti);
    if (tiChanged || all || has("sortKey") || has("sortDir") || has("filter")) {
      const order = this._order(state, at);
      this.table.setSort(state.sortKey, state.sortDir);
      this.table.selected = state.selectedLabel;
      this.table.update({
        names: m.labels, support: m.support, precision: at.precision, recall: at.recall,
        f1: at.f1, best_t: m.bestT, best_f1: m.bestF1, nan: m.nan,
      }, order);
      const shown = order.length;
      this.countEl.textContent = shown === m.L ? `${fmtCount(m.L)} labels`
        : `${fmtCount(shown)} of ${fmtCount(m.L)} labels`;
    } else if (has("selectedLabel")) {
      this.table.setSelected(state.selectedLabel);
    }
    if (has("selectedLabel") && changed && state.selectedLabel !== null) {
      this.table.reveal(state.selectedLabel);
    }
  }

  _updateNumbers(ti, t) {
    const m = this.m;
    const k = this.k;
    k.micro.v.textContent = fmtMetric(m.micro.f1[ti]);
    k.micro.s.textContent = `precision ${fmtMetric(m.micro.precision[ti])} \u00b7 recall ${fmtMetric(m.micro.recall[ti])}`;
    k.macro.v.textContent = fmtMetric(m.macro.f1[ti]);
    k.macro.s.textContent = `precision ${fmtMetric(m.macro.precision[ti])} \u00b7 recall ${fmtMetric(m.macro.recall[ti])}`;
    k.weighted.v.textContent = fmtMetric(m.weightedF1[ti]);
    k.weighted.s.textContent = "per-label F1 weighted by support";
    const bin = m.binaryAccuracy[ti];
    const base = m.allNegativeAccuracy;
    k.binary.v.textContent = fmtMetric(bin);
    const gain = bin - base;
    k.binary.s.textContent = `all-negative baseline ${fmtMetric(base)} (${gain >= 0 ? "+" : "\u2212"}${fmtPct(Math.abs(gain))})`;
    k.binary.el.classList.toggle("warn", !(gain > 0.01));
    k.binary.el.title = "Predicting every label negative already scores the baseline: " +
      "on sparse labels a high binary accuracy says little.";
    k.exact.v.textContent = fmtMetric(m.exactMatchAccuracy[ti]);
    k.exact.s.textContent = "samples with every label right";
    k.data.v.textContent = `step ${m.step}`;
    k.data.s.textContent = `${fmtCount(m.n)} samples \u00b7 ${fmtCount(m.L)} labels \u00b7 ` +
      `${m.T} thresholds` + (m.nanTotal > 0 ? ` \u00b7 \u26a0 ${fmtCount(m.nanTotal)} NaN scores` : "");
    k.data.el.classList.toggle("warn", m.nanTotal > 0);

    const prfVals = [m.micro.f1, m.micro.precision, m.micro.recall, m.macro.f1, m.macro.precision,
      m.macro.recall].map((a) => a[ti]);
    this.charts.prf.setMarker(t, prfVals.map((y, i) => ({ y, color: this.prfSeries[i].color })));
    prfVals.forEach((v, i) => { this.prfLegend.values[i].textContent = fmtMetric(v); });
    const accVals = [bin, m.exactMatchAccuracy[ti], base];
    this.charts.acc.setMarker(t, accVals.map((y, i) => ({ y, color: this.accSeries[i].color })));
    accVals.forEach((v, i) => { this.accLegend.values[i].textContent = fmtMetric(v); });
  }

  _updatePR(label, ti) {
    const m = this.m;
    const chart = this.charts.pr;
    const valid = label !== null && label >= 0 && label < m.L;
    if (this.prSelected !== (valid ? label : null)) {
      this.prSelected = valid ? label : null;
      const micro = prPoints(m.micro.recall, m.micro.precision, m.microPredicted);
      let lab = [[], []];
      if (valid) {
        this.prCurve = labelCurve(m.tp, m.fp, m.support, m.T, label);
        const base = label * m.T;
        this.prPredicted = Float64Array.from({ length: m.T }, (_, i) => m.tp[base + i] + m.fp[base + i]);
        lab = prPoints(this.prCurve.recall, this.prCurve.precision, this.prPredicted);
      } else {
        this.prCurve = null;
      }
      chart.setData([null, micro, lab]);
      this.prTitleLabel.textContent = valid ? "" : "(click a label to add it)";
      this.prLabelName.firstChild.nextSibling.data = valid ? `${m.labels[label]} ` : "selected label ";
    }
    const pts = [m.microPredicted[ti] > 0
      ? { x: m.micro.recall[ti], y: m.micro.precision[ti], color: COLORS.f1 } : null];
    this.prLegend.values[0].textContent =
      `P ${fmtMetric(m.micro.precision[ti])} R ${fmtMetric(m.micro.recall[ti])}`;
    if (this.prCurve) {
      pts.push(this.prPredicted[ti] > 0
        ? { x: this.prCurve.recall[ti], y: this.prCurve.precision[ti], color: COLORS.label } : null);
      this.prLegend.values[1].textContent =
        `P ${fmtMetric(this.prCurve.precision[ti])} R ${fmtMetric(this.prCurve.recall[ti])}` +
        ` (best t ${fmtThreshold(m.bestT[label])})`;
    } else {
      this.prLegend.values[1].textContent = "";
    }
    chart.setMarker(null, pts);
  }
}
