"""The plugin in-process: `_impl` methods over TensorBoard's own Python data provider, and the
routes through werkzeug's test client over `TensorBoardWSGI` (middlewares included)."""
import gzip
import importlib.metadata
import json
import os
import random
import time
import zlib

import numpy as np
import pytest
from tensorboard import context as tb_context
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_ingester
from tensorboard.backend.event_processing import data_provider as mux_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins import base_plugin
from tensorboard.util import tensor_util
from werkzeug.test import Client

import tb_metrics_plugin as tbm
from tb_metrics_plugin import metadata, plugin, plugin_reading, serialize, summary

P = "/data/plugin/tb_metrics"
TAG = "threshold_counts"
LABELS = ["cat", "dog", "bird", "none"]
NUM_STEPS = 12  # more than the Python loader keeps (10)


# ---------------------------------------------------------------------------------------------
# Fixture data (also used by test_plugin_e2e.py)


def make_counts(seed, num_l=4, thresholds=11, n=40, weighted=False, from_logits=False, names=None):
    rng = np.random.default_rng(seed)
    y = rng.random((n, num_l)) < 0.35
    y[:, -1] = False  # a label without positives
    s = rng.normal(size=(n, num_l)) * 2 if from_logits else rng.random((n, num_l))
    s[seed % n, 0] = np.nan
    w = rng.random(n) * 3 if weighted else None
    return tbm.confusion_counts(y, s, thresholds=thresholds, from_logits=from_logits,
                                sample_weight=w, label_names=names or LABELS[:num_l])


def write_runs(logdir, num_steps=NUM_STEPS):
    """Writes the good runs; returns ``{(run, tag): {step: Counts}}``."""
    written = {}
    plan = [("exp/train", TAG, {}), ("exp/validation", TAG, {}),
            ("exp/train", "weighted_logits", {"weighted": True, "from_logits": True})]
    for run, tag, kw in plan:
        for step in range(num_steps if tag == TAG else 3):
            c = make_counts(seed=zlib.crc32(f"{run}/{tag}/{step}".encode()) % 1000, **kw)
            summary.write_counts(os.path.join(logdir, run), tag, c, step, wall_time=1000.0 + step)
            written.setdefault((run, tag), {})[step] = c
    summary.close_all()
    return written


def _value(tag, tensor, content=None):
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    if content is not None:
        value.metadata.CopyFrom(summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=metadata.PLUGIN_NAME, content=content),
            data_class=summary_pb2.DATA_CLASS_TENSOR))
    return value


def write_malformed(run_dir):
    """Summaries under our plugin name that this version cannot read, written raw with
    TensorBoard's EventFileWriter. Returns the tag names by kind."""
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    good = make_counts(1, num_l=2, thresholds=3)
    good_content = json.dumps(metadata.content_dict(good)).encode()
    good_tensor = tensor_util.make_tensor_proto(metadata.counts_to_tensor(good))
    newer = dict(metadata.content_dict(good), version=metadata.PROTO_VERSION + 98)
    unsorted = dict(metadata.content_dict(good), thresholds=[0.5, 0.1, 0.9])
    bad_content_tensor = tensor_util.make_tensor_proto(np.arange(14, dtype=np.int32))
    bad_content_tensor.tensor_content = b"\x01\x02\x03"  # 3 bytes for 14 int32s
    events = [  # (step, value)
        (0, _value("bad_json", good_tensor, b"{not json")),
        (0, _value("newer_version", good_tensor, json.dumps(newer).encode())),
        (0, _value("meta_list", good_tensor, b"[1, 2]")),
        (0, _value("unsorted_thresholds", good_tensor, json.dumps(unsorted).encode())),
        (0, _value("wrong_length", tensor_util.make_tensor_proto(np.arange(5, dtype=np.int32)),
                   good_content)),
        (0, _value("string_tensor", tensor_util.make_tensor_proto(np.array([b"a"] * 14)),
                   good_content)),
        (0, _value("two_d", tensor_util.make_tensor_proto(
            metadata.counts_to_tensor(good).reshape(1, -1)), good_content)),
        (0, _value("bad_tensor_bytes", bad_content_tensor, good_content)),
        (0, _value("partly_bad", good_tensor, good_content)),
        (1, _value("partly_bad", good_tensor)),
        (2, _value("partly_bad", tensor_util.make_tensor_proto(np.arange(3, dtype=np.int32)))),
    ]
    writer = EventFileWriter(run_dir)
    for step, value in events:
        writer.add_event(event_pb2.Event(step=step, wall_time=2000.0 + step,
                                         summary=summary_pb2.Summary(value=[value])))
    writer.close()
    return {
        "unlisted": ["bad_json", "meta_list", "newer_version", "unsorted_thresholds"],
        "unreadable": ["wrong_length", "string_tensor", "two_d", "bad_tensor_bytes"],
        "good": good,
    }


# ---------------------------------------------------------------------------------------------
# In-process TensorBoard


