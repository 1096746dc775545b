"""ember.optim against torch.optim: 20-step trajectories of every optimizer, 100-step lr (and
momentum) sequences of every scheduler, L-BFGS iterates and evaluation counts, and SWA/EMA —
all read from the fixture torch wrote for the Rust tests (tools/gen_fixtures.py --optim-only),
run here through the Python API as a torch user writes it. Also param_groups mutation,
state_dict round trips and a user-written optimizer."""

import inspect
import json
import math
import pathlib

import pytest

import ember as torch

FIXTURE = json.loads((pathlib.Path(__file__).resolve().parents[2]
                      / "crates/ember-optim/tests/fixtures/optim.json").read_text())
S = torch.optim.lr_scheduler


@pytest.fixture(autouse=True)
def float64_default():
    """The fixture was written with torch's default dtype set to float64."""
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(prev)


def grads_at(t, shape, k):
    n = math.prod(shape)
    return torch.tensor([math.sin(0.7 * t + 1.3 * i + k) * (1 + 0.1 * t) for i in range(n)]).reshape(shape)


OPTIMS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
    "adam_amsgrad_wd": lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01),
    "rmsprop_centered_momentum": lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True,
                                                                weight_decay=0.01),
    "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.02,
                                              initial_accumulator_value=0.1),
    "adamax": lambda ps: torch.optim.Adamax(ps, lr=0.02, weight_decay=0.01),
    "nadam": lambda ps: torch.optim.NAdam(ps, lr=0.01),
    "nadam_decoupled": lambda ps: torch.optim.NAdam(ps, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1,
                                                    momentum_decay=0.01, decoupled_weight_decay=True),
    "radam": lambda ps: torch.optim.RAdam(ps, lr=0.01, betas=(0.9, 0.9), weight_decay=0.02),
    "radam_default": lambda ps: torch.optim.RAdam(ps, lr=0.01),
    "adadelta": lambda ps: torch.optim.Adadelta(ps, lr=0.5, rho=0.8, weight_decay=0.01),
    "rprop": lambda ps: torch.optim.Rprop(ps, lr=0.02, etas=(0.4, 1.3), step_sizes=(1e-3, 0.05)),
    "asgd": lambda ps: torch.optim.ASGD(ps, lr=0.05, lambd=0.01, alpha=0.6, t0=4, weight_decay=0.01),
    "adam_groups": lambda ps: torch.optim.Adam([{"params": [ps[0]], "lr": 0.02, "weight_decay": 0.1},
                                                {"params": [ps[1]]}], lr=0.005),
}

SCHEDULERS = {
    "step": lambda o: S.StepLR(o, step_size=3, gamma=0.5),
    "multistep": lambda o: S.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3),
    "exponential": lambda o: S.ExponentialLR(o, gamma=0.9),
    "cosine": lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    "linear_warmup": lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4),
    "onecycle": lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=101),
    "chained": lambda o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.5, total_iters=3),
                                             S.ExponentialLR(o, gamma=0.9)]),
    "lambda": lambda o: S.LambdaLR(o, lambda e: 0.95 ** e),
    "multiplicative": lambda o: S.MultiplicativeLR(o, lambda e: 0.97),
    "constant": lambda o: S.ConstantLR(o, factor=0.5, total_iters=4),
    "polynomial": lambda o: S.PolynomialLR(o, total_iters=30, power=2.0),
    "warm_restarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=0.001),
    "warm_restarts_flat": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=9),
    "cyclic_triangular2": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, step_size_down=3,
                                               mode="triangular2"),
    "cyclic_exp_range": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range",
                                             gamma=0.97),
    "sequential_warmup_cosine": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                             S.CosineAnnealingLR(o, T_max=20)], milestones=[5]),
    "sequential_three": lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=3),
                                                     S.ExponentialLR(o, gamma=0.9),
                                                     S.StepLR(o, step_size=10, gamma=0.5)], milestones=[4, 30]),
}


