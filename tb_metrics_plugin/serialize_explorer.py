"""Counts -> the threshold explorer's JSON: headline numbers, warnings, ranking, distributions.

Like `serialize`, this module only selects and reshapes: every number is a `Counts` method's
(precision, recall, F1 with ``zero_division``; accuracies and their baselines; ROC-AUC and
average precision; score histograms and reliability; best thresholds of an objective).
Non-finite floats become ``null``.

>>> from tb_metrics_plugin import metrics
>>> c = metrics.confusion_counts([[1, 0], [0, 1]], [[0.9, 0.2], [0.4, 0.6]], thresholds=[0.0, 0.5])
>>> d = explorer_json(c, step=0, wall_time=1.0, zero_division=float("nan"))
>>> d["zero_division"], d["micro"]["f1"], d["warnings"]
('nan', [0.6666666666666666, 1.0], [])
"""
import math

import numpy as np

from tb_metrics_plugin import counting, inputs, selection
from tb_metrics_plugin.serialize import floats, numbers, scalar

__all__ = [
    "ZERO_DIVISION",
    "zero_division_name",
    "keras_accuracy",
    "warnings_json",
    "objective_json",
    "explorer_json",
    "curves_json",
    "distribution_json",
]

# The `zero_division` query values and the `Counts` argument each one means.
ZERO_DIVISION = {"0": 0.0, "1": 1.0, "nan": float("nan")}


def zero_division_name(zero_division):
    """0 -> "0", 1 -> "1", nan -> "nan" (the query spelling)."""
    zero_division = float(zero_division)
    return "nan" if math.isnan(zero_division) else str(int(zero_division))


def keras_accuracy(counts):
    """What Keras 3's ``metrics=["accuracy"]`` logs on these outputs, as far as the counts say.

    Keras resolves ``"accuracy"`` from shapes: one output column gives ``BinaryAccuracy``
    (``s > 0.5``: not `Counts.categorical_accuracy`, so ``value`` is None and the dashboard
    points at binary accuracy at 0.5); class ids ``[N]`` against ``[N, C]`` scores give
    ``SparseCategoricalAccuracy``; anything else (multi-label ``[N, L]`` included) gives
    ``CategoricalAccuracy``. The last two are `Counts.categorical_accuracy`.

    Returns ``{"metric": Keras class name, "value": float or None}``.
    """
    if counts.num_labels == 1:
        return {"metric": "BinaryAccuracy", "value": None}
    name = "SparseCategoricalAccuracy" if counts.multiclass else "CategoricalAccuracy"
    return {"metric": name, "value": scalar(counts.categorical_accuracy())}


def warnings_json(counts):
    """[{kind, message}] about the data itself: scores outside [0, 1] read as probabilities
    (``kind="out_of_range"``, the message of `counting.out_of_range_message`), scores that all
    lie in [0, 1] read as logits (``kind="probabilities_as_logits"``) and NaN scores
    (``kind="nan"``)."""
    out = []
    message = counting.out_of_range_message(counts)
    if message:
        out.append({"kind": "out_of_range", "message": message})
    message = counting.probabilities_as_logits_message(counts)
    if message:
        out.append({"kind": "probabilities_as_logits", "message": message})
    nan = np.asarray(counts.nan, dtype=np.float64)
    total = float(nan.sum())
    if total > 0:
        labels = int((nan > 0).sum())
        amount = f"{int(total):,}" if total == int(total) else f"{total:,.2f} (weighted)"
        out.append({"kind": "nan", "message": (
            f"{amount} NaN score{'' if total == 1 else 's'} in {labels} of {counts.num_labels} "
            f"label{'' if counts.num_labels == 1 else 's'}: a NaN is never "
            "predicted positive, so these cells count as negatives predicted at every "
            "threshold. Look for a diverged model or NaN inputs.")})
    return out


def objective_json(counts, metric="f1", params=None):
    """Per label the best threshold of an objective (`Counts.to_best_thresholds`).

    Returns ``{metric, params (defaults filled), higher_is_better, index [L] (-1: none),
    threshold [L], value [L] (the objective there), f1 [L] (F1 there)}``.
    """
    params = selection.check_objective(metric, dict(params or {}))
    best = counts.to_best_thresholds(metric, **params)
    index = np.asarray(counts.best_threshold_indices(metric, **params), dtype=np.int64)
    f1 = counts.f1(average=None)
    rows = np.arange(counts.num_labels)
    f1_at = np.where(index >= 0, f1[rows, np.maximum(index, 0)], np.nan)
    return {
        "metric": metric,
        "params": params,
        "higher_is_better": bool(selection.OBJECTIVES[metric][1]),
        "index": index.tolist(),
        "threshold": floats(best.thresholds),
        "value": floats(best.scores),
        "f1": floats(f1_at),
    }


def _prf(counts, average, zero_division):
    return {
        "precision": floats(counts.precision(average=average, zero_division=zero_division)),
        "recall": floats(counts.recall(average=average, zero_division=zero_division)),
        "f1": floats(counts.f1(average=average, zero_division=zero_division)),
    }


