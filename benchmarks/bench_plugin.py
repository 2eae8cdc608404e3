"""Benchmark: the threshold explorer's load against TensorBoard's own pr_curves plugin.

One run of L labels x T thresholds x S steps (default 1000 x 101 x 50) is written twice: as one
tb_metrics tag, and as L pr_curves tags (the same counts). Real `tensorboard` processes (default
Rust loader) serve them; the script times what each dashboard loads to show every label's curves:

* tb_metrics: ``tags`` then ``explorer?run&tag`` (the latest step, every label, every threshold);
* pr_curves: ``tags`` then one ``pr_curves?run&tag`` per label (as its dashboard does; each gets
  every step), over ``--pr-workers`` parallel connections (6, as a browser).

Every request sends ``Accept-Encoding: gzip``; the client time includes gunzip and JSON parsing.
It also prints the median of each tb_metrics route (without the plugin's cache, and with it),
bytes per step on disk, and the memory (VmRSS) of each tensorboard and its data server.

    .venv/bin/python benchmarks/bench_plugin.py                  # ~2 minutes
    .venv/bin/python benchmarks/bench_plugin.py --labels 100 --steps 10 --repeat 3   # quick
"""
import argparse
import concurrent.futures
import glob
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tb_metrics_plugin import metrics, summary  # noqa: E402
from tests.tb_server import TensorBoardServer, wait_until  # noqa: E402

P = "/data/plugin/tb_metrics"
RUN = "run"
TAG = "threshold_counts"


def log(*args):
    print(*args, flush=True)


# ---------------------------------------------------------------------------------------------
# Data


def make_counts(rng, num_labels, num_thresholds, n):
    y = rng.random((n, num_labels)) < rng.uniform(0.01, 0.4, size=num_labels)
    s = np.clip(y * 0.3 + rng.random((n, num_labels)) * 0.7, 0, 1)
    return metrics.confusion_counts(y, s, thresholds=num_thresholds,
                                    label_names=[f"label_{i:04d}" for i in range(num_labels)])


def pr_curve_values(counts, step, first):
    """pr_curves summary values of every label: the layout `pr_curve.summary.raw_data_pb`
    writes ([6, T] float32: tp, fp, tn, fn, precision, recall), metadata on the first step."""
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.pr_curve import metadata as pr_metadata
    from tensorboard.util import tensor_util

    values = []
    for i, name in enumerate(counts.label_names):
        tp, fp, tn, fn = (getattr(counts, k)[i].astype(np.float32) for k in ("tp", "fp", "tn", "fn"))
        precision = tp / np.maximum(1e-7, tp + fp)  # as pr_curve.summary computes them
        recall = tp / np.maximum(1e-7, tp + fn)
        data = np.stack((tp, fp, tn, fn, precision, recall)).astype(np.float32)
        value = summary_pb2.Summary.Value(tag=f"{name}/pr_curves",
                                          tensor=tensor_util.make_tensor_proto(data))
        if first:
            value.metadata.CopyFrom(pr_metadata.create_summary_metadata(
                display_name=name, description="", num_thresholds=counts.num_thresholds))
        values.append(value)
    return values


def check_same_as_raw_data_pb(counts):
    """The fast writer above produces what `raw_data_pb` produces (it needs TensorFlow)."""
    try:
        from tensorboard.plugins.pr_curve import summary as pr_summary
        from tensorboard.compat.proto import summary_pb2
    except ImportError:
        return "not checked"
    tp, fp, tn, fn = (getattr(counts, k)[0].astype(np.float32) for k in ("tp", "fp", "tn", "fn"))
    try:
        ref = pr_summary.raw_data_pb(counts.label_names[0], tp, fp, tn, fn,
                                     tp / np.maximum(1e-7, tp + fp), tp / np.maximum(1e-7, tp + fn),
                                     num_thresholds=counts.num_thresholds,
                                     display_name=counts.label_names[0])
    except ImportError:
        return "not checked (no TensorFlow)"
    ref = summary_pb2.Summary.FromString(ref.SerializeToString()).value[0]
    ours = pr_curve_values(counts, 0, True)[0]
    assert ref.tag == ours.tag and ref.metadata == ours.metadata
    from tensorboard.util import tensor_util
    assert np.array_equal(tensor_util.make_ndarray(ref.tensor), tensor_util.make_ndarray(ours.tensor))
    return "identical to raw_data_pb"


