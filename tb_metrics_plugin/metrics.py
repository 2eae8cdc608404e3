"""Exact per-label confusion counts at many thresholds, and every metric derived from them.

Pure numpy: no Keras, no TensorFlow. Every derived metric is a reduction over the four counts
(tp, fp, tn, fn) of each label at each threshold, so the Keras metric, the writer, the
TensorBoard plugin and the dashboard all share one implementation.

Semantics (see DESIGN.md):

* a score ``s`` is predicted positive at threshold ``t`` iff ``s >= t``; thresholds are float32
  probabilities;
* with ``from_logits=True`` a logit ``z`` is positive iff ``z >= float32(log(t / (1 - t)))``
  (no sigmoid per element, so no rounding of saturated probabilities);
* NaN scores are never positive and are tallied per label.

Example:

>>> import numpy as np
>>> y_true = np.array([[1, 0], [0, 1], [1, 1]])
>>> y_score = np.array([[0.9, 0.2], [0.4, 0.6], [0.7, 0.3]])
>>> c = confusion_counts(y_true, y_score, thresholds=[0.0, 0.5, 1.0])
>>> c.tp.tolist()
[[2, 2, 0], [2, 1, 0]]
>>> c.f1(average="micro").round(3).tolist()
[0.8, 0.857, 0.0]
"""
import dataclasses
import json
import math
from typing import List, Optional

import numpy as np

__all__ = [
    "AVERAGES",
    "BestThresholds",
    "Counts",
    "confusion_counts",
    "cut_values",
    "logit_cuts",
    "make_thresholds",
    "safe_divide",
    "save_best_thresholds",
    "load_best_thresholds",
]

AVERAGES = (None, "micro", "macro", "weighted")
METRICS = ("f1",)
BEST_THRESHOLDS_FORMAT = "tb_metrics.best_thresholds"
BEST_THRESHOLDS_VERSION = 1


# ---------------------------------------------------------------------------------------------
# Thresholds


def make_thresholds(thresholds=101):
    """Returns the float32 thresholds that scores are compared with.

    Args:
      thresholds: an int ``T >= 1`` for ``numpy.linspace(0, 1, T)`` rounded to float32, or a
        1-D sequence of probabilities in [0, 1], strictly ascending after rounding to float32.

    Raises:
      ValueError: when ``thresholds`` is neither, saying what was expected and received.
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

    ``t = 0`` gives ``-inf`` and ``t = 1`` gives ``+inf``.
    """
    t = np.asarray(thresholds, dtype=np.float32).astype(np.float64)
    with np.errstate(divide="ignore"):
        cuts = np.log(t) - np.log1p(-t)
    return cuts.astype(np.float32)


def cut_values(thresholds, from_logits=False):
    """What scores are compared with: the thresholds, or their logits when ``from_logits``."""
    thresholds = np.asarray(thresholds, dtype=np.float32)
    return logit_cuts(thresholds) if from_logits else thresholds


def safe_divide(num, den, zero_division=0.0):
    """``num / den`` elementwise, with ``zero_division`` (0, 1 or nan) where ``den == 0``."""
    _check_zero_division(zero_division)
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    zero = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / np.where(zero, 1.0, den)
    return np.where(zero, float(zero_division), out)


def _check_zero_division(zero_division):
    ok = isinstance(zero_division, (int, float, np.floating, np.integer)) and (
        zero_division in (0, 1) or math.isnan(zero_division)
    )
    if not ok or isinstance(zero_division, bool):
        raise ValueError(
            "Expected `zero_division` to be 0, 1 or float('nan') (as in scikit-learn); "
            f"received {zero_division!r}."
        )


# ---------------------------------------------------------------------------------------------
# Counting


def _as_array(name, value):
    try:
        return np.asarray(value)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"Expected `{name}` to be array-like; received {type(value).__name__}: {e}")


