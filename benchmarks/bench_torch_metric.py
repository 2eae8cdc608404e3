"""tb_metrics_plugin.torch.ThresholdCounts against torchmetrics' binned PR curve, on CPU.

    python benchmarks/bench_torch_metric.py [--n 256] [--labels 1000] [--thresholds 200]

One update of N x L float32 scores plus compute() (each metric built and reset outside the
clock), one thread each (torch.set_num_threads(1)), side by side in one run:

* ours: ``ThresholdCounts(num_labels=L, thresholds=T)`` (searchsorted + bincount, int64 state);
* ``torchmetrics.classification.MultilabelPrecisionRecallCurve(num_labels=L, thresholds=T)``
  (binned: it compares every score with every threshold, N*L*T booleans per update);
* the floor: one pass over the same scores (``torch.bucketize`` on the cuts, and
  ``(scores >= 0.5).sum(0)``), what any exact counter must at least read.

Prints the median CPU time (and wall time) of several runs, the ratios (of CPU times), each one's peak memory (the rise of the process'
peak RSS over its baseline, measured in a fresh subprocess per contender), the state size after
1 and 10 batches (ours must not grow), and whether both count the same TP at every threshold.
No GPU is used (see the README for the device runs).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _data(n, num_l, seed=0):
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, num_l, generator=g), torch.randint(0, 2, (n, num_l), generator=g)


def _make(name, num_l, num_t):
    if name == "ours":
        from tb_metrics_plugin.torch import ThresholdCounts

        return ThresholdCounts(num_labels=num_l, thresholds=num_t)
    from torchmetrics.classification import MultilabelPrecisionRecallCurve

    return MultilabelPrecisionRecallCurve(num_labels=num_l, thresholds=num_t)


def _run_once(name, scores, labels, num_t, batches=1):
    import torch

    num_l = scores.shape[1]
    if name == "floor_bucketize":
        cuts = torch.linspace(0, 1, num_t)
        return torch.bucketize(scores, cuts, right=True)
    if name == "floor_sum":
        return (scores >= 0.5).sum(0)
    metric = _make(name, num_l, num_t)
    for _ in range(batches):
        metric.update(scores, labels)
    return metric, metric.compute()


def _time(name, scores, labels, num_t, repeats):
    """Median CPU seconds (and wall seconds) of one update + compute; metrics are built and
    reset outside the clock. CPU time of this one-thread process does not count the time other
    processes hold the cores, so it stays comparable on a busy machine."""
    cpu, wall = [], []
    metric = None if name.startswith("floor") else _make(name, scores.shape[1], num_t)
    for _ in range(repeats):
        if metric is not None:
            metric.reset()
        c0, w0 = time.process_time(), time.perf_counter()
        if metric is None:
            _run_once(name, scores, labels, num_t)
        else:
            metric.update(scores, labels)
            metric.compute()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall)


def _state_numel(metric):
    return sum(getattr(metric, k).numel() if hasattr(getattr(metric, k), "numel") else
               sum(x.numel() for x in getattr(metric, k)) for k in metric._defaults)


def _peak_kib(reset=False):
    """The process' peak RSS in KiB; ``reset`` restarts it from the current RSS (Linux)."""
    try:
        if reset:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM (a forked child inherits its parent's peak)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(name, n, num_l, num_t):
    """Peak RSS rise of one update + compute of ``name`` (run in a fresh process)."""
    import torch

    torch.set_num_threads(1)
    scores, labels = _data(n, num_l)
    _run_once(name, scores[:2], labels[:2], num_t)  # imports and first-call allocations
    base = _peak_kib(reset=True)
    _run_once(name, scores, labels, num_t)
    print(json.dumps({"peak_mib": (_peak_kib() - base) / 1024.0}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--thresholds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.n, args.labels, args.thresholds)
    import numpy as np
    import torch

    torch.set_num_threads(1)
    n, num_l, num_t = args.n, args.labels, args.thresholds
    scores, labels = _data(n, num_l)
    names = ["ours", "torchmetrics", "floor_bucketize", "floor_sum"]
    for name in names:  # warm up
        _run_once(name, scores, labels, num_t)
    timed = {name: _time(name, scores, labels, num_t, args.repeats) for name in names}
    secs = {name: cpu for name, (cpu, _) in timed.items()}
    peaks = {}
    for name in names:
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, "--n", str(n), "--labels", str(num_l),
             "--thresholds", str(num_t)], capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")})
        peaks[name] = json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"] \
            if out.returncode == 0 else float("nan")

    ours1, counts = _run_once("ours", scores, labels, num_t, batches=1)
    ours10, _ = _run_once("ours", scores, labels, num_t, batches=10)
    tm1, _ = _run_once("torchmetrics", scores, labels, num_t, batches=1)
    tm10, _ = _run_once("torchmetrics", scores, labels, num_t, batches=10)
    # Agreement: torchmetrics' binned state holds [T, L, 2, 2] (target, pred) counts.
    confmat = tm1.confmat.numpy()  # [T, L, 2, 2]
    tm_tp = confmat[:, :, 1, 1].T
    same = bool(np.array_equal(tm_tp, counts.tp))

    print(f"N={n} L={num_l} T={num_t}, CPU, 1 thread, one update + compute, median of "
          f"{args.repeats}; torch {torch.__version__}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':24s} {'CPU time':>10s} {'wall':>10s} {'peak RSS rise':>14s}")
    for name in names:
        print(f"{name:24s} {secs[name] * 1e3:8.2f}ms {timed[name][1] * 1e3:8.2f}ms "
              f"{peaks[name]:11.1f}MiB")
    print(f"speed-up over torchmetrics: {secs['torchmetrics'] / secs['ours']:.0f}x "
          f"(goal >= 300x)")
    print(f"ours / one bucketize pass (floor): {secs['ours'] / secs['floor_bucketize']:.2f}x; "
          f"ours / (scores >= 0.5).sum(0): {secs['ours'] / secs['floor_sum']:.1f}x; "
          f"torchmetrics / bucketize: {secs['torchmetrics'] / secs['floor_bucketize']:.0f}x")
    print(f"state numbers after 1 and 10 batches: ours {_state_numel(ours1)} -> "
          f"{_state_numel(ours10)}; torchmetrics {_state_numel(tm1)} -> {_state_numel(tm10)}")
    print(f"same TP at every threshold as torchmetrics: {same}")


if __name__ == "__main__":
    main()
