"""tb_metrics_plugin.torch.ThresholdCounts against the numpy reference `confusion_counts`.

Oracle: `confusion_counts` on the concatenation of every batch (itself checked against brute
force in test_metrics.py). Unweighted counts must be identical, field for field (tp, fp, tn, fn,
exact_match, n, nan, nan_positive, out_of_range, categorical_correct, top1_positive,
negative_rows, confusion_matrix, top_k_hits, sample_unit); weighted sums equal to float64
rounding (the order of summation differs). Inputs are drawn by hypothesis from the special
values: scores exactly on a threshold or its logit, one float32 step either side, -0.0, +-inf,
NaN, out-of-range values, in float16 / float32 / float64, split into random batches.
"""
import multiprocessing
import os
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchmetrics")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tb_metrics_plugin as tbm  # noqa: E402
from tb_metrics_plugin import inputs  # noqa: E402
from tb_metrics_plugin.torch import ThresholdCounts  # noqa: E402
from tests.tb_server import free_port  # noqa: E402

FIELDS = ("tp", "fp", "tn", "fn", "exact_match", "nan", "nan_positive", "out_of_range",
          "categorical_correct", "top1_positive", "negative_rows", "confusion_matrix",
          "top_k_hits")


def assert_counts_equal(got, want, exact=True):
    """Field-for-field equality; float64 rounding only for weighted sums (exact=False)."""
    assert got.label_names == want.label_names and got.from_logits == want.from_logits
    assert got.sample_unit == want.sample_unit, (got.sample_unit, want.sample_unit)
    np.testing.assert_array_equal(got.thresholds, want.thresholds)
    for name in FIELDS + ("n",):
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None) == (b is None), f"{name}: {a} vs {b}"
        if a is None:
            continue
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} vs {b.dtype}"
        if exact:
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9, err_msg=name)
    if exact:
        assert got == want


def run_metric(batches, **kwargs):
    metric = ThresholdCounts(**kwargs)
    for args in batches:
        metric.update(*[None if a is None else torch.as_tensor(a) for a in args])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metric.compute()


def reference(y, s, w=None, **kwargs):
    kwargs.pop("num_labels", None)
    kwargs.pop("validate_args", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tbm.confusion_counts(y, s, sample_weight=w, **kwargs)


THRESHOLDS = inputs.make_thresholds(11)


def special_values(from_logits):
    """Scores that sit on, or one float32 step beside, every cut; and the other edge cases."""
    cuts = inputs.cut_values(THRESHOLDS, from_logits).astype(np.float32)
    finite = cuts[np.isfinite(cuts)]
    near = np.concatenate([finite, np.nextafter(finite, np.float32(np.inf)),
                           np.nextafter(finite, np.float32(-np.inf))])
    extra = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, -3.5, 7.0, 0.5, 1.0], np.float32)
    return np.concatenate([near, extra]).astype(np.float32)


