"""End to end: real `tensorboard` processes (the default Rust loader and --load_fast=false, with
and without --samples_per_plugin=tb_metrics=0, under a --path_prefix) serve every route over
HTTP; answers are compared exactly with the counts written. Servers start in parallel and are
stopped by pid."""
import json
import os
import random
import time
from urllib.parse import quote

import numpy as np
import pytest

from tb_metrics_plugin import serialize, summary
from tests.tb_server import TensorBoardServer, wait_until
from tests.test_plugin import (FUZZ_ROUTES, NUM_STEPS, TAG, make_counts, random_query,
                               write_malformed, write_runs)

P = "/data/plugin/tb_metrics"
MANY = 120  # steps in many/tiny: more than the Rust loader keeps by default (100)
SERVERS = {
    "rust": [],
    "python": ["--load_fast=false"],
    "python_all": ["--load_fast=false", "--samples_per_plugin=tb_metrics=0", "--path_prefix=/tbm"],
    "rust_all": ["--samples_per_plugin=tb_metrics=0"],
}
KEPT = {  # steps kept of (exp/train, many/tiny)
    "rust": (NUM_STEPS, 100),
    "python": (10, 10),
    "python_all": (NUM_STEPS, MANY),
    "rust_all": (NUM_STEPS, MANY),
}

pytestmark = pytest.mark.timeout(300)


def _norm(obj):
    return json.loads(serialize.dumps(obj))


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    written = write_runs(str(root))
    bad = write_malformed(str(root / "bad"))
    for step in range(MANY):
        c = make_counts(step, num_l=2, thresholds=3, n=8)
        summary.write_counts(str(root / "many"), "tiny", c, step, wall_time=5000.0 + step)
        written.setdefault(("many", "tiny"), {})[step] = c
    summary.write_counts(str(root / "live"), TAG, make_counts(0), 0, wall_time=7000.0)
    summary.close_all()
    return root, written, bad


@pytest.fixture(scope="module")
def servers(logs):
    started = {name: TensorBoardServer(logs[0], "--reload_interval=1", *flags).start()
               for name, flags in SERVERS.items()}
    try:
        for server in started.values():
            server.wait_ready()
        for name, server in started.items():  # the loaders read in the background
            wait_until(lambda: _loaded(server), timeout=90, message=f"{name} to load the logdir")
        yield started
    finally:
        children = {name: s.child_pids() for name, s in started.items()}
        for server in started.values():
            server.terminate()
        for server in started.values():
            server.stop()
        for name, server in started.items():
            assert server.proc.poll() is not None
            assert not [p for p in children[name] if os.path.exists(f"/proc/{p}")]
    assert children["rust"] and not children["python"]  # the Rust data server was a child


def _loaded(server):
    tags = server.get_json(f"{P}/tags")
    return (tags.get("many", {}).get("tiny", {}).get("max_step") == MANY - 1
            and tags.get("exp/validation", {}).get(TAG, {}).get("max_step") == NUM_STEPS - 1
            and "weighted_logits" in tags.get("exp/train", {}) and "partly_bad" in tags.get("bad", {}))


@pytest.fixture(params=list(SERVERS))
def server(request, servers):
    return servers[request.param]


def _name(server, servers):
    return next(k for k, v in servers.items() if v is server)


def test_tags_and_warnings(server, logs):
    _, written, bad = logs
    tags = server.get_json(f"{P}/tags")
    for (run, tag), steps in written.items():
        c = steps[0]
        assert tags[run][tag] == {"labels": c.label_names,
                                  "thresholds": [float(t) for t in c.thresholds],
                                  "from_logits": c.from_logits,
                                  "sample_unit": c.sample_unit, "max_step": max(steps),
                                  "max_wall_time": tags[run][tag]["max_wall_time"]}
    assert tags["exp/train"][TAG]["max_wall_time"] == 1000.0 + NUM_STEPS - 1
    assert not set(bad["unlisted"]) & set(tags["bad"])
    warned = server.get_json(f"{P}/warnings")["warnings"]
    assert sorted(w["tag"] for w in warned) == bad["unlisted"]


