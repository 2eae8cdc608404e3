"""A plain PyTorch training loop that logs exact threshold counts to TensorBoard (no Keras).

The counts come from `tb_metrics_plugin.torch.ThresholdCounts` (a torchmetrics metric that
counts on the tensors' device) and go into the loop's own ``SummaryWriter`` with
`tbm.add_counts`, in the same event file as its loss scalars.

    python -m demo.torch_loop --logdir demo_logs/torch --epochs 5
    tensorboard --logdir demo_logs

Each epoch writes, under the tag ``threshold_counts`` at step = the 0-based epoch index (as
Keras' callbacks do):

* ``LOGDIR/train``: the counts of the epoch's training forward passes, summed batch by batch
  by the metric (the scores each batch had when the optimizer saw it, as Keras' train metrics
  are), beside the scalar ``loss``;
* ``LOGDIR/validation``: the counts over the whole validation set, scored after the epoch.

The model outputs logits, so the counts are taken with ``from_logits=True``: a logit ``z`` is
positive at threshold ``t`` iff ``z >= logit(t)``, with no sigmoid. Nothing here needs
TensorFlow.
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


def make_metric(thresholds=101, label_names=None):
    """The torchmetrics metric of the loop: logits in, exact counts out."""
    from tb_metrics_plugin.torch import ThresholdCounts

    names = data.LABEL_NAMES if label_names is None else label_names
    return ThresholdCounts(num_labels=len(names), thresholds=thresholds, from_logits=True,
                           label_names=names)


def train_epoch(model, optimizer, x, y, batch_size, generator, thresholds=101, label_names=None,
                metric=None):
    """One pass over ``x`` in shuffled batches; returns the `Counts` of its forward passes
    (each batch counted with the logits the loss was computed from, summed by the metric).

    With ``metric`` given, also returns the epoch's mean loss: ``(counts, loss)``.
    """
    import torch

    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
    own = metric is None
    metric = make_metric(thresholds, label_names) if own else metric
    metric.reset()
    model.train()
    order = torch.randperm(len(x), generator=generator).numpy()
    total = 0.0
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad()
        (loss / yb.numel()).backward()
        optimizer.step()
        metric.update(logits.detach(), yb)
        total += float(loss.detach())
    counts = metric.compute()
    return counts if own else (counts, total / y.size)


def evaluate(model, x, y, metric, batch_size=1024):
    """The `Counts` of ``model`` over the whole of ``x`` (eval mode, no gradients)."""
    import torch

    metric.reset()
    model.eval()
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            metric.update(model(torch.from_numpy(x[i:i + batch_size])),
                          torch.from_numpy(y[i:i + batch_size]))
    return metric.compute()


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
    from torch.utils.tensorboard import SummaryWriter

    train_writer = SummaryWriter(os.path.join(logdir, "train"))
    val_writer = SummaryWriter(os.path.join(logdir, "validation"))
    train_metric = make_metric(thresholds)
    val_metric = make_metric(thresholds)
    try:
        for epoch in range(epochs):
            train_counts, loss = train_epoch(model, optimizer, x, y, batch_size, generator,
                                             metric=train_metric)
            val_counts = evaluate(model, xv, yv, val_metric)
            train_writer.add_scalar("loss", loss, epoch)
            tbm.add_counts(train_writer, train_counts, step=epoch, tag=TAG)
            tbm.add_counts(val_writer, val_counts, step=epoch, tag=TAG)
            i = val_counts.threshold_index(0.5)
            macro = val_counts.f1("macro")
            print(f"epoch {epoch}: loss {loss:.4f}, validation micro F1 "
                  f"{val_counts.f1('micro')[i]:.3f}, macro F1 {macro[i]:.3f} at 0.5 (macro F1 "
                  f"{np.max(macro):.3f} at the best threshold)", flush=True)
    finally:
        train_writer.close()
        val_writer.close()
    return {"model": model, "x_train": x, "y_train": y, "x_val": xv, "y_val": yv}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="demo_logs/torch")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    main(args.logdir, args.epochs)
