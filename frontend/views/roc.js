// ROC curve beside the PR curve (micro and the selected label, the slider's point marked), and
// the PR / ROC curves of several runs overlaid for one label or micro (the `curves` route).

import { h, segmented } from "../dom.js";
import { COLORS, RUN_COLORS } from "../style.js";
import { LineChart, legend } from "./chart.js";
import { labelRoc, prPoints } from "../calc.js";
import { fmtMetric } from "../format.js";

function finitePairs(xs, ys) {
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

/** ROC of micro (from the route: Counts.roc_curve("micro")) and of the selected label. */
export class RocCard {
  constructor() {
    this.series = [
      { label: "chance", color: COLORS.allNegative, dash: [3, 3], width: 1 },
      { label: "micro", color: COLORS.f1, width: 2 },
      { label: "selected label", color: COLORS.label, width: 2 },
    ];
    this.box = h("div", { class: "tbm-chart", dataset: { chart: "roc" } });
    this.legend = legend(this.series);
    this.labelName = this.legend.el.children[2];
    this.el = h("div", { class: "tbm-card", dataset: { card: "roc" } },
      h("h3", null, "ROC curve"), this.box, this.legend.el);
    this.chart = null;
    this.label = undefined;
    this.curve = null;
  }

  setData(m) {
    this.m = m;
    this.label = undefined;
    if (!this.chart) {
      this.chart = new LineChart(this.box, {
        facets: true, xRange: [0, 1], yRange: [0, 1.02], xLabel: "false positive rate",
        yLabel: "true positive rate", height: 220, series: this.series,
      });
    }
  }

  /** Draws (when the label changed) and marks the slider's point `ti` (hot path: DOM only). */
  update(label, ti) {
    const m = this.m;
    if (!m || !this.chart || !m.microRoc) return;
    const valid = label !== null && label >= 0 && label < m.L;
    const sel = valid ? label : null;
    if (this.label !== sel) {
      this.label = sel;
      this.curve = valid ? labelRoc(m.tp, m.fp, m.support, m.observed, m.T, label) : null;
      const micro = finitePairs(m.microRoc.fpr, m.microRoc.tpr);
      const lab = this.curve ? finitePairs(this.curve.fpr, this.curve.tpr) : [[], []];
      this.chart.setData([null, [[0, 1], [0, 1]], micro, lab]);
      this.labelName.childNodes[1].data = valid ? `${m.labels[label]} ` : "selected label ";
      const r = m.ranking && m.ranking.micro;
      this.legend.values[1].textContent = `AUC ${fmtMetric(r ? r.roc_auc : null)}`;
      this.legend.values[2].textContent = valid ? `AUC ${fmtMetric(m.rocAuc ? m.rocAuc[label] : null)}` : "";
    }
    const pts = [null, { x: m.microRoc.fpr[ti], y: m.microRoc.tpr[ti], color: COLORS.f1 }];
    if (this.curve) pts.push({ x: this.curve.fpr[ti], y: this.curve.tpr[ti], color: COLORS.label });
    this.chart.setMarker(null, pts);
  }
}

const MAX_RUNS = RUN_COLORS.length;

/** PR and ROC curves of several runs overlaid, for micro or the selected label. */
export class OverlayCard {
  /** onMode("micro" | "label") */
  constructor(onMode) {
    this.mode = "micro";
    this.seg = segmented([{ value: "micro", label: "micro" }, { value: "label", label: "selected label" }],
      (v) => onMode(v), "Curves of");
    this.seg.set("micro");
    this.status = h("span", { class: "tbm-muted tbm-small", dataset: { overlayStatus: "1" } });
    this.prBox = h("div", { class: "tbm-chart", dataset: { chart: "overlay-pr" } });
    this.rocBox = h("div", { class: "tbm-chart", dataset: { chart: "overlay-roc" } });
    this.legendEl = h("div", { class: "tbm-legend", dataset: { overlayLegend: "1" } });
    this.el = h("div", { class: "tbm-card", dataset: { card: "overlay" } },
      h("div", { class: "tbm-cardbar" }, h("h3", null, "Runs overlaid"), this.seg.el, this.status),
      h("div", { class: "tbm-grid2" }, this.prBox, this.rocBox), this.legendEl,
      h("div", { class: "tbm-muted tbm-small" },
        "Each run's latest step; the runs are those chosen in the Micro / macro comparison tab."));
    this.charts = null;
  }

  _ensure() {
    if (this.charts) return;
    const series = RUN_COLORS.map((c, i) => ({ label: `run ${i}`, color: c, width: 1.75 }));
    this.charts = {
      pr: new LineChart(this.prBox, { facets: true, xRange: [0, 1], yRange: [0, 1.02],
        xLabel: "recall", yLabel: "precision", height: 220, series }),
      roc: new LineChart(this.rocBox, { facets: true, xRange: [0, 1], yRange: [0, 1.02],
        xLabel: "false positive rate", yLabel: "true positive rate", height: 220, series }),
    };
  }

  setMode(mode) {
    this.mode = mode;
    this.seg.set(mode);
  }

  setStatus(text) {
    this.status.textContent = text || "";
  }

  /** curves: the `curves` answer {run: {...} | {error}}; runs in display order. */
  setData(curves, runs) {
    this._ensure();
    const pr = [null];
    const roc = [null];
    const items = [];
    const errors = [];
    runs.slice(0, MAX_RUNS).forEach((run, i) => {
      const c = curves && curves[run];
      if (!c || c.error) {
        pr.push([[], []]);
        roc.push([[], []]);
        if (c && c.error) errors.push(c.error);
        return;
      }
      pr.push(prPoints(c.recall, c.precision, c.predicted));
      roc.push(finitePairs(c.fpr, c.tpr));
      items.push({ run, color: RUN_COLORS[i], text: `${run} (step ${c.step}) AP ${fmtMetric(c.average_precision)} \u00b7 ROC-AUC ${fmtMetric(c.roc_auc)}` });
    });
    while (pr.length < MAX_RUNS + 1) {
      pr.push([[], []]);
      roc.push([[], []]);
    }
    this.charts.pr.setData(pr);
    this.charts.roc.setData(roc);
    this.legendEl.replaceChildren(...items.map((it) => {
      const sw = h("i");
      sw.style.borderTopColor = it.color;
      return h("span", { dataset: { run: it.run } }, sw, it.text);
    }));
    const extra = runs.length > MAX_RUNS ? `showing the first ${MAX_RUNS} of ${runs.length} runs` : "";
    this.setStatus([extra, ...errors.slice(0, 2)].filter(Boolean).join("; "));
  }
}