def test_every_route_matches_written_counts(server, servers, logs):
    written = logs[1]
    kept_train, kept_many = KEPT[_name(server, servers)]
    for (run, tag), by_step in written.items():
        steps = server.get_json(f"{P}/steps", run=run, tag=tag)
        expected_kept = kept_many if run == "many" else min(kept_train, len(by_step))
        assert len(steps["steps"]) == expected_kept, (run, tag)
        assert steps["steps"][-1] == max(by_step) and set(steps["steps"]) <= set(by_step)
        if run == "many":
            continue
        for step, wall_time in zip(steps["steps"], steps["wall_times"]):
            got = server.get_json(f"{P}/counts", run=run, tag=tag, step=step)
            assert got == _norm(serialize.counts_json(by_step[step], step, wall_time))
            assert wall_time == 1000.0 + step
            for key in ("tp", "fp", "tn", "fn"):  # the counts themselves, exactly
                np.testing.assert_array_equal(np.array(got[key], dtype=float),
                                              getattr(by_step[step], key))
        latest = max(by_step)
        got = server.get_json(f"{P}/explorer", run=run, tag=tag)
        assert got == _norm(serialize.explorer_json(by_step[latest], latest, 1000.0 + latest))
        mid = steps["steps"][len(steps["steps"]) // 2]
        got = server.get_json(f"{P}/explorer", run=run, tag=tag, step=mid)
        assert got["step"] == mid and got["micro"]["f1"] == _norm(
            serialize.floats(by_step[mid].f1(average="micro")))
        got = server.get_json(f"{P}/best_thresholds", run=run, tag=tag, step=mid)
        assert got == _norm(by_step[mid].to_best_thresholds(step=mid, run=run, tag=tag).to_json())
        for threshold, index in (("best", None), ("0.5", 5)):
            heat = server.get_json(f"{P}/heatmap", run=run, tag=tag, threshold=threshold)
            assert heat["steps"] == steps["steps"] and heat["labels"] == by_step[0].label_names
            expected = [v for s in steps["steps"] for v in serialize.heatmap_row(by_step[s], index)]
            assert heat["values"] == _norm(expected)
    series = server.get_json(f"{P}/series", run=["exp/train", "exp/validation", "nope"], tag=TAG,
                             threshold="0.3")
    assert set(series) == {"exp/train", "exp/validation"}
    for run, got in series.items():
        assert got["threshold_index"] == 3 and got["steps"] == server.get_json(
            f"{P}/steps", run=run, tag=TAG)["steps"]
        for i, step in enumerate(got["steps"]):
            point = _norm(serialize.series_point(written[(run, TAG)][step], 3))
            assert {k: got[k][i] for k in serialize.SERIES_KEYS} == \
                {k: point[k] for k in serialize.SERIES_KEYS}


def test_latest_step_and_sampling(server, servers):
    name = _name(server, servers)
    steps = server.get_json(f"{P}/steps", run="many", tag="tiny")["steps"]
    assert len(steps) == KEPT[name][1] and steps[-1] == MANY - 1
    assert server.get_json(f"{P}/counts", run="many", tag="tiny")["step"] == MANY - 1
    status, _, body = server.get(f"{P}/counts", {"run": "many", "tag": "tiny", "step": 0})
    assert status == (200 if 0 in steps else 404)
    if status == 404:
        assert b"--samples_per_plugin=tb_metrics=0" in body
    if name.endswith("_all"):  # --samples_per_plugin=tb_metrics=0 keeps every step
        assert steps == list(range(MANY))


@pytest.mark.parametrize("query,code", [
    ("counts?run=exp/train", 400),
    ("counts?run=exp/train&tag=threshold_counts&step=x", 400),
    ("heatmap?run=exp/train&tag=threshold_counts&threshold=2", 400),
    ("heatmap?run=exp/train&tag=threshold_counts&metric=auc", 400),
    ("counts?run=nope&tag=threshold_counts", 404),
    ("counts?run=exp/train&tag=nope", 404),
    ("counts?run=exp/train&tag=threshold_counts&step=4242", 404),
    ("explorer?run=bad&tag=newer_version", 409),
    ("explorer?run=bad&tag=wrong_length", 409),
    ("explorer?run=bad&tag=bad_tensor_bytes", 409),
    ("counts?run=bad&tag=two_d", 409),
])
def test_bad_requests_and_malformed(server, query, code):
    status, headers, body = server.get(f"{P}/{query}")
    assert status == code and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]


