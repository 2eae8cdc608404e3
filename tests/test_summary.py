"""Storage: write_counts / read_counts round trips, and TensorBoard's own loader sees our data."""
import dataclasses
import glob
import json
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import summary_pb2

import tb_metrics_plugin as tbm
from tb_metrics_plugin import metadata, summary


def _counts(seed=0, n=50, num_l=4, thresholds=11, weighted=False, from_logits=False):
    rng = np.random.default_rng(seed)
    y = rng.random((n, num_l)) < 0.3
    s = rng.normal(size=(n, num_l)) if from_logits else rng.random((n, num_l))
    w = rng.random(n) if weighted else None
    return tbm.confusion_counts(y, s, thresholds=thresholds, sample_weight=w,
                                from_logits=from_logits,
                                label_names=[f"lab<{i}>" for i in range(num_l)])


def test_round_trip_many_steps_and_tags(tmp_path):
    written = {}
    with tbm.CountsWriter(tmp_path) as w:
        for step in range(5):
            for tag, weighted in (("a", False), ("b", True)):
                c = _counts(seed=step, weighted=weighted, from_logits=tag == "a")
                w.write(tag, c, step)
                written[(tag, step)] = c
    got = tbm.read_counts(tmp_path)
    assert sorted(got) == ["a", "b"]
    for tag, series in got.items():
        assert [s for s, _ in series] == list(range(5))
        for step, c in series:
            assert c == written[(tag, step)]
    assert got["a"][0][1].from_logits and not got["b"][0][1].from_logits
    assert tbm.read_counts(tmp_path, tag="b").keys() == {"b"}


def test_tensorboard_loader_sees_plugin_name_and_data_class(tmp_path):
    tbm.write_counts(tmp_path, "threshold_counts", _counts(), step=3)
    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    acc.Reload()
    assert acc.Tags()["tensors"] == ["threshold_counts"]
    meta = acc.SummaryMetadata("threshold_counts")
    assert meta.plugin_data.plugin_name == "tb_metrics"
    assert meta.data_class == summary_pb2.DATA_CLASS_TENSOR
    content = json.loads(meta.plugin_data.content)
    assert content["version"] == metadata.PROTO_VERSION
    assert content["label_names"][0] == "lab<0>"
    (event,) = acc.Tensors("threshold_counts")
    assert event.step == 3
    assert acc.PluginTagToContent("tb_metrics").keys() == {"threshold_counts"}


def test_unweighted_step_size_is_at_most_8LT_plus_small(tmp_path):
    c = _counts(num_l=100, thresholds=101, n=500)
    array = metadata.counts_to_tensor(c)
    assert array.dtype == np.int32
    assert array.nbytes == 8 * 100 * 101 + 4 * (5 * 100 + 101 + 4)  # 8LT + O(L + T)
    w = _counts(weighted=True)
    assert metadata.counts_to_tensor(w).dtype == np.float64


def test_counts_past_int32_are_stored_as_int64(tmp_path):
    c = _counts()
    big = dataclasses.replace(c, tp=c.tp + 2**31, fn=c.fn - 2**31 + 2**33, n=c.n + 2**33)
    assert metadata.counts_to_tensor(big).dtype == np.int64
    tbm.write_counts(tmp_path, "big", big, step=0)
    ((_, got),) = tbm.read_counts(tmp_path)["big"]
    assert got == big


def test_restarted_run_keeps_last_value_per_step(tmp_path):
    first, second = _counts(seed=1), _counts(seed=2)
    with tbm.CountsWriter(tmp_path) as w:
        w.write("t", first, 0)
        w.write("t", first, 1)
    with tbm.CountsWriter(tmp_path) as w:  # a new file, metadata written again
        w.write("t", second, 1)
    got = tbm.read_counts(tmp_path)["t"]
    assert [s for s, _ in got] == [0, 1]
    assert got[0][1] == first and got[1][1] == second


def test_newer_format_version_is_a_clear_error(tmp_path):
    c = _counts()
    meta = metadata.create_summary_metadata(c)
    content = json.loads(meta.plugin_data.content)
    content["version"] = metadata.PROTO_VERSION + 1
    with pytest.raises(ValueError, match="newer tb_metrics_plugin"):
        metadata.parse_plugin_metadata(json.dumps(content).encode())
    _write_raw(tmp_path, "t", metadata.counts_to_tensor(c), json.dumps(content).encode())
    with pytest.raises(ValueError, match="Upgrade tb_metrics_plugin"):
        tbm.read_counts(tmp_path)


def _write_raw(logdir, tag, array, content):
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="tb_metrics", content=content),
        data_class=summary_pb2.DATA_CLASS_TENSOR)
    writer = EventFileWriter(str(logdir))
    value = summary_pb2.Summary.Value(tag=tag, metadata=meta,
                                      tensor=tensor_util.make_tensor_proto(array))
    writer.add_event(event_pb2.Event(step=0, wall_time=1.0, summary=summary_pb2.Summary(value=[value])))
    writer.close()


