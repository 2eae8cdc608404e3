"""Write and read tb_metrics summaries with TensorBoard's own event-file writer and loader.

No TensorFlow is needed (TensorBoard uses it when it is installed). A ``log_dir`` may also be an
fsspec URL (``s3://bucket/logs/run1/validation``, ``gs://...``, ``memory://...``): see `remote`.

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
import warnings

from tb_metrics_plugin import metadata, remote
from tb_metrics_plugin.counts import Counts

logger = logging.getLogger(__name__)

__all__ = ["CountsWriter", "write_counts", "read_counts", "close_all"]


class CountsWriter:
    """Appends tb_metrics summaries to a new event file in ``log_dir``.

    The event file is created on the first write (lazily). Every `write` is flushed by default,
    so a TensorBoard watching ``log_dir`` sees the step at once and a crash loses no written
    step. The summary metadata is written with the first step of each tag, as `tf.summary` does.

    A tag's shape (thresholds, label names, ``from_logits``, weighting, single-label layout) is
    fixed: TensorBoard keeps only the first metadata of a tag, so a step of another shape would
    be unreadable. `write` raises ValueError for it, also when the tag was written to
    ``log_dir`` by an earlier process (its event files are checked on the first write of a tag).
    """

    def __init__(self, log_dir, flush=True):
        self.log_dir = os.fspath(log_dir)  # a path, or an fsspec URL (`remote`)
        self._flush = flush
        self._writer = None
        self._tags_with_metadata = set()
        self._shapes = {}  # tag -> content dict it was written with (here or in earlier files)
        self._last_steps = {}  # tag -> the last step this writer wrote
        self._lock = threading.Lock()

    def _event_writer(self):
        if self._writer is None and remote.is_url(self.log_dir):
            self._writer = remote.RemoteEventWriter(self.log_dir, filename_suffix=".tb_metrics")
        if self._writer is None:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter

            os.makedirs(self.log_dir, exist_ok=True)
            self._writer = EventFileWriter(self.log_dir, filename_suffix=".tb_metrics")
        return self._writer

    def write(self, tag, counts, step, wall_time=None):
        """Writes ``counts`` (a `Counts`) under ``tag`` at ``step``."""
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.util import tensor_util

        step = check_write_args(counts, tag, step)
        tensor = tensor_util.make_tensor_proto(metadata.counts_to_tensor(counts))
        with self._lock:
            earlier = check_shape(self._shapes, tag, counts, self.log_dir)
            check_step_order(self._last_steps, tag, step, self.log_dir, earlier)
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


def check_write_args(counts, tag, step):
    """Checks what every writer is given; returns ``step`` as an int."""
    if not isinstance(counts, Counts):
        raise ValueError(
            f"Expected a tb_metrics_plugin.Counts to write; received {type(counts).__name__}. "
            "Build one with tbm.confusion_counts(y_true, y_score) (or a ThresholdCounts "
            "metric's counts() / compute())."
        )
    if not isinstance(tag, str) or not tag:
        raise ValueError(f"Expected a non-empty string tag; received {tag!r}.")
    try:
        return int(step)
    except (TypeError, ValueError):
        raise ValueError(f"Expected an integer step; received {step!r}.") from None


def check_step_order(last_steps, tag, step, log_dir, earlier=False):
    """Warns (UserWarning) when ``tag`` is written at a step that does not grow (``last_steps``:
    tag -> the last step written; updated here; on a tag's first write with ``earlier``, the
    tag already lies in ``log_dir``'s event files and their last step is read from them).

    TensorBoard reads such a step as a restart from a checkpoint ("preemption",
    `metadata.preempt`) and hides every step of the tag from it on that was written before:
    what a run resumed from a checkpoint wants, and a silent loss when a step counter started
    again (a second ``fit`` without ``initial_epoch``, a script run twice into one log_dir).
    """
    first = tag not in last_steps
    last = _last_written_step(log_dir, tag) if first and earlier else last_steps.get(tag)
    last_steps[tag] = step
    if last is None or step > last:
        return
    hidden = f"step {step}" if step == last else f"steps {step} to {last}"
    where = (f"Tag {tag!r} in {log_dir!r} already holds steps up to {last} (written before "
             f"this writer) and is now written at step {step}" if first else
             f"Tag {tag!r} in {log_dir!r} was written at step {last} and now at step {step}")
    warnings.warn(
        f"{where}. TensorBoard reads a step that does not grow as a restart and hides what was "
        f"written before at {hidden}: right when resuming from a checkpoint at step {step}; "
        "otherwise expected growing steps: a step counter that goes on (with CountsCallback "
        "over several fit() calls, pass fit(..., initial_epoch=<epochs so far>)), or a new "
        "log_dir for a new run.", UserWarning, stacklevel=3)


def _last_written_step(log_dir, tag):
    """The largest step at which ``log_dir``'s event files hold ``tag`` (None: none)."""
    last = None
    for filename in _event_files(log_dir):
        try:
            for event in _load(filename):
                if any(v.tag == tag for v in event.summary.value):
                    last = event.step if last is None else max(last, event.step)
        except Exception as e:  # an unreadable file must not stop training from writing
            logger.warning("Could not read %s to check tag %r: %s", filename, tag, e)
    return last


def check_shape(shapes, tag, counts, log_dir):
    """Refuses a step whose shape differs from the tag's (``shapes``: tag -> content dict seen
    by this writer, filled from ``log_dir``'s event files on a tag's first write). Returns True
    when this call found the tag in those files (written before this writer)."""
    content = metadata.content_dict(counts)
    known = shapes.get(tag)
    earlier = False
    if known is None:
        known = _existing_content(log_dir, tag)
        if known is None:
            shapes[tag] = content
            return False
        shapes[tag] = known
        earlier = True
    diff = metadata.shape_differences(known, content)
    if diff:
        raise ValueError(
            f"Tag {tag!r} in {log_dir!r} was written with another shape ({'; '.join(diff)}). A "
            "tag's thresholds, labels, from_logits and weighting never change (TensorBoard keeps "
            "only its first metadata). Expected the same shape; to keep both, write to a new "
            "tag (e.g. f'{tag}_v2') or a new log_dir."
        )
    return earlier


def _existing_content(log_dir, tag):
    """The content dict ``tag`` was first written with in ``log_dir``'s event files, or None.

    Reads the files in TensorBoard's order and stops at the first metadata of the tag.
    """
    if not (remote.exists(log_dir) if remote.is_url(log_dir) else os.path.isdir(log_dir)):
        return None
    for filename in _event_files(log_dir):
        try:
            for event in _load(filename):
                for value in event.summary.value:
                    if (value.tag == tag and value.metadata.plugin_data.plugin_name
                            == metadata.PLUGIN_NAME):
                        try:
                            return metadata.parse_plugin_metadata(
                                value.metadata.plugin_data.content)["content"]
                        except ValueError:
                            return None
        except Exception as e:  # an unreadable file must not stop training from writing
            logger.warning("Could not read %s to check tag %r: %s", filename, tag, e)
    return None


_writers = {}
_writers_lock = threading.Lock()


def write_counts(log_dir, tag, counts, step, wall_time=None):
    """Writes ``counts`` under ``tag`` at ``step`` to the run directory ``log_dir``, flushed.

    One event file per ``log_dir`` is kept open for the life of the process (see `close_all`).
    """
    key = os.fspath(log_dir)
    key = key if remote.is_url(key) else os.path.abspath(key)
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


def _load(filename):
    """The events of one event file (a path or an fsspec URL)."""
    if remote.is_url(filename):
        return remote.load_events(filename)
    from tensorboard.backend.event_processing import event_file_loader

    return event_file_loader.EventFileLoader(filename).Load()


def _event_files(path):
    if remote.is_url(path):
        return remote.event_files(path)
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise ValueError(f"Expected an event file or a run directory; {path!r} does not exist.")
    return sorted(glob.glob(os.path.join(glob.escape(path), "*tfevents*")))


def _run_files(path):
    """The event files of one run for reading; a path that is not a run is a clear error."""
    files = _event_files(path)
    if remote.is_url(path):
        return files
    if os.path.isfile(path) and "tfevents" not in os.path.basename(path):
        raise ValueError(
            f"Expected a run directory or an event file (its name holds 'tfevents'); received "
            f"{path!r}.")
    if not files and os.path.isdir(path):
        runs = sorted(
            os.path.relpath(d, path).replace(os.sep, "/")
            for d, _, names in os.walk(path) if any("tfevents" in n for n in names))
        if runs:
            shown = ", ".join(runs[:6]) + (", ..." if len(runs) > 6 else "")
            raise ValueError(
                f"Expected a run directory (holding event files); {path!r} holds {len(runs)} "
                f"runs: {shown}. Read one of them, e.g. "
                f"read_counts({os.path.join(path, runs[0])!r}).")
    return files


def read_counts(path, tag=None):
    """Reads tb_metrics summaries of one run: ``{tag: [(step, Counts), ...]}`` sorted by step.

    Args:
      path: a run directory (e.g. ``logs/run1/validation``) or one event file; a path or an
        fsspec URL (``s3://bucket/logs/run1/validation``).
      tag: only this tag, when given.

    A step that comes again (a run restarted from a checkpoint) drops the steps from it on that
    were written before, as TensorBoard's default loader does ("preemption": they are orphans
    of the crashed run), and the plugin does under every loader. As in TensorBoard, a
    tag's first metadata (in file order) describes all its steps: steps written with another
    shape (by an older version, before writers refused it) are skipped with a logged warning,
    as the plugin skips them. Events that are not ours are ignored; ours that cannot be decoded
    are skipped with a logged warning.

    Raises:
      ValueError: ``path`` does not exist, is a logdir of several runs rather than one run, or
        is a file that is not an event file; a tag written by a newer format version, or a step
        holding negative counts
        (a counter that wrapped: refused rather than returned).
    """
    from tensorboard.util import tensor_util

    found = {}
    meta_by_tag = {}
    file_meta = {}  # tag -> (file whose metadata was seen last, how it differs from the first)
    for filename in _run_files(os.fspath(path)):
        for event in _load(filename):
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                if tag is not None and value.tag != tag:
                    continue
                if value.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME:
                    parsed = metadata.parse_plugin_metadata(value.metadata.plugin_data.content)
                    first = meta_by_tag.setdefault(value.tag, parsed)
                    differs = metadata.shape_differences(first["content"], parsed["content"])
                    file_meta[value.tag] = (filename, differs)
                elif value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
                    continue  # another plugin's summary
                meta = meta_by_tag.get(value.tag)
                if meta is None or not value.HasField("tensor"):
                    continue
                steps = found.setdefault(value.tag, {})
                metadata.preempt(steps, event.step)
                source, differs = file_meta.get(value.tag, (None, []))
                if source == filename and differs:
                    logger.warning("Skipping %s step %d in %s: written with another shape (%s) "
                                   "than the tag's first step", value.tag, event.step, filename,
                                   "; ".join(differs))
                    continue  # it still preempted: the plugin sees it in TensorBoard's data
                array = tensor_util.make_ndarray(value.tensor)
                try:
                    counts = metadata.tensor_to_counts(array, meta)
                except ValueError as e:
                    if "negative counts" in str(e):
                        raise ValueError(f"{filename}: tag {value.tag!r} step {event.step}: {e}") from None
                    logger.warning("Skipping %s step %d in %s: %s", value.tag, event.step, filename, e)
                    continue
                steps[event.step] = counts
    out = {t: sorted(steps.items()) for t, steps in sorted(found.items())}
    return {t: steps for t, steps in out.items() if steps}

