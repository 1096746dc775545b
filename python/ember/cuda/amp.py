"""``torch.cuda.amp``: the deprecated spellings of ``torch.amp``'s ``autocast`` and
``GradScaler``."""

from ..amp import GradScaler, autocast  # noqa: F401
