"""More snippets for ``cases.CASES`` (same format, same fixture file): in-place variants,
``Tensor.unfold``/``as_strided``, the math and structure functions of ``_math_extras``, the
``torch.*`` spellings of functional ops, ``torch.autograd.functional`` and ``torch.func``."""

from cases import case

_A = "a = torch.tensor([[1.5, -2.0, 0.25], [3.0, 0.5, -1.0]])\nb = torch.tensor([[0.5, 1.0, -2.0], [2.0, -0.5, 4.0]])\n"

# ---- in-place variants of out-of-place ops
case("inplace_index_scatter", _A + "x = a.clone(); x.index_add_(1, torch.tensor([0, 2, 0]), b)\n"
     "y = a.clone(); y.scatter_add_(1, torch.tensor([[2, 2, 0], [1, 0, 1]]), b)\n"
     "z = a.clone(); z.index_reduce_(1, torch.tensor([0, 2, 0]), b, 'prod')\n"
     "w = a.clone(); w.put_(torch.tensor([0, -1, 4]), torch.tensor([9., 8., 7.]))\n"
     "v = a.clone(); v.put_(torch.tensor([1, 1]), torch.tensor([1., 2.]), accumulate=True)\n"
     "out = (x, y, z, w, v, a.index_reduce(0, torch.tensor([1, 1]), b, 'amax', include_self=False))")
case("inplace_arith", _A + "x = a.clone(); x.addcmul_(a, b, value=0.5); x.addcdiv_(a, b, value=-1)\n"
     "y = a.clone(); y.lerp_(b, 0.25)\n"
     "z = a.clone(); z.clip_(-1, 1); z.tril_(); z.cumsum_(1)\n"
     "m = torch.ones(2, 2); m.addmm_(torch.eye(2), torch.full((2, 2), 3.), beta=2, alpha=0.5)\n"
     "r = torch.ones(2, 3); r.addr_(torch.tensor([1., 2.]), torch.tensor([1., 0., -1.]), alpha=2)\n"
     "d = torch.tensor([2., 3.], dtype=torch.float64); d.float_power_(2)\n"
     "e = torch.tensor([1., float('nan')]); e.nan_to_num_(nan=-5.0)\n"
     "f = a.clone(); f.exp2_(); f.deg2rad_(); f.ldexp_(torch.tensor([1, 2, -1]))\n"
     "out = (x, y, z, m, r, d, e, f)")
case("inplace_compare_logical", _A + "x = a.clone(); x.gt_(b)\ny = a.clone(); y.eq_(1.5)\nz = a.clone(); z.less_equal_(0)\n"
     "w = a.clone(); w.logical_and_(b > 0)\nv = torch.tensor([0, 3, -1]); v.logical_not_()\n"
     "u = a.clone(); u.arctan_(); u.negative_(); u.multiply_(2)\nout = (x, y, z, w, v, u)")
case("inplace_errors_float_power", "x = torch.ones(2)\nout = x.float_power_(2)")
case("inplace_errors_int_result", "x = torch.tensor([1, 2])\nout = x.exp2_()")
case("inplace_grads_keep_old_value",
     "a = torch.tensor([0.5, 1.5, -1.0], requires_grad=True)\ny = torch.tensor([2.0, -1.0, 3.0], requires_grad=True)\n"
     "x = a.clone()\nx.mul_(y)\nx.sin_()\nx.addcmul_(y, y, value=2)\nx.lerp_(y, 0.3)\nx.div_(y)\n"
     "(x * torch.tensor([1.0, 2.0, 3.0])).sum().backward()\nout = (x, a.grad, y.grad)")
case("inplace_leaf_refused", "a = torch.ones(2, requires_grad=True)\nout = a.addcmul_(a, a)")
case("inplace_view_ops",
     "x = torch.arange(6.).reshape(2, 3)\nx.unsqueeze_(0)\ns1 = x.shape\nx.squeeze_()\ns2 = x.shape\nx.t_()\n"
     "y = torch.arange(24.).reshape(2, 3, 4)\ny.transpose_(0, 2)\nz = torch.zeros(2, 3)\nz.swapdims_(0, 1)\n"
     "r = torch.arange(6.)\nr.resize_(2, 2)\nq = torch.arange(3.)\nq.resize_as_(torch.zeros(1, 3))\n"
     "w = torch.arange(6.)\nw.as_strided_((2, 2), (1, 2))\nout = (s1, s2, x, x.stride(), y.shape, y.stride(), z.shape, r, q, w)")
case("resize_requires_grad", "out = torch.ones(2, requires_grad=True).resize_(3)")

# ---- unfold and as_strided
case("tensor_unfold", "x = torch.arange(14.).reshape(2, 7)\nu = x.unfold(1, 3, 2)\n"
     "out = (u, u.shape, u.stride(), x.unfold(0, 2, 1), torch.arange(5).unfold(0, 5, 1), torch.tensor(3.).unfold(0, 1, 1), "
     "x.unfold(1, 2, 4), x.unfold(-1, 7, 3).shape, u.is_contiguous())")
case("tensor_unfold_writes", "x = torch.zeros(6)\nx.unfold(0, 2, 2)[1].fill_(1.0)\nout = x")
case("tensor_unfold_grad", "x = torch.arange(7., requires_grad=True)\nu = x.unfold(0, 3, 2)\n"
     "(u * torch.arange(9.).reshape(3, 3)).sum().backward()\nout = (u, x.grad)")
case("tensor_unfold_too_big", "out = torch.zeros(2, 3).unfold(1, 4, 1)")
case("tensor_unfold_step0", "out = torch.zeros(2, 3).unfold(1, 2, 0)")
case("as_strided", "x = torch.arange(9.)\nout = (x.as_strided((2, 2), (1, 2)), torch.as_strided(x, (3,), (3,), 1), "
     "x[2:].as_strided((2,), (2,)))")

# ---- elementwise math
case("math_extras_elementwise", "x = torch.tensor([-2.0, -0.0, 0.0, 0.5, 3.0, float('inf'), float('-inf'), float('nan')])\n"
     "i = torch.tensor([-3, 0, 5])\n"
     "out = (torch.deg2rad(x), torch.rad2deg(i), torch.exp2(i), x.exp2(), torch.signbit(x), i.signbit(), torch.isposinf(x), "
     "torch.isneginf(x), torch.isreal(x), torch.positive(x), torch.ldexp(torch.tensor([1., 3.]), torch.tensor([2, -1])), "
     "torch.logaddexp2(torch.tensor([1., -2.]), torch.tensor([3., -2.])), torch.float_power(i, 2), "
     "torch.float_power(torch.tensor([4.]), torch.tensor([0.5])), x.fmax(torch.zeros(8)), torch.fmin(x, torch.full((8,), 1.0)), "
     "torch.fmax(torch.tensor([float('nan'), 1.]), torch.tensor([2., float('nan')])))")
case("math_extras_frexp_nextafter", "x = torch.tensor([8.0, 0.3, -5.0, 0.0])\nm, e = torch.frexp(x)\n"
     "out = (m, e, x.frexp().exponent, torch.nextafter(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([2.0, 1.0], dtype=torch.float64)) "
     "- torch.tensor([1.0, 2.0], dtype=torch.float64))")
case("math_extras_isin", "x = torch.tensor([[1, 2, 3], [4, 5, 6]])\n"
     "out = (torch.isin(x, torch.tensor([2, 6, 9])), torch.isin(x, torch.tensor([2, 6]), invert=True), torch.isin(x, torch.tensor([])), "
     "torch.isin(torch.tensor([1.5, 2.0]), torch.tensor([2])), torch.isin(3, x))")
