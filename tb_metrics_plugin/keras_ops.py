"""Pure ``keras.ops`` kernels of `ThresholdCounts`: format, count, accumulate, headline.

Staged as `tb_metrics_plugin.inputs` / `counting` stage the numpy path (validate, format,
update, compute), and testable against them without a model (tests/test_keras_ops.py):

* `format_batch`: labels, scores, the observed mask, cell and row weights and true class ids,
  from shapes read by `inputs.check_layout` (one shape rule for numpy, Keras and torch);
* `batch_sums`: every per-batch sum laid out by `SumsLayout` (the score histogram per label,
  whose bins also give the out-of-range and refused cells; exact-match bounds; the per-row sums
  for ``n`` and the argmax metrics; top-k ranks and the confusion matrix), with two scatters,
  into a new vector or into the state;
* `accumulate_batch` (unweighted) and `accumulate` (weighted, or a whole-state carry): a
  two-word state that never wraps (int32 low/high words, one chunk of the low words carried
  past 2**24 per update; compensated float32 pairs for weights);
* `headline`: micro / macro F1, binary / exact-match / categorical accuracy, macro ROC-AUC and
  macro average precision at one threshold, from the state, as `Counts` defines them;
* `counts_from_sums` (numpy): the `Counts` of a state.

Scores are placed among the thresholds by `tb_metrics_plugin.keras_search` (exact, on integer
keys that order like the floats).
"""
import collections
import math

import keras
import numpy as np
from keras import ops

from tb_metrics_plugin import inputs
from tb_metrics_plugin.counts import Counts
from tb_metrics_plugin.keras_search import (  # noqa: F401  (the kernels' first stage)
    KEY_OF_NEG_INF,
    BinPlan,
    build_search_table,
    cut_keys_of,
    float_keys,
    reach,
    round_down_to_float32,
    score_keys,
)

__all__ = ["score_keys", "round_down_to_float32", "cut_keys_of", "build_search_table", "reach",
           "SumsLayout", "Batch", "format_batch", "batch_sums", "accumulate",
           "accumulate_batch", "combine", "headline", "HEADLINE_KEYS", "counts_from_sums",
           "LOW_BITS", "MAX_EXACT", "NUM_CHUNKS", "MAX_BATCH_ROWS"]

# Unweighted state: value = high * 2**LOW_BITS + low, low < 2**LOW_BITS after each update. The
# low words of up to 2**(31 - LOW_BITS) replicas still sum within int32 (on-read aggregation);
# high words up to 2**29 keep every count exact to 2**53.
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
    ``bounds`` [2, T+1] (exact-match difference array: lo, hi); ``rows`` [5] (`ROW_SUMS`: n,
    categorical_correct, top1_positive, negative_rows, refused rows); and for single-label
    multi-class data ``top_k`` [K] (rows whose true class ranks k-th, k = 0..K-1) and
    ``confusion_matrix`` [C, C] (when kept).

    ``cuts``: the float32 cut values (thresholds or their logits), or an int T for
    `inputs.make_thresholds` (T).

    >>> SumsLayout(2, 3).size  # 2*2*8 + 2*4 + 5
    45
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


# -- format ------------------------------------------------------------------------------------

Batch = collections.namedtuple(
    "Batch", ["labels", "scores", "observed", "cell_weights", "row_weights", "class_ids",
              "invalid_rows", "invalid_cells"])
Batch.__doc__ = """A batch in canonical form (R rows, L labels), as `inputs.Formatted`.

labels: bool [R, L], positives among observed cells; scores [R, L]; observed: bool [R, L] or
None (all); cell_weights: [R, L] float32 (weighted) or None; row_weights: [R] (float32 weighted,
int32 0/1 when cells are ignored) or None (all 1); class_ids: int32 [R] true classes
(single-label multi-class) or None; invalid_rows: scalar count of rows that
`confusion_counts` would refuse (a class id outside [0, C), a one-hot row without exactly one 1);
invalid_cells: bool [R, L] or None, cells whose label is not 0/1 or whose weight is negative or
not finite (counted in the histogram's refused bin instead of their threshold bins)."""


