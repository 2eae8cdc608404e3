"""Run a real ``tensorboard`` process for tests and benchmarks, and stop it by its pid.

Simplest use (the process is stopped when the block ends, even on error)::

    from tests.tb_server import running_tensorboard

    with running_tensorboard(logdir, "--load_fast=false") as base_url:
        # base_url is e.g. "http://127.0.0.1:41234" (+ the --path_prefix, if one is given)
        page.goto(base_url + "/#tb_metrics")

More control (start several servers at once, then wait; memory; raw requests)::

    servers = [TensorBoardServer(logdir, *flags).start() for flags in variants]
    for s in servers:
        s.wait_ready()
    status, headers, body = servers[0].get("/data/plugin/tb_metrics/tags")
    data = servers[0].get_json("/data/plugin/tb_metrics/counts", run="r", tag="t")
    servers[0].rss_bytes()        # {pid: VmRSS bytes} of tensorboard and its data server
    for s in servers:
        s.terminate()         # all at once
    for s in servers:
        s.stop()              # wait; SIGKILL what is left

The server runs the ``tensorboard`` script next to ``sys.executable`` (the venv's), bound to
127.0.0.1 on a free port, with stdout and stderr in a log file (``server.log_path``; its tail is
in the error raised when the server does not start). `stop` sends SIGTERM to the pid (then
SIGKILL), and does the same to the data server child if it outlives its parent. Readiness means
``/data/plugins_listing`` answers 200; the Rust data loader may still be reading the logdir then,
so wait for the data you need with `wait_until`.
"""
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

__all__ = ["TensorBoardServer", "running_tensorboard", "wait_until", "free_port"]


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=60.0, interval=0.1, message="condition"):
    """Calls ``predicate()`` until it returns a truthy value (returned); TimeoutError after
    ``timeout`` seconds. Exceptions raised by ``predicate`` count as "not yet"."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # not ready yet
            last_error = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout}s waiting for {message}"
                               + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)


def _tensorboard_command():
    script = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "tensorboard.main"]


def _flag_value(flags, name):
    value = None
    for i, flag in enumerate(flags):
        if flag.startswith(name + "="):
            value = flag.split("=", 1)[1]
        elif flag == name and i + 1 < len(flags):
            value = flags[i + 1]
    return value


def _start_time(pid):
    """Process start time (clock ticks since boot) or None: tells a pid's reuse apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class TensorBoardServer:
    """One ``tensorboard --logdir LOGDIR --host 127.0.0.1 --port PORT *flags`` process."""

    def __init__(self, logdir, *flags, env=None, startup_timeout=120.0, log_path=None):
        self.logdir = os.fspath(logdir)
        self.flags = [str(f) for f in flags]
        self.env = dict(os.environ, **(env or {}))
        self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.port = None
        self.proc = None
        self._children = {}  # pid -> start time
        prefix = _flag_value(self.flags, "--path_prefix") or ""
        self.path_prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def pid(self):
        return None if self.proc is None else self.proc.pid

    @property
    def url(self):
        """The base URL, ``http://127.0.0.1:PORT`` plus the path prefix (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}{self.path_prefix}"

    def start(self):
        """Spawns the process (does not wait; see `wait_ready`). Returns self."""
        if self.proc is not None:
            raise RuntimeError("already started")
        self.port = free_port()
        if self.log_path is None:
            fd, self.log_path = tempfile.mkstemp(prefix="tensorboard-", suffix=".log")
            os.close(fd)
        cmd = _tensorboard_command() + ["--logdir", self.logdir, "--host", "127.0.0.1",
                                        "--port", str(self.port)] + self.flags
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env)
        return self

    def wait_ready(self, timeout=None):
        """Waits until the server answers; returns `url`. Raises RuntimeError with the log's
        tail when the process exits or does not answer in time."""
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        retries = 3
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if retries and "already in use" in self.log_tail():  # lost the port race
                    retries -= 1
                    self.proc = None
                    self.start()
                    continue
                raise RuntimeError(f"tensorboard exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, _, _ = self.get("/data/plugins_listing", timeout=5)
                if status == 200:
                    self._remember_children()
                    return self.url
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"tensorboard did not answer in time:\n{self.log_tail()}")

    def log_tail(self, chars=3000):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-chars:]
        except OSError:
            return ""

    def child_pids(self):
        """Pids of the process' live children (the Rust data server, when it is used)."""
        self._remember_children()
        return [pid for pid, start in self._children.items() if _start_time(pid) == start]

    def _remember_children(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        pids = []
        try:
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                    pids += [int(p) for p in f.read().split()]
        except OSError:
            return
        for pid in pids:
            start = _start_time(pid)
            if start is not None:
                self._children.setdefault(pid, start)

    def rss_bytes(self):
        """``{pid: VmRSS bytes}`` for tensorboard and each live child (from /proc)."""
        out = {}
        for pid in [self.pid] + self.child_pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            out[pid] = int(line.split()[1]) * 1024
            except (OSError, TypeError):
                pass
        return out

    def terminate(self):
        """Sends SIGTERM to the pid without waiting (to stop several servers at once, call
        `terminate` on each, then `stop`)."""
        if self.proc is not None and self.proc.poll() is None:
            self._remember_children()
            os.kill(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout=10.0):
        """SIGTERM to the pid, SIGKILL after ``timeout``; then the same for surviving children."""
        if self.proc is None:
            return
        self._remember_children()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        # The data server exits when its stdin (a pipe from tensorboard) closes; make sure.
        for pid, start in self._children.items():
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if _start_time(pid) != start:
                    break
                os.kill(pid, sig)
                end = time.monotonic() + timeout / 2
                while _start_time(pid) == start and time.monotonic() < end:
                    time.sleep(0.05)

    def __enter__(self):
        if self.proc is None:
            self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- requests --------------------------------------------------------------------------------

    def get(self, path, params=None, headers=None, timeout=60):
        """``GET url + path`` sent as is (no client-side path normalisation, so ``..`` and
        ``%2e`` reach the server); ``(status, headers dict with lower-case names, body bytes)``.

        ``params``: a dict (list values repeat the key) or list of pairs, url-encoded.
        """
        target = self.path_prefix + path
        if params:
            target += ("&" if "?" in target else "?") + urllib.parse.urlencode(params, doseq=True)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest("GET", target, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.endheaders()
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def get_json(self, path, **params):
        """GET with query ``params``; the decoded JSON of a 200 answer, else HTTPError-like
        ``RuntimeError`` carrying ``.status`` and ``.body``."""
        status, _, body = self.get(path, params)
        if status != 200:
            err = RuntimeError(f"GET {path} {params} -> {status}: {body[:300]!r}")
            err.status, err.body = status, body
            raise err
        return json.loads(body)


@contextlib.contextmanager
def running_tensorboard(logdir, *flags, env=None, startup_timeout=120.0):
    """Context manager: starts ``tensorboard --logdir logdir *flags``, yields its base URL
    (``http://127.0.0.1:PORT`` plus any ``--path_prefix``), stops it by pid on exit."""
    with TensorBoardServer(logdir, *flags, env=env, startup_timeout=startup_timeout) as server:
        yield server.url
