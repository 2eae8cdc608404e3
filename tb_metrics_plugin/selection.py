"""Choosing thresholds to deploy: objectives, the one tie rule, and `BestThresholds` as JSON.

Objectives (per label over the stored thresholds; a label with no positives has none):

* ``"f1"``; ``"fbeta"`` (``beta=``): highest F-beta (``zero_division=0``);
* ``"recall_at_precision"`` (``precision=``): highest recall among thresholds whose precision
  is at least the target (a threshold that predicts nothing has precision 0 and never
  qualifies); ``"precision_at_recall"`` (``recall=``): highest precision with recall >= target;
* ``"cost"`` (``cost_fp=``, ``cost_fn=``): lowest ``cost_fp * FP + cost_fn * FN``.

Tie rule (one for every "best"): among the thresholds reaching the best value, take the first
(lowest) run of consecutive ones and its middle (the lower of the two middles when the run is
even). ``per_label=False`` picks one threshold for all labels from the micro (pooled) objective.

>>> from tb_metrics_plugin import confusion_counts
>>> c = confusion_counts([1, 0, 1, 0], [0.9, 0.6, 0.7, 0.2], thresholds=[0.1, 0.5, 0.65, 0.8])
>>> c.best_thresholds("recall_at_precision", precision=1.0).round(2).tolist()
[0.65]
"""
import dataclasses
import json
import math
from typing import Optional, List

import numpy as np

from tb_metrics_plugin import inputs
from tb_metrics_plugin.counts import Counts, safe_divide

__all__ = [
    "OBJECTIVES",
    "METRICS",
    "BestThresholds",
    "objective_values",
    "argbest",
    "best_threshold_indices",
    "best_thresholds",
    "to_best_thresholds",
    "save_best_thresholds",
    "load_best_thresholds",
    "shortest_float32",
]

# objective -> (its parameters with defaults, higher is better)
OBJECTIVES = {
    "f1": ({}, True),
    "fbeta": ({"beta": 1.0}, True),
    "recall_at_precision": ({"precision": 0.9}, True),
    "precision_at_recall": ({"recall": 0.9}, True),
    "cost": ({"cost_fp": 1.0, "cost_fn": 1.0}, False),
}
METRICS = tuple(OBJECTIVES)
BEST_THRESHOLDS_FORMAT = "tb_metrics.best_thresholds"
BEST_THRESHOLDS_VERSION = 2
# Fields every file of a version holds (version 1: the dashboard's download before provenance).
_REQUIRED = {
    1: ("metric", "from_logits", "labels", "thresholds"),
    2: ("metric", "params", "per_label", "from_logits", "run", "tag", "step", "labels",
        "thresholds"),
}


def check_objective(metric, params):
    """Validates ``metric`` and its parameters; returns the parameters with defaults filled."""
    if metric not in OBJECTIVES:
        raise ValueError(f"Expected `metric` to be one of {list(METRICS)}; received {metric!r}.")
    defaults, _ = OBJECTIVES[metric]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) or "none"
        raise ValueError(
            f"Unknown parameter(s) {unknown} for metric {metric!r}; expected: {allowed}.")
    out = dict(defaults)
    for key, value in params.items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"Expected a number for `{key}`; received {value!r}.") from None
        if not math.isfinite(value):
            raise ValueError(f"Expected a finite `{key}`; received {value!r}.")
        out[key] = value
    for key in ("precision", "recall"):
        if key in out and not 0.0 <= out[key] <= 1.0:
            raise ValueError(f"Expected `{key}` in [0, 1] (a target); received {out[key]!r}.")
    if "beta" in out and not out["beta"] > 0:
        raise ValueError(f"Expected `beta` > 0 (e.g. 0.5 or 2); received {out['beta']!r}.")
    for key in ("cost_fp", "cost_fn"):
        if key in out and out[key] < 0:
            raise ValueError(f"Expected `{key}` >= 0; received {out[key]!r}.")
    return out


