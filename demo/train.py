"""Trains the demo models with ThresholdCounts + CountsCallback and writes two runs.

    python -m demo.train --logdir demo_logs [--epochs 8]

Runs (each with train/ and validation/ as keras.callbacks.TensorBoard lays them out):

* ``bce``      plain binary cross-entropy on logits: ~97% binary accuracy (correct cells, the
               all-negative baseline), recall near zero at 0.5;
* ``weighted`` the same model with positives weighted 10x in the loss: the dashboard shows
               how the weighted loss and per-label thresholds recover recall and F1.
"""
import argparse
import os
import shutil
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from demo import data  # noqa: E402


def weighted_bce_from_logits(pos_weight):
    """Binary cross-entropy on logits with positives weighted ``pos_weight`` times."""
    import keras
    from keras import ops

    def loss(y_true, logits):
        y_true = ops.cast(y_true, logits.dtype)
        per_cell = pos_weight * y_true * ops.softplus(-logits) + (1 - y_true) * ops.softplus(logits)
        return ops.mean(per_cell, axis=-1)

    loss.__name__ = f"weighted_bce_{pos_weight:g}"
    return loss


def build_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((data.NUM_FEATURES,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(data.NUM_LABELS),  # logits
    ])


def train(logdir, epochs=8, runs=("bce", "weighted"), verbose=0):
    import keras

    import tb_metrics_plugin as tbm

    x, y = data.make_sparse_multilabel(6000, seed=0)
    xv, yv = data.make_sparse_multilabel(2000, seed=1)
    losses = {
        "bce": keras.losses.BinaryCrossentropy(from_logits=True),
        "weighted": weighted_bce_from_logits(10.0),
    }
    for run in runs:
        # A fresh run each time: a second event file would repeat every step.
        shutil.rmtree(os.path.join(logdir, run), ignore_errors=True)
        start = time.time()
        model = build_model()
        model.compile(
            optimizer=keras.optimizers.Adam(3e-3),
            loss=losses[run],
            metrics=[tbm.ThresholdCounts(from_logits=True, label_names=data.LABEL_NAMES)],
        )
        history = model.fit(
            x, y, validation_data=(xv, yv), epochs=epochs, batch_size=128, verbose=verbose,
            callbacks=[tbm.CountsCallback(os.path.join(logdir, run))],
        )
        logs = {k: v[-1] for k, v in history.history.items()}
        print(f"{run:9s} {time.time() - start:5.1f}s  "
              f"val binary accuracy {logs['val_threshold_counts_binary_accuracy']:.3f}  "
              f"val micro F1 {logs['val_threshold_counts_micro_f1']:.3f}  "
              f"val macro F1 {logs['val_threshold_counts_macro_f1']:.3f}  (at 0.5)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="demo_logs")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args(argv)
    start = time.time()
    train(args.logdir, epochs=args.epochs)
    print(f"Wrote runs to {args.logdir}/ in {time.time() - start:.0f}s.")


if __name__ == "__main__":
    main()
