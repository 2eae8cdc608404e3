"""`ThresholdCounts` for PyTorch: a torchmetrics metric of exact per-label confusion counts.

The same semantics and exactness as `tb_metrics_plugin.confusion_counts` (scores on
thresholds, -0.0, +-inf, NaN, logits, per-sample and per-cell weights, ``ignore_value``,
``label_axis``, class ids, ``multiclass``), counted on the tensors' device in O(N*L + L*T)
memory, and synced across processes by torchmetrics (every state is a sum).

>>> import torch
>>> from tb_metrics_plugin.torch import ThresholdCounts
>>> metric = ThresholdCounts(num_labels=2, thresholds=[0.0, 0.5, 1.0])
>>> metric.update(torch.tensor([[0.9, 0.2], [0.4, 0.6]]), torch.tensor([[1, 0], [0, 1]]))
>>> metric.compute().tp.tolist()
[[1, 1, 0], [1, 1, 0]]

Write it next to your own scalars with ``tbm.add_counts(writer, metric.compute(), step)``.
"""
import functools
import warnings

import numpy as np

try:
    import torch
    import torchmetrics
except ImportError as e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "tb_metrics_plugin.torch needs PyTorch and torchmetrics: install PyTorch (your CPU or "
        "CUDA build), then pip install 'tb_metrics_plugin[torch]'. The numpy API "
        f"(tbm.confusion_counts) needs neither. Received: {e}") from e

from tb_metrics_plugin import counting, inputs
from tb_metrics_plugin import torch_counting as tc
from tb_metrics_plugin import torch_inputs
from tb_metrics_plugin.torch_binning import Binner

__all__ = ["ThresholdCounts"]


