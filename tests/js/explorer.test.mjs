// The explorer's client-side arithmetic and wording against the Python API (fixtures written by
// python tests/js/make_fixtures.py): zero_division, ROC per label, histogram steps, objectives,
// baselines in percentage points, units, invalid /regex/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import {
  perLabelAt, labelRoc, histogramSteps, zeroDivisionValue, filterError, filterLabels,
  prepareExplorer, labelMetricsAt, countTicks,
} from "../../frontend/calc.js";
import {
  normalizeObjective, objectiveQuery, objectiveParamError, objectiveName, OBJECTIVES,
} from "../../frontend/objectives.js";
import { fmtPP, baselineSentence, fmtRows, fmtN } from "../../frontend/format.js";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const cases = readdirSync(dir).filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")));
const num = (v) => (v === null ? NaN : v);

test("the fixtures include a case with ignored cells", () => {
  assert.ok(cases.some((c) => c.name === "ignored_cells"));
});

for (const c of cases) {
  const L = c.labels.length;
  const T = c.num_thresholds;
  const same = (a, b, msg) => {
    b = num(b);
    if (Number.isNaN(b)) return assert.ok(Number.isNaN(a), `${msg}: ${a} vs NaN`);
    if (c.weighted) assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${msg}: ${a} vs ${b}`);
    else assert.equal(a, b, msg);
  };

  for (const zdName of ["1", "nan"]) {
    test(`${c.name}: per-label P/R/F1 with zero_division=${zdName} equal the Python API`, () => {
      const want = c.zero_division[zdName];
      const zd = zeroDivisionValue(zdName);
      let out;
      for (let ti = 0; ti < T; ti++) {
        out = perLabelAt(c.tp, c.fp, c.support, L, T, ti, out, zd);
        for (let l = 0; l < L; l++) {
          same(out.precision[l], want.precision[l][ti], `precision[${l}][${ti}]`);
          same(out.recall[l], want.recall[l][ti], `recall[${l}][${ti}]`);
          same(out.f1[l], want.f1[l][ti], `f1[${l}][${ti}]`);
        }
      }
    });
  }

  test(`${c.name}: labelRoc equals Counts.roc_curve (observed cells)`, () => {
    for (let l = 0; l < L; l++) {
      const roc = labelRoc(c.tp, c.fp, c.support, c.observed, T, l);
      for (let ti = 0; ti < T; ti++) {
        same(roc.fpr[ti], c.fpr[l][ti], `fpr[${l}][${ti}]`);
        same(roc.tpr[ti], c.tpr[l][ti], `tpr[${l}][${ti}]`);
      }
    }
  });

  test(`${c.name}: histogramSteps keeps Counts.score_histogram's bins in order`, () => {
    const counts = c.histogram_positives[0];
    const { x, y } = histogramSteps(c.thresholds, counts, false);
    assert.equal(x.length, T + 2);
    assert.deepEqual(y.slice(0, T + 1), counts);
    assert.equal(y[T + 1], counts[T]);
    for (let i = 1; i < x.length; i++) assert.ok(x[i] >= x[i - 1]);
    assert.ok(x[0] < c.thresholds[0] && x[T + 1] > c.thresholds[T - 1]);
    const log = histogramSteps(c.thresholds, counts, true);
    assert.deepEqual(log.y.slice(0, T + 1), counts.map((v) => Math.log10(1 + v)));
  });
}

test("prepareExplorer: the zero_division of the answer drives labelMetricsAt", () => {
  const c = cases.find((x) => x.name === "sparse_unweighted");
  const d = {
    step: 1, wall_time: 1, labels: c.labels, thresholds: c.thresholds, from_logits: false,
    n: 200, support: c.support, observed: c.observed, nan: c.support.map(() => 0),
    tp: c.tp, fp: c.fp, micro: { precision: [], recall: [], f1: [] },
    macro: { precision: [], recall: [], f1: [] }, weighted: { f1: [] }, binary_accuracy: [],
    exact_match_accuracy: [], all_negative_accuracy: 0.9, zero_division: "nan",
    best: { index: c.best_index, threshold: c.best_index.map(() => 0.5), value: c.best_f1,
      f1: c.best_f1, metric: "f1", params: {}, higher_is_better: true },
    warnings: ["old style"],
  };
  const m = prepareExplorer(d);
  assert.ok(Number.isNaN(m.zeroDivision));
  const at = labelMetricsAt(m, c.num_thresholds - 1);
  const want = c.zero_division.nan;
  for (let l = 0; l < c.labels.length; l++) {
    const w = num(want.precision[l][c.num_thresholds - 1]);
    if (Number.isNaN(w)) assert.ok(Number.isNaN(at.precision[l]));
    else assert.equal(at.precision[l], w);
  }
  assert.deepEqual(m.warnings, [{ kind: "read", message: "old style" }]);
  assert.equal(m.hasIgnored, false);
});

test("zeroDivisionValue", () => {
  assert.equal(zeroDivisionValue("0"), 0);
  assert.equal(zeroDivisionValue("1"), 1);
  assert.ok(Number.isNaN(zeroDivisionValue("nan")));
});

