// View 4, confusion matrix of single-label multi-class counts (route `confusion`): counts,
// row-normalised (recall) or column-normalised (precision), classes in label order or clustered
// by confusion, a step slider, the difference against another step or run, the top confusions,
// hover for a cell's numbers and click to select its two classes in the other views.
//
// The matrix is painted at one pixel per cell and scaled by CSS without smoothing, names and
// numbers on an overlay (cm_canvas.js), so 1,000 x 1,000 classes redraw within a frame.

import { h, segmented, setOptions } from "../dom.js";
import { showTip } from "./chart.js";
import { fmtMetric, fmtCount, fmtPct } from "../format.js";
import { summaryItems, cellText, signedCount, matrixSums } from "./cm_panels.js";
import {
  clusterOrder, identityOrder, topConfusions, sparseValues, nonZeroCells,
} from "./matrix.js";
import { SEQUENTIAL, DIVERGING, drawLegend, lutCss } from "./heat.js";
import { layout, paintCells, drawOverlay, NUMBERS_MIN_CELL } from "./cm_canvas.js";

const CACHE_SIZE = 24; // steps (matrices) kept in memory

/** The route's answer with its matrices as Float64Arrays (parsed once, reused by every draw). */
function prepare(d) {
  const C = d.classes.length;
  const out = { ...d, C, matrix: d.matrix ? Float64Array.from(d.matrix) : null };
  if (d.against && d.against.matrix) out.against = { ...d.against, matrix: Float64Array.from(d.against.matrix) };
  out.normalised = {};
  return out;
}

