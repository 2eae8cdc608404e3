// Client-side arithmetic against numbers computed by the Python metrics code
// (fixtures: python tests/js/make_fixtures.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import {
  perLabelAt, labelCurve, thresholdIndex, logitCut, filterLabels, sortIndices, toFloatArray,
  nanMean, f1Color, f1Css, finitePairs,
} from "../../frontend/calc.js";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const cases = readdirSync(dir).filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")));
const num = (v) => (v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v === null ? NaN : v);

test("fixtures exist", () => {
  assert.ok(cases.length >= 3, "run python tests/js/make_fixtures.py");
});

for (const c of cases) {
  const L = c.labels.length;
  const T = c.num_thresholds;
  // unweighted counts are integers: the float64 arithmetic must match bit for bit
  const same = (a, b, msg) => {
    if (c.weighted) assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${msg}: ${a} vs ${b}`);
    else assert.equal(a, b, msg);
  };

  test(`${c.name}: per-label P/R/F1 at every threshold index equal the Python API`, () => {
    let out;
    for (let ti = 0; ti < T; ti++) {
      out = perLabelAt(c.tp, c.fp, c.support, L, T, ti, out);
      for (let l = 0; l < L; l++) {
        same(out.precision[l], c.precision[l][ti], `precision[${l}][${ti}]`);
        same(out.recall[l], c.recall[l][ti], `recall[${l}][${ti}]`);
        same(out.f1[l], c.f1[l][ti], `f1[${l}][${ti}]`);
      }
    }
  });

  test(`${c.name}: labelCurve equals the Python per-label curves`, () => {
    for (let l = 0; l < L; l++) {
      const curve = labelCurve(c.tp, c.fp, c.support, T, l);
      for (let ti = 0; ti < T; ti++) {
        same(curve.precision[ti], c.precision[l][ti], "precision");
        same(curve.recall[ti], c.recall[l][ti], "recall");
        same(curve.f1[ti], c.f1[l][ti], "f1");
      }
    }
  });

  test(`${c.name}: best F1 is the max of the per-label F1 curve`, () => {
    for (let l = 0; l < L; l++) {
      const curve = labelCurve(c.tp, c.fp, c.support, T, l);
      if (c.best_index[l] < 0) {
        assert.equal(c.best_f1[l], null);
        assert.equal(c.support[l], 0);
        continue;
      }
      same(curve.f1[c.best_index[l]], c.best_f1[l], "best f1");
      same(Math.max(...curve.f1), c.best_f1[l], "max f1");
    }
  });

  test(`${c.name}: macro F1 is the mean of per-label F1`, () => {
    let out;
    for (let ti = 0; ti < T; ti++) {
      out = perLabelAt(c.tp, c.fp, c.support, L, T, ti, out);
      assert.ok(Math.abs(nanMean(out.f1) - c.macro_f1[ti]) < 1e-12);
    }
  });

  test(`${c.name}: thresholdIndex snaps like Counts.threshold_index`, () => {
    for (const p of c.probes) assert.equal(thresholdIndex(c.thresholds, p.t), p.index, `t=${p.t}`);
    for (let i = 0; i < T; i++) assert.equal(thresholdIndex(c.thresholds, c.thresholds[i]), i);
  });

  test(`${c.name}: logitCut equals metrics.logit_cuts (float32)`, () => {
    for (let i = 0; i < T; i++) assert.equal(logitCut(c.thresholds[i]), num(c.logits[i]), `t=${c.thresholds[i]}`);
  });
}

test("filterLabels: substring, case-insensitive, regex, empty", () => {
  const names = ["Cat", "dog", "catalog", "<b>x</b>"];
  assert.equal(filterLabels(names, ""), null);
  assert.equal(filterLabels(names, "   "), null);
  assert.deepEqual([...filterLabels(names, "cat")], [0, 2]);
  assert.deepEqual([...filterLabels(names, "/^c.t$/")], [0]);
  assert.deepEqual([...filterLabels(names, "<b>")], [3]);
  assert.deepEqual([...filterLabels(names, "/[/")], []); // bad regex: nothing (filterError says why)
  assert.deepEqual([...filterLabels(["a[b"], "/a[/")], []); // not even as a substring
});

test("sortIndices: numeric with NaN last, stable ties, names", () => {
  const v = new Float64Array([0.5, NaN, 0.1, 0.5, 0.9]);
  assert.deepEqual([...sortIndices(Int32Array.from([0, 1, 2, 3, 4]), v, "asc")], [2, 0, 3, 4, 1]);
  assert.deepEqual([...sortIndices(Int32Array.from([0, 1, 2, 3, 4]), v, "desc")], [4, 0, 3, 2, 1]);
  const names = ["b10", "b2", "A", "c"];
  assert.deepEqual([...sortIndices(Int32Array.from([0, 1, 2, 3]), null, "asc", names)], [2, 1, 0, 3]);
  assert.deepEqual([...sortIndices(Int32Array.from([0, 1, 2, 3]), null, "desc", names)], [3, 0, 1, 2]);
});

test("sortIndices: the packed path orders like the comparator", () => {
  const n = 5000;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const v = new Float64Array(n).map(() => {
    const r = rnd();
    return r < 0.05 ? NaN : r < 0.2 ? 0 : r < 0.3 ? 1 : Math.round(rnd() * 200) / 200;
  });
  for (const dir of ["asc", "desc"]) {
    const got = sortIndices(Int32Array.from({ length: n }, (_, i) => i), v, dir);
    const want = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
      const na = Number.isNaN(v[a]);
      const nb = Number.isNaN(v[b]);
      if (na || nb) return na === nb ? a - b : na ? 1 : -1;
      return v[a] === v[b] ? a - b : (dir === "asc" ? 1 : -1) * (v[a] - v[b]);
    });
    assert.deepEqual([...got], want, dir);
  }
  // a subset (filtered labels) and values outside [0, 1] (support) use the comparator
  const sub = sortIndices(Int32Array.from([4000, 10, 2500]), v, "asc");
  assert.equal(sub.length, 3);
  const big = new Float64Array(200).map((_, i) => (i * 37) % 101);
  const idx = sortIndices(Int32Array.from({ length: 200 }, (_, i) => i), big, "desc");
  for (let i = 1; i < 200; i++) assert.ok(big[idx[i - 1]] >= big[idx[i]]);
});

test("sortIndices handles 10,000 labels quickly", () => {
  const n = 10000;
  const v = new Float64Array(n).map((_, i) => ((i * 7919) % 1000) / 1000);
  const t0 = performance.now();
  const idx = sortIndices(Int32Array.from({ length: n }, (_, i) => i), v, "asc");
  assert.ok(performance.now() - t0 < 100);
  for (let i = 1; i < n; i++) assert.ok(v[idx[i - 1]] <= v[idx[i]]);
});

test("toFloatArray maps null to NaN", () => {
  assert.deepEqual([...toFloatArray([1, null, 0.5])].map(String), ["1", "NaN", "0.5"]);
});

test("f1Color: ends of the scale and undefined", () => {
  assert.deepEqual(f1Color(0), [191, 54, 12]);
  assert.deepEqual(f1Color(1), [21, 101, 192]);
  assert.deepEqual(f1Color(2), [21, 101, 192]);
  assert.equal(f1Color(NaN), null);
  assert.equal(f1Color(null), null);
  assert.equal(f1Css(null), "#cfd8dc");
  assert.match(f1Css(0.5), /^rgb\(\d+,\d+,\d+\)$/);
});

test("finitePairs keeps the points where both coordinates are numbers", () => {
  assert.deepEqual(finitePairs([0, NaN, 0.5, 1, null], [0, 0.2, NaN, 1, 0.3]), [[0, 1], [0, 1]]);
  assert.deepEqual(finitePairs([], []), [[], []]);
});
