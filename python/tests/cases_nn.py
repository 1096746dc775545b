"""``torch.nn`` / ``torch.nn.functional`` snippets run against PyTorch (tools/gen_python_fixtures.py
records what torch gives into ``fixtures/torch_nn_cases.json``) and against Ember
(``test_nn_parity.py`` compares): outputs, input and parameter gradients, module printing,
state-dict keys and errors. Every parameter is set by ``fill`` (a deterministic sine pattern),
so no case depends on either library's random generator. The prelude below is part of each
case."""

PRELUDE = '''
def det(*shape, scale=1.0, offset=0.0, dtype=None, grad=False):
    n = 1
    for s in shape:
        n *= s
    t = (torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + offset) * scale).reshape(shape)
    t = t.to(dtype or torch.float32)
    return t.requires_grad_(True) if grad else t


def fill(m, scale=0.5):
    with torch.no_grad():
        for i, (name, p) in enumerate(m.named_parameters()):
            p.copy_(det(*p.shape, scale=scale, offset=float(i)))
    return m


def fwd_bwd(m, *inputs):
    """Output, input gradients and parameter gradients of sum(output * weights)."""
    y = m(*inputs)
    first = y[0] if isinstance(y, tuple) else y
    (first * det(*first.shape, scale=1.0, offset=0.3)).sum().backward()
    return (first, [x.grad for x in inputs if isinstance(x, torch.Tensor) and x.requires_grad],
            [p.grad for p in m.parameters()])
'''

CASES = {}


def case(name, code):
    CASES[name] = code


# ---- linear and convolution (outputs, input and parameter gradients)
case("linear", "out = fwd_bwd(fill(torch.nn.Linear(5, 3)), det(4, 5, grad=True))")
case("linear_nobias_3d", "out = fwd_bwd(fill(torch.nn.Linear(4, 2, bias=False)), det(2, 3, 4, grad=True))")
case("bilinear", "out = fwd_bwd(fill(torch.nn.Bilinear(3, 2, 4)), det(5, 3, grad=True), det(5, 2, offset=1.0, grad=True))")
case("conv1d", "out = fwd_bwd(fill(torch.nn.Conv1d(3, 4, 3, stride=2, padding=1)), det(2, 3, 9, grad=True))")
case("conv2d_groups_dilation", "out = fwd_bwd(fill(torch.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2)), det(2, 4, 7, 6, grad=True))")
case("conv2d_same", "out = fwd_bwd(fill(torch.nn.Conv2d(2, 3, 4, padding='same')), det(1, 2, 6, 5, grad=True))")
case("conv2d_reflect", "out = fwd_bwd(fill(torch.nn.Conv2d(2, 2, 3, padding=1, padding_mode='reflect')), det(1, 2, 5, 5, grad=True))")
case("conv2d_circular", "out = fwd_bwd(fill(torch.nn.Conv2d(1, 2, 3, padding=2, padding_mode='circular')), det(2, 1, 4, 4, grad=True))")
case("conv2d_unbatched", "out = fwd_bwd(fill(torch.nn.Conv2d(2, 3, 3)), det(2, 5, 5, grad=True))")
case("conv3d", "out = fwd_bwd(fill(torch.nn.Conv3d(2, 2, (2, 3, 3), padding=(0, 1, 1))), det(1, 2, 3, 4, 4, grad=True))")
case("conv_transpose1d", "out = fwd_bwd(fill(torch.nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1, output_padding=1)), det(2, 3, 5, grad=True))")
case("conv_transpose2d", "out = fwd_bwd(fill(torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, groups=2)), det(2, 4, 3, 3, grad=True))")
case("conv_transpose2d_output_size", "m = fill(torch.nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1)); out = m(det(1, 2, 3, 3), output_size=[6, 6])")
case("conv_transpose3d", "out = fwd_bwd(fill(torch.nn.ConvTranspose3d(2, 1, 2, stride=2)), det(1, 2, 2, 2, 2, grad=True))")
case("conv_bad_channels", "out = torch.nn.Conv2d(3, 4, 3)(torch.zeros(1, 2, 5, 5))")

# ---- pooling
case("maxpool2d_ceil_indices", "out = torch.nn.MaxPool2d(3, 2, padding=1, ceil_mode=True, return_indices=True)(det(1, 2, 6, 7))")
case("maxpool3d_indices", "x = det(2, 2, 5, 6, 7, grad=True)\nwith torch.no_grad():\n    x[0, 0, 0, 0, :3] = 2.0\nF = torch.nn.functional\n"
     "y, i = F.max_pool3d(x, 3, 2, 1, return_indices=True)\n(y * det(*y.shape, offset=0.3)).sum().backward()\n"
     "out = (y, i, x.grad, F.max_pool3d(x, (2, 3, 2), (1, 2, 3), dilation=(2, 1, 1), ceil_mode=True, return_indices=True)[1], "
     "torch.nn.MaxPool3d(2, return_indices=True)(x[0])[1], F.max_unpool3d(y, i, 3, 2, 1, output_size=x.shape[-3:]))")
case("adaptive_max_pool_indices", "x = det(2, 3, 5, 6, 7); F = torch.nn.functional\n"
     "out = (F.adaptive_max_pool3d(x, (3, 4, 2), return_indices=True), F.adaptive_max_pool2d(x[0], (4, 5), return_indices=True), "
     "torch.nn.AdaptiveMaxPool1d(3, return_indices=True)(x[:, :, 0, 0]), F.adaptive_max_pool2d_with_indices(x[:, 0], 2))")
case("max_unpool_1d_2d_overlap", "x = det(2, 3, 10); F = torch.nn.functional\ny, i = F.max_pool1d(x, 3, 2, return_indices=True)\n"
     "x2 = det(1, 2, 7, 7, grad=True)\ny2, i2 = F.max_pool2d(x2, 3, 2, return_indices=True)\nu2 = torch.nn.MaxUnpool2d(3, 2)(y2, i2, output_size=x2.shape)\n"
     "(u2 * det(*u2.shape, offset=0.7)).sum().backward()\n"
     "out = (torch.nn.MaxUnpool1d(3, 2)(y, i, output_size=[10]), F.max_unpool1d(y, i, 3, 2), u2, x2.grad, repr(torch.nn.MaxUnpool1d(2)), repr(torch.nn.MaxUnpool3d((1, 2, 2))))")
case("max_unpool3d_bad_size", "x = det(1, 1, 4, 4, 4); y, i = torch.nn.functional.max_pool3d(x, 2, return_indices=True)\nout = torch.nn.functional.max_unpool3d(y, i, 2, output_size=(9, 4, 4))")
case("maxpool2d_grad", "x = det(2, 1, 5, 5, grad=True); out = fwd_bwd(torch.nn.MaxPool2d(2), x)")
case("maxpool1d", "x = det(2, 3, 8, grad=True); out = fwd_bwd(torch.nn.MaxPool1d(3, stride=2, dilation=2), x)")
case("avgpool2d_no_pad_count", "x = det(1, 2, 5, 5, grad=True); out = fwd_bwd(torch.nn.AvgPool2d(3, 2, padding=1, count_include_pad=False), x)")
case("avgpool2d_divisor", "out = torch.nn.AvgPool2d(2, divisor_override=3)(det(1, 1, 4, 4))")
case("avgpool1d", "out = torch.nn.AvgPool1d(3, 2, 1)(det(2, 2, 7))")
case("adaptive_avg2d", "x = det(2, 3, 7, 5, grad=True); out = fwd_bwd(torch.nn.AdaptiveAvgPool2d((3, 2)), x)")
case("adaptive_avg2d_none", "out = torch.nn.AdaptiveAvgPool2d((None, 2))(det(1, 2, 4, 6))")
case("adaptive_max1d", "out = torch.nn.AdaptiveMaxPool1d(3)(det(2, 2, 8))")
case("lppool2d", "out = torch.nn.LPPool2d(2, 2)(det(1, 1, 4, 4, offset=2.0).abs())")
case("fractional_max_pool2d", "s = torch.tensor([[[0.9, 0.1], [0.25, 0.6]], [[0.05, 0.95], [0.5, 0.5]]])\n"
     "m = torch.nn.FractionalMaxPool2d(2, output_size=(3, 4), return_indices=True, _random_samples=s)\n"
     "x = det(2, 2, 5, 10, grad=True)\nout = (fwd_bwd(m, x), m(x)[1], repr(m), "
     "torch.nn.functional.fractional_max_pool2d(x.detach().double(), (3, 2), output_ratio=(0.5, 0.75), _random_samples=s.double()), "
     "torch.nn.functional.fractional_max_pool2d(x.detach()[0], 2, output_size=3, return_indices=True, _random_samples=s[:1]), "
     "torch.nn.functional.fractional_max_pool2d_with_indices(x.detach(), 1, output_size=(5, 10), _random_samples=s)[1], "
     "torch.nn.FractionalMaxPool2d(3, output_ratio=0.5)(det(1, 3, 8, 8)).shape)")
