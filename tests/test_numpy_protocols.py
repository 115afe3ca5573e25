"""Real NumPy functions called on MinPy arrays (``__array_function__``/``__array_ufunc__``).

Issue 12: ``numpy.dot``, ``numpy.concatenate``, ``numpy.where``... inside a loss gave
zero gradients silently (they converted their arguments to host arrays). They now run
as MinPy calls where MinPy has the function; other NumPy functions run on host copies
and give MinPy arrays back, and a gradient taken through one of those raises naming it.
"""
from __future__ import annotations

import contextlib

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad

_rng = onp.random.RandomState(3)
X = _rng.randn(2, 3)
W = _rng.randn(3, 2)


def _x():
    return np.array(X, dtype="float64")


def _loss(x):
    """A loss written with NumPy's own functions on MinPy arrays."""
    w = np.array(W, dtype="float64")
    h = onp.tanh(onp.dot(x, w))                                    # ufunc, function
    z = onp.concatenate([h, onp.where(h > 0, h, 0.1 * h)], axis=1)
    return onp.sum(onp.exp(z)) + onp.mean(onp.square(x)) + onp.add.reduce(x, axis=None)


def _loss_np(x):
    h = onp.tanh(x @ W)
    z = onp.concatenate([h, onp.where(h > 0, h, 0.1 * h)], axis=1)
    return onp.sum(onp.exp(z)) + onp.mean(onp.square(x)) + onp.sum(x)


def _numeric(f, x, eps=1e-6):
    out = onp.zeros_like(x)
    for i in onp.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        out[i] = (f(xp) - f(xm)) / (2 * eps)
    return out


def test_numpy_functions_on_minpy_arrays_return_minpy_arrays():
    x = _x()
    for r in (onp.dot(x, x.T), onp.concatenate([x, x]), onp.where(x > 0, x, 0.0), onp.sum(x),
              onp.exp(x), onp.add(x, 1.0), onp.maximum(x, 0.0), onp.add.reduce(x),
              onp.multiply.accumulate(x, axis=1), onp.median(x), onp.linalg.norm(x)):
        assert isinstance(r, minpy.Array), type(r)
    assert onp.allclose(onp.dot(x, x.T).asnumpy(), X @ X.T)
    assert onp.allclose(onp.add.reduce(x).asnumpy(), X.sum(0))
    assert onp.allclose(onp.multiply.accumulate(x, axis=1).asnumpy(), onp.cumprod(X, axis=1))
    assert float(onp.median(x)) == pytest.approx(onp.median(X))


def test_host_conversion_still_works():
    x = _x()
    for h in (onp.asarray(x), onp.array(x), onp.asarray(x, dtype="float32")):
        assert type(h) is onp.ndarray
        assert onp.allclose(h, X)
    onp.testing.assert_allclose(x, X)
    assert onp.shape(x) == (2, 3) and onp.ndim(x) == 2 and onp.size(x) == 6


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_gradients_flow_through_numpy_functions(mode):
    want = _numeric(_loss_np, X)
    g = grad(_loss)
    if mode == "eager":
        got = g(_x())
    elif mode == "lazy":
        with minpy.lazy():
            got = g(_x())
            assert isinstance(got._data, minpy.jit.graph.LRef) or True
            got = got.asnumpy()
    else:
        f = minpy.jit(lambda x: g(x))
        f(_x())
        got = f(_x())
    got = onp.asarray(got.asnumpy() if isinstance(got, minpy.Array) else got)
    assert onp.allclose(got, want, rtol=1e-5, atol=1e-7)


def test_lazy_mode_records_numpy_calls():
    minpy.flush()
    minpy.jit.reset_stats()
    with minpy.lazy():
        x = _x()
        y = onp.exp(onp.dot(x, x.T))
        assert not isinstance(y._data, type(x._data)), "the call ran eagerly"
        assert onp.allclose(y.asnumpy(), onp.exp(X @ X.T))


def test_gradient_through_a_numpy_only_function_raises_naming_it():
    with pytest.raises(TypeError, match="median"):
        grad(lambda x: onp.median(x) * 2.0)(_x())
    with pytest.raises(TypeError, match="linalg.inv"):
        grad(lambda x: onp.linalg.inv(x[:, :2] @ x[:, :2].T).sum())(_x())
    # a keyword MinPy's version does not take: NumPy runs it, unless a gradient is taken
    mask = onp.array([True, False, True])
    assert float(onp.sum(_x(), where=mask)) == pytest.approx(X[:, [0, 2]].sum())
    with pytest.raises(TypeError, match="numpy.sum"):
        grad(lambda x: onp.sum(x, where=mask))(_x())


