"""Snippets for ``cases.CASES`` on ``torch.distributions`` beyond the first set: constraints,
validation errors, transforms and their log-Jacobians, ``biject_to``/``transform_to``,
``TransformedDistribution`` and the distributions built on it, the counting distributions,
``MixtureSameFamily`` and ``LowRankMultivariateNormal`` (densities, moments, entropies,
gradients; draws are checked statistically in ``test_distributions.py``)."""

from cases import case

_D = "D = torch.distributions\nC = D.constraints\nT = D.transforms\n"

# ---- constraints and validation
case("dist_constraints_check", _D + "x = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0])\n"
     "out = (C.positive.check(x), C.nonnegative.check(x), C.unit_interval.check(x), C.interval(-1, 1).check(x), "
     "C.half_open_interval(0, 1).check(x), C.greater_than(0.5).check(x), C.less_than(1.0).check(x), C.real.check(torch.tensor([1., float('nan')])), "
     "C.boolean.check(x), C.nonnegative_integer.check(x), C.integer_interval(0, 1).check(x), "
     "C.simplex.check(torch.tensor([[0.2, 0.8], [0.5, 0.6]])), C.real_vector.check(torch.ones(2, 3)), "
     "C.lower_cholesky.check(torch.tensor([[[1., 0.], [2., 3.]], [[1., 1.], [0., 1.]]])), "
     "C.positive_definite.check(torch.tensor([[[2., 1.], [1., 2.]], [[1., 2.], [2., 1.]]])), "
     "C.one_hot.check(torch.tensor([[0., 1.], [1., 1.]])), C.independent(C.positive, 1).check(torch.tensor([[1., 2.], [1., -1.]])), "
     "C.positive.event_dim, C.simplex.event_dim, C.boolean.is_discrete, C.real.is_discrete)")
case("dist_constraints_repr", _D + "out = (repr(C.real), repr(C.positive), repr(C.interval(0, 2)), repr(C.simplex), repr(C.independent(C.real, 1)), "
     "repr(D.Normal(0., 1.).support), repr(D.Uniform(0., 2.).support), repr(D.Categorical(torch.ones(3)).support), "
     "repr(D.Binomial(5, torch.tensor(0.5)).support), repr(D.Beta(1., 2.).support), repr(D.Gamma(1., 2.).support), "
     "repr(D.Dirichlet(torch.ones(3)).support), repr(D.Exponential(1.).support), repr(D.Poisson(2.).support))")
case("dist_validation_param", _D + "out = D.Normal(0.0, -1.0)")
case("dist_validation_value", _D + "out = D.Exponential(2.0).log_prob(torch.tensor(-1.0))")
case("dist_validation_not_tensor", _D + "out = D.Normal(0.0, 1.0).log_prob(0.5)")
case("dist_validation_shape", _D + "out = D.Normal(torch.zeros(3), 1.0).log_prob(torch.zeros(2))")
case("dist_validation_uniform", _D + "out = D.Uniform(2.0, 1.0)")
case("dist_validation_off", _D + "D.Distribution.set_default_validate_args(False)\ntry:\n"
     "    out = (D.Exponential(2.0).log_prob(torch.tensor(-1.0)), D.Normal(0.0, 1.0, validate_args=True).scale)\n"
     "finally:\n    D.Distribution.set_default_validate_args(True)")
case("dist_validation_arg_off", _D + "out = D.Bernoulli(probs=torch.tensor(0.3), validate_args=False).log_prob(torch.tensor(2.0))")
case("dist_repr_expand", _D + "n = D.Normal(torch.tensor([0., 1.]), 2.0)\ne = n.expand((3, 2))\n"
     "out = (repr(D.Normal(0., 1.)), repr(n), e.batch_shape, e.loc, e.log_prob(torch.zeros(3, 2)), "
     "D.Exponential(torch.tensor([1., 2.])).expand((2, 2)).rate, f'{torch.tensor(2.5):.2f}')")

