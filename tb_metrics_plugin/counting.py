"""Update and compute: exact per-label confusion counts at every threshold, in numpy.

`confusion_counts` = `inputs.format_inputs` (validate, format) + `count_formatted` (update:
O(N*L*log T + L*T), never N*L*T) -> `Counts` (compute: every derived metric).

>>> c = confusion_counts([[1, 0], [0, 1], [1, 1]], [[0.9, 0.2], [0.4, 0.6], [0.7, 0.3]],
...                      thresholds=[0.0, 0.5, 1.0])
>>> c.tp.tolist()
[[2, 2, 0], [2, 1, 0]]
"""
import warnings

import numpy as np

from tb_metrics_plugin import inputs
from tb_metrics_plugin.counts import Counts

__all__ = ["confusion_counts", "count_formatted", "OUT_OF_RANGE_WARNING",
           "PROBABILITIES_AS_LOGITS_WARNING", "probabilities_as_logits_message"]

# Fewer scores than this say too little about their range to warn that logits look like
# probabilities.
MIN_CELLS_TO_JUDGE = 100
PROBABILITIES_AS_LOGITS_WARNING = (
    "from_logits=True, but all {amount}scores{where} lie in [0, 1]: they look like "
    "probabilities (a sigmoid or softmax output). Read as logits, every one of them reaches "
    "the threshold 0.5 (whose logit is 0), so every count at a threshold would be wrong. Pass "
    "from_logits=False if the model ends in a sigmoid or softmax."
)
OUT_OF_RANGE_WARNING = (
    "{share} of the scores{where} lie outside [0, 1], but from_logits=False reads them as "
    "probabilities: they look like logits, and every count at a threshold would be wrong. "
    "Pass from_logits=True if the model outputs logits (e.g. a Dense layer without sigmoid, "
    "trained with BinaryCrossentropy(from_logits=True))."
)


def confusion_counts(
    y_true,
    y_score,
    thresholds=101,
    from_logits=False,
    sample_weight=None,
    label_names=None,
    ignore_value=None,
    label_axis=-1,
    multiclass=False,
    confusion_matrix=True,
):
    """Counts TP, FP, TN and FN of every label at every threshold, exactly.

    Each score is placed among the sorted float32 cuts by a binary search, the positions are
    histogrammed per label, and a reverse cumulative sum gives the counts at every threshold:
    identical to comparing every score with every threshold (``s >= t``), in
    O(N*L*log T + L*T) time and O(N*L + L*T) memory.

    Args:
      y_true: 0/1 labels (bool or numeric) of the shape of ``y_score``; or integer class ids
        without the label axis (``[N]`` with scores ``[N, C]``: single-label multi-class,
        one-vs-rest per class, plus the confusion matrix and top-k hits).
      y_score: scores ``[N]``, ``[N, 1]`` (binary), ``[N, L]`` or ``[N, ..., L]`` (leading dims
        are flattened into samples). Probabilities, or logits with ``from_logits=True``.
      thresholds: an int T (``linspace(0, 1, T)`` in float32) or sorted probabilities.
      from_logits: compare scores with the float32 logit of each threshold.
      sample_weight: non-negative weights per sample (the leading shape) or per label cell
        (the shape of ``y_score``); every count becomes a weighted sum.
      label_names: optional list of L names.
      ignore_value: label value that marks a missing label (NaN, -1, 255, ...): such cells are
        left out of every count (class ids equal to it leave out the whole sample).
      label_axis: the axis of ``y_score`` holding labels (``1`` for ``[N, C, H, W]``).
      multiclass: ``y_true`` is one-hot single-label data: keep the confusion matrix and top-k
        hits as for class ids.
      confusion_matrix: keep the ``C x C`` confusion matrix of single-label data (turn off for
        a very large C; top-k hits are kept either way).

    Returns:
      A `Counts`.

    Raises:
      ValueError: bad shapes, labels, weights or thresholds (the message names the fix).

    Warns:
      UserWarning: with ``from_logits=False``, when scores outside [0, 1] suggest logits.

    Example:

    >>> c = confusion_counts([1, 0, 1], [2.0, -1.0, 0.0], thresholds=[0.5], from_logits=True)
    >>> int(c.tp[0, 0]), int(c.fp[0, 0]), int(c.fn[0, 0])
    (2, 0, 0)
    """
    thresholds = inputs.make_thresholds(thresholds)
    f = inputs.format_inputs(y_true, y_score, sample_weight, ignore_value, label_axis, multiclass)
    names = inputs.check_label_names(label_names, f.layout.num_labels)
    counts = count_formatted(f, thresholds, from_logits, names, confusion_matrix)
    warn_out_of_range(counts)
    return counts


