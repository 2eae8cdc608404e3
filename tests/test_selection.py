"""Threshold selection: every objective against a brute-force oracle, the tie rule, NaN cases,
the micro objective, and BestThresholds JSON (provenance, versions, shortest float32 text).

The oracle loops over thresholds in pure Python with exact fractions (counts are small integers
or dyadic weights, and beta / costs are dyadic, so the float implementation is exact too) and
applies the DESIGN's tie rule literally: among the best qualifying values take the first
(lowest) run of consecutive thresholds and its middle, the lower middle when the run is even.
Precision / recall targets are compared as the float64 ratio, as the implementation documents.
"""
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tb_metrics_plugin as tbm
from tb_metrics_plugin import selection
from tb_metrics_plugin.counts import Counts

BETAS = (0.25, 0.5, 1.0, 2.0, 4.0)
COSTS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)
TARGETS = (0.0, 0.25, 0.5, 2 / 3, 0.75, 0.9, 1.0)


def _counts(tp, fp, support, n, thresholds=None, scale=1):
    """A Counts from tp, fp [L][T] (non-increasing) with ``support`` positives of ``n`` cells."""
    tp = np.asarray(tp) * scale
    fp = np.asarray(fp) * scale
    support = np.asarray(support)[:, None] * scale
    neg = n * scale - support
    num_t = tp.shape[1]
    if thresholds is None:
        thresholds = np.linspace(0, 1, num_t)
    return Counts(thresholds=thresholds, tp=tp, fp=fp, tn=neg - fp, fn=support - tp,
                  exact_match=np.zeros(num_t), n=n * scale, nan=np.zeros(tp.shape[0]),
                  label_names=[f"l{i}" for i in range(tp.shape[0])])


@st.composite
def random_counts(draw, max_labels=4, max_thresholds=9):
    num_l = draw(st.integers(1, max_labels))
    num_t = draw(st.integers(1, max_thresholds))
    n = draw(st.integers(0, 8))
    tp, fp, support = [], [], []
    for _ in range(num_l):
        pos = draw(st.integers(0, n))
        down = st.lists(st.integers(0, pos), min_size=num_t, max_size=num_t)
        tp.append(sorted(draw(down), reverse=True))
        fp.append(sorted(draw(st.lists(st.integers(0, n - pos), min_size=num_t,
                                       max_size=num_t)), reverse=True))
        support.append(pos)
    scale = draw(st.sampled_from([1, 0.25]))  # 0.25: weighted (float) counts, still exact
    return _counts(tp, fp, support, n, scale=scale)


@st.composite
def objectives(draw):
    metric = draw(st.sampled_from(selection.METRICS))
    if metric == "fbeta":
        return metric, {"beta": draw(st.sampled_from(BETAS))}
    if metric == "recall_at_precision":
        return metric, {"precision": draw(st.sampled_from(TARGETS))}
    if metric == "precision_at_recall":
        return metric, {"recall": draw(st.sampled_from(TARGETS))}
    if metric == "cost":
        return metric, {"cost_fp": draw(st.sampled_from(COSTS)),
                        "cost_fn": draw(st.sampled_from(COSTS))}
    return metric, {}


def _frac(x):
    return Fraction(float(x))


def oracle_row(tp, fp, fn, metric, params):
    """(index or None, value) for one label's (or the pooled) counts, by brute force."""
    support = _frac(tp[0]) + _frac(fn[0])
    values, ok = [], []
    for t in range(len(tp)):
        a, b, c = _frac(tp[t]), _frac(fp[t]), _frac(fn[t])
        qualifies = support > 0
        if metric in ("f1", "fbeta"):
            b2 = Fraction(params.get("beta", 1.0)) ** 2
            den = (1 + b2) * a + b2 * c + b
            value = (1 + b2) * a / den if den else Fraction(0)
        elif metric == "recall_at_precision":
            value = a / support if support else Fraction(0)
            predicted = a + b
            qualifies = qualifies and predicted > 0 and float(tp[t]) / (
                float(tp[t]) + float(fp[t])) >= params["precision"]
        elif metric == "precision_at_recall":
            value = a / (a + b) if a + b else Fraction(0)
            qualifies = qualifies and float(tp[t]) / float(support) >= params["recall"]
        else:
            value = -(Fraction(params["cost_fp"]) * b + Fraction(params["cost_fn"]) * c)
        values.append(value)
        ok.append(qualifies)
    chosen = [t for t in range(len(tp)) if ok[t]]
    if not chosen:
        return None, math.nan
    best = max(values[t] for t in chosen)
    tied = [t for t in chosen if values[t] == best]
    start = end = tied[0]
    while end + 1 in tied:
        end += 1
    index = start + (end - start) // 2
    value = values[index]
    return index, float(-value if metric == "cost" else value)