def moved_shapes(true_shape, score_shape, label_axis=-1):
    """`inputs.check_layout` on static shapes that may hold None (unknown batch size)."""
    true_shape, score_shape = tuple(true_shape), tuple(score_shape)
    try:
        return inputs.check_layout(true_shape, score_shape, label_axis)
    except ValueError:
        if None not in true_shape + score_shape:
            raise
    # Unknown dims match anything: unify them position by position (same rank), or against
    # the scores without the label axis (class ids).
    t, s = list(true_shape), list(score_shape)
    if len(t) == len(s):
        pairs = list(zip(range(len(s)), range(len(s))))
    else:
        axis = (label_axis % len(s)) if len(s) > 1 else 0
        rest = [i for i in range(len(s)) if i != axis]
        pairs = list(zip(rest, range(len(t))))
    for i, j in pairs:
        if s[i] is None or t[j] is None:
            s[i] = t[j] = None
    return inputs.check_layout(tuple(t), tuple(s), label_axis)


def format_batch(y_true, y_pred, sample_weight=None, *, layout, ignore_value=None,
                 multiclass=False, weighted=False):
    """Brings one batch to a `Batch` (keras.ops only; shapes from ``layout``, an
    `inputs.Layout` of `moved_shapes`). Label values are not checked in compiled code: cells
    that `confusion_counts` would refuse are counted in ``invalid_*`` instead, which
    `counts_from_sums` turns into an error."""
    num_l = layout.num_labels
    axis = layout.label_axis
    ndim = len(y_pred.shape)
    if ndim == 1:
        y_pred = ops.expand_dims(y_pred, -1)
        if len(y_true.shape) == 1 and not layout.class_ids:
            y_true = ops.expand_dims(y_true, -1)
    elif axis != len(y_pred.shape) - 1:
        y_pred = ops.moveaxis(y_pred, axis, -1)
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.moveaxis(y_true, axis, -1)
    lead_dynamic = ops.shape(y_pred)[:-1]
    scores = _flatten(y_pred, (-1, num_l))
    ignore = inputs.check_ignore_value(ignore_value)
    cols = ops.arange(num_l, dtype="int32")[None, :]
    zero = ops.zeros((), "int32")
    if layout.class_ids:
        ids = ops.reshape(y_true, (-1,))
        row_obs = _observed(ids, ignore)
        idf = ops.cast(ids, "float32") if "float" in _dtype(ids) else None
        ids_i = ops.cast(ops.round(ids) if idf is not None else ids, "int32")
        valid = ops.logical_and(ops.greater_equal(ids_i, 0), ops.less(ids_i, num_l))
        if idf is not None:
            valid = ops.logical_and(valid, ops.equal(idf, ops.round(idf)))
        ok = valid if row_obs is None else ops.logical_and(valid, row_obs)
        class_ids = ops.where(ok, ids_i, 0)
        labels = ops.logical_and(ops.equal(class_ids[:, None], cols), ok[:, None])
        bad = ops.logical_not(valid) if row_obs is None else ops.logical_and(
            row_obs, ops.logical_not(valid))
        invalid_rows = ops.sum(ops.cast(bad, "int32"))
        invalid_cells = None
        observed = None if row_obs is None else ops.broadcast_to(row_obs[:, None],
                                                                   ops.shape(scores))
    else:
        y = _flatten(y_true, (-1, num_l))
        observed = _observed(y, ignore)
        invalid_rows = zero
        if _dtype(y) == "bool":
            labels, invalid_cells = y, None
        else:
            labels = ops.equal(y, ops.cast(1, y.dtype))
            bad = ops.logical_and(ops.not_equal(y, ops.cast(0, y.dtype)),
                                  ops.logical_not(labels))
            if observed is not None:
                bad = ops.logical_and(bad, observed)
            invalid_cells = bad
        class_ids = None
        if multiclass:
            per_row = ops.sum(ops.cast(labels, "int32"), axis=1)
            checked = ops.not_equal(per_row, 1)
            if observed is not None:
                # A row is one-hot when fully observed; a partly ignored row's class is unknown
                # (as `inputs.format_inputs` refuses it); a fully ignored row is left out.
                all_obs = ops.all(observed, axis=1)
                partial = ops.logical_and(ops.any(observed, axis=1), ops.logical_not(all_obs))
                checked = ops.logical_or(ops.logical_and(checked, all_obs), partial)
            invalid_rows = ops.sum(ops.cast(checked, "int32"))
            class_ids = _first_true(labels, num_l)
        if observed is not None:
            labels = ops.logical_and(labels, observed)

    cell_w = row_w = None
    any_obs = None if observed is None else ops.any(observed, axis=1)
    if sample_weight is not None:
        cell_w, per_row = _weights(sample_weight, layout, ndim, lead_dynamic,
                                   ops.shape(scores))
        finite = ops.logical_and(ops.isfinite(cell_w), ops.greater_equal(cell_w, 0.0))
        bad_w = ops.logical_not(finite)
        invalid_cells = bad_w if invalid_cells is None else ops.logical_or(invalid_cells, bad_w)
        cell_w = ops.where(finite, cell_w, 0.0)
        if observed is not None:
            cell_w = ops.where(observed, cell_w, 0.0)
        if per_row is not None:
            row_w = ops.where(finite[:, 0], per_row, 0.0)
            if any_obs is not None:
                row_w = ops.where(any_obs, row_w, 0.0)
        else:
            obs = ops.ones_like(cell_w) if observed is None else ops.cast(observed, "float32")
            n_obs = ops.sum(obs, axis=1)
            row_w = ops.where(ops.greater(n_obs, 0),
                              ops.sum(cell_w, axis=1) / ops.maximum(n_obs, 1.0), 0.0)
    elif any_obs is not None:
        row_w = ops.cast(any_obs, "int32")
    return Batch(labels, scores, observed, cell_w, row_w, class_ids, invalid_rows,
                 invalid_cells)


