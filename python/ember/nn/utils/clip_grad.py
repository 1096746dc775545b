"""``torch.nn.utils.clip_grad`` (the functions also live on ``nn.utils``)."""

from . import clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm  # noqa: F401
