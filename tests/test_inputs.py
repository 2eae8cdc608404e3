"""Validate and format (`inputs`): layouts from shapes, label axes, class ids, ignored cells,
weights and every refusal's message."""
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tb_metrics_plugin as tbm
from tb_metrics_plugin import inputs


@pytest.mark.parametrize("true_shape, score_shape, axis, expected", [
    ((8,), (8,), -1, (0, 1, (8,), False, "samples")),
    ((8,), (8, 1), -1, (1, 1, (8,), False, "samples")),
    ((8, 1), (8, 1), -1, (1, 1, (8,), False, "samples")),
    ((8, 3), (8, 3), -1, (1, 3, (8,), False, "samples")),
    ((8,), (8, 3), -1, (1, 3, (8,), True, "samples")),
    ((8, 1), (8, 3), -1, (1, 3, (8,), True, "samples")),
    ((4, 6), (4, 6, 3), -1, (2, 3, (4, 6), True, "positions")),
    ((4, 6, 3), (4, 6, 3), -1, (2, 3, (4, 6), False, "positions")),
    ((2, 5, 5), (2, 3, 5, 5), 1, (1, 3, (2, 5, 5), True, "positions")),
    ((2, 1, 5, 5), (2, 3, 5, 5), 1, (1, 3, (2, 5, 5), True, "positions")),
    ((2, 3, 5, 5), (2, 3, 5, 5), 1, (1, 3, (2, 5, 5), False, "positions")),
    ((2, 5, 5), (2, 1, 5, 5), 1, (1, 1, (2, 5, 5), False, "positions")),
    ((7, 3), (7, 3), 0, (0, 7, (3,), False, "samples")),
    ((3,), (7, 3), 0, (0, 7, (3,), True, "samples")),
])
def test_layout_from_shapes(true_shape, score_shape, axis, expected):
    layout = inputs.check_layout(true_shape, score_shape, axis)
    assert (layout.label_axis, layout.num_labels, layout.lead, layout.class_ids,
            layout.sample_unit) == expected


@pytest.mark.parametrize("true_shape, score_shape, axis, message", [
    ((8, 4), (8, 3), -1, "If the labels are on another axis, pass `label_axis`"),
    ((2, 5, 5), (2, 3, 5, 5), -1, "label_axis"),
    ((8, 3), (8, 3), 2, "Expected `label_axis` in [-2, 1]"),
    ((8, 3), (8, 3), 1.0, "Expected `label_axis` to be an int"),
    ((), (), -1, "received a scalar"),
])
def test_layout_refusals_name_the_fix(true_shape, score_shape, axis, message):
    with pytest.raises(ValueError, match="Expected") as info:
        inputs.check_layout(true_shape, score_shape, axis)
    assert message in str(info.value)


@st.composite
def axis_problems(draw):
    ndim = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    axis = draw(st.integers(-ndim, ndim - 1))
    y = draw(hnp.arrays(np.int8, shape, elements=st.sampled_from([0, 1, -1])))
    s = draw(hnp.arrays(np.float32, shape, elements=st.floats(0, 1, width=32)))
    kind = draw(st.sampled_from(["none", "cell", "row"]))
    w = None
    if kind == "cell":
        w = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 3)))
    elif kind == "row":
        lead = shape[:axis % ndim] + shape[axis % ndim + 1:]
        w = draw(hnp.arrays(np.float64, lead, elements=st.floats(0, 3)))
    return y, s, axis, w, kind