def flat(values):
    out = []
    for v in values:
        out.extend(flat(v) if isinstance(v, list) else [v])
    return out


def test_fixture_covers_every_case():
    assert sorted(FIXTURE["optimizers"]) == sorted(OPTIMS)
    assert sorted(FIXTURE["schedulers"]) == sorted(SCHEDULERS)


@pytest.mark.parametrize("name", sorted(OPTIMS))
def test_optimizer_trajectory_matches_torch(name):
    fx = FIXTURE["optimizers"][name]
    ps = [torch.tensor([0.5 - 0.3 * i for i in range(math.prod(s))]).reshape(s).requires_grad_(True)
          for s in fx["shapes"]]
    opt = OPTIMS[name](ps)
    for t in range(20):
        for k, p in enumerate(ps):
            p.grad = grads_at(t, list(p.shape), k)
        opt.step()
        got = flat([p.detach().tolist() for p in ps])
        want = flat(fx["trajectory"][t])
        assert max(abs(a - b) for a, b in zip(got, want)) < 1e-10, f"step {t}"


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_sequence_matches_torch(name):
    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    sched = SCHEDULERS[name](opt)
    lrs, moms = [opt.param_groups[0]["lr"]], [opt.param_groups[0]["momentum"]]
    for _ in range(100):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
    fx = FIXTURE["schedulers"][name]
    assert max(abs(a - b) for a, b in zip(lrs, fx["lrs"])) < 1e-12
    assert max(abs(a - b) for a, b in zip(moms, fx["momentum"])) < 1e-12
    assert sched.get_last_lr() == [lrs[-1]]


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def least_squares(w, b):
    a = torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.25], [-2.0, 1.5]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0], [2.0, 2.0, 0.5], [-1.0, 0.5, 1.0]], dtype=torch.float64)
    return ((a @ w.t() + b - y) ** 2).mean() + 0.1 * (w ** 4).sum()


LBFGS = {
    "rosenbrock_wolfe": ("rosenbrock", dict(lr=1, max_iter=20, history_size=10, line_search_fn="strong_wolfe")),
    "rosenbrock_plain": ("rosenbrock", dict(lr=0.05, max_iter=15, history_size=4)),
    "lsq_wolfe": ("lsq", dict(lr=1, max_iter=8, history_size=3, line_search_fn="strong_wolfe")),
    "lsq_plain_maximize": ("lsq_neg", dict(lr=0.1, max_iter=10, maximize=True)),
}


@pytest.mark.parametrize("name", sorted(LBFGS))
def test_lbfgs_matches_torch(name):
    problem, opts = LBFGS[name]
    if problem == "rosenbrock":
        ps = [torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)]

        def f():
            return rosenbrock(ps[0])
    else:
        ps = [torch.tensor([[0.1, -0.2], [0.3, 0.0], [-0.1, 0.2]], dtype=torch.float64, requires_grad=True),
              torch.zeros(3, dtype=torch.float64, requires_grad=True)]
        sign = -1.0 if problem == "lsq_neg" else 1.0

        def f():
            return sign * least_squares(ps[0], ps[1])
    opt = torch.optim.LBFGS(ps, **opts)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    fx = FIXTURE["lbfgs"][name]
    for i in range(6):
        loss = float(opt.step(closure))
        got = flat([p.detach().tolist() for p in ps])
        assert max(abs(a - b) for a, b in zip(got, flat(fx["trajectory"][i]))) < 1e-9
        assert abs(loss - fx["losses"][i]) < 1e-9
        assert opt.state[ps[0]]["func_evals"] == fx["func_evals"][i]


