"""Checks `CountsCallback` runs on what it reads in ``fit``: nothing wrong passes silently.

Warnings (``UserWarning``), each at most once per tag:

* `loss_mismatch_message`: the model's loss reads an output as logits (``from_logits=True``)
  and the `ThresholdCounts` on that output reads probabilities, or the other way round;
* `tb_metrics_plugin.counting.out_of_range_message`: with ``from_logits=False`` the counts read
  scores outside [0, 1] (logits read as probabilities);
* `tb_metrics_plugin.counting.probabilities_as_logits_message`: with ``from_logits=True``
  every score lies in [0, 1] (probabilities read as logits);
* `nan_message`: NaN scores were counted (never positive; usually a model that diverged);
* `single_label_message` (a hint): every sample has exactly one positive label, so
  ``multiclass=True`` would also keep the confusion matrix and top-k accuracy.

Everything here reads public Keras attributes (``model.loss``, ``model.output_names``) and the
loss objects' ``from_logits``; what it cannot tell (a custom loss function) it leaves alone.

>>> import keras
>>> loss_from_logits(keras.losses.BinaryCrossentropy(from_logits=True))
True
>>> loss_from_logits("binary_crossentropy"), loss_from_logits("mse")
(False, None)
"""
import inspect

import numpy as np

__all__ = ["loss_from_logits", "loss_is_softmax", "loss_name", "losses_by_output",
           "metric_output", "loss_mismatch_message", "nan_message", "single_label_message"]


def loss_from_logits(loss):
    """How ``loss`` reads the model's outputs: True (logits), False (probabilities) or None.

    Keras loss objects say it in ``from_logits`` (``BinaryCrossentropy``,
    ``CategoricalCrossentropy``, focal losses, ...). Strings and functions resolve through
    ``keras.losses.get``; a function with a ``from_logits`` parameter reads it from its default
    (``"binary_crossentropy"`` means False; a ``functools.partial(..., from_logits=True)``
    means True). None for a loss that has no such reading (``"mse"``, a custom function).
    """
    if loss is None:
        return None
    if isinstance(loss, str):
        try:
            import keras

            loss = keras.losses.get(loss)
        except Exception:  # noqa: BLE001 - an unknown name: Keras itself reports it at compile
            return None
    value = getattr(loss, "from_logits", None)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    get_config = getattr(loss, "get_config", None)
    if callable(get_config):
        try:
            config = get_config()
        except Exception:  # noqa: BLE001 - a custom loss with a broken config: cannot tell
            config = None
        if isinstance(config, dict) and isinstance(config.get("from_logits"), bool):
            return config["from_logits"]
        fn = getattr(loss, "fn", None)  # keras' LossFunctionWrapper
        if fn is not None and fn is not loss:
            return _default_from_logits(fn)
        return None
    if callable(loss):
        return _default_from_logits(loss)
    return None


def _default_from_logits(fn):
    try:
        parameter = inspect.signature(fn).parameters.get("from_logits")
    except (TypeError, ValueError):
        return None
    if parameter is None or not isinstance(parameter.default, bool):
        return None
    return parameter.default


def losses_by_output(model):
    """``{output name or None: loss}`` of a compiled model, from ``model.loss``.

    A single loss applies to every output (key None); a dict is keyed by output name; a list
    or tuple follows ``model.output_names``. Empty when the model has no loss or the structure
    cannot be matched to the outputs.
    """
    loss = getattr(model, "loss", None)
    if loss is None:
        return {}
    if isinstance(loss, dict):
        return dict(loss)
    if isinstance(loss, (list, tuple)):
        names = list(getattr(model, "output_names", None) or [])
        if len(loss) == 1:
            return {None: loss[0]}
        if len(names) != len(loss):
            return {}
        return dict(zip(names, loss))
    return {None: loss}


def metric_output(metric):
    """The output name a `ThresholdCounts` belongs to (None in a single-output model).

    In a multi-output model Keras prefixes the metric's logs with its output's name, and so does
    ``metric.log_name`` (``<output>_<name>``).
    """
    log_name, name = metric.log_name, metric.name
    if log_name != name and log_name.endswith("_" + name):
        return log_name[: -len(name) - 1]
    return None


def loss_name(loss):
    """A loss' name for messages: the string, the object's ``name``, or the function's name."""
    if isinstance(loss, str):
        return loss
    func = getattr(loss, "func", None)  # functools.partial
    return (getattr(loss, "name", None) or getattr(loss, "__name__", None)
            or getattr(func, "__name__", None) or type(loss).__name__)


def loss_is_softmax(loss):
    """Whether ``loss`` applies a softmax across the labels (categorical cross-entropies,
    sparse or not, focal or not) rather than a sigmoid per label."""
    names = (loss_name(loss), type(loss).__name__, getattr(getattr(loss, "fn", None), "__name__",
                                                             ""))
    return any("categorical" in str(n).lower() for n in names)


