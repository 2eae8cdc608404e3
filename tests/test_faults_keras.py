"""Faults around a Keras fit: SIGKILL mid-training loses no completed epoch; TensorBoard started
on an empty logdir shows the data when it arrives.

The kill test runs ``_subprocess_scripts/fit_counts.py`` (the exact model of `common`, learning
rate 0, so every epoch's counts are known) with a callback placed after CountsCallback that
prints ``epoch_end E`` and sleeps. Every epoch whose end was printed must read back whole, with
no gap, from both runs; the unclosed file of the killed process, and a copy whose last record is
torn in half (a kill in the middle of a write), must break neither `read_counts` nor the
plugin's routes in a real ``tensorboard``.
"""
import os
import select
import shutil
import signal
import struct
import time

import numpy as np
import pytest

import tb_metrics_plugin as tbm
from demo.fixtures import synthetic_scores
from tests._subprocess_scripts import common, launch
from tests._subprocess_scripts.common import N_TRAIN, N_VAL, TRAIN_SEED, VAL_SEED
from tests.tb_server import TensorBoardServer, wait_until

TAG = common.TAG
ROUTE = "/data/plugin/tb_metrics/"
EPOCHS_BEFORE_KILL = 3


def _expected():
    weights = common.make_weights()
    out = {}
    for sub, n, seed in (("train", N_TRAIN, TRAIN_SEED), ("validation", N_VAL, VAL_SEED)):
        x, y = common.make_data(n, seed)
        out[sub] = tbm.confusion_counts(y, common.numpy_forward(weights, x), from_logits=True,
                                        label_names=common.LABEL_NAMES)
    return out


def _record_offsets(path):
    """Start offsets of the TFRecords in an event file (length u64, crc u32, data, crc u32)."""
    offsets, pos = [], 0
    with open(path, "rb") as f:
        data = f.read()
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        if pos + 12 + length + 4 > len(data):
            break
        offsets.append(pos)
        pos += 12 + length + 4
    return offsets, len(data)