def test_partly_bad_tag_serves_latest_readable_step(server):
    got = server.get_json(f"{P}/explorer", run="bad", tag="partly_bad")
    assert got["step"] == 1 and got["warnings"]


@pytest.mark.parametrize("path", [
    "../plugin.py", "%2e%2e/plugin.py", "%2E%2E%2F%2E%2E%2Fsetup.py", "..%5c..%5csetup.py",
    "/etc/passwd", "%2Fetc%2Fpasswd", "__init__.py", "missing.js", "", "..",
])
def test_static_traversal_over_http(server, path):
    status, _, body = server.get(f"{P}/static/{path}")
    assert status == 404 and b"import" not in body


def _frontend_files():
    from tb_metrics_plugin import plugin
    root = plugin.MetricsPlugin.__new__(plugin.MetricsPlugin)
    root._static_root = None
    root = root._frontend_root()
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            ext = os.path.splitext(name)[1].lower()
            if ext in plugin.CONTENT_TYPES:
                rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
                out[rel] = (os.path.join(dirpath, name), plugin.CONTENT_TYPES[ext])
    return out


def test_static_files_served(server):
    files = _frontend_files()
    assert "index.js" in files
    for i, (rel, (path, content_type)) in enumerate(sorted(files.items())):
        prefix = "/experiment/e1" if i % 2 else ""  # under an experiment id too
        status, headers, body = server.get(f"{prefix}{P}/static/{quote(rel)}")
        assert status == 200, rel
        assert headers["content-type"].split(";")[0] == content_type
        assert headers["x-content-type-options"] == "nosniff"
        with open(path, "rb") as f:
            assert body == f.read()


def test_experiment_id_route(server):
    tags = server.get_json(f"{P}/tags")
    assert server.get_json(f"/experiment/some-exp{P}/tags") == tags
    got = server.get_json(f"/experiment/some-exp{P}/counts", run="exp/train", tag=TAG)
    assert got["step"] == NUM_STEPS - 1


def test_path_prefix(servers):
    s = servers["python_all"]
    assert s.url.endswith("/tbm")
    status, _, _ = s.get(f"{P}/tags")  # under the prefix (get() adds it)
    assert status == 200
    s.path_prefix, prefix = "", s.path_prefix
    try:
        assert s.get(f"{P}/tags")[0] == 404  # outside it
    finally:
        s.path_prefix = prefix


@pytest.mark.parametrize("name", ["rust", "python"])
def test_fuzz_over_http_no_5xx(servers, name):
    server = servers[name]
    rng = random.Random(name)
    for _ in range(120):
        query = random_query(rng)
        status, _, body = server.get(f"{P}/{query}")
        assert status < 500, (query, body[:300])
    for route in FUZZ_ROUTES:  # raw, unencoded oddities in the query string
        status, _, _ = server.get(f"{P}/{route}?run=%ZZ&tag=%&step=%00&threshold=%2")
        assert status < 500


def test_live_update(servers, logs):
    root, _, _ = logs
    new = make_counts(99)
    summary.write_counts(str(root / "live"), TAG, new, 1, wall_time=7001.0)
    summary.close_all()
    for name in ("rust", "python"):
        server = servers[name]
        got = wait_until(lambda: (lambda g: g if g["step"] == 1 else None)(
            server.get_json(f"{P}/explorer", run="live", tag=TAG)), timeout=30,
            message=f"{name} to serve the new step")
        assert got == _norm(serialize.explorer_json(new, 1, 7001.0))
        assert server.get_json(f"{P}/steps", run="live", tag=TAG)["steps"] == [0, 1]