# ---- transforms
case("dist_transforms_forward_inverse", _D + "x = torch.tensor([-1.5, 0.0, 0.7, 2.0])\n"
     "ts = [T.ExpTransform(), T.SigmoidTransform(), T.TanhTransform(), T.SoftplusTransform(), T.AffineTransform(1.0, -2.0), "
     "T.AffineTransform(torch.tensor(0.5), torch.tensor([1., 2., 3., 4.])), T.AbsTransform()]\n"
     "out = tuple((t(x), t.inv(t(x)) if not isinstance(t, T.AbsTransform) else t.inv(t(x)), t.log_abs_det_jacobian(x, t(x)) "
     "if not isinstance(t, T.AbsTransform) else None) for t in ts)")
case("dist_transforms_power_compose", _D + "x = torch.tensor([0.5, 1.0, 3.0])\np = T.PowerTransform(2.5)\n"
     "c = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 3.0), T.PowerTransform(0.5)])\n"
     "out = (p(x), p.inv(p(x)), p.log_abs_det_jacobian(x, p(x)), c(x), c.inv(c(x)), c.log_abs_det_jacobian(x, c(x)), "
     "T.ExpTransform().inv(x), T.ExpTransform().inv.log_abs_det_jacobian(x, x.log()), c.bijective, T.AbsTransform().bijective, "
     "T.identity_transform(x), T.AffineTransform(0., -1.).sign, T.ExpTransform().sign, T.ExpTransform() == T.ExpTransform(), "
     "repr(T.ExpTransform()), repr(T.ExpTransform().inv))")
case("dist_transforms_vector", _D + "x = torch.tensor([[0.3, -1.2, 2.0], [0.0, 0.0, 0.0]])\nsb = T.StickBreakingTransform()\n"
     "sm = T.SoftmaxTransform()\ny = sb(x)\nL = torch.tensor([[0.5, 3.0], [-1.0, 0.2]])\n"
     "out = (y, y.sum(-1), sb.inv(y), sb.log_abs_det_jacobian(x, y), sm(x), sm.inv(sm(x)), sb.forward_shape((4, 3)), "
     "sb.inverse_shape((4, 3)), T.LowerCholeskyTransform()(L), T.LowerCholeskyTransform().inv(T.LowerCholeskyTransform()(L)), "
     "T.PositiveDefiniteTransform()(L), T.PositiveDefiniteTransform().inv(T.PositiveDefiniteTransform()(L)))")
case("dist_transforms_event_dims", _D + "x = torch.arange(6.).reshape(2, 3) / 4\n"
     "it = T.IndependentTransform(T.ExpTransform(), 1)\nrt = T.ReshapeTransform((3,), (3, 1))\n"
     "at = T.AffineTransform(0.0, torch.tensor([1., 2., 3.]), event_dim=1)\n"
     "ct = T.CatTransform([T.ExpTransform(), T.AffineTransform(0., 2.)], dim=1, lengths=[2, 1])\n"
     "st = T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], dim=0)\n"
     "out = (it(x), it.log_abs_det_jacobian(x, it(x)), it.event_dim, rt(x).shape, rt.log_abs_det_jacobian(x, rt(x)), "
     "at.log_abs_det_jacobian(x, at(x)), ct(x), ct.inv(ct(x)), ct.log_abs_det_jacobian(x, ct(x)), st(x), st.inv(st(x)), "
     "st.log_abs_det_jacobian(x, st(x)), T.ComposeTransform([T.SoftmaxTransform(), T.ExpTransform()]).codomain.event_dim)")
case("dist_transforms_cache", _D + "t = T.TanhTransform(cache_size=1)\nx = torch.tensor([25.0, -30.0])\ny = t(x)\n"
     "out = (y, t.inv(y), T.TanhTransform().inv(y), t.with_cache(1) is t)")
case("dist_transforms_grads", _D + "x = torch.tensor([0.3, -0.8, 1.5], requires_grad=True)\n"
     "ts = [T.TanhTransform(), T.SigmoidTransform(), T.SoftplusTransform(), T.PowerTransform(3.0)]\n"
     "xx = x.abs() + 0.1\ntotal = sum(t.log_abs_det_jacobian(xx, t(xx)).sum() + t(xx).sum() for t in ts)\n"
     "total.backward()\nout = x.grad")
