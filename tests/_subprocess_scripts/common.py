"""Data, weights and an exact forward pass shared by the subprocess scripts and the tests.

The model is ``Dense(HIDDEN, relu) -> Dense(L)`` (logits). Its inputs are small integers, its
weights and first bias multiples of 1/8 and its last bias a multiple of 1/64, so every product and
partial sum is a multiple of 1/64 smaller than 128 in magnitude (13 significant bits of float32's
24): float32 arithmetic is *exact* in any summation order, with or without FMA or fusion,
on every backend and with any batch split. The logits a Keras model computes in its train, test
and predict steps (on one device or several) are therefore bit-identical to `numpy_forward`, and
counts written during ``fit`` can be compared exactly with `confusion_counts` over them. Logits
of exactly 0.0 (the cut of threshold 0.5) occur, so scores exactly on a threshold are covered.

Only numpy here: the test process imports it without Keras.
"""
import numpy as np

FEATURES = 12
HIDDEN = 16
LABELS = 5
TAG = "threshold_counts"
LABEL_NAMES = [f"label_{i}" for i in range(LABELS)]

# fit_counts.py: training and validation sets, and the batch size (every worker of a two-worker
# cluster then gets whole batches of the same size).
N_TRAIN, N_VAL, BATCH = 256, 128, 32
TRAIN_SEED, VAL_SEED = 1, 2

# backend_check.py: the cases also fed eagerly on JAX. JAX compiles each op anew for every input
# shape when run eagerly (~3 s per case here); Keras always runs the metric inside jax.jit, which
# every case goes through in `evaluate`.
JAX_EAGER_CASES = ("probabilities", "logits", "weighted")


def make_weights(seed=0):
    """``[w1 [F, H], b1 [H], w2 [H, L], b2 [L]]`` float32: multiples of 1/8 in [-3/8, 3/8],
    and ``b2`` (a multiple of 1/64) such that an all-zero input gives logits of exactly 0."""
    rng = np.random.default_rng(seed)
    shapes = [(FEATURES, HIDDEN), (HIDDEN,), (HIDDEN, LABELS)]
    w1, b1, w2 = [(rng.integers(-3, 4, size=s) / 8.0).astype(np.float32) for s in shapes]
    # An all-zero input row gives logits of exactly 0.0: on the cut of threshold 0.5.
    b2 = -(np.maximum(b1, 0) @ w2)  # a multiple of 1/64, exact
    return [w1, b1, w2, b2.astype(np.float32)]


def make_data(n, seed):
    """``x [n, F]`` float32 integers in [-3, 3] and 0/1 labels ``y [n, L]`` float32 that agree
    with the model's logits more often than not (label 0 a bit more, the last label never)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=(n, FEATURES)).astype(np.float32)
    x[rng.random(n) < 0.1] = 0.0  # logits exactly 0.0, on the cut of threshold 0.5
    logits = numpy_forward(make_weights(), x).astype(np.float64)
    y = (logits + rng.normal(scale=2.0, size=logits.shape) > 0.5).astype(np.float32)
    y[:, -1] = 0.0
    return x, y


def numpy_forward(weights, x):
    """The model's logits, exactly (float32)."""
    w1, b1, w2, b2 = weights
    h = np.maximum(x @ w1 + b1, np.float32(0))
    out = h @ w2 + b2
    return out.astype(np.float32)


def build_model(keras, weights=None):
    """The Keras model (call inside a strategy scope / distribution when needed)."""
    inputs = keras.Input((FEATURES,))
    hidden = keras.layers.Dense(HIDDEN, activation="relu")(inputs)
    logits = keras.layers.Dense(LABELS)(hidden)
    model = keras.Model(inputs, logits)
    model.set_weights(make_weights() if weights is None else weights)
    return model


def compile_model(keras, model, thresholds=101):
    """SGD with learning rate 0: the weights never change, the loss still trains nothing."""
    import tb_metrics_plugin as tbm

    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[tbm.ThresholdCounts(thresholds=thresholds, from_logits=True,
                                     label_names=LABEL_NAMES)],
    )
    return model


def expected_counts(n, seed, thresholds=101):
    """`confusion_counts` over the exact logits of ``make_data(n, seed)``."""
    from tb_metrics_plugin import confusion_counts

    x, y = make_data(n, seed)
    return confusion_counts(y, numpy_forward(make_weights(), x), thresholds=thresholds,
                            from_logits=True, label_names=LABEL_NAMES)


# -- special values for ThresholdCounts on every backend -------------------------------------

EXPLICIT_THRESHOLDS = [0.0, 1e-7, 0.1, 0.25, 0.5, np.nextafter(np.float32(0.5), np.float32(1)),
                       0.9, 0.999, 1.0]


