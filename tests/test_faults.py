"""Faults: a writer killed with SIGKILL loses no completed step; reading while writing works."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np

import tb_metrics_plugin as tbm
from demo.fixtures import synthetic_scores

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WRITER = textwrap.dedent("""
    import sys, time
    import tb_metrics_plugin as tbm
    from demo.fixtures import synthetic_scores
    logdir = sys.argv[1]
    for step in range(1000):
        y, s = synthetic_scores(step, 20, 300)
        tbm.write_counts(logdir, "threshold_counts", tbm.confusion_counts(y, s), step)
        print(step, flush=True)
""")


def _expected(step):
    y, s = synthetic_scores(step, 20, 300)
    return tbm.confusion_counts(y, s)


def test_sigkill_loses_no_completed_step(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        last = -1
        deadline = time.time() + 120
        while last < 5 and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            last = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert last >= 5, "the writer did not get going"
    got = tbm.read_counts(tmp_path)["threshold_counts"]
    steps = [s for s, _ in got]
    # every step reported as written is there, with no gap, and each reads back whole
    assert steps == list(range(len(steps))) and len(steps) >= last + 1
    for step, counts in got:
        assert counts == _expected(step)


def test_reading_while_writing_never_fails(tmp_path):
    errors = []
    done = threading.Event()

    def write():
        try:
            with tbm.CountsWriter(tmp_path) as writer:
                for step in range(40):
                    y, s = synthetic_scores(step, 50, 200)
                    writer.write("t", tbm.confusion_counts(y, s), step)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    seen = []
    while not done.is_set():
        if os.listdir(tmp_path):
            got = tbm.read_counts(tmp_path).get("t", [])
            steps = [s for s, _ in got]
            assert steps == list(range(len(steps)))  # always a whole prefix
            seen.append(len(steps))
    thread.join()
    assert not errors
    assert [s for s, _ in tbm.read_counts(tmp_path)["t"]] == list(range(40))
    assert seen and seen == sorted(seen)


def test_corrupt_bytes_in_the_middle_do_not_crash_the_reader(tmp_path):
    with tbm.CountsWriter(tmp_path) as writer:
        for step in range(3):
            y, s = synthetic_scores(step, 5, 50)
            writer.write("t", tbm.confusion_counts(y, s), step)
    (name,) = os.listdir(tmp_path)
    path = os.path.join(tmp_path, name)
    data = bytearray(open(path, "rb").read())
    rng = np.random.default_rng(0)
    for i in rng.integers(len(data) // 2, len(data), 20):
        data[i] ^= 0xFF
    open(path, "wb").write(bytes(data))
    got = tbm.read_counts(tmp_path)  # no exception; what survives is whole
    for step, counts in got.get("t", []):
        y, s = synthetic_scores(step, 5, 50)
        assert counts == tbm.confusion_counts(y, s)
