"""``ember.nn.functional``: torch's ``torch.nn.functional`` over Ember's Rust functionals.
Each function keeps torch's name, positional order, keywords and defaults; the formulas,
gradients and shape checks live in Rust (``ember::nn::functional``, reached through
``ember._C._nn``)."""

from ._activation import (  # noqa: F401
    celu, celu_, elu, elu_, gelu, glu, gumbel_softmax, hardshrink, hardsigmoid, hardswish, hardtanh, hardtanh_,
    leaky_relu, leaky_relu_, log_softmax, logsigmoid, mish, normalize, prelu, relu, relu6, relu_, rrelu, rrelu_, selu,
    selu_, sigmoid, silu, softmax, softmin, softplus, softshrink, softsign, tanh, tanhshrink, threshold, threshold_,
)
from ._fractional import (  # noqa: F401
    fractional_max_pool2d, fractional_max_pool2d_with_indices, fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
from ._conv import (  # noqa: F401
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices, adaptive_max_pool2d, adaptive_max_pool2d_with_indices, adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices, affine_grid, avg_pool1d, avg_pool2d, avg_pool3d, channel_shuffle, conv1d,
    conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, fold, grid_sample, interpolate, lp_pool1d,
    lp_pool2d, lp_pool3d, max_pool1d, max_pool1d_with_indices, max_pool2d, max_pool2d_with_indices, max_pool3d,
    max_pool3d_with_indices, max_unpool1d, max_unpool2d, max_unpool3d, native_channel_shuffle, pad, pixel_shuffle,
    pixel_unshuffle, unfold, upsample, upsample_bilinear, upsample_nearest,
)
from ._layers import (  # noqa: F401
    alpha_dropout, batch_norm, bilinear, cosine_similarity, dropout, dropout1d, dropout2d, dropout3d, embedding,
    embedding_bag, feature_alpha_dropout, group_norm, instance_norm, layer_norm, linear, local_response_norm,
    multi_head_attention_forward, one_hot, pairwise_distance, pdist, rms_norm, scaled_dot_product_attention,
)
from ._loss import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss, cross_entropy, ctc_loss,
    linear_cross_entropy,
    gaussian_nll_loss, hinge_embedding_loss, huber_loss, kl_div, l1_loss, margin_ranking_loss, mse_loss,
    multi_margin_loss, multilabel_margin_loss, multilabel_soft_margin_loss, nll_loss, poisson_nll_loss,
    smooth_l1_loss, soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss,
)
