"""The storage format: the one module the writer and the plugin share.

A tag written by tb_metrics_plugin holds, at every step, one 1-D tensor (format version 2)::

    [ tp (L*T) | fp (L*T) | support (L) | nan (L) | exact_match (T) | n (1)
      | observed (L) | out_of_range (L) | nan_positive (L)
      | categorical_correct, top1_positive, negative_rows (3)
      | top_k_hits (K, single-label only) | confusion_matrix (C*C, single-label, optional)
      | fn (L*T) | tn (L*T), weighted only ]

row-major per label. Unweighted, FN = support - TP and TN = observed - support - FP exactly;
counts are int32 (int64 when a count exceeds 2**31-1, exact to 2**63-1), so a multi-label step
costs 8*L*T + 4*(5L + T + 4) bytes; single-label adds 4*(K + C*C). Weighted counts are float64
and also store FN and TN: float sums rebuilt by subtraction would differ from the written ones
in the last bits and could read back as -1e-9 (so a weighted step costs 32*L*T + O(L + T)
bytes, and reads back bit for bit). The
summary metadata (``plugin_name = "tb_metrics"``, ``data_class = DATA_CLASS_TENSOR``) carries
versioned JSON with the thresholds, label names, ``from_logits``, weighting and layout; it is
identical for every step of a tag (TensorBoard keeps only the first), so a tag's shape never
changes (`content_dict` is what writers compare). Version 1 files (the first six parts only)
still read.
"""
import json

import numpy as np
from tensorboard.compat.proto import summary_pb2

from tb_metrics_plugin import inputs
from tb_metrics_plugin.counts import Counts

PLUGIN_NAME = "tb_metrics"
# Version of the content JSON and tensor layout. Readers refuse newer versions.
PROTO_VERSION = 2
LAYOUT_V1 = "tp,fp,support,nan,exact_match,n"
LAYOUT = ("tp,fp,support,nan,exact_match,n,observed,out_of_range,nan_positive,"
          "categorical_correct,top1_positive,negative_rows,top_k_hits,confusion_matrix,"
          "weighted:fn,tn")
_INT32_MAX = np.iinfo(np.int32).max


def content_dict(counts):
    """The JSON-able metadata of a tag written from ``counts``."""
    return {
        "version": PROTO_VERSION,
        "layout": LAYOUT,
        "thresholds": [float(t) for t in counts.thresholds],
        "label_names": list(counts.label_names),
        "from_logits": bool(counts.from_logits),
        "weighted": bool(counts.weighted),
        "num_top_k": 0 if counts.top_k_hits is None else int(counts.top_k_hits.size),
        "confusion_matrix": counts.confusion_matrix is not None,
        "sample_unit": counts.sample_unit,
    }


def shape_differences(old, new):
    """What differs between two tags' content dicts (`content_dict`), as readable phrases."""
    out = []
    other_version = old.get("version") != new.get("version")
    if other_version:
        # Fields one version lacks are no difference of their own: the version says it.
        out.append(f"format version {old.get('version')} -> {new.get('version')}: the tag was "
                   "written by another tb_metrics_plugin version")
    for key, what in (("thresholds", "thresholds"), ("label_names", "label names"),
                      ("from_logits", "from_logits"), ("weighted", "weighting"),
                      ("num_top_k", "single-label top-k"),
                      ("confusion_matrix", "confusion matrix"), ("sample_unit", "sample unit")):
        a, b = old.get(key), new.get(key)
        if a == b or (other_version and (key not in old or key not in new)):
            continue
        if key in ("thresholds", "label_names") and isinstance(a, list) and isinstance(b, list):
            out.append(f"{len(a)} {what} -> {len(b)}" if len(a) != len(b) else f"{what} differ")
        else:
            out.append(f"{what} {a!r} -> {b!r}")
    return out


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
    expected_layout = LAYOUT if version >= 2 else LAYOUT_V1
    if data.get("layout", expected_layout) != expected_layout:
        raise ValueError(
            f"Unknown tb_metrics tensor layout {data.get('layout')!r}; expected {expected_layout!r}.")
    try:
        thresholds = inputs.make_thresholds(data["thresholds"])
        names = data["label_names"]
        if not isinstance(names, list) or not names:
            raise ValueError("'label_names' must be a non-empty list")
        names = [str(x) for x in names]
        num_top_k = int(data.get("num_top_k", 0))
        if not 0 <= num_top_k <= inputs.MAX_TOP_K:
            raise ValueError(f"'num_top_k' must be in 0..{inputs.MAX_TOP_K}")
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"Malformed tb_metrics metadata: {e}") from None
    return {
        "version": version,
        "thresholds": thresholds,
        "label_names": names,
        "from_logits": bool(data.get("from_logits", False)),
        "weighted": data.get("weighted"),
        "num_top_k": num_top_k,
        "confusion_matrix": bool(data.get("confusion_matrix", False)),
        "sample_unit": str(data.get("sample_unit", "samples")),
        "content": {k: data[k] for k in data},
    }


