"""Operators lowered to faster MXNet kernels than their ``np`` namesakes (transposes as
oneDNN reorders, tanh and sigmoid as oneDNN ``Activation``, ``where`` as the classic
operator) give NumPy's values eagerly, in lazy graphs and under ``grad``."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad


@pytest.fixture(autouse=True)
def _restore():
    minpy.jit.compile.cache.clear()
    yield
    minpy.jit.compile.cache.clear()
    minpy.set_lazy(False)


def _run_lazy(fn, *args):
    with minpy.lazy():
        out = fn(*args)
        return [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])], None


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (4, 6, 8, 32)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_every_permutation_matches_numpy_eagerly_and_in_a_graph(dtype, shape):
    # float32 transposes of 4096+ elements run as oneDNN reorders, the rest as np.transpose
    import itertools
    x = onp.random.RandomState(0).randn(*shape)
    x = (x > 0) if dtype == "bool" else (x * 10).astype(dtype)
    xm = np.array(x)
    x = xm.asnumpy()           # float64 is stored as MinPy's default float dtype
    for perm in itertools.permutations(range(4)):
        want = onp.transpose(x, perm)
        onp.testing.assert_array_equal(np.transpose(xm, perm).asnumpy(), want)
        (got,), _ = _run_lazy(lambda a: np.transpose(a * 1, perm), xm)
        onp.testing.assert_array_equal(got, want)
    for src, dst in [(0, -1), ((0, 1), (3, 0)), ((2, 0), (0, 1))]:
        (got,), _ = _run_lazy(lambda a: np.moveaxis(a * 1, src, dst), xm)
        onp.testing.assert_array_equal(got, onp.moveaxis(x, src, dst))
    (got,), _ = _run_lazy(lambda a: np.swapaxes(a * 1, -1, 1), xm)
    onp.testing.assert_array_equal(got, onp.swapaxes(x, -1, 1))


def test_a_pooled_map_reshaped_and_transposed_in_one_graph():
    # a reshape of a oneDNN pooling output handed to a oneDNN transpose or Activation
    # made MXNet fail
    # ("could not create a primitive descriptor for a reorder primitive")
    from minpy.nn import layers
    rng = onp.random.RandomState(1)
    x = rng.randn(32, 2, 8, 8).astype("float32")  # 8192-element maps: the oneDNN path
    w = rng.randn(16, 2, 3, 3).astype("float32")    # 16 channels: a blocked oneDNN layout
    b = rng.randn(16).astype("float32")

    def fn(x, w, b):
        h = layers.max_pool(layers.conv2d(x, w, b, pad=1), 2, 2)
        r = np.reshape(h, (32, -1))
        return (r.T * 1.0, np.reshape(h, (32, 16, 16)).swapaxes(1, 2), np.tanh(r),
                layers.sigmoid(np.expand_dims(r, 0)), np.where(r > 0, r, 0.0))
    want = [o.asnumpy() for o in fn(np.array(x), np.array(w), np.array(b))]
    got, _ = _run_lazy(fn, np.array(x), np.array(w), np.array(b))
    for g, e in zip(got, want):
        onp.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    assert want[0].shape == (256, 32)


def _sigmoid(x):
    return 1.0 / (1.0 + onp.exp(-x.astype("float64")))


@pytest.mark.parametrize("n", [5, 300, 784 * 512])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_tanh_and_sigmoid_match_numpy_at_every_size(name, n):
    from minpy.nn import layers
    x = (onp.random.RandomState(n).randn(n) * 6).astype("float32")
    x[:4] = [onp.nan, onp.inf, -onp.inf, -0.0]
    f = np.tanh if name == "tanh" else layers.sigmoid
    ref = onp.tanh(x) if name == "tanh" else _sigmoid(x)
    for got in (f(np.array(x)).asnumpy(), _run_lazy(lambda a: f(a * 1.0), np.array(x))[0][0]):
        assert got.dtype == onp.float32
        onp.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-7)
    xs = x[4:]
    g = grad(lambda a: np.sum(f(a) * 3.0))(np.array(xs)).asnumpy()
    y = ref[4:]
    d = 1.0 - y * y if name == "tanh" else y * (1.0 - y)
    onp.testing.assert_allclose(g, 3.0 * d, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(64, 64), (5000,), (3, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "float16", "bool"])
def test_where_matches_numpy(shape, dtype):
    # 4096+ elements of one shape run as MXNet's classic where (no bool kernels there)
    r = onp.random.RandomState(0)
    x = (r.randn(*shape) * 5).astype(dtype)
    y = (r.randn(*shape) * 5).astype(dtype)
    if dtype.startswith("float"):
        x.flat[:3] = [onp.nan, onp.inf, -onp.inf]
    c = r.rand(*shape) > 0.5
    zero = False if dtype == "bool" else 0.0
    cases = [(c, x, y), (c, x, zero), (c, 2, y), (c.astype("float32") * r.randint(0, 3, shape), x, y)]
    for cond, a, b in cases:
        want = onp.where(cond, a, b)
        args = [np.array(v) if isinstance(v, onp.ndarray) else v for v in (cond, a, b)]
        got = np.where(*args).asnumpy()
        lazy, _ = _run_lazy(lambda *v: np.where(*v), *args)
        for g in (got, lazy[0]):
            assert g.dtype == (onp.float32 if want.dtype == onp.float64 else want.dtype)
            onp.testing.assert_array_equal(g, want.astype(g.dtype))


def test_where_gradient_routes_by_the_condition():
    r = onp.random.RandomState(1)
    x, y = r.randn(80, 80).astype("float32"), r.randn(80, 80).astype("float32")
    c = x > 0
    gx, gy = [g.asnumpy() for g in grad(lambda a, b: np.sum(np.where(np.array(c), a, b) * 2.0),
                                         [0, 1])(np.array(x), np.array(y))]
    onp.testing.assert_array_equal(gx, onp.where(c, 2.0, 0.0))
    onp.testing.assert_array_equal(gy, onp.where(c, 0.0, 2.0))
