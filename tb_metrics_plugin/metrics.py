"""The numpy API in one namespace (kept for ``from tb_metrics_plugin import metrics``).

The code lives in modules staged as torchmetrics stages its functional metrics:
`inputs` (validate, format), `counting` (update: `confusion_counts`), `counts` (`Counts` and
its derived metrics), `ranking` (ROC, AP, histograms, calibration) and `selection`
(thresholds to deploy, `BestThresholds`).
"""
from tb_metrics_plugin.counting import confusion_counts
from tb_metrics_plugin.counts import AVERAGES, Counts, safe_divide
from tb_metrics_plugin.inputs import cut_values, logit_cuts, make_thresholds
from tb_metrics_plugin.selection import (
    METRICS,
    OBJECTIVES,
    BestThresholds,
    load_best_thresholds,
    save_best_thresholds,
)

__all__ = [
    "AVERAGES",
    "METRICS",
    "OBJECTIVES",
    "BestThresholds",
    "Counts",
    "confusion_counts",
    "cut_values",
    "logit_cuts",
    "make_thresholds",
    "safe_divide",
    "save_best_thresholds",
    "load_best_thresholds",
]
