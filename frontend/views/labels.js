// View 2, per-label ranking: labels ranked by F1 (at the slider or at each label's best
// threshold for the deployment objective), by average precision or by ROC-AUC (worst first),
// each row with its bar at the selected step and, to the right, a heatmap of the same value
// across steps, all on one canvas that draws only the visible rows (so 10,000 labels scroll
// smoothly). The heatmap's colour scale is 0-1 or fitted to the data. Hover shows details; click
// selects.

import { h, segmented } from "../dom.js";
import { COLORS } from "../style.js";
import { showTip } from "./chart.js";
import {
  thresholdIndex, labelMetricsAt, sortIndices, f1Color, f1Css, nanMean,
} from "../calc.js";
import { fmtMetric, fmtCount, fmtThreshold, ellipsize } from "../format.js";
import { fittedRange, rescale } from "./heat.js";

const VALUE_NAMES = { f1: "F1", average_precision: "AP", roc_auc: "ROC-AUC" };
const OBJECTIVE_NAMES = {
  f1: "best F1", fbeta: "best F-beta", recall_at_precision: "best recall at the precision target",
  precision_at_recall: "best precision at the recall target", cost: "lowest cost",
};

const ROW = 18;
const HEAD = 34;
const NAME_W = 190;
const BAR_W = 170;
const GAP = 14;
const FONT = '12px Roboto, "Helvetica Neue", Arial, sans-serif';

