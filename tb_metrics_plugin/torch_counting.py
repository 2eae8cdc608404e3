"""Count one formatted batch of torch tensors, on their device.

The torch twin of `counting.count_formatted` (after `torch_inputs.format_batch`, the twin of
`inputs.format_inputs`): the same special values and the same sums, computed with torch ops on
the tensors' device in O(N*L + L*T) memory: the exact
bin of every score among the float32 cuts (`torch_binning.Binner`, identical to
``torch.searchsorted``; float64 scores are compared in float64, never rounded), then
``torch.bincount`` into per-label histograms. `counts_from_sums`
turns the accumulated sums into a `Counts` with the reverse cumulative sum of
`counting.count_formatted`.

The batch sums are one flat vector (see `Sums`), so a metric keeps two states (int64 for
unweighted batches, float64 for weighted ones) that ``torch.distributed`` sums in one call.
"""
import dataclasses

import numpy as np
import torch

from tb_metrics_plugin import inputs, torch_inputs
from tb_metrics_plugin.counts import Counts

__all__ = ["Sums", "format_batch", "batch_sums", "add_sums", "counts_from_sums"]

format_batch = torch_inputs.format_batch  # validate and format (torch_inputs)


@dataclasses.dataclass(frozen=True)
class Sums:
    """Layout of the flat vector of per-batch sums for L labels and T thresholds.

    Segments, in order: ``hist`` [2, L, T+1] (cells by label value and by how many thresholds the
    score reaches), ``exact`` [T+2] (difference array of exact-match rows; the last slot is a
    discard bucket), ``n``, ``nan`` [L], ``nan_positive`` [L], ``out_of_range`` [L],
    ``categorical_correct``, ``top1_positive``, ``negative_rows``.
    """

    num_labels: int
    num_thresholds: int

    @property
    def sizes(self):
        num_l, num_t = self.num_labels, self.num_thresholds
        return (("hist", 2 * num_l * (num_t + 1)), ("exact", num_t + 2), ("n", 1),
                ("nan", num_l), ("nan_positive", num_l), ("out_of_range", num_l),
                ("categorical_correct", 1), ("top1_positive", 1), ("negative_rows", 1))

    @property
    def size(self):
        return sum(s for _, s in self.sizes)

    def split(self, vector):
        out, start = {}, 0
        for name, size in self.sizes:
            out[name] = vector[start:start + size]
            start += size
        return out