case("dist_biject_to", _D + "x = torch.tensor([-1.0, 0.5, 2.0])\nv = torch.tensor([[0.1, -0.4], [1.0, 0.0]])\n"
     "out = (D.biject_to(C.positive)(x), D.biject_to(C.real)(x), D.biject_to(C.unit_interval)(x), D.biject_to(C.interval(-2.0, 3.0))(x), "
     "D.biject_to(C.greater_than(1.0))(x), D.biject_to(C.less_than(1.0))(x), D.biject_to(C.simplex)(v), D.transform_to(C.simplex)(v), "
     "D.biject_to(C.independent(C.positive, 1))(v), D.transform_to(C.lower_cholesky)(v), D.transform_to(C.positive_definite)(v), "
     "D.biject_to(C.interval(-2.0, 3.0)).inv(torch.tensor([0.0, 2.5])), D.biject_to(D.Gamma(1., 1.).support)(x))")
case("dist_biject_to_unknown", _D + "out = D.biject_to(C.boolean)")
case("dist_biject_to_not_bijective", _D + "out = D.biject_to(C.lower_cholesky)")

# ---- TransformedDistribution and its family
case("dist_transformed_basic", _D + "base = D.Normal(torch.tensor([0.5, -1.0]), torch.tensor([1.0, 2.0]))\n"
     "d = D.TransformedDistribution(base, [T.AffineTransform(1.0, 3.0), T.ExpTransform()])\n"
     "v = torch.tensor([0.7, 4.0])\nl = D.LogNormal(torch.tensor([1.5, 2.0]), torch.tensor([3.0, 6.0]))\n"
     "e = D.TransformedDistribution(D.Normal(torch.zeros(2, 3), 1.0), T.StickBreakingTransform())\n"
     "s = D.TransformedDistribution(D.Normal(torch.zeros(2), 1.0), [T.TanhTransform(cache_size=1)])\n"
     "out = (d.log_prob(v), l.log_prob(v), d.batch_shape, d.event_shape, d.cdf(v), d.icdf(torch.tensor([0.3, 0.8])), "
     "e.batch_shape, e.event_shape, e.log_prob(torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])), repr(e.support), "
     "s.log_prob(torch.tensor([0.5, -0.99])), d.has_rsample, "
     "D.TransformedDistribution(D.Uniform(0., 1.), T.AffineTransform(0., -1.)).cdf(torch.tensor(-0.25)))")
case("dist_transformed_family", _D + "v = torch.tensor([0.3, 1.2, 2.5])\nu = torch.tensor([0.1, 0.5, 0.8])\n"
     "ds = [D.Gumbel(torch.tensor([0.5, 1.0, -1.0]), 2.0), D.HalfNormal(torch.tensor([1.0, 2.0, 0.5])), D.HalfCauchy(torch.tensor([1.0, 0.5, 3.0])), "
     "D.Weibull(torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.5, 1.5, 3.0])), D.InverseGamma(torch.tensor([1.5, 3.0, 4.0]), 2.0)]\n"
     "out = tuple((d.log_prob(v), d.mean, d.variance, d.entropy(), d.cdf(v), d.icdf(u)) for d in ds[:2]) + "
     "tuple((d.log_prob(v), d.entropy()) for d in ds[2:]) + (ds[0].mode, ds[3].mean, ds[3].variance, ds[3].mode, ds[4].mean, ds[4].variance, ds[4].mode, ds[2].cdf(v))")
