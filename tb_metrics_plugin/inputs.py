"""Validate and format: the input stage shared by the numpy, Keras and torch counters.

Pure numpy. Every counter first brings its inputs to the same canonical form, so shapes,
label axes, class ids, ignored cells and weights are read one way everywhere:

* `make_thresholds` / `cut_values`: the float32 thresholds and what scores are compared with;
* `check_layout` (shapes only, usable at trace time in compiled code): which axis holds labels,
  whether ``y_true`` holds class ids, how many labels;
* `format_inputs` (numpy values): labels ``[R, L]`` bool, scores ``[R, L]``, the observed-cell
  mask, cell and row weights, and class ids for single-label multi-class data.

Semantics (DESIGN.md): leading dims ``[N, ..., L]`` are flattened into R rows ("samples", or
"positions" when there was more than one leading dim); ``label_axis`` names the axis that holds
labels (``1`` for PyTorch's ``[N, C, H, W]``); ``ignore_value`` marks label cells left out of
every count (NaN or a number such as -1 or 255); per-cell weights ``[..., L]`` or per-row
weights of the leading shape.

>>> f = format_inputs([[1, -1], [0, 1]], [[0.9, 0.2], [0.4, 0.6]], ignore_value=-1)
>>> f.observed.tolist()
[[True, False], [True, True]]
>>> f.row_weights.tolist()
[1.0, 1.0]
"""
import dataclasses
import math
from typing import Optional

import numpy as np

__all__ = [
    "Layout",
    "Formatted",
    "make_thresholds",
    "logit_cuts",
    "cut_values",
    "check_label_names",
    "check_layout",
    "format_inputs",
    "MAX_TOP_K",
]

# Top-k hits are kept for k = 1 .. MAX_TOP_K (fewer when there are fewer classes).
MAX_TOP_K = 5


# ---------------------------------------------------------------------------------------------
# Thresholds


def make_thresholds(thresholds=101):
    """Returns the float32 thresholds that scores are compared with.

    Args:
      thresholds: an int ``T >= 1`` for ``numpy.linspace(0, 1, T)`` rounded to float32, or a
        1-D sequence of probabilities in [0, 1], strictly ascending after rounding to float32.

    Raises:
      ValueError: when ``thresholds`` is neither, saying what was expected and received.

    >>> make_thresholds(3).tolist()
    [0.0, 0.5, 1.0]
    """
    if isinstance(thresholds, (bool, np.bool_)):
        raise ValueError(
            "Expected `thresholds` to be an int >= 1 or a sorted 1-D array of probabilities; "
            f"received a bool: {thresholds!r}."
        )
    if isinstance(thresholds, (int, np.integer)):
        if thresholds < 1:
            raise ValueError(
                f"Expected `thresholds` to be an int >= 1 (e.g. 101); received {thresholds}."
            )
        return np.linspace(0.0, 1.0, int(thresholds)).astype(np.float32)
    try:
        values = np.asarray(thresholds, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "Expected `thresholds` to be an int or a 1-D array of probabilities; "
            f"received {thresholds!r}."
        ) from None
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            "Expected `thresholds` to be a non-empty 1-D array of probabilities; received an "
            f"array of shape {values.shape}."
        )
    if not np.all(np.isfinite(values)) or values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(
            "Expected every threshold to be a probability in [0, 1]; received values from "
            f"{values.min()} to {values.max()}. For logits, pass probabilities here and set "
            "`from_logits=True`."
        )
    values = values.astype(np.float32)
    if values.size > 1 and not np.all(np.diff(values) > 0):
        raise ValueError(
            "Expected `thresholds` sorted in strictly ascending order (after rounding to "
            f"float32); received {values.tolist()[:10]}{'...' if values.size > 10 else ''}."
        )
    return values


