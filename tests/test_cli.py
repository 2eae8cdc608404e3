"""`tb-metrics` on real written runs: every subcommand and format, values equal to `Counts`
methods (and scikit-learn's classification_report), one-line errors with exit status 2, and no
TensorFlow or Keras needed."""
import ast
import csv
import io
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import classification_report as sk_report

import tb_metrics_plugin as tbm
from tb_metrics_plugin import cli, selection, summary
from tb_metrics_plugin import logdir as logdir_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = "threshold_counts"
LABELS = ["cat", "dog,wolf", "eel|fish", "never"]  # a comma, a pipe, a label with no positives
STEPS = (0, 1, 5)


def _multilabel(step):
    rng = np.random.default_rng(step)
    y = rng.random((240, 4)) < [0.3, 0.2, 0.4, 0.0]
    s = np.clip(rng.random((240, 4)) * 0.7 + (0.15 + 0.05 * step) * y, 0, 1)
    # every score exactly on a stored float32 threshold: AP and ROC-AUC equal scikit-learn's
    s = tbm.make_thresholds(21)[np.round(s * 20).astype(int)]
    return y.astype(int), s


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_logs")
    data = {}
    for run, offset in (("exp1/validation", 0), ("exp2/validation", 10)):
        for step in STEPS:
            y, s = _multilabel(step + offset)
            c = tbm.confusion_counts(y, s, thresholds=21, label_names=LABELS)
            tbm.write_counts(root / run, TAG, c, step=step)
            data[(run, step)] = (y, s, c)
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 3, 200)
    scores = rng.random((200, 3)) + np.eye(3)[ids] * 0.5
    scores /= scores.sum(1, keepdims=True)
    mc = tbm.confusion_counts(ids, scores, thresholds=11, label_names=["a", "b", "c"])
    tbm.write_counts(root / "multi", TAG, mc, step=3)
    data[("multi", 3)] = (ids, scores, mc)
    for tag in ("first", "second"):
        tbm.write_counts(root / "two_tags", tag, data[("exp1/validation", 0)][2], step=0)
    summary.close_all()
    return str(root), data


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def ok(*argv):
    code, out, err = run_cli(*argv)
    assert code == 0 and err == "", err
    return out


def _nan_eq(a, b):
    if a is None:
        return b is None or (isinstance(b, float) and math.isnan(b))
    return a == b or (math.isnan(a) and math.isnan(b))


# -- runs ----------------------------------------------------------------------------------------


def test_runs_lists_every_run_tag_and_step(logdir):
    root, _ = logdir
    doc = json.loads(ok("runs", root, "--format", "json"))
    got = {(r["run"], r["tag"]): r for r in doc["runs"]}
    assert sorted(got) == [("exp1/validation", TAG), ("exp2/validation", TAG), ("multi", TAG),
                           ("two_tags", "first"), ("two_tags", "second")]
    r = got[("exp1/validation", TAG)]
    assert (r["steps"], r["first_step"], r["latest_step"]) == (3, 0, 5)
    assert (r["labels"], r["thresholds"], r["from_logits"], r["multiclass"]) == (
        4, 21, False, False)
    assert r["label_names"] == LABELS and r["range"] == "0.0..1.0"
    assert got[("multi", TAG)]["multiclass"] is True
    rows = list(csv.DictReader(io.StringIO(ok("runs", root, "--format", "csv"))))
    assert [(r["run"], r["tag"], r["latest_step"]) for r in rows][:2] == [
        ("exp1/validation", TAG, "5"), ("exp2/validation", TAG, "5")]
    text = ok("runs", root)
    assert text.splitlines()[0].split()[:5] == ["run", "tag", "steps", "first_step", "latest_step"]
    assert "exp1/validation" in text and "two_tags" in text


# -- report --------------------------------------------------------------------------------------


def _report(logdir, *extra, run="exp1/validation"):
    root, _ = logdir
    return json.loads(ok("report", root, "--run", run, "--format", "json", *extra))


