"""Storage format v2: every field round-trips (weighted bit for bit), version 1 files still read,
negative counts are refused, a tag's shape is fixed (in one process and after a restart), and
`read_counts` agrees with what the plugin decodes through TensorBoard's data provider."""
import dataclasses
import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.util import tensor_util

import tb_metrics_plugin as tbm
from tb_metrics_plugin import metadata, summary
from tests.test_plugin import Board

FIELDS = ("tp", "fp", "tn", "fn", "exact_match", "n", "nan", "out_of_range", "nan_positive",
          "observed", "categorical_correct", "top1_positive", "negative_rows", "top_k_hits",
          "confusion_matrix", "label_names", "from_logits", "sample_unit")


def _round_trip(c):
    meta = metadata.parse_plugin_metadata(metadata.create_summary_metadata(c).plugin_data.content)
    return metadata.tensor_to_counts(metadata.counts_to_tensor(c), meta)


def _assert_same(got, want):
    for name in FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        if b is None:
            assert a is None, name
        elif isinstance(b, (list, str, bool)):
            assert a == b, name
        else:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)
            assert np.asarray(a).dtype.kind == np.asarray(b).dtype.kind, name
    assert got == want


def _kinds(seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the out-of-range score is on purpose
        return _make_kinds(seed)


def _make_kinds(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((40, 3)) < 0.4).astype(float)
    y[rng.random((40, 3)) < 0.15] = np.nan
    s = rng.random((40, 3))
    s[3, 1] = np.nan
    s[4, 2] = 1.7
    ids = rng.integers(0, 4, 40)
    p = rng.random((40, 4))
    w = rng.random(40) * rng.choice([1e-3, 1.0, 1e3, 1e7], 40)  # mixed magnitudes
    seq = rng.random((5, 7, 2))
    return {
        "multi-label": tbm.confusion_counts(np.nan_to_num(y), s, thresholds=11),
        "ignored": tbm.confusion_counts(y, s, thresholds=11, ignore_value=np.nan),
        "weighted": tbm.confusion_counts(np.nan_to_num(y), s, thresholds=11, sample_weight=w),
        "weighted per cell, ignored": tbm.confusion_counts(
            y, s, thresholds=11, ignore_value=np.nan, sample_weight=rng.random((40, 3)) * 1e4),
        "logits": tbm.confusion_counts(np.nan_to_num(y), s * 8 - 4, thresholds=7,
                                       from_logits=True),
        "multiclass": tbm.confusion_counts(ids, p, thresholds=5, label_names=list("abcd")),
        "multiclass, no matrix": tbm.confusion_counts(ids, p, thresholds=5,
                                                      confusion_matrix=False),
        "multiclass weighted": tbm.confusion_counts(ids, p, thresholds=5, sample_weight=w),
        "two classes": tbm.confusion_counts(ids % 2, p[:, :2], thresholds=5),
        "positions": tbm.confusion_counts(seq > 0.5, seq, thresholds=3),
    }


@pytest.mark.parametrize("kind", list(_kinds()))
def test_every_field_round_trips_through_the_tensor(kind, tmp_path):
    c = _kinds()[kind]
    if "ignored" in kind:
        assert not np.array_equal(c.observed, np.full(3, c.n))  # observed is its own field
    _assert_same(_round_trip(c), c)
    tbm.write_counts(tmp_path, "t", c, step=2)
    summary.close_all()
    ((step, got),) = tbm.read_counts(tmp_path)["t"]
    assert step == 2
    _assert_same(got, c)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_weighted_counts_round_trip_bit_for_bit_and_never_negative(data):
    n = data.draw(st.integers(1, 20))
    num_l = data.draw(st.integers(1, 3))
    y = data.draw(hnp.arrays(np.int8, (n, num_l), elements=st.integers(0, 1)))
    s = data.draw(hnp.arrays(np.float64, (n, num_l), elements=st.floats(0, 1)))
    w = data.draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from(
        [0.0, 1e-3, 0.1, 0.3, 1.0, 7.0, 1e3, 1e7, 3.3e9])))
    c = tbm.confusion_counts(y, s, thresholds=data.draw(st.integers(1, 12)), sample_weight=w)
    for name in ("tp", "fp", "tn", "fn", "exact_match"):
        assert (getattr(c, name) >= 0).all(), name
    _assert_same(_round_trip(c), c)