def tensor_length(num_labels, num_thresholds, version=PROTO_VERSION, num_top_k=0,
                  confusion_matrix=False, weighted=False):
    """Values in one step's tensor."""
    length = 2 * num_labels * num_thresholds + 2 * num_labels + num_thresholds + 1
    if version >= 2:
        length += 3 * num_labels + 3 + num_top_k + (num_labels ** 2 if confusion_matrix else 0)
        if weighted:
            length += 2 * num_labels * num_thresholds
    return length


def meta_tensor_length(meta):
    """Values in one step's tensor of a tag, from its parsed metadata."""
    return tensor_length(len(meta["label_names"]), len(meta["thresholds"]),
                         meta.get("version", 1), meta.get("num_top_k", 0),
                         meta.get("confusion_matrix", False), bool(meta.get("weighted")))


def counts_to_tensor(counts):
    """Packs ``counts`` into the 1-D tensor stored at one step (format version 2).

    Raises:
      ValueError: a count is negative (a counter wrapped or the counts were edited).
    """
    def scalar(value):
        return [np.nan if value is None else value]

    if counts.nan_positive is None or counts.categorical_correct is None:
        raise ValueError(
            "Expected Counts with the per-step sums of format version 2 (categorical_correct, "
            "top1_positive, negative_rows, nan_positive), as confusion_counts and the metrics "
            "build them; received Counts without them (read from an older file?).")
    parts = [counts.tp.ravel(), counts.fp.ravel(), counts.support, counts.nan,
             counts.exact_match, [counts.n], counts.observed, counts.out_of_range,
             counts.nan_positive, scalar(counts.categorical_correct),
             scalar(counts.top1_positive), scalar(counts.negative_rows)]
    if counts.top_k_hits is not None:
        parts.append(counts.top_k_hits)
    if counts.confusion_matrix is not None:
        parts.append(counts.confusion_matrix.ravel())
    if counts.weighted:
        parts += [counts.fn.ravel(), counts.tn.ravel()]
    if counts.weighted:
        flat = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
        bad = ~np.isfinite(flat) | (flat < 0)
    else:
        flat = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])
        bad = flat < 0
    if bad.any():
        raise ValueError(
            f"Expected non-negative counts to write; received {int(bad.sum())} negative or "
            "non-finite values (a counter that wrapped, or a missing per-step sum?). Nothing "
            "was written.")
    if counts.weighted or flat.max(initial=0) > _INT32_MAX:
        return flat
    return flat.astype(np.int32)


