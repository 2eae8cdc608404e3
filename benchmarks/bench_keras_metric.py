"""Times one compiled `update_state` of ThresholdCounts against Keras' AUC, side by side.

    python benchmarks/bench_keras_metric.py [--batch 256] [--labels 1000] [--thresholds 200]
                                            [--repeats 100] [--jit both|on|off]
    KERAS_BACKEND=jax python benchmarks/bench_keras_metric.py --jit on

ThresholdCounts(thresholds=T) against keras.metrics.AUC(num_thresholds=T, multi_label=True,
num_labels=L) on one batch of [B, L] scores, each update compiled as Keras compiles a train step:
a tf.function without XLA (Keras' default on a CPU-only machine) and with XLA on TensorFlow;
jax.jit of `stateless_update_state` on JAX; eager on PyTorch. Inputs are function arguments, not
constants, so nothing is folded away. After a warm-up the two metrics are timed alternately (so
machine load hits both alike) and the medians compared. Goal: ThresholdCounts <= 0.5x AUC.

A second line times `update_state` followed by `result()` in the same compiled function: what
every Keras train and test step runs (Keras returns the metric results as the step's logs).
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tb_metrics_plugin.keras_metric import ThresholdCounts  # noqa: E402


def compiled_step_tf(metric, jit, with_result):
    import tensorflow as tf

    @tf.function(jit_compile=jit)
    def step(y, s):
        metric.update_state(y, s)
        if with_result:
            return tf.nest.flatten(metric.result())[0]
        return tf.constant(0.0)  # the function returns after its stateful ops have run

    def run(y, s):
        step(y, s).numpy()

    return run


jit_args = {}


def compiled_step_jax(metric, jit, with_result):
    import jax

    def fn(variables, y, s):
        variables = metric.stateless_update_state(variables, y, s)
        out = metric.stateless_result(variables) if with_result else 0.0
        return variables, out

    # As Keras' JAX trainer compiles its steps: the state's buffers donated (updated in place).
    fn = jax.jit(fn, donate_argnums=0) if jit else fn
    if not metric.variables:  # ThresholdCounts builds its state from the first batch
        metric.update_state(*jit_args["first"])
        metric.reset_state()
    state = {"vars": [v.value for v in metric.variables]}

    def run(y, s):
        state["vars"], out = fn(state["vars"], y, s)
        jax.block_until_ready((state["vars"], out))

    return run


def compiled_step_torch(metric, jit, with_result):
    import torch

    def run(y, s):
        metric.update_state(y, s)
        if with_result:
            metric.result()
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    return run


def time_pair(make, jit, with_result, args, y, s):
    ours = ThresholdCounts(thresholds=args.thresholds, num_labels=args.labels)
    auc = keras.metrics.AUC(num_thresholds=args.thresholds, multi_label=True,
                            num_labels=args.labels)
    runners = {"ThresholdCounts": make(ours, jit, with_result),
               "AUC": make(auc, jit, with_result)}
    for run in runners.values():
        for _ in range(args.warmup):
            run(y, s)
    times = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run(y, s)
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    best = {name: min(t) * 1e3 for name, t in times.items()}
    what = "update_state + result" if with_result else "update_state         "
    ratio = med["ThresholdCounts"] / med["AUC"]
    print(f"jit_compile={jit!s:5} {what}  median: ThresholdCounts "
          f"{med['ThresholdCounts']:6.2f} ms  AUC {med['AUC']:6.2f} ms  ratio {ratio:.2f}x   "
          f"min: {best['ThresholdCounts']:6.2f} vs {best['AUC']:6.2f} ms "
          f"({best['ThresholdCounts'] / best['AUC']:.2f}x)")
    return ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--thresholds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--jit", choices=("both", "on", "off"), default="both")
    args = parser.parse_args(argv)

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    y = keras.ops.convert_to_tensor((rng.random((args.batch, args.labels)) < 0.1).astype("float32"))
    s = keras.ops.convert_to_tensor(rng.random((args.batch, args.labels)).astype("float32"))
    jit_args["first"] = (y, s)
    make = {"tensorflow": compiled_step_tf, "jax": compiled_step_jax,
            "torch": compiled_step_torch}[backend]
    jits = {"both": (False, True), "on": (True,), "off": (False,)}[args.jit]
    if backend == "torch":
        jits = (False,)
    print(f"backend={backend} batch={args.batch} labels={args.labels} "
          f"thresholds={args.thresholds} repeats={args.repeats} cpu_count={os.cpu_count()} "
          "(goal: ThresholdCounts <= 0.5x AUC)")
    return {(jit, with_result): time_pair(make, jit, with_result, args, y, s)
            for jit in jits for with_result in (False, True)}


if __name__ == "__main__":
    main()
