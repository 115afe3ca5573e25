"""Gradients of ``nn.conv2d`` and ``nn.max_pool`` (MXNet's backward operators) in
eager, lazy and ``@jit`` mode, against central differences in float64, and the CNN
training step of ``benchmarks/workloads.py`` against its hand-written NumPy step."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad, grad_and_loss
from minpy.nn import layers
from minpy.ops.nn import _conv_np, _pool_np

rng = onp.random.RandomState(7)


@pytest.fixture(autouse=True)
def _restore(clean_jit_state):
    yield


def _numeric(f, args, eps=1e-6):
    """Central differences of the float64 NumPy function ``f`` at ``args``."""
    out = []
    for i, a in enumerate(args):
        g = onp.zeros_like(a)
        for idx in onp.ndindex(a.shape):
            hi = [x.copy() for x in args]
            lo = [x.copy() for x in args]
            hi[i][idx] += eps
            lo[i][idx] -= eps
            g[idx] = (f(*hi) - f(*lo)) / (2 * eps)
        out.append(g)
    return out


def _in_mode(mode, loss, args, argnums):
    """Gradients of ``loss`` at float64 ``args`` computed eagerly, lazily or by a
    jitted function (called twice, so that the second call replays the graph)."""
    gl = grad_and_loss(loss, argnums)
    arrays = [np.array(a, dtype="float64") for a in args]
    if mode == "eager":
        gs, _ = gl(*arrays)
    elif mode == "lazy":
        with minpy.lazy():
            gs, _ = gl(*arrays)
            gs = [g.asnumpy() for g in gs]
    else:
        f = minpy.jit(gl)
        f(*arrays)
        gs, _ = f(*arrays)
        assert f.traces == 1
    return [g if isinstance(g, onp.ndarray) else g.asnumpy() for g in gs]


MODES = ["eager", "lazy", "jit"]
CONV = [((2, 3, 6, 5), (4, 3, 3, 3), 1, 1), ((2, 2, 7, 6), (3, 2, 3, 2), 2, 2),
        ((1, 2, 5, 5), (2, 2, 2, 2), 1, 0)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("xs,ws,stride,pad", CONV)
@pytest.mark.parametrize("native", ["auto", "never"])
def test_conv2d_gradient_matches_central_differences(mode, xs, ws, stride, pad, native):
    """``never`` keeps the gradient a graph node in lazy/jit mode (forward operators)."""
    minpy.jit.config.native_backward = native
    x, w, b = rng.randn(*xs), rng.randn(*ws), rng.randn(ws[0])
    cot = rng.randn(*_conv_np(x, w, b, (stride,) * 2, (pad,) * 2).shape)

    def loss(x, w, b):
        return np.sum(np.tanh(layers.conv2d(x, w, b, pad=pad, stride=stride)) * cot)

    def ref(x, w, b):
        return (onp.tanh(_conv_np(x, w, b, (stride,) * 2, (pad,) * 2)) * cot).sum()
    got = _in_mode(mode, loss, (x, w, b), [0, 1, 2])
    for g, n in zip(got, _numeric(ref, [x, w, b])):
        onp.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-7)


POOL = [((2, 3, 4, 6), 2, 2), ((1, 2, 7, 5), 2, 2), ((2, 2, 6, 7), 3, 1), ((1, 2, 7, 7), 3, 2)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("xs,pool,stride", POOL)
@pytest.mark.parametrize("native", ["auto", "never"])
def test_max_pool_gradient_matches_central_differences(mode, xs, pool, stride, native):
    """Overlapping windows too (stride < pool): MXNet's backward operator has them."""
    minpy.jit.config.native_backward = native
    x = rng.randn(*xs)
    cot = rng.randn(*_pool_np(x, (pool, pool), (stride, stride)).shape)

    def loss(x):
        return np.sum(layers.max_pool(x * 1.5, pool, pool, stride=stride) * cot)

    def ref(x):
        return (_pool_np(x * 1.5, (pool, pool), (stride, stride)) * cot).sum()
    got = _in_mode(mode, loss, (x,), [0])
    onp.testing.assert_allclose(got[0], _numeric(ref, [x])[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("native", ["auto", "never"])
def test_max_pool_ties_send_the_gradient_to_the_first_maximum(mode, native):
    """MXNet's rule (row-major first maximum of the window), the same in every mode."""
    minpy.jit.config.native_backward = native
    x = onp.array([[[[1, 1, 0, 2, 7],
                     [0, 1, 2, 2, 7],
                     [3, 3, 5, 1, 7],
                     [3, 3, 1, 5, 7]]]], dtype="float64")
    want = onp.array([[[[1, 0, 0, 2, 0],
                        [0, 0, 0, 0, 0],
                        [3, 0, 4, 0, 0],
                        [0, 0, 0, 0, 0]]]], dtype="float64")
    cot = onp.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
    got = _in_mode(mode, lambda x: np.sum(layers.max_pool(x, 2, 2) * cot), (x,), [0])
    onp.testing.assert_array_equal(got[0], want)


def test_float32_conv_gradient_repeats_eagerly():
    """The data gradient used to run as MKLDNN's deconvolution, which failed from the
    second call on (weights left in MKLDNN's layout by the forward convolution)."""
    x = rng.randn(32, 1, 16, 16).astype("float32")
    w = (rng.randn(8, 1, 3, 3) * 0.3).astype("float32")
    b = onp.zeros(8, "float32")
    cot = rng.randn(32, 8, 16, 16)
    X, W, B = np.array(x), np.array(w), np.array(b)
    gl = grad_and_loss(lambda x, w, b: np.sum(layers.conv2d(x, w, b, pad=1) * cot), [0, 1, 2])
    first = [g.asnumpy() for g in gl(X, W, B)[0]]
    for _ in range(3):
        again = [g.asnumpy() for g in gl(X, W, B)[0]]
        for a, b_ in zip(first, again):
            onp.testing.assert_array_equal(a, b_)
    # against float64 NumPy: dw = sum over samples and positions of cot * windows
    xp = onp.pad(x.astype("float64"), ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = onp.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
    dw = onp.einsum("nchwij,nfhw->fcij", win, cot)
    onp.testing.assert_allclose(first[1], dw, rtol=1e-4, atol=1e-3)
    onp.testing.assert_allclose(first[2], cot.sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-3)


def test_max_pool_second_derivative():
    x = rng.randn(1, 2, 4, 6)
    cot = rng.randn(1, 2, 2, 3)

    def gnorm(x):
        g = grad(lambda x: np.sum(layers.max_pool(x, 2, 2) * cot * x.sum()))(x)
        return np.sum(g * g)

    def ref_g(x):
        out = _pool_np(x, (2, 2), (2, 2))
        s = x.sum()
        # d/dx [sum(pool(x) * cot) * s] = route(cot) * s + sum(pool(x) * cot)
        from minpy.ops.nn import _pgrad_np
        g = _pgrad_np(cot * s, x, (2, 2), (2, 2)) + (out * cot).sum()
        return (g * g).sum()
    got = grad(gnorm)(np.array(x)).asnumpy()
    onp.testing.assert_allclose(got, _numeric(ref_g, [x])[0], rtol=1e-5, atol=1e-6)


def test_max_pool_second_derivative_of_overlapping_windows_raises():
    x = np.array(rng.randn(1, 1, 5, 5))

    def gnorm(x):
        g = grad(lambda x: np.sum(layers.max_pool(x, 3, 3, stride=1) ** 2))(x)
        return np.sum(g * g)
    with pytest.raises(NotImplementedError, match="max_pool: second derivatives"):
        grad(gnorm)(x)


@pytest.mark.parametrize("form", ["function", "registry"])
def test_jitted_cnn_step_matches_the_numpy_step(form):
    """Both forms of the benchmark's CNN step: MXNet runs the backward pass in one
    two-phase graph, and three steps update the parameters as NumPy's step does."""
    from benchmarks.workloads import (cnn_data, cnn_minpy_loss, cnn_numpy_step,
                                      cnn_registry_loss, sgd_step)
    params, x, onehot = cnn_data(batch=8, size=8, filters=4)
    loss = cnn_minpy_loss(x.shape, 4) if form == "function" else cnn_registry_loss()
    step = minpy.jit(sgd_step(loss, 4))
    mp = [np.array(p) for p in params]
    nparams = [p.astype("float64") for p in params]
    for _ in range(3):
        got = float(step(*mp, np.array(x), np.array(onehot)))
        want = cnn_numpy_step(nparams, x.astype("float64"), onehot.astype("float64"))
        onp.testing.assert_allclose(got, want, rtol=1e-4)
    for p, q in zip(mp, nparams):
        onp.testing.assert_allclose(p.asnumpy(), q, rtol=1e-3, atol=1e-5)
    assert step.traces == 1
    assert type(next(iter(step.cache.values())).compiled).__name__.startswith("_TwoPhase")
    assert minpy.jit.stats()["interpreted_nodes"] == 0      # the compiled graph ran


@pytest.mark.parametrize("channels,filters", [(3, 8), (8, 16), (16, 8)])
def test_relu_between_onednn_convolution_and_pooling_in_a_two_phase_graph(channels, filters):
    """float32 convolutions whose outputs oneDNN keeps in a blocked layout, a ReLU as
    ``np.maximum(h, 0.0)`` (a generated operator where MXNet differentiates) and max
    pooling: MXNet's backward pass gives what MinPy's tape gives, on two calls."""
    x0 = rng.randn(4, channels, 8, 8).astype("float32")
    w0 = (rng.randn(filters, channels, 3, 3) * 0.3).astype("float32")
    b0 = (rng.randn(filters) * 0.1).astype("float32")
    x0[0, :, :2] = 0.0                  # a background: zero inputs, ReLU ties at 0

    cot = rng.randn(4, filters, 4, 4).astype("float32")

    def loss(w, b, x):
        h = layers.max_pool(np.maximum(layers.conv2d(x, w, b, pad=1), 0.0), 2, 2)
        return (h * cot).sum() + (h * h).sum()
    got = {}
    for native in ("always", "never"):
        minpy.jit.config.native_backward = native
        gl = grad_and_loss(loss, [0, 1])
        f = minpy.jit(lambda w, b, x: gl(w, b, x))
        got[native] = []
        for scale in (1.0, 0.5):
            (gw, gb), l = f(np.array(w0 * scale), np.array(b0 * 0.0), np.array(x0))
            got[native] += [gw.asnumpy(), gb.asnumpy(), float(l)]
        assert f.traces == 1
    assert minpy.jit.stats()["interpreted_nodes"] == 0
    for a, b in zip(got["always"], got["never"]):
        onp.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_gradient_operators_check_the_output_gradient_shape():
    from minpy.ops._util import c
    x, w, b = np.zeros((2, 3, 6, 6)), np.zeros((4, 3, 3, 3)), np.zeros(4)
    with pytest.raises(ValueError, match="conv2d_grad: the output gradient has shape"):
        c("nn.conv2d_grad", np.zeros((2, 4, 5, 5)), x, w, b, (1, 1), (1, 1))
    with pytest.raises(ValueError, match="max_pool_grad: the output gradient has shape"):
        c("nn.max_pool_grad", np.zeros((2, 3, 2, 3)), x, (2, 2), (2, 2))
