// UI state: a tiny observable store plus the pure rules that keep a selection valid as runs and
// steps appear. DOM-free (tested in node).

export const VIEWS = ["explorer", "labels", "compare", "confusion"];
export const DEFAULT_POLL_MS = 5000;
export const MIN_POLL_MS = 200;
export const MAX_COMPARE_RUNS = 8;

export function initialState(overrides = {}) {
  return {
    view: "explorer",
    run: null, // run of the explorer and per-label views
    tag: null,
    step: null, // null: the latest step, following new ones as they arrive
    threshold: 0.5, // probability; snapped to the nearest stored threshold
    selectedLabel: null, // label index, shared by every view
    sortKey: "f1", // column of the per-label table
    sortDir: "asc", // worst labels first
    filter: "",
    rankMode: "slider", // per-label F1 at the slider, or at each label's best threshold
    compareRuns: null, // null: every run with the tag (up to MAX_COMPARE_RUNS)
    compareMode: "slider",
    live: true, // poll for new steps
    zeroDivision: "0", // "0" | "1" | "nan": precision / recall / F1 with nothing to divide by
    objective: { metric: "f1", params: {} }, // what "best threshold" means (calc.OBJECTIVES)
    distScale: "linear", // score distribution counts: "linear" | "log"
    selectedPair: null, // [true class, predicted class] clicked in the confusion matrix
    confusionNorm: "counts", // confusion matrix: "counts" | "recall" (rows) | "precision" (columns)
    confusionOrder: "label", // "label" | "cluster"
    confusionOffDiagonal: false, // colour only the mistakes
    heatFitted: false, // per-label heatmap: colour scale fitted to the data instead of 0-1
    rankValue: "f1", // per-label ranking: "f1" | "average_precision" | "roc_auc"
    ...overrides,
  };
}

function sameValue(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  return false;
}

