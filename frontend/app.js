// The dashboard's controller: builds the page, owns the store, loads data through api.js and
// hands it to the views. index.js starts it.

import { Api } from "./api.js";
import {
  createStore, initialState, reconcile, runNames, runsWithTag, compareRunsFor, tagsSignature,
  parsePollMs, nextSort, VIEWS, runsToken, objectiveParams,
} from "./state.js";
import { prepareExplorer, thresholdIndex } from "./calc.js";
import { normalizeObjective, objectiveQuery, objectiveName } from "./objectives.js";
import {
  fmtThresholdLabel, fmtAgo, fmtWallTime, downloadName,
} from "./format.js";
import { h, setOptions } from "./dom.js";
import { CSS } from "./style.js";
import { ExplorerView } from "./views/explorer.js";
import { LabelsView } from "./views/labels.js";
import { CompareView } from "./views/compare.js";
import { ConfusionView } from "./views/confusion.js";
import { emptyState, helpNote } from "./views/help.js";
import { warningsBanner } from "./views/banner.js";

export const PERSIST_KEY = "tbm.ui";
const PERSISTED = ["view", "run", "tag", "threshold", "sortKey", "sortDir", "rankMode", "compareMode",
  "zeroDivision", "objective", "distScale",
  "confusionNorm", "confusionOrder", "heatFitted", "rankValue"];
const VIEW_TITLES = {
  explorer: "Threshold explorer",
  labels: "Per-label F1",
  compare: "Micro / macro comparison",
  confusion: "Confusion matrix",
};

function readSetting(name, param) {
  try {
    const p = new URLSearchParams(window.parent.location.search).get(param);
    if (p !== null) return p;
  } catch (e) { /* cross-origin parent: ignore */ }
  try {
    return window.localStorage.getItem(name);
  } catch (e) {
    return null;
  }
}

function loadPersisted() {
  try {
    const v = JSON.parse(window.localStorage.getItem(PERSIST_KEY) || "{}");
    const out = {};
    for (const k of PERSISTED) if (v[k] !== undefined) out[k] = v[k];
    if (out.view && !VIEWS.includes(out.view)) delete out.view;
    for (const k of ["run", "tag"]) if (typeof out[k] !== "string") delete out[k];
    if (typeof out.threshold !== "number" || !(out.threshold >= 0 && out.threshold <= 1)) delete out.threshold;
    if (!["0", "1", "nan"].includes(out.zeroDivision)) delete out.zeroDivision;
    if (out.objective !== undefined) out.objective = normalizeObjective(out.objective);
    if (!["linear", "log"].includes(out.distScale)) delete out.distScale;
    return out;
  } catch (e) {
    return {};
  }
}

function injectStyles(doc) {
  if (doc.getElementById("tbm-style")) return;
  const link = doc.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./vendor/uPlot-1.6.32.min.css", import.meta.url).href;
  doc.head.appendChild(link);
  const style = doc.createElement("style");
  style.id = "tbm-style";
  style.textContent = CSS;
  doc.head.appendChild(style);
}

function unwrap(settled) {
  if (settled.e) throw settled.e;
  return settled.v;
}

class App {
  constructor(root, early) {
    this.root = root;
    this.early = early || null;
    this.api = (early && early.api) || new Api();
    this.store = createStore(initialState(loadPersisted()));
    this.pollMs = parsePollMs(readSetting("tbm.pollMs", "tbm_poll_ms"));
    this.tags = null;
    this.tagsSig = null;
    this.model = null; // prepared explorer data
    this.modelKey = null;
    this.loaded = { heat: null, series: null };
    this.lastUpdate = null;
    this.firstRender = null;
    this.renderCount = 0;
    this._build();
    this.store.subscribe((st, changed) => this._onChange(st, changed));
  }

  // ---- layout ----------------------------------------------------------------------------

