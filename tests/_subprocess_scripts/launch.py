"""Start the scripts of this folder in subprocesses (several at once), wait, report failures.

    procs = [launch.start("fit_counts.py", [out], backend="jax", log_dir=tmp)]
    launch.wait_all(procs, timeout=300)   # kills (by pid) what is still running at the timeout
    assert procs[0].returncode == 0, procs[0].tail()
"""
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def script_env(backend="tensorflow", **extra):
    """The environment of a script: this checkout first on the path, KERAS_BACKEND, CPU only,
    quiet TensorFlow, no inherited TF_CONFIG / XLA_FLAGS; ``extra`` added last."""
    env = dict(os.environ)
    for name in ("TF_CONFIG", "XLA_FLAGS"):
        env.pop(name, None)
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="3",
        CUDA_VISIBLE_DEVICES="",
        JAX_PLATFORMS="cpu",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Script(subprocess.Popen):
    """A running script; stdout+stderr go to ``log_path`` unless ``stdout=PIPE`` was asked."""

    log_path = None

    def tail(self, chars=4000):
        """The end of the script's output (for assertion messages)."""
        if self.log_path is None:
            return ""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines()
                 if "absl::InitializeLog" not in ln and "oneDNN custom operations" not in ln]
        return f"--- {' '.join(self.args[1:])} (exit {self.returncode}) ---\n" + (
            "\n".join(lines)[-chars:])


def start(script, args=(), backend="tensorflow", env=None, log_dir=None, name=None,
          stdout=None):
    """Starts ``python HERE/script *args``; ``env``: extra variables for `script_env`.

    Output goes to ``log_dir/<name>.log``; with ``stdout=subprocess.PIPE`` only stderr does
    (or nowhere without ``log_dir``) and stdout is read as text.
    """
    cmd = [sys.executable, os.path.join(HERE, script)] + [str(a) for a in args]
    full_env = script_env(backend, **(env or {}))
    log_path = None
    if log_dir is not None:
        log_path = os.path.join(log_dir, f"{name or os.path.splitext(script)[0]}.log")
    with open(log_path or os.devnull, "wb") as log:
        if stdout is not None:
            proc = Script(cmd, stdout=stdout, stderr=log, env=full_env, text=True, cwd=ROOT)
        else:
            proc = Script(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
    proc.log_path = log_path
    return proc


def kill(proc):
    """SIGKILL to this one process (by its pid), if it still runs; then reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_all(procs, timeout, groups=()):
    """Waits for every process until ``timeout`` seconds from now, then kills the rest.

    ``groups``: lists of processes that need each other (the workers of one cluster): when one
    of a group fails, the others are killed at once instead of hanging until the timeout.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        for group in groups:
            if any(p.poll() not in (None, 0) for p in group):
                for p in group:
                    kill(p)
        time.sleep(0.1)
    for proc in procs:
        kill(proc)
    return procs


def describe(procs):
    """The tails of all outputs, for an assertion message."""
    return "\n".join(p.tail() for p in procs)
