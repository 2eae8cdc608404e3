import { test } from "node:test";
import assert from "node:assert/strict";
import {
  sums, normalise, diff, clusterOrder, identityOrder, topConfusions, maxAbs,
} from "../../frontend/views/matrix.js";
import {
  makeLut, sqrtPos, signedSqrtPos, fittedRange, rescale, ramp, SEQUENTIAL,
} from "../../frontend/views/heat.js";

// rows true, columns predicted (sklearn.metrics.confusion_matrix layout)
const M = [
  5, 1, 0,
  2, 3, 0,
  0, 0, 0, // class 2 never occurs
];

test("sums: rows are true-class samples, columns predictions", () => {
  const { rows, cols } = sums(M, 3);
  assert.deepEqual([...rows], [6, 5, 0]);
  assert.deepEqual([...cols], [7, 4, 0]);
});

test("normalise: recall rows, precision columns, NaN where nothing to divide", () => {
  assert.deepEqual([...normalise(M, 3, "counts")], M);
  const r = normalise(M, 3, "recall");
  // sklearn: confusion_matrix(y, p, normalize="true") (which writes 0 where we write NaN)
  assert.deepEqual([...r.slice(0, 6)], [5 / 6, 1 / 6, 0, 2 / 5, 3 / 5, 0]);
  assert.ok(r.slice(6).every(Number.isNaN));
  const p = normalise(M, 3, "precision");
  assert.deepEqual([p[0], p[1], p[3], p[4]], [5 / 7, 1 / 4, 2 / 7, 3 / 4]);
  assert.ok(Number.isNaN(p[2]) && Number.isNaN(p[5]) && Number.isNaN(p[8]));
  // every defined row of the recall matrix sums to 1, every defined column of precision too
  assert.ok(Math.abs(r[0] + r[1] + r[2] - 1) < 1e-15);
  assert.ok(Math.abs(p[1] + p[4] + p[7] - 1) < 1e-15);
  assert.throws(() => normalise(M, 3, "rows"), /Expected normalise mode in counts, recall, precision; received rows/);
});

test("diff: elementwise, NaN kept, size checked", () => {
  assert.deepEqual([...diff([3, 1, 0, 2], [1, 1, 2, 0])], [2, 0, -2, 2]);
  assert.ok(Number.isNaN(diff([NaN], [1])[0]));
  assert.throws(() => diff([1, 2], [1]), /Expected matrices of one size to subtract; received 2 and 1 cells/);
});

test("clusterOrder: confused pairs end up adjacent, unconfused classes last in label order", () => {
  // 6 classes: {0, 3} confused, {1, 4, 5} confused in a chain 1-4-5, class 2 alone
  const C = 6;
  const m = new Array(C * C).fill(0);
  for (let i = 0; i < C; i++) m[i * C + i] = 50;
  const add = (t, p, v) => { m[t * C + p] += v; };
  add(0, 3, 9); add(3, 0, 4); // S(0,3) = 13 (largest total -> first chain)
  add(1, 4, 5); add(4, 5, 3); add(5, 4, 1); // S(1,4) = 5, S(4,5) = 4
  const order = [...clusterOrder(m, C)];
  assert.deepEqual(order.slice().sort(), [0, 1, 2, 3, 4, 5]); // a permutation
  // first chain {0, 3} (total 13), then chain from 4 (total 9): 4 -> 1 (5) then 5 attaches to head 4
  assert.deepEqual(order, [0, 3, 5, 4, 1, 2]);
  const pos = (c) => order.indexOf(c);
  assert.equal(Math.abs(pos(0) - pos(3)), 1);
  assert.equal(Math.abs(pos(4) - pos(5)), 1);
  assert.equal(Math.abs(pos(1) - pos(4)), 1);
  assert.equal(order[C - 1], 2);
  // no confusion at all: label order
  const eye = new Array(9).fill(0);
  eye[0] = eye[4] = eye[8] = 1;
  assert.deepEqual([...clusterOrder(eye, 3)], [...identityOrder(3)]);
});

test("clusterOrder: recovers shuffled blocks", () => {
  // 12 classes in 3 hidden groups of 4 (shuffled ids): every pair inside a group confused
  const C = 12;
  const group = [2, 0, 1, 2, 0, 1, 1, 2, 0, 0, 2, 1];
  const m = new Array(C * C).fill(0);
  for (let t = 0; t < C; t++) {
    for (let p = 0; p < C; p++) m[t * C + p] = t === p ? 100 : group[t] === group[p] ? 3 + ((t + p) % 3) : 0;
  }
  const order = [...clusterOrder(m, C)];
  // each run of 4 consecutive classes in the order is one group
  for (let b = 0; b < 3; b++) {
    const g = order.slice(4 * b, 4 * b + 4).map((c) => group[c]);
    assert.ok(g.every((x) => x === g[0]), `block ${b}: ${order}`);
  }
});

