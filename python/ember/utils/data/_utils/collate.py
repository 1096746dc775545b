"""``torch.utils.data._utils.collate``: where code imports ``default_collate`` and
``default_convert`` from."""

from . import default_collate, default_convert  # noqa: F401
