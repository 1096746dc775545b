"""``torch.optim.rmsprop``: where code imports ``RMSprop`` from."""

from ._rules import RMSprop  # noqa: F401

__all__ = ["RMSprop"]