case("dist_transformed_family2", _D + "v = torch.tensor([0.3, 0.6, 0.9])\n"
     "k = D.Kumaraswamy(torch.tensor([2.0, 0.5, 3.0]), torch.tensor([3.0, 2.0, 0.7]))\np = D.Pareto(torch.tensor([0.2, 0.5, 0.1]), torch.tensor([1.0, 3.0, 5.0]))\n"
     "ln = D.LogisticNormal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.5]))\n"
     "rb = D.RelaxedBernoulli(torch.tensor(0.5), probs=torch.tensor([0.2, 0.7, 0.5]))\n"
     "rc = D.RelaxedOneHotCategorical(torch.tensor(0.7), logits=torch.tensor([0.1, -1.0, 2.0]))\n"
     "out = (k.log_prob(v), k.mean, k.variance, k.entropy(), p.log_prob(v + 1), p.mean, p.variance, p.entropy(), p.mode, repr(p.support), "
     "ln.log_prob(torch.tensor([0.2, 0.5, 0.3])), ln.batch_shape, ln.event_shape, rb.log_prob(v), rc.log_prob(torch.tensor([0.2, 0.3, 0.5])))")

# ---- continuous
case("dist_continuous", _D + "v = torch.tensor([-0.5, 0.3, 2.0])\n"
     "c = D.Cauchy(torch.tensor([0.0, 1.0, -1.0]), torch.tensor([1.0, 0.5, 2.0]))\nt = D.StudentT(torch.tensor([1.5, 3.0, 10.0]), 0.5, 2.0)\n"
     "x2 = D.Chi2(torch.tensor([1.0, 3.0, 5.0]))\nf = D.FisherSnedecor(torch.tensor([1.0, 3.0, 6.0]), torch.tensor([3.0, 5.0, 9.0]))\n"
     "vm = D.VonMises(torch.tensor([0.0, 1.0, -2.0]), torch.tensor([0.5, 2.0, 10.0]))\n"
     "out = (c.log_prob(v), c.cdf(v), c.icdf(torch.tensor([0.1, 0.5, 0.9])), c.entropy(), c.mean, c.variance, "
     "t.log_prob(v), t.entropy(), t.mean, t.variance, x2.log_prob(v.abs()), x2.mean, x2.df, f.log_prob(v.abs()), f.mean, f.variance, f.mode, "
     "vm.log_prob(v), vm.variance, vm.mean)")
case("dist_continuous_grads", _D + "df = torch.tensor([3.0, 6.0], requires_grad=True)\nsc = torch.tensor([1.5, 0.5], requires_grad=True)\n"
     "kap = torch.tensor([0.7, 4.0], requires_grad=True)\nv = torch.tensor([0.3, -1.2])\n"
     "(D.StudentT(df, 0.0, sc).log_prob(v).sum() + D.Cauchy(0.5, sc).log_prob(v).sum() + D.VonMises(0.2, kap).log_prob(v).sum() "
     "+ D.Gumbel(0.1, sc).log_prob(v).sum() + D.HalfNormal(sc).entropy().sum()).backward()\nout = (df.grad, sc.grad, kap.grad)")

# ---- counting distributions
case("dist_discrete", _D + "k = torch.tensor([0.0, 2.0, 5.0])\np = torch.tensor([0.2, 0.5, 0.9])\n"
     "po = D.Poisson(torch.tensor([0.5, 2.0, 4.0]))\nbi = D.Binomial(torch.tensor([5.0, 10.0, 5.0]), p)\nge = D.Geometric(p)\n"
     "nb = D.NegativeBinomial(torch.tensor([3.0, 1.5, 10.0]), p)\nbl = D.Binomial(6, logits=torch.tensor([0.3, -2.0, 1.0]))\n"
     "out = (po.log_prob(k), po.mean, po.variance, po.mode, bi.log_prob(k), bi.mean, bi.variance, bi.mode, bl.log_prob(k), bl.entropy(), "
     "bl.enumerate_support().shape, ge.log_prob(k), ge.mean, ge.variance, ge.entropy(), nb.log_prob(k), nb.mean, nb.variance, nb.mode, "
     "D.Geometric(torch.tensor([1.0])).log_prob(torch.tensor([0.0])))")
case("dist_multinomial", _D + "p = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])\nm = D.Multinomial(4, probs=p)\n"
     "x = torch.tensor([[1., 1., 2.], [2., 2., 0.]])\n"
     "out = (m.log_prob(x), m.mean, m.variance, m.entropy(), m.batch_shape, m.event_shape, repr(m.support), "
     "D.Multinomial(3, logits=torch.tensor([0.0, 1.0])).log_prob(torch.tensor([1., 2.])))")