def warn_out_of_range(counts, where="", stacklevel=3):
    """Warns (UserWarning) when ``counts`` read out-of-range scores as probabilities, or read
    scores that all lie in [0, 1] as logits (`probabilities_as_logits_message`)."""
    message = out_of_range_message(counts, where) or probabilities_as_logits_message(
        counts, where)
    if message:
        warnings.warn(message, UserWarning, stacklevel=stacklevel)
    return message


def probabilities_as_logits_message(counts, where=""):
    """The warning text when ``from_logits=True`` counts hold at least `MIN_CELLS_TO_JUDGE`
    scores and every one lies in [0, 1] (sigmoid or softmax outputs read as logits), else None.

    >>> import numpy as np
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     c = confusion_counts(np.zeros((50, 2)), np.full((50, 2), 0.3), from_logits=True)
    >>> probabilities_as_logits_message(c)[:51]
    'from_logits=True, but all 100 scores lie in [0, 1]:'
    """
    if not counts.from_logits:
        return None
    valid = float(counts.observed.sum() - counts.nan.sum())
    if valid < MIN_CELLS_TO_JUDGE or float(counts.out_of_range.sum()) > 0:
        return None
    amount = f"{int(valid):,} " if not counts.weighted else ""
    return PROBABILITIES_AS_LOGITS_WARNING.format(amount=amount, where=where)


def out_of_range_message(counts, where=""):
    """The out-of-range warning text for ``counts``, or None when there is nothing to say."""
    if counts.from_logits:
        return None
    share = counts.out_of_range_share()
    if not share > 0:
        return None
    pct = 100.0 * share
    text = f"{pct:.3g}%" if pct >= 0.001 else "a few"
    return OUT_OF_RANGE_WARNING.format(share=text, where=where)


