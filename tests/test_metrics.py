"""The numpy core against brute force (hypothesis) and scikit-learn."""
import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

import tb_metrics_plugin as tbm
from tb_metrics_plugin import metrics
from tests.oracle import brute_force_counts

GRID = metrics.make_thresholds(11)
SPECIAL = [0.0, -0.0, 1.0, float("inf"), float("-inf"), float("nan"), 0.5, 0.1, 0.3,
           float(GRID[3]), float(np.nextafter(GRID[3], 1)), float(np.nextafter(GRID[3], 0))]


def assert_matches_oracle(c, ref, exact=True):
    for key in ("tp", "fp", "tn", "fn", "exact_match", "nan"):
        got = getattr(c, key)
        if exact:
            np.testing.assert_array_equal(got, ref[key], err_msg=key)
        else:
            np.testing.assert_allclose(got, ref[key], rtol=1e-12, atol=1e-9, err_msg=key)
    assert (c.n == ref["n"]) if exact else math.isclose(c.n, ref["n"], rel_tol=1e-12)


score_elements = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(-3, 3, width=32),
    st.sampled_from([float(t) for t in GRID]),
)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 30))
    num_l = draw(st.integers(1, 5))
    y = draw(hnp.arrays(np.int8, (n, num_l), elements=st.integers(0, 1)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    s = draw(hnp.arrays(dtype, (n, num_l), elements=score_elements))
    if draw(st.booleans()):
        thresholds = draw(st.integers(1, 25))
    else:
        values = draw(st.lists(st.floats(0, 1, width=32), min_size=1, max_size=12, unique=True))
        thresholds = sorted(set(np.float32(values).tolist()))
    return y, s, thresholds


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.booleans())
def test_counts_equal_brute_force(problem, from_logits):
    y, s, thresholds = problem
    c = tbm.confusion_counts(y, s, thresholds=thresholds, from_logits=from_logits)
    ref = brute_force_counts(y, s, metrics.make_thresholds(thresholds), from_logits=from_logits)
    assert_matches_oracle(c, ref)
    assert c.tp.dtype == np.int64
    assert c.n == y.shape[0]


@settings(max_examples=150, deadline=None)
@given(problems(), st.booleans(), st.data())
def test_weighted_counts_equal_brute_force(problem, from_logits, data):
    y, s, thresholds = problem
    w = data.draw(hnp.arrays(np.float64, (y.shape[0],), elements=st.floats(0, 5)))
    c = tbm.confusion_counts(y, s, thresholds=thresholds, from_logits=from_logits, sample_weight=w)
    ref = brute_force_counts(y, s, metrics.make_thresholds(thresholds), from_logits, w)
    assert_matches_oracle(c, ref, exact=False)
    assert c.weighted


@settings(max_examples=100, deadline=None)
@given(problems(), st.integers(1, 4))
def test_merge_equals_counting_all_at_once(problem, cut):
    y, s, thresholds = problem
    cut = min(cut, len(y) - 1)
    whole = tbm.confusion_counts(y, s, thresholds=thresholds)
    if cut == 0:
        return
    a = tbm.confusion_counts(y[:cut], s[:cut], thresholds=thresholds)
    b = tbm.confusion_counts(y[cut:], s[cut:], thresholds=thresholds)
    assert a.merge(b) == whole


def test_hand_computed_table():
    # Scores sitting exactly on thresholds are positive there (s >= t).
    y = np.array([[1], [0], [1], [0], [1]])
    s = np.array([[0.5], [0.5], [0.0], [-0.0], [np.nan]], dtype=np.float32)
    c = tbm.confusion_counts(y, s, thresholds=[0.0, 0.5, 1.0])
    assert c.tp[0].tolist() == [2, 1, 0]
    assert c.fp[0].tolist() == [2, 1, 0]
    assert c.fn[0].tolist() == [1, 2, 3]
    assert c.tn[0].tolist() == [0, 1, 2]
    assert c.nan.tolist() == [1]
    assert c.exact_match.tolist() == [2, 2, 2]


def test_logits_compare_in_logit_space_exactly():
    # float32(logit(0.5)) == 0: a logit of exactly 0 is positive at 0.5; one ulp below is not.
    z = np.array([0.0, np.nextafter(np.float32(0), np.float32(-1)), np.inf, -np.inf],
                 dtype=np.float32)
    c = tbm.confusion_counts([1, 1, 1, 1], z, thresholds=[0.0, 0.5, 1.0], from_logits=True)
    # t=0 -> -inf cut: everything (even -inf) is positive; t=1 -> +inf: only +inf.
    assert c.tp[0].tolist() == [4, 2, 1]
    assert metrics.logit_cuts([0.0, 0.5, 1.0]).tolist() == [-np.inf, 0.0, np.inf]


def test_saturated_probabilities_are_not_logits():
    # A probability of exactly 1.0 is positive at t=1.0; nothing guesses logits from range.
    c = tbm.confusion_counts([1, 0], [1.0, 3.0], thresholds=[1.0])
    assert c.tp[0, 0] == 1 and c.fp[0, 0] == 1


def test_shapes():
    rng = np.random.default_rng(0)
    s = rng.random((8, 3, 4)).astype(np.float32)
    y = rng.integers(0, 2, (8, 3, 4))
    c = tbm.confusion_counts(y, s, thresholds=5)
    assert c.tp.shape == (4, 5) and c.n == 24
    # [N] and [N, 1]
    c1 = tbm.confusion_counts(y[:, 0, 0], s[:, 0, 0], thresholds=5)
    c2 = tbm.confusion_counts(y[:, 0, :1], s[:, 0, :1], thresholds=5)
    c3 = tbm.confusion_counts(y[:, 0, 0], s[:, 0, :1], thresholds=5)
    assert c1 == c2 == c3 and c1.num_labels == 1
    # sequence [B, 60, 1] with labels [B, 60]
    seq = rng.random((4, 60, 1))
    lab = rng.integers(0, 2, (4, 60))
    assert tbm.confusion_counts(lab, seq).n == 240
    # class ids [N] with scores [N, C] == one-hot labels
    ids = rng.integers(0, 4, 8)
    scores = rng.random((8, 4))
    onehot = np.eye(4, dtype=int)[ids]
    # same one-vs-rest counts; class ids (and one-hot with multiclass=True) add the argmax stats
    assert tbm.confusion_counts(ids, scores) == tbm.confusion_counts(onehot, scores, multiclass=True)
    assert tbm.confusion_counts(ids[:, None], scores) == tbm.confusion_counts(ids, scores)
    plain = tbm.confusion_counts(onehot, scores)
    assert not plain.multiclass and np.array_equal(plain.tp, tbm.confusion_counts(ids, scores).tp)


def test_sequence_weights_per_timestep():
    s = np.array([[[0.9], [0.1]]])
    y = np.array([[1, 0]])
    c = tbm.confusion_counts(y, s, sample_weight=[[2.0, 0.5]], thresholds=[0.5])
    assert c.tp[0, 0] == 2.0 and c.tn[0, 0] == 0.5 and c.n == 2.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(y_true=[[2, 0]], y_score=[[0.1, 0.2]]), "0 or 1"),
        (dict(y_true=[[0.5, 0]], y_score=[[0.1, 0.2]]), "0 or 1"),
        (dict(y_true=[[np.nan, 0]], y_score=[[0.1, 0.2]]), "0 or 1"),
        (dict(y_true=[[1, 0, 1]], y_score=[[0.1, 0.2]]), "shape"),
        (dict(y_true=[1, 5], y_score=[[0.1, 0.2], [0.3, 0.4]]), "class ids in [0, 2)"),
        (dict(y_true=np.zeros((0, 2)), y_score=np.zeros((0, 2))), "empty batch"),
        (dict(y_true=[[1, 0]], y_score=[[0.1, 0.2]], thresholds=[0.5, 0.2]), "ascending"),
        (dict(y_true=[[1, 0]], y_score=[[0.1, 0.2]], thresholds=[0.5, 1.5]), "[0, 1]"),
        (dict(y_true=[[1, 0]], y_score=[[0.1, 0.2]], thresholds=0), ">= 1"),
        (dict(y_true=[[1, 0]], y_score=[[0.1, 0.2]], thresholds=[[0.1]]), "1-D"),
        (dict(y_true=[[1, 0]], y_score=[[0.1, 0.2]], label_names=["a"]), "Expected 2 `label_names`"),
        (dict(y_true=[[1, 0]], y_score=[["a", "b"]]), "numbers"),
        (dict(y_true=[[1, 0]], y_score=[[0.1, 0.2]], sample_weight=[1, 2]), "sample_weight"),
        (dict(y_true=[[1, 0]], y_score=[[0.1, 0.2]], sample_weight=[-1]), "non-negative"),
    ],
)
def test_bad_input_raises_clear_error(kwargs, message):
    with pytest.raises(ValueError, match="Expected") as info:
        tbm.confusion_counts(**kwargs)
    assert message in str(info.value)