# -- two live event files per run: keras.callbacks.TensorBoard and CountsCallback ---------------
#
# Both callbacks write log_dir/train and log_dir/validation, each to its own event file. The
# default (Rust) loader reads every event file of a run at each reload. TensorBoard's Python
# loader (--load_fast=false) follows one file at a time: it reads the lexicographically first,
# moves to the next once one exists, and never reads the earlier file again (DirectoryWatcher),
# so one of the two callbacks' data stops updating; --reload_multifile=true makes it poll every
# file written to in the last --reload_multifile_inactive_secs (default one day).

TWO_WRITERS = {
    "rust": [],
    "python_multifile": ["--load_fast=false", "--reload_multifile=true"],
    "python_single_file": ["--load_fast=false"],  # TensorBoard's default for the Python loader
}
LIVE = ("rust", "python_multifile")
EPOCHS = 3


def _latest(server):
    """{run: (last scalar step of epoch_loss, last step of our counts)} for train, validation."""
    tags = server.get_json(f"{P}/tags")
    out = {}
    for run in ("train", "validation"):
        try:
            points = server.get_json("/data/plugin/scalars/scalars", run=run, tag="epoch_loss")
            scalar = max(step for _, step, _ in points)
        except RuntimeError:
            scalar = None
        counts = tags.get(run, {}).get("threshold_counts", {}).get("max_step")
        out[run] = (scalar, counts)
    return out


@pytest.mark.slow
def test_keras_tensorboard_and_counts_stay_live_in_one_run_directory(tmp_path):
    from tests._subprocess_scripts import launch

    log_dir, control = tmp_path / "logs", tmp_path / "control"
    log_dir.mkdir()
    control.mkdir()
    servers = {name: TensorBoardServer(log_dir, "--reload_interval=1", *flags).start()
               for name, flags in TWO_WRITERS.items()}
    fit = None
    try:
        for server in servers.values():
            server.wait_ready()
        fit = launch.start("fit_two_writers.py", [log_dir, control, EPOCHS], log_dir=tmp_path)
        seen_single = []
        for epoch in range(EPOCHS):
            want = {"train": (epoch, epoch), "validation": (epoch, epoch)}
            for name in LIVE:  # both the scalars and the counts show this epoch
                wait_until(lambda: _latest(servers[name]) == want, timeout=120,
                           message=f"{name} to show epoch {epoch} of both callbacks "
                                   f"({fit.tail(1500) if fit.poll() is not None else 'running'})")
            # the Python loader without --reload_multifile has read up to this epoch in the file
            # it follows (so both files existed when it last looked)
            got = wait_until(lambda: (lambda g: g if all(
                max(v for v in g[run] if v is not None) == epoch for run in g) else None)(
                _latest(servers["python_single_file"])), timeout=120,
                message=f"the single-file Python loader to reach epoch {epoch}")
            seen_single.append(got)
            (control / f"go_{epoch}").touch()
        launch.wait_all([fit], timeout=120)
        assert fit.returncode == 0, fit.tail()
        for name in LIVE:
            assert _latest(servers[name]) == {"train": (EPOCHS - 1,) * 2,
                                              "validation": (EPOCHS - 1,) * 2}
        # Without --reload_multifile, in each run one callback's data stopped at an early epoch:
        # the reason README asks for the flag with --load_fast=false.
        time.sleep(3)  # three more reloads
        final = _latest(servers["python_single_file"])
        for run, (scalar, counts) in final.items():
            assert max(scalar or -1, counts or -1) == EPOCHS - 1
            assert min(-1 if scalar is None else scalar, -1 if counts is None else counts) < \
                EPOCHS - 1, (run, final, seen_single)
    finally:
        if fit is not None:
            launch.kill(fit)
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.stop()
