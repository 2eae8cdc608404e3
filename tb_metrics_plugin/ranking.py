"""Ranking, score distributions and calibration, derived from the stored counts alone.

The counts at T thresholds are each label's score histogram in T+1 bins
``(-inf, t_0), [t_0, t_1), ..., [t_{T-1}, +inf)`` split by label, so ROC, average precision,
score distributions and reliability need no new state.

Definitions (scikit-learn's, on the stored thresholds):

* ROC-AUC: the trapezoid over (FPR, TPR) at every threshold plus (0, 0) and (1, 1);
* average precision: ``sum_j (R_j - R_{j+1}) * P_j`` with ``R_T = 0`` (the step sum of
  ``average_precision_score``);
* both equal scikit-learn's ``roc_auc_score`` / ``average_precision_score`` (to 1e-9) when every
  score lies on a stored threshold. Otherwise they are the values of the binned scores: scores
  that fall into one bin count as tied, so ROC-AUC can differ by at most half the share of
  positive-negative pairs that share a bin, and AP by the precision lost within one bin.
  Measured with 101 thresholds against scikit-learn on float32 scores (n = 20,000, 20 seeds,
  ``python benchmarks/bench_binned_ranking.py``), largest |binned - exact|:

  ==============================================================  ==========  ==========
  scores                                                          ROC-AUC     AP
  ==============================================================  ==========  ==========
  separated: beta(5,2) vs beta(2,5), 30% positive                 1.0e-4      2.7e-3
  overlapping: sigmoid(N(+-0.5, 1)), 10% positive                 1.5e-4      5.3e-3
  confident: sigmoid(N(+-4, 1.5)), 50% positive                   1.0e-6      6.1e-6
  rare label: sigmoid(N(-2 / -4, 1)), 1% positive                 4.3e-3      1.2e-2
  collapsed: sigmoid(N(-6 / -7, 0.5)), 2% positive, all < 0.01    0.43        0.40
  ==============================================================  ==========  ==========

  Binned AP is biased low (ties within a bin cost precision); both are close whenever the
  scores spread over several bins, and meaningless when they collapse into one (the score
  histogram shows it): pass finer thresholds near 0 (e.g. ``numpy.geomspace``) for such
  labels.
* A label without positives (or, for ROC, without negatives) is NaN and left out of ``macro``
  and ``weighted``; ``micro`` pools every cell, as scikit-learn's ``average="micro"``.

>>> import numpy as np
>>> from tb_metrics_plugin import confusion_counts
>>> c = confusion_counts([1, 0, 1, 0], [0.75, 0.25, 0.5, 0.5], thresholds=[0.25, 0.5, 0.75])
>>> round(float(c.roc_auc(average=None)[0]), 4), round(float(c.average_precision(None)[0]), 4)
(0.875, 0.8333)
"""
import numpy as np

from tb_metrics_plugin.counts import check_average, nanmean, safe_divide

__all__ = ["roc_auc", "average_precision", "roc_curve", "score_histogram", "reliability",
           "expected_calibration_error", "bin_edges"]


def _pooled(counts):
    """tp, fp, support, negatives of every label ([L, T], [L]) as float64."""
    tp = counts.tp.astype(np.float64)
    fp = counts.fp.astype(np.float64)
    pos = counts.support.astype(np.float64)
    neg = (counts.fp[:, 0] + counts.tn[:, 0]).astype(np.float64)
    return tp, fp, pos, neg


def _reduce(values_fn, counts, average, weights_of):
    check_average(average)
    tp, fp, pos, neg = _pooled(counts)
    if average == "micro":
        return float(values_fn(tp.sum(0, keepdims=True), fp.sum(0, keepdims=True),
                               pos.sum(keepdims=True), neg.sum(keepdims=True))[0])
    per_label = values_fn(tp, fp, pos, neg)
    if average is None:
        return per_label
    if average == "macro":
        return float(nanmean(per_label))
    return float(nanmean(per_label, weights=weights_of(pos)))


def roc_curve(counts, average=None):
    """(fpr, tpr) at every stored threshold: [L, T] each, or [T] pooled with ``"micro"``.

    A label without negatives (positives) has NaN FPR (TPR).
    """
    check_average(average, (None, "micro"))
    tp, fp, pos, neg = _pooled(counts)
    if average == "micro":
        tp, fp, pos, neg = tp.sum(0), fp.sum(0), pos.sum(), neg.sum()
        return safe_divide(fp, neg, np.nan), safe_divide(tp, pos, np.nan)
    return safe_divide(fp, neg[:, None], np.nan), safe_divide(tp, pos[:, None], np.nan)


def _auc(tp, fp, pos, neg):
    fpr = safe_divide(fp, neg[:, None], np.nan)
    tpr = safe_divide(tp, pos[:, None], np.nan)
    ones = np.ones((tp.shape[0], 1))
    x = np.concatenate([ones, fpr, 0 * ones], axis=1)  # descending FPR
    y = np.concatenate([ones, tpr, 0 * ones], axis=1)
    area = np.sum((x[:, :-1] - x[:, 1:]) * (y[:, :-1] + y[:, 1:]) / 2.0, axis=1)
    return np.where((pos > 0) & (neg > 0), area, np.nan)