def write_logdirs(root, num_labels, num_thresholds, num_steps, n):
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    ours, pr = os.path.join(root, "tb_metrics"), os.path.join(root, "pr_curves")
    rng = np.random.default_rng(0)
    pr_writer = EventFileWriter(os.path.join(pr, RUN))
    check = None
    for step in range(num_steps):
        c = make_counts(rng, num_labels, num_thresholds, n)
        if check is None:
            check = check_same_as_raw_data_pb(c)
        summary.write_counts(os.path.join(ours, RUN), TAG, c, step, wall_time=1000.0 + step)
        pr_writer.add_event(event_pb2.Event(
            step=step, wall_time=1000.0 + step,
            summary=summary_pb2.Summary(value=pr_curve_values(c, step, step == 0))))
    summary.close_all()
    pr_writer.close()
    return ours, pr, check


def dir_bytes(path):
    return sum(os.path.getsize(f) for f in glob.glob(os.path.join(path, "**", "*tfevents*"),
                                                      recursive=True))


# ---------------------------------------------------------------------------------------------
# Client


def fetch(server, path, params=None):
    """GET with gzip; returns (parsed JSON, bytes on the wire)."""
    status, headers, body = server.get(path, params, headers={"Accept-Encoding": "gzip"})
    wire = len(body)
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    if status != 200:
        raise RuntimeError(f"{path} {params} -> {status}: {body[:200]!r}")
    return json.loads(body), wire


def load_ours(server):
    """What the threshold explorer loads to show every label's curves at the latest step."""
    t0 = time.perf_counter()
    tags, w1 = fetch(server, f"{P}/tags")
    (run, run_tags), = tags.items()
    tag = next(iter(run_tags))
    explorer, w2 = fetch(server, f"{P}/explorer", {"run": run, "tag": tag})
    elapsed = time.perf_counter() - t0
    assert len(explorer["labels"]) * len(explorer["thresholds"]) == len(explorer["tp"])
    return elapsed, w1 + w2, explorer


def load_pr_curves(server, workers):
    """What the pr_curves dashboard loads: its tags, then one request per tag (all steps)."""
    t0 = time.perf_counter()
    tags, wire = fetch(server, "/data/plugin/pr_curves/tags")
    (run, run_tags), = tags.items()

    def one(tag):
        data, w = fetch(server, "/data/plugin/pr_curves/pr_curves", {"run": run, "tag": tag})
        return len(data[run]), w

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, sorted(run_tags)))
    elapsed = time.perf_counter() - t0
    return elapsed, wire + sum(w for _, w in results), len(run_tags), {n for n, _ in results}


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def route_medians(server, run, tag, num_steps, repeat):
    mid = num_steps // 2
    routes = [
        ("tags", f"{P}/tags", None),
        ("warnings", f"{P}/warnings", None),
        ("steps", f"{P}/steps", {"run": run, "tag": tag}),
        ("counts (latest)", f"{P}/counts", {"run": run, "tag": tag}),
        ("explorer (latest)", f"{P}/explorer", {"run": run, "tag": tag}),
        (f"explorer (step={mid})", f"{P}/explorer", {"run": run, "tag": tag, "step": mid}),
        ("best_thresholds", f"{P}/best_thresholds", {"run": run, "tag": tag}),
        ("heatmap (threshold=0.5)", f"{P}/heatmap", {"run": run, "tag": tag, "threshold": 0.5}),
        ("heatmap (best)", f"{P}/heatmap", {"run": run, "tag": tag, "threshold": "best"}),
        ("series (threshold=0.5)", f"{P}/series", {"run": run, "tag": tag, "threshold": 0.5}),
    ]
    out = []
    for name, path, params in routes:
        _, wire = fetch(server, path, params)
        out.append((name, median_time(lambda: fetch(server, path, params), repeat), wire))
    return out


def rss(server):
    values = server.rss_bytes()
    main = values.pop(server.pid, 0)
    return main, sum(values.values())


