"""``ember.backends``: the flags scripts read and set (``torch.backends.cudnn.benchmark = True``,
``torch.backends.mps.is_available()``, ...), answering as a CPU-only torch build. Each backend is
a submodule, as in torch, so ``import torch.backends.cudnn as cudnn`` works too."""

# Which scaled_dot_product_attention kernels may run (``torch.backends.cuda.*_sdp``, also set by
# ``torch.nn.attention.sdpa_kernel``): Ember's fused kernel answers to ``flash``, the unfused
# composition to ``math``; the others exist only on CUDA.
_SDP = {"math": True, "flash": True, "mem_efficient": True, "cudnn": True, "overrideable": True}

from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum  # noqa: E402,F401
