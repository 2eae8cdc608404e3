"""The state of `ThresholdCounts`: its layout, the two-word sums, and what is read from it.

* `SumsLayout`: where each per-step sum lies in the flat state vector;
* `accumulate`: adds a batch vector to a two-word state that never wraps (int32 low/high words
  with a carry at 2**24; compensated float32 pairs for weights); `combine` reads it as float32;
* `headline`: micro / macro F1, binary / exact-match / categorical accuracy, macro ROC-AUC and
  macro average precision at one threshold, from the state, as `Counts` defines them (inside
  compiled steps);
* `counts_from_sums` (numpy): the `Counts` of a state.

Counting a batch into the state is `tb_metrics_plugin.keras_ops`.
"""
import numpy as np
from keras import ops

from tb_metrics_plugin import inputs
from tb_metrics_plugin.counts import Counts
from tb_metrics_plugin.keras_search import BinPlan

__all__ = ["SumsLayout", "accumulate", "combine", "headline", "counts_from_sums", "LOW_BITS",
           "MAX_EXACT", "HEADLINE_KEYS", "ROW_SUMS", "NUM_CHUNKS", "MAX_BATCH_ROWS"]

LOW_BITS = 24
MAX_EXACT = 2**53 - 1
HEADLINE_KEYS = ("micro_f1", "macro_f1", "binary_accuracy", "exact_match_accuracy",
                 "categorical_accuracy", "macro_roc_auc", "macro_average_precision")
# Per-row sums, in this order, in the state's "rows" section ("updates" counts update_state
# calls and picks the chunk each update normalises; "oversized" counts batches too large to
# count exactly, which `counts_from_sums` refuses).
ROW_SUMS = ("n", "categorical_correct", "top1_positive", "negative_rows", "invalid", "updates",
            "oversized")
# An unweighted update carries the low words of one of NUM_CHUNKS chunks of the state into the
# high words (a power of two dividing 2**LOW_BITS): every cell is carried at least once per
# NUM_CHUNKS updates, and no cell grows by more than a batch's rows per update, so the low
# words stay below 2**31 for batches of up to MAX_BATCH_ROWS rows.
NUM_CHUNKS = 16
MAX_BATCH_ROWS = (2**31 - 2**LOW_BITS) // NUM_CHUNKS


# -- the state's layout ------------------------------------------------------------------------


class SumsLayout:
    """Where each per-step sum lies in the flat state vector.

    Sections (``[start, stop)`` in `sections`): ``hist`` [2, L, T+5] (negative/positive label,
    label, bin of `keras_search.BinPlan`: the score's ``kx`` 0..T+2, NaN, refused cell);
    ``bounds`` [2, T+1] (exact-match difference array: lo, hi); ``rows`` [7] (`ROW_SUMS`: n,
    categorical_correct, top1_positive, negative_rows, refused rows, updates, oversized
    batches); and for single-label
    multi-class data ``top_k`` [K] (rows whose true class ranks k-th, k = 0..K-1) and
    ``confusion_matrix`` [C, C] (when kept).

    ``cuts``: the float32 cut values (thresholds or their logits), or an int T for
    `inputs.make_thresholds` (T).

    >>> SumsLayout(2, 3).size  # 2*2*8 + 2*4 + 7
    47
    """

    def __init__(self, num_labels, cuts, multiclass=False, confusion_matrix=False):
        if isinstance(cuts, (int, np.integer)):
            cuts = inputs.make_thresholds(int(cuts))
        self.bins = BinPlan(cuts)
        self.num_labels = int(num_labels)
        self.num_thresholds = self.bins.num_thresholds
        self.multiclass = bool(multiclass)
        self.top_k = min(inputs.MAX_TOP_K, self.num_labels) if self.multiclass else 0
        self.confusion_matrix = bool(multiclass and confusion_matrix)
        num_l, num_t = self.num_labels, self.num_thresholds
        shapes = [("hist", (2, num_l, self.bins.width)), ("bounds", (2, num_t + 1)),
                  ("rows", (len(ROW_SUMS),))]
        if self.multiclass:
            shapes.append(("top_k", (self.top_k,)))
        if self.confusion_matrix:
            shapes.append(("confusion_matrix", (num_l, num_l)))
        self.shapes = dict(shapes)
        self.sections = {}
        start = 0
        for name, shape in shapes:
            stop = start + int(np.prod(shape))
            self.sections[name] = (start, stop)
            start = stop
        self.size = start

    def part(self, values, name):
        """Section ``name`` of a flat vector (numpy or a tensor), in its shape."""
        start, stop = self.sections[name]
        return ops.reshape(values[start:stop], self.shapes[name]) if not isinstance(
            values, np.ndarray) else values[start:stop].reshape(self.shapes[name])


