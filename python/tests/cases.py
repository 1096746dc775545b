"""Snippets run against PyTorch (``tools/gen_python_fixtures.py`` records what torch gives,
into ``fixtures/torch_cases.json``) and against Ember (``test_parity.py`` compares): each is a
block of code with ``torch`` bound to the library under test that sets ``out``. Values,
dtypes, shapes, ``repr`` strings and exception types must agree.

The same functions serve ``tools/parity.py``, which runs both libraries live.
"""

import math

CASES = {}


def case(name, code):
    CASES[name] = code


# ---- creation and dtype inference
case("tensor_float", "out = torch.tensor([[1.0, 2], [3, 4]])")
case("tensor_int", "out = torch.tensor([1, 2, 3])")
case("tensor_bool", "out = torch.tensor([True, False])")
case("tensor_mixed", "out = torch.tensor([True, 2, 3.5])")
case("tensor_scalar", "out = torch.tensor(3.5)")
case("tensor_empty", "out = torch.tensor([])")
case("tensor_nested_tensors", "out = torch.tensor([torch.tensor(1.0), torch.tensor(2.0)])")
case("tensor_dtype_kw", "out = torch.tensor([1, 2], dtype=torch.float64)")
case("tensor_ragged", "out = torch.tensor([[1, 2], [3]])")
case("tensor_big_int", "out = torch.tensor([2**60 + 1])")
case("zeros_varargs", "out = torch.zeros(2, 3)")
case("zeros_tuple", "out = torch.zeros((2, 3), dtype=torch.int64)")
case("ones_list", "out = torch.ones([3])")
case("full_int", "out = torch.full((2, 2), 7)")
case("full_float", "out = torch.full((2,), 1.5)")
case("full_bool", "out = torch.full((2,), True)")
case("arange_int", "out = torch.arange(5)")
case("arange_float", "out = torch.arange(0, 1, 0.25)")
case("arange_start_end", "out = torch.arange(2, 7, 2)")
case("linspace", "out = torch.linspace(0, 1, 5)")
case("eye", "out = torch.eye(3)")
case("eye_rect", "out = torch.eye(2, 3)")
case("zeros_like", "out = torch.zeros_like(torch.ones(2, 3, dtype=torch.int32))")
case("ones_like_dtype", "out = torch.ones_like(torch.zeros(2), dtype=torch.float64)")
case("full_like", "out = torch.full_like(torch.zeros(2, 2), 3.0)")
case("negative_size", "out = torch.zeros(-1)")
case("default_dtype", "out = torch.get_default_dtype()")
case("dtype_alias", "out = (torch.float is torch.float32, torch.long is torch.int64, torch.double)")
case("dtype_props", "out = (torch.float32.is_floating_point, torch.int64.is_floating_point, torch.float16.itemsize)")

# ---- attributes
case("shape_size", "x = torch.zeros(2, 3, 4); out = (x.shape, x.size(), x.size(1), x.size(-1), x.dim(), x.ndim, x.numel())")
case("shape_type", "out = type(torch.zeros(2).shape).__name__")
case("size_repr", "out = repr(torch.zeros(2, 3).shape)")
case("strides", "x = torch.zeros(2, 3, 4); out = (x.stride(), x.t().stride() if x.dim() == 2 else x.transpose(0, 2).stride())")
case("is_leaf_rg", "x = torch.ones(2, requires_grad=True); y = x * 2; out = (x.is_leaf, y.is_leaf, x.requires_grad, y.requires_grad)")
case("T_mT", "x = torch.arange(6.).reshape(2, 3); out = (x.T, x.mT, torch.arange(24.).reshape(2, 3, 4).mT.shape)")
case("dtype_attr", "out = (torch.zeros(1).dtype, torch.zeros(1, dtype=torch.int32).dtype)")
case("device_attr", "out = str(torch.zeros(1).device)")
case("element_size", "out = (torch.zeros(3).element_size(), torch.zeros(3, dtype=torch.float64).nbytes)")
case("is_floating", "out = (torch.zeros(1).is_floating_point(), torch.zeros(1, dtype=torch.long).is_floating_point())")

# ---- printing (exact)
case("repr_float", "out = repr(torch.tensor([[1.0, 2.5], [3.25, -4.0]]))")
case("repr_int", "out = repr(torch.tensor([1, -20, 300]))")
case("repr_bool", "out = repr(torch.tensor([True, False]))")
case("repr_scalar", "out = repr(torch.tensor(3.5))")
case("repr_dtype", "out = repr(torch.tensor([1.0, 2.0], dtype=torch.float64))")
case("repr_grad", "x = torch.tensor([1.0, 2.0], requires_grad=True); out = (repr(x), repr(x * 2), repr(x + 1), repr(x.sum()), repr(x.exp()))")
case("repr_sci", "out = repr(torch.tensor([1e-8, 1.0, 1e8]))")
case("repr_empty", "out = repr(torch.zeros(0, 3))")
case("str_tensor", "out = str(torch.arange(3))")
case("grad_fn_name", "x = torch.ones(2, requires_grad=True); out = ((x * x).grad_fn.name(), (x * 2).grad_fn.name(), x.sum().grad_fn.name(), (x @ x).grad_fn is not None)")

# ---- conversions
case("item", "out = (torch.tensor(2.5).item(), torch.tensor([7]).item(), torch.tensor(True).item())")
case("tolist", "out = torch.tensor([[1, 2], [3, 4]]).tolist()")
case("tolist_float", "out = torch.tensor([0.5, 1.5]).tolist()")
case("python_scalars", "x = torch.tensor(3.7); out = (float(x), int(x), bool(torch.tensor(0.0)), int(torch.tensor(-2.9)))")
case("bool_ambiguous", "out = bool(torch.tensor([1, 2]))")
case("len_iter", "x = torch.arange(6).reshape(3, 2); out = (len(x), [r.tolist() for r in x])")
case("index_dunder", "out = [10, 20, 30][torch.tensor(1)]")
case("to_dtype", "x = torch.tensor([1.7, -2.2]); out = (x.to(torch.int64), x.to('cpu').dtype, x.to(dtype=torch.float64), x.long(), x.int(), x.double(), x.half(), x.bool())")
case("to_other", "out = torch.tensor([1.5]).to(torch.zeros(1, dtype=torch.float64))")
case("type_str", "out = (torch.zeros(1).type(), torch.zeros(1, dtype=torch.long).type())")
case("float_to_int_trunc", "out = torch.tensor([-1.5, 2.9, -0.1]).to(torch.int32)")

