"""`fit_checks`: how a loss reads the outputs, which loss belongs to which metric, the messages.

Compiled models only (no fit): the real fits that raise these warnings are in test_callback.py.
"""
import functools
import types
import warnings

import keras
import numpy as np
import pytest

import tb_metrics_plugin as tbm
from tb_metrics_plugin import fit_checks


def _weighted_bce(y_true, logits):  # a custom loss: says nothing about logits
    return keras.ops.mean(keras.ops.softplus(logits) - y_true * logits, axis=-1)


@pytest.mark.parametrize("loss, want", [
    (keras.losses.BinaryCrossentropy(from_logits=True), True),
    (keras.losses.BinaryCrossentropy(), False),
    (keras.losses.CategoricalCrossentropy(from_logits=True), True),
    (keras.losses.SparseCategoricalCrossentropy(), False),
    (keras.losses.BinaryFocalCrossentropy(from_logits=True), True),
    (keras.losses.CategoricalFocalCrossentropy(), False),
    ("binary_crossentropy", False),
    ("categorical_crossentropy", False),
    ("sparse_categorical_crossentropy", False),
    (keras.losses.binary_crossentropy, False),
    (functools.partial(keras.losses.binary_crossentropy, from_logits=True), True),
    ("mse", None),
    (keras.losses.MeanSquaredError(), None),
    (keras.losses.Hinge(), None),
    (_weighted_bce, None),
    (None, None),
    ("no_such_loss", None),
])
def test_loss_from_logits(loss, want):
    assert fit_checks.loss_from_logits(loss) is want


def _model(outputs):
    inputs = keras.Input((4,))
    layers = {name: keras.layers.Dense(units, name=name)(inputs) for name, units in outputs}
    return keras.Model(inputs, layers if len(layers) > 1 else next(iter(layers.values())))


def _metric(log_name, name="threshold_counts", from_logits=False):
    return types.SimpleNamespace(log_name=log_name, name=name, from_logits=from_logits)


def test_losses_by_output_dict_list_single():
    model = _model([("a", 2), ("b", 3)])
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    model.compile(loss={"a": bce, "b": "sparse_categorical_crossentropy"})
    assert fit_checks.losses_by_output(model) == {"a": bce, "b": "sparse_categorical_crossentropy"}
    names = model.output_names
    model.compile(loss=["mse", bce])
    assert fit_checks.losses_by_output(model) == dict(zip(names, ["mse", bce]))
    model.compile(loss=bce)
    assert fit_checks.losses_by_output(model) == {None: bce}
    plain = _model([("only", 2)])
    assert fit_checks.losses_by_output(plain) == {}  # not compiled: nothing to compare


@pytest.mark.parametrize("metric, loss, expect", [
    (_metric("a_threshold_counts"), {"a": keras.losses.BinaryCrossentropy(from_logits=True),
                                     "b": "binary_crossentropy"}, "output 'a'"),
    (_metric("b_threshold_counts", from_logits=True),
     {"a": keras.losses.BinaryCrossentropy(from_logits=True), "b": "binary_crossentropy"},
     "output 'b'"),
    (_metric("b_threshold_counts"),
     {"a": keras.losses.BinaryCrossentropy(from_logits=True), "b": "binary_crossentropy"}, None),
    (_metric("b_threshold_counts"), {"a": "mse", "b": _weighted_bce}, None),
])
def test_mismatch_per_output(metric, loss, expect):
    model = _model([("a", 2), ("b", 3)])
    model.compile(loss=loss)
    message = fit_checks.loss_mismatch_message(model, metric)
    if expect is None:
        assert message is None
    else:
        assert expect in message and repr(metric.log_name) in message
        fix = "from_logits=False" if metric.from_logits else "from_logits=True"
        assert f"ThresholdCounts({fix})" in message