# --- derived metrics against scikit-learn --------------------------------------------------------


def _sklearn(fn, y, pred, average, zero_division, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(y, pred, average=average, zero_division=zero_division, **kw)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("zero_division", [0, 1, np.nan])
def test_derived_metrics_equal_sklearn(seed, zero_division):
    rng = np.random.default_rng(seed)
    n, num_l = 60, 7
    y = (rng.random((n, num_l)) < rng.random(num_l) * 0.3).astype(int)
    y[:, 0] = 0  # a label with no positives
    s = rng.random((n, num_l))
    s[:, 1] = 0.0  # a label never predicted at t > 0
    c = tbm.confusion_counts(y, s, thresholds=21)
    for j in (0, 3, 10, 15, 20):
        pred = s >= c.thresholds[j]
        for average in (None, "micro", "macro", "weighted"):
            for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                             ("f1", skm.f1_score)):
                ours = getattr(c, name)(average=average, zero_division=zero_division)
                ours = ours[:, j] if average is None else ours[j]
                ref = _sklearn(fn, y, pred, average, zero_division, labels=np.arange(num_l))
                np.testing.assert_allclose(ours, ref, equal_nan=True,
                                           err_msg=f"{name} {average} zd={zero_division} t={j}")
        np.testing.assert_allclose(c.binary_accuracy()[j], (pred == y).mean())
        np.testing.assert_allclose(c.exact_match_accuracy()[j], skm.accuracy_score(y, pred))


