"""Write and read tb_metrics summaries with TensorBoard's own event-file writer and loader.

No TensorFlow is needed (TensorBoard uses it when it is installed).

>>> import tempfile, numpy as np
>>> import tb_metrics_plugin as tbm
>>> logdir = tempfile.mkdtemp()
>>> c = tbm.confusion_counts(np.array([[1, 0]]), np.array([[0.8, 0.1]]), thresholds=5)
>>> tbm.write_counts(logdir, "threshold_counts", c, step=0)
>>> [(step, got == c) for step, got in tbm.read_counts(logdir)["threshold_counts"]]
[(0, True)]
"""
import glob
import logging
import os
import threading
import time

from tb_metrics_plugin import metadata
from tb_metrics_plugin import metrics

logger = logging.getLogger(__name__)

__all__ = ["CountsWriter", "write_counts", "read_counts", "close_all"]


class CountsWriter:
    """Appends tb_metrics summaries to a new event file in ``log_dir``.

    The event file is created on the first write (lazily). Every `write` is flushed by default,
    so a TensorBoard watching ``log_dir`` sees the step at once and a crash loses no written
    step. The summary metadata is written with the first step of each tag, as `tf.summary` does.
    """

    def __init__(self, log_dir, flush=True):
        self.log_dir = os.fspath(log_dir)
        self._flush = flush
        self._writer = None
        self._tags_with_metadata = set()
        self._lock = threading.Lock()

    def _event_writer(self):
        if self._writer is None:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter

            os.makedirs(self.log_dir, exist_ok=True)
            self._writer = EventFileWriter(self.log_dir, filename_suffix=".tb_metrics")
        return self._writer

    def write(self, tag, counts, step, wall_time=None):
        """Writes ``counts`` (a `Counts`) under ``tag`` at ``step``."""
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.util import tensor_util

        if not isinstance(counts, metrics.Counts):
            raise ValueError(
                f"Expected a tb_metrics_plugin.Counts to write; received {type(counts).__name__}. "
                "Build one with tbm.confusion_counts(y_true, y_score)."
            )
        if not isinstance(tag, str) or not tag:
            raise ValueError(f"Expected a non-empty string tag; received {tag!r}.")
        try:
            step = int(step)
        except (TypeError, ValueError):
            raise ValueError(f"Expected an integer step; received {step!r}.") from None
        tensor = tensor_util.make_tensor_proto(metadata.counts_to_tensor(counts))
        with self._lock:
            value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
            if tag not in self._tags_with_metadata:
                value.metadata.CopyFrom(metadata.create_summary_metadata(counts))
            event = event_pb2.Event(
                wall_time=time.time() if wall_time is None else float(wall_time),
                step=step,
                summary=summary_pb2.Summary(value=[value]),
            )
            self._event_writer().add_event(event)
            self._tags_with_metadata.add(tag)
            if self._flush:
                self._writer.flush()

    def flush(self):
        with self._lock:
            if self._writer is not None:
                self._writer.flush()

    def close(self):
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
                self._tags_with_metadata = set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_writers = {}
_writers_lock = threading.Lock()


def write_counts(log_dir, tag, counts, step, wall_time=None):
    """Writes ``counts`` under ``tag`` at ``step`` to the run directory ``log_dir``, flushed.

    One event file per ``log_dir`` is kept open for the life of the process (see `close_all`).
    """
    key = os.path.abspath(os.fspath(log_dir))
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = CountsWriter(key)
    writer.write(tag, counts, step, wall_time=wall_time)


def close_all():
    """Closes the writers opened by `write_counts`."""
    with _writers_lock:
        for writer in _writers.values():
            writer.close()
        _writers.clear()


def _event_files(path):
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise ValueError(f"Expected an event file or a run directory; {path!r} does not exist.")
    return sorted(glob.glob(os.path.join(glob.escape(path), "*tfevents*")))


def read_counts(path, tag=None):
    """Reads tb_metrics summaries of one run: ``{tag: [(step, Counts), ...]}`` sorted by step.

    Args:
      path: a run directory (e.g. ``logs/run1/validation``) or one event file.
      tag: only this tag, when given.

    A step written twice (a restarted run) keeps the value written last. Events that are not
    ours are ignored; ours that cannot be decoded are skipped with a logged warning, and a
    tag written by a newer format version raises ValueError.
    """
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.util import tensor_util

    found = {}
    meta_by_tag = {}
    for filename in _event_files(os.fspath(path)):
        for event in event_file_loader.EventFileLoader(filename).Load():
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                if tag is not None and value.tag != tag:
                    continue
                if value.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME:
                    meta_by_tag[value.tag] = metadata.parse_plugin_metadata(
                        value.metadata.plugin_data.content
                    )
                elif value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
                    continue  # another plugin's summary
                meta = meta_by_tag.get(value.tag)
                if meta is None or not value.HasField("tensor"):
                    continue
                try:
                    counts = metadata.tensor_to_counts(tensor_util.make_ndarray(value.tensor), meta)
                except ValueError as e:
                    logger.warning("Skipping %s step %d in %s: %s", value.tag, event.step, filename, e)
                    continue
                found.setdefault(value.tag, {})[event.step] = counts
    return {t: sorted(steps.items()) for t, steps in sorted(found.items())}
