"""``torch.optim.asgd``: where code imports ``ASGD`` from."""

from ._rules import ASGD  # noqa: F401

__all__ = ["ASGD"]
