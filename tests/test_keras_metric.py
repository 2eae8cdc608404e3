"""ThresholdCounts: counts identical to confusion_counts on every input, shapes, errors, result."""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras  # noqa: E402  (tests/conftest.py picks the TensorFlow backend)
import tensorflow as tf  # noqa: E402

from tb_metrics_plugin import keras_metric
from tb_metrics_plugin import metrics as M
from tb_metrics_plugin.keras_metric import ThresholdCounts

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F32 = np.float32
SPECIAL = np.array(
    [0.0, -0.0, 1.0, 0.5, 0.01, 0.99, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-39, -1e-39,
     2.0, -3.0, 17.0, -17.0, np.finfo(F32).max, -np.finfo(F32).max],
    dtype=F32,
)
THRESHOLDS = [1, 2, 5, 11, 101, 200, [0.0, 0.25, 0.5, 1.0], [0.3, 0.7],
              [0.0, 0.3, float(np.nextafter(F32(0.3), F32(1))), 1.0]]


def tricky_values(thresholds, from_logits, rng, size):
    """Scores exactly on the cuts, one ulp either side, special floats and random ones."""
    cuts = M.cut_values(M.make_thresholds(thresholds), from_logits)
    pool = np.concatenate([
        SPECIAL, cuts, np.nextafter(cuts, F32(-np.inf)), np.nextafter(cuts, F32(np.inf)),
        rng.normal(size=16).astype(F32) * 4, rng.random(16).astype(F32),
    ])
    return rng.choice(pool, size=size).astype(F32)


def metric_counts(y, s, thresholds, from_logits, sample_weight=None, batches=1):
    m = ThresholdCounts(thresholds=thresholds, from_logits=from_logits,
                        weighted=sample_weight is not None)
    for part in np.array_split(np.arange(len(s)), batches):
        if part.size:
            m.update_state(y[part], s[part],
                           None if sample_weight is None else sample_weight[part])
    return m.counts()


def assert_counts_equal(got, want, weighted=False):
    if not weighted:
        assert got.tp.dtype == np.int64
        assert got == want, [(f, getattr(got, f), getattr(want, f)) for f in
                             ("tp", "fp", "tn", "fn", "exact_match", "nan", "n")
                             if not np.array_equal(getattr(got, f), getattr(want, f))]
        return
    for field in ("tp", "fp", "tn", "fn", "exact_match", "nan"):
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=1e-5,
                                   atol=1e-4, err_msg=field)
    assert math.isclose(got.n, want.n, rel_tol=1e-5)


# -- parity with the numpy reference -------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 12),
    num_labels=st.integers(1, 5),
    thresholds=st.sampled_from(THRESHOLDS),
    from_logits=st.booleans(),
    batches=st.integers(1, 3),
    weighted=st.booleans(),
)
def test_counts_match_confusion_counts(seed, n, num_labels, thresholds, from_logits, batches,
                                       weighted):
    rng = np.random.default_rng(seed)
    s = tricky_values(thresholds, from_logits, rng, (n, num_labels))
    y = (rng.random((n, num_labels)) < 0.4).astype(F32)
    w = rng.random(n).astype(F32) * 3 if weighted else None
    got = metric_counts(y, s, thresholds, from_logits, w, batches)
    want = M.confusion_counts(y, s, thresholds=thresholds, from_logits=from_logits,
                              sample_weight=w)
    assert_counts_equal(got, want, weighted)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("thresholds, from_logits", [(5, False), (101, True), (5001, True)])