def batch_sums(batch, binner):
    """The per-batch sums of one formatted batch, in `Sums` order, plus (matrix, top_k).

    ``binner`` is the `torch_binning.Binner` of the float32 cut values. int64 sums for an unweighted
    batch (the observed mask, if any, selects cells), float64 weighted sums otherwise.
    Returns ``(parts, matrix, top_k)``: ``parts`` the tensors of the `Sums` segments in order
    (add them into a state with `add_sums`), ``matrix`` the flat [C*C] confusion matrix and
    ``top_k`` the [K] hits for single-label data, else None.
    """
    labels, scores, obs = batch.labels, batch.scores, batch.observed
    n_rows, num_l = labels.shape
    num_t = binner.cuts.shape[0]
    weighted = batch.cell_weights is not None
    dtype = torch.float64 if weighted else torch.int64
    cell_w = batch.cell_weights
    row_w = batch.row_weights  # None: every row weighs 1

    # One cheap reduction says whether any score is NaN or outside [0, 1] (both are rare):
    # the per-cell NaN and out-of-range passes run only then.
    low, high = torch.aminmax(scores)
    has_nan = bool(torch.isnan(low) | torch.isnan(high))
    isnan = torch.isnan(scores) if has_nan else False
    k = binner(scores, isnan)  # exact searchsorted(cuts, scores, right=True); 0 for NaN

    # Histogram of k per label and label value; unobserved cells go to a discard bucket.
    size = 2 * num_l * (num_t + 1)
    positive = labels.to(torch.int64)  # int64 0/1: integer arithmetic needs no conversions
    flat = torch.add(k, positive, alpha=num_l * (num_t + 1))
    flat.add_(torch.arange(num_l, device=k.device) * (num_t + 1))
    if obs is not None and cell_w is None:
        flat = torch.where(obs, flat, size)
    flat = flat.reshape(-1)
    if cell_w is None:
        hist = torch.bincount(flat, minlength=size + 1)[:size]
    else:
        hist = torch.bincount(flat, weights=cell_w.reshape(-1), minlength=size + 1)[:size]

    def per_label(mask):
        if cell_w is not None:
            return torch.where(mask, cell_w, 0.0).sum(dim=0)
        if obs is not None:
            mask = mask & obs
        return mask.sum(dim=0)

    zeros = torch.zeros(num_l, dtype=dtype, device=k.device)
    nan = per_label(isnan) if has_nan else zeros
    nan_positive = per_label(isnan & labels) if has_nan else zeros
    if has_nan or bool((low < 0) | (high > 1)):
        outside = (scores < 0) | (scores > 1)
        out_of_range = per_label(outside & ~isnan if has_nan else outside)
    else:
        out_of_range = zeros

    # Exact match: a row is right at thresholds lo <= j < hi (over its observed cells): lo is
    # the largest k of its negatives, hi the smallest k of its positives (T if none).
    if obs is None:
        negative = 1 - positive
        not_positive = negative
    else:
        negative = (~labels & obs).to(torch.int64)
        not_positive = (~(labels & obs)).to(torch.int64)
    lo = (k * negative).amax(dim=1)
    hi = torch.add(k, not_positive, alpha=num_t + 1).min(dim=1).values.clamp_(max=num_t)
    valid = lo < hi
    if row_w is not None and not weighted:
        valid = valid & (row_w > 0)  # a row with no observed cell is out of n
    discard = num_t + 1
    lo = torch.where(valid, lo, discard)
    hi = torch.where(valid, hi, discard)
    if weighted:
        exact = (torch.bincount(lo, weights=row_w, minlength=num_t + 2)
                 - torch.bincount(hi, weights=row_w, minlength=num_t + 2))
    else:
        exact = torch.bincount(lo, minlength=num_t + 2) - torch.bincount(hi, minlength=num_t + 2)

    # Argmax statistics: first index among tied top scores; NaN counts as -inf; ignored cells
    # take part in neither argmax.
    ranked = torch.where(isnan, float("-inf"), scores) if has_nan else scores
    if obs is not None:
        ranked = torch.where(obs, ranked, float("-inf"))
    pred = ranked.max(dim=1).indices  # the first index among tied maxima, as argmax
    rows = torch.arange(n_rows, device=k.device)
    hit1 = labels[rows, pred]
    pos = labels if obs is None else labels & obs
    if obs is not None:
        hit1 = hit1 & obs[rows, pred]
    first_pos = pos.view(torch.uint8).max(dim=1)  # the first positive (0 when none), as argmax
    true_cls = batch.class_ids if batch.class_ids is not None else first_pos.indices

    if weighted:
        def total(mask):
            return torch.where(mask, row_w, 0.0).sum().reshape(1)
        n = row_w.sum().reshape(1)
    else:
        counted = None if row_w is None else row_w > 0

        def total(mask):
            return (mask if counted is None else mask & counted).sum().reshape(1)
        n = torch.full((1,), n_rows, dtype=torch.int64, device=k.device) if counted is None \
            else counted.sum().reshape(1)

    parts = [hist, exact, n, nan, nan_positive, out_of_range, total(pred == true_cls),
             total(hit1), total(first_pos.values == 0)]
    parts = [p if p.dtype == dtype else p.to(dtype) for p in parts]

    matrix = top_k = None
    if batch.class_ids is not None:
        idx = true_cls * num_l + pred
        if weighted:
            matrix = torch.bincount(idx, weights=row_w, minlength=num_l * num_l)
        elif row_w is not None:
            matrix = torch.bincount(torch.where(row_w > 0, idx, num_l * num_l),
                                    minlength=num_l * num_l + 1)[:num_l * num_l]
        else:
            matrix = torch.bincount(idx, minlength=num_l * num_l)
        top_k = _top_k_hits(ranked, true_cls, row_w, weighted)
    return parts, matrix, top_k


