"""The storage format: the one module the writer and the plugin share.

A tag written by tb_metrics_plugin holds, at every step, one 1-D tensor::

    [ tp (L*T) | fp (L*T) | support (L) | nan (L) | exact_match (T) | n (1) ]

row-major per label, with FN = support - TP and TN = (n - support) - FP. Unweighted counts are
int32 (int64 when a count exceeds 2**31-1), so a step costs 8*L*T + 4*(2L + T + 1) bytes;
weighted counts are float64. The summary metadata (``plugin_name = "tb_metrics"``,
``data_class = DATA_CLASS_TENSOR``) carries versioned JSON with the thresholds, label names and
``from_logits``; it is identical for every step of a tag.
"""
import json

import numpy as np
from tensorboard.compat.proto import summary_pb2

from tb_metrics_plugin import metrics

PLUGIN_NAME = "tb_metrics"
# Version of the content JSON and tensor layout. Readers refuse newer versions.
PROTO_VERSION = 1
LAYOUT = "tp,fp,support,nan,exact_match,n"
_INT32_MAX = np.iinfo(np.int32).max


def content_dict(counts):
    """The JSON-able metadata of a tag written from ``counts``."""
    return {
        "version": PROTO_VERSION,
        "layout": LAYOUT,
        "thresholds": [float(t) for t in counts.thresholds],
        "label_names": list(counts.label_names),
        "from_logits": bool(counts.from_logits),
    }


def create_summary_metadata(counts, display_name=None, description=None):
    """A `SummaryMetadata` proto for a tag written from ``counts``."""
    content = json.dumps(content_dict(counts), separators=(",", ":")).encode("utf-8")
    return summary_pb2.SummaryMetadata(
        display_name=display_name or "",
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME, content=content
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )


def parse_plugin_metadata(content):
    """Parses ``plugin_data.content`` into a dict with float32 ``thresholds`` (np.ndarray).

    Raises:
      ValueError: the content is not our JSON, or was written by a newer version.
    """
    try:
        if isinstance(content, bytes):
            content = content.decode("utf-8")
        data = json.loads(content)
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"tb_metrics metadata is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"Expected tb_metrics metadata to be a JSON object; received {type(data).__name__}.")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"Expected an integer 'version' in tb_metrics metadata; received {version!r}.")
    if version > PROTO_VERSION:
        raise ValueError(
            f"This tag was written by a newer tb_metrics_plugin (format version {version}; this "
            f"version reads up to {PROTO_VERSION}). Upgrade tb_metrics_plugin to read it."
        )
    if data.get("layout", LAYOUT) != LAYOUT:
        raise ValueError(f"Unknown tb_metrics tensor layout {data.get('layout')!r}; expected {LAYOUT!r}.")
    try:
        thresholds = metrics.make_thresholds(data["thresholds"])
        names = data["label_names"]
        if not isinstance(names, list) or not names:
            raise ValueError("'label_names' must be a non-empty list")
        names = [str(x) for x in names]
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"Malformed tb_metrics metadata: {e}") from None
    return {
        "version": version,
        "thresholds": thresholds,
        "label_names": names,
        "from_logits": bool(data.get("from_logits", False)),
    }


def tensor_length(num_labels, num_thresholds):
    return 2 * num_labels * num_thresholds + 2 * num_labels + num_thresholds + 1


def counts_to_tensor(counts):
    """Packs ``counts`` into the 1-D tensor stored at one step."""
    parts = [counts.tp.ravel(), counts.fp.ravel(), counts.support, counts.nan,
             counts.exact_match, np.asarray([counts.n])]
    if counts.weighted:
        return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    flat = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])
    if flat.size and (flat.max() > _INT32_MAX or flat.min() < 0):
        return flat
    return flat.astype(np.int32)


def tensor_to_counts(array, meta):
    """Rebuilds `Counts` from one stored tensor and the parsed metadata of its tag.

    Raises:
      ValueError: the tensor does not have the layout the metadata describes.
    """
    thresholds = meta["thresholds"]
    names = meta["label_names"]
    num_l, num_t = len(names), len(thresholds)
    array = np.asarray(array)
    expected = tensor_length(num_l, num_t)
    if array.ndim != 1 or array.size != expected:
        raise ValueError(
            f"Expected a 1-D tb_metrics tensor of {expected} values for {num_l} labels x "
            f"{num_t} thresholds; received shape {array.shape}."
        )
    if array.dtype.kind == "f":
        dtype = np.float64
    elif array.dtype.kind in "iu":
        dtype = np.int64
    else:
        raise ValueError(f"Expected a numeric tb_metrics tensor; received dtype {array.dtype}.")
    array = array.astype(dtype)
    lt = num_l * num_t
    tp = array[:lt].reshape(num_l, num_t)
    fp = array[lt:2 * lt].reshape(num_l, num_t)
    off = 2 * lt
    support = array[off:off + num_l]
    nan = array[off + num_l:off + 2 * num_l]
    exact = array[off + 2 * num_l:off + 2 * num_l + num_t]
    n = array[-1]
    n = float(n) if dtype == np.float64 else int(n)
    return metrics.Counts(
        thresholds=thresholds,
        tp=tp,
        fp=fp,
        tn=(n - support)[:, None] - fp,
        fn=support[:, None] - tp,
        exact_match=exact,
        n=n,
        nan=nan,
        label_names=list(names),
        from_logits=meta["from_logits"],
    )
