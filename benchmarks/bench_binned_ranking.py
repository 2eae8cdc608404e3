"""How far binned ROC-AUC and average precision (from counts at 101 thresholds) are from
scikit-learn's exact values when scores do not lie on the thresholds.

    python benchmarks/bench_binned_ranking.py [--seeds 20] [--n 20000]

Prints, per score distribution, the largest and the mean absolute difference over seeds
(binned minus exact). The numbers are recorded in `tb_metrics_plugin/ranking.py`'s docstring.
"""
import argparse

import numpy as np
from sklearn import metrics as skm

import tb_metrics_plugin as tbm


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def distributions(rng, n):
    """name -> (labels, scores); every name a kind of model users train."""
    out = {}
    y = rng.random(n) < 0.3
    out["separated: beta(5,2) vs beta(2,5), 30% positive"] = (
        y, np.where(y, rng.beta(5, 2, n), rng.beta(2, 5, n)))
    y = rng.random(n) < 0.1
    out["overlapping: logits N(+-0.5, 1), 10% positive"] = (
        y, sigmoid(rng.normal(np.where(y, 0.5, -0.5), 1.0)))
    y = rng.random(n) < 0.01
    out["rare label: logits N(-4 / -2, 1), 1% positive"] = (
        y, sigmoid(rng.normal(np.where(y, -2.0, -4.0), 1.0)))
    y = rng.random(n) < 0.02
    out["collapsed: logits N(-7 / -6, 0.5), 2% positive (all scores < 0.01)"] = (
        y, sigmoid(rng.normal(np.where(y, -6.0, -7.0), 0.5)))
    y = rng.random(n) < 0.5
    out["confident: logits N(+-4, 1.5), 50% positive"] = (
        y, sigmoid(rng.normal(np.where(y, 4.0, -4.0), 1.5)))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--thresholds", type=int, default=101)
    args = parser.parse_args()
    diffs = {}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        for name, (y, s) in distributions(rng, args.n).items():
            s = s.astype(np.float32)
            c = tbm.confusion_counts(y, s, thresholds=args.thresholds)
            auc = float(c.roc_auc(None)[0]) - skm.roc_auc_score(y, s)
            ap = float(c.average_precision(None)[0]) - skm.average_precision_score(y, s)
            d = diffs.setdefault(name, {"auc": [], "ap": []})
            d["auc"].append(auc)
            d["ap"].append(ap)
    print(f"{args.thresholds} thresholds, n={args.n}, {args.seeds} seeds: binned - exact")
    print(f"{'distribution':70s} {'AUC max|d|':>10s} {'AUC mean d':>10s} "
          f"{'AP max|d|':>10s} {'AP mean d':>10s}")
    for name, d in diffs.items():
        auc, ap = np.array(d["auc"]), np.array(d["ap"])
        print(f"{name:70s} {np.abs(auc).max():10.2e} {auc.mean():10.2e} "
              f"{np.abs(ap).max():10.2e} {ap.mean():10.2e}")


if __name__ == "__main__":
    main()