test("topConfusions: off-diagonal cells by count with share of the true class", () => {
  const top = topConfusions(M, 3, 5);
  assert.deepEqual(top, [
    { trueClass: 1, predicted: 0, count: 2, share: 2 / 5 },
    { trueClass: 0, predicted: 1, count: 1, share: 1 / 6 },
  ]);
  const vs = topConfusions(M, 3, 1, [4, 0, 0, 5, 0, 0, 0, 0, 0]);
  assert.deepEqual(vs, [{ trueClass: 1, predicted: 0, count: 2, share: 0.4, before: 5, delta: -3 }]);
  // ties: lower true class first, then lower predicted class
  assert.deepEqual(topConfusions([0, 1, 1, 1, 0, 1, 1, 1, 0], 3, 3).map((x) => [x.trueClass, x.predicted]),
    [[0, 1], [0, 2], [1, 0]]);
});

test("maxAbs: finite maximum, optionally off the diagonal", () => {
  assert.equal(maxAbs([1, -7, NaN, 3]), 7);
  assert.equal(maxAbs(M, 3, true), 2);
  assert.equal(maxAbs(M, 3, false), 5);
  assert.equal(maxAbs([]), 0);
});

test("colour scales: LUT ends, sqrt positions, fitted range", () => {
  const lut = makeLut(SEQUENTIAL);
  assert.equal(lut[0], 0xffffffff); // white, opaque
  assert.deepEqual(ramp(SEQUENTIAL, 1), SEQUENTIAL[SEQUENTIAL.length - 1]);
  assert.equal(sqrtPos(25, 100), 0.5);
  assert.equal(sqrtPos(200, 100), 1);
  assert.ok(Number.isNaN(sqrtPos(NaN, 100)));
  assert.equal(signedSqrtPos(0, 4), 0.5);
  assert.equal(signedSqrtPos(-1, 4), 0.25);
  assert.equal(signedSqrtPos(1, 4), 0.75);
  assert.deepEqual(fittedRange([0.1, null, 0.25, NaN, 0.2], false), [0, 1]);
  assert.deepEqual(fittedRange([0.1, null, 0.25, NaN, 0.2], true), [0.1, 0.25]);
  const [lo, hi] = fittedRange([0.5, 0.5], true, 0.1);
  assert.ok(Math.abs(lo - 0.45) < 1e-12 && Math.abs(hi - 0.55) < 1e-12);
  assert.deepEqual(fittedRange([0.99], true, 0.1).map((x) => +x.toFixed(12)), [0.9, 1]);
  assert.deepEqual(fittedRange([null], true), [0, 1]);
  assert.ok(Math.abs(rescale(0.175, 0.1, 0.25) - 0.5) < 1e-12);
  assert.equal(rescale(0.05, 0.1, 0.25), 0);
  assert.ok(Number.isNaN(rescale(null, 0, 1)));
});

test("sparseValues equals the dense normalise / diff, cell for cell", async () => {
  const { sparseValues, densify, nonZeroCells } = await import("../../frontend/views/matrix.js");
  let seed = 7;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (const C of [1, 3, 9]) {
    for (let trial = 0; trial < 20; trial++) {
      const make = () => Array.from({ length: C * C }, () => (rand() < 0.6 ? 0 : Math.floor(rand() * 5)));
      const a = make();
      const b = make();
      if (trial % 5 === 0) for (let c = 0; c < C; c++) a[c] = 0; // an empty row (class never seen)
      for (const mode of ["counts", "recall", "precision"]) {
        const same = (x, y) => x.length === y.length && x.every((v, i) => (Number.isNaN(v) && Number.isNaN(y[i])) || Math.abs(v - y[i]) < 1e-15);
        const dense = normalise(a, C, mode);
        assert.ok(same([...densify(sparseValues(a, C, mode), C)], [...dense]), `${C} ${mode}`);
        const d = diff(dense, normalise(b, C, mode));
        const s = sparseValues(a, C, mode, b, nonZeroCells(a), nonZeroCells(b));
        assert.ok(same([...densify(s, C)], [...d]), `${C} ${mode} diff`);
        assert.ok(s.nz.every((x, i) => i === 0 || x > s.nz[i - 1])); // sorted, unique
      }
    }
  }
  assert.throws(() => sparseValues([1], 1, "x"), /Expected normalise mode/);
});

