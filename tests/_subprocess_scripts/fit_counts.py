"""Fits the exact model of `common` with ThresholdCounts + CountsCallback (learning rate 0).

    python fit_counts.py OUT_DIR [--logdir DIR] [--epochs E] [--sleep S]
                         [--strategy none|mirrored|multiworker|jax_data_parallel]

CountsCallback writes to ``--logdir`` (default ``OUT_DIR/logs``): runs ``train`` and
``validation``. ``OUT_DIR/predict_{train,val}.npy`` get ``model.predict`` after fit, and
``OUT_DIR/result.json`` the backend, pid, replicas and whether this process is the chief.

KERAS_BACKEND picks the backend. ``mirrored``: MirroredStrategy over two logical CPU devices
(set up before TensorFlow initialises). ``multiworker``: MultiWorkerMirroredStrategy from
TF_CONFIG (run one process per worker). ``jax_data_parallel``: keras.distribution.DataParallel
over every JAX device (run with XLA_FLAGS=--xla_force_host_platform_device_count=2).
``--sleep S``: a callback placed after CountsCallback prints ``epoch_end E`` once CountsCallback
has handled epoch E's end, then sleeps S seconds (for the SIGKILL test).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

from common import BATCH, N_TRAIN, N_VAL, TRAIN_SEED, VAL_SEED  # noqa: E402
STRATEGIES = ("none", "mirrored", "multiworker", "jax_data_parallel")


def _work_around_keras_multi_worker_reduce(tf, strategy):
    """Keras 3 (3.15 here; keras-team/keras#20585) cannot `fit` under MultiWorkerMirroredStrategy
    as it is: it calls ``strategy.reduce`` on a *tuple* of per-replica batches (the collective
    implementation takes one value only) and reduces the scalar logs with ``axis=0``. This
    reduces each value on its own, and scalars without an axis. It changes only how Keras reduces
    the data batch and the logs; the metric's variables and their cross-worker sum are untouched.
    """
    reduce = strategy.reduce

    def reduce_each(reduce_op, value, axis=None):
        def one(v):
            rank = strategy.experimental_local_results(v)[0].shape.rank
            return reduce(reduce_op, v, axis=None if rank == 0 else axis)

        return tf.nest.map_structure(one, value)

    strategy.reduce = reduce_each


def _make_strategy(name, info):
    if name == "mirrored":
        import tensorflow as tf

        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        assert len(devices) == 2, devices
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        import tensorflow as tf

        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _work_around_keras_multi_worker_reduce(tf, strategy)
        return strategy
    if name == "jax_data_parallel":
        import jax
        import keras

        devices = jax.devices()
        assert len(devices) == 2, devices
        distribution = keras.distribution.DataParallel(devices=devices)
        keras.distribution.set_distribution(distribution)
        info["replicas"] = len(devices)
        # How a batch is laid out: split along the batch axis over the devices.
        info["data_layout"] = list(distribution.get_data_layout((BATCH, common.FEATURES)).axes)
    return None


def run(out, logdir=None, strategy_name="none", epochs=2, sleep=0.0):
    """Fits and writes (see the module's docstring); returns the info dict."""
    import keras
    import numpy as np

    import tb_metrics_plugin as tbm
    from tb_metrics_plugin.callback import is_chief

    os.makedirs(out, exist_ok=True)
    info = {"backend": keras.backend.backend(), "pid": os.getpid(), "strategy": strategy_name}
    strategy = _make_strategy(strategy_name, info)
    if strategy is not None:
        info["replicas"] = strategy.num_replicas_in_sync
        with strategy.scope():
            model = common.compile_model(keras, common.build_model(keras))
    else:
        model = common.compile_model(keras, common.build_model(keras))

    x, y = common.make_data(N_TRAIN, TRAIN_SEED)
    xv, yv = common.make_data(N_VAL, VAL_SEED)
    callbacks = [tbm.CountsCallback(logdir or os.path.join(out, "logs"))]
    if sleep:
        class SlowAndTell(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                print(f"epoch_end {epoch}", flush=True)
                time.sleep(sleep)

        callbacks.append(SlowAndTell())
    if strategy_name == "multiworker":
        # Every worker must shuffle alike before the dataset is sharded between them (Keras'
        # shuffle=True on arrays shuffles each worker differently: samples are then seen twice
        # or never, whatever the metric does). A fixed seed does it.
        import tensorflow as tf

        train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(N_TRAIN, seed=7).batch(BATCH)
        model.fit(train, validation_data=(xv, yv), batch_size=BATCH, epochs=epochs,
                  callbacks=callbacks, verbose=0)
    else:
        model.fit(x, y, validation_data=(xv, yv), batch_size=BATCH, epochs=epochs,
                  shuffle=True, callbacks=callbacks, verbose=0)
    info["is_chief"] = bool(is_chief())
    for name, data in (("train", x), ("val", xv)):
        np.save(os.path.join(out, f"predict_{name}.npy"),
                np.asarray(model.predict(data, batch_size=BATCH, verbose=0)))
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(info, f)
    return info


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--logdir", default=None, help="default: OUT/logs")
    parser.add_argument("--strategy", default="none", choices=STRATEGIES)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args()
    if args.strategy == "mirrored":
        # Must happen before TensorFlow initialises its devices.
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    run(args.out, args.logdir, args.strategy, args.epochs, args.sleep)


if __name__ == "__main__":
    main()
