"""Scale: 10,000 labels x 101 thresholds, from counting to serving.

    .venv/bin/python benchmarks/bench_scale.py [--labels 10000] [--steps 100] [--samples 256]

Prints, for one run of ``--steps`` steps:
* `confusion_counts` time for one batch of ``--samples`` x labels (median of 5);
* the Keras metric's state in bytes (when Keras is importable);
* bytes per step on disk (ours) against TensorBoard's pr_curves format for the same curves;
* a real `tensorboard --samples_per_plugin=tb_metrics=0` process: resident memory once every
  step is loaded, and each route's median time and response size.
"""
import argparse
import glob
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tb_metrics_plugin import metadata, metrics, summary  # noqa: E402
from tests.tb_server import TensorBoardServer, wait_until  # noqa: E402
from bench_plugin import median_time  # noqa: E402  (benchmarks/ is on sys.path)

PREFIX = "/data/plugin/tb_metrics/"


def batch(num_labels, n, seed):
    rng = np.random.default_rng(seed)
    y = rng.random((n, num_labels)) < 0.02
    s = rng.random((n, num_labels), dtype=np.float32) * 0.7 + 0.3 * y
    return y, s


def keras_state_bytes(num_labels, thresholds):
    try:
        import keras

        from tb_metrics_plugin.keras_metric import ThresholdCounts
    except Exception as e:  # Keras or the metric unavailable
        return f"n/a ({type(e).__name__})"
    m = ThresholdCounts(thresholds=thresholds)
    y, s = batch(num_labels, 8, 0)
    m.update_state(y.astype("float32"), s)
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in m.variables)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", type=int, default=10000)
    parser.add_argument("--thresholds", type=int, default=101)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args()
    num_l, num_t = args.labels, args.thresholds
    print(f"# {num_l} labels x {num_t} thresholds, {args.steps} steps, batch {args.samples}")

    y, s = batch(num_l, args.samples, 0)
    t = median_time(lambda: metrics.confusion_counts(y, s, thresholds=num_t), 5)
    print(f"confusion_counts, one batch of {args.samples}x{num_l}: {t * 1e3:.1f} ms")
    print(f"Keras metric state: {keras_state_bytes(num_l, num_t)} bytes")

    logdir = args.logdir or tempfile.mkdtemp(prefix="tbm_scale_")
    run_dir = os.path.join(logdir, "big", "validation")
    start = time.perf_counter()
    if not glob.glob(os.path.join(run_dir, "*tfevents*")):  # an existing --logdir is reused
        with summary.CountsWriter(run_dir) as writer:
            for step in range(args.steps):
                y, s = batch(num_l, args.samples, step)
                writer.write("threshold_counts",
                             metrics.confusion_counts(y, s, thresholds=num_t), step)
    write_s = time.perf_counter() - start
    disk = sum(os.path.getsize(p) for p in glob.glob(os.path.join(run_dir, "*")))
    tensor_bytes = metadata.counts_to_tensor(
        metrics.confusion_counts(y, s, thresholds=num_t)).nbytes
    # pr_curves stores 6 float32 [T] arrays per label tag (tp, fp, tn, fn, precision, recall)
    pr_bytes = num_l * 6 * num_t * 4
    print(f"wrote {args.steps} steps in {write_s:.1f} s; on disk {disk / args.steps / 1e6:.2f} MB "
          f"per step (tensor {tensor_bytes / 1e6:.2f} MB; pr_curves' tensors for the same curves: "
          f"{pr_bytes / 1e6:.2f} MB, {pr_bytes / tensor_bytes:.1f}x)")

    server = TensorBoardServer(logdir, "--samples_per_plugin=tb_metrics=0").start()
    try:
        server.wait_ready()
        start = time.perf_counter()
        wait_until(lambda: server.get_json(PREFIX + "tags").get("big/validation", {})
                   .get("threshold_counts", {}).get("max_step") == args.steps - 1,
                   timeout=600, interval=1, message="all steps loaded")
        print(f"TensorBoard loaded every step after {time.perf_counter() - start:.1f} s")
        rss = server.rss_bytes()
        print(f"TensorBoard resident memory: {sum(rss.values()) / 1e6:.0f} MB "
              f"({', '.join(f'{v / 1e6:.0f}' for v in rss.values())} MB per process)")
        run = {"run": "big/validation", "tag": "threshold_counts"}
        routes = [
            ("tags", {}),
            ("steps", run),
            ("explorer", run),
            ("explorer (step 0)", dict(run, step="0")),
            ("counts", run),
            ("heatmap", dict(run, threshold="0.5")),
            ("series", dict(run, threshold="0.5")),
            ("best_thresholds", run),
        ]
        print(f"{'route':22s} {'first s':>8s} {'median s':>9s} {'bytes':>12s}")
        for name, params in routes:
            path = PREFIX + name.split(" ")[0]
            t0 = time.perf_counter()
            status, _, body = server.get(path, params)
            first = time.perf_counter() - t0
            med = median_time(lambda: server.get(path, params), 5)
            print(f"{name:22s} {first:8.3f} {med:9.3f} {len(body):12,d}  (HTTP {status})")
        rss = server.rss_bytes()
        print(f"TensorBoard resident memory after the requests: {sum(rss.values()) / 1e6:.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