@pytest.mark.parametrize("name", ["swa", "ema"])
def test_averaged_model_matches_torch(name):
    from ember.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
    model = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.5, -0.3]], dtype=torch.float64))
        model.bias.fill_(0.1)
    avg = AveragedModel(model, **({"multi_avg_fn": get_ema_multi_avg_fn(0.8)} if name == "ema" else {}))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for t in range(8):
        for k, p in enumerate(model.parameters()):
            p.grad = grads_at(t, list(p.shape), k).double()
        opt.step()
        avg.update_parameters(model)
        got = flat([p.detach().tolist() for p in avg.module.parameters()])
        assert max(abs(a - b) for a, b in zip(got, flat(FIXTURE["swa"][name]["trajectory"][t]))) < 1e-12


@pytest.mark.parametrize("name,epochs,strategy", [("swalr_cos", 5, "cos"), ("swalr_linear", 3, "linear"),
                                                  ("swalr_zero", 0, "cos")])
def test_swalr_matches_torch(name, epochs, strategy):
    from ember.optim.swa_utils import SWALR
    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    sched = SWALR(opt, swa_lr=0.05, anneal_epochs=epochs, anneal_strategy=strategy)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(20):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert max(abs(a - b) for a, b in zip(lrs, FIXTURE["swa"][name]["lrs"])) < 1e-12


def test_changing_lr_in_the_loop_takes_effect():
    p = torch.tensor([1.0], requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    p.grad = torch.tensor([1.0])
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    assert abs(p.item() - (1.0 - 0.1 - 0.5)) < 1e-7


def test_state_dict_round_trip_continues_exactly():
    def run(steps, resume_at=None):
        p = torch.tensor([0.5, -0.25], requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.1)
        for t in range(steps):
            if t == resume_at:
                sd = opt.state_dict()
                p2 = p.detach().clone().requires_grad_(True)
                opt = torch.optim.Adam([p2], lr=0.3)
                opt.load_state_dict(sd)
                p = p2
            p.grad = grads_at(t, [2], 0)
            opt.step()
        return p.detach().tolist(), opt
    straight, _ = run(6)
    resumed, opt = run(6, resume_at=3)
    assert straight == resumed
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][0]["lr"] == 0.1
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert float(sd["state"][0]["step"]) == 6.0


def test_load_state_dict_checks_groups():
    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})


def test_add_param_group_and_zero_grad():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    opt = torch.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.01
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    a.grad = torch.ones(2)
    opt.zero_grad()
    assert a.grad is None
    a.grad = torch.ones(2)
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]


def test_bad_hyperparameters_are_errors():
    p = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match="Invalid learning rate"):
        torch.optim.Adam(p, lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        torch.optim.Adam(p, betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        torch.optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.SGD([], lr=0.1)


def test_signatures_are_torchs():
    sig = inspect.signature(torch.optim.Adam.__init__)
    assert list(sig.parameters)[:7] == ["self", "params", "lr", "betas", "eps", "weight_decay", "amsgrad"]
    assert {"foreach", "fused", "capturable", "differentiable", "maximize"} <= set(sig.parameters)
    assert sig.parameters["lr"].default == 1e-3
    assert inspect.signature(torch.optim.SGD.__init__).parameters["lr"].default == 1e-3


def test_user_written_optimizer_subclass():
    class PlainSGD(torch.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad * -group["lr"])
                        self.state[p]["count"] = self.state[p].get("count", 0) + 1

    p = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = PlainSGD([p])
    calls = []
    opt.register_step_post_hook(lambda o, a, k: calls.append(1))
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    p.grad = torch.tensor([1.0, 1.0])
    opt.step()
    sched.step()
    assert p.tolist() == pytest.approx([0.9, 1.9])
    assert opt.param_groups[0]["lr"] == 0.05 and calls == [1]
    assert opt.state_dict()["state"] == {0: {"count": 1}}


def test_optimizer_repr_is_torchs():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n"
                         "    fused: None\n    lr: 0.1\n    maximize: False\n    momentum: 0\n    nesterov: False\n"
                         "    weight_decay: 0\n)")
