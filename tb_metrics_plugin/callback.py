"""`CountsCallback`: writes the counts of every `ThresholdCounts` in a Keras model to TensorBoard.

Runs ``log_dir/train`` and ``log_dir/validation`` (the runs `keras.callbacks.TensorBoard`
uses), one tag per metric (the metric's name; ``<output>_<name>`` in multi-output models), at
step = the 0-based epoch index. No extra ``predict`` pass: the counts are those the metric
accumulated in Keras' own train and test steps.

How it finds the counts (Keras 3 ``fit``): at the end of an epoch ``fit`` runs ``evaluate``,
which resets the metrics *before* ``on_epoch_end``; it calls ``on_test_begin`` on the fit
callbacks just before that reset. So the train counts are read in ``on_test_begin`` (during
``fit``), and at ``on_epoch_end`` the metrics hold the validation counts. In epochs without
validation (no validation data, or ``validation_freq`` skips the epoch) the train counts are
read at ``on_epoch_end`` and nothing is written to ``validation``.

Nothing wrong passes silently (`tb_metrics_plugin.fit_checks`): a ``UserWarning``, once per tag,
when the loss and the metric read an output differently (``from_logits``), when the counts read
scores outside [0, 1] as probabilities, and when NaN scores were counted. A tag's shape is fixed
(`CountsWriter`): a metric with other thresholds, labels or ``from_logits`` writing into a
``log_dir`` that already holds the tag (a restart after recompiling) raises ``ValueError``
before anything is written, with the fix (a new ``log_dir`` or metric name).

Multi-worker training (``tf.distribute.MultiWorkerMirroredStrategy`` with ``TF_CONFIG``, JAX or
PyTorch multi-process): every worker reads the counts (reading a summed variable is a collective
that all workers must join) but only the chief writes: the task of type ``chief``, or worker 0
when the cluster has no chief; process 0 on JAX and PyTorch.
"""
import json
import os
import warnings

import keras

from tb_metrics_plugin import fit_checks
from tb_metrics_plugin.counting import out_of_range_message, probabilities_as_logits_message
from tb_metrics_plugin.keras_metric import ThresholdCounts
from tb_metrics_plugin.summary import CountsWriter

__all__ = ["CountsCallback", "find_threshold_counts"]

BATCH_TAG_SUFFIX = "_batch"

_MISSING = (
    "CountsCallback found no ThresholdCounts metric in the model. Add one to compile:\n"
    "    model.compile(..., metrics=[tbm.ThresholdCounts()])\n"
    "(with `import tb_metrics_plugin as tbm`; pass from_logits=True if the model outputs "
    "logits, and label_names=[...] to name the labels)."
)


def find_threshold_counts(model):
    """Every `ThresholdCounts` of ``model``, searched recursively through ``model.metrics``.

    Keras builds the compiled metrics lazily: they appear (inside the model's compile-metrics
    container) only once the first train or test step has run.
    """
    found, seen = [], set()
    stack = list(getattr(model, "metrics", None) or [])
    while stack:
        metric = stack.pop(0)
        if id(metric) in seen:
            continue
        seen.add(id(metric))
        if isinstance(metric, ThresholdCounts):
            found.append(metric)
            continue
        children = getattr(metric, "metrics", None)
        if isinstance(children, (list, tuple)):
            stack.extend(children)
    return found


def _compile_config_mentions_counts(model):
    """True / False when the compile config tells whether a ThresholdCounts was passed; None when
    it cannot tell (no config)."""
    try:
        config = model.get_compile_config()
    except Exception:  # noqa: BLE001 - an unusual model; decide later from the metrics
        return None
    if not isinstance(config, dict):
        return None

    def visit(node):
        if isinstance(node, dict):
            name = str(node.get("class_name", "")) + str(node.get("registered_name", ""))
            if "ThresholdCounts" in name:
                return True
            return any(visit(v) for v in node.values())
        if isinstance(node, (list, tuple)):
            return any(visit(v) for v in node)
        return False

    return visit([config.get("metrics"), config.get("weighted_metrics")])


