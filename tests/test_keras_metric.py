"""ThresholdCounts: counts identical to confusion_counts on every input, shapes, errors, result."""
import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras  # noqa: E402  (tests/conftest.py picks the TensorFlow backend)
import tensorflow as tf  # noqa: E402

from tb_metrics_plugin import keras_metric
from tb_metrics_plugin import metrics as M
from tb_metrics_plugin.keras_metric import ThresholdCounts

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F32 = np.float32
SPECIAL = np.array(
    [0.0, -0.0, 1.0, 0.5, 0.01, 0.99, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-39, -1e-39,
     2.0, -3.0, 17.0, -17.0, np.finfo(F32).max, -np.finfo(F32).max],
    dtype=F32,
)
THRESHOLDS = [1, 2, 5, 11, 101, 200, [0.0, 0.25, 0.5, 1.0], [0.3, 0.7],
              [0.0, 0.3, float(np.nextafter(F32(0.3), F32(1))), 1.0]]


def tricky_values(thresholds, from_logits, rng, size):
    """Scores exactly on the cuts, one ulp either side, special floats and random ones."""
    cuts = M.cut_values(M.make_thresholds(thresholds), from_logits)
    pool = np.concatenate([
        SPECIAL, cuts, np.nextafter(cuts, F32(-np.inf)), np.nextafter(cuts, F32(np.inf)),
        rng.normal(size=16).astype(F32) * 4, rng.random(16).astype(F32),
    ])
    return rng.choice(pool, size=size).astype(F32)


def metric_counts(y, s, thresholds, from_logits, sample_weight=None, batches=1):
    m = ThresholdCounts(thresholds=thresholds, from_logits=from_logits,
                        weighted=sample_weight is not None)
    for part in np.array_split(np.arange(len(s)), batches):
        if part.size:
            m.update_state(y[part], s[part],
                           None if sample_weight is None else sample_weight[part])
    return m.counts()


FIELDS = ("tp", "fp", "tn", "fn", "exact_match", "nan", "out_of_range", "nan_positive",
          "categorical_correct", "top1_positive", "negative_rows", "confusion_matrix",
          "top_k_hits")


def assert_counts_equal(got, want, weighted=False):
    """Every field of `Counts` (identical when unweighted; float32 batch sums when weighted)."""
    if not weighted:
        assert got.tp.dtype == np.int64
        assert got == want, [(f, getattr(got, f), getattr(want, f)) for f in FIELDS + ("n",)
                             if not np.array_equal(getattr(got, f), getattr(want, f))]
        return
    for field in FIELDS:
        a, b = getattr(got, field), getattr(want, field)
        assert (a is None) == (b is None), field
        if a is not None:
            np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                       rtol=1e-5, atol=1e-4, err_msg=field)
    assert math.isclose(got.n, want.n, rel_tol=1e-5)
    assert got.sample_unit == want.sample_unit


# -- parity with the numpy reference -------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 12),
    num_labels=st.integers(1, 5),
    thresholds=st.sampled_from(THRESHOLDS),
    from_logits=st.booleans(),
    batches=st.integers(1, 3),
    weighted=st.booleans(),
)
def test_counts_match_confusion_counts(seed, n, num_labels, thresholds, from_logits, batches,
                                       weighted):
    rng = np.random.default_rng(seed)
    s = tricky_values(thresholds, from_logits, rng, (n, num_labels))
    y = (rng.random((n, num_labels)) < 0.4).astype(F32)
    w = rng.random(n).astype(F32) * 3 if weighted else None
    got = metric_counts(y, s, thresholds, from_logits, w, batches)
    want = M.confusion_counts(y, s, thresholds=thresholds, from_logits=from_logits,
                              sample_weight=w)
    assert_counts_equal(got, want, weighted)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("thresholds, from_logits", [(5, False), (101, True), (5001, True)])
