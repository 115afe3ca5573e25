"""grad and grad_and_loss over trees of parameters (dicts, lists, tuples, named
tuples, nested), as HIPS autograd and JAX take them, in every mode."""
import collections

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad, grad_and_loss

Layer = collections.namedtuple("Layer", "W b")


def F(a):
    """float64 on purpose: MinPy demotes float64 host data to float32 otherwise."""
    return np.array(a, dtype="float64")


def _data():
    rng = onp.random.RandomState(0)
    return (rng.randn(5, 3).astype("float64"), rng.randn(5, 2).astype("float64"),
            rng.randn(3, 2).astype("float64"), rng.randn(2).astype("float64"))


def _reference(X, Y, W, b):
    """d/dW, d/db of sum((X @ W + b - Y) ** 2), by hand."""
    r = X @ W + b - Y
    return 2 * X.T @ r, 2 * r.sum(axis=0), float((r ** 2).sum())


def _loss(params, X, Y):
    return np.sum((np.dot(X, params["W"]) + params["b"] - Y) ** 2)


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_dict_of_differently_shaped_parameters(mode):
    X, Y, W, b = _data()
    params = {"W": F(W), "b": F(b)}
    step = grad_and_loss(_loss)
    if mode == "jit":
        step = minpy.jit(step)
    with minpy.lazy(mode != "eager"):
        for _ in range(2):                      # the second jit call replays
            g, loss = step(params, F(X), F(Y))
            assert isinstance(g, dict) and list(g) == ["W", "b"]
            dW, db, ref_loss = _reference(X, Y, W, b)
            onp.testing.assert_allclose(g["W"].asnumpy(), dW, rtol=1e-10)
            onp.testing.assert_allclose(g["b"].asnumpy(), db, rtol=1e-10)
            assert abs(float(loss) - ref_loss) < 1e-9 * abs(ref_loss)


def test_nested_lists_tuples_and_named_tuples():
    X, Y, W, b = _data()
    tree = {"layers": [Layer(F(W), F(b))], "scale": (np.array(2.0, dtype="float64"),)}

    def loss(tree):
        layer = tree["layers"][0]
        pred = (np.dot(F(X), layer.W) + layer.b) * tree["scale"][0]
        return np.sum((pred - F(Y)) ** 2)
    g = grad(loss)(tree)
    assert type(g["layers"]) is list and type(g["layers"][0]) is Layer
    assert type(g["scale"]) is tuple
    r = 2.0 * (X @ W + b) - Y
    onp.testing.assert_allclose(g["layers"][0].W.asnumpy(), 2 * 2.0 * X.T @ r, rtol=1e-10)
    onp.testing.assert_allclose(g["layers"][0].b.asnumpy(), 2 * 2.0 * r.sum(0), rtol=1e-10)
    onp.testing.assert_allclose(float(g["scale"][0]), (2 * r * (X @ W + b)).sum(), rtol=1e-10)


def test_several_argnums_each_a_tree_or_an_array():
    X, Y, W, b = _data()
    gs = grad(lambda p, x: _loss(p, x, F(Y)), argnum=[0, 1])({"W": F(W),
                                                                       "b": F(b)},
                                                                      F(X))
    dW, db, _ = _reference(X, Y, W, b)
    onp.testing.assert_allclose(gs[0]["W"].asnumpy(), dW, rtol=1e-10)
    r = X @ W + b - Y
    onp.testing.assert_allclose(gs[1].asnumpy(), 2 * r @ W.T, rtol=1e-10)


def test_list_of_numbers_is_still_one_array():
    g = grad(lambda x: np.sum(x ** 2))([1.0, 2.0, 3.0])
    assert isinstance(g, minpy.Array)
    onp.testing.assert_allclose(g.asnumpy(), [2.0, 4.0, 6.0])


def test_a_leaf_that_cannot_be_differentiated_is_named():
    with pytest.raises(TypeError, match=r"argument 0\['n'\].*int"):
        grad(lambda p: np.sum(p["W"]))({"W": np.ones(2), "n": np.arange(3)})
    with pytest.raises(TypeError, match=r"argument 0\[1\] of type str"):
        grad(lambda p: np.sum(p[0]))([np.ones(2), "label"])


def test_unused_leaves_get_zero_gradients():
    g = grad(lambda p: np.sum(p["a"] * 3.0))({"a": np.ones(2), "unused": np.ones((2, 2))})
    onp.testing.assert_allclose(g["a"].asnumpy(), [3.0, 3.0])
    onp.testing.assert_allclose(g["unused"].asnumpy(), onp.zeros((2, 2)))
