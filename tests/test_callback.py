"""CountsCallback with real Keras training (TensorFlow backend).

With a learning rate of 0 the weights never change, so the counts written for an epoch must equal
`confusion_counts` over `model.predict` on the same data: the train counts over the epoch's
training data, the validation counts over the validation data.
"""
import functools
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import tb_metrics_plugin as tbm
from tb_metrics_plugin import callback as callback_module
from tb_metrics_plugin import metrics as M

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F32 = np.float32


def frozen(model, loss, metrics, jit_compile="auto", **kwargs):
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss, metrics=metrics,
                  jit_compile=jit_compile, **kwargs)
    return model


def mlp(inputs, outputs, activation=None, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(outputs, activation=activation)])


def read(log_dir, sub, tag="threshold_counts"):
    path = os.path.join(log_dir, sub)
    if not os.path.isdir(path):
        return []
    return tbm.read_counts(path).get(tag, [])


def assert_written(log_dir, epochs, train_want, val_want=None, tag="threshold_counts"):
    train = read(log_dir, "train", tag)
    assert [step for step, _ in train] == list(range(epochs))
    for _, counts in train:
        assert counts == train_want
    if val_want is not None:
        val = read(log_dir, "validation", tag)
        assert [step for step, _ in val] == list(range(epochs))
        for _, counts in val:
            assert counts == val_want


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return {
        "x": rng.normal(size=(192, 6)).astype(F32),
        "xv": rng.normal(size=(80, 6)).astype(F32),
        "y20": (rng.random((192, 20)) < 0.2).astype(F32),
        "yv20": (rng.random((80, 20)) < 0.2).astype(F32),
        "rng": rng,
    }


# -- the shapes of DESIGN.md, in real fits -------------------------------------------------------


@pytest.mark.parametrize("jit_compile", [False, True])
def test_multilabel_logits_train_and_validation_counts(tmp_path, data, jit_compile):
    names = [f"label{i}" for i in range(20)]
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                   [tbm.ThresholdCounts(from_logits=True, label_names=names)], jit_compile)
    history = model.fit(data["x"], data["y20"], validation_data=(data["xv"], data["yv20"]),
                        epochs=2, batch_size=64, verbose=0,
                        callbacks=[tbm.CountsCallback(tmp_path)])
    assert model.jit_compile == jit_compile
    want = M.confusion_counts(data["y20"], model.predict(data["x"], verbose=0),
                              from_logits=True, label_names=names)
    val_want = M.confusion_counts(data["yv20"], model.predict(data["xv"], verbose=0),
                                  from_logits=True, label_names=names)
    assert_written(tmp_path, 2, want, val_want)
    # the logged headline scalars are the counts' metrics at 0.5
    i = val_want.threshold_index(0.5)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert logs["val_threshold_counts_macro_f1"] == pytest.approx(val_want.f1("macro")[i], 1e-6)
    assert logs["val_threshold_counts_micro_f1"] == pytest.approx(val_want.f1("micro")[i], 1e-6)
    assert logs["threshold_counts_binary_accuracy"] == pytest.approx(
        want.binary_accuracy()[i], 1e-6)
    assert logs["threshold_counts_exact_match_accuracy"] == pytest.approx(
        want.exact_match_accuracy()[i], abs=1e-7)


def test_single_sigmoid_output(tmp_path, data):
    y = (data["rng"].random(192) < 0.3).astype(F32)  # [N] labels with [N, 1] scores
    model = frozen(mlp(6, 1, "sigmoid"), "binary_crossentropy", [tbm.ThresholdCounts()])
    model.fit(data["x"], y, epochs=1, batch_size=64, verbose=0,
              callbacks=[tbm.CountsCallback(tmp_path)])
    assert_written(tmp_path, 1, M.confusion_counts(y, model.predict(data["x"], verbose=0)))
    assert not os.path.exists(tmp_path / "validation")