def test_compiled_counts_match(jit_compile, from_logits, thresholds):
    """In a tf.function (nested XLA when jit_compile is off) and fully XLA-compiled; 5001
    thresholds take the searchsorted fallback."""
    rng = np.random.default_rng(thresholds)
    s = tricky_values(thresholds, from_logits, rng, (96, 7))
    y = (rng.random((96, 7)) < 0.4).astype(F32)
    w = rng.random(96).astype(F32)
    m = ThresholdCounts(thresholds=thresholds, from_logits=from_logits)
    mw = ThresholdCounts(thresholds=thresholds, from_logits=from_logits, weighted=True)
    if thresholds == 5001:
        assert m._search is None
    step = tf.function(lambda y, s: m.update_state(y, s), jit_compile=jit_compile)
    wstep = tf.function(lambda y, s, w: mw.update_state(y, s, w), jit_compile=jit_compile)
    step(y[:64], s[:64])
    step(y[64:], s[64:])  # a second shape
    wstep(y, s, w)
    assert_counts_equal(m.counts(), M.confusion_counts(y, s, thresholds, from_logits))
    assert_counts_equal(mw.counts(), M.confusion_counts(y, s, thresholds, from_logits,
                                                        sample_weight=w), weighted=True)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_other_score_dtypes(dtype):
    rng = np.random.default_rng(1)
    s = tricky_values(101, True, rng, (40, 3))
    y = (rng.random((40, 3)) < 0.5).astype(F32)
    if dtype == "float64":
        # float64 scores are compared in float64: values just off a cut must not round onto it
        cuts = M.cut_values(M.make_thresholds(101), True).astype(np.float64)
        fin = cuts[np.isfinite(cuts)][:40]
        s = s.astype(np.float64)
        s[:, 0] = fin - np.abs(fin) * 1e-12 - 1e-300
    scores = keras.ops.cast(s, dtype)
    m = ThresholdCounts(from_logits=True)
    m.update_state(y, scores)
    ref_scores = keras.ops.convert_to_numpy(keras.ops.cast(scores, "float64" if dtype ==
                                                           "float64" else "float32"))
    assert_counts_equal(m.counts(), M.confusion_counts(y, ref_scores, from_logits=True))


def test_search_table_is_small_and_exact():
    for thresholds in (101, 200, 1001):
        for from_logits in (False, True):
            cuts = M.cut_values(M.make_thresholds(thresholds), from_logits)
            shift, offset, table, cut_keys = keras_metric.build_search_table(cuts)
            assert table.size <= 2**17
            # every float32 within 2 ulps of every cut, and the specials
            with np.errstate(over="ignore"):
                near = np.concatenate([cuts, SPECIAL] + [
                    np.nextafter(cuts, F32(d)) for d in (-np.inf, np.inf)])
                near = np.concatenate([near, np.nextafter(near, F32(-np.inf)),
                                       np.nextafter(near, F32(np.inf))])
            near = near[~np.isnan(near)]
            key = keras_metric.score_keys(near)
            bucket = np.clip((key >> shift) - offset, 0, table.size - 1)
            base = table[bucket]
            k = base + (key >= cut_keys[base])
            want = (near[:, None] >= cuts[None, :]).sum(axis=1)
            np.testing.assert_array_equal(k, want)


# -- shapes --------------------------------------------------------------------------------------


def test_shapes_binary_class_ids_and_sequences():
    rng = np.random.default_rng(2)
    p = rng.random(30).astype(F32)
    yb = rng.integers(0, 2, 30)
    want = M.confusion_counts(yb, p)
    for y_true, y_pred in [(yb, p), (yb, p[:, None]), (yb[:, None], p[:, None]),
                           (yb.astype(F32), p)]:
        m = ThresholdCounts()
        m.update_state(y_true, y_pred)
        assert_counts_equal(m.counts(), want)

    probs = rng.random((30, 4)).astype(F32)
    ids = rng.integers(0, 4, 30)
    want = M.confusion_counts(ids, probs)
    for y_true in (ids, ids[:, None], ids.astype(F32), ids[:, None].astype(F32)):
        m = ThresholdCounts()
        m.update_state(y_true, probs)
        assert_counts_equal(m.counts(), want)

    seq = rng.random((3, 60, 2)).astype(F32)
    yseq = rng.integers(0, 2, (3, 60, 2))
    w = rng.random(3).astype(F32)
    m = ThresholdCounts()
    m.update_state(yseq, seq)
    assert_counts_equal(m.counts(), M.confusion_counts(yseq, seq))
    mw = ThresholdCounts(weighted=True)
    mw.update_state(yseq, seq, w)  # one weight per sequence
    assert_counts_equal(mw.counts(), M.confusion_counts(yseq, seq, sample_weight=w[:, None]),
                        weighted=True)


