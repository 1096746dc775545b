"""``torch.optim.adagrad``: where code imports ``Adagrad`` from."""

from ._rules import Adagrad  # noqa: F401

__all__ = ["Adagrad"]
