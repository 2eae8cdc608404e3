"""Packaging: the wheel ships the listed frontend files and nothing else; the core installs and
imports without Keras; `make demo` installs less than `make test`.

The wheel is built offline from a copy of the sources (``pip wheel --no-deps
--no-build-isolation``) into which junk was dropped (an editor swap file, a byte-code cache,
node_modules, a backup file): none of it may reach the wheel.
"""
import ast
import email.parser
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED_TYPES = (".js", ".css")  # plus vendor/ (libraries with their licences)


def _setup_list(name):
    """A literal list assigned at the top level of setup.py (read, not run: running it would
    call setuptools.setup)."""
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py has no top-level {name} = [...]")


def _frontend_sources():
    """Frontend files that should ship: tracked .js / .css and everything under vendor/."""
    root = os.path.join(ROOT, "frontend")
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--", "."], cwd=root,
                                capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the files on disk
        listed = [os.path.relpath(os.path.join(d, f), root) for d, dirs, files in os.walk(root)
                  for f in files if "node_modules" not in d and "__pycache__" not in d]
    return sorted(p.replace(os.sep, "/") for p in listed
                  if p.endswith(SHIPPED_TYPES) or p.startswith("vendor/"))


def test_every_frontend_file_is_listed_in_setup_py():
    listed = _setup_list("FRONTEND_FILES")
    missing = sorted(set(_frontend_sources()) - set(listed))
    assert not missing, (f"Expected every frontend file in setup.py's FRONTEND_FILES; {missing} "
                         "are not listed, so the wheel would lack them. Add them to the list.")
    gone = [p for p in listed if not os.path.isfile(os.path.join(ROOT, "frontend", p))]
    assert not gone, f"setup.py's FRONTEND_FILES names files that do not exist: {gone}"
    assert listed == sorted(set(listed)), "keep FRONTEND_FILES sorted, without duplicates"
    assert "vendor/uPlot-LICENSE" in listed and "index.js" in listed


JUNK = ["frontend/.app.js.swp", "frontend/app.js~", "frontend/__pycache__/x.cpython-312.pyc",
        "frontend/node_modules/left-pad/index.js", "frontend/views/.#chart.js",
        "frontend/notes.txt", "frontend/vendor/.DS_Store", "tb_metrics_plugin/.x.swp"]


