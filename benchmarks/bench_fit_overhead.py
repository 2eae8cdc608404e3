"""Whole-`fit` overhead of adding ThresholdCounts (and CountsCallback) to a Keras model.

    python benchmarks/bench_fit_overhead.py [--samples 51200] [--repeats 7] [--jit auto|on|off]
    KERAS_BACKEND=jax python benchmarks/bench_fit_overhead.py

A 2x256 ReLU MLP with 20 logit outputs, batch 256, 101 thresholds, trained with Adam. Four
models with the same weights: no metric, a second copy of it (a control: how much two identical
runs differ on this machine), `ThresholdCounts(from_logits=True)`, and the metric plus
`CountsCallback` writing every epoch. Each is compiled and warmed up (one short fit), then
one-epoch fits (with a validation set a fifth of the size) are timed in a shuffled order each
round, and the medians compared. Goal: the metric adds <= 10%.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tb_metrics_plugin as tbm  # noqa: E402

NUM_LABELS = 20
NUM_FEATURES = 64


def build(metric, jit, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((NUM_FEATURES,)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(NUM_LABELS),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[tbm.ThresholdCounts(thresholds=101, from_logits=True)] if metric else None,
        jit_compile=jit,
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=51200)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--jit", choices=("auto", "on", "off"), default="auto")
    args = parser.parse_args(argv)
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]

    rng = np.random.default_rng(0)
    w = rng.normal(size=(NUM_FEATURES, NUM_LABELS))
    x = rng.normal(size=(args.samples, NUM_FEATURES)).astype("float32")
    y = (x @ w + rng.normal(size=(args.samples, NUM_LABELS)) > 2.0).astype("float32")
    n_val = args.samples // 5
    xv, yv = x[:n_val] + 0.1, y[:n_val]
    log_dir = tempfile.mkdtemp(prefix="bench_fit_")

    configs = {
        "no metric": (build(False, jit), []),
        "no metric (control: a second copy)": (build(False, jit), []),
        "ThresholdCounts": (build(True, jit), []),
        "ThresholdCounts + CountsCallback": (build(True, jit), [tbm.CountsCallback(log_dir)]),
    }
    for model, callbacks in configs.values():  # compile and warm up
        model.fit(x[: args.batch * 4], y[: args.batch * 4], validation_data=(xv[:300], yv[:300]),
                  batch_size=args.batch, epochs=1, verbose=0, callbacks=callbacks)
    times = {name: [] for name in configs}
    order = list(configs)
    for _ in range(args.repeats):
        rng.shuffle(order)  # no config always runs first or last
        for name in order:
            model, callbacks = configs[name]
            start = time.perf_counter()
            model.fit(x, y, validation_data=(xv, yv), batch_size=args.batch, epochs=1,
                      verbose=0, callbacks=callbacks)
            times[name].append(time.perf_counter() - start)
    resolved = configs["ThresholdCounts"][0].jit_compile
    print(f"backend={keras.backend.backend()} jit_compile={resolved} samples={args.samples} "
          f"(+{n_val} validation) batch={args.batch} labels={NUM_LABELS} thresholds=101 "
          f"repeats={args.repeats} cpu_count={os.cpu_count()}")
    base = statistics.median(times["no metric"])
    for name, t in times.items():
        med = statistics.median(t)
        print(f"  {name:36s} median {med:6.3f} s  min {min(t):6.3f} s  "
              f"overhead {100 * (med / base - 1):+5.1f}%   all: "
              + " ".join(f"{v:.3f}" for v in t))
    print("goal: ThresholdCounts adds <= 10%")


if __name__ == "__main__":
    main()