@pytest.mark.parametrize("loss, metric_logits, expect", [
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True), False, "as probabilities"),
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True), True, "sigmoid logits"),
    (keras.losses.CategoricalCrossentropy(from_logits=True), True, "sigmoid logits"),
    (keras.losses.CategoricalFocalCrossentropy(from_logits=True), False, "as probabilities"),
    (functools.partial(keras.losses.categorical_crossentropy, from_logits=True), True,
     "sigmoid logits"),
    (keras.losses.SparseCategoricalCrossentropy(), False, None),
    ("sparse_categorical_crossentropy", True, "ThresholdCounts(from_logits=False)."),
])
def test_softmax_logits_need_a_softmax_output(loss, metric_logits, expect):
    # from_logits=True reads a score as a sigmoid logit: right for BinaryCrossentropy's logits,
    # wrong for a softmax's, so the fix for softmax logits is a softmax on the output.
    model = _model([("only", 3)])
    model.compile(loss=loss)
    message = fit_checks.loss_mismatch_message(
        model, _metric("threshold_counts", from_logits=metric_logits))
    if expect is None:
        assert message is None
        return
    assert expect in message
    if fit_checks.loss_from_logits(loss):
        assert "activation='softmax'" in message and "softmax logits" in message
        assert "ThresholdCounts(from_logits=True)" not in message
    else:
        assert "sigmoid" not in message  # no advice to read logits through a sigmoid


def test_metric_output():
    assert fit_checks.metric_output(_metric("threshold_counts")) is None
    assert fit_checks.metric_output(_metric("tags_threshold_counts")) == "tags"
    assert fit_checks.metric_output(_metric("tags_counts", name="counts")) == "tags"


def test_nan_message_counts_and_labels():
    y = np.zeros((4, 7))
    s = np.full((4, 7), 0.3)
    s[:, 0] = np.nan
    s[:2, 3] = np.nan
    s[0, 1:] = np.nan
    c = tbm.confusion_counts(y, s, thresholds=3, label_names=[f"L{i}" for i in range(7)])
    message = fit_checks.nan_message(c, " in tag 't'")
    assert message.startswith("11 NaN scores were counted in tag 't', on 7 labels: "
                              "L0 (4), L3 (2), L1 (1), L2 (1), L4 (1) and 2 more.")
    assert fit_checks.nan_message(tbm.confusion_counts(y, np.nan_to_num(s), thresholds=3)) is None


def test_callback_warns_once_per_tag_across_runs_and_steps(tmp_path):
    # The warning logic without a fit: counts of logits read as probabilities, and NaN, written
    # at several steps and into both runs; each warning comes once per tag.
    rng = np.random.default_rng(0)
    y = rng.random((50, 3)) < 0.4
    logits = rng.normal(0, 3, (50, 3))
    logits[0, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # confusion_counts warns itself
        c = tbm.confusion_counts(y, logits, thresholds=5)
    cb = tbm.CountsCallback(tmp_path)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for step in range(3):
            for sub in ("train", "validation"):
                cb._write(sub, {"a": c, "b": c}, step)  # the path on_epoch_end takes
    cb.on_train_end()
    messages = sorted(str(r.message) for r in rec)
    assert len(messages) == 4, messages
    share = f"{100 * c.out_of_range_share():.3g}%"
    for tag in ("a", "b"):
        assert sum(f"tag {tag!r}" in m and share in m and "from_logits=True" in m
                   for m in messages) == 1
        assert sum(f"1 NaN score was counted in tag {tag!r}" in m for m in messages) == 1
    assert [s for s, _ in tbm.read_counts(tmp_path / "validation")["a"]] == [0, 1, 2]


def test_single_label_hint_only_for_one_hot_rows():
    one_hot = np.eye(3)[[0, 2, 1, 1]]
    scores = np.full((4, 3), 0.2)
    c = tbm.confusion_counts(one_hot, scores, thresholds=3)
    message = fit_checks.single_label_message(c, " in tag 't'")
    assert message.startswith("Every one of the 4 samples in tag 't' has exactly one positive "
                              "label of 3")
    assert "multiclass=True" in message
    two = one_hot.copy()
    two[0, 1] = 1  # a row with two positives ...
    two[1] = 0  # ... and one with none: same number of positives as rows
    assert tbm.confusion_counts(two, scores, thresholds=3).support.sum() == 4
    assert fit_checks.single_label_message(tbm.confusion_counts(two, scores, thresholds=3)) is None
    ignored = one_hot.copy()
    ignored[0, 2] = -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        partly = tbm.confusion_counts(ignored, scores, thresholds=3, ignore_value=-1)
    assert fit_checks.single_label_message(partly) is None  # a row's class is not known
    multi = tbm.confusion_counts(one_hot, scores, thresholds=3, multiclass=True)
    assert fit_checks.single_label_message(multi) is None  # already single-label counts
    binary = tbm.confusion_counts(np.ones(4), np.full(4, 0.3), thresholds=3)
    assert fit_checks.single_label_message(binary) is None  # one label: nothing to add