def test_sparse_integer_labels_with_softmax(tmp_path, data):
    y = data["rng"].integers(0, 4, 192)
    yv = data["rng"].integers(0, 4, 80)
    model = frozen(mlp(6, 4, "softmax"), "sparse_categorical_crossentropy",
                   [tbm.ThresholdCounts(label_names=["a", "b", "c", "d"]), "accuracy"])
    model.fit(data["x"], y, validation_data=(data["xv"], yv), epochs=1, batch_size=64, verbose=0,
              callbacks=[tbm.CountsCallback(tmp_path)])
    names = ["a", "b", "c", "d"]
    assert_written(tmp_path, 1,
                   M.confusion_counts(y, model.predict(data["x"], verbose=0), label_names=names),
                   M.confusion_counts(yv, model.predict(data["xv"], verbose=0), label_names=names))


def test_sequence_outputs(tmp_path, data):
    rng = data["rng"]
    x = rng.normal(size=(32, 60, 3)).astype(F32)
    y = (rng.random((32, 60, 1)) < 0.3).astype(F32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((60, 3)), keras.layers.Dense(1, activation="sigmoid")])
    frozen(model, "binary_crossentropy", [tbm.ThresholdCounts()])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[tbm.CountsCallback(tmp_path)])
    want = M.confusion_counts(y, model.predict(x, verbose=0))
    assert want.n == 32 * 60
    assert_written(tmp_path, 1, want)


def test_two_outputs_do_not_collide(tmp_path, data):
    rng = data["rng"]
    ya = (rng.random((192, 5)) < 0.3).astype(F32)
    yb = rng.integers(0, 3, 192)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, {
        "tags": keras.layers.Dense(5, activation="sigmoid", name="tags")(hidden),
        "kind": keras.layers.Dense(3, activation="softmax", name="kind")(hidden),
    })
    frozen(model, {"tags": "binary_crossentropy", "kind": "sparse_categorical_crossentropy"},
           {"tags": [tbm.ThresholdCounts()], "kind": [tbm.ThresholdCounts(), "accuracy"]})
    history = model.fit(data["x"], {"tags": ya, "kind": yb}, epochs=1, batch_size=64, verbose=0,
                        callbacks=[tbm.CountsCallback(tmp_path)])
    # Keras names per-output metrics <output>_<name>; ThresholdCounts follows for keys and tags.
    for output in ("tags", "kind"):
        for key in ("micro_f1", "macro_f1", "binary_accuracy", "exact_match_accuracy"):
            assert f"{output}_threshold_counts_{key}" in history.history
    assert "threshold_counts_micro_f1" not in history.history
    pred = model.predict(data["x"], verbose=0)
    assert_written(tmp_path, 1, M.confusion_counts(ya, pred["tags"]), tag="tags_threshold_counts")
    assert_written(tmp_path, 1, M.confusion_counts(yb, pred["kind"]), tag="kind_threshold_counts")


# -- fit features ----------------------------------------------------------------------------------


def test_early_stopping_monitors_validation_macro_f1(tmp_path, data):
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                   [tbm.ThresholdCounts(from_logits=True)])
    stop = keras.callbacks.EarlyStopping(monitor="val_threshold_counts_macro_f1", mode="max",
                                         patience=1)
    with _no_warning_about_monitor():
        history = model.fit(data["x"], data["y20"], validation_data=(data["xv"], data["yv20"]),
                            epochs=6, batch_size=64, verbose=0,
                            callbacks=[stop, tbm.CountsCallback(tmp_path)])
    # Learning rate 0: no improvement after the first epoch, so patience 1 stops after two.
    assert history.epoch == [0, 1]
    assert [s for s, _ in read(tmp_path, "validation")] == [0, 1]