case("math_extras_grads", "x = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)\ny = torch.tensor([1.0, -2.0, 2.0], requires_grad=True)\n"
     "(torch.fmax(x, y) * 2 + torch.logaddexp2(x, y) + torch.exp2(x) + torch.deg2rad(y) + torch.fmin(x, y) * 3).sum().backward()\n"
     "out = (x.grad, y.grad)")

# ---- products and statistics
case("products_inner_addr", "a = torch.arange(6.).reshape(2, 3)\nb = torch.arange(12.).reshape(4, 3)\nv = torch.tensor([1., -1.])\n"
     "out = (torch.inner(a, b), torch.inner(torch.tensor([1., 2.]), torch.tensor([3., 4.])), torch.inner(a, torch.tensor(2.)), "
     "torch.ger(v, torch.arange(3.)), torch.addr(torch.ones(2, 3), v, torch.arange(3.), beta=0.5, alpha=2), a.addr(v, torch.ones(3)), "
     "torch.addbmm(torch.ones(2, 2), torch.ones(3, 2, 4), torch.ones(3, 4, 2), beta=2), torch.dist(a, a + 1), torch.dist(a, a * 2, 1), "
     "torch.cross(torch.eye(3), torch.ones(3, 3)), torch.cross(torch.eye(3), torch.ones(3, 3), dim=1))")
case("stats_cov_corrcoef", "x = torch.tensor([[0., 1., 2., 4.], [2., 1., 0., -3.], [1., 1., 2., 0.5]])\n"
     "out = (torch.cov(x), x.cov(correction=0), torch.cov(x, fweights=torch.tensor([1, 2, 1, 3])), "
     "torch.cov(x, aweights=torch.tensor([0.5, 1., 2., 1.])), torch.cov(x, fweights=torch.tensor([1, 2, 1, 1]), aweights=torch.tensor([1., 1., 2., 0.5])), "
     "torch.cov(x[0]), torch.corrcoef(x), x[:2].corrcoef())")
case("stats_quantile", "x = torch.tensor([[3., 1., 4., 1.5, 5.], [9., 2., 6., 5., 3.]])\nq = torch.tensor([0.0, 0.3, 0.5, 1.0])\n"
     "out = (torch.quantile(x, 0.3), x.quantile(q), torch.quantile(x, q, dim=1), torch.quantile(x, 0.4, dim=0, keepdim=True), "
     "torch.quantile(x, q, dim=1, keepdim=True).shape, torch.quantile(x, 0.4, interpolation='lower'), "
     "torch.quantile(x, 0.4, dim=1, interpolation='higher'), torch.quantile(x, 0.45, dim=1, interpolation='nearest'), "
     "torch.quantile(x, 0.45, dim=1, interpolation='midpoint'), torch.quantile(x, q, keepdim=True).shape)")
case("stats_nanquantile", "x = torch.tensor([[3., float('nan'), 4., 1.5], [float('nan')] * 4, [1., 2., 3., 4.]])\n"
     "out = (torch.quantile(x, 0.5, dim=1), torch.nanquantile(x, 0.5, dim=1), x.nanquantile(torch.tensor([0.25, 0.75]), dim=1))")
case("stats_quantile_grad", "x = torch.tensor([3., 1., 4., 1.5, 5.], requires_grad=True)\n"
     "torch.quantile(x, torch.tensor([0.3, 0.9])).sum().backward()\nout = x.grad")
case("stats_quantile_bad_q", "out = torch.quantile(torch.ones(3), 1.5)")
case("stats_quantile_int", "out = torch.quantile(torch.tensor([1, 2]), 0.5)")
case("stats_histogram", "x = torch.tensor([1., 2., 1., 2.5, 4., 0.])\n"
     "out = (torch.histogram(x, 4), torch.histogram(x, bins=3, range=(0., 3.)), torch.histogram(x, torch.tensor([0., 1., 2.5, 5.])), "
     "torch.histogram(x, 2, weight=torch.tensor([1., 2., 3., 4., 5., 6.])), torch.histogram(x, 4, density=True).hist, x.histogram(2).bin_edges)")

# ---- indices and structure
case("struct_indices", "out = (torch.tril_indices(3, 3), torch.tril_indices(4, 3, 1), torch.triu_indices(3, 4, -1), torch.triu_indices(3, 3, 1), "
     "torch.tril_indices(0, 3), torch.triu_indices(2, 2, dtype=torch.int32))")
case("struct_products", "a = torch.tensor([1, 2, 3])\nb = torch.tensor([4., 5.])\n"
     "out = (torch.cartesian_prod(a, torch.tensor([7, 8])), torch.cartesian_prod(b), torch.combinations(a), torch.combinations(a, 3), "
     "torch.combinations(b, with_replacement=True), torch.combinations(a, r=4).shape, "
     "torch.block_diag(torch.ones(2, 2), torch.tensor([[5, 6]]), torch.tensor(7.), torch.tensor([8, 9])))")
case("struct_sequences", "x = torch.tensor([1., 2., 3.])\n"
     "out = (torch.logspace(0, 2, 3), torch.logspace(-1, 1, 5, base=2.0), torch.logspace(0, 3, 4, dtype=torch.float64), "
     "torch.vander(x), torch.vander(x, N=2, increasing=True), torch.vander(torch.tensor([2, 3])), "
     "torch.unravel_index(torch.tensor([4, 1, -1]), (3, 2)), torch.unravel_index(torch.tensor(7), (2, 2, 2)))")
case("struct_trapezoid", "y = torch.tensor([[1., 4., 9., 16.], [2., 2., 2., 2.]])\nx = torch.tensor([0., 1., 3., 4.])\n"
     "out = (torch.trapezoid(y), torch.trapezoid(y, x), torch.trapezoid(y, dx=0.5), torch.trapz(y, x), torch.trapezoid(y, dim=0), "
     "torch.cumulative_trapezoid(y), torch.cumulative_trapezoid(y, x), torch.cumulative_trapezoid(y, dx=2.0, dim=0))")
case("struct_scatters", "a = torch.zeros(3, 4)\n"
     "out = (torch.slice_scatter(a, torch.ones(3, 2), 1, 0, 4, 2), torch.slice_scatter(a, torch.ones(1, 4), start=2), "
     "torch.select_scatter(a, torch.arange(4.), 0, -1), torch.diagonal_scatter(a, torch.tensor([1., 2., 3.])), "
     "torch.diagonal_scatter(a, torch.tensor([5., 6.]), 2), a.diagonal_scatter(torch.tensor([7., 8.]), -1))")
case("struct_scatters_grad", "a = torch.arange(12.).reshape(3, 4).requires_grad_()\ns = torch.tensor([1., 2., 3.], requires_grad=True)\n"
     "t = torch.ones(3, 2, requires_grad=True)\nw = torch.arange(12.).reshape(3, 4)\n"
     "((torch.diagonal_scatter(a, s) + torch.slice_scatter(a, t, 1, 1, 4, 2) * 2) * w).sum().backward()\nout = (a.grad, s.grad, t.grad)")
case("struct_windows", "out = (torch.hann_window(5), torch.hann_window(5, periodic=False), torch.hamming_window(6), "
     "torch.hamming_window(4, False, alpha=0.5, beta=0.5), torch.blackman_window(6), torch.bartlett_window(5), "
     "torch.bartlett_window(5, periodic=False), torch.kaiser_window(6), torch.kaiser_window(5, False, beta=4.0), "
     "torch.hann_window(1), torch.hann_window(0), torch.hann_window(4, dtype=torch.float64))")

