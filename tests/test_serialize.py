"""serialize.py: Counts -> JSON-able dicts, every number taken from Counts' own methods."""
import json
import math

import numpy as np
import pytest

import tb_metrics_plugin as tbm
from tb_metrics_plugin import metadata, metrics, serialize


def _counts(seed=0, n=60, num_l=4, thresholds=11, weighted=False, from_logits=False):
    rng = np.random.default_rng(seed)
    y = rng.random((n, num_l)) < 0.3
    y[:, -1] = False  # a label without positives: best threshold none, NaN in places
    s = rng.normal(size=(n, num_l)) if from_logits else rng.random((n, num_l))
    s[0, 0] = np.nan
    w = rng.random(n) if weighted else None
    return tbm.confusion_counts(y, s, thresholds=thresholds, sample_weight=w, from_logits=from_logits,
                                label_names=[f"l{i}" for i in range(num_l)])


def _strict(obj):
    """JSON round trip that refuses NaN/inf, as a browser's JSON.parse would."""
    return json.loads(serialize.dumps(obj))


def _same(got, expected):
    """``got`` (list with None) equals the float array ``expected`` (NaN/inf -> None)."""
    expected = np.asarray(expected, dtype=np.float64).ravel()
    assert len(got) == expected.size
    for g, e in zip(got, expected):
        if math.isfinite(e):
            assert g == e
        else:
            assert g is None


def test_floats_and_numbers():
    assert serialize.floats(np.array([0.5, np.nan, np.inf, -np.inf])) == [0.5, None, None, None]
    assert serialize.floats(np.float32([0.1])) == [float(np.float32(0.1))]
    ints = serialize.numbers(np.array([[1, 2]], dtype=np.int32))
    assert ints == [[1, 2]] and all(type(v) is int for v in ints[0])
    assert serialize.numbers(np.array([1.5, np.nan])) == [1.5, None]
    assert serialize.scalar(np.int64(3)) == 3 and type(serialize.scalar(np.int64(3))) is int
    assert serialize.scalar(float("nan")) is None
    with pytest.raises(ValueError):
        serialize.dumps({"x": float("nan")})


@pytest.mark.parametrize("weighted", [False, True])
def test_counts_json_is_exact(weighted):
    c = _counts(weighted=weighted)
    out = _strict(serialize.counts_json(c, step=7, wall_time=12.5))
    assert out["step"] == 7 and out["wall_time"] == 12.5
    assert out["labels"] == c.label_names
    assert out["thresholds"] == [float(t) for t in c.thresholds]
    assert np.float32(out["thresholds"][1]) == c.thresholds[1]  # exact float32 values
    for key in ("tp", "fp", "tn", "fn"):
        assert np.array_equal(np.array(out[key]), getattr(c, key))
    assert np.array_equal(out["exact_match"], c.exact_match)
    assert np.array_equal(out["nan"], c.nan) and out["nan"][0] > 0
    assert out["n"] == c.n
    assert out["sample_weighted"] is weighted
    if not weighted:
        assert all(type(v) is int for v in out["tp"][0])


@pytest.mark.parametrize("from_logits", [False, True])
def test_explorer_json_matches_counts_methods(from_logits):
    c = _counts(from_logits=from_logits)
    out = _strict(serialize.explorer_json(c, step=3, wall_time=1.0))
    num_l, num_t = c.num_labels, c.num_thresholds
    assert set(out) >= {"step", "wall_time", "thresholds", "logits", "from_logits", "labels", "n",
                        "support", "nan", "micro", "macro", "weighted", "binary_accuracy",
                        "exact_match_accuracy", "all_negative_accuracy", "best", "tp", "fp"}
    for avg in ("micro", "macro"):
        _same(out[avg]["precision"], c.precision(average=avg))
        _same(out[avg]["recall"], c.recall(average=avg))
        _same(out[avg]["f1"], c.f1(average=avg))
    _same(out["weighted"]["f1"], c.f1(average="weighted"))
    _same(out["binary_accuracy"], c.binary_accuracy())
    _same(out["exact_match_accuracy"], c.exact_match_accuracy())
    assert out["all_negative_accuracy"] == c.all_negative_accuracy()
    assert out["support"] == c.support.tolist()
    assert out["tp"] == c.tp.ravel().tolist() and len(out["fp"]) == num_l * num_t
    assert out["best"]["index"] == c.best_threshold_indices().tolist()
    assert out["best"]["index"][-1] == -1 and out["best"]["threshold"][-1] is None
    assert out["best"]["f1"][-1] is None
    _same(out["best"]["threshold"], c.best_thresholds())
    _same(out["best"]["f1"], c.to_best_thresholds().scores)
    if from_logits:
        assert out["logits"][0] is None and out["logits"][-1] is None  # -inf and +inf
        _same(out["logits"], metrics.logit_cuts(c.thresholds))
    else:
        assert out["logits"] is None


