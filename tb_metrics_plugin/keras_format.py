"""Bringing a batch to canonical form in ``keras.ops`` (the format stage of `ThresholdCounts`).

`format_batch` gives labels, scores, the observed mask, cell and row weights and true class ids
as a `Batch`, from shapes read by `inputs.check_layout` (one shape rule for numpy, Keras and
torch; `moved_shapes` lets static shapes hold None).
"""
import collections
import math

from keras import ops

from tb_metrics_plugin import inputs
from tb_metrics_plugin.keras_search import _dtype

__all__ = ["Batch", "moved_shapes", "format_batch"]


Batch = collections.namedtuple(
    "Batch", ["labels", "scores", "observed", "cell_weights", "row_weights", "class_ids",
              "invalid_rows", "invalid_cells"])
Batch.__doc__ = """A batch in canonical form (R rows, L labels), as `inputs.Formatted`.

labels: bool [R, L], positives among observed cells; scores [R, L]; observed: bool [R, L] or
None (all); cell_weights: [R, L] float32 (weighted) or None; row_weights: [R] (float32 weighted,
int32 0/1 when cells are ignored) or None (all 1); class_ids: int32 [R] true classes
(single-label multi-class) or None; invalid_rows: scalar count of rows that
`confusion_counts` would refuse (a class id outside [0, C), a one-hot row without exactly one 1);
invalid_cells: bool [R, L] or None, cells whose label is not 0/1 or whose weight is negative or
not finite (counted in the histogram's refused bin instead of their threshold bins)."""


def moved_shapes(true_shape, score_shape, label_axis=-1):
    """`inputs.check_layout` on static shapes that may hold None (unknown batch size)."""
    true_shape, score_shape = tuple(true_shape), tuple(score_shape)
    try:
        return inputs.check_layout(true_shape, score_shape, label_axis)
    except ValueError:
        if None not in true_shape + score_shape:
            raise
    # Unknown dims match anything: unify them position by position (same rank), or against
    # the scores without the label axis (class ids).
    t, s = list(true_shape), list(score_shape)
    if len(t) == len(s):
        pairs = list(zip(range(len(s)), range(len(s))))
    else:
        axis = (label_axis % len(s)) if len(s) > 1 else 0
        rest = [i for i in range(len(s)) if i != axis]
        pairs = list(zip(rest, range(len(t))))
    for i, j in pairs:
        if s[i] is None or t[j] is None:
            s[i] = t[j] = None
    return inputs.check_layout(tuple(t), tuple(s), label_axis)


