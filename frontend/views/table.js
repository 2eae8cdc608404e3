// The per-label table: virtualised (only the visible rows exist in the DOM), so 10,000 labels
// scroll and re-sort as fast as 10. Every cell is text (textContent).

import { h } from "../dom.js";
import { f1Css } from "../calc.js";
import { fmtMetric, fmtCount, fmtThreshold } from "../format.js";

export const ROW_H = 26;

export const COLUMNS = [
  { key: "name", label: "Label", cls: "l", title: "Label name" },
  { key: "support", label: "Support", title: "Positives for this label (tp + fn); with ignored " +
    "cells, \u201cof N\u201d gives the observed cells (Counts.observed)" },
  { key: "precision", label: "Precision", title: "tp / (tp + fp) at the slider threshold" },
  { key: "recall", label: "Recall", title: "tp / (tp + fn) at the slider threshold" },
  { key: "f1", label: "F1", title: "2tp / (2tp + fp + fn) at the slider threshold" },
  { key: "ap", label: "AP", title: "Average precision over the stored thresholds " +
    "(scikit-learn's step sum; independent of the slider)" },
  { key: "roc_auc", label: "ROC-AUC", title: "Area under the ROC curve over the stored " +
    "thresholds (trapezoid; independent of the slider)" },
  { key: "best_t", label: "Best t", title: "Each label's best threshold for the chosen objective" },
  { key: "best_value", label: "Best F1", title: "The objective at the label's best threshold" },
];

function barCell() {
  const fill = h("i");
  const bg = h("span", { class: "tbm-barbg" }, fill);
  const num = h("em");
  const cell = h("span", { class: "tbm-bar" }, bg, num);
  return { cell, fill, num };
}

export class LabelTable {
  /** onSort(key), onSelect(labelIndex) */
  constructor(onSort, onSelect) {
    this.onSelect = onSelect;
    this.order = new Int32Array(0); // label indices in display order
    this.cols = null; // {names, support, observed?, precision, recall, f1, ap, roc_auc, best_t, best_value, bestIsUnit, nan}
    this.selected = null;
    this.headButtons = {};
    const head = h("div", { class: "tbm-thead", role: "row" }, COLUMNS.map((c) => {
      const b = h("button", { type: "button", class: c.cls || null, title: c.title,
        role: "columnheader", onclick: () => onSort(c.key) }, c.label);
      this.headButtons[c.key] = b;
      return b;
    }));
    this.rowsEl = h("div", { class: "tbm-rows" });
    this.body = h("div", { class: "tbm-body", role: "rowgroup", tabindex: "0" }, this.rowsEl);
    this.emptyEl = h("div", { class: "tbm-empty-rows tbm-hidden" }, "No label matches the filter.");
    this.el = h("div", { class: "tbm-table", role: "table", "aria-label": "Per-label metrics" },
      head, this.body, this.emptyEl);
    this.pool = [];
    // Layout is read only in the scroll and resize callbacks, never on the slider's hot path
    // (a read there would force a synchronous reflow of the whole page).
    this.scrollTop = 0;
    this.viewH = 460;
    this.body.addEventListener("scroll", () => {
      this.scrollTop = this.body.scrollTop;
      this.renderRows();
    }, { passive: true });
    new ResizeObserver(() => {
      const hgt = this.body.clientHeight;
      if (hgt > 0 && hgt !== this.viewH) {
        this.viewH = hgt;
        this.renderRows();
      }
    }).observe(this.body);
    this.body.addEventListener("keydown", (e) => {
      // arrows move the selection through the shown order
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
      const n = this.order.length;
      if (!n) return;
      e.preventDefault();
      const pos = this.selected === null ? -1 : this.order.indexOf(this.selected);
      const next = pos < 0 ? 0 : Math.max(0, Math.min(n - 1, pos + (e.key === "ArrowDown" ? 1 : -1)));
      this.onSelect(this.order[next]);
    });
    this.body.addEventListener("click", (e) => {
      const row = e.target.closest(".tbm-row");
      if (row && row.dataset.label !== "") this.onSelect(Number(row.dataset.label));
    });
  }

  /** The header of the best-value column (the objective's name). */
  setBestLabel(text) {
    this.headButtons.best_value.textContent = text;
  }

  setSort(key, dir) {
    for (const [k, b] of Object.entries(this.headButtons)) {
      if (k === key) b.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
      else b.removeAttribute("aria-sort");
    }
  }