def test_shape_and_label_errors():
    with pytest.raises(ValueError, match=r"Expected `y_true` with the shape of `y_score`"):
        ThresholdCounts().update_state(np.zeros((4, 3)), np.zeros((4, 2), F32))
    with pytest.raises(ValueError,
                       match=r"Expected scores with 3 columns.*received `y_pred` with 2"):
        ThresholdCounts(label_names=["a", "b", "c"]).update_state(
            np.zeros((4, 2)), np.zeros((4, 2), F32))
    m = ThresholdCounts()
    m.update_state(np.zeros((4, 2)), np.zeros((4, 2), F32))
    with pytest.raises(ValueError,
                       match=r"Expected scores with 2 columns.*received `y_pred` with 5"):
        m.update_state(np.zeros((4, 5)), np.zeros((4, 5), F32))
    with pytest.raises(ValueError, match=r"Expected 3 `label_names`.*received 2"):
        ThresholdCounts(num_labels=3, label_names=["a", "b"])
    with pytest.raises(ValueError, match=r"decision_threshold"):
        ThresholdCounts(decision_threshold=1.5)
    with pytest.raises(ValueError, match=r"thresholds"):
        ThresholdCounts(thresholds=[0.5, 0.2])
    with pytest.raises(ValueError, match=r"has no counts yet"):
        ThresholdCounts().counts()
    with pytest.raises(ValueError, match=r"zero_division"):
        ThresholdCounts(zero_division=0.5)
    with pytest.raises(ValueError, match=r"ignore_value"):
        ThresholdCounts(ignore_value=1)
    m = ThresholdCounts()
    m.update_state(np.zeros((4, 2)), np.zeros((4, 2), F32))
    with pytest.raises(ValueError, match=r"built for multi-label.*received class ids"):
        m.update_state(np.zeros(4), np.zeros((4, 2), F32))


def test_sample_weight_needs_weighted():
    m = ThresholdCounts()
    with pytest.raises(ValueError,
                       match=r"weighted=True.*received sample_weight of shape \(4,\)"):
        m.update_state(np.zeros((4, 2)), np.zeros((4, 2), F32), np.ones(4))


# -- result, state, config -----------------------------------------------------------------------


@pytest.mark.parametrize("decision", [0.5, 0.3])
def test_result_matches_counts_at_the_decision_threshold(decision):
    rng = np.random.default_rng(3)
    y = (rng.random((50, 6)) < 0.3).astype(F32)
    s = rng.random((50, 6)).astype(F32)
    # 0.5 lies between 0.4 and 0.6: the lower one is used; 0.3 snaps to 0.2 (nearer than 0.4).
    m = ThresholdCounts(thresholds=[0.0, 0.2, 0.4, 0.6, 1.0], decision_threshold=decision,
                        name="tc")
    m.update_state(y, s)
    c = m.counts()
    i = c.threshold_index(decision)
    assert i == {0.5: 2, 0.3: 1}[decision]
    want = {
        "tc_micro_f1": c.f1("micro")[i],
        "tc_macro_f1": c.f1("macro", zero_division=0)[i],
        "tc_binary_accuracy": c.binary_accuracy()[i],
        "tc_exact_match_accuracy": c.exact_match_accuracy()[i],
        "tc_categorical_accuracy": c.categorical_accuracy(),
        "tc_macro_roc_auc": c.roc_auc("macro"),
        "tc_macro_average_precision": c.average_precision("macro"),
    }
    for compiled in (False, True):
        result = tf.function(m.result)() if compiled else m.result()
        assert sorted(result) == sorted(want)
        for key, value in want.items():
            assert float(result[key]) == pytest.approx(value, rel=1e-6, abs=1e-7), key


@pytest.mark.parametrize("nested_xla, num_labels, thresholds",
                         [(True, 5, 101), (True, 8, 5001), (False, 5, 101)])
def test_result_in_the_same_compiled_step(monkeypatch, nested_xla, num_labels, thresholds):
    """Within one tf.function, result() after update_state reflects that update (for a small
    state the update computes it in the same XLA launch) and reset_state() clears it."""
    monkeypatch.setattr(ThresholdCounts, "nested_xla", nested_xla)
    rng = np.random.default_rng(4)
    y = (rng.random((64, num_labels)) < 0.3).astype(F32)
    s = rng.normal(size=(64, num_labels)).astype(F32)
    m = ThresholdCounts(thresholds, from_logits=True, num_labels=num_labels, name="tc")

    @tf.function
    def step(y, s):
        m.update_state(y, s)
        return m.result()

    @tf.function
    def step_then_reset(y, s):
        m.update_state(y, s)
        m.reset_state()
        return m.result()

    step(y[:32], s[:32])
    result = step(y[32:], s[32:])
    c = M.confusion_counts(y, s, thresholds, from_logits=True)
    assert m.counts() == c
    i = c.threshold_index(0.5)
    assert float(result["tc_macro_f1"]) == pytest.approx(c.f1("macro")[i], rel=1e-6)
    assert float(result["tc_exact_match_accuracy"]) == pytest.approx(
        c.exact_match_accuracy()[i], rel=1e-6)
    assert all(float(v) == 0.0 for v in step_then_reset(y, s).values())


