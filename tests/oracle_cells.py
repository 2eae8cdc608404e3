"""A cell-by-cell brute-force reference for every field of `Counts` (small inputs only).

Unlike `tests.oracle.brute_force_counts`, it knows ignored cells, per-cell weights and the
argmax sums, and it is written as plain loops over rows, labels and thresholds so that it
shares no code path (no searchsorted, no bincount, no cumsum) with `counting.py`.

Rules it encodes (DESIGN.md, "Settled details"):
* a cell is counted iff it is observed (label != ignore_value); its weight is its cell weight;
* a row's weight in ``n``, exact match and the argmax sums is the mean of its observed cells'
  weights (its sample weight under per-row weights, 1 unweighted); a row with no observed cell
  is left out;
* argmax takes the first index among the tied top scores, NaN and ignored cells count as -inf;
  the true class of a multi-label row is its first observed positive label (0 when none).
"""
import math

import numpy as np


def float32_cuts(thresholds, from_logits):
    t32 = np.asarray(thresholds, dtype=np.float32)
    if not from_logits:
        return t32
    cuts = []
    for t in t32.astype(np.float64):
        if t == 0:
            cuts.append(-math.inf)
        elif t == 1:
            cuts.append(math.inf)
        else:
            cuts.append(math.log(t / (1 - t)))
    return np.asarray(cuts, dtype=np.float64).astype(np.float32)


def first_argmax(values):
    best, best_i = -math.inf, 0
    for i, v in enumerate(values):
        if v > best:
            best, best_i = v, i
    return best_i


def reference(labels, scores, thresholds, from_logits=False, observed=None, cell_weights=None,
              class_ids=None):
    """labels [R, L] (0/1), scores [R, L], observed bool [R, L] or None, cell_weights [R, L] or
    None, class_ids [R] or None (single-label). Returns a dict of every `Counts` field."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores)
    n_rows, num_l = labels.shape
    cuts = float32_cuts(thresholds, from_logits)
    num_t = cuts.size
    cmp = np.result_type(scores.dtype, np.float32)
    obs = np.ones_like(labels) if observed is None else np.asarray(observed, bool)
    w = np.ones(labels.shape) if cell_weights is None else np.asarray(cell_weights, float)
    out = {k: np.zeros((num_l, num_t)) for k in ("tp", "fp", "tn", "fn")}
    for k in ("nan", "nan_positive", "out_of_range"):
        out[k] = np.zeros(num_l)
    exact = np.zeros(num_t)
    n = cat = top1 = neg_rows = 0.0
    num_k = min(5, num_l)
    top_k = np.zeros(num_k)
    matrix = np.zeros((num_l, num_l))
    for r in range(n_rows):
        cells = [l for l in range(num_l) if obs[r, l]]
        for l in cells:
            s = scores[r, l].astype(cmp)
            if math.isnan(s):
                out["nan"][l] += w[r, l]
                if labels[r, l]:
                    out["nan_positive"][l] += w[r, l]
            elif s < 0 or s > 1:
                out["out_of_range"][l] += w[r, l]
            for j in range(num_t):
                pred = bool(s >= cuts[j].astype(cmp))
                key = ("tp" if labels[r, l] else "fp") if pred else ("fn" if labels[r, l] else "tn")
                out[key][l, j] += w[r, l]
        if not cells:
            continue
        rw = sum(w[r, l] for l in cells) / len(cells)
        n += rw
        for j in range(num_t):
            if all(bool(scores[r, l].astype(cmp) >= cuts[j].astype(cmp)) == labels[r, l]
                   for l in cells):
                exact[j] += rw
        ranked = [(-math.inf if (not obs[r, l] or math.isnan(scores[r, l])) else
                   float(scores[r, l])) for l in range(num_l)]
        pred = first_argmax(ranked)
        positives = [l for l in cells if labels[r, l]]
        true = int(class_ids[r]) if class_ids is not None else (positives[0] if positives else 0)
        cat += rw * (pred == true)
        top1 += rw * (labels[r, pred] and obs[r, pred])
        neg_rows += rw * (not positives)
        if class_ids is not None:
            matrix[true, pred] += rw
            # rank of the true class: classes scoring higher, and tied ones at a lower index
            rank = sum(1 for l in range(num_l)
                       if ranked[l] > ranked[true] or (ranked[l] == ranked[true] and l < true))
            for k in range(num_k):
                if rank <= k:
                    top_k[k] += rw
    out.update(exact_match=exact, n=n, categorical_correct=cat, top1_positive=top1,
               negative_rows=neg_rows, observed=(w * obs).sum(axis=0))
    if class_ids is not None:
        out.update(confusion_matrix=matrix, top_k_hits=top_k)
    return out


def assert_counts_equal_reference(counts, ref, exact=True):
    """Every field of ``counts`` equals ``ref`` (exactly, or to 1e-12 relative when weighted)."""
    fields = ["tp", "fp", "tn", "fn", "exact_match", "nan", "nan_positive", "out_of_range",
              "observed", "n", "categorical_correct", "top1_positive", "negative_rows"]
    if "confusion_matrix" in ref:
        fields += ["top_k_hits"]
        if counts.confusion_matrix is not None:
            fields += ["confusion_matrix"]
    for key in fields:
        got = np.asarray(getattr(counts, key), dtype=np.float64)
        want = np.asarray(ref[key], dtype=np.float64)
        if exact:
            np.testing.assert_array_equal(got, want, err_msg=key)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9, err_msg=key)