def _tear_last_record(run_dir):
    """Cuts the last record of each event file in ``run_dir`` in half (a kill mid-write)."""
    for name in os.listdir(run_dir):
        path = os.path.join(run_dir, name)
        offsets, size = _record_offsets(path)
        last = offsets[-1]
        with open(path, "r+b") as f:
            f.truncate(last + (size - last) // 2)


def _kill_fit_after_epochs(logdir, tmp_path, epochs_before_kill):
    """Runs fit with CountsCallback into ``logdir``; SIGKILLs it once ``epochs_before_kill``
    epoch ends were printed (a little later, while it trains the next epoch); returns the last
    epoch whose end was printed."""
    proc = launch.start("fit_counts.py", [tmp_path / "fit_out", "--logdir", logdir,
                                          "--epochs", 1000, "--sleep", 0.2],
                        stdout=launch.subprocess.PIPE, log_dir=tmp_path, name="fit_stderr")
    printed = []
    try:
        deadline = time.monotonic() + 180
        while len(printed) < epochs_before_kill and time.monotonic() < deadline:
            # Whole lines are printed and flushed: readline does not block once readable.
            ready, _, _ = select.select([proc.stdout], [], [], max(0, deadline - time.monotonic()))
            line = proc.stdout.readline() if ready else ""
            if not line:
                break
            if line.startswith("epoch_end "):
                printed.append(int(line.split()[1]))
        time.sleep(0.2)  # into the next epoch: its training steps and writes
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    printed += [int(ln.split()[1]) for ln in rest.splitlines() if ln.startswith("epoch_end ")]
    assert proc.returncode == -signal.SIGKILL, f"fit ended by itself:\n{proc.tail()}"
    assert len(printed) >= epochs_before_kill, f"fit did not get going: {printed}\n{proc.tail()}"
    assert printed == list(range(len(printed)))
    return printed[-1]


@pytest.mark.slow
def test_sigkill_during_fit_loses_no_completed_epoch(tmp_path):
    logdir = tmp_path / "logs"
    last = _kill_fit_after_epochs(logdir / "killed", tmp_path, EPOCHS_BEFORE_KILL)
    expected = _expected()

    steps = {}
    for sub in ("train", "validation"):
        got = tbm.read_counts(logdir / "killed" / sub)
        assert list(got) == [TAG], sub
        steps[sub] = [s for s, _ in got[TAG]]
        # Every epoch whose end was printed is there, whole; no gap.
        assert steps[sub] == list(range(len(steps[sub]))), steps[sub]
        assert len(steps[sub]) >= last + 1, f"{sub}: epoch {last} was printed, got {steps[sub]}"
        for step, counts in got[TAG]:
            assert counts == expected[sub], f"{sub} step {step} is not whole"
    # Train is written before validation at each epoch end: at most one epoch ahead.
    assert len(steps["validation"]) <= len(steps["train"]) <= len(steps["validation"]) + 1

    # A copy whose last record is torn in half: read_counts keeps every whole step.
    shutil.copytree(logdir / "killed", logdir / "torn")
    torn = {}
    for sub in ("train", "validation"):
        _tear_last_record(logdir / "torn" / sub)
        got = tbm.read_counts(logdir / "torn" / sub)[TAG]
        torn[sub] = [s for s, _ in got]
        assert torn[sub] == steps[sub][:-1], (sub, torn[sub], steps[sub])
        assert all(c == expected[sub] for _, c in got)

    # The plugin in a real tensorboard over both: every route answers, with the right data.
    want = {f"{run}/{sub}": (run_steps[sub], expected[sub])
            for run, run_steps in (("killed", steps), ("torn", torn))
            for sub in ("train", "validation")}

    def all_listed(server):
        tags = server.get_json(ROUTE + "tags")
        ok = all(TAG in tags.get(run, {}) and tags[run][TAG]["max_step"] == run_steps[-1]
                 for run, (run_steps, _) in want.items())
        return tags if ok else None

    with TensorBoardServer(logdir, "--samples_per_plugin=tb_metrics=0") as server:
        tags = wait_until(lambda: all_listed(server), timeout=90,
                          message=f"tags listing {sorted(want)} at their last step")
        for run, (run_steps, counts) in want.items():
            assert tags[run][TAG]["labels"] == common.LABEL_NAMES
            explorer = server.get_json(ROUTE + "explorer", run=run, tag=TAG)
            assert explorer["step"] == run_steps[-1] and explorer["n"] == counts.n, run
            assert explorer["support"] == counts.support.tolist()
            first = server.get_json(ROUTE + "counts", run=run, tag=TAG, step=0)
            assert first["tp"] == counts.tp.tolist() and first["fp"] == counts.fp.tolist()
            heatmap = server.get_json(ROUTE + "heatmap", run=run, tag=TAG, threshold=0.5)
            assert heatmap["steps"] == run_steps, run
            f1 = counts.f1(zero_division=np.nan)[:, counts.threshold_index(0.5)]  # undefined: null
            values = np.array([np.nan if v is None else v for v in heatmap["values"]])
            np.testing.assert_allclose(values.reshape(len(run_steps), -1),
                                       np.tile(f1, (len(run_steps), 1)), rtol=1e-6)
            status, _, _ = server.get(ROUTE + "steps", {"run": run, "tag": TAG})
            assert status == 200


@pytest.mark.slow
@pytest.mark.parametrize("load_fast", ["true", "false"])
def test_tensorboard_started_on_empty_logdir_shows_data_when_it_arrives(tmp_path, load_fast):
    logdir = tmp_path / "logs"
    logdir.mkdir()
    run_dir = logdir / "run1" / "validation"
    counts = {}
    for step in range(2):
        y, s = synthetic_scores(step, 4, 200)
        counts[step] = tbm.confusion_counts(y, s, label_names=list("abcd"))
    with TensorBoardServer(logdir, f"--load_fast={load_fast}", "--reload_interval=1") as server:
        assert server.get_json(ROUTE + "tags") == {}  # nothing yet, and no error
        tbm.write_counts(run_dir, TAG, counts[0], step=0)
        tags = wait_until(lambda: server.get_json(ROUTE + "tags").get("run1/validation"),
                          timeout=60, message="the new run in tags")
        assert tags[TAG]["labels"] == list("abcd") and tags[TAG]["max_step"] == 0
        explorer = server.get_json(ROUTE + "explorer", run="run1/validation", tag=TAG)
        assert explorer["step"] == 0 and explorer["n"] == counts[0].n
        assert explorer["tp"] == counts[0].tp.ravel().tolist()
        # A later step of the same run shows up too (live refresh polls these routes).
        tbm.write_counts(run_dir, TAG, counts[1], step=1)
        wait_until(lambda: server.get_json(ROUTE + "tags")["run1/validation"][TAG][
            "max_step"] == 1, timeout=60, message="step 1 in tags")
        explorer = server.get_json(ROUTE + "explorer", run="run1/validation", tag=TAG)
        assert explorer["step"] == 1 and explorer["tp"] == counts[1].tp.ravel().tolist()
    tbm.summary.close_all()
