"""``ember.distributions`` sampling (log_prob, entropy, moments and KL are compared with PyTorch
in the parity fixtures): sample moments over 100k seeded draws within about five standard
errors, shapes, and ``rsample`` gradients checked by finite differences."""

import math

import pytest

import ember
from ember import distributions as D

N = 100_000


def moments(x):
    x = x.double()
    return x.mean(0), x.var(0)


def within(got, want, se):
    assert bool(((got - want).abs() < 5 * se).all()), (got, want, se)


@pytest.mark.parametrize("make", [
    lambda: D.Normal(ember.tensor([0.0, 2.0]), ember.tensor([1.0, 0.5])),
    lambda: D.LogNormal(ember.tensor([0.0]), ember.tensor([0.25])),
    lambda: D.Uniform(ember.tensor([-1.0, 0.0]), ember.tensor([3.0, 0.5])),
    lambda: D.Exponential(ember.tensor([0.5, 4.0])),
    lambda: D.Laplace(ember.tensor([1.0]), ember.tensor([2.0])),
    lambda: D.Bernoulli(probs=ember.tensor([0.1, 0.7])),
    lambda: D.Gamma(ember.tensor([0.4, 3.0]), ember.tensor([1.0, 2.0])),
    lambda: D.Beta(ember.tensor([0.5, 2.0]), ember.tensor([0.5, 5.0])),
    lambda: D.Dirichlet(ember.tensor([1.0, 2.0, 3.0])),
    lambda: D.OneHotCategorical(probs=ember.tensor([0.2, 0.3, 0.5])),
    lambda: D.MultivariateNormal(ember.tensor([1.0, -1.0]), covariance_matrix=ember.tensor([[2.0, 0.5], [0.5, 1.0]])),
    lambda: D.Gumbel(ember.tensor([0.5, -1.0]), ember.tensor([1.0, 2.0])),
    lambda: D.HalfNormal(ember.tensor([1.0, 0.3])),
    lambda: D.Weibull(ember.tensor([1.0, 2.0]), ember.tensor([1.5, 3.0])),
    lambda: D.Kumaraswamy(ember.tensor([2.0, 0.8]), ember.tensor([3.0, 1.5])),
    lambda: D.InverseGamma(ember.tensor([6.0, 9.0]), ember.tensor([2.0, 1.0])),
    lambda: D.Pareto(ember.tensor([1.0, 0.5]), ember.tensor([6.0, 9.0])),
    lambda: D.StudentT(ember.tensor([8.0, 12.0]), ember.tensor([0.5, -1.0]), ember.tensor([1.0, 2.0])),
    lambda: D.Chi2(ember.tensor([1.0, 4.0])),
    lambda: D.FisherSnedecor(ember.tensor([5.0, 10.0]), ember.tensor([12.0, 20.0])),
    lambda: D.Poisson(ember.tensor([0.5, 7.0])),
    lambda: D.Binomial(ember.tensor([5.0, 30.0]), ember.tensor([0.2, 0.7])),
    lambda: D.Geometric(ember.tensor([0.3, 0.8])),
    lambda: D.NegativeBinomial(ember.tensor([3.0, 10.0]), ember.tensor([0.4, 0.2])),
    lambda: D.Multinomial(6, probs=ember.tensor([0.2, 0.3, 0.5])),
    lambda: D.MixtureSameFamily(D.Categorical(ember.tensor([0.3, 0.7])), D.Normal(ember.tensor([-1.0, 2.0]), ember.tensor([0.5, 1.5]))),
    lambda: D.LowRankMultivariateNormal(ember.tensor([1.0, -1.0]), ember.tensor([[1.0], [0.5]]), ember.tensor([0.5, 1.0])),
    lambda: D.Wishart(ember.tensor(6.0), covariance_matrix=ember.tensor([[2.0, 0.5], [0.5, 1.0]])),
])
def test_sample_moments_match_mean_and_variance(make):
    ember.manual_seed(0)
    d = make()
    x = d.sample((N,))
    assert tuple(x.shape) == (N,) + tuple(d.batch_shape) + tuple(d.event_shape)
    m, v = moments(x)
    var = d.variance.double()
    within(m, d.mean.double(), (var / N).sqrt())
    # The variance of a sample variance is about 2 var^2 / N for light tails; heavy-tailed
    # ones (Laplace, LogNormal, small-shape Gamma) get a wider bound from their kurtosis.
    within(v, var, (10 * var.pow(2) / N).sqrt())


