"""``torch.optim.nadam``: where code imports ``NAdam`` from."""

from ._rules import NAdam  # noqa: F401

__all__ = ["NAdam"]
