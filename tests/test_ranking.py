"""ROC-AUC, average precision, score histograms, reliability and ECE from the stored counts,
against scikit-learn (scores drawn from the float32 thresholds themselves, where the binned
values are exact) and brute-force binning."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

import tb_metrics_plugin as tbm
from tb_metrics_plugin import inputs
from tests.oracle_cells import float32_cuts


@st.composite
def on_grid_problems(draw):
    """Labels, scores that all lie on a stored threshold, thresholds, optional row weights."""
    if draw(st.booleans()):
        thresholds = inputs.make_thresholds(draw(st.integers(2, 21)))
    else:
        values = draw(st.lists(st.floats(0, 1, width=32), min_size=2, max_size=12, unique=True))
        thresholds = inputs.make_thresholds(sorted(set(np.float32(values).tolist())))
    n = draw(st.integers(2, 30))
    num_l = draw(st.integers(1, 4))
    y = draw(hnp.arrays(np.int8, (n, num_l), elements=st.integers(0, 1)))
    idx = draw(hnp.arrays(np.int64, (n, num_l), elements=st.integers(0, thresholds.size - 1)))
    scores = thresholds[idx]  # float32 values of the thresholds
    w = draw(st.none() | hnp.arrays(np.float64, (n,), elements=st.floats(0.1, 5)))
    return y, scores, thresholds, w


def _per_label_sklearn(y, s, w):
    auc, ap = [], []
    for label in range(y.shape[1]):
        yl, sl = y[:, label], s[:, label].astype(np.float64)
        pos = yl.sum() > 0
        both = pos and (yl == 0).any()
        auc.append(skm.roc_auc_score(yl, sl, sample_weight=w) if both else math.nan)
        ap.append(skm.average_precision_score(yl, sl, sample_weight=w) if pos else math.nan)
    return np.array(auc), np.array(ap)


def _mean(values, weights=None):
    keep = ~np.isnan(values)
    if not keep.any():
        return math.nan
    if weights is None:
        return float(values[keep].mean())
    return float(np.average(values[keep], weights=weights[keep]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(on_grid_problems())
def test_roc_auc_and_ap_equal_sklearn_on_grid(problem):
    y, s, thresholds, w = problem
    c = tbm.confusion_counts(y, s, thresholds=thresholds, sample_weight=w)
    auc, ap = _per_label_sklearn(y, s, w)
    np.testing.assert_allclose(c.roc_auc(average=None), auc, rtol=0, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(c.average_precision(average=None), ap, rtol=0, atol=1e-9,
                               equal_nan=True)
    support = (y * (1.0 if w is None else w[:, None])).sum(axis=0)
    for average, weights in (("macro", None), ("weighted", support)):
        assert c.roc_auc(average) == pytest.approx(_mean(auc, weights), abs=1e-9, nan_ok=True)
        assert c.average_precision(average) == pytest.approx(_mean(ap, weights), abs=1e-9,
                                                             nan_ok=True)
    # micro pools every cell, as scikit-learn's average="micro" does
    flat_y, flat_s = y.ravel(), s.astype(np.float64).ravel()
    flat_w = None if w is None else np.repeat(w, y.shape[1])
    if 0 < flat_y.sum() < flat_y.size:
        assert c.roc_auc("micro") == pytest.approx(
            skm.roc_auc_score(flat_y, flat_s, sample_weight=flat_w), abs=1e-9)
    else:
        assert math.isnan(c.roc_auc("micro"))
    if flat_y.sum() > 0:
        assert c.average_precision("micro") == pytest.approx(
            skm.average_precision_score(flat_y, flat_s, sample_weight=flat_w), abs=1e-9)
        if y.shape[1] > 1 and (y.sum(0) > 0).all() and ((1 - y).sum(0) > 0).all():
            for average in ("micro", "macro", "weighted"):
                assert c.average_precision(average) == pytest.approx(
                    skm.average_precision_score(y, s, average=average, sample_weight=w),
                    abs=1e-9)
                assert c.roc_auc(average) == pytest.approx(
                    skm.roc_auc_score(y, s, average=average, sample_weight=w), abs=1e-9)


def test_nan_rules_and_macro_leaving_them_out():
    y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]])
    s = np.array([[0.9, 0.2, 0.5], [0.1, 0.7, 0.6], [0.6, 0.4, 0.2], [0.7, 0.1, 0.9]])
    c = tbm.confusion_counts(y, s, thresholds=[0.1, 0.2, 0.4, 0.5, 0.6, 0.7, 0.9])
    auc = c.roc_auc(average=None)
    ap = c.average_precision(average=None)
    assert auc[0] == pytest.approx(skm.roc_auc_score(y[:, 0], s[:, 0]))
    assert math.isnan(auc[1]) and math.isnan(auc[2])  # no positives; no negatives
    assert math.isnan(ap[1]) and ap[2] == pytest.approx(1.0)  # all positive: precision 1
    assert ap[0] == pytest.approx(skm.average_precision_score(y[:, 0], s[:, 0]))
    assert c.roc_auc("macro") == pytest.approx(auc[0])
    assert c.average_precision("macro") == pytest.approx((ap[0] + 1.0) / 2)
    assert c.average_precision("weighted") == pytest.approx((2 * ap[0] + 4 * 1.0) / 6)
    none = tbm.confusion_counts(np.zeros((3, 2)), np.full((3, 2), 0.5), thresholds=3)
    assert math.isnan(none.roc_auc("macro")) and math.isnan(none.average_precision("micro"))


def test_roc_auc_on_observed_cells_with_ignored_labels():
    rng = np.random.default_rng(0)
    t = inputs.make_thresholds(21)
    s = t[rng.integers(0, 21, (80, 3))]
    y = (rng.random((80, 3)) < 0.4).astype(float)
    y[rng.random((80, 3)) < 0.2] = np.nan
    c = tbm.confusion_counts(y, s, thresholds=t, ignore_value=np.nan)
    obs = ~np.isnan(y)
    for label in range(3):
        keep = obs[:, label]
        assert c.roc_auc(None)[label] == pytest.approx(
            skm.roc_auc_score(y[keep, label], s[keep, label]), abs=1e-9)
        assert c.average_precision(None)[label] == pytest.approx(
            skm.average_precision_score(y[keep, label], s[keep, label]), abs=1e-9)
    assert c.roc_auc("micro") == pytest.approx(skm.roc_auc_score(y[obs], s[obs]), abs=1e-9)


def test_roc_curve_points():
    y = np.array([1, 0, 1, 0])
    s = np.array([0.75, 0.25, 0.5, 0.5])
    c = tbm.confusion_counts(y, s, thresholds=[0.25, 0.5, 0.75])
    fpr, tpr = c.roc_curve()
    assert fpr[0].tolist() == [1.0, 0.5, 0.0] and tpr[0].tolist() == [1.0, 1.0, 0.5]
    mf, mt = c.roc_curve("micro")
    assert mf.tolist() == fpr[0].tolist() and mt.tolist() == tpr[0].tolist()


# --- score histogram, reliability, ECE ----------------------------------------------------------


def brute_histogram(y, s, thresholds, from_logits=False, observed=None):
    """positives, negatives [L, T+1]: non-NaN observed cells per bin, by explicit comparisons."""
    cuts = float32_cuts(thresholds, from_logits)
    n, num_l = y.shape
    cmp = np.result_type(s.dtype, np.float32)
    pos = np.zeros((num_l, cuts.size + 1))
    neg = np.zeros((num_l, cuts.size + 1))
    for r in range(n):
        for l in range(num_l):
            v = s[r, l].astype(cmp)
            if math.isnan(v) or (observed is not None and not observed[r, l]):
                continue
            b = 0
            for j, cut in enumerate(cuts):
                if v >= cut.astype(cmp):
                    b = j + 1
            (pos if y[r, l] else neg)[l, b] += 1
    return pos, neg


SCORES = st.one_of(st.floats(-2, 2, width=32), st.sampled_from(
    [0.0, -0.0, 1.0, math.nan, math.inf, -math.inf, 0.5, 0.2, 0.7]))


@settings(max_examples=200, deadline=None)
@given(st.data(), st.booleans())
def test_score_histogram_equals_brute_force(data, from_logits):
    n = data.draw(st.integers(1, 15))
    num_l = data.draw(st.integers(1, 4))
    y = data.draw(hnp.arrays(np.int8, (n, num_l), elements=st.integers(0, 1)))
    s = data.draw(hnp.arrays(np.float32, (n, num_l), elements=SCORES))
    observed = data.draw(hnp.arrays(np.bool_, (n, num_l)))
    thresholds = inputs.make_thresholds(data.draw(st.integers(1, 11)))
    yy = np.where(observed, y, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = tbm.confusion_counts(yy, s, thresholds=thresholds, from_logits=from_logits,
                                 ignore_value=-1)
    pos, neg = c.score_histogram()
    ref_pos, ref_neg = brute_histogram(y, s, thresholds, from_logits, observed)
    np.testing.assert_array_equal(pos, ref_pos)
    np.testing.assert_array_equal(neg, ref_neg)
    assert pos.shape == (num_l, thresholds.size + 1)


def brute_reliability(pos, neg, thresholds):
    """Midpoint rule: bin (-inf, t0) spans [0, t0], [t_j, t_j+1) its own range, the last
    [t_{T-1}, 1]; confidence is the midpoint."""
    t = [float(x) for x in thresholds]
    edges = [0.0] + t + [1.0]
    conf = np.array([(edges[i] + edges[i + 1]) / 2 for i in range(len(t) + 1)])
    cells = pos + neg
    share = np.full(cells.shape, np.nan)
    ece = []
    for l in range(pos.shape[0]):
        total, gap = 0.0, 0.0
        for b in range(cells.shape[1]):
            if cells[l, b] > 0:
                share[l, b] = pos[l, b] / cells[l, b]
                total += cells[l, b]
                gap += cells[l, b] * abs(share[l, b] - conf[b])
        ece.append(gap / total if total else math.nan)
    return conf, share, np.array(ece)


@pytest.mark.parametrize("from_logits", [False, True])
def test_reliability_and_ece_equal_brute_force(from_logits):
    rng = np.random.default_rng(11)
    p = rng.beta(2, 5, (400, 3))
    y = (rng.random((400, 3)) < p ** 0.7).astype(int)
    s = np.log(p / (1 - p)) if from_logits else p
    thresholds = [0.05, 0.1, 0.2, 0.35, 0.5, 0.8]
    c = tbm.confusion_counts(y, s, thresholds=thresholds, from_logits=from_logits)
    pos, neg = brute_histogram(y, s, inputs.make_thresholds(thresholds), from_logits)
    conf, share, ece = brute_reliability(pos, neg, inputs.make_thresholds(thresholds))
    got_conf, got_share, got_cells = c.reliability()
    np.testing.assert_allclose(got_conf, conf, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_share, share, rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(got_cells, pos + neg)
    np.testing.assert_allclose(c.expected_calibration_error(), ece, rtol=0, atol=1e-12)
    assert c.expected_calibration_error("macro") == pytest.approx(ece.mean(), abs=1e-12)
    _, micro_share, micro_ece = brute_reliability(pos.sum(0, keepdims=True),
                                                  neg.sum(0, keepdims=True),
                                                  inputs.make_thresholds(thresholds))
    assert c.expected_calibration_error("micro") == pytest.approx(micro_ece[0], abs=1e-12)
    np.testing.assert_allclose(c.reliability("micro")[1], micro_share[0], atol=1e-12,
                               equal_nan=True)


def test_perfectly_calibrated_bins_have_zero_ece():
    # 10 cells in the bin [0.25, 0.75) with midpoint 0.5, half of them positive.
    y = np.array([1, 0] * 5)
    c = tbm.confusion_counts(y, np.full(10, 0.3), thresholds=[0.25, 0.75])
    assert c.expected_calibration_error()[0] == pytest.approx(0.0)
    assert c.reliability()[0].tolist() == [0.125, 0.5, 0.875]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_weighted_histogram_bins_are_never_negative_and_sum_to_the_cells(data):
    n = data.draw(st.integers(1, 15))
    y = data.draw(hnp.arrays(np.int8, (n, 2), elements=st.integers(0, 1)))
    s = data.draw(hnp.arrays(np.float64, (n, 2), elements=st.sampled_from(
        [0.1, 0.4, 0.6, 0.9, math.nan])))
    w = data.draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from(
        [1e-3, 0.1, 0.3, 1.0, 1e3, 1e7])))
    c = tbm.confusion_counts(y, s, thresholds=5, sample_weight=w)
    pos, neg = c.score_histogram()
    assert (pos >= 0).all() and (neg >= 0).all()
    finite = ~np.isnan(s)
    # float64-grade: NaN weights are summed apart and taken out of bin 0, so an emptied bin
    # holds rounding noise relative to the total weight (1e-9 with weights of 1e7)
    tol = 1e-15 * w.sum() * n
    np.testing.assert_allclose(pos.sum(1), (w[:, None] * (finite & (y == 1))).sum(0),
                               rtol=1e-12, atol=tol)
    np.testing.assert_allclose(neg.sum(1), (w[:, None] * (finite & (y == 0))).sum(0),
                               rtol=1e-12, atol=tol)
