"""Every loss of ``torch.nn.functional`` with torch's signature (including the deprecated
``size_average``/``reduce`` pair); the formulas are Ember's Rust losses (``_C._nn``)."""

import warnings

from ... import _C
from ._utils import reduction_of

_nn = _C._nn


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    r = reduction_of(size_average, reduce, reduction)
    return _nn.cross_entropy(input, target, weight, int(ignore_index), r, float(label_smoothing))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    return _nn.nll_loss(input, target, weight, int(ignore_index), reduction_of(size_average, reduce, reduction))


def _check_same_size(input, target, name):
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", stacklevel=3)


def _weighted(loss_none, weight, reduction):
    loss = loss_none * weight
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_size(input, target, "mse_loss")
    r = reduction_of(size_average, reduce, reduction)
    input, target = _broadcast(input, target)
    if weight is not None:
        return _weighted(_nn.simple_loss("mse_loss", input, target, "none"), weight, r)
    return _nn.simple_loss("mse_loss", input, target, r)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_size(input, target, "l1_loss")
    r = reduction_of(size_average, reduce, reduction)
    input, target = _broadcast(input, target)
    if weight is not None:
        return _weighted(_nn.simple_loss("l1_loss", input, target, "none"), weight, r)
    return _nn.simple_loss("l1_loss", input, target, r)


def _broadcast(input, target):
    if input.shape == target.shape:
        return input, target
    from ...functional import broadcast_tensors
    return broadcast_tensors(input, target)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _check_same_size(input, target, "smooth_l1_loss")
    input, target = _broadcast(input, target)
    r = reduction_of(size_average, reduce, reduction)
    if beta == 0.0:
        return _nn.simple_loss("l1_loss", input, target, r)
    return _nn.smooth_l1_loss(input, target, r, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _check_same_size(input, target, "huber_loss")
    input, target = _broadcast(input, target)
    if weight is not None:
        return _weighted(_nn.huber_loss(input, target, "none", float(delta)), weight, reduction)
    return _nn.huber_loss(input, target, reduction, float(delta))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    r = reduction_of(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) "
                         "is deprecated. Please ensure they have the same size.")
    if weight is not None and weight.shape != input.shape:
        from ...functional import broadcast_tensors
        weight, _ = broadcast_tensors(weight, input)
    return _nn.binary_cross_entropy(input, target, weight, r)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    r = reduction_of(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    return _nn.binary_cross_entropy_with_logits(input, target, weight, r, pos_weight)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        r = reduction_of(size_average, reduce, "mean")
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                          "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                          "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                          stacklevel=2)
        if reduction not in ("none", "mean", "sum", "batchmean"):
            raise ValueError(f"{reduction} is not a valid value for reduction")
        r = reduction
    return _nn.kl_div(input, target, r, bool(log_target))


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    r = reduction_of(size_average, reduce, reduction)
    return _nn.poisson_nll_loss(input, target, bool(log_input), bool(full), float(eps), r)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if not isinstance(var, _C.Tensor):
        var = _C.full_like(input, float(var))
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _nn.gaussian_nll_loss(input, target, var, bool(full), float(eps), reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    r = reduction_of(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return _nn.margin_ranking_loss(input1, input2, target, float(margin), r)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    return _nn.hinge_embedding_loss(input, target, float(margin), reduction_of(size_average, reduce, reduction))


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    return _nn.simple_loss("multilabel_margin_loss", input, target, reduction_of(size_average, reduce, reduction))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    return _nn.simple_loss("soft_margin_loss", input, target, reduction_of(size_average, reduce, reduction))


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    return _nn.multilabel_soft_margin_loss(input, target, weight, reduction_of(size_average, reduce, reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    r = reduction_of(size_average, reduce, reduction)
    return _nn.cosine_embedding_loss(input1, input2, target, float(margin), r)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    r = reduction_of(size_average, reduce, reduction)
    return _nn.multi_margin_loss(input, target, int(p), float(margin), weight, r)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    r = reduction_of(size_average, reduce, reduction)
    return _nn.triplet_margin_loss(anchor, positive, negative, float(margin), float(p), float(eps), bool(swap), r)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    from ._layers import pairwise_distance
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = _C.minimum(d_neg, dist(positive, negative))
    loss = (d_pos - d_neg + margin).clamp(min=0.0)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _lengths(x, name):
    if isinstance(x, _C.Tensor):
        return [int(v) for v in x.reshape(-1).tolist()]
    return [int(v) for v in x]


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    return _nn.ctc_loss(log_probs, targets, _lengths(input_lengths, "input_lengths"),
                        _lengths(target_lengths, "target_lengths"), int(blank), reduction, bool(zero_infinity))


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """``cross_entropy(linear(input, W), target)`` for ``W [C, *out_features, in_features]``.
    With ``options``, class-index targets of a 2-D input and a scalar reduction run chunk by
    chunk of rows, each chunk checkpointed (its logits recomputed in backward), so at most one
    chunk of logits is alive; the result is the same sum, divided by the same total weight."""
    from ._layers import linear as _linear
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions (in_features), "
                           f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got {tuple(linear_bias.shape)}")
    if out_features and not batch:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires"
                           f" batched input, (N, {in_features}), got unbatched input with shape {tuple(input.shape)}")
    logits_shape = (*batch, num_classes, *out_features)
    probabilities = tuple(target.shape) == logits_shape
    if probabilities and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    w2 = linear_weight.reshape(-1, in_features)
    b2 = None if linear_bias is None else linear_bias.reshape(-1)

    def loss_of(x, t, red):
        logits = _linear(x, w2, b2).reshape(*x.shape[:-1], num_classes, *out_features)
        return cross_entropy(logits, t, weight=weight, ignore_index=ignore_index, reduction=red,
                             label_smoothing=label_smoothing)

    chunked = (options is not None and input.dim() == 2 and not out_features and not probabilities
               and reduction in ("mean", "sum"))
    if not chunked:
        return loss_of(input, target, reduction)
    from ...utils.checkpoint import checkpoint
    rows = options._chunk_rows(input.shape[0], in_features)
    total = None
    for start in range(0, input.shape[0], rows):
        x, t = input[start:start + rows], target[start:start + rows]
        part = checkpoint(lambda x, t=t: loss_of(x, t, "sum"), x, use_reentrant=False)
        total = part if total is None else total + part
    if reduction == "sum":
        return total
    # mean: divided by the summed class weights of the counted targets, as cross_entropy's mean.
    counted = target != ignore_index
    if weight is None:
        return total / counted.sum().to(total.dtype)
    return total / weight.gather(0, target.masked_fill(~counted, 0)).mul(counted.to(weight.dtype)).sum()