# ---- arithmetic and promotion
case("add_broadcast", "out = torch.arange(6.).reshape(2, 3) + torch.tensor([10., 20., 30.])")
case("int_plus_float_scalar", "out = torch.tensor([1, 2]) + 1.5")
case("int_plus_int_scalar", "out = torch.tensor([1, 2], dtype=torch.int32) + 3")
case("uint8_plus_int", "out = torch.tensor([250], dtype=torch.uint8) + 10")
case("bool_plus_int", "out = torch.tensor([True, False]) + 1")
case("float_times_int_tensor", "out = torch.tensor([1.5]) * torch.tensor([2])")
case("float32_plus_float64_0d", "out = (torch.ones(2) + torch.tensor(1.0, dtype=torch.float64)).dtype")
case("int_plus_float64_0d", "out = (torch.ones(2, dtype=torch.int32) + torch.tensor(1.0, dtype=torch.float64)).dtype")
case("reflected", "x = torch.tensor([1., 2., 4.]); out = (2 - x, 2 / x, 2 ** x, 1 + x, 3 * x)")
case("true_div_ints", "out = torch.tensor([1, 2, 3]) / 2")
case("floordiv", "out = (torch.tensor([7, -7, 5]) // 2, torch.tensor([7.5, -7.5]) // 2)")
case("mod", "out = (torch.tensor([7, -7, 5]) % 3, torch.tensor([5.5, -5.5]) % 2)")
case("pow_ops", "x = torch.tensor([1., 2., 3.]); out = (x ** 2, x ** 0.5, x ** x, torch.tensor([2, 3]) ** 2)")
case("matmul_op", "a = torch.arange(6.).reshape(2, 3); b = torch.arange(12.).reshape(3, 4); out = (a @ b, a @ torch.ones(3))")
case("comparisons", "x = torch.tensor([1, 2, 3]); out = (x == 2, x != 2, x < 2, x <= 2, x > 2, x >= 2, x == torch.tensor([1, 0, 3]))")
case("bitwise", "a = torch.tensor([12, 10]); b = torch.tensor([10, 6]); out = (a & b, a | b, a ^ b, ~a)")
case("bool_logic", "a = torch.tensor([True, False, True]); b = torch.tensor([True, True, False]); out = (a & b, a | b, a ^ b, ~a)")
case("neg_abs", "x = torch.tensor([-1.5, 2.0]); out = (-x, abs(x), +x)")
case("neg_bool", "out = -torch.tensor([True])")
case("inplace_ops", "x = torch.tensor([1., 2.]); x += 1; x *= 3; x -= torch.tensor([1., 1.]); x /= 2; out = x")
case("inplace_int_div_error", "x = torch.tensor([1, 2]); x /= 2; out = x")
case("inplace_methods", "x = torch.tensor([1., 4.]); x.add_(1).mul_(2).sqrt_(); out = x")
case("add_alpha", "out = torch.add(torch.ones(2), torch.ones(2), alpha=3)")
case("sub_alpha", "out = torch.ones(2).sub(torch.ones(2), alpha=0.5)")
case("div_rounding", "x = torch.tensor([7., -7.]); out = (torch.div(x, 2, rounding_mode='floor'), x.div(2, rounding_mode='trunc'))")

# ---- elementwise math (from Ember's op table)
X = "x = torch.tensor([0.1, 0.5, 0.9])"
for fn in ["exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "erf", "asin", "acos",
           "atan", "sinh", "cosh", "asinh", "atanh", "log1p", "expm1", "log2", "log10", "reciprocal", "square"]:
    case(f"math_{fn}", f"{X}; out = (torch.{fn}(x), x.{fn}())")
case("math_rounding", "x = torch.tensor([-2.5, -1.5, -0.4, 0.5, 1.5, 2.6]); out = (x.floor(), x.ceil(), x.round(), x.trunc(), x.frac(), x.sign())")
case("math_relu", "out = torch.relu(torch.tensor([-1., 0., 2.]))")
case("math_int_promotes", "out = torch.exp(torch.tensor([0, 1]))")
case("math_aliases", "x = torch.tensor([0.5]); out = (torch.arcsin(x), torch.absolute(-x), torch.negative(x), torch.clip(x, 0, 0.2))")
case("clamp", "x = torch.tensor([-2., 0.5, 3.]); out = (x.clamp(-1, 1), x.clamp(min=0), x.clamp(max=0), torch.clamp(x, torch.tensor([0., 0., 0.]), torch.tensor([1., 1., 1.])))")
case("maximum_minimum", "a = torch.tensor([1., 5.]); b = torch.tensor([3., 2.]); out = (torch.maximum(a, b), torch.minimum(a, b), a.max(b))")
case("atan2_logaddexp", "a = torch.tensor([1., -1.]); b = torch.tensor([2., 0.5]); out = (torch.atan2(a, b), torch.logaddexp(a, b))")
case("isnan_family", "x = torch.tensor([1., float('nan'), float('inf')]); out = (x.isnan(), x.isinf(), x.isfinite())")
case("where", "c = torch.tensor([True, False, True]); out = (torch.where(c, torch.tensor([1., 2., 3.]), torch.tensor([-1., -2., -3.])), torch.where(c, 1.0, 0.0) if False else torch.where(c, torch.ones(3), 0.0), torch.tensor([1., 2., 3.]).where(c, torch.zeros(3)))")
case("where_nonzero", "out = torch.where(torch.tensor([[0, 1], [1, 1]]))")
case("masked_fill", "x = torch.arange(4.); out = x.masked_fill(x > 1, -1.0)")
case("logical", "a = torch.tensor([0, 1, 2]); b = torch.tensor([1, 0, 3]); out = (torch.logical_and(a, b), torch.logical_or(a, b), torch.logical_not(a), torch.logical_xor(a, b))")

# ---- reductions
M = "x = torch.tensor([[1., 5., 3.], [4., 2., 6.]])"
case("sum", f"{M}; out = (x.sum(), x.sum(0), x.sum(dim=1, keepdim=True), x.sum((0, 1)), torch.sum(x, dim=-1))")
case("sum_int_dtype", "out = (torch.tensor([1, 2], dtype=torch.int32).sum().dtype, torch.tensor([True, True]).sum())")
case("sum_dtype_kw", f"{M}; out = x.sum(dtype=torch.float64)")
case("mean", f"{M}; out = (x.mean(), x.mean(0), x.mean(dim=(0, 1)), x.mean(1, keepdim=True))")
case("mean_int_error", "out = torch.tensor([1, 2]).mean()")
case("max_min", f"{M}; out = (x.max(), x.min(), x.max(dim=1), x.min(0, keepdim=True), x.max(1).values, x.max(1).indices)")
case("max_return_type", f"{M}; r = x.max(dim=0); v, i = r; out = (type(r).__name__, v, i)")
case("amax_argmax", f"{M}; out = (x.amax(), x.amax(dim=0), x.amin(1), x.argmax(), x.argmax(dim=1), x.argmin(0, keepdim=True))")
case("prod", f"{M}; out = (x.prod(), x.prod(1), x.prod(dim=0, keepdim=True))")
case("var_std", f"{M}; out = (x.var(), x.var(0), x.var(1, unbiased=False), x.std(), x.std(dim=1, keepdim=True), x.var(correction=0), x.var(False))")
case("logsumexp", f"{M}; out = (x.logsumexp(1), torch.logsumexp(x, dim=0, keepdim=True))")
case("softmax", f"{M}; out = (x.softmax(1), torch.softmax(x, dim=0), x.log_softmax(-1), torch.log_softmax(x, 1, dtype=torch.float64))")
case("cumsum", f"{M}; out = (x.cumsum(1), torch.cumsum(x, dim=0), torch.tensor([1, 2, 3]).cumsum(0))")
case("all_any", "x = torch.tensor([[True, False], [True, True]]); out = (x.all(), x.any(), x.all(1), x.any(dim=0), torch.tensor([1, 0]).all())")
case("nansum", "out = torch.tensor([1., float('nan'), 2.]).nansum()")