def logit_cuts(thresholds):
    """The float32 logit ``log(t / (1 - t))`` of each threshold, computed in float64.

    ``t = 0`` gives ``-inf`` and ``t = 1`` gives ``+inf``. A logit ``z`` compared with this cut
    gives ``sigmoid(z) >= t`` up to the float32 rounding of the cut: for ``z`` within one
    float32 step of the exact logit the two can differ; the cut is what is compared and stored.
    """
    t = np.asarray(thresholds, dtype=np.float32).astype(np.float64)
    with np.errstate(divide="ignore"):
        cuts = np.log(t) - np.log1p(-t)
    return cuts.astype(np.float32)


def cut_values(thresholds, from_logits=False):
    """What scores are compared with: the thresholds, or their logits when ``from_logits``."""
    thresholds = np.asarray(thresholds, dtype=np.float32)
    return logit_cuts(thresholds) if from_logits else thresholds


def check_label_names(label_names, num_labels):
    """The label names as a list of ``num_labels`` strings (``"0"``, ``"1"``, ... by default)."""
    if label_names is None:
        return [str(i) for i in range(num_labels)]
    if isinstance(label_names, str):
        raise ValueError(
            f"Expected `label_names` to be a list of {num_labels} strings; received a string."
        )
    names = [str(x) for x in label_names]
    if len(names) != num_labels:
        raise ValueError(
            f"Expected {num_labels} `label_names` (one per score column); received "
            f"{len(names)}."
        )
    if len(set(names)) != len(names) or "" in names:
        seen, dups = set(), []
        for name in names:
            if name in seen and name not in dups:
                dups.append(name)
            seen.add(name)
        what = f"duplicates {dups[:5]}" if dups else "an empty name"
        raise ValueError(
            f"Expected distinct, non-empty `label_names` (the dashboard and the best-thresholds "
            f"JSON find labels by name); received {what}.")
    return names


def check_ignore_value(ignore_value):
    """None, NaN or a finite number; returns it as a float (or None)."""
    if ignore_value is None:
        return None
    if isinstance(ignore_value, (bool, np.bool_)):
        raise ValueError(
            "Expected `ignore_value` to be None, float('nan') or a number that is neither 0 nor "
            f"1 (e.g. -1); received {ignore_value!r}."
        )
    try:
        value = float(ignore_value)
    except (TypeError, ValueError):
        value = None
    if value is None or value in (0.0, 1.0) or math.isinf(value):
        raise ValueError(
            "Expected `ignore_value` to be None, float('nan') or a number that is neither 0 nor "
            f"1 (e.g. -1); received {ignore_value!r}."
        )
    return value


# ---------------------------------------------------------------------------------------------
# Layout: shapes only


@dataclasses.dataclass(frozen=True)
class Layout:
    """How ``y_true`` / ``y_score`` of given shapes are read (decided from shapes alone).

    Attributes:
      label_axis: the non-negative axis of ``y_score`` that holds labels or classes.
      num_labels: L (or C for class ids).
      lead: the leading shape after moving the label axis last (flattened into rows).
      class_ids: ``y_true`` holds integer class ids (one axis fewer than ``y_score``).
      sample_unit: ``"samples"``, or ``"positions"`` when more than one leading dim was
        flattened into rows (time steps, pixels).
    """

    label_axis: int
    num_labels: int
    lead: tuple
    class_ids: bool
    sample_unit: str