# ---- small torch-level helpers
case("misc_helpers", "x = torch.arange(6.).reshape(2, 3)\n"
     "out = (torch.rsub(x, 10), torch.rsub(x, torch.ones(3), alpha=2), torch.scalar_tensor(3), torch.scalar_tensor(2, dtype=torch.int64), "
     "torch.chain_matmul(x, x.t(), x), torch.asarray([1, 2]), torch.asarray(x) is x, torch.asarray(x, dtype=torch.float64), "
     "torch.promote_types(torch.int32, torch.float32), torch.promote_types(torch.uint8, torch.int64), torch.can_cast(torch.float32, torch.int32), "
     "torch.can_cast(torch.int32, torch.float64), torch.can_cast(torch.bool, torch.int64), torch.is_signed(x), torch.tensor([1], dtype=torch.uint8).is_signed(), "
     "torch.is_same_size(x, x.t()), torch.nonzero_static(torch.tensor([0, 3, 0, 4]), size=3), torch.nonzero_static(torch.tensor([1, 1, 1]), size=2))")
case("misc_methods", "x = torch.arange(6.).reshape(2, 3)\n"
     "out = (x.t().ravel(), x.split_with_sizes([1, 2], 1), x.narrow_copy(1, 1, 2), torch.ones(2, 3, 4).sum_to_size(3, 1), "
     "x.sum_to_size((1, 3)), torch.tensor([2.5, 4.0]).mvlgamma(2), x.real, x.conj(), x.resolve_conj(), x.is_cpu, x.get_device(), "
     "x.is_pinned(), x.is_complex(), torch.is_complex(x), x.is_conj(), torch.unsafe_chunk(x, 2, 1)[1])")
case("misc_imag_error", "out = torch.ones(2).imag")

# ---- torch.* spellings of functional ops
case("aliases_nn_ops", "torch.manual_seed(0)\nx = torch.arange(32.).reshape(1, 2, 4, 4) / 10\nw = torch.ones(3, 2, 3, 3) / 9\n"
     "out = (torch.conv2d(x, w, None, 1, 1).sum(), torch.conv1d(x[:, :, 0], w[:, :, 0], stride=2), torch.dropout(x, 0.0, True).sum(), "
     "torch.dropout(x, 0.9, False).sum(), torch.layer_norm(x, [4, 4])[0, 1, 1], torch.group_norm(x, 2, eps=1e-3)[0, 1, 0], "
     "torch.batch_norm(x, None, None, torch.zeros(2), torch.ones(2), False, 0.1, 1e-5, False)[0, 1, 0], "
     "torch.instance_norm(x, None, None, None, None, True, 0.1, 1e-5, False)[0, 0, 0], "
     "torch.embedding(torch.arange(8.).reshape(4, 2), torch.tensor([[3, 0], [1, 1]])), "
     "torch.max_pool1d(x[0], 2), torch.max_pool2d(x, 2, []), torch.avg_pool1d(x[0], 3, 1), torch.adaptive_max_pool1d(x[0], 2), "
     "torch.threshold(x, 1.0, -1.0)[0, 0, 2], torch.pixel_shuffle(torch.arange(8.).reshape(1, 4, 1, 2), 2), "
     "torch.cosine_similarity(x[0, 0], x[0, 1], 1), torch.pairwise_distance(x[0, 0], x[0, 1]), torch.pdist(x[0, 0]), "
     "torch.kl_div(torch.tensor([-1., -2.]), torch.tensor([0.3, 0.7]), 2), "
     "torch.binary_cross_entropy_with_logits(torch.tensor([0.5, -1.]), torch.tensor([1., 0.]), None, torch.tensor([2., 2.]), 0), "
     "torch.selu(torch.tensor([-1., 1.])), torch.celu(torch.tensor([-1., 1.]), 2.0), torch.hardshrink(torch.tensor([-1., 0.2])))")
case("aliases_inplace_functions", "x = torch.tensor([-1.0, 0.5, 2.0])\ny = x.clone()\ntorch.selu_(y)\nz = x.clone()\ntorch.exp_(z)\n"
     "w = x.clone()\ntorch.threshold_(w, 0.6, 9.0)\nv = x.clone()\ntorch.clamp_(v, 0, 1)\nout = (y, z, w, v, torch.relu_(x.clone()))")

# ---- torch.autograd.functional
case("autograd_functional_jacobian", "x = torch.tensor([1.0, 2.0, 3.0])\ny = torch.tensor([0.5, -1.0])\n"
     "f = lambda a: a ** 2 * a.sum()\ng = lambda a, b: (a[:2] * b, (a * a).sum())\nF = torch.autograd.functional\n"
     "J1 = F.jacobian(f, x)\nJ2 = F.jacobian(g, (x, y))\n"
     "out = (J1, J2, F.jacobian(lambda a: a.sum(), x), F.jacobian(lambda a, b: a * 2, (x, y)))")
case("autograd_functional_products", "x = torch.tensor([1.0, 2.0, 3.0])\nv = torch.tensor([1.0, -1.0, 0.5])\n"
     "f = lambda a: (a ** 3).sum() + a[0] * a[1]\nF = torch.autograd.functional\n"
     "out = (F.hessian(f, x), F.vjp(lambda a: a ** 2, x, v), F.jvp(lambda a: a ** 2 * a[0], x, v), F.hvp(f, x, v), F.vhp(f, x, v), "
     "F.vjp(f, x), F.hessian(lambda a, b: (a * b).sum() * a[0], (x, v)))")
case("autograd_functional_strict", "out = torch.autograd.functional.jacobian(lambda a, b: a * 2, (torch.ones(2), torch.ones(2)), strict=True)")
case("autograd_grad_non_leaf", "x = torch.tensor([1.0, 2.0], requires_grad=True)\nw = x * 2\ny = (w ** 3).sum()\n"
     "out = torch.autograd.grad(y, [w, x])")

# ---- torch.func
case("func_grad", "x = torch.tensor([1.0, 2.0, -0.5])\ny = torch.tensor(3.0)\nf = lambda a, b: (a ** 3).sum() * b\n"
     "out = (torch.func.grad(f)(x, y), torch.func.grad(f, argnums=(0, 1))(x, y), torch.func.grad(torch.func.grad(lambda t: t ** 4))(y), "
     "torch.func.grad_and_value(f)(x, y), torch.func.grad(lambda a: ((a ** 2).sum(), a.mean()), has_aux=True)(x), "
     "torch.func.grad(lambda d: (d['w'] * d['v']).sum())({'w': x, 'v': x * 2})['w'])")
case("func_jac_hess", "x = torch.tensor([1.0, 2.0, -0.5])\nf = lambda a: a.sin() * a.sum()\n"
     "out = (torch.func.jacrev(f)(x), torch.func.jacfwd(f)(x), torch.func.hessian(lambda a: (a ** 3).prod())(x), "
     "torch.func.jacrev(lambda a, b: a * b, argnums=1)(x, x + 1))")
case("func_vjp_jvp", "x = torch.tensor([1.0, 2.0, -0.5])\nout_, fn = torch.func.vjp(lambda a: a ** 2, x)\n"
     "out = (out_, fn(torch.ones(3)), torch.func.jvp(lambda a: a.exp(), (x,), (torch.ones(3),)))")
case("func_vmap", "x = torch.arange(6.).reshape(2, 3)\nw = torch.tensor([1.0, -1.0, 2.0])\n"
     "out = (torch.func.vmap(torch.dot)(x, x), torch.func.vmap(lambda a, b: a * b, in_dims=(0, None))(x, w), "
     "torch.func.vmap(lambda a: a.sum(), in_dims=1)(x), torch.func.vmap(lambda a: (a, a * 2), out_dims=(0, 1))(x), "
     "torch.func.vmap(torch.func.grad(lambda a: (a ** 2).sum()))(x), torch.vmap(lambda a: a.max())(x))")
