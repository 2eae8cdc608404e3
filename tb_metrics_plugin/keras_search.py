"""Placing scores among the thresholds exactly, in ``keras.ops`` (the first kernel of
`keras_ops`).

Every score is compared with the float32 cut values (the thresholds, or their float32 logits)
on integer keys that order like the floats (their bits), so the comparison stays exact where
float comparisons flush subnormals to zero (TensorFlow and XLA on CPU do). Instead of a binary
search (slow on XLA) a lookup table on the high bits of the key gives the number of cuts below
the score's bucket, and one comparison with the single cut that may lie inside the bucket
finishes the count; the table is built in numpy once (`build_search_table`), such that no
bucket holds two cuts (8K entries for 101 thresholds), else ``ops.searchsorted`` on the keys.

>>> import numpy as np
>>> score_keys(np.array([-1.0, -0.0, 0.0, 1.0], np.float32)).tolist()
[-1065353217, -1, 0, 1065353216]
"""
import numpy as np
from keras import ops

__all__ = ["score_keys", "round_down_to_float32", "cut_keys_of", "build_search_table", "reach",
           "BinPlan", "float_keys", "float64_keys", "score_keys64", "cut_keys64_of",
           "KEY_OF_NEG_INF", "KEY64_OF_NEG_INF"]

_MAX_TABLE = 1 << 18


def score_keys(values):
    """Integer keys (numpy int64) that order like float32 values, as the kernels compute them.

    The key of a float32 is its bit pattern read as int32 with the magnitude bits of negative
    values flipped: the order of the keys is the order of the floats, except that -0.0 (key -1)
    sorts just below +0.0 (key 0). NaN keys lie outside [key(-inf), key(+inf)].
    """
    bits = np.asarray(values, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)


def round_down_to_float32(values):
    """The largest float32 <= each float64 value (NaN and +-inf kept).

    For every float32 cut ``c``: ``s >= c`` iff ``round_down_to_float32(s) >= c``.
    """
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        f = v.astype(np.float32)
        up = f.astype(np.float64) > v
    return np.where(up, np.nextafter(f, np.float32(-np.inf)), f)


def cut_keys_of(cuts):
    """Keys of the cut values: ``score >= cut`` iff ``score_keys(score) >= cut_keys_of(cut)``.

    A cut at zero gets key -1 so that both -0.0 and +0.0 reach it, as IEEE comparison says.
    """
    cuts = np.asarray(cuts, dtype=np.float32)
    return np.where(cuts == 0, -1, score_keys(cuts))


def build_search_table(cuts, max_table=_MAX_TABLE):
    """Precomputes the lookup that turns a score's key into the number of cuts <= score.

    For key ``x`` (see `score_keys`), ``b = clip((x >> shift) - offset, 0, len(table) - 1)``,
    ``base = table[b]`` and ``k = base + (x >= cut_keys[base])``: ``base`` counts the cuts below
    the bucket of ``x`` and at most one cut lies inside it. ``shift`` is the largest that gives
    every finite cut a bucket of its own; -inf and +inf cuts (the logits of 0 and 1) fall outside
    the table's range and are handled by the clipping.

    Returns:
      ``(shift, offset, table, cut_keys)`` (numpy int32 arrays and ints), or None when the table
      would exceed ``max_table`` entries or two cuts are equal.
    """
    cuts = np.asarray(cuts, dtype=np.float32)
    keys = cut_keys_of(cuts)
    if cuts.size > 1 and not np.all(np.diff(keys) > 0):
        return None
    n_below = int(np.sum(np.isneginf(cuts)))
    fin_keys = keys[np.isfinite(cuts)]
    cut_keys = np.concatenate([keys, [np.iinfo(np.int32).max]]).astype(np.int32)
    if fin_keys.size == 0:
        return 0, 0, np.array([n_below], dtype=np.int32), cut_keys
    shift = 0
    for s in range(31, -1, -1):
        if np.all(np.diff(fin_keys >> s) > 0):
            shift = s
            break
    prefixes = fin_keys >> shift
    offset = int(prefixes[0]) - 1
    size = int(prefixes[-1]) - int(prefixes[0]) + 3
    if size > max_table:
        return None
    buckets = np.arange(size, dtype=np.int64) + offset
    table = n_below + np.searchsorted(prefixes, buckets, side="left")
    return shift, offset, table.astype(np.int32), cut_keys