def check_layout(true_shape, score_shape, label_axis=-1):
    """Decides from shapes how labels are read; raises ValueError naming the expected shapes.

    Accepted: ``y_score`` ``[N]`` (binary) or ``[..., L, ...]`` with labels on ``label_axis``;
    ``y_true`` of the same shape (0/1 labels), or without the label axis (class ids, also with a
    size-1 label axis when ``C > 1``).

    >>> check_layout((4, 5, 5), (4, 3, 5, 5), label_axis=1).class_ids
    True
    """
    true_shape = tuple(true_shape)
    score_shape = tuple(score_shape)
    if len(score_shape) == 0:
        raise ValueError(
            "Expected `y_score` of shape [N], [N, L] or [N, ..., L]; received a scalar."
        )
    if len(score_shape) == 1:
        axis = 0
        moved = score_shape + (1,)
        true_moved = true_shape + (1,) if len(true_shape) == 1 else true_shape
    else:
        if not isinstance(label_axis, (int, np.integer)) or isinstance(label_axis, bool):
            raise ValueError(f"Expected `label_axis` to be an int; received {label_axis!r}.")
        ndim = len(score_shape)
        if not -ndim <= label_axis < ndim:
            raise ValueError(
                f"Expected `label_axis` in [{-ndim}, {ndim - 1}] for `y_score` of shape "
                f"{score_shape}; received {label_axis}."
            )
        axis = label_axis % ndim
        moved = score_shape[:axis] + score_shape[axis + 1:] + (score_shape[axis],)
        if len(true_shape) == ndim:
            true_moved = true_shape[:axis] + true_shape[axis + 1:] + (true_shape[axis],)
        else:
            true_moved = true_shape
    lead, num_labels = moved[:-1], moved[-1]
    if true_moved == moved or (true_moved == lead and num_labels == 1):
        class_ids = False  # 0/1 labels ([N] labels with [N, 1] scores: binary)
    elif (true_moved == lead and num_labels > 1) or (
            true_moved == lead + (1,) and num_labels > 1):
        class_ids = True
    else:
        where = "" if len(score_shape) < 2 or axis == len(score_shape) - 1 else (
            f" (labels on axis {axis})")
        raise ValueError(
            f"Expected `y_true` with the shape of `y_score` {score_shape}{where}, or class ids "
            f"of shape {lead} for single-label multi-class scores; received `y_true` of shape "
            f"{true_shape}. If the labels are on another axis, pass `label_axis` (e.g. 1 for "
            "[N, C, H, W])."
        )
    unit = "positions" if len(lead) > 1 else "samples"
    return Layout(axis, int(num_labels), tuple(lead), class_ids, unit)


# ---------------------------------------------------------------------------------------------
# Format: numpy values


@dataclasses.dataclass
class Formatted:
    """Inputs in canonical form; R rows (samples or positions), L labels or classes.

    Attributes:
      labels: bool [R, L] (one-hot for class ids).
      scores: float [R, L] (float32 or float64, as given).
      observed: bool [R, L], or None when every cell is observed.
      cell_weights: float64 [R, L] or None (unweighted); zero on ignored cells.
      row_weights: float64 [R], or None when every row has weight 1: the weight of a row in
        ``n``, exact match and the argmax metrics (its weight; with per-cell weights the mean
        over its observed cells; 0 for a row with no observed cell).
      class_ids: int64 [R] true classes (single-label multi-class) or None.
      layout: the `Layout`.
    """

    labels: np.ndarray
    scores: np.ndarray
    observed: Optional[np.ndarray]
    cell_weights: Optional[np.ndarray]
    row_weights: Optional[np.ndarray]
    class_ids: Optional[np.ndarray]
    layout: Layout

    @property
    def multiclass(self):
        return self.class_ids is not None


def _as_array(name, value):
    try:
        return np.asarray(value)
    except Exception as e:  # ragged lists and the like
        raise ValueError(
            f"Expected `{name}` to be array-like; received {type(value).__name__}: {e}"
        ) from None


def _to_last(array, axis):
    return array if axis == array.ndim - 1 else np.moveaxis(array, axis, -1)