/** Sets text only when it differs (a same-value write still dirties the layout). */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export class ConfusionView {
  constructor(ctx) {
    this.ctx = ctx;
    this.api = ctx.api;
    this.d = null; // prepared route answer being drawn
    this.steps = [];
    this.stepIndex = -1;
    this.follow = true; // slider on the latest step: follow new steps
    this.cache = new Map();
    this.order = null;
    this.orderKey = null;
    this.source = null; // {run, tag, token}
    this.against = ""; // "" | "step:<s>" | "run:<r>"
    this.selected = null; // [true, predicted]
    this.lastDrawMs = null;

    this.normSeg = segmented([
      { value: "counts", label: "Counts", title: "Samples per (true, predicted) cell" },
      { value: "recall", label: "Rows (recall)", title: "Each row divided by the true class's samples: the diagonal is per-class recall" },
      { value: "precision", label: "Columns (precision)", title: "Each column divided by the predictions of that class: the diagonal is per-class precision" },
    ], (v) => ctx.store.set({ confusionNorm: v }), "Normalise");
    this.orderSeg = segmented([
      { value: "label", label: "Label order", title: "Classes in the order of the label names" },
      { value: "cluster", label: "Clustered", title: "Classes confused with each other placed next to each other: greedy chaining of M + M\u1d40 off the diagonal, computed from the step shown when first drawn clustered for this run and kept while sliding" },
    ], (v) => ctx.store.set({ confusionOrder: v }), "Class order");
    this.offDiag = h("input", { type: "checkbox", dataset: { offdiag: "1" },
      onchange: () => ctx.store.set({ confusionOffDiagonal: this.offDiag.checked }) });
    this.againstSel = h("select", { "aria-label": "Difference against", dataset: { against: "1" },
      onchange: () => { this.against = this.againstSel.value; this._load(); } });
    this.slider = h("input", { type: "range", min: "0", max: "0", step: "1", value: "0",
      "aria-label": "Confusion matrix step", dataset: { confusionStep: "1" },
      oninput: () => this.setStepIndex(Number(this.slider.value)) });
    this.stepLabel = h("span", { class: "tbm-cm-step", dataset: { cmStep: "1" } }, "step \u2014");
    this.kpis = h("div", { class: "tbm-kpis", dataset: { summary: "confusion" } });
    this.status = h("span", { class: "tbm-small tbm-muted" });
    this.reason = h("div", { class: "tbm-banner tbm-hidden", dataset: { reason: "confusion" } });
    this.legendCanvas = h("canvas", { width: 140, height: 10 });
    this.legendLo = h("span");
    this.legendHi = h("span");
    this.legendText = h("span", { class: "tbm-muted" });
    // the matrix at one pixel per cell, scaled by CSS without smoothing (no per-draw scaling
    // copy); names, numbers and the selection on a transparent overlay that takes the pointer
    this.matrixCanvas = h("canvas", { class: "tbm-cm-matrix", dataset: { cmMatrix: "1" } });
    this.canvas = h("canvas", { class: "tbm-cm-overlay", dataset: { cmOverlay: "1" },
      "aria-label": "Confusion matrix: rows true class, columns predicted class" });
    this.box = h("div", { class: "tbm-cm-box" }, this.matrixCanvas, this.canvas);
    this.boxWidth = 0;
    this.topList = h("ol", { class: "tbm-cm-top", dataset: { topConfusions: "1" } });
    this.topTitle = h("h3", null, "Top confusions");
    this.controls = h("div", { class: "tbm-card", style: { marginBottom: "12px" } },
      h("div", { class: "tbm-tablebar" }, this.normSeg.el, this.orderSeg.el,
        h("label", { class: "tbm-field", title: "Colour only the mistakes (the diagonal is drawn grey), so small confusions next to a large diagonal stand out" },
          this.offDiag, h("span", null, "Mistakes only")),
        h("label", { class: "tbm-field" }, h("span", null, "Difference against"), this.againstSel),
        this.status),
      h("div", { class: "tbm-cm-slider" },
        h("span", { class: "tbm-muted tbm-small" }, "Step"), this.slider, this.stepLabel),
      h("div", { class: "tbm-scale" }, this.legendLo, this.legendCanvas, this.legendHi, this.legendText));
    this.body = h("div", { class: "tbm-cm" },
      h("div", { class: "tbm-card" }, this.box),
      h("div", { class: "tbm-card" }, this.topTitle, this.topList));
    this.el = h("section", { class: "tbm-view", dataset: { view: "confusion" } },
      this.kpis, this.reason, this.controls, this.body);

    this.canvas.addEventListener("mousemove", (e) => this._hover(e));
    this.canvas.addEventListener("mouseleave", () => showTip(null));
    this.canvas.addEventListener("click", (e) => {
      const hit = this._hit(e);
      if (hit) this.select(hit.t, hit.p);
    });
    this._ro = new ResizeObserver((entries) => {
      // read here, so a draw never forces a layout to learn the width
      const w = Math.floor(entries[entries.length - 1].contentRect.width);
      if (w !== this.boxWidth) {
        this.boxWidth = w;
        this.overlayKey = null;
        this.draw();
      }
    });
    this._ro.observe(this.box);
  }

  // ---- selection and options ----------------------------------------------------------------

  select(t, p) {
    this.ctx.store.set({ selectedLabel: t, selectedPair: [t, p] });
  }

  /** Store changes that concern this view (called by the app). */
  update(state, changed) {
    this.normSeg.set(state.confusionNorm);
    this.orderSeg.set(state.confusionOrder);
    this.offDiag.checked = !!state.confusionOffDiagonal;
    this.selected = state.selectedPair || null;
    if (!changed || changed.some((k) => ["confusionNorm", "confusionOrder", "confusionOffDiagonal", "selectedPair"].includes(k))) {
      this.draw();
      this._top();
    }
  }

  // ---- data ------------------------------------------------------------------------------

  /**
   * Brings the view up to date with the selection and the run listing: re-reads the steps only
   * when this run's own tag advanced (not when another run did).
   */
  async sync(state, tags) {
    const info = tags && tags[state.run] && tags[state.run][state.tag];
    if (!info) return;
    const token = `${info.max_step}/${info.max_wall_time}`;
    const same = this.source && this.source.run === state.run && this.source.tag === state.tag;
    this._syncAgainstOptions(state, tags);
    if (same && this.source.token === token) {
      this.update(state, null);
      return;
    }
    if (!same) {
      this.cache.clear();
      this.order = null;
      this.orderKey = null;
      this.follow = true;
    }
    this.source = { run: state.run, tag: state.tag, token };
    let res;
    try {
      res = await this.api.get("steps", { run: state.run, tag: state.tag }, "confusion-steps");
    } catch (e) {
      this.status.textContent = e.message;
      return;
    }
    if (res === null) return;
    const cur = this.steps[this.stepIndex];
    this.steps = res.steps;
    this.slider.max = String(Math.max(0, this.steps.length - 1));
    this.slider.disabled = this.steps.length < 2;
    const keep = this.steps.indexOf(cur);
    const picked = !same && state.step !== null ? this.steps.indexOf(state.step) : -1;
    if (picked >= 0) this.follow = picked === this.steps.length - 1; // the toolbar's step
    this.stepIndex = picked >= 0 ? picked : this.follow || keep < 0 ? this.steps.length - 1 : keep;
    this.slider.value = String(this.stepIndex);
    this._syncAgainstOptions(state, tags);
    await this._load();
  }

  _syncAgainstOptions(state, tags) {
    const opts = [{ value: "", label: "nothing" }];
    for (const s of this.steps || []) opts.push({ value: `step:${s}`, label: `step ${s} of this run` });
    const labels = tags[state.run] && tags[state.run][state.tag] ? tags[state.run][state.tag].labels : null;
    for (const r of Object.keys(tags).sort()) {
      const info = tags[r] && tags[r][state.tag];
      if (r === state.run || !info || !labels) continue;
      if (info.labels.length === labels.length && info.labels.every((x, i) => x === labels[i])) {
        opts.push({ value: `run:${r}`, label: `run ${r} (same step)` });
      }
    }
    if (!opts.some((o) => o.value === this.against)) this.against = "";
    setOptions(this.againstSel, opts, this.against);
  }

  setStepIndex(i) {
    if (!this.steps.length) return null;
    this.stepIndex = Math.max(0, Math.min(this.steps.length - 1, i));
    this.follow = this.stepIndex === this.steps.length - 1;
    if (Number(this.slider.value) !== this.stepIndex) this.slider.value = String(this.stepIndex);
    return this._load();
  }

  /** Drops what was derived from step index i's matrix (benchmarks: a first draw of a step). */
  forgetDerived(i) {
    const d = this.cache.get(this._key(this._params(this.steps[i])));
    if (d) {
      d.normalised = {};
      d.top = null;
      d.nz = null;
      if (d.against) d.against.nz = null;
    }
  }

  _params(step) {
    const p = { run: this.source.run, tag: this.source.tag, step };
    if (this.against.startsWith("step:")) p.against_step = this.against.slice(5);
    else if (this.against.startsWith("run:")) {
      p.against_run = this.against.slice(4);
      p.against_step = step;
    }
    return p;
  }

  _key(p) {
    return JSON.stringify([p.run, p.tag, p.step, p.against_step ?? null, p.against_run ?? null]);
  }

  /** Draws the slider's step: synchronously from the cache, else after loading it. */
  async _load() {
    if (!this.source || this.stepIndex < 0) return;
    const step = this.steps[this.stepIndex];
    setText(this.stepLabel, `step ${step}`);
    const p = this._params(step);
    const key = this._key(p);
    const hit = this.cache.get(key);
    if (hit) {
      this._show(hit);
      this._prefetch();
      return;
    }
    this.status.textContent = "loading\u2026";
    let d;
    try {
      d = await this.api.get("confusion", p, "confusion");
    } catch (e) {
      this.status.textContent = e.message;
      return;
    }
    if (d === null) return; // superseded by a newer slider position
    const prepared = prepare(d);
    this._remember(key, prepared);
    this.status.textContent = "";
    if (this.steps[this.stepIndex] === step && this._key(this._params(step)) === key) this._show(prepared);
    this._prefetch();
  }

  _remember(key, d) {
    this.cache.set(key, d);
    while (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value);
  }

  /** Loads the slider's neighbours in the background, so sliding one step draws at once. */
  async _prefetch() {
    for (const j of [this.stepIndex - 1, this.stepIndex + 1]) {
      if (j < 0 || j >= this.steps.length) continue;
      const p = this._params(this.steps[j]);
      const key = this._key(p);
      if (this.cache.has(key)) continue;
      try {
        const d = await this.api.get("confusion", p, `confusion-prefetch-${j - this.stepIndex}`);
        if (d) {
          const prepared = prepare(d);
          this._remember(key, prepared);
          this._idle(() => this._derive(prepared)); // ready before the slider gets there
        }
      } catch (e) { /* shown when that step is chosen */ }
    }
  }

  /** What a draw of `d` needs under the current options (normalised values, top confusions). */
  _derive(d) {
    if (!d.matrix) return;
    this._values(d);
    if (!d.top) d.top = topConfusions(d.matrix, d.C, 15, d.against ? d.against.matrix : null, d.nz);
  }

  _idle(fn) {
    if (typeof requestIdleCallback === "function") requestIdleCallback(fn, { timeout: 500 });
    else setTimeout(fn, 0);
  }

  _show(d) {
    this.d = d;
    const st = this.ctx.store.get();
    this.normSeg.set(st.confusionNorm);
    this.orderSeg.set(st.confusionOrder);
    this.offDiag.checked = !!st.confusionOffDiagonal;
    this.selected = st.selectedPair || null;
    const multi = d.multiclass && d.matrix;
    setText(this.reason, d.reason || "");
    this.reason.classList.toggle("tbm-hidden", !d.reason);
    this.body.classList.toggle("tbm-hidden", !multi);
    this.controls.classList.toggle("tbm-hidden", !d.multiclass);
    this._summary();
    this.draw();
    this._top();
  }

  // ---- drawing ----------------------------------------------------------------------------

  _classOrder(d) {
    const st = this.ctx.store.get();
    if (st.confusionOrder !== "cluster") {
      if (!this._ident || this._ident.length !== d.C) this._ident = identityOrder(d.C);
      return this._ident;
    }
    const key = `${this.source.run}\u0000${this.source.tag}`;
    if (!this.order || this.orderKey !== key || this.order.length !== d.C) {
      // from the latest step seen (kept while sliding, so cells stay in place)
      this.order = clusterOrder(d.matrix, d.C);
      this.orderKey = key;
    }
    return this.order;
  }

  /** {values, diverging, max} of what is coloured, cached per matrix and option. */
  _values(d) {
    const st = this.ctx.store.get();
    const mode = st.confusionNorm || "counts";
    const off = !!st.confusionOffDiagonal;
    const key = `${mode}/${off}`;
    if (d.normalised[key]) return d.normalised[key];
    const C = d.C;
    const b = d.against && d.against.matrix ? d.against : null;
    if (!d.nz) d.nz = nonZeroCells(d.matrix);
    if (b && !b.nz) b.nz = nonZeroCells(b.matrix);
    // O(non-zero cells): a 1,000-class matrix is mostly zeros
    const sp = sparseValues(d.matrix, C, mode, b ? b.matrix : null, d.nz, b ? b.nz : null);
    let max = 0;
    for (let q = 0; q < sp.nz.length; q++) {
      const x = sp.values[q];
      const a = x < 0 ? -x : x;
      if (!(a > max) || a === Infinity) continue;
      if (off && ((sp.nz[q] / C) | 0) === sp.nz[q] % C) continue;
      max = a;
    }
    const out = { ...sp, diverging: !!b, max, mode, off };
    d.normalised = { [key]: out }; // one option set at a time: bounded memory at 1,000 classes
    return out;
  }

  /** Inverse of `order`: display position of each class (cached per order array). */
  _positions(order) {
    if (this._posFor !== order) {
      this._pos = new Int32Array(order.length);
      for (let i = 0; i < order.length; i++) this._pos[order[i]] = i;
      this._posFor = order;
    }
    return this._pos;
  }

  draw() {
    const d = this.d;
    if (!d || !d.matrix || !this.boxWidth) return; // hidden (width 0): drawn when shown
    const t0 = performance.now();
    const C = d.C;
    const lay = layout(this.boxWidth, C);
    const order = this._classOrder(d);
    const v = this._values(d);
    // 1. one pixel per cell
    const mc = this.matrixCanvas;
    if (!this.offImage || mc.width !== C || mc.height !== C) {
      mc.width = C;
      mc.height = C;
      this.offImage = mc.getContext("2d").createImageData(C, C);
      this.offPixels = new Uint32Array(this.offImage.data.buffer);
    }
    paintCells(this.offPixels, C, this._positions(order), v);
    mc.getContext("2d").putImageData(this.offImage, 0, 0);
    const place = `${lay.x0}/${lay.y0}/${lay.side}`;
    if (this.placed !== place) {
      this.placed = place;
      Object.assign(mc.style, { left: `${lay.x0}px`, top: `${lay.y0}px`, width: `${lay.side}px`, height: `${lay.side}px` });
    }
    // 2. the overlay, redrawn only when what it shows changed
    const numbers = lay.cell >= NUMBERS_MIN_CELL;
    const sel = this.selected ? this.selected.join(",") : "";
    const okey = numbers ? null : `${place}/${lay.width}/${C}/${lay.names}/${order === this.order}/${sel}`;
    if (okey === null || okey !== this.overlayKey) {
      const c = this.canvas;
      const dpr = window.devicePixelRatio || 1;
      if (c.width !== Math.round(lay.width * dpr) || c.height !== Math.round(lay.height * dpr)) {
        c.width = Math.round(lay.width * dpr);
        c.height = Math.round(lay.height * dpr);
        c.style.width = `${lay.width}px`;
        c.style.height = `${lay.height}px`;
        this.box.style.height = `${lay.height}px`;
      }
      drawOverlay(c.getContext("2d"), dpr, lay, d, order, v, numbers, this.selected);
      this.overlayKey = okey;
    }
    this._legend(v);
    this.lastDrawMs = performance.now() - t0;
    this.el.dataset.drawn = String(Number(this.el.dataset.drawn || 0) + 1);
  }

  _legend(v) {
    const stops = v.diverging ? DIVERGING : SEQUENTIAL;
    if (this.legendStops !== stops) {
      drawLegend(this.legendCanvas, (t) => lutCss(stops, t));
      this.legendStops = stops;
    }
    const fmt = (x) => (v.mode === "counts" ? fmtCount(x) : fmtMetric(x, 2));
    const what = v.mode === "counts" ? "samples" : v.mode === "recall" ? "share of the true class" : "share of the predictions";
    if (v.diverging) {
      setText(this.legendLo, `\u2212${fmt(v.max)}`);
      setText(this.legendHi, `+${fmt(v.max)}`);
      setText(this.legendText, `difference in ${what} (this step minus the other; colour \u221d \u221a|difference|)` +
        (v.off ? "; diagonal grey" : ""));
    } else {
      setText(this.legendLo, "0");
      setText(this.legendHi, fmt(v.max));
      setText(this.legendText, `${what} (colour \u221d \u221avalue)` + (v.off ? "; diagonal grey, scale fitted to the mistakes" : ""));
    }
  }

  // ---- summary, top confusions, hover --------------------------------------------------------

  _summary() {
    const items = summaryItems(this.d, this._againstName());
    const sig = items.map((it) => it[0] + it[1]).join("|");
    if (sig !== this.kpiSig) {
      this.kpiSig = sig;
      this.kpiEls = items.map(([key, label, , , title]) => {
        const v = h("div", { class: "v" });
        const sub = h("div", { class: "s" });
        const el = h("div", { class: "tbm-card tbm-kpi", dataset: { kpi: key }, title: title || null },
          h("div", { class: "k" }, label), v, sub);
        return { el, v, sub };
      });
      this.kpis.replaceChildren(...this.kpiEls.map((k) => k.el));
    }
    items.forEach((it, i) => {
      setText(this.kpiEls[i].v, it[2]);
      setText(this.kpiEls[i].sub, it[3] || "");
    });
  }

  _againstName() {
    const a = this.d && this.d.against;
    if (!a) return "";
    return a.run === this.d.run ? `step ${a.step}` : `${a.run} step ${a.step}`;
  }

  _top() {
    const d = this.d;
    if (!d || !d.matrix) return;
    if (!d.nz) d.nz = nonZeroCells(d.matrix);
    if (!d.top) d.top = topConfusions(d.matrix, d.C, 15, d.against ? d.against.matrix : null, d.nz);
    const top = d.top;
    this.topTitle.textContent = d.against ? `Top confusions at step ${d.step} (change vs ${this._againstName()})` : `Top confusions at step ${d.step}`;
    const unit = d.sample_weighted ? "sample weight" : "samples";
    const { rows } = matrixSums(d);
    this.topTitle.append(h("span", { class: "tbm-muted tbm-small", dataset: { topRule: "1" } },
      ` · count, % of the true class's ${unit}`));
    this.topTitle.title = `true → predicted: the ${unit} of the true class predicted as the other class, ` +
      `and their share of all the true class's ${unit} (the cell over its row's sum, as in "rows normalised")` +
      (d.against ? "; the change is in counts" : "");
    const sel = this.selected;
    this.topList.replaceChildren(...top.map((it) => h("li", null, h("button", {
      type: "button", class: "tbm-cm-item" + (sel && sel[0] === it.trueClass && sel[1] === it.predicted ? " sel" : ""),
      dataset: { pair: `${it.trueClass},${it.predicted}` },
      title: `Select ${d.classes[it.trueClass]} and ${d.classes[it.predicted]} in every view`,
      onclick: () => this.select(it.trueClass, it.predicted),
    }, h("span", { class: "l" }, `${d.classes[it.trueClass]} \u2192 ${d.classes[it.predicted]}`),
    h("span", null, fmtCount(it.count)),
    h("span", { class: "tbm-muted", title: `${fmtPct(it.share)} of the true ${d.classes[it.trueClass]} ${unit} (${fmtCount(rows[it.trueClass])})` }, fmtPct(it.share)),
    it.delta !== undefined ? h("span", { class: it.delta > 0 ? "up" : it.delta < 0 ? "down" : "tbm-muted" },
      signedCount(it.delta)) : null))));
    if (!top.length) this.topList.replaceChildren(h("li", { class: "tbm-muted" }, "No confusions: every sample is on the diagonal."));
  }

  _hit(e) {
    const d = this.d;
    if (!d || !d.matrix) return null;
    const r = this.canvas.getBoundingClientRect();
    const lay = layout(this.boxWidth, d.C);
    const x = e.clientX - r.left - lay.x0;
    const y = e.clientY - r.top - lay.y0;
    if (x < 0 || y < 0 || x >= lay.side || y >= lay.side) return null;
    const order = this._classOrder(d);
    const i = Math.min(d.C - 1, Math.floor(y / lay.cell));
    const j = Math.min(d.C - 1, Math.floor(x / lay.cell));
    return { t: order[i], p: order[j] };
  }

  /** The tooltip text of cell (true t, predicted p). */
  cellText(t, p) {
    return cellText(this.d, t, p, this._againstName());
  }

  _hover(e) {
    const hit = this._hit(e);
    if (!hit) {
      showTip(null);
      this.canvas.style.cursor = "";
      return;
    }
    this.canvas.style.cursor = "pointer";
    showTip(this.cellText(hit.t, hit.p), e.clientX, e.clientY);
  }
}
