import { test } from "node:test";
import assert from "node:assert/strict";
import {
  runStyles, runKind, dashBackground, styleNote, sharedNote, STYLE_COUNT, RUN_DASHES,
} from "../../frontend/run_styles.js";
import { RUN_COLORS } from "../../frontend/style.js";

const styleKey = (s) => `${s.color} ${JSON.stringify(s.dash)}`;

function assertDistinct(styles, runs) {
  const seen = new Map();
  for (const r of runs) {
    const k = styleKey(styles[r]);
    assert.ok(!seen.has(k), `${r} and ${seen.get(k)} share ${k}`);
    seen.set(k, r);
  }
}

test("runKind reads the last path component", () => {
  assert.equal(runKind("exp/train"), "train");
  assert.equal(runKind("a/b/training"), "train");
  assert.equal(runKind("exp/validation"), "validation");
  assert.equal(runKind("exp/val"), "validation");
  assert.equal(runKind("exp/eval"), "validation");
  assert.equal(runKind("exp/test"), "test");
  assert.equal(runKind("sweep/lr_01"), "");
  assert.equal(runKind("train"), ""); // no experiment part: a run named train, not a kind of one
});

test("an experiment's runs share a colour; train dashed, validation solid, test dash-dot", () => {
  const runs = ["a/train", "a/validation", "a/test", "b/train", "b/validation"];
  const { styles, shared } = runStyles(runs);
  assert.deepEqual(shared, []);
  assert.equal(styles["a/train"].color, RUN_COLORS[0]);
  assert.equal(styles["a/validation"].color, RUN_COLORS[0]);
  assert.equal(styles["a/test"].color, RUN_COLORS[0]);
  assert.equal(styles["b/train"].color, RUN_COLORS[1]);
  assert.deepEqual(styles["a/train"].dash, RUN_DASHES[1]);
  assert.equal(styles["a/validation"].dash, null);
  assert.deepEqual(styles["a/test"].dash, RUN_DASHES[2]);
  assert.equal(styles["b/train"].train, true);
  assertDistinct(styles, runs);
});

test("past 8 experiments no two runs share a colour+dash (the palette has 8 colours)", () => {
  for (const n of [9, 13, 16, 17, 24, STYLE_COUNT]) {
    const runs = Array.from({ length: n }, (_, i) => `sweep/lr_${i}/validation`);
    const { styles, shared } = runStyles(runs);
    assert.deepEqual(shared, [], `n=${n}`);
    assertDistinct(styles, runs);
  }
  // train and validation of 12 experiments: 24 runs, 24 styles
  const pairs = Array.from({ length: 12 }, (_, i) => [`e${i}/train`, `e${i}/validation`]).flat();
  const { styles, shared } = runStyles(pairs);
  assert.deepEqual(shared, []);
  assertDistinct(styles, pairs);
  // the first 8 experiments keep the rule exactly
  for (let i = 0; i < 8; i++) {
    assert.equal(styles[`e${i}/train`].color, RUN_COLORS[i]);
    assert.equal(styles[`e${i}/validation`].color, RUN_COLORS[i]);
    assert.equal(styles[`e${i}/train`].dashName, "dashed");
    assert.equal(styles[`e${i}/validation`].dashName, "solid");
  }
});

test("odd names (two validation-like suffixes, bare names) still get distinct styles", () => {
  const runs = ["x/val", "x/validation", "x/eval", "train", "validation", "x"];
  const { styles, shared } = runStyles(runs);
  assert.deepEqual(shared, []);
  assertDistinct(styles, runs);
});

test("more drawn runs than styles: the sharing runs are reported", () => {
  const runs = Array.from({ length: STYLE_COUNT + 3 }, (_, i) => `r${i}`);
  const { styles, shared } = runStyles(runs);
  assert.equal(Object.keys(styles).length, runs.length);
  assert.equal(shared.length, 6); // 3 overflow runs and the 3 whose styles they repeat
});

test("a drawn subset never shares styles, even among many listed runs", () => {
  const listed = Array.from({ length: 50 }, (_, i) => `r${String(i).padStart(2, "0")}/validation`);
  const drawn = [listed[0], listed[32], listed[40], listed[49]]; // would repeat listed[0..] styles
  const { styles, shared } = runStyles(listed, drawn);
  assert.deepEqual(shared, []);
  assertDistinct(styles, drawn);
  // with few runs listed, a run's style does not depend on which are drawn
  const few = ["a/train", "a/validation", "b/validation", "c/validation"];
  const full = runStyles(few).styles;
  const part = runStyles(few, ["c/validation"]).styles;
  assert.deepEqual(part["c/validation"], full["c/validation"]);
});

test("dashBackground draws the dash pattern, solid draws none", () => {
  assert.equal(dashBackground("#123456", null), "none");
  assert.equal(dashBackground("#123456", [6, 4]),
    "repeating-linear-gradient(to right, #123456 0px 6px, transparent 6px 10px)");
});

test("styleNote names the dashes drawn and the runs past the palette", () => {
  const pick = (runs, drawn) => { const { styles } = runStyles(runs, drawn); return (drawn || runs).map((r) => styles[r]); };
  assert.equal(styleNote(pick(["a/train", "a/validation"])),
    "Colour: experiment; solid: validation, dashed: train.");
  assert.equal(styleNote(pick(["a", "b"])), "");
  const nine = Array.from({ length: 9 }, (_, i) => `e${i}/validation`);
  assert.equal(styleNote(pick(nine)),
    "1 run past the palette's 8 colours takes another dash: see the swatch beside each name.");
  assert.match(sharedNote(3, 40), /^3 of the 40 runs drawn share a line style \(there are only 32 /);
});
