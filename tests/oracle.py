"""Brute-force references the tests compare the fast code with. O(N*L*T): small inputs only."""
import numpy as np

from tests.oracle_cells import float32_cuts


def brute_force_counts(y_true, y_score, thresholds, from_logits=False, sample_weight=None):
    """Compares every score with every threshold. y_true/y_score: [N, L]; returns a dict."""
    y_true = np.asarray(y_true).astype(bool)
    y_score = np.asarray(y_score)
    cuts = float32_cuts(thresholds, from_logits)
    n, num_l = y_true.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    cmp_dtype = np.result_type(y_score.dtype, np.float32)
    s = y_score.astype(cmp_dtype)
    c = cuts.astype(cmp_dtype)
    pred = s[:, :, None] >= c[None, None, :]  # NaN compares False: never positive
    truth = y_true[:, :, None]
    ww = w[:, None, None]
    return {
        "tp": (ww * (pred & truth)).sum(axis=0),
        "fp": (ww * (pred & ~truth)).sum(axis=0),
        "tn": (ww * (~pred & ~truth)).sum(axis=0),
        "fn": (ww * (~pred & truth)).sum(axis=0),
        "exact_match": (w[:, None] * (pred == truth).all(axis=1)).sum(axis=0),
        "n": w.sum(),
        "nan": (w[:, None] * np.isnan(s)).sum(axis=0),
    }