def tensor_to_counts(array, meta):
    """Rebuilds `Counts` from one stored tensor and the parsed metadata of its tag.

    Raises:
      ValueError: the tensor does not have the layout the metadata describes, or holds
        negative counts (which are refused rather than drawn).
    """
    thresholds = meta["thresholds"]
    names = meta["label_names"]
    version = meta.get("version", 1)
    num_k = meta.get("num_top_k", 0)
    has_cm = meta.get("confusion_matrix", False)
    weighted = version >= 2 and bool(meta.get("weighted"))
    num_l, num_t = len(names), len(thresholds)
    array = np.asarray(array)
    expected = tensor_length(num_l, num_t, version, num_k, has_cm, weighted)
    if array.ndim != 1 or array.size != expected:
        raise ValueError(
            f"Expected a 1-D tb_metrics tensor of {expected} values for {num_l} labels x "
            f"{num_t} thresholds; received shape {array.shape}."
        )
    if array.dtype.kind == "f":
        dtype = np.float64
    elif array.dtype.kind in "iu" and not weighted:
        dtype = np.int64
    else:
        raise ValueError(f"Expected a numeric tb_metrics tensor; received dtype {array.dtype}.")
    array = array.astype(dtype)
    if dtype == np.float64 and not np.isfinite(array).all():
        raise ValueError(
            f"Refusing to read non-finite counts ({int((~np.isfinite(array)).sum())} NaN or "
            "infinite values): the file is damaged (writers refuse them).")
    if (array < 0).any():
        raise ValueError(
            f"Refusing to read negative counts ({int((array < 0).sum())} values, min "
            f"{array.min()}): the writer's counters wrapped or the file is damaged. Counts "
            "written by tb_metrics_plugin >= 0.2 never wrap.")
    pos = [0]

    def take(size):
        out = array[pos[0]:pos[0] + size]
        pos[0] += size
        return out

    lt = num_l * num_t
    tp = take(lt).reshape(num_l, num_t)
    fp = take(lt).reshape(num_l, num_t)
    support, nan, exact = take(num_l), take(num_l), take(num_t)
    n = take(1)[0]
    n = float(n) if dtype == np.float64 else int(n)
    extra = {}
    observed = np.full(num_l, n, dtype=dtype)
    if version >= 2:
        observed = take(num_l)
        extra["out_of_range"] = take(num_l)
        extra["nan_positive"] = take(num_l)
        cat, top1, neg_rows = take(3)
        extra.update(categorical_correct=cat, top1_positive=top1, negative_rows=neg_rows)
        if num_k:
            extra["top_k_hits"] = take(num_k)
        if has_cm:
            extra["confusion_matrix"] = take(num_l * num_l).reshape(num_l, num_l)
        extra["sample_unit"] = meta.get("sample_unit", "samples")
    if weighted:
        fn = take(lt).reshape(num_l, num_t)
        tn = take(lt).reshape(num_l, num_t)
    else:
        fn = support[:, None] - tp
        tn = (observed - support)[:, None] - fp
        if dtype == np.float64:
            # Version 1 weighted sums, rebuilt by subtraction: rounding can leave -1e-16.
            tol = 1e-9 * max(float(np.max(observed, initial=0.0)), 1.0)
            fn = np.where((fn < 0) & (fn >= -tol), 0.0, fn)
            tn = np.where((tn < 0) & (tn >= -tol), 0.0, tn)
        if (fn < 0).any() or (tn < 0).any():
            raise ValueError(
                "Refusing to read negative counts: FN = support - TP or TN = observed - "
                "support - FP is negative (the file is damaged or was edited).")
    return Counts(
        thresholds=thresholds,
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        exact_match=exact,
        n=n,
        nan=nan,
        label_names=list(names),
        from_logits=meta["from_logits"],
        **extra,
    )


def preempt(steps, step):
    """Drops the entries of ``steps`` (a dict in step order) at ``step`` and after it.

    TensorBoard's rule for a step that comes again in a time series (its Rust loader's
    "preemption"): a run restarted from a checkpoint at step s orphans what was written at s
    and later. Used by `summary.read_counts` and the plugin so both agree under every loader.
    """
    if steps and step <= next(reversed(steps)):
        for old in [s for s in steps if s >= step]:
            del steps[old]