def oracle(counts, metric, params, per_label=True):
    tp, fp, fn = counts.tp, counts.fp, counts.fn
    if not per_label:
        tp, fp, fn = (a.sum(axis=0, keepdims=True) for a in (tp, fp, fn))
    return [oracle_row(list(tp[i]), list(fp[i]), list(fn[i]), metric, params)
            for i in range(tp.shape[0])]


@settings(max_examples=300, deadline=None)
@given(random_counts(), objectives(), st.booleans())
def test_every_objective_matches_brute_force(counts, objective, per_label):
    metric, params = objective
    expected = oracle(counts, metric, params, per_label)
    idx = np.atleast_1d(counts.best_threshold_indices(metric, per_label=per_label, **params))
    assert [int(i) if i >= 0 else None for i in idx] == [i for i, _ in expected]
    got = np.atleast_1d(counts.best_thresholds(metric, per_label=per_label, **params))
    want = [float(counts.thresholds[i]) if i is not None else math.nan for i, _ in expected]
    if per_label:
        np.testing.assert_array_equal(got, want)
    else:
        assert got.shape == (1,) and np.array_equal(got, want, equal_nan=True)
    best = counts.to_best_thresholds(metric, per_label=per_label, **params)
    values = [v for _, v in expected] * (1 if per_label else counts.num_labels)
    np.testing.assert_array_equal(best.scores, values)
    assert best.thresholds.shape == (counts.num_labels,)


def _one_label(values_tp, values_fp, support, n):
    return _counts([values_tp], [values_fp], [support], n)


def test_tie_rule_first_run_and_its_lower_middle():
    # F1 per threshold: 2/3 | 1 1 1 1 | 0.8 | 1 1 | 0 -> first run of four tied: indices 1..4,
    # lower middle 2 (not the second run at 6..7)
    c = _one_label([2, 2, 2, 2, 2, 2, 2, 2, 0], [2, 0, 0, 0, 0, 1, 0, 0, 0], 2, 4)
    f1 = c.f1()[0]
    assert f1[1:5].tolist() == [1, 1, 1, 1] and f1[6:8].tolist() == [1, 1]
    assert c.best_threshold_indices("f1").tolist() == [2]
    # a run of three: its middle
    c = _one_label([2, 2, 2, 2, 0], [1, 0, 0, 0, 0], 2, 4)
    assert c.best_threshold_indices("f1").tolist() == [2]
    # a single best: itself
    c = _one_label([2, 2, 1, 0], [2, 0, 0, 0], 2, 4)
    assert c.best_threshold_indices("f1").tolist() == [1]


def test_cost_ties_and_direction():
    # cost FP*1 + FN*5 at each threshold: fn=[0,0,1,2], fp=[3,1,1,0] -> 3, 1, 6, 10
    c = _one_label([2, 2, 1, 0], [3, 1, 1, 0], 2, 5)
    assert c.best_threshold_indices("cost", cost_fp=1, cost_fn=5).tolist() == [1]
    assert c.to_best_thresholds("cost", cost_fp=1, cost_fn=5).scores.tolist() == [1.0]
    # cost_fn = 0: predicting nothing is free; the tied run 3..3 ... every FP-free threshold
    assert c.best_threshold_indices("cost", cost_fp=1, cost_fn=0).tolist() == [3]
    # both costs 0: everything ties, the middle of the whole run (lower of 1 and 2)
    assert c.best_threshold_indices("cost", cost_fp=0, cost_fn=0).tolist() == [1]


@pytest.mark.parametrize("metric,params", [
    ("f1", {}), ("fbeta", {"beta": 2}), ("recall_at_precision", {"precision": 0.0}),
    ("precision_at_recall", {"recall": 0.0}), ("cost", {"cost_fp": 1, "cost_fn": 1}),
])
def test_label_without_positives_is_nan_for_every_objective(metric, params):
    c = _counts([[0, 0, 0], [2, 1, 0]], [[3, 1, 0], [1, 0, 0]], [0, 2], 4)
    got = c.best_thresholds(metric, **params)
    assert math.isnan(got[0]) and not math.isnan(got[1])
    assert c.best_threshold_indices(metric, **params)[0] == -1
    assert math.isnan(c.to_best_thresholds(metric, **params).scores[0])
    # the micro objective pools labels: defined while any label has positives
    assert not math.isnan(c.best_thresholds(metric, per_label=False, **params))
    none = _counts([[0, 0, 0]], [[3, 1, 0]], [0], 4)
    assert math.isnan(none.best_thresholds(metric, per_label=False, **params))