def test_categorical_frequencies_and_shapes():
    ember.manual_seed(1)
    p = ember.tensor([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    d = D.Categorical(probs=p)
    s = d.sample((N,))
    assert s.shape == (N, 2) and s.dtype == ember.int64
    for row in range(2):
        counts = ember.bincount(s[:, row], minlength=3).double() / N
        within(counts, p[row].double(), (p[row].double() * (1 - p[row].double()) / N).sqrt() + 1e-12)


@pytest.mark.parametrize("make", [
    lambda a, b: D.Normal(a, b),
    lambda a, b: D.LogNormal(a, b),
    lambda a, b: D.Uniform(a, a + b),
    lambda a, b: D.Exponential(b),
    lambda a, b: D.Laplace(a, b),
    lambda a, b: D.MultivariateNormal(a, scale_tril=ember.diag(b) + ember.tensor([[0.0, 0.0], [0.4, 0.0]], dtype=ember.float64)),
    lambda a, b: D.MultivariateNormal(a, covariance_matrix=ember.diag(b) + 0.2),
])
def test_rsample_is_differentiable_in_the_parameters(make):
    a = ember.tensor([0.3, -0.2], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([0.7, 1.5], dtype=ember.float64, requires_grad=True)

    def draw(a, b):
        g = ember.Generator().manual_seed(3)  # the same noise for every evaluation
        with_gen = make(a, b)
        state = ember.get_rng_state()
        ember.set_rng_state(g.get_state())
        x = with_gen.rsample((4,))
        ember.set_rng_state(state)
        return x

    assert ember.autograd.gradcheck(draw, (a, b))


def test_log_prob_gradients_by_finite_differences():
    loc = ember.tensor([0.5, -1.0], dtype=ember.float64, requires_grad=True)
    scale = ember.tensor([2.0, 0.3], dtype=ember.float64, requires_grad=True)
    v = ember.tensor([1.5, -0.5], dtype=ember.float64)
    assert ember.autograd.gradcheck(lambda m, s: D.Normal(m, s).log_prob(v), (loc, scale))
    conc = ember.tensor([1.5, 2.5], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda c: D.Gamma(c, 2.0).log_prob(ember.tensor([0.7, 1.2], dtype=ember.float64)), (conc,))
    logits = ember.tensor([0.1, 1.0, -0.5], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda lg: D.Categorical(logits=lg).entropy(), (logits,))


def test_mvn_sample_covariance_and_argument_errors():
    ember.manual_seed(4)
    C = ember.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=ember.float64)
    x = D.MultivariateNormal(ember.zeros(2, dtype=ember.float64), covariance_matrix=C).sample((N,))
    cov = x.T @ x / N
    # Var(x_i x_j) = C_ii C_jj + C_ij^2 for a zero-mean normal.
    d = C.diagonal()
    within(cov, C, ((d[:, None] * d[None, :] + C.pow(2)) / N).sqrt())
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        D.MultivariateNormal(ember.zeros(2), covariance_matrix=C, scale_tril=C)
    with pytest.raises(ember.linalg.LinAlgError):
        D.MultivariateNormal(ember.zeros(2), covariance_matrix=-C)


@pytest.mark.parametrize("make, dmean", [
    # d E[sample] / d parameter, by calculus: the reparameterised gradient averages to it.
    (lambda a, b: D.Gamma(a, 1.0), lambda a, b: ember.ones_like(a)),
    (lambda a, b: D.Gamma(a, b), lambda a, b: 1 / b),
    (lambda a, b: D.Beta(a, b), lambda a, b: b / (a + b) ** 2),
])
def test_implicit_reparameterisation_gradients_average_to_the_mean_derivative(make, dmean):
    ember.manual_seed(5)
    a = ember.tensor([0.4, 3.0], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([2.0, 0.7], dtype=ember.float64)
    n = 40_000
    x = make(a, b).rsample((n,))
    (total,) = ember.autograd.grad(x.sum(), a)
    assert x.shape == (n, 2)
    mean_grad, want = total / n, dmean(a.detach(), b)
    # One draw's gradient spreads by at most a few times the mean here: 5 standard errors of
    # an average of n such draws, with a 3x spread.
    for col in range(2):
        bound = 5 * 3 * abs(float(want[col])) / n ** 0.5
        assert abs(float(mean_grad[col]) - float(want[col])) < bound, (mean_grad, want)


def test_dirichlet_rsample_gradient_flows_and_averages_to_the_mean_derivative():
    ember.manual_seed(6)
    c = ember.tensor([1.5, 2.0, 0.5], dtype=ember.float64, requires_grad=True)
    n = 40_000
    x = D.Dirichlet(c).rsample((n,))
    (g,) = ember.autograd.grad(x[:, 0].sum(), c)
    c0 = float(c.sum())
    want = [(c0 - 1.5) / c0 ** 2, -1.5 / c0 ** 2, -1.5 / c0 ** 2]
    for k in range(3):
        assert abs(float(g[k]) / n - want[k]) < 0.02 * max(abs(w) for w in want), (g / n, want)


def test_bad_parameters_and_missing_pairs():
    with pytest.raises(ValueError):
        D.Bernoulli()
    with pytest.raises(ValueError):
        D.Categorical(probs=ember.tensor(0.5))
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Gamma(1.0, 1.0))
    with pytest.raises(NotImplementedError):
        D.Bernoulli(probs=ember.tensor(0.5)).rsample()
    _ = math


def test_heavy_tailed_and_simplex_draws_have_their_support_and_quantiles():
    """Draws without finite moments (Cauchy, HalfCauchy) or on the simplex: the empirical CDF at
    the distribution's own quantiles matches the quantile level; relaxed draws stay in support."""
    ember.manual_seed(7)
    for d in (D.Cauchy(ember.tensor([0.5]), ember.tensor([2.0])), D.HalfCauchy(ember.tensor([1.5]))):
        x = d.sample((N,)).double()
        for q in (0.1, 0.5, 0.9):
            level = float((x <= d.icdf(ember.tensor([q])).double()).double().mean())
            assert abs(level - q) < 5 * (q * (1 - q) / N) ** 0.5, (d, q, level)
    for d in (D.LogisticNormal(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 0.5])),
              D.RelaxedOneHotCategorical(ember.tensor(0.5), probs=ember.tensor([0.2, 0.3, 0.5]))):
        x = d.sample((1000,))
        assert bool(d.support.check(x).all())
    x = D.RelaxedBernoulli(ember.tensor(0.5), probs=ember.tensor([0.2, 0.9])).sample((N,))
    # At temperature -> 0 the relaxed draw rounds to the Bernoulli; at 0.5 its mean still sits
    # on the same side of 1/2 as p.
    assert bool(((x > 0) & (x < 1)).all())
    means = x.mean(0)
    assert float(means[0]) < 0.5 < float(means[1])


