"""The TensorBoard plugin: JSON routes under ``/data/plugin/tb_metrics/`` and the frontend files.

Loaded by TensorBoard through the ``tensorboard_plugins`` entry point ``tb_metrics``. Every route
is a thin wrapper over an ``*_impl`` method (what the tests call); data is read only through
``context.data_provider`` (``list_tensors`` / ``read_tensors``), so it works with the default Rust
loader and with ``--load_fast=false``; the derived numbers come from `metrics.Counts` through
`serialize`. See ``http_api.md`` for every route with an example.

Status codes: 400 bad parameter, 404 unknown run / tag / step / file, 409 stored data this
version cannot read (malformed summary, newer format) or any unexpected failure. No route
answers 5xx: errors are ``{"error": reason}`` JSON.
"""
import collections
import gzip
import importlib.resources
import logging
import math
import os
import re
import threading

from tensorboard import context as tb_context
from tensorboard import errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tb_metrics_plugin import metadata
from tb_metrics_plugin import metrics
from tb_metrics_plugin import selection
from tb_metrics_plugin import serialize
from tb_metrics_plugin import serialize_explorer
from tb_metrics_plugin import serialize_views

logger = logging.getLogger(__name__)

PLUGIN_NAME = metadata.PLUGIN_NAME
# One read of many steps stays under this many bytes (at 8 bytes a value, so int32 tensors
# use half): the Rust data server answers over gRPC, whose messages stop at 256 MiB.
READ_BUDGET_BYTES = 192 << 20
# `read_tensors(downsample=0)` returns nothing, so "every kept step" is asked as a huge number.
ALL_STEPS = 2**31 - 1
# Bytes of decoded reads and responses kept between requests (TB_METRICS_CACHE_MB=0 disables).
DEFAULT_CACHE_MB = 128
CONTENT_TYPES = {
    ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
    ".html": "text/html", ".json": "application/json", ".map": "application/json",
    ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain",
}
_INT = re.compile(r"[+-]?[0-9]{1,19}\Z")
_STATIC_MARKER = f"/data/plugin/{PLUGIN_NAME}/static/"


