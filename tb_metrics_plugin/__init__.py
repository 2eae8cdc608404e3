"""tb_metrics_plugin: exact per-label confusion counts at many thresholds, in TensorBoard.

Keras::

    import tb_metrics_plugin as tbm
    model.compile(..., metrics=[tbm.ThresholdCounts(from_logits=True)])
    model.fit(x, y, validation_data=(xv, yv), callbacks=[tbm.CountsCallback("logs/run1")])

Any other training loop (numpy only, no TensorFlow needed)::

    counts = tbm.confusion_counts(y_true, y_score, thresholds=101)
    tbm.write_counts("logs/run1/validation", "threshold_counts", counts, step=epoch)

PyTorch (torchmetrics; your own SummaryWriter)::

    from tb_metrics_plugin.torch import ThresholdCounts
    metric = ThresholdCounts(num_labels=L, from_logits=True)   # metric.update(logits, y)
    tbm.add_counts(writer, metric.compute(), step=epoch)

The Keras pieces are imported lazily, so ``import tb_metrics_plugin`` never imports Keras or
TensorFlow by itself.
"""
import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Counts": "counts",
    "BestThresholds": "selection",
    "confusion_counts": "counting",
    "make_thresholds": "inputs",
    "safe_divide": "counts",
    "save_best_thresholds": "selection",
    "load_best_thresholds": "selection",
    "CountsWriter": "summary",
    "write_counts": "summary",
    "read_counts": "summary",
    "ThresholdCounts": "keras_metric",
    "CountsCallback": "callback",
    "add_counts": "torch_writer",
}

__all__ = sorted(_EXPORTS)

_NEEDS_KERAS = ("keras_metric", "callback")  # the `[keras]` extra


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tb_metrics_plugin' has no attribute {name!r}")
    try:
        imported = importlib.import_module(f"{__name__}.{module}")
    except ImportError as e:
        if module in _NEEDS_KERAS and (e.name or "").split(".")[0] == "keras":
            raise ImportError(
                f"tb_metrics_plugin.{name} needs Keras 3, which is not installed: "
                "pip install 'tb_metrics_plugin[keras]' (or '[tensorflow]' for Keras with "
                f"TensorFlow on CPU). The numpy API needs no Keras. Received: {e}"
            ) from e
        raise
    value = getattr(imported, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