case("fractional_max_pool3d", "s = torch.tensor([[[0.9, 0.1, 0.5]], [[0.3, 0.7, 0.02]]])\n"
     "m = torch.nn.FractionalMaxPool3d((2, 1, 2), output_size=(3, 4, 2), return_indices=True, _random_samples=s)\n"
     "x = det(2, 1, 5, 6, 4, offset=1.0, grad=True)\nout = (fwd_bwd(m, x), m(x)[1], "
     "torch.nn.functional.fractional_max_pool3d(x.detach()[0], 2, output_ratio=0.6, _random_samples=s[:1]))")
case("fractional_max_pool_too_large", "out = torch.nn.functional.fractional_max_pool2d(torch.zeros(1, 1, 5, 10), 4, output_size=(3, 8))")
case("fractional_max_pool_no_size", "out = torch.nn.FractionalMaxPool2d(2)")
case("fractional_max_pool_bad_ratio", "out = torch.nn.FractionalMaxPool3d(2, output_ratio=1.5)")
case("container_deprecated", "import warnings\nwith warnings.catch_warnings(record=True) as w:\n    warnings.simplefilter('always')\n"
     "    c = torch.nn.Container(a=torch.nn.Linear(2, 3), b=torch.nn.ReLU())\nout = (repr(c), len(w), [n for n, _ in c.named_children()], "
     "sorted(c.state_dict()))")
case("lppool3d", "x = det(1, 2, 4, 4, 5, offset=2.0).abs().requires_grad_()\n"
     "out = (fwd_bwd(torch.nn.LPPool3d(2, 2), x), torch.nn.functional.lp_pool3d(x.detach(), 3, (2, 1, 2), stride=(1, 2, 2), ceil_mode=True), "
     "repr(torch.nn.LPPool3d(1.5, (2, 2, 1))))")
case("maxunpool2d", "v, i = torch.nn.MaxPool2d(2, return_indices=True)(det(1, 1, 4, 4)); out = torch.nn.MaxUnpool2d(2)(v, i)")
case("maxpool3d", "out = torch.nn.MaxPool3d(2)(det(1, 1, 4, 4, 4))")
case("avgpool3d", "out = torch.nn.AvgPool3d(2, stride=1)(det(1, 1, 3, 3, 3))")

# ---- normalisation (training and evaluation, running statistics)
case("batchnorm2d_train", "m = fill(torch.nn.BatchNorm2d(3)); x = det(4, 3, 2, 2, grad=True); r = fwd_bwd(m, x); out = r + (m.running_mean, m.running_var, m.num_batches_tracked)")
case("batchnorm1d_eval", "m = fill(torch.nn.BatchNorm1d(3)); m(det(5, 3)); m.eval(); out = (m(det(2, 3, offset=1.0)), m.running_mean, m.training)")
case("batchnorm_momentum_none", "m = torch.nn.BatchNorm1d(2, momentum=None); m(det(4, 2)); m(det(4, 2, offset=2.0)); out = (m.running_mean, m.running_var, m.num_batches_tracked)")
case("batchnorm_no_stats", "m = torch.nn.BatchNorm1d(2, track_running_stats=False, affine=False); m.eval(); out = (m(det(3, 2)), list(m.state_dict().keys()))")
case("batchnorm_bad_dim", "out = torch.nn.BatchNorm2d(3)(torch.zeros(2, 3))")
case("instancenorm2d", "m = fill(torch.nn.InstanceNorm2d(2, affine=True)); out = fwd_bwd(m, det(2, 2, 3, 3, grad=True))")
case("instancenorm1d_stats", "m = torch.nn.InstanceNorm1d(2, track_running_stats=True); m(det(3, 2, 5)); out = (m.running_mean, m.running_var)")
case("layernorm", "out = fwd_bwd(fill(torch.nn.LayerNorm([3, 4])), det(2, 3, 4, grad=True))")
case("layernorm_nobias", "out = fwd_bwd(fill(torch.nn.LayerNorm(4, bias=False, eps=1e-3)), det(3, 4, grad=True))")
case("groupnorm", "out = fwd_bwd(fill(torch.nn.GroupNorm(2, 4)), det(2, 4, 3, grad=True))")
case("rmsnorm", "out = fwd_bwd(fill(torch.nn.RMSNorm(4)), det(3, 4, grad=True))")
case("local_response_norm", "out = torch.nn.LocalResponseNorm(3)(det(1, 5, 2, 2))")

# ---- activations (modules, values and gradients)
for _name, _ctor in [("relu", "ReLU()"), ("relu6", "ReLU6()"), ("elu", "ELU(0.7)"), ("selu", "SELU()"),
                     ("celu", "CELU(1.3)"), ("leaky_relu", "LeakyReLU(0.2)"), ("gelu", "GELU()"),
                     ("gelu_tanh", "GELU(approximate='tanh')"), ("silu", "SiLU()"), ("mish", "Mish()"),
                     ("sigmoid", "Sigmoid()"), ("tanh", "Tanh()"), ("softplus", "Softplus(2.0, 1.0)"),
                     ("softsign", "Softsign()"), ("hardtanh", "Hardtanh(-0.5, 0.7)"), ("hardswish", "Hardswish()"),
                     ("hardsigmoid", "Hardsigmoid()"), ("logsigmoid", "LogSigmoid()"),
                     ("tanhshrink", "Tanhshrink()"), ("softshrink", "Softshrink(0.3)"),
                     ("hardshrink", "Hardshrink(0.3)"), ("threshold", "Threshold(0.1, -2.0)"),
                     ("glu", "GLU(-1)"), ("softmax", "Softmax(dim=1)"), ("log_softmax", "LogSoftmax(dim=-1)"),
                     ("softmin", "Softmin(dim=0)"), ("prelu", "PReLU(3)")]:
    case(f"act_{_name}", f"out = fwd_bwd(fill(torch.nn.{_ctor}), det(4, 3, 6, scale=3.0, grad=True))" if _name == "prelu"
         else f"out = fwd_bwd(torch.nn.{_ctor}, det(4, 6, scale=3.0, grad=True))")
case("softmax2d", "out = torch.nn.Softmax2d()(det(2, 3, 2, 2))")
case("rrelu_eval", "m = torch.nn.RReLU(0.1, 0.3); m.eval(); out = m(det(3, 4, scale=2.0))")
case("relu_inplace", "x = det(5); y = torch.nn.ReLU(inplace=True)(x); out = (x, y is x)")

