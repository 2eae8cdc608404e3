"""Request parameters of the plugin's routes: parsing and checking, 400 with a reason.

Every route's query string is turned into the keyword arguments of its ``*_impl`` method by
`PARSERS`; bad values raise `RequestError` (answered as ``{"error": reason}`` JSON).
"""
import math
import re

from tb_metrics_plugin import selection
from tb_metrics_plugin import serialize
from tb_metrics_plugin import serialize_explorer
from tb_metrics_plugin import serialize_views

_INT = re.compile(r"[+-]?[0-9]{1,19}\Z")


class RequestError(Exception):
    """An error answered as ``{"error": message}`` with HTTP status ``code`` (400, 404, 409)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# -------------------------------------------------------------------------------------------
# Parameters


def _one(args, name, required=True):
    values = args.getlist(name)
    if not values:
        if required:
            raise RequestError(400, f"Missing required parameter '{name}'.")
        return None
    if len(values) > 1:
        raise RequestError(400, f"Expected one '{name}' parameter; received {len(values)}.")
    if required and not values[0]:
        raise RequestError(400, f"Expected a non-empty '{name}' parameter.")
    return values[0]


def parse_step(value):
    """``None`` (latest) or an int; 400 for anything else."""
    if value is None:
        return None
    if not _INT.match(value) or not -(2**63) <= int(value) < 2**63:
        raise RequestError(400, f"Expected an integer 'step'; received {value!r}.")
    return int(value)


def parse_threshold(value, default=0.5):
    """A probability in [0, 1], or ``serialize.BEST``; 400 for anything else."""
    if value is None:
        return default
    if value == serialize.BEST:
        return serialize.BEST
    try:
        t = float(value)
    except ValueError:
        t = math.nan
    if not (math.isfinite(t) and 0.0 <= t <= 1.0):
        raise RequestError(
            400, f"Expected 'threshold' to be a probability in [0, 1] or 'best'; received {value!r}.")
    return t


def parse_metric(value):
    if value is None:
        return "f1"
    if value not in selection.METRICS:
        raise RequestError(400, f"Unknown metric {value!r}; expected one of {list(selection.METRICS)}.")
    return value


# -------------------------------------------------------------------------------------------
# Helpers


def _run_tag(a):
    return {"run": _one(a, "run"), "tag": _one(a, "tag")}


def _run_tag_step(a):
    return dict(_run_tag(a), step=parse_step(_one(a, "step", required=False)))


def _runs(a):
    runs = a.getlist("run")
    if not runs or not all(runs):
        raise RequestError(400, "Expected one or more non-empty 'run' parameters.")
    return list(dict.fromkeys(runs))


def _threshold(a):
    return parse_threshold(_one(a, "threshold", required=False))


def _metric(a):
    return parse_metric(_one(a, "metric", required=False))


def parse_zero_division(value):
    """``zero_division`` = ``0``, ``1`` or ``nan`` (scikit-learn's choices); 400 otherwise."""
    if value is None:
        return 0.0
    if value not in serialize_explorer.ZERO_DIVISION:
        raise RequestError(400, f"Expected 'zero_division' to be 0, 1 or nan; received {value!r}.")
    return serialize_explorer.ZERO_DIVISION[value]


_OBJECTIVE_PARAMS = sorted({k for defaults, _ in selection.OBJECTIVES.values() for k in defaults})


def _objective(a):
    """``metric`` and its parameters (``beta``, ``precision``, ``recall``, ``cost_fp``,
    ``cost_fn``), checked by `selection.check_objective`; 400 with its reason otherwise."""
    metric = _metric(a)
    params = {}
    for key in _OBJECTIVE_PARAMS:
        value = _one(a, key, required=False)
        if value is not None:
            params[key] = value
    try:
        params = selection.check_objective(metric, params)
    except ValueError as e:
        raise RequestError(400, str(e)) from None
    return {"metric": metric, "params": params}


def _label(a):
    return _one(a, "label", required=False) or None


def _against_run(a):
    value = _one(a, "against_run", required=False)
    if value == "":
        raise RequestError(400, "Expected a non-empty 'against_run' parameter (a run name).")
    return value


def _rank_value(a):
    value = _one(a, "value", required=False) or "f1"
    if value not in serialize_views.RANK_VALUES:
        raise RequestError(400, f"Unknown value {value!r}; expected one of "
                                f"{list(serialize_views.RANK_VALUES)}.")
    return value


def _objective_params(a):
    """The objective's parameters as a sorted tuple of (name, float) pairs (hashable, for the
    response cache), checked by `selection.check_objective` (400 when wrong)."""
    return tuple(sorted(_objective(a)["params"].items()))


# route name -> query parser returning the keyword arguments of `<name>_impl` (or RequestError)
PARSERS = {
    "tags": lambda a: {},
    "warnings": lambda a: {},
    "steps": _run_tag,
    "counts": _run_tag_step,
    "explorer": lambda a: dict(_run_tag_step(a), **_objective(a),
                               zero_division=parse_zero_division(_one(a, "zero_division", False))),
    "heatmap": lambda a: dict(_run_tag(a), threshold=_threshold(a), metric=_metric(a),
                              value=_rank_value(a), params=_objective_params(a)),
    "confusion": lambda a: dict(
        _run_tag_step(a), against_step=parse_step(_one(a, "against_step", required=False)),
        against_run=_against_run(a)),
    "series": lambda a: {"runs": _runs(a), "tag": _one(a, "tag"), "threshold": _threshold(a)},
    "best_thresholds": lambda a: dict(_run_tag_step(a), **_objective(a)),
    "curves": lambda a: {"runs": _runs(a), "tag": _one(a, "tag"), "label": _label(a),
                         "step": parse_step(_one(a, "step", required=False))},
    "distribution": lambda a: dict(_run_tag_step(a), label=_label(a)),
}


class Snap:
    """The ``threshold`` parameter snapped to a stored threshold by `Counts.threshold_index`
    (nearest, the lower on a tie); every step of a tag has the same thresholds."""

    def __init__(self, threshold):
        self.threshold = threshold
        self._index = None
        self._value = None

    def index(self, counts):
        if self.threshold == serialize.BEST:
            return None
        if self._index is None:
            self._index = counts.threshold_index(self.threshold)
            self._value = float(counts.thresholds[self._index])
        return self._index

    def json(self):
        if self.threshold == serialize.BEST:
            return {"threshold": serialize.BEST, "threshold_index": None}
        if self._index is None:  # no readable step: echo the request
            return {"threshold": float(self.threshold), "threshold_index": None}
        return {"threshold": self._value, "threshold_index": self._index}


def hashable(value):
    """A query argument as a cache-key part: lists as tuples, dicts as sorted item tuples, NaN
    (``zero_division=nan``) as its text, since NaN != NaN would never hit."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value
