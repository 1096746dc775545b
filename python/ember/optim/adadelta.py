"""``torch.optim.adadelta``: where code imports ``Adadelta`` from."""

from ._rules import Adadelta  # noqa: F401

__all__ = ["Adadelta"]
