"""`CountsCallback` for PyTorch Lightning: train and validation counts each epoch, in TensorBoard.

The LightningModule owns two `tb_metrics_plugin.torch.ThresholdCounts` (torchmetrics metrics:
they move with the module, and sync across processes in `compute`) and updates them in its steps;
the callback computes them at each epoch end on every process, writes them on global rank zero
only, at step = the 0-based epoch index (as Keras' callbacks do), and resets them::

    import lightning.pytorch as pl
    from tb_metrics_plugin.lightning import CountsCallback
    from tb_metrics_plugin.torch import ThresholdCounts

    class Model(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(16, 5)
            self.train_counts = ThresholdCounts(num_labels=5, from_logits=True)
            self.val_counts = ThresholdCounts(num_labels=5, from_logits=True)

        def training_step(self, batch, batch_idx):
            x, y = batch
            logits = self.net(x)
            self.train_counts.update(logits.detach(), y)
            return F.binary_cross_entropy_with_logits(logits, y.float())

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.val_counts.update(self.net(x), y)

    trainer = pl.Trainer(logger=pl.loggers.TensorBoardLogger("logs"), callbacks=[CountsCallback()])

Where the counts go (``runs``):

* ``"logger"`` (default): through the trainer's TensorBoard logger (``logger.experiment``, its
  SummaryWriter), into the same event file as the scalars you log, under the tags
  ``train/threshold_counts`` and ``validation/threshold_counts``;
* ``"split"``: into the runs ``<logger.log_dir>/train`` and ``<logger.log_dir>/validation`` (as
  Keras' TensorBoard callback lays them out), so the dashboard's compare view draws train
  against validation.

Works with ``lightning`` (``lightning.pytorch``) and, when that is not installed, with
``pytorch_lightning``.
"""
import os

try:
    import lightning.pytorch as _pl
except ImportError:  # the older package name
    try:
        import pytorch_lightning as _pl
    except ImportError as e:
        raise ImportError(
            "tb_metrics_plugin.lightning needs PyTorch Lightning: pip install "
            "'tb_metrics_plugin[lightning]' (lightning and torchmetrics; PyTorch itself is "
            f"yours). Received: {e}") from None

from tb_metrics_plugin import summary
from tb_metrics_plugin.torch import ThresholdCounts
from tb_metrics_plugin.torch_writer import add_counts

__all__ = ["CountsCallback"]

SPLITS = ("train", "validation")


class CountsCallback(_pl.Callback):
    """Writes the module's train and validation `ThresholdCounts` at every epoch end.

    Args:
      train: name of the LightningModule attribute holding the training metric (updated in
        ``training_step``), or None to write no train counts.
      validation: name of the attribute holding the validation metric, or None.
      tag: the tag (``runs="split"``) or the tag after ``train/`` / ``validation/``.
      runs: ``"logger"`` or ``"split"`` (see the module doc).

    Raises (at fit start, on every process):
      ValueError: no TensorBoardLogger in the trainer, or a named attribute that is missing or
        not a `ThresholdCounts`; the message shows the line to add.
    """

    def __init__(self, train="train_counts", validation="val_counts", tag="threshold_counts",
                 runs="logger"):
        if runs not in ("logger", "split"):
            raise ValueError(f"Expected `runs` to be 'logger' or 'split'; received {runs!r}.")
        if not isinstance(tag, str) or not tag:
            raise ValueError(f"Expected a non-empty string tag; received {tag!r}.")
        self.attrs = {"train": train, "validation": validation}
        self.tag = tag
        self.runs = runs
        self._writers = {}

    # -- checks --------------------------------------------------------------------------------

    @staticmethod
    def _logger(trainer):
        for logger in trainer.loggers:
            if isinstance(logger, _pl.loggers.TensorBoardLogger):
                return logger
        raise ValueError(
            "Expected a TensorBoardLogger among the trainer's loggers, for CountsCallback to "
            f"write through; received {[type(x).__name__ for x in trainer.loggers]}. Add "
            "`logger=lightning.pytorch.loggers.TensorBoardLogger('logs')` to the Trainer."
        )

    def _metric(self, pl_module, split):
        attr = self.attrs[split]
        if attr is None:
            return None
        metric = getattr(pl_module, attr, None)
        if not isinstance(metric, ThresholdCounts):
            step = "training_step" if split == "train" else "validation_step"
            raise ValueError(
                f"Expected `{type(pl_module).__name__}.{attr}` to be a "
                "tb_metrics_plugin.torch.ThresholdCounts for the "
                f"{split} counts; received {type(metric).__name__}. Add `self.{attr} = "
                f"ThresholdCounts(num_labels=L)` in __init__ and `self.{attr}.update(preds, "
                f"target)` in {step} (or pass CountsCallback({split}=None))."
            )
        return metric

    def setup(self, trainer, pl_module, stage):
        self._logger(trainer)
        for split in SPLITS:
            if stage == "fit" or split == "validation":
                self._metric(pl_module, split)

    # -- writing -------------------------------------------------------------------------------

    def _write(self, trainer, pl_module, split):
        metric = self._metric(pl_module, split)
        if metric is None:
            return
        if metric.update_count == 0:  # no batch in this epoch (e.g. limit_val_batches=0)
            return
        counts = metric.compute()  # a collective under DDP: every process computes
        metric.reset()
        if not trainer.is_global_zero:
            return
        step = trainer.current_epoch
        logger = self._logger(trainer)
        if self.runs == "logger":
            add_counts(logger.experiment, counts, step, tag=f"{split}/{self.tag}")
        else:
            key = (logger.log_dir, split)
            if key not in self._writers:
                self._writers[key] = summary.CountsWriter(os.path.join(logger.log_dir, split))
            self._writers[key].write(self.tag, counts, step)

    def on_train_epoch_end(self, trainer, pl_module):
        self._write(trainer, pl_module, "train")

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking:  # Lightning's pre-fit check: not an epoch
            metric = self._metric(pl_module, "validation")
            if metric is not None:
                metric.reset()
            return
        self._write(trainer, pl_module, "validation")

    def teardown(self, trainer, pl_module, stage):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