@settings(max_examples=200, deadline=None)
@given(axis_problems())
def test_label_axis_equals_moving_the_axis_by_hand(problem):
    y, s, axis, w, kind = problem
    a = inputs.format_inputs(y, s, sample_weight=w, ignore_value=-1, label_axis=axis)
    moved_w = np.moveaxis(w, axis, -1) if kind == "cell" else w
    b = inputs.format_inputs(np.moveaxis(y, axis, -1), np.moveaxis(s, axis, -1),
                             sample_weight=moved_w, ignore_value=-1)
    for name in ("labels", "scores", "observed", "cell_weights", "row_weights", "class_ids"):
        x, z = getattr(a, name), getattr(b, name)
        assert (x is None) == (z is None), name
        if x is not None:
            np.testing.assert_array_equal(x, z, err_msg=name)
    assert a.layout.num_labels == y.shape[axis] and a.layout.sample_unit == b.layout.sample_unit
    # and the counts too
    assert tbm.confusion_counts(y, s, thresholds=5, sample_weight=w, ignore_value=-1,
                                label_axis=axis) == tbm.confusion_counts(
        np.moveaxis(y, axis, -1), np.moveaxis(s, axis, -1), thresholds=5,
        sample_weight=moved_w, ignore_value=-1)


def test_observed_cells_and_row_weights():
    f = inputs.format_inputs([[1, np.nan], [np.nan, np.nan], [0, 1]],
                             [[0.9, 0.2], [0.4, 0.6], [0.1, 0.7]], ignore_value=np.nan)
    assert f.observed.tolist() == [[True, False], [False, False], [True, True]]
    assert f.row_weights.tolist() == [1.0, 0.0, 1.0]  # no observed cell: out of n
    assert f.cell_weights is None  # unweighted: the counts stay integers
    f = inputs.format_inputs([[1, -1], [0, 1]], [[0.9, 0.2], [0.4, 0.6]], ignore_value=-1,
                             sample_weight=[[2.0, 8.0], [1.0, 3.0]])
    assert f.cell_weights.tolist() == [[2.0, 0.0], [1.0, 3.0]]
    assert f.row_weights.tolist() == [2.0, 2.0]  # mean of the observed cells' weights
    # nothing ignored: no mask at all
    f = inputs.format_inputs([[1, 0]], [[0.9, 0.2]], ignore_value=-1)
    assert f.observed is None and f.row_weights is None


def test_class_ids_with_ignore_values():
    s = np.random.default_rng(0).random((4, 3))
    f = inputs.format_inputs(np.array([0, 255, 2, 1], dtype=np.uint8), s, ignore_value=255)
    assert f.class_ids.tolist() == [0, 0, 2, 1] and f.row_weights.tolist() == [1, 0, 1, 1]
    assert f.observed[1].tolist() == [False] * 3
    f = inputs.format_inputs([0.0, np.nan, 2.0, 1.0], s, ignore_value=np.nan)
    assert f.class_ids.tolist() == [0, 0, 2, 1] and f.row_weights.tolist() == [1, 0, 1, 1]
    c = tbm.confusion_counts([0, -1, 2, 1], s, ignore_value=-1)
    assert c.n == 3 and c.observed.tolist() == [3, 3, 3] and c.confusion_matrix.sum() == 3


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.bool_])
def test_score_dtypes(dtype):
    # float16 is widened exactly to float32; integers and bools are compared as numbers.
    raw = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    s = raw.astype(dtype)
    c = tbm.confusion_counts([[0, 1], [1, 0], [0, 1]], s, thresholds=[0.0, 0.5, 1.0])
    assert c.tp.tolist() == [[1, 1, 1], [2, 1, 1]]
    assert c.fp.tolist() == [[2, 0, 0], [1, 0, 0]]