# -- accumulate --------------------------------------------------------------------------------


def accumulate(low, high, batch, weighted=False):
    """``(low, high)`` after adding ``batch`` (all flat vectors of one dtype).

    Unweighted (int32): ``value = high * 2**LOW_BITS + low``; the low word takes the batch and
    carries into the high word, so no count wraps below 2**53 (`counts_from_sums` refuses more).
    Weighted (float32): ``value = high + low`` kept by TwoSum (Knuth), the float64-grade sum of
    two float32 words (relative error ~2**-44 over billions of additions).
    """
    if not weighted:
        total = low + batch
        carry = ops.right_shift(total, LOW_BITS)
        return ops.bitwise_and(total, (1 << LOW_BITS) - 1), high + carry
    s = high + batch
    virtual = s - high
    err = (high - (s - virtual)) + (batch - virtual)
    low = low + err
    # Renormalise so that |low| stays within half an ulp of high (fast TwoSum).
    high2 = s + low
    low2 = low - (high2 - s)
    return low2, high2



def combine(low, high, weighted=False):
    """float32 values of a two-word state (for the headline scalars, inside compiled steps)."""
    if weighted:
        return high + low
    return ops.cast(high, "float32") * float(1 << LOW_BITS) + ops.cast(low, "float32")


# -- compute: headline scalars -----------------------------------------------------------------


def headline(values, sums_layout, decision_index, zero_division=0.0):
    """The `HEADLINE_KEYS` scalars (float32 [7]) of a state's values (float32 flat vector),
    at threshold index ``decision_index``, as `Counts` computes them: ``f1("micro"/"macro",
    zero_division)``, ``binary_accuracy()``, ``exact_match_accuracy()``,
    ``categorical_accuracy()``, ``roc_auc("macro")`` and ``average_precision("macro")``
    (NaN where those are NaN), except that an empty state (n = 0) gives 0 for every key."""
    lay = sums_layout
    plan = lay.bins
    d = int(decision_index)
    zd = float(zero_division)
    hist = lay.part(values, "hist")  # [2, L, T+5]
    totals = ops.sum(hist[:, :, : plan.invalid_bin], axis=-1)  # [2, L] observed, NaN included
    neg, support = totals[0], totals[1]
    # cells reaching threshold j: those in bins first[j].. (see keras_search.BinPlan)
    cum = ops.cumsum(hist[:, :, : plan.nan_bin], axis=-1)
    reached = cum[:, :, -1:] - ops.take(cum, plan.first - 1, axis=2)  # [2, L, T]
    fp_all, tp_all = reached[0], reached[1]
    fp, tp = fp_all[:, d], tp_all[:, d]
    fn = support - tp
    tn = neg - fp
    rows = lay.part(values, "rows")
    n = rows[0]
    bounds = lay.part(values, "bounds")
    exact = ops.sum(bounds[0, : d + 1]) - ops.sum(bounds[1, : d + 1])
    nan = float("nan")

    def safe(num, den, zero):
        return ops.where(ops.greater(den, 0), num / ops.where(ops.greater(den, 0), den, 1.0),
                         zero)

    def nanmean(v):
        ok = ops.logical_not(ops.isnan(v))
        count = ops.sum(ops.cast(ok, "float32"))
        return safe(ops.sum(ops.where(ok, v, 0.0)), count, nan)

    tp_sum = ops.sum(tp)
    micro = safe(2 * tp_sum, 2 * tp_sum + ops.sum(fp) + ops.sum(fn), zd)
    macro = nanmean(safe(2 * tp, 2 * tp + fp + fn, zd))
    observed = ops.sum(neg + support)
    binary = safe(tp_sum + ops.sum(tn), observed, nan)
    exact_acc = safe(exact, n, nan)
    categorical = safe(rows[1], n, nan)

    # ROC-AUC: trapezoid over (FPR, TPR) with (1, 1) and (0, 0); AP: sum (R_j - R_j+1) P_j.
    pos_c, neg_c = support[:, None], neg[:, None]
    fpr = safe(fp_all, neg_c, nan)
    tpr = safe(tp_all, pos_c, nan)
    ones = ops.ones_like(fpr[:, :1])
    x = ops.concatenate([ones, fpr, 0 * ones], axis=1)
    y = ops.concatenate([ones, tpr, 0 * ones], axis=1)
    area = ops.sum((x[:, :-1] - x[:, 1:]) * (y[:, :-1] + y[:, 1:]) / 2.0, axis=1)
    has_both = ops.logical_and(ops.greater(support, 0), ops.greater(neg, 0))
    roc = nanmean(ops.where(has_both, area, nan))
    recall = safe(tp_all, pos_c, 0.0)
    precision = safe(tp_all, tp_all + fp_all, 0.0)
    next_recall = ops.concatenate([recall[:, 1:], 0 * ones], axis=1)
    ap = ops.sum((recall - next_recall) * precision, axis=1)
    ap = nanmean(ops.where(ops.greater(support, 0), ap, nan))
    out = ops.stack([micro, macro, binary, exact_acc, categorical, roc, ap])
    return ops.where(ops.greater(n, 0), out, ops.zeros_like(out))


