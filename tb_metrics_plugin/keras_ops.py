"""Pure ``keras.ops`` kernels of `ThresholdCounts`: format, count, accumulate, headline.

Staged as `tb_metrics_plugin.inputs` / `counting` stage the numpy path (validate, format,
update, compute), and testable against them without a model (tests/test_keras_ops.py). This
module counts; the format stage lives in `keras_format`, the state's layout and readers in
`keras_state`, the placement among thresholds in `keras_search` (all re-exported here):

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
import keras
import numpy as np
from keras import ops

from tb_metrics_plugin import keras_state
from tb_metrics_plugin.keras_format import Batch, format_batch, moved_shapes  # noqa: F401
from tb_metrics_plugin.keras_search import (  # noqa: F401  (the kernels' first stage)
    KEY64_OF_NEG_INF,
    KEY_OF_NEG_INF,
    BinPlan,
    _dtype,
    build_search_table,
    cut_keys_of,
    float64_keys,
    float_keys,
    reach,
    round_down_to_float32,
    score_keys,
)
from tb_metrics_plugin.keras_state import (  # noqa: F401  (the state's layout and readers)
    HEADLINE_KEYS,
    LOW_BITS,
    MAX_BATCH_ROWS,
    MAX_EXACT,
    NUM_CHUNKS,
    ROW_SUMS,
    SumsLayout,
    accumulate,
    combine,
    counts_from_sums,
    headline,
)

__all__ = ["score_keys", "round_down_to_float32", "cut_keys_of", "build_search_table", "reach",
           "BinPlan", "SumsLayout", "Batch", "moved_shapes", "format_batch", "batch_sums",
           "scatter_add", "scatter_set", "accumulate", "accumulate_batch", "combine", "headline",
           "HEADLINE_KEYS", "ROW_SUMS", "counts_from_sums", "LOW_BITS", "MAX_EXACT",
           "NUM_CHUNKS", "MAX_BATCH_ROWS"]


# -- count -------------------------------------------------------------------------------------

# Integers up to this are exact in float32 (the row reductions run in float32 below it).
_FLOAT_EXACT = 2**24


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
    # (float32 is exact for counts below 2**24; past that the reductions stay in int32)
    exact_float = num_t + 1 < _FLOAT_EXACT
    kf = ops.cast(k, "float32") if exact_float else k
    negative = ops.logical_not(labels) if obs is None else ops.logical_and(
        ops.logical_not(labels), obs)
    lo = ops.max(ops.where(negative, kf, ops.zeros_like(kf)), axis=1)
    # T + 1: no positive label
    hi = ops.min(ops.where(labels, kf, ops.full_like(kf, num_t + 1)), axis=1)
    negative_row = ops.greater(hi, num_t)
    hi = ops.minimum(hi, num_t)
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
        cols = np.arange(num_l, dtype=np.float32 if num_l < _FLOAT_EXACT else np.int32)
        first = ops.min(ops.where(labels, cols[None, :], cols.dtype.type(num_l)), axis=1)
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
    """What argmax and top-k compare: scores as integer keys that order like them (int32 for
    float32 and narrower, int64 for float64: exact where the CPU flushes subnormals to zero;
    -0.0 ties with +0.0 as IEEE says), hidden cells as -inf."""
    if _dtype(scores) == "float64":
        key = float64_keys(scores)
        key = ops.where(ops.equal(key, -1), np.int64(0), key)
        return ops.where(hidden, np.int64(KEY64_OF_NEG_INF), key)
    key = float_keys(scores if _dtype(scores) == "float32" else ops.cast(scores, "float32"))
    key = ops.where(ops.equal(key, -1), 0, key)
    return ops.where(hidden, KEY_OF_NEG_INF, key)


def _gather_rows(x, index):
    """``x[r, index[r]]`` for every row r."""
    return ops.squeeze(ops.take_along_axis(x, index[:, None], axis=1), 1)


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
    max_rows = keras_state.MAX_BATCH_ROWS
    if static_rows is not None and static_rows > max_rows:
        low, high = accumulate(low, high, ops.zeros_like(low))
        low = batch_sums(batch, lay, cuts, search, into=low,
                         max_rows=2**31 - 2**LOW_BITS - 1)
        return accumulate(low, high, ops.zeros_like(low))
    low = batch_sums(batch, lay, cuts, search, into=low, max_rows=max_rows)
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
