// Score distribution and calibration of the selected label and of all labels pooled, from the
// `distribution` route (Counts.score_histogram / reliability / expected_calibration_error):
// positives against negatives per threshold bin, linear or log counts, the slider as a line;
// scores outside [0, 1] (logits read as probabilities) land in the two outer bins.

import { h, segmented } from "../dom.js";
import { COLORS } from "../style.js";
import { LineChart, legend } from "./chart.js";
import { histogramSteps, countTicks } from "../calc.js";
import { fmtCount, fmtMetric, fmtThreshold } from "../format.js";

const POS = "#d81b60";
const NEG = "#1e88e5";

export class DistributionCards {
  /** ctx: {store}; onScale(scale) sets state.distScale. */
  constructor(ctx) {
    this.ctx = ctx;
    this.data = null;
    this.which = "label"; // "label" (when one is selected) or "pooled"
    this.scale = segmented([{ value: "linear", label: "linear" }, { value: "log", label: "log" }],
      (v) => ctx.store.set({ distScale: v }), "Count scale");
    this.whichSeg = segmented([{ value: "pooled", label: "all labels" },
      { value: "label", label: "selected label" }], (v) => {
      this.which = v;
      this.whichSeg.set(v);
      this._drawHist();
    }, "Distribution of");
    this.histBox = h("div", { class: "tbm-chart", dataset: { chart: "distribution" } });
    this.histLegend = legend([{ label: "positives", color: POS }, { label: "negatives", color: NEG }]);
    this.histNote = h("div", { class: "tbm-muted tbm-small", dataset: { distNote: "1" } });
    this.histTitle = h("span", { class: "tbm-muted" });
    this.histCard = h("div", { class: "tbm-card", dataset: { card: "distribution" } },
      h("div", { class: "tbm-cardbar" }, h("h3", null, "Score distribution ", this.histTitle),
        this.whichSeg.el, this.scale.el),
      this.histBox, this.histLegend.el, this.histNote);

    this.relBox = h("div", { class: "tbm-chart", dataset: { chart: "reliability" } });
    this.relSeries = [
      { label: "perfectly calibrated", color: COLORS.allNegative, dash: [3, 3] },
      { label: "all labels", color: COLORS.f1, width: 1.5, points: 5 },
      { label: "selected label", color: COLORS.label, width: 1.5, points: 5 },
    ];
    this.relLegend = legend(this.relSeries);
    this.relLabelName = this.relLegend.el.children[2];
    this.relNote = h("div", { class: "tbm-muted tbm-small" });
    this.relCard = h("div", { class: "tbm-card", dataset: { card: "reliability" } },
      h("h3", null, "Reliability (calibration)"), this.relBox, this.relLegend.el, this.relNote);
    this.charts = null;
    this.markerT = null;
  }

  _ensure() {
    if (this.charts) return;
    this.charts = {
      hist: new LineChart(this.histBox, {
        height: 200, xLabel: "score bin (probability)", yLabel: "cells", ySize: 48,
        series: [{ label: "positives", color: POS, stepped: true, fill: "rgba(216,27,96,.12)", width: 1.5 },
          { label: "negatives", color: NEG, stepped: true, fill: "rgba(30,136,229,.10)", width: 1.5 }],
        ySplits: (u, axisIdx, min, max) => countTicks(max, this.log),
        yValues: (u, splits) => splits.map((v) => (this.log ? fmtCount(Math.round(10 ** v - 1)) : fmtCount(v))),
      }),
      rel: new LineChart(this.relBox, {
        height: 200, xRange: [0, 1], yRange: [0, 1], xLabel: "predicted probability (bin midpoint)",
        yLabel: "share positive", series: this.relSeries,
      }),
    };
  }

  /** New `distribution` answer (or null while none). */
  setData(d, state) {
    this.data = d;
    this._ensure();
    this.log = state.distScale === "log";
    this.scale.set(state.distScale);
    if (!d) return;
    if (!d.label) this.which = "pooled";
    else if (this._labelName !== d.label.name) this.which = "label";
    this._labelName = d.label ? d.label.name : null;
    this.whichSeg.set(this.which);
    this._drawHist();
    this._drawRel();
  }

  setScale(scale) {
    this.log = scale === "log";
    this.scale.set(scale);
    this._drawHist();
  }

  _drawHist() {
    const d = this.data;
    if (!d || !this.charts) return;
    const part = this.which === "label" && d.label ? d.label : d.pooled;
    this.histTitle.textContent = part === d.pooled ? "(all labels pooled)" : `(${d.label.name})`;
    const pos = histogramSteps(d.thresholds, part.positives, this.log);
    const neg = histogramSteps(d.thresholds, part.negatives, this.log);
    this.charts.hist.setData([pos.x, pos.y, neg.y]);
    const sum = (a) => a.reduce((s, v) => s + (v || 0), 0);
    this.histLegend.values[0].textContent = fmtCount(sum(part.positives));
    this.histLegend.values[1].textContent = fmtCount(sum(part.negatives));
    const T = d.thresholds.length;
    const below = (part.positives[0] || 0) + (part.negatives[0] || 0);
    const above = (part.positives[T] || 0) + (part.negatives[T] || 0);
    const out = d.out_of_range || 0;
    const parts = [`below ${fmtThreshold(d.thresholds[0])}: ${fmtCount(below)} cells`,
      `at or above ${fmtThreshold(d.thresholds[T - 1])}: ${fmtCount(above)} cells`];
    if (!d.from_logits && out > 0) {
      parts.push(`\u26a0 ${fmtCount(out)} scores outside [0, 1]: logits read as probabilities?`);
    }
    this.histNote.textContent = parts.join(" \u00b7 ");
    this.histNote.classList.toggle("tbm-warntext", !d.from_logits && out > 0);
    this.charts.hist.setMarker(this.markerT, []);
  }

  _drawRel() {
    const d = this.data;
    const x = d.pooled.confidence;
    const nul = (a) => a.map((v) => (v === null ? null : v));
    this.charts.rel.setData([x, x.slice(), nul(d.pooled.positive_share),
      d.label ? nul(d.label.positive_share) : x.map(() => null)]);
    this.relLegend.values[0].textContent = "";
    this.relLegend.values[1].textContent = `ECE ${fmtMetric(d.pooled.ece)}`;
    this.relLabelName.childNodes[1].data = d.label ? `${d.label.name} ` : "selected label ";
    this.relLegend.values[2].textContent = d.label ? `ECE ${fmtMetric(d.label.ece)}` : "(click a label)";
    this.relNote.textContent = "Per score bin, the share of positives against the bin's " +
      "probability midpoint. ECE: the cell-weighted mean gap (bins of the stored thresholds)." +
      (d.from_logits ? " Logits are binned as sigmoid(z)." : "");
  }

  /** The slider's threshold as a vertical line over the histogram (the hot path: DOM only). */
  setThreshold(t) {
    this.markerT = t;
    if (this.charts) this.charts.hist.setMarker(t, []);
  }
}