def test_result_before_update_and_reset():
    m = ThresholdCounts(num_labels=3)
    assert all(float(v) == 0.0 for v in m.result().values())
    m.update_state(np.ones((2, 3)), np.ones((2, 3), F32))
    assert m.counts().n == 2
    assert keras.backend.standardize_dtype(m.sums.dtype) == "int32"
    m.reset_state()
    c = m.counts()
    assert c.n == 0 and c.tp.sum() == 0 and c.exact_match.sum() == 0


def test_config_round_trip():
    m = ThresholdCounts(thresholds=[0.1, 0.5, 0.9], from_logits=True, label_names=["a", "b"],
                        decision_threshold=0.4, name="x", weighted=True, ignore_value=-1,
                        label_axis=1, multiclass=True, confusion_matrix=False,
                        zero_division=float("nan"), output_name="out")
    clone = ThresholdCounts.from_config(m.get_config())
    config, clone_config = m.get_config(), clone.get_config()
    assert math.isnan(config.pop("zero_division")) and math.isnan(clone_config.pop("zero_division"))
    assert clone_config == config
    assert clone.expected_labels == 2 and clone.label_names == ["a", "b"]
    assert clone.log_name == "out_x" and clone.ignore_value == -1 and clone.label_axis == 1
    np.testing.assert_array_equal(clone.thresholds, m.thresholds)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(m))
    assert isinstance(restored, ThresholdCounts) and restored.name == "x"


# -- new per-step sums, layouts, ignored labels, compiled -----------------------------------------


@pytest.mark.parametrize("jit_compile", [False, True])
def test_compiled_single_label_ignored_and_channels_first(jit_compile):
    """Class ids with an ignored id (255) and [N, C, H, W] scores (label_axis=1), per-cell
    weights with NaN-ignored labels: every Counts field equals confusion_counts, compiled."""
    rng = np.random.default_rng(11)
    s = rng.random((4, 3, 5, 6)).astype(F32)
    ids = np.where(rng.random((4, 5, 6)) < 0.2, 255, rng.integers(0, 3, (4, 5, 6)))
    m = ThresholdCounts(thresholds=11, label_axis=1, ignore_value=255)
    step = tf.function(lambda y, p: m.update_state(y, p), jit_compile=jit_compile)
    step(ids[:2], s[:2])
    step(ids[2:], s[2:])
    want = M.confusion_counts(ids, s, 11, label_axis=1, ignore_value=255)
    assert_counts_equal(m.counts(), want)
    assert want.confusion_matrix is not None and want.sample_unit == "positions"

    y = (rng.random((30, 4)) < 0.4).astype(F32)
    y[rng.random(y.shape) < 0.2] = np.nan
    p = rng.random((30, 4)).astype(F32)
    w = (rng.integers(0, 8, (30, 4)) / 4).astype(F32)
    mw = ThresholdCounts(thresholds=11, ignore_value=float("nan"), weighted=True)
    tf.function(lambda y, p, w: mw.update_state(y, p, w), jit_compile=jit_compile)(y, p, w)
    assert_counts_equal(mw.counts(), M.confusion_counts(
        y, p, 11, sample_weight=w, ignore_value=float("nan")), weighted=True)


def test_issue_9_missing_labels_through_the_metric():
    """Issue 9's 6x3 input with 5 NaN labels: per-label F1 [0.6667, 1.0, 1.0] (scikit-learn on
    the observed cells), not [0.5714, 0.6667, 0.6667] (NaN read as negative)."""
    nan = np.nan
    y = np.array([[1, 0, nan], [0, 1, 1], [1, nan, 0], [nan, 1, 1], [1, 0, nan],
                  [0, nan, 0]], F32)
    s = np.array([[0.9, 0.2, 0.8], [0.6, 0.7, 0.9], [0.4, 0.9, 0.1], [0.8, 0.8, 0.7],
                  [0.7, 0.3, 0.9], [0.1, 0.6, 0.2]], F32)
    m = ThresholdCounts(thresholds=[0.5], ignore_value=float("nan"), name="tc")
    tf.function(lambda y, s: m.update_state(y, s))(y, s)
    np.testing.assert_allclose(m.counts().f1()[:, 0], [2 / 3, 1.0, 1.0], atol=1e-12)
    assert float(m.result()["tc_macro_f1"]) == pytest.approx((2 / 3 + 2) / 3, rel=1e-6)