  _build() {
    const st = this.store.get();
    this.runSel = h("select", { "aria-label": "Run", dataset: { picker: "run" },
      onchange: () => {
        this.runSel.title = this.runSel.value; // the full name, also when the select cuts it
        this.store.set({ run: this.runSel.value, step: null, selectedPair: null });
      } });
    this.tagSel = h("select", { "aria-label": "Tag", dataset: { picker: "tag" },
      onchange: () => this.store.set({ tag: this.tagSel.value, step: null, selectedLabel: null, selectedPair: null }) });
    this.stepSel = h("select", { "aria-label": "Step", dataset: { picker: "step" },
      onchange: () => this.store.set({ step: this.stepSel.value === "" ? null : Number(this.stepSel.value) }) });
    this.liveEl = h("span", { class: "tbm-live", title: "New steps appear while training runs" },
      h("span", { class: "tbm-dot" }), h("span", { class: "tbm-live-text" }, "connecting\u2026"));
    this.liveText = this.liveEl.lastChild;
    this.refreshBtn = h("button", { type: "button", class: "tbm-btn", title: "Reload runs and data",
      onclick: () => this.refresh(true) }, "\u21bb Refresh");
    this.downloadBtn = h("a", { class: "tbm-btn", "aria-disabled": "true",
      title: "Per-label best-F1 thresholds, as JSON that tb_metrics_plugin.load_best_thresholds() reads" },
      "\u2913 Best thresholds");
    this.pickers = [
      h("label", { class: "tbm-field" }, h("span", null, "Run"), this.runSel),
      h("label", { class: "tbm-field" }, h("span", null, "Tag"), this.tagSel),
      h("label", { class: "tbm-field" }, h("span", null, "Step"), this.stepSel),
      this.downloadBtn,
    ];
    this.toolbar = h("div", { class: "tbm-toolbar" },
      h("h2", null, "Threshold metrics"), this.pickers.slice(0, 3),
      h("span", { class: "tbm-spacer" }), this.liveEl, this.refreshBtn, this.downloadBtn);

    this.tabButtons = {};
    this.tabs = h("div", { class: "tbm-tabs", role: "tablist" }, VIEWS.map((v) => {
      const b = h("button", { type: "button", class: "tbm-tab", role: "tab", dataset: { tab: v },
        "aria-selected": String(v === st.view), onclick: () => this.store.set({ view: v }) },
      VIEW_TITLES[v]);
      this.tabButtons[v] = b;
      return b;
    }));

    this.slider = h("input", { type: "range", min: "0", max: "100", step: "1", value: "50",
      "aria-label": "Decision threshold", disabled: true,
      oninput: () => this._slide(Number(this.slider.value)) });
    this.tval = h("span", { class: "tbm-tval", "aria-live": "polite" }, "t = \u2014");
    this.thresholdBar = h("div", { class: "tbm-threshold" },
      h("span", { class: "tbm-muted tbm-small" }, "Threshold"), this.slider, this.tval);

    this.banner = h("div", { class: "tbm-banner tbm-hidden", role: "status" });
    this.warnEl = h("div", { class: "tbm-banner tbm-hidden", role: "status", dataset: { warnings: "1" } });
    const ctx = {
      store: this.store,
      selectLabel: (l) => this.store.set({ selectedLabel: l, selectedPair: null }),
      api: this.api,
      onSort: (key) => this.store.set(nextSort(this.store.get(), key)),
      api: this.api,
      overlayRuns: () => (this.tags ? compareRunsFor(this.store.get(), this.tags) : []),
      overlayListed: () => (this.tags ? runsWithTag(this.tags, this.store.get().tag) : []),
      tagsSig: () => this.tagsSig,
    };
    this.views = {
      explorer: new ExplorerView(ctx),
      labels: new LabelsView(ctx),
      compare: new CompareView(ctx),
      confusion: new ConfusionView(ctx),
    };
    this.viewBox = h("div", null, Object.values(this.views).map((v) => v.el));
    this.dataWarn = warningsBanner();
    this.main = h("div", { class: "tbm-main" }, this.tabs, this.thresholdBar, this.banner, this.dataWarn.el,
      this.viewBox, helpNote());
    this.empty = emptyState();
    this.empty.classList.add("tbm-hidden");
    this.root.append(this.toolbar, this.warnEl, this.main, this.empty);
    this._showView(st.view);
  }