def test_compiled_counts_match(jit_compile, from_logits, thresholds):
    """In a tf.function (nested XLA when jit_compile is off) and fully XLA-compiled; 5001
    thresholds take the searchsorted fallback."""
    rng = np.random.default_rng(thresholds)
    s = tricky_values(thresholds, from_logits, rng, (96, 7))
    y = (rng.random((96, 7)) < 0.4).astype(F32)
    w = rng.random(96).astype(F32)
    m = ThresholdCounts(thresholds=thresholds, from_logits=from_logits)
    mw = ThresholdCounts(thresholds=thresholds, from_logits=from_logits, weighted=True)
    if thresholds == 5001:
        assert m._search is None
    step = tf.function(lambda y, s: m.update_state(y, s), jit_compile=jit_compile)
    wstep = tf.function(lambda y, s, w: mw.update_state(y, s, w), jit_compile=jit_compile)
    step(y[:64], s[:64])
    step(y[64:], s[64:])  # a second shape
    wstep(y, s, w)
    assert_counts_equal(m.counts(), M.confusion_counts(y, s, thresholds, from_logits))
    assert_counts_equal(mw.counts(), M.confusion_counts(y, s, thresholds, from_logits,
                                                        sample_weight=w), weighted=True)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_other_score_dtypes(dtype):
    rng = np.random.default_rng(1)
    s = tricky_values(101, True, rng, (40, 3))
    y = (rng.random((40, 3)) < 0.5).astype(F32)
    if dtype == "float64":
        # float64 scores are compared in float64: values just off a cut must not round onto it
        cuts = M.cut_values(M.make_thresholds(101), True).astype(np.float64)
        fin = cuts[np.isfinite(cuts)][:40]
        s = s.astype(np.float64)
        s[:, 0] = fin - np.abs(fin) * 1e-12 - 1e-300
    scores = keras.ops.cast(s, dtype)
    m = ThresholdCounts(from_logits=True)
    m.update_state(y, scores)
    ref_scores = keras.ops.convert_to_numpy(keras.ops.cast(scores, "float64" if dtype ==
                                                           "float64" else "float32"))
    assert_counts_equal(m.counts(), M.confusion_counts(y, ref_scores, from_logits=True))


def test_search_table_is_small_and_exact():
    for thresholds in (101, 200, 1001):
        for from_logits in (False, True):
            cuts = M.cut_values(M.make_thresholds(thresholds), from_logits)
            shift, offset, table, cut_keys = keras_metric.build_search_table(cuts)
            assert table.size <= 2**17
            # every float32 within 2 ulps of every cut, and the specials
            with np.errstate(over="ignore"):
                near = np.concatenate([cuts, SPECIAL] + [
                    np.nextafter(cuts, F32(d)) for d in (-np.inf, np.inf)])
                near = np.concatenate([near, np.nextafter(near, F32(-np.inf)),
                                       np.nextafter(near, F32(np.inf))])
            near = near[~np.isnan(near)]
            key = keras_metric.score_keys(near)
            bucket = np.clip((key >> shift) - offset, 0, table.size - 1)
            base = table[bucket]
            k = base + (key >= cut_keys[base])
            want = (near[:, None] >= cuts[None, :]).sum(axis=1)
            np.testing.assert_array_equal(k, want)


# -- shapes --------------------------------------------------------------------------------------


def test_shapes_binary_class_ids_and_sequences():
    rng = np.random.default_rng(2)
    p = rng.random(30).astype(F32)
    yb = rng.integers(0, 2, 30)
    want = M.confusion_counts(yb, p)
    for y_true, y_pred in [(yb, p), (yb, p[:, None]), (yb[:, None], p[:, None]),
                           (yb.astype(F32), p)]:
        m = ThresholdCounts()
        m.update_state(y_true, y_pred)
        assert_counts_equal(m.counts(), want)

    probs = rng.random((30, 4)).astype(F32)
    ids = rng.integers(0, 4, 30)
    want = M.confusion_counts(ids, probs)
    for y_true in (ids, ids[:, None], ids.astype(F32), ids[:, None].astype(F32)):
        m = ThresholdCounts()
        m.update_state(y_true, probs)
        assert_counts_equal(m.counts(), want)

    seq = rng.random((3, 60, 2)).astype(F32)
    yseq = rng.integers(0, 2, (3, 60, 2))
    w = rng.random(3).astype(F32)
    m = ThresholdCounts()
    m.update_state(yseq, seq)
    assert_counts_equal(m.counts(), M.confusion_counts(yseq, seq))
    mw = ThresholdCounts(weighted=True)
    mw.update_state(yseq, seq, w)  # one weight per sequence
    assert_counts_equal(mw.counts(), M.confusion_counts(
        yseq.reshape(-1, 2), seq.reshape(-1, 2), sample_weight=np.repeat(w, 60)), weighted=True)