test("filterError names the bad pattern; plain text and valid regexes are fine", () => {
  assert.equal(filterError(""), null);
  assert.equal(filterError("cat"), null);
  assert.equal(filterError("/^c.t$/i"), null);
  const err = filterError("/a(b/");
  assert.match(err, /^Invalid \/regex\/ \/a\(b\/: /);
  assert.ok(!/No label matches/.test(err));
  assert.deepEqual([...filterLabels(["a(b"], "/a(b/")], []);
  // the pattern is named once, then the browser's reason (not the engine's echo of the pattern)
  assert.equal(filterError("/lab[/"), "Invalid /regex/ /lab[/: Unterminated character class");
  assert.equal(filterError("/a: (b/"), "Invalid /regex/ /a: (b/: Unterminated group");
});

test("objectives: defaults, validation like selection.check_objective, query and names", () => {
  assert.deepEqual(normalizeObjective(null), { metric: "f1", params: {} });
  assert.deepEqual(normalizeObjective({ metric: "nope" }), { metric: "f1", params: {} });
  assert.deepEqual(normalizeObjective({ metric: "fbeta", params: { beta: 0.5, x: 1 } }),
    { metric: "fbeta", params: { beta: 0.5 } });
  assert.deepEqual(normalizeObjective({ metric: "recall_at_precision", params: { precision: 2 } }),
    { metric: "recall_at_precision", params: { precision: 0.9 } });
  assert.deepEqual(objectiveQuery({ metric: "cost", params: { cost_fn: 5 } }),
    { metric: "cost", cost_fp: 1, cost_fn: 5 });
  assert.equal(objectiveParamError("beta", "0"), "Expected beta > 0 (e.g. 0.5 or 2); received 0.");
  assert.match(objectiveParamError("precision", "1.5"), /in \[0, 1\]/);
  assert.match(objectiveParamError("cost_fp", "-1"), />= 0/);
  assert.match(objectiveParamError("recall", ""), /Expected a number/);
  assert.equal(objectiveParamError("recall", "0.8"), null);
  assert.equal(objectiveName({ metric: "fbeta", params: { beta: 0.5 } }), "F0.5");
  assert.equal(objectiveName({ metric: "cost", params: { cost_fp: 1, cost_fn: 5 } }), "cost (FP 1, FN 5)");
  assert.deepEqual(Object.keys(OBJECTIVES),
    ["f1", "fbeta", "recall_at_precision", "precision_at_recall", "cost"]);
});

test("fmtPP: percentage points rounded honestly, never -0.0", () => {
  assert.equal(fmtPP(0.012), "+1.2 pp");
  assert.equal(fmtPP(-0.034), "\u22123.4 pp");
  assert.equal(fmtPP(-0.0004), "0.0 pp");
  assert.equal(fmtPP(0.0004), "0.0 pp");
  assert.equal(fmtPP(0), "0.0 pp");
  assert.equal(fmtPP(null), "\u2014");
});

test("baselineSentence: the 97% trap in a plain sentence within a point of the baseline", () => {
  const trap = baselineSentence("Binary accuracy", 0.967, 0.963);
  assert.equal(trap.trap, true);
  assert.match(trap.text, /predicts almost no positives/);
  const below = baselineSentence("Binary accuracy", 0.955, 0.963);
  assert.equal(below.trap, true);
  const fine = baselineSentence("Exact-match accuracy", 0.5, 0.371);
  assert.equal(fine.trap, false);
  assert.equal(fine.text, "Predicting nothing scores 37.1% (+12.9 pp).");
  assert.deepEqual(baselineSentence("x", NaN, 0.3), { text: "", trap: false });
});

test("fmtRows names the unit", () => {
  assert.equal(fmtRows(18000, "positions", false), "18,000 positions (time steps or pixels)");
  assert.equal(fmtRows(400, "samples", false), "400 samples");
  assert.equal(fmtRows(391.27, "samples", true), "391.27 weighted samples");
});

test("countTicks: nice linear steps, and 0, 1, 10, 100 on the log scale", () => {
  assert.deepEqual(countTicks(60, false), [0, 20, 40, 60]);
  assert.deepEqual(countTicks(7, false), [0, 2, 4, 6]);
  assert.deepEqual(countTicks(0, false), [0]);
  const log = countTicks(Math.log10(1 + 2000), true).map((v) => Math.round(10 ** v - 1));
  assert.deepEqual(log, [0, 10, 100, 1000]);
  const small = countTicks(Math.log10(1 + 150), true).map((v) => Math.round(10 ** v - 1));
  assert.deepEqual(small, [0, 1, 10, 100]);
});

test("fmtN: singular for exactly one (\"1 label\", not \"1 labels\")", () => {
  assert.equal(fmtN(1, "label"), "1 label");
  assert.equal(fmtN(0, "label"), "0 labels");
  assert.equal(fmtN(1200, "label"), "1,200 labels");
  assert.equal(fmtN(1, "class", "classes"), "1 class");
  assert.equal(fmtN(3, "class", "classes"), "3 classes");
});

test("cardRules: micro, macro, weighted F1 and data cards say their rule", async () => {
  const { cardRules } = await import("../../frontend/views/explorer_kpis.js");
  const m = { L: 1, T: 101, sampleUnit: "samples", weighted: false, nanTotal: 0, zeroDivisionName: "0" };
  const r = cardRules(m);
  assert.match(r.micro_f1, /pooled over all labels/);
  assert.match(r.macro_f1, /mean of the per-label F1/);
  assert.match(r.macro_f1, /zero_division=0/);
  assert.match(cardRules({ ...m, zeroDivisionName: "1" }).macro_f1, /zero_division=1/);
  assert.match(cardRules({ ...m, zeroDivisionName: "nan" }).macro_f1, /left out \(zero_division=nan\)/);
  assert.match(r.weighted_f1, /weights = support/);
  assert.equal(r.data, "n counts the samples (rows of y_true) seen at this step; 1 label " +
    "(columns of y_true), 101 stored thresholds.");
  assert.match(cardRules({ ...m, sampleUnit: "positions", weighted: true }).data,
    /^n is the sum of the sample weights of the positions \(each time step or pixel/);
});
