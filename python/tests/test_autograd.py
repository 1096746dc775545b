"""Autograd from Python: backward options, grad, hooks, grad modes (thread-local), and custom
Functions checked by finite differences."""

import threading

import pytest

import ember
from ember.autograd import Function, gradcheck


def test_hook_handle_removes_the_hook():
    x = ember.ones(2, requires_grad=True)
    y = x * 3
    h = y.register_hook(lambda g: g * 10)
    y.sum().backward(retain_graph=True)
    assert x.grad.tolist() == [30.0, 30.0]
    h.remove()
    x.grad = None
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_hook_on_leaf_sees_and_replaces_the_gradient():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * x).sum().backward()
    assert seen == [[2.0, 4.0]] and x.grad.tolist() == [2.0, 4.0]


def test_grad_setter_and_zeroing():
    x = ember.ones(2, requires_grad=True)
    x.grad = ember.tensor([5.0, 6.0])
    (x * 2).sum().backward()
    assert x.grad.tolist() == [7.0, 8.0]
    with pytest.raises(RuntimeError):
        x.grad = ember.ones(3)


def test_create_graph_gives_second_derivatives():
    x = ember.tensor([0.5, 1.5], dtype=ember.float64, requires_grad=True)
    y = (x.sin() * x).sum()
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    g.sum().backward()
    # d2/dx2 (x sin x) = 2 cos x - x sin x
    want = [2 * v.cos().item() - v.item() * v.sin().item() for v in x.detach()]
    assert [round(a, 12) for a in x.grad.tolist()] == [round(b, 12) for b in want]


def test_backward_create_graph_on_tensor():
    x = ember.tensor([2.0], requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    assert x.grad.requires_grad
    (gx,) = ember.autograd.grad(x.grad, x)
    assert gx.item() == pytest.approx(12.0)


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return g * 3 * x * x * ctx.scale, None


def test_custom_function_passes_gradcheck():
    x = ember.tensor([0.3, -1.2, 2.0], dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda t: Cube.apply(t, 2.5), (x,))


def test_gradcheck_catches_a_wrong_backward():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2 x g

    x = ember.tensor([0.7, 1.1], dtype=ember.float64, requires_grad=True)
    with pytest.raises(Exception, match="Jacobian mismatch"):
        gradcheck(Wrong.apply, (x,))
    assert not gradcheck(Wrong.apply, (x,), raise_exception=False)


def test_custom_function_with_create_graph():
    x = ember.tensor([1.5], dtype=ember.float64, requires_grad=True)
    (g,) = ember.autograd.grad(Cube.apply(x, 1.0), x, create_graph=True)
    (gg,) = ember.autograd.grad(g, x)
    assert g.item() == pytest.approx(3 * 1.5 ** 2) and gg.item() == pytest.approx(6 * 1.5)


def test_custom_function_wrong_gradient_count():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = ember.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x).sum().backward()


def test_grad_mode_is_thread_local():
    x = ember.ones(1, requires_grad=True)
    results = {}
    entered, release = threading.Event(), threading.Event()

    def worker():
        with ember.no_grad():
            entered.set()
            release.wait(10)
            results["worker"] = (x * 2).requires_grad

    th = threading.Thread(target=worker)
    th.start()
    entered.wait(10)
    results["main"] = (x * 2).requires_grad
    release.set()
    th.join()
    assert results == {"main": True, "worker": False}


def test_backward_from_another_thread():
    x = ember.ones(3, requires_grad=True)
    y = (x * 4).sum()
    th = threading.Thread(target=y.backward)
    th.start()
    th.join()
    assert x.grad.tolist() == [4.0, 4.0, 4.0]


def test_inference_mode_decorator_and_is_inference_mode_enabled():
    @ember.inference_mode()
    def f(t):
        return t * 2

    x = ember.ones(1, requires_grad=True)
    assert not f(x).requires_grad and ember.is_grad_enabled()