  /** New columns and display order; renders the visible rows. */
  update(cols, order) {
    this.cols = cols;
    if (order.length !== this.order.length) {
      // the browser clamps scrollTop when the rows shrink: mirror it without reading layout
      this.scrollTop = Math.max(0, Math.min(this.scrollTop, order.length * ROW_H - this.viewH));
    }
    this.order = order;
    this.rowsEl.style.height = `${order.length * ROW_H}px`;
    this.emptyEl.classList.toggle("tbm-hidden", order.length > 0);
    this.renderRows();
  }

  setSelected(label) {
    this.selected = label;
    this.renderRows();
  }

  /** Scrolls so that `label` is visible (when it is in the filtered order). */
  reveal(label) {
    const pos = this.order.indexOf(label);
    if (pos < 0) return;
    const top = pos * ROW_H;
    const b = this.body;
    if (top < b.scrollTop || top + ROW_H > b.scrollTop + b.clientHeight) {
      b.scrollTop = Math.max(0, top - b.clientHeight / 2);
      this.scrollTop = b.scrollTop;
      this.renderRows();
    }
  }

  _row() {
    const name = h("span", { class: "l" });
    const nameText = document.createTextNode("");
    const nanw = h("span", { class: "nanw" });
    name.append(nameText, nanw);
    const support = h("span");
    const precision = h("span");
    const recall = h("span");
    const f1 = barCell();
    const ap = h("span");
    const auc = h("span");
    const bestT = h("span");
    const bestF1 = barCell();
    const el = h("div", { class: "tbm-row", role: "row" },
      name, support, precision, recall, f1.cell, ap, auc, bestT, bestF1.cell);
    this.rowsEl.appendChild(el);
    return { el, name, nameText, nanw, support, precision, recall, f1, ap, auc, bestT, bestF1, label: -2 };
  }

  renderRows() {
    const cols = this.cols;
    if (!cols) return;
    const n = this.order.length;
    const viewH = Math.max(this.viewH, 460);
    const first = Math.max(0, Math.min(Math.floor(this.scrollTop / ROW_H) - 2, n - 1));
    const count = Math.min(n - first, Math.ceil(viewH / ROW_H) + 5);
    while (this.pool.length < count) this.pool.push(this._row());
    for (let i = 0; i < this.pool.length; i++) {
      const r = this.pool[i];
      if (i >= count) {
        if (r.el.style.display !== "none") r.el.style.display = "none";
        r.label = -2;
        continue;
      }
      const pos = first + i;
      const l = this.order[pos];
      r.el.style.display = "";
      r.el.style.transform = `translateY(${pos * ROW_H}px)`;
      r.el.dataset.label = String(l);
      if (r.label !== l) {
        r.label = l;
        const nm = cols.names[l];
        r.nameText.data = nm;
        r.name.title = nm;
        const nan = cols.nan ? cols.nan[l] : 0;
        r.nanw.textContent = nan > 0 ? `\u26a0 ${fmtCount(nan)} NaN` : "";
        r.nanw.title = nan > 0 ? "Scores that were NaN for this label (never counted positive)" : "";
        r.support.textContent = cols.observed
          ? `${fmtCount(cols.support[l])} of ${fmtCount(cols.observed[l])}` : fmtCount(cols.support[l]);
        r.ap.textContent = cols.ap ? fmtMetric(cols.ap[l]) : "";
        r.auc.textContent = cols.roc_auc ? fmtMetric(cols.roc_auc[l]) : "";
        r.bestT.textContent = fmtThreshold(cols.best_t[l]);
        if (cols.bestIsUnit) setBar(r.bestF1, cols.best_value[l]);
        else setPlain(r.bestF1, cols.best_value[l]);
      }
      r.el.classList.toggle("sel", l === this.selected);
      r.precision.textContent = fmtMetric(cols.precision[l]);
      r.recall.textContent = fmtMetric(cols.recall[l]);
      setBar(r.f1, cols.f1[l]);
    }
  }

  /** Rows are cached per label; call when label-level columns (support, best) change. */
  invalidate() {
    for (const r of this.pool) r.label = -2;
  }
}

function setPlain(bar, v) {
  // a value that is not in [0, 1] (a cost): the number without a bar
  bar.fill.style.width = "0";
  bar.num.textContent = v === v && v !== null && v !== undefined ? fmtCount(Math.round(v * 100) / 100) : "\u2014";
}

function setBar(bar, v) {
  const ok = v === v && v !== null && v !== undefined;
  bar.fill.style.width = ok ? `${Math.max(0, Math.min(1, v)) * 100}%` : "0";
  bar.fill.style.background = f1Css(v);
  bar.num.textContent = fmtMetric(v);
}