# ---- shape ops
S = "x = torch.arange(24.).reshape(2, 3, 4)"
case("reshape_view", f"{S}; out = (x.reshape(6, 4).shape, x.view(-1).shape, x.reshape((4, -1)).shape, x.view(2, 12).shape, torch.reshape(x, (24,)).shape)")
case("view_error", f"{S}; out = x.transpose(0, 1).view(-1)")
case("flatten_unflatten", f"{S}; out = (x.flatten().shape, x.flatten(1).shape, x.flatten(0, 1).shape, torch.flatten(x, start_dim=1).shape, x.unflatten(2, (2, 2)).shape)")
case("permute_transpose", f"{S}; out = (x.permute(2, 0, 1).shape, x.permute((1, 0, 2)).shape, x.transpose(0, 2).shape, x.swapaxes(1, 2).shape, torch.permute(x, (2, 1, 0))[1, 2, 0])")
case("squeeze_unsqueeze", "x = torch.zeros(1, 3, 1, 2); out = (x.squeeze().shape, x.squeeze(0).shape, x.squeeze(1).shape, x.squeeze((0, 2)).shape, x.unsqueeze(-1).shape, torch.unsqueeze(x, 0).shape)")
case("expand", "x = torch.tensor([[1.], [2.]]); out = (x.expand(2, 3), x.expand(-1, 2), x.expand_as(torch.zeros(2, 4)).shape, x.broadcast_to((3, 2, 2)).shape)")
case("narrow_select", f"{S}; out = (x.narrow(2, 1, 2).shape, x.select(1, -1), torch.narrow(x, 0, 1, 1).shape)")
case("split_chunk", "x = torch.arange(10.); out = (x.split(4), x.split([2, 3, 5]), x.chunk(3), torch.chunk(x, 4), x.unbind(0)[3])")
case("split_bad_sizes", "out = torch.arange(10.).split([2, 3])")
case("repeat", "out = (torch.tensor([1, 2]).repeat(2, 2), torch.tensor([[1], [2]]).repeat(1, 3))")
case("tril_triu", "x = torch.arange(9.).reshape(3, 3); out = (x.tril(), x.triu(1), torch.tril(x, -1))")
case("flip", "x = torch.arange(6).reshape(2, 3); out = (x.flip(0), x.flip(1), x.flip(0, 1), torch.flip(x, [1]))")
case("cat_stack", "a = torch.ones(2, 2); b = torch.zeros(2, 2); out = (torch.cat([a, b]), torch.cat((a, b), dim=1), torch.stack([a, b]).shape, torch.stack([a, b], dim=2).shape, torch.concat([a, b], 1).shape)")
case("cat_promotes", "out = torch.cat([torch.ones(1, dtype=torch.int64), torch.ones(1)])")
case("t_2d", "out = torch.arange(6).reshape(2, 3).t()")
case("contiguous_clone", "x = torch.arange(6.).reshape(2, 3).t(); y = x.contiguous(); z = x.clone(); out = (x.is_contiguous(), y.is_contiguous(), z.tolist())")

# ---- indexing
case("getitem_basic", f"{S}; out = (x[0], x[-1, 1], x[:, 1:3, ::2], x[..., 0], x[0, ..., -1], x[None].shape, x[:, None, 1].shape, x[1, 2, 3])")
case("getitem_steps", "x = torch.arange(10); out = (x[::3], x[1:8:2], x[-3:], x[:-7], x[5:2])")
case("getitem_list", f"{S}; out = (x[[0, 1, 0]].shape, x[:, [2, 0]], x[[1, 0], :, [3, 1]], x[0, [1, 2], 0])")
case("getitem_tensor", f"{S}; i = torch.tensor([[0, 1], [1, 0]]); out = (x[i].shape, x[:, i].shape, x[i, i, i])")
case("getitem_mask", "x = torch.arange(6.).reshape(2, 3); out = (x[x > 2], x[torch.tensor([True, False])], x[:, torch.tensor([True, False, True])])")
case("getitem_nonadjacent", f"{S}; out = x[[0, 1], :, [1, 2]].shape")
case("getitem_errors", f"{S}; out = x[0, 0, 0, 0]")
case("getitem_oob", f"{S}; out = x[5]")
case("getitem_bad_type", f"{S}; out = x['a']")
case("setitem_basic", "x = torch.zeros(3, 4); x[0] = 1; x[1, 1:3] = torch.tensor([5., 6.]); x[:, -1] = -1; x[2, ::2] = 9; out = x")
case("setitem_mask", "x = torch.arange(6.); x[x > 3] = 0; out = x")
case("setitem_advanced", "x = torch.zeros(2, 3); x[[0, 1], [2, 0]] = torch.tensor([7., 8.]); x[torch.tensor([1]), 1] = 3; out = x")
case("setitem_broadcast_error", "x = torch.zeros(2, 3); x[0] = torch.tensor([1., 2.]); out = x")
case("setitem_int_tensor_float_value", "x = torch.zeros(3, dtype=torch.int64); x[1] = 2.7; out = x")
case("setitem_view_shares", "x = torch.zeros(4); v = x[1:3]; v[0] = 5; out = x")
case("index_ops", "x = torch.arange(12.).reshape(3, 4); i = torch.tensor([2, 0]); out = (x.index_select(0, i), torch.gather(x, 1, torch.tensor([[0], [3], [1]])), torch.zeros(3, 4).scatter_add(0, torch.tensor([[0, 1, 2, 0]]), torch.ones(1, 4)), torch.zeros(3, 2).index_add(0, i, torch.ones(2, 2)))")
case("nonzero", "x = torch.tensor([[0, 1], [2, 0]]); out = (x.nonzero(), torch.nonzero(x, as_tuple=True), x.masked_select(x > 0))")
case("index_put", "x = torch.zeros(3); out = (x.index_put((torch.tensor([0, 2]),), torch.tensor([1., 2.])), x)")

# ---- linear algebra
case("matmul_shapes", "a = torch.ones(2, 3, 4); b = torch.ones(4, 5); out = (torch.matmul(a, b).shape, a.matmul(torch.ones(2, 4, 2)).shape, torch.ones(3) @ torch.ones(3), torch.mm(torch.ones(2, 3), torch.ones(3, 1)), torch.bmm(torch.ones(2, 1, 3), torch.ones(2, 3, 2)).shape)")
case("mv_dot_outer", "a = torch.arange(6.).reshape(2, 3); v = torch.tensor([1., 2., 3.]); out = (a.mv(v), v.dot(v), torch.outer(v, v[:2]))")
case("matmul_error", "out = torch.ones(2, 3) @ torch.ones(2, 3)")