def test_weighted_metrics_equal_sklearn_with_sample_weight():
    rng = np.random.default_rng(7)
    y = (rng.random((50, 4)) < 0.3).astype(int)
    s = rng.random((50, 4))
    w = rng.random(50) * 3
    c = tbm.confusion_counts(y, s, thresholds=11, sample_weight=w)
    pred = s >= c.thresholds[4]
    for average in ("micro", "macro", "weighted"):
        np.testing.assert_allclose(
            c.f1(average=average)[4],
            _sklearn(skm.f1_score, y, pred, average, 0, sample_weight=w))
    np.testing.assert_allclose(c.exact_match_accuracy()[4],
                               skm.accuracy_score(y, pred, sample_weight=w))


def test_all_negative_accuracy_is_one_minus_prevalence():
    y = np.zeros((100, 30), dtype=int)
    y[np.arange(100), np.arange(100) % 30] = 1
    c = tbm.confusion_counts(y, np.zeros((100, 30)), thresholds=[0.5])
    assert c.all_negative_accuracy() == pytest.approx(1 - 1 / 30)
    assert c.binary_accuracy()[0] == pytest.approx(1 - 1 / 30)
    assert c.recall(average="micro")[0] == 0.0


def test_safe_divide():
    out = metrics.safe_divide([1, 0, 2], [2, 0, 0], zero_division=np.nan)
    assert out[0] == 0.5 and np.isnan(out[1]) and np.isnan(out[2])
    assert metrics.safe_divide([0], [0], 1).tolist() == [1.0]
    with pytest.raises(ValueError, match="zero_division"):
        metrics.safe_divide([1], [1], zero_division="warn")


