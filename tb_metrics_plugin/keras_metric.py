"""`ThresholdCounts`: a Keras 3 metric that counts TP/FP/TN/FN of every label at every threshold.

Written with ``keras.ops`` only, so it runs on the TensorFlow, JAX and PyTorch backends, inside
compiled train/test steps (``jit_compile`` on or off) and under distribution strategies (its
state variables use ``aggregation="sum"``).

How it counts (identical to `tb_metrics_plugin.metrics.confusion_counts` on the same scores):

* Every score is compared with the float32 cut values (the thresholds, or their float32 logits
  with ``from_logits=True``) *exactly*: ``k`` = the number of cuts ``c`` with ``score >= c``.
  The comparison is done on integer keys that order like the floats (their bits), so it stays
  exact where float comparisons flush subnormals to zero (TensorFlow and XLA on CPU do). Instead
  of a binary search (slow on XLA) a lookup table on the high bits of the key gives the number
  of cuts below the score's bucket, and one comparison with the single cut that may lie inside
  the bucket finishes the count. The table is built in numpy when the metric is created, such
  that no bucket holds two cuts (8K entries for 101 thresholds); if that would take more than
  2**18 entries the metric uses ``ops.searchsorted`` on the keys instead.
* NaN scores get ``k = 0`` (never positive) and are tallied per label.
* One histogram over (negative/positive label, label, k) is accumulated with a single segment
  sum: O(N*L) time and memory per batch, never N*L*T. TP and FP at threshold ``j`` are the
  histogram mass above ``j``, a reverse cumulative sum done when the counts are read.
* A sample is an exact match at thresholds ``j`` with ``lo <= j < hi``, where ``lo`` is the
  largest ``k`` over its negative labels and ``hi`` the smallest over its positive labels; the
  metric counts the ``lo`` and ``hi`` of those samples (a difference array).

State: ``histogram`` [2, L, T+2] (bin T+1: NaN scores) and ``exact_bounds`` [2, T+1]; int32
when unweighted (exact up to 2**31-1 per histogram cell on every backend; `counts` sums them in
int64), float32 sums of weights with ``weighted=True``.
"""
import sys
import weakref

import keras
import numpy as np
from keras import ops

from tb_metrics_plugin import metrics as _metrics

__all__ = ["ThresholdCounts"]

_MAX_TABLE = 1 << 18
_RESULT_KEYS = ("micro_f1", "macro_f1", "binary_accuracy", "exact_match_accuracy")