# ---- autograd
case("backward_basic", "x = torch.tensor([1., 2., 3.], requires_grad=True); y = (x * x).sum(); y.backward(); out = x.grad")
case("backward_gradient", "x = torch.tensor([1., 2.], requires_grad=True); y = x * 3; y.backward(torch.tensor([1., 10.])); out = x.grad")
case("backward_accumulates", "x = torch.tensor([1., 2.], requires_grad=True); (x * 2).sum().backward(); (x * 3).sum().backward(); out = x.grad")
case("backward_non_scalar_error", "x = torch.ones(2, requires_grad=True); (x * 2).backward(); out = x.grad")
case("backward_twice_error", "x = torch.ones(2, requires_grad=True); y = (x * x).sum(); y.backward(); y.backward(); out = x.grad")
case("retain_graph", "x = torch.ones(2, requires_grad=True); y = (x * x).sum(); y.backward(retain_graph=True); y.backward(); out = x.grad")
case("autograd_grad", "x = torch.tensor([2.], requires_grad=True); y = x ** 3; (g,) = torch.autograd.grad(y, x, create_graph=True); (g2,) = torch.autograd.grad(g, x); out = (g, g2)")
case("grad_allow_unused", "x = torch.ones(1, requires_grad=True); z = torch.ones(1, requires_grad=True); out = torch.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)")
case("grad_unused_error", "x = torch.ones(1, requires_grad=True); z = torch.ones(1, requires_grad=True); out = torch.autograd.grad((x * 2).sum(), [x, z])")
case("no_grad_ctx", "x = torch.ones(2, requires_grad=True)\nwith torch.no_grad():\n    y = x * 2\nout = (y.requires_grad, torch.is_grad_enabled())")
case("no_grad_decorator", "x = torch.ones(2, requires_grad=True)\n@torch.no_grad()\ndef f(a):\n    return a * 2\nout = (f(x).requires_grad, torch.is_grad_enabled())")
case("set_grad_enabled", "x = torch.ones(1, requires_grad=True)\nwith torch.set_grad_enabled(False):\n    a = x * 2\nwith torch.enable_grad():\n    b = x * 2\nout = (a.requires_grad, b.requires_grad)")
case("inference_mode", "x = torch.ones(1, requires_grad=True)\nwith torch.inference_mode():\n    y = x + 1\nout = y.requires_grad")
case("detach_data", "x = torch.ones(2, requires_grad=True); y = x * 2; d = y.detach(); out = (d.requires_grad, y.data.requires_grad, d.is_leaf)")
case("requires_grad_int_error", "out = torch.tensor([1, 2]).requires_grad_()")
case("retain_grad", "x = torch.ones(2, requires_grad=True); y = x * 2; y.retain_grad(); (y * y).sum().backward(); out = (y.grad, x.grad)")
case("hook_scales", "x = torch.ones(2, requires_grad=True); y = x * 3; y.register_hook(lambda g: g * 10); y.sum().backward(); out = x.grad")
case("grad_through_index", "x = torch.arange(6., requires_grad=True); y = x.reshape(2, 3)[:, [2, 0]]; (y * torch.tensor([[1., 2.], [3., 4.]])).sum().backward(); out = x.grad")
case("grad_through_setitem", "w = torch.ones(3, requires_grad=True); y = w * 2; y[0] = 5.0; (y * torch.tensor([1., 10., 100.])).sum().backward(); out = (y, w.grad)")
case("inplace_leaf_error", "x = torch.ones(2, requires_grad=True); x.add_(1); out = x")
case("saved_modified_error", "x = torch.ones(2, requires_grad=True); y = x * 1; z = y.exp(); y.add_(1); z.sum().backward(); out = x.grad")
case("custom_function", """
class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2
x = torch.tensor([1., 2.], requires_grad=True)
y = Cube.apply(x)
y.sum().backward()
out = (y, x.grad, y.grad_fn.name())
""")
case("custom_function_two_inputs", """
class MulAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, k):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return a * b + k
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a, None
a = torch.tensor([1., 2.], requires_grad=True)
b = torch.tensor([3., 4.], requires_grad=True)
MulAdd.apply(a, b, 5.0).sum().backward()
out = (a.grad, b.grad)
""")
case("custom_function_double_backward", """
class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g
x = torch.tensor([3.], requires_grad=True)
(g,) = torch.autograd.grad(Square.apply(x), x, create_graph=True)
(gg,) = torch.autograd.grad(g, x)
out = (g, gg)
""")

# ---- sorting and selection
_X = "x = torch.tensor([[3., 1., 2., 5., 2.], [0., -1., 4., 4., 7.]])\n"
case("sort_default", _X + "out = x.sort()")
case("sort_kw", _X + "out = torch.sort(x, dim=0, descending=True, stable=True)")
case("sort_grad", "x = torch.tensor([3., 1., 2.], requires_grad=True)\n"
     "v, i = x.sort(descending=True)\n(v * torch.tensor([1., 2., 3.])).sum().backward()\nout = (i, x.grad)")
case("argsort", _X + "out = (x.argsort(), torch.argsort(x, dim=0, descending=True))")
case("msort", _X + "out = torch.msort(x)")
case("topk", _X + "out = torch.topk(x, 2)")
case("topk_kw", _X + "out = x.topk(k=1, dim=0, largest=False, sorted=True)")
case("topk_too_large", _X + "out = x.topk(9)")
case("kthvalue", _X + "out = x.kthvalue(2, dim=1, keepdim=True)")
case("median_all", _X + "out = x.median()")
case("median_dim", _X + "out = torch.median(x, 1)")
case("nanmedian", "x = torch.tensor([[1., float('nan'), 3., 2.]])\nout = (x.nanmedian(), x.nanmedian(1), x.median())")
case("mode", "out = torch.tensor([[1, 2, 2, 3], [4, 4, 0, 0]]).mode()")
case("cummax", _X + "out = x.cummax(1)")
case("cummin", _X + "out = torch.cummin(x, dim=0)")
case("unique", "out = torch.unique(torch.tensor([3, 1, 3, 2, 1]))")
case("unique_all", "out = torch.tensor([3, 1, 3, 2, 1]).unique(return_inverse=True, return_counts=True)")
case("unique_consecutive", "out = torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 3, 1]), return_counts=True)")
case("searchsorted", "out = torch.searchsorted(torch.tensor([1., 2., 2., 4.]), torch.tensor([[2., 5.], [0., 3.]]))")
case("searchsorted_right", "out = torch.searchsorted(torch.tensor([1., 2., 2., 4.]), torch.tensor([2., 5.]), right=True)")
case("searchsorted_side", "out = torch.searchsorted(torch.tensor([1, 2, 2, 4]), torch.tensor([2]), side='right', out_int32=True)")
case("bucketize", "out = torch.bucketize(torch.tensor([0.5, 2., 9.]), torch.tensor([1., 2., 3.]))")
case("take", _X + "out = torch.take(x, torch.tensor([0, -1, 7]))")
case("take_along_dim", _X + "out = torch.take_along_dim(x, x.argsort(dim=1), dim=1)")
case("count_nonzero", _X + "out = (torch.count_nonzero(x), x.count_nonzero(dim=0))")
case("aminmax", _X + "out = (torch.aminmax(x), x.aminmax(dim=1, keepdim=True))")
case("isclose", "out = torch.isclose(torch.tensor([1., 2., float('nan')]), torch.tensor([1. + 1e-9, 2.1, float('nan')]), equal_nan=True)")
case("allclose_equal", "a = torch.tensor([1., 2.])\nout = (torch.allclose(a, a + 1e-7), a.allclose(a + 1e-3), torch.equal(a, a.clone()), a.equal(a[:1]))")
case("bincount", "out = (torch.bincount(torch.tensor([1, 1, 3])), torch.tensor([0, 2]).bincount(minlength=5))")
case("bincount_weights", "out = torch.bincount(torch.tensor([1, 1, 3]), weights=torch.tensor([0.5, 1., 2.]))")
case("argwhere", "out = torch.argwhere(torch.tensor([[0, 1], [2, 0]]))")

