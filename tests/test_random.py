"""minpy.numpy.random: reproducibility, shapes, dtypes, ranges and rough statistics."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.array import Array

rnd = np.random


def host(x):
    assert isinstance(x, Array), type(x)
    h = x.asnumpy()
    assert h.shape == x.shape and h.dtype == x.dtype
    return h


SAMPLERS = {
    "rand": lambda: rnd.rand(3, 4),
    "randn": lambda: rnd.randn(3, 4),
    "uniform": lambda: rnd.uniform(-1.0, 2.0, (5,)),
    "normal": lambda: rnd.normal(1.0, 2.0, (2, 3)),
    "randint": lambda: rnd.randint(0, 100, (10,)),
    "choice-int": lambda: rnd.choice(10, (6,)),
    "choice-array": lambda: rnd.choice(np.array([1.5, 2.5, 3.5]), 5),
    "choice-p": lambda: rnd.choice(4, 8, p=[0.1, 0.2, 0.3, 0.4]),
    "permutation-int": lambda: rnd.permutation(10),
    "permutation-array": lambda: rnd.permutation(np.arange(10)),
    "random_sample": lambda: rnd.random_sample((4,)),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_same_seed_same_values(name):
    rnd.seed(42)
    a = host(SAMPLERS[name]())
    b_other = host(SAMPLERS[name]())
    rnd.seed(42)
    b = host(SAMPLERS[name]())
    onp.testing.assert_array_equal(a, b)
    if a.size > 4 and name not in ("choice-array",):
        # the stream moves on between draws
        assert not onp.array_equal(a, b_other)


@pytest.mark.parametrize("name", ["rand", "randn", "uniform", "normal", "randint"])
def test_different_seeds_differ(name):
    rnd.seed(1)
    a = host(SAMPLERS[name]())
    rnd.seed(2)
    b = host(SAMPLERS[name]())
    assert not onp.array_equal(a, b)


def test_seed_rejects_bad_values():
    with pytest.raises((ValueError, TypeError)):
        rnd.seed(-1)
    with pytest.raises((ValueError, TypeError)):
        rnd.seed(1.5)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 2)])
def test_rand_randn_shapes(shape):
    r = rnd.rand(*shape)
    n = rnd.randn(*shape)
    for x in (r, n):
        assert x.shape == shape and x.dtype == onp.float32
        host(x)
    h = host(r)
    assert ((h >= 0) & (h < 1)).all()


def test_rand_default_dtype_follows_config():
    old = minpy.get_default_dtype()
    try:
        minpy.set_default_dtype("float64")
        assert rnd.rand(2).dtype == onp.float64
        assert rnd.randn(2).dtype == onp.float64
    finally:
        minpy.set_default_dtype(old)


@pytest.mark.parametrize("size,shape", [(None, ()), (4, (4,)), ((2, 3), (2, 3)), ((0,), (0,))])
def test_uniform_normal_size_forms(size, shape):
    u = rnd.uniform(2.0, 3.0, size)
    n = rnd.normal(0.0, 1.0, size)
    assert u.shape == shape and n.shape == shape
    h = host(u)
    assert ((h >= 2.0) & (h <= 3.0)).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_normal_dtype(dtype):
    assert host(rnd.uniform(0, 1, (3,), dtype=dtype)).dtype == dtype
    assert host(rnd.normal(0, 1, (3,), dtype=dtype)).dtype == dtype


def test_normal_scale_zero_and_negative():
    onp.testing.assert_array_equal(host(rnd.normal(3.0, 0.0, (4,))), onp.full(4, 3.0, "float32"))
    with pytest.raises(ValueError):
        rnd.normal(0.0, -1.0, (2,))


@pytest.mark.parametrize("args,kw,lo,hi,shape,dtype", [
    ((5,), {}, 0, 4, (), "int64"),
    ((5,), {"size": (3, 4)}, 0, 4, (3, 4), "int64"),
    ((-3, 3, 100), {}, -3, 2, (100,), "int64"),
    ((0, 10, (7,)), {"dtype": "int32"}, 0, 9, (7,), "int32"),
    ((0, 1, (5,)), {}, 0, 0, (5,), "int64"),
])
def test_randint(args, kw, lo, hi, shape, dtype):
    x = rnd.randint(*args, **kw)
    assert x.shape == shape and x.dtype == dtype
    h = host(x)
    assert h.min() >= lo and h.max() <= hi


def test_randint_errors():
    with pytest.raises(ValueError):
        rnd.randint(5, 5)
    with pytest.raises(TypeError):
        rnd.randint(0, 5, 3, dtype="float32")


def test_randint_covers_range():
    rnd.seed(0)
    h = host(rnd.randint(0, 5, 2000))
    assert set(onp.unique(h).tolist()) == {0, 1, 2, 3, 4}


def test_choice_int_forms():
    x = rnd.choice(5)
    assert x.shape == () and x.dtype == onp.int64 and 0 <= int(x) < 5
    y = rnd.choice(5, (3, 2))
    assert y.shape == (3, 2) and y.dtype == onp.int64
    h = host(y)
    assert h.min() >= 0 and h.max() < 5
    z = host(rnd.choice(8, 8, replace=False))
    assert sorted(z.tolist()) == list(range(8))
    with pytest.raises(ValueError):
        rnd.choice(3, 5, replace=False)
    with pytest.raises(ValueError):
        rnd.choice(0)


def test_choice_array_forms():
    pool = onp.array([1.5, 2.5, 3.5], "float32")
    x = rnd.choice(np.array(pool), 10)
    assert isinstance(x, Array) and x.shape == (10,) and x.dtype == onp.float32
    assert set(host(x).tolist()) <= set(pool.tolist())
    y = host(rnd.choice(np.array(pool), 3, replace=False))
    assert sorted(y.tolist()) == sorted(pool.tolist())
    p = host(rnd.choice(4, 500, p=[0.0, 0.0, 0.5, 0.5]))
    assert set(onp.unique(p).tolist()) <= {2, 3}


@pytest.mark.parametrize("shape", [(10,), (6, 3), (5, 2, 2)])
@pytest.mark.parametrize("dtype", ["float32", "int32", "int64"])
def test_shuffle_is_an_in_place_permutation(shape, dtype):
    orig = onp.arange(int(onp.prod(shape))).reshape(shape).astype(dtype)
    x = np.array(orig, dtype=dtype)
    handle = x
    rnd.seed(3)
    assert rnd.shuffle(x) is None
    assert x is handle and x.shape == shape and x.dtype == dtype
    h = host(x)
    # rows are whole rows of the original, each used once
    rows = sorted(map(tuple, h.reshape(shape[0], -1).tolist()))
    assert rows == sorted(map(tuple, orig.reshape(shape[0], -1).tolist()))
    moved = [h[i].tolist() != orig[i].tolist() for i in range(shape[0])]
    assert any(moved) or shape[0] < 3


def test_shuffle_errors():
    with pytest.raises(TypeError):
        rnd.shuffle(np.array(3.0))


def test_permutation():
    p = rnd.permutation(10)
    assert p.shape == (10,) and p.dtype == onp.int64
    assert sorted(host(p).tolist()) == list(range(10))
    orig = onp.arange(12).reshape(4, 3).astype("float32")
    x = np.array(orig)
    q = rnd.permutation(x)
    assert q.shape == (4, 3) and q.dtype == onp.float32
    onp.testing.assert_array_equal(host(x), orig)    # the input is not changed
    assert sorted(map(tuple, host(q).tolist())) == sorted(map(tuple, orig.tolist()))
    r = rnd.permutation([3, 1, 2])
    assert sorted(host(r).tolist()) == [1, 2, 3]


# statistics: loose bounds (about 6 standard errors) so a fixed seed never flakes


def _check_moments(h, mean, std, n):
    se_mean = std / onp.sqrt(n)
    assert abs(h.mean() - mean) < 6 * se_mean + 1e-6, (h.mean(), mean)
    assert abs(h.std() - std) < 6 * std / onp.sqrt(2 * n) + 1e-6, (h.std(), std)


def test_uniform_statistics():
    rnd.seed(7)
    n = 200_000
    h = host(rnd.uniform(-2.0, 4.0, n)).astype("float64")
    assert h.min() >= -2.0 and h.max() <= 4.0
    _check_moments(h, 1.0, 6.0 / onp.sqrt(12.0), n)
    hist, _ = onp.histogram(h, bins=6, range=(-2, 4))
    assert (abs(hist - n / 6) < 6 * onp.sqrt(n / 6)).all()


def test_rand_statistics():
    rnd.seed(8)
    h = host(rnd.rand(400, 500)).astype("float64")
    _check_moments(h, 0.5, 1 / onp.sqrt(12.0), h.size)


def test_normal_statistics():
    rnd.seed(9)
    n = 200_000
    h = host(rnd.normal(3.0, 2.0, n)).astype("float64")
    _check_moments(h, 3.0, 2.0, n)
    within1 = (abs(h - 3.0) < 2.0).mean()
    assert abs(within1 - 0.6827) < 0.01


def test_randn_statistics():
    rnd.seed(10)
    h = host(rnd.randn(1000, 200)).astype("float64")
    _check_moments(h, 0.0, 1.0, h.size)


def test_randint_statistics():
    rnd.seed(11)
    n = 100_000
    h = host(rnd.randint(0, 10, n))
    counts = onp.bincount(h, minlength=10)
    assert (abs(counts - n / 10) < 6 * onp.sqrt(n / 10)).all()


def test_choice_statistics():
    rnd.seed(12)
    n = 50_000
    h = host(rnd.choice(4, n))
    counts = onp.bincount(h, minlength=4)
    assert (abs(counts - n / 4) < 6 * onp.sqrt(n / 4)).all()


def test_random_ops_run_on_mxnet():
    minpy.reset_call_stats()
    rnd.uniform(0, 1, (3,))
    rnd.normal(0, 1, (3,))
    rnd.randint(0, 3, (3,))
    rnd.choice(3, (3,))
    stats = minpy.call_stats()
    for name in ("random.uniform", "random.normal", "random.randint", "random.choice"):
        assert stats[name]["mxnet"] == 1 and stats[name]["numpy"] == 0, stats
