"""Validate, format and count one batch of torch tensors, on their device.

The torch twin of `inputs.format_inputs` + `counting.count_formatted`: the same shapes (read by
`inputs.check_layout`, one shape logic for numpy, Keras and torch), the same special values and
the same sums, computed with torch ops on the tensors' device in O(N*L + L*T) memory: the exact
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

from tb_metrics_plugin import inputs
from tb_metrics_plugin.counts import Counts

__all__ = ["Sums", "format_batch", "batch_sums", "add_sums", "counts_from_sums"]


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


@dataclasses.dataclass
class Batch:
    """One batch in canonical form (the torch `inputs.Formatted`).

    labels bool [R, L]; scores float32/float64 [R, L]; observed bool [R, L] or None (every
    cell); cell_weights float64 [R, L] or None (unweighted; zero on ignored cells); row_weights
    float64 [R] or None; class_ids int64 [R] or None; layout the `inputs.Layout`.
    """

    labels: torch.Tensor
    scores: torch.Tensor
    observed: object
    cell_weights: object
    row_weights: object
    class_ids: object
    layout: inputs.Layout


def _to_last(x, axis):
    return x if axis == x.dim() - 1 else torch.movedim(x, axis, -1)


def format_batch(preds, target, sample_weight=None, ignore_value=None, label_axis=-1,
                 multiclass=False, validate=True):
    """Validates (when ``validate``) and formats one batch; semantics of `inputs.format_inputs`.

    Raises ValueError with the same messages as the numpy API. Validation reads a few booleans
    back from the device (one sync each); ``validate=False`` skips them.
    """
    ignore = inputs.check_ignore_value(ignore_value)
    if not isinstance(preds, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise ValueError(
            "Expected `preds` and `target` to be torch tensors; received "
            f"{type(preds).__name__} and {type(target).__name__}. Use "
            "tb_metrics_plugin.confusion_counts for numpy arrays."
        )
    if preds.is_complex():
        raise ValueError(f"Expected `preds` to hold real numbers; received dtype {preds.dtype}.")
    layout = inputs.check_layout(tuple(target.shape), tuple(preds.shape), label_axis)
    if not preds.is_floating_point():
        preds = preds.to(torch.float64)  # ints and bools, as numpy
    elif preds.dtype in (torch.float16, torch.bfloat16):
        preds = preds.to(torch.float32)  # exact
    ndim = preds.dim()
    if ndim == 1:
        preds = preds[:, None]
        if target.dim() == 1:
            target = target[:, None]
    else:
        preds = _to_last(preds, layout.label_axis)
        if target.dim() == ndim and not layout.class_ids:
            target = _to_last(target, layout.label_axis)
    lead, num_l = layout.lead, layout.num_labels
    n_rows = int(np.prod(lead)) if lead else 1
    if n_rows == 0:
        raise ValueError(
            f"Expected at least one sample; received an empty batch (preds of shape "
            f"{tuple(preds.shape)})."
        )
    scores = preds.reshape(n_rows, num_l)
    device = scores.device

    class_ids = None
    if layout.class_ids:
        ids = target.reshape(n_rows)
        row_obs = _observed_mask(ids, ignore)
        class_ids = _class_ids(ids, row_obs, num_l, validate)
        labels = class_ids[:, None] == torch.arange(num_l, device=device)
        observed = None if row_obs is None else row_obs[:, None].expand(n_rows, num_l)
    else:
        target = target.reshape(n_rows, num_l)
        observed = _observed_mask(target, ignore)
        labels = _binary_labels(target, observed, ignore, validate)
        if multiclass:
            class_ids = _one_hot_ids(labels, observed, num_l, validate)

    cell_w = None
    if sample_weight is not None:
        cell_w = _cell_weights(sample_weight, layout, ndim, n_rows, num_l, device, validate)
    row_w = None
    if observed is not None:
        obs64 = observed.to(torch.float64)
        cell_w = obs64 if cell_w is None else torch.where(observed, cell_w, 0.0)
    if cell_w is not None:
        n_obs = num_l if observed is None else observed.sum(dim=1)
        if observed is None:
            row_w = cell_w.sum(dim=1) / num_l
        else:
            row_w = torch.where(n_obs > 0, cell_w.sum(dim=1) / n_obs.clamp(min=1), 0.0)
        if sample_weight is None:
            cell_w = None  # unweighted: the mask says what is observed
    return Batch(labels, scores, observed, cell_w, row_w, class_ids, layout)


def _observed_mask(values, ignore):
    if ignore is None:
        return None
    if ignore != ignore:  # NaN
        return ~torch.isnan(values) if values.is_floating_point() else None
    return values != ignore


def _binary_labels(target, observed, ignore, validate):
    if target.dtype == torch.bool:
        return target
    if target.is_complex():
        raise ValueError(f"Expected labels of 0 and 1; received dtype {target.dtype}.")
    if validate:
        if observed is None and not target.is_floating_point():
            low, high = torch.aminmax(target)  # integers: 0/1 iff within [0, 1]
            bad = (target != 0) & (target != 1) if bool((low < 0) | (high > 1)) else None
        else:
            bad = (target != 0) & (target != 1)
            if observed is not None:
                bad &= observed
        if bad is not None and bool(bad.any()):
            hint = ("For missing labels pass `ignore_value` (e.g. ignore_value=-1 or "
                    "float('nan'))." if ignore is None else
                    f"Cells equal to ignore_value={ignore} are left out.")
            found = torch.unique(target[bad])[:5].tolist()
            raise ValueError(
                f"Expected every label to be 0 or 1 (bool or numeric); received {found}. For "
                "class ids pass `target` without the label axis (shape [N] with preds [N, C]). "
                f"{hint}"
            )
    return target == 1


def _class_ids(ids, row_obs, num_classes, validate):
    if ids.is_complex():
        raise ValueError(f"Expected integer class ids in `target`; received dtype {ids.dtype}.")
    if validate:
        check = ids if row_obs is None else ids[row_obs]
        if ids.is_floating_point() and bool((check != torch.round(check)).any()):
            bad = torch.unique(check[check != torch.round(check)])[:5].tolist()
            raise ValueError(
                f"Expected integer class ids in `target`; received non-integer values {bad}.")
        if check.numel():
            lo, hi = check.min(), check.max()
            if bool(lo < 0) or bool(hi >= num_classes):
                raise ValueError(
                    f"Expected class ids in [0, {num_classes}) to match the {num_classes} score "
                    f"columns; received ids from {lo.item()} to {hi.item()}. Pass "
                    "`ignore_value` for ids that mark unlabelled samples (e.g. 255)."
                )
    ids = ids.to(torch.int64)
    return ids if row_obs is None else torch.where(row_obs, ids, 0)


def _one_hot_ids(labels, observed, num_classes, validate):
    if num_classes < 2:
        raise ValueError(
            "Expected at least 2 classes with `multiclass=True`; received 1 score column.")
    if validate:
        rows = labels.sum(dim=1)
        check = rows if observed is None else rows[observed.all(dim=1)]
        if bool((check != 1).any()):
            bad = torch.unique(check[check != 1])[:5].tolist()
            raise ValueError(
                "Expected one-hot `target` (exactly one 1 per row) with `multiclass=True`; "
                f"received rows with {bad} positives. For multi-label data leave `multiclass` "
                "False."
            )
    return torch.argmax(labels.to(torch.uint8), dim=1)


def _cell_weights(sample_weight, layout, ndim, n_rows, num_l, device, validate):
    w = torch.as_tensor(sample_weight, device=device).to(torch.float64)
    lead = layout.lead
    full = lead + (num_l,)
    if ndim > 1 and w.dim() == ndim and num_l > 1 and w.shape[layout.label_axis] == num_l:
        w, per_cell = _to_last(w, layout.label_axis), True
    elif w.dim() == len(lead) + 1 and w.shape[-1] == num_l and num_l > 1:
        per_cell = True
    else:
        if w.dim() == len(lead) + 1 and w.shape[-1] == 1:
            w = w[..., 0]
        per_cell = False
    try:
        w = torch.broadcast_to(w, full if per_cell else lead)
    except RuntimeError:
        raise ValueError(
            f"Expected `sample_weight` of shape {tuple(lead)} (one weight per sample, or "
            f"broadcastable to it) or {tuple(full)} (one per label cell); received shape "
            f"{tuple(torch.as_tensor(sample_weight).shape)}."
        ) from None
    if validate and bool((~torch.isfinite(w) | (w < 0)).any()):
        finite = w[torch.isfinite(w)]
        lo = finite.min().item() if finite.numel() else float("nan")
        hi = finite.max().item() if finite.numel() else float("nan")
        raise ValueError(
            "Expected `sample_weight` to be finite and non-negative; received values from "
            f"{lo} to {hi}{' and NaN or inf' if finite.numel() < w.numel() else ''}."
        )
    if per_cell:
        return w.reshape(n_rows, num_l)
    return w.reshape(n_rows, 1).expand(n_rows, num_l)


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