  _showView(view) {
    this._syncThresholdBar();
    for (const v of VIEWS) {
      this.views[v].el.classList.toggle("tbm-hidden", v !== view);
      this.tabButtons[v].setAttribute("aria-selected", String(v === view));
    }
  }

  /** The threshold slider is hidden where it changes nothing: the confusion matrix (argmax),
   * and the per-label view at each label's best threshold or ranked by AP / ROC-AUC. */
  _syncThresholdBar() {
    const st = this.store.get();
    const hide = st.view === "confusion" ||
      (st.view === "labels" && (st.rankMode === "best" || (st.rankValue || "f1") !== "f1"));
    this.thresholdBar.classList.toggle("tbm-hidden", hide);
  }

  _banner(text, isError) {
    this.banner.textContent = text || "";
    this.banner.classList.toggle("tbm-hidden", !text);
    this.banner.classList.toggle("err", !!isError);
  }

  // ---- state changes -----------------------------------------------------------------------

  _slide(i) {
    const m = this.model;
    if (!m) return;
    this.store.set({ threshold: m.thresholds[Math.max(0, Math.min(m.T - 1, i))] });
  }

  _onChange(st, changed) {
    const has = (k) => changed.includes(k);
    this._persist(st, changed);
    if (has("view")) this._showView(st.view);
    else if (has("rankMode") || has("rankValue")) this._syncThresholdBar();
    if (st.view === "confusion" && !has("view") && changed.some((k) => k.startsWith("confusion") || k === "selectedPair")) {
      this.views.confusion.update(st, changed);
    }
    if (has("run") || has("tag")) {
      this._syncPickers();
      this._loadSteps();
    }
    if (has("run") || has("tag") || has("step") || has("zeroDivision") || has("objective")) {
      this._loadExplorer();
    }
    if (has("distScale") || has("compareRuns")) this.views.explorer.setOption(st, changed);
    if (has("compareRuns") || has("tag")) this._syncCompareRuns();
    const m = this.model;
    if (m) {
      if (has("threshold")) this._syncSlider();
      const viewChanged = changed.filter((k) => k !== "view");
      if (viewChanged.length) {
        // redrawn synchronously (the slider's hot path); the canvas view only while visible
        this.views.explorer.update(st, viewChanged);
        if (st.view === "labels") this.views.labels.update(st, viewChanged);
      }
      if (has("view") && st.view === "labels") this.views.labels.update(st, null);
    }
    if (has("view") || has("threshold") || has("rankMode") || has("compareMode") ||
        has("compareRuns") || has("run") || has("tag") || has("rankValue") || has("objective") ||
        has("heatFitted")) {
      this._scheduleAux(has("threshold") ? 250 : 0);
    }
    if (has("compareMode")) this.views.compare.update(st);
  }

  _persist(st, changed) {
    // remembered for the next visit; written after the slider settles (off the hot path)
    if (!changed.some((k) => PERSISTED.includes(k))) return;
    clearTimeout(this._persistTimer);
    this._persistTimer = setTimeout(() => {
      try {
        const cur = this.store.get();
        const o = {};
        for (const k of PERSISTED) o[k] = cur[k];
        window.localStorage.setItem(PERSIST_KEY, JSON.stringify(o));
      } catch (e) { /* storage disabled */ }
    }, 300);
  }

  _syncPickers() {
    const st = this.store.get();
    const tags = this.tags || {};
    setOptions(this.runSel, runNames(tags).map((r) => ({ value: r, label: r })), st.run);
    this.runSel.title = this.runSel.value;
    const runTags = st.run && tags[st.run] ? Object.keys(tags[st.run]).sort() : [];
    setOptions(this.tagSel, runTags.map((t) => ({ value: t, label: t })), st.tag);
  }

