"""Instance normalisation (torch's ``torch.nn.modules.instancenorm``): ``InstanceNorm1d/2d/3d``
(no affine and no running statistics by default, unbatched inputs)."""

from .. import functional as F
from .batchnorm import _NormBase


class _InstanceNorm(_NormBase):
    _batched_dims = 3

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def _check_input_dim(self, input):
        if input.dim() not in (self._batched_dims - 1, self._batched_dims):
            raise ValueError(f"expected {self._batched_dims - 1}D or {self._batched_dims}D input "
                             f"(got {input.dim()}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        unbatched = input.dim() == self._batched_dims - 1
        feature_dim = input.dim() - (self._batched_dims - 1)
        if input.size(feature_dim) != self.num_features and self.affine:
            raise ValueError(f"expected input's size at dim={feature_dim} to match num_features "
                             f"({self.num_features}), but got: {input.size(feature_dim)}.")
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    _batched_dims = 3


class InstanceNorm2d(_InstanceNorm):
    _batched_dims = 4


class InstanceNorm3d(_InstanceNorm):
    _batched_dims = 5