case("dist_discrete_grads", _D + "p = torch.tensor([0.3, 0.6], requires_grad=True)\nr = torch.tensor([1.5, 3.0], requires_grad=True)\n"
     "k = torch.tensor([1.0, 4.0])\n(D.Binomial(6, p).log_prob(k).sum() + D.Geometric(p).log_prob(k).sum() + D.Poisson(r).log_prob(k).sum() "
     "+ D.NegativeBinomial(r, p).log_prob(k).sum() + D.Multinomial(5, probs=torch.stack([p, 1 - p], -1)).log_prob(torch.tensor([[1., 4.], [3., 2.]])).sum()).backward()\n"
     "out = (p.grad, r.grad)")
case("dist_straight_through", _D + "torch.manual_seed(0)\nl = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)\n"
     "d = D.OneHotCategoricalStraightThrough(logits=l)\ns = d.rsample()\n(s * torch.tensor([1.0, 2.0, 3.0])).sum().backward()\n"
     "out = (s.sum(), s.requires_grad, l.grad.abs().sum() > 0, d.has_rsample)")

# ---- mixtures and low-rank normals
case("dist_mixture", _D + "mix = D.Categorical(torch.tensor([0.3, 0.7]))\ncomp = D.Normal(torch.tensor([-1.0, 2.0]), torch.tensor([0.5, 1.5]))\n"
     "m = D.MixtureSameFamily(mix, comp)\nv = torch.tensor([0.0, 1.5, -1.0])\n"
     "mix2 = D.Categorical(logits=torch.tensor([[0.0, 1.0], [2.0, -1.0]]))\n"
     "comp2 = D.Independent(D.Normal(torch.arange(8.).reshape(2, 2, 2) / 4, torch.ones(2, 2, 2)), 1)\nm2 = D.MixtureSameFamily(mix2, comp2)\n"
     "out = (m.log_prob(v), m.mean, m.variance, m.cdf(v), m.batch_shape, m2.batch_shape, m2.event_shape, "
     "m2.log_prob(torch.tensor([[0.5, 0.5], [1.0, -1.0]])), m2.mean, m2.variance)")
case("dist_lowrank_mvn", _D + "loc = torch.tensor([0.5, -1.0, 2.0])\nW = torch.tensor([[1.0, 0.5], [0.0, -1.0], [2.0, 0.3]])\n"
     "Dg = torch.tensor([0.5, 1.0, 2.0])\nd = D.LowRankMultivariateNormal(loc, W, Dg)\nv = torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0]])\n"
     "full = D.MultivariateNormal(loc, covariance_matrix=W @ W.T + torch.diag(Dg))\n"
     "out = (d.log_prob(v), full.log_prob(v), d.entropy(), d.variance, d.covariance_matrix, d.precision_matrix, d.mean, d.batch_shape, d.event_shape)")
case("dist_kl_new_pairs", _D + "kl = D.kl_divergence\n"
     "out = (kl(D.Laplace(torch.tensor([0., 1.]), 1.5), D.Laplace(0.5, torch.tensor([1., 3.]))), kl(D.Poisson(torch.tensor([1., 4.])), D.Poisson(2.0)), "
     "kl(D.Geometric(torch.tensor([0.3, 0.7])), D.Geometric(torch.tensor(0.5))), kl(D.Binomial(5, torch.tensor([0.3, 0.6])), D.Binomial(5, torch.tensor(0.4))), "
     "kl(D.Binomial(6, torch.tensor([0.3])), D.Binomial(5, torch.tensor(0.4))), kl(D.Cauchy(0.0, torch.tensor([1., 2.])), D.Cauchy(1.0, 1.5)), "
     "kl(D.Gumbel(torch.tensor([0., 1.]), 2.0), D.Gumbel(0.5, 1.0)), kl(D.HalfNormal(torch.tensor([1., 2.])), D.HalfNormal(1.5)), "
     "kl(D.LogNormal(0.0, torch.tensor([1., 2.])), D.LogNormal(1.0, 1.0)))")