# ---- einsum, products, diagonals, reordering
_M = "a = torch.arange(12.).reshape(3, 4)\nb = torch.arange(20.).reshape(4, 5) / 7\n"
case("einsum_mm", _M + "out = torch.einsum('ij,jk->ik', a, b)")
case("einsum_list", _M + "out = torch.einsum('ij,jk', [a, b])")
case("einsum_attention", "q = torch.arange(24.).reshape(2, 3, 4)\nout = torch.einsum('bqd,bkd->bqk', q, q / 3)")
case("einsum_ellipsis_trace", "x = torch.arange(18.).reshape(2, 3, 3)\nout = (torch.einsum('...ii->...', x), torch.einsum('bii->bi', x))")
case("einsum_spaces", _M + "out = torch.einsum('i j , j k -> i k', a, b)")
case("einsum_bad", _M + "out = torch.einsum('ij,jk->il', a, b)")
case("einsum_grad", "a = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)\n"
     "torch.einsum('ij,jk->', a, a).backward()\nout = a.grad")
case("tensordot", _M + "out = (torch.tensordot(a, b, dims=1), torch.tensordot(a, b.t(), dims=([1], [0])), torch.tensordot(a, a, 2))")
case("kron_outer", "x = torch.tensor([[1., 2.], [3., 4.]])\nout = (torch.kron(x, torch.eye(2)), torch.outer(torch.tensor([1., 2.]), torch.tensor([3., 4., 5.])))")
case("addmm_family", _M + "out = (torch.addmm(torch.ones(3, 5), a, b, beta=0.5, alpha=2), torch.addmv(torch.ones(3), a, torch.ones(4)), "
     "torch.baddbmm(torch.zeros(2, 3, 5), a.expand(2, 3, 4), b.expand(2, 4, 5), alpha=0.5))")
case("addcmul_addcdiv_lerp", _M + "out = (torch.addcmul(a, a, a, value=0.5), a.addcdiv(a, a + 1, value=2), torch.lerp(a, a * 2, 0.25), a.lerp(a * 0, torch.full((4,), 0.5)))")
case("cdist", "x = torch.tensor([[0., 0.], [3., 4.]])\ny = torch.tensor([[0., 0.], [1., 1.], [6., 8.]])\nout = (torch.cdist(x, y), torch.cdist(x, y, p=1), torch.cdist(x, y, p=float('inf')))")
case("diagonals", _M + "out = (a.diagonal(), torch.diagonal(a, offset=1), torch.diag(a, -1), torch.diag(torch.tensor([1., 2.]), 1), "
     "torch.diag_embed(torch.ones(2, 2)), torch.diagflat(torch.tensor([[1., 2.], [3., 4.]])), torch.trace(a))")
case("flip_roll_rot", _M + "out = (a.flip(0), torch.flip(a, [0, 1]), torch.fliplr(a), a.flipud(), torch.roll(a, 1), torch.roll(a, shifts=(1, -1), dims=(0, 1)), "
     "torch.rot90(a), torch.rot90(a, 2, [1, 0]), a.rot90(-1))")
case("movedim_tile_ri", "x = torch.arange(6).reshape(1, 2, 3)\nout = (torch.movedim(x, 0, 2).shape, x.moveaxis((0, 1), (2, 0)).shape, torch.tile(x, (2,)), "
     "x.repeat_interleave(2), torch.repeat_interleave(x, torch.tensor([1, 2]), dim=1))")
case("meshgrid", "a, b = torch.tensor([1, 2, 3]), torch.tensor([4, 5])\nout = (torch.meshgrid(a, b, indexing='ij'), torch.meshgrid(a, b, indexing='xy'))")
case("broadcast_tensors", "out = (torch.broadcast_tensors(torch.ones(3, 1), torch.zeros(1, 2)), torch.broadcast_shapes((2, 1), (1, 3), (3,)))")
case("stacking", "a, b = torch.tensor([1, 2]), torch.tensor([3, 4])\nm = torch.arange(4).reshape(2, 2)\n"
     "out = (torch.hstack((a, b)), torch.vstack((a, b)), torch.dstack((a, b)), torch.column_stack((a, m)), torch.hstack([m, m]), torch.vstack([m, a]))")
case("splitting", "x = torch.arange(10)\nm = torch.arange(12).reshape(2, 6)\n"
     "out = (torch.tensor_split(x, 3), x.tensor_split([1, 4, 20]), torch.hsplit(m, 3), torch.vsplit(m, [1]), torch.tensor_split(m, 4, dim=1))")
case("atleast", "out = (torch.atleast_1d(torch.tensor(1.)), torch.atleast_2d(torch.tensor([1, 2])).shape, torch.atleast_3d(torch.ones(2, 3)).shape)")

# ---- distributions: log_prob, entropy, moments and KL against PyTorch
_D = "D = torch.distributions\n"
case("dist_normal", _D + "d = D.Normal(torch.tensor([0., 1.]), torch.tensor([1., 2.]))\nv = torch.tensor([0.5, -1.])\n"
     "out = (d.log_prob(v), d.entropy(), d.mean, d.variance, d.stddev, d.cdf(v), d.icdf(torch.tensor([0.1, 0.9])), d.batch_shape)")
case("dist_lognormal", _D + "d = D.LogNormal(torch.tensor([0., 1.]), torch.tensor([0.5, 2.]))\nout = (d.log_prob(torch.tensor([0.5, 3.])), d.mean, d.variance, d.entropy())")
case("dist_uniform", _D + "d = D.Uniform(torch.tensor([0., -1.]), torch.tensor([2., 1.]))\nout = (d.log_prob(torch.tensor([1., 0.5])), d.entropy(), d.mean, d.variance, d.cdf(torch.tensor([0.5, 0.])))")
case("dist_exponential_laplace", _D + "e = D.Exponential(torch.tensor([0.5, 2.]))\nl = D.Laplace(torch.tensor([0.]), torch.tensor([2.]))\n"
     "out = (e.log_prob(torch.tensor([1., 3.])), e.entropy(), e.mean, e.variance, e.cdf(torch.tensor([1., 1.])), l.log_prob(torch.tensor([1.5])), l.entropy(), l.variance)")
case("dist_bernoulli", _D + "p = D.Bernoulli(probs=torch.tensor([0.2, 0.9]))\nq = D.Bernoulli(logits=torch.tensor([0.3, -1.]))\nv = torch.tensor([1., 0.])\n"
     "out = (p.log_prob(v), p.entropy(), p.mean, p.variance, q.log_prob(v), q.entropy(), q.probs, D.kl_divergence(p, q))")
