"""``torch.optim.sgd``: where code imports ``SGD`` from."""

from ._rules import SGD  # noqa: F401

__all__ = ["SGD"]