  _syncSteps(steps) {
    const st = this.store.get();
    const info = this.tags && this.tags[st.run] && this.tags[st.run][st.tag];
    const latest = steps && steps.length ? steps[steps.length - 1] : info ? info.max_step : null;
    const opts = [{ value: "", label: latest === null ? "latest" : `latest (${latest})` }];
    if (steps) for (let i = steps.length - 1; i >= 0; i--) opts.push({ value: String(steps[i]), label: String(steps[i]) });
    else if (st.step !== null) opts.push({ value: String(st.step), label: String(st.step) });
    setOptions(this.stepSel, opts, st.step === null ? "" : String(st.step));
  }

  _syncSlider() {
    const m = this.model;
    const st = this.store.get();
    const ti = thresholdIndex(m.thresholds, st.threshold);
    this.slider.max = String(m.T - 1);
    this.slider.disabled = m.T < 2;
    if (Number(this.slider.value) !== ti) this.slider.value = String(ti);
    this.tval.textContent = fmtThresholdLabel(m.thresholds[ti], m.logits ? m.logits[ti] : null, m.fromLogits);
  }

  _syncCompareRuns() {
    const st = this.store.get();
    if (!this.tags || !st.tag) return;
    this.views.compare.setRuns(runsWithTag(this.tags, st.tag), compareRunsFor(st, this.tags));
  }

  _syncDownload() {
    const st = this.store.get();
    const m = this.model;
    if (!m) {
      this.downloadBtn.setAttribute("aria-disabled", "true");
      this.downloadBtn.removeAttribute("href");
      return;
    }
    this.downloadBtn.setAttribute("aria-disabled", "false");
    this.downloadBtn.href = this.api.bestThresholdsUrl(st.run, st.tag, m.step, objectiveQuery(m.objective));
    this.downloadBtn.title = `Per-label best thresholds (${objectiveName(m.objective)}) at step ${m.step}, ` +
      "as JSON that tb_metrics_plugin.load_best_thresholds() reads";
    this.downloadBtn.download = downloadName(st.run, st.tag, m.step);
  }

  // ---- loading -----------------------------------------------------------------------------

  async refresh(force) {
    let tags;
    try {
      const early = this.early && this.early.tags;
      if (early) this.early.tags = null;
      tags = early ? unwrap(await early) : await this.api.tags();
    } catch (e) {
      this._live(false, e.message);
      this._banner(`Could not load the runs: ${e.message}`, true);
      return;
    }
    if (tags === null) return;
    if (this.firstRender === null) performance.mark("tbm:tags");
    const sig = tagsSignature(tags);
    const changed = sig !== this.tagsSig;
    const prev = this.tags;
    this.tags = tags;
    this.tagsSig = sig;
    this.lastUpdate = Date.now();
    this._live(true);
    if (changed || force) this._loadWarnings();
    const hasRuns = runNames(tags).length > 0;
    this.main.classList.toggle("tbm-hidden", !hasRuns);
    this.empty.classList.toggle("tbm-hidden", hasRuns);
    for (const el of this.pickers) el.classList.toggle("tbm-hidden", !hasRuns);
    if (!hasRuns) {
      this.model = null;
      this._syncPickers();
      this._markReady(null);
      return;
    }
    if (!changed && !force) return;
    const st = this.store.get();
    const patch = reconcile(st, tags);
    this._syncPickers();
    this._syncCompareRuns();
    if (Object.keys(patch).length) {
      this.store.set(patch); // loads what the new selection needs
      return;
    }
    // same selection: reload what advanced
    const key = (t, r) => (t && t[r] && t[r][st.tag] ? `${t[r][st.tag].max_step}/${t[r][st.tag].max_wall_time}` : "");
    const selAdvanced = !prev || key(prev, st.run) !== key(tags, st.run);
    if (force || selAdvanced) {
      this._loadSteps();
      if (force || st.step === null || !this.model) this._loadExplorer();
    }
    // the heatmap / series keys hold their own runs' tokens: only those runs reload
    this._scheduleAux(0);
    this.views.explorer.setOption(this.store.get(), ["tags"]);
  }