def mib(n):
    return f"{n / 2**20:.1f} MiB"


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", type=int, default=1000)
    ap.add_argument("--thresholds", type=int, default=101)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--samples", type=int, default=500, help="examples per step")
    ap.add_argument("--repeat", type=int, default=5, help="repetitions for medians")
    ap.add_argument("--pr-workers", type=int, default=6, help="parallel pr_curves requests")
    ap.add_argument("--logdir", help="where to write (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the written logdirs")
    args = ap.parse_args()

    root = args.logdir or tempfile.mkdtemp(prefix="tbm_bench_")
    log(f"Writing {args.labels} labels x {args.thresholds} thresholds x {args.steps} steps "
        f"to {root} ...")
    t0 = time.perf_counter()
    ours_dir, pr_dir, check = write_logdirs(root, args.labels, args.thresholds, args.steps,
                                            args.samples)
    log(f"  written in {time.perf_counter() - t0:.1f} s (pr_curves data {check})")
    empty_dir = os.path.join(root, "empty")
    os.makedirs(empty_dir, exist_ok=True)

    servers = {
        "ours": TensorBoardServer(ours_dir),
        "ours_nocache": TensorBoardServer(ours_dir, env={"TB_METRICS_CACHE_MB": "0"}),
        "pr": TensorBoardServer(pr_dir),
        "empty": TensorBoardServer(empty_dir),
    }
    last_label = f"label_{args.labels - 1:04d}/pr_curves"
    try:
        for s in servers.values():
            s.start()
        for s in servers.values():
            s.wait_ready()
        t0 = time.perf_counter()
        for key in ("ours", "ours_nocache"):
            wait_until(lambda: fetch(servers[key], f"{P}/tags")[0].get(RUN, {}).get(TAG, {})
                       .get("max_step") == args.steps - 1, timeout=600, interval=0.5,
                       message="tb_metrics data to load")
        wait_until(lambda: len(fetch(servers["pr"], "/data/plugin/pr_curves/pr_curves",
                                     {"run": RUN, "tag": last_label})[0][RUN]) == args.steps,
                   timeout=900, interval=1, message="pr_curves data to load")
        log(f"  data loaded by the data servers in {time.perf_counter() - t0:.1f} s")

        # --- the threshold explorer's load vs the pr_curves dashboard's --------------------
        first, wire_ours, explorer = load_ours(servers["ours"])  # first request: cold cache
        assert explorer["step"] == args.steps - 1
        uncached = [load_ours(servers["ours_nocache"])[0] for _ in range(args.repeat)]
        warm = [load_ours(servers["ours"])[0] for _ in range(args.repeat)]
        log("Running the pr_curves side (one request per label) ...")
        pr_time, wire_pr, num_tags, steps_seen = load_pr_curves(servers["pr"], args.pr_workers)
        assert num_tags == args.labels and steps_seen == {args.steps}, (num_tags, steps_seen)
        ours_time = statistics.median(uncached)

        log("")
        log(f"== Threshold explorer load: every label's curves at the latest step "
            f"({args.labels} labels x {args.thresholds} thresholds, {args.steps} steps) ==")
        log(f"tb_metrics  tags + explorer: {ours_time * 1000:8.1f} ms  (median of {args.repeat}, "
            f"plugin cache off; first request {first * 1000:.1f} ms; cached "
            f"{statistics.median(warm) * 1000:.1f} ms)  2 requests, {mib(wire_ours)} gzipped")
        log(f"pr_curves   tags + {num_tags} x pr_curves: {pr_time * 1000:8.1f} ms  "
            f"({args.pr_workers} parallel connections)  {num_tags + 1} requests, "
            f"{mib(wire_pr)} gzipped")
        log(f"ratio (pr_curves / tb_metrics): {pr_time / ours_time:.0f}x "
            f"(vs first request: {pr_time / first:.0f}x; goal 100x)")

        # --- each route --------------------------------------------------------------------
        log("")
        log(f"== tb_metrics routes: median of {args.repeat} (ms), plugin cache off | on ==")
        off = route_medians(servers["ours_nocache"], RUN, TAG, args.steps, args.repeat)
        on = route_medians(servers["ours"], RUN, TAG, args.steps, args.repeat)
        for (name, t_off, wire), (_, t_on, _) in zip(off, on):
            log(f"  {name:26s} {t_off * 1000:9.1f} | {t_on * 1000:7.1f}   {mib(wire):>10s} gzipped")

        # --- disk and memory ---------------------------------------------------------------
        ours_bytes, pr_bytes = dir_bytes(ours_dir), dir_bytes(pr_dir)
        log("")
        log("== Disk ==")
        log(f"  tb_metrics: {ours_bytes / args.steps / 1024:9.1f} KiB per step "
            f"(bound 8*L*T + O(L+T) = {(8 * args.labels * args.thresholds) / 1024:.1f} KiB)")
        log(f"  pr_curves : {pr_bytes / args.steps / 1024:9.1f} KiB per step "
            f"({pr_bytes / ours_bytes:.1f}x)")
        log("")
        log("== Memory (VmRSS after serving): tensorboard + its Rust data server ==")
        for key, label in (("ours", "tb_metrics (cache on)"), ("ours_nocache", "tb_metrics (cache off)"),
                           ("pr", "pr_curves"), ("empty", "empty logdir (baseline)")):
            main_rss, child = rss(servers[key])
            log(f"  {label:26s} tensorboard {mib(main_rss):>11s} + data server {mib(child):>10s}"
                f" = {mib(main_rss + child)}")
    finally:
        for s in servers.values():
            s.terminate()
        for s in servers.values():
            s.stop()
        if not args.keep and not args.logdir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