@pytest.mark.parametrize("zero_division", [0, 1, "nan"])
def test_report_at_a_threshold_equals_counts_methods(logdir, zero_division):
    _, data = logdir
    doc = _report(logdir, "--threshold", "0.5", "--zero-division", zero_division)
    c = data[("exp1/validation", 5)][2]
    zd = float(zero_division) if zero_division == "nan" else zero_division
    i = c.threshold_index(0.5)
    assert (doc["run"], doc["tag"], doc["step"], doc["n"]) == ("exp1/validation", TAG, 5, 240)
    assert doc["rule"]["threshold"] == 0.5 and doc["sample_unit"] == "samples"
    for label, row in enumerate(doc["rows"]):
        assert row["label"] == LABELS[label]
        for key, fn in (("precision", c.precision), ("recall", c.recall), ("f1-score", c.f1)):
            assert _nan_eq(row[key], float(fn(None, zd)[label, i]))
        assert row["support"] == int(c.support[label])
        assert _nan_eq(row["average_precision"], float(c.average_precision(None)[label]))
        assert _nan_eq(row["roc_auc"], float(c.roc_auc(None)[label]))
    averages = {r["label"]: r for r in doc["averages"]}
    assert list(averages) == ["micro avg", "macro avg", "weighted avg"]
    for name, avg in (("micro avg", "micro"), ("macro avg", "macro"),
                      ("weighted avg", "weighted")):
        row = averages[name]
        assert _nan_eq(row["f1-score"], float(c.f1(avg, zd)[i]))
        assert _nan_eq(row["precision"], float(c.precision(avg, zd)[i]))
        assert row["support"] == int(c.support.sum())
        assert _nan_eq(row["average_precision"], c.average_precision(avg))
        assert _nan_eq(row["roc_auc"], c.roc_auc(avg))
    assert doc["accuracy"]["binary_accuracy"] == float(c.binary_accuracy()[i])
    assert doc["accuracy"]["exact_match_accuracy"] == float(c.exact_match_accuracy()[i])
    # Keras' `accuracy` of a multi-label output (argmax match), as the dashboard shows it
    y, s, _ = data[("exp1/validation", 5)]
    assert doc["accuracy"]["categorical_accuracy"] == c.categorical_accuracy()
    assert doc["accuracy"]["categorical_accuracy"] == np.mean(y.argmax(1) == s.argmax(1))
    assert "top_1_accuracy" not in doc["accuracy"]  # top-k: single-label data only


def test_report_equals_scikit_learn_classification_report(logdir):
    _, data = logdir
    y, s, _ = data[("exp1/validation", 1)]
    doc = _report(logdir, "--step", 1, "--threshold", "0.35")
    expected = sk_report(y, (s >= np.float32(0.35)).astype(int), target_names=LABELS,
                         output_dict=True, zero_division=0)
    for row in doc["rows"] + doc["averages"]:
        want = expected[row["label"]]
        for key in ("precision", "recall", "f1-score"):
            assert row[key] == pytest.approx(want[key], abs=1e-12), (row["label"], key)
        assert row["support"] == want["support"]
    from sklearn.metrics import average_precision_score, roc_auc_score
    for label in range(3):
        assert doc["rows"][label]["average_precision"] == pytest.approx(
            average_precision_score(y[:, label], s[:, label]), abs=1e-9)
        assert doc["rows"][label]["roc_auc"] == pytest.approx(
            roc_auc_score(y[:, label], s[:, label]), abs=1e-9)