test("paintCells: zero white, missing rows grey, max darkest, cells at their display place", async () => {
  const { paintCells, SEQ_LIN, DIV_LIN, layout } = await import("../../frontend/views/cm_canvas.js");
  const { sparseValues } = await import("../../frontend/views/matrix.js");
  const { MISSING } = await import("../../frontend/views/heat.js");
  const C = 3;
  const m = [4, 1, 0, 0, 0, 0, 0, 2, 2]; // row 1 empty (a class never seen)
  const sp = sparseValues(m, C, "recall");
  const v = { ...sp, max: 0.8, diverging: false, off: false };
  const at = Int32Array.from([2, 1, 0]); // reversed: class 0 drawn last
  const px = new Uint32Array(C * C);
  paintCells(px, C, at, v);
  const cell = (r, c) => px[at[r] * C + at[c]];
  assert.equal(cell(0, 0), SEQ_LIN[4096]); // 4/5 = 0.8 = max: darkest
  assert.equal(cell(0, 2), SEQ_LIN[0]); // zero: white
  assert.equal(cell(0, 2), 0xffffffff);
  for (let c = 0; c < C; c++) assert.equal(cell(1, c), MISSING); // no samples: grey, not white
  assert.equal(cell(2, 1), SEQ_LIN[Math.round(0.5 / 0.8 * 4096)]);
  // mistakes only: the diagonal grey whatever the order
  paintCells(px, C, at, { ...v, off: true });
  for (let i = 0; i < C; i++) assert.equal(px[i * C + i], MISSING);
  // a difference: 0 is the middle colour, +max the top, -max the bottom
  const dv = { ...sparseValues([2, 0, 0, 1], 2, "counts", [0, 0, 0, 3]), max: 2, diverging: true, off: false };
  const dpx = new Uint32Array(4);
  paintCells(dpx, 2, Int32Array.from([0, 1]), dv);
  assert.deepEqual([...dpx], [DIV_LIN[4096], DIV_LIN[2048], DIV_LIN[2048], DIV_LIN[0]]);
  // layout: names from 9 px a cell, at most 46 px a cell
  assert.equal(layout(1000, 12).names, true);
  assert.equal(layout(1000, 12).cell, 46);
  assert.equal(layout(1000, 1000).names, false);
  assert.ok(layout(1000, 1000).cell < 1);
});

test("cm_panels: summary cards and hover text, with differences in pp", async () => {
  const { pp, signedCount, summaryItems, cellText } = await import("../../frontend/views/cm_panels.js");
  assert.equal(pp(0.12), "+12.0 pp");
  assert.equal(pp(-0.004), "\u22120.4 pp");
  assert.equal(pp(0.0004), "\u00b10.0 pp"); // never "-0.0"
  assert.equal(pp(NaN), "");
  assert.equal(signedCount(-3), "\u22123");
  const d = {
    C: 2, classes: ["cat", "dog"], step: 4, n: 10, multiclass: true, sample_weighted: false,
    categorical_accuracy: 0.7, top_k_accuracy: [0.7, 1.0], matrix: Float64Array.from([4, 2, 1, 3]),
    against: { categorical_accuracy: 0.5, top_k_accuracy: [0.5, 0.9], matrix: Float64Array.from([3, 3, 2, 2]) },
  };
  const items = summaryItems(d, "step 0");
  assert.deepEqual(items.map((x) => [x[0], x[2], x[3]]), [
    ["categorical_accuracy", "0.700", "vs step 0: 0.500 (+20.0 pp)"],
    ["top_2", "1.000", "vs 0.900 (+10.0 pp)"],
    ["samples", "10", "2 classes \u00b7 step 4"],
  ]);
  assert.equal(cellText(d, 0, 1, "step 0"), [
    "true cat \u2192 predicted dog", "step 4: 2 samples", "33.3% of true cat (6)",
    "40.0% of predicted dog (5)", "step 0: 3 (\u22121)"].join("\n"));
  const multi = { ...d, multiclass: false, against: null, top_k_accuracy: null };
  assert.deepEqual(summaryItems(multi, "").map((x) => x[0]), ["categorical_accuracy", "samples"]);
  // multi-label: no matrix, so no trace; Keras' CategoricalAccuracy rule instead
  assert.equal(summaryItems({ ...d, against: null }, "")[0][3], "share of samples whose top score is the true class = trace / n");
  const [, , , sub, title] = summaryItems(multi, "")[0];
  assert.equal(sub, "share of samples with argmax(y_true) == argmax(y_pred) (CategoricalAccuracy)");
  assert.ok(!/trace/.test(sub + title) && /first positive label/.test(title), title);
});