def count_formatted(f, thresholds, from_logits=False, label_names=None, confusion_matrix=True):
    """The `Counts` of formatted inputs (`inputs.Formatted`) at float32 ``thresholds``."""
    cuts = inputs.cut_values(thresholds, from_logits)
    labels, scores = f.labels, f.scores
    num_t = thresholds.size
    n_rows, num_labels = labels.shape
    weighted = f.cell_weights is not None
    dtype = np.float64 if weighted else np.int64
    # Per-cell weight of every count: None (1 each), the observed mask, or the weights.
    cell_w = f.cell_weights
    if cell_w is None and f.observed is not None:
        cell_w = f.observed
    row_w = f.row_weights

    # k[i, l]: how many thresholds the score reaches (positive at threshold indices < k).
    cmp_dtype = np.result_type(scores.dtype, np.float32)
    isnan = np.isnan(scores)
    k = np.searchsorted(cuts.astype(cmp_dtype), scores.astype(cmp_dtype, copy=False), side="right")
    k[isnan] = 0

    # Histogram of k per label, separately for negative and positive labels.
    flat = (np.arange(num_labels) * (num_t + 1))[None, :] + k
    flat = flat + labels * (num_labels * (num_t + 1))
    w = None if cell_w is None else np.asarray(cell_w, dtype=np.float64).ravel()
    hist = np.bincount(flat.ravel(), weights=w, minlength=2 * num_labels * (num_t + 1))
    hist = hist.reshape(2, num_labels, num_t + 1)
    # cum[.., j] = cells with k >= j = sum of hist[.., j:]; cum[.., 0] is every cell, and
    # cum[.., j + 1] the cells reaching threshold j. Totals and counts come from one chain of
    # sums, so with float weights a total is never below a count it holds (a rounding error
    # of a separately summed total could make FN or TN negative).
    cum = np.cumsum(hist[..., ::-1], axis=-1)[..., ::-1]
    fp, tp = cum[0, :, 1:].astype(dtype), cum[1, :, 1:].astype(dtype)
    negatives, support = cum[0, :, 0].astype(dtype), cum[1, :, 0].astype(dtype)

    def per_label(mask):
        if cell_w is None:
            return mask.sum(axis=0).astype(dtype)
        return np.where(mask, cell_w, 0).sum(axis=0).astype(dtype)

    any_nan = bool(isnan.any())
    zeros = np.zeros(num_labels, dtype=dtype)
    nan = per_label(isnan) if any_nan else zeros
    nan_positive = per_label(isnan & labels) if any_nan else zeros.copy()
    with np.errstate(invalid="ignore"):
        # fmin/fmax skip NaN: a fast check first, as probabilities are the common case
        outside = np.fmin.reduce(scores, axis=None) < 0 or np.fmax.reduce(scores, axis=None) > 1
        out_of_range = per_label((scores < 0) | (scores > 1)) if outside else zeros.copy()

    # A row is exactly right at thresholds j with lo <= j < hi (over its observed cells).
    obs = f.observed
    neg_k = np.where(labels, 0, k) if obs is None else np.where(labels | ~obs, 0, k)
    pos_k = np.where(labels, k, num_t) if obs is None else np.where(labels & obs, k, num_t)
    lo, hi = neg_k.max(axis=1), pos_k.min(axis=1)
    valid = lo < hi
    rw = None if row_w is None else row_w[valid]
    diff = np.bincount(lo[valid], weights=rw, minlength=num_t + 1)
    diff = diff - np.bincount(hi[valid], weights=rw, minlength=num_t + 1)
    exact = np.cumsum(diff)[:num_t]
    if weighted:
        # A running sum of (started - ended) weights cancels: its rounding error is relative
        # to n, not to the count, and could leave a count of 0 at -1e-9 (which writers refuse
        # as a wrapped counter). Counts are never negative.
        exact = np.maximum(exact, 0.0)
    exact = exact.astype(dtype)
    n = (float(row_w.sum()) if weighted else int(row_w.sum())) if row_w is not None else n_rows

    # Argmax statistics: first index among tied top scores; NaN scores count as -inf; ignored
    # cells take part in neither argmax.
    ranked = np.where(isnan, -np.inf, scores)
    if obs is not None:
        ranked = np.where(obs, ranked, -np.inf)
    pred = np.argmax(ranked, axis=1)
    hit1 = labels[np.arange(n_rows), pred]
    if obs is not None:
        hit1 &= obs[np.arange(n_rows), pred]
    if f.class_ids is not None:
        true_cls = f.class_ids
    else:
        true_cls = np.argmax(labels if obs is None else labels & obs, axis=1)

    def total(mask):
        return mask.sum().astype(dtype) if row_w is None else dtype(row_w[mask].sum())

    categorical = total(pred == true_cls)
    top1 = total(hit1)
    negative_rows = total(~(labels if obs is None else labels & obs).any(axis=1))

    matrix = top_k = None
    if f.class_ids is not None:
        if confusion_matrix:
            matrix = np.bincount(true_cls * num_labels + pred, weights=row_w,
                                 minlength=num_labels * num_labels)
            matrix = matrix.reshape(num_labels, num_labels).astype(dtype)
        top_k = _top_k_hits(ranked, true_cls, row_w, dtype)

    thr = np.asarray(thresholds, dtype=np.float32)
    return Counts(
        thresholds=thr,
        tp=tp,
        fp=fp,
        tn=negatives[:, None] - fp,
        fn=support[:, None] - tp,
        exact_match=exact,
        n=n,
        nan=nan,
        label_names=inputs.check_label_names(label_names, num_labels),
        from_logits=bool(from_logits),
        out_of_range=out_of_range,
        categorical_correct=categorical,
        top1_positive=top1,
        negative_rows=negative_rows,
        nan_positive=nan_positive,
        confusion_matrix=matrix,
        top_k_hits=top_k,
        sample_unit=f.layout.sample_unit,
    )


def _top_k_hits(ranked, true_cls, row_w, dtype):
    """[K] weight of rows whose true class ranks among the top k, k = 1..K (K <= 5).

    The rank of the true class counts the classes scoring higher, and the tied ones at a lower
    index (first index wins ties, as argmax).
    """
    rows = np.arange(ranked.shape[0])
    s_true = ranked[rows, true_cls][:, None]
    cols = np.arange(ranked.shape[1])[None, :]
    rank = (ranked > s_true).sum(axis=1) + ((ranked == s_true) & (cols < true_cls[:, None])).sum(axis=1)
    num_k = min(inputs.MAX_TOP_K, ranked.shape[1])
    per_rank = np.bincount(np.minimum(rank, num_k), weights=row_w, minlength=num_k + 1)
    return np.cumsum(per_rank[:num_k]).astype(dtype)