  /** Tags that exist but cannot be read (newer format, damaged file): said, not hidden. */
  async _loadWarnings() {
    let res = null;
    try {
      res = await this.api.warnings();
    } catch (e) {
      return; // an older backend without the route: nothing to say
    }
    const list = (res && res.warnings) || [];
    this.warnEl.textContent = list.length
      ? `${list.length} tb_metrics tag${list.length > 1 ? "s" : ""} cannot be read: ` +
        list.slice(0, 3).map((w) => `${w.run} / ${w.tag}: ${w.reason}`).join("; ") +
        (list.length > 3 ? "; \u2026" : "")
      : "";
    this.warnEl.classList.toggle("tbm-hidden", list.length === 0);
  }

  async _loadSteps() {
    const st = this.store.get();
    if (!st.run || !st.tag) return;
    try {
      const res = await this.api.steps(st.run, st.tag);
      if (res) this._syncSteps(res.steps);
    } catch (e) {
      this._syncSteps(null);
    }
  }

  async _loadExplorer() {
    const st = this.store.get();
    if (!st.run || !st.tag) return;
    this.viewBox.classList.add("tbm-loading");
    let d;
    try {
      const early = this.early && this.early.explorer;
      if (early) this.early.explorer = null;
      const opts = { zeroDivision: st.zeroDivision, objective: objectiveQuery(st.objective) };
      d = early && early.run === st.run && early.tag === st.tag && st.step === null &&
        early.opts === JSON.stringify(opts)
        ? unwrap(await early.p) : await this.api.explorer(st.run, st.tag, st.step, opts);
    } catch (e) {
      this.viewBox.classList.remove("tbm-loading");
      if (e.status === 404 && st.step !== null) {
        this._banner(`Step ${st.step} is not in ${st.run}; showing the latest step.`, false);
        this.store.set({ step: null });
        return;
      }
      this._banner(e.message, true);
      this.dataWarn.set([]); // the shown step's warnings no longer apply
      return;
    }
    if (d === null) return; // superseded by a newer request
    if (this.firstRender === null) performance.mark("tbm:explorer");
    this.viewBox.classList.remove("tbm-loading");
    this._banner(null);
    const cur = this.store.get();
    const m = prepareExplorer(d);
    this.dataWarn.set(m.warnings);
    if (this.firstRender === null) performance.mark("tbm:prepared");
    if (cur.selectedLabel !== null && cur.selectedLabel >= m.L) this.store.set({ selectedLabel: null });
    this.model = m;
    this._syncSlider();
    this._syncDownload();
    const s = this.store.get();
    this.views.explorer.setData(m, s);
    if (s.view === "labels") this.views.labels.setData(m, s);
    else this.views.labels.m = m; // drawn when shown
    this._scheduleAux(0);
    this._markReady(m);
  }

  _markReady(m) {
    this.renderCount++;
    if (this.firstRender === null) this.firstRender = performance.now();
    this.root.dataset.ready = "1";
    this.root.dataset.step = m ? String(m.step) : "";
    this.root.dataset.renders = String(this.renderCount);
    this.liveText.textContent = this._liveLabel();
  }

  _scheduleAux(delay) {
    clearTimeout(this._auxTimer);
    this._auxTimer = setTimeout(() => this._loadAux(), delay);
  }