# ---- dropout, embedding, shape layers
case("dropout_eval", "m = torch.nn.Dropout(0.7); m.eval(); x = det(3, 3); out = (m(x), torch.nn.functional.dropout(x, 0.5, training=False))")
case("dropout_bad_p", "out = torch.nn.Dropout(1.5)")
case("embedding_padding", "m = fill(torch.nn.Embedding(6, 3, padding_idx=1)); x = torch.tensor([[1, 2, 4], [4, 1, 0]]); y = m(x); (y * det(2, 3, 3)).sum().backward(); out = (y, m.weight.grad)")
case("embedding_from_pretrained", "m = torch.nn.Embedding.from_pretrained(det(4, 2), freeze=True); out = (m(torch.tensor([3, 0])), m.weight.requires_grad)")
case("embedding_bag_mean", "m = fill(torch.nn.EmbeddingBag(5, 2, mode='mean')); x = torch.tensor([0, 2, 4, 1, 3]); y = m(x, torch.tensor([0, 2])); y.sum().backward(); out = (y, m.weight.grad)")
case("embedding_bag_sum_2d", "m = fill(torch.nn.EmbeddingBag(5, 3, mode='sum')); out = m(torch.tensor([[0, 1], [4, 4]]))")
case("embedding_out_of_range", "out = torch.nn.Embedding(3, 2)(torch.tensor([3]))")
case("flatten_unflatten", "x = det(2, 3, 4); out = (torch.nn.Flatten()(x).shape, torch.nn.Flatten(0, 1)(x).shape, torch.nn.Unflatten(2, (2, 2))(x).shape)")
case("pixel_shuffle", "x = det(1, 8, 2, 3); y = torch.nn.PixelShuffle(2)(x); out = (y, torch.nn.PixelUnshuffle(2)(y))")
case("upsample_nearest", "out = torch.nn.Upsample(scale_factor=2)(det(1, 1, 2, 3))")
case("upsample_bilinear_ac", "out = torch.nn.Upsample(size=(3, 5), mode='bilinear', align_corners=True)(det(1, 2, 2, 3))")
case("interpolate_modes", "x = det(1, 1, 4); out = [torch.nn.functional.interpolate(x, size=7, mode=m) for m in ('nearest', 'linear', 'nearest-exact', 'area')]")
case("interpolate_bicubic", "out = torch.nn.functional.interpolate(det(1, 1, 3, 3), scale_factor=2, mode='bicubic', align_corners=False)")
case("fold_unfold", "x = det(1, 2, 4, 4); u = torch.nn.Unfold(2, stride=2)(x); out = (u, torch.nn.Fold((4, 4), 2, stride=2)(u))")
case("pad_modes", "x = det(1, 1, 3, 3); F = torch.nn.functional; out = [F.pad(x, (1, 2, 0, 1), mode=m) for m in ('constant', 'reflect', 'replicate', 'circular')] + [F.pad(x, (-1, 1), value=2.5)]")
case("padding_layers", "x = det(1, 2, 3, 3); out = (torch.nn.ZeroPad2d((1, 0, 2, 1))(x), torch.nn.ReflectionPad1d(2)(det(1, 1, 4)), torch.nn.ReplicationPad2d(1)(x), torch.nn.ConstantPad1d(1, 3.0)(det(2, 3)))")
case("interpolate_antialias", "x = det(2, 2, 9, 11, grad=True); F = torch.nn.functional\n"
     "y = F.interpolate(x, size=(4, 5), mode='bilinear', antialias=True)\n(y * det(*y.shape, offset=0.3)).sum().backward()\n"
     "out = (y, x.grad, "
     "F.interpolate(x, scale_factor=0.45, mode='bicubic', antialias=True), F.interpolate(x, size=(5, 3), mode='bilinear', align_corners=True, antialias=True), "
     "F.interpolate(x, scale_factor=(0.5, 1.5), mode='bicubic', antialias=True))")
case("interpolate_antialias_bad_mode", "out = torch.nn.functional.interpolate(det(1, 1, 6), size=3, mode='linear', antialias=True)")
case("grid_sample_bicubic", "theta = torch.tensor([[[0.9, 0.3, 0.1], [-0.2, 1.2, 0.05]]], dtype=torch.float64); F = torch.nn.functional\n"
     "g = (F.affine_grid(theta, [1, 1, 4, 5], align_corners=False) * 1.3).requires_grad_()\nx = det(1, 2, 5, 6, dtype=torch.float64, grad=True)\n"
     "outs = [F.grid_sample(x, g, mode='bicubic', padding_mode=p, align_corners=a) for p in ('zeros', 'border', 'reflection') for a in (False, True)]\n"
     "(sum((o * det(*o.shape, offset=1.0, dtype=torch.float64)).sum() for o in outs)).backward()\nout = (outs, x.grad, g.grad)")
case("grid_sample_tricubic", "g = (det(1, 2, 3, 2, 3, offset=0.5, dtype=torch.float64) * 1.2).requires_grad_(); x = det(1, 2, 3, 4, 5, dtype=torch.float64, grad=True)\n"
     "y = torch.nn.functional.grid_sample(x, g, mode='bicubic', padding_mode='reflection', align_corners=False)\n(y * det(*y.shape, offset=2.0, dtype=torch.float64)).sum().backward()\nout = (y, x.grad, g.grad)")
case("interpolate_lanczos", "x = det(1, 2, 9, 11, grad=True); F = torch.nn.functional\ny = F.interpolate(x, size=(4, 15), mode='lanczos', antialias=True)\n"
     "(y * det(*y.shape, offset=0.3)).sum().backward()\nout = (y, x.grad)")
case("interpolate_lanczos_needs_antialias", "out = torch.nn.functional.interpolate(det(1, 1, 6, 6), size=3, mode='lanczos')")
case("grid_sample", "theta = torch.tensor([[[0.9, 0.1, 0.05], [-0.1, 1.1, 0.0]]]); F = torch.nn.functional; g = F.affine_grid(theta, [1, 1, 3, 4], align_corners=False); out = (g, F.grid_sample(det(1, 1, 4, 5), g, align_corners=False), F.grid_sample(det(1, 1, 4, 5), g, mode='nearest', padding_mode='border', align_corners=True))")
case("channel_shuffle", "out = torch.nn.ChannelShuffle(2)(det(1, 4, 1, 2))")
case("distances", "a, b = det(3, 4), det(3, 4, offset=1.0); out = (torch.nn.PairwiseDistance()(a, b), torch.nn.CosineSimilarity()(a, b), torch.nn.functional.pdist(a))")
case("functional_misc", "F = torch.nn.functional; x = det(2, 5, scale=2.0); out = (F.one_hot(torch.tensor([0, 3, 1]), 4), F.normalize(x, dim=1), F.softmax(x, dim=0), F.gumbel_softmax is not None)")

