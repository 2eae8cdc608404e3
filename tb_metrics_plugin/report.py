"""A classification report from stored counts, and the tables `tb-metrics` prints.

`classification_report` is scikit-learn's ``classification_report`` read off a `Counts`: per
label precision, recall, F1 and support at one threshold (or at each label's best threshold for
an objective), plus the threshold-free AP and ROC-AUC, and micro / macro / weighted rows. Every
number comes from a `Counts` method; this module only picks the threshold column of each label.

`render` turns a header and rows into text (aligned columns), csv, markdown or json.

>>> from tb_metrics_plugin import confusion_counts
>>> c = confusion_counts([[1, 0], [0, 1], [1, 1]], [[0.9, 0.2], [0.4, 0.6], [0.7, 0.3]],
...                      thresholds=[0.0, 0.5, 1.0], label_names=["cat", "dog"])
>>> r = classification_report(c, threshold=0.5)
>>> [(row["label"], row["precision"], row["recall"], row["support"]) for row in r["rows"]]
[('cat', 1.0, 1.0, 2), ('dog', 1.0, 0.5, 2)]
>>> r["averages"][0]["label"], round(r["averages"][0]["f1-score"], 4)
('micro avg', 0.8571)
"""
import csv
import io
import json
import math

import numpy as np

from tb_metrics_plugin import selection
from tb_metrics_plugin.counts import Counts

__all__ = ["classification_report", "render", "format_number", "FORMATS", "AVERAGE_ROWS"]

FORMATS = ("text", "csv", "json", "markdown")
AVERAGE_ROWS = (("micro avg", "micro"), ("macro avg", "macro"), ("weighted avg", "weighted"))
# The threshold predict() applies to a label that no threshold qualified for.
FALLBACK_THRESHOLD = 0.5


def _at_label_columns(counts, index):
    """The counts of each label at its own threshold column ``index[l]``, as one-column Counts.

    Only the per-label counts (tp, fp, tn, fn) are meaningful at mixed thresholds: exact match
    across labels is unknown there, so ``exact_match`` is NaN.
    """
    rows = np.arange(counts.num_labels)
    pick = {name: getattr(counts, name)[rows, index][:, None] for name in ("tp", "fp", "tn", "fn")}
    return Counts(thresholds=np.full(1, np.nan, np.float32), exact_match=np.full(1, np.nan),
                  n=counts.n, nan=counts.nan, label_names=counts.label_names,
                  from_logits=counts.from_logits, **pick)