def format_inputs(y_true, y_score, sample_weight=None, ignore_value=None, label_axis=-1,
                  multiclass=False):
    """Validates and formats numpy inputs (see the module doc); raises ValueError on bad input.

    Args:
      y_true: 0/1 labels (bool or numeric) shaped like ``y_score``, or integer class ids
        without the label axis. Cells equal to ``ignore_value`` are left out.
      y_score: scores ``[N]``, ``[N, L]`` or ``[N, ..., L]`` (labels on ``label_axis``).
      sample_weight: None, per-row weights of the leading shape (``[N]``, ``[N, 1]``, or
        broadcastable; fewer dims than the leading shape are aligned on the left as in
        Keras, so ``[N]`` weighs every time step of a sample), or per-cell weights shaped
        like ``y_score``. Finite and >= 0.
      ignore_value: None, NaN or a number (not 0 or 1) marking missing labels.
      label_axis: the axis of ``y_score`` holding labels.
      multiclass: one-hot ``y_true`` of single-label multi-class data: keeps the argmax
        statistics (confusion matrix, top-k) as for class ids; each row must have one 1.
    """
    ignore = check_ignore_value(ignore_value)
    y_true = _as_array("y_true", y_true)
    y_score = _as_array("y_score", y_score)
    if y_score.dtype.kind not in "fiub":
        raise ValueError(f"Expected `y_score` to hold numbers; received dtype {y_score.dtype}.")
    layout = check_layout(y_true.shape, y_score.shape, label_axis)
    if y_score.dtype.kind != "f":
        y_score = y_score.astype(np.float64)
    elif y_score.dtype.itemsize < 4:
        y_score = y_score.astype(np.float32)  # float16 -> float32 is exact
    ndim = y_score.ndim
    if ndim == 1:
        y_score = y_score[:, None]
        if y_true.ndim == 1:
            y_true = y_true[:, None]
    else:
        y_score = _to_last(y_score, layout.label_axis)
        if y_true.ndim == ndim and not layout.class_ids:
            y_true = _to_last(y_true, layout.label_axis)
    lead, num_labels = layout.lead, layout.num_labels
    n_rows = int(np.prod(lead)) if lead else 1
    if n_rows == 0:
        raise ValueError(
            f"Expected at least one sample; received an empty batch (y_score of shape "
            f"{y_score.shape})."
        )
    scores = y_score.reshape(n_rows, num_labels)

    class_ids = None
    if layout.class_ids:
        ids = y_true.reshape(n_rows)
        row_observed = _observed_mask(ids, ignore)
        class_ids = _check_class_ids(ids, row_observed, num_labels)
        labels = class_ids[:, None] == np.arange(num_labels)
        observed = None if row_observed is None else np.repeat(
            row_observed[:, None], num_labels, axis=1)
    else:
        y_true = y_true.reshape(n_rows, num_labels)
        observed = _observed_mask(y_true, ignore)
        labels = _check_binary_labels(y_true, observed, ignore)
        if multiclass:
            class_ids = _one_hot_ids(labels, observed, num_labels)

    cell_w = None
    if sample_weight is not None:
        cell_w = _cell_weights(sample_weight, layout, ndim, n_rows, num_labels)
    if observed is not None:
        cell_w = observed.astype(np.float64) if cell_w is None else np.where(observed, cell_w, 0.0)
        if sample_weight is None and observed.all():
            observed, cell_w = None, None
    row_w = None
    if sample_weight is not None or observed is not None:
        obs = np.ones_like(labels) if observed is None else observed
        n_obs = obs.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            row_w = np.where(n_obs > 0, cell_w.sum(axis=1) / np.maximum(n_obs, 1), 0.0)
        if sample_weight is None:
            cell_w = None  # unweighted: counts stay integers; the mask says what is observed
    return Formatted(labels, scores, observed, cell_w, row_w, class_ids, layout)


def _observed_mask(values, ignore):
    if ignore is None:
        return None
    if math.isnan(ignore):
        if values.dtype.kind != "f":
            return None
        return ~np.isnan(values)
    return values != ignore


def _check_binary_labels(y_true, observed, ignore):
    if y_true.dtype == np.bool_:
        return y_true
    if y_true.dtype.kind not in "fiu":
        raise ValueError(f"Expected labels of 0 and 1; received dtype {y_true.dtype}.")
    bad = (y_true != 0) & (y_true != 1)
    if observed is not None:
        bad &= observed
    if np.any(bad):
        hint = ("For missing labels pass `ignore_value` (e.g. ignore_value=-1 or float('nan'))."
                if ignore is None else f"Cells equal to ignore_value={ignore} are left out.")
        raise ValueError(
            "Expected every label to be 0 or 1 (bool or numeric); received "
            f"{np.unique(y_true[bad])[:5].tolist()}. For class ids pass `y_true` without the "
            f"label axis (shape [N] with scores [N, C]). {hint}"
        )
    return y_true == 1


