"""Runs, tags and steps of a logdir by the rules of `tb-metrics`, and which reader to use.

PATH is a run directory (holding event files) or a logdir with a run name; a logdir holding a
single run needs none. The tag defaults to the only tag and the step to the latest. What does
not exist raises `CliError` naming what does.
"""
import glob
import logging
import os
import sys
import types

logger = logging.getLogger(__name__)

__all__ = ["CliError", "find_runs", "resolve_run", "read", "load", "listing",
           "use_pure_python_reader", "PURE_PYTHON_MAX_BYTES"]


class CliError(Exception):
    """Bad input: `tb-metrics` prints it as one line on stderr and exits with status 2."""


def _has_events(directory):
    return bool(glob.glob(os.path.join(glob.escape(directory), "*tfevents*")))


def find_runs(logdir):
    """Run names (paths relative to ``logdir``, ``.`` for itself) of directories holding event
    files, sorted, as TensorBoard names them."""
    runs = []
    for dirpath, dirnames, _ in os.walk(logdir):
        dirnames.sort()
        if _has_events(dirpath):
            rel = os.path.relpath(dirpath, logdir)
            runs.append(rel.replace(os.sep, "/"))
    return sorted(runs)


def listing(values, limit=12):
    values = [str(v) for v in values]
    if len(values) > limit:
        values = values[:limit // 2] + ["..."] + values[-(limit // 2):]
    return ", ".join(values)


def resolve_run(path, run=None):
    """(run directory, run name) for PATH and --run; raises CliError naming what exists."""
    if not os.path.exists(path):
        raise CliError(f"Expected PATH to be a run directory or a logdir; {path!r} does not exist.")
    if run is not None:
        if not os.path.isdir(path):
            raise CliError(f"Expected a logdir with --run; received the file {path!r}.")
        runs = find_runs(path)
        directory = os.path.join(path, run)
        if run not in runs and not (os.path.isdir(directory) and _has_events(directory)):
            raise CliError(f"Expected --run to be a run in {path!r} ({listing(runs) or 'none'}); "
                           f"received {run!r}.")
        return directory, run
    if os.path.isfile(path) or _has_events(path):
        return path, os.path.normpath(path).replace(os.sep, "/")
    runs = find_runs(path)
    if len(runs) == 1:
        return os.path.join(path, runs[0]), runs[0]
    if not runs:
        raise CliError(f"Expected event files in {path!r} or its subdirectories; found none.")
    raise CliError(f"Expected --run for the logdir {path!r}, which holds {len(runs)} runs: "
                   f"{listing(runs)}.")


def read(directory, tag=None):
    from tb_metrics_plugin import summary

    try:
        return summary.read_counts(directory, tag=tag)
    except ValueError as e:
        raise CliError(str(e)) from None


def load(path, run=None, tag=None, step=None):
    """(run name, tag, step, Counts) chosen by the command-line rules."""
    directory, run_name = resolve_run(path, run)
    choose_reader(directory)
    data = read(directory, tag) if tag is not None else {}  # decode only that tag's steps
    if not data:
        data = read(directory)
    if not data:
        raise CliError(f"Expected tb_metrics counts in {directory!r} (written by CountsCallback "
                       "or tbm.write_counts); found none.")
    if tag is None:
        if len(data) > 1:
            raise CliError(f"Expected --tag: {directory!r} holds {len(data)} tags: "
                           f"{listing(data)}.")
        tag = next(iter(data))
    elif tag not in data:
        raise CliError(f"Expected --tag to be one of {listing(data)} in {directory!r}; "
                       f"received {tag!r}.")
    steps = dict(data[tag])
    if step is None:
        step = max(steps)
    elif step not in steps:
        raise CliError(f"Expected --step to be a step of tag {tag!r} in {directory!r} "
                       f"({len(steps)} steps: {listing(sorted(steps))}); received {step}.")
    counts = steps[step]
    for message in data_warnings(counts):
        logger.warning("%s", message)
    return run_name, tag, step, counts


def data_warnings(counts):
    """What the counts of a step say about the data, as the dashboard's banner says it:
    scores outside [0, 1] read as probabilities, NaN scores."""
    from tb_metrics_plugin import counting

    out = []
    message = counting.out_of_range_message(counts)
    if message:
        out.append(message)
    nan = float(counts.nan.sum())
    if nan > 0:
        labels = [n for n, v in zip(counts.label_names, counts.nan) if v > 0]
        out.append(f"{nan:g} NaN scores were counted (never positive), in {len(labels)} "
                   f"label(s): {listing(labels, 6)}.")
    return out


# TensorBoard's pure-Python reader checks each record's CRC in Python at about 3-4 MB/s;
# importing TensorFlow for its native reader costs about 5 s. Below this many bytes of event
# files the pure-Python reader finishes first.
PURE_PYTHON_MAX_BYTES = 16 * 2**20
_reader = {}  # "auto": set by the console script (cli.main with argv=None)


def use_pure_python_reader(event_bytes, tensorflow_installed):
    """Whether reading ``event_bytes`` is faster without TensorFlow (always when it is absent)."""
    return not tensorflow_installed or event_bytes <= PURE_PYTHON_MAX_BYTES


def _event_bytes(directory, recursive=False):
    if os.path.isfile(directory):
        return os.path.getsize(directory)
    walk = os.walk(directory) if recursive else [(directory, [], os.listdir(directory))]
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in walk for f in files
               if "tfevents" in f)


def choose_reader_on_first_read(on=True):
    """The console script (`cli.main` with ``argv=None``) lets `choose_reader` act once."""
    if on:
        _reader["auto"] = True
    else:
        _reader.pop("auto", None)


def choose_reader(directory, recursive=False):
    """In the console script, before the first read: TensorBoard's TensorFlow-free reader (its
    `compat.notf` switch) for small runs, so the command answers in a fraction of a second even
    where TensorFlow is installed. Never when `main` is called as a library (``argv`` given)."""
    if not _reader.pop("auto", False):
        return
    import importlib.util

    installed = importlib.util.find_spec("tensorflow") is not None
    if use_pure_python_reader(_event_bytes(directory, recursive), installed):
        sys.modules.setdefault("tensorboard.compat.notf",
                               types.ModuleType("tensorboard.compat.notf"))
