"""``torch.optim.rprop``: where code imports ``Rprop`` from."""

from ._rules import Rprop  # noqa: F401

__all__ = ["Rprop"]
