"""keras_ops kernels against the numpy reference, without a model.

* format -> count -> accumulate -> `counts_from_sums` equals `confusion_counts` field for field
  (every `Counts` field, `sample_unit` included) on generated inputs: multi-label, binary,
  class ids, one-hot with ``multiclass``, ``ignore_value`` (NaN and -1), per-row and per-cell
  weights, ``label_axis``, scores on the cuts and special floats;
* `headline` equals the `Counts` methods value for value (every ``zero_division``);
* the two-word state: exact past 2**31 (carry), refused past 2**53, float64-grade weighted sums.
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras  # noqa: F401  (tests/conftest.py picks the TensorFlow backend)
from keras import ops

from tb_metrics_plugin import confusion_counts, inputs, keras_ops
from tb_metrics_plugin.counts import Counts

F32 = np.float32
SPECIAL = np.array([0.0, -0.0, 1.0, 0.5, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 2.0, -3.0],
                   dtype=F32)
FIELDS = ("tp", "fp", "tn", "fn", "exact_match", "nan", "out_of_range", "nan_positive",
          "categorical_correct", "top1_positive", "negative_rows", "confusion_matrix",
          "top_k_hits")


def kernel_counts(y_true, y_score, thresholds=11, from_logits=False, sample_weight=None,
                  ignore_value=None, label_axis=-1, multiclass=False, confusion_matrix=True,
                  batches=1):
    """The kernels' Counts, fed in ``batches`` slices along axis 0 (eager keras.ops)."""
    thr = inputs.make_thresholds(thresholds)
    cuts = inputs.cut_values(thr, from_logits)
    search = keras_ops.build_search_table(cuts)
    weighted = sample_weight is not None
    layout = keras_ops.moved_shapes(np.shape(y_true), np.shape(y_score), label_axis)
    lay = keras_ops.SumsLayout(layout.num_labels, cuts, layout.class_ids or multiclass,
                               confusion_matrix)
    dtype = "float32" if weighted else "int32"
    low = high = ops.zeros((lay.size,), dtype)
    for part in np.array_split(np.arange(len(y_score)), batches):
        if not part.size:
            continue
        w = None if sample_weight is None else ops.convert_to_tensor(
            np.asarray(sample_weight, F32)[part])
        part_layout = keras_ops.moved_shapes(np.shape(y_true[part]), np.shape(y_score[part]),
                                             label_axis)
        batch = keras_ops.format_batch(
            ops.convert_to_tensor(y_true[part]), ops.convert_to_tensor(y_score[part]), w,
            layout=part_layout, ignore_value=ignore_value, multiclass=multiclass,
            weighted=weighted)
        sums = keras_ops.batch_sums(batch, lay, cuts, search, weighted)
        low, high = keras_ops.accumulate(low, high, sums, weighted)
    return keras_ops.counts_from_sums(
        ops.convert_to_numpy(low), ops.convert_to_numpy(high), lay, thr, weighted=weighted,
        label_names=[str(i) for i in range(layout.num_labels)], from_logits=from_logits,
        sample_unit=layout.sample_unit)


def reference(y_true, y_score, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out-of-range scores are on purpose
        return confusion_counts(y_true, y_score, **kw)


def assert_same(got, want, weighted=False):
    if not weighted:
        diff = [f for f in FIELDS if not _equal(getattr(got, f), getattr(want, f))]
        assert got == want, (diff, got.n, want.n, got.sample_unit, want.sample_unit)
        return
    for f in FIELDS:
        a, b = getattr(got, f), getattr(want, f)
        assert (a is None) == (b is None), f
        if a is not None:
            np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                       rtol=1e-5, atol=1e-4, err_msg=f)
    assert math.isclose(got.n, want.n, rel_tol=1e-6)
    assert got.sample_unit == want.sample_unit


def _equal(a, b):
    return (a is None and b is None) or (a is not None and b is not None
                                         and np.array_equal(a, b))


def scores_for(rng, shape, thresholds, from_logits):
    cuts = inputs.cut_values(inputs.make_thresholds(thresholds), from_logits)
    pool = np.concatenate([SPECIAL, cuts, np.nextafter(cuts, F32(-np.inf)),
                           np.nextafter(cuts, F32(np.inf)), rng.random(8).astype(F32),
                           rng.normal(size=8).astype(F32) * 3])
    return rng.choice(pool, size=shape).astype(F32)