class ThresholdCounts(torchmetrics.Metric):
    """Exact TP/FP/TN/FN of every label at every threshold, accumulated over batches.

    Args:
      num_labels: L (or C, the classes of single-label data). Pass it so every state exists
        from the start (needed under DDP when a process may see no batch); None infers it from
        the first batch.
      thresholds: an int T (``linspace(0, 1, T)`` in float32) or sorted probabilities.
      from_logits: ``preds`` are logits, compared with the float32 logit of each threshold.
      label_names: optional list of L names.
      ignore_value: target value marking a missing label (NaN, -1, 255, ...): such cells are
        left out of every count (class ids equal to it leave out the whole sample).
      label_axis: the axis of ``preds`` holding labels or classes (``1`` for ``[N, C, H, W]``).
      multiclass: single-label data (class ids, or one-hot ``target``): keep the ``C x C``
        confusion matrix and top-k hits from the start (class ids turn them on by themselves
        at the first batch).
      confusion_matrix: keep the confusion matrix of single-label data (off for a huge C).
      validate_args: check label values, class ids and weights (each check reads one boolean
        back from the device); False skips them, as in torchmetrics.
      **kwargs: torchmetrics.Metric options (``process_group``, ``sync_on_compute``, ...).

    ``update(preds, target, sample_weight=None)``: ``preds`` ``[N]``, ``[N, L]`` or
    ``[N, ..., L]`` (labels on ``label_axis``); ``target`` 0/1 of the same shape, or class ids
    without the label axis; ``sample_weight`` per sample (the leading shape) or per cell (the
    shape of ``preds``). Unweighted batches sum into int64 states (exact to 2**63-1), weighted
    ones into float64 states; once any batch was weighted, `compute` returns weighted sums
    (float64) of both.

    ``compute()`` returns a `tb_metrics_plugin.Counts` equal to ``confusion_counts`` over all
    the batches (exactly when unweighted; weighted sums up to float64 rounding, as the order of
    summation differs), and warns once (UserWarning) when ``from_logits=False`` saw scores
    outside [0, 1].

    Memory: states of 2 * (2*L*(T+1) + 4*L + T + 6) numbers (+ 2*C*C for the confusion matrix);
    one update needs O(N*L) temporaries, never N*L*T.
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False

    def __init__(self, num_labels=None, thresholds=101, from_logits=False, label_names=None,
                 ignore_value=None, label_axis=-1, multiclass=False, confusion_matrix=True,
                 validate_args=True, **kwargs):
        super().__init__(**kwargs)
        self.thresholds = inputs.make_thresholds(thresholds)
        self.from_logits = bool(from_logits)
        self.ignore_value = inputs.check_ignore_value(ignore_value)
        self.label_axis = label_axis
        self.multiclass = bool(multiclass)
        self.keep_confusion_matrix = bool(confusion_matrix)
        self.validate_args = bool(validate_args)
        self._label_names = None if label_names is None else list(label_names)
        if num_labels is not None and (
                isinstance(num_labels, bool) or not isinstance(num_labels, (int, np.integer))
                or num_labels < 1):
            raise ValueError(f"Expected `num_labels` to be an int >= 1 or None; received "
                             f"{num_labels!r}.")
        self.num_labels = None if num_labels is None else int(num_labels)
        if self._label_names is not None and self.num_labels is not None:
            inputs.check_label_names(self._label_names, self.num_labels)
        self.register_buffer("cuts", torch.from_numpy(
            inputs.cut_values(self.thresholds, self.from_logits).copy()), persistent=False)
        self._binner = Binner(self.cuts)
        self._warned = False
        self._sample_unit_seen = set()
        self.add_state("weighted_updates", torch.zeros((), dtype=torch.int64), "sum")
        self.add_state("position_updates", torch.zeros((), dtype=torch.int64), "sum")
        if self.num_labels is not None:
            self._add_sum_states(self.num_labels)
            if self.multiclass:
                self._add_class_states(self.num_labels)

    # -- states --------------------------------------------------------------------------------

    def _add_sum_states(self, num_l):
        self._layout = tc.Sums(num_l, int(self.thresholds.size))
        size = self._layout.size
        self.add_state("sums_int", torch.zeros(size, dtype=torch.int64), "sum")
        self.add_state("sums_float", torch.zeros(size, dtype=torch.float64), "sum")

    def _add_class_states(self, num_l):
        if num_l < 2:
            raise ValueError("Expected at least 2 classes for single-label multi-class counts; "
                             "received 1 score column.")
        num_k = min(inputs.MAX_TOP_K, num_l)
        self.add_state("top_k_int", torch.zeros(num_k, dtype=torch.int64), "sum")
        self.add_state("top_k_float", torch.zeros(num_k, dtype=torch.float64), "sum")
        if self.keep_confusion_matrix:
            self.add_state("matrix_int", torch.zeros(num_l * num_l, dtype=torch.int64), "sum")
            self.add_state("matrix_float", torch.zeros(num_l * num_l, dtype=torch.float64), "sum")
        for name in ("top_k_int", "top_k_float", "matrix_int", "matrix_float"):
            if hasattr(self, name):  # states added after .to(device) follow the metric
                setattr(self, name, getattr(self, name).to(self.cuts.device))

    def _has(self, name):
        return name in self._defaults

    def _reduce_states(self, incoming_state):
        # States added lazily by the first update are missing from the state saved before it.
        for name in self._defaults:
            if name not in incoming_state:
                incoming_state[name] = torch.zeros_like(getattr(self, name))
        super()._reduce_states(incoming_state)

    def _wrap_compute(self, compute):
        # torchmetrics' wrapper, less its walk over the result looking for tensors to clone (a
        # Counts holds numpy arrays only, and the walk costs more than the compute itself).
        @functools.wraps(compute)
        def wrapped():
            if not self.update_called:
                warnings.warn(
                    f"The ``compute`` method of metric {type(self).__name__} was called before "
                    "the ``update`` method: the counts are all zero.", UserWarning)
            if self._computed is not None:
                return self._computed
            with self.sync_context(dist_sync_fn=self.dist_sync_fn,
                                   should_sync=self._to_sync,
                                   should_unsync=self._should_unsync):
                value = compute()
            if self.compute_with_cache:
                self._computed = value
            return value

        return wrapped

    # -- update / compute ----------------------------------------------------------------------

    def update(self, preds, target, sample_weight=None):
        """Adds one batch (see the class doc for shapes); raises ValueError on bad input."""
        if self.cuts.device != preds.device:
            self.cuts = self.cuts.to(preds.device)
        batch = torch_inputs.format_batch(preds, target, sample_weight, self.ignore_value,
                                self.label_axis, self.multiclass, self.validate_args)
        num_l = batch.layout.num_labels
        if not self._has("sums_int"):
            self._add_sum_states(num_l)
            for name in ("sums_int", "sums_float"):
                setattr(self, name, getattr(self, name).to(preds.device))
        if num_l != self._layout.num_labels:
            raise ValueError(
                f"Expected {self._layout.num_labels} labels (score columns) in every batch, as "
                f"{'num_labels says' if self.num_labels else 'in the first batch'}; received "
                f"preds of shape {tuple(preds.shape)} with {num_l} on axis {self.label_axis}."
            )
        single = batch.class_ids is not None
        if single and not self._has("top_k_int"):
            if self._update_count > 1:
                raise ValueError(self._kind_message(single))
            self._add_class_states(num_l)
        elif not single and self._has("top_k_int"):
            raise ValueError(self._kind_message(single))
        parts, matrix, top_k = tc.batch_sums(batch, self._binner)
        weighted = batch.cell_weights is not None
        suffix = "float" if weighted else "int"
        # A new state tensor per update, never an in-place add: a metric handed to spawned
        # processes (Lightning's ddp_spawn pickles the module through torch.multiprocessing)
        # holds its initial states in shared memory, so in-place adds of every process would
        # land in one tensor (tests/test_lightning.py saw each batch counted twice).
        state = getattr(self, f"sums_{suffix}").clone()
        tc.add_sums(state, self._layout, parts)
        setattr(self, f"sums_{suffix}", state)
        if top_k is not None:
            setattr(self, f"top_k_{suffix}", getattr(self, f"top_k_{suffix}") + top_k)
            if self._has("matrix_int"):
                setattr(self, f"matrix_{suffix}", getattr(self, f"matrix_{suffix}") + matrix)
        if weighted:
            self.weighted_updates = self.weighted_updates + 1
        if batch.layout.sample_unit == "positions":
            self.position_updates = self.position_updates + 1

    def _kind_message(self, single):
        return (
            "Expected every batch of one ThresholdCounts to be of one kind; received "
            + ("single-label class ids after multi-label batches" if single else
               "multi-label 0/1 targets after single-label (class id) batches")
            + ". Use one metric per kind (or multiclass=True with one-hot targets)."
        )

    def compute(self):
        """The accumulated counts as a `tb_metrics_plugin.Counts` (see the class doc)."""
        if not self._has("sums_int"):
            raise ValueError("Expected at least one `update` before `compute`; received none. "
                             "Pass num_labels=L to get empty counts instead.")
        weighted = int(self.weighted_updates) > 0

        def total(name):
            if weighted:
                return (getattr(self, f"{name}_float")
                        + getattr(self, f"{name}_int").to(torch.float64)).cpu().numpy()
            return getattr(self, f"{name}_int").cpu().numpy()

        counts = tc.counts_from_sums(
            total("sums"), self._layout, self.thresholds, self.from_logits,
            self._label_names, "positions" if int(self.position_updates) > 0 else "samples",
            matrix=total("matrix") if self._has("matrix_int") else None,
            top_k=total("top_k") if self._has("top_k_int") else None,
        )
        if not self._warned and counting.warn_out_of_range(counts, stacklevel=4):
            self._warned = True
        return counts
