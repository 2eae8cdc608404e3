// The objectives that define each label's "best threshold" (tb_metrics_plugin.selection):
// their parameters, the same validation as selection.check_objective, the query form of the
// explorer and best_thresholds routes, and short names. Pure and DOM-free (tested in node).

// Objectives for "best threshold" (tb_metrics_plugin.selection.OBJECTIVES): name -> the
// parameters it takes with their defaults, a title, and whether higher is better.
export const OBJECTIVES = {
  f1: { title: "F1", params: {}, higher: true },
  fbeta: { title: "F-beta", params: { beta: 1 }, higher: true },
  recall_at_precision: { title: "Recall at precision \u2265", params: { precision: 0.9 }, higher: true },
  precision_at_recall: { title: "Precision at recall \u2265", params: { recall: 0.9 }, higher: true },
  cost: { title: "Lowest cost", params: { cost_fp: 1, cost_fn: 1 }, higher: false },
};

/** Why a parameter value is refused (the Python check_objective's rules), or null. */
export function objectiveParamError(key, value) {
  const v = Number(value);
  if (value === "" || value === null || value === undefined || !Number.isFinite(v)) {
    return `Expected a number for ${key}; received ${JSON.stringify(String(value ?? ""))}.`;
  }
  if ((key === "precision" || key === "recall") && !(v >= 0 && v <= 1)) {
    return `Expected ${key} in [0, 1] (a target); received ${v}.`;
  }
  if (key === "beta" && !(v > 0)) return `Expected beta > 0 (e.g. 0.5 or 2); received ${v}.`;
  if ((key === "cost_fp" || key === "cost_fn") && !(v >= 0)) return `Expected ${key} >= 0; received ${v}.`;
  return null;
}

/** A valid {metric, params} from anything (a persisted value): unknown metrics become F1,
 * missing or invalid parameters take their defaults, unknown parameters are dropped. */
export function normalizeObjective(o) {
  const metric = o && typeof o.metric === "string" && OBJECTIVES[o.metric] ? o.metric : "f1";
  const params = {};
  for (const [k, dflt] of Object.entries(OBJECTIVES[metric].params)) {
    const v = o && o.params ? o.params[k] : undefined;
    params[k] = v !== undefined && objectiveParamError(k, v) === null ? Number(v) : dflt;
  }
  return { metric, params };
}

/** The query parameters of an objective: {metric, beta?, precision?, ...}. */
export function objectiveQuery(o) {
  const n = normalizeObjective(o);
  return { metric: n.metric, ...n.params };
}

/** A short name of an objective for headers and legends ("F0.5", "recall @ P\u22650.9",
 * "cost (FP 1, FN 5)"). */
export function objectiveName(o) {
  const { metric, params } = normalizeObjective(o);
  if (metric === "f1") return "F1";
  if (metric === "fbeta") return `F${params.beta}`;
  if (metric === "recall_at_precision") return `recall @ P\u2265${params.precision}`;
  if (metric === "precision_at_recall") return `precision @ R\u2265${params.recall}`;
  return `cost (FP ${params.cost_fp}, FN ${params.cost_fn})`;
}