def test_shape_and_label_errors():
    with pytest.raises(ValueError, match=r"Expected `y_true` with the shape of `y_pred`"):
        ThresholdCounts().update_state(np.zeros((4, 3)), np.zeros((4, 2), F32))
    with pytest.raises(ValueError,
                       match=r"Expected scores with 3 columns.*received `y_pred` with 2"):
        ThresholdCounts(label_names=["a", "b", "c"]).update_state(
            np.zeros((4, 2)), np.zeros((4, 2), F32))
    m = ThresholdCounts()
    m.update_state(np.zeros((4, 2)), np.zeros((4, 2), F32))
    with pytest.raises(ValueError,
                       match=r"Expected scores with 2 columns.*received `y_pred` with 5"):
        m.update_state(np.zeros((4, 5)), np.zeros((4, 5), F32))
    with pytest.raises(ValueError, match=r"Expected 3 `label_names`.*received 2"):
        ThresholdCounts(num_labels=3, label_names=["a", "b"])
    with pytest.raises(ValueError, match=r"decision_threshold"):
        ThresholdCounts(decision_threshold=1.5)
    with pytest.raises(ValueError, match=r"thresholds"):
        ThresholdCounts(thresholds=[0.5, 0.2])
    with pytest.raises(ValueError, match=r"has no counts yet"):
        ThresholdCounts().counts()


def test_sample_weight_needs_weighted():
    m = ThresholdCounts()
    with pytest.raises(ValueError,
                       match=r"weighted=True.*received sample_weight of shape \(4,\)"):
        m.update_state(np.zeros((4, 2)), np.zeros((4, 2), F32), np.ones(4))


# -- result, state, config -----------------------------------------------------------------------


@pytest.mark.parametrize("decision", [0.5, 0.3])
def test_result_matches_counts_at_the_decision_threshold(decision):
    rng = np.random.default_rng(3)
    y = (rng.random((50, 6)) < 0.3).astype(F32)
    s = rng.random((50, 6)).astype(F32)
    # 0.5 lies between 0.4 and 0.6: the lower one is used; 0.3 snaps to 0.2 (nearer than 0.4).
    m = ThresholdCounts(thresholds=[0.0, 0.2, 0.4, 0.6, 1.0], decision_threshold=decision,
                        name="tc")
    m.update_state(y, s)
    c = m.counts()
    i = c.threshold_index(decision)
    assert i == {0.5: 2, 0.3: 1}[decision]
    want = {
        "tc_micro_f1": c.f1("micro")[i],
        "tc_macro_f1": c.f1("macro", zero_division=0)[i],
        "tc_binary_accuracy": c.binary_accuracy()[i],
        "tc_exact_match_accuracy": c.exact_match_accuracy()[i],
    }
    for compiled in (False, True):
        result = tf.function(m.result)() if compiled else m.result()
        assert sorted(result) == sorted(want)
        for key, value in want.items():
            assert float(result[key]) == pytest.approx(value, rel=1e-6, abs=1e-7), key


@pytest.mark.parametrize("nested_xla, num_labels, thresholds",
                         [(True, 5, 101), (True, 8, 5001), (False, 5, 101)])
