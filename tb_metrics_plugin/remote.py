"""Event files in remote log directories (``s3://``, ``gs://``, ``memory://``, ...) via fsspec.

No TensorFlow needed. TensorBoard's own ``EventFileWriter`` writes through ``tf.io.gfile`` (or
its stub) and appends to one open file, which object stores cannot do. Here records are framed
with TensorBoard's ``RecordWriter`` (the TFRecord format: length, masked CRC32C of the length,
data, masked CRC32C of the data) into an in-memory buffer, and each `flush` uploads the whole
buffer as one object (``fs.pipe_file``): a reader always sees a complete prefix of the file.

Cost: a flush uploads the current object again from its first byte. Once an object passes
``rotate_bytes`` (R, default 8 MiB) the next events go to a new object whose name sorts after
it (TensorBoard reads a run's event files in name order), so no upload is larger than R plus one
flush's events, and E bytes of events written F bytes per flush send about E * R / (2 * F)
bytes in all (e.g. 1 MiB per epoch: at most 8 uploads, 36 MiB, per 8 MiB object). The
current object's events stay in memory until they are uploaded.

Credentials and endpoints are fsspec's: for S3, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` (or any boto credential source) and, for an S3-compatible server,
``AWS_ENDPOINT_URL`` or ``FSSPEC_S3_ENDPOINT_URL``; ``storage_options`` passes anything else.

>>> import tb_metrics_plugin as tbm
>>> c = tbm.confusion_counts([1, 0], [0.9, 0.2], thresholds=5)
>>> tbm.write_counts("memory://doc/run/validation", "threshold_counts", c, step=0)
>>> [s for s, _ in tbm.read_counts("memory://doc/run/validation")["threshold_counts"]]
[0]
"""
import io
import os
import posixpath
import socket
import struct
import threading
import time

__all__ = ["is_url", "join", "RemoteEventWriter", "event_files", "load_events", "exists"]

DEFAULT_ROTATE_BYTES = 8 << 20
_uid_lock = threading.Lock()
_uid = [0]


def is_url(path):
    """True for an fsspec URL other than a local ``file://`` path (``s3://b/logs``)."""
    if not isinstance(path, str) or "://" not in path:
        return False
    return not path.startswith("file://")


def _fs(url, storage_options=None):
    try:
        import fsspec
    except ImportError:
        raise ValueError(
            f"Expected fsspec to write or read {url!r}; it is not installed. Install it with "
            "`pip install tb_metrics_plugin[remote]` (plus s3fs for s3://, gcsfs for gs://)."
        ) from None
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except (ImportError, ValueError) as e:
        raise ValueError(f"Expected a URL that fsspec can open; received {url!r}: {e}") from None


def join(url, *parts):
    """``posixpath.join`` for URLs (``join("s3://b/logs", "train")``)."""
    return posixpath.join(url, *parts)


def exists(url, storage_options=None):
    fs, path = _fs(url, storage_options)
    return fs.exists(path)


class RemoteEventWriter:
    """The ``add_event`` / ``flush`` / ``close`` of TensorBoard's EventFileWriter, for a URL.

    Args:
      log_dir: the run directory URL.
      filename_suffix: appended to the event file name.
      rotate_bytes: start a new object once the current one is this large.
      storage_options: passed to fsspec (e.g. ``{"endpoint_url": ...}``).
    """

    def __init__(self, log_dir, filename_suffix="", rotate_bytes=DEFAULT_ROTATE_BYTES,
                 storage_options=None):
        self.log_dir = log_dir
        self._suffix = filename_suffix
        self._rotate = int(rotate_bytes)
        self._fs, self._dir = _fs(log_dir, storage_options)
        self._lock = threading.Lock()
        self.uploads = 0  # objects written (for tests and cost checks)
        self.bytes_uploaded = 0
        self._new_object()

    def _new_object(self):
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        with _uid_lock:
            _uid[0] += 1
            uid = _uid[0]
        # Zero-padded time and counter: later objects of this writer sort after earlier ones.
        name = (f"events.out.tfevents.{time.time():017.6f}.{socket.gethostname()}."
                f"{os.getpid()}.{uid:06d}{self._suffix}")
        self.path = posixpath.join(self._dir, name)
        self._buffer = io.BytesIO()
        self._records = RecordWriter(self._buffer)
        self._dirty = True
        self._records.write(event_pb2.Event(
            wall_time=time.time(), file_version="brain.Event:2",
            source_metadata=event_pb2.SourceMetadata(writer="tb_metrics_plugin.remote"),
        ).SerializeToString())

    def add_event(self, event):
        with self._lock:
            self._records.write(event.SerializeToString())
            self._dirty = True

    def flush(self):
        """Uploads the current object whole; rotates to a new one when it is large."""
        with self._lock:
            if not self._dirty:
                return
            data = self._buffer.getvalue()
            self._fs.pipe_file(self.path, data)
            self.uploads += 1
            self.bytes_uploaded += len(data)
            self._dirty = False
            if len(data) >= self._rotate:
                self._new_object()
                self._dirty = False  # the header alone is not worth an object

    def close(self):
        self.flush()


def event_files(url, storage_options=None):
    """Sorted URLs of the ``*tfevents*`` objects directly in ``url`` (or ``url`` itself)."""
    fs, path = _fs(url, storage_options)
    if fs.isfile(path):
        return [url]
    if not fs.isdir(path):
        raise ValueError(f"Expected an event file or a run directory; {url!r} does not exist.")
    names = sorted(p for p in fs.ls(path, detail=False) if "tfevents" in posixpath.basename(p))
    return [fs.unstrip_protocol(p) for p in names]


def load_events(url, storage_options=None):
    """Yields the `Event` protos of one event file URL; stops at a truncated last record.

    Raises ValueError on a record whose CRC does not match (a corrupt object).
    """
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    fs, path = _fs(url, storage_options)
    data = fs.cat_file(path)
    pos, size = 0, len(data)
    while pos + 12 <= size:
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if header_crc != masked_crc32c(header):
            raise ValueError(f"{url}: corrupt record header at byte {pos}.")
        end = pos + 12 + length + 4
        if end > size:
            return  # a record still being written
        body = data[pos + 12:pos + 12 + length]
        (body_crc,) = struct.unpack("<I", data[end - 4:end])
        if body_crc != masked_crc32c(body):
            raise ValueError(f"{url}: corrupt record at byte {pos}.")
        yield event_pb2.Event.FromString(body)
        pos = end