case("func_functional_call", "torch.manual_seed(0)\nm = torch.nn.Linear(3, 2)\nx = torch.tensor([[1.0, 2.0, 3.0]])\n"
     "p = {'weight': torch.ones(2, 3), 'bias': torch.tensor([0.5, -0.5])}\n"
     "r = torch.func.functional_call(m, p, (x,))\nr2 = torch.func.functional_call(m, ({'weight': torch.zeros(2, 3)}, {'bias': torch.ones(2)}), x)\n"
     "g = torch.func.grad(lambda ps: torch.func.functional_call(m, ps, (x,)).sum())(p)\n"
     "out = (r, r2, m.weight.shape, torch.equal(m(x), x @ m.weight.t() + m.bias), g['weight'], g['bias'], "
     "torch.nn.utils.stateless.functional_call(m, p, x))")

# ---- autograd odds and ends, nn.utils fusion, testing.make_tensor
case("autograd_variable", "V = torch.autograd.Variable\nv = V(torch.ones(2), requires_grad=True)\n"
     "out = (v.requires_grad, isinstance(torch.zeros(1), V), type(V(torch.zeros(1))).__name__, V(torch.arange(3)))")
case("autograd_gradgradcheck", "x = torch.tensor([0.5, 1.2], dtype=torch.float64, requires_grad=True)\n"
     "y = torch.tensor([0.3, -1.0], dtype=torch.float64, requires_grad=True)\n"
     "class Bad(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, a):\n        ctx.save_for_backward(a)\n        return a ** 2\n"
     "    @staticmethod\n    def backward(ctx, g):\n        a, = ctx.saved_tensors\n        return g * 2 * a.detach()\n"
     "out = (torch.autograd.gradgradcheck(lambda a: (a ** 3).sum(), x), torch.autograd.gradgradcheck(lambda a, b: (a * b.sin(), a.exp()), (x, y)), "
     "torch.autograd.gradcheck(lambda a, b: (a * b, (a + b).exp()), (x, y)), torch.autograd.gradcheck(Bad.apply, x), "
     "torch.autograd.gradgradcheck(Bad.apply, x, raise_exception=False))")
case("nn_utils_fusion", "torch.manual_seed(0)\nconv = torch.nn.Conv2d(2, 3, 3)\nbn = torch.nn.BatchNorm2d(3)\n"
     "lin = torch.nn.Linear(4, 3)\nbn1 = torch.nn.BatchNorm1d(3)\nwith torch.no_grad():\n"
     "    for b in (bn, bn1):\n        b.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))\n        b.running_var.copy_(torch.tensor([2.0, 0.5, 1.0]))\n"
     "        b.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))\n        b.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))\n"
     "conv.eval(); bn.eval(); lin.eval(); bn1.eval()\nx = torch.arange(50.).reshape(1, 2, 5, 5) / 25\nz = torch.arange(8.).reshape(2, 4) / 4\n"
     "fc = torch.nn.utils.fuse_conv_bn_eval(conv, bn)\nfl = torch.nn.utils.fusion.fuse_linear_bn_eval(lin, bn1)\n"
     "out = ((fc(x) - bn(conv(x))).abs().max() < 1e-5, (fl(z) - bn1(lin(z))).abs().max() < 1e-5, type(fc.weight).__name__, fc is conv)")
case("testing_make_tensor", "torch.manual_seed(0)\nf = torch.testing.make_tensor(3, 4, dtype=torch.float32, device='cpu', low=-2, high=3)\n"
     "i = torch.testing.make_tensor((50,), dtype=torch.int64, device='cpu', low=0, high=4)\nb = torch.testing.make_tensor(5, dtype=torch.bool, device='cpu')\n"
     "n = torch.testing.make_tensor(3, 3, dtype=torch.float64, device='cpu', noncontiguous=True, requires_grad=True)\n"
     "out = (f.shape, f.dtype, bool(((f >= -2) & (f < 3)).all()), bool(((i >= 0) & (i < 4)).all()), i.dtype, b.dtype, "
     "n.is_contiguous(), n.requires_grad, torch.testing.make_tensor(2, dtype=torch.int32, device='cpu', exclude_zero=True).ne(0).all())")
case("testing_make_tensor_no_device", "out = torch.testing.make_tensor(3, dtype=torch.float32)")
case("autograd_detect_anomaly", "x = torch.tensor([0.0, 1.0], requires_grad=True)\n"
     "with torch.autograd.detect_anomaly():\n    y = (x.sqrt() * 0).sum()\n    y.backward()\nout = x.grad")
case("autograd_detect_anomaly_modes", "a = torch.is_anomaly_enabled()\nwith torch.autograd.detect_anomaly(check_nan=False):\n"
     "    b = (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled())\n"
     "    x = torch.tensor([0.0], requires_grad=True)\n    (x.sqrt() * 0).sum().backward()\n"
     "torch.autograd.set_detect_anomaly(True)\nc = torch.is_anomaly_enabled()\ntorch.autograd.set_detect_anomaly(False)\n"
     "out = (a, b, c, torch.is_anomaly_enabled(), x.grad)")
case("index_put_accumulate", "x = torch.zeros(3, 4)\ni = torch.tensor([0, 2, 0, 0])\nj = torch.tensor([1, 3, 1, 2])\n"
     "v = torch.tensor([1.0, 2.0, 3.0, 4.0])\ny = x.index_put((i, j), v, accumulate=True)\nz = torch.ones(5)\n"
     "z.index_put_((torch.tensor([4, 4, 0]),), torch.tensor(2.0), accumulate=True)\n"
     "a = torch.zeros(4, 2, requires_grad=True)\nb = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
     "w = a.index_put((torch.tensor([1, 1, 3]),), b.unsqueeze(1).expand(3, 2), accumulate=True)\n"
     "(w * torch.arange(8.).reshape(4, 2)).sum().backward()\n"
     "c = torch.zeros(2, 3, dtype=torch.int64)\nc.index_put_((torch.tensor([0, 0]), torch.tensor([2, 2])), torch.tensor([5, 6]), accumulate=True)\n"
     "out = (y, z, w, a.grad, b.grad, c, torch.index_put(x, (i,), torch.ones(4), True))")
case("inplace_index_add_scatter_add_grads", "a = torch.arange(12.).reshape(3, 4).requires_grad_()\nb = torch.ones(2, 4, requires_grad=True)\n"
     "s = torch.arange(6.).reshape(3, 2).requires_grad_()\nx = a * 1\nx.index_add_(0, torch.tensor([2, 2]), b, alpha=3)\n"
     "x.scatter_add_(1, torch.tensor([[0, 3], [1, 1], [2, 0]]), s)\n(x * torch.arange(12.).reshape(3, 4)).sum().backward()\n"
     "y = torch.zeros(2, 3)[:, 1:]\ny.scatter_add_(0, torch.tensor([[1, 0]]), torch.tensor([[5., 6.]]))\n"
     "z = torch.zeros(4, dtype=torch.int64)\nz.index_add_(0, torch.tensor([1, 1, 3]), torch.tensor([2, 3, 4]))\n"
     "out = (x, a.grad, b.grad, s.grad, y, z)")
case("inplace_unary_binary_grads", "a = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)\nb = torch.tensor([1.5, 2.0, -0.5], requires_grad=True)\n"
     "x = a * 1\nx.exp_()\nx += b\nx.relu_()\nx *= b\nx.tanh_()\nx -= a\nx.sigmoid_()\nx /= b\nx.sin_()\nx **= 2\n"
     "(x * torch.tensor([1.0, 2.0, 3.0])).sum().backward()\nout = (x, a.grad, b.grad)")

# ---- torch.special: Bessel, Airy, normal-distribution functions, zeta, incomplete gamma,
# orthogonal polynomials (values in f32 across the ranges; f64 at the points where PyTorch's own
# Cephes-based values are accurate to 1e-12, and at the edges of each domain)
case("special_bessel_f32", "x = torch.tensor([-7.5, -1.5, 0.0, 0.5, 3.0, 6.0, 9.0, 25.0])\np = x.abs() + 0.05\nS = torch.special\n"
     "out = (S.bessel_j0(x), S.bessel_j1(x), S.bessel_y0(p), S.bessel_y1(p), S.modified_bessel_i0(x), S.modified_bessel_i1(x), "
     "S.modified_bessel_k0(p), S.modified_bessel_k1(p), S.scaled_modified_bessel_k0(p), S.scaled_modified_bessel_k1(p), "
     "S.spherical_bessel_j0(x), S.airy_ai(torch.tensor([-12.0, -6.0, -1.9, -0.5, 0.0, 1.0, 2.0, 2.5, 8.0])))")