/** createStore(initial): get(), set(patch) -> changed keys, subscribe(fn(state, changed)). */
export function createStore(initial) {
  let state = { ...initial };
  const subs = new Set();
  return {
    get() {
      return state;
    },
    set(patch) {
      const changed = [];
      for (const k of Object.keys(patch)) {
        if (!sameValue(state[k], patch[k])) changed.push(k);
      }
      if (!changed.length) return changed;
      state = { ...state, ...patch };
      for (const fn of [...subs]) fn(state, changed);
      return changed;
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}

/** Runs (sorted) that have at least one tb_metrics tag. */
export function runNames(tags) {
  return Object.keys(tags || {})
    .filter((r) => Object.keys(tags[r] || {}).length > 0)
    .sort(naturalCompare);
}

/** Runs that hold `tag` (sorted). */
export function runsWithTag(tags, tag) {
  return runNames(tags).filter((r) => tags[r][tag] !== undefined);
}

/** Every tag of every run, sorted and unique. */
export function tagNames(tags) {
  const set = new Set();
  for (const r of Object.keys(tags || {})) for (const t of Object.keys(tags[r] || {})) set.add(t);
  return [...set].sort(naturalCompare);
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
export function naturalCompare(a, b) {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Splits "exp/run1/validation" into {group: "exp/run1", split: "validation"} (split "" if none). */
export function splitRun(run) {
  const m = /^(.*)\/(train|training|validation|val|eval|test)$/i.exec(run);
  if (!m) return { group: run, split: "" };
  return { group: m[1], split: m[2] };
}

/**
 * The selection patch that keeps `state` valid for a new `tags` listing (from the `tags` route):
 * keeps what still exists, otherwise picks a default (a validation run first: that is what users
 * tune thresholds on). Returns only the keys that change.
 */
export function reconcile(state, tags) {
  const patch = {};
  const runs = runNames(tags);
  if (!runs.length) {
    if (state.run !== null) patch.run = null;
    if (state.tag !== null) patch.tag = null;
    return patch;
  }
  let run = state.run;
  if (!runs.includes(run)) {
    run = runs.find((r) => splitRun(r).split.toLowerCase().startsWith("val")) || runs[0];
    patch.run = run;
    if (state.step !== null) patch.step = null;
  }
  const runTags = Object.keys(tags[run]).sort(naturalCompare);
  let tag = state.tag;
  if (!runTags.includes(tag)) {
    tag = runTags[0];
    patch.tag = tag;
    if (state.step !== null) patch.step = null;
  }
  if (state.compareRuns !== null) {
    const keep = state.compareRuns.filter((r) => tags[r] && tags[r][tag] !== undefined);
    if (!sameValue(keep, state.compareRuns)) patch.compareRuns = keep.length ? keep : null;
  }
  return patch;
}

/** The runs the comparison view draws. */
export function compareRunsFor(state, tags) {
  if (!state.tag) return [];
  const avail = runsWithTag(tags, state.tag);
  if (state.compareRuns === null) return avail.slice(0, MAX_COMPARE_RUNS);
  return state.compareRuns.filter((r) => avail.includes(r));
}

/** A signature of what data exists (runs, tags, max steps) to spot new steps cheaply. */
export function tagsSignature(tags) {
  const parts = [];
  for (const r of Object.keys(tags || {}).sort()) {
    for (const t of Object.keys(tags[r] || {}).sort()) {
      const info = tags[r][t] || {};
      parts.push(`${r}\u0000${t}\u0000${info.max_step}\u0000${info.max_wall_time}`);
    }
  }
  return parts.join("\u0001");
}

/** Which of (run, tag) pairs changed between two listings: {run: [tag...]} added or advanced. */
export function changedRuns(prev, next) {
  const out = {};
  for (const r of Object.keys(next || {})) {
    for (const t of Object.keys(next[r] || {})) {
      const a = prev && prev[r] && prev[r][t];
      const b = next[r][t];
      if (!a || a.max_step !== b.max_step || a.max_wall_time !== b.max_wall_time) {
        (out[r] = out[r] || []).push(t);
      }
    }
  }
  return out;
}

/**
 * Poll interval in ms from a setting string (localStorage "tbm.pollMs" or the page's
 * `tbm_poll_ms` query parameter): clamped to >= MIN_POLL_MS; "0" or "off" disables polling.
 */
export function parsePollMs(setting, fallback = DEFAULT_POLL_MS) {
  if (setting === null || setting === undefined || setting === "") return fallback;
  const s = String(setting).trim().toLowerCase();
  if (s === "0" || s === "off" || s === "false") return 0;
  const v = Number(s);
  if (!Number.isFinite(v) || v < 0) return fallback;
  return Math.max(MIN_POLL_MS, Math.round(v));
}

/** Next sort state when a column header is clicked: toggles direction on the same column;
 * a new numeric column starts ascending (worst first), the name column A-Z. */
export function nextSort(state, key) {
  if (state.sortKey === key) return { sortKey: key, sortDir: state.sortDir === "asc" ? "desc" : "asc" };
  const descFirst = key === "support";
  return { sortKey: key, sortDir: descFirst ? "desc" : "asc" };
}

/**
 * A token of what `runs` hold for `tag` (max step and wall time of each, from the `tags`
 * listing): data drawn for these runs is stale only when this changes, not when any other run
 * gets a new step.
 */
export function runsToken(tags, runs, tag) {
  return runs.map((r) => {
    const info = tags && tags[r] && tags[r][tag];
    return info ? `${r}\u0000${info.max_step}\u0000${info.max_wall_time}` : `${r}\u0000-`;
  }).join("\u0001");
}

/** The objective of "each label's best" as heatmap query parameters ({metric, ...params}). */
export function objectiveParams(state) {
  const o = state.objective;
  if (!o || !o.metric) return { metric: "f1" };
  return { metric: o.metric, ...(o.params || {}) };
}