def score_keys(values):
    """Integer keys (numpy int64) that order like float32 values, as the metric computes them.

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


@keras.saving.register_keras_serializable(package="tb_metrics_plugin")
class ThresholdCounts(keras.metrics.Metric):
    """Exact per-label confusion counts at many thresholds, for `CountsCallback` and TensorBoard.

    A score ``s`` is positive at threshold ``t`` iff ``s >= t`` (``z >= float32(logit(t))`` for
    logits with ``from_logits=True``; no sigmoid is applied and nothing is guessed from the
    value range). Counts are identical to `tb_metrics_plugin.confusion_counts` on the same
    scores, scores exactly on a threshold, -0.0 and +-inf included; NaN scores are never
    positive and are counted per label.

    Args:
      thresholds: an int ``T`` (``numpy.linspace(0, 1, T)`` in float32) or a sorted 1-D array
        of probabilities.
      from_logits: the model outputs logits (as with ``BinaryCrossentropy(from_logits=True)``).
      label_names: optional list of ``L`` label names (stored with the counts).
      decision_threshold: the threshold (probability) of the headline scalars that `result`
        returns; the stored threshold nearest to it is used (the lower one on a tie).
      name: the metric's name: the prefix of its keys in the Keras logs and its TensorBoard tag.
      weighted: accept ``sample_weight`` (put the metric in ``weighted_metrics``). Counts are
        then float32 sums of weights instead of int32 counts.
      num_labels: the number of labels ``L``. Optional: taken from ``label_names``, else from the
        last dimension of the first batch of scores.
      dtype: the dtype of `result` (float32 by default).

    Shapes (``y_true``, ``y_pred``): ``[N, L]`` multi-label; ``[N]`` or ``[N, 1]`` binary
    (``L = 1``); integer class ids ``[N]`` or ``[N, 1]`` with scores ``[N, C]``, ``C > 1``
    (single-label multi-class, one-vs-rest per class); ``[N, ..., L]`` (e.g. sequence outputs)
    flattens the leading dimensions into samples. Sample weights of shape ``[N]``, ``[N, 1]`` or
    the leading dimensions.

    What is checked: shapes and the number of labels (against ``label_names`` / ``num_labels``),
    at trace time, raising ``ValueError``. Label *values* are not checked inside compiled steps
    (that would need a host round trip): a label counts as positive iff ``y_true > 0.5``, and a
    class id outside ``[0, C)`` makes every class negative for that sample. Use
    `tb_metrics_plugin.confusion_counts` on numpy data to validate labels strictly.

    In a multi-output model Keras names per-output metrics ``<output>_<metric>``; this metric
    does the same for its keys and tag (``out_a_threshold_counts_macro_f1``).

    `result` returns a dict, which Keras puts into the logs as it is, so every key starts with the
    metric's name: ``{name}_micro_f1``, ``{name}_macro_f1``, ``{name}_binary_accuracy`` and
    ``{name}_exact_match_accuracy`` (``val_...`` for validation), at ``decision_threshold``.
    F1 uses ``zero_division=0``; every value is 0 before the first update.

    Example:

    >>> import numpy as np
    >>> m = ThresholdCounts(thresholds=[0.0, 0.5, 1.0])
    >>> m.update_state(np.array([[1, 0], [0, 1]]), np.array([[0.9, 0.2], [0.5, 0.4]]))
    >>> c = m.counts()
    >>> c.tp.tolist(), c.fp.tolist()
    ([[1, 1, 0], [1, 0, 0]], [[1, 1, 0], [1, 0, 0]])
    >>> round(float(m.result()["threshold_counts_micro_f1"]), 3)
    0.5
    """

    # Compile the counting with XLA as a nested function on TensorFlow (see `_compiled`).
    nested_xla = True

    def __init__(
        self,
        thresholds=101,
        from_logits=False,
        label_names=None,
        decision_threshold=0.5,
        name="threshold_counts",
        weighted=False,
        num_labels=None,
        dtype=None,
    ):
        super().__init__(name=name, dtype=dtype or "float32")
        self._thresholds_arg = thresholds
        self.thresholds = _metrics.make_thresholds(thresholds)
        self.from_logits = bool(from_logits)
        self.weighted = bool(weighted)
        self.cuts = _metrics.cut_values(self.thresholds, self.from_logits)
        self._search = build_search_table(self.cuts)
        try:
            decision_threshold = float(decision_threshold)
        except (TypeError, ValueError):
            decision_threshold = float("nan")
        if not 0.0 <= decision_threshold <= 1.0:
            raise ValueError(
                "Expected `decision_threshold` to be a probability in [0, 1] (also with "
                f"from_logits=True); received {decision_threshold!r}."
            )
        self.decision_threshold = decision_threshold
        dist = np.abs(self.thresholds.astype(np.float64) - decision_threshold)
        self.decision_index = int(np.argmin(dist))  # argmin: the lower one on a tie
        if label_names is not None:
            if isinstance(label_names, str):
                raise ValueError(
                    "Expected `label_names` to be a list of strings; received a string."
                )
            label_names = [str(x) for x in label_names]
            if not label_names:
                raise ValueError("Expected at least one label name; received an empty list.")
        if num_labels is not None:
            num_labels = int(num_labels)
            if num_labels < 1:
                raise ValueError(f"Expected `num_labels` >= 1; received {num_labels}.")
            if label_names is not None and len(label_names) != num_labels:
                raise ValueError(
                    f"Expected {num_labels} `label_names` (num_labels={num_labels}); received "
                    f"{len(label_names)}."
                )
        elif label_names is not None:
            num_labels = len(label_names)
        self.label_names = label_names
        self.num_labels = None
        self._output_prefix = ""
        self._xla_fns = {}
        self._headline_cache = None
        if num_labels is not None:
            self._build(num_labels)

    # -- state -------------------------------------------------------------------------------

    @property
    def num_thresholds(self):
        return int(self.thresholds.shape[0])

    @property
    def _state_dtype(self):
        return "float32" if self.weighted else "int32"

    def _build(self, num_labels):
        num_t = self.num_thresholds
        self.num_labels = int(num_labels)
        if self.label_names is not None and len(self.label_names) != self.num_labels:
            raise ValueError(
                f"Expected scores with {len(self.label_names)} columns, one per label name; "
                f"received {self.num_labels}. Pass `label_names` of length {self.num_labels}."
            )
        if 2 * self.num_labels * (num_t + 2) >= 2**31:
            raise ValueError(
                f"Expected 2 * labels * (thresholds + 2) < 2**31; received {self.num_labels} "
                f"labels and {num_t} thresholds. Use fewer thresholds."
            )
        dtype = self._state_dtype
        # [negative/positive label, label, k]: cells whose score reaches exactly k thresholds
        # (k = T + 1: NaN scores).
        self.histogram = self.add_variable(
            shape=(2, self.num_labels, num_t + 2), initializer="zeros", dtype=dtype,
            aggregation="sum", name="histogram",
        )
        # [lo/hi, j]: samples exactly right from threshold lo up to (not including) hi.
        self.exact_bounds = self.add_variable(
            shape=(2, num_t + 1), initializer="zeros", dtype=dtype, aggregation="sum",
            name="exact_bounds",
        )

    @property
    def built_state(self):
        """True once the state variables exist (after the first batch when L was not given)."""
        return self.num_labels is not None and hasattr(self, "histogram")

    @property
    def log_name(self):
        """The name used for the log keys and the TensorBoard tag (``<output>_<name>`` in a
        multi-output model, else the metric's name)."""
        return self._output_prefix + self.name

    def _find_output_name(self):
        # Keras wraps the metrics of one output of a multi-output model in a MetricsList with an
        # `output_name` and prefixes scalar metrics with it in the logs. Dict results are
        # flattened without that prefix, so we add it ourselves. The MetricsList is the object
        # calling update_state; look for it (without importing Keras internals) a few frames up.
        frame = sys._getframe(2)
        for _ in range(4):
            if frame is None:
                return
            owner = frame.f_locals.get("self")
            members = getattr(owner, "metrics", None)
            output_name = getattr(owner, "output_name", None)
            if (owner is not self and isinstance(members, (list, tuple))
                    and any(m is self for m in members)):
                self._output_prefix = f"{output_name}_" if output_name else ""
                return
            frame = frame.f_back

    # -- update ------------------------------------------------------------------------------

    def _prepare(self, y_true, y_pred, sample_weight):
        """Checks shapes; returns labels [R, L] (or class ids [R]), scores [R, L] and weights
        [R] or None, the leading dimensions flattened into R rows."""
        if isinstance(y_pred, np.ndarray) and y_pred.dtype == np.float64:
            # JAX (x64 off) would round float64 to the *nearest* float32, which can land on a
            # cut; rounding down keeps every comparison with a float32 cut exact.
            y_pred = round_down_to_float32(y_pred)
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        p_shape = tuple(y_pred.shape)
        t_shape = tuple(y_true.shape)
        if len(p_shape) == 0:
            raise ValueError(
                "Expected `y_pred` of shape [N], [N, L] or [N, ..., L]; received a scalar.")
        if len(p_shape) == 1:
            y_pred = ops.expand_dims(y_pred, -1)
            p_shape = p_shape + (1,)
        num_c = p_shape[-1] if p_shape[-1] is not None else self.num_labels
        if num_c is None:
            raise ValueError(
                "Expected the last dimension of `y_pred` (the number of labels) to be known; "
                f"received shape {p_shape}. Pass `num_labels` to ThresholdCounts."
            )
        lead = p_shape[:-1]
        rank = len(p_shape)
        class_ids = False
        if len(t_shape) == rank and _dims_match(t_shape, p_shape):
            labels = y_true
        elif len(t_shape) == rank - 1 and _dims_match(t_shape, lead):
            if num_c == 1:
                labels = ops.expand_dims(y_true, -1)
            else:
                class_ids = True
                ids = y_true
        elif len(t_shape) == rank and t_shape[-1] == 1 and num_c > 1 and _dims_match(
                t_shape[:-1], lead):
            class_ids = True
            ids = ops.squeeze(y_true, -1)
        else:
            raise ValueError(
                f"Expected `y_true` with the shape of `y_pred` {p_shape} (or class ids of shape "
                f"{lead} for single-label multi-class scores); received `y_true` of shape "
                f"{t_shape}."
            )
        # Class ids [R] or labels [R, L]; `_labels` turns them into bool (inside `_count`, so
        # that it is compiled with the rest).
        labels = _flatten(ids, (-1,)) if class_ids else _flatten(labels, (-1, num_c))
        scores = _flatten(y_pred, (-1, num_c))
        weights = None
        if sample_weight is not None:
            weights = _row_weights(ops.convert_to_tensor(sample_weight), lead,
                                   ops.shape(y_pred)[:-1])
        return labels, scores, weights

    def _reach(self, scores):
        """k [R, L] int32: the number of cuts each score reaches (0 for NaN), and the NaN mask."""
        scores64 = None
        if _dtype(scores) == "float64":
            scores64 = scores
            scores = ops.cast(scores, "float32")
        isnan = ops.isnan(scores)
        bits = ops.view(scores, "int32")
        # Keys that order like the floats (see `score_keys`): flip the magnitude of negatives.
        key = ops.bitwise_xor(bits, ops.bitwise_and(ops.right_shift(bits, 31), 0x7FFFFFFF))
        if self._search is not None:
            shift, offset, table, cut_keys = self._search
            bucket = ops.right_shift(key, shift) if shift else key
            bucket = ops.clip(ops.subtract(bucket, offset), 0, table.shape[0] - 1)
            # The cut that may lie inside the bucket is cut_keys[table[bucket]]; gathering it by
            # bucket (a second table) keeps the two lookups independent.
            inside = ops.take(cut_keys[table], bucket)
            k = ops.add(ops.take(table, bucket), ops.cast(ops.greater_equal(key, inside), "int32"))
        else:
            cut_keys = cut_keys_of(self.cuts).astype(np.int32)
            k = ops.searchsorted(cut_keys, ops.reshape(key, (-1,)), side="right")
            k = ops.reshape(ops.cast(k, "int32"), ops.shape(scores))
        if scores64 is not None:
            # float32(s) >= c for a float32 cut c iff s >= c, except when s rounds up onto c.
            lower = np.concatenate([[-np.inf], self.cuts.astype(np.float64)])
            k = ops.subtract(k, ops.cast(ops.less(scores64, ops.take(lower, k)), "int32"))
        return k, isnan

    def _count(self, labels, scores, weights=None):
        """The batch's histogram [2 * L * (T + 2)] and exact-match bounds [2 * (T + 1)].

        A pure function of tensors (keras.ops only); `update_state` adds the results to the
        state. Histogram bin T + 1 holds the NaN scores.
        """
        num_t = self.num_thresholds
        num_l = scores.shape[-1]
        width = num_t + 2
        labels = _labels(labels, num_l)
        if _dtype(scores) not in ("float32", "float64"):
            scores = ops.cast(scores, "float32")  # float16 / bfloat16 / ints: exact
        k, isnan = self._reach(scores)
        pos = ops.cast(labels, "int32")
        index = ops.where(isnan, num_t + 1, k)
        index = index + (np.arange(num_l, dtype=np.int32) * width)[None, :]
        index = index + pos * (num_l * width)
        # A histogram larger than a CPU cache is filled label by label (transposed order), so
        # that consecutive updates hit one label's bins; a small one in row order (fewer ops).
        label_major = 2 * num_l * width > 8192
        if label_major:
            index = ops.transpose(index)
        index = ops.reshape(index, (-1,))
        if weights is None:
            cell_w = ops.ones_like(index)
        elif label_major:
            cell_w = ops.broadcast_to(weights[None, :], (num_l, ops.shape(weights)[0]))
            cell_w = ops.reshape(cell_w, (-1,))
        else:
            cell_w = ops.reshape(ops.broadcast_to(weights[:, None], ops.shape(scores)), (-1,))
        hist = ops.segment_sum(cell_w, index, num_segments=2 * num_l * width)

        # Exact match at thresholds lo <= j < hi: lo = max k over the negative labels, hi = min
        # k over the positive ones (NaN scores have k = 0). Float reductions are faster on XLA.
        kf = ops.cast(ops.where(isnan, 0, k), "float32")
        lo = ops.max(ops.where(labels, 0.0, kf), axis=1)
        hi = ops.min(ops.where(labels, kf, float(num_t)), axis=1)
        valid = ops.less(lo, hi)
        row_w = ops.cast(valid, "int32") if weights is None else ops.where(valid, weights, 0.0)
        bounds = ops.segment_sum(
            ops.concatenate([row_w, row_w], axis=0),
            ops.concatenate([ops.cast(lo, "int32"), ops.cast(hi, "int32") + (num_t + 1)], axis=0),
            num_segments=2 * (num_t + 1),
        )
        return hist, bounds

    def _uses_nested_xla(self):
        """True inside a tf.function on the TensorFlow backend (unless `nested_xla` is off)."""
        if not self.nested_xla or keras.backend.backend() != "tensorflow":
            return False
        import tensorflow as tf

        return tf.inside_function()

    def _compiled(self, method):
        """``getattr(self, method)``, compiled with XLA as a nested function on TensorFlow.

        Keras leaves XLA off on CPU-only TensorFlow; counting is ~40 small element-wise ops that
        XLA fuses into a few loops (2-3x faster on CPU, and one op launch instead of ~40 per
        step). Nested inside Keras' own tf.function it is compiled per input shape at run time.
        Eager calls, the other backends (JAX compiles the whole step already) and
        ``ThresholdCounts.nested_xla = False`` use the plain function.
        """
        fn = getattr(self, method)
        if not self._uses_nested_xla():
            return fn
        import tensorflow as tf

        compiled = self._xla_fns.get(method)
        if compiled is None:
            compiled = self._xla_fns[method] = tf.function(
                fn, jit_compile=True, reduce_retracing=True, autograph=False
            )
        return compiled

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None and not self.weighted:
            raise ValueError(
                f"ThresholdCounts {self.name!r} received a `sample_weight` but was created with "
                "weighted=False (int32 counts). Expected weighted=True for sample weights; "
                f"received sample_weight of shape {tuple(ops.shape(sample_weight))}. Fix: "
                f"ThresholdCounts(..., weighted=True) in `weighted_metrics=[...]`, or move it to "
                "`metrics=[...]`, which Keras calls without sample weights."
            )
        labels, scores, weights = self._prepare(y_true, y_pred, sample_weight)
        num_l = scores.shape[-1]
        if self.num_labels is None:
            self._build(num_l)
        elif num_l != self.num_labels:
            what = "label names" if self.label_names is not None else "labels"
            raise ValueError(
                f"Expected scores with {self.num_labels} columns (one per {what[:-1]}); received "
                f"`y_pred` with {num_l} (shape {tuple(y_pred.shape)}). ThresholdCounts "
                f"{self.name!r} holds {self.num_labels} {what}."
            )
        if not self._output_prefix:
            self._find_output_name()
        dtype = self._state_dtype
        graph = _current_tf_graph() if self._uses_nested_xla() else None
        if graph is not None and self.histogram.shape[1] * self.histogram.shape[2] <= 32768:
            # A small state: one XLA launch per step counts the batch and computes the headline
            # scalars of the updated state, which `result` (called next in the same step)
            # returns. (A large state costs more to reduce than a second launch does.)
            hist, bounds, headline = self._compiled("_count_and_headline")(
                labels, scores, weights, self.histogram.value, self.exact_bounds.value
            )
            self._headline_cache = (weakref.ref(graph), headline)
        else:
            hist, bounds = self._compiled("_count")(labels, scores, weights)
        self.histogram.assign_add(ops.cast(_flatten(hist, self.histogram.shape), dtype))
        self.exact_bounds.assign_add(ops.cast(_flatten(bounds, self.exact_bounds.shape), dtype))

    def _count_and_headline(self, labels, scores, weights, hist_state, bounds_state):
        """The batch's counts, shaped and typed like the state, and the headline scalars of the
        updated state (one tuple of four scalars: no slicing outside the compiled function)."""
        hist, bounds = self._count(labels, scores, weights)
        dtype = self._state_dtype
        hist = ops.cast(ops.reshape(hist, hist_state.shape), dtype)
        bounds = ops.cast(ops.reshape(bounds, bounds_state.shape), dtype)
        headline = self._headline(hist_state + hist, bounds_state + bounds)
        return hist, bounds, tuple(ops.cast(headline[i], self.dtype) for i in range(4))

    def reset_state(self):
        self._headline_cache = None
        super().reset_state()

    # -- read --------------------------------------------------------------------------------

    def result(self):
        prefix = self.log_name
        if not self.built_state:
            zero = ops.zeros((), dtype=self.dtype)
            return {f"{prefix}_{key}": zero for key in _RESULT_KEYS}
        cache = self._headline_cache
        graph = _current_tf_graph() if cache is not None else None
        if graph is not None and cache[0]() is graph:
            values = cache[1]  # computed by update_state earlier in this compiled step
        else:
            values = self._compiled("_headline")(self.histogram.value, self.exact_bounds.value)
            values = [ops.cast(values[i], self.dtype) for i in range(4)]
        return {f"{prefix}_{key}": values[i] for i, key in enumerate(_RESULT_KEYS)}

    def _headline(self, hist, bounds):
        """[micro F1, macro F1, binary accuracy, exact-match accuracy] at the decision index."""
        d = self.decision_index
        num_t = self.num_thresholds
        # Per label: every cell (NaN bin included) and the cells reaching threshold d.
        totals = ops.cast(ops.sum(hist, axis=-1), "float32")  # [2, L]
        reach = ops.cast(ops.sum(hist[:, :, d + 1: num_t + 1], axis=-1), "float32")
        fp, tp = reach[0], reach[1]
        neg, support = totals[0], totals[1]
        fn = support - tp
        tn = neg - fp
        n = neg[0] + support[0]
        bounds = ops.cast(bounds, "float32")
        exact = ops.sum(bounds[0, : d + 1]) - ops.sum(bounds[1, : d + 1])

        def safe(num, den):
            return ops.where(ops.greater(den, 0), num / ops.maximum(den, 1e-30), 0.0)

        tp_sum = ops.sum(tp)
        micro = safe(2 * tp_sum, 2 * tp_sum + ops.sum(fp) + ops.sum(fn))
        macro = ops.mean(safe(2 * tp, 2 * tp + fp + fn))
        binary = safe(tp_sum + ops.sum(tn), n * float(self.num_labels))
        exact_acc = safe(exact, n)
        return ops.stack([micro, macro, binary, exact_acc])

    def counts(self):
        """The accumulated counts as a `tb_metrics_plugin.Counts` (int64 when unweighted)."""
        num_t = self.num_thresholds
        if not self.built_state:
            raise ValueError(
                f"ThresholdCounts {self.name!r} has no counts yet: it learns the number of labels "
                "from the first batch. Update it first (or pass `num_labels`)."
            )
        out_dtype = np.float64 if self.weighted else np.int64
        hist = np.asarray(ops.convert_to_numpy(self.histogram)).astype(out_dtype)
        bounds = np.asarray(ops.convert_to_numpy(self.exact_bounds)).astype(out_dtype)
        totals = hist.sum(axis=-1)  # [2, L]: every cell, NaN included
        nan = hist[0, :, num_t + 1] + hist[1, :, num_t + 1]
        cum = np.cumsum(hist[..., : num_t + 1], axis=-1)
        reach = cum[..., -1:] - cum[..., :num_t]  # cells with k > j
        fp, tp = reach[0], reach[1]
        neg, support = totals[0], totals[1]
        n = neg[0] + support[0]
        exact = np.cumsum(bounds[0] - bounds[1])[:num_t]
        n = float(n) if self.weighted else int(n)
        names = self.label_names or [str(i) for i in range(self.num_labels)]
        return _metrics.Counts(
            thresholds=self.thresholds,
            tp=tp,
            fp=fp,
            tn=neg[:, None] - fp,
            fn=support[:, None] - tp,
            exact_match=exact,
            n=n,
            nan=nan,
            label_names=list(names),
            from_logits=self.from_logits,
        )

    def get_config(self):
        thresholds = self._thresholds_arg
        if not isinstance(thresholds, (int, np.integer)) or isinstance(thresholds, bool):
            thresholds = [float(t) for t in self.thresholds]
        else:
            thresholds = int(thresholds)
        return {
            "name": self.name,
            "dtype": self.dtype,
            "thresholds": thresholds,
            "from_logits": self.from_logits,
            "label_names": None if self.label_names is None else list(self.label_names),
            "decision_threshold": self.decision_threshold,
            "weighted": self.weighted,
            "num_labels": self.num_labels,
        }


def _dims_match(a, b):
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


def _flatten(x, shape):
    """``ops.reshape`` that adds no op when ``x`` already has the static shape."""
    if len(x.shape) == len(shape) and all(
            want == -1 or have == want for have, want in zip(x.shape, shape)):
        return x
    return ops.reshape(x, shape)


def _current_tf_graph():
    """The graph being traced (TensorFlow), or None when executing eagerly."""
    import tensorflow as tf

    if not tf.inside_function():
        return None
    return tf.compat.v1.get_default_graph()


def _labels(labels, num_classes):
    """bool [R, L] from bool or 0/1 labels [R, L] (positive iff > 0.5), or class ids [R]."""
    if len(labels.shape) == 1:
        ids = labels
        if "float" in _dtype(ids):
            ids = ops.round(ids)
        ids = ops.cast(ids, "int32")
        return ops.equal(ops.expand_dims(ids, -1), ops.arange(num_classes, dtype="int32"))
    if _dtype(labels) == "bool":
        return labels
    return ops.greater(labels, ops.cast(0.5, labels.dtype))


def _row_weights(sample_weight, lead, lead_dynamic):
    """Sample weights broadcast to the leading dims ``lead`` and flattened to [R] float32."""
    w = ops.cast(sample_weight, "float32")
    if len(w.shape) == len(lead) + 1 and w.shape[-1] == 1:
        w = ops.squeeze(w, -1)
    if len(w.shape) > len(lead):
        raise ValueError(
            f"Expected `sample_weight` of shape {tuple(lead)} (one weight per sample) or "
            f"broadcastable to it; received shape {tuple(w.shape)}."
        )
    while len(w.shape) < len(lead):
        w = ops.expand_dims(w, -1)
    w = ops.broadcast_to(w, tuple(lead_dynamic))
    return ops.reshape(w, (-1,))