def _prepare(y_true, y_score, sample_weight):
    """Brings inputs to labels [N, L] (bool), scores [N, L] (float) and weights [N] or None."""
    y_true = _as_array("y_true", y_true)
    y_score = _as_array("y_score", y_score)
    if y_score.dtype.kind not in "fiub":
        raise ValueError(
            f"Expected `y_score` to hold numbers; received dtype {y_score.dtype}."
        )
    if y_score.ndim == 0:
        raise ValueError("Expected `y_score` of shape [N], [N, L] or [N, ..., L]; received a scalar.")
    if y_score.dtype.kind != "f":
        y_score = y_score.astype(np.float64)
    elif y_score.dtype.itemsize < 4:
        y_score = y_score.astype(np.float32)  # float16 -> float32 is exact
    if y_score.ndim == 1:
        y_score = y_score[:, None]
    lead = y_score.shape[:-1]
    num_labels = y_score.shape[-1]

    if y_true.shape == y_score.shape:
        labels = y_true
    elif y_true.shape == lead or y_true.shape == lead + (1,) and num_labels > 1:
        if y_true.shape != lead:
            y_true = y_true[..., 0]
        if num_labels == 1:
            labels = y_true[..., None]
        else:
            labels = _one_hot(y_true, num_labels)
    else:
        raise ValueError(
            "Expected `y_true` with the shape of `y_score` "
            f"{tuple(y_score.shape)} (or class ids of shape {tuple(lead)} for single-label "
            f"multi-class scores); received `y_true` of shape {tuple(y_true.shape)}."
        )
    if labels.dtype != np.bool_:
        if labels.dtype.kind not in "fiu":
            raise ValueError(f"Expected labels of 0 and 1; received dtype {labels.dtype}.")
        bad = (labels != 0) & (labels != 1)
        if np.any(bad):
            raise ValueError(
                "Expected every label to be 0 or 1 (bool or numeric); received "
                f"{np.unique(labels[bad])[:5].tolist()}. For class ids pass `y_true` of shape "
                "[N] with scores of shape [N, C]."
            )
        labels = labels == 1
    n_rows = int(np.prod(lead)) if lead else 1
    if n_rows == 0:
        raise ValueError(
            f"Expected at least one sample; received an empty batch (y_score of shape {y_score.shape})."
        )
    labels = labels.reshape(n_rows, num_labels)
    scores = y_score.reshape(n_rows, num_labels)
    weights = None
    if sample_weight is not None:
        weights = _prepare_weights(sample_weight, lead, n_rows)
    return labels, scores, weights


def _one_hot(class_ids, num_classes):
    ids = np.asarray(class_ids)
    if ids.dtype.kind == "f":
        if np.any(ids != np.round(ids)):
            raise ValueError(
                "Expected integer class ids in `y_true`; received non-integer values "
                f"{np.unique(ids[ids != np.round(ids)])[:5].tolist()}."
            )
    elif ids.dtype.kind not in "iub":
        raise ValueError(f"Expected integer class ids in `y_true`; received dtype {ids.dtype}.")
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(
            f"Expected class ids in [0, {num_classes}) to match the {num_classes} score columns; "
            f"received ids from {ids.min()} to {ids.max()}."
        )
    return ids.astype(np.int64)[..., None] == np.arange(num_classes)


def _prepare_weights(sample_weight, lead, n_rows):
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == len(lead) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    try:
        w = np.broadcast_to(w, lead)
    except ValueError:
        raise ValueError(
            f"Expected `sample_weight` of shape {tuple(lead)} (one weight per sample, or "
            f"broadcastable to it); received shape {np.shape(sample_weight)}."
        ) from None
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            "Expected `sample_weight` to be finite and non-negative; received values from "
            f"{np.nanmin(w)} to {np.nanmax(w)}{' and NaN' if np.isnan(w).any() else ''}."
        )
    return w.reshape(n_rows)


def _default_label_names(num_labels):
    return [str(i) for i in range(num_labels)]


def _check_label_names(label_names, num_labels):
    if label_names is None:
        return _default_label_names(num_labels)
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
    return names


