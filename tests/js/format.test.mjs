import { test } from "node:test";
import assert from "node:assert/strict";
import {
  fmtMetric, fmtPct, fmtCount, fmtThreshold, fmtLogit, fmtThresholdLabel, fmtAgo, ellipsize,
  downloadName, fmtWallTime, DASH,
} from "../../frontend/format.js";

test("fmtMetric", () => {
  assert.equal(fmtMetric(0.81234), "0.812");
  assert.equal(fmtMetric(1), "1.000");
  assert.equal(fmtMetric(null), DASH);
  assert.equal(fmtMetric(NaN), DASH);
  assert.equal(fmtMetric(0.5, 2), "0.50");
});

test("fmtPct", () => {
  assert.equal(fmtPct(0.8123), "81.2%");
  assert.equal(fmtPct(undefined), DASH);
});

test("fmtCount: integers and weighted counts", () => {
  assert.equal(fmtCount(1234567), "1,234,567");
  assert.equal(fmtCount(0), "0");
  assert.equal(fmtCount(12.3456), "12.35");
  assert.equal(fmtCount(null), DASH);
});

test("fmtThreshold: shortest exact form of float32 thresholds", () => {
  assert.equal(fmtThreshold(0.5), "0.50");
  assert.equal(fmtThreshold(Math.fround(0.35)), "0.35");
  assert.equal(fmtThreshold(Math.fround(0.125)), "0.125");
  assert.equal(fmtThreshold(0), "0.00");
  assert.equal(fmtThreshold(1), "1.00");
  assert.equal(fmtThreshold(null), DASH);
});

test("fmtLogit: signs and infinities", () => {
  assert.equal(fmtLogit(-0.6190392), "\u22120.619");
  assert.equal(fmtLogit(2.1972246), "+2.197");
  assert.equal(fmtLogit(0), "0.000");
  assert.equal(fmtLogit(-0.0001), "0.000");
  assert.equal(fmtLogit(Infinity), "+\u221e");
  assert.equal(fmtLogit(-Infinity), "\u2212\u221e");
});

test("fmtThresholdLabel shows the logit only for logits", () => {
  assert.equal(fmtThresholdLabel(0.5, 0, false), "t = 0.50");
  assert.equal(fmtThresholdLabel(0.5, 0, true), "t = 0.50  (logit 0.000)");
});

test("fmtAgo", () => {
  assert.equal(fmtAgo(3000), "3s ago");
  assert.equal(fmtAgo(125000), "2 min ago");
  assert.equal(fmtAgo(-1), DASH);
});

test("fmtWallTime", () => {
  assert.match(fmtWallTime(1700000000), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(fmtWallTime(null), DASH);
});

test("ellipsize keeps the end", () => {
  assert.equal(ellipsize("short", 10), "short");
  assert.equal(ellipsize("a/very/long/label", 8), "\u2026g/label");
});

test("downloadName strips unsafe characters", () => {
  assert.equal(downloadName("run1/validation", "threshold_counts", 9),
    "best_thresholds_run1_validation_threshold_counts_step9.json");
  assert.equal(downloadName("../<x>", "", 0), "best_thresholds_.._x_tag_step0.json");
});
