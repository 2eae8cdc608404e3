"""How the plugin reads: the data provider, a byte-bounded cache, and decoding into `Counts`.

Data is read only through ``context.data_provider`` (``list_tensors`` / ``read_tensors``), so the
plugin works with the default Rust loader and with ``--load_fast=false``. Reads of many steps
are bounded by `READ_BUDGET_BYTES` (gRPC's messages stop at 256 MiB).
"""
import collections
import threading

from tensorboard import context as tb_context
from tensorboard import errors
from tensorboard.data import provider

from tb_metrics_plugin import metadata
from tb_metrics_plugin.plugin_params import RequestError

PLUGIN_NAME = metadata.PLUGIN_NAME
# One read of many steps stays under this many bytes (at 8 bytes a value, so int32 tensors
# use half): the Rust data server answers over gRPC, whose messages stop at 256 MiB.
READ_BUDGET_BYTES = 192 << 20
# `read_tensors(downsample=0)` returns nothing, so "every kept step" is asked as a huge number.
ALL_STEPS = 2**31 - 1
# Bytes of decoded reads and responses kept between requests (TB_METRICS_CACHE_MB=0 disables).
DEFAULT_CACHE_MB = 128

# -------------------------------------------------------------------------------------------
# Cache


class Cache:
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


class Series:
    """One (run, tag) as listed: its parsed metadata and a token that changes with new data."""

    def __init__(self, experiment, run, tag, time_series, meta):
        self.run, self.tag, self.meta = run, tag, meta
        self.max_step = time_series.max_step
        self.max_wall_time = time_series.max_wall_time
        self.scope = (experiment, run, tag)
        self.token = (time_series.max_step, time_series.max_wall_time,
                      hash(time_series.plugin_content))



class Reader:
    """The reading half of `plugin.MetricsPlugin` (a mixin): listing, reading and decoding.

    Expects ``self._provider``, ``self._downsample``, ``self._cache``, ``self._meta_cache`` and
    ``self._local`` (set by the plugin's constructor).
    """

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
        s = Series(experiment, run, tag, ts, meta)
        self._cache.observe(s.scope, s.token)
        return s

    def _list(self, ctx, experiment, runs, tag):
        """{run: Series} for the listed runs that have ``tag`` (unreadable ones left out)."""
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
