"""tbm.add_counts: Counts into a torch / tensorboardX SummaryWriter's own event file.

Read back with read_counts and with TensorBoard's event loader: the user's scalars and our
summary sit in one file, our metadata (plugin name, DATA_CLASS_TENSOR) survives tensorboardX's
copy of the protos, and a tag's shape is fixed per writer and across a restart.
"""
import glob
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tb_metrics_plugin as tbm  # noqa: E402
from tb_metrics_plugin import metadata  # noqa: E402


def _counts(seed=0, thresholds=11, labels=3, weighted=False):
    rng = np.random.default_rng(seed)
    y, s = rng.integers(0, 2, (40, labels)), rng.random((40, labels))
    w = rng.random(40) if weighted else None
    return tbm.confusion_counts(y, s, thresholds=thresholds, sample_weight=w)


def _writers():
    from torch.utils.tensorboard import SummaryWriter

    out = [("torch", SummaryWriter)]
    try:
        import tensorboardX
    except ImportError:  # pragma: no cover - tensorboardX is in the test extras
        return out
    return out + [("tensorboardX", tensorboardX.SummaryWriter)]


def _events(logdir):
    from tensorboard.backend.event_processing import event_file_loader

    files = sorted(glob.glob(os.path.join(logdir, "*tfevents*")))
    return files, [e for f in files for e in event_file_loader.EventFileLoader(f).Load()]


@pytest.mark.parametrize("name, make", _writers(), ids=[n for n, _ in _writers()])
def test_counts_go_into_the_writers_own_file_next_to_its_scalars(tmp_path, name, make):
    from tensorboard.compat.proto import summary_pb2

    writer = make(str(tmp_path))
    steps = {step: _counts(step) for step in range(3)}
    for step, counts in steps.items():
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        tbm.add_counts(writer, counts, step)
    writer.close()
    files, events = _events(str(tmp_path))
    assert len(files) == 1, files  # one event file: the writer's own
    scalars = [(e.step, v.tag) for e in events for v in e.summary.value if v.tag == "loss"]
    assert [s for s, _ in scalars] == [0, 1, 2]
    ours = [v for e in events for v in e.summary.value if v.tag == "threshold_counts"]
    assert len(ours) == 3
    first = ours[0].metadata
    assert first.plugin_data.plugin_name == metadata.PLUGIN_NAME
    assert first.data_class == summary_pb2.DATA_CLASS_TENSOR
    got = tbm.read_counts(str(tmp_path))["threshold_counts"]
    assert [s for s, _ in got] == [0, 1, 2]
    for step, counts in got:
        assert counts == steps[step]


@pytest.mark.parametrize("name, make", _writers(), ids=[n for n, _ in _writers()])
def test_a_tags_shape_is_fixed_per_writer_and_after_a_restart(tmp_path, name, make):
    writer = make(str(tmp_path))
    tbm.add_counts(writer, _counts(0), 0, tag="val")
    with pytest.raises(ValueError, match=r"another shape.*new tag"):
        tbm.add_counts(writer, _counts(0, thresholds=21), 1, tag="val")
    with pytest.raises(ValueError, match="another shape"):
        tbm.add_counts(writer, _counts(0, weighted=True), 1, tag="val")
    tbm.add_counts(writer, _counts(1, thresholds=21), 1, tag="val_v2")  # a new tag is fine
    writer.close()
    # A new process writing to the same run directory (tensorboardX names files by the second
    # only: the suffix keeps it from overwriting the first file within the same second).
    restarted = make(str(tmp_path), filename_suffix=".restart")
    with pytest.raises(ValueError, match="another shape"):
        tbm.add_counts(restarted, _counts(2, labels=4), 2, tag="val")
    tbm.add_counts(restarted, _counts(2), 2, tag="val")
    restarted.close()
    got = tbm.read_counts(str(tmp_path))
    assert [s for s, _ in got["val"]] == [0, 2] and [s for s, _ in got["val_v2"]] == [1]


@pytest.mark.parametrize("name, make", _writers(), ids=[n for n, _ in _writers()])
def test_a_step_that_does_not_grow_warns(tmp_path, name, make):
    writer = make(str(tmp_path))
    tbm.add_counts(writer, _counts(0), 5, tag="val")
    with pytest.warns(UserWarning, match=r"'val' .* written at step 5 and now at step 0"):
        tbm.add_counts(writer, _counts(1), 0, tag="val")
    writer.close()


def test_run_directory_and_bad_arguments(tmp_path):
    tbm.add_counts(str(tmp_path / "run"), _counts(0), 4)
    assert [s for s, _ in tbm.read_counts(str(tmp_path / "run"))["threshold_counts"]] == [4]
    with pytest.raises(ValueError, match="SummaryWriter"):
        tbm.add_counts(object(), _counts(0), 0)
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "w"))
    with pytest.raises(ValueError, match="Expected a tb_metrics_plugin.Counts"):
        tbm.add_counts(writer, {"tp": 1}, 0)
    with pytest.raises(ValueError, match="integer step"):
        tbm.add_counts(writer, _counts(0), "last")
    writer.close()