@pytest.mark.parametrize("metric,params", [
    ("f1", {}), ("fbeta", {"beta": 0.5}), ("recall_at_precision", {"precision": 0.8}),
    ("precision_at_recall", {"recall": 0.9}), ("cost", {"cost_fp": 1, "cost_fn": 5}),
])
def test_report_at_each_labels_best_threshold(logdir, metric, params):
    _, data = logdir
    flags = [x for k, v in params.items() for x in (cli.PARAM_FLAGS[k], v)]
    doc = _report(logdir, "--best", metric, *flags)
    c = data[("exp1/validation", 5)][2]
    idx = c.best_threshold_indices(metric, **params)
    best = c.to_best_thresholds(metric, **params)
    assert doc["rule"] == {"metric": metric, "params": selection.check_objective(metric, params),
                           "per_label": True}
    fallback = c.threshold_index(0.5)
    assert doc["fallback"] == [LABELS[l] for l in range(4) if idx[l] < 0]
    assert "never" in doc["fallback"]  # no positives: no threshold for any objective
    for label, row in enumerate(doc["rows"]):
        j = idx[label] if idx[label] >= 0 else fallback
        assert row["threshold"] == float(c.thresholds[j])
        assert _nan_eq(row["precision"], float(c.precision()[label, j]))
        assert _nan_eq(row["recall"], float(c.recall()[label, j]))
        assert _nan_eq(row["f1-score"], float(c.f1()[label, j]))
        assert _nan_eq(row[metric], float(best.scores[label]) if idx[label] >= 0 else math.nan)
    # micro at per-label thresholds: the pooled counts of each label's chosen column
    cols = [idx[l] if idx[l] >= 0 else fallback for l in range(4)]
    tp = sum(int(c.tp[l, j]) for l, j in enumerate(cols))
    fp = sum(int(c.fp[l, j]) for l, j in enumerate(cols))
    micro = doc["averages"][0]
    assert micro["precision"] == pytest.approx(tp / (tp + fp), abs=1e-15)
    assert micro["recall"] == pytest.approx(tp / int(c.support.sum()), abs=1e-15)
    assert micro["threshold"] is None  # thresholds differ per label
    assert "binary_accuracy" not in doc["accuracy"]  # unknown at mixed thresholds


def test_report_with_one_global_threshold(logdir):
    _, data = logdir
    doc = _report(logdir, "--best", "f1", "--global")
    c = data[("exp1/validation", 5)][2]
    t = c.best_thresholds("f1", per_label=False)
    assert {row["threshold"] for row in doc["rows"] + doc["averages"]} == {t}
    i = c.best_threshold_indices("f1", per_label=False)
    assert doc["averages"][0]["f1-score"] == float(c.f1("micro")[i])
    assert doc["averages"][0]["f1-score"] == float(np.max(c.f1("micro")))
    # one threshold for every label: the accuracies are defined again
    assert doc["accuracy"]["exact_match_accuracy"] == float(c.exact_match_accuracy()[i])
    assert doc["accuracy"]["binary_accuracy"] == float(c.binary_accuracy()[i])


def test_report_text_csv_markdown_parse(logdir):
    root, data = logdir
    c = data[("exp1/validation", 1)][2]
    base = ["report", root, "--run", "exp1/validation", "--step", "1", "--best", "f1"]
    doc = json.loads(ok(*base, "--format", "json"))
    rows = list(csv.DictReader(io.StringIO(ok(*base, "--format", "csv"))))
    assert [r["label"] for r in rows] == LABELS + ["micro avg", "macro avg", "weighted avg"]
    for got, want in zip(rows, doc["rows"] + doc["averages"]):
        for key in ("precision", "recall", "f1-score", "average_precision", "roc_auc"):
            assert (float(got[key]) if got[key] else None) == (
                None if want[key] is None else want[key]), key  # repr round trips exactly
        assert float(got["support"]) == want["support"]
    assert rows[0]["threshold"] and float(rows[0]["threshold"]) == doc["rows"][0]["threshold"]

    md = ok(*base, "--format", "markdown").splitlines()
    table = [line for line in md if line.startswith("|")]
    head = [h.strip() for h in table[0].strip("|").split("|")]
    assert head == ["label", "threshold", "precision", "recall", "f1-score", "support",
                    "average_precision", "roc_auc"]
    assert set(table[1].replace(" ", "")) <= set("|-:")
    body = [line[2:-2].split(" | ") for line in table[2:]]  # "\|" in a cell is not " | "
    assert [len(r) for r in body] == [len(head)] * 7
    assert body[2][0] == "eel\\|fish" and body[1][0] == "dog,wolf"
    assert float(body[0][4]) == round(doc["rows"][0]["f1-score"], 4)
    assert any("**step**: 1" in line for line in md)

    text = ok(*base, "--digits", "3")
    lines = text.splitlines()
    header = dict(line.split(None, 1) for line in lines[:6])
    assert header["run"] == "exp1/validation" and header["step"] == "1"
    assert header["tag"] == TAG and header["n"] == "240 samples"
    assert header["thresholds"] == ("best f1 per label; labels with no qualifying threshold "
                                    "use 0.5, as BestThresholds.predict does: never")
    table = lines[lines.index("") + 1:]
    assert table[0].split() == ["label", "threshold", "precision", "recall", "f1-score",
                                "support", "average_precision", "roc_auc"]
    cat = table[1].split()
    assert cat[0] == "cat" and cat[3] == f"{c.recall()[0, c.best_threshold_indices()[0]]:.3f}"
    assert table[1 + len(LABELS)] == ""  # a blank line before the averages, as scikit-learn
    assert table[2 + len(LABELS)].startswith("micro avg")
    widths = {len(line) for line in table[1:1 + len(LABELS)]}
    assert len(widths) == 1  # aligned columns


