"""Counts -> JSON for the confusion-matrix, per-label ranking and comparison views.

Like `serialize`, this module only selects and reshapes: every number comes from a `Counts`
attribute or method (``confusion_matrix``, ``categorical_accuracy``, ``top_k_accuracy``,
``average_precision``, ``roc_auc``, ``best_threshold_indices``, ``f1``...). Non-finite floats
become ``null``.

>>> import numpy as np
>>> from tb_metrics_plugin import confusion_counts
>>> c = confusion_counts([0, 1, 1], [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]], thresholds=3,
...                      label_names=["cat", "dog"])
>>> d = confusion_json(c, step=0, wall_time=1.0)
>>> d["classes"], d["matrix"], d["categorical_accuracy"]
(['cat', 'dog'], [1, 0, 1, 1], 0.6666666666666666)
"""
import numpy as np

from tb_metrics_plugin.serialize import floats, numbers, scalar

__all__ = [
    "RANK_VALUES",
    "SERIES_EXTRA_KEYS",
    "NO_MATRIX_REASON",
    "confusion_json",
    "confusion_part",
    "label_values",
    "series_extras",
]

# What the per-label ranking view can show: F1 at a threshold (or at each label's best for an
# objective), or a threshold-free ranking metric.
RANK_VALUES = ("f1", "average_precision", "roc_auc")

# Threshold-free numbers of one step for the comparison view (route `series`).
SERIES_EXTRA_KEYS = (
    "categorical_accuracy", "all_negative_accuracy", "all_negative_exact_match",
    "macro_average_precision", "micro_average_precision", "macro_roc_auc", "micro_roc_auc",
    "nan_scores",
)

NO_MATRIX_REASON = (
    "This tag holds no confusion matrix: its counts are multi-label (several labels per sample, "
    "no single predicted class) or their writer did not keep one. For single-label multi-class "
    "data, pass integer class ids [N] with scores [N, C] (or one-hot labels with "
    "multiclass=True) to tbm.confusion_counts or a metric that keeps the matrix; the C x C "
    "matrix at argmax is then stored with the counts.")


def confusion_part(counts, step, wall_time):
    """The matrix part of one step: ``matrix`` flat [C*C] row-major (rows true class, columns
    predicted class, at argmax), ``n``, ``categorical_accuracy`` (trace / n) and
    ``top_k_accuracy`` [K] for k = 1..K. ``matrix`` is ``None`` for multi-label counts or when
    the writer turned the matrix off."""
    out = {
        "step": int(step),
        "wall_time": scalar(wall_time),
        "n": scalar(counts.n),
        "categorical_accuracy": scalar(counts.categorical_accuracy()),
        "matrix": None,
        "top_k_accuracy": None,
    }
    if counts.confusion_matrix is not None:
        out["matrix"] = numbers(np.asarray(counts.confusion_matrix).ravel())
    if counts.top_k_hits is not None:
        out["top_k_accuracy"] = [scalar(counts.top_k_accuracy(k))
                                 for k in range(1, counts.top_k_hits.size + 1)]
    return out


def confusion_json(counts, step, wall_time, run=None, against=None):
    """Everything the confusion-matrix view draws for one step.

    ``against``: ``None`` or a dict from `confusion_part` (another step or run of a tag with the
    same classes) to draw the difference against. Keys: ``run``, ``classes`` [C], ``multiclass``,
    ``reason`` (why there is no matrix, or ``None``), ``sample_weighted``, the `confusion_part`
    keys, and ``against``.
    """
    out = {
        "run": run,
        "classes": list(counts.label_names),
        "multiclass": bool(counts.multiclass),
        "sample_weighted": counts.weighted,
        "reason": None,
    }
    out.update(confusion_part(counts, step, wall_time))
    if not counts.multiclass:
        out["reason"] = NO_MATRIX_REASON
    elif out["matrix"] is None:
        out["reason"] = ("The writer of this tag left the confusion matrix out (it can be turned "
                         "off for very many classes); top-k accuracy is still shown.")
    out["against"] = against
    return out


def label_values(counts, value="f1", index=None, metric="f1", params=None):
    """([L] per-label values, [L] thresholds or None) for one heatmap row.

    ``value="f1"``: F1 at threshold ``index`` (``null`` where undefined: no positives and none
    predicted, ``zero_division=nan``), or with ``index=None`` F1 at each label's best threshold
    for the objective ``metric`` / ``params`` (`Counts.best_threshold_indices`), whose
    thresholds are returned too (``null`` where no threshold qualifies). ``"average_precision"``
    / ``"roc_auc"``: the threshold-free per-label values (`Counts.average_precision`,
    `Counts.roc_auc`; ``null`` for a label without positives / negatives).
    """
    if value == "average_precision":
        return floats(counts.average_precision(average=None)), None
    if value == "roc_auc":
        return floats(counts.roc_auc(average=None)), None
    f1 = counts.f1(average=None, zero_division=np.nan)
    if index is not None:
        return floats(f1[:, index]), None
    idx = np.asarray(counts.best_threshold_indices(metric, **(params or {})))
    rows = np.arange(counts.num_labels)
    found = idx >= 0
    safe = np.where(found, idx, 0)
    return (floats(np.where(found, f1[rows, safe], np.nan)),
            floats(np.where(found, counts.thresholds[safe].astype(np.float64), np.nan)))


def series_extras(counts):
    """Threshold-free numbers of one step (`SERIES_EXTRA_KEYS`): Keras' ``accuracy``
    (`Counts.categorical_accuracy`), the all-negative baselines of binary and exact-match
    accuracy, macro / micro AP and ROC-AUC, and the NaN scores of the step."""
    return {
        "categorical_accuracy": scalar(counts.categorical_accuracy()),
        "all_negative_accuracy": scalar(counts.all_negative_accuracy()),
        "all_negative_exact_match": scalar(counts.all_negative_exact_match()),
        "macro_average_precision": scalar(counts.average_precision(average="macro")),
        "micro_average_precision": scalar(counts.average_precision(average="micro")),
        "macro_roc_auc": scalar(counts.roc_auc(average="macro")),
        "micro_roc_auc": scalar(counts.roc_auc(average="micro")),
        "nan_scores": scalar(np.asarray(counts.nan).sum()),
    }