def test_counts_past_2_to_the_31_and_53_read_back_exactly(tmp_path):
    c = _kinds()["multiclass"]
    big = dataclasses.replace(
        c, tp=c.tp + 2**31, fn=c.fn + 2**40 + 1, tn=c.tn + 2**53 + 1,
        n=c.n + 2**55 + 3, exact_match=c.exact_match + 2**33,
        confusion_matrix=c.confusion_matrix + 2**32 + 1, top_k_hits=c.top_k_hits + 2**31,
        categorical_correct=c.categorical_correct + 2**31)
    big = dataclasses.replace(big, fp=big.fp, tn=big.tn)  # observed follows tn
    array = metadata.counts_to_tensor(big)
    assert array.dtype == np.int64
    _assert_same(_round_trip(big), big)
    tbm.write_counts(tmp_path, "big", big, step=0)
    summary.close_all()
    ((_, got),) = tbm.read_counts(tmp_path)["big"]
    _assert_same(got, big)
    assert int(got.tn[0, 0]) == int(c.tn[0, 0]) + 2**53 + 1  # not rounded through a float


def test_2_2e9_unit_weights_read_back_within_1e9_relative():
    c = tbm.confusion_counts([1, 0], [0.7, 0.2], thresholds=3, sample_weight=[1.1e9, 1.1e9])
    got = _round_trip(c)
    assert got.n == pytest.approx(2.2e9, rel=1e-9) and got.tp[0, 0] == 1.1e9


# --- version 1 files --------------------------------------------------------------------------


def _write_raw(run_dir, tag, arrays, content):
    """Events at steps 0, 1, ... holding ``arrays`` under ``tag``; metadata on the first."""
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(run_dir))
    for step, array in enumerate(arrays):
        value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(array))
        if step == 0:
            value.metadata.CopyFrom(summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(
                    plugin_name="tb_metrics", content=json.dumps(content).encode()),
                data_class=summary_pb2.DATA_CLASS_TENSOR))
        writer.add_event(event_pb2.Event(step=step, wall_time=100.0 + step,
                                         summary=summary_pb2.Summary(value=[value])))
    writer.close()


def _v1(c):
    """The version 1 tensor and content of ``c`` (the layout of tb_metrics_plugin 0.1)."""
    parts = [c.tp.ravel(), c.fp.ravel(), c.support, c.nan, c.exact_match, [c.n]]
    dtype = np.float64 if c.weighted else np.int32
    array = np.concatenate([np.asarray(p, dtype=dtype) for p in parts])
    content = {"version": 1, "layout": "tp,fp,support,nan,exact_match,n",
               "thresholds": [float(t) for t in c.thresholds],
               "label_names": list(c.label_names), "from_logits": c.from_logits}
    return array, content


@pytest.mark.parametrize("weighted", [False, True])
def test_version_1_files_still_read(tmp_path, weighted):
    rng = np.random.default_rng(1)
    written = []
    for step in range(3):
        y = rng.random((30, 2)) < 0.4
        s = rng.random((30, 2))
        s[step, 0] = np.nan
        w = rng.random(30) * 5 if weighted else None
        written.append(tbm.confusion_counts(y, s, thresholds=6, sample_weight=w,
                                            from_logits=False, label_names=["x", "y"]))
    arrays = [_v1(c)[0] for c in written]
    _write_raw(tmp_path, "old", arrays, _v1(written[0])[1])
    got = tbm.read_counts(tmp_path)["old"]
    assert [s for s, _ in got] == [0, 1, 2]
    for (_, c), ref in zip(got, written):
        for name in ("tp", "fp", "exact_match", "nan"):
            np.testing.assert_array_equal(getattr(c, name), getattr(ref, name))
        np.testing.assert_allclose(c.fn, ref.fn, rtol=1e-12)
        np.testing.assert_allclose(c.tn, ref.tn, rtol=1e-12, atol=1e-9)
        assert (c.tn >= 0).all() and (c.fn >= 0).all()
        assert c.n == ref.n and c.label_names == ["x", "y"]
        assert c.weighted == weighted
        np.testing.assert_allclose(c.observed, [ref.n, ref.n], rtol=1e-12)
        assert c.out_of_range.tolist() == [0, 0]
        assert c.categorical_correct is None and np.isnan(c.categorical_accuracy())
        assert c.confusion_matrix is None and not c.multiclass
        np.testing.assert_allclose(c.f1(), ref.f1(), rtol=1e-12)
    # the plugin reads the same steps
    board = Board(tmp_path.parent, hints={"tb_metrics": 0})
    run = tmp_path.name
    for step, c in got:
        assert board.plugin.counts_impl(board.ctx, "", run=run, tag="old", step=step)["n"] == (
            c.n if weighted else int(c.n))


