// "Runs overlaid": the PR and ROC curves of several runs (the `curves` route) for micro or the
// selected label. Each run keeps its line style from run_styles.js (colour per experiment, dash
// per kind: train dashed, validation solid, as in the comparison view); a filter by kind (the
// run's last path component) draws only validation or only train runs; the legend names every
// run drawn in full, and hovering a curve names its run.

import { h, segmented } from "../dom.js";
import { LineChart, showTip } from "./chart.js";
import { finitePairs, prPoints } from "../calc.js";
import { fmtMetric } from "../format.js";
import { runKind, runStyles, runSwatch, styleNote, sharedNote } from "../run_styles.js";

const KIND_LABELS = { validation: "validation", train: "train", test: "test", "": "other" };
const HOVER_PX = 10; // a curve within this many pixels of the pointer is named

/**
 * Which of `runs` a kind filter keeps: kind "all" keeps every run, otherwise the runs whose
 * runKind is `kind` ("" for runs without a train / validation / test suffix).
 */
export function filterByKind(runs, kind) {
  return kind === "all" ? [...runs] : runs.filter((r) => runKind(r) === kind);
}

/** PR and ROC curves of several runs overlaid, for micro or the selected label. */
export class OverlayCard {
  /** onMode("micro" | "label") */
  constructor(onMode) {
    this.mode = "micro";
    this.kind = "all";
    this.seg = segmented([{ value: "micro", label: "micro" }, { value: "label", label: "selected label" }],
      (v) => onMode(v), "Curves of");
    this.seg.set("micro");
    this.kindBox = h("span", { class: "tbm-field", dataset: { overlayKinds: "1" } });
    this.status = h("span", { class: "tbm-muted tbm-small", dataset: { overlayStatus: "1" } });
    this.prBox = h("div", { class: "tbm-chart", dataset: { chart: "overlay-pr" } });
    this.rocBox = h("div", { class: "tbm-chart", dataset: { chart: "overlay-roc" } });
    this.drawnEl = h("div", { class: "tbm-small", dataset: { overlayDrawn: "1" } });
    this.legendEl = h("div", { class: "tbm-legend tbm-runlegend", dataset: { overlayLegend: "1" } });
    this.el = h("div", { class: "tbm-card", dataset: { card: "overlay" } },
      h("div", { class: "tbm-cardbar" }, h("h3", null, "Runs overlaid"), this.kindBox, this.seg.el),
      this.drawnEl,
      h("div", { class: "tbm-grid2" }, this.prBox, this.rocBox), this.legendEl, this.status,
      h("div", { class: "tbm-muted tbm-small" },
        "Each run's latest step; the runs are those chosen in the Micro / macro comparison tab. " +
        "Hover a curve or a legend entry to pick out its run."));
    this.charts = null;
    this.chartKey = null;
    this.curves = null;
    this.runs = [];
    this.listed = [];
  }

  setMode(mode) {
    this.mode = mode;
    this.seg.set(mode);
  }

  setStatus(text) {
    this.status.textContent = text || "";
  }

  /** Draws only the runs of one kind ("all", "validation", "train", "test" or "" for other). */
  setKind(kind) {
    this.kind = kind;
    if (this.curves) this._draw();
  }

  /**
   * curves: the `curves` answer {run: {...} | {error}}; runs: the runs asked for, in display
   * order; listed: every run the page lists (their styles stay put whichever are drawn).
   */
  setData(curves, runs, listed) {
    this.curves = curves || {};
    this.runs = runs;
    this.listed = listed && listed.length ? listed : runs;
    this._draw();
  }

  _kinds() {
    const kinds = [];
    for (const k of Object.keys(KIND_LABELS)) {
      if (this.runs.some((r) => runKind(r) === k)) kinds.push(k);
    }
    return kinds;
  }

  _kindFilter(kinds) {
    if (kinds.length < 2) {
      this.kind = "all";
      this.kindBox.replaceChildren();
      return;
    }
    if (this.kind !== "all" && !kinds.includes(this.kind)) this.kind = "all";
    const count = (k) => filterByKind(this.runs, k).length;
    const seg = segmented([{ value: "all", label: `all (${this.runs.length})` },
      ...kinds.map((k) => ({ value: k, label: `${KIND_LABELS[k]} (${count(k)})`,
        title: k ? `Runs whose last path component is ${k}` : "Runs without a train / validation / test suffix" }))],
    (v) => this.setKind(v), "Runs of kind");
    seg.set(this.kind);
    this.kindBox.replaceChildren(h("span", null, "Runs"), seg.el);
  }