def test_zero_division_of_the_headline():
    """A label absent from validation: macro F1 0.75 with zero_division=0, 1.0 with nan."""
    y = np.array([[1, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 0]], F32)
    s = np.where(y == 1, 0.9, 0.1).astype(F32)
    got = {}
    for zd in (0, 1, float("nan")):
        m = ThresholdCounts(zero_division=zd, name="tc")
        m.update_state(y, s)
        got[str(zd)] = float(m.result()["tc_macro_f1"])
    assert got == {"0": 0.75, "1": 1.0, "nan": 1.0}


def test_invalid_labels_raise_when_counts_are_read():
    m = ThresholdCounts()
    tf.function(lambda y, s: m.update_state(y, s))(
        np.array([[0, -1], [1, 0]], F32), np.full((2, 2), 0.3, F32))
    with pytest.raises(ValueError, match=r"received 1 cells or rows that are not.*ignore_value"):
        m.counts()


# -- counters that never wrap --------------------------------------------------------------------


def _set_state(metric, values):
    values = np.asarray(values)
    if metric.weighted:
        metric.sums_high.assign(values.astype(F32))
        metric.sums.assign((values - values.astype(F32).astype(np.float64)).astype(F32))
    else:
        metric.sums.assign((values & (2**24 - 1)).astype(np.int32))
        metric.sums_high.assign((values >> 24).astype(np.int32))


def _state(metric):
    low = keras.ops.convert_to_numpy(metric.sums).astype(np.int64)
    return (keras.ops.convert_to_numpy(metric.sums_high).astype(np.int64) << 24) + low


@pytest.mark.slow
def test_issue_repro_segmentation_epoch_is_exact():
    """Issue 9: outputs [64, 511, 511, 1], 130 steps, every label 0, every score 0.3: n is
    2,172,526,720 (it was written as -2,122,440,576). 129 steps are preset in the state, the
    130th is a real compiled update."""
    y = np.zeros((64, 511, 511, 1), F32)
    s = np.full((64, 511, 511, 1), 0.3, F32)
    m = ThresholdCounts(thresholds=11)
    step = tf.function(lambda y, s: m.update_state(y, s))
    step(y, s)
    one = _state(m)
    assert one.max() == 64 * 511 * 511
    _set_state(m, 129 * one)
    step(y, s)
    c = m.counts()
    assert c.n == 2_172_526_720 and c.n > 2**31
    assert c.tn[0].tolist() == [0] * 4 + [2_172_526_720] * 7
    assert c.fp[0].tolist() == [2_172_526_720] * 4 + [0] * 7
    assert c.exact_match.tolist() == [0] * 4 + [2_172_526_720] * 7
    assert c.sample_unit == "positions"


def test_unweighted_state_exact_past_2_31_and_refused_past_2_53():
    rng = np.random.default_rng(5)
    y = (rng.random((64, 3)) < 0.5).astype(F32)
    s = rng.random((64, 3)).astype(F32)
    m = ThresholdCounts(thresholds=5)
    step = tf.function(lambda y, s: m.update_state(y, s))
    step(y, s)
    one = _state(m)
    big = one * 40_000_000  # n = 2,560,000,000: far past int32
    _set_state(m, big)
    step(y, s)
    np.testing.assert_array_equal(_state(m), big + one)
    c, ref = m.counts(), M.confusion_counts(y, s, 5)
    assert c.n == 64 * 40_000_001 and c.n > 2**31
    for field in ("tp", "fp", "tn", "fn", "exact_match", "categorical_correct", "top1_positive"):
        np.testing.assert_array_equal(getattr(c, field), getattr(ref, field) * 40_000_001)
    _set_state(m, np.where(one > 0, 2**53 - 1 - 64, 0))
    step(y, s)  # reaches 2**53 - 1 at most: still exact
    assert int(_state(m).max()) == 2**53 - 1
    step(y, s)
    with pytest.raises(ValueError, match=r"2\*\*53 - 1"):
        m.counts()


def test_weighted_state_keeps_2_2e9_unit_weights():
    """2.2e9 unit weights preset, 1,000 more added by a real update: exact (float32 alone
    cannot hold 2,200,001,000)."""
    m = ThresholdCounts(thresholds=3, weighted=True)
    y = np.zeros((1000, 1), F32)
    s = np.full((1000, 1), 0.7, F32)
    step = tf.function(lambda y, s, w: m.update_state(y, s, w))
    step(y, s, np.ones(1000, F32))
    values = keras.ops.convert_to_numpy(m.sums_high).astype(np.float64) * 2.2e6
    _set_state(m, values)
    step(y, s, np.ones(1000, F32))
    c = m.counts()
    assert c.n == 2_200_001_000.0
    assert float(np.float32(2_200_001_000.0)) != 2_200_001_000.0
    assert c.fp[0].tolist() == [2_200_001_000.0] * 2 + [0.0]


