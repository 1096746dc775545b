"""Event files: TFRecord framing with masked CRC-32C checksums, one file per writer, named as
TensorBoard names them (``events.out.tfevents.<time>.<host>.<pid>.<uid><suffix>``).

A record is ``length`` (u64 little-endian), ``masked_crc32c(length bytes)`` (u32), the data,
``masked_crc32c(data)`` (u32). CRC-32C is the Castagnoli polynomial (reflected 0x82F63B78); the
mask rotates the CRC right by 15 bits and adds 0xA282EAD8, as TensorFlow's ``crc32c::Mask``."""

import atexit
import itertools
import os
import socket
import struct
import threading
import time
import weakref

from . import _proto


def _table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


def crc32c(data):
    """CRC-32C of ``data`` (check value: ``crc32c(b"123456789") == 0xE3069283``)."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data):
    """One TFRecord around ``data``."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


_uid = itertools.count()
_open_writers = weakref.WeakSet()


@atexit.register
def _flush_all():
    # What was logged reaches the disk even when a program exits without close().
    for w in list(_open_writers):
        w.flush()


class EventFileWriter:
    """Appends serialized ``Event`` messages to a new event file in ``logdir``. Records go to
    the file at once (buffered); the buffer reaches the disk every ``flush_secs`` seconds, on
    ``flush()``, ``close()`` and at exit (TensorBoard's writer does the same from a thread)."""

    def __init__(self, logdir, max_queue_size=10, flush_secs=120, filename_suffix=""):
        self._logdir = str(logdir)
        os.makedirs(self._logdir, exist_ok=True)
        name = "events.out.tfevents.%010d.%s.%s.%s" % (time.time(), socket.gethostname(), os.getpid(), next(_uid))
        self._file_name = os.path.join(self._logdir, name) + filename_suffix
        self._file = open(self._file_name, "wb")
        self._lock = threading.Lock()
        self._max_queue_size = max_queue_size
        self._flush_secs = flush_secs
        self._last_flush = time.monotonic()
        _open_writers.add(self)
        self.add_event(_proto.event(wall_time=time.time(), file_version="brain.Event:2",
                                    source_metadata="tensorboard.summary.writer.event_file_writer"))
        self.flush()

    def get_logdir(self):
        return self._logdir

    def add_event(self, event):
        """Appends one serialized ``Event``."""
        if not isinstance(event, (bytes, bytearray)):
            raise TypeError(f"Expected a serialized Event (bytes), but got {type(event)}")
        with self._lock:
            if self._file is None:
                raise RuntimeError("Writer is closed")
            self._file.write(frame(bytes(event)))
            due = time.monotonic() - self._last_flush >= self._flush_secs
        if due:
            self.flush()

    def flush(self):
        with self._lock:
            if self._file is not None:
                self._file.flush()
                self._last_flush = time.monotonic()

    def close(self):
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
        _open_writers.discard(self)