def reach(scores, cuts, search=None):
    """``(k, isnan, kx)``: k [R, L] int32 = the number of float32 ``cuts`` each score reaches
    (``score >= cut``; 0 for NaN), exactly; ``kx`` = k plus 1 for a score >= 0 and 1 more for a
    score > 1 (the histogram's bin, see `BinPlan`); ``search`` = `build_search_table` (None:
    binary search). float64 scores are compared in float64."""
    scores64 = None
    if _dtype(scores) == "float64":
        scores64 = scores
        scores = ops.cast(scores, "float32")
    elif _dtype(scores) != "float32":
        scores = ops.cast(scores, "float32")  # float16 / bfloat16 / ints: exact
    isnan = ops.isnan(scores)
    key = float_keys(scores)
    if search is not None:
        shift, offset, table, cut_keys = search
        size = table.shape[0]
        prefix = ops.right_shift(key, shift) if shift else key
        # Clip, then subtract: key - offset would wrap in int32 for keys far from the cuts.
        bucket = ops.subtract(ops.clip(prefix, offset, offset + size - 1), offset)
        packed = _packed_table(search)
        if packed is not None:
            # One lookup: the cuts below the bucket and the low bits of the cut inside it.
            p = ops.take(packed, bucket)
            low = ops.bitwise_and(key, (1 << shift) - 1)
            inside = ops.greater_equal(low, ops.bitwise_and(p, (2 << shift) - 1))
            k = ops.add(ops.right_shift(p, shift + 1), ops.cast(inside, "int32"))
        else:
            # The finite cut that may lie inside the bucket; gathering it by bucket (a second
            # table) keeps the two lookups independent.
            inside = ops.take(_finite_inside(search), bucket)
            k = ops.add(ops.take(table, bucket),
                        ops.cast(ops.greater_equal(key, inside), "int32"))
        # +inf cuts (the logit of 1) are reached by +inf scores only, outside every bucket.
        num_pos_inf = int(np.sum(cut_keys[:-1] == _KEY_OF_POS_INF))
        if num_pos_inf:
            k = k + num_pos_inf * ops.cast(ops.greater_equal(key, _KEY_OF_POS_INF), "int32")
    else:
        keys = cut_keys_of(cuts).astype(np.int32)
        k = ops.searchsorted(keys, ops.reshape(key, (-1,)), side="right")
        k = ops.reshape(ops.cast(k, "int32"), ops.shape(scores))
    if scores64 is not None:
        # float32(s) >= c for a float32 cut c iff s >= c, except when s rounds up onto c;
        # compared on int64 keys, exact where the CPU flushes float64 subnormals.
        key64 = float64_keys(scores64)
        lower = np.concatenate([[np.iinfo(np.int64).min], cut_keys64_of(cuts)])
        k = ops.subtract(k, ops.cast(ops.less(key64, ops.take(lower, k)), "int32"))
        at_least_0 = ops.greater_equal(key64, -1)
        above_1 = ops.greater(key64, _KEY64_OF_ONE)
    else:
        # Exact on keys: -0.0 (key -1) counts as >= 0 and a negative subnormal as < 0 where
        # the CPU flushes subnormals to zero.
        at_least_0 = ops.greater_equal(key, -1)
        above_1 = ops.greater(key, _KEY_OF_ONE)
    k = ops.where(isnan, 0, k)
    kx = k + ops.cast(at_least_0, "int32") + ops.cast(above_1, "int32")
    return k, isnan, kx