def test_wrong_length_tensor_is_skipped(tmp_path, caplog):
    c = _counts()
    content = metadata.create_summary_metadata(c).plugin_data.content
    _write_raw(tmp_path, "t", np.arange(7, dtype=np.int32), content)
    assert tbm.read_counts(tmp_path) == {}
    assert "Expected a 1-D tb_metrics tensor" in caplog.text


def test_malformed_metadata_is_a_clear_error():
    for bad in (b"not json", b"[1]", b'{"version": "1"}', b'{"version": 1, "thresholds": [0.5, 0.1], "label_names": ["a"]}'):
        with pytest.raises(ValueError):
            metadata.parse_plugin_metadata(bad)


def test_truncated_file_reads_every_complete_step(tmp_path):
    with tbm.CountsWriter(tmp_path) as w:
        for step in range(4):
            w.write("t", _counts(seed=step), step)
    (path,) = glob.glob(os.path.join(tmp_path, "*tfevents*"))
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 10)  # the last record is cut in half, as by a SIGKILL mid-write
    got = tbm.read_counts(tmp_path)["t"]
    assert [s for s, _ in got] == [0, 1, 2]
    assert got[2][1] == _counts(seed=2)


def test_write_counts_flushes_immediately(tmp_path):
    tbm.write_counts(tmp_path / "run", "t", _counts(), step=0)
    # Without closing the writer, another reader sees the step.
    assert [s for s, _ in tbm.read_counts(tmp_path / "run")["t"]] == [0]
    tbm.write_counts(tmp_path / "run", "t", _counts(), step=1)
    assert [s for s, _ in tbm.read_counts(tmp_path / "run")["t"]] == [0, 1]
    summary.close_all()


def test_write_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="Counts"):
        tbm.write_counts(tmp_path, "t", {"tp": []}, step=0)
    with pytest.raises(ValueError, match="integer step"):
        tbm.write_counts(tmp_path, "t", _counts(), step="x")
    with pytest.raises(ValueError, match="does not exist"):
        tbm.read_counts(tmp_path / "missing")


def test_read_counts_names_the_runs_of_a_logdir_and_refuses_other_files(tmp_path):
    """A logdir (not a run), or a file that is not an event file, is an error naming the fix,
    not a silent {} (found by a new-user trial)."""
    c = _counts()
    tbm.write_counts(tmp_path / "run1" / "train", "t", c, step=0)
    tbm.write_counts(tmp_path / "run1" / "validation", "t", c, step=0)
    tbm.summary.close_all()
    with pytest.raises(ValueError, match=r"holds 2 runs: train, validation"):
        tbm.read_counts(tmp_path / "run1")
    with pytest.raises(ValueError, match=r"run1/train"):
        tbm.read_counts(tmp_path)
    other = tmp_path / "x.npy"
    other.write_bytes(b"\x93NUMPY")
    with pytest.raises(ValueError, match="tfevents"):
        tbm.read_counts(other)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert tbm.read_counts(empty) == {}  # a run with nothing written yet
    assert set(tbm.read_counts(tmp_path / "run1" / "train")) == {"t"}


def test_a_step_that_does_not_grow_warns_what_tensorboard_hides(tmp_path):
    """Within one writer, a step at or below the tag's last step is what TensorBoard reads as a
    restart (it hides the earlier steps from there on): the writer says so, and what the
    readers see follows TensorBoard's rule."""
    import warnings

    a, b = _counts(1), _counts(2)
    with tbm.CountsWriter(tmp_path) as w:
        for step in range(4):
            w.write("t", a, step)
        with pytest.warns(UserWarning, match=r"written at step 3 and now at step 1\. .*hides "
                                             r"what was written before at steps 1 to 3.*"
                                             r"initial_epoch"):
            w.write("t", b, 1)
        with pytest.warns(UserWarning, match=r"before at step 1: "):
            w.write("t", b, 1)  # the same step again
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            w.write("t", b, 2)  # growing again
            w.write("u", b, 0)  # another tag has its own steps
    got = tbm.read_counts(tmp_path)["t"]
    assert [s for s, _ in got] == [0, 1, 2] and got[1][1] == b and got[0][1] == a


def test_a_new_writer_at_an_old_step_warns_what_tensorboard_hides(tmp_path):
    """A second process (or a script run again) writing a tag its log_dir already holds, at a
    step that does not grow: the writer reads the files' last step and says what is hidden."""
    import warnings

    with tbm.CountsWriter(tmp_path) as w:
        for step in range(4):
            w.write("t", _counts(1), step)
    with tbm.CountsWriter(tmp_path) as w:
        with pytest.warns(UserWarning, match=r"'t' .* already holds steps up to 3 .*now written "
                                             r"at step 0.*steps 0 to 3.*resuming from a "
                                             r"checkpoint"):
            w.write("t", _counts(2), 0)
    with tbm.CountsWriter(tmp_path) as w, warnings.catch_warnings():
        warnings.simplefilter("error")
        w.write("t", _counts(2), 9)  # resumes past the last step: nothing hidden
        w.write("new_tag", _counts(2), 0)
    assert [s for s, _ in tbm.read_counts(tmp_path)["t"]] == [0, 9]