# ---- recurrent layers
case("lstm_2layer_bidir", "m = fill(torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True), scale=0.3); x = det(5, 2, 3, grad=True); y, (h, c) = m(x); (y.sum() + h.sum() * 0.5 + c.sum() * 0.25).backward(); out = (y, h, c, x.grad, [p.grad for p in m.parameters()])")
case("lstm_batch_first_h0", "m = fill(torch.nn.LSTM(3, 2, batch_first=True), scale=0.4); h0 = det(1, 4, 2, offset=1.0); c0 = det(1, 4, 2, offset=2.0); out = m(det(4, 3, 3), (h0, c0))")
case("lstm_proj", "m = fill(torch.nn.LSTM(3, 5, proj_size=2), scale=0.3); out = fwd_bwd(m, det(4, 2, 3, grad=True))")
case("lstm_unbatched", "m = fill(torch.nn.LSTM(2, 3), scale=0.3); out = m(det(4, 2))")
case("gru", "m = fill(torch.nn.GRU(3, 4, num_layers=2), scale=0.3); out = fwd_bwd(m, det(3, 2, 3, grad=True))")
case("rnn_relu", "m = fill(torch.nn.RNN(3, 4, nonlinearity='relu', bias=False), scale=0.3); out = fwd_bwd(m, det(3, 2, 3, grad=True))")
case("cells", "x = det(3, 4); out = (fill(torch.nn.LSTMCell(4, 2), 0.3)(x), fill(torch.nn.GRUCell(4, 2), 0.3)(x, det(3, 2)), fill(torch.nn.RNNCell(4, 2), 0.3)(x))")
case("lstm_packed", "R = torch.nn.utils.rnn; m = fill(torch.nn.LSTM(2, 3), scale=0.3); x = det(4, 3, 2); p = R.pack_padded_sequence(x, [4, 2, 3], enforce_sorted=False); y, (h, c) = m(p); yp, lens = R.pad_packed_sequence(y); out = (p.data, p.batch_sizes, yp, lens, h, c)")
case("pad_sequence", "R = torch.nn.utils.rnn; s = [det(3, 2), det(1, 2, offset=1.0), det(2, 2, offset=2.0)]; out = (R.pad_sequence(s), R.pad_sequence(s, batch_first=True, padding_value=-1.0), R.pack_sequence(s, enforce_sorted=False).batch_sizes)")
case("lstm_bad_input", "out = torch.nn.LSTM(3, 4)(torch.zeros(2, 2, 5))")
case("rnn_repr", "out = (repr(torch.nn.LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.0, bidirectional=True)), repr(torch.nn.GRU(2, 3, bias=False)), repr(torch.nn.RNNCell(2, 3, nonlinearity='relu')), [n for n, _ in torch.nn.LSTM(2, 3, proj_size=1, bidirectional=True).named_parameters()])")

# ---- attention and transformers
case("mha_weights", "m = fill(torch.nn.MultiheadAttention(4, 2), 0.4); q = det(3, 2, 4, grad=True); kv = det(5, 2, 4, offset=1.0); y, w = m(q, kv, kv); (y.sum() + w.sum()).backward(); out = (y, w, q.grad, m.in_proj_weight.grad)")
case("mha_masks_batch_first", "m = fill(torch.nn.MultiheadAttention(4, 2, batch_first=True), 0.4); x = det(2, 3, 4); mask = torch.tensor([[False, True, True], [False, False, True], [False, False, False]]); kpm = torch.tensor([[False, False, True], [False, False, False]]); y, w = m(x, x, x, attn_mask=mask, key_padding_mask=kpm, average_attn_weights=False); out = (y, w)")
case("mha_no_weights_kdim", "m = fill(torch.nn.MultiheadAttention(4, 1, kdim=3, vdim=2, add_bias_kv=True, add_zero_attn=True), 0.4); y, w = m(det(2, 1, 4), det(3, 1, 3), det(3, 1, 2), need_weights=False); out = (y, w, [n for n, _ in m.named_parameters()])")
case("encoder_layer", "m = fill(torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0), 0.3); out = fwd_bwd(m, det(3, 2, 4, grad=True))")
case("encoder_layer_norm_first_gelu_mask", "m = fill(torch.nn.TransformerEncoderLayer(4, 2, 6, 0.0, activation='gelu', batch_first=True, norm_first=True), 0.3); mask = torch.nn.Transformer.generate_square_subsequent_mask(3); out = (m(det(2, 3, 4), src_mask=mask), mask)")
case("decoder_layer", "m = fill(torch.nn.TransformerDecoderLayer(4, 2, 8, 0.0), 0.3); out = fwd_bwd(m, det(3, 2, 4, grad=True), det(4, 2, 4, offset=1.0))")
case("transformer_small", "m = fill(torch.nn.Transformer(4, 2, 1, 1, 6, 0.0), 0.3); out = (m(det(3, 2, 4), det(2, 2, 4, offset=1.0)), len(list(m.parameters())), sorted(m.state_dict().keys())[:6])")
case("encoder_stack", "layer = torch.nn.TransformerEncoderLayer(4, 1, 4, 0.0); m = fill(torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(4)), 0.3); out = (m(det(2, 1, 4)), [n for n, _ in m.named_parameters()][:4])")
case("sdpa", "F = torch.nn.functional; q, k, v = det(1, 2, 3, 4, grad=True), det(1, 2, 5, 4, offset=1.0), det(1, 2, 5, 4, offset=2.0); y = F.scaled_dot_product_attention(q, k, v, scale=0.3); y.sum().backward(); out = (y, q.grad, F.scaled_dot_product_attention(q, k[:, :, :3], v[:, :, :3], is_causal=True))")

# ---- losses (values and input gradients; every reduction)
for _red in ("mean", "sum", "none"):
    case(f"cross_entropy_{_red}", f"x = det(4, 5, grad=True); y = torch.tensor([1, 0, 4, 2]); l = torch.nn.CrossEntropyLoss(reduction='{_red}')(x, y); l.sum().backward(); out = (l, x.grad)")
    case(f"mse_{_red}", f"x = det(3, 4, grad=True); l = torch.nn.MSELoss(reduction='{_red}')(x, det(3, 4, offset=1.0)); l.sum().backward(); out = (l, x.grad)")
    case(f"bce_logits_{_red}", f"x = det(3, 4, scale=2.0, grad=True); t = (det(3, 4, offset=1.0) > 0).float(); l = torch.nn.BCEWithLogitsLoss(reduction='{_red}', pos_weight=torch.tensor([1.0, 2.0, 0.5, 3.0]))(x, t); l.sum().backward(); out = (l, x.grad)")
case("cross_entropy_options", "x = det(5, 4, grad=True); y = torch.tensor([1, -100, 3, 0, 2]); l = torch.nn.functional.cross_entropy(x, y, weight=torch.tensor([1.0, 2.0, 0.5, 1.5]), ignore_index=-100, label_smoothing=0.1); l.backward(); out = (l, x.grad)")
case("cross_entropy_probs_kdim", "x = det(2, 3, 4, grad=True); p = det(2, 3, 4, offset=1.0).softmax(1); l = torch.nn.functional.cross_entropy(x, p); l.backward(); out = (l, x.grad, torch.nn.functional.cross_entropy(det(2, 3, 2, 2), torch.tensor([[[0, 1], [2, 2]], [[1, 1], [0, 2]]])))")
case("nll_loss", "x = det(3, 4).log_softmax(1).requires_grad_(); l = torch.nn.NLLLoss(weight=torch.tensor([0.5, 1.0, 2.0, 1.0]))(x, torch.tensor([3, 0, 1])); l.backward(); out = (l, x.grad)")
case("bce", "x = det(6, scale=0.4, offset=1.0).add(0.5).requires_grad_(); t = torch.tensor([0., 1., 1., 0., 1., 0.]); l = torch.nn.BCELoss(weight=det(6).abs())(x, t); l.backward(); out = (l, x.grad)")
case("l1_smooth_huber", "x, y = det(3, 4, scale=2.0), det(3, 4, offset=1.0); out = (torch.nn.L1Loss()(x, y), torch.nn.SmoothL1Loss(beta=0.5)(x, y), torch.nn.HuberLoss(delta=0.7, reduction='sum')(x, y))")
case("kl_div", "x = det(3, 4).log_softmax(1); t = det(3, 4, offset=1.0).softmax(1); out = (torch.nn.KLDivLoss(reduction='batchmean')(x, t), torch.nn.KLDivLoss(reduction='sum', log_target=True)(x, t.log()))")
case("poisson_gaussian", "x, y = det(5, scale=0.5), det(5, offset=1.0).abs() * 3; out = (torch.nn.PoissonNLLLoss()(x, y), torch.nn.PoissonNLLLoss(log_input=False, full=True)(x.exp(), y), torch.nn.GaussianNLLLoss()(x, y, det(5, offset=2.0).abs() + 0.1))")
case("margin_losses", "x1, x2 = det(4), det(4, offset=1.0); y = torch.tensor([1.0, -1.0, 1.0, -1.0]); out = (torch.nn.MarginRankingLoss(0.2)(x1, x2, y), torch.nn.HingeEmbeddingLoss(0.5)(x1, y), torch.nn.SoftMarginLoss()(x1, y))")
case("embedding_losses", "a, p, n = det(3, 4), det(3, 4, offset=1.0), det(3, 4, offset=2.0); out = (torch.nn.CosineEmbeddingLoss(0.1)(a, p, torch.tensor([1.0, -1.0, 1.0])), torch.nn.TripletMarginLoss(margin=0.5, swap=True)(a, p, n), torch.nn.TripletMarginWithDistanceLoss(margin=0.3)(a, p, n))")
case("multilabel_losses", "x = det(2, 4); out = (torch.nn.MultiLabelMarginLoss()(x, torch.tensor([[3, 0, -1, 1], [1, 2, 3, -1]])), torch.nn.MultiLabelSoftMarginLoss()(x, torch.tensor([[1., 0., 1., 0.], [0., 1., 1., 1.]])), torch.nn.MultiMarginLoss(p=2, margin=0.5)(x, torch.tensor([2, 0])))")
case("ctc_loss", "z = det(6, 2, 4, grad=True); t = torch.tensor([[1, 2, 2], [3, 1, 0]]); l = torch.nn.CTCLoss()(z.log_softmax(2), t, torch.tensor([6, 5]), torch.tensor([3, 2])); l.backward(); out = (l, z.grad)")
case("loss_bad_reduction", "out = torch.nn.functional.mse_loss(det(2), det(2), reduction='avg')")
case("loss_shape_mismatch", "out = torch.nn.functional.binary_cross_entropy(det(3).sigmoid(), det(2))")