def test_recall_at_precision_never_qualifies_predicting_nothing():
    # no threshold predicts a positive correctly: every recall is 0. A target precision of 0
    # is met by every threshold that predicts something, never by one that predicts nothing.
    c = _one_label([0, 0, 0, 0, 0], [3, 2, 0, 0, 0], 1, 4)
    assert c.best_threshold_indices("recall_at_precision", precision=0.0).tolist() == [0]
    # a target no predicting threshold meets: none qualifies (not the empty prediction)
    c = _one_label([1, 1, 0, 0], [3, 1, 0, 0], 1, 4)
    assert math.isnan(c.best_thresholds("recall_at_precision", precision=0.6)[0])
    assert c.best_threshold_indices("recall_at_precision", precision=0.5).tolist() == [1]


def test_targets_are_inclusive():
    # precision exactly 2/3 at threshold 1 and recall exactly 0.5 at threshold 2
    c = _one_label([4, 2, 1, 0], [4, 1, 0, 0], 4, 10)
    assert c.best_threshold_indices("recall_at_precision", precision=2 / 3).tolist() == [1]
    assert c.best_threshold_indices("precision_at_recall", recall=0.5).tolist() == [1]
    assert c.best_threshold_indices("precision_at_recall", recall=0.25).tolist() == [2]


def test_micro_objective_pools_labels():
    tp = [[2, 2, 1, 0], [3, 1, 1, 0]]
    fp = [[3, 1, 0, 0], [2, 2, 0, 0]]
    c = _counts(tp, fp, [2, 3], 8)
    pooled = _counts([np.sum(tp, 0)], [np.sum(fp, 0)], [5], 16)
    for metric, params in (("f1", {}), ("cost", {"cost_fp": 1, "cost_fn": 2}),
                           ("recall_at_precision", {"precision": 0.7})):
        one = c.best_thresholds(metric, per_label=False, **params)
        assert isinstance(one, float)
        assert one == pooled.best_thresholds(metric, **params)[0]
        best = c.to_best_thresholds(metric, per_label=False, **params)
        assert best.per_label is False and best.thresholds.tolist() == [one, one]


def test_bad_objectives_name_the_fix():
    c = _one_label([1, 0], [1, 0], 1, 2)
    with pytest.raises(ValueError, match=r"Expected `metric` to be one of .*'f1'.*received 'auc'"):
        c.best_thresholds("auc")
    with pytest.raises(ValueError, match=r"Unknown parameter.*'precision'.*expected: beta"):
        c.best_thresholds("fbeta", precision=0.5)
    with pytest.raises(ValueError, match=r"Expected `precision` in \[0, 1\]"):
        c.best_thresholds("recall_at_precision", precision=1.5)
    with pytest.raises(ValueError, match=r"Expected `beta` > 0"):
        c.best_thresholds("fbeta", beta=0)
    with pytest.raises(ValueError, match=r"Expected `cost_fn` >= 0"):
        c.best_thresholds("cost", cost_fn=-1)
    with pytest.raises(ValueError, match=r"Expected a finite `recall`"):
        c.best_thresholds("precision_at_recall", recall=float("nan"))


# -- BestThresholds JSON ------------------------------------------------------------------------


def _written(tmp_path, **kw):
    rng = np.random.default_rng(7)
    y = rng.random((300, 3)) < 0.3
    y[:, 2] = False
    s = np.clip(rng.random((300, 3)) * 0.6 + 0.4 * y, 0, 1)
    c = tbm.confusion_counts(y, s, thresholds=101, label_names=["cat", "dog", "eel"])
    best = c.to_best_thresholds("recall_at_precision", precision=0.8, step=7, run="r1/val",
                                tag="threshold_counts", **kw)
    path = tmp_path / "best.json"
    tbm.save_best_thresholds(path, best)
    return c, best, path


def test_json_round_trip_keeps_objective_and_provenance(tmp_path):
    c, best, path = _written(tmp_path)
    back = tbm.load_best_thresholds(path)
    assert (back.metric, back.params, back.per_label) == (
        "recall_at_precision", {"precision": 0.8}, True)
    assert (back.step, back.run, back.tag, back.from_logits) == (7, "r1/val", "threshold_counts",
                                                                 False)
    assert back.labels == ["cat", "dog", "eel"]
    np.testing.assert_array_equal(back.thresholds.astype(np.float32),
                                  best.thresholds.astype(np.float32))
    np.testing.assert_array_equal(back.scores, best.scores)
    assert math.isnan(back.thresholds[2])
    scores = np.random.default_rng(1).random((50, 3))
    np.testing.assert_array_equal(back.predict(scores), best.predict(scores))
    # saving a Counts directly records the objective too
    again = tbm.save_best_thresholds(tmp_path / "b2.json", c, "cost", cost_fp=1, cost_fn=3)
    loaded = tbm.load_best_thresholds(tmp_path / "b2.json")
    assert loaded.metric == "cost" and loaded.params == {"cost_fp": 1.0, "cost_fn": 3.0}
    np.testing.assert_array_equal(loaded.thresholds.astype(np.float32),
                                  again.thresholds.astype(np.float32))


