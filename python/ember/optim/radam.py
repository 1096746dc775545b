"""``torch.optim.radam``: where code imports ``RAdam`` from."""

from ._rules import RAdam  # noqa: F401

__all__ = ["RAdam"]
