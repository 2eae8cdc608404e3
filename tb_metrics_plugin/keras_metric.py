"""`ThresholdCounts`: a Keras 3 metric that counts TP/FP/TN/FN of every label at every threshold.

Written with ``keras.ops`` only (the kernels live in `tb_metrics_plugin.keras_ops`), so it runs
on the TensorFlow, JAX and PyTorch backends, inside compiled train/test steps (``jit_compile``
on or off) and under distribution strategies (its state variables use ``aggregation="sum"``).
`counts` equals `tb_metrics_plugin.confusion_counts` on the same data, field for field.

State: two flat vectors laid out by `keras_ops.SumsLayout` (the score histogram of every label,
exact-match bounds, the per-row sums behind ``n`` and the argmax metrics, and for single-label
multi-class data top-k ranks and the confusion matrix), as two words that never wrap: int32
low/high words (each update scatters the batch into the low words and carries one chunk of
them into the high words: exact to 2**53 - 1 per cell on every backend, JAX without x64
included), or compensated float32 pairs with ``weighted=True``.
"""
import weakref

import keras
import numpy as np
from keras import ops

from tb_metrics_plugin import inputs, keras_ops
from tb_metrics_plugin.counts import check_zero_division
from tb_metrics_plugin.keras_ops import (  # noqa: F401  (re-exported)
    build_search_table,
    cut_keys_of,
    round_down_to_float32,
    score_keys,
)

__all__ = ["ThresholdCounts"]

_RESULT_KEYS = keras_ops.HEADLINE_KEYS
# A state up to this many cells gets its headline scalars in the update's XLA launch.
_FUSED_HEADLINE_MAX = 32768