def test_bad_average_and_metric():
    c = tbm.confusion_counts([1, 0], [0.2, 0.3])
    with pytest.raises(ValueError, match="average"):
        c.f1(average="samples")
    with pytest.raises(ValueError, match="metric"):
        c.best_thresholds(metric="auc")


# --- best thresholds -------------------------------------------------------------------------


def _reference_best(f1_row):
    best = f1_row.max()
    idx = np.nonzero(f1_row == best)[0]
    run = [idx[0]]
    for i in idx[1:]:
        if i == run[-1] + 1:
            run.append(i)
        else:
            break
    return run[(len(run) - 1) // 2]


@settings(max_examples=200, deadline=None)
@given(problems())
def test_best_thresholds_tie_rule(problem):
    y, s, thresholds = problem
    c = tbm.confusion_counts(y, s, thresholds=thresholds)
    idx = c.best_threshold_indices()
    f1 = c.f1()
    for label in range(c.num_labels):
        if c.support[label] == 0:
            assert idx[label] == -1 and np.isnan(c.best_thresholds()[label])
        else:
            assert idx[label] == _reference_best(f1[label])


def test_best_thresholds_middle_of_first_run():
    # F1 over 6 thresholds: plateau at indices 1..4 -> lower middle = 2
    y = np.array([1, 1, 0, 0])
    s = np.array([0.95, 0.95, 0.05, 0.05])
    c = tbm.confusion_counts(y, s, thresholds=[0.0, 0.1, 0.3, 0.5, 0.9, 1.0])
    assert c.f1()[0].tolist() == [2 / 3, 1, 1, 1, 1, 0]
    assert c.best_threshold_indices().tolist() == [2]
    assert c.best_thresholds()[0] == pytest.approx(0.3)


def test_best_thresholds_json_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    y = (rng.random((200, 3)) < 0.3).astype(int)
    y[:, 2] = 0
    z = rng.normal(size=(200, 3)) + 2 * y
    c = tbm.confusion_counts(y, z, thresholds=51, from_logits=True, label_names=["a", "b", "c"])
    path = tmp_path / "best.json"
    tbm.save_best_thresholds(path, c)
    data = json.loads(path.read_text())
    assert data["labels"] == ["a", "b", "c"] and data["thresholds"][2] is None
    best = tbm.load_best_thresholds(path)
    assert best.from_logits
    # written as the shortest decimal of the float32 threshold (0.84, not 0.8399999737739563)
    assert data["thresholds"][:2] == [0.84, 0.7]
    np.testing.assert_array_equal(best.thresholds.astype(np.float32),
                                  c.best_thresholds().astype(np.float32))
    pred = best.predict(z)
    idx = c.best_threshold_indices()
    for label in range(2):
        expected = z[:, label] >= metrics.logit_cuts(c.thresholds)[idx[label]]
        np.testing.assert_array_equal(pred[:, label], expected)
    np.testing.assert_array_equal(pred[:, 2], z[:, 2] >= 0.0)  # default 0.5 -> logit 0
    with pytest.raises(ValueError, match="last dimension is 3"):
        best.predict(z[:, :2])
    path.write_text(json.dumps({**data, "version": 99}))
    with pytest.raises(ValueError, match="Upgrade"):
        tbm.load_best_thresholds(path)


def test_threshold_index_nearest_lower_on_tie():
    c = tbm.confusion_counts([1], [0.5], thresholds=[0.0, 0.5, 1.0])
    assert c.threshold_index(0.25) == 0
    assert c.threshold_index(0.26) == 1
    assert c.threshold_index(0.75) == 1
    assert c.threshold_index(2.0) == 2


def test_large_batch_memory_is_linear():
    # 20000 x 100 scores with 1001 thresholds: an N*L*T approach would need 2e9 cells.
    rng = np.random.default_rng(0)
    s = rng.random((20000, 100), dtype=np.float32)
    y = rng.random((20000, 100)) < 0.1
    c = tbm.confusion_counts(y, s, thresholds=1001)
    assert c.tp[:, 0].tolist() == y.sum(axis=0).tolist()
    assert (c.tp + c.fn == y.sum(axis=0)[:, None]).all()