# -- parity with confusion_counts ----------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), num_labels=st.integers(1, 5),
       thresholds=st.sampled_from([1, 3, 11, [0.0, 0.3, 1.0], [0.25, 0.75]]),
       from_logits=st.booleans(), batches=st.integers(1, 3),
       ignore=st.sampled_from([None, "nan", -1]), weights=st.sampled_from([None, "row", "cell"]))
def test_multi_label_matches_confusion_counts(seed, n, num_labels, thresholds, from_logits,
                                              batches, ignore, weights):
    rng = np.random.default_rng(seed)
    s = scores_for(rng, (n, num_labels), thresholds, from_logits)
    y = (rng.random((n, num_labels)) < 0.4).astype(F32)
    ignore_value = None if ignore is None else float("nan") if ignore == "nan" else -1.0
    if ignore_value is not None:
        y[rng.random(y.shape) < 0.3] = ignore_value
    w = None
    if weights == "row":
        w = (rng.integers(0, 9, n) / 4).astype(F32)  # exact in float32 sums
    elif weights == "cell":
        w = (rng.integers(0, 9, (n, num_labels)) / 4).astype(F32)
    kw = dict(thresholds=thresholds, from_logits=from_logits, sample_weight=w,
              ignore_value=ignore_value)
    got = kernel_counts(y, s, batches=batches, **kw)
    assert_same(got, reference(y, s, **kw), weighted=w is not None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), num_classes=st.integers(2, 7),
       one_hot=st.booleans(), ignore=st.booleans(), weighted=st.booleans(),
       confusion_matrix=st.booleans(), batches=st.integers(1, 2))
def test_single_label_matches_confusion_counts(seed, n, num_classes, one_hot, ignore, weighted,
                                               confusion_matrix, batches):
    """Class ids [N] (and [N, 1]) or one-hot with multiclass=True: confusion matrix and top-k
    hits included, ties and NaN scores too."""
    rng = np.random.default_rng(seed)
    s = scores_for(rng, (n, num_classes), 11, False)
    s[rng.random(s.shape) < 0.2] = 0.5  # ties
    ids = rng.integers(0, num_classes, n)
    w = (rng.integers(0, 9, n) / 4).astype(F32) if weighted else None
    kw = dict(thresholds=11, sample_weight=w, confusion_matrix=confusion_matrix)
    if one_hot:
        y = np.eye(num_classes, dtype=F32)[ids]
        if ignore:  # whole rows: a partly ignored one-hot row has no class (refused below)
            y[rng.random(n) < 0.3] = -1
            kw["ignore_value"] = -1
        kw["multiclass"] = True
    else:
        y = ids.astype(np.int64)
        if ignore:
            y = np.where(rng.random(n) < 0.3, 255, y)
            kw["ignore_value"] = 255
        if seed % 2:
            y = y[:, None]
    got = kernel_counts(y, s, batches=batches, **kw)
    want = reference(y, s, **kw)
    assert_same(got, want, weighted=weighted)
    assert (got.confusion_matrix is not None) == confusion_matrix


@pytest.mark.parametrize("case", ["channels_first_ids", "channels_first_labels", "sequence",
                                  "binary_1d", "binary_column"])
def test_layouts(case):
    rng = np.random.default_rng(7)
    axis = -1
    if case == "channels_first_ids":  # [N, C, H, W] scores with [N, H, W] class ids
        s = rng.random((2, 3, 4, 5)).astype(F32)
        y = rng.integers(0, 3, (2, 4, 5))
        axis = 1
    elif case == "channels_first_labels":
        s = rng.random((2, 3, 4, 5)).astype(F32)
        y = (rng.random((2, 3, 4, 5)) < 0.5).astype(F32)
        axis = 1
    elif case == "sequence":
        s = rng.random((3, 6, 2)).astype(F32)
        y = (rng.random((3, 6, 2)) < 0.5).astype(np.int32)
    elif case == "binary_1d":
        s = rng.random(9).astype(F32)
        y = rng.integers(0, 2, 9)
    else:
        s = rng.random((9, 1)).astype(F32)
        y = rng.integers(0, 2, 9)
    got = kernel_counts(y, s, label_axis=axis)
    want = reference(y, s, thresholds=11, label_axis=axis)
    assert_same(got, want)
    assert got.sample_unit == ("positions" if s.ndim > 2 else "samples")


