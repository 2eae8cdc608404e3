"""A fit with keras.callbacks.TensorBoard and CountsCallback writing into the same runs.

    python fit_two_writers.py LOG_DIR CONTROL_DIR EPOCHS

Both callbacks write ``LOG_DIR/train`` and ``LOG_DIR/validation``: two live event files per run
directory. After each epoch the script prints ``epoch_end E`` and waits for the file
``CONTROL_DIR/go_E`` (the test checks the TensorBoard servers in between), so every epoch is
written while the other callback's file is still open and growing.
"""
import os
import sys
import time

import keras
import numpy as np

import tb_metrics_plugin as tbm

log_dir, control, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
x = rng.normal(size=(128, 6)).astype(np.float32)
y = (rng.random((128, 4)) < 0.3).astype(np.float32)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
model.compile(optimizer=keras.optimizers.SGD(0.05),
              loss=keras.losses.BinaryCrossentropy(from_logits=True),
              metrics=[tbm.ThresholdCounts(thresholds=11, from_logits=True)])
board = keras.callbacks.TensorBoard(log_dir)


class Pace(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        # keras.callbacks.TensorBoard leaves its scalars to tf.summary's buffer (flushed every
        # 10 events or 2 minutes); flush them so that what is tested is TensorBoard's loaders.
        for writer in board._writers.values():
            writer.flush()
        print(f"epoch_end {epoch}", flush=True)
        go = os.path.join(control, f"go_{epoch}")
        deadline = time.monotonic() + 300
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                sys.exit(f"no {go} after 300 s")
            time.sleep(0.05)


model.fit(x, y, validation_data=(x[:64], y[:64]), epochs=epochs, batch_size=32, verbose=0,
          callbacks=[board, tbm.CountsCallback(log_dir), Pace()])
print("done", flush=True)
