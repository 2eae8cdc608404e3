"""Validate and format one batch of torch tensors: the torch twin of `inputs.format_inputs`.

The same shapes (read by `inputs.check_layout`: one shape logic for numpy, Keras and torch),
the same label, class-id and weight rules and the same error messages, with torch ops on the
tensors' device. Validation reads a few booleans back from the device (``validate=False``
skips it, as torchmetrics' ``validate_args``).
"""
import dataclasses

import numpy as np
import torch

from tb_metrics_plugin import inputs

__all__ = ["Batch", "format_batch"]


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