def test_transformed_rsample_and_tanh_policy_gradients():
    """A SAC-style squashed Gaussian: ``rsample`` differentiates through the transforms and the
    cached tanh inverts exactly at saturation, so ``log_prob`` of the action is finite."""
    loc = ember.tensor([0.3, -0.2], dtype=ember.float64, requires_grad=True)
    scale = ember.tensor([0.5, 2.0], dtype=ember.float64, requires_grad=True)

    def log_prob_of_draw(loc, scale):
        g = ember.Generator().manual_seed(11)
        state = ember.get_rng_state()
        ember.set_rng_state(g.get_state())
        d = D.TransformedDistribution(D.Normal(loc, scale), [D.transforms.TanhTransform(cache_size=1)])
        a = d.rsample((3,))
        ember.set_rng_state(state)
        return d.log_prob(a)

    assert ember.autograd.gradcheck(log_prob_of_draw, (loc, scale))
    d = D.TransformedDistribution(D.Normal(ember.tensor([30.0]), ember.tensor([0.1])), [D.transforms.TanhTransform(cache_size=1)])
    a = d.rsample()
    assert float(a) == 1.0 and bool(d.log_prob(a).isfinite().all())


def test_von_mises_draws_have_the_circular_mean_and_resultant_length():
    """``mean`` and ``variance`` of a von Mises are circular: the angle of the average unit
    vector is ``loc`` and its length is ``1 - variance`` (= I1(k) / I0(k))."""
    ember.manual_seed(8)
    d = D.VonMises(ember.tensor([0.5, -2.0, 3.0]), ember.tensor([0.5, 4.0, 20.0]))
    x = d.sample((N,)).double()
    assert bool(((x >= -math.pi) & (x < math.pi)).all())
    c, s = x.cos().mean(0), x.sin().mean(0)
    length = (c * c + s * s).sqrt()
    angle = ember.atan2(s, c)
    want = 1 - d.variance.double()
    assert bool(((length - want).abs() < 5 / N ** 0.5).all()), (length, want)
    err = ((angle - d.mean.double() + math.pi) % (2 * math.pi) - math.pi).abs()
    assert bool((err < 5 / (N ** 0.5 * want)).all()), (angle, d.mean)


