"""Bytes per stored step and metric state for single-label data with C classes (issue 12).

    .venv/bin/python benchmarks/bench_multiclass_size.py --classes 1000 --thresholds 101

Prints, with and without the confusion matrix: the stored tensor's bytes per step (what
`CountsWriter` writes), the Keras `ThresholdCounts` state (its variables) and the torch metric's
state, for one batch of class ids.
"""
import argparse
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--thresholds", type=int, default=101)
    p.add_argument("--batch", type=int, default=256)
    a = p.parse_args()
    import tb_metrics_plugin as tbm
    from tb_metrics_plugin import metadata

    rng = np.random.default_rng(0)
    ids = rng.integers(0, a.classes, a.batch)
    scores = rng.dirichlet(np.ones(a.classes), a.batch).astype(np.float32)
    print(f"C={a.classes} T={a.thresholds} batch={a.batch}")
    for cm in (True, False):
        c = tbm.confusion_counts(ids, scores, thresholds=a.thresholds, confusion_matrix=cm)
        stored = metadata.counts_to_tensor(c).nbytes
        line = f"confusion_matrix={cm!s:5}  stored step {stored / 1e6:7.3f} MB"
        from tb_metrics_plugin.keras_metric import ThresholdCounts as KerasCounts

        km = KerasCounts(thresholds=a.thresholds, confusion_matrix=cm)
        km.update_state(ids, scores)
        state = sum(np.asarray(v).nbytes for v in km.variables)
        line += f"  Keras state {state / 1e6:7.3f} MB"
        try:
            import torch

            from tb_metrics_plugin.torch import ThresholdCounts as TorchCounts

            tm = TorchCounts(num_labels=a.classes, thresholds=a.thresholds, confusion_matrix=cm)
            tm.update(torch.from_numpy(scores), torch.from_numpy(ids))
            tstate = sum(getattr(tm, n).numel() * getattr(tm, n).element_size()
                         for n in tm._defaults)
            line += f"  torch state {tstate / 1e6:7.3f} MB"
        except ImportError:
            pass
        print(line)


if __name__ == "__main__":
    main()
