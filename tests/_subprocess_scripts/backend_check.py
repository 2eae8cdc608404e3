"""ThresholdCounts and CountsCallback on the backend KERAS_BACKEND names (one process each).

    KERAS_BACKEND=jax python backend_check.py OUT_DIR

1. Feeds every case of `common.special_cases` to ThresholdCounts, (a) eagerly with
   ``update_state`` in uneven batches (on JAX: the cases of ``common.JAX_EAGER_CASES``) and
   (b) compiled, through ``model.evaluate`` of a Keras model that outputs its input (the
   backend's compiled test step: tf.function with the metric's nested XLA on TensorFlow, and
   for the two main cases also ``jit_compile=True`` ("evaluate_jit"); jax.jit on JAX;
   PyTorch's eager step), and pickles
   ``{"backend": name, "counts": {case: {mode: Counts}}, "float64": Counts}`` to
   ``OUT_DIR/counts.pkl`` ("float64": `common.float64_case`, eager only).
2. Runs `fit_counts.run` (a small model.fit with CountsCallback, learning rate 0) into
   ``OUT_DIR/fit``.
The test process compares everything with `confusion_counts`.
"""
import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
import fit_counts  # noqa: E402


def _metric(case):
    import tb_metrics_plugin as tbm

    return tbm.ThresholdCounts(thresholds=case["thresholds"], from_logits=case["from_logits"],
                               weighted=case["sample_weight"] is not None)


def eager_counts(case):
    metric = _metric(case)
    y, s, w = case["y_true"], case["y_score"], case["sample_weight"]
    for start, stop in common.batches(len(y)):
        metric.update_state(y[start:stop], s[start:stop],
                            None if w is None else w[start:stop])
    return metric.counts()


def evaluate_counts(keras, case, jit_compile="auto"):
    y, s, w = case["y_true"], case["y_score"], case["sample_weight"]
    inputs = keras.Input(s.shape[1:])
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    metric = _metric(case)
    def no_loss(y_true, y_pred):  # Keras needs a loss; the scores hold NaN and inf
        return keras.ops.zeros_like(y_pred[..., 0])

    if w is None:
        model.compile(loss=no_loss, metrics=[metric], jit_compile=jit_compile)
    else:
        model.compile(loss=no_loss, weighted_metrics=[metric], jit_compile=jit_compile)
    model.evaluate(s, y, sample_weight=w, batch_size=common.BATCH_SIZES[0], verbose=0)
    return metric.counts()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    import keras

    results = {}
    for name, case in common.special_cases().items():
        t0 = time.time()
        results[name] = {}
        if keras.backend.backend() != "jax" or name in common.JAX_EAGER_CASES:
            results[name]["eager"] = eager_counts(case)
        t1 = time.time()
        results[name]["evaluate"] = evaluate_counts(keras, case)
        t2 = time.time()
        if keras.backend.backend() == "tensorflow" and name in ("probabilities", "logits"):
            results[name]["evaluate_jit"] = evaluate_counts(keras, case, jit_compile=True)
        print(f"{name}: eager {t1 - t0:.2f}s, evaluate {t2 - t1:.2f}s, "
              f"evaluate_jit {time.time() - t2:.2f}s", flush=True)
    float64 = eager_counts(common.float64_case())
    with open(os.path.join(out, "counts.pkl"), "wb") as f:
        pickle.dump({"backend": keras.backend.backend(), "counts": results,
                     "float64": float64}, f)
    fit_counts.run(os.path.join(out, "fit"))


if __name__ == "__main__":
    main()