case("special_edges_f64", "x = torch.tensor([float('-inf'), float('inf'), float('nan'), 0.0, -0.0, -1.0], dtype=torch.float64)\nS = torch.special\n"
     "out = [getattr(S, f)(x) for f in ['bessel_j0', 'bessel_j1', 'bessel_y0', 'bessel_y1', 'modified_bessel_i0', 'modified_bessel_i1', "
     "'modified_bessel_k0', 'modified_bessel_k1', 'scaled_modified_bessel_k0', 'scaled_modified_bessel_k1', 'airy_ai', "
     "'spherical_bessel_j0', 'ndtri', 'log_ndtr', 'erfcx', 'entr', 'ndtr', 'erfc']]")
case("special_normal", "S = torch.special\np = torch.tensor([1e-30, 1e-5, 0.02, 0.3, 0.5, 0.9, 0.999], dtype=torch.float64)\n"
     "x = torch.tensor([-30.0, -6.0, -1.0, 0.0, 0.5, 3.0, 9.0], dtype=torch.float64)\nf = x.float()\n"
     "out = (S.ndtri(p), S.ndtri(p.float()), S.log_ndtr(x), S.log_ndtr(f), S.erfcx(x), S.erfcx(f), S.ndtr(x), S.ndtr(f), "
     "S.entr(x.abs()), S.erfc(x), torch.erfc(f), torch.special.ndtri(torch.tensor([0, 1])))")
case("special_gradients", "S = torch.special\nx = torch.tensor([0.25, 0.5, 1.5, 2.0], dtype=torch.float64, requires_grad=True)\n"
     "p = torch.tensor([0.01, 0.2, 0.6, 0.95], dtype=torch.float64, requires_grad=True)\n"
     "y = (S.bessel_j0(x) + S.bessel_j1(x) * 2 + S.bessel_y0(x) * 3 + S.bessel_y1(x) * 4 + S.modified_bessel_i0(x) * 5 "
     "+ S.modified_bessel_i1(x) * 6 + S.modified_bessel_k0(x) * 7 + S.modified_bessel_k1(x) * 8 + S.log_ndtr(-x) + S.erfcx(x) "
     "+ S.entr(x) + S.ndtr(x) + S.erfc(x) + S.xlog1py(x, x) + S.zeta(torch.tensor(3.0, dtype=torch.float64), x) "
     "+ S.gammainc(torch.tensor(2.0, dtype=torch.float64), x) + S.gammaincc(torch.tensor(0.5, dtype=torch.float64), x)).sum() "
     "+ S.ndtri(p).sum()\ny.backward()\nout = (y, x.grad, p.grad)")
case("special_binary", "S = torch.special\na = torch.tensor([0.5, 1.0, 3.0, 12.0], dtype=torch.float64)\n"
     "x = torch.tensor([[0.1], [2.0], [30.0]], dtype=torch.float64)\ninf = float('inf')\n"
     "e = torch.tensor([0.0, 0.0, -1.0, 1.0, inf, inf, 2.0, 2.0, 1.0], dtype=torch.float64)\n"
     "f = torch.tensor([1.0, 0.0, 1.0, -1.0, 1.0, inf, 0.0, inf, float('nan')], dtype=torch.float64)\n"
     "out = (S.gammainc(a, x), S.gammaincc(a, x), torch.igamma(a, x), a.igammac(x), S.gammainc(e, f), S.gammaincc(e, f), "
     "S.zeta(torch.tensor([1.0, 0.5, 2.0, 2.0, 2.0, 4.0], dtype=torch.float64), torch.tensor([1.0, 1.0, 0.0, -1.0, -1.5, 0.5], dtype=torch.float64)), "
     "S.zeta(2.0, torch.tensor([1.0, 2.0])), S.zeta(torch.tensor([3, 4]), 2), S.xlog1py(torch.tensor([0.0, 0.0, 2.0]), torch.tensor([float('nan'), -1.0, 0.5])), "
     "S.xlog1py(2, torch.tensor([1.0])), torch.tensor([1.0, 2.0]).igamma_(torch.tensor([0.5, 0.5])))")
case("special_polynomials", "S = torch.special\nx = torch.tensor([[-1.0], [-0.7], [0.0], [0.3], [0.999], [1.0], [1.7], [-2.5]])\n"
     "n = torch.tensor([0.0, 1.0, 2.0, 3.0, 7.0, 9.0, 12.0, -1.0, 4.6])\nnames = ['chebyshev_polynomial_t', 'chebyshev_polynomial_u', "
     "'chebyshev_polynomial_v', 'chebyshev_polynomial_w', 'shifted_chebyshev_polynomial_t', 'shifted_chebyshev_polynomial_u', "
     "'shifted_chebyshev_polynomial_v', 'shifted_chebyshev_polynomial_w', 'hermite_polynomial_h', 'hermite_polynomial_he', "
     "'laguerre_polynomial_l', 'legendre_polynomial_p']\n"
     "out = ([getattr(S, f)(x, n) for f in names], [getattr(S, f)(x.double(), 5) for f in names], [getattr(S, f)(0.5, n) for f in names], "
     "S.chebyshev_polynomial_t(torch.tensor([1, 2]), torch.tensor([3])), S.hermite_polynomial_h(torch.tensor([0.5]), torch.tensor([129, 60])), "
     "S.chebyshev_polynomial_t(torch.tensor([2.0], dtype=torch.float64), 2000), "
     "S.legendre_polynomial_p(torch.tensor([0.3], requires_grad=True), 3).requires_grad, S.airy_ai(torch.ones(2, requires_grad=True)).requires_grad)")
case("special_misc", "S = torch.special\nx = torch.tensor([-2.5, -0.5, 0.0, 1.25, 3.5])\n"
     "out = (S.exp2(x), S.expm1(x), S.log1p(x.abs()), S.round(x), S.round(torch.tensor([1.2345, -2.5551]), decimals=2), "
     "torch.round(torch.tensor([1250.0, 1351.0]), decimals=-2), S.sinc(x), S.logsumexp(x, 0), S.softmax(x, 0), "
     "S.log_softmax(x, dim=0), S.expit(x), S.logit(torch.tensor([0.0, 0.25]), eps=1e-6), S.psi(x.abs() + 1), S.gammaln(x.abs() + 1), "
     "S.i0(x), S.i0e(x), S.i1(x), S.i1e(x), S.erf(x), S.erfinv(x / 4), S.xlogy(torch.tensor([0.0, 2.0]), torch.tensor([float('nan'), 3.0])), "
     "S.multigammaln(torch.tensor([2.5, 4.0]), 3), hasattr(torch, 'bessel_j0'), hasattr(torch.Tensor, 'zeta'), hasattr(torch.Tensor, 'igamma'))")
case("special_zeta_two_numbers", "out = torch.special.zeta(2.0, 3.0)")
case("special_zeta_grad_in_x", "x = torch.tensor([2.0], requires_grad=True)\ntorch.special.zeta(x, torch.tensor([1.5])).sum().backward()\nout = x.grad")
case("special_gammainc_grad_in_a", "a = torch.tensor([2.0], requires_grad=True)\ntorch.special.gammainc(a, torch.tensor([1.5])).sum().backward()\nout = a.grad")
case("special_bad_input_type", "out = torch.special.bessel_j0([1.0, 2.0])")

