"""Distributed fit: CountsCallback writes the single-device counts, and only the chief writes.

Every run fits the exact model of `_subprocess_scripts/common.py` (integer inputs, weights in
1/8ths: its logits are bit-identical however the batch is split, so they equal the single-device
``numpy_forward``) with ThresholdCounts + CountsCallback and learning rate 0, two epochs, in
subprocesses started together:

* ``tf.distribute.MirroredStrategy`` over two logical CPU devices (which must be configured
  before TensorFlow initialises: hence a subprocess);
* ``tf.distribute.MultiWorkerMirroredStrategy``: two processes on 127.0.0.1 with TF_CONFIG on
  free ports, both given the *same* log_dir as a user would; once as two workers (worker 0 is
  the chief) and once as a chief plus a worker (worker 0 is then not the chief);
* JAX with ``keras.distribution.DataParallel`` over two host devices
  (XLA_FLAGS=--xla_force_host_platform_device_count=2).

Counts that summed only one replica (or averaged replicas) would show half the samples; a
non-chief that wrote would leave a second event file in the shared log_dir.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tb_metrics_plugin as tbm
from tests._subprocess_scripts import common, launch
from tests._subprocess_scripts.common import N_TRAIN, N_VAL, TRAIN_SEED, VAL_SEED
from tests.tb_server import free_port

pytestmark = pytest.mark.slow


# Two clusters: two workers (worker 0 is the chief), and a chief plus a worker (worker 0 is not).
CLUSTERS = {"multiworker": ("worker", "worker"), "chief_and_worker": ("chief", "worker")}


def _start_cluster(root, start, name):
    """The processes of cluster ``name`` on free ports of 127.0.0.1, sharing one log_dir."""
    types = CLUSTERS[name]
    ports = []
    while len(ports) < len(types):
        port = free_port()
        if port not in ports:
            ports.append(port)
    cluster = {}
    tasks = []
    for task_type, port in zip(types, ports):
        cluster.setdefault(task_type, []).append(f"127.0.0.1:{port}")
        tasks.append({"type": task_type, "index": len(cluster[task_type]) - 1})
    procs = []
    for i, task in enumerate(tasks):
        tf_config = json.dumps({"cluster": cluster, "task": task})
        procs.append(start(name, "--strategy", "multiworker", "--logdir", root / f"{name}_logs",
                           env={"TF_CONFIG": tf_config}, out=root / f"{name}_{i}"))
    return procs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Starts every distributed run at once; ``{name: [(out_dir, proc), ...]}`` and
    ``{name + "_logs": log_dir}`` for the clusters."""
    root = tmp_path_factory.mktemp("distributed")
    started = {}

    def start(name, *args, backend="tensorflow", env=None, out=None):
        out = out or root / name
        proc = launch.start("fit_counts.py", [out, *args], backend=backend, env=env,
                            log_dir=root, name=os.path.basename(out))
        started.setdefault(name, []).append((out, proc))
        return proc

    start("mirrored", "--strategy", "mirrored")
    clusters = {name: _start_cluster(root, start, name) for name in CLUSTERS}
    start("jax_data_parallel", "--strategy", "jax_data_parallel", backend="jax",
          env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    launch.wait_all([p for procs in started.values() for _, p in procs], timeout=300,
                    groups=list(clusters.values()))
    for name, procs in clusters.items():
        if any(p.returncode for p in procs) and "in use" in launch.describe(procs):
            # Another process took a free port before the cluster bound it: once more.
            shutil.rmtree(root / f"{name}_logs", ignore_errors=True)
            started[name] = []
            procs = _start_cluster(root, start, name)
            launch.wait_all(procs, timeout=300, groups=[procs])
    for name in CLUSTERS:
        started[f"{name}_logs"] = root / f"{name}_logs"
    return started


def _finished(runs, name):
    procs = runs[name]
    assert all(p.returncode == 0 for _, p in procs), (
        f"{name} failed:\n" + launch.describe([p for _, p in procs]))
    infos = []
    for out, _ in procs:
        with open(out / "result.json") as f:
            infos.append(json.load(f))
    return infos


def _check_counts(logdir, out):
    """The counts in logdir equal the single-device counts, at steps 0 and 1; ``model.predict``
    under the strategy gave the exact logits."""
    weights = common.make_weights()
    for sub, n, seed, name in (("train", N_TRAIN, TRAIN_SEED, "train"),
                               ("validation", N_VAL, VAL_SEED, "val")):
        x, y = common.make_data(n, seed)
        single_device = tbm.confusion_counts(y, common.numpy_forward(weights, x),
                                             from_logits=True, label_names=common.LABEL_NAMES)
        np.testing.assert_array_equal(np.load(out / f"predict_{name}.npy"),
                                      common.numpy_forward(weights, x))
        got = tbm.read_counts(logdir / sub)
        assert list(got) == [common.TAG], f"{sub}: {list(got)}"
        assert [step for step, _ in got[common.TAG]] == [0, 1], sub
        for step, counts in got[common.TAG]:
            assert counts.n == n, f"{sub} step {step}: n={counts.n}, expected {n}"
            assert counts == single_device, f"{sub} step {step} differs from one device"


def test_mirrored_strategy_counts_equal_single_device(runs):
    (info,) = _finished(runs, "mirrored")
    assert info["replicas"] == 2 and info["is_chief"]
    out = runs["mirrored"][0][0]
    _check_counts(out / "logs", out)


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_multi_worker_counts_equal_single_device_and_only_the_chief_writes(runs, cluster):
    infos = _finished(runs, cluster)
    assert [i["replicas"] for i in infos] == [2, 2]
    assert [i["is_chief"] for i in infos] == [True, False]  # the chief, or worker 0
    logdir = runs[f"{cluster}_logs"]
    chief_pid, other_pid = infos[0]["pid"], infos[1]["pid"]
    # Only the chief's event files, one per run directory, and nothing else.
    assert sorted(os.listdir(logdir)) == ["train", "validation"]
    for sub in ("train", "validation"):
        files = os.listdir(logdir / sub)
        assert len(files) == 1, f"{sub}: {files} (did the other worker write too?)"
        fields = files[0].split(".")  # events.out.tfevents.<time>.<host>.<pid>.<n>.tb_metrics
        assert str(chief_pid) in fields and str(other_pid) not in fields, files[0]
    # The other worker left nothing in its own output directory but the script's files.
    assert sorted(os.listdir(runs[cluster][1][0])) == [
        "predict_train.npy", "predict_val.npy", "result.json"]
    _check_counts(logdir, runs[cluster][0][0])


def test_jax_data_parallel_counts_equal_single_device(runs):
    (info,) = _finished(runs, "jax_data_parallel")
    assert info["backend"] == "jax" and info["replicas"] == 2 and info["is_chief"]
    assert info["data_layout"][0] == "batch", info  # each device gets half of every batch
    out = runs["jax_data_parallel"][0][0]
    _check_counts(out / "logs", out)


# -- the single-label state (confusion matrix, top-k, ignored ids, weights) across replicas ------

MULTICLASS_SCRIPT = r"""
import sys
strategy_name = sys.argv[1]
sys.path.insert(0, sys.argv[2])
if strategy_name == "mirrored":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
import keras
import common
import tb_metrics_plugin as tbm

x, _ = common.make_data(256, 1)
logits = common.numpy_forward(common.make_weights(), x)  # exact on any device split
rng = np.random.default_rng(3)
ids = np.where(rng.random(256) < 0.1, 255, rng.integers(0, common.LABELS, 256))
w = rng.integers(1, 4, 256).astype(np.float32)  # small integers: float32 sums exact


def build():
    model = common.build_model(keras)
    plain = tbm.ThresholdCounts(from_logits=True, ignore_value=255)
    weighted = tbm.ThresholdCounts(from_logits=True, ignore_value=255, weighted=True, name="w")
    model.compile(keras.optimizers.SGD(0.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
                  metrics=[plain], weighted_metrics=[weighted])
    return model, plain, weighted


if strategy_name == "mirrored":
    strategy = tf.distribute.MirroredStrategy(
        [d.name for d in tf.config.list_logical_devices("CPU")])
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        model, plain, weighted = build()
else:
    import jax
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
    replicas = len(jax.devices())
    model, plain, weighted = build()
model.fit(x, ids, sample_weight=w, batch_size=32, epochs=1, shuffle=False, verbose=0)
want = tbm.confusion_counts(ids, logits, from_logits=True, ignore_value=255)
want_w = tbm.confusion_counts(ids, logits, from_logits=True, ignore_value=255, sample_weight=w)
got, got_w = plain.counts(), weighted.counts()
assert replicas == 2, replicas
assert got == want, "unweighted counts differ from one device"
assert got.confusion_matrix.sum() == want.n and got.top_k_hits is not None
for field in ("tp", "fp", "tn", "fn", "exact_match", "out_of_range", "confusion_matrix",
              "top_k_hits", "categorical_correct", "top1_positive", "negative_rows"):
    assert np.array_equal(getattr(got_w, field), getattr(want_w, field)), field
assert got_w.n == want_w.n
print("MULTICLASS_OK", strategy_name, replicas, got.n, got_w.n)
"""


@pytest.mark.parametrize("strategy, backend", [("mirrored", "tensorflow"),
                                               ("jax_data_parallel", "jax")])
def test_single_label_state_across_replicas_equals_one_device(tmp_path, strategy, backend):
    """Class ids with an ignored id, weighted and not: the confusion matrix, top-k hits and
    every other field summed over two replicas equal confusion_counts on one device."""
    env = launch.script_env(backend)
    if backend == "jax":
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    script = tmp_path / "multiclass.py"
    script.write_text(MULTICLASS_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), strategy, launch.HERE], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert f"MULTICLASS_OK {strategy} 2" in proc.stdout