# ---- the Module API
case("module_repr_tree", "out = repr(torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, stride=2, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU(inplace=True), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Dropout(0.25), torch.nn.Linear(72, 10), torch.nn.LogSoftmax(dim=1)))")
case("module_repr_misc", "out = [repr(m) for m in (torch.nn.Embedding(10, 3, padding_idx=0), torch.nn.LayerNorm(4), torch.nn.GroupNorm(2, 4), torch.nn.LeakyReLU(0.1), torch.nn.GELU(approximate='tanh'), torch.nn.AdaptiveAvgPool2d((1, 1)), torch.nn.Upsample(scale_factor=2.0, mode='nearest'), torch.nn.ConvTranspose2d(4, 2, 4, 2, 1), torch.nn.Identity(), torch.nn.MultiheadAttention(4, 2), torch.nn.AvgPool2d(2), torch.nn.Softmax(dim=-1), torch.nn.InstanceNorm2d(3), torch.nn.EmbeddingBag(5, 2, mode='sum'), torch.nn.RMSNorm(4), torch.nn.PReLU())]")
case("module_repr_list_dict", "out = (repr(torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])), repr(torch.nn.ModuleDict({'a': torch.nn.Tanh(), 'b': torch.nn.Linear(1, 1)})), repr(torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, 3))])))")
case("module_repr_transformer", "out = repr(torch.nn.TransformerEncoderLayer(8, 2, 16))")


_NET = '''
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)
        self.head = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
        self.register_buffer("scale", torch.ones(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)
        self.tied = self.head[0]

    def forward(self, x):
        x = self.bn(self.conv(x)).relu()
        return self.head(x.flatten(1)[:, :8]) * self.scale
'''
case("module_state_dict_keys", _NET + "net = Net(); out = (list(net.state_dict().keys()), [n for n, _ in net.named_parameters()], [n for n, _ in net.named_buffers()], [n for n, _ in net.named_modules()], [n for n, _ in net.named_children()])")
case("module_named_params_dup", _NET + "net = Net(); out = ([n for n, _ in net.named_parameters(remove_duplicate=False)], len(list(net.parameters())), [n for n, _ in net.named_parameters(prefix='m', recurse=False)])")
case("module_load_missing_unexpected", _NET + "net = Net(); sd = net.state_dict(); del sd['conv.bias']; sd['extra.w'] = torch.zeros(1); out = net.load_state_dict(sd, strict=False)")
case("module_load_strict_error", _NET + "net = Net(); sd = net.state_dict(); del sd['conv.bias']; sd['extra.w'] = torch.zeros(1); out = net.load_state_dict(sd)")
case("module_load_size_mismatch", _NET + "net = Net(); sd = net.state_dict(); sd['head.2.weight'] = torch.zeros(5, 4); out = net.load_state_dict(sd)")
case("module_load_all_matched", _NET + "a, b = Net(), Net(); fill(a); r = b.load_state_dict(a.state_dict()); out = (repr(r), b.conv.weight)")
case("module_forward", _NET + "net = fill(Net()); net.eval(); out = fwd_bwd(net, det(2, 1, 4, 4, grad=True))")
case("module_train_eval", _NET + "net = Net(); net.eval(); a = [m.training for m in net.modules()]; net.train(); out = (a, [m.training for m in net.modules()], net.head.training)")
case("module_hooks", _NET + """
net = fill(Net())
log = []
h1 = net.head.register_forward_pre_hook(lambda m, args: log.append(('pre', tuple(args[0].shape))))
h2 = net.head.register_forward_hook(lambda m, args, out: out * 2)
h3 = net.register_forward_hook(lambda m, args, kwargs, out: log.append(('kw', sorted(kwargs))), with_kwargs=True)
y = net(det(2, 1, 4, 4))
h1.remove(); h2.remove(); h3.remove()
out = (y, log, net(det(2, 1, 4, 4)))
""")
case("module_backward_hook", """
m = fill(torch.nn.Linear(3, 2))
seen = []
m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin[0], gout[0])))
x = det(4, 3, grad=True)
(m(x) * det(4, 2)).sum().backward()
out = (seen[0][0], seen[0][1], x.grad)
""")
case("module_backward_hook_replaces", """
m = fill(torch.nn.Linear(3, 2))
m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 10,))
x = det(4, 3, grad=True)
m(x).sum().backward()
out = x.grad
""")
case("module_apply_zero_grad", _NET + "net = fill(Net()); net(det(1, 1, 4, 4)).sum().backward(); g = net.conv.weight.grad is not None; net.zero_grad(); out = (g, net.conv.weight.grad is None, [type(m).__name__ for m in net.modules()])")
case("module_setattr_rules", """
m = torch.nn.Module()
m.w = torch.nn.Parameter(torch.ones(2))
m.register_buffer('b', torch.zeros(1))
m.sub = torch.nn.Linear(1, 1)
try:
    m.w = torch.ones(2)
    err = None
except TypeError as e:
    err = type(e).__name__
m.b = torch.ones(1) * 3
del m.sub
out = (err, list(m.state_dict().keys()), m.b, hasattr(m, 'sub'), sorted(m._parameters), sorted(m._buffers))
""")
case("module_getattr_error", "out = torch.nn.Linear(2, 2).nonexistent")
case("module_to_double", _NET + "net = Net().double(); out = (net.conv.weight.dtype, net.bn.running_mean.dtype, net.bn.num_batches_tracked.dtype, type(net.conv.weight).__name__)")
case("module_get_submodule", _NET + "net = Net(); out = (type(net.get_submodule('head.2')).__name__, tuple(net.get_parameter('head.0.bias').shape), net.get_buffer('scale'))")
case("sequential_ops", "s = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)); t = s[1:]; s.append(torch.nn.Sigmoid()); del s[0]; out = (len(s), repr(t), [type(m).__name__ for m in s], type(s[-1]).__name__)")
case("sequential_ordered_dict", "import collections; s = torch.nn.Sequential(collections.OrderedDict([('fc', torch.nn.Linear(2, 2)), ('act', torch.nn.Tanh())])); out = (list(s.state_dict().keys()), repr(s), type(s.act).__name__)")
case("parameter_basics", "p = torch.nn.Parameter(torch.ones(2)); q = torch.nn.Parameter(torch.ones(2), requires_grad=False); out = (repr(p), p.requires_grad, q.requires_grad, isinstance(p, torch.Tensor), isinstance(p * 2, torch.nn.Parameter))")
case("parameter_dict_list", "d = torch.nn.ParameterDict({'a': torch.nn.Parameter(torch.zeros(1)), 'b': torch.ones(2)}); l = torch.nn.ParameterList([torch.ones(1), torch.zeros(2)]); out = (list(d.keys()), type(d['b']).__name__, len(l), [n for n, _ in l.named_parameters()], [n for n, _ in d.named_parameters()])")
case("module_extra_repr_user", "class M(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.k = 3\n        self.lin = torch.nn.Linear(1, 1)\n    def extra_repr(self):\n        return f'k={self.k}'\nout = repr(M())")
case("module_not_implemented_forward", "out = torch.nn.Module()(torch.ones(1))")

