"""Writes tests/js/fixtures/*.json from the real Python metrics code.

The node tests (tests/js/calc.test.mjs) check that the frontend's arithmetic (frontend/calc.js)
gives the numbers that `tb_metrics_plugin.Counts` gives, so the two cannot drift apart.

    python tests/js/make_fixtures.py          # rewrite the fixtures
    python tests/js/make_fixtures.py --check  # fail if the committed fixtures are stale
"""
import argparse
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from tb_metrics_plugin import metadata  # noqa: E402
from tb_metrics_plugin import metrics  # noqa: E402

OUT = os.path.join(HERE, "fixtures")


def _clean(value):
    """JSON-able: NaN -> None, numpy -> python, infinities as strings (JSON has none)."""
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def _round_trip(counts):
    """What the plugin reads back: the stored tensor decoded, as TensorBoard serves it."""
    meta = metadata.parse_plugin_metadata(
        metadata.create_summary_metadata(counts).plugin_data.content)
    return metadata.tensor_to_counts(metadata.counts_to_tensor(counts), meta)


def _case(name, counts, probes):
    c = _round_trip(counts)
    num_t = c.num_thresholds
    return {
        "name": name,
        "labels": list(c.label_names),
        "from_logits": c.from_logits,
        "weighted": bool(c.weighted),
        "thresholds": _clean(c.thresholds.astype(np.float64)),
        "logits": _clean(metrics.logit_cuts(c.thresholds).astype(np.float64)),
        # the explorer route's inputs to the client-side arithmetic
        "tp": _clean(c.tp.ravel()),
        "fp": _clean(c.fp.ravel()),
        "support": _clean(c.support),
        "num_thresholds": num_t,
        # what the Python API computes
        "precision": _clean(c.precision()),
        "recall": _clean(c.recall()),
        "f1": _clean(c.f1()),
        "micro_f1": _clean(c.f1("micro")),
        "macro_f1": _clean(c.f1("macro")),
        "observed": _clean(c.observed),
        # zero_division=1 and nan (the dashboard's choice)
        "zero_division": {
            name: {"precision": _clean(c.precision(zero_division=zd)),
                   "recall": _clean(c.recall(zero_division=zd)),
                   "f1": _clean(c.f1(zero_division=zd))}
            for name, zd in (("1", 1.0), ("nan", float("nan")))},
        "fpr": _clean(c.roc_curve()[0]),
        "tpr": _clean(c.roc_curve()[1]),
        "histogram_positives": _clean(c.score_histogram()[0]),
        "best_index": _clean(c.best_threshold_indices()),
        "best_f1": _clean(c.to_best_thresholds().scores),
        "probes": [{"t": float(t), "index": c.threshold_index(t)} for t in probes],
    }


def build():
    rng = np.random.default_rng(4)
    cases = []

    # Sparse multi-label, 7 labels x 11 thresholds, a label without positives, scores on the grid.
    n, num_l = 200, 7
    y = (rng.random((n, num_l)) < np.array([0.3, 0.05, 0.5, 0.0, 0.02, 0.15, 0.9])).astype(int)
    score = np.clip(0.35 * y + 0.65 * rng.random((n, num_l)), 0, 1)
    score[:20] = np.round(score[:20] * 10) / 10  # exactly on thresholds
    names = ["cat", "dog", "<img src=x onerror=alert(1)>", "empty", "rare", "bird", "common"]
    cases.append(_case("sparse_unweighted",
                       metrics.confusion_counts(y, score, thresholds=11, label_names=names),
                       [0, 0.05, 0.1, 0.15, 0.25, 0.5, 0.55, 0.95, 1.0, 0.37]))

    # Weighted (float counts), 101 thresholds.
    n, num_l = 150, 4
    y = (rng.random((n, num_l)) < 0.25).astype(int)
    score = np.clip(0.3 * y + 0.7 * rng.random((n, num_l)), 0, 1)
    w = rng.random(n) * 3
    cases.append(_case("weighted",
                       metrics.confusion_counts(y, score, thresholds=101, sample_weight=w),
                       [0.5, 0.005, 0.015, 0.333, 0.999]))

    # From logits, uneven explicit thresholds.
    n, num_l = 120, 3
    y = (rng.random((n, num_l)) < 0.4).astype(int)
    z = rng.normal(size=(n, num_l)) + 1.5 * y
    th = np.array([0.0, 0.1, 0.25, 0.5, 0.6, 0.9, 0.99, 1.0])
    cases.append(_case("logits",
                       metrics.confusion_counts(y, z, thresholds=th, from_logits=True,
                                                label_names=["a", "b", "c"]),
                       [0.55, 0.175, 0.3, 0.95, 0.0, 1.0]))

    # Missing labels (ignore_value): observed differs per label, TN = observed - support - FP.
    n, num_l = 90, 3
    y = (rng.random((n, num_l)) < 0.3).astype(float)
    y[rng.random((n, num_l)) < 0.2] = -1
    score = rng.random((n, num_l))
    cases.append(_case("ignored_cells",
                       metrics.confusion_counts(y, score, thresholds=21, ignore_value=-1,
                                                label_names=["x", "y", "z"]),
                       [0.5, 0.33]))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    stale = []
    for case in build():
        path = os.path.join(OUT, case["name"] + ".json")
        text = json.dumps(case, indent=None, separators=(",", ":"), allow_nan=False) + "\n"
        if args.check:
            if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
                stale.append(path)
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote", os.path.relpath(path))
    if stale:
        sys.exit("stale fixtures (run python tests/js/make_fixtures.py): " + ", ".join(stale))


if __name__ == "__main__":
    main()