def _source_copy(dest):
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), dest)
    os.makedirs(os.path.join(dest, "tb_metrics_plugin"))
    package = os.path.join(ROOT, "tb_metrics_plugin")
    for name in os.listdir(package):
        path = os.path.join(package, name)
        if name.endswith(".py") and os.path.isfile(path) and not os.path.islink(path):
            shutil.copy(path, os.path.join(dest, "tb_metrics_plugin"))
    shutil.copytree(os.path.join(ROOT, "frontend"), os.path.join(dest, "frontend"),
                    ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    for junk in JUNK:
        path = os.path.join(dest, junk)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("junk\n")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    out = tmp_path_factory.mktemp("dist")
    _source_copy(src)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (name,) = [n for n in os.listdir(out) if n.endswith(".whl")]
    return zipfile.ZipFile(os.path.join(out, name))


def test_wheel_ships_listed_frontend_files_and_no_junk(wheel):
    names = wheel.namelist()
    frontend = sorted(n[len("tb_metrics_plugin/frontend/"):] for n in names
                      if n.startswith("tb_metrics_plugin/frontend/"))
    assert frontend == sorted(_setup_list("FRONTEND_FILES") + ["__init__.py"])
    junk = [n for n in names if "node_modules" in n or "__pycache__" in n or "/.#" in n
            or n.endswith((".swp", "~", ".pyc", ".DS_Store", "notes.txt"))]
    assert not junk
    modules = {n for n in names if n.startswith("tb_metrics_plugin/") and n.count("/") == 1}
    want = {f"tb_metrics_plugin/{n}" for n in os.listdir(os.path.join(ROOT, "tb_metrics_plugin"))
            if n.endswith(".py")}
    assert modules == want
    for name in ("index.js", "vendor/uPlot-1.6.32.esm.js"):
        with open(os.path.join(ROOT, "frontend", name), "rb") as f:
            assert wheel.read(f"tb_metrics_plugin/frontend/{name}") == f.read()


def test_wheel_metadata_core_needs_no_keras(wheel):
    (meta,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    info = email.parser.Parser().parsestr(wheel.read(meta).decode())
    requires = info.get_all("Requires-Dist")
    core = sorted(r.split(">")[0].split("=")[0].strip() for r in requires if "extra ==" not in r)
    assert core == ["numpy", "protobuf", "tensorboard"]
    by_extra = {}
    for r in requires:
        if "extra ==" in r:
            extra = r.split("extra ==")[1].strip().strip("'\"")
            by_extra.setdefault(extra, []).append(r.split(";")[0].split(">")[0].strip())
    assert by_extra["keras"] == ["keras"]
    assert sorted(by_extra["tensorflow"]) == ["keras", "tensorflow-cpu"]
    (entry,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "tb_metrics = tb_metrics_plugin.plugin:MetricsPlugin" in wheel.read(entry).decode()


NO_KERAS = textwrap.dedent("""
    import sys
    sys.modules["keras"] = None        # as if not installed: `import keras` raises ImportError
    sys.modules["tensorflow"] = None
    import tempfile
    import numpy as np
    import tb_metrics_plugin as tbm
    from tb_metrics_plugin import plugin, serialize, metrics
    c = tbm.confusion_counts(np.array([[1, 0], [0, 1]]), np.array([[0.8, 0.1], [0.3, 0.9]]),
                             thresholds=5, label_names=["a", "b"])
    run = tempfile.mkdtemp()
    tbm.write_counts(run, "t", c, 0)
    ((step, back),) = tbm.read_counts(run)["t"]
    assert step == 0 and back == c
    tbm.save_best_thresholds(run + "/best.json", c)
    assert tbm.load_best_thresholds(run + "/best.json").to_json() == c.to_best_thresholds().to_json()
    for name in ("ThresholdCounts", "CountsCallback"):
        try:
            getattr(tbm, name)
        except ImportError as e:
            print("IMPORT_ERROR", name, e)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "torch",
                                                                  "jax") and sys.modules[m])
    print("LOADED", loaded)
""")


def test_core_imports_and_works_without_keras(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", NO_KERAS], env=env, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "LOADED []" in proc.stdout
    for name in ("ThresholdCounts", "CountsCallback"):
        line = next(l for l in proc.stdout.splitlines() if l.startswith(f"IMPORT_ERROR {name}"))
        assert "pip install 'tb_metrics_plugin[keras]'" in line


def _make_dry_run(*args):
    if not shutil.which("make"):
        pytest.fail("`make` is missing: CI runs the tests through `make test`.")
    proc = subprocess.run(["make", "-n", "-B", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr.lower(), proc.stderr
    return proc.stdout


def test_make_demo_installs_only_keras_and_tensorflow(tmp_path):
    demo = _make_dry_run("demo", f"VENV={tmp_path}/test-venv", f"DEMO_VENV={tmp_path}/demo-venv")
    installs = [l for l in demo.splitlines() if "pip install" in l and "--upgrade pip" not in l]
    assert installs == [f'{tmp_path}/demo-venv/bin/python -m pip install -q -e ".[tensorflow]"']
    assert "test-venv" not in demo and f"{tmp_path}/demo-venv/bin/tensorboard" in demo
    test = _make_dry_run("venv", f"VENV={tmp_path}/test-venv")
    assert '".[tensorflow,test]"' in test and "torch==" in test and " jax" in test
    # reusing the test venv for the demo works too (no duplicate rules)
    _make_dry_run("demo", f"VENV={tmp_path}/v", f"DEMO_VENV={tmp_path}/v")


@pytest.mark.parametrize("module,blocked,extra", [
    ("tb_metrics_plugin.torch", ["torch"], "[torch]"),
    ("tb_metrics_plugin.torch", ["torchmetrics"], "[torch]"),
    ("tb_metrics_plugin.lightning", ["lightning", "pytorch_lightning"], "[lightning]"),
])
def test_missing_torch_or_lightning_names_the_extra(module, blocked, extra):
    """Without PyTorch, torchmetrics or Lightning the import error names the extra to install,
    as the Keras pieces do (found by a new-user trial: a bare ModuleNotFoundError before)."""
    code = (f"import sys\nfor m in {blocked!r}: sys.modules[m] = None\n"
            f"try:\n    import {module}\nexcept ImportError as e:\n    print('ERR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR") and extra in out.stdout and "pip install" in out.stdout