# ---- torch.autograd.forward_ad: dual tensors
case("forward_ad_basic", "fwAD = torch.autograd.forward_ad\nx = torch.tensor([1.0, 2.0, -0.5])\n"
     "with fwAD.dual_level():\n    d = fwAD.make_dual(x, torch.tensor([1.0, 0.5, 2.0]))\n    y = (d.sin() * 3 + d.exp() * d).tanh()\n"
     "    p, t = fwAD.unpack_dual(y)\n    u = fwAD.unpack_dual(x)\n    q = fwAD.unpack_dual(d)\nout = (p, t, u.tangent, q.primal, q.tangent, "
     "type(fwAD.unpack_dual(y)).__name__, fwAD.unpack_dual(y).tangent)")
case("forward_ad_two_inputs_and_module", "fwAD = torch.autograd.forward_ad\ntorch.manual_seed(0)\n"
     "lin = torch.nn.Linear(3, 2)\nwith torch.no_grad():\n    lin.weight.copy_(torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]))\n    lin.bias.fill_(0.1)\n"
     "a = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])\nb = torch.tensor([0.3, -0.2])\n"
     "with fwAD.dual_level():\n    da = fwAD.make_dual(a, torch.ones(2, 3))\n    db = fwAD.make_dual(b, torch.tensor([2.0, -1.0]))\n"
     "    y = torch.nn.functional.gelu(lin(da)) * db + (da ** 2).sum(1)\n    t = fwAD.unpack_dual(y).tangent\n"
     "    c = fwAD.unpack_dual(db * 0 + 1).tangent\nout = (t, c)")
case("forward_ad_with_reverse", "fwAD = torch.autograd.forward_ad\nx = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)\n"
     "v = torch.tensor([0.5, 1.0, -1.0])\nwith fwAD.dual_level():\n    y = (fwAD.make_dual(x, v) ** 3).sum()\n    t = fwAD.unpack_dual(y).tangent\n"
     "t.backward()\nout = (t, x.grad)")
case("forward_ad_decorator", "fwAD = torch.autograd.forward_ad\n@fwAD.dual_level()\ndef f(x):\n"
     "    return fwAD.unpack_dual(fwAD.make_dual(x, torch.ones_like(x)).cumsum(0)).tangent\nout = f(torch.tensor([1.0, 2.0, 3.0]))")
case("forward_ad_no_level", "fwAD = torch.autograd.forward_ad\nout = fwAD.make_dual(torch.ones(2), torch.ones(2))")
case("forward_ad_bad_shape", "fwAD = torch.autograd.forward_ad\nwith fwAD.dual_level():\n    out = fwAD.make_dual(torch.ones(2), torch.ones(3))")
case("forward_ad_int_primal", "fwAD = torch.autograd.forward_ad\nwith fwAD.dual_level():\n    out = fwAD.make_dual(torch.ones(2, dtype=torch.int64), torch.ones(2))")
case("forward_ad_exit_twice", "fwAD = torch.autograd.forward_ad\nfwAD.enter_dual_level()\nfwAD.exit_dual_level()\nout = fwAD.exit_dual_level()")

# ---- int8 and int16 tensors
case("int8_int16_basics", "a = torch.tensor([1, -2, 3, 127], dtype=torch.int8)\nb = torch.tensor([200, 3, 0, 255], dtype=torch.uint8)\n"
     "c = torch.tensor([1000, -30000, 7, 2], dtype=torch.short)\n"
     "out = (a, a * 100, a + b, (a + b).dtype, a + c, (a * 2.5), a / 2, a // 2, a % 3, a.abs(), -a, a & 6, a << 1, a >> 1, "
     "a.sum(), a.sum().dtype, a.cumsum(0), a.prod(), a.max(), a.argmin(), a.sort(), a.unique(), a.float(), c.to(torch.int8), "
     "c.char(), a.short(), torch.promote_types(torch.int8, torch.uint8), torch.promote_types(torch.int16, torch.int32), "
     "torch.iinfo(torch.int8).max, torch.iinfo(torch.int16).min, torch.int8.itemsize, torch.int16.is_signed, "
     "torch.CharTensor([1, 2]).dtype, torch.ShortTensor([3]).dtype, a.view(2, 2) @ a.view(2, 2), a.element_size(), "
     "torch.zeros(2, dtype=torch.int8), torch.arange(4, dtype=torch.int16), torch.full((2,), -3, dtype=torch.int8), "
     "torch.where(a > 0, a, torch.tensor(0, dtype=torch.int8)), a.clamp(-1, 2), torch.int16 == torch.short)")
case("int8_int16_numpy_and_save", "import io\nimport numpy as np\na = torch.tensor([[1, -2], [3, -128]], dtype=torch.int8)\n"
     "c = torch.tensor([1000, -30000], dtype=torch.int16)\nbuf = io.BytesIO()\ntorch.save({'a': a, 'c': c}, buf)\nbuf.seek(0)\n"
     "d = torch.load(buf)\nout = (str(a.numpy().dtype), torch.from_numpy(np.array([5, -6], dtype=np.int8)), "
     "torch.from_numpy(np.array([7], dtype=np.int16)).dtype, torch.tensor(np.array([1, 2], dtype=np.int8)).dtype, d['a'], d['c'], "
     "a.tolist(), torch.as_tensor([1, 2], dtype=torch.int16))")
case("int_casts_wrap", "out = (torch.tensor([300.0, -200.5, 1e10, -1.5, 256.7]).to(torch.int8), torch.tensor([300.0, 70000.0]).to(torch.int16), "
     "torch.tensor([300, 70000, -1]).to(torch.uint8), torch.tensor([-1.5, 256.7]).to(torch.uint8), torch.tensor([2 ** 40 + 5]).to(torch.int32), "
     "torch.tensor([1000, -129], dtype=torch.int16).to(torch.int8), torch.tensor([-1], dtype=torch.int8).to(torch.uint8), "
     "torch.tensor([200], dtype=torch.uint8).to(torch.int8), torch.tensor([True, False]).to(torch.int8))")
case("half_norms_round_once", "g = torch.linspace(-0.3, 0.25, 32, dtype=torch.float64).reshape(8, 4) * torch.arange(1, 33, dtype=torch.float64).reshape(8, 4).sin()\n"
     "x = g.to(torch.bfloat16)\nh = g.to(torch.float16)\n"
     "out = (x.norm(), x.norm(dim=1), torch.linalg.vector_norm(x, 3), h.norm(), h.norm(1), torch.linalg.vector_norm(h, 0.5, dim=0), "
     "torch.tensor([1.01171875 - 1e-12, -1.01171875 + 1e-12, 3.0], dtype=torch.float64).to(torch.bfloat16))")

# ---- LU family and the _ex variants
_LU = ("A = torch.tensor([[2.0, -1.0, 0.5], [4.0, 1.0, -3.0], [-1.0, 2.5, 1.0]], dtype=torch.float64)\n"
       "S = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64)\n")
case("lu_factor_forms", _LU + "LU, piv = torch.linalg.lu_factor(A)\nW = torch.tensor([[0.3, -1.2, 2.0, 0.7], [1.5, 0.4, -0.6, 2.2], [-0.9, 1.1, 0.8, -1.7]])\n"
     "out = (LU, piv, torch.linalg.lu_factor_ex(S), torch.linalg.lu(W), torch.linalg.lu(W.mT), "
     "torch.linalg.lu_factor(torch.stack([A, A.flip(0)])), torch.lu_unpack(LU, piv), "
     "torch.lu_unpack(LU, piv, unpack_data=False).P, torch.linalg.lu_factor(torch.zeros(0, 0)), "
     "torch.linalg.lu_factor_ex(torch.tensor([[0., 1, 2], [0, 3, 4], [0, 5, 7]])), torch.linalg.lu_factor(A.float()))")