class _no_warning_about_monitor:
    """Fails if Keras warns that the monitored metric is missing from the logs."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self._records = self._catch.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        bad = [str(r.message) for r in self._records if "not available" in str(r.message)]
        assert not bad, bad


def test_validation_freq_and_update_freq_batches(tmp_path, data):
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                   [tbm.ThresholdCounts(from_logits=True)])
    model.fit(data["x"], data["y20"], validation_data=(data["xv"], data["yv20"]),
              validation_freq=2, epochs=2, batch_size=32, shuffle=False, verbose=0,
              callbacks=[tbm.CountsCallback(tmp_path, update_freq=4)])
    pred = model.predict(data["x"], verbose=0)
    want = M.confusion_counts(data["y20"], pred, from_logits=True)
    assert_written(tmp_path, 2, want)
    assert [s for s, _ in read(tmp_path, "validation")] == [1]  # (epoch + 1) % 2 == 0
    # 6 batches per epoch: cumulative train counts of the epoch so far at global batches 4, 8, 12
    batch = read(tmp_path, "train", "threshold_counts_batch")
    assert [s for s, _ in batch] == [4, 8, 12]
    rows = {4: 4 * 32, 8: 2 * 32, 12: 6 * 32}  # 8 = batch 2 of epoch 2, 12 = its last batch
    for step, counts in batch:
        n = rows[step]
        assert counts == M.confusion_counts(data["y20"][:n], pred[:n], from_logits=True)


def test_weighted_metrics_with_sample_weight(tmp_path, data):
    w = data["rng"].random(192).astype(F32)
    model = mlp(6, 20)
    frozen(model, keras.losses.BinaryCrossentropy(from_logits=True), None,
           weighted_metrics=[tbm.ThresholdCounts(from_logits=True, weighted=True)])
    model.fit(data["x"], data["y20"], sample_weight=w, epochs=1, batch_size=64, verbose=0,
              callbacks=[tbm.CountsCallback(tmp_path)])
    ((step, got),) = read(tmp_path, "train")
    want = M.confusion_counts(data["y20"], model.predict(data["x"], verbose=0), from_logits=True,
                              sample_weight=w)
    assert got.weighted and step == 0
    for field in ("tp", "fp", "tn", "fn", "exact_match", "nan"):
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=1e-5, atol=1e-4)


def test_unweighted_metric_given_sample_weights_explains_the_fix(data):
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True), None,
                   weighted_metrics=[tbm.ThresholdCounts(from_logits=True)])
    with pytest.raises(ValueError, match=r"weighted=True"):
        model.fit(data["x"], data["y20"], sample_weight=np.ones(192, F32), epochs=1, verbose=0)


@pytest.mark.parametrize("metrics", [None, ["accuracy"]])
def test_model_without_the_metric_gets_the_line_to_add(tmp_path, data, metrics):
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True), metrics)
    with pytest.raises(ValueError, match=r"metrics=\[tbm\.ThresholdCounts\(\)\]"):
        model.fit(data["x"], data["y20"], epochs=1, verbose=0,
                  callbacks=[tbm.CountsCallback(tmp_path)])
    assert not os.path.exists(tmp_path / "train")


def test_bad_update_freq():
    with pytest.raises(ValueError, match=r"update_freq"):
        tbm.CountsCallback("logs", update_freq="batch")


# -- multi-worker: only the chief writes ---------------------------------------------------------


@pytest.mark.parametrize("task, cluster, chief", [
    ({"type": "chief", "index": 0}, {"chief": ["a"], "worker": ["b"]}, True),
    ({"type": "worker", "index": 0}, {"chief": ["a"], "worker": ["b"]}, False),
    ({"type": "worker", "index": 0}, {"worker": ["a", "b"]}, True),
    ({"type": "worker", "index": 1}, {"worker": ["a", "b"]}, False),
    ({"type": "evaluator", "index": 0}, {"worker": ["a"]}, False),
])
def test_is_chief(monkeypatch, task, cluster, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert callback_module.is_chief() is chief


def test_non_chief_writes_nothing(tmp_path, data, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": {"worker": ["a", "b"]}, "task": {"type": "worker", "index": 1}}))
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                   [tbm.ThresholdCounts(from_logits=True)])
    model.fit(data["x"], data["y20"], epochs=1, batch_size=64, verbose=0,
              callbacks=[tbm.CountsCallback(tmp_path)])
    assert not os.listdir(tmp_path)


MIRRORED_SCRIPT = textwrap.dedent("""
    import sys, tempfile
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np, keras
    import tb_metrics_plugin as tbm
    from tb_metrics_plugin import metrics as M
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    y = (rng.random((256, 6)) < 0.3).astype(np.float32)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6)])
        model.compile(optimizer=keras.optimizers.SGD(0.0),
                      loss=keras.losses.BinaryCrossentropy(from_logits=True),
                      metrics=[tbm.ThresholdCounts(from_logits=True)])
    log_dir = tempfile.mkdtemp()
    model.fit(x, y, validation_data=(x[:100], y[:100]), epochs=1, batch_size=64, verbose=0,
              callbacks=[tbm.CountsCallback(log_dir)])
    p = model.predict(x, verbose=0)
    ((_, train),) = tbm.read_counts(log_dir + "/train")["threshold_counts"]
    ((_, val),) = tbm.read_counts(log_dir + "/validation")["threshold_counts"]
    assert train == M.confusion_counts(y, p, from_logits=True)
    assert val == M.confusion_counts(y[:100], p[:100], from_logits=True)
    print("MIRRORED_OK", strategy.num_replicas_in_sync)