@st.composite
def cases(draw):
    from_logits = draw(st.booleans())
    values = special_values(from_logits)
    kind = draw(st.sampled_from(["multilabel", "class_ids", "onehot", "binary", "nchw"]))
    n = draw(st.integers(1, 24))
    num_l = draw(st.integers(1, 5)) if kind in ("multilabel",) else draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64]))
    kwargs = dict(thresholds=THRESHOLDS, from_logits=from_logits)
    if kind == "nchw":
        shape = (n, num_l, 2, 3)
        s = rng.choice(values, size=shape)
        y = rng.integers(0, num_l, size=(n, 2, 3))
        kwargs["label_axis"] = 1
    else:
        shape = (n,) if kind == "binary" else (n, num_l)
        s = rng.choice(values, size=shape)
        if kind == "class_ids":
            y = rng.integers(0, num_l, size=n)
        elif kind == "onehot":
            y = np.eye(num_l, dtype=np.int64)[rng.integers(0, num_l, size=n)]
            kwargs["multiclass"] = True
        else:
            y = rng.integers(0, 2, size=shape)
    if dtype == np.float64:
        # float64 scores strictly between two float32 values must not be rounded onto a cut.
        s = s.astype(np.float64) + rng.choice([0.0, 1e-12, -1e-12], size=shape)
    else:
        s = s.astype(dtype)
    ignore = draw(st.sampled_from([None, -1, "nan"])) if kind != "onehot" else None
    if ignore is not None:
        y = y.astype(np.float64)
        y[rng.random(y.shape) < 0.25] = np.nan if ignore == "nan" else -1
        kwargs["ignore_value"] = float("nan") if ignore == "nan" else -1
    weights = draw(st.sampled_from([None, "sample", "cell"]))
    w = None
    if weights == "sample":
        w = rng.choice([0.0, 0.5, 1.0, 2.25, 3.0], size=(n, 1, 1) if kind == "nchw" else (n,))
    elif weights == "cell" and kind in ("multilabel", "nchw") and num_l > 1:
        w = rng.choice([0.0, 0.5, 1.0, 2.25, 3.0], size=shape)
    splits = sorted(draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=3, unique=True)))
    splits = [i for i in splits if i < n]
    return y, s, w, splits, kwargs


def _batches(y, s, w, splits):
    edges = [0] + splits + [len(s)]
    return [(s[a:b], y[a:b], None if w is None else w[a:b]) for a, b in zip(edges, edges[1:])]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_equals_confusion_counts_on_special_values(case):
    y, s, w, splits, kwargs = case
    got = run_metric(_batches(y, s, w, splits), **kwargs)
    want = reference(y, s, w, **kwargs)
    assert_counts_equal(got, want, exact=w is None)


