"""``nn.LinearCrossEntropyLoss`` and ``nn.LinearCrossEntropyOptions`` (torch 2.15): a linear
classifier head and cross entropy in one call, optionally over chunks of the batch so the
whole ``[N, C]`` logits matrix is never held at once (LLM vocabulary heads)."""

import dataclasses
import math

from .. import functional as F
from .linear import Linear
from .loss import _WeightedLoss

_ACC_POLICIES = ("auto", "accurate", "compact")


@dataclasses.dataclass
class LinearCrossEntropyOptions:
    """How ``linear_cross_entropy`` chunks the batch. ``batch_chunk_size`` rows per chunk (None:
    sized by ``chunking_method``, ``"auto"`` or ``"aspect_ratio[:k]"``: chunks of about
    ``k * in_features`` rows, so a chunk's logits are no larger than the weight). Each chunk's
    logits are recomputed in backward instead of being kept. ``acc_policy``/``acc_dtype`` and
    ``allow_retain_graph`` are accepted for torch's API; Ember accumulates in the input dtype
    and always allows ``retain_graph``."""

    allow_retain_graph: bool = False
    batch_chunk_size: int = None
    chunking_method: str = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        import ember
        if self.acc_policy not in _ACC_POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}; expected one of "
                             f"{', '.join(map(repr, _ACC_POLICIES))}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None or (isinstance(self.batch_chunk_size, int)
                                                  and not isinstance(self.batch_chunk_size, bool)
                                                  and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in (ember.float16, ember.bfloat16, ember.float32,
                                                                 ember.float64):
            raise ValueError(f"acc_dtype must be one of {{None, torch.float16, torch.bfloat16, torch.float32, "
                             f"torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op pick "
                             "automatically.")

    def _chunk_rows(self, num_batches, in_features):
        if self.batch_chunk_size is not None:
            return self.batch_chunk_size
        method = self.chunking_method or "auto"
        factor = int(method.partition(":")[2] or 1) if method != "auto" else 1
        return max(1, min(num_batches, factor * in_features))


class LinearCrossEntropyLoss(_WeightedLoss):
    def __init__(self, in_features, num_classes, *, out_features=(), bias=False, device=None, dtype=None,
                 reduction="mean", weight=None, ignore_index=None, label_smoothing=0.0, options=None):
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(f"expected weight shape to be {(num_classes,)}, got {tuple(weight.shape)}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(f"expected label_smoothing to be in range [0, 1], got {label_smoothing}")
        super().__init__(weight=weight, size_average=None, reduce=None, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        # Linear holds a 2-D weight; forward views it as (C, *out_features, in_features).
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes), bias=bias, device=device,
                             dtype=dtype)
        self.options = options

    def forward(self, input, target):
        w = self.linear.weight.reshape((self.num_classes, *self.out_features, self.linear.in_features))
        b = self.linear.bias.reshape((self.num_classes, *self.out_features)) if self.linear.bias is not None else None
        return F.linear_cross_entropy(input, w, target, linear_bias=b, weight=self.weight, reduction=self.reduction,
                                      ignore_index=self.ignore_index, label_smoothing=self.label_smoothing,
                                      options=self.options)

    def extra_repr(self):
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, reduction={self.reduction}, "
                f"ignore_index={self.ignore_index}, label_smoothing={self.label_smoothing}, options={self.options}")
