// View 3, micro / macro comparison: micro, macro and weighted F1, binary and exact-match
// accuracy (with their all-negative baselines, dotted), Keras' `accuracy` (argmax), macro / micro
// AP and ROC-AUC across steps, for several runs at once (train dashed, validation solid), at the
// slider threshold or at each metric's best threshold (route `series`).

import { h, segmented } from "../dom.js";
import { runStyles, runSwatch, styleNote, sharedNote } from "../run_styles.js";
import { LineChart } from "./chart.js";
import { MAX_COMPARE_RUNS } from "../state.js";
import { fmtMetric, fmtThreshold, fmtCount } from "../format.js";

export const METRICS = [
  { key: "micro_f1", title: "Micro F1", group: "f1" },
  { key: "macro_f1", title: "Macro F1", group: "f1" },
  { key: "weighted_f1", title: "Weighted F1", group: "f1" },
  { key: "binary_accuracy", title: "Binary accuracy", group: "acc", baseline: "all_negative_accuracy" },
  { key: "exact_match_accuracy", title: "Exact-match accuracy", group: "acc", baseline: "all_negative_exact_match" },
  { key: "categorical_accuracy", title: "Keras `accuracy` (argmax)", group: "acc", free: true,
    help: "What Keras logs as `accuracy` for an output with more than one column: the top-scoring label is argmax(y_true). No threshold." },
  { key: "macro_average_precision", title: "Macro AP", group: "rank", free: true },
  { key: "micro_average_precision", title: "Micro AP", group: "rank", free: true },
  { key: "macro_roc_auc", title: "Macro ROC-AUC", group: "rank", free: true },
  { key: "micro_roc_auc", title: "Micro ROC-AUC", group: "rank", free: true },
];
const BASELINE_DASH = [2, 3];
/** Tick spacings of the step axis: whole steps only (never 0.5, 1.5). */
export const STEP_INCRS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8].map((p) => m * p))
  .sort((a, b) => a - b);

export class CompareView {
  constructor(ctx) {
    this.ctx = ctx;
    this.data = null;
    this.runs = [];
    this.mode = segmented([
      { value: "slider", label: "At the slider", title: "Every metric at the slider threshold" },
      { value: "best", label: "At best thresholds", title: "Every metric at its own best threshold, per step" },
    ], (v) => ctx.store.set({ compareMode: v }), "Metrics at");
    this.runsEl = h("div", { class: "tbm-runs", role: "group", "aria-label": "Runs to compare" });
    this.note = h("div", { class: "tbm-small tbm-muted" });
    this.status = h("span", { class: "tbm-small tbm-muted" });
    this.boxes = {};
    const cards = METRICS.map((mt) => {
      const box = h("div", { class: "tbm-chart", dataset: { chart: mt.key } });
      this.boxes[mt.key] = box;
      return h("div", { class: "tbm-card", title: mt.help || null }, h("h3", null, mt.title,
        mt.free ? h("span", { class: "tbm-muted tbm-small" }, " \u00b7 no threshold") : null,
        mt.baseline ? h("span", { class: "tbm-muted tbm-small" }, " \u00b7 dotted: predict nothing") : null), box);
    });
    this.summaryBody = h("tbody");
    const th = (t, title) => h("th", { title: title || null }, t);
    cards.push(h("div", { class: "tbm-card tbm-span-all", dataset: { card: "latest" } }, h("h3", null, "Latest step of each run"),
      h("div", { class: "tbm-summary-scroll" }, h("table", { class: "tbm-summary" },
        h("thead", null, h("tr", null, th("Run"), th("Step"), th("Micro", "Micro F1"),
          th("Macro", "Macro F1"), th("Gap", "Micro minus macro F1: large when rare labels do badly"),
          th("Binary", "Binary accuracy"), th("Exact", "Exact-match accuracy"),
          th("Keras acc", "Keras `accuracy` (argmax)"), th("macro AP", "Macro average precision (the mean of the labels' AP)"),
          th("NaN", "NaN scores at this step (never counted positive)"))),
        this.summaryBody))));
    this.el = h("section", { class: "tbm-view", dataset: { view: "compare" } },
      h("div", { class: "tbm-card", style: { marginBottom: "12px" } },
        h("div", { class: "tbm-tablebar" }, h("h3", { style: { margin: 0 } }, "Runs"), this.mode.el,
          this.status),
        this.runsEl, this.note),
      h("div", { class: "tbm-grid3 tbm-fixed3" }, cards));
    this.charts = {};
  }