def test_exact_on_every_cut_and_its_neighbours():
    """Every score on a cut, one float32 step below or above: the brute-force comparison."""
    for from_logits in (False, True):
        s = special_values(from_logits)[None, :].repeat(3, axis=0)
        y = np.array([[0] * s.shape[1], [1] * s.shape[1], [1, 0] * (s.shape[1] // 2)
                      + [1] * (s.shape[1] % 2)])
        got = run_metric([(s, y)], thresholds=THRESHOLDS, from_logits=from_logits)
        cuts = inputs.cut_values(THRESHOLDS, from_logits)
        pred = s[:, :, None] >= cuts[None, None, :]
        np.testing.assert_array_equal(got.tp, (pred & (y[:, :, None] == 1)).sum(axis=0))
        np.testing.assert_array_equal(got.fp, (pred & (y[:, :, None] == 0)).sum(axis=0))
        assert got == reference(y, s, thresholds=THRESHOLDS, from_logits=from_logits)


def test_float64_scores_are_not_rounded_to_float32():
    """0.5 - 1e-12 rounds to 0.5 in float32, but is below the 0.5 cut."""
    s = torch.tensor([0.5 - 1e-12, 0.5, 0.5 + 1e-12], dtype=torch.float64)
    y = torch.tensor([1, 1, 1])
    got = run_metric([(s, y)], thresholds=[0.5])
    assert got.tp[0].tolist() == [2]
    assert got == reference(y.numpy(), s.numpy(), thresholds=[0.5])


def test_weighted_then_unweighted_batches_sum_as_unit_weights():
    rng = np.random.default_rng(3)
    y, s = rng.integers(0, 2, (30, 3)), rng.random((30, 3)).astype(np.float32)
    w = np.concatenate([rng.random(10), np.ones(20)])
    got = run_metric([(s[:10], y[:10], w[:10]), (s[10:], y[10:])], thresholds=21)
    assert got.weighted and got.tp.dtype == np.float64
    assert_counts_equal(got, reference(y, s, w, thresholds=21), exact=False)


def test_state_does_not_grow_and_reset_clears():
    metric = ThresholdCounts(num_labels=4, thresholds=51)
    sizes = {name: getattr(metric, name).numel() for name in metric._defaults}
    rng = np.random.default_rng(0)
    for _ in range(5):
        metric.update(torch.rand(64, 4), torch.from_numpy(rng.integers(0, 2, (64, 4))))
    assert {name: getattr(metric, name).numel() for name in metric._defaults} == sizes
    assert sum(sizes.values()) == 2 * (2 * 4 * 52 + 4 * 3 + 53 + 4) + 2
    metric.reset()
    metric.update(torch.tensor([[0.7, 0.1, 0.2, 0.9]]), torch.tensor([[1, 0, 0, 1]]))
    assert metric.compute().n == 1


def test_forward_returns_the_batch_and_accumulates():
    rng = np.random.default_rng(1)
    y, s = rng.integers(0, 4, 40), rng.random((40, 4)).astype(np.float32)
    metric = ThresholdCounts(thresholds=11)  # states added by the first batch
    first = metric(torch.from_numpy(s[:25]), torch.from_numpy(y[:25]))
    assert first == reference(y[:25], s[:25], thresholds=11)
    second = metric(torch.from_numpy(s[25:]), torch.from_numpy(y[25:]))
    assert second == reference(y[25:], s[25:], thresholds=11)
    assert metric.compute() == reference(y, s, thresholds=11)


def test_label_names_and_out_of_range_warning():
    metric = ThresholdCounts(thresholds=5, label_names=["cat", "dog"])
    metric.update(torch.tensor([[2.0, -1.0], [0.3, 0.4]]), torch.tensor([[1, 0], [0, 1]]))
    with pytest.warns(UserWarning, match="from_logits=True"):
        counts = metric.compute()
    assert counts.label_names == ["cat", "dog"] and counts.out_of_range.tolist() == [1, 1]


def test_probabilities_read_as_logits_warning():
    metric = ThresholdCounts(thresholds=5, num_labels=2, from_logits=True)
    metric.update(torch.rand(60, 2), torch.randint(0, 2, (60, 2)))
    with pytest.warns(UserWarning, match=r"all 120 scores lie in \[0, 1\].*from_logits=False"):
        metric.compute()


@pytest.mark.parametrize("make, match", [
    (lambda m: m.update(torch.tensor([[0.5, 0.5]]), torch.tensor([[2, 0]])), "0 or 1"),
    (lambda m: m.update(torch.tensor([[0.5, 0.5]]), torch.tensor([[1, 0, 1]])), "label_axis"),
    (lambda m: m.update(torch.rand(3, 2), torch.tensor([0, 1, 2])), r"class ids in \[0, 2\)"),
    (lambda m: m.update(torch.rand(2, 2), torch.ones(2, 2), torch.tensor([1.0, -1.0])),
     "non-negative"),
    (lambda m: m.update(torch.rand(2, 3), torch.ones(2, 3)), "Expected 2 labels"),
    (lambda m: m.update(np.ones((2, 2)), np.ones((2, 2))), "torch tensors"),
])
def test_bad_input_is_refused_with_the_fix(make, match):
    metric = ThresholdCounts(num_labels=2, thresholds=5)
    with pytest.raises(ValueError, match=match):
        make(metric)


def test_kinds_do_not_mix_and_compute_needs_an_update():
    metric = ThresholdCounts(thresholds=5)
    with pytest.raises(ValueError, match="at least one `update`"):
        metric.compute()
    metric.update(torch.rand(4, 3), torch.ones(4, 3))
    metric.update(torch.rand(4, 3), torch.ones(4, 3))
    with pytest.raises(ValueError, match="one kind"):
        metric.update(torch.rand(4, 3), torch.tensor([0, 1, 2, 0]))


# -- 2-process DDP (gloo on 127.0.0.1) --------------------------------------------------------

def _ddp_data():
    rng = np.random.default_rng(11)
    s = rng.choice(special_values(True), size=(90, 4)).astype(np.float32)
    y = rng.integers(0, 4, size=90)
    w = rng.choice([0.5, 1.0, 2.0], size=90)
    return s, y, w


def _ddp_worker(rank, world, port, out_dir):
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        s, y, w = _ddp_data()
        unweighted = ThresholdCounts(num_labels=4, thresholds=THRESHOLDS, from_logits=True,
                                     multiclass=True)
        weighted = ThresholdCounts(num_labels=4, thresholds=THRESHOLDS, from_logits=True,
                                   multiclass=True)
        # Uneven shards: rank 0 gets 2 batches, rank 1 one batch (and the rest).
        mine = np.arange(len(s))[:37] if rank == 0 else np.arange(len(s))[37:]
        for part in np.array_split(mine, 2 if rank == 0 else 1):
            args = torch.from_numpy(s[part]), torch.from_numpy(y[part])
            unweighted.update(*args)
            weighted.update(*args, sample_weight=torch.from_numpy(w[part]))
        result = {"unweighted": unweighted.compute(), "weighted": weighted.compute()}
        import pickle

        with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
            pickle.dump(result, f)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_ddp_equals_one_process(tmp_path):
    import pickle

    import torch.multiprocessing as mp

    mp.start_processes(_ddp_worker, args=(2, free_port(), str(tmp_path)), nprocs=2,
                       join=True, start_method="spawn")
    s, y, w = _ddp_data()
    single = run_metric([(s, y)], thresholds=THRESHOLDS, from_logits=True, multiclass=True)
    single_w = run_metric([(s, y, w)], thresholds=THRESHOLDS, from_logits=True, multiclass=True)
    assert single == reference(y, s, thresholds=THRESHOLDS, from_logits=True)
    for rank in (0, 1):
        with open(tmp_path / f"rank{rank}.pkl", "rb") as f:
            got = pickle.load(f)
        assert_counts_equal(got["unweighted"], single)
        assert got["unweighted"].n == 90
        assert_counts_equal(got["weighted"], single_w, exact=False)


# -- the binning kernel --------------------------------------------------------------------------

@st.composite
def cuts_and_scores(draw):
    kind = draw(st.sampled_from(["linspace", "logits", "random", "clustered"]))
    num_t = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "linspace":
        thresholds = inputs.make_thresholds(num_t)
    elif kind == "random":
        thresholds = np.unique(rng.random(num_t).astype(np.float32))
    else:  # thresholds a few float32 steps apart: many cuts share a grid cell
        base = np.float32(rng.random())
        thresholds = np.unique(np.array([np.nextafter(base, np.float32(2), dtype=np.float32)
                                         if i % 2 else base + np.float32(i * 1e-7)
                                         for i in range(num_t)], np.float32).clip(0, 1))
    cuts = inputs.cut_values(thresholds, kind == "logits").astype(np.float32)
    finite = cuts[np.isfinite(cuts)]
    near = np.concatenate([finite, np.nextafter(finite, np.float32(np.inf)),
                           np.nextafter(finite, np.float32(-np.inf))]) if finite.size else []
    pool = np.concatenate([near, [np.inf, -np.inf, np.nan, -0.0, 0.0, -1e30, 1e30],
                           rng.normal(0, 3, 20)]).astype(np.float32)
    s = rng.choice(pool, size=draw(st.integers(1, 200)))
    if draw(st.booleans()):
        s = s.astype(np.float64) + rng.choice([0.0, 1e-13, -1e-13], size=s.shape)
    return cuts, s


@settings(max_examples=300, deadline=None)
@given(cuts_and_scores())
def test_binner_equals_searchsorted(case):
    from tb_metrics_plugin.torch_binning import Binner

    cuts, s = case
    scores = torch.from_numpy(s)
    want = np.searchsorted(cuts.astype(s.dtype), s, side="right")
    want[np.isnan(s)] = 0
    np.testing.assert_array_equal(Binner(torch.from_numpy(cuts))(scores).numpy(), want)
