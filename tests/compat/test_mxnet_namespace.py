"""MXNet-only operators under minpy.numpy (MinPy 0.3 exposed mxnet.nd there), against NumPy."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad

_rng = onp.random.RandomState(5)


def test_slice_axis_value_and_gradient():
    x = _rng.randn(3, 5)
    out = np.slice_axis(np.array(x), axis=1, begin=1, end=4)
    onp.testing.assert_allclose(out.asnumpy(), x[:, 1:4], rtol=1e-6)
    g = grad(lambda x: np.sum(np.slice_axis(x, axis=1, begin=1, end=4) ** 2))(x)
    ref = onp.zeros_like(x)
    ref[:, 1:4] = 2 * x[:, 1:4]
    onp.testing.assert_allclose(g.asnumpy(), ref, rtol=1e-5)


def test_onehot_encode_writes_into_out_and_softmax_output_gradient():
    y = onp.array([0, 3, 1])
    oh = np.zeros((3, 4))
    r = np.onehot_encode(np.array(y), oh)
    onp.testing.assert_array_equal(oh.asnumpy(), onp.eye(4)[y])
    assert r is oh
    x = _rng.randn(3, 4)
    p = onp.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onp.testing.assert_allclose(np.softmax_output(np.array(x), oh).asnumpy(), p, rtol=1e-5)
    # softmax_output followed by cross-entropy: MinPy 0.3's (p - onehot) / N
    g = grad(lambda x: -np.sum(np.log(np.softmax_output(x, oh)) * oh) / 3)(x)
    onp.testing.assert_allclose(g.asnumpy(), (p - onp.eye(4)[y]) / 3, rtol=1e-4, atol=1e-6)


def test_mxnet_operator_under_only_numpy_policy_and_lazy(set_policy):
    x = _rng.randn(2, 6)
    with minpy.lazy():
        out = np.slice_axis(np.array(x) * 2.0, axis=1, begin=0, end=2)
    onp.testing.assert_allclose(out.asnumpy(), 2 * x[:, :2], rtol=1e-6)
    set_policy("only_numpy")
    onp.testing.assert_allclose(np.slice_axis(np.array(x), axis=1, begin=2, end=3).asnumpy(),
                                x[:, 2:3], rtol=1e-6)


def test_errors_are_python_exceptions_naming_the_operator():
    with pytest.raises(ValueError, match="slice_axis"):
        np.slice_axis(np.ones((2, 2)), axis=5, begin=0, end=1)
    with pytest.raises(AttributeError):
        np.no_such_operator_anywhere
    # NumPy's names keep NumPy's meaning
    onp.testing.assert_allclose(float(np.sum(np.ones(3))), 3.0)