case("lu_solve_forms", _LU + "LU, piv = torch.linalg.lu_factor(A)\nB = torch.tensor([[1.0, 0.5], [-2.0, 3.0], [0.25, 1.0]], dtype=torch.float64)\n"
     "out = (torch.linalg.lu_solve(LU, piv, B), torch.linalg.lu_solve(LU, piv, B, adjoint=True), "
     "torch.linalg.lu_solve(LU, piv, B.mT, left=False), torch.linalg.lu_solve(LU, piv, B.mT, left=False, adjoint=True), "
     "torch.lu_solve(B, LU, piv), B.lu_solve(LU, piv), torch.linalg.solve(A, B))")
case("lu_grads", _LU + "A.requires_grad_()\nP, L, U = torch.linalg.lu(A)\n"
     "B = torch.tensor([[1.0], [2.0], [-1.0]], dtype=torch.float64, requires_grad=True)\n"
     "LU, piv = torch.linalg.lu_factor(A)\nX = torch.linalg.lu_solve(LU, piv, B)\n"
     "((L * 2).sum() + (U ** 2).sum() + X.sum()).backward()\nout = (A.grad, B.grad)")
case("lu_factor_singular_error", _LU + "out = torch.linalg.lu_factor(torch.stack([A, S.new_zeros(3, 3)]))")
case("lu_factor_no_pivot_error", _LU + "out = torch.linalg.lu_factor(A, pivot=False)")
case("lu_factor_int_error", "out = torch.linalg.lu_factor(torch.ones(2, 2, dtype=torch.long))")
case("lu_factor_1d_error", "out = torch.linalg.lu_factor(torch.ones(3))")
case("lu_solve_shape_error", _LU + "out = torch.linalg.lu_solve(*torch.linalg.lu_factor(A), torch.ones(2, 1, dtype=torch.float64))")
case("linalg_ex_variants", _LU + "out = (torch.linalg.inv_ex(A), torch.linalg.inv_ex(S), torch.linalg.solve_ex(A, torch.ones(3, dtype=torch.float64)), "
     "torch.linalg.solve_ex(S, torch.ones(2, dtype=torch.float64)), torch.linalg.cholesky_ex(A @ A.mT), "
     "torch.linalg.cholesky_ex(S).info, torch.linalg.cholesky_ex(torch.stack([A @ A.mT, -A @ A.mT])).info, "
     "torch.linalg.cholesky_ex(A @ A.mT, upper=True).L, torch.linalg.solve_ex(A, torch.eye(3, dtype=torch.float64), left=False))")
case("linalg_inv_ex_check_errors", _LU + "out = torch.linalg.inv_ex(S, check_errors=True)")
case("linalg_tensor_inv_solve", "A = (torch.arange(36.) * 0.37).sin().reshape(6, 2, 3) + torch.eye(6).reshape(6, 2, 3)\n"
     "B = torch.arange(6.).reshape(2, 3)\nC = (torch.arange(24.) * 0.7).cos().reshape(2, 3, 4) + torch.eye(6)[:, :4].reshape(2, 3, 4)\n"
     "out = (torch.linalg.tensorinv(A, ind=1), torch.linalg.tensorsolve(A.reshape(2, 3, 6).reshape(2, 3, 2, 3), B), "
     "torch.linalg.tensorsolve(torch.eye(6).reshape(6, 2, 3).permute(1, 2, 0) * 2, torch.ones(6), dims=(0, 1)), "
     "torch.linalg.vander(torch.tensor([1.0, 2.0, 3.0])), torch.linalg.vander(torch.tensor([[1, 2], [3, 4]], dtype=torch.int32), N=3))")
case("linalg_tensorinv_error", "out = torch.linalg.tensorinv(torch.ones(2, 3), ind=1)")
case("linalg_vander_error", "out = torch.linalg.vander(torch.tensor(1.0))")

# ---- memory formats, gradient, bitwise_not, fill_diagonal_, legacy constructors, default_generator
case("memory_format_channels_last", "x = torch.arange(24.).reshape(1, 2, 3, 4)\ny = x.contiguous(memory_format=torch.channels_last)\n"
     "z = torch.arange(48.).reshape(1, 2, 2, 3, 4).to(memory_format=torch.channels_last_3d)\n"
     "out = (y.stride(), y.is_contiguous(), y.is_contiguous(memory_format=torch.channels_last), torch.equal(x, y), "
     "y.clone().stride(), y.clone(memory_format=torch.contiguous_format).stride(), x.to(memory_format=torch.channels_last).stride(), "
     "z.stride(), z.is_contiguous(memory_format=torch.channels_last_3d), x.is_contiguous(memory_format=torch.channels_last), "
     "torch.ones(2, 3).is_contiguous(memory_format=torch.channels_last), repr(torch.channels_last), "
     "y.contiguous().stride(), (y * 2).sum(), torch.nn.functional.conv2d(y, torch.ones(1, 2, 2, 2)))")
case("memory_format_rank_error", "out = torch.ones(2, 3).contiguous(memory_format=torch.channels_last)")
case("gradient_forms", "f = torch.tensor([1.0, 4.0, 9.0, 16.0, 30.0])\nm = torch.tensor([[1.0, 2.0, 4.0, 8.0], [2.0, 5.0, 9.0, 10.0], [0.5, 1.0, 3.0, 7.0]])\n"
     "x = torch.tensor([0.0, 1.0, 3.0, 4.0, 7.0])\n"
     "out = (torch.gradient(f), torch.gradient(f, spacing=2.0), torch.gradient(f, edge_order=2), torch.gradient(m), "
     "torch.gradient(m, spacing=[2.0, 0.5]), torch.gradient(m, dim=1, edge_order=2), torch.gradient(m, spacing=3.0, dim=-1), "
     "torch.gradient(f, spacing=(x,)), torch.gradient(f, spacing=(x,), edge_order=2), torch.gradient(torch.tensor([1, 4, 9])), "
     "torch.gradient(m, spacing=(torch.tensor([0.0, 1.0, 1.5]), torch.tensor([0.0, 2.0, 3.0, 7.0]))))")
case("gradient_grad", "f = torch.tensor([1.0, 4.0, 9.0, 16.0], requires_grad=True)\n"
     "(torch.gradient(f, edge_order=2)[0] * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()\nout = f.grad")
case("gradient_too_short", "out = torch.gradient(torch.tensor([1.0, 2.0]), edge_order=2)")
case("gradient_spacing_length", "out = torch.gradient(torch.ones(3, 3), spacing=[1.0, 2.0, 3.0])")
case("bitwise_not_forms", "x = torch.tensor([0, 5, -3])\nb = torch.tensor([True, False])\ny = x.clone(); y.bitwise_not_()\n"
     "out = (torch.bitwise_not(x), b.bitwise_not(), y, torch.tensor([7], dtype=torch.uint8).bitwise_not())")
case("bitwise_not_float", "out = torch.bitwise_not(torch.tensor([1.0]))")
case("fill_diagonal_forms", "a = torch.tensor([[1, 2, 3], [4, 5, 6]]).fill_diagonal_(0)\n"
     "b = torch.zeros(5, 3).fill_diagonal_(1, wrap=True)\nc = torch.zeros(5, 3).fill_diagonal_(1)\n"
     "d = torch.zeros(3, 3, 3).fill_diagonal_(2)\ne = torch.zeros(2, 4).fill_diagonal_(-1.5, wrap=True)\n"
     "f = torch.zeros(7, 2).fill_diagonal_(3, wrap=True)\nout = (a, b, c, d, e, f)")