# ---- nn.utils and init
case("clip_grad_norm", "m = fill(torch.nn.Linear(3, 2)); (m(det(4, 3)) ** 2).sum().backward(); n = torch.nn.utils.clip_grad_norm_(m.parameters(), 0.5); out = (n, m.weight.grad, m.bias.grad)")
case("clip_grad_norm_inf", "m = fill(torch.nn.Linear(3, 2)); m(det(4, 3)).sum().backward(); n = torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0, norm_type=float('inf')); out = (n, m.weight.grad)")
case("clip_grad_value", "m = fill(torch.nn.Linear(3, 2)); m(det(4, 3)).sum().backward(); torch.nn.utils.clip_grad_value_(m.parameters(), 0.5); out = m.weight.grad")
case("params_vector", "m = fill(torch.nn.Linear(2, 2)); v = torch.nn.utils.parameters_to_vector(m.parameters()); torch.nn.utils.vector_to_parameters(v * 2, m.parameters()); out = (v, m.weight, m.bias)")
case("init_gain", "I = torch.nn.init; out = (I.calculate_gain('relu'), I.calculate_gain('leaky_relu', 0.2), I.calculate_gain('tanh'), I.calculate_gain('selu'), I.calculate_gain('conv2d'))")
case("init_deterministic", "I = torch.nn.init; w = torch.empty(3, 4); I.constant_(w, 0.3); e = torch.empty(3, 3); I.eye_(e); d = torch.empty(2, 2, 3); I.dirac_(d); z = torch.ones(2); I.zeros_(z); out = (w, e, d, z)")
case("init_fans", "out = (torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(8, 4, 3, 3)), torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(5, 7)))")
case("weight_norm", "m = fill(torch.nn.Linear(3, 2)); m = torch.nn.utils.weight_norm(m); y = m(det(4, 3)); y.sum().backward(); out = (y, sorted(n for n, _ in m.named_parameters()), m.weight_g, m.weight_v.grad)")

# ---- a tiny training run (Module + loss + optimizer): the same losses step for step
case("train_mlp_adam", """
net = fill(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)), 0.4)
opt = torch.optim.Adam(net.parameters(), lr=0.05)
sched = torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)
x, y = det(6, 4), torch.tensor([0, 1, 2, 1, 0, 2])
losses = []
for _ in range(5):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    sched.step()
    losses.append(loss.detach())
out = (torch.stack(losses), net[2].bias, opt.param_groups[0]["lr"])
""")
case("train_mlp_adafactor", """
net = fill(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)), 0.4)
opt = torch.optim.Adafactor([{"params": [net[0].weight, net[0].bias]},
                             {"params": net[2].parameters(), "weight_decay": 0.05, "d": 1.5}], lr=0.05)
x, y = det(6, 4), torch.tensor([0, 1, 2, 1, 0, 2])
w = torch.nn.Parameter(det(2, 3, 4, offset=0.5))
opt2 = torch.optim.Adafactor([w], lr=0.1, maximize=True, eps=(1e-20, 1e-2))
losses = []
for _ in range(6):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.detach())
    opt2.zero_grad()
    (-(w - 0.3) ** 2).sum().backward()
    opt2.step()
st = opt.state[net[0].weight]
out = (torch.stack(losses), net[2].bias, net[0].weight, w, st["row_var"], st["col_var"], opt.state[net[0].bias]["variance"],
       st["step"], sorted(opt.state_dict()["param_groups"][1]), opt2.state[w]["col_var"].shape)
""")
case("train_mlp_muon", """
# (in f64: the Newton-Schulz steps run in bf16, where an f32 rounding difference upstream can
# flip a bf16 rounding; f64 leaves no such ties)
net = fill(torch.nn.Sequential(torch.nn.Linear(4, 8, bias=False), torch.nn.Tanh(), torch.nn.Linear(8, 3, bias=False)), 0.4).double()
opt = torch.optim.Muon([{"params": [net[0].weight]}, {"params": [net[2].weight], "adjust_lr_fn": "match_rms_adamw",
                        "nesterov": False}], lr=0.02, weight_decay=0.05)
x, y = det(6, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0, 2])
losses = []
for _ in range(4):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.detach())
out = (torch.stack(losses), net[0].weight, net[2].weight, opt.state[net[0].weight]["momentum_buffer"])
""")
case("muon_needs_matrices", "out = torch.optim.Muon([torch.nn.Parameter(torch.ones(3))])")
case("adafactor_bad_decay", "out = torch.optim.Adafactor([torch.nn.Parameter(torch.ones(2))], beta2_decay=0.5)")
case("train_cnn_sgd_momentum", """
net = fill(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2, 2)), 0.4)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
x, y = det(4, 1, 5, 5), torch.tensor([0, 1, 1, 0])
losses = []
for _ in range(4):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.detach())
out = (torch.stack(losses), net[1].running_mean)
""")
case("module_load_strict_message", _NET + """
net = Net()
sd = net.state_dict()
del sd['conv.bias']
sd['extra.w'] = torch.zeros(1)
sd['head.2.weight'] = torch.zeros(5, 4)
try:
    net.load_state_dict(sd)
except RuntimeError as e:
    out = str(e)
""")