# --- negative counts ---------------------------------------------------------------------------


def test_negative_counts_are_refused_by_read_counts_with_a_clear_error(tmp_path):
    # Issue 9, section 3: a wrapped int32 counter wrote n = -2,122,440,576.
    c = tbm.confusion_counts([[1, 0]], [[0.8, 0.1]], thresholds=3)
    array = metadata.counts_to_tensor(c).astype(np.int64)
    n_at = 2 * 2 * 3 + 2 + 2 + 3
    array[n_at] = -2_122_440_576
    content = json.loads(metadata.create_summary_metadata(c).plugin_data.content)
    _write_raw(tmp_path, "wrapped", [array.astype(np.int32)], content)
    with pytest.raises(ValueError, match=r"tag 'wrapped' step 0: Refusing to read negative counts"):
        tbm.read_counts(tmp_path)
    with pytest.raises(ValueError, match="Expected non-negative counts"):
        metadata.counts_to_tensor(dataclasses.replace(c, n=-1))


def test_derived_negative_fn_or_tn_is_refused(tmp_path):
    # Every stored value >= 0, but TP above the support: FN = support - TP < 0.
    c = tbm.confusion_counts([[1, 0]], [[0.8, 0.1]], thresholds=3)
    array = metadata.counts_to_tensor(c)
    array[0] = 5
    meta = metadata.parse_plugin_metadata(metadata.create_summary_metadata(c).plugin_data.content)
    with pytest.raises(ValueError, match="negative counts"):
        metadata.tensor_to_counts(array, meta)


# --- a tag's shape is fixed ----------------------------------------------------------------------


def _simple(thresholds=5, **kw):
    return tbm.confusion_counts([[1, 0], [0, 1]], [[0.8, 0.1], [0.3, 0.6]], thresholds=thresholds,
                                **kw)


@pytest.mark.parametrize("changed, phrase", [
    (dict(thresholds=11), "5 thresholds -> 11"),
    (dict(label_names=["a", "z"]), "label names differ"),
    (dict(from_logits=True), "from_logits False -> True"),
    (dict(sample_weight=[1.0, 2.0]), "weighting False -> True"),
])
def test_changed_tag_shape_is_refused_in_one_process_and_after_restart(tmp_path, changed, phrase):
    first = _simple(label_names=["a", "b"])
    other = _simple(**{"label_names": ["a", "b"], **changed})
    with tbm.CountsWriter(tmp_path) as w:
        w.write("t", first, 0)
        with pytest.raises(ValueError, match="new tag") as info:
            w.write("t", other, 1)
        assert phrase in str(info.value) and "log_dir" in str(info.value)
        w.write("t2", other, 1)  # another tag is fine
        w.write("t", first, 1)  # the same shape is fine
    # a restart: a new writer (a new event file) checks the tag's metadata already on disk
    with pytest.raises(ValueError, match=phrase):
        tbm.CountsWriter(tmp_path).write("t", other, 2)
    summary.close_all()
    with pytest.raises(ValueError, match=phrase):
        tbm.write_counts(tmp_path, "t", other, 2)
    summary.close_all()
    got = tbm.read_counts(tmp_path)
    assert [s for s, _ in got["t"]] == [0, 1] and [s for s, _ in got["t2"]] == [1]


def test_issue9_5_then_11_thresholds(tmp_path):
    # Issue 9, section 4: 5 thresholds at step 0, then 11 at step 1 through write_counts.
    run = tmp_path / "run"
    tbm.write_counts(run, "threshold_counts", _simple(5), step=0)
    with pytest.raises(ValueError, match="5 thresholds -> 11"):
        tbm.write_counts(run, "threshold_counts", _simple(11), step=1)
    summary.close_all()  # "restart"
    with pytest.raises(ValueError, match="5 thresholds -> 11"):
        tbm.write_counts(run, "threshold_counts", _simple(11), step=1)
    tbm.write_counts(run, "threshold_counts", _simple(5), step=1)
    summary.close_all()
    got = tbm.read_counts(run)["threshold_counts"]
    assert [s for s, _ in got] == [0, 1]
    assert _agree(tmp_path, "run", "threshold_counts") == [0, 1]