  _draw() {
    const curves = this.curves;
    this._kindFilter(this._kinds());
    const shown = filterByKind(this.runs, this.kind);
    const { styles, shared } = runStyles(this.listed, shown);
    const drawn = [];
    const errors = [];
    const noLabel = new Map(); // the label as the server quotes it -> the runs without it
    for (const run of shown) {
      const c = curves[run];
      if (!c) continue;
      if (!c.error) { drawn.push(run); continue; }
      // the server may already name the run: say it once
      const msg = c.error.startsWith(`${run}: `) ? c.error.slice(run.length + 2) : c.error;
      const m = /^Unknown label (.+?); this tag has /.exec(msg);
      if (m) noLabel.set(m[1], [...(noLabel.get(m[1]) || []), run]);
      else errors.push(`${run}: ${msg}`);
    }
    this._ensure(drawn, styles);
    const pr = [null];
    const roc = [null];
    for (const run of drawn) {
      const c = curves[run];
      pr.push(prPoints(c.recall, c.precision, c.predicted));
      roc.push(finitePairs(c.fpr, c.tpr));
    }
    this.charts.pr.setData(pr);
    this.charts.roc.setData(roc);
    this.drawn = drawn;
    this.legendEl.replaceChildren(...drawn.map((run, i) => {
      const c = curves[run];
      // micro: over every label's cells (Counts.average_precision("micro")), else the label's
      const scope = this.mode === "micro" ? "micro " : "";
      const text = `(step ${c.step}) ${scope}AP ${fmtMetric(c.average_precision)} \u00b7 ` +
        `${scope}ROC-AUC ${fmtMetric(c.roc_auc)}`;
      return h("span", {
        dataset: { run }, title: `${run}\n${styles[run].dashName} line; ${text}`,
        onmouseenter: () => this._focus(i), onmouseleave: () => this._focus(null),
      }, runSwatch(styles[run], "i"), h("b", null, run), ` ${text}`);
    }));
    // what is drawn, in words: how many runs of which kinds, what the styles mean
    const hidden = this.runs.length - shown.length;
    const byKind = Object.keys(KIND_LABELS).map((k) => [k, drawn.filter((r) => runKind(r) === k).length])
      .filter(([, n]) => n > 0).map(([k, n]) => `${n} ${KIND_LABELS[k]}`);
    let text = `Drawing ${drawn.length} run${drawn.length === 1 ? "" : "s"}` +
      (byKind.length > 1 || (byKind.length === 1 && !byKind[0].endsWith("other")) ? ` (${byKind.join(", ")})` : "") + ".";
    if (hidden) text += ` ${hidden} of ${this.runs.length} hidden by the kind filter.`;
    // every run asked for is drawn, hidden by the kind filter, or said here why it is not
    const runsWord = (n) => `${n} run${n === 1 ? "" : "s"}`;
    for (const [label, rs] of noLabel) {
      text += ` ${runsWord(rs.length)} ${rs.length === 1 ? "has" : "have"} no label ${label}: ${rs.join(", ")}.`;
    }
    const missing = shown.filter((r) => !curves[r]);
    if (missing.length) text += ` ${runsWord(missing.length)} without this tag.`;
    if (errors.length) text += ` ${runsWord(errors.length)} not drawn because of an error (below).`;
    const note = styleNote(drawn.map((r) => styles[r]));
    if (note) text += ` ${note}`;
    const sharing = shared.filter((r) => drawn.includes(r));
    if (sharing.length) text += ` ${sharedNote(sharing.length, drawn.length)}`;
    this.drawnEl.textContent = text;
    this.setStatus(errors.slice(0, 2).join("; ") + (errors.length > 2 ? `; ${errors.length - 2} more` : ""));
  }

  /** One uPlot per chart, rebuilt when the drawn runs or their styles change. */
  _ensure(drawn, styles) {
    const key = drawn.map((r) => `${r}\u0001${styles[r].color}\u0001${styles[r].dashName}`).join("\u0000");
    if (this.charts && this.chartKey === key) return;
    if (this.charts) {
      this.charts.pr.destroy();
      this.charts.roc.destroy();
    }
    const series = drawn.map((r) => ({ label: r, color: styles[r].color, dash: styles[r].dash, width: 1.75 }));
    const opts = { facets: true, xRange: [0, 1], yRange: [0, 1.02], height: 220, series };
    this.charts = {
      pr: new LineChart(this.prBox, { ...opts, xLabel: "recall", yLabel: "precision" }),
      roc: new LineChart(this.rocBox, { ...opts, xLabel: "false positive rate", yLabel: "true positive rate" }),
    };
    this.chartKey = key;
    for (const [name, chart] of Object.entries(this.charts)) {
      const over = chart.u.over;
      over.addEventListener("mousemove", (e) => this._hover(name, e));
      over.addEventListener("mouseleave", () => {
        showTip(null);
        this._focus(null);
      });
    }
  }

  /** Fades every curve but drawn[i] (null: none faded), in both charts and the legend. */
  _focus(i) {
    if (!this.charts) return;
    for (const chart of Object.values(this.charts)) chart.u.setSeries(i === null ? null : i + 1, { focus: true });
    [...this.legendEl.children].forEach((el, j) => el.classList.toggle("tbm-faded", i !== null && j !== i));
  }

  /** Names the run whose curve passes nearest the pointer (within HOVER_PX). */
  _hover(name, e) {
    const u = this.charts[name].u;
    const rect = u.over.getBoundingClientRect();
    const mx = e.clientX - rect.left;
    const my = e.clientY - rect.top;
    let best = null;
    for (let si = 1; si < u.data.length; si++) {
      const [xs, ys] = u.data[si];
      for (let j = 0; j < xs.length; j++) {
        const dx = u.valToPos(xs[j], "x") - mx;
        const dy = u.valToPos(ys[j], "y") - my;
        const d = dx * dx + dy * dy;
        if (!best || d < best.d) best = { d, si, j };
      }
    }
    if (!best || best.d > HOVER_PX * HOVER_PX) {
      showTip(null);
      this._focus(null);
      return;
    }
    const run = this.drawn[best.si - 1];
    const [xs, ys] = u.data[best.si];
    const [xName, yName] = name === "pr" ? ["recall", "precision"] : ["FPR", "TPR"];
    const c = this.curves[run];
    showTip(`${run} (step ${c.step})\n${xName} ${fmtMetric(xs[best.j])}, ${yName} ${fmtMetric(ys[best.j])}`,
      e.clientX, e.clientY);
    this._focus(best.si - 1);
  }
}