def explorer_json(counts, step, wall_time, zero_division=0.0, metric="f1", params=None):
    """Everything the threshold explorer draws, at every threshold, for one step.

    Curves and averages use ``zero_division`` (0, 1 or nan, as in scikit-learn); per-label
    precision / recall / F1 at the slider are left to the client (from ``tp``, ``fp``,
    ``support``, flat [L*T] row-major, with the same ``zero_division``). ``best`` is the
    objective ``metric`` (with ``params``) per label. ``logits`` holds each threshold's logit
    cut when ``from_logits`` (``null`` at t=0 and t=1). ``sample_unit`` is ``"samples"`` or
    ``"positions"`` (leading dims flattened); ``warnings`` is `warnings_json`.
    """
    zd = float(zero_division)
    fpr, tpr = counts.roc_curve(average="micro")
    return {
        "step": int(step),
        "wall_time": scalar(wall_time),
        "thresholds": floats(counts.thresholds),
        "logits": floats(inputs.logit_cuts(counts.thresholds)) if counts.from_logits else None,
        "from_logits": counts.from_logits,
        "sample_weighted": counts.weighted,
        "sample_unit": counts.sample_unit,
        "multiclass": counts.multiclass,
        "top_k_accuracy": ([scalar(counts.top_k_accuracy(k))
                            for k in range(1, counts.top_k_hits.size + 1)]
                           if counts.multiclass else None),
        "zero_division": zero_division_name(zd),
        "labels": list(counts.label_names),
        "n": scalar(counts.n),
        "support": numbers(counts.support),
        "observed": numbers(counts.observed),
        "nan": numbers(counts.nan),
        "out_of_range_share": scalar(counts.out_of_range_share()),
        "warnings": warnings_json(counts),
        "micro": _prf(counts, "micro", zd),
        "macro": _prf(counts, "macro", zd),
        "weighted": {"f1": floats(counts.f1(average="weighted", zero_division=zd))},
        "binary_accuracy": floats(counts.binary_accuracy()),
        "exact_match_accuracy": floats(counts.exact_match_accuracy()),
        "all_negative_accuracy": scalar(counts.all_negative_accuracy()),
        "all_negative_exact_match": scalar(counts.all_negative_exact_match()),
        "categorical_accuracy": scalar(counts.categorical_accuracy()),
        "precision_at_1": scalar(counts.precision_at_1()),
        "keras_accuracy": keras_accuracy(counts),
        "average_precision": floats(counts.average_precision(average=None)),
        "roc_auc": floats(counts.roc_auc(average=None)),
        "ranking": {avg: {"average_precision": scalar(counts.average_precision(average=avg)),
                          "roc_auc": scalar(counts.roc_auc(average=avg))}
                    for avg in ("micro", "macro", "weighted")},
        "micro_roc": {"fpr": floats(fpr), "tpr": floats(tpr)},
        "best": objective_json(counts, metric, params),
        "tp": numbers(counts.tp.ravel()),
        "fp": numbers(counts.fp.ravel()),
    }


def label_index(counts, label):
    """Index of label name ``label`` (None: pooled); ValueError naming the labels if unknown."""
    if label is None:
        return None
    try:
        return list(counts.label_names).index(label)
    except ValueError:
        names = list(counts.label_names)
        shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        raise ValueError(f"Unknown label {label!r}; this tag has {len(names)} labels: {shown}.")


def curves_json(counts, step, wall_time, label=None):
    """The PR and ROC curves of one label (by name) or micro (``label=None``) at one step.

    Returns ``{step, wall_time, label, thresholds [T], precision, recall, fpr, tpr, predicted
    [T] (tp + fp: where predicted is 0 precision is undefined), average_precision, roc_auc}``,
    precision with ``zero_division=0``.
    """
    i = label_index(counts, label)
    if i is None:
        precision = counts.precision(average="micro")
        recall = counts.recall(average="micro")
        fpr, tpr = counts.roc_curve(average="micro")
        predicted = (counts.tp + counts.fp).sum(axis=0)
        ap = counts.average_precision(average="micro")
        auc = counts.roc_auc(average="micro")
    else:
        precision = counts.precision()[i]
        recall = counts.recall()[i]
        fpr, tpr = (a[i] for a in counts.roc_curve(average=None))
        predicted = counts.tp[i] + counts.fp[i]
        ap = counts.average_precision(average=None)[i]
        auc = counts.roc_auc(average=None)[i]
    return {
        "step": int(step), "wall_time": scalar(wall_time), "label": label,
        "thresholds": floats(counts.thresholds),
        "precision": floats(precision), "recall": floats(recall),
        "fpr": floats(fpr), "tpr": floats(tpr), "predicted": numbers(predicted),
        "average_precision": scalar(ap), "roc_auc": scalar(auc),
    }


def _dist(pos, neg, confidence, share, cells, ece):
    return {
        "positives": numbers(pos), "negatives": numbers(neg),
        "confidence": floats(confidence), "positive_share": floats(share),
        "cells": numbers(cells), "ece": scalar(ece),
    }


def distribution_json(counts, step, wall_time, label=None):
    """Score histograms and reliability of all labels pooled and of one label (by name).

    Bins are ``(-inf, t_0), [t_0, t_1), ..., [t_{T-1}, +inf)`` (T+1 of them; probability
    bins also for logits): `Counts.score_histogram`, `Counts.reliability` (bin midpoints as
    confidence) and `Counts.expected_calibration_error`. ``label`` is null without one.
    """
    i = label_index(counts, label)
    pos, neg = counts.score_histogram()
    confidence, share, cells = counts.reliability(average="micro")
    pooled = _dist(pos.sum(axis=0), neg.sum(axis=0), confidence, share, cells,
                   counts.expected_calibration_error(average="micro"))
    one = None
    if i is not None:
        _, shares, cells_l = counts.reliability(average=None)
        one = _dist(pos[i], neg[i], confidence, shares[i], cells_l[i],
                    counts.expected_calibration_error(average=None)[i])
        one["name"] = label
    return {
        "step": int(step), "wall_time": scalar(wall_time),
        "thresholds": floats(counts.thresholds), "from_logits": counts.from_logits,
        "out_of_range": (None if counts.out_of_range is None else
                         scalar(counts.out_of_range.sum() if i is None else counts.out_of_range[i])),
        "pooled": pooled, "label": one,
    }
