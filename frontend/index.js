// Entry module of the tb_metrics dashboard. TensorBoard imports it inside the plugin's iframe
// (whose <base href> is the plugin's route prefix, so "./tags" is the plugin's route) and calls
// render().
//
// To render sooner, render() starts the first requests (the run listing, and the last viewed
// run's latest step) while it loads every other module at once (one round of parallel fetches
// instead of a waterfall of nested imports).

import { Api } from "./api.js";
import { normalizeObjective, objectiveQuery } from "./objectives.js";

const PERSIST_KEY = "tbm.ui"; // as app.js

function settle(promise) {
  // a rejection is kept as a value until the app reads it (no "unhandled rejection")
  return promise.then((v) => ({ v }), (e) => ({ e }));
}

function lastSelection() {
  try {
    const v = JSON.parse(window.localStorage.getItem(PERSIST_KEY) || "{}");
    return typeof v.run === "string" && typeof v.tag === "string" ? v : null;
  } catch (e) {
    return null;
  }
}

function earlyExplorer(api, last) {
  // the same options app.js will ask with, so that the early answer can be used
  const zd = ["0", "1", "nan"].includes(last.zeroDivision) ? last.zeroDivision : "0";
  const opts = { zeroDivision: zd, objective: objectiveQuery(normalizeObjective(last.objective)) };
  return { run: last.run, tag: last.tag, opts: JSON.stringify(opts),
    p: settle(api.explorer(last.run, last.tag, null, opts)) };
}

/** Called by TensorBoard inside the plugin iframe. */
export async function render() {
  performance.mark("tbm:render");
  const api = new Api();
  const last = lastSelection();
  const early = {
    api,
    tags: settle(api.tags()),
    explorer: last ? earlyExplorer(api, last) : null,
  };
  const [app] = await Promise.all([
    import("./app.js"),
    import("./vendor/uPlot-1.6.32.esm.js"),
    import("./views/chart.js"),
    import("./views/explorer.js"),
    import("./views/labels.js"),
    import("./views/compare.js"),
    import("./views/confusion.js"),
    import("./views/matrix.js"),
    import("./views/heat.js"),
    import("./views/cm_canvas.js"),
    import("./views/cm_panels.js"),
    import("./views/table.js"),
    import("./views/help.js"),
    import("./views/roc.js"),
    import("./views/distribution.js"),
    import("./views/objective.js"),
    import("./views/banner.js"),
    import("./state.js"),
    import("./calc.js"),
    import("./objectives.js"),
    import("./format.js"),
    import("./dom.js"),
    import("./style.js"),
  ]);
  const root = document.createElement("div");
  root.className = "tbm";
  root.id = "tbm-root";
  document.body.appendChild(root);
  await app.start(root, early);
}