def _value(x):
    """A Python number (int for integral counts) or NaN."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    return float(x)


def classification_report(counts, threshold=None, metric=None, per_label=True, zero_division=0,
                          **params):
    """Per-label precision, recall, F1, support, AP and ROC-AUC, and the averaged rows.

    Args:
      counts: a `Counts`.
      threshold: a probability; the stored threshold nearest to it is used (the lower on a tie).
        Default 0.5 when ``metric`` is None.
      metric: an objective of `selection.OBJECTIVES` (with its ``params``): each label is read
        at its own best threshold (``per_label=False``: the one best threshold for all labels).
        A label no threshold qualifies for (e.g. no positives) is read at the stored threshold
        nearest 0.5, the default `BestThresholds.predict` applies, and is listed in
        ``"fallback"``.
      zero_division: 0, 1 or NaN, as in scikit-learn (NaN leaves a label out of macro).

    Returns:
      A dict: ``rule`` (how thresholds were chosen), ``rows`` (one dict per label: label,
      threshold, precision, recall, f1-score, support, average_precision, roc_auc, and the
      objective's value under the metric's name when ``metric`` is given), ``averages`` (micro,
      macro and weighted rows; support is the total), ``fallback`` (labels at the fallback
      threshold), ``accuracy`` (binary, exact-match and all-negative accuracy when every
      label is read at one threshold; categorical accuracy, what Keras logs as ``accuracy``,
      for outputs of several columns; top-k accuracy for single-label multi-class counts),
      ``n``, ``sample_unit`` and ``from_logits``. NaN marks an undefined
      value; None a value that does not apply (the threshold of an averaged row when labels
      have their own).

    Raises:
      ValueError: both ``threshold`` and ``metric`` given, a threshold outside [0, 1], or an
        unknown metric or bad parameters (see `selection.check_objective`).
    """
    if threshold is not None and metric is not None:
        raise ValueError(f"Expected a threshold or a metric, not both; received threshold="
                         f"{threshold!r} and metric={metric!r}.")
    num_l = counts.num_labels
    fallback = counts.threshold_index(FALLBACK_THRESHOLD)
    objective = None
    if metric is None:
        threshold = FALLBACK_THRESHOLD if threshold is None else threshold
        t = float(threshold)
        if not 0.0 <= t <= 1.0:
            raise ValueError(
                f"Expected a threshold in [0, 1] (a probability); received {threshold!r}.")
        index = np.full(num_l, counts.threshold_index(t))
        rule = {"threshold": float(counts.thresholds[index[0]]), "requested": t}
        fell_back = np.zeros(num_l, dtype=bool)
    else:
        best = counts.to_best_thresholds(metric, per_label=per_label, **params)
        index = np.atleast_1d(counts.best_threshold_indices(metric, per_label=per_label, **params))
        index = np.broadcast_to(index, (num_l,)).copy()
        fell_back = index < 0
        index[fell_back] = fallback
        objective = np.where(fell_back, np.nan, best.scores)
        rule = {"metric": metric, "params": dict(best.params), "per_label": bool(per_label)}
    at = _at_label_columns(counts, index)
    prf = {
        "precision": lambda avg: at.precision(avg, zero_division),
        "recall": lambda avg: at.recall(avg, zero_division),
        "f1-score": lambda avg: at.f1(avg, zero_division),
    }
    per = {key: fn(None)[:, 0] for key, fn in prf.items()}
    ap = counts.average_precision(None)
    auc = counts.roc_auc(None)
    support = counts.support
    thresholds = counts.thresholds[index].astype(np.float64)
    rows = []
    for i, name in enumerate(counts.label_names):
        row = {"label": name, "threshold": float(thresholds[i])}
        row.update({key: float(per[key][i]) for key in prf})
        row.update(support=_value(support[i]), average_precision=float(ap[i]),
                   roc_auc=float(auc[i]))
        if objective is not None:
            row[metric] = float(objective[i])
        rows.append(row)
    averages = []
    shared = float(thresholds[0]) if (index == index[0]).all() else None
    for label, avg in AVERAGE_ROWS:
        row = {"label": label, "threshold": shared}
        row.update({key: float(fn(avg)[0]) for key, fn in prf.items()})
        row.update(support=_value(support.sum()),
                   average_precision=float(counts.average_precision(avg)),
                   roc_auc=float(counts.roc_auc(avg)))
        if objective is not None:
            row[metric] = None  # not defined for an averaged row
        averages.append(row)
    accuracy = {}
    if shared is not None:  # one threshold for every label: the accuracies are defined
        i = int(index[0])
        accuracy.update(binary_accuracy=float(counts.binary_accuracy()[i]),
                        exact_match_accuracy=float(counts.exact_match_accuracy()[i]),
                        all_negative_accuracy=counts.all_negative_accuracy())
    if counts.multiclass or (counts.num_labels > 1 and counts.categorical_correct is not None):
        # Keras' `accuracy` on outputs of several columns (argmax match), multi-label too
        accuracy["categorical_accuracy"] = counts.categorical_accuracy()
    if counts.multiclass:
        for k in range(1, counts.top_k_hits.size + 1):
            accuracy[f"top_{k}_accuracy"] = counts.top_k_accuracy(k)
    return {
        "rule": rule,
        "rows": rows,
        "averages": averages,
        "fallback": [name for name, f in zip(counts.label_names, fell_back) if f],
        "accuracy": accuracy,
        "n": _value(counts.n),
        "sample_unit": counts.sample_unit,
        "from_logits": counts.from_logits,
    }


# -- rendering ----------------------------------------------------------------------------------


def format_number(value, digits=4, column=None):
    """Text for one table cell: ints as they are, thresholds as their shortest float32
    decimal, other floats with ``digits`` decimals, NaN as ``nan`` and None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "nan"
        if column == "threshold":
            return repr(selection.shortest_float32(value))
        return f"{value:.{digits}f}"
    return str(value)


def _csv_cell(value):
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else repr(float(value))
    return "" if value is None else str(value)


def _json_clean(obj):
    if isinstance(obj, dict):
        return {k: _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _aligned(columns, rows, digits, breaks=()):
    """Text table: the first column left-aligned, the others right-aligned; a blank line
    before each row index in ``breaks``."""
    cells = [[format_number(r.get(c), digits, c) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(columns)]

    def line(values):
        first = values[0].ljust(widths[0])
        rest = [v.rjust(w) for v, w in zip(values[1:], widths[1:])]
        return "  ".join([first] + rest).rstrip()

    out = [line(list(columns))]
    for i, row in enumerate(cells):
        if i in breaks:
            out.append("")
        out.append(line(row))
    return "\n".join(out)


def _markdown_cell(text):
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render(fmt, header, columns, rows, digits=4, breaks=(), document=None):
    """The table in ``fmt`` (one of `FORMATS`), as text ending with a newline.

    Args:
      header: ``[(key, text)]`` lines shown above the table (text and markdown).
      columns: the row keys to show, in order.
      rows: dicts (missing keys are empty cells).
      breaks: row indices preceded by a blank line in text (e.g. the averaged rows).
      document: the object written for ``json`` (NaN and infinities become null); defaults to
        ``{"rows": rows}``.
    """
    if fmt == "json":
        return json.dumps(_json_clean(document if document is not None else {"rows": rows}),
                          indent=1, allow_nan=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_csv_cell(r.get(c)) for c in columns])
        return buf.getvalue()
    if fmt == "markdown":
        lines = [f"- **{_markdown_cell(k)}**: {_markdown_cell(v)}" for k, v in header]
        if lines:
            lines.append("")
        right = ["---"] + ["---:"] * (len(columns) - 1)
        lines.append("| " + " | ".join(_markdown_cell(c) for c in columns) + " |")
        lines.append("| " + " | ".join(right) + " |")
        for r in rows:
            cells = [_markdown_cell(format_number(r.get(c), digits, c)) for c in columns]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"
    if fmt == "text":
        width = max([len(k) for k, _ in header] + [0])
        lines = [f"{k.ljust(width)}  {v}" for k, v in header]
        if lines:
            lines.append("")
        lines.append(_aligned(columns, rows, digits, breaks))
        return "\n".join(lines) + "\n"
    raise ValueError(f"Expected a format in {list(FORMATS)}; received {fmt!r}.")
