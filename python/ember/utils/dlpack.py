"""`ember.utils.dlpack`, as `torch.utils.dlpack`: DLPack capsules in and out."""

from .._C import from_dlpack


def to_dlpack(tensor):
    """A DLPack capsule over ``tensor``'s memory (no copy)."""
    return tensor.__dlpack__()


__all__ = ["from_dlpack", "to_dlpack"]
