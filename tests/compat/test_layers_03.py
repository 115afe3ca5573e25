"""minpy.nn.layers as MinPy 0.3 programs call them (issue 14), against NumPy."""
import numpy as onp
import pytest

import minpy.numpy as np
from minpy.core import grad
from minpy.nn import layers

_rng = onp.random.RandomState(3)


def _bn_np(x, g, b, eps=1e-5):
    m, v = x.mean(0), x.var(0)
    return (x - m) / onp.sqrt(v + eps) * g + b, m, v


def test_batchnorm_minpy_03_positional_order():
    x, g, b = _rng.randn(6, 3), _rng.rand(3) + 0.5, _rng.randn(3)
    rm, rv = _rng.randn(3), _rng.rand(3) + 0.5
    out, nm, nv = layers.batchnorm(np.array(x), np.array(g), np.array(b), "train", 1e-5, 0.8,
                                   np.array(rm), np.array(rv))
    ref, m, v = _bn_np(x, g, b)
    onp.testing.assert_allclose(out.asnumpy(), ref, rtol=1e-4, atol=1e-5)
    onp.testing.assert_allclose(nm.asnumpy(), 0.8 * rm + 0.2 * m, rtol=1e-4, atol=1e-6)
    onp.testing.assert_allclose(nv.asnumpy(), 0.8 * rv + 0.2 * v, rtol=1e-4, atol=1e-6)
    out, _, _ = layers.batchnorm(np.array(x), np.array(g), np.array(b), "test", 1e-3, 0.9,
                                 np.array(rm), np.array(rv))
    onp.testing.assert_allclose(out.asnumpy(), (x - rm) / onp.sqrt(rv + 1e-3) * g + b, rtol=1e-4, atol=1e-5)
    out, _, _ = layers.batchnorm(np.array(x), np.array(g), np.array(b), "train")
    onp.testing.assert_allclose(out.asnumpy(), ref, rtol=1e-4, atol=1e-5)


def test_softmax_cross_entropy_takes_indices_and_one_hot():
    p = _rng.dirichlet(onp.ones(4), 5)
    y = onp.array([0, 3, 2, 1, 3])
    expected = -onp.log(p[onp.arange(5), y]).mean()
    assert float(layers.softmax_cross_entropy(np.array(p), np.array(y))) == pytest.approx(expected, rel=1e-5)
    assert float(layers.softmax_cross_entropy(np.array(p), np.array(onp.eye(4)[y]))) == \
        pytest.approx(expected, rel=1e-5)
    g = grad(lambda p: layers.softmax_cross_entropy(p, np.array(y)))(np.array(p))
    ref = onp.zeros_like(p)
    ref[onp.arange(5), y] = -1 / (5 * p[onp.arange(5), y])
    onp.testing.assert_allclose(g.asnumpy(), ref, rtol=1e-4)


def test_softmax_loss_indices_and_one_hot():
    x, y = _rng.randn(5, 4), onp.array([0, 3, 2, 1, 3])
    lp = x - x.max(1, keepdims=True)
    lp = lp - onp.log(onp.exp(lp).sum(1, keepdims=True))
    expected = -lp[onp.arange(5), y].mean()
    for label in (np.array(y), np.array(onp.eye(4)[y])):
        assert float(layers.softmax_loss(np.array(x), label)) == pytest.approx(expected, rel=1e-5)


def test_l2_loss_value_as_minpy_03():
    x, t = _rng.randn(5, 3), _rng.randn(5, 3)
    assert float(layers.l2_loss(np.array(x), np.array(t))) == pytest.approx(((x - t) ** 2).sum() / 5, rel=1e-5)
    g = grad(lambda x: layers.l2_loss(x, np.array(t)))(np.array(x))
    onp.testing.assert_allclose(g.asnumpy(), 2 * (x - t) / 5, rtol=1e-4)