def test_issue_9_missing_labels_small_input():
    """6x3 labels with 5 NaN cells: per-label F1 at 0.5 on the observed cells is scikit-learn's
    [0.6667, 1.0, 1.0] (reading NaN as negative gave [0.5714, 0.6667, 0.6667])."""
    from sklearn.metrics import f1_score

    nan = np.nan
    y = np.array([[1, 0, nan], [0, 1, 1], [1, nan, 0], [nan, 1, 1], [1, 0, nan],
                  [0, nan, 0]], F32)
    s = np.array([[0.9, 0.2, 0.8], [0.6, 0.7, 0.9], [0.4, 0.9, 0.1], [0.8, 0.8, 0.7],
                  [0.7, 0.3, 0.9], [0.1, 0.6, 0.2]], F32)
    got = kernel_counts(y, s, thresholds=[0.5], ignore_value=float("nan"))
    want = [f1_score(y[~np.isnan(y[:, j]), j], s[~np.isnan(y[:, j]), j] >= 0.5)
            for j in range(3)]
    np.testing.assert_allclose(got.f1()[:, 0], want, atol=1e-12)
    np.testing.assert_allclose(np.round(want, 4), [0.6667, 1.0, 1.0])
    assert got.observed.tolist() == [5, 4, 4]


def test_invalid_values_are_counted_and_refused():
    s = np.full((4, 2), 0.3, F32)
    for y, kw in [(np.array([[0, 2], [1, 0], [0, 0], [1, 1]], F32), {}),
                  (np.array([[0, -1], [1, 0], [0, 0], [1, 1]], F32), {}),
                  (np.array([0, 1, 5, 1]), {}),
                  (np.array([[1, 1], [1, 0], [0, 1], [0, 1]], F32), {"multiclass": True})]:
        with pytest.raises(ValueError, match=r"received 1 cells or rows that are not.*ignore_value"):
            kernel_counts(y, s, **kw)
    with pytest.raises(ValueError, match=r"finite non-negative weights"):
        kernel_counts(np.zeros((4, 2), F32), s, sample_weight=np.array([1, -1, 1, 1], F32))


# -- headline ------------------------------------------------------------------------------------


