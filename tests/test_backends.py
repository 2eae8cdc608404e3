"""Keras on TensorFlow, JAX and PyTorch (CPU): ThresholdCounts and CountsCallback count exactly.

One subprocess per backend (KERAS_BACKEND must be set before Keras is imported), all three at
once, runs ``_subprocess_scripts/backend_check.py``:

* every case of `common.special_cases` (scores exactly on each threshold and on each logit cut,
  their float32 neighbours, -0.0, subnormals, +-inf, NaN, values outside [0, 1]; binary [N],
  class ids, sequence outputs, sample weights) fed to ThresholdCounts eagerly in uneven batches
  and through the backend's compiled ``evaluate`` step must give counts *identical* to
  `confusion_counts` (itself checked against the brute-force oracle here); so must float64
  scores a hair off each threshold, fed eagerly (`common.float64_case`);
* a small ``model.fit`` with ThresholdCounts + CountsCallback and learning rate 0 must write, at
  steps 0 and 1, train and validation counts identical to `confusion_counts` over
  ``model.predict`` (the model's arithmetic is exact, see `common`).

Also the PyTorch demo loop (demo/torch_loop.py), which needs no Keras.
"""
import pickle

import numpy as np
import pytest

import tb_metrics_plugin as tbm
from tests._subprocess_scripts import common, launch
from tests._subprocess_scripts.common import N_TRAIN, N_VAL, TRAIN_SEED, VAL_SEED
from tests.oracle import brute_force_counts

BACKENDS = ("tensorflow", "jax", "torch")


@pytest.fixture(scope="module")
def backend_runs(tmp_path_factory):
    """Runs backend_check.py on the three backends in parallel; ``{backend: (out_dir, proc)}``."""
    root = tmp_path_factory.mktemp("backends")
    runs = {b: (root / b, launch.start("backend_check.py", [root / b], backend=b,
                                       log_dir=root, name=b)) for b in BACKENDS}
    launch.wait_all([p for _, p in runs.values()], timeout=360)
    return runs


def _finished(backend_runs, backend):
    out, proc = backend_runs[backend]
    assert proc.returncode == 0, f"backend_check.py failed on {backend}:\n{proc.tail()}"
    return out


def _expected(case):
    return tbm.confusion_counts(case["y_true"], case["y_score"], thresholds=case["thresholds"],
                                from_logits=case["from_logits"],
                                sample_weight=case["sample_weight"])


def _diff(got, want):
    fields = [f for f in ("thresholds", "tp", "fp", "tn", "fn", "exact_match", "nan",
                          "out_of_range", "nan_positive", "categorical_correct", "top1_positive",
                          "negative_rows", "confusion_matrix", "top_k_hits")
              if not np.array_equal(getattr(got, f), getattr(want, f))]
    if got.sample_unit != want.sample_unit:
        fields.append(f"sample_unit ({got.sample_unit} != {want.sample_unit})")
    if got.n != want.n:
        fields.append(f"n ({got.n} != {want.n})")
    if got.label_names != want.label_names or got.from_logits != want.from_logits:
        fields.append("label_names/from_logits")
    return fields