def format_batch(y_true, y_pred, sample_weight=None, *, layout, ignore_value=None,
                 multiclass=False, weighted=False):
    """Brings one batch to a `Batch` (keras.ops only; shapes from ``layout``, an
    `inputs.Layout` of `moved_shapes`). Label values are not checked in compiled code: cells
    that `confusion_counts` would refuse are counted in ``invalid_*`` instead, which
    `counts_from_sums` turns into an error."""
    num_l = layout.num_labels
    axis = layout.label_axis
    ndim = len(y_pred.shape)
    if ndim == 1:
        y_pred = ops.expand_dims(y_pred, -1)
        if len(y_true.shape) == 1 and not layout.class_ids:
            y_true = ops.expand_dims(y_true, -1)
    elif axis != len(y_pred.shape) - 1:
        y_pred = ops.moveaxis(y_pred, axis, -1)
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.moveaxis(y_true, axis, -1)
    lead_dynamic = ops.shape(y_pred)[:-1]
    scores = _flatten(y_pred, (-1, num_l))
    ignore = inputs.check_ignore_value(ignore_value)
    cols = ops.arange(num_l, dtype="int32")[None, :]
    zero = ops.zeros((), "int32")
    if layout.class_ids:
        ids = ops.reshape(y_true, (-1,))
        row_obs = _observed(ids, ignore)
        idf = ops.cast(ids, "float32") if "float" in _dtype(ids) else None
        ids_i = ops.cast(ops.round(ids) if idf is not None else ids, "int32")
        valid = ops.logical_and(ops.greater_equal(ids_i, 0), ops.less(ids_i, num_l))
        if idf is not None:
            valid = ops.logical_and(valid, ops.equal(idf, ops.round(idf)))
        ok = valid if row_obs is None else ops.logical_and(valid, row_obs)
        class_ids = ops.where(ok, ids_i, 0)
        labels = ops.logical_and(ops.equal(class_ids[:, None], cols), ok[:, None])
        bad = ops.logical_not(valid) if row_obs is None else ops.logical_and(
            row_obs, ops.logical_not(valid))
        invalid_rows = ops.sum(ops.cast(bad, "int32"))
        invalid_cells = None
        observed = None if row_obs is None else ops.broadcast_to(row_obs[:, None],
                                                                   ops.shape(scores))
    else:
        y = _flatten(y_true, (-1, num_l))
        observed = _observed(y, ignore)
        invalid_rows = zero
        if _dtype(y) == "bool":
            labels, invalid_cells = y, None
        else:
            labels = ops.equal(y, ops.cast(1, y.dtype))
            bad = ops.logical_and(ops.not_equal(y, ops.cast(0, y.dtype)),
                                  ops.logical_not(labels))
            if observed is not None:
                bad = ops.logical_and(bad, observed)
            invalid_cells = bad
        class_ids = None
        if multiclass:
            per_row = ops.sum(ops.cast(labels, "int32"), axis=1)
            checked = ops.not_equal(per_row, 1)
            if observed is not None:
                # A row is one-hot when fully observed; a partly ignored row's class is unknown
                # (as `inputs.format_inputs` refuses it); a fully ignored row is left out.
                all_obs = ops.all(observed, axis=1)
                partial = ops.logical_and(ops.any(observed, axis=1), ops.logical_not(all_obs))
                checked = ops.logical_or(ops.logical_and(checked, all_obs), partial)
            invalid_rows = ops.sum(ops.cast(checked, "int32"))
            class_ids = _first_true(labels, num_l)
        if observed is not None:
            labels = ops.logical_and(labels, observed)

    cell_w = row_w = None
    any_obs = None if observed is None else ops.any(observed, axis=1)
    if sample_weight is not None:
        cell_w, per_row = _weights(sample_weight, layout, ndim, lead_dynamic,
                                   ops.shape(scores))
        finite = ops.logical_and(ops.isfinite(cell_w), ops.greater_equal(cell_w, 0.0))
        bad_w = ops.logical_not(finite)
        invalid_cells = bad_w if invalid_cells is None else ops.logical_or(invalid_cells, bad_w)
        cell_w = ops.where(finite, cell_w, 0.0)
        if observed is not None:
            cell_w = ops.where(observed, cell_w, 0.0)
        if per_row is not None:
            row_w = ops.where(finite[:, 0], per_row, 0.0)
            if any_obs is not None:
                row_w = ops.where(any_obs, row_w, 0.0)
        else:
            obs = ops.ones_like(cell_w) if observed is None else ops.cast(observed, "float32")
            n_obs = ops.sum(obs, axis=1)
            row_w = ops.where(ops.greater(n_obs, 0),
                              ops.sum(cell_w, axis=1) / ops.maximum(n_obs, 1.0), 0.0)
    elif any_obs is not None:
        row_w = ops.cast(any_obs, "int32")
    return Batch(labels, scores, observed, cell_w, row_w, class_ids, invalid_rows,
                 invalid_cells)


def _observed(values, ignore):
    if ignore is None:
        return None
    if math.isnan(ignore):
        return ops.logical_not(ops.isnan(values)) if "float" in _dtype(values) else None
    return ops.not_equal(values, ops.cast(ignore, values.dtype))


def _first_true(mask, num_l):
    """int32 [R]: the first column where ``mask`` is True (0 when none), as numpy.argmax."""
    del num_l
    return ops.cast(ops.argmax(ops.cast(mask, "int32"), axis=1), "int32")


def _weights(sample_weight, layout, ndim, lead_dynamic, score_shape):
    """float32 cell weights [R, L] and the per-row weights [R] (None when given per cell).

    Shapes as `inputs.format_inputs` reads them: per cell (the shape of the scores, labels on
    ``label_axis``, or the leading shape plus L), else per row (the leading shape, a trailing 1
    or broadcastable to it)."""
    w = ops.cast(sample_weight, "float32")
    lead, num_l = layout.lead, layout.num_labels
    shape = tuple(w.shape)
    if ndim > 1 and len(shape) == ndim and num_l > 1 and shape[layout.label_axis] == num_l:
        if layout.label_axis != ndim - 1:
            w = ops.moveaxis(w, layout.label_axis, -1)
        return ops.reshape(w, score_shape), None
    if len(shape) == len(lead) + 1 and shape[-1] == num_l and num_l > 1:
        return ops.reshape(w, score_shape), None
    if len(shape) == len(lead) + 1 and shape[-1] == 1:
        w = ops.squeeze(w, -1)
    if len(w.shape) > len(lead):
        raise ValueError(
            f"Expected `sample_weight` of shape {tuple(lead)} (one weight per sample, or "
            f"broadcastable to it) or {tuple(lead) + (num_l,)} (one per label cell); received "
            f"shape {shape}."
        )
    while len(w.shape) < len(lead):
        w = ops.expand_dims(w, -1)
    rows = ops.reshape(ops.broadcast_to(w, tuple(lead_dynamic)), (-1,))
    return ops.broadcast_to(rows[:, None], score_shape), rows


def _flatten(x, shape):
    """``ops.reshape`` that adds no op when ``x`` already has the static shape."""
    if len(x.shape) == len(shape) and all(
            want == -1 or have == want for have, want in zip(x.shape, shape)):
        return x
    return ops.reshape(x, shape)
