"""`add_counts`: write `Counts` into a PyTorch user's own TensorBoard event file.

``writer`` is a ``torch.utils.tensorboard.SummaryWriter``, a ``tensorboardX.SummaryWriter`` or a
run directory (then `write_counts` writes it). The summary (with the tb_metrics metadata) goes
through the writer's own file writer, as ``SummaryWriter.add_pr_curve`` does, so the counts sit
in the same event file as the user's scalars and follow its flushes and closing.

>>> import tempfile
>>> import tb_metrics_plugin as tbm
>>> from torch.utils.tensorboard import SummaryWriter
>>> writer = SummaryWriter(tempfile.mkdtemp())
>>> writer.add_scalar("loss", 0.5, 0)
>>> tbm.add_counts(writer, tbm.confusion_counts([1, 0], [0.9, 0.2], thresholds=5), step=0)
>>> writer.close()
>>> [s for s, _ in tbm.read_counts(writer.get_logdir())["threshold_counts"]]
[0]
"""
import os
import threading
import time
import weakref

from tb_metrics_plugin import metadata, summary

__all__ = ["add_counts"]

# writer -> {tag: content dict it was written with}; forgotten with the writer.
_shapes = weakref.WeakKeyDictionary()
# writer -> {tag: the last step written}
_last_steps = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def add_counts(writer, counts, step, tag="threshold_counts", wall_time=None):
    """Writes ``counts`` under ``tag`` at ``step`` into ``writer``'s own event file, flushed.

    Args:
      writer: ``torch.utils.tensorboard.SummaryWriter``, ``tensorboardX.SummaryWriter``, or a
        run directory (a path or fsspec URL: written by `write_counts`).
      counts: a `Counts` (e.g. ``tb_metrics_plugin.torch.ThresholdCounts(...).compute()``).
      step: the global step (Keras writes epoch ``e`` at step ``e``).
      tag: the tag; its shape (thresholds, labels, ``from_logits``, weighting, single-label
        layout) is fixed for the run.
      wall_time: seconds since the epoch (default now).

    Raises:
      ValueError: not a `Counts`, a bad tag or step, an unknown writer, or a tag written before
        (by this writer, or in the writer's log directory by an earlier process) with another
        shape: the message names the fix (a new tag or log_dir).
    """
    if isinstance(writer, (str, os.PathLike)):
        summary.write_counts(writer, tag, counts, step, wall_time=wall_time)
        return
    file_writer, logdir, proto_module = _resolve(writer)
    step = summary.check_write_args(counts, tag, step)
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.util import tensor_util

    with _lock:
        shapes = _shapes.setdefault(writer, {})
        first = tag not in shapes
        earlier = summary.check_shape(shapes, tag, counts, logdir)
        summary.check_step_order(_last_steps.setdefault(writer, {}), tag, step, logdir, earlier)
        value = summary_pb2.Summary.Value(
            tag=tag, tensor=tensor_util.make_tensor_proto(metadata.counts_to_tensor(counts)))
        if first:
            value.metadata.CopyFrom(metadata.create_summary_metadata(counts))
        proto = summary_pb2.Summary(value=[value])
        if proto_module is not None:  # tensorboardX's own copy of the protos
            proto = proto_module.Summary.FromString(proto.SerializeToString())
        file_writer.add_summary(proto, step, time.time() if wall_time is None else wall_time)
        file_writer.flush()


def _resolve(writer):
    """(file writer, log dir, proto module or None) of a supported SummaryWriter."""
    module = type(writer).__module__ or ""
    get = getattr(writer, "_get_file_writer", None)
    if get is None or not (module.startswith("torch.utils.tensorboard")
                           or module.startswith("tensorboardX")):
        raise ValueError(
            "Expected `writer` to be a torch.utils.tensorboard.SummaryWriter, a "
            "tensorboardX.SummaryWriter or a run directory (str or path); received "
            f"{type(writer).__module__}.{type(writer).__name__}."
        )
    proto_module = None
    if module.startswith("tensorboardX"):
        from tensorboardX.proto import summary_pb2 as proto_module
    logdir = writer.get_logdir() if hasattr(writer, "get_logdir") else writer.logdir
    return get(), os.fspath(logdir), proto_module