@pytest.mark.parametrize("zero_division", [0, 1, float("nan")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_headline_equals_counts_methods(zero_division, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((40, 5)) < 0.3).astype(F32)
    y[:, 1] = 0  # a label without positives: NaN ROC/AP, zero_division in F1
    if seed == 2:
        y[:, 3] = 1  # and one without negatives
    s = rng.random((40, 5)).astype(F32)
    s[:, 4] = 0.05  # predicts nothing at 0.5
    thr = inputs.make_thresholds(21)
    cuts = inputs.cut_values(thr)
    lay = keras_ops.SumsLayout(5, thr.size)
    layout = keras_ops.moved_shapes(y.shape, s.shape)
    batch = keras_ops.format_batch(ops.convert_to_tensor(y), ops.convert_to_tensor(s),
                                   layout=layout)
    sums = keras_ops.batch_sums(batch, lay, cuts, keras_ops.build_search_table(cuts))
    values = keras_ops.combine(*keras_ops.accumulate(ops.zeros_like(sums), ops.zeros_like(sums),
                                                     sums)[::1])
    c = reference(y, s, thresholds=thr)
    for d in (4, 10, 13):
        got = ops.convert_to_numpy(keras_ops.headline(values, lay, d, zero_division))
        want = [c.f1("micro", zero_division)[d], c.f1("macro", zero_division)[d],
                c.binary_accuracy()[d], c.exact_match_accuracy()[d], c.categorical_accuracy(),
                c.roc_auc("macro"), c.average_precision("macro")]
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7, equal_nan=True)


def test_headline_zero_division_macro_f1():
    """A label absent from the data: macro F1 1.0 with zero_division=nan (left out) or 1, 0.75
    with 0 (4 labels)."""
    y = np.array([[1, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 0]], F32)
    s = np.where(y == 1, 0.9, 0.1).astype(F32)
    thr = inputs.make_thresholds(11)
    lay = keras_ops.SumsLayout(4, thr.size)
    batch = keras_ops.format_batch(ops.convert_to_tensor(y), ops.convert_to_tensor(s),
                                   layout=keras_ops.moved_shapes(y.shape, s.shape))
    sums = keras_ops.batch_sums(batch, lay, inputs.cut_values(thr))
    values = ops.cast(sums, "float32")
    macro = {zd: float(keras_ops.headline(values, lay, 5, zd)[1]) for zd in (0, 1)}
    macro["nan"] = float(keras_ops.headline(values, lay, 5, float("nan"))[1])
    assert macro == {0: 0.75, 1: 1.0, "nan": 1.0}


def test_headline_of_an_empty_state_is_zero():
    lay = keras_ops.SumsLayout(3, 5)
    got = ops.convert_to_numpy(keras_ops.headline(ops.zeros((lay.size,)), lay, 2))
    assert got.tolist() == [0.0] * len(keras_ops.HEADLINE_KEYS)


# -- the two-word state --------------------------------------------------------------------------


def _value(low, high):
    return (np.asarray(high, np.int64) << keras_ops.LOW_BITS) + np.asarray(low, np.int64)


def test_unweighted_carry_is_exact_past_2_31():
    start = np.array([2**31 - 5, 2**31 - 1, 2**40 + 3, 0], np.int64)
    low = ops.convert_to_tensor((start & (2**24 - 1)).astype(np.int32))
    high = ops.convert_to_tensor((start >> 24).astype(np.int32))
    add = np.array([10, 2**30, 2**31 - 2**24 - 1, 7], np.int32)  # the largest batch that fits
    for _ in range(3):
        low, high = keras_ops.accumulate(low, high, ops.convert_to_tensor(add))
        assert ops.convert_to_numpy(low).max() < 2**24
    np.testing.assert_array_equal(_value(ops.convert_to_numpy(low), ops.convert_to_numpy(high)),
                                  start + 3 * add.astype(np.int64))


def test_counts_past_2_53_are_refused():
    lay = keras_ops.SumsLayout(1, 2)
    high = np.zeros(lay.size, np.int64)
    low = np.zeros(lay.size, np.int64)
    high[0], low[0] = 2**29 - 1, 2**24 - 1  # 2**53 - 1: still exact
    c = keras_ops.counts_from_sums(low, high, lay, inputs.make_thresholds(2), weighted=False,
                                   label_names=["a"], from_logits=False)
    assert int(c.fn[0, 0] + c.tn[0, 0] + c.fp[0, 0] + c.tp[0, 0]) == 2**53 - 1
    high[0] += 1
    with pytest.raises(ValueError, match=r"expected every count <= 2\*\*53 - 1"):
        keras_ops.counts_from_sums(low, high, lay, inputs.make_thresholds(2), weighted=False,
                                   label_names=["a"], from_logits=False)


def test_weighted_pairs_keep_float64_precision():
    """2,200 batches of 1,000,003 unit weights (2.2e9): exact within 1e-9 relative, where a
    float32 sum is off by ~1e-5."""
    step = np.float32(1_000_003.0)
    low = high = ops.zeros((2,), "float32")
    batch = ops.convert_to_tensor(np.array([step, 0.25], F32))
    naive = np.float32(0)
    for _ in range(2200):
        low, high = keras_ops.accumulate(low, high, batch, weighted=True)
        naive = np.float32(naive + step)
    got = np.float64(ops.convert_to_numpy(high)) + np.float64(ops.convert_to_numpy(low))
    exact = 2200 * 1_000_003.0
    assert abs(got[0] - exact) / exact < 1e-9
    assert got[1] == 550.0
    assert abs(float(naive) - exact) / exact > 1e-7  # the test can fail: float32 alone drifts


def test_sums_layout_sections_are_disjoint_and_cover():
    lay = keras_ops.SumsLayout(4, 7, multiclass=True, confusion_matrix=True)
    spans = sorted(lay.sections.values())
    assert spans[0][0] == 0 and spans[-1][1] == lay.size
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert lay.top_k == 4 and lay.shapes["confusion_matrix"] == (4, 4)
    assert Counts  # the numpy container the state becomes


def test_partly_ignored_one_hot_rows_are_refused_as_in_numpy():
    """[1, -1, 0] or [0, -1, -1] with multiclass=True: the class is not known for sure, so the
    kernels count the row as invalid and `counts` raises, as `confusion_counts` does."""
    s = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype=F32)
    y = np.array([[1, -1, 0], [0, 0, 1]], dtype=F32)
    with pytest.raises(ValueError):
        reference(y, s, thresholds=11, ignore_value=-1, multiclass=True)
    with pytest.raises(ValueError):
        kernel_counts(y, s, thresholds=11, ignore_value=-1, multiclass=True)
    y[0] = -1  # the whole row ignored: left out, fine on both
    assert_same(kernel_counts(y, s, thresholds=11, ignore_value=-1, multiclass=True),
                reference(y, s, thresholds=11, ignore_value=-1, multiclass=True), weighted=False)


