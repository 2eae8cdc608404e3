"""A plain PyTorch training loop that logs exact threshold counts to TensorBoard (no Keras).

    python -m demo.torch_loop --logdir demo_logs/torch --epochs 5
    tensorboard --logdir demo_logs

Each epoch writes, under the tag ``threshold_counts`` at step = the 0-based epoch index (as
Keras' callbacks do):

* ``LOGDIR/train``: the counts of the epoch's training forward passes, summed batch by batch
  with `Counts.merge` (the scores each batch had when the optimizer saw it, as Keras' train
  metrics are);
* ``LOGDIR/validation``: the counts over the whole validation set, scored after the epoch.

The model outputs logits, so the counts are taken with ``from_logits=True``: a logit ``z`` is
positive at threshold ``t`` iff ``z >= logit(t)``, with no sigmoid. Only numpy goes into
`confusion_counts`; `write_counts` needs TensorBoard (not TensorFlow).
"""
import argparse
import os

import numpy as np

import tb_metrics_plugin as tbm
from demo import data

TAG = "threshold_counts"


def build_model(seed=0, hidden=32):
    """A tiny MLP: features -> ReLU -> one logit per label."""
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(data.NUM_FEATURES, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, data.NUM_LABELS),
    )


def predict(model, x, batch_size=1024):
    """Logits [N, L] (numpy float32) of ``model`` on ``x`` in eval mode, without gradients."""
    import torch

    model.eval()
    with torch.no_grad():
        out = [model(torch.from_numpy(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()


def train_epoch(model, optimizer, x, y, batch_size, generator, thresholds=101, label_names=None):
    """One pass over ``x`` in shuffled batches; returns the `Counts` of its forward passes
    (each batch counted with the logits the loss was computed from, then merged)."""
    import torch

    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    order = torch.randperm(len(x), generator=generator).numpy()
    counts = None
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        batch = tbm.confusion_counts(y[idx], logits.detach().numpy(), thresholds=thresholds,
                                     from_logits=True, label_names=label_names)
        counts = batch if counts is None else counts.merge(batch)
    return counts


def main(logdir, epochs=5, n_train=3000, n_val=1000, batch_size=64, lr=1e-2, seed=0,
         thresholds=101):
    """Trains for ``epochs`` epochs, writing train and validation counts after each.

    Returns a dict with the trained ``model`` and the data (``x_train``, ``y_train``, ``x_val``,
    ``y_val``), for inspection.
    """
    import torch

    x, y = data.make_sparse_multilabel(n_train, seed=seed)
    xv, yv = data.make_sparse_multilabel(n_val, seed=seed + 1)
    model = build_model(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    train_dir, val_dir = os.path.join(logdir, "train"), os.path.join(logdir, "validation")
    for epoch in range(epochs):
        train_counts = train_epoch(model, optimizer, x, y, batch_size, generator, thresholds,
                                   label_names=data.LABEL_NAMES)
        val_counts = tbm.confusion_counts(yv, predict(model, xv), thresholds=thresholds,
                                          from_logits=True, label_names=data.LABEL_NAMES)
        tbm.write_counts(train_dir, TAG, train_counts, step=epoch)
        tbm.write_counts(val_dir, TAG, val_counts, step=epoch)
        i = val_counts.threshold_index(0.5)
        macro = val_counts.f1("macro")
        print(f"epoch {epoch}: validation micro F1 {val_counts.f1('micro')[i]:.3f}, macro F1 "
              f"{macro[i]:.3f} at 0.5 (macro F1 {np.max(macro):.3f} at the best threshold)",
              flush=True)
    return {"model": model, "x_train": x, "y_train": y, "x_val": xv, "y_val": yv}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="demo_logs/torch")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    main(args.logdir, args.epochs)
