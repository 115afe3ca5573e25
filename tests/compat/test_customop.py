"""minpy.primitive.customop (MinPy 0.3's user-defined operators), checked against NumPy."""
import mxnet as mx
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad, grad_and_loss
from minpy.primitive import customop

_rng = onp.random.RandomState(0)


def _softmax_loss_np(x, y):
    p = onp.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return -onp.log(p[onp.arange(len(y)), y.astype(int)]).mean(), p


@customop("numpy")
def softmax_loss(x, y):
    assert isinstance(x, onp.ndarray)            # the NumPy kind gets NumPy arrays
    return _softmax_loss_np(x, y)[0]


def _softmax_loss_grad(ans, x, y):
    def g_fn(g):
        p = _softmax_loss_np(x, y)[1]
        p[onp.arange(len(y)), y.astype(int)] -= 1
        return g * p / len(y)
    return g_fn


softmax_loss.def_grad(_softmax_loss_grad)

X = _rng.randn(6, 4)
Y = onp.array([0, 3, 1, 2, 3, 0])


def _expected_grad(x, y):
    p = _softmax_loss_np(x, y)[1]
    p[onp.arange(len(y)), y] -= 1
    return p / len(y)


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_numpy_customop_value_and_gradient(mode):
    x, y = np.array(X), np.array(Y)
    step = grad_and_loss(lambda x, y: softmax_loss(x, y) * 2.0)
    runs = 1
    if mode == "jit":
        step, runs = minpy.jit(step), 2
    for _ in range(runs):
        if mode == "lazy":
            with minpy.lazy():
                g, loss = step(x, y)
        else:
            g, loss = step(x, y)
        onp.testing.assert_allclose(float(loss), 2 * _softmax_loss_np(X, Y)[0], rtol=1e-5)
        onp.testing.assert_allclose(g.asnumpy(), 2 * _expected_grad(X.astype("float32"), Y),
                                    rtol=1e-4, atol=1e-6)


def test_numpy_customop_composes_with_minpy_functions():
    x = np.array(X)
    g = grad(lambda x: softmax_loss(np.tanh(x), np.array(Y)))(x)
    t = onp.tanh(X.astype("float32"))
    onp.testing.assert_allclose(g.asnumpy(), _expected_grad(t, Y) * (1 - t ** 2), rtol=1e-4, atol=1e-6)


@customop("mxnet")
def scaled_sigmoid(x, scale=1.0):
    assert isinstance(x, mx.nd.NDArray)          # the MXNet kind gets MXNet arrays
    return mx.nd.sigmoid(x) * scale


scaled_sigmoid.def_grad(lambda ans, x, scale=1.0: lambda g: g * ans * (1 - ans / scale))


def test_mxnet_customop_value_and_gradient():
    x = _rng.randn(3, 5)
    s = 1 / (1 + onp.exp(-x))
    out = scaled_sigmoid(np.array(x), scale=3.0)
    assert isinstance(out, minpy.Array)
    onp.testing.assert_allclose(out.asnumpy(), 3 * s, rtol=1e-5)
    g = grad(lambda x: np.sum(scaled_sigmoid(x, scale=3.0) ** 2))(np.array(x))
    onp.testing.assert_allclose(g.asnumpy(), 2 * 3 * s * 3 * s * (1 - s), rtol=1e-4)


def test_mxnet_customop_under_only_numpy_policy(set_policy):
    set_policy("only_numpy")
    x = _rng.randn(4)
    onp.testing.assert_allclose(scaled_sigmoid(np.array(x)).asnumpy(), 1 / (1 + onp.exp(-x)), rtol=1e-5)


def test_def_multiple_grad_and_def_grad_zero():
    @customop("numpy")
    def mul(a, b):
        return a * b

    mul.def_multiple_grad(lambda ans, a, b: lambda g: (g * b, g * a), (0, 1))
    a, b = _rng.randn(3), _rng.randn(3)
    ga, gb = grad(lambda a, b: np.sum(mul(a, b)), [0, 1])(a, b)
    onp.testing.assert_allclose(ga.asnumpy(), b, rtol=1e-5)
    onp.testing.assert_allclose(gb.asnumpy(), a, rtol=1e-5)

    @customop("numpy")
    def stop(a):
        return a.copy()

    stop.def_grad_zero()
    onp.testing.assert_array_equal(grad(lambda a: np.sum(stop(a) + a))(a).asnumpy(), onp.ones(3))


def test_missing_gradient_raises_naming_the_argument():
    @customop("numpy")
    def f(a, b):
        return a + b

    f.def_grad(lambda ans, a, b: lambda g: g)
    with pytest.raises(TypeError, match="argument 1"):
        grad(lambda a, b: np.sum(f(a, b)), 1)(onp.ones(2), onp.ones(2))
    with pytest.raises(ValueError):
        customop("cuda")


def test_customop_returns_python_scalar_as_array():
    @customop("numpy")
    def total(a):
        return float(a.sum())

    out = total(np.array([1.0, 2.0]))
    assert isinstance(out, minpy.Array) and out.shape == () and float(out) == 3.0