@pytest.mark.parametrize("thresholds, from_logits", [(101, False), (200, False), (1001, False),
                                                     (101, True), (200, True), (1001, True),
                                                     ([0.25, 0.5], False), (1, False)])
def test_reach_is_exact_near_every_cut_and_range_edge(thresholds, from_logits):
    """`keras_search.reach` (the one-lookup table, its two-lookup fallback and binary search)
    against brute force: k = #{cuts <= s}, kx = k + (s >= 0) + (s > 1), for every float32
    within 2 ulps of every cut, of 0 and 1, and the special values."""
    from tb_metrics_plugin import keras_search

    thr = inputs.make_thresholds(thresholds) if isinstance(thresholds, int) else np.asarray(
        thresholds, F32)
    cuts = inputs.cut_values(thr, from_logits)
    with np.errstate(over="ignore"):
        near = np.concatenate([cuts, SPECIAL, F32([0.0, 1.0, -0.0])])
        for _ in range(2):
            near = np.concatenate([near, np.nextafter(near, F32(-np.inf)),
                                   np.nextafter(near, F32(np.inf))])
    near = np.unique(near[~np.isnan(near)])
    with np.errstate(invalid="ignore"):
        want_k = (near[:, None] >= cuts[None, :]).sum(axis=1)
    want_kx = want_k + (near >= 0) + (near > 1)
    search = keras_ops.build_search_table(cuts)
    packed = None if search is None else keras_search._packed_table(search)
    for variant in ("packed", "two lookups", "binary search"):
        if variant == "packed" and packed is None:
            continue
        if variant != "binary search" and search is None:
            continue
        table = search if variant != "binary search" else None
        if variant == "two lookups":
            original = keras_search._packed_table
            keras_search._packed_table = lambda search: None
        try:
            k, isnan, kx = keras_search.reach(ops.convert_to_tensor(near[:, None]), cuts, table)
        finally:
            if variant == "two lookups":
                keras_search._packed_table = original
        np.testing.assert_array_equal(ops.convert_to_numpy(k)[:, 0], want_k, err_msg=variant)
        np.testing.assert_array_equal(ops.convert_to_numpy(kx)[:, 0], want_kx, err_msg=variant)
        assert not ops.convert_to_numpy(isnan).any()
    if thresholds == 200 and not from_logits:
        assert packed is not None  # the benchmark's case takes the one-lookup path


def _accumulate_batches(y, s, batches, thresholds=5):
    """Eager `accumulate_batch` over ``batches`` copies of one batch; the low words after each."""
    cuts = inputs.cut_values(inputs.make_thresholds(thresholds))
    lay = keras_ops.SumsLayout(y.shape[1], cuts)
    batch = keras_ops.format_batch(ops.convert_to_tensor(y), ops.convert_to_tensor(s),
                                   layout=keras_ops.moved_shapes(y.shape, s.shape))
    low = high = ops.zeros((lay.size,), "int32")
    lows = []
    for _ in range(batches):
        low, high = keras_ops.accumulate_batch(low, high, batch, lay, cuts,
                                               keras_ops.build_search_table(cuts))
        lows.append(ops.convert_to_numpy(low))
    return lay, thresholds, ops.convert_to_numpy(low), ops.convert_to_numpy(high), lows