# --- read_counts and the plugin agree ------------------------------------------------------------


def _agree(logdir, run, tag):
    """Asserts that read_counts and the plugin hold the same steps and counts; returns steps."""
    from tb_metrics_plugin import serialize

    mine = tbm.read_counts(logdir / run).get(tag, [])
    board = Board(logdir, hints={"tb_metrics": 0})
    steps = board.plugin.steps_impl(board.ctx, "", run=run, tag=tag)["steps"]
    assert steps == [s for s, _ in mine]
    for step, c in mine:
        got = board.plugin.counts_impl(board.ctx, "", run=run, tag=tag, step=step)
        assert got["step"] == step
        want = serialize.counts_json(c, step, got["wall_time"])
        assert {k: v for k, v in got.items() if k != "warnings"} == want
    return steps


def test_read_counts_agrees_with_the_plugin(tmp_path):
    kinds = _kinds()
    for i, (kind, c) in enumerate(kinds.items()):
        run = tmp_path / f"run{i}"
        for step in range(3):
            tbm.write_counts(run, "tag", c, step=step * 10)
        summary.close_all()
        with tbm.CountsWriter(run) as w:  # a restart appends one more file
            w.write("tag", c, 30)
        assert _agree(tmp_path, f"run{i}", "tag") == [0, 10, 20, 30], kind


def test_legacy_changed_shape_is_skipped_by_both(tmp_path):
    # A file of an older writer that did not refuse a changed shape: 5 thresholds, then a
    # second event file with 11. TensorBoard keeps the first metadata; both readers skip the
    # steps of the other shape.
    run = tmp_path / "legacy"
    five, eleven = _simple(5), _simple(11)
    c5 = json.loads(metadata.create_summary_metadata(five).plugin_data.content)
    c11 = json.loads(metadata.create_summary_metadata(eleven).plugin_data.content)
    _write_raw(run, "t", [metadata.counts_to_tensor(five)], c5)
    import time
    time.sleep(1.1)  # event file names carry the second: a later file sorts after
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(run))
    value = summary_pb2.Summary.Value(
        tag="t", tensor=tensor_util.make_tensor_proto(metadata.counts_to_tensor(eleven)))
    value.metadata.CopyFrom(metadata.create_summary_metadata(eleven))
    writer.add_event(event_pb2.Event(step=1, wall_time=200.0,
                                     summary=summary_pb2.Summary(value=[value])))
    writer.close()
    assert json.dumps(c11)  # the metadata differs in the thresholds only
    assert _agree(tmp_path, "legacy", "t") == [0]


def test_restart_that_rewrites_steps_agrees(tmp_path):
    # A run restarted from a checkpoint writes steps 1 and 2 again: both readers keep the
    # values written last, and list each step once.
    first, second = _simple(5), _simple(5, sample_weight=None, label_names=None)
    second = dataclasses.replace(second, tp=second.tp * 0, fn=second.fn + second.tp)
    with tbm.CountsWriter(tmp_path / "r") as w:
        for step in range(3):
            w.write("t", first, step, wall_time=100.0 + step)
    import time
    time.sleep(1.1)  # event file names carry the second: the restart's file sorts after
    with tbm.CountsWriter(tmp_path / "r") as w:
        for step in (1, 2):
            w.write("t", second, step, wall_time=200.0 + step)
    got = tbm.read_counts(tmp_path / "r")["t"]
    assert [s for s, _ in got] == [0, 1, 2]
    assert got[0][1] == first and got[1][1] == second and got[2][1] == second
    assert _agree(tmp_path, "r", "t") == [0, 1, 2]


def test_appending_to_a_version_1_tag_is_refused_naming_the_version(tmp_path):
    # The plugin decodes every step with the tag's first (version 1) metadata, so version 2
    # steps appended to it would be dropped: refused, with the reason in words.
    c = _simple(5)
    array, content = _v1(c)
    _write_raw(tmp_path, "t", [array], content)
    with pytest.raises(ValueError) as info:
        tbm.CountsWriter(tmp_path).write("t", c, 1)
    message = str(info.value)
    assert "format version 1 -> 2" in message and "new tag" in message
    assert "weighting None" not in message and "None ->" not in message
    with pytest.raises(ValueError, match=r"format version 1 -> 2.*5 thresholds -> 11"):
        tbm.CountsWriter(tmp_path).write("t", _simple(11), 1)


