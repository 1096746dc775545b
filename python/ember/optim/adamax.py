"""``torch.optim.adamax``: where code imports ``Adamax`` from."""

from ._rules import Adamax  # noqa: F401

__all__ = ["Adamax"]
