"""`Counts`: per-label confusion counts at every threshold, and every metric derived from them.

Every metric here is a reduction over (tp, fp, tn, fn) and a few per-step sums, with one
`safe_divide` and an explicit ``zero_division`` that means what scikit-learn means. Ranking and
calibration (`ranking`) and threshold selection (`selection`) are separate modules whose
functions the `Counts` methods call.

>>> import numpy as np
>>> from tb_metrics_plugin import confusion_counts
>>> c = confusion_counts([[1, 0], [0, 1], [1, 1]], [[0.9, 0.2], [0.4, 0.6], [0.7, 0.3]],
...                      thresholds=[0.0, 0.5, 1.0])
>>> c.f1(average="micro").round(3).tolist()
[0.8, 0.857, 0.0]
"""
import dataclasses
import math
from typing import List, Optional

import numpy as np

from tb_metrics_plugin import inputs

__all__ = ["AVERAGES", "Counts", "safe_divide", "check_zero_division", "check_average",
           "nanmean"]

AVERAGES = (None, "micro", "macro", "weighted")

# Optional per-step sums (None when a file of an older format did not store them).
_OPTIONAL = ("categorical_correct", "top1_positive", "negative_rows", "confusion_matrix",
             "top_k_hits", "nan_positive")


def safe_divide(num, den, zero_division=0.0):
    """``num / den`` elementwise, with ``zero_division`` (0, 1 or nan) where ``den == 0``.

    >>> safe_divide([1, 1], [2, 0], zero_division=float("nan")).tolist()
    [0.5, nan]
    """
    check_zero_division(zero_division)
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    zero = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / np.where(zero, 1.0, den)
    return np.where(zero, float(zero_division), out)


def check_zero_division(zero_division):
    ok = isinstance(zero_division, (int, float, np.floating, np.integer)) and (
        zero_division in (0, 1) or math.isnan(zero_division)
    )
    if not ok or isinstance(zero_division, bool):
        raise ValueError(
            "Expected `zero_division` to be 0, 1 or float('nan') (as in scikit-learn); "
            f"received {zero_division!r}."
        )


def check_average(average, allowed=AVERAGES):
    if average not in allowed:
        raise ValueError(f"Expected `average` to be one of {allowed}; received {average!r}.")


def nanmean(per_label, weights=None):
    """Mean over labels (axis 0) leaving NaN out, optionally weighted, as scikit-learn averages.

    When every weight of the labels left is zero, falls back to the plain mean (scikit-learn).
    """
    per_label = np.asarray(per_label, dtype=np.float64)
    mask = ~np.isnan(per_label)
    vals = np.where(mask, per_label, 0.0)
    if weights is None:
        w = mask.astype(np.float64)
    else:
        weights = np.asarray(weights, dtype=np.float64)
        w = mask * (weights[:, None] if per_label.ndim == 2 else weights)
        zero = w.sum(axis=0) == 0
        w = np.where(zero, mask.astype(np.float64), w)
    den = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (vals * w).sum(axis=0) / np.where(den > 0, den, 1), np.nan)


