"""``torch.optim.adam``: where code imports ``Adam`` from."""

from ._rules import Adam  # noqa: F401

__all__ = ["Adam"]
