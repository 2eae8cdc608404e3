"""Remote log directories through fsspec: memory://, and a real S3 API (moto's server on
127.0.0.1) through s3fs.

Oracles: the `Counts` written are the ones read back (write_counts, CountsWriter, add_counts,
Keras' CountsCallback -> read_counts); the objects are TFRecord event files that TensorBoard's
own TensorFlow-free reader (the tensorflow_stub gfile + record reader that `tensorboard
--logdir s3://...` uses without TensorFlow) lists and decodes; nothing imports TensorFlow.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

fsspec = pytest.importorskip("fsspec")

import tb_metrics_plugin as tbm  # noqa: E402
from tb_metrics_plugin import metadata, remote, summary  # noqa: E402
from tests.tb_server import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _counts(seed=0, thresholds=11, labels=3):
    rng = np.random.default_rng(seed)
    return tbm.confusion_counts(rng.integers(0, 2, (30, labels)), rng.random((30, labels)),
                                thresholds=thresholds)


@pytest.fixture
def memory_dir(request):
    url = f"memory://tbm-test/{request.node.name}"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)


def test_write_and_read_counts_on_memory(memory_dir):
    run = remote.join(memory_dir, "run1", "validation")
    want = {step: _counts(step) for step in range(4)}
    for step, counts in want.items():
        tbm.write_counts(run, "threshold_counts", counts, step)
    got = tbm.read_counts(run)["threshold_counts"]
    assert [s for s, _ in got] == [0, 1, 2, 3]
    assert all(c == want[s] for s, c in got)
    files = remote.event_files(run)
    assert len(files) == 1 and files[0].startswith("memory://") and "tfevents" in files[0]
    assert [s for s, _ in tbm.read_counts(files[0])["threshold_counts"]] == [0, 1, 2, 3]
    summary.close_all()


def test_objects_rotate_and_read_in_order(memory_dir):
    writer = summary.CountsWriter(memory_dir)
    writer._event_writer()  # the remote writer, made lazily
    writer._writer._rotate = 4000  # a small object size: several objects
    want = {step: _counts(step, thresholds=51) for step in range(6)}
    for step, counts in want.items():
        writer.write("tc", counts, step)
    uploads, sent = writer._writer.uploads, writer._writer.bytes_uploaded
    writer.close()
    files = remote.event_files(memory_dir)
    assert len(files) >= 3 and files == sorted(files)
    assert uploads == 6  # one upload per flushed step
    sizes = [len(fsspec.filesystem("memory").cat_file(f.split("://", 1)[1])) for f in files]
    assert sent <= sum(sizes) * 2  # each object sent whole only until it passes rotate_bytes
    got = tbm.read_counts(memory_dir)["tc"]
    assert [s for s, _ in got] == list(range(6)) and all(c == want[s] for s, c in got)


def test_shape_is_fixed_across_writers_and_a_truncated_object_reads_its_prefix(memory_dir):
    summary.CountsWriter(memory_dir).write("tc", _counts(0), 0)
    with pytest.raises(ValueError, match="another shape"):
        summary.CountsWriter(memory_dir).write("tc", _counts(0, thresholds=21), 1)
    fs = fsspec.filesystem("memory")
    path = remote.event_files(memory_dir)[0].split("://", 1)[1]
    data = fs.cat_file(path)
    second = summary.CountsWriter(memory_dir)
    second.write("tc", _counts(1), 1)
    import io

    from tensorboard.summary.writer.record_writer import RecordWriter

    buffer = io.BytesIO()
    RecordWriter(buffer).write(b"x" * 100)
    fs.pipe_file(path, data + buffer.getvalue()[:-7])  # a record being written: cut off
    assert [s for s, _ in tbm.read_counts(memory_dir)["tc"]] == [0, 1]
    fs.pipe_file(path, data[:40] + bytes([data[40] ^ 1]) + data[41:])
    with pytest.raises(ValueError, match="corrupt record"):
        tbm.read_counts(memory_dir)


def test_no_tensorflow_is_imported(tmp_path):
    """write_counts / read_counts on memory:// in a process where TensorFlow cannot load."""
    script = textwrap.dedent("""
        import sys
        sys.modules["tensorflow"] = None  # any import of TensorFlow fails
        import numpy as np
        import tb_metrics_plugin as tbm
        c = tbm.confusion_counts(np.array([[1, 0]]), np.array([[0.8, 0.1]]), thresholds=5)
        tbm.write_counts("memory://notf/run", "tc", c, step=3)
        got = tbm.read_counts("memory://notf/run")["tc"]
        assert got[0][0] == 3 and got[0][1] == c
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# -- S3 (moto's server on 127.0.0.1) -----------------------------------------------------------

@pytest.fixture(scope="module")
def s3_endpoint():
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
           "S3_ENDPOINT": endpoint}  # S3_ENDPOINT: what TensorBoard's TF-free reader reads
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fsspec.filesystem("s3").mkdir("tbm-bucket")
    try:
        yield endpoint
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def test_s3_write_counts_add_counts_and_read_back(s3_endpoint):
    run = "s3://tbm-bucket/logs/run1/validation"
    want = {step: _counts(step) for step in range(3)}
    for step, counts in want.items():
        tbm.write_counts(run, "threshold_counts", counts, step)
    tbm.add_counts(run, _counts(9), 3)  # a run directory URL works in add_counts too
    got = tbm.read_counts(run)["threshold_counts"]
    assert [s for s, _ in got] == [0, 1, 2, 3] and all(
        c == (want[s] if s < 3 else _counts(9)) for s, c in got)
    # A new process (a restart) may not change the tag's shape.
    with pytest.raises(ValueError, match="another shape"):
        summary.CountsWriter(run).write("threshold_counts", _counts(0, labels=4), 4)
    summary.close_all()

    # TensorBoard without TensorFlow reads s3:// through its stub gfile (boto3, S3_ENDPOINT).
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
    from tensorboard.compat.tensorflow_stub.io import gfile as stub_gfile

    # Its directory watcher finds runs with walk() and their files with listdir().
    runs = [d for d, _, files in stub_gfile.walk("s3://tbm-bucket/logs")
            if any("tfevents" in f for f in files)]
    assert [d.rstrip("/") for d in runs] == [run], runs
    names = [n for n in stub_gfile.listdir(run) if "tfevents" in n]
    assert len(names) == 1, names
    reader = pywrap_tensorflow.PyRecordReader_New(run + "/" + names[0])
    steps, plugins = [], set()
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            break
        event = event_pb2.Event.FromString(reader.record())
        for value in event.summary.value:
            steps.append(event.step)
            if value.metadata.plugin_data.plugin_name:
                plugins.add(value.metadata.plugin_data.plugin_name)
    assert steps == [0, 1, 2, 3] and plugins == {metadata.PLUGIN_NAME}


def test_keras_counts_callback_writes_to_s3(s3_endpoint):
    keras = pytest.importorskip("keras")
    probe = tbm.ThresholdCounts(thresholds=3)
    probe.update_state(np.ones((1, 2), "float32"), np.ones((1, 2), "float32"))
    if probe.counts().categorical_correct is None:  # the Keras metric before issue 7's sums
        pytest.skip("Keras ThresholdCounts does not build format-v2 counts in this tree yet")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, :3] > 0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[tbm.ThresholdCounts(thresholds=11, from_logits=True)])
    log_dir = "s3://tbm-bucket/keras/run1"
    model.fit(x, y, validation_data=(x, y), epochs=2, batch_size=32, verbose=0,
              callbacks=[tbm.CountsCallback(log_dir)])
    val = tbm.read_counts(log_dir + "/validation")["threshold_counts"]
    train = tbm.read_counts(log_dir + "/train")["threshold_counts"]
    assert [s for s, _ in val] == [0, 1] and [s for s, _ in train] == [0, 1]
    want = tbm.confusion_counts(y, model.predict(x, verbose=0), thresholds=11,
                                from_logits=True)
    got = val[-1][1]
    np.testing.assert_array_equal(got.tp, want.tp)
    np.testing.assert_array_equal(got.fp, want.fp)
    assert got.n == 64 and train[0][1].n == 64