""")


@pytest.mark.slow
def test_mirrored_strategy_sums_replicas():
    env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "MIRRORED_OK 2" in proc.stdout


def test_two_metrics_with_one_name_on_one_output_are_refused(tmp_path, data):
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                   [tbm.ThresholdCounts(from_logits=True), tbm.ThresholdCounts(thresholds=11)])
    with pytest.raises(ValueError, match=r"Give each its own name"):
        model.fit(data["x"], data["y20"], epochs=1, verbose=0,
                  callbacks=[tbm.CountsCallback(tmp_path)])


# -- nothing silent: warnings once per tag, a tag's shape is fixed -------------------------------


class _Recorded:
    """Records every warning raised in the block (each one, not once per location)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self.records = self._catch.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)

    def matching(self, text):
        return [str(r.message) for r in self.records
                if issubclass(r.category, UserWarning) and text in str(r.message)]


LOGITS_LOSS = "reads the model's outputs as logits"
PROBS_LOSS = "reads the model's outputs as probabilities"
OUT_OF_RANGE = "lie outside [0, 1]"
NAN = "NaN score"


def test_logits_read_as_probabilities_warn_once_per_tag(tmp_path, data):
    # The seed-001 fault: a logits model, a BCE(from_logits=True) loss, the metric's default
    # from_logits=False. Three epochs with validation read the counts six times: each warning
    # comes once, with the share of out-of-range scores and the fix.
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                   [tbm.ThresholdCounts()])
    with _Recorded() as rec:
        model.fit(data["x"], data["y20"], validation_data=(data["xv"], data["yv20"]),
                  epochs=3, batch_size=64, verbose=0, callbacks=[tbm.CountsCallback(tmp_path)])
    (mismatch,) = rec.matching(LOGITS_LOSS)
    assert "ThresholdCounts(from_logits=True)" in mismatch and "'threshold_counts'" in mismatch
    (oor,) = rec.matching(OUT_OF_RANGE)
    with pytest.warns(UserWarning, match=r"lie outside \[0, 1\]"):  # the numpy API warns too
        train = M.confusion_counts(data["y20"], model.predict(data["x"], verbose=0))
    share = train.out_of_range_share()
    assert 0.2 < share < 1  # a Dense layer's logits: many outside [0, 1]
    assert f"{100 * share:.3g}% of the scores in tag 'threshold_counts'" in oor
    assert "from_logits=True" in oor and str(tmp_path / "train") in oor
    assert not rec.matching(NAN) and not rec.matching(PROBS_LOSS)
    # warned, not refused: every epoch was written, counted as the metric was told
    assert_written(tmp_path, 3, train)


