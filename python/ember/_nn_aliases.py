"""The ``torch.*`` spellings of ``nn.functional`` ops (``torch.conv2d``, ``torch.dropout``,
``torch.layer_norm``, ``torch.embedding``, ...). PyTorch exports its ATen ops at top level with
ATen's argument order (``torch.embedding(weight, indices)``, ``torch.batch_norm(input, weight,
bias, running_mean, ...)``) and integer reductions (0 none, 1 mean, 2 sum); each alias here
takes that form and calls the functional.
"""

from . import _C

_REDUCTION = {0: "none", 1: "mean", 2: "sum"}


def _reduction(r):
    if isinstance(r, str):
        return r
    if r not in _REDUCTION:
        raise ValueError(f"{r} is not a valid value for reduction")
    return _REDUCTION[r]


def make(F):
    """The aliases, as a dict of name -> function, over the functional module ``F``."""

    def dropout(input, p, train):
        return F.dropout(input, p, train)

    def alpha_dropout(input, p, train):
        return F.alpha_dropout(input, p, train)

    def feature_alpha_dropout(input, p, train):
        return F.feature_alpha_dropout(input, p, train)

    def feature_dropout(input, p, train):
        f = {3: F.dropout1d, 4: F.dropout2d, 5: F.dropout3d}.get(input.dim())
        if f is None:
            raise RuntimeError(f"feature_dropout expects a 3-D, 4-D or 5-D input, got {input.dim()}-D")
        return f(input, p, train)

    def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
        return F.layer_norm(input, normalized_shape, weight, bias, eps)

    def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
        return F.group_norm(input, num_groups, weight, bias, eps)

    def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
        return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)

    def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
        return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)

    def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
        return F.embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                           scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)

    def kl_div(input, target, reduction=1, log_target=False):
        return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)

    def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
        return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))

    def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
        return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))

    def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
        return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))

    def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction=1):
        return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))

    def poisson_nll_loss(input, target, log_input, full, eps, reduction):
        return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))

    def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
        return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                                  pos_weight=pos_weight)

    def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction), zero_infinity)

    def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return F.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode)

    def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return F.max_pool2d(input, kernel_size, stride or None, padding, dilation, ceil_mode)

    def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return F.max_pool3d(input, kernel_size, stride or None, padding, dilation, ceil_mode)

    def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return F.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode, return_indices=True)

    def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True):
        return F.avg_pool1d(input, kernel_size, stride or None, padding, ceil_mode, count_include_pad)

    def adaptive_max_pool1d(input, output_size):
        return F.adaptive_max_pool1d(input, output_size, return_indices=True)

    def threshold(input, threshold, value):
        return F.threshold(input, threshold, value)

    names = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "bilinear",
             "pdist", "pairwise_distance", "cosine_similarity", "rms_norm", "prelu", "rrelu", "selu", "celu",
             "hardshrink", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "adaptive_avg_pool1d"]
    out = {n: getattr(F, n) for n in names if hasattr(F, n)}
    out["native_channel_shuffle"] = out.get("channel_shuffle")
    for f in (dropout, alpha_dropout, feature_alpha_dropout, feature_dropout, layer_norm, group_norm, batch_norm,
              instance_norm, embedding, kl_div, margin_ranking_loss, hinge_embedding_loss, cosine_embedding_loss,
              triplet_margin_loss, poisson_nll_loss, binary_cross_entropy_with_logits, ctc_loss, max_pool1d,
              max_pool2d, max_pool3d, max_pool1d_with_indices, avg_pool1d, adaptive_max_pool1d, threshold):
        out[f.__name__] = f
    # In-place forms (torch.relu_(x), torch.dropout_(x, p, train), ...).
    Tensor = _C.Tensor

    def inplace(name, f):
        def function(input, *args, **kwargs):
            return _C._update_(input, name, [a for a in args if isinstance(a, Tensor)],
                               lambda old: f(old, *args, **kwargs), True)

        function.__name__ = function.__qualname__ = name
        return function

    for n in ("selu", "celu", "rrelu", "threshold", "dropout", "alpha_dropout", "feature_alpha_dropout",
              "feature_dropout"):
        out[n + "_"] = inplace(n + "_", out[n])
    return {k: v for k, v in out.items() if v is not None}


def install(namespace, F):
    for name, f in make(F).items():
        namespace.setdefault(name, f)