def test_report_single_label_multiclass_shows_top_k(logdir):
    root, data = logdir
    c = data[("multi", 3)][2]
    doc = json.loads(ok("report", root, "--run", "multi", "--format", "json"))
    acc = doc["accuracy"]
    assert acc["categorical_accuracy"] == c.categorical_accuracy()
    assert [acc[f"top_{k}_accuracy"] for k in (1, 2, 3)] == [c.top_k_accuracy(k) for k in (1, 2, 3)]
    ids, scores, _ = data[("multi", 3)]
    assert acc["categorical_accuracy"] == np.mean(scores.argmax(1) == ids)
    text = ok("report", root, "--run", "multi")
    assert "categorical accuracy" in text and "top 3 accuracy" in text
    assert "single-label multi-class" in text


def test_path_may_be_the_run_directory_or_its_only_run(logdir, tmp_path):
    root, _ = logdir
    direct = ok("report", os.path.join(root, "exp2", "validation"), "--format", "json")
    via_run = ok("report", root, "--run", "exp2/validation", "--format", "json")
    assert json.loads(direct)["rows"] == json.loads(via_run)["rows"]
    assert json.loads(direct)["run"] == os.path.join(root, "exp2", "validation")
    one = ok("report", os.path.join(root, "exp2"), "--format", "json")  # holds one run
    assert json.loads(one)["run"] == "validation"
    assert json.loads(one)["rows"] == json.loads(via_run)["rows"]


# -- thresholds ----------------------------------------------------------------------------------


def test_thresholds_prints_and_writes_best_thresholds_json(logdir, tmp_path):
    root, data = logdir
    c = data[("exp1/validation", 1)][2]
    argv = ["thresholds", root, "--run", "exp1/validation", "--step", "1",
            "--metric", "recall_at_precision", "--precision", "0.75"]
    printed = json.loads(ok(*argv))
    expected = c.to_best_thresholds("recall_at_precision", precision=0.75, step=1,
                                    run="exp1/validation", tag=TAG)
    assert printed == expected.to_json()
    path = tmp_path / "best.json"
    msg = ok(*argv, "-o", path)
    assert msg.startswith(f"Wrote {path}: recall_at_precision thresholds for ")
    best = tbm.load_best_thresholds(path)
    assert (best.metric, best.params, best.step, best.run, best.tag) == (
        "recall_at_precision", {"precision": 0.75}, 1, "exp1/validation", TAG)
    np.testing.assert_array_equal(best.thresholds.astype(np.float32),
                                  c.best_thresholds("recall_at_precision", precision=0.75)
                                  .astype(np.float32))
    y, s, _ = data[("exp1/validation", 1)]
    np.testing.assert_array_equal(best.predict(s), expected.predict(s))


