"""A sparse multi-label problem that ships as code: no download, same data on every machine.

30 labels, about one positive in 30 per label. Each label is a noisy linear function of 40
features with a strongly negative bias, so a model trained with plain binary cross-entropy
learns to predict "no" almost everywhere: ~97% binary accuracy and near-zero recall at 0.5.
"""
import numpy as np

NUM_FEATURES = 40
NUM_LABELS = 30
LABEL_NAMES = [
    "cat", "dog", "bird", "horse", "sheep", "cow", "bear", "zebra", "giraffe", "elephant",
    "car", "bus", "truck", "train", "boat", "plane", "bicycle", "motorbike", "traffic_light",
    "stop_sign", "bench", "umbrella", "kite", "skis", "surfboard", "bottle", "cup", "chair",
    "sofa", "tv",
]


def make_sparse_multilabel(n, seed=0, num_labels=NUM_LABELS, num_features=NUM_FEATURES,
                           prevalence=1 / 30):
    """Returns ``x [n, F] float32, y [n, L] float32`` with about ``prevalence`` positives."""
    problem = np.random.default_rng(1234)  # the problem itself is fixed ...
    weights = problem.normal(size=(num_features, num_labels)) / np.sqrt(num_features)
    difficulty = np.linspace(1.5, 4.5, num_labels)  # ... some labels are much noisier
    rng = np.random.default_rng(seed)  # ... the sample depends on the seed
    x = rng.normal(size=(n, num_features)).astype(np.float32)
    signal = x @ weights * 3.0 + rng.normal(size=(n, num_labels)) * difficulty
    cut = np.quantile(signal, 1 - prevalence, axis=0)
    y = (signal > cut).astype(np.float32)
    return x, y