@dataclasses.dataclass(eq=False)
class Counts:
    """Per-label confusion counts at every threshold, and the metrics derived from them.

    Attributes:
      thresholds: float32 [T] probabilities (a score is positive at ``t`` iff ``s >= t``).
      tp, fp, tn, fn: [L, T]; int64 when unweighted, float64 when weighted.
      exact_match: [T] samples whose every (observed) label is right at that threshold.
      n: samples (rows after flattening leading dims); the sum of row weights when weighted.
      nan: [L] NaN scores per label (never counted positive).
      label_names: L names.
      from_logits: whether the scores were logits (compared with the thresholds' logits).
      out_of_range: [L] non-NaN raw scores below 0 or above 1 (logits read as probabilities
        when ``from_logits`` is False).
      categorical_correct: samples whose top-scoring label is ``argmax(y_true)`` (what Keras'
        ``CategoricalAccuracy`` counts), or None (older files).
      top1_positive: samples whose top-scoring label is a positive, or None.
      negative_rows: samples with no positive (observed) label, or None: what predicting
        nothing scores in exact match.
      confusion_matrix: [C, C] at argmax, rows true and columns predicted, for single-label
        multi-class data; None otherwise (or when turned off).
      top_k_hits: [K] samples whose true class is among the k top scores, k = 1..K (K <= 5);
        None for multi-label data.
      nan_positive: [L] NaN scores on positive labels (None in older files).
      sample_unit: ``"samples"``, or ``"positions"`` when leading dims (time steps, pixels)
        were flattened into rows.

    ``observed`` (cells counted per label) is ``tp + fn + fp + tn`` at any threshold; it is
    ``n`` unless labels were ignored (``ignore_value``) or weighted per cell.
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
    out_of_range: Optional[np.ndarray] = None
    categorical_correct: Optional[float] = None
    top1_positive: Optional[float] = None
    negative_rows: Optional[float] = None
    confusion_matrix: Optional[np.ndarray] = None
    top_k_hits: Optional[np.ndarray] = None
    nan_positive: Optional[np.ndarray] = None
    sample_unit: str = "samples"

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
            raise ValueError(
                f"Expected `exact_match` of shape [{num_t}]; received {self.exact_match.shape}.")
        if self.nan.shape != (num_l,):
            raise ValueError(f"Expected `nan` of shape [{num_l}]; received {self.nan.shape}.")
        if self.out_of_range is None:
            self.out_of_range = np.zeros(num_l, dtype=self.nan.dtype)
        self.out_of_range = np.asarray(self.out_of_range)
        if self.out_of_range.shape != (num_l,):
            raise ValueError(
                f"Expected `out_of_range` of shape [{num_l}]; received {self.out_of_range.shape}.")
        for name, shape in (("confusion_matrix", (num_l, num_l)), ("nan_positive", (num_l,))):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value)
                if value.shape != shape:
                    raise ValueError(
                        f"Expected `{name}` of shape {list(shape)}; received {value.shape}.")
                setattr(self, name, value)
        if self.top_k_hits is not None:
            self.top_k_hits = np.asarray(self.top_k_hits)
            if self.top_k_hits.ndim != 1 or not 1 <= self.top_k_hits.size <= inputs.MAX_TOP_K:
                raise ValueError(
                    f"Expected `top_k_hits` of shape [K], 1 <= K <= {inputs.MAX_TOP_K}; received "
                    f"{self.top_k_hits.shape}.")
        self.label_names = inputs.check_label_names(self.label_names, num_l)
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
    def multiclass(self):
        """True for single-label multi-class counts (class ids, or one-hot with multiclass)."""
        return self.top_k_hits is not None

    @property
    def support(self):
        """[L] positives per label (tp + fn, the same at every threshold)."""
        return self.tp[:, 0] + self.fn[:, 0]

    @property
    def observed(self):
        """[L] cells counted per label (``n`` unless labels were ignored or weighted per cell)."""
        return self.tp[:, 0] + self.fn[:, 0] + self.fp[:, 0] + self.tn[:, 0]

    def __eq__(self, other):
        if not isinstance(other, Counts):
            return NotImplemented
        arrays = ("thresholds", "tp", "fp", "tn", "fn", "exact_match", "nan", "out_of_range")
        if not all(np.array_equal(getattr(self, f), getattr(other, f)) for f in arrays):
            return False
        for name in _OPTIONAL:
            a, b = getattr(self, name), getattr(other, name)
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
                return False
        return (self.n == other.n and self.label_names == other.label_names
                and self.from_logits == other.from_logits
                and self.sample_unit == other.sample_unit)

    def __repr__(self):
        return (f"Counts(labels={self.num_labels}, thresholds={self.num_thresholds}, n={self.n}, "
                f"from_logits={self.from_logits}, weighted={self.weighted}, "
                f"multiclass={self.multiclass})")

    def merge(self, other):
        """Returns the sum of two `Counts` over the same thresholds, labels and layout.

        A per-step sum that either side lacks (an older file) is None in the result.
        """
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
        if self.multiclass != other.multiclass or (
                self.multiclass and self.top_k_hits.shape != other.top_k_hits.shape):
            raise ValueError(
                "Expected Counts of the same kind to merge; received single-label multi-class "
                f"(multiclass={self.multiclass}) and multiclass={other.multiclass}."
            )
        optional = {}
        for name in _OPTIONAL:
            a, b = getattr(self, name), getattr(other, name)
            optional[name] = None if a is None or b is None else a + b
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
            out_of_range=self.out_of_range + other.out_of_range,
            sample_unit=self.sample_unit if self.sample_unit == other.sample_unit else "positions",
            **optional,
        )

    def threshold_index(self, threshold):
        """Index of the stored threshold nearest ``threshold`` (the lower one on a tie)."""
        t = float(threshold)
        if not math.isfinite(t):
            raise ValueError(f"Expected a finite threshold; received {threshold!r}.")
        dist = np.abs(self.thresholds.astype(np.float64) - t)
        return int(np.argmin(dist))  # argmin takes the first (lowest) on ties

    # -- precision, recall, F1 ------------------------------------------------------------------

    def _average(self, per_label, num, den, average, zero_division):
        if average is None:
            return per_label
        if average == "micro":
            return safe_divide(num.sum(axis=0), den.sum(axis=0), zero_division)
        if average == "macro":
            return nanmean(per_label)
        return nanmean(per_label, weights=self.support)

    def precision(self, average=None, zero_division=0):
        """Precision tp / (tp + fp): [L, T] for ``average=None``, else [T].

        ``average`` and ``zero_division`` mean what they mean in scikit-learn's
        ``precision_score`` (``nan`` leaves a label out of macro and weighted averages).
        """
        check_average(average)
        den = self.tp + self.fp
        return self._average(safe_divide(self.tp, den, zero_division), self.tp, den,
                             average, zero_division)

    def recall(self, average=None, zero_division=0):
        """Recall tp / (tp + fn): [L, T] for ``average=None``, else [T]."""
        check_average(average)
        den = self.tp + self.fn
        return self._average(safe_divide(self.tp, den, zero_division), self.tp, den,
                             average, zero_division)

    def fbeta(self, beta=1.0, average=None, zero_division=0):
        """F-beta (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp): [L, T] or [T] (scikit-learn)."""
        check_average(average)
        beta = float(beta)
        if not beta > 0 or not math.isfinite(beta):
            raise ValueError(f"Expected `beta` > 0 (e.g. 0.5 or 2); received {beta!r}.")
        b2 = beta * beta
        num = (1 + b2) * self.tp
        den = num + b2 * self.fn + self.fp
        return self._average(safe_divide(num, den, zero_division), num, den,
                             average, zero_division)

    def f1(self, average=None, zero_division=0):
        """F1 2tp / (2tp + fp + fn): [L, T] for ``average=None``, else [T]."""
        check_average(average)
        num = 2 * self.tp
        den = num + self.fp + self.fn
        return self._average(safe_divide(num, den, zero_division), num, den,
                             average, zero_division)

    # -- accuracies -----------------------------------------------------------------------------

    def binary_accuracy(self):
        """[T] correct cells / observed cells (``n * L`` when nothing is ignored).

        Keras' ``BinaryAccuracy`` counts ``s > t``; this counts ``s >= t``: they differ only for
        scores exactly on a threshold.
        """
        correct = (self.tp + self.tn).sum(axis=0)
        return safe_divide(correct, float(self.observed.sum()), np.nan)

    def exact_match_accuracy(self):
        """[T] share of samples whose every label is right (subset accuracy)."""
        return safe_divide(self.exact_match, float(self.n), np.nan)

    def all_negative_accuracy(self):
        """Binary accuracy of predicting every label negative: 1 - positives / cells."""
        total = float(self.observed.sum())
        return float(safe_divide(total - float(self.support.sum()), total, np.nan))

    def all_negative_exact_match(self):
        """Exact-match accuracy of predicting nothing: the share of samples with no positive
        label (NaN when the counts predate it)."""
        if self.negative_rows is None:
            return float("nan")
        return float(safe_divide(float(self.negative_rows), float(self.n), np.nan))

    def categorical_accuracy(self):
        """What Keras' ``CategoricalAccuracy`` / ``SparseCategoricalAccuracy`` give: the share
        of samples whose top-scoring label is ``argmax(y_true)`` (first index on ties; a row
        with no positive counts as label 0). Keras' ``metrics=["accuracy"]`` is this for every
        output with more than one column. NaN for a single column (where Keras picks
        ``BinaryAccuracy``: `binary_accuracy`) and when the counts predate it.

        Raises nothing; returns a float.
        """
        if self.categorical_correct is None or (self.num_labels == 1 and not self.multiclass):
            # One column: argmax is always column 0, so the share would read 1.0 whatever the
            # model does; Keras' `accuracy` there is BinaryAccuracy (see binary_accuracy).
            return float("nan")
        return float(safe_divide(float(self.categorical_correct), float(self.n), np.nan))

    def precision_at_1(self):
        """Share of samples whose top-scoring label is a positive label (NaN if unknown)."""
        if self.top1_positive is None:
            return float("nan")
        return float(safe_divide(float(self.top1_positive), float(self.n), np.nan))

    def top_k_accuracy(self, k=1):
        """Share of samples whose true class is among the ``k`` top scores (single-label data).

        Ties rank the lower class index first (as argmax); scikit-learn's
        ``top_k_accuracy_score`` ranks tied higher indices first, so they differ only on ties.

        Raises:
          ValueError: multi-label counts, or ``k`` outside 1..K (K = min(5, classes)).
        """
        if self.top_k_hits is None:
            raise ValueError(
                "Expected single-label multi-class counts (class ids [N] with scores [N, C], or "
                "multiclass=True) for top_k_accuracy; these counts are multi-label.")
        num_k = self.top_k_hits.size
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= num_k:
            raise ValueError(f"Expected `k` in 1..{num_k}; received {k!r}.")
        return float(safe_divide(float(self.top_k_hits[k - 1]), float(self.n), np.nan))

    def out_of_range_share(self):
        """Share of observed non-NaN cells whose raw score lies outside [0, 1]."""
        valid = float(self.observed.sum() - self.nan.sum())
        return float(safe_divide(float(self.out_of_range.sum()), valid, 0.0))

    # -- ranking, distributions, calibration (see `ranking`) ------------------------------------

    def roc_auc(self, average="macro"):
        """ROC-AUC per label ([L], ``average=None``) or averaged: see `ranking.roc_auc`."""
        from tb_metrics_plugin import ranking

        return ranking.roc_auc(self, average)

    def average_precision(self, average="macro"):
        """Average precision (scikit-learn's step sum): see `ranking.average_precision`."""
        from tb_metrics_plugin import ranking

        return ranking.average_precision(self, average)

    def roc_curve(self, average=None):
        """(fpr, tpr) at every threshold: [L, T] each, or [T] pooled (``"micro"``)."""
        from tb_metrics_plugin import ranking

        return ranking.roc_curve(self, average)

    def score_histogram(self):
        """(positives, negatives), each [L, T+1]: see `ranking.score_histogram`."""
        from tb_metrics_plugin import ranking

        return ranking.score_histogram(self)

    def reliability(self, average=None):
        """(confidence [T+1], positive share, cells): see `ranking.reliability`."""
        from tb_metrics_plugin import ranking

        return ranking.reliability(self, average)

    def expected_calibration_error(self, average=None):
        """ECE over the threshold bins: see `ranking.expected_calibration_error`."""
        from tb_metrics_plugin import ranking

        return ranking.expected_calibration_error(self, average)

    # -- thresholds (see `selection`) -------------------------------------------------------------

    def best_threshold_indices(self, metric="f1", per_label=True, **params):
        """Index of the best threshold per label ([L], -1 where none qualifies), or one index
        for all labels with ``per_label=False``: see `selection.best_threshold_indices`."""
        from tb_metrics_plugin import selection

        return selection.best_threshold_indices(self, metric, per_label=per_label, **params)

    @staticmethod
    def best_index(curve, higher=True):
        """Index of the best value of a [T] curve (e.g. ``f1(average="micro")``) by the one tie
        rule of every "best" (-1 if all NaN): see `selection.argbest`."""
        from tb_metrics_plugin import selection

        return selection.argbest(curve, higher)

    def best_thresholds(self, metric="f1", per_label=True, **params):
        """[L] per label the best threshold for ``metric`` (NaN where none qualifies), or one
        threshold for all labels (``per_label=False``): see `selection.best_thresholds`."""
        from tb_metrics_plugin import selection

        return selection.best_thresholds(self, metric, per_label=per_label, **params)

    def to_best_thresholds(self, metric="f1", per_label=True, **params):
        """The best thresholds as a `selection.BestThresholds`, ready to save and apply."""
        from tb_metrics_plugin import selection

        return selection.to_best_thresholds(self, metric, per_label=per_label, **params)
