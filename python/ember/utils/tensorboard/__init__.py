"""``ember.utils.tensorboard``, as ``torch.utils.tensorboard``: ``SummaryWriter`` writes
TensorBoard event files (scalars, histograms, images, audio, text, PR curves, hyperparameters,
custom-scalar layouts, projector embeddings). Pure Python over NumPy; it needs neither the
``tensorboard`` nor the ``protobuf`` package (TensorBoard itself is needed only to view the
logs)."""

from .writer import FileWriter, SummaryWriter  # noqa: F401

__all__ = ["FileWriter", "SummaryWriter"]
