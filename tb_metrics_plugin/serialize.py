"""Counts -> JSON-able dicts: the pure layer between `metrics.Counts` and the plugin's routes.

Every derived number here comes from a `Counts` method (precision, recall, f1, accuracies, best
thresholds): this module only selects, reshapes and cleans. JSON has no NaN or infinity, so every
non-finite float becomes ``null`` (``None``); integer counts stay integers (floats when the counts
are weighted). Thresholds are sent as the exact float32 values that were compared and stored
(``0.01`` arrives as ``0.009999999776482582``).

>>> import numpy as np
>>> from tb_metrics_plugin import metrics
>>> c = metrics.confusion_counts([[1, 0], [0, 1]], [[0.9, 0.2], [0.4, 0.6]], thresholds=[0.0, 0.5])
>>> counts_json(c, step=3, wall_time=1.5)["tp"]
[[1, 1], [1, 1]]
>>> floats(np.array([0.5, np.nan, np.inf]))
[0.5, None, None]
"""
import json
import math

import numpy as np

from tb_metrics_plugin import metrics

__all__ = [
    "BEST",
    "dumps",
    "floats",
    "numbers",
    "tag_json",
    "counts_json",
    "explorer_json",
    "heatmap_row",
    "series_point",
    "best_thresholds_json",
]

# The `threshold` parameter value that asks for each label's (or metric's) best threshold.
BEST = "best"
SERIES_KEYS = ("micro_f1", "macro_f1", "weighted_f1", "binary_accuracy", "exact_match_accuracy")


def floats(values):
    """A float array as a list, with ``None`` for NaN and +-inf."""
    a = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    return np.where(finite, a, None).tolist()


def numbers(values):
    """Counts as a (nested) list: Python ints when integral, else cleaned floats."""
    a = np.asarray(values)
    if a.dtype.kind in "iub":
        return a.astype(np.int64, copy=False).tolist()
    return floats(a)


def scalar(value):
    """One number: int for integers, float for finite floats, ``None`` otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def dumps(obj):
    """Compact JSON text; raises ValueError if a NaN or infinity slipped through."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def tag_json(meta, max_step, max_wall_time):
    """The `tags` entry of one tag, from its parsed metadata (`metadata.parse_plugin_metadata`)."""
    return {
        "labels": list(meta["label_names"]),
        "thresholds": floats(meta["thresholds"]),
        "from_logits": bool(meta["from_logits"]),
        "sample_unit": meta.get("sample_unit", "samples"),
        "max_step": int(max_step),
        "max_wall_time": scalar(max_wall_time),
    }


def counts_json(counts, step, wall_time):
    """The raw counts of one step: tp, fp, tn, fn as [L][T] nested lists."""
    return {
        "step": int(step),
        "wall_time": scalar(wall_time),
        "thresholds": floats(counts.thresholds),
        "labels": list(counts.label_names),
        "from_logits": counts.from_logits,
        "sample_weighted": counts.weighted,
        "sample_unit": counts.sample_unit,
        "tp": numbers(counts.tp),
        "fp": numbers(counts.fp),
        "tn": numbers(counts.tn),
        "fn": numbers(counts.fn),
        "exact_match": numbers(counts.exact_match),
        "n": scalar(counts.n),
        "nan": numbers(counts.nan),
    }


def explorer_json(counts, step, wall_time, zero_division=0.0, metric="f1", params=None):
    """Everything the threshold explorer draws: see `serialize_explorer.explorer_json`."""
    from tb_metrics_plugin import serialize_explorer

    return serialize_explorer.explorer_json(counts, step, wall_time, zero_division, metric, params)


def heatmap_row(counts, index=None):
    """[L] per-label F1 at threshold ``index``, or at each label's best threshold (``None``).

    At a fixed threshold an undefined F1 (no positives and none predicted) is ``null``
    (``zero_division=nan``); with best thresholds a label without positives is ``null``.
    """
    if index is None:
        return floats(counts.to_best_thresholds("f1").scores)
    return floats(counts.f1(average=None, zero_division=np.nan)[:, index])


def series_point(counts, index=None):
    """Headline metrics of one step: at threshold ``index``, or (``None``) each metric's best.

    "Best" is the maximum of each metric's curve over the stored thresholds (the best one
    global threshold for that metric, chosen by `Counts.best_index`: the one tie rule); the
    threshold reaching it is in ``<key>_threshold``.
    """
    curves = {
        "micro_f1": counts.f1(average="micro"),
        "macro_f1": counts.f1(average="macro"),
        "weighted_f1": counts.f1(average="weighted"),
        "binary_accuracy": counts.binary_accuracy(),
        "exact_match_accuracy": counts.exact_match_accuracy(),
    }
    out = {}
    for key, curve in curves.items():
        if index is not None:
            out[key] = scalar(curve[index])
            continue
        i = counts.best_index(curve)
        if i < 0:
            out[key], out[key + "_threshold"] = None, None
        else:
            out[key], out[key + "_threshold"] = scalar(curve[i]), float(counts.thresholds[i])
    return out


def best_thresholds_json(counts, metric="f1", params=None, step=None, run=None, tag=None):
    """The `BestThresholds` JSON (``tb_metrics_plugin.load_best_thresholds`` reads it back),
    with the objective's parameters and the step, run and tag the counts came from."""
    return counts.to_best_thresholds(metric, step=step, run=run, tag=tag,
                                     **dict(params or {})).to_json()