  /** The run checkboxes: all runs with the tag, `selected` checked. */
  setRuns(allRuns, selected) {
    this.allRuns = allRuns;
    this.selectedRuns = selected;
    // colour per experiment, dash per kind (run_styles.js); the ticked runs never share a style
    const styles = runStyles(allRuns, selected).styles;
    this.styles = styles;
    const items = allRuns.map((r) => {
      const st = styles[r];
      const box = h("input", {
        type: "checkbox", checked: selected.includes(r), dataset: { run: r },
        onchange: () => {
          const now = [...this.runsEl.querySelectorAll("input:checked")].map((x) => x.dataset.run);
          this.ctx.store.set({ compareRuns: now });
        },
      });
      return h("label", { title: r }, box, runSwatch(st), r);
    });
    this.runsEl.replaceChildren(...items);
    // a run listed (or gone) before a drawn one shifts colours: redraw what is shown with them
    if (this.data && this.asked && this.runs.some((r) => styles[r] && this.drawnColors[r] !== styleKey(styles[r]))) {
      this.setData(this.data, this.asked, this.ctx.store.get());
    }
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  update(state) {
    this.mode.set(state.compareMode);
  }

  /** series route JSON ({run: {steps, ...}}), the runs asked for, and the mode. */
  setData(series, runs, state) {
    this.data = series;
    this.asked = runs;
    this.mode.set(state.compareMode);
    const present = runs.filter((r) => series[r]);
    this.runs = present;
    // colours follow the run's place among all runs listed (the checkboxes), never among the ticked
    const listed = this.allRuns || [];
    const { styles, shared } = runStyles(listed, runs);
    // one shared x (union of steps); missing points are null and lines span them
    const stepSet = new Set();
    for (const r of present) for (const s of series[r].steps) stepSet.add(s);
    const steps = [...stepSet].sort((a, b) => a - b);
    const pos = new Map(steps.map((s, i) => [s, i]));
    const ranges = { f1: [1, 0], acc: [1, 0], rank: [1, 0] };
    const columns = {};
    for (const mt of METRICS) {
      columns[mt.key] = present.map((r) => {
        const col = new Array(steps.length).fill(null);
        const d = series[r];
        d.steps.forEach((s, i) => {
          const v = d[mt.key][i];
          col[pos.get(s)] = v;
          if (v !== null && v !== undefined) {
            const rg = ranges[mt.group];
            rg[0] = Math.min(rg[0], v);
            rg[1] = Math.max(rg[1], v);
          }
        });
        return col;
      });
      if (mt.baseline) {
        for (const r of present) {
          const col = new Array(steps.length).fill(null);
          const d = series[r];
          d.steps.forEach((s, i) => { col[pos.get(s)] = d[mt.baseline] ? d[mt.baseline][i] : null; });
          columns[mt.key].push(col);
        }
      }
    }
    const yr = {};
    for (const [g, [lo, hi]] of Object.entries(ranges)) {
      if (lo > hi) yr[g] = [0, 1];
      else {
        const pad = Math.max(0.02, (hi - lo) * 0.08);
        yr[g] = [Math.max(0, Math.floor((lo - pad) * 50) / 50), Math.min(1, Math.ceil((hi + pad) * 50) / 50)];
      }
    }
    this.drawnColors = Object.fromEntries(present.map((r) => [r, styleKey(styles[r])]));
    this._summary(series, present, styles);
    this.yRanges = yr;
    const key = present.map((r) => `${r}\u0001${styleKey(styles[r])}`).join("\u0000");
    for (const mt of METRICS) {
      if (!this.charts[mt.key] || this.chartKey !== key) {
        if (this.charts[mt.key]) this.charts[mt.key].destroy();
        this.charts[mt.key] = new LineChart(this.boxes[mt.key], {
          height: 200,
          xLabel: "step",
          yRange: mt.group === "f1" ? () => this.yRanges.f1 : null,
          xIncrs: STEP_INCRS,
          // a run with one step has no line to draw: its point is drawn instead (lonePoints)
          series: present.map((r) => ({ label: r, color: styles[r].color, dash: styles[r].dash, width: 2,
            lonePoints: 6 }))
            .concat(mt.baseline ? present.map((r) => ({ label: `${r}: predict nothing`, color: styles[r].color,
              dash: BASELINE_DASH, width: 1, lonePoints: 4 })) : []),
          tooltip: (idx) => this._tip(mt, idx),
        });
      }
    }
    this.chartKey = key;
    this.steps = steps;
    this.columns = columns;
    for (const mt of METRICS) this.charts[mt.key].setData([steps, ...columns[mt.key]]);
    const t = state.compareMode === "best" ? null : state.threshold;
    this.note.textContent = present.length
      ? (t === null ? "Each point is the metric at its own best threshold for that step and run."
        : `Every point at threshold t = ${fmtThreshold(t)} (snapped to each run's stored thresholds).`) +
        ` ${styleNote(present.map((r) => styles[r]))} The three F1 charts share one y-axis.`
      : "None of the selected runs has this tag.";
    const all = this.allRuns || runs;
    if (all.length > present.length) {
      this.note.textContent += ` Showing ${present.length} of ${all.length} runs` +
        (this.ctx.store.get().compareRuns === null && all.length > MAX_COMPARE_RUNS
          ? ` (the first ${MAX_COMPARE_RUNS} by default; tick the others to add them).` : "; tick runs to add them.");
    }
    const sharing = shared.filter((r) => present.includes(r));
    if (sharing.length) this.note.textContent += ` ${sharedNote(sharing.length, present.length)}`;
    const nanRuns = present.filter((r) => (series[r].nan_scores || []).some((v) => v > 0));
    if (nanRuns.length) {
      this.note.textContent += ` NaN scores (never counted positive) in ${nanRuns.length} run${nanRuns.length > 1 ? "s" : ""}: see the NaN column.`;
    }
  }

  _summary(series, runs, styles) {
    const rows = runs.map((r) => {
      const d = series[r];
      let i = d.steps.length - 1;
      while (i > 0 && (d.micro_f1[i] === null || d.micro_f1[i] === undefined)) i--;
      const v = (k) => (i >= 0 && d[k] ? d[k][i] : null);
      const gap = v("micro_f1") !== null && v("macro_f1") !== null ? v("micro_f1") - v("macro_f1") : null;
      const sw = runSwatch(styles[r]);
      const gapCell = h("td", null, gap === null ? "\u2014" : (gap >= 0 ? "+" : "\u2212") + fmtMetric(Math.abs(gap)));
      if (gap !== null && gap > 0.1) gapCell.className = "warn";
      return h("tr", { dataset: { run: r } }, h("td", { class: "l", title: r }, sw, ...wrapAtSlash(r)),
        h("td", null, i >= 0 ? String(d.steps[i]) : "\u2014"),
        h("td", null, fmtMetric(v("micro_f1"))), h("td", null, fmtMetric(v("macro_f1"))), gapCell,
        h("td", null, fmtMetric(v("binary_accuracy"))), h("td", null, fmtMetric(v("exact_match_accuracy"))),
        h("td", null, fmtMetric(v("categorical_accuracy"))), h("td", null, fmtMetric(v("macro_average_precision"))),
        nanCell(v("nan_scores")));
    });
    this.summaryBody.replaceChildren(...rows);
  }

  _tip(mt, idx) {
    return this._tipText(mt, idx);
  }

  _tipText(mt, idx) {
    if (!this.steps || idx >= this.steps.length) return null;
    const step = this.steps[idx];
    const lines = [`${mt.title}, step ${step}`];
    this.runs.forEach((r, i) => {
      const v = this.columns[mt.key][i][idx];
      if (v === null || v === undefined) return;
      let extra = "";
      const d = this.data[r];
      const th = d.best_threshold ? d.best_threshold[mt.key] : null;
      if (th) {
        const j = d.steps.indexOf(step);
        if (j >= 0 && th[j] !== null && th[j] !== undefined) extra = ` (t ${fmtThreshold(th[j])})`;
      }
      lines.push(`${tipName(r)}: ${fmtMetric(v)}${extra}`);
      if (mt.baseline) {
        const j = this.data[r].steps.indexOf(step);
        const b = j >= 0 && this.data[r][mt.baseline] ? this.data[r][mt.baseline][j] : null;
        if (b !== null && b !== undefined) lines.push(`  predicting nothing: ${fmtMetric(b)}`);
      }
    });
    return lines.join("\n");
  }
}

function styleKey(s) {
  return `${s.color} ${s.dashName}`;
}

/** A run name for the hover text, which may wrap only after a "/" (a zero-width space follows
 * each; the browser breaks nowhere in "a/b" by itself) or at a space, never after a hyphen (a
 * word joiner follows each): "lr3e-3_batch64" stays whole. */
export function tipName(name) {
  return name.replace(/-/g, "-\u2060").replace(/\//g, "/\u200b");
}

/** A run name as text nodes that may break only after "/" (never mid-word): ["run1/", <wbr>, ...]. */
function wrapAtSlash(name) {
  const out = [];
  name.split(/(?<=\/)/).forEach((part, i) => {
    if (i) out.push(h("wbr"));
    out.push(part);
  });
  return out;
}

function nanCell(v) {
  const td = h("td", null, v === null || v === undefined ? "\u2014" : fmtCount(v));
  if (v > 0) td.className = "warn";
  return td;
}