class RequestError(Exception):
    """An error answered as ``{"error": message}`` with HTTP status ``code`` (400, 404, 409)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# -------------------------------------------------------------------------------------------
# Parameters


def _one(args, name, required=True):
    values = args.getlist(name)
    if not values:
        if required:
            raise RequestError(400, f"Missing required parameter '{name}'.")
        return None
    if len(values) > 1:
        raise RequestError(400, f"Expected one '{name}' parameter; received {len(values)}.")
    if required and not values[0]:
        raise RequestError(400, f"Expected a non-empty '{name}' parameter.")
    return values[0]


def parse_step(value):
    """``None`` (latest) or an int; 400 for anything else."""
    if value is None:
        return None
    if not _INT.match(value) or not -(2**63) <= int(value) < 2**63:
        raise RequestError(400, f"Expected an integer 'step'; received {value!r}.")
    return int(value)


def parse_threshold(value, default=0.5):
    """A probability in [0, 1], or ``serialize.BEST``; 400 for anything else."""
    if value is None:
        return default
    if value == serialize.BEST:
        return serialize.BEST
    try:
        t = float(value)
    except ValueError:
        t = math.nan
    if not (math.isfinite(t) and 0.0 <= t <= 1.0):
        raise RequestError(
            400, f"Expected 'threshold' to be a probability in [0, 1] or 'best'; received {value!r}.")
    return t


def parse_metric(value):
    if value is None:
        return "f1"
    if value not in metrics.METRICS:
        raise RequestError(400, f"Unknown metric {value!r}; expected one of {list(metrics.METRICS)}.")
    return value


# -------------------------------------------------------------------------------------------
# Cache


class _Cache:
    """A thread-safe LRU of values with a byte budget; entries are dropped by scope on change."""

    def __init__(self, max_bytes):
        self._max = max_bytes
        self._items = collections.OrderedDict()  # key -> (value, nbytes, scope)
        self._size = 0
        self._tokens = {}  # scope -> token last seen
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key, value, nbytes, scope=None):
        if nbytes > self._max:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, nbytes, scope)
            self._size += nbytes
            while self._size > self._max:
                _, (_, size, _) = self._items.popitem(last=False)
                self._size -= size

    def observe(self, scope, token):
        """Drops the entries of ``scope`` when its token (max step, wall time...) changed."""
        with self._lock:
            if self._tokens.get(scope, token) != token:
                for key in [k for k, v in self._items.items() if v[2] == scope]:
                    self._size -= self._items.pop(key)[1]
            self._tokens[scope] = token
            if len(self._tokens) > 100000:
                self._tokens.clear()


class _Series:
    """One (run, tag) as listed: its parsed metadata and a token that changes with new data."""

    def __init__(self, experiment, run, tag, time_series, meta):
        self.run, self.tag, self.meta = run, tag, meta
        self.max_step = time_series.max_step
        self.max_wall_time = time_series.max_wall_time
        self.scope = (experiment, run, tag)
        self.token = (time_series.max_step, time_series.max_wall_time,
                      hash(time_series.plugin_content))


# -------------------------------------------------------------------------------------------
# The plugin


class MetricsPlugin(base_plugin.TBPlugin):
    """Exact per-label confusion counts at many thresholds: threshold explorer, per-label F1,
    micro / macro comparison."""

    plugin_name = PLUGIN_NAME

    def __init__(self, context):
        self._provider = context.data_provider
        hint = (context.sampling_hints or {}).get(PLUGIN_NAME)
        # No hint: every step the loader kept; 0 means "keep all", never `downsample=0`.
        self._downsample = int(hint) if hint else ALL_STEPS
        try:
            cache_mb = float(os.environ.get("TB_METRICS_CACHE_MB", DEFAULT_CACHE_MB))
        except ValueError:
            cache_mb = DEFAULT_CACHE_MB
        if not 0 <= cache_mb < 2**40:
            cache_mb = DEFAULT_CACHE_MB
        self._cache = _Cache(int(max(cache_mb, 0) * 2**20))
        self._meta_cache = {}
        self._static_root = None
        self._local = threading.local()  # per-request memo of listings, see _cached_response

    def is_active(self):
        return False  # TensorBoard's `list_plugins` over the data provider decides; no I/O here.

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js",
                                            tab_name="Threshold Metrics")

    def get_plugin_apps(self):
        apps = {f"/{name}": self._json_route(name, parse) for name, parse in _PARSERS.items()}
        apps["/static/*"] = self._static_route
        return apps

    # -- routes: parse, call the _impl, answer JSON ----------------------------------------------

    def _json_route(self, name, parse):
        """The WSGI app of route ``name``: ``parse`` the query, answer ``<name>_impl`` as JSON."""

        @wrappers.Request.application
        def app(request):
            return self._serve(request, name, parse)

        return app

    def _serve(self, request, name, parse):
        try:
            ctx = plugin_util.context(request.environ)
            experiment = plugin_util.experiment_id(request.environ)
            args = parse(request.args)
            body, headers = self._cached_response(ctx, experiment, name, args)
            return http_util.Respond(request, body, "application/json",
                                     content_encoding="gzip", headers=headers)
        except RequestError as e:
            return _error(request, e.code, e.message)
        except errors.PublicError as e:
            return _error(request, e.http_code if e.http_code < 500 else 409, str(e))
        except Exception as e:  # never a 5xx: report, log the traceback
            logger.exception("tb_metrics: %s failed", name)
            return _error(request, 409, f"tb_metrics could not serve '{name}': "
                                        f"{type(e).__name__}: {e}")

    def _cached_response(self, ctx, experiment, name, args):
        """Gzipped JSON of ``<name>_impl(**args)``, cached while its time series are unchanged."""
        # The _impl reuses this request's listings: one data-provider round trip fewer.
        self._local.memo = {}
        try:
            return self._cached_response_inner(ctx, experiment, name, args)
        finally:
            self._local.memo = None

    def _cached_response_inner(self, ctx, experiment, name, args):
        runs = args.get("runs") or ([args["run"]] if "run" in args else None)
        if runs is not None and args.get("against_run"):  # confusion: both runs' tokens
            runs = runs + [args["against_run"]]
        key = None
        if runs is not None and "tag" in args:
            series = self._list(ctx, experiment, runs, args["tag"])
            tokens = tuple(sorted((r, s.token) for r, s in series.items()))
            key = ("response", experiment, name, tuple(sorted(
                (k, _hashable(v)) for k, v in args.items())), tokens)
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        data = getattr(self, f"{name}_impl")(ctx, experiment, **args)
        headers = []
        if name == "best_thresholds":
            step = "latest" if args.get("step") is None else args["step"]
            filename = re.sub(r"[^A-Za-z0-9._-]+", "_",
                              f"best_thresholds_{args['run']}_{args['tag']}_step{step}")
            headers.append(("Content-Disposition", f'attachment; filename="{filename}.json"'))
        body = gzip.compress(serialize.dumps(data).encode("utf-8"), compresslevel=3, mtime=0)
        if key is not None:
            self._cache.put(key, (body, headers), len(body) + 256)
        return body, headers

    @wrappers.Request.application
    def _static_route(self, request):
        try:
            path = request.path
            index = path.find(_STATIC_MARKER)
            rel = path[index + len(_STATIC_MARKER):] if index >= 0 else ""
            content, content_type = self.static_impl(rel)
            return http_util.Respond(request, content, content_type)
        except RequestError as e:
            return _error(request, e.code, e.message)
        except Exception as e:  # never a 5xx
            logger.exception("tb_metrics: static file failed")
            return _error(request, 409, f"Could not read the file: {type(e).__name__}")

    # -- implementations (called by the routes and the tests) -------------------------------------

    def tags_impl(self, ctx=None, experiment=""):
        """``{run: {tag: {labels, thresholds, from_logits, max_step, max_wall_time}}}``.

        Tags whose metadata cannot be read are left out (see `warnings_impl`).
        """
        result = {}
        for run, tag, ts, meta, _ in self._listing(ctx, experiment):
            if meta is not None:
                result.setdefault(run, {})[tag] = serialize.tag_json(
                    meta, ts.max_step, ts.max_wall_time)
        return result

    def warnings_impl(self, ctx=None, experiment=""):
        """``{"warnings": [{run, tag, reason}]}``: tb_metrics tags this version cannot read."""
        return {"warnings": [{"run": run, "tag": tag, "reason": reason}
                             for run, tag, _, meta, reason in self._listing(ctx, experiment)
                             if meta is None]}

    def steps_impl(self, ctx=None, experiment="", *, run, tag):
        """``{"steps": [...], "wall_times": [...]}``: the readable steps TensorBoard kept."""
        s = self._series(ctx, experiment, run, tag)
        steps, wall_times, warnings = [], [], []
        for step, wall_time, _ in self._decode_all(ctx, experiment, s, warnings):
            steps.append(step)
            wall_times.append(wall_time)
        return _with_warnings({"steps": steps, "wall_times": wall_times}, warnings)

    def counts_impl(self, ctx=None, experiment="", *, run, tag, step=None):
        """The raw counts (tp, fp, tn, fn as [L][T]) at ``step``, or the latest step."""
        s = self._series(ctx, experiment, run, tag)
        step, wall_time, counts, warnings = self._read_step(ctx, experiment, s, step)
        return _with_warnings(serialize.counts_json(counts, step, wall_time), warnings)

    def explorer_impl(self, ctx=None, experiment="", *, run, tag, step=None, zero_division=0.0,
                      metric="f1", params=None):
        """Everything the threshold explorer draws at ``step`` (or the latest), with
        ``zero_division`` for precision / recall / F1 and the objective ``metric`` (``params``)
        for the best thresholds. ``warnings`` is a list of ``{kind, message}``: the data's own
        (``out_of_range``, ``nan``) and steps that could not be read (``read``)."""
        s = self._series(ctx, experiment, run, tag)
        step, wall_time, counts, warnings = self._read_step(ctx, experiment, s, step)
        out = serialize.explorer_json(counts, step, wall_time, zero_division, metric, params)
        out["warnings"] = [{"kind": "read", "message": w} for w in warnings] + out["warnings"]
        return out

    def best_thresholds_impl(self, ctx=None, experiment="", *, run, tag, step=None, metric="f1",
                             params=None):
        """Per-label best thresholds of objective ``metric`` (``params``) at ``step`` (or the
        latest), as `BestThresholds` JSON recording the objective, step, run and tag."""
        s = self._series(ctx, experiment, run, tag)
        got, _, counts, _ = self._read_step(ctx, experiment, s, step)
        return serialize.best_thresholds_json(counts, metric, params, step=got, run=run, tag=tag)

    def curves_impl(self, ctx=None, experiment="", *, runs, tag, label=None, step=None):
        """``{run: curves_json}``: the PR and ROC curves of ``label`` (a name; None: micro) at
        ``step`` (or each run's latest) for every listed run that has ``tag``. A run without
        that label or step gets ``{"error": reason}`` instead."""
        result = {}
        for run in runs:
            try:
                s = self._series(ctx, experiment, run, tag)
            except RequestError as e:
                if e.code == 404:
                    continue
                result[run] = {"error": e.message}
                continue
            try:
                got, wall_time, counts, _ = self._read_step(ctx, experiment, s, step)
                result[run] = serialize_explorer.curves_json(counts, got, wall_time, label)
            except RequestError as e:
                result[run] = {"error": e.message}
            except ValueError as e:
                result[run] = {"error": f"{run}: {e}"}
        return result

    def distribution_impl(self, ctx=None, experiment="", *, run, tag, step=None, label=None):
        """Score histograms, reliability and ECE, pooled and of ``label`` (a name)."""
        s = self._series(ctx, experiment, run, tag)
        got, wall_time, counts, _ = self._read_step(ctx, experiment, s, step)
        try:
            return serialize_explorer.distribution_json(counts, got, wall_time, label)
        except ValueError as e:
            raise RequestError(404, str(e)) from None

    def heatmap_impl(self, ctx=None, experiment="", *, run, tag, threshold=0.5, metric="f1",
                     value="f1", params=()):
        """Per-label ``value`` across steps: ``values`` is flat [S*L] row-major (step-major).

        ``value="f1"``: F1 at ``threshold``, or with ``threshold="best"`` at each label's best
        threshold for the objective ``metric`` / ``params`` (then ``best_thresholds`` holds those
        thresholds, flat [S*L]); ``"average_precision"`` / ``"roc_auc"``: threshold-free.
        """
        s = self._series(ctx, experiment, run, tag)
        steps, wall_times, values, best, warnings = [], [], [], [], []
        params = dict(params)
        snap = _Snap(threshold if value == "f1" else serialize.BEST)
        for step, wall_time, counts in self._decode_all(ctx, experiment, s, warnings):
            steps.append(step)
            wall_times.append(wall_time)
            row, row_t = serialize_views.label_values(counts, value, snap.index(counts),
                                                      metric, params)
            values.extend(row)
            if row_t is not None and value == "f1":
                best.extend(row_t)
        out = {
            "steps": steps, "wall_times": wall_times, "labels": list(s.meta["label_names"]),
            "values": values, "metric": metric, "value": value, **snap.json(),
        }
        if value == "f1" and threshold == serialize.BEST:
            out["params"] = selection.check_objective(metric, params)
            out["best_thresholds"] = best
        if value != "f1":
            out["threshold"] = None
        return _with_warnings(out, warnings)

    def confusion_impl(self, ctx=None, experiment="", *, run, tag, step=None, against_step=None,
                       against_run=None):
        """The confusion matrix at ``step`` (or the latest), optionally with another step of
        the same run (``against_step``) or a step of another run (``against_run``, its
        ``against_step`` or latest) to draw the difference against: `serialize_views`."""
        s = self._series(ctx, experiment, run, tag)
        got, wall_time, counts, warnings = self._read_step(ctx, experiment, s, step)
        against = None
        if against_step is not None or against_run is not None:
            other_run = against_run if against_run is not None else run
            o = self._series(ctx, experiment, other_run, tag)
            o_step, o_wall, o_counts, o_warn = self._read_step(ctx, experiment, o, against_step)
            if list(o_counts.label_names) != list(counts.label_names):
                raise RequestError(400, (
                    f"Expected the same classes to compare; received {counts.num_labels} classes "
                    f"in run {run!r} and {o_counts.num_labels} in run {other_run!r} (tag {tag!r}) "
                    "that differ. Compare runs of the same model."))
            against = serialize_views.confusion_part(o_counts, o_step, o_wall)
            against["run"] = other_run
            warnings = list(warnings) + [f"{other_run}: {w}" for w in o_warn]
        return _with_warnings(
            serialize_views.confusion_json(counts, got, wall_time, run=run, against=against),
            warnings)

    def series_impl(self, ctx=None, experiment="", *, runs, tag, threshold=0.5):
        """``{run: {steps, wall_times, micro_f1, macro_f1, weighted_f1, binary_accuracy,
        exact_match_accuracy, threshold, threshold_index}}`` for the runs that have ``tag``."""
        result = {}
        listed = self._provider_list(ctx, experiment, runs, [tag])
        for run in runs:
            ts = listed.get(run, {}).get(tag)
            if ts is None:
                continue
            out = {"steps": [], "wall_times": []}
            out.update({k: [] for k in serialize.SERIES_KEYS})
            out.update({k: [] for k in serialize_views.SERIES_EXTRA_KEYS})
            snap = _Snap(threshold)
            try:
                s = self._make_series(experiment, run, tag, ts)
            except RequestError as e:
                result[run] = _with_warnings(dict(out, **snap.json()), [e.message])
                continue
            best = {k: [] for k in serialize.SERIES_KEYS}
            warnings = []
            for step, wall_time, counts in self._decode_all(ctx, experiment, s, warnings):
                out["steps"].append(step)
                out["wall_times"].append(wall_time)
                point = serialize.series_point(counts, snap.index(counts))
                for k in serialize.SERIES_KEYS:
                    out[k].append(point[k])
                    best[k].append(point.get(k + "_threshold"))
                for k, v in serialize_views.series_extras(counts).items():
                    out[k].append(v)
            out.update(snap.json())
            if threshold == serialize.BEST:
                out["best_threshold"] = best
            result[run] = _with_warnings(out, warnings)
        return result

    def static_impl(self, rel_path):
        """``(bytes, content type)`` of a file under frontend/; 404 for anything else."""
        parts = rel_path.split("/")
        if (not rel_path or "\\" in rel_path or "\x00" in rel_path or ":" in rel_path
                or any(p in ("", ".", "..") or p.startswith(".") for p in parts)):
            raise RequestError(404, "Not found.")
        content_type = CONTENT_TYPES.get(os.path.splitext(parts[-1])[1].lower())
        root = self._frontend_root()
        if content_type is None or root is None:
            raise RequestError(404, "Not found.")
        path = os.path.realpath(os.path.join(root, *parts))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            raise RequestError(404, "Not found.")  # symlinks out of frontend/ included
        with open(path, "rb") as f:
            return f.read(), content_type

    # -- reading ------------------------------------------------------------------------------------

    def _frontend_root(self):
        if self._static_root is None:
            try:
                files = importlib.resources.files("tb_metrics_plugin.frontend")
                self._static_root = os.path.realpath(os.fspath(files))
            except (ImportError, TypeError):
                return None
        return self._static_root

    def _provider_list(self, ctx, experiment, runs=None, tags=None):
        if self._provider is None:
            return {}
        memo = getattr(self._local, "memo", None)
        key = (experiment, runs and tuple(runs), tags and tuple(tags))
        if memo is not None and key in memo:
            return memo[key]
        rtf = None if runs is None and tags is None else provider.RunTagFilter(runs, tags)
        result = self._provider.list_tensors(
            ctx or tb_context.RequestContext(), experiment_id=experiment,
            plugin_name=PLUGIN_NAME, run_tag_filter=rtf)
        if memo is not None:
            memo[key] = result
        return result

    def _parse_meta(self, content):
        """Parsed metadata, or the reason it cannot be read (a str)."""
        key = hash(content)
        hit = self._meta_cache.get(key)
        if hit is not None and hit[0] == content:
            return hit[1]
        try:
            meta = metadata.parse_plugin_metadata(content)
        except Exception as e:  # malformed: reported, never raised
            meta = str(e) or type(e).__name__
        if len(self._meta_cache) > 1024:
            self._meta_cache.clear()
        self._meta_cache[key] = (content, meta)
        return meta

    def _listing(self, ctx, experiment):
        """(run, tag, time series, meta or None, reason) for every tag of ours."""
        for run, tags in sorted(self._provider_list(ctx, experiment).items()):
            for tag, ts in sorted(tags.items()):
                meta = self._parse_meta(ts.plugin_content)
                if isinstance(meta, str):
                    yield run, tag, ts, None, meta
                else:
                    yield run, tag, ts, meta, None

    def _make_series(self, experiment, run, tag, ts):
        meta = self._parse_meta(ts.plugin_content)
        if isinstance(meta, str):
            raise RequestError(409, f"Cannot read tag {tag!r} of run {run!r}: {meta}")
        s = _Series(experiment, run, tag, ts, meta)
        self._cache.observe(s.scope, s.token)
        return s

    def _list(self, ctx, experiment, runs, tag):
        """{run: _Series} for the listed runs that have ``tag`` (unreadable ones left out)."""
        out = {}
        for run, tags in self._provider_list(ctx, experiment, runs, [tag]).items():
            if tag in tags:
                try:
                    out[run] = self._make_series(experiment, run, tag, tags[tag])
                except RequestError:
                    pass
        return out

    def _series(self, ctx, experiment, run, tag):
        ts = self._provider_list(ctx, experiment, [run], [tag]).get(run, {}).get(tag)
        if ts is None:
            if run not in self._provider_list(ctx, experiment, [run], None):
                raise RequestError(404, f"Unknown run {run!r} (no tb_metrics data in it).")
            raise RequestError(404, f"Run {run!r} has no tb_metrics tag {tag!r}.")
        return self._make_series(experiment, run, tag, ts)

    def _read(self, ctx, experiment, s, downsample):
        """[(step, wall_time, ndarray)] sorted by step, as the data provider returns them."""
        key = ("read", s.scope, s.token, downsample)
        hit = self._cache.get(key)
        if hit is None:
            try:
                data = self._provider.read_tensors(
                    ctx or tb_context.RequestContext(), experiment_id=experiment,
                    plugin_name=PLUGIN_NAME, downsample=downsample,
                    run_tag_filter=provider.RunTagFilter([s.run], [s.tag]))
            except errors.PublicError:
                raise
            except Exception as e:  # e.g. a tensor whose bytes do not match its shape
                raise RequestError(409, f"Cannot read tag {s.tag!r} of run {s.run!r}: "
                                        f"{type(e).__name__}: {e}") from None
            # A step that comes again (a restarted run) drops the steps from it on, as the
            # Rust loader does and `read_counts` does; the Python loader keeps them all.
            by_step = {}
            for d in data.get(s.run, {}).get(s.tag, []):
                metadata.preempt(by_step, d.step)
                by_step[d.step] = (d.step, d.wall_time, d.numpy)
            hit = list(by_step.values())
            self._cache.put(key, hit, sum(getattr(a, "nbytes", 0) + 64 for _, _, a in hit), s.scope)
        return hit

    def _decode(self, s, step, array):
        try:
            return metadata.tensor_to_counts(array, s.meta), None
        except Exception as e:  # a malformed step is skipped and reported
            return None, f"step {step}: {e}"

    def _all_steps_downsample(self, s):
        """How many steps one read may ask for: every kept step, unless their tensors would
        pass the data provider's message limit (gRPC's 256 MiB for the Rust data server)."""
        values = metadata.meta_tensor_length(s.meta)
        return max(1, min(self._downsample, READ_BUDGET_BYTES // (8 * values)))

    def _read_all(self, ctx, experiment, s, warnings):
        downsample = self._all_steps_downsample(s)
        data = self._read(ctx, experiment, s, downsample)
        if downsample < self._downsample and len(data) == downsample:
            warnings.append(
                f"Showing {downsample} evenly sampled steps (the latest included): every step "
                f"of this tag at once would pass the data provider's "
                f"{READ_BUDGET_BYTES >> 20} MiB read budget.")
        return data

    def _decode_all(self, ctx, experiment, s, warnings):
        """Yields (step, wall_time, Counts) of every readable kept step; appends the others'
        reasons to ``warnings``."""
        for step, wall_time, array in self._read_all(ctx, experiment, s, warnings):
            counts, problem = self._decode(s, step, array)
            if problem:
                warnings.append(problem)
            else:
                yield step, wall_time, counts

    def _read_step(self, ctx, experiment, s, step):
        """(step, wall_time, Counts, warnings) at ``step``, or at the latest readable step."""
        if step is None or step == s.max_step:
            # TensorBoard's downsampling always keeps the latest point: read one, not all.
            latest = self._read(ctx, experiment, s, 1)
            if latest and latest[-1][0] == s.max_step:
                got, wall_time, array = latest[-1]
                counts, problem = self._decode(s, got, array)
                if counts is not None:
                    return got, wall_time, counts, []
        warnings = []
        data = self._read_all(ctx, experiment, s, warnings)
        if step is None:
            for got, wall_time, array in reversed(data):
                counts, problem = self._decode(s, got, array)
                if counts is not None:
                    return got, wall_time, counts, warnings
                warnings.append(problem)
            raise RequestError(409, f"No readable step in tag {s.tag!r} of run {s.run!r}: "
                                    + "; ".join(warnings[:3]))
        for got, wall_time, array in reversed(data):
            if got == step:
                counts, problem = self._decode(s, got, array)
                if counts is None:
                    raise RequestError(409, f"Cannot read tag {s.tag!r} of run {s.run!r} at {problem}")
                return got, wall_time, counts, warnings
        kept = f"{len(data)} kept steps, {data[0][0]} to {data[-1][0]}" if data else "no kept steps"
        raise RequestError(404, f"Step {step} not found in tag {s.tag!r} of run {s.run!r} ({kept}; "
                                "TensorBoard keeps a sample of steps unless started with "
                                "--samples_per_plugin=tb_metrics=0).")


# -------------------------------------------------------------------------------------------
# Helpers


def _run_tag(a):
    return {"run": _one(a, "run"), "tag": _one(a, "tag")}


def _run_tag_step(a):
    return dict(_run_tag(a), step=parse_step(_one(a, "step", required=False)))


def _runs(a):
    runs = a.getlist("run")
    if not runs or not all(runs):
        raise RequestError(400, "Expected one or more non-empty 'run' parameters.")
    return list(dict.fromkeys(runs))


def _threshold(a):
    return parse_threshold(_one(a, "threshold", required=False))


def _metric(a):
    return parse_metric(_one(a, "metric", required=False))


def parse_zero_division(value):
    """``zero_division`` = ``0``, ``1`` or ``nan`` (scikit-learn's choices); 400 otherwise."""
    if value is None:
        return 0.0
    if value not in serialize_explorer.ZERO_DIVISION:
        raise RequestError(400, f"Expected 'zero_division' to be 0, 1 or nan; received {value!r}.")
    return serialize_explorer.ZERO_DIVISION[value]


_OBJECTIVE_PARAMS = sorted({k for defaults, _ in selection.OBJECTIVES.values() for k in defaults})


def _objective(a):
    """``metric`` and its parameters (``beta``, ``precision``, ``recall``, ``cost_fp``,
    ``cost_fn``), checked by `selection.check_objective`; 400 with its reason otherwise."""
    metric = _metric(a)
    params = {}
    for key in _OBJECTIVE_PARAMS:
        value = _one(a, key, required=False)
        if value is not None:
            params[key] = value
    try:
        params = selection.check_objective(metric, params)
    except ValueError as e:
        raise RequestError(400, str(e)) from None
    return {"metric": metric, "params": params}


def _label(a):
    return _one(a, "label", required=False) or None


def _against_run(a):
    value = _one(a, "against_run", required=False)
    if value == "":
        raise RequestError(400, "Expected a non-empty 'against_run' parameter (a run name).")
    return value


def _rank_value(a):
    value = _one(a, "value", required=False) or "f1"
    if value not in serialize_views.RANK_VALUES:
        raise RequestError(400, f"Unknown value {value!r}; expected one of "
                                f"{list(serialize_views.RANK_VALUES)}.")
    return value


def _objective_params(a):
    """The objective's parameters as a sorted tuple of (name, float) pairs (hashable, for the
    response cache), checked by `selection.check_objective` (400 when wrong)."""
    return tuple(sorted(_objective(a)["params"].items()))


# route name -> query parser returning the keyword arguments of `<name>_impl` (or RequestError)
_PARSERS = {
    "tags": lambda a: {},
    "warnings": lambda a: {},
    "steps": _run_tag,
    "counts": _run_tag_step,
    "explorer": lambda a: dict(_run_tag_step(a), **_objective(a),
                               zero_division=parse_zero_division(_one(a, "zero_division", False))),
    "heatmap": lambda a: dict(_run_tag(a), threshold=_threshold(a), metric=_metric(a),
                              value=_rank_value(a), params=_objective_params(a)),
    "confusion": lambda a: dict(
        _run_tag_step(a), against_step=parse_step(_one(a, "against_step", required=False)),
        against_run=_against_run(a)),
    "series": lambda a: {"runs": _runs(a), "tag": _one(a, "tag"), "threshold": _threshold(a)},
    "best_thresholds": lambda a: dict(_run_tag_step(a), **_objective(a)),
    "curves": lambda a: {"runs": _runs(a), "tag": _one(a, "tag"), "label": _label(a),
                         "step": parse_step(_one(a, "step", required=False))},
    "distribution": lambda a: dict(_run_tag_step(a), label=_label(a)),
}


class _Snap:
    """The ``threshold`` parameter snapped to a stored threshold by `Counts.threshold_index`
    (nearest, the lower on a tie); every step of a tag has the same thresholds."""

    def __init__(self, threshold):
        self.threshold = threshold
        self._index = None
        self._value = None

    def index(self, counts):
        if self.threshold == serialize.BEST:
            return None
        if self._index is None:
            self._index = counts.threshold_index(self.threshold)
            self._value = float(counts.thresholds[self._index])
        return self._index

    def json(self):
        if self.threshold == serialize.BEST:
            return {"threshold": serialize.BEST, "threshold_index": None}
        if self._index is None:  # no readable step: echo the request
            return {"threshold": float(self.threshold), "threshold_index": None}
        return {"threshold": self._value, "threshold_index": self._index}


def _hashable(value):
    """A query argument as a cache-key part: lists as tuples, dicts as sorted item tuples, NaN
    (``zero_division=nan``) as its text, since NaN != NaN would never hit."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def _with_warnings(data, warnings):
    if warnings:
        data["warnings"] = list(warnings)
    return data


def _error(request, code, message):
    return http_util.Respond(request, serialize.dumps({"error": message}), "application/json",
                             code=code)
