import { test } from "node:test";
import assert from "node:assert/strict";
import {
  initialState, createStore, reconcile, runNames, runsWithTag, tagNames, splitRun,
  compareRunsFor, tagsSignature, changedRuns, parsePollMs, nextSort, MAX_COMPARE_RUNS,
} from "../../frontend/state.js";

const info = (max_step, extra = {}) => ({ labels: ["a"], thresholds: [0, 1], from_logits: false,
  max_step, max_wall_time: 100 + max_step, ...extra });
const TAGS = {
  "run2/train": { threshold_counts: info(3) },
  "run1/train": { threshold_counts: info(4) },
  "run1/validation": { threshold_counts: info(4), other: info(1) },
  "empty": {},
};

test("store: set notifies changed keys only", () => {
  const s = createStore(initialState());
  const seen = [];
  const unsub = s.subscribe((st, changed) => seen.push(changed));
  assert.deepEqual(s.set({ threshold: 0.5 }), []);
  assert.deepEqual(s.set({ threshold: 0.3, view: "explorer" }), ["threshold"]);
  assert.deepEqual(s.set({ compareRuns: ["a"] }), ["compareRuns"]);
  assert.deepEqual(s.set({ compareRuns: ["a"] }), []);
  unsub();
  s.set({ threshold: 0.1 });
  assert.deepEqual(seen, [["threshold"], ["compareRuns"]]);
  assert.equal(s.get().threshold, 0.1);
});

test("runNames / runsWithTag / tagNames", () => {
  assert.deepEqual(runNames(TAGS), ["run1/train", "run1/validation", "run2/train"]);
  assert.deepEqual(runsWithTag(TAGS, "other"), ["run1/validation"]);
  assert.deepEqual(tagNames(TAGS), ["other", "threshold_counts"]);
  assert.deepEqual(runNames({}), []);
  assert.deepEqual(runNames(null), []);
});

test("splitRun", () => {
  assert.deepEqual(splitRun("run1/validation"), { group: "run1", split: "validation" });
  assert.deepEqual(splitRun("a/b/train"), { group: "a/b", split: "train" });
  assert.deepEqual(splitRun("plain"), { group: "plain", split: "" });
});

test("reconcile: defaults to a validation run and its first tag", () => {
  const st = initialState();
  assert.deepEqual(reconcile(st, TAGS), { run: "run1/validation", tag: "other" });
});

test("reconcile: keeps a valid selection, repairs an invalid one", () => {
  const st = initialState({ run: "run2/train", tag: "threshold_counts", step: 2 });
  assert.deepEqual(reconcile(st, TAGS), {});
  const gone = initialState({ run: "nope", tag: "threshold_counts", step: 2 });
  assert.deepEqual(reconcile(gone, TAGS), { run: "run1/validation", step: null });
  const badTag = initialState({ run: "run2/train", tag: "other" });
  assert.deepEqual(reconcile(badTag, TAGS), { tag: "threshold_counts" });
  assert.deepEqual(reconcile(initialState({ run: "x", tag: "y" }), {}), { run: null, tag: null });
});

test("reconcile: compare runs keep those with the tag", () => {
  const st = initialState({ run: "run1/validation", tag: "threshold_counts",
    compareRuns: ["run2/train", "gone"] });
  assert.deepEqual(reconcile(st, TAGS), { compareRuns: ["run2/train"] });
  const none = initialState({ run: "run1/validation", tag: "threshold_counts", compareRuns: ["gone"] });
  assert.deepEqual(reconcile(none, TAGS), { compareRuns: null });
});

test("compareRunsFor: all runs by default, capped", () => {
  const st = initialState({ tag: "threshold_counts" });
  assert.deepEqual(compareRunsFor(st, TAGS), ["run1/train", "run1/validation", "run2/train"]);
  const many = {};
  for (let i = 0; i < 20; i++) many[`r${i}`] = { t: info(1) };
  assert.equal(compareRunsFor(initialState({ tag: "t" }), many).length, MAX_COMPARE_RUNS);
  assert.deepEqual(compareRunsFor(initialState({ tag: "t", compareRuns: ["r3", "zz"] }), many), ["r3"]);
  assert.deepEqual(compareRunsFor(initialState(), TAGS), []);
});

test("tagsSignature / changedRuns spot a new step", () => {
  const next = JSON.parse(JSON.stringify(TAGS));
  assert.equal(tagsSignature(TAGS), tagsSignature(next));
  assert.deepEqual(changedRuns(TAGS, next), {});
  next["run1/validation"].threshold_counts = info(5);
  assert.notEqual(tagsSignature(TAGS), tagsSignature(next));
  assert.deepEqual(changedRuns(TAGS, next), { "run1/validation": ["threshold_counts"] });
  next.run3 = { t: info(0) };
  assert.deepEqual(Object.keys(changedRuns(TAGS, next)).sort(), ["run1/validation", "run3"]);
});

test("parsePollMs", () => {
  assert.equal(parsePollMs(null), 5000);
  assert.equal(parsePollMs(""), 5000);
  assert.equal(parsePollMs("500"), 500);
  assert.equal(parsePollMs("10"), 200);
  assert.equal(parsePollMs("off"), 0);
  assert.equal(parsePollMs("0"), 0);
  assert.equal(parsePollMs("abc", 7000), 7000);
});

test("nextSort toggles and picks a sensible first direction", () => {
  const st = initialState();
  assert.deepEqual(nextSort(st, "f1"), { sortKey: "f1", sortDir: "desc" });
  assert.deepEqual(nextSort(st, "support"), { sortKey: "support", sortDir: "desc" });
  assert.deepEqual(nextSort(st, "name"), { sortKey: "name", sortDir: "asc" });
});

test("runsToken: changes only when one of the involved runs advances", async () => {
  const { runsToken, objectiveParams } = await import("../../frontend/state.js");
  const a = runsToken(TAGS, ["run1/train"], "threshold_counts");
  const moved = { ...TAGS, "run2/train": { threshold_counts: info(9) } };
  assert.equal(runsToken(moved, ["run1/train"], "threshold_counts"), a);
  const advanced = { ...TAGS, "run1/train": { threshold_counts: info(5) } };
  assert.notEqual(runsToken(advanced, ["run1/train"], "threshold_counts"), a);
  assert.notEqual(runsToken(moved, ["run1/train", "run2/train"], "threshold_counts"),
    runsToken(TAGS, ["run1/train", "run2/train"], "threshold_counts"));
  assert.equal(runsToken(TAGS, ["nope"], "threshold_counts"), "nope\u0000-");
  assert.deepEqual(objectiveParams(initialState()), { metric: "f1" });
  assert.deepEqual(objectiveParams(initialState({ objective: { metric: "recall_at_precision", params: { precision: 0.9 } } })),
    { metric: "recall_at_precision", precision: 0.9 });
});
