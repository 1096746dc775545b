"""``torch.nn.utils.convert_parameters`` (the functions also live on ``nn.utils``)."""

from . import parameters_to_vector, vector_to_parameters  # noqa: F401