case("fill_diagonal_unequal", "out = torch.zeros(3, 4, 3).fill_diagonal_(2)")
case("fill_diagonal_1d", "out = torch.zeros(3).fill_diagonal_(2)")
case("legacy_new_range_frombuffer", "import warnings\nwith warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n"
     "    r = (torch.range(1, 4), torch.range(0, 1, 0.25, dtype=torch.float64))\n"
     "out = r + (torch.tensor([1, 2]).new([3, 4]), torch.tensor([1.0, 2.0]).new(2, 3).shape, torch.tensor([1.0]).new(torch.Size([2])).shape, "
     "torch.tensor([1.0, -2.0]).apply_(lambda v: v * 2), torch.tensor([1.0, 2.0]).map_(torch.tensor([3.0, 4.0]), lambda a, b: a + b), "
     "torch.tensor([1, 2]).map2_(torch.tensor([3, 4]), torch.tensor([1, 1]), lambda a, b, c: a * b - c), "
     "torch.frombuffer(bytearray(b'\\x01\\x00\\x02\\x00'), dtype=torch.int16), "
     "torch.frombuffer(bytearray(b'\\x00\\x00\\x80\\x3f\\x00\\x00\\x00\\x40'), dtype=torch.float32, offset=4), "
     "torch.tensor([1.0]).is_nonzero(), torch.newaxis is None, torch.tensor([1.0, -2.0]).hardshrink(1.5), "
     "torch.tensor([1.0, -2.0]).prelu(torch.tensor([0.25])))")
case("frombuffer_shares_writable_memory", "a = bytearray(b'\\x01\\x00\\x02\\x00\\x03\\x00')\nt = torch.frombuffer(a, dtype=torch.int16, offset=2)\nt[0] = 7\n"
     "a[5] = 1\nout = (t, list(a), torch.frombuffer(bytearray(b'\\x00\\x01\\x02'), dtype=torch.bool), "
     "torch.frombuffer(b'\\x05\\x00', dtype=torch.int16))")
case("is_nonzero_ambiguous", "out = torch.tensor([1.0, 2.0]).is_nonzero()")
case("default_generator_is_global", "torch.default_generator.manual_seed(7)\na = torch.rand(3)\ntorch.manual_seed(7)\nb = torch.rand(3)\n"
     "s = torch.default_generator.get_state()\nc = torch.rand(2)\ntorch.default_generator.set_state(s)\n"
     "out = (torch.equal(a, b), torch.equal(c, torch.rand(2)), torch.default_generator.initial_seed(), "
     "torch.equal(torch.randn(2, generator=torch.default_generator), torch.randn(2)) is False)")
case("range_needs_end", "out = torch.range(5)")
case("func_linearize", "x = torch.tensor([[0.5, 1.0], [2.0, -1.0]], dtype=torch.float64)\n"
     "t = torch.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=torch.float64)\n"
     "out, jf = torch.func.linearize(lambda a: (a.sin() * a).sum(0), x)\n"
     "o2, j2 = torch.func.linearize(lambda a, b: (a * b, a.exp(), b * 0 + 3), x, x + 1)\n"
     "o3, j3 = torch.func.linearize(lambda a: a * 2, x)\n"
     "out = (out, jf(t), jf(t * 2), o2, j2(t, -t), j3(t))")
case("histogramdd_forms", "p = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]])\n"
     "q = torch.tensor([[0.0, 0.5], [1.0, 3.0], [5.0, 0.2]])\n"
     "out = (torch.histogramdd(p, bins=[3, 3], weight=torch.tensor([1.0, 2.0, 4.0, 8.0])), "
     "torch.histogramdd(torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), bins=[2, 2], range=[0.0, 1.0, 0.0, 1.0], density=True), "
     "torch.histogramdd(torch.tensor([[1.0, 1.0], [1.0, 1.0]]), bins=2), "
     "torch.histogramdd(q, bins=[torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 0.5, 4.0])]), "
     "torch.histogramdd(q, bins=[2, 3], density=True), torch.histogramdd(q.reshape(3, 1, 2), bins=2).hist)")
case("histogramdd_1d_error", "out = torch.histogramdd(torch.tensor([0.0, 1.0]), bins=2)")
case("angle_norms_triangular", "import warnings\nx = torch.tensor([1.0, -2.0, 0.0, float('nan'), -0.0])\nA = torch.tensor([[2.0, 0.0], [1.0, 1.0]])\n"
     "with warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n"
     "    ts = (torch.triangular_solve(torch.ones(2, 1), A, upper=False), torch.triangular_solve(torch.ones(2, 1), A.mT, upper=True, transpose=True).solution, "
     "torch.ones(2, 1).triangular_solve(A, upper=False, unitriangular=True).solution)\n"
     "out = (torch.angle(x), x.angle(), torch.angle(torch.tensor([1, -2])), torch.real(x), "
     "torch.nuclear_norm(torch.tensor([[1.0, 2.0], [3.0, 4.0]])), torch.frobenius_norm(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=(0, 1))) + ts")
case("removed_torch_solve", "out = torch.solve(torch.eye(2), torch.eye(2))")
case("removed_torch_symeig", "out = torch.symeig(torch.eye(2))")
case("removed_torch_matrix_rank", "out = torch.matrix_rank(torch.eye(2))")
case("tensor_storages", "import warnings\nbase = torch.arange(6.0)\nt = base.reshape(2, 3)[1:]\nu = t.untyped_storage()\n"
     "with warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n    s = t.storage()\n"
     "s[0] = 9.0\n"
     "out = (u.nbytes(), len(u), u.size(), t.data_ptr() - u.data_ptr(), u.data_ptr() == base.untyped_storage().data_ptr(), "
     "s.size(), len(s), s.dtype, s.tolist(), s.nbytes(), s.element_size(), s[4], base, s.untyped().nbytes(), "
     "torch.ones(3, dtype=torch.int16).untyped_storage().nbytes(), torch.ones(2).untyped_storage().data_ptr() != u.data_ptr())")
case("control_flow_and_probes", "t = torch.ones(2)\n"
     "c = (torch.cond(torch.tensor(True), lambda x: x + 1, lambda x: x - 1, (t,)), torch.cond(False, lambda x: x + 1, lambda x: x - 1, [t]), "
     "torch.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2), (torch.tensor(0), t)))\n"
     "d = (torch.zeros(2, 3, 4).dim_order(), torch.zeros(2, 3, 4).permute(2, 0, 1).dim_order(), "
     "torch.zeros(1, 2, 3, 3).contiguous(memory_format=torch.channels_last).dim_order())\n"
     "with torch.autocast('cpu'):\n    a = (torch.is_autocast_enabled('cpu'), torch.is_autocast_cpu_enabled(), torch.get_autocast_dtype('cpu'), torch.is_autocast_enabled())\n"
     "with torch.autocast('cpu', dtype=torch.float16, enabled=False):\n    a2 = (torch.is_autocast_enabled('cpu'), torch.get_autocast_dtype('cpu'))\n"
     "torch.use_deterministic_algorithms(True, warn_only=True)\nm1 = torch.get_deterministic_debug_mode()\ntorch.set_deterministic_debug_mode('error')\n"
     "m2 = (torch.get_deterministic_debug_mode(), torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())\n"
     "torch.set_deterministic_debug_mode(0)\n"
     "out = c + d + a + a2 + (torch.is_autocast_enabled('cpu'), m1) + m2 + (torch.get_deterministic_debug_mode(), torch.is_inference_mode_enabled(), "
     "torch.get_autocast_cpu_dtype())\n"
     # torch.cond runs through dynamo, which turns distribution validation off for the process
     "torch.distributions.Distribution.set_default_validate_args(True)")
case("cond_pred_error", "out = torch.cond(torch.tensor([True, False]), lambda x: x, lambda x: x, (torch.ones(1),))")
case("func_functionalize", "def f(x):\n    y = x.clone()\n    y.add_(1)\n    return y * 2\n"
     "x = torch.tensor([1.0, 2.0])\nout = (torch.func.functionalize(f)(x), torch.func.functionalize(f, remove='mutations_and_views')(x), x)")