# -- real fits: Keras' accuracy, confusion matrix, top-k, EarlyStopping, output names -------------


@pytest.mark.parametrize("kind", ["multi_label_logits", "sparse_softmax", "one_hot_weighted"])
def test_categorical_accuracy_equals_keras_accuracy_in_fit(kind):
    """``metrics=["accuracy"]``: CategoricalAccuracy for a multi-label [N, 20] logits model,
    SparseCategoricalAccuracy for class ids; weighted with ``weighted_metrics``. The logged
    ``threshold_counts_categorical_accuracy`` equals Keras' ``accuracy`` and ``val_accuracy``
    each epoch."""
    rng = np.random.default_rng(12)
    keras.utils.set_random_seed(12)
    x = rng.normal(size=(200, 8)).astype(F32)
    xv = rng.normal(size=(80, 8)).astype(F32)
    w = wv = None
    if kind == "multi_label_logits":
        y = (rng.random((200, 20)) < 0.2).astype(F32)
        yv = (rng.random((80, 20)) < 0.2).astype(F32)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(20)])
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        metric = ThresholdCounts(from_logits=True)
        model.compile("adam", loss, metrics=["accuracy", metric])
        assert type(_compiled_accuracy(model, x, y)).__name__ == "CategoricalAccuracy"
    elif kind == "sparse_softmax":
        y = rng.integers(0, 5, 200)
        yv = rng.integers(0, 5, 80)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5, "softmax")])
        metric = ThresholdCounts()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", metric])
        assert type(_compiled_accuracy(model, x, y)).__name__ == "SparseCategoricalAccuracy"
    else:
        y = np.eye(4, dtype=F32)[rng.integers(0, 4, 200)]
        yv = np.eye(4, dtype=F32)[rng.integers(0, 4, 80)]
        w = rng.integers(1, 4, 200).astype(F32)
        wv = rng.integers(1, 4, 80).astype(F32)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, "softmax")])
        metric = ThresholdCounts(multiclass=True, weighted=True)
        model.compile("adam", "categorical_crossentropy", weighted_metrics=["accuracy", metric])
    hist = model.fit(x, y, sample_weight=w, validation_data=(xv, yv, wv) if w is not None else (
        xv, yv), batch_size=32, epochs=2, verbose=0).history
    for prefix in ("", "val_"):
        ours = hist[f"{prefix}threshold_counts_categorical_accuracy"]
        np.testing.assert_allclose(ours, hist[f"{prefix}accuracy"], rtol=1e-6, atol=1e-7)
    assert 0.0 < hist["val_accuracy"][-1] < 1.0
    c = metric.counts()  # the validation pass of the last epoch
    assert c.categorical_accuracy() == pytest.approx(hist["val_accuracy"][-1], rel=1e-6)
    if kind != "multi_label_logits":
        assert c.confusion_matrix.trace() == pytest.approx(c.categorical_correct)


def _compiled_accuracy(model, x, y):
    model.evaluate(x[:8], y[:8], verbose=0)
    return [m for m in model._compile_metrics.metrics if "ccuracy" in type(m).__name__][0]


def test_confusion_matrix_and_top_k_equal_scikit_learn_on_predict():
    """Sparse softmax model, learning rate 0: the written confusion matrix equals
    sklearn.metrics.confusion_matrix on model.predict's argmax, top-k equals
    top_k_accuracy_score (tie-free scores), weighted too."""
    from sklearn.metrics import confusion_matrix, top_k_accuracy_score

    rng = np.random.default_rng(13)
    keras.utils.set_random_seed(13)
    num_c = 7
    x = rng.normal(size=(256, 10)).astype(F32)
    y = rng.integers(0, num_c, 256)
    w = rng.integers(1, 5, 256).astype(F32)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(num_c, "softmax")])
    plain, weighted = ThresholdCounts(), ThresholdCounts(weighted=True, name="tcw")
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy",
                  metrics=[plain], weighted_metrics=[weighted])
    model.fit(x, y, sample_weight=w, batch_size=64, epochs=1, verbose=0)
    probs = model.predict(x, batch_size=64, verbose=0)
    pred = probs.argmax(axis=1)
    labels = list(range(num_c))
    c, cw = plain.counts(), weighted.counts()
    np.testing.assert_array_equal(c.confusion_matrix, confusion_matrix(y, pred, labels=labels))
    np.testing.assert_allclose(cw.confusion_matrix, confusion_matrix(
        y, pred, labels=labels, sample_weight=w), rtol=1e-6)
    assert len(np.unique(probs, axis=1)[0]) == num_c  # no ties within a row
    for k in range(1, 6):
        assert c.top_k_accuracy(k) == pytest.approx(
            top_k_accuracy_score(y, probs, k=k, labels=labels), abs=1e-12)
        assert cw.top_k_accuracy(k) == pytest.approx(
            top_k_accuracy_score(y, probs, k=k, labels=labels, sample_weight=w), rel=1e-6)
    assert_counts_equal(c, M.confusion_counts(y, probs))