case("dist_categorical", _D + "p = D.Categorical(probs=torch.tensor([[1., 2., 7.], [1., 1., 1.]]))\nq = D.Categorical(logits=torch.tensor([[0., 1., 2.], [3., 0., -1.]]))\n"
     "out = (p.probs, p.log_prob(torch.tensor([2, 0])), p.entropy(), q.log_prob(torch.tensor([[1, 1], [0, 2]])), q.entropy(), D.kl_divergence(p, q), p.batch_shape, p.mode)")
case("dist_onehot", _D + "p = D.OneHotCategorical(probs=torch.tensor([0.2, 0.3, 0.5]))\nq = D.OneHotCategorical(logits=torch.tensor([1., 0., 0.]))\n"
     "out = (p.log_prob(torch.tensor([0., 0., 1.])), p.entropy(), p.mean, p.variance, D.kl_divergence(p, q), p.event_shape)")
case("dist_gamma_beta_dirichlet", _D + "g = D.Gamma(torch.tensor([0.5, 3.]), torch.tensor([1., 2.]))\nb = D.Beta(torch.tensor([2., 0.5]), torch.tensor([3., 0.5]))\n"
     "r = D.Dirichlet(torch.tensor([1., 2., 3.]))\nout = (g.log_prob(torch.tensor([1., 2.])), g.entropy(), g.mean, g.variance, b.log_prob(torch.tensor([0.3, 0.9])), b.entropy(), b.mean, b.variance, "
     "r.log_prob(torch.tensor([0.2, 0.3, 0.5])), r.entropy(), r.mean, r.variance)")
case("dist_kl_pairs", _D + "out = (D.kl_divergence(D.Normal(0., 1.), D.Normal(torch.tensor([1., 2.]), torch.tensor([0.5, 3.]))), "
     "D.kl_divergence(D.Uniform(0., 1.), D.Uniform(torch.tensor([-1., 0.5]), torch.tensor([2., 2.]))), D.kl_divergence(D.Exponential(torch.tensor([1.])), D.Exponential(torch.tensor([3.]))), "
     "D.kl_divergence(D.Gamma(torch.tensor([2.]), torch.tensor([1.])), D.Gamma(torch.tensor([3.]), torch.tensor([0.5]))), "
     "D.kl_divergence(D.Beta(torch.tensor([2.]), torch.tensor([3.])), D.Beta(torch.tensor([1.]), torch.tensor([1.]))), "
     "D.kl_divergence(D.Dirichlet(torch.tensor([1., 2.])), D.Dirichlet(torch.tensor([3., 1.]))))")
case("dist_independent", _D + "base = D.Normal(torch.zeros(2, 3), torch.ones(2, 3))\nd = D.Independent(base, 1)\n"
     "out = (d.batch_shape, d.event_shape, d.log_prob(torch.ones(2, 3)), d.entropy(), D.kl_divergence(d, D.Independent(D.Normal(torch.ones(2, 3), torch.ones(2, 3)), 1)))")
case("dist_mvn", _D + "loc = torch.tensor([[0., 1.], [1., -1.]])\nC = torch.tensor([[2., 0.5], [0.5, 1.]])\nP = torch.tensor([[1., -0.2], [-0.2, 0.5]])\n"
     "a = D.MultivariateNormal(loc, covariance_matrix=C)\nb = D.MultivariateNormal(torch.zeros(2), precision_matrix=P)\n"
     "c = D.MultivariateNormal(torch.ones(2), scale_tril=torch.tensor([[1., 0.], [0.3, 0.7]]))\nv = torch.tensor([0.5, 0.25])\n"
     "out = (a.log_prob(v), a.entropy(), a.mean, a.variance, a.batch_shape, a.event_shape, b.log_prob(v), b.scale_tril, b.covariance_matrix, "
     "c.log_prob(torch.zeros(3, 1, 2)), c.precision_matrix, c.entropy(), D.kl_divergence(a, b), D.kl_divergence(c, a))")
case("dist_mvn_grad", _D + "loc = torch.tensor([0.5, -0.5], requires_grad=True)\nA = torch.tensor([[1.5, 0.2], [0.2, 1.]], requires_grad=True)\n"
     "D.MultivariateNormal(loc, covariance_matrix=A).log_prob(torch.tensor([1., 1.])).backward()\nout = (loc.grad, A.grad)")
case("dist_log_prob_grad", _D + "loc = torch.tensor([0.5], requires_grad=True)\nscale = torch.tensor([2.], requires_grad=True)\n"
     "D.Normal(loc, scale).log_prob(torch.tensor([1.5])).sum().backward()\nlogits = torch.tensor([1., 2., 0.], requires_grad=True)\n"
     "D.Categorical(logits=logits).log_prob(torch.tensor(1)).backward()\nout = (loc.grad, scale.grad, logits.grad)")
case("special_fns", "x = torch.tensor([0.3, 2.5, 7.])\nout = (torch.lgamma(x), torch.digamma(x), torch.polygamma(1, x), torch.special.gammaln(x), torch.erfinv(torch.tensor([0.5, -0.2])), "
     "torch.special.logit(torch.tensor([0.25])), torch.special.xlogy(torch.tensor([0., 2.]), torch.tensor([0., 3.])))")

# ---- scatter family and composed math
_S = "x = torch.arange(12.).reshape(3, 4)\ni = torch.tensor([[2, 0, 1, 0], [1, 2, 0, 1]])\n"
case("scatter_forms", _S + "out = (x.scatter(0, i, -x[:2]), torch.scatter(x, 1, torch.tensor([[3], [0], [1]]), 9.0), x.clone().scatter_(0, i, 0.5), "
     "x.scatter(0, i, torch.ones(2, 4), reduce='add'), x.scatter(1, torch.tensor([[0, 1]]), value=-1.))")
case("scatter_reduce", _S + "out = (x.scatter_reduce(0, i, torch.ones(2, 4), 'sum'), torch.scatter_reduce(x, 0, i, x[:2] * 2, 'mean', include_self=False), "
     "x.clone().scatter_reduce_(0, i, torch.ones(2, 4), reduce='mean'))")
case("index_fill_copy", _S + "out = (x.index_fill(1, torch.tensor([0, 3]), -1.), x.clone().index_fill_(0, torch.tensor([1]), 5.), "
     "x.index_copy(0, torch.tensor([2, 0]), torch.zeros(2, 4)), torch.index_copy(x, 1, torch.tensor([1]), torch.ones(3, 1)))")
case("masked_scatter", _S + "m = torch.tensor([True, False, False, True])\nout = (x.masked_scatter(m, torch.arange(100., 110.)), x.clone().masked_scatter_(x > 8, -torch.ones(12)))")
case("math_composed", "a = torch.tensor([3., -4., 0.5, -0.])\nb = torch.tensor([4., 2.5, -2., -1.])\n"
     "out = (torch.hypot(a, b), torch.fmod(a, b), a.fmod(2), torch.fmod(torch.tensor([-7, 7]), torch.tensor([3, -3])), torch.copysign(a, b), a.copysign(-1.), "
     "torch.heaviside(a, torch.tensor([0.5])), torch.sinc(a), torch.nan_to_num(torch.tensor([float('nan'), float('inf'), -float('inf'), 1.])), "
     "torch.tensor([float('nan'), float('inf')]).nan_to_num(nan=2., posinf=9.))")