def test_composed_matrix_functions_pass_gradcheck():
    # matrix_exp (Padé degrees 3..13 and the scaled-and-squared branch) and
    # householder_product get their backward from the ops they are composed of.
    base = ember.tensor([[0.3, -1.2, 0.5], [2.0, 0.1, -0.7], [-0.4, 0.9, 0.2]], dtype=ember.float64)
    for scale in (0.005, 0.1, 0.5, 1.0, 3.0):
        A = (base * scale).requires_grad_()
        assert gradcheck(ember.linalg.matrix_exp, (A,))
    H = ember.tensor([[1.5, 0.2], [0.4, -2.0], [-0.7, 0.1], [0.3, 0.8]], dtype=ember.float64, requires_grad=True)
    tau = ember.tensor([1.2, 0.4], dtype=ember.float64, requires_grad=True)
    assert gradcheck(ember.linalg.householder_product, (H, tau))


def test_orthogonal_parametrization_trains_and_stays_orthogonal():
    # A tall orthogonal weight fitted by SGD: every step keeps W^T W = I (to rounding).
    P = ember.nn.utils.parametrizations
    for orthogonal_map in ("matrix_exp", "cayley", "householder"):
        ember.manual_seed(0)
        lin = P.orthogonal(ember.nn.Linear(3, 6, bias=False).double(), orthogonal_map=orthogonal_map)
        opt = ember.optim.SGD(lin.parameters(), lr=0.1)
        x = ember.randn(16, 3, dtype=ember.float64)
        target = ember.randn(16, 6, dtype=ember.float64)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = ((lin(x) - target) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            W = lin.weight
            assert (W.T @ W - ember.eye(3, dtype=ember.float64)).abs().max().item() < 1e-12
        assert losses[-1] < losses[0], (orthogonal_map, losses)


def test_checkpoint_saves_activations_and_gives_the_same_gradients():
    from ember.utils.checkpoint import checkpoint, checkpoint_sequential
    nn = ember.nn
    ember.manual_seed(0)
    net = nn.Sequential(*[m for _ in range(6) for m in (nn.Linear(256, 256), nn.Dropout(0.3), nn.Tanh())])
    x0 = ember.randn(512, 256, requires_grad=True)

    def run(use_checkpoint):
        x0.grad = None
        net.zero_grad()
        ember.manual_seed(5)
        before = ember._C._live_bytes()
        y = checkpoint(net, x0 * 1.0, use_reentrant=False) if use_checkpoint else net(x0 * 1.0)
        held = ember._C._live_bytes() - before
        (y * y).sum().backward()
        return y.detach(), x0.grad.clone(), net[0].weight.grad.clone(), held

    y1, gx1, gw1, held_plain = run(False)
    y2, gx2, gw2, held_ckpt = run(True)
    assert ember.equal(y1, y2)  # dropout replays the same mask
    assert ember.allclose(gx1, gx2, atol=1e-6) and ember.allclose(gw1, gw2, atol=1e-6)
    # Plain: every layer's activations and masks stay alive until backward; checkpointed:
    # only the output (512 x 256 floats) and the segment's input.
    assert held_ckpt <= 3 * 512 * 256 * 4 < held_plain, (held_ckpt, held_plain)
    # autograd.grad reaches the captured parameters too, and checkpoint_sequential agrees.
    g = ember.autograd.grad(checkpoint_sequential(net, 3, x0).sum(), [net[15].weight])[0]
    assert tuple(g.shape) == (256, 256) and bool(g.abs().sum() > 0)


def test_cross_map_lrn2d_gradient_by_finite_differences():
    # Past pre_pad the window keeps channel 0 (torch's running sum never drops it): 7 channels
    # with size 3 cover that case too.
    for size, channels in ((5, 4), (3, 7)):
        x = ((ember.arange(2 * channels * 6, dtype=ember.float64) * 0.37).sin().reshape(2, channels, 2, 3)
             .requires_grad_())
        m = ember.nn.CrossMapLRN2d(size, alpha=0.5, beta=0.75, k=1.0)
        assert ember.autograd.gradcheck(m, (x,))
