"""``torch.optim.adamw``: where code imports ``AdamW`` from."""

from ._rules import AdamW  # noqa: F401

__all__ = ["AdamW"]