case("scans_and_diff", "x = torch.tensor([[1., 2., 0., 3.], [-1., 0.5, 2., -2.]])\n"
     "out = (x.cumprod(1), torch.cumprod(torch.tensor([1, 2, 3]), 0), torch.logcumsumexp(x, dim=1), torch.diff(x), x.diff(n=2, dim=1), "
     "torch.diff(x, dim=0, prepend=torch.zeros(1, 4)), torch.diff(torch.tensor([True, True, False])))")
case("nanmean_histc_std_mean", "x = torch.tensor([[1., float('nan'), 3.], [4., 5., 6.]])\ny = torch.tensor([[1., 2., 3.], [4., 5., 7.]])\n"
     "out = (torch.nanmean(x), x.nanmean(dim=1), torch.histc(torch.tensor([1., 2., 1., 4., 2.5]), bins=4, min=0, max=4), torch.histc(y, bins=3), "
     "torch.std_mean(y, dim=1), torch.var_mean(y, 0, correction=0), torch.var_mean(y))")
case("cumprod_grad", "x = torch.tensor([2., 0., 3., 4.], requires_grad=True)\nx.cumprod(0).sum().backward()\nout = x.grad")

# ---- linalg norms and compositions
_L = "A = torch.tensor([[1., -2., 3.], [4., 5., -6.]])\n"
case("linalg_norms", _L + "out = (torch.linalg.vector_norm(A), torch.linalg.vector_norm(A, 1, dim=1), torch.linalg.vector_norm(A, float('inf')), "
     "torch.linalg.vector_norm(A, 0), torch.linalg.matrix_norm(A), torch.linalg.matrix_norm(A, 1), torch.linalg.matrix_norm(A, -float('inf')), "
     "torch.linalg.norm(A), torch.linalg.norm(A, 'fro'), torch.linalg.norm(A[0], 3), torch.norm(A), A.norm(dim=1), A.norm(p=1))")
case("linalg_cross_power", "a = torch.tensor([[1., 0., 0.], [0., 1., 0.]])\nb = torch.tensor([[0., 1., 0.], [0., 0., 2.]])\n"
     "M = torch.tensor([[1., 1.], [0., 2.]])\nout = (torch.linalg.cross(a, b), torch.linalg.matrix_power(M, 5), torch.linalg.matrix_power(M, 0))")

# ---- matrix functions composed from differentiable ops (matrix_exp, householder_product) and geqrf
_M = ("M = torch.tensor([[0.3, -1.2, 0.5], [2.0, 0.1, -0.7], [-0.4, 0.9, 0.2]], dtype=torch.float64)\n"
      "H = torch.tensor([[1.5, 0.2, -0.3], [0.4, -2.0, 0.6], [-0.7, 0.1, 0.9], [0.3, 0.8, -0.5]], dtype=torch.float64)\n")
case("matrix_exp", _M + "out = (torch.linalg.matrix_exp(M), torch.matrix_exp(M * 6), M.matrix_exp(), torch.linalg.matrix_exp(M.float() * 0.01), "
     "torch.linalg.matrix_exp(torch.stack([M, -M.T, M * 1e-4])), torch.linalg.matrix_exp(M.float() * 4))")
case("matrix_exp_grad", _M + "M.requires_grad_()\n(torch.linalg.matrix_exp(M * 3) * torch.arange(9.).reshape(3, 3)).sum().backward()\nout = M.grad")
case("matrix_exp_not_square", "out = torch.linalg.matrix_exp(torch.zeros(2, 3))")
case("householder_product", _M + "tau = torch.tensor([1.2, 0.4, 1.9], dtype=torch.float64)\nH.requires_grad_()\ntau.requires_grad_()\n"
     "Q = torch.linalg.householder_product(H, tau)\n(Q * torch.arange(12.).reshape(4, 3)).sum().backward()\n"
     "out = (Q, H.grad, tau.grad, torch.linalg.householder_product(H.detach(), tau.detach()[:2]), torch.orgqr(H.detach(), tau.detach()))")
case("householder_product_wide", "out = torch.linalg.householder_product(torch.zeros(2, 3), torch.zeros(2))")
case("geqrf", _M + "a, tau = torch.geqrf(H)\nQ = torch.linalg.householder_product(a, tau)\nR = a.triu()[:3]\nout = (a, tau, Q @ R, torch.geqrf(M).tau)")

# ---- decompositions (faer)
_A = "A = torch.tensor([[4., 1., 2.], [1., 3., 0.], [2., 0., 5.]])\nB = torch.tensor([[1., 2.], [0., 1.], [3., -1.]])\n"
case("linalg_inv_solve_det", _A + "out = (torch.linalg.inv(A), torch.linalg.solve(A, B), torch.linalg.solve(A, B[:, 0]), torch.linalg.det(A), "
     "torch.linalg.slogdet(-A), torch.linalg.cholesky(A), torch.linalg.cholesky(A, upper=True), A.det(), torch.inverse(A), "
     "torch.linalg.matrix_power(A, -2), torch.linalg.solve(A, B.T, left=False), torch.linalg.inv(A.expand(2, 3, 3)))")
case("linalg_grads", _A + "A.requires_grad_()\n(torch.linalg.inv(A).sum() + torch.linalg.det(A) + torch.linalg.cholesky(A).sum() + torch.linalg.solve(A, B).sum()).backward()\nout = A.grad")
case("linalg_qr_svd_eigh", _A + "q, r = torch.linalg.qr(B)\ns = torch.sign(torch.diagonal(r))\nU, S, Vh = torch.linalg.svd(B, full_matrices=False)\n"
     "L, V = torch.linalg.eigh(A)\nout = (q * s, r * s[:, None], S, U @ Vh, torch.linalg.svdvals(A), L, V.abs(), torch.linalg.eigvalsh(A, UPLO='U'), "
     "torch.linalg.svd(B).U.shape, torch.linalg.qr(B, mode='complete').Q.shape, torch.linalg.qr(B, mode='r').R.abs(), V @ torch.diag(L) @ V.T)")
case("linalg_lstsq_pinv_rank", _A + "R = torch.tensor([[1., 2.], [2., 4.], [0., 0.]])\n"
     "out = (torch.linalg.lstsq(B, A[:, :1]).solution, torch.linalg.lstsq(B, A[:, 0], driver='gelsd'), torch.linalg.pinv(B), "
     "torch.linalg.pinv(A, hermitian=True), torch.linalg.matrix_rank(R), torch.linalg.matrix_rank(A, hermitian=True), "
     "torch.linalg.solve_triangular(A.triu(), B, upper=True), torch.linalg.solve_triangular(A.tril(), B.T, upper=False, left=False), "
     "torch.linalg.cond(A), torch.linalg.matrix_norm(B, 'nuc'), torch.linalg.matrix_norm(B, 2), torch.linalg.norm(B, -2), "
     "torch.linalg.multi_dot([A, B, B.T]), torch.linalg.vecdot(A, A))")