export class LabelsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.m = null;
    this.heat = null; // heatmap route JSON for the current mode / threshold
    this.order = new Int32Array(0);
    this.lo = 0;
    this.hi = 1;
    this.values = null; // F1 per label used for ranking
    this.mode = segmented([
      { value: "slider", label: "At the slider", title: "F1 of every label at the slider threshold" },
      { value: "best", label: "At each label's best", title: "F1 of every label at its own best threshold" },
    ], (v) => ctx.store.set({ rankMode: v }), "Rank F1 at");
    this.valueSeg = segmented([
      { value: "f1", label: "F1", title: "Rank by F1 (at the slider or at each label's best threshold)" },
      { value: "average_precision", label: "AP", title: "Rank by average precision (threshold-free; scikit-learn's step sum over the stored thresholds)" },
      { value: "roc_auc", label: "ROC-AUC", title: "Rank by ROC-AUC (threshold-free; trapezoid over the stored thresholds)" },
    ], (v) => ctx.store.set({ rankValue: v }), "Rank by");
    this.fitSeg = segmented([
      { value: "fixed", label: "0\u20131", title: "Colour scale from 0 to 1" },
      { value: "fitted", label: "Fitted", title: "Colour scale fitted to the values shown (min to max), so small differences stand out" },
    ], (v) => ctx.store.set({ heatFitted: v === "fitted" }), "Colour scale");
    this.scaleLo = h("span", null, "0");
    this.scaleHi = h("span", null, "1");
    this.scaleName = h("span", null, "F1");
    this.titleEl = h("h3", { style: { margin: 0 } });
    this.summary = h("div", { class: "tbm-small tbm-muted", dataset: { summary: "labels" } });
    this.chips = h("div", { class: "tbm-chips" });
    this.scaleCanvas = h("canvas", { width: 120, height: 10 });
    this.canvas = h("canvas", { "aria-label": "Labels ranked by F1, with F1 across steps" });
    this.spacer = h("div", { class: "tbm-rank-spacer" });
    this.box = h("div", { class: "tbm-rank", tabindex: "0" }, this.canvas, this.spacer);
    this.heatStatus = h("span", { class: "tbm-small tbm-muted" });
    this.el = h("section", { class: "tbm-view", dataset: { view: "labels" } },
      h("div", { class: "tbm-card" },
        h("div", { class: "tbm-tablebar" }, this.titleEl, this.valueSeg.el, this.mode.el,
          this.fitSeg.el,
          h("span", { class: "tbm-scale", dataset: { legend: "heat" } }, this.scaleName, this.scaleLo,
            this.scaleCanvas, this.scaleHi), this.heatStatus),
        this.summary, this.chips, this.box));
    this.box.addEventListener("scroll", () => this.draw(), { passive: true });
    this.canvas.addEventListener("mousemove", (e) => this._hover(e));
    this.canvas.addEventListener("mouseleave", () => showTip(null));
    this.canvas.addEventListener("click", (e) => {
      const hit = this._hit(e);
      if (hit && hit.label !== null) ctx.selectLabel(hit.label);
    });
    this._ro = new ResizeObserver(() => this.draw());
    this._ro.observe(this.box);
    this._drawScale();
  }

  _drawScale() {
    const c = this.scaleCanvas;
    const g = c.getContext("2d");
    for (let x = 0; x < c.width; x++) {
      g.fillStyle = f1Css(x / (c.width - 1));
      g.fillRect(x, 0, 1, c.height);
    }
  }

  /** The heatmap's colour range: 0-1, or the finite values' min-max when fitted. */
  _scale() {
    const [lo, hi] = fittedRange(this.heat ? this.heat.values : [], this.fitted);
    this.lo = lo;
    this.hi = hi;
    this.scaleLo.textContent = fmtMetric(lo, 2);
    this.scaleHi.textContent = fmtMetric(hi, 2);
    this.fitSeg.el.title = this.fitted ? `Colours span ${fmtMetric(lo, 3)} to ${fmtMetric(hi, 3)}` : "";
  }

  setData(m, state) {
    this.m = m;
    this.update(state, null);
  }

  setHeatmap(heat) {
    this.heat = heat;
    this.heatStatus.textContent = "";
    const st = this.ctx.store.get();
    if (this.m) this.update(st, null);
    else this.draw();
  }

  /** This step's row of the heatmap when it holds what the ranking needs, else null:
   * {values, thresholds} (thresholds only at each label's best). */
  _heatRow(state) {
    const heat = this.heat;
    const m = this.m;
    const value = state.rankValue || "f1";
    if (!heat || !m || (heat.value || "f1") !== value) return null;
    if (value === "f1" && heat.threshold !== "best") return null;
    const s = heat.steps.indexOf(m.step);
    const L = heat.labels.length;
    if (s < 0 || L !== m.L) return null;
    const row = (a) => (a ? a.slice(s * L, (s + 1) * L).map((v) => (v === null ? NaN : v)) : null);
    return { values: row(heat.values), thresholds: row(heat.best_thresholds) };
  }

  setHeatmapStatus(text) {
    this.heatStatus.textContent = text;
  }

  update(state, changed) {
    const m = this.m;
    if (!m) return;
    this.mode.set(state.rankMode);
    const valueKey = state.rankValue || "f1";
    this.valueSeg.set(valueKey);
    this.fitSeg.set(state.heatFitted ? "fitted" : "fixed");
    this.mode.el.classList.toggle("tbm-hidden", valueKey !== "f1");
    this.valueName = VALUE_NAMES[valueKey];
    this.scaleName.textContent = this.valueName;
    const ti = thresholdIndex(m.thresholds, state.threshold);
    const best = state.rankMode === "best" && valueKey === "f1";
    const objective = (state.objective && state.objective.metric) || "f1";
    const row = this._heatRow(state);
    let values;
    this.bestT = null;
    if (valueKey !== "f1") values = row ? Float64Array.from(row.values) : new Float64Array(m.L).fill(NaN);
    else if (best && row) {
      values = Float64Array.from(row.values);
      this.bestT = row.thresholds;
    } else if (best && objective === "f1") {
      values = m.bestF1;
      this.bestT = m.bestT;
    } else if (best) values = new Float64Array(m.L).fill(NaN); // until the route answers
    else values = labelMetricsAt(m, ti).f1;
    this.values = values;
    this.best = best;
    this.valueKey = valueKey;
    this.fitted = !!state.heatFitted;
    this._scale();
    this.ti = ti;
    this.selected = state.selectedLabel;
    this.pair = state.selectedPair || null;
    const order = this.order.length === m.L ? this.order : new Int32Array(m.L);
    for (let i = 0; i < m.L; i++) order[i] = i;
    sortIndices(order, values, "asc");
    this.order = order;
    this.macro = nanMean(values);
    const t = m.thresholds[ti];
    this.titleEl.textContent = valueKey !== "f1" ? `Labels ranked by ${this.valueName}`
      : best ? `Labels ranked by F1 at their best threshold (${OBJECTIVE_NAMES[objective] || objective})`
        : `Labels ranked by F1 at t = ${fmtThreshold(t)}`;
    let below = 0;
    let defined = 0;
    for (let i = 0; i < m.L; i++) {
      if (values[i] === values[i]) {
        defined++;
        if (values[i] < 0.5) below++;
      }
    }
    const vn = this.valueName;
    this.summary.textContent = `Step ${m.step}: ${fmtCount(below)} of ${fmtCount(defined)} labels ` +
      `have ${vn} below 0.5; mean ${vn} (macro) ${fmtMetric(this.macro)}. Worst first` +
      (m.L > 1 ? `; rows to the right show ${vn} across steps.` : ".") +
      (best ? " Each bar is at that label's own threshold (shown beside it); the slider does not apply." : "");
    this.chips.replaceChildren(...Array.from(order.slice(0, Math.min(8, m.L)))
      .filter((l) => values[l] === values[l])
      .map((l) => h("button", {
        type: "button", class: "tbm-chip", title: `Select ${m.labels[l]}`,
        onclick: () => this.ctx.selectLabel(l),
      }, `${ellipsize(m.labels[l], 28)} ${fmtMetric(values[l], 2)}`)));
    if (changed && changed.includes("selectedLabel") && state.selectedLabel !== null) {
      this._reveal(state.selectedLabel);
    }
    this.draw();
  }

  _reveal(label) {
    const pos = this.order.indexOf(label);
    if (pos < 0) return;
    const top = pos * ROW;
    const viewH = this.box.clientHeight - HEAD;
    if (top < this.box.scrollTop || top + ROW > this.box.scrollTop + viewH) {
      this.box.scrollTop = Math.max(0, top - viewH / 2);
    }
  }

  _layout() {
    const m = this.m;
    const width = Math.max(320, this.box.clientWidth);
    const total = HEAD + m.L * ROW + 4;
    const viewH = Math.min(total, 560);
    const heatX = NAME_W + BAR_W + GAP * 2 + (this.bestT ? 52 : 0);
    const steps = this.heat ? this.heat.steps.length : 0;
    const heatW = Math.max(0, width - heatX - 8);
    const cellW = steps ? Math.min(90, heatW / steps) : 0;
    return { width, total, viewH, heatX, steps, heatW, cellW };
  }

  draw() {
    const m = this.m;
    if (!m || !this.box.isConnected || this.box.offsetParent === null) return;
    const lay = this._layout();
    const dpr = window.devicePixelRatio || 1;
    const c = this.canvas;
    if (c.width !== Math.round(lay.width * dpr) || c.height !== Math.round(lay.viewH * dpr)) {
      c.width = Math.round(lay.width * dpr);
      c.height = Math.round(lay.viewH * dpr);
      c.style.width = `${lay.width}px`;
      c.style.height = `${lay.viewH}px`;
    }
    this.spacer.style.height = `${Math.max(0, lay.total - lay.viewH)}px`;
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, lay.width, lay.viewH);
    g.font = FONT;
    g.textBaseline = "middle";
    const scroll = this.box.scrollTop;
    const first = Math.max(0, Math.floor(scroll / ROW));
    const last = Math.min(m.L, Math.ceil((scroll + lay.viewH - HEAD) / ROW) + 1);
    const heat = this.heat;
    const heatL = heat ? heat.labels.length : 0;
    const values = this.values;
    const barX = NAME_W + GAP;

    for (let pos = first; pos < last; pos++) {
      const l = this.order[pos];
      const y = HEAD + pos * ROW - scroll;
      if (y + ROW < HEAD) continue;
      if (l === this.selected || (this.pair && (l === this.pair[0] || l === this.pair[1]))) {
        g.fillStyle = "#e3f2fd";
        g.fillRect(0, y, lay.width, ROW);
      } else if (pos % 2) {
        g.fillStyle = "#fafafa";
        g.fillRect(0, y, lay.width, ROW);
      }
      g.fillStyle = COLORS.text;
      g.textAlign = "right";
      g.fillText(fitText(g, m.labels[l], NAME_W - 8), NAME_W, y + ROW / 2);
      const v = values[l];
      g.fillStyle = "#f1f1f1";
      g.fillRect(barX, y + 4, BAR_W - 40, ROW - 8);
      if (v === v) {
        g.fillStyle = f1Css(v);
        g.fillRect(barX, y + 4, (BAR_W - 40) * Math.max(0, Math.min(1, v)), ROW - 8);
      }
      g.fillStyle = COLORS.muted;
      g.textAlign = "left";
      g.fillText(fmtMetric(v, 2), barX + BAR_W - 36, y + ROW / 2);
      if (this.bestT) {
        g.fillText(`t ${fmtThreshold(this.bestT[l])}`, barX + BAR_W + 2, y + ROW / 2);
      }
      if (heat && lay.cellW > 0 && l < heatL) {
        for (let s = 0; s < lay.steps; s++) {
          const hv = heat.values[s * heatL + l];
          const col = f1Color(rescale(hv, this.lo, this.hi));
          g.fillStyle = col ? `rgb(${col[0]},${col[1]},${col[2]})` : "#eceff1";
          const x0 = lay.heatX + s * lay.cellW;
          g.fillRect(x0, y + 1, Math.max(1, lay.cellW - (lay.cellW > 4 ? 1 : 0)), ROW - 2);
        }
      }
    }
    // macro line over the bars: labels left of it drag macro-F1 down
    if (this.macro === this.macro) {
      const x = barX + (BAR_W - 40) * this.macro;
      g.strokeStyle = COLORS.accent;
      g.setLineDash([3, 3]);
      g.beginPath();
      g.moveTo(x, HEAD);
      g.lineTo(x, lay.viewH);
      g.stroke();
      g.setLineDash([]);
    }
    // header (drawn last, so rows scroll under it)
    g.fillStyle = "#fff";
    g.fillRect(0, 0, lay.width, HEAD);
    g.strokeStyle = COLORS.border;
    g.beginPath();
    g.moveTo(0, HEAD - 0.5);
    g.lineTo(lay.width, HEAD - 0.5);
    g.stroke();
    g.fillStyle = COLORS.muted;
    g.textAlign = "right";
    g.fillText("label", NAME_W, HEAD / 2);
    g.textAlign = "left";
    g.fillText(this.valueName || "F1", barX, HEAD / 2);
    if (this.bestT) g.fillText("threshold", barX + BAR_W + 2, HEAD / 2);
    if (this.macro === this.macro) {
      g.fillStyle = COLORS.accent;
      g.textAlign = "center";
      g.fillText(`macro ${fmtMetric(this.macro, 2)}`, barX + (BAR_W - 40) * this.macro, 25);
      g.fillStyle = COLORS.muted;
      g.textAlign = "left";
    }
    if (heat && lay.steps) {
      g.fillText(`${this.valueName || "F1"} across steps \u2192`, lay.heatX, 10);
      const every = Math.max(1, Math.ceil(36 / Math.max(1, lay.cellW)));
      g.textAlign = "center";
      for (let s = 0; s < lay.steps; s += every) {
        g.fillText(String(heat.steps[s]), lay.heatX + (s + 0.5) * lay.cellW, 25);
      }
    } else if (!heat) {
      g.fillText("F1 across steps: loading\u2026", lay.heatX, HEAD / 2);
    }
  }

  _hit(e) {
    const m = this.m;
    if (!m) return null;
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    if (y < HEAD) return null;
    const pos = Math.floor((y - HEAD + this.box.scrollTop) / ROW);
    if (pos < 0 || pos >= m.L) return null;
    const lay = this._layout();
    let step = null;
    if (this.heat && lay.cellW > 0 && x >= lay.heatX) {
      const s = Math.floor((x - lay.heatX) / lay.cellW);
      if (s >= 0 && s < lay.steps) step = s;
    }
    return { label: this.order[pos], step };
  }

  _hover(e) {
    const hit = this._hit(e);
    if (!hit) {
      showTip(null);
      this.canvas.style.cursor = "";
      return;
    }
    this.canvas.style.cursor = "pointer";
    const m = this.m;
    const l = hit.label;
    const lines = [m.labels[l]];
    const vn = this.valueName || "F1";
    if (this.valueKey && this.valueKey !== "f1") lines.push(`step ${m.step}: ${vn} ${fmtMetric(this.values[l])}`);
    else {
      lines.push(`step ${m.step}: F1 ${fmtMetric(this.values[l])} ` +
        (this.best ? `at its best t = ${fmtThreshold(this.bestT ? this.bestT[l] : NaN)}` : `at t = ${fmtThreshold(m.thresholds[this.ti])}`));
    }
    lines.push(`support ${fmtCount(m.support[l])} \u00b7 best F1 ${fmtMetric(m.bestF1[l])} at t = ${fmtThreshold(m.bestT[l])}`);
    if (hit.step !== null) {
      const heat = this.heat;
      const v = heat.values[hit.step * heat.labels.length + l];
      let extra = "";
      if (heat.best_thresholds) extra = ` at t = ${fmtThreshold(heat.best_thresholds[hit.step * heat.labels.length + l])}`;
      lines.push(`heatmap: step ${heat.steps[hit.step]}: ${vn} ${fmtMetric(v)}${extra}`);
    }
    showTip(lines.join("\n"), e.clientX, e.clientY);
  }
}

/** Text that fits `width` px, shortened at the start ("...suffix"). Canvas text is never HTML. */
function fitText(g, text, width) {
  const s = String(text);
  if (g.measureText(s).width <= width) return s;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (g.measureText("\u2026" + s.slice(mid)).width <= width) hi = mid;
    else lo = mid + 1;
  }
  return "\u2026" + s.slice(lo);
}