def confusion_counts(
    y_true,
    y_score,
    thresholds=101,
    from_logits=False,
    sample_weight=None,
    label_names=None,
):
    """Counts TP, FP, TN and FN of every label at every threshold, exactly.

    Costs O(N*L*log T + L*T) time and O(N*L + L*T) memory: each score is placed among the sorted
    thresholds by a binary search, the positions are histogrammed per label, and a reverse
    cumulative sum gives the counts at every threshold. The result is identical to comparing
    every score with every threshold.

    Args:
      y_true: 0/1 labels (bool or numeric) of the shape of ``y_score``; or integer class ids of
        shape [N] with scores [N, C] (one-vs-rest per class).
      y_score: scores of shape [N], [N, 1] (binary), [N, L] or [N, ..., L] (leading dims are
        flattened into samples). Probabilities, or logits with ``from_logits=True``.
      thresholds: an int T (``linspace(0, 1, T)`` in float32) or sorted probabilities.
      from_logits: compare scores with the logit of each threshold.
      sample_weight: optional non-negative weight per sample, shape [N] (or the leading dims).
      label_names: optional list of L names.

    Returns:
      A `Counts`.

    Example:

    >>> c = confusion_counts([1, 0, 1], [2.0, -1.0, 0.0], thresholds=[0.5], from_logits=True)
    >>> int(c.tp[0, 0]), int(c.fp[0, 0]), int(c.fn[0, 0])
    (2, 0, 0)
    """
    thresholds = make_thresholds(thresholds)
    labels, scores, weights = _prepare(y_true, y_score, sample_weight)
    names = _check_label_names(label_names, labels.shape[1])
    cuts = cut_values(thresholds, from_logits)
    num_t = thresholds.size
    n_rows, num_labels = labels.shape

    # k[i, l]: how many thresholds the score reaches (positive at threshold indices < k).
    cmp_dtype = np.result_type(scores.dtype, np.float32)
    isnan = np.isnan(scores)
    k = np.searchsorted(cuts.astype(cmp_dtype), scores.astype(cmp_dtype, copy=False), side="right")
    k[isnan] = 0

    # Histogram of k per label, separately for positive and negative labels.
    flat = (np.arange(num_labels) * (num_t + 1))[None, :] + k
    flat = flat + labels * (num_labels * (num_t + 1))
    cell_w = None if weights is None else np.broadcast_to(weights[:, None], labels.shape).ravel()
    hist = np.bincount(flat.ravel(), weights=cell_w, minlength=2 * num_labels * (num_t + 1))
    hist = hist.reshape(2, num_labels, num_t + 1)
    # reaching[.., j] = samples with k > j = sum of hist[.., j+1:]
    reaching = np.cumsum(hist[..., ::-1], axis=-1)[..., ::-1][..., 1:]
    totals = hist.sum(axis=-1)
    fp, tp = reaching[0], reaching[1]
    pos_total = totals[1]

    # A sample is exactly right at thresholds j with lo <= j < hi.
    lo = np.where(labels, 0, k).max(axis=1)
    hi = np.where(labels, k, num_t).min(axis=1)
    valid = lo < hi
    row_w = None if weights is None else weights[valid]
    diff = np.bincount(lo[valid], weights=row_w, minlength=num_t + 1)
    diff = diff - np.bincount(hi[valid], weights=row_w, minlength=num_t + 1)
    exact = np.cumsum(diff)[:num_t]

    nan = np.bincount(
        np.nonzero(isnan)[1],
        weights=None if weights is None else np.broadcast_to(weights[:, None], labels.shape)[isnan],
        minlength=num_labels,
    )
    if weights is None:
        dtype = np.int64
        n = n_rows
    else:
        dtype = np.float64
        n = float(weights.sum())
    tp = tp.astype(dtype)
    fp = fp.astype(dtype)
    support = pos_total.astype(dtype)
    # tn and fn exactly as the storage format rebuilds them (same float rounding when weighted)
    return Counts(
        thresholds=thresholds,
        tp=tp,
        fp=fp,
        tn=(n - support)[:, None] - fp,
        fn=support[:, None] - tp,
        exact_match=exact.astype(dtype),
        n=n,
        nan=nan.astype(dtype),
        label_names=names,
        from_logits=bool(from_logits),
    )


# ---------------------------------------------------------------------------------------------
# Counts and the metrics derived from them


