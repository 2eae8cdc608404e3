// View 1, the threshold explorer: headline numbers at the slider (Keras' `accuracy`, binary and
// exact-match accuracy against their all-negative baselines, ranking), micro/macro P/R/F1 and
// the accuracies against threshold, the PR and ROC curves (micro and the selected label), the
// score distribution and reliability, runs overlaid, and the per-label table with the objective
// picker. Every number comes from the explorer route (Counts methods); only per-label P/R/F1 at
// the slider are recomputed here (calc.js, fixture-checked against Python).

import { h } from "../dom.js";
import { COLORS } from "../style.js";
import { LineChart, legend } from "./chart.js";
import { LabelTable } from "./table.js";
import { RocCard } from "./roc.js";
import { OverlayCard } from "./overlay.js";
import { DistributionCards } from "./distribution.js";
import { ObjectivePicker, ZeroDivisionPicker } from "./objective.js";
import { ExplorerKpis } from "./explorer_kpis.js";
import {
  thresholdIndex, labelMetricsAt, labelCurve, filterLabels, filterError, sortIndices, prPoints,
} from "../calc.js";
import { objectiveName } from "../objectives.js";
import { fmtMetric, fmtCount, fmtThreshold, fmtN } from "../format.js";

const THRESHOLD_SORTED = new Set(["precision", "recall", "f1"]);
const EXACT_SERIES = [1, 3]; // exact match and its all-negative baseline in the accuracy chart

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

    this.kpis = new ExplorerKpis();
    this.objective = new ObjectivePicker((o) => ctx.store.set({ objective: o }));
    this.zeroDivision = new ZeroDivisionPicker((v) => ctx.store.set({ zeroDivision: v }));
    const options = h("div", { class: "tbm-options" }, this.objective.el, this.zeroDivision.el);

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
      { label: "binary: predicting nothing", color: COLORS.binary, dash: [3, 3], width: 1 },
      { label: "exact-match: predicting nothing", color: COLORS.exact, dash: [3, 3], width: 1 },
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

    this.roc = new RocCard();
    this.dist = new DistributionCards(ctx);
    this.overlay = new OverlayCard((mode) => {
      this.overlay.setMode(mode);
      this._scheduleLoads();
    });
    const charts = h("div", { class: "tbm-grid3" },
      h("div", { class: "tbm-card" }, h("h3", null, "Precision, recall, F1 vs threshold"),
        this.prfBox, this.prfLegend.el),
      h("div", { class: "tbm-card" }, h("h3", null, "Accuracy vs threshold"),
        this.accBox, this.accLegend.el),
      h("div", { class: "tbm-card" }, h("h3", null, "Precision-recall curve ", this.prTitleLabel),
        this.prBox, this.prLegend.el));
    const charts2 = h("div", { class: "tbm-grid3" }, this.roc.el, this.dist.histCard, this.dist.relCard);

    this.table = new LabelTable((key) => ctx.onSort(key), (l) => ctx.selectLabel(l));
    this.filterInput = h("input", {
      type: "search", placeholder: "Filter labels (text or /regex/)", "aria-label": "Filter labels",
      oninput: () => ctx.store.set({ filter: this.filterInput.value }),
    });
    this.countEl = h("span", { class: "tbm-muted tbm-small", dataset: { filterStatus: "1" } });
    this.jumpBtn = h("button", { type: "button", class: "tbm-btn", disabled: true,
      dataset: { jumpBest: "1" }, title: "Move the slider to the selected label's best threshold",
      onclick: () => this._jumpToBest() }, "t \u2192 label's best");
    const tableCard = h("div", { class: "tbm-card" },
      h("div", { class: "tbm-tablebar" }, h("h3", { style: { margin: 0 } }, "Per-label metrics"),
        this.filterInput, this.countEl, h("span", { class: "tbm-spacer" }), this.jumpBtn),
      this.table.el);

    this.el = h("section", { class: "tbm-view", dataset: { view: "explorer" } },
      options, this.kpis.singleEl, this.kpis.el, this.kpis.trapEl, charts, charts2, this.overlay.el, tableCard);
    this.charts = null;
    this.loadKey = { dist: null, overlay: null };
  }

  _jumpToBest() {
    const m = this.m;
    const l = this.ctx.store.get().selectedLabel;
    if (!m || l === null || l >= m.L || !(m.bestT[l] === m.bestT[l])) return;
    this.ctx.store.set({ threshold: m.bestT[l] });
  }

  /** Loads the distribution and the runs overlaid when their inputs changed (off the hot path). */
  _scheduleLoads() {
    clearTimeout(this._loadTimer);
    this._loadTimer = setTimeout(() => this._loadAux(), 120);
  }

  async _loadAux() {
    const ctx = this.ctx;
    const m = this.m;
    const st = ctx.store.get();
    // the run and tag the shown model was loaded for (the store may already name the next one)
    const src = this.src;
    if (!m || !ctx.api || !src || !src.run || !src.tag) return;
    const label = st.selectedLabel !== null && st.selectedLabel < m.L ? m.labels[st.selectedLabel] : null;
    const dKey = JSON.stringify([src.run, src.tag, m.step, m.wallTime, label]);
    if (this.loadKey.dist !== dKey) {
      this.loadKey.dist = dKey;
      try {
        const d = await ctx.api.distribution(src.run, src.tag, m.step, label);
        if (d) this.dist.setData(d, ctx.store.get());
      } catch (e) {
        this.loadKey.dist = null;
        this.dist.histNote.textContent = `Score distribution: ${e.message}`;
      }
    }
    const runs = ctx.overlayRuns ? ctx.overlayRuns() : [src.run];
    const oLabel = this.overlay.mode === "label" ? label : null;
    if (this.overlay.mode === "label" && label === null) {
      this.overlay.setStatus("click a label in the table to overlay its curves");
    }
    const oKey = JSON.stringify([runs, src.tag, oLabel, ctx.tagsSig ? ctx.tagsSig() : ""]);
    if (this.loadKey.overlay !== oKey && runs.length) {
      this.loadKey.overlay = oKey;
      this.overlay.setStatus("loading\u2026");
      try {
        const c = await ctx.api.curves(runs, src.tag, oLabel);
        if (c) this.overlay.setData(c, runs, ctx.overlayListed ? ctx.overlayListed() : runs);
      } catch (e) {
        this.loadKey.overlay = null;
        this.overlay.setStatus(e.message);
      }
    }
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
    this.src = { run: state.run, tag: state.tag };
    this.ti = -1;
    this.staticKey = null;
    this.filterKey = null;
    this._ensureCharts();
    const x = Array.from(m.thresholds);
    this.charts.prf.setData([x, m.micro.f1, m.micro.precision, m.micro.recall,
      m.macro.f1, m.macro.precision, m.macro.recall].map((a) => Array.from(a)));
    const base = Array.from(m.thresholds, () => m.allNegativeAccuracy);
    const exactBase = Array.from(m.thresholds, () => (m.allNegativeExactMatch === m.allNegativeExactMatch
      ? m.allNegativeExactMatch : null));
    this.charts.acc.setData([x, Array.from(m.binaryAccuracy), Array.from(m.exactMatchAccuracy), base,
      exactBase]);
    // single-label (softmax) tags: exact match at a threshold is not how the model is used (its
    // card is hidden too), so its line, its baseline and their legend entries go
    EXACT_SERIES.forEach((i) => {
      this.charts.acc.u.setSeries(i + 1, { show: !m.multiclass });
      this.accLegend.values[i].parentNode.classList.toggle("tbm-hidden", !!m.multiclass);
    });
    this.prSelected = undefined;
    this.roc.setData(m);
    this.objective.set(m.objective);
    this.zeroDivision.set(m.zeroDivisionName);
    const objName = objectiveName(m.objective);
    this.table.setBestLabel(m.objective.metric === "cost" ? "Best cost" : `Best ${objName}`);
    this.table.invalidate();
    if (this.filterInput.value !== state.filter) this.filterInput.value = state.filter;
    this.update(state, null);
    this._scheduleLoads();
  }

  /** Called by the app on state keys only this view draws (distScale, runs overlaid). */
  setOption(state, changed) {
    if (changed.includes("distScale")) this.dist.setScale(state.distScale);
    if (changed.includes("compareRuns") || changed.includes("tags")) this._scheduleLoads();
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
      ap: m.ap, roc_auc: m.rocAuc, best_t: m.bestT, best_value: m.bestValue, best_f1: m.bestF1,
    }[key] || m.support;
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
    if (tiChanged || all || has("selectedLabel")) {
      this._updatePR(state.selectedLabel, ti);
      this.roc.update(state.selectedLabel, ti);
      this.dist.setThreshold(t);
      const l = state.selectedLabel;
      this.jumpBtn.disabled = !(l !== null && l < m.L && m.bestT[l] === m.bestT[l]);
    }
    if (!all && has("selectedLabel")) this._scheduleLoads();
    if (tiChanged || all || has("sortKey") || has("sortDir") || has("filter")) {
      const order = this._order(state, at);
      this.table.setSort(state.sortKey, state.sortDir);
      this.table.selected = state.selectedLabel;
      this.table.update({
        names: m.labels, support: m.support, precision: at.precision, recall: at.recall,
        f1: at.f1, ap: m.ap, roc_auc: m.rocAuc, best_t: m.bestT, best_value: m.bestValue,
        bestIsUnit: m.objective.metric !== "cost", nan: m.nan,
        observed: m.hasIgnored ? m.observed : null,
      }, order);
      const shown = order.length;
      const err = filterError(state.filter);
      this.table.emptyEl.textContent = err || "No label matches the filter.";
      this.countEl.textContent = err || (shown === m.L ? fmtN(m.L, "label")
        : `${fmtCount(shown)} of ${fmtN(m.L, "label")}`);
      this.countEl.classList.toggle("tbm-warntext", !!err);
    } else if (has("selectedLabel")) {
      this.table.setSelected(state.selectedLabel);
    }
    if (has("selectedLabel") && changed && state.selectedLabel !== null) {
      this.table.reveal(state.selectedLabel);
    }
  }

  _updateNumbers(ti, t) {
    const m = this.m;
    this.kpis.update(m, ti);
    const bin = m.binaryAccuracy[ti];
    const base = m.allNegativeAccuracy;
    const prfVals = [m.micro.f1, m.micro.precision, m.micro.recall, m.macro.f1, m.macro.precision,
      m.macro.recall].map((a) => a[ti]);
    this.charts.prf.setMarker(t, prfVals.map((y, i) => ({ y, color: this.prfSeries[i].color })));
    prfVals.forEach((v, i) => { this.prfLegend.values[i].textContent = fmtMetric(v); });
    const accVals = [bin, m.exactMatchAccuracy[ti], base, m.allNegativeExactMatch];
    this.charts.acc.setMarker(t, accVals.map((y, i) => ({
      y: m.multiclass && EXACT_SERIES.includes(i) ? null : y, color: this.accSeries[i].color })));
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
