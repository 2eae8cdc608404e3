"""Packaging for tb_metrics_plugin: exact per-label threshold metrics for Keras and TensorBoard."""
import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


# The dashboard's files, listed one by one: the wheel ships these and nothing else that happens
# to lie under frontend/ (editor swap files, caches, node_modules). A new frontend file goes
# here too; tests/test_packaging.py fails, naming the file, when a tracked one is missing.
FRONTEND_FILES = [
    "api.js",
    "app.js",
    "calc.js",
    "dom.js",
    "format.js",
    "index.js",
    "objectives.js",
    "run_styles.js",
    "state.js",
    "style.js",
    "vendor/uPlot-1.6.32.esm.js",
    "vendor/uPlot-1.6.32.min.css",
    "vendor/uPlot-LICENSE",
    "views/banner.js",
    "views/chart.js",
    "views/cm_canvas.js",
    "views/cm_panels.js",
    "views/compare.js",
    "views/confusion.js",
    "views/distribution.js",
    "views/explorer.js",
    "views/explorer_kpis.js",
    "views/heat.js",
    "views/help.js",
    "views/labels.js",
    "views/matrix.js",
    "views/objective.js",
    "views/overlay.js",
    "views/roc.js",
    "views/table.js",
]

with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
    LONG_DESCRIPTION = f.read()

setuptools.setup(
    name="tb_metrics_plugin",
    version="0.1.0",
    description=(
        "Exact per-label confusion counts at many thresholds from Keras training, "
        "and a TensorBoard plugin that draws threshold, per-label F1 and micro/macro views."
    ),
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=["tb_metrics_plugin", "tb_metrics_plugin.frontend"],
    package_dir={"tb_metrics_plugin.frontend": "frontend"},
    package_data={"tb_metrics_plugin.frontend": FRONTEND_FILES},
    include_package_data=False,
    # The numpy API, the summaries and the TensorBoard plugin need no Keras: a TensorBoard host
    # or a PyTorch / JAX loop installs the core; Keras users add an extra.
    install_requires=["tensorboard>=2.16", "numpy>=1.23", "protobuf>=3.20"],
    extras_require={
        # ThresholdCounts and CountsCallback, on whichever backend Keras finds installed.
        "keras": ["keras>=3"],
        # TensorFlow is Keras' default backend. GPU users keep their own `tensorflow` and take
        # `[keras]`; CI, the demo and CPU-only users take `tensorflow-cpu`.
        "tensorflow": ["keras>=3", "tensorflow-cpu>=2.16"],
        # PyTorch users: torch itself is theirs (CPU or CUDA build); these never pull it in
        # for Keras users.
        "torch": ["torchmetrics>=1.0"],
        "lightning": ["torchmetrics>=1.0", "lightning>=2.0"],
        "remote": ["fsspec>=2023.1"],
        "test": [
            "pytest>=7",
            "pytest-timeout",
            "scikit-learn>=1.3",
            "hypothesis>=6",
            "playwright>=1.40",
            # tests/test_packaging.py builds the wheel offline (--no-build-isolation), and
            # Python 3.12's venvs come without setuptools.
            "setuptools>=64",
            "wheel",
            # tests of the [torch], [lightning] and [remote] extras
            "tensorboardX>=2.6",
            "s3fs>=2023.1",
            "moto[server]>=5",
        ],
    },
    entry_points={
        "tensorboard_plugins": [
            "tb_metrics = tb_metrics_plugin.plugin:MetricsPlugin",
        ],
        "console_scripts": ["tb-metrics = tb_metrics_plugin.cli:main"],
    },
    classifiers=[
        "Framework :: TensorFlow",
        "Programming Language :: Python :: 3",
    ],
)