def objective_values(counts, metric="f1", per_label=True, **params):
    """The objective at every threshold and where it qualifies.

    Returns:
      ``(values, qualifies)``: [L, T] (or [1, T] pooled with ``per_label=False``) floats, and a
      bool mask of thresholds that may be chosen. Higher is better except for ``"cost"``.
    """
    params = check_objective(metric, params)
    tp = counts.tp.astype(np.float64)
    fp = counts.fp.astype(np.float64)
    fn = counts.fn.astype(np.float64)
    if not per_label:
        tp, fp, fn = (a.sum(axis=0, keepdims=True) for a in (tp, fp, fn))
    support = tp[:, :1] + fn[:, :1]
    has_pos = np.broadcast_to(support > 0, tp.shape)
    # The same expressions, in the same order, as Counts.f1 / Counts.fbeta: the values (and
    # so the ties) agree with them to the last bit.
    if metric == "f1":
        return safe_divide(2 * tp, 2 * tp + fp + fn, 0.0), has_pos
    if metric == "fbeta":
        b2 = params["beta"] ** 2
        return safe_divide((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp, 0.0), has_pos
    precision = safe_divide(tp, tp + fp, 0.0)
    recall = safe_divide(tp, tp + fn, 0.0)
    if metric == "recall_at_precision":
        return recall, has_pos & (precision >= params["precision"]) & (tp + fp > 0)
    if metric == "precision_at_recall":
        return precision, has_pos & (recall >= params["recall"])
    return params["cost_fp"] * fp + params["cost_fn"] * fn, has_pos


def _pick(values, qualifies, higher):
    """Per row, the tie-rule index of the best qualifying value; -1 where none qualifies."""
    num_t = values.shape[1]
    out = np.full(values.shape[0], -1, dtype=np.int64)
    any_q = qualifies.any(axis=1)
    if not any_q.any():
        return out
    v = np.where(qualifies, values, -np.inf if higher else np.inf)[any_q]
    best = (v.max if higher else v.min)(axis=1, keepdims=True)
    is_best = (v == best) & qualifies[any_q]
    start = np.argmax(is_best, axis=1)
    later_worse = ~is_best & (np.arange(num_t)[None, :] > start[:, None])
    run_end = np.where(later_worse.any(axis=1), np.argmax(later_worse, axis=1), num_t)
    out[any_q] = start + (run_end - start - 1) // 2
    return out


def argbest(curve, higher=True):
    """Index of the best value of a 1-D ``curve`` by the one tie rule (-1 if all NaN).

    >>> argbest([0.2, 0.9, 0.9, 0.9, 0.1])
    2
    """
    curve = np.asarray(curve, dtype=np.float64)[None, :]
    return int(_pick(curve, ~np.isnan(curve), higher)[0])


def best_threshold_indices(counts, metric="f1", per_label=True, **params):
    """[L] per label the index of the best threshold for ``metric`` (-1 where none
    qualifies); with ``per_label=False`` an int (-1 if none) for all labels at once."""
    values, qualifies = objective_values(counts, metric, per_label, **params)
    idx = _pick(values, qualifies, OBJECTIVES[metric][1])
    return idx if per_label else int(idx[0])


def best_thresholds(counts, metric="f1", per_label=True, **params):
    """[L] per label the best threshold (NaN where none qualifies), or a float for all labels."""
    idx = np.atleast_1d(best_threshold_indices(counts, metric, per_label, **params))
    t = counts.thresholds.astype(np.float64)
    out = np.where(idx >= 0, t[np.maximum(idx, 0)], np.nan)
    return out if per_label else float(out[0])


def to_best_thresholds(counts, metric="f1", per_label=True, step=None, run=None, tag=None,
                       **params):
    """The chosen thresholds as a `BestThresholds` (with the objective's value at each)."""
    full = check_objective(metric, params)
    values, _ = objective_values(counts, metric, per_label, **params)
    idx = np.atleast_1d(best_threshold_indices(counts, metric, per_label, **params))
    rows = np.arange(values.shape[0])
    scores = np.where(idx >= 0, values[rows, np.maximum(idx, 0)], np.nan)
    thr = np.where(idx >= 0, counts.thresholds.astype(np.float64)[np.maximum(idx, 0)], np.nan)
    if not per_label:
        thr = np.repeat(thr, counts.num_labels)
        scores = np.repeat(scores, counts.num_labels)
    return BestThresholds(
        labels=list(counts.label_names), thresholds=thr, scores=scores, metric=metric,
        from_logits=counts.from_logits, params=full, per_label=per_label,
        step=step, run=run, tag=tag,
    )


def shortest_float32(value):
    """The shortest decimal that reads back (as float32) to the float32 of ``value``.

    >>> shortest_float32(0.8399999737739563)
    0.84
    """
    f = np.float32(value)
    for digits in range(1, 10):
        text = f"{float(f):.{digits}g}"
        if np.float32(text) == f:
            return float(text)
    return float(f)


@dataclasses.dataclass(eq=False)
class BestThresholds:
    """Decision thresholds per label (e.g. from `Counts.to_best_thresholds`), as JSON.

    Attributes:
      labels: L names. thresholds: [L] probabilities (NaN: none qualified).
      scores: [L] the objective's value at each threshold, or None.
      metric, params: the objective and its parameters. per_label: one threshold per label, or
        one shared (micro objective). from_logits: apply to logits. step, run, tag: provenance.

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
    params: Optional[dict] = None
    per_label: bool = True
    step: Optional[int] = None
    run: Optional[str] = None
    tag: Optional[str] = None

    def __post_init__(self):
        self.thresholds = np.asarray(self.thresholds, dtype=np.float64).reshape(-1)
        self.labels = [str(x) for x in self.labels]
        if len(self.labels) != self.thresholds.size:
            raise ValueError(
                f"Expected one threshold per label ({len(self.labels)} labels); received "
                f"{self.thresholds.size} thresholds."
            )
        bad = ~np.isnan(self.thresholds) & ~((self.thresholds >= 0) & (self.thresholds <= 1))
        if bad.any():
            raise ValueError(
                "Expected thresholds in [0, 1] (probabilities, also for logits) or NaN; received "
                f"{self.thresholds[bad][:5].tolist()} for label(s) "
                f"{[self.labels[i] for i in np.flatnonzero(bad)[:5]]}.")
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
            if self.scores.size != self.thresholds.size:
                raise ValueError(f"Expected one score per label ({self.thresholds.size}); "
                                 f"received {self.scores.size} scores.")
        self.from_logits = bool(self.from_logits)
        self.per_label = bool(self.per_label)
        self.params = check_objective(self.metric, dict(self.params or {}))

    def to_json(self):
        def clean(values, shorten=False):
            return [None if not math.isfinite(v) else
                    (shortest_float32(v) if shorten else float(v)) for v in values]

        return {
            "format": BEST_THRESHOLDS_FORMAT,
            "version": BEST_THRESHOLDS_VERSION,
            "metric": self.metric,
            "params": dict(self.params),
            "per_label": bool(self.per_label),
            "from_logits": self.from_logits,
            "run": self.run,
            "tag": self.tag,
            "step": None if self.step is None else int(self.step),
            "labels": list(self.labels),
            "thresholds": clean(self.thresholds, shorten=True),
            "scores": None if self.scores is None else clean(self.scores),
        }

    @classmethod
    def from_json(cls, data):
        if not isinstance(data, dict) or data.get("format") != BEST_THRESHOLDS_FORMAT:
            raise ValueError(
                f"Expected a JSON object with \"format\": \"{BEST_THRESHOLDS_FORMAT}\" (as "
                "written by save_best_thresholds, `tb-metrics thresholds` or the dashboard's "
                f"download); received {str(data)[:80]!r}."
            )
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"Expected an integer best-thresholds version; received {version!r}.")
        if version > BEST_THRESHOLDS_VERSION:
            raise ValueError(
                f"Expected best-thresholds version <= {BEST_THRESHOLDS_VERSION}; received "
                f"{version!r}. Upgrade tb_metrics_plugin to read it."
            )
        missing = [k for k in _REQUIRED[min(version, BEST_THRESHOLDS_VERSION)] if k not in data]
        if missing:
            raise ValueError(
                f"Best-thresholds JSON (version {version}) is missing {missing}; expected every "
                "field written by save_best_thresholds (re-save it with the current version).")

        def check(key, ok, expected):
            if not ok(data.get(key)):
                raise ValueError(f"Expected `{key}` in best-thresholds JSON to be {expected}; "
                                 f"received {str(data.get(key))[:80]!r}.")

        def is_numbers(v):
            return isinstance(v, list) and all(
                x is None or (isinstance(x, (int, float)) and not isinstance(x, bool)) for x in v)

        check("labels", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
              "a list of label names")
        check("thresholds", is_numbers, "a list of numbers (null: none qualified)")
        check("scores", lambda v: v is None or is_numbers(v), "a list of numbers or null")
        check("metric", lambda v: v is None or isinstance(v, str), f"one of {list(METRICS)}")
        check("from_logits", lambda v: v is None or isinstance(v, bool), "true or false")
        check("per_label", lambda v: v is None or isinstance(v, bool), "true or false")
        check("params", lambda v: v is None or isinstance(v, dict), "an object")
        check("step", lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
              "an integer or null")
        for key in ("run", "tag"):
            check(key, lambda v: v is None or isinstance(v, str), "a string or null")

        def floats(values):
            return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

        scores = data.get("scores")
        return cls(
            labels=data["labels"],
            thresholds=floats(data["thresholds"]),
            scores=None if scores is None else floats(scores),
            metric=data.get("metric") or "f1",
            from_logits=bool(data.get("from_logits")),
            params=data.get("params") or {},
            per_label=data.get("per_label", True) is not False,
            step=data.get("step"),
            run=data.get("run"),
            tag=data.get("tag"),
        )

    def predict(self, y_score, default=0.5):
        """Applies the thresholds: bool predictions of the shape of ``y_score`` ``[..., L]``.

        Scores are read as logits when the thresholds were found on logits. A label without a
        threshold (nothing qualified) uses ``default``.
        """
        scores = np.asarray(y_score)
        if scores.shape[-1:] != (len(self.labels),):
            raise ValueError(
                f"Expected scores whose last dimension is {len(self.labels)} (one per label); "
                f"received shape {scores.shape}."
            )
        t = np.where(np.isnan(self.thresholds), float(default), self.thresholds)
        cuts = inputs.cut_values(t.astype(np.float32), self.from_logits)
        cmp_dtype = np.result_type(scores.dtype, np.float32)
        return scores.astype(cmp_dtype, copy=False) >= cuts.astype(cmp_dtype)


def save_best_thresholds(path, counts_or_best, metric="f1", per_label=True, **params):
    """Writes best thresholds as JSON (the file the dashboard downloads); returns them.

    ``counts_or_best``: a `Counts` (thresholds are chosen with ``metric`` and ``params``) or a
    `BestThresholds`.
    """
    best = counts_or_best
    if isinstance(best, Counts):
        best = to_best_thresholds(best, metric, per_label=per_label, **params)
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
        try:
            data = json.load(f)
        except ValueError as e:
            raise ValueError(f"{path}: not a best-thresholds JSON file ({e}).") from None
    return BestThresholds.from_json(data)