def _observed(values, ignore):
    if ignore is None:
        return None
    if math.isnan(ignore):
        return ops.logical_not(ops.isnan(values)) if "float" in _dtype(values) else None
    return ops.not_equal(values, ops.cast(ignore, values.dtype))


def _first_true(mask, num_l):
    """int32 [R]: the first column where ``mask`` is True (0 when none), as numpy.argmax."""
    del num_l
    return ops.cast(ops.argmax(ops.cast(mask, "int32"), axis=1), "int32")


def _weights(sample_weight, layout, ndim, lead_dynamic, score_shape):
    """float32 cell weights [R, L] and the per-row weights [R] (None when given per cell).

    Shapes as `inputs.format_inputs` reads them: per cell (the shape of the scores, labels on
    ``label_axis``, or the leading shape plus L), else per row (the leading shape, a trailing 1
    or broadcastable to it)."""
    w = ops.cast(sample_weight, "float32")
    lead, num_l = layout.lead, layout.num_labels
    shape = tuple(w.shape)
    if ndim > 1 and len(shape) == ndim and num_l > 1 and shape[layout.label_axis] == num_l:
        if layout.label_axis != ndim - 1:
            w = ops.moveaxis(w, layout.label_axis, -1)
        return ops.reshape(w, score_shape), None
    if len(shape) == len(lead) + 1 and shape[-1] == num_l and num_l > 1:
        return ops.reshape(w, score_shape), None
    if len(shape) == len(lead) + 1 and shape[-1] == 1:
        w = ops.squeeze(w, -1)
    if len(w.shape) > len(lead):
        raise ValueError(
            f"Expected `sample_weight` of shape {tuple(lead)} (one weight per sample, or "
            f"broadcastable to it) or {tuple(lead) + (num_l,)} (one per label cell); received "
            f"shape {shape}."
        )
    while len(w.shape) < len(lead):
        w = ops.expand_dims(w, -1)
    rows = ops.reshape(ops.broadcast_to(w, tuple(lead_dynamic)), (-1,))
    return ops.broadcast_to(rows[:, None], score_shape), rows


# -- count -------------------------------------------------------------------------------------