@keras.saving.register_keras_serializable(package="tb_metrics_plugin")
class ThresholdCounts(keras.metrics.Metric):
    """Exact per-label confusion counts at many thresholds, for `CountsCallback` and TensorBoard.

    A score ``s`` is positive at threshold ``t`` iff ``s >= t`` (``z >= float32(logit(t))`` for
    logits with ``from_logits=True``; no sigmoid is applied and nothing is guessed from the
    value range). `counts` is identical to `tb_metrics_plugin.confusion_counts` on the same data
    (every field: tp, fp, tn, fn, exact_match, n, nan, nan_positive, out_of_range,
    categorical_correct, top1_positive, negative_rows, confusion_matrix, top_k_hits,
    sample_unit; weighted sums to float32 rounding of each batch).

    Args:
      thresholds: an int ``T`` (``numpy.linspace(0, 1, T)`` in float32) or a sorted 1-D array
        of probabilities.
      from_logits: the model outputs logits (as with ``BinaryCrossentropy(from_logits=True)``).
      label_names: optional list of ``L`` label names (stored with the counts).
      decision_threshold: the threshold (probability) of the headline scalars that `result`
        returns; the stored threshold nearest to it is used (the lower one on a tie).
      name: the metric's name: the prefix of its keys in the Keras logs and its TensorBoard tag.
      weighted: accept ``sample_weight`` (put the metric in ``weighted_metrics``), per sample or
        per label cell ``[N, L]``. Counts are then compensated float32 sums of weights.
      num_labels: the number of labels ``L`` (checked against the scores when given).
      ignore_value: a label value (``float("nan")``, ``-1``, ``255``...) marking missing labels:
        such cells are left out of that label's counts and of exact match.
      label_axis: the axis of ``y_pred`` that holds labels or classes (``1`` for
        ``[N, C, H, W]``); every other axis is flattened into samples.
      multiclass: ``y_true`` is one-hot single-label data: keep the confusion matrix and top-k
        hits as for class ids (class ids ``[N]`` with scores ``[N, C]`` always keep them).
      confusion_matrix: keep the ``C x C`` confusion matrix of single-label data (``C * C``
        state cells; turn off for a very large ``C``).
      zero_division: 0, 1 or ``float("nan")``, as in scikit-learn, for the F1 headline scalars
        (``nan`` leaves a label without positives or predictions out of macro F1).
      output_name: the model output this metric watches, for its keys and tag
        (``<output>_<name>``). Found from Keras' compiled metrics when not given.
      dtype: the dtype of `result` (float32 by default).

    Shapes (``y_true``, ``y_pred``), read by `tb_metrics_plugin.inputs.check_layout` as the numpy
    API reads them: ``[N, L]`` multi-label; ``[N]`` or ``[N, 1]`` binary; integer class ids
    ``[N]`` or ``[N, 1]`` with scores ``[N, C]``; ``[N, ..., L]`` flattens the leading dims.

    What is checked: shapes and the number of labels, at trace time (``ValueError``). Label and
    weight *values* cannot raise inside compiled steps: cells that `confusion_counts` would
    refuse (labels other than 0/1, class ids outside ``[0, C)``, negative or NaN weights) are
    counted, and `counts` (so `CountsCallback` at the epoch's end) raises ``ValueError`` naming
    them. A count past 2**53 - 1, or a batch of more than 133,169,152 rows (see
    `keras_ops.MAX_BATCH_ROWS`), also makes `counts` raise.

    `result` returns a dict, which Keras puts into the logs as it is, so every key starts with
    the metric's log name: ``{name}_micro_f1``, ``_macro_f1``, ``_binary_accuracy`` (cells with
    ``s >= t``; Keras' ``BinaryAccuracy`` counts ``s > t``), ``_exact_match_accuracy``,
    ``_categorical_accuracy`` (what Keras logs as ``accuracy`` for outputs with more than one
    column), ``_macro_roc_auc`` and ``_macro_average_precision`` (``val_...`` for validation),
    each equal to the `Counts` method of the same name at ``decision_threshold``; every value is
    0 before the first update and after a reset.

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
        ignore_value=None,
        label_axis=-1,
        multiclass=False,
        confusion_matrix=True,
        zero_division=0,
        output_name=None,
        dtype=None,
    ):
        super().__init__(name=name, dtype=dtype or "float32")
        self._thresholds_arg = thresholds
        self.thresholds = inputs.make_thresholds(thresholds)
        self.from_logits = bool(from_logits)
        self.weighted = bool(weighted)
        self.cuts = inputs.cut_values(self.thresholds, self.from_logits)
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
        check_zero_division(zero_division)
        self.zero_division = float(zero_division)
        self.ignore_value = inputs.check_ignore_value(ignore_value)
        if not isinstance(label_axis, (int, np.integer)) or isinstance(label_axis, bool):
            raise ValueError(f"Expected `label_axis` to be an int; received {label_axis!r}.")
        self.label_axis = int(label_axis)
        self.multiclass = bool(multiclass)
        self.confusion_matrix = bool(confusion_matrix)
        if label_names is not None:
            if isinstance(label_names, str):
                raise ValueError(
                    "Expected `label_names` to be a list of strings; received a string."
                )
            label_names = [str(x) for x in label_names]
            if not label_names:
                raise ValueError("Expected at least one label name; received an empty list.")
            inputs.check_label_names(label_names, len(label_names))  # distinct, non-empty
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
        self.expected_labels = num_labels
        self.num_labels = None
        self.sample_unit = "samples"
        self.sums_layout = None
        self._output_name = output_name
        self._output_prefix = f"{output_name}_" if output_name else ""
        self._xla_fns = {}
        self._headline_cache = None

    # -- state -------------------------------------------------------------------------------

    @property
    def num_thresholds(self):
        return int(self.thresholds.shape[0])

    @property
    def _state_dtype(self):
        return "float32" if self.weighted else "int32"

    def _build(self, layout):
        num_l = layout.num_labels
        multiclass = layout.class_ids or self.multiclass
        if multiclass and num_l < 2:
            raise ValueError(
                "Expected at least 2 classes with `multiclass=True`; received 1 score column.")
        lay = keras_ops.SumsLayout(num_l, self.cuts, multiclass, self.confusion_matrix)
        if lay.size >= 2**31:
            raise ValueError(
                f"Expected a state of < 2**31 cells; received {num_l} labels and "
                f"{self.num_thresholds} thresholds ({lay.size} cells). Use fewer thresholds"
                + (" or confusion_matrix=False." if lay.confusion_matrix else "."))
        self.num_labels = num_l
        self.sums_layout = lay
        # Low and high words of every sum (see keras_ops.accumulate).
        self.sums = self.add_variable(shape=(lay.size,), initializer="zeros",
                                      dtype=self._state_dtype, aggregation="sum", name="sums")
        self.sums_high = self.add_variable(shape=(lay.size,), initializer="zeros",
                                           dtype=self._state_dtype, aggregation="sum",
                                           name="sums_high")

    @property
    def built_state(self):
        """True once the state variables exist (after the first batch)."""
        return self.sums_layout is not None and hasattr(self, "sums")

    @property
    def log_name(self):
        """The name used for the log keys and the TensorBoard tag (``<output>_<name>`` in a
        multi-output model, else the metric's name)."""
        return self._output_prefix + self.name

    def _find_output_name(self):
        """Reads this metric's output name from Keras' compiled metrics (``CompileMetrics``
        holds one ``MetricsList`` with an ``output_name`` per output), found anywhere up the
        call stack (no fixed depth). Raises when a multi-output model calls this metric and
        no container says which output: the keys would collide silently otherwise."""
        import sys

        frame = sys._getframe(1)
        model = None
        while frame is not None:
            owner = frame.f_locals.get("self")
            if owner is not None and owner is not self:
                lists = None
                if hasattr(owner, "_flat_metrics"):  # CompileMetrics
                    lists = list(owner._flat_metrics or []) + list(
                        getattr(owner, "_flat_weighted_metrics", None) or [])
                elif hasattr(owner, "output_name") and isinstance(
                        getattr(owner, "metrics", None), (list, tuple)):  # MetricsList
                    lists = [owner]
                for mls in lists or ():
                    if mls is not None and any(m is self for m in getattr(mls, "metrics", ())):
                        name = getattr(mls, "output_name", None)
                        self._output_prefix = f"{name}_" if name else ""
                        self._output_name = name or ""
                        return
                if model is None and isinstance(owner, keras.Model):
                    model = owner
            frame = frame.f_back
        outputs = getattr(model, "outputs", None) if model is not None else None
        if outputs is not None and len(outputs) > 1:
            raise RuntimeError(
                f"ThresholdCounts {self.name!r} is updated by a model with {len(outputs)} "
                "outputs but could not find which output it watches in Keras' compiled "
                "metrics (Keras' internals changed?). Expected an output name; pass it: "
                f"ThresholdCounts(..., output_name=\"<output name>\").")

    # -- update ------------------------------------------------------------------------------

    def _layout(self, y_true, y_pred):
        shape = tuple(y_pred.shape)
        if len(shape) > 1 and -len(shape) <= self.label_axis < len(shape) and (
                shape[self.label_axis] is None):
            raise ValueError(
                "Expected the label axis of `y_pred` (the number of labels) to be known; "
                f"received shape {tuple(y_pred.shape)}.")
        return keras_ops.moved_shapes(y_true.shape, y_pred.shape, self.label_axis)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None and not self.weighted:
            raise ValueError(
                f"ThresholdCounts {self.name!r} received a `sample_weight` but was created with "
                "weighted=False (int32 counts). Expected weighted=True for sample weights; "
                f"received sample_weight of shape {tuple(ops.shape(sample_weight))}. Fix: "
                f"ThresholdCounts(..., weighted=True) in `weighted_metrics=[...]`, or move it to "
                "`metrics=[...]`, which Keras calls without sample weights."
            )
        if isinstance(y_pred, np.ndarray) and y_pred.dtype == np.float64 and not _has_float64():
            # JAX (x64 off) would round float64 to the *nearest* float32, which can land on a
            # cut; rounding down keeps every comparison with a float32 cut exact. Scores just
            # above 1 go to the next float32 above 1 (still out of range) when no cut lies
            # there. (Argmax sums can still differ for doubles closer than a float32 step.)
            rounded = round_down_to_float32(y_pred)
            above_one = np.nextafter(np.float32(1), np.float32(2))
            if not np.any((self.cuts > 1) & (self.cuts <= above_one)):
                rounded = np.where((y_pred > 1) & (rounded == 1), above_one, rounded)
            y_pred = rounded.astype(np.float32)
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        if sample_weight is not None:
            sample_weight = ops.convert_to_tensor(sample_weight)
        layout = self._layout(y_true, y_pred)
        num_l = layout.num_labels
        what = "label names" if self.label_names is not None else "labels"
        expected = self.num_labels or self.expected_labels
        if expected is not None and num_l != expected:
            raise ValueError(
                f"Expected scores with {expected} columns (one per {what[:-1]}); received "
                f"`y_pred` with {num_l} (shape {tuple(y_pred.shape)}). ThresholdCounts "
                f"{self.name!r} holds {expected} {what}."
            )
        if not self.built_state:
            self._build(layout)
            self.sample_unit = layout.sample_unit
        elif layout.class_ids and not self.sums_layout.multiclass:
            raise ValueError(
                f"ThresholdCounts {self.name!r} was built for multi-label 0/1 labels; received "
                f"class ids (`y_true` of shape {tuple(y_true.shape)}). Expected one layout per "
                "metric: use a second ThresholdCounts for class-id data.")
        if layout.sample_unit != "samples":
            self.sample_unit = layout.sample_unit
        if self._output_name is None:
            self._find_output_name()
        graph = _current_tf_graph() if self._uses_nested_xla() else None
        if graph is not None and self.sums_layout.size <= _FUSED_HEADLINE_MAX:
            # A small state: one XLA launch per step counts the batch and computes the headline
            # scalars of the updated state, which `result` (called next in the same step)
            # returns. (A large state costs more to reduce than a second launch does.)
            head = self._compiled("_update_variables")(y_true, y_pred, sample_weight, True)
            self._headline_cache = (weakref.ref(graph), head)
        elif graph is not None:
            self._compiled("_update_variables")(y_true, y_pred, sample_weight, False)
        else:
            self._update_variables(y_true, y_pred, sample_weight, False)

    def _update_variables(self, y_true, y_pred, sample_weight, headline):
        """Counts a batch into the state variables (and returns the headline scalars of the new
        state when ``headline``). Compiled with XLA on TensorFlow, the variables are updated in
        place: XLA aliases each assigned variable's buffer to its new value."""
        low, high = self._update(y_true, y_pred, sample_weight, self.sums.value,
                                 self.sums_high.value)
        self.sums.assign(low)
        self.sums_high.assign(high)
        return self._headline(low, high) if headline else None

    def _update(self, y_true, y_pred, sample_weight, low, high):
        """The state after adding one batch: a pure function of tensors (keras.ops only)."""
        layout = self._layout(y_true, y_pred)
        batch = keras_ops.format_batch(
            y_true, y_pred, sample_weight, layout=layout, ignore_value=self.ignore_value,
            multiclass=self.multiclass, weighted=self.weighted)
        if not self.weighted:
            return keras_ops.accumulate_batch(low, high, batch, self.sums_layout, self.cuts,
                                              self._search)
        sums = keras_ops.batch_sums(batch, self.sums_layout, self.cuts, self._search, True)
        return keras_ops.accumulate(low, high, sums, True)

    def _headline(self, low, high):
        values = keras_ops.combine(low, high, self.weighted)
        head = keras_ops.headline(values, self.sums_layout, self.decision_index,
                                  self.zero_division)
        return tuple(ops.cast(head[i], self.dtype) for i in range(len(_RESULT_KEYS)))

    def _uses_nested_xla(self):
        """True inside a tf.function on the TensorFlow backend (unless `nested_xla` is off)."""
        if not self.nested_xla or keras.backend.backend() != "tensorflow":
            return False
        import tensorflow as tf

        return tf.inside_function()

    def _compiled(self, method):
        """``getattr(self, method)``, compiled with XLA as a nested function on TensorFlow.

        Keras leaves XLA off on CPU-only TensorFlow; counting is ~60 small element-wise ops that
        XLA fuses into a few loops (2-3x faster on CPU, and one op launch instead of ~60 per
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

    def reset_state(self):
        self._headline_cache = None
        super().reset_state()

    # -- read --------------------------------------------------------------------------------

    def _result_keys(self):
        """The headline keys; an output of one column has no categorical accuracy (argmax of one
        column is always right: Keras' `accuracy` there is BinaryAccuracy)."""
        labels = self.num_labels if self.num_labels is not None else self.expected_labels
        if labels == 1 and not self.multiclass:
            return [k for k in _RESULT_KEYS if k != "categorical_accuracy"]
        return list(_RESULT_KEYS)

    def result(self):
        prefix = self.log_name
        keys = self._result_keys()
        if not self.built_state:
            zero = ops.zeros((), dtype=self.dtype)
            return {f"{prefix}_{key}": zero for key in keys}
        cache = self._headline_cache
        graph = _current_tf_graph() if cache is not None else None
        if graph is not None and cache[0]() is graph:
            values = cache[1]  # computed by update_state earlier in this compiled step
        else:
            values = self._compiled("_headline")(self.sums.value, self.sums_high.value)
        return {f"{prefix}_{key}": values[i] for i, key in enumerate(_RESULT_KEYS) if key in keys}

    def counts(self):
        """The accumulated counts as a `tb_metrics_plugin.Counts` (int64 when unweighted).

        Raises:
          ValueError: before the first update; when the data held labels or weights that
            `confusion_counts` refuses; when a count passed 2**53 - 1.
        """
        if not self.built_state:
            raise ValueError(
                f"ThresholdCounts {self.name!r} has no counts yet: it learns the layout (labels, "
                "class ids) from the first batch. Update it first."
            )
        wide = np.float64 if self.weighted else np.int64
        low = sum(a.astype(wide) for a in _replica_arrays(self.sums))
        high = sum(a.astype(wide) for a in _replica_arrays(self.sums_high))
        names = self.label_names or [str(i) for i in range(self.num_labels)]
        return keras_ops.counts_from_sums(
            low, high, self.sums_layout, self.thresholds, weighted=self.weighted,
            label_names=names, from_logits=self.from_logits, sample_unit=self.sample_unit,
            name=self.log_name)

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
            "num_labels": self.num_labels or self.expected_labels,
            "ignore_value": self.ignore_value,
            "label_axis": self.label_axis,
            "multiclass": self.multiclass,
            "confusion_matrix": self.confusion_matrix,
            "zero_division": self.zero_division,
            "output_name": self._output_name or None,
        }


def _replica_arrays(variable):
    """The numpy values of ``variable``, one per replica under a TensorFlow distribution
    strategy (so that two-word sums combine in float64 / int64, not in the variable's dtype)."""
    inner = getattr(variable, "_value", None)
    parts = getattr(inner, "values", None)
    if isinstance(parts, (list, tuple)) and len(parts) > 1:
        return [np.asarray(p.numpy()) for p in parts]
    return [np.asarray(ops.convert_to_numpy(variable))]


def _has_float64():
    """Whether the backend keeps float64 tensors (JAX only with ``jax_enable_x64``)."""
    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.jax_enable_x64)


def _current_tf_graph():
    """The graph being traced (TensorFlow), or None when executing eagerly."""
    import tensorflow as tf

    if not tf.inside_function():
        return None
    return tf.compat.v1.get_default_graph()