def _check_class_ids(ids, row_observed, num_classes):
    check = ids if row_observed is None else ids[row_observed]
    if ids.dtype.kind == "f":
        if np.any(check != np.round(check)):
            raise ValueError(
                "Expected integer class ids in `y_true`; received non-integer values "
                f"{np.unique(check[check != np.round(check)])[:5].tolist()}."
            )
    elif ids.dtype.kind not in "iub":
        raise ValueError(f"Expected integer class ids in `y_true`; received dtype {ids.dtype}.")
    if check.size and (check.min() < 0 or check.max() >= num_classes):
        raise ValueError(
            f"Expected class ids in [0, {num_classes}) to match the {num_classes} score columns; "
            f"received ids from {check.min()} to {check.max()}. Pass `ignore_value` for ids "
            "that mark unlabelled samples (e.g. 255)."
        )
    out = np.zeros(ids.shape, dtype=np.int64)
    if row_observed is None:
        out[:] = ids
    else:
        out[row_observed] = check
    return out


def _one_hot_ids(labels, observed, num_classes):
    """Class ids of one-hot rows (``multiclass=True``); a fully ignored row is left out, a
    partly ignored one is refused (its class is unknown)."""
    if num_classes < 2:
        raise ValueError(
            "Expected at least 2 classes with `multiclass=True`; received 1 score column."
        )
    if observed is not None:
        partial = observed.any(axis=1) & ~observed.all(axis=1)
        if np.any(partial):
            raise ValueError(
                "Expected every row of one-hot `y_true` with `multiclass=True` to be either fully "
                f"observed or fully equal to `ignore_value`; received {int(partial.sum())} rows "
                f"with some cells ignored (first: row {int(np.argmax(partial))}), whose class is "
                "unknown. Set the whole row to `ignore_value` to leave the sample out, or pass "
                "class ids [N] with scores [N, C].")
    rows = labels.sum(axis=1)
    check = rows if observed is None else rows[observed.all(axis=1)]
    if np.any(check != 1):
        bad = np.unique(check[check != 1])[:5].tolist()
        raise ValueError(
            "Expected one-hot `y_true` (exactly one 1 per row) with `multiclass=True`; received "
            f"rows with {bad} positives. For multi-label data leave `multiclass` False."
        )
    return np.argmax(labels, axis=1).astype(np.int64)


def _cell_weights(sample_weight, layout, ndim, n_rows, num_labels):
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"Expected `sample_weight` to hold numbers; received {type(sample_weight).__name__}: "
            f"{e}") from None
    lead = layout.lead
    full = lead + (num_labels,)
    if ndim > 1 and w.ndim == ndim:
        w = _to_last(w, layout.label_axis)  # laid out like y_score: move its labels last too
    per_cell = num_labels > 1 and w.ndim == len(lead) + 1 and w.shape[-1] == num_labels
    if not per_cell:
        if w.ndim == len(lead) + 1 and w.shape[-1] == 1:
            w = w[..., 0]
        if 0 < w.ndim < len(lead):
            # Fewer dims than the leading shape: aligned on the left, as Keras aligns
            # sample weights ([N] weighs every time step of a sample; numpy's right-aligned
            # broadcasting would weigh by time step when N == T).
            w = w.reshape(w.shape + (1,) * (len(lead) - w.ndim))
    try:
        w = np.broadcast_to(w, full if per_cell else lead)
    except ValueError:
        raise ValueError(
            f"Expected `sample_weight` of shape {tuple(lead)} (one weight per sample, or "
            f"broadcastable to it) or {tuple(full)} (one per label cell); received shape "
            f"{np.shape(sample_weight)}."
        ) from None
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            "Expected `sample_weight` to be finite and non-negative; received values from "
            f"{np.nanmin(w)} to {np.nanmax(w)}{' and NaN' if np.isnan(w).any() else ''}."
        )
    if per_cell:
        return np.ascontiguousarray(w.reshape(n_rows, num_labels))
    return np.repeat(w.reshape(n_rows, 1), num_labels, axis=1)