def test_early_stopping_monitors_macro_average_precision():
    """EarlyStopping(monitor="val_threshold_counts_macro_average_precision", mode="max") finds
    the key: with learning rate 0 nothing improves and it stops after patience + 1 epochs."""
    rng = np.random.default_rng(14)
    x = rng.normal(size=(96, 6)).astype(F32)
    y = (rng.random((96, 3)) < 0.4).astype(F32)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    metric = ThresholdCounts(from_logits=True)
    model.compile(keras.optimizers.SGD(0.0), keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[metric])
    stop = keras.callbacks.EarlyStopping(
        monitor="val_threshold_counts_macro_average_precision", mode="max", patience=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing monitor key only warns
        hist = model.fit(x, y, validation_data=(x, y), epochs=10, batch_size=32, verbose=0,
                         callbacks=[stop]).history
    assert len(hist["loss"]) == 2
    want = M.confusion_counts(y, model.predict(x, verbose=0), from_logits=True)
    assert hist["val_threshold_counts_macro_average_precision"][-1] == pytest.approx(
        want.average_precision("macro"), rel=1e-5)
    assert hist["val_threshold_counts_macro_roc_auc"][-1] == pytest.approx(
        want.roc_auc("macro"), rel=1e-5)


def _two_output_model():
    inp = keras.Input((4,))
    a = keras.layers.Dense(2, name="out_a")(inp)
    b = keras.layers.Dense(3, name="out_b")(inp)
    return keras.Model(inp, {"out_a": a, "out_b": b})


@pytest.mark.parametrize("extra_depth", [0, 3])
def test_output_names_in_a_two_output_model(monkeypatch, extra_depth):
    """Keys and tags are ``<output>_<name>``, read from Keras' compiled metrics at any call
    depth (extra_depth wraps Keras' MetricsList.update_state in more frames)."""
    from keras.src.trainers import compile_utils

    if extra_depth:
        original = compile_utils.MetricsList.update_state

        def deeper(self, *args, depth=extra_depth, **kw):
            if depth:
                return deeper(self, *args, depth=depth - 1, **kw)
            return original(self, *args, **kw)

        monkeypatch.setattr(compile_utils.MetricsList, "update_state", deeper)
    rng = np.random.default_rng(15)
    x = rng.normal(size=(32, 4)).astype(F32)
    ys = {"out_a": (rng.random((32, 2)) < 0.5).astype(F32),
          "out_b": (rng.random((32, 3)) < 0.5).astype(F32)}
    model = _two_output_model()
    ma, mb = ThresholdCounts(from_logits=True), ThresholdCounts(from_logits=True)
    model.compile("sgd", {"out_a": "binary_crossentropy", "out_b": "binary_crossentropy"},
                  metrics={"out_a": [ma], "out_b": [mb]})
    hist = model.fit(x, ys, epochs=1, verbose=0).history
    assert ma.log_name == "out_a_threshold_counts" and mb.log_name == "out_b_threshold_counts"
    assert "out_a_threshold_counts_macro_f1" in hist and "out_b_threshold_counts_macro_f1" in hist
    assert ma.counts().num_labels == 2 and mb.counts().num_labels == 3


def test_output_name_not_found_fails_loudly():
    """Called by a multi-output model with no Keras metric container in sight (as if Keras
    changed its internals): a RuntimeError naming ``output_name=``, never colliding keys."""
    metric = ThresholdCounts()

    def train_step(self):  # a frame whose ``self`` is a two-output model
        metric.update_state(np.zeros((2, 2), F32), np.zeros((2, 2), F32))

    with pytest.raises(RuntimeError, match=r"output_name="):
        train_step(_two_output_model())
    named = ThresholdCounts(output_name="out_a")
    named.update_state(np.zeros((2, 2), F32), np.zeros((2, 2), F32))
    assert named.log_name == "out_a_threshold_counts"


# -- other backends (subprocesses: the backend is fixed when Keras is imported) -------------------

BACKEND_SCRIPT = textwrap.dedent("""
    import numpy as np, keras
    from tb_metrics_plugin import metrics as M
    from tb_metrics_plugin.keras_metric import ThresholdCounts
    rng = np.random.default_rng(0)
    special = np.array([0, -0.0, 0.5, 1, np.inf, -np.inf, np.nan, 1e-45, -1e-45], np.float32)
    for thresholds in (5, 101):
        for from_logits in (False, True):
            cuts = M.cut_values(M.make_thresholds(thresholds), from_logits)
            pool = np.concatenate([special, cuts, np.nextafter(cuts, np.float32(-np.inf)),
                                   np.nextafter(cuts, np.float32(np.inf))])
            s = rng.choice(pool, size=(40, 5)).astype(np.float32)
            y = (rng.random((40, 5)) < 0.4).astype(np.float32)
            m = ThresholdCounts(thresholds=thresholds, from_logits=from_logits)
            m.update_state(y[:25], s[:25]); m.update_state(y[25:], s[25:])
            assert m.counts() == M.confusion_counts(y, s, thresholds, from_logits), (thresholds,)
    # compiled: a real fit (JAX builds the metric in its symbolic build, then jits the step)
    x = rng.normal(size=(96, 4)).astype(np.float32)
    y = (rng.random((96, 3)) < 0.4).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy",
                  metrics=[ThresholdCounts(from_logits=True)])
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    metric = [m for m in model.metrics[-1].metrics if isinstance(m, ThresholdCounts)][0]
    want = M.confusion_counts(y, model.predict(x, verbose=0), from_logits=True)
    assert metric.counts() == want
    # new state: class ids (confusion matrix, top-k), ignored labels, Keras' accuracy in fit
    ids = np.where(rng.random(40) < 0.2, 255, rng.integers(0, 5, 40))
    s = rng.random((40, 5)).astype(np.float32)
    m = ThresholdCounts(ignore_value=255)
    m.update_state(ids[:25], s[:25]); m.update_state(ids[25:], s[25:])
    assert m.counts() == M.confusion_counts(ids, s, ignore_value=255)
    keras.utils.set_random_seed(1)
    yc = rng.integers(0, 4, 96)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="softmax")])
    metric = ThresholdCounts()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", metric])
    hist = model.fit(x, yc, validation_data=(x, yc), batch_size=32, epochs=2, verbose=0).history
    for p in ("", "val_"):
        np.testing.assert_allclose(hist[p + "threshold_counts_categorical_accuracy"],
                                   hist[p + "accuracy"], rtol=1e-6)
    probs = model.predict(x, batch_size=32, verbose=0)
    c = metric.counts()
    assert c == M.confusion_counts(yc, probs), "validation counts"
    assert c.confusion_matrix.trace() == c.categorical_correct
    print("BACKEND_OK", keras.backend.backend())
""")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_counts_on_other_backends(backend):
    if os.environ.get("CI"):
        __import__(backend)  # make test installs every backend: CI must not skip
    else:
        pytest.importorskip(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=540)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert f"BACKEND_OK {backend}" in proc.stdout


def test_one_column_output_has_no_categorical_accuracy_key():
    """Found by a new-user trial: a binary [N, 1] model logged categorical_accuracy = 1.0 every
    epoch (argmax of one column is always right). Keras' `accuracy` there is BinaryAccuracy, so
    the key is left out and Counts.categorical_accuracy() is NaN; multi-column outputs keep it."""
    m = ThresholdCounts(thresholds=11, name="tc")
    m.update_state(np.array([[1.0], [0.0], [1.0]]), np.array([[0.9], [0.2], [0.4]]))
    keys = set(m.result())
    assert "tc_categorical_accuracy" not in keys and "tc_binary_accuracy" in keys
    assert math.isnan(m.counts().categorical_accuracy())
    assert math.isnan(M.confusion_counts([1, 0, 1], [0.9, 0.2, 0.4]).categorical_accuracy())
    two = ThresholdCounts(thresholds=11, name="tc")
    two.update_state(np.array([[1.0, 0.0]]), np.array([[0.9, 0.2]]))
    assert float(two.result()["tc_categorical_accuracy"]) == 1.0