# ---- parametrizations (nn.utils.parametrize, nn.utils.parametrizations)
_SYM = '''
P = torch.nn.utils.parametrize
class Symmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT
    def right_inverse(self, A):
        return A.triu()
'''
case("parametrize_symmetric", _SYM + """
m = fill(torch.nn.Linear(3, 3))
P.register_parametrization(m, "weight", Symmetric())
w = m.weight
a = det(3, 3, offset=2.0)
m.weight = a + a.T
out = (w, m.weight, m.parametrizations.weight.original, sorted(m.state_dict()), type(m).__name__, repr(m),
       P.is_parametrized(m), P.is_parametrized(m, "weight"), P.is_parametrized(m, "bias"),
       P.type_before_parametrizations(m).__name__, [n for n, _ in m.named_parameters()])
""")
case("parametrize_grad_and_cached", _SYM + """
m = fill(torch.nn.Linear(3, 3))
P.register_parametrization(m, "weight", Symmetric())
with P.cached():
    same = m.weight is m.weight
out = fwd_bwd(m, det(2, 3, grad=True)) + (same, m.weight is m.weight)
""")
case("parametrize_remove", _SYM + """
m = fill(torch.nn.Linear(3, 3))
P.register_parametrization(m, "weight", Symmetric())
orig = m.parametrizations.weight.original
P.remove_parametrizations(m, "weight")
kept = (m.weight, m.weight is orig, type(m).__name__, hasattr(m, "parametrizations"))
m2 = fill(torch.nn.Linear(3, 3))
P.register_parametrization(m2, "weight", Symmetric())
P.remove_parametrizations(m2, "weight", leave_parametrized=False)
out = kept + (m2.weight, type(m2.weight).__name__)
""")
case("parametrize_chain_and_buffer", _SYM + """
class Double(torch.nn.Module):
    def forward(self, X):
        return 2 * X
m = fill(torch.nn.Linear(3, 3))
m.register_buffer("mask", det(3, 3))
P.register_parametrization(m, "weight", Symmetric())
P.register_parametrization(m, "weight", Double())
P.register_parametrization(m, "mask", Double())
out = (m.weight, m.mask, sorted(m.state_dict()), len(m.parametrizations.weight), repr(m))
""")
case("parametrize_missing_name", _SYM + "out = P.register_parametrization(torch.nn.Linear(2, 2), 'kernel', Symmetric())")
case("parametrize_remove_missing", _SYM + "out = P.remove_parametrizations(torch.nn.Linear(2, 2), 'weight')")
case("parametrize_shape_change", _SYM + """
class Top(torch.nn.Module):
    def forward(self, X):
        return X[:1]
out = P.register_parametrization(torch.nn.Linear(2, 2), 'weight', Top())
""")
case("parametrize_no_right_inverse", _SYM + """
class Double(torch.nn.Module):
    def forward(self, X):
        return 2 * X
m = torch.nn.Linear(2, 2)
P.register_parametrization(m, 'weight', Double())
m.weight = torch.zeros(2, 2)
out = m.weight
""")
for _map in ("matrix_exp", "cayley", "householder"):
    case(f"orthogonal_{_map}_tall", f"""
m = fill(torch.nn.Linear(3, 5)).double()
with torch.no_grad():  # the sine pattern alone has rank 2: make the QR well conditioned
    m.weight.add_(torch.eye(5, 3, dtype=torch.float64))
torch.nn.utils.parametrizations.orthogonal(m, orthogonal_map="{_map}", use_trivialization=False)
W = m.weight
out = fwd_bwd(m, det(2, 3, dtype=torch.float64, grad=True)) + (W.T @ W, sorted(m.state_dict()))
""")
case("orthogonal_square_trivialization", """
m = fill(torch.nn.Linear(4, 4)).double()
with torch.no_grad():
    m.weight.add_(torch.eye(4, dtype=torch.float64))
w0 = m.weight.detach().clone()
torch.nn.utils.parametrizations.orthogonal(m)
q, r = torch.linalg.qr(w0)
out = fwd_bwd(m, det(2, 4, dtype=torch.float64, grad=True)) + (m.parametrizations.weight.original, sorted(m.state_dict()), m.weight - q * r.diagonal().sign())
""")
case("orthogonal_wide_assign", """
m = fill(torch.nn.Linear(5, 2)).double()
torch.nn.utils.parametrizations.orthogonal(m, orthogonal_map="householder", use_trivialization=False)
q = torch.linalg.qr(det(5, 2, dtype=torch.float64, offset=1.0))[0].T
m.weight = q
out = (m.weight, m.weight @ m.weight.T)
""")
case("orthogonal_vector_error", "out = torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(2, 2), 'bias')")
case("orthogonal_bad_map", "out = torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(2, 2), orthogonal_map='qr')")
case("param_weight_norm", """
m = fill(torch.nn.Conv1d(2, 3, 3))
torch.nn.utils.parametrizations.weight_norm(m)
g = m.parametrizations.weight.original0
out = fwd_bwd(m, det(2, 2, 5, grad=True)) + (g, sorted(m.state_dict()), repr(m))
""")
case("param_weight_norm_dim_none_and_old_keys", """
m = fill(torch.nn.Linear(3, 2))
torch.nn.utils.parametrizations.weight_norm(m)
old = fill(torch.nn.Linear(3, 2), 0.3)
torch.nn.utils.weight_norm(old)
res = m.load_state_dict(old.state_dict())
whole = torch.nn.utils.parametrizations.weight_norm(fill(torch.nn.Linear(3, 2)), dim=None)
out = (m.parametrizations.weight.original0, m.weight, list(res.missing_keys), list(res.unexpected_keys),
       whole.parametrizations.weight.original0, whole.weight)
""")
case("param_spectral_norm", """
m = fill(torch.nn.Linear(4, 3))
torch.nn.utils.parametrizations.spectral_norm(m)
with torch.no_grad():
    m.parametrizations.weight[0]._u.copy_(torch.nn.functional.normalize(det(3, offset=1.0), dim=0))
    m.parametrizations.weight[0]._v.copy_(torch.nn.functional.normalize(det(4, offset=2.0), dim=0))
first = fwd_bwd(m, det(2, 4, grad=True))
u1 = m.parametrizations.weight[0]._u.clone()
m.eval()
out = first + (u1, m(det(1, 4)), sorted(m.state_dict()), torch.linalg.matrix_norm(m.weight, 2))
""")
case("param_spectral_norm_conv_transpose", """
m = fill(torch.nn.ConvTranspose2d(2, 3, 2))
torch.nn.utils.parametrizations.spectral_norm(m, n_power_iterations=3)
sn = m.parametrizations.weight[0]
out = (sn.dim, sn._u.shape, sn._v.shape)
""")

# ---- lazy modules (shapes from the first input, then the plain class)
case("lazy_modules", """
net = torch.nn.Sequential(torch.nn.LazyConv2d(4, 3, padding=1), torch.nn.LazyBatchNorm2d(), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(3))
before = (repr(net), [repr(v) for v in net.state_dict().values()][:2], net[0].has_uninitialized_params())
x = det(2, 3, 5, 5, grad=True)
net(x)
fill(net)
out = before + fwd_bwd(net, x) + (repr(net), [type(m).__name__ for m in net], sorted(net.state_dict()), net[4].in_features)
""")
case("lazy_conv_transpose_and_norms", """
t = torch.nn.LazyConvTranspose1d(6, 3, stride=2, groups=2)
t(det(1, 4, 7))
i = torch.nn.LazyInstanceNorm1d()
i(det(2, 3, 4))
b = torch.nn.LazyBatchNorm1d(affine=False)
b(det(5, 3))
c3 = torch.nn.LazyConv3d(2, 2)
c3(det(3, 4, 4, 4))
out = (repr(t), t.weight.shape, repr(i), sorted(i.state_dict()), repr(b), b.running_mean, c3.weight.shape)
""")
case("lazy_load_state_dict", """
m = torch.nn.LazyLinear(2)
src = fill(torch.nn.Linear(5, 2))
r = m.load_state_dict(src.state_dict())
out = (type(m).__name__, m.weight, repr(r), m(det(1, 5)), type(m).__name__)
""")
case("lazy_uninitialized_shape", "out = torch.nn.LazyLinear(3).weight.shape")
case("lazy_conv_bad_rank", "out = torch.nn.LazyConv2d(3, 3)(torch.zeros(4, 4))")
case("adaptive_log_softmax", "m = fill(torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0), 0.4); x = det(5, 8, grad=True); t = torch.tensor([0, 4, 9, 2, 7]); r = m(x, t); r.loss.backward(); "
     "out = (r.output, r.loss, x.grad, [p.grad for p in m.parameters()], [n for n, _ in m.named_parameters()], m.log_prob(det(2, 8)), m.predict(det(2, 8)), m(det(8), torch.tensor(5)).output, repr(m))")
