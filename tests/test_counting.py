"""`confusion_counts` against a cell-by-cell brute force (`tests.oracle_cells`) and scikit-learn:
ignored labels, per-cell and per-row weights, label axes, float16/32/64, logits, scores on
thresholds, -0.0, +-inf, NaN, out-of-range scores, merge. The argmax sums are in
test_argmax.py."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

import tb_metrics_plugin as tbm
from tb_metrics_plugin import counting, inputs
from tests.oracle_cells import assert_counts_equal_reference, reference

GRID = inputs.make_thresholds(11)
SPECIAL = [0.0, -0.0, 1.0, math.inf, -math.inf, math.nan, 0.5, 0.1, 0.3, -2.5, 4.0,
           float(GRID[3]), float(np.nextafter(GRID[3], np.float32(1))),
           float(np.nextafter(GRID[3], np.float32(0)))]
SCORES = st.one_of(st.sampled_from(SPECIAL), st.floats(-3, 3, width=16),
                   st.sampled_from([float(t) for t in GRID]))


@st.composite
def thresholds_st(draw):
    if draw(st.booleans()):
        return draw(st.integers(1, 13))
    values = draw(st.lists(st.floats(0, 1, width=32), min_size=1, max_size=9, unique=True))
    return sorted(set(np.float32(values).tolist()))


@st.composite
def multilabel_problems(draw):
    """0/1 labels with ignored cells, scores of any float width, optional weights."""
    n = draw(st.integers(1, 12))
    num_l = draw(st.integers(1, 4))
    labels = draw(hnp.arrays(np.int8, (n, num_l), elements=st.integers(0, 1)))
    ignore = draw(st.sampled_from([None, math.nan, -1.0, 255.0]))
    observed = np.ones((n, num_l), bool)
    y = labels.astype(np.float64)
    if ignore is not None:
        observed = draw(hnp.arrays(np.bool_, (n, num_l), elements=st.booleans().filter(
            lambda b: True) | st.just(True)))
        y = np.where(observed, y, ignore)
        if not math.isnan(ignore) and draw(st.booleans()):
            y = y.astype(np.int64 if ignore < 0 else np.uint8)
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64]))
    scores = draw(hnp.arrays(dtype, (n, num_l), elements=SCORES))
    weight_kind = draw(st.sampled_from(["none", "row", "cell"]))
    weights = None
    if weight_kind == "row":
        weights = draw(hnp.arrays(np.float64, (n,), elements=st.floats(0, 4)))
    elif weight_kind == "cell":
        weights = draw(hnp.arrays(np.float64, (n, num_l), elements=st.floats(0, 4)))
    return y, labels, observed, ignore, scores, weights


def _cell_weights(weights, shape):
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    return np.repeat(w[:, None], shape[1], axis=1) if w.ndim == 1 else w


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(multilabel_problems(), thresholds_st(), st.booleans())
def test_every_field_equals_brute_force(problem, thresholds, from_logits):
    y, labels, observed, ignore, scores, weights = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = tbm.confusion_counts(y, scores, thresholds=thresholds, from_logits=from_logits,
                                 sample_weight=weights, ignore_value=ignore)
    ref = reference(labels, scores, inputs.make_thresholds(thresholds), from_logits,
                    observed=observed, cell_weights=_cell_weights(weights, labels.shape))
    assert_counts_equal_reference(c, ref, exact=weights is None)
    assert c.weighted == (weights is not None)
    if weights is None:
        assert c.tp.dtype == np.int64 and isinstance(c.n, (int, np.integer))
    # counts are never negative, not even by a rounding error of weighted sums
    for key in ("tp", "fp", "tn", "fn"):
        assert (getattr(c, key) >= 0).all(), key
    # TN = observed - support - FP, and observed = n when nothing is ignored or weighted per cell
    np.testing.assert_allclose(c.tn, (c.observed - c.support)[:, None] - c.fp, rtol=0,
                               atol=0 if weights is None else 1e-9)
    if observed.all() and (weights is None or np.ndim(weights) == 1):
        np.testing.assert_allclose(c.observed, np.full(c.num_labels, c.n), rtol=1e-12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), thresholds_st(), st.booleans())
def test_class_ids_equal_brute_force(data, thresholds, from_logits):
    n = data.draw(st.integers(1, 12))
    num_c = data.draw(st.integers(2, 7))
    ids = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, num_c - 1)))
    dtype = data.draw(st.sampled_from([np.float16, np.float32, np.float64]))
    scores = data.draw(hnp.arrays(dtype, (n, num_c), elements=SCORES))
    ignore = data.draw(st.sampled_from([None, 255, -1]))
    observed_rows = np.ones(n, bool)
    y = ids
    if ignore is not None:
        observed_rows = data.draw(hnp.arrays(np.bool_, (n,)))
        y = np.where(observed_rows, ids, ignore)
    weights = data.draw(st.none() | hnp.arrays(np.float64, (n,), elements=st.floats(0, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = tbm.confusion_counts(y, scores, thresholds=thresholds, from_logits=from_logits,
                                 sample_weight=weights, ignore_value=ignore)
    observed = np.repeat(observed_rows[:, None], num_c, axis=1)
    ref = reference(np.eye(num_c, dtype=int)[ids], scores, inputs.make_thresholds(thresholds),
                    from_logits, observed=observed,
                    cell_weights=_cell_weights(weights, (n, num_c)), class_ids=ids)
    assert_counts_equal_reference(c, ref, exact=weights is None)
    assert c.multiclass and c.confusion_matrix.shape == (num_c, num_c)
    # categorical accuracy is the trace of the confusion matrix over n
    np.testing.assert_allclose(float(np.trace(c.confusion_matrix)), float(c.categorical_correct),
                               rtol=1e-12)
    # one-hot with multiclass=True is the same Counts
    onehot = np.eye(num_c)[ids]
    if ignore is not None:
        onehot[~observed_rows] = ignore
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c2 = tbm.confusion_counts(onehot, scores, thresholds=thresholds, from_logits=from_logits,
                                  sample_weight=weights, ignore_value=ignore, multiclass=True)
    assert c2 == c


def test_issue9_missing_labels_f1_on_observed_cells():
    # Issue 9, section 5: 6x3 labels with 5 NaN cells; per-label F1 on the observed cells is
    # [0.6667, 1.0, 1.0] (scikit-learn on the observed cells of each label). Reading the NaN
    # cells as negatives (what the Keras metric did) gives [0.5714, 0.6667, 0.6667].
    nan = np.nan
    y = np.array([[1, 1, nan],
                  [1, 1, 0],
                  [1, 0, 1],
                  [0, nan, 1],
                  [nan, nan, 0],
                  [0, 0, nan]])
    s = np.array([[0.9, 0.9, 0.7],
                  [0.8, 0.7, 0.1],
                  [0.3, 0.2, 0.8],
                  [0.7, 0.6, 0.9],
                  [0.8, 0.8, 0.3],
                  [0.1, 0.1, 0.9]])
    assert np.isnan(y).sum() == 5
    c = tbm.confusion_counts(y, s, thresholds=[0.5], ignore_value=np.nan)
    f1 = c.f1()[:, 0]
    for label in range(3):
        keep = ~np.isnan(y[:, label])
        ref = skm.f1_score(y[keep, label].astype(int), s[keep, label] >= 0.5)
        assert f1[label] == pytest.approx(ref, abs=1e-12)
    np.testing.assert_allclose(f1, [2 / 3, 1.0, 1.0])
    assert c.observed.tolist() == [5, 4, 4]
    assert c.n == 6  # every row has an observed label
    wrong = tbm.confusion_counts(np.nan_to_num(y), s, thresholds=[0.5]).f1()[:, 0]
    np.testing.assert_allclose(wrong, [4 / 7, 2 / 3, 2 / 3])


def test_rows_without_observed_labels_leave_n_and_exact_match():
    y = np.array([[1, 0], [-1, -1], [0, -1]])
    s = np.array([[0.9, 0.1], [0.9, 0.9], [0.1, 0.9]])
    c = tbm.confusion_counts(y, s, thresholds=[0.5], ignore_value=-1)
    assert c.n == 2 and c.exact_match.tolist() == [2]
    assert c.observed.tolist() == [2, 1]
    assert c.negative_rows == 1  # row 2: its one observed label is negative
    assert c.exact_match_accuracy().tolist() == [1.0]


def test_row_weight_under_per_cell_weights_is_mean_of_observed_cell_weights():
    # Documented rule: with per-cell weights, a row's weight in n, exact match and the argmax
    # sums is the mean of the weights of its observed cells (ignored cells have no weight).
    y = np.array([[1, 0, -1], [0, 1, 1]])
    s = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.3]])
    w = np.array([[2.0, 4.0, 100.0], [1.0, 2.0, 6.0]])
    c = tbm.confusion_counts(y, s, thresholds=[0.5], sample_weight=w, ignore_value=-1)
    assert c.n == pytest.approx(3.0 + 3.0)
    assert c.exact_match.tolist() == pytest.approx([3.0])  # row 1 misses its third label
    assert c.observed.tolist() == pytest.approx([3.0, 6.0, 6.0])
    assert c.categorical_correct == pytest.approx(6.0)
    # per-row weights [N] are the same as per-cell weights repeated along labels
    rw = np.array([2.0, 5.0])
    a = tbm.confusion_counts(y, s, thresholds=5, sample_weight=rw, ignore_value=-1)
    b = tbm.confusion_counts(y, s, thresholds=5, sample_weight=np.repeat(rw[:, None], 3, 1),
                             ignore_value=-1)
    assert a == b and a.n == 7.0


@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (2, 4, 3), (5, 2)])
def test_label_axis_equals_moving_the_axis_by_hand(shape):
    rng = np.random.default_rng(sum(shape))
    s = rng.random(shape).astype(np.float32)
    y = (rng.random(shape) < 0.4).astype(int)
    y[rng.random(shape) < 0.1] = -1
    w = rng.random(shape)
    moved = dict(y_true=np.moveaxis(y, 1, -1), y_score=np.moveaxis(s, 1, -1),
                 sample_weight=np.moveaxis(w, 1, -1))
    for weights in (False, True):
        a = tbm.confusion_counts(y, s, thresholds=7, label_axis=1, ignore_value=-1,
                                 sample_weight=w if weights else None)
        b = tbm.confusion_counts(moved["y_true"], moved["y_score"], thresholds=7, ignore_value=-1,
                                 sample_weight=moved["sample_weight"] if weights else None)
        assert a == b
        assert a.num_labels == shape[1]
        assert a.sample_unit == ("positions" if len(shape) >= 3 else "samples")
    # class ids [N, H, W] with scores [N, C, H, W]
    if len(shape) == 4:
        ids = rng.integers(0, shape[1], (shape[0],) + shape[2:])
        a = tbm.confusion_counts(ids, s, thresholds=7, label_axis=1)
        b = tbm.confusion_counts(ids, np.moveaxis(s, 1, -1), thresholds=7)
        assert a == b and a.multiclass
        flat_ids = ids.reshape(-1)
        flat_s = np.moveaxis(s, 1, -1).reshape(-1, shape[1])
        np.testing.assert_array_equal(
            a.confusion_matrix,
            skm.confusion_matrix(flat_ids, flat_s.argmax(1), labels=range(shape[1])))


def test_per_sample_weights_of_sequence_outputs_broadcast_over_time_steps():
    # [N] weights with [N, T, L] outputs weigh every time step of a sample (as Keras does), even
    # when N == T (where numpy's right-aligned broadcasting would silently weigh by time step).
    rng = np.random.default_rng(5)
    for n, steps in ((3, 3), (2, 5)):
        s = rng.random((n, steps, 2))
        y = (rng.random((n, steps, 2)) < 0.5).astype(int)
        w = np.arange(1.0, n + 1)
        c = tbm.confusion_counts(y, s, thresholds=5, sample_weight=w)
        full = np.broadcast_to(w[:, None, None], s.shape)
        ref = tbm.confusion_counts(y, s, thresholds=5, sample_weight=full)
        assert c == ref
        assert c.n == pytest.approx(steps * w.sum())
        assert tbm.confusion_counts(y, s, thresholds=5, sample_weight=w[:, None]) == ref


# --- out of range: logits read as probabilities ----------------------------------------------

# Issue 9, section 2: 6x3 logits in [-4, 3] read with from_logits=False give micro F1 0.50 at
# 0.5; read as logits, 0.947.
# Built so: 9 positives, 3 with z >= 0.5 and 6 with 0 <= z < 0.5 (one exactly 0, on the cut
# of t = 0.5); 9 negatives, 8 below 0 and one at 0.25. As logits: TP 9, FP 1 -> 18/19; as
# probabilities: TP 3, FN 6 -> 0.5.
ISSUE9_LOGITS_Y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])
ISSUE9_LOGITS = np.array([[2.0, -4.0, 0.1],
                          [-3.0, 3.0, 0.2],
                          [0.3, 1.5, -2.0],
                          [-1.0, 0.4, 0.25],
                          [0.0, -0.5, -1.5],
                          [-2.5, -0.2, 0.45]])


def test_issue9_logits_read_as_probabilities_warn():
    y, z = ISSUE9_LOGITS_Y, ISSUE9_LOGITS
    assert z.min() >= -4 and z.max() <= 3
    with pytest.warns(UserWarning, match="from_logits=True") as record:
        wrong = tbm.confusion_counts(y, z, thresholds=101)
    assert len(record) == 1
    t = wrong.threshold_index(0.5)
    assert wrong.f1(average="micro")[t] == pytest.approx(0.50, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = tbm.confusion_counts(y, z, thresholds=101, from_logits=True)
    assert right.f1(average="micro")[t] == pytest.approx(18 / 19, abs=1e-12)
    assert round(18 / 19, 3) == 0.947
    ref = skm.f1_score(y, (1 / (1 + np.exp(-z))) >= 0.5, average="micro")
    assert right.f1(average="micro")[t] == pytest.approx(ref, abs=1e-12)
    assert wrong.out_of_range.tolist() == [4, 5, 2]
    assert right.out_of_range.tolist() == [4, 5, 2]  # kept either way; only the warning differs
    assert wrong.out_of_range_share() == pytest.approx(11 / 18)
    assert "61.1%" in str(record[0].message)


def test_probabilities_read_as_logits_warn_from_100_scores():
    """from_logits=True with every score in [0, 1]: read as logits, every score reaches 0.5
    (logit 0), so every row is predicted positive there; warned from 100 non-NaN scores on."""
    rng = np.random.default_rng(2)
    y = rng.random((50, 2)) < 0.3
    p = rng.random((50, 2))
    with pytest.warns(UserWarning, match=r"from_logits=True, but all 100 scores lie in \[0, 1\]"):
        c = tbm.confusion_counts(y, p, thresholds=11, from_logits=True)
    t = c.threshold_index(0.5)
    assert c.tp[:, t].tolist() == y.sum(axis=0).tolist() and c.tn[:, t].tolist() == [0, 0]
    assert "from_logits=False" in counting.probabilities_as_logits_message(c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # 98 valid scores (two NaN): too few to judge; one logit outside [0, 1]: logits
        q = p.copy()
        q[0] = np.nan
        tbm.confusion_counts(y, q, thresholds=11, from_logits=True)
        q = p.copy()
        q[3, 1] = -0.2
        tbm.confusion_counts(y, q, thresholds=11, from_logits=True)
        tbm.confusion_counts(y, p, thresholds=11)  # read as probabilities: right


def test_no_warning_for_probabilities_nan_or_ignored_out_of_range_cells():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = tbm.confusion_counts([[1, 0], [0, 1]], [[1.0, 0.0], [np.nan, -0.0]])
        assert c.out_of_range.tolist() == [0, 0]
        # an out-of-range score on an ignored cell is not counted (it is not read at all)
        c = tbm.confusion_counts([[1, -1]], [[0.5, 7.0]], ignore_value=-1)
        assert c.out_of_range.tolist() == [0, 0]


# --- derived metrics and merge on the edge cases --------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([0, 1, np.nan]))
def test_prf_equal_sklearn_on_degenerate_data(data, zero_division):
    # tiny inputs where labels have no positives, nothing is predicted, or all of it
    n = data.draw(st.integers(1, 6))
    num_l = data.draw(st.integers(1, 3))
    y = data.draw(hnp.arrays(np.int8, (n, num_l), elements=st.integers(0, 1)))
    s = data.draw(hnp.arrays(np.float64, (n, num_l), elements=st.sampled_from([0.0, 0.5, 1.0])))
    w = data.draw(st.none() | hnp.arrays(np.float64, (n,), elements=st.sampled_from(
        [0.0, 0.5, 2.0])))
    c = tbm.confusion_counts(y, s, thresholds=[0.0, 0.5, 1.0], sample_weight=w)
    for j, t in enumerate([0.0, 0.5, 1.0]):
        pred = (s >= t).astype(int)
        for average in (None, "micro", "macro", "weighted"):
            for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                             ("f1", skm.f1_score), ("fbeta_0.5", skm.fbeta_score),
                             ("fbeta_2", skm.fbeta_score)):
                kw = {"beta": float(name[6:])} if name.startswith("fbeta") else {}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        # one column is a binary target to scikit-learn: label 1 is ours
                        yy, pp, labels = ((y[:, 0], pred[:, 0], [1]) if num_l == 1 else
                                          (y, pred, np.arange(num_l)))
                        ref = fn(yy, pp, average=average, zero_division=zero_division,
                                 sample_weight=w, labels=labels, **kw)
                    except (ZeroDivisionError, ValueError):  # scikit-learn: all weights zero
                        assert w is not None and w.sum() == 0
                        continue
                got = getattr(c, name.split("_")[0])(average=average,
                                                     zero_division=zero_division, **kw)
                got = got[:, j] if average is None else got[j]
                np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, equal_nan=True,
                                           err_msg=f"{name} {average} t={t}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(multilabel_problems(), st.integers(1, 11), st.booleans())
def test_merge_of_parts_equals_counting_at_once(problem, cut, class_ids):
    y, labels, observed, ignore, scores, weights = problem
    if class_ids:
        if labels.shape[1] < 2:
            return
        y = labels.argmax(axis=1)
        ignore = None
        weights = None if weights is None or np.ndim(weights) == 2 else weights
    cut = min(cut, len(y) - 1)
    if cut == 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        def counts(sl):
            w = None if weights is None else weights[sl]
            return tbm.confusion_counts(y[sl], scores[sl], thresholds=7, sample_weight=w,
                                        ignore_value=ignore)

        whole = counts(slice(None))
        merged = counts(slice(0, cut)).merge(counts(slice(cut, None)))
    if weights is None:
        assert merged == whole
    else:
        ref = {k: getattr(whole, k) for k in ("tp", "fp", "tn", "fn", "exact_match", "n",
                                               "categorical_correct", "observed")}
        assert_counts_equal_reference(merged, {**ref, **{
            k: getattr(whole, k) for k in ("nan", "nan_positive", "out_of_range",
                                           "top1_positive", "negative_rows")}}, exact=False)


def test_accuracies_on_observed_cells():
    y = np.array([[1, -1, 0], [0, 1, -1], [-1, -1, -1], [1, 1, 0]])
    s = np.array([[0.9, 0.9, 0.6], [0.2, 0.7, 0.9], [0.5, 0.5, 0.5], [0.8, 0.3, 0.1]])
    c = tbm.confusion_counts(y, s, thresholds=[0.5], ignore_value=-1)
    obs = y != -1
    pred = s >= 0.5
    assert c.binary_accuracy()[0] == pytest.approx((pred == (y == 1))[obs].mean())
    assert c.binary_accuracy()[0] == pytest.approx(5 / 7)
    assert c.exact_match_accuracy()[0] == pytest.approx(1 / 3)  # rows 0, 1, 3 counted; row 1
    assert c.all_negative_accuracy() == pytest.approx(3 / 7)
    assert c.all_negative_exact_match() == 0.0
