"""CountsCallback with a real lightning.pytorch Trainer on CPU.

The module's ThresholdCounts are updated in its steps; the callback writes them at each epoch
end through the trainer's TensorBoardLogger. Oracles: `confusion_counts` over the whole
validation set with the final weights, and for training the per-epoch sample count and support
(every training sample once per epoch: sums, not means). A 2-process ``ddp_spawn`` run (gloo)
writes once, from rank zero, counts over both processes' shards.
"""
import glob
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

import tb_metrics_plugin as tbm  # noqa: E402
from tb_metrics_plugin.lightning import CountsCallback  # noqa: E402
from tb_metrics_plugin.torch import ThresholdCounts  # noqa: E402

N_TRAIN, N_VAL, FEATURES, LABELS = 96, 40, 6, 3


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    y = (x[:, :LABELS] + 0.5 * rng.normal(size=(n, LABELS)) > 0).astype(np.int64)
    return x, y


class Model(pl.LightningModule):
    def __init__(self, lr=0.1):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(FEATURES, LABELS)
        self.lr = lr
        self.train_counts = ThresholdCounts(num_labels=LABELS, thresholds=21, from_logits=True)
        self.val_counts = ThresholdCounts(num_labels=LABELS, thresholds=21, from_logits=True)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.train_counts.update(logits.detach(), y)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float())
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.val_counts.update(logits, y)
        self.log("val_loss", torch.nn.functional.binary_cross_entropy_with_logits(
            logits, y.float()))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def loaders(batch_size=16):
    data = [torch.utils.data.TensorDataset(*map(torch.from_numpy, make_data(n, seed)))
            for n, seed in ((N_TRAIN, 1), (N_VAL, 2))]
    return (torch.utils.data.DataLoader(data[0], batch_size=batch_size, shuffle=True),
            torch.utils.data.DataLoader(data[1], batch_size=batch_size))


def trainer(tmp_path, epochs=2, runs="logger", **kwargs):
    logger = pl.loggers.TensorBoardLogger(str(tmp_path), name="run", version=0)
    return pl.Trainer(max_epochs=epochs, logger=logger, callbacks=[CountsCallback(runs=runs)],
                      accelerator="cpu", enable_progress_bar=False, enable_model_summary=False,
                      enable_checkpointing=False, log_every_n_steps=1, **kwargs)


def final_validation(model):
    x, y = make_data(N_VAL, 2)
    with torch.no_grad():
        logits = model.net(torch.from_numpy(x)).numpy()
    return tbm.confusion_counts(y, logits, thresholds=21, from_logits=True)


def test_trainer_writes_train_and_validation_counts_into_the_loggers_file(tmp_path):
    model = Model()
    t = trainer(tmp_path, epochs=2)
    t.fit(model, *loaders())
    log_dir = t.logger.log_dir
    files = glob.glob(os.path.join(log_dir, "*tfevents*"))
    assert len(files) == 1, files  # the logger's own file, no second writer
    got = tbm.read_counts(log_dir)
    assert sorted(got) == ["train/threshold_counts", "validation/threshold_counts"]
    train, val = got["train/threshold_counts"], got["validation/threshold_counts"]
    assert [s for s, _ in train] == [0, 1] and [s for s, _ in val] == [0, 1]
    assert val[-1][1] == final_validation(model)  # the sanity check did not leak in
    assert val[0][1] != val[-1][1]  # it trained
    support = make_data(N_TRAIN, 1)[1].sum(axis=0)
    for _, counts in train:
        assert counts.n == N_TRAIN and counts.from_logits
        np.testing.assert_array_equal(counts.support, support)
    from tensorboard.backend.event_processing import event_file_loader

    tags = {v.tag for e in event_file_loader.EventFileLoader(files[0]).Load()
            for v in e.summary.value}
    assert {"val_loss", "train_loss"} <= tags  # the user's scalars, same file


def test_split_runs_and_missing_pieces_are_named(tmp_path):
    model = Model()
    t = trainer(tmp_path / "split", epochs=1, runs="split")
    t.fit(model, *loaders())
    for split, n in (("train", N_TRAIN), ("validation", N_VAL)):
        got = tbm.read_counts(os.path.join(t.logger.log_dir, split))["threshold_counts"]
        assert [s for s, _ in got] == [0] and got[0][1].n == n
    assert tbm.read_counts(os.path.join(t.logger.log_dir, "validation"))[
        "threshold_counts"][0][1] == final_validation(model)

    bare = Model()
    del bare.val_counts
    with pytest.raises(ValueError, match=r"self.val_counts = ThresholdCounts"):
        trainer(tmp_path / "bare", epochs=1).fit(bare, *loaders())
    no_tb = pl.Trainer(max_epochs=1, logger=pl.loggers.CSVLogger(str(tmp_path / "csv")),
                       callbacks=[CountsCallback()], enable_progress_bar=False)
    with pytest.raises(ValueError, match="TensorBoardLogger"):
        no_tb.fit(Model(), *loaders())


@pytest.mark.slow
def test_ddp_spawn_writes_once_from_rank_zero_with_both_shards(tmp_path):
    model = Model(lr=0.0)  # the same weights on both processes at every step
    t = trainer(tmp_path, epochs=1, strategy="ddp_spawn", devices=2)
    t.fit(model, *loaders())
    log_dir = os.path.join(str(tmp_path), "run", "version_0")
    files = glob.glob(os.path.join(log_dir, "*tfevents*"))
    assert len(files) == 1, files  # rank 1 wrote nothing
    got = tbm.read_counts(log_dir)
    # DistributedSampler pads each shard to the same size: 96 and 40 split evenly in two.
    train = got["train/threshold_counts"]
    assert [s for s, _ in train] == [0] and train[0][1].n == N_TRAIN
    val = got["validation/threshold_counts"]
    assert [s for s, _ in val] == [0] and val[0][1] == final_validation(Model(lr=0.0))
