"""Packaging for tb_metrics_plugin: exact per-label threshold metrics for Keras and TensorBoard."""
import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


def _frontend_files():
    """Every file under frontend/, shipped inside the package as tb_metrics_plugin/frontend/."""
    out = []
    root = os.path.join(HERE, "frontend")
    for dirpath, _, files in os.walk(root):
        for name in files:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


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
    package_data={"tb_metrics_plugin.frontend": _frontend_files()},
    install_requires=["keras>=3", "tensorboard>=2.16", "numpy>=1.23", "protobuf>=3.20"],
    extras_require={
        # TensorFlow is Keras' default backend. GPU users keep their own `tensorflow`;
        # CI and CPU-only users take `tensorflow-cpu`.
        "tensorflow": ["tensorflow-cpu>=2.16"],
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
    },
    classifiers=[
        "Framework :: TensorFlow",
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: Apache Software License",
    ],
)