def test_special_cases_are_what_they_claim():
    """The expected counts come from confusion_counts: check it against the brute-force oracle
    on the 2-D cases, and that the cases hold the values they are meant to."""
    for name, case in common.special_cases().items():
        s = case["y_score"]
        assert np.isnan(s).any() and np.isposinf(s).any() and np.isneginf(s).any(), name
        assert (np.signbit(s) & (s == 0)).any(), f"{name}: no -0.0"
        if s.ndim == 2 and case["y_true"].shape == s.shape:
            got = _expected(case)
            ref = brute_force_counts(case["y_true"], s, tbm.make_thresholds(case["thresholds"]),
                                     case["from_logits"], case["sample_weight"])
            for field in ("tp", "fp", "tn", "fn", "exact_match", "nan"):
                np.testing.assert_array_equal(getattr(got, field), ref[field], err_msg=name)
            assert got.n == ref["n"]
    cases = common.special_cases()
    for name in ("probabilities", "logits", "explicit_thresholds", "explicit_logits"):
        cuts = tbm.metrics.cut_values(tbm.make_thresholds(cases[name]["thresholds"]),
                                      cases[name]["from_logits"])
        finite = cuts[np.isfinite(cuts)]
        scores = cases[name]["y_score"]
        for values in (finite, np.nextafter(finite, np.float32(np.inf)),
                       np.nextafter(finite, np.float32(-np.inf))):
            assert np.isin(values, scores).all(), f"{name}: a cut or a neighbour is missing"


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_threshold_counts_special_values_match_numpy(backend_runs, backend):
    out = _finished(backend_runs, backend)
    with open(out / "counts.pkl", "rb") as f:
        result = pickle.load(f)
    assert result["backend"] == backend
    cases = common.special_cases()
    assert set(result["counts"]) == set(cases)
    failures = []
    for name, by_mode in result["counts"].items():
        eager = backend != "jax" or name in common.JAX_EAGER_CASES
        assert ({"eager", "evaluate"} if eager else {"evaluate"}) <= set(by_mode), name
        want = _expected(cases[name])
        for mode, got in by_mode.items():
            if got != want:
                failures.append(f"{name} ({mode}): differs in {_diff(got, want)}")
    if backend == "tensorflow":
        assert {"probabilities", "logits"} <= {
            n for n, m in result["counts"].items() if "evaluate_jit" in m}
    assert not failures, f"{backend}: ThresholdCounts != confusion_counts:\n" + "\n".join(failures)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_threshold_counts_float64_scores_match_numpy(backend_runs, backend):
    """update_state with float64 numpy scores: compared exactly, as confusion_counts does.

    On JAX (x64 off) float64 becomes float32 before the metric sees it; rounded to nearest, a
    score 1e-12 below a threshold lands on it (found here, /work/notes_issue6.md item 1)."""
    out = _finished(backend_runs, backend)
    with open(out / "counts.pkl", "rb") as f:
        got = pickle.load(f)["float64"]
    want = _expected(common.float64_case())
    assert got == want, f"{backend}: differs in {_diff(got, want)}"


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_writes_train_and_validation_counts_of_predict(backend_runs, backend):
    fit_dir = _finished(backend_runs, backend) / "fit"
    weights = common.make_weights()
    for sub, n, seed, name in (("train", N_TRAIN, TRAIN_SEED, "train"),
                               ("validation", N_VAL, VAL_SEED, "val")):
        x, y = common.make_data(n, seed)
        predicted = np.load(fit_dir / f"predict_{name}.npy")
        # The premise of the exact comparison: the backend computed the exact logits.
        np.testing.assert_array_equal(predicted, common.numpy_forward(weights, x))
        want = tbm.confusion_counts(y, predicted, thresholds=101, from_logits=True,
                                    label_names=common.LABEL_NAMES)
        got = tbm.read_counts(fit_dir / "logs" / sub)
        assert list(got) == [common.TAG]
        assert [step for step, _ in got[common.TAG]] == [0, 1]
        for step, counts in got[common.TAG]:
            assert counts == want, f"{backend} {sub} step {step}: {_diff(counts, want)}"
        assert want.n == n and (want.tp[:, 50] > 0).any()  # not trivially empty


# -- PyTorch demo loop (no Keras) ----------------------------------------------------------------

def test_torch_loop_writes_every_epoch_and_final_validation_counts(tmp_path):
    import torch

    from demo import torch_loop

    epochs = 3
    out = torch_loop.main(str(tmp_path), epochs=epochs, n_train=800, n_val=300)
    train = tbm.read_counts(tmp_path / "train")[torch_loop.TAG]
    val = tbm.read_counts(tmp_path / "validation")[torch_loop.TAG]
    assert [s for s, _ in train] == list(range(epochs))
    assert [s for s, _ in val] == list(range(epochs))
    # Validation at the last epoch: the final model's scores over the whole validation set.
    final = tbm.confusion_counts(out["y_val"], torch_loop.predict(out["model"], out["x_val"]),
                                 from_logits=True, label_names=torch_loop.data.LABEL_NAMES)
    assert val[-1][1] == final
    assert val[0][1] != final  # it trained: earlier epochs were different
    # Train: every training sample once per epoch (sums, not means), logits read as logits.
    support = out["y_train"].sum(axis=0).astype(np.int64)
    for _, counts in train:
        assert counts.n == len(out["x_train"]) and counts.from_logits
        np.testing.assert_array_equal(counts.support, support)
    assert train[0][1] != train[-1][1]


def test_torch_train_counts_are_the_sum_over_the_epochs_forward_passes():
    """With learning rate 0 and an exact model (integer inputs, weights in 1/8ths: every batch
    split gives the same logits), one epoch's train counts equal confusion_counts over the
    whole training set: each batch counted once, merged, nothing averaged or dropped."""
    import torch

    from demo import torch_loop

    x, y = common.make_data(203, seed=5)  # 203: an uneven last batch
    w1, b1, w2, b2 = common.make_weights()
    model = torch.nn.Sequential(torch.nn.Linear(common.FEATURES, common.HIDDEN),
                                torch.nn.ReLU(),
                                torch.nn.Linear(common.HIDDEN, common.LABELS))
    with torch.no_grad():
        for layer, (w, b) in zip((model[0], model[2]), ((w1, b1), (w2, b2))):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    got = torch_loop.train_epoch(model, optimizer, x, y, batch_size=32,
                                 generator=torch.Generator().manual_seed(0),
                                 label_names=common.LABEL_NAMES)
    want = tbm.confusion_counts(y, common.numpy_forward(common.make_weights(), x),
                                from_logits=True, label_names=common.LABEL_NAMES)
    assert got == want, _diff(got, want)
    assert (common.numpy_forward(common.make_weights(), x) == 0).any()  # on the 0.5 cut