def test_no_gradient_needed_through_a_numpy_only_function():
    """A NumPy-only function off the gradient path (logging) is fine under grad."""
    seen = []

    def f(x):
        seen.append(float(onp.median(x)))
        return onp.sum(x * x)

    g = grad(f)(_x())
    assert onp.allclose(g.asnumpy(), 2 * X)
    assert seen[0] == pytest.approx(onp.median(X))


def test_ufunc_out_arguments():
    x = _x()
    host = onp.zeros((2, 3))
    r = onp.exp(x, out=host)
    assert r is host and onp.allclose(host, onp.exp(X))
    dev = np.zeros((2, 3), dtype="float64")
    r = onp.exp(x, out=dev)
    assert r is dev and onp.allclose(dev.asnumpy(), onp.exp(X))
    acc = onp.zeros(3)
    onp.add.reduce(x, axis=0, out=acc)
    assert onp.allclose(acc, X.sum(0))


def test_ufunc_methods_without_a_minpy_version_run_in_numpy():
    x = _x()
    r = onp.add.outer(x[0], x[1])
    assert isinstance(r, minpy.Array) and onp.allclose(r.asnumpy(), onp.add.outer(X[0], X[1]))
    y = np.zeros(4, dtype="float64")
    onp.add.at(y, onp.array([0, 0, 2]), 1.0)          # writes into y by re-pointing it
    assert y.tolist() == [2.0, 0.0, 1.0, 0.0]
    with pytest.raises(TypeError, match="add.outer"):
        grad(lambda x: onp.sum(onp.add.outer(x[0], x[1])))(_x())
    r = onp.add(x, 1.0, where=onp.array([True, False, True]), out=onp.zeros((2, 3)))
    assert type(r) is onp.ndarray and r[0, 1] == 0.0 and r[0, 0] == pytest.approx(X[0, 0] + 1)


def test_numpy_errors_keep_their_class():
    x = _x()
    with pytest.raises(ValueError):
        onp.dot(x, x)
    with pytest.raises(ValueError):
        onp.concatenate([x, np.ones(3)])
    with pytest.raises(onp.AxisError):
        onp.sum(x, axis=5)


def test_mixed_numpy_and_minpy_operands():
    x = _x()
    r = onp.concatenate([X, x])
    assert isinstance(r, minpy.Array) and onp.allclose(r.asnumpy(), onp.concatenate([X, X]))
    r = X + x
    assert isinstance(r, minpy.Array) and onp.allclose(r.asnumpy(), 2 * X)
    r = onp.where(X > 0, x, X)
    assert isinstance(r, minpy.Array) and onp.allclose(r.asnumpy(), X)


def test_python_round_and_none_comparisons():
    """``round(loss, 4)`` works on the 0-d arrays MinPy's reductions return (NumPy's
    return scalars, which round); larger arrays have no ``round()``, as NumPy's have
    none. ``x == None`` compares elementwise as NumPy does."""
    x = np.array([1.5, 2.5, 3.25])
    assert round(x.sum(), 1) == round(float(onp.float32(7.25)), 1) == 7.2
    assert round(x[1]) == 2 and type(round(x[1])) is int
    assert round(np.array(7)) == 7
    with pytest.raises(TypeError, match="__round__"):
        round(x)
    with pytest.raises(TypeError, match="__round__"):
        round(onp.array([1.5]))
    for lazy in (False, True):
        with minpy.lazy() if lazy else contextlib.nullcontext():
            eq, ne = x == None, x != None      # noqa: E711 - the comparison under test
            assert eq.dtype == ne.dtype == onp.bool_
            want = onp.array([1.5, 2.5, 3.25]) == None      # noqa: E711
            onp.testing.assert_array_equal(eq.asnumpy(), want)
            onp.testing.assert_array_equal(ne.asnumpy(), [True, True, True])
    eq = minpy.jit(lambda v: v == None)(x)      # noqa: E711
    onp.testing.assert_array_equal(eq.asnumpy(), [False] * 3)
