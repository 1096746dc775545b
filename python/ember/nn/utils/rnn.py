"""``nn.utils.rnn``: ``PackedSequence`` and packing/padding helpers with torch's semantics.
A packed sequence holds the time steps of sequences sorted by length, longest first:
``data[offset[t] + b]`` is step ``t`` of sorted sequence ``b`` for ``b < batch_sizes[t]``.
Conversions are index gathers (``index_select``), so gradients flow through them."""

from collections import namedtuple

from ... import _C

Tensor = _C.Tensor

_PackedSequenceBase = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def invert_permutation(permutation):
    if permutation is None:
        return None
    out = _C.empty_like(permutation)
    out.scatter_(0, permutation, _C.arange(permutation.numel()))
    return out


class PackedSequence(_PackedSequenceBase):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``; made by
    ``pack_padded_sequence``/``pack_sequence``, accepted by every RNN module."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, self.batch_sizes, self.sorted_indices,
                                                         self.unsorted_indices)

    def cpu(self):
        return self

    def pin_memory(self):
        return self

    def double(self):
        return self.to(dtype=_C.float64)

    def float(self):
        return self.to(dtype=_C.float32)

    def half(self):
        return self.to(dtype=_C.float16)

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _offsets(batch_sizes):
    offs, total = [], 0
    for b in batch_sizes:
        offs.append(total)
        total += b
    return offs, total


def _padded_index(batch_sizes, n):
    """For ``padded[t, b]`` (flattened ``t * n + b``): its row in ``data``, or ``total`` (a
    padding row appended to ``data``)."""
    offs, total = _offsets(batch_sizes)
    idx = []
    for t, bs in enumerate(batch_sizes):
        idx.extend(offs[t] + b if b < bs else total for b in range(n))
    return idx, total


def _packed_index(batch_sizes, n):
    """For each row of ``data``: its flat position ``t * n + b`` in the padded ``[T, N]``."""
    return [t * n + b for t, bs in enumerate(batch_sizes) for b in range(bs)]


def _pad_sorted(data, batch_sizes, padding_value=0.0, total_length=None):
    """``data`` as ``[T, N, *]`` in sorted order."""
    sizes = [int(b) for b in batch_sizes.tolist()] if isinstance(batch_sizes, Tensor) else list(batch_sizes)
    n = sizes[0] if sizes else 0
    steps = len(sizes) if total_length is None else total_length
    sizes = sizes + [0] * (steps - len(sizes))
    idx, _ = _padded_index(sizes, n)
    pad_row = _C.full([1] + list(data.shape[1:]), padding_value, dtype=data.dtype)
    padded = _C.cat([data, pad_row]).index_select(0, _C.tensor(idx, dtype=_C.int64))
    return padded.reshape([steps, n] + list(data.shape[1:]))


def _pack_sorted(padded, batch_sizes):
    """``[T, N, *]`` in sorted order back to packed ``data``."""
    sizes = [int(b) for b in batch_sizes.tolist()] if isinstance(batch_sizes, Tensor) else list(batch_sizes)
    t, n = padded.shape[0], padded.shape[1]
    flat = padded.reshape([t * n] + list(padded.shape[2:]))
    return flat.index_select(0, _C.tensor(_packed_index(sizes, n), dtype=_C.int64))


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    if isinstance(lengths, Tensor):
        lengths = lengths.to(_C.int64)
    else:
        lengths = _C.tensor(list(lengths), dtype=_C.int64)
    sorted_indices = None
    if enforce_sorted:
        ls = lengths.tolist()
        if any(ls[i] < ls[i + 1] for i in range(len(ls) - 1)):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
    else:
        lengths, sorted_indices = lengths.sort(descending=True)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    ls = lengths.tolist()
    if ls and ls[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if batch_first:
        input = input.transpose(0, 1)
    if ls and ls[0] > input.shape[0]:
        raise RuntimeError(f"Expected the length of the longest sequence ({ls[0]}) to be at most the number of "
                           f"time steps ({input.shape[0]})")
    steps = ls[0] if ls else 0
    batch_sizes = [sum(1 for length in ls if length > t) for t in range(steps)]
    data = _pack_sorted(input[:steps], batch_sizes)
    return PackedSequence(data, _C.tensor(batch_sizes, dtype=_C.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    max_len = len(sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, but "
                             f"got total_length={total_length} and max sequence length being {max_len}")
        max_len = total_length
    padded = _pad_sorted(sequence.data, sizes, padding_value, max_len)
    n = sizes[0] if sizes else 0
    lengths = _C.tensor([sum(1 for b in sizes if b > i) for i in range(n)], dtype=_C.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths.index_select(0, sequence.unsorted_indices)
    return padded, lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    max_len = max(s.shape[0] for s in sequences)
    trailing = list(sequences[0].shape[1:])
    rows = []
    for s in sequences:
        extra = max_len - s.shape[0]
        if extra:
            pad = _C.full([extra] + trailing, padding_value, dtype=s.dtype)
            s = _C.cat([s, pad]) if padding_side == "right" else _C.cat([pad, s])
        rows.append(s)
    out = _C.stack(rows, 0 if batch_first else 1)
    return out


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(length)] for seq, length in zip(padded_sequences, lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    lengths = _C.tensor([v.size(0) for v in sequences], dtype=_C.int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