def test_json_round_trip_of_a_global_threshold(tmp_path):
    _, best, path = _written(tmp_path, per_label=False)
    back = tbm.load_best_thresholds(path)
    assert back.per_label is False and len(set(back.thresholds.tolist())) == 1


def test_json_writes_the_shortest_float32_decimal(tmp_path):
    c = tbm.confusion_counts([1, 0, 1, 0], [0.84, 0.2, 0.9, 0.83], thresholds=101)
    assert float(c.thresholds[84]) == 0.8399999737739563
    path = tmp_path / "b.json"
    tbm.save_best_thresholds(path, c)
    text = path.read_text()
    assert "0.84" in text and "0.8399999" not in text
    assert json.loads(text)["thresholds"] == [0.84]
    assert np.float32(tbm.load_best_thresholds(path).thresholds[0]) == c.thresholds[84]


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 1, width=32))
def test_shortest_float32_reads_back_and_is_shortest(x):
    f = np.float32(x)
    text = repr(selection.shortest_float32(f))
    assert np.float32(float(text)) == f
    mantissa = text.split("e")[0].replace("-", "").replace(".", "").strip("0")
    digits = max(len(mantissa), 1)
    if digits > 1:  # one digit fewer never reads back
        assert np.float32(float(f"{float(f):.{digits - 1}g}")) != f


def test_newer_version_and_missing_fields_are_refused(tmp_path):
    _, _, path = _written(tmp_path)
    data = json.loads(path.read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**data, "version": 3}))
    with pytest.raises(ValueError, match=r"version <= 2; received 3\. Upgrade tb_metrics_plugin"):
        tbm.load_best_thresholds(bad)
    for key in ("metric", "params", "per_label", "from_logits", "run", "tag", "step", "labels",
                "thresholds"):
        bad.write_text(json.dumps({k: v for k, v in data.items() if k != key}))
        with pytest.raises(ValueError, match=rf"missing \['{key}'\]; expected every field"):
            tbm.load_best_thresholds(bad)
    bad.write_text(json.dumps({k: v for k, v in data.items() if k != "format"}))
    with pytest.raises(ValueError, match=r'Expected a JSON object with "format"'):
        tbm.load_best_thresholds(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a best-thresholds JSON file"):
        tbm.load_best_thresholds(bad)


@pytest.mark.parametrize("key,value,message", [
    ("thresholds", ["0.5", None, None], "a list of numbers"),
    ("thresholds", [1.5, None, None], r"thresholds in \[0, 1\]"),
    ("thresholds", [0.5], "one threshold per label"),
    ("labels", [1, 2, 3], "a list of label names"),
    ("from_logits", "false", "true or false"),
    ("step", "7", "an integer or null"),
    ("metric", "auc", "Expected `metric` to be one of"),
    ("params", {"precision": 2}, r"Expected `precision` in \[0, 1\]"),
    ("version", "2", "integer best-thresholds version"),
])
def test_malformed_fields_are_refused(tmp_path, key, value, message):
    _, _, path = _written(tmp_path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, key: value}))
    with pytest.raises(ValueError, match=message):
        tbm.load_best_thresholds(path)


def test_version_1_files_still_load(tmp_path):
    # the dashboard's download before provenance: no params, per_label, run, tag, step
    path = tmp_path / "v1.json"
    path.write_text(json.dumps({
        "format": "tb_metrics.best_thresholds", "version": 1, "metric": "f1",
        "from_logits": True, "labels": ["a", "b"], "thresholds": [0.3, None],
        "scores": [0.5, None]}))
    back = tbm.load_best_thresholds(path)
    assert back.from_logits and back.params == {} and back.per_label
    assert (back.step, back.run, back.tag) == (None, None, None)
    # logits: 0.3 -> logit(0.3) < 0; NaN threshold -> default 0.5 -> logit 0
    assert back.predict(np.array([[-0.5, 0.0], [-1.0, -0.1]])).tolist() == [[True, True],
                                                                             [False, False]]


def test_objective_values_equal_counts_methods_bit_for_bit():
    """The best value of "f1" / "fbeta" is Counts.f1 / Counts.fbeta at the chosen threshold, to
    the last bit (the heatmap's best mode and the table read one or the other)."""
    rng = np.random.default_rng(5)
    c = tbm.confusion_counts(rng.random((500, 7)) < 0.3, rng.random((500, 7)), thresholds=101,
                             sample_weight=rng.random(500))
    values, _ = selection.objective_values(c, "f1")
    np.testing.assert_array_equal(values, c.f1(zero_division=0))
    values, _ = selection.objective_values(c, "fbeta", beta=0.5)
    np.testing.assert_array_equal(values, c.fbeta(beta=0.5, zero_division=0))