def test_accumulate_batch_carries_every_chunk_once_per_16_updates():
    """Every cell's low word is carried at least once per NUM_CHUNKS updates, so it stays below
    2**24 + NUM_CHUNKS * rows; the state equals the reference times the number of updates."""
    rng = np.random.default_rng(8)
    y = (rng.random((50, 3)) < 0.4).astype(F32)
    s = rng.random((50, 3)).astype(F32)
    lay, thr, low, high, lows = _accumulate_batches(y, s, 40)
    assert keras_ops.NUM_CHUNKS == 16
    # Preset low words past 2**24 are carried within 16 updates: start every cell at 2**24 + 7.
    cuts = inputs.cut_values(inputs.make_thresholds(thr))
    batch = keras_ops.format_batch(ops.convert_to_tensor(y), ops.convert_to_tensor(s),
                                   layout=keras_ops.moved_shapes(y.shape, s.shape))
    start = np.full(lay.size, 2**24 + 7, np.int32)
    lo, hi = ops.convert_to_tensor(start), ops.zeros((lay.size,), "int32")
    for _ in range(16):
        lo, hi = keras_ops.accumulate_batch(lo, hi, batch, lay, cuts)
    assert ops.convert_to_numpy(lo).max() < 2**24 + 16 * 50
    value = (ops.convert_to_numpy(hi).astype(np.int64) << 24) + ops.convert_to_numpy(lo)
    one = (high.astype(np.int64) << 24) + low  # 40 updates from zero
    np.testing.assert_array_equal(value - start, one * 16 // 40)
    c = keras_ops.counts_from_sums(low, high, lay, inputs.make_thresholds(thr), weighted=False,
                                   label_names=list("abc"), from_logits=False)
    ref = reference(y, s, thresholds=thr)
    for field in ("tp", "fp", "tn", "fn", "exact_match", "out_of_range"):
        np.testing.assert_array_equal(getattr(c, field), getattr(ref, field) * 40, err_msg=field)
    assert c.n == 40 * 50


def test_oversized_batches_are_refused(monkeypatch):
    """A batch with more rows than the low words can take between carries is counted as
    oversized (its size unknown when traced) or carried whole (known), never wrapped silently."""
    import tensorflow as tf

    from tb_metrics_plugin.keras_metric import ThresholdCounts

    from tb_metrics_plugin import keras_state

    monkeypatch.setattr(keras_state, "MAX_BATCH_ROWS", 10)
    y = (np.arange(24).reshape(12, 2) % 3 == 0).astype(F32)
    s = np.linspace(0, 1, 24, dtype=F32).reshape(12, 2)
    known = ThresholdCounts(thresholds=5)
    tf.function(known.update_state)(y, s)  # 12 rows, known when traced: whole-state carries
    assert known.counts() == reference(y, s, thresholds=5)
    unknown = ThresholdCounts(thresholds=5)
    spec = tf.TensorSpec((None, 2), tf.float32)
    step = tf.function(unknown.update_state, input_signature=[spec, spec])
    step(y[:8], s[:8])
    assert unknown.counts() == reference(y[:8], s[:8], thresholds=5)
    step(y, s)
    with pytest.raises(ValueError, match=r"expected batches of at most 10 rows.*received 1 "):
        unknown.counts()


def test_integer_row_reductions_past_float32_exact_counts(monkeypatch):
    """Past 2**24 thresholds or labels the row reductions run in int32 (float32 would round):
    the same counts, with that bound lowered to 3 so small inputs take the integer path."""
    monkeypatch.setattr(keras_ops, "_FLOAT_EXACT", 3)
    rng = np.random.default_rng(11)
    y = (rng.random((60, 5)) < 0.3).astype(F32)
    y[:4] = 0  # rows without a positive label
    s = rng.random((60, 5)).astype(F32)
    assert_same(kernel_counts(y, s, thresholds=11, batches=2), reference(y, s, thresholds=11))