def add_sums(state, layout, parts):
    """Adds the `batch_sums` parts into the flat ``state`` vector of ``layout``, in place."""
    for view, part in zip(torch.split(state, [size for _, size in layout.sizes]), parts):
        view.add_(part)


def _top_k_hits(ranked, true_cls, row_w, weighted):
    """[K] rows whose true class ranks among the top k, k = 1..K (`counting._top_k_hits`)."""
    rows = torch.arange(ranked.shape[0], device=ranked.device)
    s_true = ranked[rows, true_cls][:, None]
    cols = torch.arange(ranked.shape[1], device=ranked.device)[None, :]
    rank = (ranked > s_true).sum(dim=1) + (
        (ranked == s_true) & (cols < true_cls[:, None])).sum(dim=1)
    num_k = min(inputs.MAX_TOP_K, ranked.shape[1])
    rank = torch.clamp(rank, max=num_k)
    if weighted:
        per_rank = torch.bincount(rank, weights=row_w, minlength=num_k + 1)
    else:
        if row_w is not None:
            rank = torch.where(row_w > 0, rank, num_k + 1)
        per_rank = torch.bincount(rank, minlength=num_k + 2)
    return torch.cumsum(per_rank[:num_k], dim=0)


def counts_from_sums(vector, layout, thresholds, from_logits, label_names, sample_unit,
                     matrix=None, top_k=None):
    """A `Counts` from accumulated sums (numpy int64 or float64 arrays), as `count_formatted`."""
    sums = layout.split(np.asarray(vector))
    weighted = sums["hist"].dtype.kind == "f"
    dtype = np.float64 if weighted else np.int64
    num_l, num_t = layout.num_labels, layout.num_thresholds
    hist = sums["hist"].reshape(2, num_l, num_t + 1)
    if weighted:  # a reverse cumsum: exactly 0 past the last score, never a -1e-17
        reaching = np.cumsum(hist[..., ::-1], axis=-1)[..., ::-1][..., 1:]
        totals = hist.sum(axis=-1)
    else:  # integers: all cells - cells with k <= j, one contiguous cumsum
        below = np.cumsum(hist, axis=-1)
        totals = below[..., -1]
        reaching = totals[..., None] - below[..., :num_t]
    fp, tp = reaching[0].astype(dtype, copy=False), reaching[1].astype(dtype, copy=False)
    support = totals[1].astype(dtype, copy=False)
    observed = (totals[0] + totals[1]).astype(dtype, copy=False)
    exact = np.cumsum(sums["exact"][:num_t + 1])[:num_t].astype(dtype)
    n = float(sums["n"][0]) if weighted else int(sums["n"][0])

    def scalar(name):
        return dtype(sums[name][0])

    return Counts(
        thresholds=np.asarray(thresholds, dtype=np.float32),
        tp=tp,
        fp=fp,
        tn=(observed - support)[:, None] - fp,
        fn=support[:, None] - tp,
        exact_match=exact,
        n=n,
        nan=sums["nan"].astype(dtype),
        label_names=inputs.check_label_names(label_names, num_l),
        from_logits=bool(from_logits),
        out_of_range=sums["out_of_range"].astype(dtype),
        categorical_correct=scalar("categorical_correct"),
        top1_positive=scalar("top1_positive"),
        negative_rows=scalar("negative_rows"),
        nan_positive=sums["nan_positive"].astype(dtype),
        confusion_matrix=None if matrix is None else np.asarray(matrix).astype(dtype).reshape(
            num_l, num_l),
        top_k_hits=None if top_k is None else np.asarray(top_k).astype(dtype),
        sample_unit=sample_unit,
    )
