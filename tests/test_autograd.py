"""The autograd API: grad, grad_and_loss, argument handling, higher order, errors."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import (convert_args, grad, grad_and_loss, minpy_to_numpy, numpy_to_minpy,
                        return_numpy)
from minpy.utils.gradient_checker import check_grad

# every test here runs eagerly and in lazy mode
pytestmark = pytest.mark.usefixtures("minpy_mode")

_rng = onp.random.RandomState(1)


def _np(a):
    return a.asnumpy() if isinstance(a, minpy.Array) else onp.asarray(a)


# ------------------------------------------------------------------------------ API

def test_seed_example_prints_1_and_2(capsys):
    def foo(x):
        if x >= 0:
            return x
        else:
            return 2 * x
    foo_grad = grad(foo)
    print(foo_grad(3))
    print(foo_grad(-1))
    assert capsys.readouterr().out == "1.0\n2.0\n"


def test_top_level_exports_are_the_same_functions():
    assert minpy.grad is grad and minpy.grad_and_loss is grad_and_loss


def test_argnum_int_list_tuple():
    def f(x, y, z):
        return np.sum(x * y + z * z)
    x, y, z = np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0])
    assert onp.allclose(_np(grad(f)(x, y, z)), [3.0, 4.0])
    assert onp.allclose(_np(grad(f, 1)(x, y, z)), [1.0, 2.0])
    gs = grad(f, [0, 2])(x, y, z)
    assert isinstance(gs, list) and len(gs) == 2
    assert onp.allclose(_np(gs[0]), [3.0, 4.0]) and onp.allclose(_np(gs[1]), [10.0, 12.0])
    gs = grad(f, (2, 1))(x, y, z)
    assert isinstance(gs, list)
    assert onp.allclose(_np(gs[0]), [10.0, 12.0]) and onp.allclose(_np(gs[1]), [1.0, 2.0])
    assert onp.allclose(_np(grad(f, -1)(x, y, z)), [10.0, 12.0])
    gs = grad(f, [1])(x, y, z)
    assert isinstance(gs, list) and len(gs) == 1
    gs = grad(f, range(3))(x, y, z)            # any iterable of ints, as MinPy 0.3 took
    assert isinstance(gs, list) and len(gs) == 3
    assert onp.allclose(_np(gs[2]), [10.0, 12.0])
    gs = grad(f, onp.array([1, 0]))(x, y, z)
    assert onp.allclose(_np(gs[0]), [1.0, 2.0]) and onp.allclose(_np(gs[1]), [3.0, 4.0])
    assert onp.allclose(_np(grad(f, onp.int64(1))(x, y, z)), [1.0, 2.0])


def test_grad_and_loss_returns_gradients_then_loss():
    def f(x, y):
        return np.sum(x * x * y)
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    g, loss = grad_and_loss(f)(x, y)
    assert onp.allclose(_np(g), [6.0, 16.0])
    assert float(loss) == pytest.approx(19.0)
    gs, loss = grad_and_loss(f, [0, 1])(x, y)
    assert isinstance(gs, list) and len(gs) == 2
    assert onp.allclose(_np(gs[1]), [1.0, 4.0])
    assert float(loss) == pytest.approx(19.0)


def test_positional_and_keyword_arguments():
    def f(x, y, scale=1.0, power=2):
        return np.sum((x * y) ** power) * scale
    x, y = np.array([1.0, 2.0]), np.array([3.0, 1.0])
    assert onp.allclose(_np(grad(f)(x, y)), [18.0, 4.0])
    assert onp.allclose(_np(grad(f)(x, y, scale=0.5)), [9.0, 2.0])
    assert onp.allclose(_np(grad(f)(x, y, power=1, scale=2.0)), [6.0, 2.0])
    # keyword-only use of the differentiated argument is not allowed: argnum indexes positionals
    with pytest.raises(IndexError):
        grad(f, 1)(x, y=y)


def test_non_array_arguments_pass_through():
    seen = {}

    def f(x, n, name, opts):
        seen.update(n=n, name=name, opts=opts)
        y = x
        for _ in range(n):
            y = y * 2.0
        return np.sum(y) if opts["reduce"] == "sum" else np.mean(y)
    g = grad(f)(np.ones(4), 3, "net", {"reduce": "sum"})
    assert seen == {"n": 3, "name": "net", "opts": {"reduce": "sum"}}
    assert onp.allclose(_np(g), 8.0)
    g = grad(f)(np.ones(4), 1, "net", {"reduce": "mean"})
    assert onp.allclose(_np(g), 0.5)


def test_python_floats_ints_and_numpy_arrays_as_inputs():
    f = lambda x: np.sum(x * x * x)
    g = grad(f)(2.0)
    assert isinstance(g, minpy.Array) and float(g) == pytest.approx(12.0)
    assert float(grad(f)(2)) == pytest.approx(12.0)
    g = grad(f)(onp.array([1.0, 2.0]))
    assert g.shape == (2,) and onp.allclose(_np(g), [3.0, 12.0])
    g = grad(f)(onp.array([1.0, 2.0], dtype="float32"))
    assert g.dtype == onp.float32
    g = grad(f)(onp.array([1.0, 2.0]).astype("float64"))
    assert onp.allclose(_np(g), [3.0, 12.0])
    g = grad(f)(onp.float64(3.0))
    assert float(g) == pytest.approx(27.0)
    g = grad(lambda x, y: np.sum(x * y), 1)(onp.ones(3), [1.0, 2.0, 3.0])
    assert onp.allclose(_np(g), 1.0)


def test_gradient_has_the_input_shape():
    for shape in [(), (1,), (3, 1), (2, 3, 4)]:
        g = grad(lambda x: np.sum(x) * 2.0)(np.ones(shape))
        assert g.shape == shape and onp.allclose(_np(g), 2.0)


def test_result_of_size_one_is_accepted():
    g = grad(lambda x: np.sum(x, keepdims=True) * 3.0)(np.ones((2, 2)))
    assert onp.allclose(_np(g), 3.0)


def test_result_independent_of_input_gives_zeros():
    g = grad(lambda x: np.sum(np.ones(3)))(np.ones((2, 5)))
    assert g.shape == (2, 5) and onp.all(_np(g) == 0)
    g, loss = grad_and_loss(lambda x: 4.0)(np.ones(3))
    assert onp.all(_np(g) == 0) and loss == 4.0


def test_control_flow_follows_the_values():
    def f(x):
        y = x
        while float(np.sum(y * y)) < 100.0:
            y = y * 2.0
        if float(np.max(y)) > 10.0:
            return np.sum(y * y)
        return np.sum(y)
    x = np.array([1.0, 1.0])
    # doubled 3 times -> y = 8x, sum(y*y)=128, max 8 -> sum(y): gradient 8
    assert onp.allclose(_np(grad(f)(x)), 8.0)


def test_convert_args_and_return_numpy():
    @convert_args
    def f(a, b=None):
        assert isinstance(a, minpy.Array) and isinstance(b, minpy.Array)
        return a + b

    r = f(onp.ones(2), b=onp.ones(2))
    assert isinstance(r, minpy.Array) and onp.allclose(_np(r), 2.0)

    @return_numpy
    def h(a):
        return {"x": a * 2, "rest": [a, 3]}
    r = h(np.ones(2))
    assert isinstance(r["x"], onp.ndarray) and isinstance(r["rest"][0], onp.ndarray)
    assert r["rest"][1] == 3

    @return_numpy
    @convert_args
    def both(a):
        return np.exp(a)
    assert isinstance(both(onp.zeros(3)), onp.ndarray)


def test_numpy_to_minpy_and_back():
    tree = {"a": onp.ones((2, 2)), "b": [onp.zeros(3, dtype="int32"), (onp.ones(1), "s")], "c": 5}
    m = numpy_to_minpy(tree)
    assert isinstance(m["a"], minpy.Array) and m["a"].dtype == minpy.get_default_dtype()
    assert isinstance(m["b"][0], minpy.Array) and m["b"][0].dtype == onp.int32
    assert isinstance(m["b"][1], tuple) and m["b"][1][1] == "s" and m["c"] == 5
    back = minpy_to_numpy(m)
    assert isinstance(back["a"], onp.ndarray) and onp.allclose(back["a"], 1.0)
    assert isinstance(back["b"][1], tuple) and isinstance(back["b"][1][0], onp.ndarray)


# ------------------------------------------------------------------------------ higher order

def test_second_derivative_of_tanh_sum():
    x = _rng.randn(5)
    f = lambda x: np.sum(np.tanh(x))
    g2 = grad(lambda x: np.sum(grad(f)(x)))(x)
    t = onp.tanh(x)
    assert onp.allclose(_np(g2), -2.0 * t * (1.0 - t * t), atol=1e-5)
    # scalar input: grad(grad(f)) directly
    xs = 0.7
    g2s = grad(grad(lambda x: np.tanh(x)))(xs)
    t = onp.tanh(xs)
    assert float(g2s) == pytest.approx(-2.0 * t * (1.0 - t * t), rel=1e-5)


@pytest.mark.parametrize("f,d2", [
    (lambda x: x ** 3, lambda x: 6.0 * x),
    (lambda x: np.sin(x), lambda x: -onp.sin(x)),
    (lambda x: np.exp(x) * x, lambda x: onp.exp(x) * (x + 2.0)),
    (lambda x: np.log(x) * x, lambda x: 1.0 / x),
    (lambda x: 1.0 / x, lambda x: 2.0 / x ** 3),
], ids=["cube", "sin", "x-exp", "x-log", "reciprocal"])
def test_second_derivatives(f, d2):
    for x in (0.5, 1.3, 2.0):
        got = float(grad(grad(f))(x))
        assert got == pytest.approx(d2(x), rel=1e-4)


def test_second_derivative_elementwise_array():
    x = onp.array([0.5, 1.0, 1.5], dtype="float32")
    g2 = grad(lambda x: np.sum(grad(lambda y: np.sum(y ** 3))(x)))(x)
    assert onp.allclose(_np(g2), 6.0 * x, rtol=1e-5)


def test_third_derivative():
    assert float(grad(grad(grad(lambda x: x ** 4)))(2.0)) == pytest.approx(48.0, rel=1e-5)


def test_hessian_vector_product_through_matmul_and_indexing():
    A = onp.array([[2.0, 1.0], [1.0, 3.0]])
    v = onp.array([1.0, -1.0])

    def f(x):
        return 0.5 * np.sum(x * np.dot(np.array(A), x)) + np.sum(x[0:1] ** 3)

    def hvp(x):
        return np.sum(grad(f)(x) * np.array(v))
    x = onp.array([0.5, 2.0])
    h = onp.array(A)
    h[0, 0] += 6 * x[0]
    assert onp.allclose(_np(grad(hvp)(x)), h @ v, rtol=1e-5)


def test_second_order_mixed_partials():
    # f(x, y) = sum(x^2 y): d/dy (df/dx) = 2x
    x, y = onp.array([1.0, 2.0]), onp.array([3.0, 4.0])
    g = grad(lambda x, y: np.sum(grad(lambda a, b: np.sum(a * a * b))(x, y)), 1)(x, y)
    assert onp.allclose(_np(g), 2.0 * x)


def test_grad_of_grad_checked_numerically():
    f = lambda x: np.sum(np.sin(x) * np.exp(x * 0.5))
    g = lambda x: np.sum(grad(f)(x) ** 2)
    assert check_grad(g, [_rng.randn(4)]) < 1e-5


# ------------------------------------------------------------------------------ errors

def test_non_scalar_result_is_seeded_with_ones():
    # MinPy 0.3's rule (issue 14): the gradient of a non-scalar output is that of its sum
    x = onp.array([0.5, -1.0, 2.0])
    g = grad(lambda x: x * np.exp(x))(x)
    onp.testing.assert_allclose(g.asnumpy(), onp.exp(x) * (1 + x), rtol=1e-5)
    assert float(grad_and_loss(lambda x: np.ones((2, 2)) * x)(1.0)[0]) == 4.0


def test_non_array_result_raises_type_error():
    with pytest.raises(TypeError, match="scalar"):
        grad(lambda x: (x, x))(np.ones(1))


def test_integer_input_is_promoted_bool_raises():
    # MinPy 0.3 promoted integer arrays to float (issue 14); bools still cannot be differentiated
    for x in (np.array([1, 2, 3]), onp.array([1, 2, 3]), [1, 2, 3]):
        g = grad(lambda x: np.sum(x * x))(x)
        assert g.dtype == onp.float32
        onp.testing.assert_array_equal(g.asnumpy(), [2.0, 4.0, 6.0])
    with pytest.raises(TypeError):
        grad(lambda x: np.sum(x))(np.array([True, False]))
    with pytest.raises(TypeError):
        grad(lambda x: x)(True)
    with pytest.raises(TypeError, match="int"):     # inside a parameter tree: still an error
        grad(lambda p: np.sum(p["w"]))({"w": np.array([1, 2])})


def test_argnum_out_of_range_raises_index_error():
    with pytest.raises(IndexError):
        grad(lambda x: np.sum(x), 1)(np.ones(2))
    with pytest.raises(IndexError):
        grad(lambda x, y: np.sum(x), [0, 2])(np.ones(2), np.ones(2))
    with pytest.raises(IndexError):
        grad(lambda x: np.sum(x), -2)(np.ones(2))


def test_unregistered_fallback_raises_on_grad_not_zero():
    x = np.array([1.0, 4.0, 2.0])
    with pytest.raises(TypeError, match="median"):
        grad(lambda x: np.median(x) * 2.0)(x)


def test_error_in_the_function_leaves_no_trace_active():
    with pytest.raises(ZeroDivisionError):
        grad(lambda x: 1 / 0)(np.ones(1))
    # a later gradient is unaffected and arrays made outside carry no tape
    y = np.ones(2) * 3.0
    assert y._rec is None
    assert onp.allclose(_np(grad(lambda x: np.sum(x * x))(np.ones(2))), 2.0)


def test_arrays_outside_grad_are_not_recorded():
    x = np.ones(3)
    grad(lambda a: np.sum(a * x))(np.ones(3))
    z = x * 2.0
    assert z._rec is None


# ------------------------------------------------------------------------------ a small network

def test_two_layer_network_gradients():
    """CS231n-style affine - relu - affine - softmax cross-entropy."""
    N, D, H, C = 4, 5, 6, 3
    X = _rng.randn(N, D)
    labels = onp.array([0, 2, 1, 2])

    def loss(W1, b1, W2, b2, X):
        h = np.maximum(np.dot(X, W1) + b1, 0.0)
        scores = np.dot(h, W2) + b2
        scores = scores - np.max(scores, axis=1, keepdims=True)
        logp = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
        return -np.mean(logp[np.arange(N), labels]) + 0.05 * (np.sum(W1 * W1) + np.sum(W2 * W2))

    params = [_rng.randn(D, H) * 0.5, _rng.randn(H) * 0.1, _rng.randn(H, C) * 0.5,
              _rng.randn(C) * 0.1]
    grads, value = grad_and_loss(loss, [0, 1, 2, 3])(*[np.array(p) for p in params], np.array(X))
    assert [g.shape for g in grads] == [p.shape for p in params]
    assert float(value) > 0
    # float64 check against central differences for all four parameters
    assert check_grad(loss, params + [X], [0, 1, 2, 3]) < 1e-5
    # and the float32 gradients agree with the float64 ones
    g64 = grad(loss, [0, 1, 2, 3])(*[np.array(p, dtype="float64") for p in params],
                                   np.array(X, dtype="float64"))
    for a, b in zip(grads, g64):
        assert a.dtype == onp.float32
        assert onp.allclose(_np(a), _np(b), atol=1e-4)


def test_quick_grad_check_passes_right_gradients_and_catches_wrong_ones(capsys):
    from minpy.dispatch.registry import REGISTRY
    from minpy.utils.gradient_checker import quick_grad_check

    def f(x):
        return np.sum(np.tanh(x) * x)
    x = onp.random.RandomState(0).randn(3, 4)
    quick_grad_check(f, x, rs=onp.random.RandomState(1))
    assert "numeric" in capsys.readouterr().out
    quick_grad_check(f, np.array(x), verbose=False, rs=onp.random.RandomState(2))
    op = REGISTRY["tanh"]
    saved = op.grads
    op.grads = (lambda g, ans, x: g * 2.0,)           # a planted wrong gradient
    try:                        # eagerly: lazy mode may replay the backward pass it recorded
        with minpy.lazy(False), pytest.raises(AssertionError, match="quick_grad_check failed"):
            quick_grad_check(f, x, verbose=False, rs=onp.random.RandomState(1))
    finally:
        op.grads = saved
