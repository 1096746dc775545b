"""The few protocol-buffer messages an event file holds, encoded by hand (no ``protobuf``
dependency): TensorBoard's ``Event``, ``Summary``, ``HistogramProto``, ``TensorProto`` and the
hparams plugin's messages.

Wire format (developers.google.com/protocol-buffers/docs/encoding): each field is a key
``field_number << 3 | wire_type`` as a varint, then a varint (ints, enums, bools), 8 bytes
(double), 4 bytes (float) or a length and bytes (strings, bytes, sub-messages, packed repeated
numbers). Fields are written in field-number order, as protobuf's own serializer does, so the
bytes equal what ``SerializeToString()`` gives. proto3 leaves out a plain field holding its
default (0, empty); a member of a ``oneof`` and a sub-message are written whenever set, so
their helpers take ``always=True`` or are called only when the caller has a value."""

import struct

VARINT, I64, LEN, I32 = 0, 1, 2, 5


def varint(n):
    """``n`` as a base-128 varint; negative int32/int64 values as their 64-bit two's complement
    (ten bytes), as protobuf writes them."""
    n = int(n)
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(number, wire):
    return varint(number << 3 | wire)


def int_field(number, value, always=False):
    """An int32/int64/enum/bool field."""
    value = int(value)
    if value == 0 and not always:
        return b""
    return _key(number, VARINT) + varint(value)


def double_field(number, value, always=False):
    raw = struct.pack("<d", float(value))
    if raw == bytes(8) and not always:
        return b""
    return _key(number, I64) + raw


def float_field(number, value, always=False):
    raw = struct.pack("<f", float(value))
    if raw == bytes(4) and not always:
        return b""
    return _key(number, I32) + raw


def bytes_field(number, value, always=False):
    """A string (encoded as UTF-8), bytes or an already-encoded sub-message."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not value and not always:
        return b""
    return _key(number, LEN) + varint(len(value)) + value


def message_field(number, payload):
    """A set sub-message: written even when all its fields are defaults (empty payload)."""
    return bytes_field(number, payload, always=True)


def _packed(number, payload):
    return bytes_field(number, payload)


def packed_doubles(number, values):
    return _packed(number, b"".join(struct.pack("<d", float(v)) for v in values))


def packed_floats(number, values):
    return _packed(number, b"".join(struct.pack("<f", float(v)) for v in values))


def packed_varints(number, values):
    return _packed(number, b"".join(varint(int(v)) for v in values))


def repeated_bytes(number, values):
    return b"".join(bytes_field(number, v, always=True) for v in values)


# -- tensorboard/compat/proto: event.proto, summary.proto, tensor.proto, tensor_shape.proto

DATA_TYPES = {"DT_FLOAT": 1, "DT_DOUBLE": 2, "DT_INT32": 3, "DT_UINT8": 4, "DT_INT16": 5, "DT_INT8": 6,
              "DT_STRING": 7, "DT_COMPLEX64": 8, "DT_INT64": 9, "DT_BOOL": 10, "DT_BFLOAT16": 14,
              "DT_UINT16": 17, "DT_COMPLEX128": 18, "DT_HALF": 19, "DT_UINT32": 22, "DT_UINT64": 23}


def event(wall_time=0.0, step=0, file_version=None, summary=None, session_log=None, source_metadata=None):
    """``Event``: ``wall_time`` (1), ``step`` (2) and one of ``file_version`` (3), ``summary``
    (5), ``session_log`` (7); ``source_metadata`` (10)."""
    out = double_field(1, wall_time) + int_field(2, step)
    if file_version is not None:
        out += bytes_field(3, file_version, always=True)
    if summary is not None:
        out += message_field(5, summary)
    if session_log is not None:
        out += message_field(7, session_log)
    if source_metadata is not None:
        out += message_field(10, bytes_field(1, source_metadata))
    return out


SESSION_LOG_START = 1


def session_log(status):
    return int_field(1, status)


def summary(*values):
    """``Summary``: repeated ``Value`` (1)."""
    return b"".join(message_field(1, v) for v in values)


def summary_value(tag, metadata=None, simple_value=None, image=None, histo=None, audio=None, tensor=None):
    """``Summary.Value``: ``tag`` (1), then the one value that is set (``simple_value`` 2,
    ``image`` 4, ``histo`` 5, ``audio`` 6, ``tensor`` 8), ``metadata`` (9)."""
    out = bytes_field(1, tag)
    if simple_value is not None:
        out += float_field(2, simple_value, always=True)
    for number, payload in ((4, image), (5, histo), (6, audio), (8, tensor), (9, metadata)):
        if payload is not None:
            out += message_field(number, payload)
    return out


def summary_metadata(plugin_name, content=b""):
    """``SummaryMetadata`` with its ``PluginData`` (1): ``plugin_name`` (1), ``content`` (2)."""
    return message_field(1, bytes_field(1, plugin_name) + bytes_field(2, content))


def histogram_proto(min, max, num, sum, sum_squares, bucket_limit, bucket):
    return (double_field(1, min) + double_field(2, max) + double_field(3, num) + double_field(4, sum)
            + double_field(5, sum_squares) + packed_doubles(6, bucket_limit) + packed_doubles(7, bucket))


def image_proto(height, width, colorspace, encoded):
    return int_field(1, height) + int_field(2, width) + int_field(3, colorspace) + bytes_field(4, encoded)


def audio_proto(sample_rate, num_channels, length_frames, encoded, content_type):
    return (float_field(1, sample_rate) + int_field(2, num_channels) + int_field(3, length_frames)
            + bytes_field(4, encoded) + bytes_field(5, content_type))


def tensor_shape(dims):
    """``TensorShapeProto``: repeated ``Dim`` (2), each ``size`` (1)."""
    return b"".join(message_field(2, int_field(1, d)) for d in dims)


_TENSOR_FIELDS = {"float_val": (5, packed_floats), "double_val": (6, packed_doubles),
                  "int_val": (7, packed_varints), "string_val": (8, repeated_bytes),
                  "int64_val": (10, packed_varints), "bool_val": (11, packed_varints),
                  "half_val": (13, packed_varints), "uint32_val": (16, packed_varints),
                  "uint64_val": (17, packed_varints)}


def tensor_proto(dtype, dims, field, values):
    """``TensorProto``: ``dtype`` (1), ``tensor_shape`` (2; left out when ``dims`` is None) and
    one list of values."""
    number, encode = _TENSOR_FIELDS[field]
    shape = b"" if dims is None else message_field(2, tensor_shape(dims))
    parts = {1: int_field(1, DATA_TYPES[dtype]), 2: shape, number: encode(number, values)}
    return b"".join(parts[k] for k in sorted(parts))


# -- google/protobuf/struct.proto and the hparams plugin (tensorboard/plugins/hparams)

def struct_value(kind, v):
    """``google.protobuf.Value`` of one kind: ``"number"`` (``number_value``, 2), ``"string"``
    (3) or ``"bool"`` (4); members of a oneof, so written even when zero or empty."""
    if kind == "bool":
        return int_field(4, v, always=True)
    if kind == "string":
        return bytes_field(3, v, always=True)
    return double_field(2, v, always=True)