def test_result_in_the_same_compiled_step(monkeypatch, nested_xla, num_labels, thresholds):
    """Within one tf.function, result() after update_state reflects that update (for a small
    state the update computes it in the same XLA launch) and reset_state() clears it."""
    monkeypatch.setattr(ThresholdCounts, "nested_xla", nested_xla)
    rng = np.random.default_rng(4)
    y = (rng.random((64, num_labels)) < 0.3).astype(F32)
    s = rng.normal(size=(64, num_labels)).astype(F32)
    m = ThresholdCounts(thresholds, from_logits=True, num_labels=num_labels, name="tc")

    @tf.function
    def step(y, s):
        m.update_state(y, s)
        return m.result()

    @tf.function
    def step_then_reset(y, s):
        m.update_state(y, s)
        m.reset_state()
        return m.result()

    step(y[:32], s[:32])
    result = step(y[32:], s[32:])
    c = M.confusion_counts(y, s, thresholds, from_logits=True)
    assert m.counts() == c
    i = c.threshold_index(0.5)
    assert float(result["tc_macro_f1"]) == pytest.approx(c.f1("macro")[i], rel=1e-6)
    assert float(result["tc_exact_match_accuracy"]) == pytest.approx(
        c.exact_match_accuracy()[i], rel=1e-6)
    assert all(float(v) == 0.0 for v in step_then_reset(y, s).values())


def test_result_before_update_and_reset():
    m = ThresholdCounts(num_labels=3)
    assert all(float(v) == 0.0 for v in m.result().values())
    m.update_state(np.ones((2, 3)), np.ones((2, 3), F32))
    assert m.counts().n == 2
    assert keras.backend.standardize_dtype(m.histogram.dtype) == "int32"
    m.reset_state()
    c = m.counts()
    assert c.n == 0 and c.tp.sum() == 0 and c.exact_match.sum() == 0


def test_config_round_trip():
    m = ThresholdCounts(thresholds=[0.1, 0.5, 0.9], from_logits=True, label_names=["a", "b"],
                        decision_threshold=0.4, name="x", weighted=True)
    clone = ThresholdCounts.from_config(m.get_config())
    assert clone.get_config() == m.get_config()
    assert clone.num_labels == 2 and clone.label_names == ["a", "b"]
    np.testing.assert_array_equal(clone.thresholds, m.thresholds)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(m))
    assert isinstance(restored, ThresholdCounts) and restored.name == "x"


# -- other backends (subprocesses: the backend is fixed when Keras is imported) -------------------

BACKEND_SCRIPT = textwrap.dedent("""
    import numpy as np, keras
    from tb_metrics_plugin import metrics as M
    from tb_metrics_plugin.keras_metric import ThresholdCounts
    rng = np.random.default_rng(0)
    special = np.array([0, -0.0, 0.5, 1, np.inf, -np.inf, np.nan, 1e-45, -1e-45], np.float32)
    for thresholds in (5, 101):
        for from_logits in (False, True):
            cuts = M.cut_values(M.make_thresholds(thresholds), from_logits)
            pool = np.concatenate([special, cuts, np.nextafter(cuts, np.float32(-np.inf)),
                                   np.nextafter(cuts, np.float32(np.inf))])
            s = rng.choice(pool, size=(40, 5)).astype(np.float32)
            y = (rng.random((40, 5)) < 0.4).astype(np.float32)
            m = ThresholdCounts(thresholds=thresholds, from_logits=from_logits)
            m.update_state(y[:25], s[:25]); m.update_state(y[25:], s[25:])
            assert m.counts() == M.confusion_counts(y, s, thresholds, from_logits), (thresholds,)
    # compiled: a real fit (JAX builds the metric in its symbolic build, then jits the step)
    x = rng.normal(size=(96, 4)).astype(np.float32)
    y = (rng.random((96, 3)) < 0.4).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy",
                  metrics=[ThresholdCounts(from_logits=True)])
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    metric = [m for m in model.metrics[-1].metrics if isinstance(m, ThresholdCounts)][0]
    want = M.confusion_counts(y, model.predict(x, verbose=0), from_logits=True)
    assert metric.counts() == want
    print("BACKEND_OK", keras.backend.backend())
""")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_counts_on_other_backends(backend):
    if os.environ.get("CI"):
        __import__(backend)  # make test installs every backend: CI must not skip
    else:
        pytest.importorskip(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert f"BACKEND_OK {backend}" in proc.stdout