def test_probabilities_read_as_logits_warn_once(tmp_path, data):
    y = (data["rng"].random(192) < 0.3).astype(F32)
    model = frozen(mlp(6, 1, "sigmoid"), "binary_crossentropy",
                   [tbm.ThresholdCounts(from_logits=True)])
    with _Recorded() as rec:
        model.fit(data["x"], y, validation_data=(data["xv"], y[:80]), epochs=2, batch_size=64,
                  verbose=0, callbacks=[tbm.CountsCallback(tmp_path)])
    (mismatch,) = rec.matching(PROBS_LOSS)
    assert "binary_crossentropy" in mismatch and "ThresholdCounts(from_logits=False)" in mismatch
    assert not rec.matching(OUT_OF_RANGE) and not rec.matching(LOGITS_LOSS)
    # ... and the counts say it too: every sigmoid output lies in [0, 1] (once per tag)
    (probs,) = rec.matching("they look like probabilities")
    assert "all 192 scores in tag 'threshold_counts'" in probs and "from_logits=False" in probs


def test_one_hot_data_without_multiclass_gets_a_hint_once(tmp_path, data):
    y = np.eye(3, dtype=F32)[data["rng"].integers(0, 3, 192)]
    model = frozen(mlp(6, 3, "softmax"), "categorical_crossentropy", [tbm.ThresholdCounts()])
    with _Recorded() as rec:
        model.fit(data["x"], y, validation_data=(data["xv"], y[:80]), epochs=2, batch_size=64,
                  verbose=0, callbacks=[tbm.CountsCallback(tmp_path)])
    (hint,) = rec.matching("exactly one positive label")
    assert "192 samples in tag 'threshold_counts'" in hint and "multiclass=True" in hint
    # with multiclass=True (the matrix is kept) there is nothing to hint
    model = frozen(mlp(6, 3, "softmax"), "categorical_crossentropy",
                   [tbm.ThresholdCounts(multiclass=True)])
    with _Recorded() as rec:
        model.fit(data["x"], y, epochs=1, batch_size=64, verbose=0,
                  callbacks=[tbm.CountsCallback(tmp_path / "mc")])
    assert not rec.matching("exactly one positive label")


def test_matching_loss_and_metric_warn_nothing(tmp_path, data):
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                   [tbm.ThresholdCounts(from_logits=True)])
    with _Recorded() as rec:
        model.fit(data["x"], data["y20"], validation_data=(data["xv"], data["yv20"]),
                  epochs=2, batch_size=64, verbose=0, callbacks=[tbm.CountsCallback(tmp_path)])
    ours = [str(r.message) for r in rec.records
            if "from_logits" in str(r.message) or NAN in str(r.message)]
    assert not ours


def test_multi_output_mismatch_names_the_output(tmp_path, data):
    rng = data["rng"]
    ya = (rng.random((192, 5)) < 0.3).astype(F32)
    yb = rng.integers(0, 3, 192)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, {
        "tags": keras.layers.Dense(5, name="tags")(hidden),
        "kind": keras.layers.Dense(3, activation="softmax", name="kind")(hidden),
    })
    frozen(model, {"tags": keras.losses.BinaryCrossentropy(from_logits=True),
                   "kind": "sparse_categorical_crossentropy"},
           {"tags": [tbm.ThresholdCounts(from_logits=True)],
            "kind": [tbm.ThresholdCounts(from_logits=True)]})
    with _Recorded() as rec:
        model.fit(data["x"], {"tags": ya, "kind": yb}, epochs=2, batch_size=64, verbose=0,
                  callbacks=[tbm.CountsCallback(tmp_path)])
    (mismatch,) = rec.matching(PROBS_LOSS)
    assert "output 'kind'" in mismatch and "'kind_threshold_counts'" in mismatch
    assert not rec.matching(LOGITS_LOSS) and not rec.matching(OUT_OF_RANGE)