def loss_mismatch_message(model, metric):
    """The warning for a loss and a `ThresholdCounts` that read one output differently, or None.

    Example: ``loss=BinaryCrossentropy(from_logits=True)`` with ``ThresholdCounts()`` (which
    reads probabilities) counts logits as probabilities: every count at a threshold is wrong.
    A categorical loss with ``from_logits=True`` (softmax logits) warns whatever the metric's
    ``from_logits``: ``from_logits=True`` reads each score as a *sigmoid* logit, which is not its
    softmax probability, so the fix is a softmax on the model's output.
    """
    losses = losses_by_output(model)
    output = metric_output(metric)
    loss = losses.get(output, losses.get(None))
    loss_logits = loss_from_logits(loss)
    softmax = loss_logits is not None and loss_is_softmax(loss)
    if loss_logits is None or (bool(metric.from_logits) == loss_logits and not (
            softmax and loss_logits)):
        return None
    where = f" of output {output!r}" if output is not None else ""
    name, tag = loss_name(loss), metric.log_name
    if softmax and loss_logits:
        reading = ("as sigmoid logits (from_logits=True), which are not the softmax "
                   "probabilities" if metric.from_logits else
                   "as probabilities (from_logits=False)")
        return (
            f"The loss{where} ({name}) reads the model's outputs as softmax logits "
            f"(from_logits=True), but ThresholdCounts {tag!r} reads them {reading}: every count "
            "at a probability threshold would be wrong. Expected softmax probabilities: end "
            "the model with activation='softmax' and give the loss from_logits=False. (Argmax "
            "numbers, categorical accuracy, the confusion matrix and top-k, are right either way.)"
        )
    if loss_logits:
        return (
            f"The loss{where} ({name}) reads the model's outputs as logits "
            f"(from_logits=True), but ThresholdCounts {tag!r} reads them as "
            "probabilities (from_logits=False): it would compare logits with probability "
            "thresholds, and every count at a threshold would be wrong. Expected the same "
            "reading; pass ThresholdCounts(from_logits=True)."
        )
    fix = "" if softmax else (", or give the loss from_logits=True if the model outputs logits "
                              "(no sigmoid on the last layer)")
    return (
        f"The loss{where} ({name}) reads the model's outputs as probabilities "
        f"(from_logits=False), but ThresholdCounts {tag!r} reads them as logits "
        "(from_logits=True): it would apply the logit of each threshold to probabilities, and "
        "every count at a threshold would be wrong. Expected the same reading; pass "
        f"ThresholdCounts(from_logits=False){fix}."
    )


def single_label_message(counts, where=""):
    """A hint when multi-label counts hold single-label data (every sample has exactly one
    positive label of at least two, nothing ignored: one-hot targets of a softmax), which
    ``multiclass=True`` would also give a confusion matrix and top-k accuracy; else None.

    >>> from tb_metrics_plugin import confusion_counts
    >>> print(single_label_message(confusion_counts([[1, 0], [0, 1]], [[0.9, 0.1], [0.4, 0.6]],
    ...                                             thresholds=3)))  # doctest: +ELLIPSIS
    Every one of the 2 samples has exactly one positive label of 2: ...
    """
    if counts.multiclass or counts.num_labels < 2 or counts.negative_rows is None:
        return None
    n = float(counts.n)
    if not n > 0 or float(counts.negative_rows) != 0 or float(counts.support.sum()) != n:
        return None
    if np.any(np.asarray(counts.observed, dtype=np.float64) != n):
        return None  # ignored cells: whether a row is one-hot is not known
    return (
        f"Every one of the {_number(n)} samples{where} has exactly one positive label of "
        f"{counts.num_labels}: single-label (one-hot) data. ThresholdCounts(multiclass=True) "
        "counts the same and also keeps the confusion matrix (which class is mistaken for "
        "which) and top-k accuracy; leave it as it is if other data can have several "
        "positive labels."
    )


def nan_message(counts, where="", max_labels=5):
    """The warning for NaN scores in ``counts`` (how many, on which labels), or None.

    >>> from tb_metrics_plugin import confusion_counts
    >>> print(nan_message(confusion_counts([[1, 0]], [[float("nan"), 0.2]], thresholds=3,
    ...                                    label_names=["cat", "dog"])))  # doctest: +ELLIPSIS
    1 NaN score was counted, on 1 label: cat (1). ...
    """
    nan = np.asarray(counts.nan, dtype=np.float64)
    total = float(nan.sum())
    if not total > 0:
        return None
    order = [i for i in np.argsort(-nan, kind="stable") if nan[i] > 0]
    shown = ", ".join(f"{counts.label_names[i]} ({_number(nan[i])})" for i in order[:max_labels])
    if len(order) > max_labels:
        shown += f" and {len(order) - max_labels} more"
    scores = "score was" if total == 1 else "scores were"
    labels = "label" if len(order) == 1 else "labels"
    return (
        f"{_number(total)} NaN {scores} counted{where}, on {len(order)} {labels}: {shown}. "
        "A NaN score is never positive, so each counts as a predicted negative at every "
        "threshold. NaN outputs usually mean the model diverged: check the loss, lower the "
        "learning rate, and look for NaN in the inputs (keras.callbacks.TerminateOnNaN stops "
        "such a fit)."
    )


def _number(value):
    value = float(value)
    return f"{int(value):,}" if value.is_integer() else f"{value:,.4g}"