  /** Loads the heatmap or the series for the visible view when its inputs changed. */
  async _loadAux() {
    const st = this.store.get();
    const m = this.model;
    if (!st.run || !st.tag || !this.tags) return;
    const tParam = (mode) => (mode === "best" || !m ? "best" : m.thresholds[thresholdIndex(m.thresholds, st.threshold)]);
    if (st.view === "labels") {
      const value = st.rankValue || "f1";
      const t = value === "f1" ? tParam(st.rankMode) : "best";
      const extra = value === "f1" ? (t === "best" ? objectiveParams(st) : {}) : { value };
      const key = JSON.stringify([st.run, st.tag, t, extra, runsToken(this.tags, [st.run], st.tag)]);
      if (this.loaded.heat === key) return;
      this.views.labels.setHeatmapStatus("loading values across steps\u2026");
      try {
        const heat = await this.api.heatmap(st.run, st.tag, t, extra);
        if (heat === null) return;
        this.loaded.heat = key;
        this.views.labels.setHeatmap(heat);
      } catch (e) {
        this.views.labels.setHeatmapStatus(`F1 across steps: ${e.message}`);
      }
    } else if (st.view === "confusion") {
      this.views.confusion.sync(st, this.tags);
    } else if (st.view === "compare") {
      const runs = compareRunsFor(st, this.tags);
      const t = tParam(st.compareMode);
      const key = JSON.stringify([st.tag, t, runsToken(this.tags, runs, st.tag)]);
      if (this.loaded.series === key) return;
      if (!runs.length) {
        this.views.compare.setData({}, [], st);
        this.loaded.series = key;
        return;
      }
      this.views.compare.setStatus("loading\u2026");
      try {
        const series = await this.api.series(runs, st.tag, t);
        if (series === null) return;
        this.loaded.series = key;
        this.views.compare.setStatus("");
        this.views.compare.setData(series, runs, this.store.get());
      } catch (e) {
        this.views.compare.setStatus(e.message);
      }
    }
  }

  // ---- live refresh ------------------------------------------------------------------------

  _liveLabel() {
    const m = this.model;
    const parts = [];
    if (this.pollMs > 0) parts.push(document.hidden ? "paused" : "live");
    if (m) parts.push(`step ${m.step}`);
    if (m && m.wallTime) parts.push(fmtWallTime(m.wallTime));
    if (this.lastUpdate) parts.push(`checked ${fmtAgo(Date.now() - this.lastUpdate)}`);
    return parts.join(" \u00b7 ");
  }

  _live(ok, err) {
    this.liveEl.classList.toggle("on", ok && this.pollMs > 0);
    this.liveEl.classList.toggle("err", !ok);
    this.liveText.textContent = ok ? this._liveLabel() : `offline: ${err}`;
  }

  startPolling() {
    const tick = async () => {
      if (this.pollMs > 0 && !document.hidden) {
        try {
          await this.refresh(false);
        } catch (e) { /* shown by refresh */ }
      }
      this._pollTimer = setTimeout(tick, this.pollMs > 0 ? this.pollMs : 60000);
    };
    if (this.pollMs > 0) this._pollTimer = setTimeout(tick, this.pollMs);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.pollMs > 0) this.refresh(false);
      this.liveText.textContent = this._liveLabel();
    });
    setInterval(() => {
      if (!document.hidden && this.tags) this.liveText.textContent = this._liveLabel();
    }, 1000);
  }
}

/**
 * Builds the dashboard in `root`. `early` holds requests index.js started while the modules
 * loaded: {api, tags: Promise<{v}|{e}>, explorer: {run, tag, p: Promise<{v}|{e}>} | null}.
 */
export async function start(root, early) {
  injectStyles(document);
  const app = new App(root, early);
  window.__tbmBench = {
    get firstRender() { return app.firstRender; },
    get renders() { return app.renderCount; },
    /** Moves the slider to index i and returns the synchronous redraw time in ms. */
    moveSlider(i) {
      const t0 = performance.now();
      app.slider.value = String(i);
      app._slide(i);
      return performance.now() - t0;
    },
    get numThresholds() { return app.model ? app.model.T : 0; },
    /** Moves the confusion view's step slider to index i; returns the synchronous redraw ms
     * (null when that step still has to load). */
    confusionStep(i, fresh) {
      const v = app.views.confusion;
      const before = Number(v.el.dataset.drawn || 0);
      if (fresh) v.forgetDerived(i); // time the first draw of a loaded step, values included
      const t0 = performance.now();
      v.slider.value = String(i);
      v.setStepIndex(i);
      const ms = performance.now() - t0;
      return Number(v.el.dataset.drawn || 0) > before ? ms : null;
    },
    get confusionSteps() { return app.views.confusion.steps.length; },
    /** ms of the last confusion-matrix canvas draw alone (the slider handler also updates the
     * KPIs and the top-confusion list). */
    get confusionDrawMs() { return app.views.confusion.lastDrawMs; },
  };
  await app.refresh(true);
  app.startPolling();
  return app;
}
