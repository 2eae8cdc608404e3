// ROC curve beside the PR curve (micro and the selected label, the slider's point marked). The
// PR / ROC curves of several runs overlaid (the `curves` route) are in overlay.js.

import { h } from "../dom.js";
import { COLORS } from "../style.js";
import { LineChart, legend } from "./chart.js";
import { finitePairs, labelRoc } from "../calc.js";
import { fmtMetric } from "../format.js";

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