def batch_sums(batch, sums_layout, cuts, search=None, weighted=False, into=None,
               max_rows=None):
    """The batch's sums as one flat vector (int32, or float32 when ``weighted``) laid out by
    ``sums_layout`` (see `SumsLayout`): O(N*L) time and memory, two scatters; added to ``into``
    (a state vector, updated in place where the compiler can) when given. A batch of more than
    ``max_rows`` rows (unweighted, when given) is counted in the ``oversized`` row sum."""
    lay = sums_layout
    num_t, num_l = lay.num_thresholds, lay.num_labels
    plan = lay.bins
    width = plan.width
    dtype = "float32" if weighted else "int32"
    labels, scores = batch.labels, batch.scores
    k, isnan, kx = reach(scores, cuts, search)
    obs = batch.observed
    pos = ops.cast(labels, "int32")

    # Histogram of kx per (negative/positive, label) (`keras_search.BinPlan`): the counts at
    # every threshold and out of [0, 1]; NaN scores and refused cells in bins of their own.
    bins = ops.where(isnan, plan.nan_bin, kx)
    bad = batch.invalid_cells
    if bad is not None:
        bins = ops.where(bad, plan.invalid_bin, bins)
    index = bins + (np.arange(num_l, dtype=np.int32) * width)[None, :]
    index = index + pos * (num_l * width)
    if batch.cell_weights is not None:
        cell_w = batch.cell_weights
        if bad is not None:
            cell_w = ops.where(bad, 1.0, cell_w)  # a refused cell counts once
    elif obs is not None:
        cell_w = ops.cast(obs, "int32")
    else:
        cell_w = None
    # A histogram larger than a CPU cache is filled label by label (transposed order), so that
    # consecutive updates hit one label's bins; a small one in row order (fewer ops).
    label_major = 2 * num_l * width > 8192
    if label_major:
        index = ops.transpose(index)
    index = ops.reshape(index, (-1,))
    if cell_w is None:
        values = ops.ones_like(index)
    else:
        values = ops.reshape(ops.transpose(cell_w) if label_major else cell_w, (-1,))
    ids, vals = [index], [ops.cast(values, dtype)]

    row_w = batch.row_weights
    rw = ops.ones((ops.shape(scores)[0],), dtype) if row_w is None else ops.cast(row_w, dtype)

    # Exact match at thresholds lo <= j < hi: lo = max k over the negative (observed) labels,
    # hi = min k over the positive ones. Float reductions are faster on XLA.
    kf = ops.cast(k, "float32")
    negative = ops.logical_not(labels) if obs is None else ops.logical_and(
        ops.logical_not(labels), obs)
    lo = ops.max(ops.where(negative, kf, 0.0), axis=1)
    hi = ops.min(ops.where(labels, kf, float(num_t + 1)), axis=1)  # T + 1: no positive label
    negative_row = ops.greater(hi, float(num_t))
    hi = ops.minimum(hi, float(num_t))
    exact_w = ops.where(ops.less(lo, hi), rw, ops.zeros_like(rw))
    b0 = lay.sections["bounds"][0]
    ids += [ops.cast(lo, "int32") + b0, ops.cast(hi, "int32") + (b0 + num_t + 1)]
    vals += [exact_w, exact_w]

    # Argmax statistics: first index among tied top scores (argmax breaks ties to the lowest
    # index on every backend: XLA's variadic reduce, numpy, torch); NaN and ignored cells -inf.
    hidden = isnan if obs is None else ops.logical_or(isnan, ops.logical_not(obs))
    ranked = _ranked(scores, hidden)
    pred = ops.cast(ops.argmax(ranked, axis=1), "int32")
    label_i = ops.cast(labels, "int32")
    if batch.class_ids is not None:
        true_cls = batch.class_ids
    else:
        # The first positive label, else 0 (as numpy.argmax); a float reduction (exact below
        # 2**24 labels) is faster on XLA than an argmax.
        first = ops.min(ops.where(labels, np.arange(num_l, dtype=np.float32)[None, :],
                                  float(num_l)), axis=1)
        true_cls = ops.where(negative_row, 0, ops.cast(first, "int32"))
    hit1 = ops.equal(_gather_rows(label_i, pred), 1)
    correct = ops.equal(pred, true_cls)

    def total(mask):
        return ops.sum(ops.where(mask, rw, ops.zeros_like(rw)))

    if weighted or max_rows is None:
        oversized = ops.zeros((), dtype)  # float sums do not wrap
    else:
        oversized = ops.cast(ops.greater(ops.shape(scores)[0], max_rows), dtype)
    rows = ops.stack([ops.sum(rw), total(correct), total(hit1), total(negative_row),
                      ops.cast(batch.invalid_rows, dtype), ops.ones((), dtype), oversized])
    # The reductions join the scatter as one entry per slot.
    r0 = lay.sections["rows"][0]
    ids.append(ops.arange(r0, r0 + len(ROW_SUMS), dtype="int32"))
    vals.append(rows)

    if lay.multiclass:
        cols = ops.arange(num_l, dtype="int32")[None, :]
        s_true = ops.take_along_axis(ranked, true_cls[:, None], axis=1)
        rank = ops.sum(ops.cast(ops.greater(ranked, s_true), "int32"), axis=1) + ops.sum(
            ops.cast(ops.logical_and(ops.equal(ranked, s_true), ops.less(cols, true_cls[:, None])),
                     "int32"), axis=1)
        within = ops.less(rank, lay.top_k)
        k0 = lay.sections["top_k"][0]
        ids.append(ops.where(within, rank, 0) + k0)
        vals.append(ops.where(within, rw, ops.zeros_like(rw)))
        if lay.confusion_matrix:
            ids.append(true_cls * num_l + pred + lay.sections["confusion_matrix"][0])
            vals.append(rw)
    # Two scatters: the histogram, and the small sections after it (cheaper than joining
    # the histogram's indices to the others).
    if into is not None:
        into = scatter_add(into, ids[0], vals[0])
        return scatter_add(into, ops.concatenate(ids[1:], axis=0),
                           ops.concatenate(vals[1:], axis=0))
    h = lay.sections["hist"][1]
    hist = ops.segment_sum(vals[0], ids[0], num_segments=h)
    rest = ops.segment_sum(ops.concatenate(vals[1:], axis=0),
                           ops.concatenate(ids[1:], axis=0) - h, num_segments=lay.size - h)
    return ops.concatenate([hist, rest], axis=0)


