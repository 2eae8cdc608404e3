// Every request the dashboard makes goes through here. Routes are relative to the plugin's
// route prefix (the iframe's <base href> is /data/plugin/tb_metrics/), so nothing leaves
// TensorBoard's origin.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** Query string with repeated keys for arrays (`run=a&run=b`); null/undefined are left out. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, String(x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function url(route, params) {
  return `./${route}${query(params)}`;
}

export class Api {
  /** @param {typeof fetch} fetchFn injectable for tests */
  constructor(fetchFn) {
    this._fetch = fetchFn || ((...a) => fetch(...a));
    this._inflight = new Map(); // channel -> AbortController
  }

  /**
   * GETs a JSON route. A request on a `channel` aborts the previous one on the same channel
   * (a newer slider position or step makes the older answer useless); an aborted request
   * resolves to null.
   */
  async get(route, params, channel) {
    let ctrl = null;
    if (channel) {
      const prev = this._inflight.get(channel);
      if (prev) prev.abort();
      ctrl = new AbortController();
      this._inflight.set(channel, ctrl);
    }
    let res;
    try {
      res = await this._fetch(url(route, params), {
        signal: ctrl ? ctrl.signal : undefined,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (e) {
      if (e && e.name === "AbortError") return null;
      throw new ApiError(`Could not reach TensorBoard (${e && e.message ? e.message : e}).`, 0);
    } finally {
      if (channel && this._inflight.get(channel) === ctrl && ctrl.signal.aborted) {
        this._inflight.delete(channel);
      }
    }
    if (ctrl && ctrl.signal.aborted) return null;
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      if (ctrl && ctrl.signal.aborted) return null;
      body = null;
    }
    if (ctrl && ctrl.signal.aborted) return null;
    if (!res.ok) {
      const reason = body && typeof body.error === "string" ? body.error : res.statusText;
      throw new ApiError(`${route}: ${reason || "error " + res.status}`, res.status);
    }
    return body;
  }

  tags() {
    return this.get("tags", {}, "tags");
  }

  /** {"warnings": [{run, tag, reason}]}: tb_metrics tags that cannot be read. */
  warnings() {
    return this.get("warnings", {}, "warnings");
  }

  steps(run, tag) {
    return this.get("steps", { run, tag }, "steps");
  }

  /** opts: {zeroDivision: "0"|"1"|"nan", objective: {metric, ...params} (query form)} */
  explorer(run, tag, step, opts) {
    const o = opts || {};
    return this.get("explorer", { run, tag, step, zero_division: o.zeroDivision, ...(o.objective || {}) },
      "explorer");
  }

  /** PR and ROC curves of `label` (a name; null: micro) for each of `runs`, latest step. */
  curves(runs, tag, label) {
    return this.get("curves", { run: runs, tag, label }, "curves");
  }

  /** Score histograms and reliability, pooled and of `label` (a name or null). */
  distribution(run, tag, step, label) {
    return this.get("distribution", { run, tag, step, label }, "distribution");
  }

  /** threshold: a probability or "best"; extra: {value, metric, ...objective params} */
  heatmap(run, tag, threshold, extra) {
    return this.get("heatmap", { run, tag, threshold, ...(extra || {}) }, "heatmap");
  }

  /** The confusion matrix at `step`; `against`: {against_step} or {against_run, against_step}. */
  confusion(run, tag, step, against) {
    return this.get("confusion", { run, tag, step, ...(against || {}) }, "confusion");
  }

  series(runs, tag, threshold) {
    return this.get("series", { run: runs, tag, threshold }, "series");
  }

  /** objective: {metric, ...params} in query form (calc.objectiveQuery) */
  bestThresholdsUrl(run, tag, step, objective) {
    return url("best_thresholds", { run, tag, step, ...(objective || {}) });
  }
}
