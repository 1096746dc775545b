"""Sampling from Python: ``ember.Generator`` objects (seeding, state round trips, isolation from
the global stream), ``generator=`` on every sampler, the global ``get_rng_state`` /
``set_rng_state``, distributions of the samplers (moments over 100k draws within about five
standard errors), and PyTorch's exception types for bad arguments. Ember's random streams are its
own (they do not reproduce PyTorch's numbers), so nothing here compares values with torch."""

import math

import pytest

import ember

N = 100_000


def close(value, expected, std_error):
    return abs(value - expected) < 5 * std_error


def test_generator_seeds_and_state_round_trips():
    g = ember.Generator().manual_seed(3)
    assert g.initial_seed() == 3
    a = ember.rand(4, generator=g)
    state = g.get_state()
    assert state.dtype == ember.uint8 and state.shape == (16,)
    b = ember.randn(4, generator=g)
    g.set_state(state)
    assert ember.equal(ember.randn(4, generator=g), b)
    # Same seed, same stream; another seed, another stream.
    assert ember.equal(ember.rand(4, generator=ember.Generator().manual_seed(3)), a)
    assert not ember.equal(ember.rand(4, generator=ember.Generator().manual_seed(4)), a)


def test_private_generators_leave_the_global_stream_alone():
    ember.manual_seed(7)
    want = ember.rand(5)
    ember.manual_seed(7)
    g = ember.Generator().manual_seed(1)
    for f in (lambda: ember.rand(3, generator=g), lambda: ember.randint(0, 9, (3,), generator=g),
              lambda: ember.randperm(5, generator=g), lambda: ember.normal(0.0, 1.0, (2,), generator=g),
              lambda: ember.ones(4).multinomial(2, generator=g), lambda: ember.empty(3).normal_(generator=g),
              lambda: ember.empty(3).exponential_(generator=g), lambda: ember.full((3,), 0.5).bernoulli(generator=g),
              lambda: ember.poisson(ember.ones(3), generator=g)):
        f()
    assert ember.equal(ember.rand(5), want)


def test_global_rng_state_round_trips():
    s = ember.get_rng_state()
    a = ember.rand(3)
    ember.set_rng_state(s)
    assert ember.equal(ember.rand(3), a)
    ember.manual_seed(123)
    assert ember.initial_seed() == 123


def test_generator_argument_type_is_checked():
    with pytest.raises(TypeError):
        ember.rand(2, generator=3)


def moments(t):
    t = t.double()
    return t.mean().item(), t.var().item()


def test_samplers_have_their_distributions_moments():
    g = ember.Generator().manual_seed(0)
    m, v = moments(ember.empty(N).uniform_(-1, 3, generator=g))
    assert close(m, 1.0, math.sqrt(16 / 12 / N)) and close(v, 16 / 12, math.sqrt(16 ** 2 / 180 / N) * 2)
    m, v = moments(ember.empty(N).normal_(2.0, 0.5, generator=g))
    assert close(m, 2.0, 0.5 / math.sqrt(N)) and close(v, 0.25, math.sqrt(2 * 0.0625 / N))
    m, v = moments(ember.empty(N).exponential_(2.0, generator=g))
    assert close(m, 0.5, 0.5 / math.sqrt(N)) and close(v, 0.25, math.sqrt(8 * 0.0625 / N))
    x = ember.empty(N).geometric_(0.25, generator=g)
    assert x.min().item() >= 1 and close(x.double().mean().item(), 4.0, math.sqrt(12 / N))
    x = ember.empty(N, dtype=ember.int64).random_(10, generator=g)
    assert x.min().item() == 0 and x.max().item() == 9 and close(x.double().mean().item(), 4.5, math.sqrt(8.25 / N))
    x = ember.poisson(ember.full((N,), 30.0), generator=g)
    m, v = moments(x)
    assert close(m, 30.0, math.sqrt(30 / N)) and close(v, 30.0, math.sqrt(30 * (1 + 3 * 30) / N))
    x = ember.bernoulli(ember.full((N,), 0.3), generator=g)
    assert set(x.unique().tolist()) == {0.0, 1.0} and close(x.mean().item(), 0.3, math.sqrt(0.21 / N))


def test_multinomial_frequencies_and_no_repeats():
    g = ember.Generator().manual_seed(5)
    p = ember.tensor([1.0, 0.0, 3.0, 6.0])
    s = ember.multinomial(p, N, replacement=True, generator=g)
    assert s.dtype == ember.int64 and s.shape == (N,)
    counts = ember.bincount(s, minlength=4) if hasattr(ember, "bincount") else ember.stack([(s == j).sum() for j in range(4)])
    for j, q in enumerate([0.1, 0.0, 0.3, 0.6]):
        assert close(counts[j].item() / N, q, math.sqrt(q * (1 - q) / N) + 1e-12)
    rows = p.expand(1000, 4).multinomial(3, generator=g)
    assert rows.shape == (1000, 3)
    for r in rows.tolist():
        assert len(set(r)) == 3 and 1 not in r


@pytest.mark.parametrize("call", [
    lambda: ember.tensor([1.0, -1.0]).multinomial(1),
    lambda: ember.zeros(2).multinomial(1),
    lambda: ember.ones(2).multinomial(3),
    lambda: ember.ones(2).multinomial(0),
    lambda: ember.zeros(2).exponential_(0.0),
    lambda: ember.zeros(2).geometric_(1.5),
    lambda: ember.full((2,), 2.0).bernoulli(),
    lambda: ember.poisson(ember.tensor([-1.0])),
    lambda: ember.zeros(2).uniform_(2, 1),
    lambda: ember.zeros(2).random_(5, 5),
    lambda: ember.zeros(2).normal_(0, -1),
    lambda: ember.zeros(2, requires_grad=True).normal_(),
])
def test_bad_arguments_raise_runtime_error_as_torch(call):
    with pytest.raises(RuntimeError):
        call()


def test_in_place_samplers_return_self_and_keep_dtype():
    x = ember.zeros(3, dtype=ember.float64)
    assert x.normal_() is x and x.dtype == ember.float64
    assert x.uniform_() is x and x.bernoulli_(0.5) is x and x.cauchy_() is x and x.log_normal_() is x
    with ember.no_grad():
        w = ember.zeros(2, requires_grad=True)
        w.normal_()
    assert w.requires_grad