case("dist_continuous_bernoulli", _D + "p = torch.tensor([0.1, 0.4999, 0.5, 0.7, 0.999], dtype=torch.float64, requires_grad=True)\n"
     "d = D.ContinuousBernoulli(probs=p)\nv = torch.tensor([0.3, 0.9, 0.5, 0.0, 1.0], dtype=torch.float64)\n"
     "lp = d.log_prob(v)\n(lp.sum() + d.entropy().sum() + d.mean.sum()).backward()\n"
     "q = D.ContinuousBernoulli(logits=torch.tensor([[-2.0], [0.5]]))\n"
     "out = (lp, p.grad, d.mean, d.variance, d.stddev, d.entropy(), d.cdf(v), d.icdf(torch.tensor([0.2, 0.5, 0.5, 0.9, 0.4], dtype=torch.float64)), "
     "q.log_prob(torch.tensor([0.25, 0.75])), q.mean, q.probs, q.batch_shape, q.sample((3,)).shape, q.rsample().shape, "
     "D.ContinuousBernoulli(0.3).batch_shape, D.ContinuousBernoulli(probs=torch.tensor([0.2, 0.6])).expand((3, 2)).mean)")
case("dist_continuous_bernoulli_bad_value", _D + "out = D.ContinuousBernoulli(0.3).log_prob(torch.tensor(1.5))")
case("dist_continuous_bernoulli_both", _D + "out = D.ContinuousBernoulli(probs=0.3, logits=0.1)")
case("dist_generalized_pareto", _D + "# (f32: torch's own log_prob fails in f64, comparing with an f32 zero)\nloc = torch.tensor([0.1, -1.0, 0.0, 2.0], requires_grad=True)\n"
     "scale = torch.tensor([2.0, 0.5, 1.0, 3.0], requires_grad=True)\n"
     "conc = torch.tensor([0.4, -0.25, 0.0, 0.7], requires_grad=True)\nd = D.GeneralizedPareto(loc, scale, conc)\n"
     "v = torch.tensor([1.5, -0.5, 0.3, 4.0])\nlp = d.log_prob(v)\n"
     "(lp.sum() + d.cdf(v).sum() + d.icdf(torch.tensor([0.3, 0.5, 0.9, 0.1])).sum()).backward()\n"
     "out = (lp, d.cdf(v), d.log_survival_function(v), d.icdf(torch.tensor([0.3, 0.5, 0.9, 0.1])), d.mean, "
     "d.variance, d.entropy(), d.mode, loc.grad, scale.grad, conc.grad, d.rsample((2,)).shape, D.GeneralizedPareto(0.0, 1.0, 0.2).batch_shape, "
     "d.support.lower_bound, d.support.upper_bound)")
case("dist_generalized_pareto_outside_support", _D + "out = D.GeneralizedPareto(0.0, 1.0, -0.5).log_prob(torch.tensor(3.0))")
case("dist_exponential_family", _D + "class Exp(D.ExponentialFamily):\n    arg_constraints = {}\n"
     "    def __init__(self, rate):\n        self.rate = rate\n        super().__init__(rate.shape, validate_args=False)\n"
     "    @property\n    def _natural_params(self):\n        return (-self.rate,)\n"
     "    def _log_normalizer(self, x):\n        return -torch.log(-x)\n    @property\n    def _mean_carrier_measure(self):\n        return 0\n"
     "r = torch.tensor([0.5, 2.0], requires_grad=True)\ne = Exp(r).entropy()\ne.sum().backward()\n"
     "cb = D.ContinuousBernoulli(probs=torch.tensor([0.2, 0.4995, 0.9]))\n"
     "out = (e, r.grad, D.ExponentialFamily.entropy(cb), cb.entropy(), isinstance(D.Normal(0.0, 1.0), D.ExponentialFamily), "
     "isinstance(D.Gamma(1.0, 1.0), D.ExponentialFamily), isinstance(D.Bernoulli(0.3), D.ExponentialFamily), "
     "isinstance(D.Uniform(0.0, 1.0), D.ExponentialFamily))")