class SpyProvider:
    """Delegates to a real data provider, recording every call's keyword arguments."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(ctx=None, **kwargs):
            self.calls.append((name, kwargs))
            return method(ctx, **kwargs)
        return call

    def reads(self):
        return [kw for name, kw in self.calls if name == "read_tensors"]


class Board:
    """A multiplexer, its data provider (spied), the plugin and a WSGI test client."""

    def __init__(self, logdir, hints=None, path_prefix=""):
        self.logdir = logdir
        hints = dict(hints or {})
        guidance = dict(data_ingester.DEFAULT_TENSOR_SIZE_GUIDANCE, **hints)
        self.mux = plugin_event_multiplexer.EventMultiplexer(
            size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE, tensor_size_guidance=guidance)
        self.mux.AddRunsFromDirectory(str(logdir))
        self.mux.Reload()
        self.provider = SpyProvider(mux_data_provider.MultiplexerDataProvider(self.mux, str(logdir)))
        ctx = base_plugin.TBContext(logdir=str(logdir), data_provider=self.provider,
                                    sampling_hints=hints)
        self.plugin = plugin.MetricsPlugin(ctx)
        self.app = application.TensorBoardWSGI([self.plugin], path_prefix=path_prefix,
                                               data_provider=self.provider)
        self.client = Client(self.app)
        self.ctx = tb_context.RequestContext()

    def get(self, path, **headers):
        resp = self.client.get(path, headers=headers)
        body = resp.get_data()
        if resp.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return resp, body

    def json(self, path):
        resp, body = self.get(path)
        return resp.status_code, json.loads(body)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("logs")
    written = write_runs(root)
    bad = write_malformed(str(root / "bad"))
    return root, written, bad


@pytest.fixture(scope="module")
def board(logdir):
    return Board(logdir[0], hints={"tb_metrics": 0})


def _impl(board, name, **kw):
    return getattr(board.plugin, f"{name}_impl")(board.ctx, "", **kw)


def _error_code(fn, *args, **kw):
    with pytest.raises(plugin.RequestError) as info:
        fn(*args, **kw)
    return info.value.code


# ---------------------------------------------------------------------------------------------
# Loading


def test_entry_point_and_frontend_metadata(board):
    (ep,) = [e for e in importlib.metadata.entry_points(group="tensorboard_plugins")
             if e.name == "tb_metrics"]
    assert ep.load() is plugin.MetricsPlugin
    md = board.plugin.frontend_metadata()
    assert md.es_module_path == "/static/index.js" and md.tab_name == "Threshold Metrics"
    assert "/static/index.js"[len("/static"):].lstrip("/") == "index.js"
    assert set(board.plugin.get_plugin_apps()) >= {
        "/tags", "/steps", "/counts", "/explorer", "/heatmap", "/series", "/best_thresholds",
        "/static/*"}
    n = len(board.provider.calls)
    assert board.plugin.is_active() is False  # cheap: the core's list_plugins decides
    assert len(board.provider.calls) == n
    status, listing = board.json("/data/plugins_listing")
    assert status == 200 and listing["tb_metrics"]["enabled"] is True
    assert listing["tb_metrics"]["tab_name"] == "Threshold Metrics"


# ---------------------------------------------------------------------------------------------
# _impl methods


def test_tags(board, logdir):
    _, written, bad = logdir
    tags = _impl(board, "tags")
    assert set(tags) == {"exp/train", "exp/validation", "bad"}
    info = tags["exp/train"][TAG]
    c = written[("exp/train", TAG)][0]
    assert info == {"labels": LABELS, "thresholds": [float(t) for t in c.thresholds],
                    "from_logits": False, "sample_unit": "samples", "max_step": NUM_STEPS - 1,
                    "max_wall_time": 1000.0 + NUM_STEPS - 1}
    assert tags["exp/train"]["weighted_logits"]["from_logits"] is True
    assert not set(bad["unlisted"]) & set(tags["bad"])
    warnings = _impl(board, "warnings")["warnings"]
    assert sorted(w["tag"] for w in warnings) == bad["unlisted"]
    reasons = {w["tag"]: w["reason"] for w in warnings}
    assert "newer" in reasons["newer_version"] and "JSON" in reasons["bad_json"]


@pytest.mark.parametrize("run,tag", [("exp/train", TAG), ("exp/validation", TAG),
                                     ("exp/train", "weighted_logits")])
def test_counts_every_step_exact(board, logdir, run, tag):
    written = logdir[1][(run, tag)]
    steps = _impl(board, "steps", run=run, tag=tag)
    assert steps["steps"] == sorted(written)
    assert steps["wall_times"] == [1000.0 + s for s in sorted(written)]
    for step, c in written.items():
        got = _impl(board, "counts", run=run, tag=tag, step=step)
        assert got == serialize.counts_json(c, step, 1000.0 + step)
        for key in ("tp", "fp", "tn", "fn"):
            np.testing.assert_array_equal(np.array(got[key], dtype=float), getattr(c, key))
    latest = max(written)
    assert _impl(board, "counts", run=run, tag=tag)["step"] == latest


def test_explorer_latest_reads_only_the_latest_step(logdir):
    b = Board(logdir[0], hints={"tb_metrics": 0})
    c = logdir[1][("exp/train", TAG)][NUM_STEPS - 1]
    got = _impl(b, "explorer", run="exp/train", tag=TAG)
    assert got == serialize.explorer_json(c, NUM_STEPS - 1, 1000.0 + NUM_STEPS - 1)
    assert [kw["downsample"] for kw in b.provider.reads()] == [1]
    # Cached: the same answer again reads nothing more.
    assert _impl(b, "explorer", run="exp/train", tag=TAG) == got
    assert _impl(b, "counts", run="exp/train", tag=TAG)["step"] == NUM_STEPS - 1
    assert len(b.provider.reads()) == 1
    for kw in b.provider.reads():
        assert kw["experiment_id"] == "" and kw["plugin_name"] == "tb_metrics"


def test_explorer_best_heatmap_series(board, logdir):
    written = logdir[1]
    c3 = written[("exp/train", TAG)][3]
    assert _impl(board, "explorer", run="exp/train", tag=TAG, step=3) == \
        serialize.explorer_json(c3, 3, 1003.0)
    best = _impl(board, "best_thresholds", run="exp/train", tag=TAG, step=3)
    assert best == c3.to_best_thresholds(step=3, run="exp/train", tag=TAG).to_json()
    assert tbm.BestThresholds.from_json(json.loads(json.dumps(best))).labels == LABELS

    heat = _impl(board, "heatmap", run="exp/train", tag=TAG, threshold=0.33)
    assert heat["threshold"] == float(c3.thresholds[3]) and heat["threshold_index"] == 3
    assert heat["steps"] == list(range(NUM_STEPS)) and heat["labels"] == LABELS
    rows = [serialize.heatmap_row(written[("exp/train", TAG)][s], 3) for s in range(NUM_STEPS)]
    assert heat["values"] == [v for row in rows for v in row]
    heat_best = _impl(board, "heatmap", run="exp/train", tag=TAG, threshold="best")
    assert heat_best["threshold"] == "best" and heat_best["threshold_index"] is None
    assert heat_best["values"][:4] == serialize.heatmap_row(written[("exp/train", TAG)][0], None)

    series = _impl(board, "series", runs=["exp/train", "exp/validation", "nope"], tag=TAG,
                   threshold=0.5)
    assert set(series) == {"exp/train", "exp/validation"}
    val = series["exp/validation"]
    assert val["steps"] == list(range(NUM_STEPS)) and val["threshold_index"] == 5
    for i, step in enumerate(val["steps"]):
        point = serialize.series_point(written[("exp/validation", TAG)][step], 5)
        assert all(val[k][i] == point[k] for k in serialize.SERIES_KEYS)
    series_best = _impl(board, "series", runs=["exp/train"], tag=TAG, threshold="best")
    assert series_best["exp/train"]["threshold"] == "best"
    assert len(series_best["exp/train"]["best_threshold"]["macro_f1"]) == NUM_STEPS


def test_unknown_run_tag_step_are_404(board):
    p = board.plugin
    assert _error_code(p.counts_impl, board.ctx, "", run="nope", tag=TAG) == 404
    assert _error_code(p.explorer_impl, board.ctx, "", run="exp/train", tag="nope") == 404
    assert _error_code(p.explorer_impl, board.ctx, "", run="exp/train", tag=TAG, step=99) == 404
    assert _error_code(p.heatmap_impl, board.ctx, "", run="exp/nope", tag=TAG) == 404
    assert p.series_impl(board.ctx, "", runs=["nope"], tag=TAG) == {}


def test_malformed_summaries_are_409_with_reasons(board, logdir):
    bad = logdir[2]
    p = board.plugin
    for tag in bad["unlisted"] + bad["unreadable"]:
        for name in ("counts", "explorer", "best_thresholds"):
            assert _error_code(getattr(p, f"{name}_impl"), board.ctx, "", run="bad", tag=tag) == 409
    # Partly bad: the latest step is broken; the latest readable one is served, with a warning.
    got = _impl(board, "explorer", run="bad", tag="partly_bad")
    assert got["step"] == 1 and got["warnings"][0]["kind"] == "read"
    assert "step 2" in got["warnings"][0]["message"]
    steps = _impl(board, "steps", run="bad", tag="partly_bad")
    assert steps["steps"] == [0, 1] and len(steps["warnings"]) == 1
    assert _error_code(p.counts_impl, board.ctx, "", run="bad", tag="partly_bad", step=2) == 409
    heat = _impl(board, "heatmap", run="bad", tag="wrong_length", threshold="best")
    assert heat["steps"] == [] and heat["warnings"]
    series = _impl(board, "series", runs=["bad"], tag="newer_version", threshold=0.5)
    assert series["bad"]["steps"] == [] and "newer" in series["bad"]["warnings"][0]


@pytest.mark.parametrize("hint,expected_downsample,kept", [
    (None, plugin.ALL_STEPS, 10),  # the Python loader keeps 10 tensors per tag by default
    (0, plugin.ALL_STEPS, NUM_STEPS),  # 0 means all: never downsample=0
    (3, 3, 3),
])
def test_sampling_hints(logdir, hint, expected_downsample, kept):
    b = Board(logdir[0], hints=None if hint is None else {"tb_metrics": hint})
    steps = _impl(b, "steps", run="exp/train", tag=TAG)["steps"]
    assert len(steps) == kept and steps[-1] == NUM_STEPS - 1
    (read,) = [kw["downsample"] for kw in b.provider.reads()]
    if expected_downsample == plugin.ALL_STEPS:  # "all", bounded only by the read budget
        assert read >= 10**5
    else:
        assert read == expected_downsample
    assert all(kw["downsample"] > 0 for kw in b.provider.reads())


def test_reads_of_every_step_stay_within_the_message_budget(logdir, monkeypatch):
    # Each step of the 4-label x 11-threshold tags has 2*4*11 + 5*4 + 11 + 1 + 3 = 123 values.
    assert metadata.tensor_length(4, 11) == 123
    monkeypatch.setattr(plugin_reading, "READ_BUDGET_BYTES", 8 * 123 * 5)
    b = Board(logdir[0], hints={"tb_metrics": 0})
    heat = _impl(b, "heatmap", run="exp/train", tag=TAG, threshold=0.5)
    assert len(heat["steps"]) == 5 and heat["steps"][-1] == NUM_STEPS - 1
    assert any("5 evenly sampled steps" in w for w in heat["warnings"])
    series = _impl(b, "series", runs=["exp/train"], tag=TAG, threshold=0.5)
    assert len(series["exp/train"]["steps"]) == 5
    # the latest step is still read alone, whole
    assert _impl(b, "explorer", run="exp/train", tag=TAG)["step"] == NUM_STEPS - 1


def test_cache_follows_new_data(tmp_path):
    root = tmp_path / "live"
    for step in range(2):
        summary.write_counts(root / "r", TAG, make_counts(step), step, wall_time=10.0 + step)
    b = Board(root, hints={"tb_metrics": 0})
    assert b.json(f"{P}/explorer?run=r&tag={TAG}")[1]["step"] == 1
    assert b.json(f"{P}/heatmap?run=r&tag={TAG}")[1]["steps"] == [0, 1]
    reads = len(b.provider.reads())
    assert b.json(f"{P}/explorer?run=r&tag={TAG}")[1]["step"] == 1
    assert b.json(f"{P}/heatmap?run=r&tag={TAG}")[1]["steps"] == [0, 1]
    assert len(b.provider.reads()) == reads  # answered from the cache
    new = make_counts(7)
    summary.write_counts(root / "r", TAG, new, 2, wall_time=12.0)
    summary.close_all()
    b.mux.Reload()
    got = b.json(f"{P}/explorer?run=r&tag={TAG}")[1]
    assert got == json.loads(serialize.dumps(serialize.explorer_json(new, 2, 12.0)))
    assert b.json(f"{P}/heatmap?run=r&tag={TAG}")[1]["steps"] == [0, 1, 2]


def test_cache_disabled_by_env(logdir, monkeypatch):
    monkeypatch.setenv("TB_METRICS_CACHE_MB", "0")
    b = Board(logdir[0], hints={"tb_metrics": 0})
    for _ in range(2):
        assert b.json(f"{P}/explorer?run=exp/train&tag={TAG}")[0] == 200
    assert len(b.provider.reads()) == 2


# ---------------------------------------------------------------------------------------------
# Routes through TensorBoard's WSGI app


def test_routes_json_gzip_and_headers(board, logdir):
    resp, body = board.get(f"{P}/tags", **{"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(body) == _impl(board, "tags")
    resp, body = board.get(f"{P}/tags")  # a client without gzip gets plain JSON
    assert "Content-Encoding" not in resp.headers and json.loads(body) == _impl(board, "tags")
    resp, body = board.get(f"{P}/best_thresholds?run=exp/train&tag={TAG}")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    assert resp.headers["Content-Disposition"].endswith(
        '"best_thresholds_exp_train_threshold_counts_steplatest.json"')
    for route in ("counts", "explorer"):
        status, got = board.json(f"{P}/{route}?run=exp/validation&tag={TAG}&step=4")
        c = logdir[1][("exp/validation", TAG)][4]
        fn = serialize.counts_json if route == "counts" else serialize.explorer_json
        assert status == 200 and got == json.loads(serialize.dumps(fn(c, 4, 1004.0)))
    status, got = board.json(f"{P}/series?run=exp/train&run=exp/validation&tag={TAG}&threshold=best")
    assert status == 200 and set(got) == {"exp/train", "exp/validation"}


def test_experiment_id_and_path_prefix(logdir):
    b = Board(logdir[0], hints={"tb_metrics": 0}, path_prefix="/pfx")
    status, got = b.json(f"/pfx/experiment/abc123{P}/counts?run=exp/train&tag={TAG}&step=2")
    assert status == 200 and got["step"] == 2
    assert {kw["experiment_id"] for name, kw in b.provider.calls
            if name in ("list_tensors", "read_tensors")} == {"abc123"}
    assert b.json(f"/pfx{P}/tags")[0] == 200
    assert b.get(f"{P}/tags")[0].status_code == 404  # outside the prefix


@pytest.mark.parametrize("query,code", [
    ("counts?tag=threshold_counts", 400),
    ("counts?run=exp/train", 400),
    ("counts?run=&tag=threshold_counts", 400),
    ("counts?run=exp/train&run=exp/validation&tag=threshold_counts", 400),
    ("counts?run=exp/train&tag=threshold_counts&step=1.5", 400),
    ("counts?run=exp/train&tag=threshold_counts&step=abc", 400),
    ("counts?run=exp/train&tag=threshold_counts&step=", 400),
    ("counts?run=exp/train&tag=threshold_counts&step=99999999999999999999999", 400),
    ("explorer?run=exp/train&tag=threshold_counts&step=-1", 404),
    ("heatmap?run=exp/train&tag=threshold_counts&threshold=1.5", 400),
    ("heatmap?run=exp/train&tag=threshold_counts&threshold=-0.1", 400),
    ("heatmap?run=exp/train&tag=threshold_counts&threshold=nan", 400),
    ("heatmap?run=exp/train&tag=threshold_counts&threshold=inf", 400),
    ("heatmap?run=exp/train&tag=threshold_counts&threshold=best&metric=auc", 400),
    ("best_thresholds?run=exp/train&tag=threshold_counts&metric=precision", 400),
    ("series?tag=threshold_counts", 400),
    ("explorer?run=exp/train&tag=threshold_counts&zero_division=2", 400),
    ("explorer?run=exp/train&tag=threshold_counts&zero_division=", 400),
    ("explorer?run=exp/train&tag=threshold_counts&zero_division=NaN", 400),
    ("explorer?run=exp/train&tag=threshold_counts&metric=f1&beta=2", 400),
    ("explorer?run=exp/train&tag=threshold_counts&metric=fbeta&beta=0", 400),
    ("explorer?run=exp/train&tag=threshold_counts&metric=fbeta&beta=x", 400),
    ("best_thresholds?run=exp/train&tag=threshold_counts&metric=recall_at_precision&precision=1.5", 400),
    ("best_thresholds?run=exp/train&tag=threshold_counts&metric=cost&cost_fp=-1", 400),
    ("best_thresholds?run=exp/train&tag=threshold_counts&metric=cost&cost_fp=inf", 400),
    ("curves?tag=threshold_counts", 400),
    ("curves?run=exp/train&tag=threshold_counts&step=x", 400),
    ("distribution?run=exp/train", 400),
    ("distribution?run=exp/train&tag=threshold_counts&label=nope", 404),
    ("distribution?run=exp/nope&tag=threshold_counts", 404),
    ("distribution?run=exp/train&tag=threshold_counts&step=99", 404),
    ("series?run=exp/train&tag=threshold_counts&threshold=x", 400),
    ("counts?run=nope&tag=threshold_counts", 404),
    ("counts?run=exp/train&tag=nope", 404),
    ("counts?run=exp/train&tag=threshold_counts&step=42", 404),
    ("steps?run=exp/nope&tag=threshold_counts", 404),
    ("counts?run=bad&tag=bad_json", 409),
    ("explorer?run=bad&tag=bad_tensor_bytes", 409),
    ("explorer?run=bad&tag=string_tensor", 409),
])
def test_bad_requests(board, query, code):
    status, got = board.json(f"{P}/{query}")
    assert status == code and isinstance(got["error"], str) and got["error"]


# ---------------------------------------------------------------------------------------------
# Static files


@pytest.fixture()
def static_board(board, tmp_path, monkeypatch):
    root = tmp_path / "frontend"
    (root / "views").mkdir(parents=True)
    files = {"index.js": b"export function render() {}", "style.css": b"a{}",
             "page.html": b"<p>x</p>", "data.json": b"{}", "icon.svg": b"<svg/>",
             "img.png": b"\x89PNG\r\n", "index.js.map": b"{}", "views/view.js": b"export {};",
             ".hidden.js": b"secret", "module.py": b"print()"}
    for name, data in files.items():
        (root / name).write_bytes(data)
    (tmp_path / "outside.js").write_bytes(b"outside")
    os.symlink(tmp_path / "outside.js", root / "link_out.js")
    os.symlink(root / "index.js", root / "link_in.js")
    monkeypatch.setattr(board.plugin, "_static_root", os.path.realpath(root))
    return board


@pytest.mark.parametrize("name,content_type", [
    ("index.js", "text/javascript; charset=utf-8"), ("style.css", "text/css; charset=utf-8"),
    ("page.html", "text/html; charset=utf-8"), ("data.json", "application/json"),
    ("icon.svg", "image/svg+xml; charset=utf-8"), ("img.png", "image/png"),
    ("index.js.map", "application/json"), ("views/view.js", "text/javascript; charset=utf-8"),
    ("link_in.js", "text/javascript; charset=utf-8"),
])
def test_static_content_types(static_board, name, content_type):
    resp, body = static_board.get(f"{P}/static/{name}")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == content_type
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert body == (static_board.plugin._static_root and open(
        os.path.join(static_board.plugin._static_root, name), "rb").read())


@pytest.mark.parametrize("path", [
    "../plugin.py", "%2e%2e/plugin.py", "%2E%2E%2Fplugin.py", "..%2f..%2fsetup.py",
    "views/../../outside.js", "views/%2e%2e/%2e%2e/outside.js", "..%5coutside.js",
    "views\\..\\..\\outside.js", "%5c..%5coutside.js", "/etc/passwd", "%2Fetc%2Fpasswd",
    "//etc/passwd", "link_out.js", ".hidden.js", "module.py", "views", "missing.js", "",
    "index.js%00.png", "C:%5cwindows%5cwin.ini", "./index.js", "%252e%252e/outside.js",
])
def test_static_traversal_is_404(static_board, path):
    resp, body = static_board.get(f"{P}/static/{path}")
    assert resp.status_code == 404
    assert b"outside" not in body and b"secret" not in body


def test_packaged_frontend_entry_point(board):
    root = board.plugin._frontend_root()
    assert root and os.path.isfile(os.path.join(root, "__init__.py"))
    assert os.path.isfile(os.path.join(root, "index.js"))
    resp, body = board.get(f"{P}/static/index.js")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/javascript")
    assert b"render" in body


# ---------------------------------------------------------------------------------------------
# Fuzz: no parameter combination gets a 5xx


FUZZ_VALUES = {
    "run": ["exp/train", "exp/validation", "bad", "nope", "", "exp", "../exp/train", "é", "%00"],
    "tag": [TAG, "weighted_logits", "partly_bad", "bad_json", "newer_version", "two_d",
            "bad_tensor_bytes", "", "x" * 300],
    "step": ["0", "3", "11", "-1", "1e3", "0x10", "", " 2", "99999999999999999999", "nan"],
    "threshold": ["0", "1", "0.5", "best", "BEST", "-0", "1.0000001", "nan", "inf", "", "0.333"],
    "metric": ["f1", "F1", "auc", "", "precision", "fbeta", "cost", "recall_at_precision"],
    "zero_division": ["0", "1", "nan", "NaN", "2", "", "warn"],
    "beta": ["0.5", "0", "-1", "inf", "x"],
    "precision": ["0.9", "1.5", "nan"],
    "cost_fn": ["5", "-1", "1e308"],
    "label": ["cat", "dog", "zebra", "", "é", "x" * 300],
}
FUZZ_ROUTES = ["tags", "warnings", "steps", "counts", "explorer", "heatmap", "series",
               "best_thresholds", "curves", "distribution", "static/index.js", "nonexistent"]


def random_query(rng):
    params = []
    for key, values in FUZZ_VALUES.items():
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            params.append((key, rng.choice(values)))
    from urllib.parse import urlencode
    return f"{rng.choice(FUZZ_ROUTES)}?{urlencode(params)}"


def test_fuzz_no_5xx(board):
    rng = random.Random(1234)
    start = time.monotonic()
    seen = set()
    for _ in range(400):
        query = random_query(rng)
        resp, body = board.get(f"{P}/{query}")
        seen.add(resp.status_code)
        assert resp.status_code < 500, (query, body[:200])
        if resp.status_code != 200 and "/static/" not in query and "nonexistent" not in query:
            assert json.loads(body)["error"]
    assert {200, 400, 404, 409} <= seen
    assert time.monotonic() - start < 60


# ---------------------------------------------------------------------------------------------
# Explorer parameters and the explorer's own routes (issues 9-11)


@pytest.mark.parametrize("zd_text,zd", [("0", 0.0), ("1", 1.0), ("nan", float("nan"))])
def test_explorer_zero_division_and_objective(board, logdir, zd_text, zd):
    c = logdir[1][("exp/validation", TAG)][4]
    q = (f"{P}/explorer?run=exp/validation&tag={TAG}&step=4&zero_division={zd_text}"
         "&metric=fbeta&beta=0.5")
    status, got = board.json(q)
    expected = serialize.explorer_json(c, 4, 1004.0, zd, "fbeta", {"beta": 0.5})
    assert status == 200 and got == json.loads(serialize.dumps(expected))
    assert got["zero_division"] == zd_text and got["best"]["metric"] == "fbeta"
    macro = np.array([np.nan if v is None else v for v in got["macro"]["precision"]])
    np.testing.assert_array_equal(macro, c.precision(average="macro", zero_division=zd))
    best = np.array([np.nan if v is None else v for v in got["best"]["threshold"]])
    np.testing.assert_array_equal(best, c.best_thresholds("fbeta", beta=0.5))
    assert all(w["kind"] in ("nan", "out_of_range") for w in got["warnings"])
    assert any(w["kind"] == "nan" for w in got["warnings"])  # make_counts puts a NaN score


@pytest.mark.parametrize("metric,params", [
    ("f1", {}), ("fbeta", {"beta": 2.0}), ("recall_at_precision", {"precision": 0.6}),
    ("precision_at_recall", {"recall": 0.5}), ("cost", {"cost_fp": 1.0, "cost_fn": 5.0})])
def test_best_thresholds_objective_step_run_tag(board, logdir, metric, params):
    c = logdir[1][("exp/train", TAG)][NUM_STEPS - 1]
    q = "&".join(f"{k}={v}" for k, v in params.items())
    status, got = board.json(f"{P}/best_thresholds?run=exp/train&tag={TAG}&metric={metric}&{q}")
    expected = c.to_best_thresholds(metric, step=NUM_STEPS - 1, run="exp/train", tag=TAG, **params)
    assert status == 200 and got == json.loads(serialize.dumps(expected.to_json()))
    back = tbm.BestThresholds.from_json(got)
    assert back.metric == metric and back.step == NUM_STEPS - 1 and back.run == "exp/train"
    assert back.tag == TAG and all(back.params[k] == v for k, v in params.items())


def test_curves_of_several_runs(board, logdir):
    written = logdir[1]
    got = _impl(board, "curves", runs=["exp/train", "exp/validation", "nope"], tag=TAG,
                label="dog")
    assert set(got) == {"exp/train", "exp/validation"}
    for run in ("exp/train", "exp/validation"):
        c = written[(run, TAG)][NUM_STEPS - 1]
        one = got[run]
        assert one["step"] == NUM_STEPS - 1 and one["label"] == "dog"
        fpr, tpr = c.roc_curve()
        assert one["fpr"] == fpr[1].tolist() and one["tpr"] == tpr[1].tolist()
        assert one["precision"] == c.precision()[1].tolist()
        assert one["recall"] == c.recall()[1].tolist()
        assert one["average_precision"] == c.average_precision(average=None)[1]
        assert one["roc_auc"] == c.roc_auc(average=None)[1]
    micro = _impl(board, "curves", runs=["exp/validation"], tag=TAG, label=None, step=2)
    c2 = written[("exp/validation", TAG)][2]
    assert micro["exp/validation"]["step"] == 2
    assert micro["exp/validation"]["roc_auc"] == c2.roc_auc(average="micro")
    assert micro["exp/validation"]["fpr"] == c2.roc_curve(average="micro")[0].tolist()
    assert micro["exp/validation"]["predicted"] == (c2.tp + c2.fp).sum(axis=0).tolist()
    missing = _impl(board, "curves", runs=["exp/train"], tag=TAG, label="zebra")
    assert "zebra" in missing["exp/train"]["error"]
    status, body = board.json(f"{P}/curves?run=exp/train&run=exp/validation&tag={TAG}")
    assert status == 200 and set(body) == {"exp/train", "exp/validation"}


def test_distribution_pooled_and_label(board, logdir):
    c = logdir[1][("exp/validation", TAG)][NUM_STEPS - 1]
    status, got = board.json(f"{P}/distribution?run=exp/validation&tag={TAG}&label=cat")
    assert status == 200 and got["step"] == NUM_STEPS - 1
    pos, neg = c.score_histogram()
    assert got["pooled"]["positives"] == pos.sum(0).tolist()
    assert got["pooled"]["negatives"] == neg.sum(0).tolist()
    assert got["label"]["positives"] == pos[0].tolist() and got["label"]["name"] == "cat"
    assert got["label"]["negatives"] == neg[0].tolist()
    assert got["pooled"]["ece"] == c.expected_calibration_error(average="micro")
    assert got["label"]["ece"] == c.expected_calibration_error()[0]
    conf, share, cells = c.reliability(average="micro")
    assert got["pooled"]["confidence"] == conf.tolist()
    assert got["pooled"]["cells"] == cells.tolist()
    # every non-NaN cell is in exactly one bin
    assert sum(got["pooled"]["cells"]) == c.observed.sum() - c.nan.sum()
    no_label = _impl(board, "distribution", run="exp/validation", tag=TAG)
    assert no_label["label"] is None and no_label["pooled"] == got["pooled"]


# Confusion matrix, ranking values and comparison extras (issues 9, 10, 12)

MC_CLASSES = 9
MC_N = 300


@pytest.fixture(scope="module")
def mc_board(tmp_path_factory):
    """Single-label runs (class ids + softmax) beside a multi-label run and a run whose classes
    have other names."""
    from demo import fixtures

    root = tmp_path_factory.mktemp("mc_logs")
    written = fixtures.write_multiclass_runs(str(root), num_classes=MC_CLASSES, steps=3,
                                             n=MC_N, thresholds=11)
    other = fixtures.write_multiclass_runs(str(root), runs=("renamed",), num_classes=MC_CLASSES,
                                           steps=1, n=50, thresholds=11,
                                           class_names=[f"x{i}" for i in range(MC_CLASSES)])
    for step in range(2):
        summary.write_counts(root / "multilabel", TAG, make_counts(step), step, wall_time=5.0)
    summary.close_all()
    return Board(root, hints={"tb_metrics": 0}), written, other


def test_confusion_equals_sklearn_and_counts(mc_board):
    from sklearn.metrics import accuracy_score, confusion_matrix, top_k_accuracy_score

    from demo import fixtures

    b, written, _ = mc_board
    for i, run in enumerate(("mc/train", "mc/validation")):
        for step, c in written[run].items():
            got = _impl(b, "confusion", run=run, tag=TAG, step=step)
            y, scores = fixtures.multiclass_scores(step, MC_CLASSES, MC_N, seed=[0, i])
            want = confusion_matrix(y, scores.argmax(axis=1), labels=range(MC_CLASSES))
            assert got["multiclass"] is True and got["reason"] is None
            assert got["classes"] == c.label_names and got["n"] == MC_N and got["step"] == step
            assert got["matrix"] == want.ravel().tolist()
            assert got["categorical_accuracy"] == c.categorical_accuracy()
            assert got["categorical_accuracy"] == pytest.approx(
                accuracy_score(y, scores.argmax(axis=1)), abs=1e-12)
            assert got["top_k_accuracy"] == [c.top_k_accuracy(k) for k in range(1, 6)]
            for k in (2, 3, 5):  # float32 softmax: no ties, so sklearn's tie rule never matters
                assert got["top_k_accuracy"][k - 1] == pytest.approx(
                    top_k_accuracy_score(y, scores, k=k, labels=range(MC_CLASSES)), abs=1e-12)
            assert got["against"] is None
    latest = _impl(b, "confusion", run="mc/validation", tag=TAG)
    assert latest["step"] == 2 and latest["run"] == "mc/validation"


def test_confusion_against_step_and_run(mc_board):
    b, written, _ = mc_board
    got = _impl(b, "confusion", run="mc/validation", tag=TAG, step=2, against_step=0)
    a = got["against"]
    assert a["step"] == 0 and a["run"] == "mc/validation"
    assert a["matrix"] == written["mc/validation"][0].confusion_matrix.ravel().tolist()
    assert a["categorical_accuracy"] == written["mc/validation"][0].categorical_accuracy()
    got = _impl(b, "confusion", run="mc/validation", tag=TAG, against_run="mc/train")
    assert got["step"] == 2 and got["against"]["run"] == "mc/train"
    assert got["against"]["step"] == 2
    assert got["against"]["matrix"] == written["mc/train"][2].confusion_matrix.ravel().tolist()
    got = _impl(b, "confusion", run="mc/validation", tag=TAG, against_run="mc/train",
                against_step=1)
    assert got["against"]["matrix"] == written["mc/train"][1].confusion_matrix.ravel().tolist()
    # routes: gzip JSON equal to the _impl
    status, body = b.json(f"{P}/confusion?run=mc/validation&tag={TAG}&step=1&against_step=2")
    assert status == 200 and body["against"]["step"] == 2 and body["step"] == 1


def test_confusion_multilabel_says_why(mc_board):
    b, _, _ = mc_board
    got = _impl(b, "confusion", run="multilabel", tag=TAG)
    assert got["multiclass"] is False and got["matrix"] is None and got["top_k_accuracy"] is None
    assert "multiclass=True" in got["reason"] and "class ids" in got["reason"]
    assert got["classes"] == LABELS and got["step"] == 1


@pytest.mark.parametrize("query,code,needle", [
    ("confusion?run=mc/validation", 400, "tag"),
    ("confusion?run=mc/validation&tag=threshold_counts&step=x", 400, "step"),
    ("confusion?run=mc/validation&tag=threshold_counts&against_step=1.5", 400, "step"),
    ("confusion?run=mc/validation&tag=threshold_counts&against_run=", 400, "against_run"),
    ("confusion?run=mc/validation&tag=threshold_counts&against_run=renamed", 400, "same classes"),
    ("confusion?run=mc/validation&tag=threshold_counts&against_run=multilabel", 400, "classes"),
    ("confusion?run=nope&tag=threshold_counts", 404, "nope"),
    ("confusion?run=mc/validation&tag=nope", 404, "nope"),
    ("confusion?run=mc/validation&tag=threshold_counts&step=7", 404, "Step 7"),
    ("confusion?run=mc/validation&tag=threshold_counts&against_step=7", 404, "Step 7"),
    ("confusion?run=mc/validation&tag=threshold_counts&against_run=nope", 404, "nope"),
    ("heatmap?run=mc/validation&tag=threshold_counts&value=accuracy", 400, "value"),
    ("heatmap?run=mc/validation&tag=threshold_counts&threshold=best&metric=f1&beta=2", 400,
     "beta"),
    ("heatmap?run=mc/validation&tag=threshold_counts&threshold=best"
     "&metric=recall_at_precision&precision=1.5", 400, "precision"),
    ("heatmap?run=mc/validation&tag=threshold_counts&threshold=best&metric=cost&cost_fp=x",
     400, "cost_fp"),
])
def test_confusion_and_heatmap_bad_requests(mc_board, query, code, needle):
    status, got = mc_board[0].json(f"{P}/{query}")
    assert status == code and needle in got["error"], got


def test_heatmap_ranks_by_ap_roc_and_objective(mc_board):
    b, written, _ = mc_board
    steps = written["mc/validation"]
    for value, method in (("average_precision", "average_precision"), ("roc_auc", "roc_auc")):
        heat = _impl(b, "heatmap", run="mc/validation", tag=TAG, value=value)
        assert heat["value"] == value and heat["threshold"] is None
        want = [getattr(steps[s], method)(average=None) for s in range(3)]
        np.testing.assert_array_equal(np.array(heat["values"], dtype=float),
                                      np.concatenate(want))
    params = (("precision", 0.6),)
    heat = _impl(b, "heatmap", run="mc/validation", tag=TAG, threshold="best",
                 metric="recall_at_precision", params=params)
    assert heat["params"] == {"precision": 0.6} and heat["metric"] == "recall_at_precision"
    for s in range(3):
        c = steps[s]
        want_t = c.best_thresholds("recall_at_precision", precision=0.6)
        got_t = np.array(heat["best_thresholds"][s * MC_CLASSES:(s + 1) * MC_CLASSES], dtype=float)
        np.testing.assert_array_equal(got_t, want_t.astype(np.float64))
        idx = c.best_threshold_indices("recall_at_precision", precision=0.6)
        f1 = c.f1(zero_division=np.nan)
        want_v = [f1[l, i] if i >= 0 else np.nan for l, i in enumerate(idx)]
        got_v = np.array(heat["values"][s * MC_CLASSES:(s + 1) * MC_CLASSES], dtype=float)
        np.testing.assert_array_equal(got_v, want_v)
    # the f1 objective matches the older rule (each label's best F1)
    heat = _impl(b, "heatmap", run="mc/validation", tag=TAG, threshold="best")
    assert heat["values"][:MC_CLASSES] == serialize.heatmap_row(steps[0], None)
    # through the route: the parameters arrive as query values
    status, got = b.json(f"{P}/heatmap?run=mc/validation&tag={TAG}&threshold=best"
                         "&metric=cost&cost_fp=1&cost_fn=4")
    assert status == 200 and got["params"] == {"cost_fp": 1.0, "cost_fn": 4.0}
    np.testing.assert_array_equal(
        np.array(got["best_thresholds"][-MC_CLASSES:], dtype=float),
        steps[2].best_thresholds("cost", cost_fp=1, cost_fn=4).astype(np.float64))


def test_series_extras_equal_counts(mc_board, board, logdir):
    from tb_metrics_plugin import serialize_views

    b, written, _ = mc_board
    series = _impl(b, "series", runs=["mc/validation", "multilabel"], tag=TAG, threshold=0.5)
    for step, c in written["mc/validation"].items():
        d = series["mc/validation"]
        assert d["categorical_accuracy"][step] == c.categorical_accuracy()
        assert d["macro_average_precision"][step] == c.average_precision("macro")
        assert d["micro_average_precision"][step] == c.average_precision("micro")
        assert d["macro_roc_auc"][step] == c.roc_auc("macro")
        assert d["micro_roc_auc"][step] == c.roc_auc("micro")
        assert d["all_negative_accuracy"][step] == c.all_negative_accuracy()
        assert d["all_negative_exact_match"][step] == c.all_negative_exact_match()
        assert d["nan_scores"][step] == 0
    # NaN scores reach the compare view (the fixture puts one NaN in label 0 of each step)
    val = _impl(board, "series", runs=["exp/validation"], tag=TAG, threshold=0.5)["exp/validation"]
    for i, step in enumerate(val["steps"]):
        c = logdir[1][("exp/validation", TAG)][step]
        assert val["nan_scores"][i] == int(c.nan.sum()) == 1
        assert {k: val[k][i] for k in serialize_views.SERIES_EXTRA_KEYS} == \
            json.loads(serialize.dumps(serialize_views.series_extras(c)))


def test_fuzz_confusion_and_heatmap_no_5xx(mc_board):
    from urllib.parse import urlencode

    b = mc_board[0]
    values = {
        "run": ["mc/train", "mc/validation", "multilabel", "renamed", "nope", ""],
        "tag": [TAG, "", "nope"],
        "step": ["0", "2", "-1", "x", ""], "against_step": ["0", "1", "9", "1.5", ""],
        "against_run": ["mc/train", "multilabel", "renamed", "", "nope"],
        "value": ["f1", "roc_auc", "average_precision", "auc", ""],
        "threshold": ["best", "0.5", "2"], "metric": ["f1", "cost", "fbeta", "x"],
        "beta": ["2", "0", "-1", "nan"], "precision": ["0.5", "2"], "cost_fn": ["3", "-1"],
    }
    rng = random.Random(7)
    seen = set()
    for _ in range(150):
        params = [(k, rng.choice(v)) for k, v in values.items() if rng.random() < 0.4]
        query = f"{rng.choice(['confusion', 'heatmap'])}?{urlencode(params)}"
        resp, body = b.get(f"{P}/{query}")
        seen.add(resp.status_code)
        assert resp.status_code in (200, 400, 404), (query, body[:200])
        assert json.loads(body) is not None
    assert {200, 400, 404} <= seen



def test_read_budget_counts_the_confusion_matrix(mc_board, monkeypatch):
    """A multi-class step's tensor holds its C x C matrix: reads of every step are sized by it."""
    b, written, _ = mc_board
    c = written["mc/validation"][0]
    values = metadata.tensor_length(MC_CLASSES, 11, 2, c.top_k_hits.size, True)
    assert values > MC_CLASSES ** 2 and values == metadata.counts_to_tensor(c).size
    monkeypatch.setattr(plugin_reading, "READ_BUDGET_BYTES", 8 * values * 2)
    fresh = Board(b.logdir, hints={"tb_metrics": 0})
    heat = _impl(fresh, "heatmap", run="mc/validation", tag=TAG, value="roc_auc")
    assert len(heat["steps"]) == 2 and heat["steps"][-1] == 2
    assert any("2 evenly sampled steps" in w for w in heat["warnings"])