def test_client_side_per_label_metrics_from_flat_arrays():
    """What the frontend does at the slider index: P/R/F1 from tp, fp, support (zero_division=0)."""
    c = _counts()
    out = _strict(serialize.explorer_json(c, 0, 0.0))
    num_t = c.num_thresholds
    tp = np.array(out["tp"]).reshape(-1, num_t)
    fp = np.array(out["fp"]).reshape(-1, num_t)
    support = np.array(out["support"])[:, None]
    f1 = metrics.safe_divide(2 * tp, tp + fp + support, 0)
    np.testing.assert_array_equal(f1, c.f1(average=None))


def test_heatmap_row():
    c = _counts()
    _same(serialize.heatmap_row(c, None), c.to_best_thresholds().scores)
    row = serialize.heatmap_row(c, 10)  # t = 1: nothing predicted
    assert row[-1] is None  # no positives, none predicted: undefined
    _same(row, c.f1(average=None, zero_division=np.nan)[:, 10])


def test_series_point_at_index_and_best():
    c = _counts()
    p = serialize.series_point(c, 4)
    assert p["micro_f1"] == c.f1(average="micro")[4]
    assert p["macro_f1"] == c.f1(average="macro")[4]
    assert p["weighted_f1"] == c.f1(average="weighted")[4]
    assert p["binary_accuracy"] == c.binary_accuracy()[4]
    assert p["exact_match_accuracy"] == c.exact_match_accuracy()[4]
    best = serialize.series_point(c, None)
    curve = c.f1(average="macro")
    assert best["macro_f1"] == curve.max()
    assert best["macro_f1_threshold"] == float(c.thresholds[c.best_index(curve)])
    assert set(serialize.SERIES_KEYS) <= set(best)


def test_series_best_uses_the_one_tie_rule():
    # Every threshold from 0.25 to 0.75 gives micro F1 = 1: the first run of ties is indices
    # 1..3 of [0, 0.25, 0.5, 0.75, 1], whose middle is 0.5 (not the lowest, 0.25), exactly as
    # Counts.best_thresholds picks per label.
    c = tbm.confusion_counts([1, 0], [0.8, 0.2], thresholds=5)
    assert c.f1(average="micro").tolist() == [2 / 3, 1.0, 1.0, 1.0, 0.0]
    best = serialize.series_point(c, None)
    assert best["micro_f1_threshold"] == 0.5
    assert c.best_thresholds("f1").tolist() == [0.5]


def test_best_thresholds_json_loads_back(tmp_path):
    c = _counts()
    data = _strict(serialize.best_thresholds_json(c))
    assert data["format"] == "tb_metrics.best_thresholds"
    back = metrics.BestThresholds.from_json(data)
    np.testing.assert_array_equal(back.thresholds.astype(np.float32),
                                  c.best_thresholds().astype(np.float32))
    path = tmp_path / "best.json"
    path.write_text(json.dumps(data))
    assert tbm.load_best_thresholds(path).labels == c.label_names


def test_tag_json():
    c = _counts(from_logits=True)
    meta = metadata.parse_plugin_metadata(metadata.create_summary_metadata(c).plugin_data.content)
    out = _strict(serialize.tag_json(meta, 5, 123.5))
    assert out == {"labels": c.label_names, "thresholds": [float(t) for t in c.thresholds],
                   "from_logits": True, "sample_unit": "samples", "max_step": 5,
                   "max_wall_time": 123.5}


# ---------------------------------------------------------------------------------------------
# serialize_explorer: the explorer's numbers (issues 9-11)

from tb_metrics_plugin import serialize_explorer  # noqa: E402


@pytest.mark.parametrize("zd", [0.0, 1.0, float("nan")])
def test_explorer_json_zero_division_ranking_and_baselines(zd):
    c = _counts()
    out = _strict(serialize_explorer.explorer_json(c, 1, 0.0, zero_division=zd))
    assert out["zero_division"] == serialize_explorer.zero_division_name(zd)
    for avg in ("micro", "macro"):
        for name in ("precision", "recall", "f1"):
            _same(out[avg][name], getattr(c, name)(average=avg, zero_division=zd))
    _same(out["weighted"]["f1"], c.f1(average="weighted", zero_division=zd))
    _same(out["average_precision"], c.average_precision(average=None))
    _same(out["roc_auc"], c.roc_auc(average=None))
    assert out["roc_auc"][-1] is None  # the label without positives
    for avg in ("micro", "macro", "weighted"):
        assert out["ranking"][avg]["roc_auc"] == c.roc_auc(average=avg)
        assert out["ranking"][avg]["average_precision"] == c.average_precision(average=avg)
    fpr, tpr = c.roc_curve(average="micro")
    _same(out["micro_roc"]["fpr"], fpr) and _same(out["micro_roc"]["tpr"], tpr)
    assert out["all_negative_exact_match"] == c.all_negative_exact_match()
    assert out["categorical_accuracy"] == c.categorical_accuracy()
    assert out["precision_at_1"] == c.precision_at_1()
    assert out["observed"] == c.observed.tolist()
    assert out["sample_unit"] == "samples"