@pytest.mark.parametrize("dim,eta", [(2, 2.0), (3, 0.5), (4, 3.0)])
def test_lkj_cholesky_draws_are_correlation_factors_with_lkj_marginals(dim, eta):
    # Each off-diagonal correlation of LKJ(eta) in dim d is 2 Beta(b, b) - 1 with
    # b = eta - 1 + d / 2: mean 0, variance 1 / (2 b + 1).
    ember.manual_seed(3)
    L = D.LKJCholesky(dim, eta).sample((20_000,))
    assert tuple(L.shape) == (20_000, dim, dim)
    assert bool(D.constraints.corr_cholesky.check(L).all())
    corr = (L @ L.mT)[:, 1, 0].double()
    b = eta - 1 + dim / 2
    var = 1 / (2 * b + 1)
    within(corr.mean(), ember.tensor(0.0, dtype=ember.float64), math.sqrt(var / corr.numel()))
    within(corr.var(), ember.tensor(var, dtype=ember.float64), var * math.sqrt(2.5 / corr.numel()))


def test_wishart_df_gradient_by_finite_differences_and_rsample_flows():
    S = ember.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.5]], dtype=ember.float64)
    X = ember.tensor([[5.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 4.0]], dtype=ember.float64)

    def f(df):
        w = D.Wishart(df, covariance_matrix=S)
        return w.log_prob(X) + w.entropy()

    df = ember.tensor(4.5, dtype=ember.float64, requires_grad=True)
    f(df).backward()
    h = 1e-6
    numeric = (f(ember.tensor(4.5 + h, dtype=ember.float64)) - f(ember.tensor(4.5 - h, dtype=ember.float64))) / (2 * h)
    assert abs(df.grad.item() - numeric.item()) < 1e-7, (df.grad, numeric)
    # rsample is reparameterised in the scale factor.
    L = ember.linalg.cholesky(S).requires_grad_()
    D.Wishart(5.0, scale_tril=L).rsample((4,)).sum().backward()
    assert L.grad is not None and bool(L.grad.abs().sum() > 0)