def test_nan_scores_warn_once_with_how_many_and_where(tmp_path, data):
    # NaN inputs make every score of their rows NaN (one Dense layer: a ReLU would turn NaN into
    # 0); the model is not trainable, so the NaN loss changes nothing and the counts stay known.
    x = data["x"].copy()
    x[[3, 50, 100]] = np.nan
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(20, activation="sigmoid")])
    model.trainable = False
    frozen(model, "binary_crossentropy", [tbm.ThresholdCounts()])
    with _Recorded() as rec:
        model.fit(x, data["y20"], epochs=3, batch_size=64, verbose=0,
                  callbacks=[tbm.CountsCallback(tmp_path)])
    (nan,) = rec.matching(NAN)
    assert nan.startswith("60 NaN scores were counted in tag 'threshold_counts'")
    assert "on 20 labels: 0 (3), 1 (3), 2 (3), 3 (3), 4 (3) and 15 more" in nan
    assert "never positive" in nan
    want = M.confusion_counts(data["y20"], model.predict(x, verbose=0))
    assert want.nan.tolist() == [3] * 20
    assert_written(tmp_path, 3, want)
    assert not rec.matching(OUT_OF_RANGE)


def test_changed_thresholds_after_a_restart_are_refused_before_writing(tmp_path, data):
    # A model recompiled with other thresholds, writing into the same log_dir (as after a
    # restart: a new callback, a new writer that reads the tag's shape from the files).
    def fit(thresholds, epochs):
        model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                       [tbm.ThresholdCounts(thresholds=thresholds, from_logits=True)])
        model.fit(data["x"], data["y20"], validation_data=(data["xv"], data["yv20"]),
                  epochs=epochs, batch_size=64, verbose=0,
                  callbacks=[tbm.CountsCallback(tmp_path)])
        return model

    model = fit(11, 2)
    files = {sub: sorted(os.listdir(tmp_path / sub)) for sub in ("train", "validation")}
    with pytest.raises(ValueError) as info:
        fit(21, 2)
    message = str(info.value)
    assert "'threshold_counts'" in message and str(tmp_path / "train") in message
    assert "11 thresholds -> 21" in message and "a new log_dir" in message
    assert "ThresholdCounts(name=...)" in message
    # nothing of the second fit was written: no new file, the first fit's steps read back
    assert {sub: sorted(os.listdir(tmp_path / sub)) for sub in files} == files
    want = M.confusion_counts(data["y20"], model.predict(data["x"], verbose=0), thresholds=11,
                              from_logits=True)
    assert_written(tmp_path, 2, want)
    # the same shape into the same log_dir is fine (a resumed run appends)
    fit(11, 1)


def test_a_second_fit_without_initial_epoch_warns_that_tensorboard_hides_steps(tmp_path, data):
    """Keras restarts epochs at 0 in a second fit(): written at steps 0, 1 again, TensorBoard
    would hide the first fit's epochs. The writer says so and names initial_epoch."""
    model = frozen(mlp(6, 20), keras.losses.BinaryCrossentropy(from_logits=True),
                   [tbm.ThresholdCounts(from_logits=True)])
    cb = tbm.CountsCallback(tmp_path)
    fit = functools.partial(model.fit, data["x"], data["y20"], batch_size=64, verbose=0,
                            callbacks=[cb])
    with _Recorded() as rec:
        fit(epochs=2)
        assert not rec.matching("does not grow") and not rec.matching("now at step")
        fit(epochs=1)
    (warning,) = rec.matching("was written at step 1 and now at step 0")
    assert "initial_epoch" in warning and "'threshold_counts'" in warning
    with _Recorded() as rec:
        fit(epochs=4, initial_epoch=2)  # epochs 2 and 3: growing again
    assert not rec.matching("now at step")
    assert [s for s, _ in read(tmp_path, "train")] == [0, 2, 3]  # TensorBoard's view
    # The README's quickstart run again: a new CountsCallback into the same log_dir
    with _Recorded() as rec:
        model.fit(data["x"], data["y20"], batch_size=64, epochs=1, verbose=0,
                  callbacks=[tbm.CountsCallback(tmp_path)])
    (again,) = rec.matching("already holds steps up to 3")
    assert "now written at step 0" in again and "initial_epoch" in again