def test_thresholds_global_and_cost(logdir):
    root, data = logdir
    c = data[("exp1/validation", 5)][2]
    doc = json.loads(ok("thresholds", root, "--run", "exp1/validation", "--metric", "cost",
                        "--cost-fp", "1", "--cost-fn", "4", "--global"))
    t = c.best_thresholds("cost", per_label=False, cost_fp=1, cost_fn=4)
    assert doc["per_label"] is False and doc["params"] == {"cost_fp": 1.0, "cost_fn": 4.0}
    assert doc["thresholds"] == [selection.shortest_float32(t)] * 4


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv,expected", [
    (["report", "{root}/missing"], "Expected PATH to be a run directory or a logdir; "),
    (["report", "{root}"], "Expected --run for the logdir"),
    (["report", "{root}", "--run", "exp9"], "Expected --run to be a run in"),
    (["report", "{root}", "--run", "two_tags"], "Expected --tag: "),
    (["report", "{root}", "--run", "multi", "--tag", "nope"], "Expected --tag to be one of"),
    (["report", "{root}", "--run", "multi", "--step", "4"], "Expected --step to be a step of tag"),
    (["report", "{root}", "--run", "multi", "--step", "x"], "expected an integer; received 'x'"),
    (["report", "{root}", "--run", "multi", "--threshold", "1.5"],
     "expected a probability in [0, 1]"),
    (["report", "{root}", "--run", "multi", "--threshold", ".5", "--best", "f1"],
     "not allowed with"),
    (["report", "{root}", "--run", "multi", "--best", "auc"], "invalid choice: 'auc'"),
    (["report", "{root}", "--run", "multi", "--best", "f1", "--beta", "2"],
     "Expected no parameter for metric 'f1'; received --beta."),
    (["report", "{root}", "--run", "multi", "--beta", "2"], "Expected --best METRIC with --beta"),
    (["report", "{root}", "--run", "multi", "--zero-division", "2"], "expected 0, 1 or nan"),
    (["report", "{root}", "--run", "multi", "--format", "xml"], "invalid choice: 'xml'"),
    (["thresholds", "{root}", "--run", "multi"], "required: --metric"),
    (["thresholds", "{root}", "--run", "multi", "--metric", "fbeta", "--beta", "0"],
     "Expected `beta` > 0"),
    (["thresholds", "{root}", "--run", "multi", "--metric", "recall_at_precision",
      "--precision", "1.2"], "Expected `precision` in [0, 1]"),
    (["thresholds", "{root}", "--run", "multi", "--metric", "cost", "--recall", "0.5"],
     "Expected --cost-fp, --cost-fn for metric 'cost'; received --recall."),
    (["thresholds", "{root}", "--run", "multi", "--metric", "f1", "-o", "{root}/no/dir/b.json"],
     "Expected a writable file for -o"),
    (["runs", "{root}/missing"], "Expected LOGDIR to be a directory"),
    (["runs", "{empty}"], "Expected tb_metrics counts under"),
    (["report", "{empty}"], "Expected event files in"),
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line_and_exit_2(logdir, tmp_path, argv, expected):
    root, _ = logdir
    argv = [a.format(root=root, empty=tmp_path) for a in argv]
    code, out, err = run_cli(*argv)
    assert code == 2 and out == ""
    assert err.startswith("tb-metrics: error: ") and err.endswith("\n")
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err, err


