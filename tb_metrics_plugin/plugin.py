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
import gzip
import importlib.resources
import logging
import os
import re
import threading

from tensorboard import errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tb_metrics_plugin import metadata
from tb_metrics_plugin import selection
from tb_metrics_plugin import serialize
from tb_metrics_plugin import serialize_explorer
from tb_metrics_plugin import serialize_views
from tb_metrics_plugin import plugin_reading
from tb_metrics_plugin.plugin_params import PARSERS, RequestError, Snap, hashable
from tb_metrics_plugin.plugin_reading import ALL_STEPS, DEFAULT_CACHE_MB, Cache

logger = logging.getLogger(__name__)

PLUGIN_NAME = metadata.PLUGIN_NAME
CONTENT_TYPES = {
    ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
    ".html": "text/html", ".json": "application/json", ".map": "application/json",
    ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain",
}
_STATIC_MARKER = f"/data/plugin/{PLUGIN_NAME}/static/"


# -------------------------------------------------------------------------------------------
# The plugin


class MetricsPlugin(plugin_reading.Reader, base_plugin.TBPlugin):
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
        self._cache = Cache(int(max(cache_mb, 0) * 2**20))
        self._meta_cache = {}
        self._static_root = None
        self._local = threading.local()  # per-request memo of listings, see _cached_response

    def is_active(self):
        return False  # TensorBoard's `list_plugins` over the data provider decides; no I/O here.

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js",
                                            tab_name="Threshold Metrics")

    def get_plugin_apps(self):
        apps = {f"/{name}": self._json_route(name, parse) for name, parse in PARSERS.items()}
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
                (k, hashable(v)) for k, v in args.items())), tokens)
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
        snap = Snap(threshold if value == "f1" else serialize.BEST)
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
            snap = Snap(threshold)
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

def _with_warnings(data, warnings):
    if warnings:
        data["warnings"] = list(warnings)
    return data


def _error(request, code, message):
    return http_util.Respond(request, serialize.dumps({"error": message}), "application/json",
                             code=code)