class BinPlan:
    """Where the histogram of ``kx`` (see `reach`) keeps each count, for float32 ``cuts``.

    Per label, bins ``0..T+2`` hold the scores by ``kx`` (T cuts and the two range edges, 0
    and 1, merged in order), bin ``T+3`` NaN scores and bin ``T+4`` cells that
    `confusion_counts` would refuse. Because ``kx`` grows with the score:

    * the scores reaching cut j are those with ``kx >= first[j]``;
    * the scores below 0 are those with ``kx < first_in_range`` and the scores above 1 those
      with ``kx >= first_above``,

    so one scatter counts the cells at every threshold and the out-of-range cells.

    >>> plan = BinPlan(np.array([0.0, 0.5, 1.0], np.float32))
    >>> plan.first.tolist(), plan.first_in_range, plan.first_above
    ([2, 3, 4], 2, 5)
    """

    def __init__(self, cuts):
        keys = cut_keys_of(np.asarray(cuts, np.float32)).astype(np.int64)
        self.num_thresholds = int(keys.size)
        below = np.searchsorted(keys, keys, side="right")  # cuts <= c_j (ties included)
        self.first = (below + (keys >= -1) + (keys > _KEY_OF_ONE)).astype(np.int32)
        self.first_in_range = int(np.searchsorted(keys, -1, side="right")) + 1
        self.first_above = int(np.searchsorted(keys, _KEY_OF_ONE, side="right")) + 2
        self.nan_bin = self.num_thresholds + 3
        self.invalid_bin = self.num_thresholds + 4
        self.width = self.num_thresholds + 5


def _finite_inside(search):
    """``cut_keys[table]`` with +inf cuts replaced by the int32 maximum (reached by no score but
    NaN, which `reach` zeroes): the finite cut that may lie inside each bucket."""
    shift, offset, table, cut_keys = search
    inside = cut_keys[table]
    return np.where(inside == _KEY_OF_POS_INF, np.iinfo(np.int32).max, inside).astype(np.int32)


def _packed_table(search):
    """The search table as one int32 per bucket, ``base << (shift + 1) | low``, where ``low`` is
    the low ``shift`` bits of the finite cut inside the bucket (``2**shift``, never reached,
    when none) and ``base`` the number of cuts below the bucket (+inf cuts are counted apart).
    None when an entry would not fit in int32."""
    shift, offset, table, cut_keys = search
    if shift >= 30:
        return None
    base = table.astype(np.int64)
    inside = _finite_inside(search).astype(np.int64)
    buckets = np.arange(table.size, dtype=np.int64) + offset
    has = ((inside >> shift) == buckets) & (inside != np.iinfo(np.int32).max)
    low = np.where(has, inside & ((1 << shift) - 1), 1 << shift)
    entry = (base << (shift + 1)) | low
    if entry.max() >= 2**31 or entry.min() < 0:
        return None
    return entry.astype(np.int32)


def score_keys64(values):
    """int64 keys that order like float64 values (as `score_keys` for float32)."""
    bits = np.asarray(values, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, bits ^ 0x7FFFFFFFFFFFFFFF, bits)


def cut_keys64_of(cuts):
    """int64 keys of float cuts: ``s >= cut`` iff ``float64_keys(s) >= cut_keys64_of(cut)``."""
    cuts = np.asarray(cuts, dtype=np.float64)
    return np.where(cuts == 0, -1, score_keys64(cuts)).astype(np.int64)


def float64_keys(scores64):
    """int64 keys of float64 scores that order like the floats (see `score_keys64`)."""
    bits = ops.view(scores64, "int64")
    flip = ops.bitwise_and(ops.right_shift(bits, 63), np.int64(0x7FFFFFFFFFFFFFFF))
    return ops.bitwise_xor(bits, flip)


def float_keys(scores32):
    """int32 keys of float32 scores that order like the floats (see `score_keys`)."""
    bits = ops.view(scores32, "int32")
    return ops.bitwise_xor(bits, ops.bitwise_and(ops.right_shift(bits, 31), 0x7FFFFFFF))


_KEY_OF_ONE = int(score_keys(np.float32(1.0)))
KEY_OF_NEG_INF = int(score_keys(np.float32(-np.inf)))
_KEY_OF_POS_INF = int(score_keys(np.float32(np.inf)))
_KEY64_OF_ONE = int(score_keys64(1.0))
KEY64_OF_NEG_INF = int(score_keys64(-np.inf))


def _dtype(x):
    import keras

    return keras.backend.standardize_dtype(x.dtype)