def roc_auc(counts, average="macro"):
    """Area under the ROC curve per label ([L], ``average=None``) or averaged (a float).

    ``average``: None, ``"micro"`` (every cell pooled), ``"macro"`` (mean over labels that have
    positives and negatives), ``"weighted"`` (by support). Equals scikit-learn's
    ``roc_auc_score`` when every score lies on a stored threshold.
    """
    return _reduce(_auc, counts, average, lambda pos: pos)


def _ap(tp, fp, pos, neg):
    recall = safe_divide(tp, pos[:, None], 0.0)
    precision = safe_divide(tp, tp + fp, 0.0)
    next_recall = np.concatenate([recall[:, 1:], np.zeros((tp.shape[0], 1))], axis=1)
    ap = np.sum((recall - next_recall) * precision, axis=1)
    return np.where(pos > 0, ap, np.nan)


def average_precision(counts, average="macro"):
    """Average precision ``sum_j (R_j - R_{j+1}) P_j`` per label or averaged (see module doc).

    Equals scikit-learn's ``average_precision_score`` when every score lies on a stored
    threshold; a label without positives is NaN.
    """
    return _reduce(_ap, counts, average, lambda pos: pos)


def bin_edges(counts):
    """[T+2] probability edges of the T+1 score bins: ``-inf, t_0, ..., t_{T-1}, +inf``.

    With ``from_logits`` the bins are still probability bins (``sigmoid(z)`` in ``[t_j,
    t_{j+1})``), as the logit cuts are the thresholds' logits.
    """
    t = counts.thresholds.astype(np.float64)
    return np.concatenate([[-np.inf], t, [np.inf]])


def score_histogram(counts):
    """(positives, negatives), each [L, T+1]: cells per score bin ``(-inf, t_0)``,
    ``[t_0, t_1)``, ..., ``[t_{T-1}, +inf)``, exact differences of the counts.

    NaN scores are in no bin (they are in ``counts.nan``). In files that predate
    ``nan_positive`` a label's NaN cells cannot be split by class and stay in bin 0.
    """
    def hist(reach, below, nan):
        # below: cells under t_0 (FN or TN at t_0), NaN cells included; they are taken out.
        first = below[:, None] - nan[:, None]
        if first.dtype.kind == "f":
            # weighted: NaN weights were summed apart, so an emptied bin can read -1e-16
            first = np.maximum(first, 0.0)
        inner = reach[:, :-1] - reach[:, 1:]
        return np.concatenate([first, inner, reach[:, -1:]], axis=1)

    nan_pos = np.zeros_like(counts.nan)
    nan_neg = nan_pos
    if counts.nan_positive is not None:
        nan_pos = counts.nan_positive
        nan_neg = counts.nan - counts.nan_positive
    return (hist(counts.tp, counts.fn[:, 0], nan_pos),
            hist(counts.fp, counts.tn[:, 0], nan_neg))


def reliability(counts, average=None):
    """A reliability diagram over the threshold bins.

    Returns:
      ``(confidence, positive_share, cells)``: confidence [T+1] is each bin's probability
      midpoint (bin ``(-inf, t_0)`` spans ``[0, t_0]``, the last ``[t_{T-1}, 1]``);
      positive_share and cells are [L, T+1] (or [T+1] pooled with ``average="micro"``), the
      share of positives among a bin's cells (NaN for an empty bin) and its cells.
    """
    check_average(average, (None, "micro"))
    pos, neg = score_histogram(counts)
    pos = pos.astype(np.float64)
    neg = neg.astype(np.float64)
    if average == "micro":
        pos, neg = pos.sum(0), neg.sum(0)
    t = counts.thresholds.astype(np.float64)
    lo = np.concatenate([[0.0], t])
    hi = np.concatenate([t, [1.0]])
    confidence = (np.clip(lo, 0, 1) + np.clip(hi, 0, 1)) / 2.0
    cells = pos + neg
    return confidence, safe_divide(pos, cells, np.nan), cells


def expected_calibration_error(counts, average=None):
    """ECE = sum over bins of (cells in bin / cells) * |positive share - bin midpoint|.

    The bins are the stored thresholds' (see `reliability`), and a bin's confidence is its
    probability midpoint, not the mean score inside it (which the counts do not keep): with
    101 thresholds the midpoint is within 0.005 of any score in the bin, so the result is
    within 0.005 of the ECE of the same bins with mean scores. Out-of-range scores (logits
    read as probabilities) fall into the outer bins.

    Returns [L] per label (NaN without cells), or a float for ``"micro"`` (every cell pooled)
    or ``"macro"`` (mean over labels).
    """
    check_average(average, (None, "micro", "macro"))
    if average == "macro":
        return float(nanmean(expected_calibration_error(counts, None)))
    confidence, share, cells = reliability(counts, "micro" if average == "micro" else None)
    gap = np.where(cells > 0, np.abs(np.nan_to_num(share) - confidence) * cells, 0.0)
    total = cells.sum(axis=-1)
    ece = safe_divide(gap.sum(axis=-1), total, np.nan)
    return float(ece) if average == "micro" else ece
