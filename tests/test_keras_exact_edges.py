"""Edge cases found by a review of the reworked Keras kernels, where ThresholdCounts.counts()
differed from confusion_counts; each test asserts the numpy reference's values (eager and
fully XLA-compiled): search-table offsets far from the cuts, +inf cuts outside the packed
table, float64 subnormals where TensorFlow's CPU flushes them."""
import numpy as np
import pytest

import tensorflow as tf  # noqa: F401  (tests/conftest.py picks the TensorFlow backend)

from tb_metrics_plugin import metrics as M
from tb_metrics_plugin.keras_metric import ThresholdCounts

F32 = np.float32
FIELDS = ("tp", "fp", "tn", "fn", "exact_match", "nan", "out_of_range", "nan_positive",
          "categorical_correct", "top1_positive", "negative_rows", "confusion_matrix",
          "top_k_hits", "n")


def _counts(y, s, mode, **kw):
    m = ThresholdCounts(**kw)
    if mode == "eager":
        m.update_state(y, s)
    else:
        tf.function(lambda a, b: m.update_state(a, b), jit_compile=(mode == "jit"))(y, s)
    return m.counts()


def _assert_same(got, want):
    bad = [(f, getattr(got, f), getattr(want, f)) for f in FIELDS
           if not np.array_equal(getattr(got, f), getattr(want, f))]
    assert not bad, bad


MODES = ["eager", "jit"]


@pytest.mark.parametrize("mode", MODES)
def test_shift_0_table_wraps_for_far_negative_scores(mode):
    """Two adjacent float32 thresholds give a search table with shift 0; (key - offset) wraps
    in int32 for a score far below them (keras_search.reach): -10 is counted at cut 0."""
    t = [0.5, float(np.nextafter(F32(0.5), F32(1)))]
    y = np.array([[0.0], [1.0]], F32)
    s = np.array([[-10.0], [-10.0]], F32)
    want = M.confusion_counts(y, s, thresholds=t)
    assert want.tp.tolist() == [[0, 0]] and want.fp.tolist() == [[0, 0]]
    assert want.out_of_range.tolist() == [2]
    _assert_same(_counts(y, s, mode, thresholds=t), want)


@pytest.mark.parametrize("mode", MODES)
def test_shift_0_table_wraps_for_logits_above_negative_cuts(mode):
    """from_logits: two thresholds whose float32 logits (about -6.9) are adjacent floats give
    shift 0 and a negative offset; the key of logit 0.7 minus the offset wraps past 2**31."""
    t = [0.001000000978820026, 0.0010000010952353477]
    y = np.array([[1.0]], F32)
    s = np.array([[0.7]], F32)
    want = M.confusion_counts(y, s, thresholds=t, from_logits=True)
    assert want.tp.tolist() == [[1, 1]] and want.out_of_range.tolist() == [0]
    _assert_same(_counts(y, s, mode, thresholds=t, from_logits=True), want)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("thresholds", [4, [0.9, 1.0], [0.0, 1e-45, 0.5, 1 - 2**-24, 1.0]])
def test_pos_inf_cut_reached_by_pos_inf_logit(mode, thresholds):
    """from_logits with a threshold 1.0 (cut +inf): when the search table is not packed (shift
    >= 30) and +inf shares the bucket of the largest finite cut, a +inf score misses the +inf
    cut (keras_search.reach, unpacked branch). thresholds=4 is the default-style int case."""
    y = np.array([[1.0], [0.0]], F32)
    s = np.array([[np.inf], [np.inf]], F32)
    want = M.confusion_counts(y, s, thresholds=thresholds, from_logits=True)
    assert want.tp[0, -1] == 1 and want.fp[0, -1] == 1
    _assert_same(_counts(y, s, mode, thresholds=thresholds, from_logits=True), want)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("score", [-5e-324, -1e-310])
def test_float64_negative_subnormal_is_below_zero(mode, score):
    """float64 scores are compared in float64 (keras_search.reach), where TensorFlow's CPU
    flushes subnormals: -5e-324 counts as >= 0 (reaches cut 0, not out of range)."""
    y = np.array([[0.0]], F32)
    s = np.array([[score]], np.float64)
    want = M.confusion_counts(y, s, thresholds=[0.0, 0.5, 1.0])
    assert want.fp.tolist() == [[0, 0, 0]] and want.out_of_range.tolist() == [1]
    _assert_same(_counts(y, s, mode, thresholds=[0.0, 0.5, 1.0]), want)


@pytest.mark.parametrize("mode", MODES)
def test_float64_subnormal_argmax(mode):
    """float64 argmax (keras_ops._ranked keeps float64 as is) ties flushed subnormals."""
    y = np.array([[0.0, 1.0]], F32)
    s = np.array([[1e-310, 2e-310]], np.float64)
    want = M.confusion_counts(y, s, thresholds=11)
    assert want.categorical_correct == 1 and want.top1_positive == 1
    _assert_same(_counts(y, s, mode, thresholds=11), want)