# ---- LKJCholesky, CorrCholeskyTransform, Wishart (densities, moments, entropies, gradients)
_LKJ = _D + ("T3 = T.CorrCholeskyTransform()\nv = torch.tensor([[0.3, -0.5, 1.2], [-1.0, 0.2, 0.7]], dtype=torch.float64)\n"
             "L = T3(v)\n")
case("corr_cholesky_transform", _LKJ + "out = (L, T3.inv(L), T3.log_abs_det_jacobian(v, L), C.corr_cholesky.check(L), "
     "T3.forward_shape((4, 6)), T3.inverse_shape((5, 4, 4)), D.biject_to(C.corr_cholesky)(v[0]), "
     "D.utils.tril_matrix_to_vec(torch.arange(9.).reshape(3, 3), diag=-1), D.utils.vec_to_tril_matrix(torch.arange(6.)))")
case("corr_cholesky_transform_shape_error", _D + "out = T.CorrCholeskyTransform().forward_shape((4,))")
case("lkj_cholesky_log_prob", _LKJ + "c = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)\nd = D.LKJCholesky(3, c)\n"
     "lp = d.log_prob(L)\nlp.sum().backward()\ne = D.LKJCholesky(3, 1.0).expand((2,))\n"
     "out = (lp, c.grad, d.batch_shape, d.event_shape, e.log_prob(L.float()), D.LKJCholesky(2).log_prob(torch.tensor([[1.0, 0.0], [0.6, 0.8]])), "
     "repr(d.support))")
case("lkj_cholesky_dim_error", _D + "out = D.LKJCholesky(1, 1.0)")
case("lkj_cholesky_support_error", _D + "out = D.LKJCholesky(2, 1.0).log_prob(torch.eye(2) * 2)")
_W = _D + ("S = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.5]], dtype=torch.float64)\n"
           "X = torch.tensor([[5.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 4.0]], dtype=torch.float64)\n")
# df's gradient is left out: torch's trigamma is off by ~1e-10 at these points (Ember's agrees with
# mpmath to 1e-14); test_distributions.py checks it by finite differences.
case("wishart_densities", _W + "df = torch.tensor(4.5, dtype=torch.float64, requires_grad=True)\n"
     "Sg = S.clone().requires_grad_()\nw = D.Wishart(df, covariance_matrix=Sg)\nlp = w.log_prob(X)\n(lp + w.entropy()).backward()\n"
     "wp = D.Wishart(6.0, precision_matrix=torch.linalg.inv(S))\nwl = D.Wishart(torch.tensor([3.0, 7.0], dtype=torch.float64), scale_tril=torch.linalg.cholesky(S))\n"
     "out = (lp, w.entropy(), Sg.grad, w.mean, w.mode, w.variance, wp.log_prob(X), wp.covariance_matrix, "
     "wl.log_prob(X), wl.entropy(), wl.mode, wl.batch_shape, wl.expand((3, 2)).log_prob(X).shape, w.scale_tril, w.precision_matrix)")
case("wishart_df_error", _W + "out = D.Wishart(1.5, covariance_matrix=S)")
case("wishart_two_params_error", _W + "out = D.Wishart(5.0, covariance_matrix=S, scale_tril=S)")
case("dist_submodule_paths", "import importlib\nM = lambda path: importlib.import_module(torch.__name__ + '.distributions.' + path)\n"
     "Beta, OneHotCategorical = M('beta').Beta, M('one_hot_categorical').OneHotCategorical\nU = M('utils')\n"
     "out = (Beta(2.0, 3.0).mean, OneHotCategorical(torch.tensor([0.2, 0.8])).probs, M('wishart').Wishart.__name__, "
     "M('lkj_cholesky').LKJCholesky.__name__, M('studentT').StudentT.__name__, M('von_mises').VonMises.__name__, "
     "U.broadcast_all(torch.ones(2), 3.0)[1], U.probs_to_logits(torch.tensor([0.25, 0.75])), "
     "U.logits_to_probs(torch.tensor([0.0, 1.0]), is_binary=True), U.clamp_probs(torch.tensor([0.0, 1.0])))")