def test_float64_scores_are_compared_with_the_float32_thresholds():
    # float32(0.1) = 0.10000000149...: the float64 0.1 lies below it, its float32 on it.
    t = [0.1]
    assert tbm.confusion_counts([1], np.array([0.1], np.float64), thresholds=t).tp[0, 0] == 0
    assert tbm.confusion_counts([1], np.array([0.1], np.float32), thresholds=t).tp[0, 0] == 1
    assert tbm.confusion_counts([1], np.array([0.1], np.float16), thresholds=t).tp[0, 0] == 0
    assert np.float32(np.float16(0.1)) < np.float32(0.1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(ignore_value=0), "neither 0 nor 1"),
    (dict(ignore_value=1.0), "neither 0 nor 1"),
    (dict(ignore_value=True), "neither 0 nor 1"),
    (dict(ignore_value=math.inf), "neither 0 nor 1"),
    (dict(ignore_value="missing"), "neither 0 nor 1"),
    (dict(y_true=[[1, -1]]), "pass `ignore_value`"),
    (dict(y_true=[[1, np.nan]]), "pass `ignore_value`"),
    (dict(y_true=[[1, -1]], ignore_value=255), "Cells equal to ignore_value=255.0"),
    (dict(y_true=[0, 2], y_score=[[0.1, 0.2], [0.3, 0.4]]), "Pass `ignore_value`"),
    (dict(y_true=[0.5, 1], y_score=[[0.1, 0.2], [0.3, 0.4]]), "integer class ids"),
    (dict(y_true=["a", "b"], y_score=[[0.1, 0.2], [0.3, 0.4]]), "class ids"),
    (dict(y_true=[[1, 1]], multiclass=True), "exactly one 1 per row"),
    (dict(y_true=[1], y_score=[[0.3]], multiclass=True), "at least 2 classes"),
    (dict(sample_weight=[[1.0, np.nan]]), "finite and non-negative"),
    (dict(sample_weight=[[1.0, -2.0]]), "finite and non-negative"),
    (dict(sample_weight=[1.0, 2.0, 3.0]), "one weight per sample"),
    (dict(y_score=[[0.1j, 0.2]]), "hold numbers"),
    (dict(label_names="ab"), "list of 2 strings"),
    (dict(thresholds=True), "received a bool"),
    (dict(thresholds=[0.2, 0.2]), "strictly ascending"),
    (dict(thresholds=[0.1, 0.1 + 1e-12]), "after rounding to float32"),
    (dict(thresholds=[-0.5, 0.5]), "For logits, pass probabilities here"),
])
def test_refusals_name_the_fix(kwargs, message):
    args = dict(y_true=[[1, 0]], y_score=[[0.9, 0.2]])
    args.update(kwargs)
    with pytest.raises(ValueError, match="Expected") as info:
        tbm.confusion_counts(**args)
    assert message in str(info.value)


def test_sample_weight_that_is_not_numeric_is_a_clear_error():
    with pytest.raises(ValueError, match="Expected `sample_weight`"):
        tbm.confusion_counts([[1, 0]], [[0.9, 0.2]], sample_weight=[["a", "b"]])


def test_weights_laid_out_like_channels_first_scores():
    # Weights of y_score's own rank follow its label axis: [N, C, H, W] per cell, [N, 1, H, W]
    # per position (keepdims), and with one label [N, 1, H, W] per cell is per position.
    rng = np.random.default_rng(3)
    s = rng.random((2, 3, 4, 5))
    y = (rng.random((2, 3, 4, 5)) < 0.5).astype(int)
    pos_w = rng.random((2, 4, 5))
    by_position = tbm.confusion_counts(y, s, thresholds=5, label_axis=1, sample_weight=pos_w)
    keepdims = tbm.confusion_counts(y, s, thresholds=5, label_axis=1,
                                    sample_weight=pos_w[:, None])
    assert keepdims == by_position
    one = tbm.confusion_counts(y[:, :1], s[:, :1], thresholds=5, label_axis=1,
                               sample_weight=pos_w[:, None])
    assert one == tbm.confusion_counts(y[:, 0, ..., None], s[:, 0, ..., None], thresholds=5,
                                       sample_weight=pos_w)


@pytest.mark.parametrize("names,needle", [(["a", "a", "b"], "duplicates ['a']"),
                                          (["a", "", "b"], "an empty name")])
def test_label_names_must_be_distinct_and_non_empty(names, needle):
    """Found by a new-user trial: duplicate or empty names were accepted, and the dashboard (which
    finds labels by name) then showed a blank row and selected the wrong label."""
    y = np.zeros((4, 3))
    s = np.full((4, 3), 0.5)
    with pytest.raises(ValueError, match=re.escape(needle)):
        tbm.confusion_counts(y, s, label_names=names)
    from tb_metrics_plugin.keras_metric import ThresholdCounts

    with pytest.raises(ValueError, match=re.escape(needle)):
        ThresholdCounts(label_names=names)
