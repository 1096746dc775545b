"""``ember.safetensors``: the ``safetensors.torch`` API (``save_file``, ``load_file``, ``save``,
``load``) on Ember's Rust reader and writer, so code written for the safetensors package works
with Ember tensors. Files are written atomically; headers are validated before any tensor is
allocated."""

import os

from . import _C


def save_file(tensors, filename, metadata=None):
    """Writes a dict of tensors (and optional ``{str: str}`` metadata) to ``filename``."""
    _C._io.save_safetensors_file(dict(tensors), os.fspath(filename), metadata)


def load_file(filename, device="cpu"):
    """Reads a safetensors file into a dict of tensors."""
    tensors, _ = _C._io.load_safetensors_file(os.fspath(filename))
    return tensors


def save(tensors, metadata=None):
    """Safetensors bytes of a dict of tensors."""
    return _C._io.save_safetensors(dict(tensors), metadata)


def load(data):
    """A dict of tensors from safetensors bytes."""
    tensors, _ = _C._io.load_safetensors(bytes(data))
    return tensors


def load_metadata(filename):
    """The ``__metadata__`` strings of a safetensors file."""
    _, meta = _C._io.load_safetensors_file(os.fspath(filename))
    return meta


class safe_open:
    """``with safe_open(path, framework="pt") as f``: ``keys()``, ``get_tensor(name)``,
    ``metadata()`` (the file is read whole)."""

    def __init__(self, filename, framework="pt", device="cpu"):
        self._tensors, self._meta = _C._io.load_safetensors_file(os.fspath(filename))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return list(self._tensors)

    def get_tensor(self, name):
        return self._tensors[name]

    def metadata(self):
        return self._meta
