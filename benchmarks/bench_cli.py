"""`tb-metrics report` wall time: TensorBoard's pure-Python reader against TensorFlow's reader.

    python benchmarks/bench_cli.py [--labels 1000] [--steps 5 20]

Writes one run per step count (``--labels`` labels, 101 thresholds) with demo.fixtures, then
times a fresh `tb-metrics report` process with each reader (median of ``--repeats``) and prints
the ratio. `tb_metrics_plugin.cli.PURE_PYTHON_MAX_BYTES` picks the pure-Python reader below the
size where it stops being faster.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from demo.fixtures import write_fixture_runs  # noqa: E402

# Run the command line with one reader forced: "notf" makes TensorBoard skip TensorFlow.
FORCE = ("import sys, types\n"
         "if sys.argv[1] == 'pure':\n"
         "    sys.modules['tensorboard.compat.notf'] = types.ModuleType('notf')\n"
         "else:\n"
         "    import tensorflow\n"
         "from tb_metrics_plugin import cli\n"
         "sys.exit(cli.main(sys.argv[2:]))\n")


def wall(reader, path, repeats):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", FORCE, reader, "report", path], check=True,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'event MB':>9} {'pure-Python s':>14} {'TensorFlow s':>13} {'ratio':>6}")
        for steps in args.steps:
            logdir = os.path.join(tmp, f"s{steps}")
            write_fixture_runs(logdir, runs=("r",), subdirs=("",), num_labels=args.labels,
                               steps=steps, n=1000)
            path = os.path.join(logdir, "r")
            size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
            pure = wall("pure", path, args.repeats)
            tf = wall("tf", path, args.repeats)
            print(f"{size / 2**20:9.1f} {pure:14.2f} {tf:13.2f} {pure / tf:6.2f}")


if __name__ == "__main__":
    main()