def test_keras_accuracy_follows_keras_shapes():
    rng = np.random.default_rng(3)
    multi = tbm.confusion_counts(rng.random((30, 4)) < 0.4, rng.random((30, 4)), thresholds=5)
    assert serialize_explorer.keras_accuracy(multi) == {
        "metric": "CategoricalAccuracy", "value": multi.categorical_accuracy()}
    sparse = tbm.confusion_counts(rng.integers(0, 3, 30), rng.random((30, 3)), thresholds=5)
    assert serialize_explorer.keras_accuracy(sparse)["metric"] == "SparseCategoricalAccuracy"
    assert serialize_explorer.keras_accuracy(sparse)["value"] == sparse.categorical_accuracy()
    one = tbm.confusion_counts(rng.random(30) < 0.4, rng.random(30), thresholds=5)
    assert serialize_explorer.keras_accuracy(one) == {"metric": "BinaryAccuracy", "value": None}


def test_explorer_warns_when_probabilities_are_read_as_logits():
    rng = np.random.default_rng(3)
    y = rng.random((60, 2)) < 0.3
    with pytest.warns(UserWarning, match="they look like probabilities"):
        c = tbm.confusion_counts(y, rng.random((60, 2)), thresholds=11, from_logits=True)
    (w,) = serialize_explorer.warnings_json(c)
    assert w["kind"] == "probabilities_as_logits" and "all 120 scores lie in [0, 1]" in w["message"]
    assert _strict(serialize_explorer.explorer_json(c, 0, 0.0))["warnings"] == [w]


def test_explorer_warnings_logits_read_as_probabilities_and_nan():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]])
    logits = np.linspace(-4, 3, 18).reshape(6, 3)
    with pytest.warns(UserWarning, match="from_logits=True"):
        c = tbm.confusion_counts(y, logits, thresholds=11)
    warnings = serialize_explorer.warnings_json(c)
    assert [w["kind"] for w in warnings] == ["out_of_range"]
    share = f"{100 * c.out_of_range_share():.3g}%"
    assert share in warnings[0]["message"] and "from_logits=True" in warnings[0]["message"]
    assert _strict(serialize_explorer.explorer_json(c, 0, 0.0))["warnings"] == warnings
    ok = tbm.confusion_counts(y, logits, thresholds=11, from_logits=True)
    assert serialize_explorer.warnings_json(ok) == []
    nan = _counts()  # one NaN score
    (w,) = serialize_explorer.warnings_json(nan)
    assert w["kind"] == "nan" and w["message"].startswith("1 NaN score in 1 of 4 labels")


def test_explorer_sample_unit_positions():
    rng = np.random.default_rng(1)
    c = tbm.confusion_counts(rng.random((5, 7, 3)) < 0.3, rng.random((5, 7, 3)), thresholds=5)
    out = _strict(serialize_explorer.explorer_json(c, 0, 0.0))
    assert out["sample_unit"] == "positions" and out["n"] == 35


@pytest.mark.parametrize("metric,params", [("f1", {}), ("fbeta", {"beta": 0.5}),
                                           ("recall_at_precision", {"precision": 0.5}),
                                           ("cost", {"cost_fp": 1, "cost_fn": 5})])
def test_objective_json(metric, params):
    c = _counts()
    out = _strict(serialize_explorer.objective_json(c, metric, params))
    idx = c.best_threshold_indices(metric, **params)
    assert out["index"] == idx.tolist() and out["metric"] == metric
    _same(out["threshold"], c.best_thresholds(metric, **params))
    _same(out["value"], c.to_best_thresholds(metric, **params).scores)
    f1 = c.f1()
    _same(out["f1"], [f1[l, i] if i >= 0 else np.nan for l, i in enumerate(idx)])
    assert out["higher_is_better"] is (metric != "cost")
    with pytest.raises(ValueError, match="Unknown parameter"):
        serialize_explorer.objective_json(c, "f1", {"beta": 2})


def test_curves_and_distribution_json():
    c = _counts()
    micro = _strict(serialize_explorer.curves_json(c, 0, 0.0))
    _same(micro["precision"], c.precision(average="micro"))
    assert micro["roc_auc"] == c.roc_auc(average="micro")
    one = _strict(serialize_explorer.curves_json(c, 0, 0.0, "l1"))
    _same(one["tpr"], c.roc_curve()[1][1])
    assert one["average_precision"] == c.average_precision(average=None)[1]
    with pytest.raises(ValueError, match="Unknown label 'zz'"):
        serialize_explorer.curves_json(c, 0, 0.0, "zz")
    d = _strict(serialize_explorer.distribution_json(c, 0, 0.0, "l0"))
    pos, neg = c.score_histogram()
    assert d["label"]["positives"] == pos[0].tolist() and d["label"]["negatives"] == neg[0].tolist()
    assert d["pooled"]["positives"] == pos.sum(0).tolist()
    _same(d["label"]["positive_share"], c.reliability()[1][0])
    assert d["label"]["ece"] == c.expected_calibration_error()[0]
    assert len(d["pooled"]["confidence"]) == c.num_thresholds + 1
