"""Synthetic runs for tests and benchmarks, written through the same writer the demo uses.

    python -m demo.fixtures --logdir /tmp/fixture_logs --labels 1000 --steps 50

No Keras: scores are drawn so that every label gets better with the step, with a spread of
easy and hard labels, a label with no positives and (optionally) a few NaN scores.
"""
import argparse
import os

import numpy as np

from tb_metrics_plugin import metrics, summary

TAG = "threshold_counts"


def synthetic_scores(step, num_labels, n, seed=0, from_logits=False, prevalence=0.1):
    """Labels [n, L] and scores [n, L] for one step; quality grows with ``step``."""
    rng = np.random.default_rng(list(np.atleast_1d(seed)) + [step])
    prevalence = np.full(num_labels, prevalence)
    prevalence[-1] = 0.0  # one label never positive: no best threshold
    y = rng.random((n, num_labels)) < prevalence
    skill = np.linspace(2.5, 0.1, num_labels) * (0.3 + 0.15 * step)
    logits = rng.normal(size=(n, num_labels)) - 1.5 + skill * np.where(y, 1.0, -0.5)
    scores = logits if from_logits else 1 / (1 + np.exp(-logits))
    return y, scores.astype(np.float32)


def write_fixture_runs(logdir, runs=("run_a",), subdirs=("train", "validation"), num_labels=30,
                       steps=5, thresholds=101, n=400, seed=0, from_logits=False,
                       label_names=None, tag=TAG, nan_every=0):
    """Writes ``runs`` x ``subdirs`` under ``logdir``; returns ``{"run/sub": {step: Counts}}``."""
    written = {}
    for r, run in enumerate(runs):
        for s, sub in enumerate(subdirs):
            path = os.path.join(logdir, run, sub) if sub else os.path.join(logdir, run)
            key = f"{run}/{sub}" if sub else run
            written[key] = {}
            with summary.CountsWriter(path) as writer:
                for step in range(steps):
                    y, scores = synthetic_scores(step, num_labels, n, seed=[seed, r, s],
                                                 from_logits=from_logits)
                    if nan_every:
                        scores.ravel()[::nan_every] = np.nan
                    counts = metrics.confusion_counts(
                        y, scores, thresholds=thresholds, from_logits=from_logits,
                        label_names=label_names)
                    writer.write(tag, counts, step, wall_time=1_700_000_000 + 60 * step)
                    written[key][step] = counts
    return written


def multiclass_scores(step, num_classes, n, seed=0, group=4):
    """Class ids [n] and softmax scores [n, C] for one step of a single-label classifier.

    Classes come in groups of ``group`` neighbours that the model confuses with each other
    (so the confusion matrix has blocks, which clustering should find even when the class
    order is shuffled by ``seed``); accuracy grows with ``step``.
    """
    rng = np.random.default_rng(list(np.atleast_1d(seed)) + [step, num_classes])
    perm = np.random.default_rng(num_classes).permutation(num_classes)  # groups not contiguous
    y = rng.integers(0, num_classes, size=n)
    skill = 0.4 + 0.3 * step
    logits = rng.normal(size=(n, num_classes)).astype(np.float64)
    logits[np.arange(n), y] += skill + 0.8
    groups = perm // group  # group id of each class
    same = groups[y][:, None] == groups[None, :]
    logits += same * rng.uniform(0.8, 2.4, size=(n, 1))
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return y, (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def write_multiclass_runs(logdir, runs=("mc/train", "mc/validation"), num_classes=10, steps=3,
                          thresholds=21, n=500, seed=0, class_names=None, tag=TAG):
    """Single-label multi-class runs (class ids + softmax scores, so the counts keep a
    confusion matrix and top-k hits). Returns ``{run: {step: Counts}}``; regenerate a step's
    inputs with ``multiclass_scores(step, num_classes, n, seed=[seed, i])`` for run ``i``."""
    written = {}
    names = class_names or [f"class_{i:03d}" for i in range(num_classes)]
    for i, run in enumerate(runs):
        written[run] = {}
        with summary.CountsWriter(os.path.join(logdir, run)) as writer:
            for step in range(steps):
                y, scores = multiclass_scores(step, num_classes, n, seed=[seed, i])
                counts = metrics.confusion_counts(y, scores, thresholds=thresholds,
                                                  label_names=names)
                writer.write(tag, counts, step, wall_time=1_700_000_000 + 60 * step)
                written[run][step] = counts
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", required=True)
    parser.add_argument("--runs", nargs="+", default=["run_a", "run_b"])
    parser.add_argument("--labels", type=int, default=30)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--thresholds", type=int, default=101)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--from-logits", action="store_true")
    args = parser.parse_args(argv)
    write_fixture_runs(args.logdir, runs=args.runs, num_labels=args.labels, steps=args.steps,
                       thresholds=args.thresholds, n=args.samples, from_logits=args.from_logits)
    print(f"Wrote {len(args.runs)} runs x {args.steps} steps to {args.logdir}")


if __name__ == "__main__":
    main()