def _special_scores(cuts):
    """Every cut, its float32 neighbours, signed zeros, subnormals, infinities, NaN, and values
    beyond [0, 1]: the values where an inexact comparison miscounts."""
    cuts = np.asarray(cuts, dtype=np.float32)
    finite = cuts[np.isfinite(cuts)]
    tiny = np.float32(1e-45)  # the smallest subnormal
    return np.concatenate([
        cuts,
        np.nextafter(finite, np.float32(np.inf)),
        np.nextafter(finite, np.float32(-np.inf)),
        np.array([0.0, -0.0, tiny, -tiny, np.float32(1.2e-38), np.inf, -np.inf, np.nan, np.nan,
                  1.0, 1.5, -0.5, 3e38, -3e38, 0.5, 0.01], dtype=np.float32),
    ]).astype(np.float32)


def _fill(rng, values, shape, noise):
    """An array of ``shape`` holding every value of ``values`` at shuffled places, and
    ``noise`` elsewhere."""
    size = int(np.prod(shape))
    assert len(values) <= size, (len(values), shape)
    out = noise(size)
    out[: len(values)] = values
    return rng.permutation(out).reshape(shape)


def special_cases():
    """``{name: dict(y_true, y_score, thresholds, from_logits, sample_weight)}`` (numpy)."""
    from tb_metrics_plugin.metrics import cut_values, make_thresholds

    rng = np.random.default_rng(7)
    cases = {}

    def probs(n):
        return rng.random(n).astype(np.float32)

    def logits(n):
        return (rng.normal(size=n) * 3).astype(np.float32)

    for name, thresholds, from_logits, noise in [
        ("probabilities", 101, False, probs),
        ("logits", 101, True, logits),
        ("explicit_thresholds", EXPLICIT_THRESHOLDS, False, probs),
        ("explicit_logits", EXPLICIT_THRESHOLDS, True, logits),
    ]:
        values = _special_scores(cut_values(make_thresholds(thresholds), from_logits))
        rows, labels = -(-len(values) // 4) + 17, 6  # 4 special values per row on average
        score = _fill(rng, values, (rows, labels), noise)
        y = rng.random((rows, labels)) < 0.4
        # A row of NaN scores (never positive) with every label negative: an exact match.
        score = np.concatenate([score, np.full((1, labels), np.nan, np.float32)])
        y = np.concatenate([y, np.zeros((1, labels), bool)])
        y[:, -1] = False  # a label without positives
        cases[name] = dict(y_true=y.astype(np.float32), y_score=score, thresholds=thresholds,
                           from_logits=from_logits, sample_weight=None)

    base = cases["probabilities"]
    w = rng.choice(np.array([0.0, 0.5, 1.0, 2.0], dtype=np.float32), size=len(base["y_true"]))
    cases["weighted"] = dict(base, sample_weight=w)  # float32 sums of these are exact
    y1 = rng.random(400) < 0.3
    s1 = _fill(rng, _special_scores(make_thresholds(101)), (400,), probs)
    cases["binary_1d"] = dict(y_true=y1.astype(np.float32), y_score=s1, thresholds=101,
                              from_logits=False, sample_weight=None)
    ids = rng.integers(0, 4, size=250)
    sc = _fill(rng, _special_scores(make_thresholds(101)), (250, 4), probs)
    cases["class_ids"] = dict(y_true=ids.astype(np.int32), y_score=sc, thresholds=101,
                              from_logits=False, sample_weight=None)
    ys = rng.random((40, 7, 3)) < 0.3
    ss = _fill(rng, _special_scores(cut_values(make_thresholds(21), True)), (40, 7, 3), logits)
    cases["sequence"] = dict(y_true=ys.astype(np.float32), y_score=ss, thresholds=21,
                             from_logits=True, sample_weight=None)
    return cases


def float64_case():
    """float64 scores a hair (1e-12) below, on and above every float32 threshold, and doubles
    that round to a float32 of the other side of zero: compared in float64 by
    `confusion_counts`, they must be counted so by the metric too (eager ``update_state``
    only: inside a Keras model the outputs are float32)."""
    rng = np.random.default_rng(11)
    t = np.linspace(0, 1, 101).astype(np.float32).astype(np.float64)
    values = np.concatenate([t - 1e-12, t, t + 1e-12,
                             [-1e-300, 1e-300, -0.0, np.nan, np.inf, -np.inf]])
    score = _fill(rng, values, (110, 3), lambda n: rng.random(n))
    y = rng.random(score.shape) < 0.5
    return dict(y_true=y.astype(np.float32), y_score=score, thresholds=101, from_logits=False,
                sample_weight=None)


# Batch sizes the eager metric is fed with, in turn (a batch of one, and an uneven last batch;
# few distinct shapes, since JAX compiles every op per shape when run eagerly).
BATCH_SIZES = (32, 1)


def batches(n):
    """``[(start, stop), ...]`` covering ``range(n)`` with the sizes of BATCH_SIZES in turn."""
    out, start, i = [], 0, 0
    while start < n:
        stop = min(n, start + BATCH_SIZES[i % len(BATCH_SIZES)])
        out.append((start, stop))
        start, i = stop, i + 1
    return out
