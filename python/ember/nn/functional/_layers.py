"""``torch.nn.functional``'s linear maps, normalisation, dropout, embeddings and attention,
with torch's signatures; each forwards to Ember's Rust functional (``_C._nn``)."""

import math
import warnings

from ... import _C
from ._utils import inplace_result

_nn = _C._nn
Tensor = _C.Tensor


def linear(input, weight, bias=None):
    return _nn.linear(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    lead = input1.shape[:-1]
    y = _nn.bilinear(input1.reshape(-1, input1.shape[-1]), input2.reshape(-1, input2.shape[-1]), weight, bias)
    return y.reshape(list(lead) + [weight.shape[0]])


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    if training:
        size = input.shape
        n = size[0]
        for d in size[2:]:
            n *= d
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")
    return _nn.batch_norm(input, running_mean, running_var, weight, bias, bool(training),
                          0.0 if momentum is None else float(momentum), float(eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    return _nn.instance_norm(input, running_mean, running_var, weight, bias, bool(use_input_stats),
                             float(momentum), float(eps))


def _shape(normalized_shape):
    return [int(normalized_shape)] if isinstance(normalized_shape, int) else [int(s) for s in normalized_shape]


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    return _nn.layer_norm(input, _shape(normalized_shape), weight, bias, float(eps))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _nn.rms_norm(input, _shape(normalized_shape), weight, None if eps is None else float(eps))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    return _nn.group_norm(input, int(num_groups), weight, bias, float(eps))


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} dimensions)")
    return _nn.local_response_norm(input, int(size), float(alpha), float(beta), float(k))


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    return inplace_result(input, _nn.dropout("dropout", input, float(p), True), inplace)


def _feature_dropout(kind, dims, input, p, training, inplace):
    _check_p(p)
    if not training or p == 0.0:
        return input
    unbatched = input.dim() == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    out = _nn.dropout(kind, x, float(p), True)
    out = out.squeeze(0) if unbatched else out
    return inplace_result(input, out, inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout("dropout1d", 1, input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    if input.dim() == 3:
        # torch's historical behaviour: a 3-D input is [N, C, L], channels dropped whole.
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
        return _feature_dropout("dropout1d", 1, input, p, training, inplace)
    return _feature_dropout("dropout2d", 2, input, p, training, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout("dropout3d", 3, input, p, training, inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    return inplace_result(input, _nn.dropout("alpha_dropout", input, float(p), True), inplace)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    return inplace_result(input, _nn.dropout("feature_alpha_dropout", input, float(p), True), inplace)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.size(0) + padding_idx
    return _nn.embedding(input, weight, padding_idx, None if max_norm is None else float(max_norm),
                         float(norm_type), bool(scale_grad_by_freq))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    if input.dim() == 2 and offsets is not None:
        raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed "
                         "length sequences.")
    if input.dim() == 1 and offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if max_norm is not None:
        _nn.embedding_renorm_(weight, input.reshape(-1), float(max_norm), float(norm_type))
    if padding_idx is not None and padding_idx < 0:
        padding_idx = weight.size(0) + padding_idx
    return _nn.embedding_bag(input, weight, offsets, mode, per_sample_weights, bool(include_last_offset), padding_idx)


def one_hot(tensor, num_classes=-1):
    if num_classes < 0:
        num_classes = int(tensor.max()) + 1 if tensor.numel() else 0
    return _nn.one_hot(tensor, int(num_classes))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    from ...backends import _SDP
    if not _SDP["flash"]:
        if not _SDP["math"]:
            raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This is likely due to "
                               "turning off both the math kernel and the fused kernels.")
        return _sdpa_math(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    return _nn.scaled_dot_product_attention(query, key, value, attn_mask, float(dropout_p), bool(is_causal),
                                            None if scale is None else float(scale), bool(enable_gqa))


def _sdpa_math(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    """The unfused attention (torch's ``SDPBackend.MATH``): ``softmax(q k^T * scale + mask) v``."""
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        groups = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(groups, -3), value.repeat_interleave(groups, -3)
    scores = query @ key.transpose(-2, -1) * scale
    if is_causal:
        keep = _C.ones(L, S, dtype=_C.bool).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == _C.bool else scores + attn_mask
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return _nn.pairwise_distance(x1, x2, float(p), float(eps), bool(keepdim))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    return _nn.cosine_similarity(x1, x2, int(dim), float(eps))


def pdist(input, p=2):
    """Distances between every pair of rows of ``input [N, M]``, upper triangle, row major."""
    n = input.shape[0]
    d = _C.cdist(input.unsqueeze(0), input.unsqueeze(0), p=p).squeeze(0)
    rows, cols = [], []
    for i in range(n):
        for j in range(i + 1, n):
            rows.append(i)
            cols.append(j)
    idx = _C.tensor([r * n + c for r, c in zip(rows, cols)], dtype=_C.int64)
    return d.reshape(-1).index_select(0, idx)


def _canonical_mask(mask, dtype, name):
    if mask is None:
        return None
    if mask.dtype == _C.bool:
        return _C.zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask.to(dtype)


def _in_projection(q, k, v, w, b, w_q, w_k, w_v, b_q, b_k, b_v, e):
    if w is not None:
        if k is q and v is q:
            out = linear(q, w, b)
            return out.chunk(3, -1)
        ws = w.chunk(3)
        bs = b.chunk(3) if b is not None else (None, None, None)
        return linear(q, ws[0], bs[0]), linear(k, ws[1], bs[1]), linear(v, ws[2], bs[2])
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention over ``[L, N, E]`` query and ``[S, N, E]`` key/value (or unbatched
    ``[L, E]``), torch's ``F.multi_head_attention_forward``. Without attention weights the
    heads run through the fused ``scaled_dot_product_attention``."""
    unbatched = query.dim() == 2
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None
    else:
        is_causal = False
    attn_mask = _canonical_mask(attn_mask, query.dtype, "attn_mask")
    key_padding_mask = _canonical_mask(key_padding_mask, query.dtype, "key_padding_mask")
    if use_separate_proj_weight:
        q, k, v = _in_projection(query, key, value, None, None, q_proj_weight, k_proj_weight, v_proj_weight,
                                 *(in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)),
                                 embed_dim)
    else:
        q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, None, None, None, None, None, None,
                                 embed_dim)
    if attn_mask is not None and attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != (tgt_len, key.shape[0]):
            raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                               f"{(tgt_len, key.shape[0])}.")
        attn_mask = attn_mask.unsqueeze(0)
    if bias_k is not None and bias_v is not None:
        k = _C.cat([k, bias_k.repeat(1, bsz, 1)])
        v = _C.cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = _C._nn.pad(attn_mask, [0, 1], "constant", 0.0)
        if key_padding_mask is not None:
            key_padding_mask = _C._nn.pad(key_padding_mask, [0, 1], "constant", 0.0)
    # [L, N, E] -> [N*H, L, hd]
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        zeros = _C.zeros((bsz * num_heads, 1, head_dim), dtype=q.dtype)
        k = _C.cat([k, zeros], dim=1)
        v = _C.cat([v, zeros], dim=1)
        if attn_mask is not None:
            attn_mask = _C._nn.pad(attn_mask, [0, 1], "constant", 0.0)
        if key_padding_mask is not None:
            key_padding_mask = _C._nn.pad(key_padding_mask, [0, 1], "constant", 0.0)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = (q * (1.0 / math.sqrt(head_dim))) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = scores.softmax(-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = weights @ v
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if unbatched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        attn_mask = attn_mask.reshape(bsz, -1, tgt_len, src_len) if attn_mask.shape[0] != 1 else attn_mask.unsqueeze(0)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if unbatched:
        out = out.squeeze(1)
    return out, None
