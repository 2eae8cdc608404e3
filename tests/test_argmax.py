"""The argmax sums of `confusion_counts`: categorical accuracy (Keras' rule, and Keras' own
metrics), precision at 1, the rows with no positive, the confusion matrix and top-k accuracy,
against numpy, scikit-learn and a brute-force ranking."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

import tb_metrics_plugin as tbm

# --- Keras' accuracy rule, sklearn accuracy, precision at 1 -----------------------------------


def keras_categorical_accuracy(y_true, y_pred, sample_weight=None):
    """Keras' CategoricalAccuracy in numpy: argmax(y_true) == argmax(y_pred), first index on
    ties, NaN scores as -inf; weighted mean under sample weights."""
    pred = np.argmax(np.where(np.isnan(y_pred), -np.inf, y_pred), axis=-1)
    hit = (np.argmax(y_true, axis=-1) == pred).astype(float)
    w = np.ones(len(hit)) if sample_weight is None else np.asarray(sample_weight, float)
    return float((hit * w).sum() / w.sum())


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_categorical_accuracy_is_keras_rule(data):
    n = data.draw(st.integers(1, 15))
    num_l = data.draw(st.integers(2, 6))
    y = data.draw(hnp.arrays(np.int8, (n, num_l), elements=st.integers(0, 1)))
    s = data.draw(hnp.arrays(np.float32, (n, num_l), elements=st.sampled_from(
        [0.0, 0.25, 0.5, 0.75, 1.0, np.nan, -np.inf, np.inf, -1.0])))
    w = data.draw(st.none() | hnp.arrays(np.float64, (n,), elements=st.floats(0.5, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = tbm.confusion_counts(y, s, thresholds=5, sample_weight=w)
    assert c.categorical_accuracy() == pytest.approx(keras_categorical_accuracy(y, s, w), abs=1e-12)
    pred = np.argmax(np.where(np.isnan(s), -np.inf, s), axis=1)
    ww = np.ones(n) if w is None else w
    p1 = (ww * y[np.arange(n), pred]).sum() / ww.sum()
    assert c.precision_at_1() == pytest.approx(p1, abs=1e-12)
    neg = (ww * (y.sum(axis=1) == 0)).sum() / ww.sum()
    assert c.all_negative_exact_match() == pytest.approx(neg, abs=1e-12)
    # predicting nothing (no score reaches the one threshold) scores exactly the negative rows
    quiet = np.clip(np.nan_to_num(s, posinf=0.0, neginf=0.0), 0.0, 0.75)
    c1 = tbm.confusion_counts(y, quiet, thresholds=[1.0], sample_weight=w)
    assert c1.exact_match_accuracy()[0] == pytest.approx(neg, abs=1e-12)


def test_categorical_accuracy_equals_sklearn_on_single_label_data():
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 5, 300)
    s = rng.random((300, 5))
    w = rng.random(300)
    for weights in (None, w):
        c = tbm.confusion_counts(ids, s, sample_weight=weights)
        ref = skm.accuracy_score(ids, s.argmax(1), sample_weight=weights)
        assert c.categorical_accuracy() == pytest.approx(ref, abs=1e-12)
        assert c.top_k_accuracy(1) == pytest.approx(ref, abs=1e-12)
        assert c.precision_at_1() == pytest.approx(ref, abs=1e-12)
        # one-hot labels without multiclass=True give the same categorical accuracy
        c2 = tbm.confusion_counts(np.eye(5)[ids], s, sample_weight=weights)
        assert c2.categorical_accuracy() == pytest.approx(ref, abs=1e-12)


def test_categorical_accuracy_equals_keras_metric():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(4)
    y = (rng.random((64, 6)) < 0.3).astype("float32")
    s = np.round(rng.random((64, 6)), 1).astype("float32")  # many ties
    w = rng.random(64).astype("float32")
    for weights in (None, w):
        m = keras.metrics.CategoricalAccuracy()
        m.update_state(y, s, sample_weight=weights)
        c = tbm.confusion_counts(y, s, sample_weight=weights)
        assert c.categorical_accuracy() == pytest.approx(float(m.result()), abs=1e-6)
    ids = rng.integers(0, 6, 64)
    m = keras.metrics.SparseCategoricalAccuracy()
    m.update_state(ids, s)
    assert tbm.confusion_counts(ids, s).categorical_accuracy() == pytest.approx(float(m.result()))


# --- confusion matrix and top-k ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_confusion_matrix_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    num_c = 6
    ids = rng.integers(0, num_c, 200)
    ids[ids == 4] = 3  # a class never true
    s = rng.random((200, num_c))
    w = rng.random(200) * 3
    for weights in (None, w):
        c = tbm.confusion_counts(ids, s, sample_weight=weights)
        ref = skm.confusion_matrix(ids, s.argmax(1), labels=range(num_c), sample_weight=weights)
        if weights is None:
            np.testing.assert_array_equal(c.confusion_matrix, ref)
            assert c.confusion_matrix.dtype == np.int64
        else:
            np.testing.assert_allclose(c.confusion_matrix, ref, rtol=1e-12)
        assert c.categorical_accuracy() == pytest.approx(np.trace(ref) / ref.sum())
    off = tbm.confusion_counts(ids, s, confusion_matrix=False)
    assert off.confusion_matrix is None and off.top_k_hits is not None
    assert off.categorical_accuracy() == tbm.confusion_counts(ids, s).categorical_accuracy()


@pytest.mark.parametrize("num_c", [2, 3, 7])
def test_top_k_accuracy_equals_sklearn_on_tie_free_data(num_c):
    rng = np.random.default_rng(num_c)
    ids = rng.integers(0, num_c, 150)
    s = rng.permuted(np.tile(np.arange(num_c, dtype=float), (150, 1)), axis=1) / num_c
    if num_c == 2:  # scikit-learn reads binary scores as P(class 1) > 0.5: make rows sum to 1
        s = s / s.sum(axis=1, keepdims=True)
    w = rng.random(150)
    for weights in (None, w):
        c = tbm.confusion_counts(ids, s, sample_weight=weights)
        assert c.top_k_hits.size == min(5, num_c)
        for k in range(1, c.top_k_hits.size + 1):
            # scikit-learn takes binary scores as the positive class's column
            ref = skm.top_k_accuracy_score(ids, s[:, 1] if num_c == 2 else s, k=k,
                                           labels=range(num_c), sample_weight=weights)
            assert c.top_k_accuracy(k) == pytest.approx(ref, abs=1e-12), k
    with pytest.raises(ValueError, match="Expected `k` in 1.."):
        c.top_k_accuracy(c.top_k_hits.size + 1)
    with pytest.raises(ValueError, match="single-label"):
        tbm.confusion_counts([[1, 0]], [[0.2, 0.3]]).top_k_accuracy(1)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_top_k_first_index_tie_rule_on_tied_data(data):
    n = data.draw(st.integers(1, 12))
    num_c = data.draw(st.integers(2, 7))
    ids = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, num_c - 1)))
    s = data.draw(hnp.arrays(np.float64, (n, num_c), elements=st.sampled_from(
        [0.0, 0.5, 1.0, np.nan])))
    c = tbm.confusion_counts(ids, s, thresholds=3)
    ranked = np.where(np.isnan(s), -np.inf, s)
    for k in range(1, c.top_k_hits.size + 1):
        hits = 0
        for r in range(n):
            # brute force: the stable order by descending score, lower index first on ties
            order = sorted(range(num_c), key=lambda j: (-ranked[r, j], j))
            hits += ids[r] in order[:k]
        assert c.top_k_hits[k - 1] == hits, k


def test_multiclass_one_hot_rows_must_be_fully_observed_or_fully_ignored():
    # A one-hot row with some cells ignored has no known class: it cannot enter the confusion
    # matrix or top-k, and guessing (argmax of the observed cells) would count it silently.
    y = np.array([[1, 0, 0], [0, -1, -1]])
    s = np.array([[0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match="Expected .*multiclass=True"):
        tbm.confusion_counts(y, s, multiclass=True, ignore_value=-1)
    y = np.array([[1, 0, 0], [-1, -1, -1]])
    c = tbm.confusion_counts(y, s, multiclass=True, ignore_value=-1)
    assert c.n == 1 and c.confusion_matrix.sum() == 1 and c.top_k_hits.tolist() == [1, 1, 1]
    assert c == tbm.confusion_counts([0, 255], s, ignore_value=255)