case("linalg_decomp_grads", _A + "A.requires_grad_()\nB.requires_grad_()\nq, r = torch.linalg.qr(B)\nU, S, Vh = torch.linalg.svd(B, full_matrices=False)\n"
     "L, V = torch.linalg.eigh(A)\n((q * torch.sign(torch.diagonal(r)).detach()).sum() + S.sum() + (U @ Vh).sum() + L.sum() + (V ** 2 * torch.arange(3.)).sum() "
     "+ torch.linalg.lstsq(B, A[:, :1]).solution.sum() + torch.linalg.pinv(B).sum() + torch.linalg.solve_triangular(A, B, upper=True).sum()).backward()\n"
     "out = (A.grad, B.grad)")
case("linalg_old_spellings", _A + "U, S, V = torch.svd(B)\nL = torch.linalg.cholesky(A)\n"
     "out = (S, U @ V.T, torch.pinverse(B), torch.logdet(A), torch.logdet(-A), torch.cholesky_solve(B, L), "
     "torch.cholesky_inverse(L), L.T.cholesky_inverse(upper=True), A.slogdet(), B.pinverse(), torch.svd(B, compute_uv=False).S)")
case("qr_removed", "out = torch.qr(torch.eye(2), some=False)")
case("linalg_svd_nonfinite", "out = torch.linalg.svd(torch.tensor([[1., float('nan')], [0., 1.]]))")
case("linalg_singular", "out = torch.linalg.inv(torch.tensor([[1., 2.], [2., 4.]]))")
case("linalg_not_pd", "out = torch.linalg.cholesky(torch.tensor([[1., 2.], [2., 1.]]))")

# ---- sparse COO
_SP = "i = torch.tensor([[0, 1, 1, 3, 0, 3], [2, 0, 1, 2, 2, 0]])\nv = torch.tensor([1., 2., -1., 0.5, 3., 4.])\nS = torch.sparse_coo_tensor(i, v, (4, 3))\n"
case("sparse_basics", _SP + "C = S.coalesce()\nout = (S.to_dense(), C.indices(), C.values(), S.is_coalesced(), C.is_coalesced(), S.shape, S.size(0), S._nnz(), "
     "C._nnz(), S.sparse_dim(), S.dense_dim(), S.is_sparse, torch.ones(2).is_sparse, (S * 2).to_dense(), (0.5 * S).to_dense(), S.t().to_dense(), "
     "torch.sparse.sum(S), torch.eye(3).to_sparse().indices(), torch.tensor([[0., 2.], [3., 0.]]).to_sparse().values(), "
     "torch.sparse_coo_tensor(i, v).shape, S.dtype, S.layout)")
case("sparse_mm_forms", _SP + "D = torch.arange(6.).reshape(3, 2)\n"
     "out = (torch.sparse.mm(S, D), torch.spmm(S, D), torch.mm(S, D), S @ D, S @ D[:, 0], torch.ones(2, 4) @ S, torch.sparse.mm(S.t(), torch.ones(4, 1)), "
     "torch.matmul(S, D))")
case("sparse_mm_grads", _SP + "v.requires_grad_()\nD = torch.arange(6.).reshape(3, 2).requires_grad_()\n"
     "S = torch.sparse_coo_tensor(i, v, (4, 3))\n(torch.sparse.mm(S, D) ** 2).sum().backward()\nout = (v.grad, D.grad)")
case("sparse_values_uncoalesced", _SP + "out = S.values()")
# ---- integer ops, polygamma, Bessel, renorm
case("int_gcd_shifts", "a = torch.tensor([12, -18, 0, 7, 40])\nb = torch.tensor([8, 12, 0, -3, 6])\ns = torch.tensor([0, 1, 3, 5, 2])\n"
     "out = (torch.gcd(a, b), torch.lcm(a, b), a.gcd(b), torch.bitwise_left_shift(a, s), torch.bitwise_right_shift(a, s), a << s, a >> s, a << 2, "
     "a >> 1, torch.tensor([1, 2], dtype=torch.int32) << 31, torch.tensor([-8]) >> 70)")
case("polygamma_bessel_renorm", "x = torch.tensor([0.3, 1.5, 4.0, 12.0, -0.5])\nM = torch.tensor([[3., 4.], [0.3, 0.4], [-6., 8.]])\n"
     "out = (torch.polygamma(2, x), torch.polygamma(3, x), x.polygamma(4), torch.special.polygamma(2, x), torch.i0(x), torch.special.i0(x * 10), "
     "torch.special.i1(x), torch.special.i0e(x * 20), torch.special.i1e(x), torch.renorm(M, 2, 0, 1.0), M.renorm(1, 1, 5.0), "
     "torch.special.multigammaln(torch.tensor([2.5, 4.0]), 3))")
case("polygamma_grad", "x = torch.tensor([0.7, 2.0], requires_grad=True)\n(torch.polygamma(2, x).sum() + torch.i0(x).sum() + torch.special.i1(x).sum()).backward()\nout = x.grad")
case("scatter_reduce_extremes", _S + "s = torch.tensor([[5., -1., 2., 0.], [7., 3., -4., 8.]])\n"
     "out = (x.scatter_reduce(0, i, s, 'amax'), x.scatter_reduce(0, i, s, 'amin', include_self=False), x.scatter_reduce(0, i, s, 'prod'), "
     "torch.scatter_reduce(x, 1, i[:, :2], s[:, :2], reduce='prod', include_self=False), x.scatter(0, i, s, reduce='multiply'), "
     "torch.arange(6).reshape(2, 3).scatter_reduce(1, torch.tensor([[0, 0], [2, 2]]), torch.tensor([[4, 9], [-3, 1]]), 'amax'))")
case("scatter_reduce_extremes_grad", _S + "x.requires_grad_()\ns = torch.tensor([[5., -1., 2., 0.], [7., 3., -4., 8.]], requires_grad=True)\n"
     "(x.scatter_reduce(0, i, s, 'amax') * torch.arange(12.).reshape(3, 4)).sum().backward()\ng1 = (x.grad.clone(), s.grad.clone())\n"
     "x.grad = None\ns.grad = None\n(x.scatter_reduce(0, i, s, 'prod') * torch.arange(12.).reshape(3, 4)).sum().backward()\nout = (g1, x.grad, s.grad)")
case("unique_dim", "x = torch.tensor([[1, 2], [0, 5], [1, 2], [0, 3], [0, 5]])\ny = torch.tensor([[2., 3., 2., -0.], [1., 4., 1., 0.]])\n"
     "out = (torch.unique(x, dim=0), x.unique(dim=0, return_inverse=True, return_counts=True), torch.unique(x, dim=1, return_counts=True), "
     "torch.unique_consecutive(x, dim=0, return_inverse=True, return_counts=True), y.unique(dim=1, return_inverse=True), torch.unique(torch.zeros(0, 3), dim=0))")
# ---- errors
case("shape_mismatch", "out = torch.ones(2, 3) + torch.ones(4)")
case("dim_out_of_range", "out = torch.ones(2, 3).sum(5)")
case("bad_arg_type", "out = torch.ones(2).reshape('a')")
case("cat_empty", "out = torch.cat([])")

# ---- math helpers for the checks
_ = math

# More cases live in cases_api.py (registered into the same CASES).
import cases_api  # noqa: E402,F401
import cases_dist  # noqa: E402,F401
