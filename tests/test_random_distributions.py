"""minpy.numpy.random beyond uniform/normal: NumPy's distributions, array-valued
parameters, and NumPy's generator objects returning MinPy arrays."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as mnp
from minpy.core import grad
from minpy.ops.random import DISTRIBUTIONS

ARGS = {"beta": (2.0, 3.0), "chisquare": (3.0,), "exponential": (2.0,), "gamma": (2.0, 3.0),
        "gumbel": (1.0, 2.0), "logistic": (1.0, 2.0), "lognormal": (0.5, 0.7),
        "pareto": (5.0,), "power": (3.0,), "rayleigh": (2.0,), "weibull": (2.0,)}
BAD = {"beta": (0.0, 1.0), "chisquare": (0.0,), "exponential": (-1.0,), "gamma": (-1.0,),
       "gumbel": (0.0, -1.0), "logistic": (0.0, -1.0), "lognormal": (0.0, -1.0),
       "pareto": (0.0,), "power": (0.0,), "rayleigh": (-1.0,), "weibull": (-1.0,)}


def test_every_numpy_random_name_is_listed():
    public = {n for n in dir(onp.random) if not n.startswith("_")}
    assert public <= set(dir(mnp.random))
    assert set(DISTRIBUTIONS) == set(ARGS)


@pytest.mark.parametrize("name", sorted(ARGS))
def test_distribution_moments_match_numpy(name):
    mnp.random.seed(7)
    ours = getattr(mnp.random, name)(*ARGS[name], size=(40000,))
    assert isinstance(ours, minpy.Array) and ours.shape == (40000,) and ours.dtype == onp.float32
    ref = getattr(onp.random.RandomState(3), name)(*ARGS[name], size=400000)
    got = ours.asnumpy().astype("float64")
    # a 40,000-draw mean is within ~5 standard errors of the reference
    se = ref.std() / onp.sqrt(len(got))
    assert abs(got.mean() - ref.mean()) < 5 * se + 1e-3, (got.mean(), ref.mean())
    assert abs(got.std() - ref.std()) < 0.03 * ref.std(), (got.std(), ref.std())


@pytest.mark.parametrize("name", sorted(ARGS))
def test_distribution_arguments_checked_like_numpy(name):
    with pytest.raises(ValueError) as numpy_err:
        getattr(onp.random, name)(*BAD[name])
    with pytest.raises(ValueError, match=f"random.{name}.*{numpy_err.value}"):
        getattr(mnp.random, name)(*BAD[name])
    with pytest.raises(TypeError, match="unexpected keyword"):
        getattr(mnp.random, name)(*ARGS[name], bogus=1)


def test_distribution_dtype_and_array_parameters():
    assert mnp.random.gamma(2.0, size=3, dtype="float64").dtype == onp.float64
    mnp.random.seed(1)
    shapes = mnp.random.gamma(onp.array([1.0, 50.0]), size=(20000, 2))
    assert isinstance(shapes, minpy.Array) and shapes.shape == (20000, 2)
    onp.testing.assert_allclose(shapes.asnumpy().mean(axis=0), [1.0, 50.0], rtol=0.05)


def test_normal_and_uniform_take_array_parameters():
    mnp.random.seed(0)
    loc = mnp.array([0.0, 10.0, -5.0])
    x = mnp.random.normal(loc, mnp.array([0.01, 0.01, 0.01]), size=(4, 3))
    assert x.shape == (4, 3) and x.dtype == onp.float32
    onp.testing.assert_allclose(x.asnumpy(), onp.broadcast_to(loc.asnumpy(), (4, 3)), atol=0.1)
    low, high = onp.zeros((2, 1)), onp.array([1.0, 2.0, 3.0])
    u = mnp.random.uniform(low, high).asnumpy()
    assert u.shape == (2, 3)
    assert (u >= 0).all() and (u < onp.broadcast_to(high, (2, 3))).all()
    with pytest.raises(ValueError, match="scale < 0"):
        mnp.random.normal(0.0, mnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="do not broadcast"):
        mnp.random.normal(onp.zeros(3), 1.0 + onp.zeros(3), size=(2, 2))


def test_normal_with_array_parameters_is_differentiable():
    """loc + scale * eps: d/dloc = 1, d/dscale = eps = (x - loc) / scale."""
    loc, scale = mnp.array([1.0, 2.0]), mnp.array([0.5, 2.0])
    mnp.random.seed(3)

    def draw(loc, scale):
        return mnp.sum(mnp.random.normal(loc, scale))
    dloc = grad(draw, argnum=0)(loc, scale)
    onp.testing.assert_allclose(dloc.asnumpy(), [1.0, 1.0])
    mnp.random.seed(3)
    x = mnp.random.normal(loc, scale).asnumpy()
    mnp.random.seed(3)
    dscale = grad(draw, argnum=1)(loc, scale)
    onp.testing.assert_allclose(dscale.asnumpy(), (x - loc.asnumpy()) / scale.asnumpy(), rtol=1e-5)


def test_default_rng_and_random_state_give_numpy_streams_as_minpy_arrays():
    a = mnp.random.default_rng(42).normal(size=(2, 3))
    b = onp.random.default_rng(42).normal(size=(2, 3))
    assert isinstance(a, minpy.Array) and a.dtype == onp.float32
    onp.testing.assert_allclose(a.asnumpy(), b.astype("float32"))
    c = mnp.random.default_rng(42).random(4, dtype="float64")
    assert c.dtype == onp.float64
    onp.testing.assert_array_equal(c.asnumpy(), onp.random.default_rng(42).random(4))
    r = mnp.random.RandomState(5).randint(0, 10, size=6)
    assert isinstance(r, minpy.Array)
    onp.testing.assert_array_equal(r.asnumpy(), onp.random.RandomState(5).randint(0, 10, size=6))


def test_generator_shuffle_and_permutation_on_minpy_arrays():
    x = mnp.arange(10)
    alias = x
    mnp.random.default_rng(0).shuffle(x)
    expect = onp.arange(10)
    onp.random.default_rng(0).shuffle(expect)
    assert alias is x
    onp.testing.assert_array_equal(x.asnumpy(), expect)
    p = mnp.random.default_rng(1).permutation(mnp.arange(5) * 2)
    assert isinstance(p, minpy.Array)
    assert sorted(p.asnumpy().tolist()) == [0, 2, 4, 6, 8]