@dataclasses.dataclass(eq=False)
class Counts:
    """Per-label confusion counts at every threshold, and the metrics derived from them.

    Attributes:
      thresholds: float32 [T] probabilities.
      tp, fp, tn, fn: [L, T]; int64 when unweighted, float64 when weighted.
      exact_match: [T] samples whose every label is right at that threshold.
      n: number of samples (sum of sample weights when weighted).
      nan: [L] NaN scores per label (never counted positive).
      label_names: L names.
      from_logits: whether the scores were logits (compared with the thresholds' logits).
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    tn: np.ndarray
    fn: np.ndarray
    exact_match: np.ndarray
    n: float
    nan: np.ndarray
    label_names: List[str]
    from_logits: bool = False

    def __post_init__(self):
        self.thresholds = np.asarray(self.thresholds, dtype=np.float32)
        num_t = self.thresholds.shape[0]
        for name in ("tp", "fp", "tn", "fn"):
            value = np.asarray(getattr(self, name))
            if value.ndim != 2 or value.shape[1] != num_t:
                raise ValueError(
                    f"Expected `{name}` of shape [L, {num_t}] (labels x thresholds); received "
                    f"{value.shape}."
                )
            setattr(self, name, value)
        num_l = self.tp.shape[0]
        if not (self.fp.shape == self.tn.shape == self.fn.shape == self.tp.shape):
            raise ValueError("Expected tp, fp, tn and fn of one shape; received "
                             f"{self.tp.shape}, {self.fp.shape}, {self.tn.shape}, {self.fn.shape}.")
        self.exact_match = np.asarray(self.exact_match)
        self.nan = np.asarray(self.nan)
        if self.exact_match.shape != (num_t,):
            raise ValueError(f"Expected `exact_match` of shape [{num_t}]; received {self.exact_match.shape}.")
        if self.nan.shape != (num_l,):
            raise ValueError(f"Expected `nan` of shape [{num_l}]; received {self.nan.shape}.")
        self.label_names = _check_label_names(self.label_names, num_l)
        self.from_logits = bool(self.from_logits)

    # -- shape and bookkeeping ----------------------------------------------------------------

    @property
    def num_labels(self):
        return self.tp.shape[0]

    @property
    def num_thresholds(self):
        return self.thresholds.shape[0]

    @property
    def weighted(self):
        """True when the counts are weighted sums (floats)."""
        return self.tp.dtype.kind == "f"

    @property
    def support(self):
        """[L] positives per label (tp + fn, the same at every threshold)."""
        return self.tp[:, 0] + self.fn[:, 0]

    def __eq__(self, other):
        if not isinstance(other, Counts):
            return NotImplemented
        return (
            np.array_equal(self.thresholds, other.thresholds)
            and all(np.array_equal(getattr(self, f), getattr(other, f))
                    for f in ("tp", "fp", "tn", "fn", "exact_match", "nan"))
            and self.n == other.n
            and self.label_names == other.label_names
            and self.from_logits == other.from_logits
        )

    def __repr__(self):
        return (f"Counts(labels={self.num_labels}, thresholds={self.num_thresholds}, n={self.n}, "
                f"from_logits={self.from_logits}, weighted={self.weighted})")

    def merge(self, other):
        """Returns the sum of two `Counts` over the same thresholds and labels."""
        if not isinstance(other, Counts):
            raise ValueError(f"Expected a Counts to merge; received {type(other).__name__}.")
        if not np.array_equal(self.thresholds, other.thresholds):
            raise ValueError(
                "Expected Counts over the same thresholds to merge; received "
                f"{self.num_thresholds} and {other.num_thresholds} thresholds that differ."
            )
        if self.label_names != other.label_names or self.from_logits != other.from_logits:
            raise ValueError(
                "Expected Counts with the same label names and from_logits to merge; received "
                f"{self.num_labels} labels (from_logits={self.from_logits}) and "
                f"{other.num_labels} labels (from_logits={other.from_logits})."
            )
        return Counts(
            thresholds=self.thresholds,
            tp=self.tp + other.tp,
            fp=self.fp + other.fp,
            tn=self.tn + other.tn,
            fn=self.fn + other.fn,
            exact_match=self.exact_match + other.exact_match,
            n=self.n + other.n,
            nan=self.nan + other.nan,
            label_names=list(self.label_names),
            from_logits=self.from_logits,
        )

    def threshold_index(self, threshold):
        """Index of the stored threshold nearest ``threshold`` (the lower one on a tie)."""
        t = float(threshold)
        if not math.isfinite(t):
            raise ValueError(f"Expected a finite threshold; received {threshold!r}.")
        dist = np.abs(self.thresholds.astype(np.float64) - t)
        return int(np.argmin(dist))  # argmin takes the first (lowest) on ties

    # -- metrics ---------------------------------------------------------------------------------

    def _average(self, per_label, num, den, average, zero_division):
        if average is None:
            return per_label
        if average == "micro":
            return safe_divide(num.sum(axis=0), den.sum(axis=0), zero_division)
        if average == "macro":
            return _nanmean(per_label, weights=None)
        if average == "weighted":
            return _nanmean(per_label, weights=self.support)
        raise ValueError(
            f"Expected `average` to be one of {AVERAGES}; received {average!r}."
        )

    def precision(self, average=None, zero_division=0):
        """Precision tp / (tp + fp): [L, T] for ``average=None``, else [T]."""
        _check_average(average)
        den = self.tp + self.fp
        return self._average(safe_divide(self.tp, den, zero_division), self.tp, den,
                             average, zero_division)

    def recall(self, average=None, zero_division=0):
        """Recall tp / (tp + fn): [L, T] for ``average=None``, else [T]."""
        _check_average(average)
        den = self.tp + self.fn
        return self._average(safe_divide(self.tp, den, zero_division), self.tp, den,
                             average, zero_division)

    def f1(self, average=None, zero_division=0):
        """F1 2tp / (2tp + fp + fn): [L, T] for ``average=None``, else [T]."""
        _check_average(average)
        num = 2 * self.tp
        den = num + self.fp + self.fn
        return self._average(safe_divide(num, den, zero_division), num, den,
                             average, zero_division)

    def binary_accuracy(self):
        """[T] correct cells / (n * L): what Keras calls binary accuracy."""
        correct = (self.tp + self.tn).sum(axis=0)
        return safe_divide(correct, float(self.n) * self.num_labels, np.nan)

    def exact_match_accuracy(self):
        """[T] fraction of samples whose every label is right (subset accuracy)."""
        return safe_divide(self.exact_match, float(self.n), np.nan)

    def all_negative_accuracy(self):
        """Binary accuracy of predicting every label negative: 1 - positives / (n * L)."""
        total = float(self.n) * self.num_labels
        return float(safe_divide(total - float(self.support.sum()), total, np.nan))

    def best_threshold_indices(self, metric="f1"):
        """[L] per label the index of the threshold of highest ``metric``; -1 for no positives.

        On a tie, the first (lowest) run of consecutive tied thresholds is taken and its middle
        (the lower of the two middles when the run is even).
        """
        if metric not in METRICS:
            raise ValueError(f"Expected `metric` to be one of {METRICS}; received {metric!r}.")
        values = self.f1(average=None, zero_division=0)
        out = np.full(self.num_labels, -1, dtype=np.int64)
        has_pos = self.support > 0
        if not has_pos.any():
            return out
        v = values[has_pos]
        best = v.max(axis=1, keepdims=True)
        is_best = v == best
        start = np.argmax(is_best, axis=1)
        later_worse = ~is_best & (np.arange(self.num_thresholds)[None, :] > start[:, None])
        run_end = np.where(later_worse.any(axis=1), np.argmax(later_worse, axis=1),
                           self.num_thresholds)
        out[has_pos] = start + (run_end - start - 1) // 2
        return out

    def best_thresholds(self, metric="f1"):
        """[L] per label the threshold of highest ``metric`` (NaN for a label with no positives)."""
        idx = self.best_threshold_indices(metric)
        return np.where(idx >= 0, self.thresholds.astype(np.float64)[np.maximum(idx, 0)], np.nan)

    def to_best_thresholds(self, metric="f1"):
        """The per-label best thresholds as a `BestThresholds`, ready to save and apply."""
        idx = self.best_threshold_indices(metric)
        values = self.f1(average=None, zero_division=0)
        scores = np.where(idx >= 0, values[np.arange(self.num_labels), np.maximum(idx, 0)], np.nan)
        return BestThresholds(
            labels=list(self.label_names),
            thresholds=self.best_thresholds(metric),
            scores=scores,
            metric=metric,
            from_logits=self.from_logits,
        )


def _check_average(average):
    if average not in AVERAGES:
        raise ValueError(f"Expected `average` to be one of {AVERAGES}; received {average!r}.")


def _nanmean(per_label, weights):
    """Mean over labels (axis 0) ignoring NaN, optionally weighted; as scikit-learn averages."""
    mask = ~np.isnan(per_label)
    vals = np.where(mask, per_label, 0.0)
    if weights is None:
        w = mask.astype(np.float64)
    else:
        w = mask * np.asarray(weights, dtype=np.float64)[:, None]
        # scikit-learn: when every weight is zero, fall back to the plain mean.
        zero = w.sum(axis=0) == 0
        w = np.where(zero[None, :], mask.astype(np.float64), w)
    den = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (vals * w).sum(axis=0) / np.where(den > 0, den, 1), np.nan)


# ---------------------------------------------------------------------------------------------
# Best thresholds: save, load, apply


@dataclasses.dataclass(eq=False)
class BestThresholds:
    """Per-label decision thresholds (e.g. from `Counts.to_best_thresholds`), as JSON.

    >>> import numpy as np
    >>> b = BestThresholds(labels=["a", "b"], thresholds=np.array([0.3, np.nan]))
    >>> b.predict(np.array([[0.4, 0.6], [0.2, 0.4]])).tolist()
    [[True, True], [False, False]]
    """

    labels: List[str]
    thresholds: np.ndarray
    scores: Optional[np.ndarray] = None
    metric: str = "f1"
    from_logits: bool = False

    def __post_init__(self):
        self.thresholds = np.asarray(self.thresholds, dtype=np.float64).reshape(-1)
        self.labels = [str(x) for x in self.labels]
        if len(self.labels) != self.thresholds.size:
            raise ValueError(
                f"Expected one threshold per label ({len(self.labels)} labels); received "
                f"{self.thresholds.size} thresholds."
            )
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)

    def to_json(self):
        def clean(values):
            return [None if not math.isfinite(v) else float(v) for v in values]

        return {
            "format": BEST_THRESHOLDS_FORMAT,
            "version": BEST_THRESHOLDS_VERSION,
            "metric": self.metric,
            "from_logits": self.from_logits,
            "labels": list(self.labels),
            "thresholds": clean(self.thresholds),
            "scores": None if self.scores is None else clean(self.scores),
        }

    @classmethod
    def from_json(cls, data):
        if not isinstance(data, dict) or data.get("format") != BEST_THRESHOLDS_FORMAT:
            raise ValueError(
                f"Expected a JSON object with \"format\": \"{BEST_THRESHOLDS_FORMAT}\" (as "
                "written by save_best_thresholds or the dashboard's download); received "
                f"{str(data)[:80]!r}."
            )
        version = data.get("version")
        if not isinstance(version, int) or version > BEST_THRESHOLDS_VERSION:
            raise ValueError(
                f"Expected best-thresholds version <= {BEST_THRESHOLDS_VERSION}; received "
                f"{version!r}. Upgrade tb_metrics_plugin to read it."
            )

        def floats(values):
            return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

        scores = data.get("scores")
        return cls(
            labels=data["labels"],
            thresholds=floats(data["thresholds"]),
            scores=None if scores is None else floats(scores),
            metric=data.get("metric", "f1"),
            from_logits=bool(data.get("from_logits", False)),
        )

    def predict(self, y_score, default=0.5):
        """Applies the per-label thresholds: bool predictions of the shape of ``y_score``.

        Scores are read as logits when the thresholds were found on logits. A label without a
        best threshold (it had no positives) uses ``default``.
        """
        scores = np.asarray(y_score)
        if scores.shape[-1:] != (len(self.labels),):
            raise ValueError(
                f"Expected scores whose last dimension is {len(self.labels)} (one per label); "
                f"received shape {scores.shape}."
            )
        t = np.where(np.isnan(self.thresholds), float(default), self.thresholds)
        cuts = cut_values(t.astype(np.float32), self.from_logits)
        cmp_dtype = np.result_type(scores.dtype, np.float32)
        return scores.astype(cmp_dtype, copy=False) >= cuts.astype(cmp_dtype)


def save_best_thresholds(path, counts_or_best, metric="f1"):
    """Writes per-label best thresholds as JSON (the same file the dashboard downloads)."""
    best = counts_or_best
    if isinstance(best, Counts):
        best = best.to_best_thresholds(metric)
    if not isinstance(best, BestThresholds):
        raise ValueError(
            f"Expected a Counts or BestThresholds; received {type(counts_or_best).__name__}."
        )
    with open(path, "w", encoding="utf-8") as f:
        json.dump(best.to_json(), f, indent=1)
    return best


def load_best_thresholds(path):
    """Reads the JSON written by `save_best_thresholds` or downloaded from the dashboard."""
    with open(path, encoding="utf-8") as f:
        return BestThresholds.from_json(json.load(f))