case("adaptive_log_softmax_head_bias", "m = fill(torch.nn.AdaptiveLogSoftmaxWithLoss(6, 7, [2], head_bias=True), 0.4); r = m(det(3, 6), torch.tensor([1, 1, 6])); out = (r.output, r.loss, m.log_prob(det(3, 6)).exp().sum(1))")
case("adaptive_log_softmax_bad_target", "m = torch.nn.AdaptiveLogSoftmaxWithLoss(6, 7, [2]); out = m(det(2, 6), torch.tensor([1, 7]))")
case("adaptive_log_softmax_bad_cutoffs", "out = torch.nn.AdaptiveLogSoftmaxWithLoss(6, 7, [3, 2])")

# ---- linear_cross_entropy / LinearCrossEntropyLoss (torch 2.15), reference and chunked
_LCE = ("x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-2.0, 1.0, 0.0], [0.3, 0.3, -1.2], [1.0, -0.7, 0.9]], requires_grad=True)\n"
        "W = torch.tensor([[0.2, -0.4, 0.1], [0.7, 0.3, -0.5], [-0.6, 0.9, 0.4], [0.05, -0.2, 0.8]], requires_grad=True)\n"
        "b = torch.tensor([0.1, -0.2, 0.0, 0.3])\nt = torch.tensor([0, 3, -100, 2, 1])\ncw = torch.tensor([1.0, 2.0, 0.5, 1.5])\n"
        "F = torch.nn.functional\nO = torch.nn.LinearCrossEntropyOptions\n")
case("linear_cross_entropy_forms", _LCE + "l1 = F.linear_cross_entropy(x, W, t)\nl1.backward()\n"
     "out = (l1, x.grad, W.grad, F.linear_cross_entropy(x, W, t, linear_bias=b, weight=cw, reduction='none'), "
     "F.linear_cross_entropy(x, W, t, weight=cw, label_smoothing=0.1, options=O(batch_chunk_size=2)), "
     "F.linear_cross_entropy(x, W, t, weight=cw, label_smoothing=0.1), "
     "F.linear_cross_entropy(x, W, t, reduction='sum', options=O(chunking_method='aspect_ratio:1')), "
     "F.linear_cross_entropy(x[0], W, torch.tensor(2)), F.linear_cross_entropy(x, W, torch.softmax(x @ W.mT, -1).detach()), "
     "F.linear_cross_entropy(x, W.reshape(2, 2, 3), torch.tensor([[0, 1], [1, 1], [0, 0], [1, 0], [0, 1]])))")
case("linear_cross_entropy_chunked_grads", _LCE + "F.linear_cross_entropy(x, W, t, linear_bias=b, weight=cw, options=O(batch_chunk_size=2)).backward()\n"
     "out = (x.grad, W.grad)")
case("linear_cross_entropy_module", "torch.manual_seed(0)\nm = torch.nn.LinearCrossEntropyLoss(3, 4, bias=True, label_smoothing=0.05)\n"
     "with torch.no_grad():\n    m.linear.weight.copy_(torch.arange(12.).reshape(4, 3).sin())\n    m.linear.bias.copy_(torch.tensor([0.1, 0.2, -0.1, 0.0]))\n"
     "x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])\n"
     "out = (m(x, torch.tensor([1, 3])), list(m.state_dict()), repr(m), repr(torch.nn.LinearCrossEntropyOptions()))")
case("linear_cross_entropy_shape_error", _LCE + "out = F.linear_cross_entropy(x, W[:, :2], t)")
case("linear_cross_entropy_options_error", "out = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=0)")
case("linear_cross_entropy_prob_ignore_error", _LCE + "out = F.linear_cross_entropy(x, W, torch.ones(5, 4) / 4, ignore_index=1)")
# torch's CrossMapLRN2d backward is not the derivative of its forward (its own gradcheck fails):
# the gradient is checked by finite differences in test_autograd.py instead.
case("cross_map_lrn2d", "x = (torch.arange(2 * 7 * 2 * 3, dtype=torch.float64) * 0.37).sin().reshape(2, 7, 2, 3)\n"
     "y = (torch.arange(2 * 4 * 2 * 2, dtype=torch.float64) * 0.53).cos().reshape(2, 4, 2, 2).requires_grad_()\n"
     "m = torch.nn.CrossMapLRN2d(5, alpha=0.5, beta=0.75, k=1.0)\n"
     "out = (m(x), torch.nn.CrossMapLRN2d(4, 0.3, 0.5, 2.0)(x), torch.nn.CrossMapLRN2d(1, 1.0)(x), torch.nn.CrossMapLRN2d(9)(x), m(y), repr(m))")
case("cross_map_lrn2d_rank_error", "out = torch.nn.CrossMapLRN2d(3)(torch.ones(2, 3, 4))")
case("sdpa_kernel_choice", "A = torch.nn.attention\nF = torch.nn.functional\n"
     "q = (torch.arange(2 * 2 * 4 * 8, dtype=torch.float64) * 0.31).sin().reshape(2, 2, 4, 8)\n"
     "k = (torch.arange(2 * 2 * 5 * 8, dtype=torch.float64) * 0.17).cos().reshape(2, 2, 5, 8)\n"
     "v = (torch.arange(2 * 2 * 5 * 8, dtype=torch.float64) * 0.23).sin().reshape(2, 2, 5, 8)\n"
     "m = torch.tensor([[True, False, True, True, True]] * 4)\n"
     "with A.sdpa_kernel(A.SDPBackend.MATH):\n"
     "    flags = (torch.backends.cuda.flash_sdp_enabled(), torch.backends.cuda.math_sdp_enabled())\n"
     "    r1 = (F.scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.5), "
     "F.scaled_dot_product_attention(q, k[:, :, :4], v[:, :, :4], is_causal=True))\n"
     "with A.sdpa_kernel([A.SDPBackend.FLASH_ATTENTION, A.SDPBackend.MATH]):\n"
     "    r2 = F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.5)\n"
     "out = (flags, torch.backends.cuda.flash_sdp_enabled(), r1, r2, int(A.SDPBackend.CUDNN_ATTENTION), repr(A.SDPBackend.MATH))")
case("sdpa_kernel_none_viable", "A = torch.nn.attention\nq = torch.ones(1, 1, 2, 4)\n"
     "with A.sdpa_kernel(A.SDPBackend.EFFICIENT_ATTENTION):\n    out = torch.nn.functional.scaled_dot_product_attention(q, q, q)")
case("grid_sample_double_backward", "F = torch.nn.functional\n"
     "x = (torch.arange(2 * 2 * 4 * 5, dtype=torch.float64) * 0.41).sin().reshape(2, 2, 4, 5).requires_grad_()\n"
     "g = ((torch.arange(2 * 3 * 3 * 2, dtype=torch.float64) * 0.77).cos() * 1.1).reshape(2, 3, 3, 2).requires_grad_()\n"
     "y = F.grid_sample(x, g, mode='bilinear', padding_mode='border', align_corners=False)\n"
     "gx, gg = torch.autograd.grad((y * y).sum(), [x, g], create_graph=True)\n"
     "hx, hg = torch.autograd.grad((gx * gx).sum() + (gg * gg).sum(), [x, g])\n"
     "z = F.grid_sample(x.float(), g.float(), mode='bicubic', padding_mode='reflection', align_corners=True)\n"
     "out = (y, gx, gg, hx, hg, z, y.grad_fn.name().startswith('GridSampler2DBackward'))")
case("linear_cross_entropy_far_ignore_index", _LCE + "t2 = torch.tensor([0, 3, 1000, 2, 1000])\n"
     "out = (F.linear_cross_entropy(x, W, t2, weight=cw, ignore_index=1000, options=O(batch_chunk_size=2)), "
     "F.linear_cross_entropy(x, W, t2, weight=cw, ignore_index=1000))")