def test_unreadable_run_is_an_error_not_a_traceback(tmp_path):
    # a tag written by a newer storage format: read_counts refuses it
    from tb_metrics_plugin import metadata

    c = tbm.confusion_counts([1, 0], [0.9, 0.1], thresholds=3)
    original = metadata.content_dict
    try:
        metadata.content_dict = lambda counts: {**original(counts), "version": 99}
        with tbm.CountsWriter(tmp_path) as w:
            w.write(TAG, c, step=0)
    finally:
        metadata.content_dict = original
    code, out, err = run_cli("report", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "tb-metrics: error: " in err and "99" in err


# -- no TensorFlow, the console script ----------------------------------------------------------


BLOCKED = ("import runpy, sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None; "
           "sys.argv = ['tb-metrics'] + sys.argv[1:]; "
           "runpy.run_module('tb_metrics_plugin.cli', run_name='__main__')")


def _python(*args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=120, **kw)


def test_cli_runs_with_tensorflow_and_keras_blocked(logdir):
    root, _ = logdir
    helped = _python("-c", BLOCKED, "--help")
    assert helped.returncode == 0 and "report" in helped.stdout, helped.stderr
    argv = ["report", root, "--run", "exp1/validation", "--format", "json"]
    done = _python("-c", BLOCKED, *argv)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(ok(*argv))
    bad = _python("-c", BLOCKED, "report", root)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_module_entry_imports_no_tensorflow_even_when_installed(logdir):
    root, _ = logdir
    done = _python("-X", "importtime", "-m", "tb_metrics_plugin", "thresholds", root, "--run",
                   "exp2/validation", "--metric", "f1")
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "tb_metrics_plugin" in imported and "tensorboard" in imported
    assert not imported & {"tensorflow", "keras", "torch", "jax"}, sorted(imported)
    assert json.loads(done.stdout)["run"] == "exp2/validation"


def test_console_script_entry_point_is_declared():
    tree = ast.parse(open(os.path.join(ROOT, "setup.py"), encoding="utf-8").read())
    found = [node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and node.value.startswith("tb-metrics =")]
    assert found == ["tb-metrics = tb_metrics_plugin.cli:main"]
    assert callable(cli.main)


def test_output_into_a_closed_pipe_is_quiet(tmp_path):
    rng = np.random.default_rng(0)  # 3,000 labels: far more text than a pipe buffers
    c = tbm.confusion_counts(rng.random((20, 3000)) < 0.5, rng.random((20, 3000)), thresholds=3)
    with tbm.CountsWriter(tmp_path) as w:
        w.write(TAG, c, step=0)
    cmd = f"{sys.executable} -m tb_metrics_plugin report {tmp_path} | head -n 1"
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("run"), done.stderr
    assert done.stderr == ""


def test_reader_choice_by_size(logdir):
    root, _ = logdir
    assert logdir_module.use_pure_python_reader(10 * 2**30, tensorflow_installed=False)
    limit = logdir_module.PURE_PYTHON_MAX_BYTES
    assert logdir_module.use_pure_python_reader(limit, tensorflow_installed=True)
    assert not logdir_module.use_pure_python_reader(limit + 1, tensorflow_installed=True)
    run = os.path.join(root, "exp1", "validation")
    files = [os.path.join(run, f) for f in os.listdir(run)]
    assert logdir_module._event_bytes(run) == sum(os.path.getsize(f) for f in files) > 0
    assert logdir_module._event_bytes(root, recursive=True) > logdir_module._event_bytes(run)


def test_objective_column_only_where_it_adds_information(logdir):
    root, _ = logdir
    base = ["report", root, "--run", "exp1/validation", "--format", "csv", "--best"]
    cost = next(csv.reader(io.StringIO(ok(*base, "cost", "--cost-fn", "3"))))
    assert cost[-1] == "cost"
    fbeta = next(csv.reader(io.StringIO(ok(*base, "fbeta", "--beta", "2"))))
    assert fbeta[-1] == "fbeta"
    for metric, flags in (("f1", []), ("recall_at_precision", ["--precision", "0.5"]),
                          ("precision_at_recall", ["--recall", "0.5"])):
        head = next(csv.reader(io.StringIO(ok(*base, metric, *flags))))
        assert head[-1] == "roc_auc"  # equals the f1-score, recall or precision column


def test_tag_chooses_among_several(logdir):
    root, data = logdir
    c = data[("exp1/validation", 0)][2]
    doc = json.loads(ok("report", root, "--run", "two_tags", "--tag", "second", "--format",
                        "json"))
    assert doc["tag"] == "second" and doc["step"] == 0
    assert [r["support"] for r in doc["rows"]] == c.support.tolist()


def test_report_warns_about_logits_read_as_probabilities_and_nan(tmp_path):
    """The dashboard's banner, on the command line: scores outside [0, 1] read with
    from_logits=False (naming from_logits=True) and NaN scores warn on stderr; exit 0."""
    import io
    import warnings

    from tb_metrics_plugin import cli

    rng = np.random.default_rng(0)
    scores = rng.normal(0, 5, (40, 3))
    scores[0, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = tbm.confusion_counts(rng.random((40, 3)) < 0.5, scores, thresholds=11)
    run = tmp_path / "bad"
    tbm.write_counts(run, "threshold_counts", c, step=0)
    tbm.summary.close_all()
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["report", str(run)], stdout=out, stderr=err) == 0
    text = err.getvalue()
    share = f"{100 * c.out_of_range_share():.3g}%"
    assert "warning" in text and share in text and "from_logits=True" in text
    assert "1 NaN scores" in text and "label(s): 1" in text
    assert "precision" in out.getvalue()