def test_non_finite_weighted_counts_are_refused():
    c = _kinds()["weighted"]
    meta = metadata.parse_plugin_metadata(metadata.create_summary_metadata(c).plugin_data.content)
    array = metadata.counts_to_tensor(c)
    for bad in (np.nan, np.inf):
        damaged = array.copy()
        damaged[-1] = bad
        with pytest.raises(ValueError, match="non-finite counts"):
            metadata.tensor_to_counts(damaged, meta)
    with pytest.raises(ValueError, match="Expected non-negative counts"):
        metadata.counts_to_tensor(dataclasses.replace(c, top1_positive=None))
    with pytest.raises(ValueError, match="non-finite"):
        metadata.counts_to_tensor(dataclasses.replace(c, n=np.inf))


def test_restart_from_an_earlier_checkpoint_orphans_the_later_steps(tmp_path):
    # Steps 0..3 written, then the run restarts from the checkpoint of step 1 and writes step 1
    # again: steps 2 and 3 of the crashed run are orphans. TensorBoard's default (Rust) loader
    # drops them ("preemption"); read_counts and the plugin (also over the Python loader,
    # which keeps them) do the same.
    first, second = _simple(5), _simple(5, label_names=None)
    second = dataclasses.replace(second, tp=second.tp * 0, fn=second.fn + second.tp)
    with tbm.CountsWriter(tmp_path / "r") as w:
        for step in range(4):
            w.write("t", first, step, wall_time=100.0 + step)
    import time
    time.sleep(1.1)
    with tbm.CountsWriter(tmp_path / "r") as w:
        w.write("t", second, 1, wall_time=300.0)
    got = tbm.read_counts(tmp_path / "r")["t"]
    assert [s for s, _ in got] == [0, 1] and got[1][1] == second
    assert _agree(tmp_path, "r", "t") == [0, 1]
    board = Board(tmp_path, hints={"tb_metrics": 0})
    latest = board.plugin.counts_impl(board.ctx, "", run="r", tag="t")
    assert latest["step"] == 1 and latest["wall_time"] == 300.0


def test_preempt():
    steps = {0: "a", 1: "b", 2: "c", 5: "d"}
    metadata.preempt(steps, 2)
    assert list(steps) == [0, 1]
    metadata.preempt(steps, 7)
    assert list(steps) == [0, 1]
    metadata.preempt(steps, 0)
    assert steps == {}


@pytest.mark.slow
def test_restart_agrees_with_real_tensorboard_under_both_loaders(tmp_path):
    # The preemption rule checked against real TensorBoard processes: the Rust data server
    # (default) drops the orphaned steps itself; over --load_fast=false the plugin does.
    from tests.tb_server import TensorBoardServer, wait_until

    first, second = _simple(5), _simple(5, label_names=None)
    second = dataclasses.replace(second, tp=second.tp * 0, fn=second.fn + second.tp)
    run = tmp_path / "r"
    with tbm.CountsWriter(run) as w:
        for step in range(4):
            w.write("t", first, step, wall_time=100.0 + step)
    import time
    time.sleep(1.1)
    with tbm.CountsWriter(run) as w:
        w.write("t", second, 1, wall_time=300.0)
    assert [s for s, _ in tbm.read_counts(run)["t"]] == [0, 1]
    servers = [TensorBoardServer(tmp_path, "--samples_per_plugin=tb_metrics=0", *flags).start()
               for flags in ((), ("--load_fast=false",))]
    try:
        for server in servers:
            server.wait_ready()
        for server in servers:
            # the loader reads the files in turn: wait for the end state (never reached with
            # the orphans kept)
            steps = wait_until(
                lambda: (lambda got: got if got["steps"] == [0, 1] else None)(
                    server.get_json("/data/plugin/tb_metrics/steps", run="r", tag="t")),
                timeout=120, message="steps [0, 1] of r/t")
            assert steps["wall_times"] == [100.0, 300.0]
            latest = server.get_json("/data/plugin/tb_metrics/counts", run="r", tag="t")
            assert latest["step"] == 1 and latest["tp"] == second.tp.tolist()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.stop()