# -- numpy: the Counts of a state ----------------------------------------------------------------


def counts_from_sums(low, high, sums_layout, thresholds, *, weighted, label_names,
                     from_logits, sample_unit="samples", name="threshold_counts"):
    """The `Counts` of a two-word state (numpy arrays; per-replica lists are summed here).

    Raises:
      ValueError: a count past 2**53 - 1 (or wrapped), or cells that `confusion_counts` would
        refuse (labels not 0/1, class ids outside [0, C), bad weights), naming the fix.
    """
    lay = sums_layout
    plan = lay.bins
    if weighted:
        values = np.asarray(high, np.float64) + np.asarray(low, np.float64)
    else:
        high = np.asarray(high, np.int64)
        low = np.asarray(low, np.int64)
        if np.any(high < 0) or np.any(low < 0) or np.any(high >= 2**(53 - LOW_BITS)) or (
                np.any((high << LOW_BITS) + low > MAX_EXACT)):
            raise ValueError(
                f"ThresholdCounts {name!r}: expected every count <= 2**53 - 1 (exact); received "
                f"a state past that limit ({int(high.max())} high words). Reset the metric "
                "more often (e.g. count fewer steps per epoch) or use weighted=True.")
        values = (high << LOW_BITS) + low
    rows = lay.part(values, "rows")
    if rows[ROW_SUMS.index("oversized")] > 0:
        raise ValueError(
            f"ThresholdCounts {name!r}: expected batches of at most {MAX_BATCH_ROWS:,} rows "
            "(samples, or cells of flattened leading dimensions; up to 2**31 - 2**24 when the "
            f"batch shape is fixed when traced); received {rows[ROW_SUMS.index('oversized')]:g} "
            "larger batches, whose counts may have wrapped. Split such batches, or use "
            "weighted=True (float sums).")
    hist = lay.part(values, "hist")
    refused = rows[4] + hist[:, :, plan.invalid_bin].sum()
    if refused > 0:
        raise ValueError(
            f"ThresholdCounts {name!r}: expected labels of 0 and 1 (or class ids in [0, "
            f"{lay.num_labels}), one-hot rows with multiclass=True) and finite non-negative "
            f"weights; received {refused:g} cells or rows that are not. For missing labels pass "
            "`ignore_value` (e.g. ignore_value=-1 or float('nan')); check the data with "
            "tb_metrics_plugin.confusion_counts, which names the bad values.")
    dtype = np.float64 if weighted else np.int64
    num_t = plan.num_thresholds
    hist = hist.astype(dtype)
    totals = hist[..., : plan.invalid_bin].sum(axis=-1)
    cum = np.cumsum(hist[..., : plan.nan_bin], axis=-1)
    reached = cum[..., -1:] - cum[..., plan.first - 1]
    fp, tp = reached[0], reached[1]
    neg, support = totals[0], totals[1]
    # below 0: bins < first_in_range; above 1: bins >= first_above (both label groups)
    out_of_range = (cum[..., plan.first_in_range - 1] + cum[..., -1]
                    - cum[..., plan.first_above - 1]).sum(axis=0)
    bounds = lay.part(values, "bounds").astype(dtype)
    exact = np.cumsum(bounds[0] - bounds[1])[:num_t]

    def scalar(v):
        return float(v) if weighted else int(v)

    matrix = top_k = None
    if lay.multiclass:
        top_k = np.cumsum(lay.part(values, "top_k").astype(dtype))
        if lay.confusion_matrix:
            matrix = lay.part(values, "confusion_matrix").astype(dtype)
    return Counts(
        thresholds=np.asarray(thresholds, np.float32),
        tp=tp, fp=fp, tn=neg[:, None] - fp, fn=support[:, None] - tp,
        exact_match=exact,
        n=scalar(rows[0]),
        nan=hist[0, :, plan.nan_bin] + hist[1, :, plan.nan_bin],
        label_names=list(label_names),
        from_logits=bool(from_logits),
        out_of_range=out_of_range,
        categorical_correct=dtype(rows[1]),
        top1_positive=dtype(rows[2]),
        negative_rows=dtype(rows[3]),
        nan_positive=hist[1, :, plan.nan_bin],
        confusion_matrix=matrix,
        top_k_hits=top_k,
        sample_unit=sample_unit,
    )