def is_chief():
    """Whether this process should write summaries in multi-worker training."""
    tf_config = os.environ.get("TF_CONFIG")
    if tf_config:
        try:
            config = json.loads(tf_config)
        except ValueError:
            config = {}
        task = config.get("task") or {}
        task_type = task.get("type")
        cluster = config.get("cluster") or {}
        if task_type in (None, "", "chief"):
            return True
        if task_type == "worker":
            return "chief" not in cluster and int(task.get("index", 0)) == 0
        return False
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.process_index() == 0
    if backend == "torch":
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank() == 0
    return True


class CountsCallback(keras.callbacks.Callback):
    """Writes every `ThresholdCounts` of the model to ``log_dir/train`` and ``log_dir/validation``.

    Args:
      log_dir: the run directory, e.g. ``"logs/run1"`` (TensorBoard shows the runs
        ``run1/train`` and ``run1/validation``). The event files are created on the first write.
      update_freq: ``"epoch"`` (default) writes once per epoch at step = the epoch index. An int
        ``N`` also writes the train counts accumulated so far in the current epoch every ``N``
        training batches, at step = the number of batches run since the start of ``fit``, under
        the tag ``<tag>_batch`` (the epoch tag stays untouched). Each batch write reads the state
        back from the device, and enables Keras' per-batch callback hooks; keep ``N`` large.

    Only ``fit`` writes: a standalone ``evaluate(callbacks=[...])`` writes nothing (use
    ``metric.counts()`` and `tb_metrics_plugin.write_counts` for that).

    Raises:
      ValueError: during ``fit``, when the model has no `ThresholdCounts` (the message shows the
        line to add to ``compile``), when two of them would write the same tag, or when a tag
        already in ``log_dir`` was written with another shape (thresholds, labels,
        ``from_logits``, weighting): a tag's shape never changes.

    Warns:
      UserWarning: once per tag, when the model's loss reads the metric's output as logits and
        the metric as probabilities (or the other way round); when ``from_logits=False`` counts
        scores outside [0, 1]; when NaN scores were counted.

    Example::

        model.compile(optimizer="adam",
                      loss=keras.losses.BinaryCrossentropy(from_logits=True),
                      metrics=[tbm.ThresholdCounts(from_logits=True)])
        model.fit(x, y, validation_data=(xv, yv), epochs=5,
                  callbacks=[tbm.CountsCallback("logs/run1")])
        tbm.read_counts("logs/run1/validation")  # {"threshold_counts": [(0, Counts), ...]}
    """

    def __init__(self, log_dir, update_freq="epoch"):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        if update_freq == "epoch":
            self.update_freq = "epoch"
        elif isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0:
            self.update_freq = update_freq
            # Only defined in batch mode: a batch hook turns off Keras' asynchronous callback
            # dispatch (and syncs the logs to the host every batch).
            self.on_train_batch_end = self._write_batch
        else:
            raise ValueError(
                f"Expected `update_freq` to be 'epoch' or a positive int (batches); received "
                f"{update_freq!r}."
            )
        self._writers = {}
        self._in_fit = False
        self._chief = True
        self._train_snapshot = None
        self._batches_before_epoch = 0
        self._batches_in_epoch = 0
        self._last_batch_step = 0
        self._warned = set()  # (kind, tag): each warning once per tag

    # -- helpers -----------------------------------------------------------------------------

    def _writer(self, subdir):
        writer = self._writers.get(subdir)
        if writer is None:
            writer = self._writers[subdir] = CountsWriter(
                os.path.join(self.log_dir, subdir), flush=False
            )
        return writer

    def _metrics(self, required=True):
        metrics = find_threshold_counts(self.model)
        if not metrics and required:
            raise ValueError(_MISSING)
        tags = [m.log_name for m in metrics]
        if len(set(tags)) != len(tags):
            dup = sorted({t for t in tags if tags.count(t) > 1})
            raise ValueError(
                f"Expected one ThresholdCounts per TensorBoard tag; received several named {dup}. "
                "Give each its own name: ThresholdCounts(name=\"...\")."
            )
        return metrics

    def _read(self):
        """{tag: Counts} of every metric that has state (a JAX model syncs its state first)."""
        sync = getattr(self.model, "jax_state_sync", None)
        if callable(sync):
            sync()
        out = {}
        for metric in self._metrics():
            if metric.built_state:
                if self._chief:
                    self._warn_once("loss", metric.log_name,
                                    fit_checks.loss_mismatch_message(self.model, metric))
                out[metric.log_name] = metric.counts()
        return out

    def _warn_once(self, kind, tag, message):
        if message and (kind, tag) not in self._warned:
            self._warned.add((kind, tag))
            warnings.warn(message, UserWarning, stacklevel=2)

    def _check_counts(self, subdir, tag, counts):
        where = f" in tag {tag!r} ({os.path.join(self.log_dir, subdir)})"
        self._warn_once("out_of_range", tag, out_of_range_message(counts, where))
        self._warn_once("probabilities_as_logits", tag,
                        probabilities_as_logits_message(counts, where))
        self._warn_once("single_label", tag, fit_checks.single_label_message(counts, where))
        self._warn_once("nan", tag, fit_checks.nan_message(counts, where))

    def _write(self, subdir, counts_by_tag, step, suffix=""):
        if not self._chief or not counts_by_tag:
            return
        writer = self._writer(subdir)
        for tag, counts in counts_by_tag.items():
            self._check_counts(subdir, tag, counts)
            try:
                writer.write(tag + suffix, counts, step)
            except ValueError as e:
                self._close_writers()  # nothing half-written stays open
                raise ValueError(
                    f"CountsCallback cannot write {tag + suffix!r} to "
                    f"{os.path.join(self.log_dir, subdir)!r}: {e} With CountsCallback: give it a "
                    "new log_dir for a model whose ThresholdCounts changed (thresholds, "
                    "label_names, from_logits, weighted), or give the metric a new name, "
                    "ThresholdCounts(name=...)."
                ) from e
        writer.flush()

    def _close_writers(self):
        # Closed, not forgotten: a later fit() writes new event files through the same
        # writers, which remember each tag's shape and last step (see CountsWriter).
        for writer in self._writers.values():
            writer.close()

    # -- Keras hooks -------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._chief = is_chief()
        self._batches_before_epoch = 0
        self._last_batch_step = 0
        if not find_threshold_counts(self.model) and (
                _compile_config_mentions_counts(self.model) is False):
            raise ValueError(_MISSING)

    def on_epoch_begin(self, epoch, logs=None):
        self._train_snapshot = None
        self._batches_in_epoch = 0

    def _write_batch(self, batch, logs=None):
        self._batches_in_epoch = batch + 1
        step = self._batches_before_epoch + batch + 1
        if step // self.update_freq > self._last_batch_step // self.update_freq:
            self._last_batch_step = step
            self._write("train", self._read(), step, suffix=BATCH_TAG_SUFFIX)

    def on_test_begin(self, logs=None):
        # During fit, evaluate() calls this just before it resets the metrics: the metrics
        # still hold this epoch's train counts.
        if self._in_fit and self._train_snapshot is None:
            self._train_snapshot = self._read()

    def on_epoch_end(self, epoch, logs=None):
        if self._train_snapshot is not None:
            self._write("train", self._train_snapshot, epoch)
            self._write("validation", self._read(), epoch)
        else:
            self._write("train", self._read(), epoch)
        self._train_snapshot = None
        self._batches_before_epoch += self._batches_in_epoch

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close_writers()