def scatter_set(x, index, values):
    """``x`` with ``values`` written at ``index`` (1-D, distinct indices)."""
    return ops.scatter_update(x, index[:, None], ops.cast(values, x.dtype))


def scatter_add(x, index, values):
    """``x`` with ``values`` added at ``index`` (1-D; repeated indices add up), written into
    ``x``'s buffer where the compiler can (XLA scatter, ``torch.index_add``)."""
    backend = keras.backend.backend()
    values = ops.cast(values, x.dtype)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.tensor_scatter_nd_add(x, index[:, None], values)
    if backend == "jax":
        return x.at[index].add(values)
    if backend == "torch":
        return x.index_add(0, index.long(), values)
    return x + ops.segment_sum(values, index, num_segments=x.shape[0])


def _ranked(scores, hidden):
    """What argmax and top-k compare: float32 scores as their integer keys (exact where the CPU
    flushes subnormals to zero; -0.0 ties with +0.0 as IEEE says), hidden cells as -inf;
    float64 scores as they are."""
    if _dtype(scores) == "float64":
        return ops.where(hidden, float("-inf"), scores)
    key = float_keys(scores if _dtype(scores) == "float32" else ops.cast(scores, "float32"))
    key = ops.where(ops.equal(key, -1), 0, key)
    return ops.where(hidden, KEY_OF_NEG_INF, key)


def _gather_rows(x, index):
    """``x[r, index[r]]`` for every row r."""
    return ops.squeeze(ops.take_along_axis(x, index[:, None], axis=1), 1)


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


def accumulate_batch(low, high, batch, sums_layout, cuts, search=None):
    """The unweighted two-word state ``(low, high)`` after counting ``batch``.

    The batch is scattered into the low words, then the low words of one chunk (1 of
    `NUM_CHUNKS`, chosen by the number of updates so far) carry into the high words: O(N*L +
    size / NUM_CHUNKS) per update instead of two passes over the state. A batch whose number
    of rows is known to exceed `MAX_BATCH_ROWS` when traced carries the whole state before and
    after (exact up to 2**31 - 2**24 rows per batch); a larger batch is counted as
    ``oversized`` and `counts_from_sums` refuses the state.
    """
    lay = sums_layout
    size = lay.size
    static_rows = batch.scores.shape[0]
    if static_rows is not None and static_rows > MAX_BATCH_ROWS:
        low, high = accumulate(low, high, ops.zeros_like(low))
        low = batch_sums(batch, lay, cuts, search, into=low,
                         max_rows=2**31 - 2**LOW_BITS - 1)
        return accumulate(low, high, ops.zeros_like(low))
    low = batch_sums(batch, lay, cuts, search, into=low, max_rows=MAX_BATCH_ROWS)
    # (high * 2**LOW_BITS + low) % NUM_CHUNKS == low % NUM_CHUNKS: the updates before this one
    # (read after the scatter, so that XLA updates the state's buffer in place).
    updates = lay.sections["rows"][0] + ROW_SUMS.index("updates")
    chunk_index = ops.mod(low[updates] - 1, NUM_CHUNKS)
    width = -(-size // NUM_CHUNKS)
    start = ops.minimum(chunk_index * width, size - width)
    index = start + ops.arange(width, dtype="int32")
    part = ops.take(low, index)
    low = scatter_set(low, index, ops.bitwise_and(part, (1 << LOW_BITS) - 1))
    high = scatter_add(high, index, ops.right_shift(part, LOW_BITS))
    return low, high


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


# -- helpers -----------------------------------------------------------------------------------


def _dtype(x):
    import keras

    return keras.backend.standardize_dtype(x.dtype)


def _flatten(x, shape):
    """``ops.reshape`` that adds no op when ``x`` already has the static shape."""
    if len(x.shape) == len(shape) and all(
            want == -1 or have == want for have, want in zip(x.shape, shape)):
        return x
    return ops.reshape(x, shape)
