"""dtypes at the neural-network layers, in eager, lazy and ``@jit`` mode: float16
convolutions (MXNet has none on CPU), integer and bool data, mixed dtypes."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.nn import layers
from minpy.ops.nn import _conv_np, _pool_np
from mode_runner import MODES, run_in_mode


@pytest.fixture(autouse=True)
def _restore(clean_jit_state):
    yield


def _run(mode, f, *args):
    """``f(*args)`` (MinPy arrays in, a tuple of arrays out) as host arrays."""
    return [o.asnumpy() for o in run_in_mode(mode, f, *args)]


def _float16_case():
    rng = onp.random.RandomState(3)
    return (rng.randn(2, 3, 6, 5).astype("float16"), rng.randn(4, 3, 3, 2).astype("float16"),
            rng.randn(4).astype("float16"))


@pytest.mark.parametrize("mode", MODES)
def test_float16_convolution_and_its_gradients(mode):
    x, w, b = _float16_case()
    conv = lambda x, w, b: layers.conv2d(x, w, b, pad=1, stride=(2, 1))      # noqa: E731
    gl = minpy.grad_and_loss(lambda x, w, b: (conv(x, w, b) * conv(x, w, b)).sum(), [0, 1, 2])

    def step(x, w, b):
        gs, _ = gl(x, w, b)
        return (conv(x, w, b), *gs)

    got = _run(mode, step, np.array(x), np.array(w), np.array(b))
    assert all(g.dtype == onp.float16 for g in got)
    x64, w64, b64 = (v.astype("float64") for v in (x, w, b))
    want = _conv_np(x64, w64, b64, (2, 1), (1, 1))
    onp.testing.assert_allclose(got[0].astype("float64"), want, rtol=4e-3, atol=4e-3)
    # the gradients, against the same step in float64
    ref = _run("eager", step, *(np.array(v, dtype="float64") for v in (x, w, b)))
    for g, r in zip(got[1:], ref[1:]):
        scale = max(1.0, float(abs(r).max()))
        onp.testing.assert_allclose(g.astype("float64"), r, atol=4e-3 * scale)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dts", [("int32", "int32", "int32"), ("bool", "bool", "bool"),
                                 ("float32", "float64", "float32"),
                                 ("float16", "float16", "float32")])
def test_convolution_needs_floats_of_one_dtype(mode, dts):
    args = [np.ones(s, dtype=d) for s, d in zip([(1, 2, 4, 4), (3, 2, 2, 2), (3,)], dts)]
    with pytest.raises(TypeError, match=r"minpy\.nn\.conv2d: expected floating-point arrays "
                                        r"of one dtype, got " + ", ".join(dts)):
        _run(mode, lambda *a: (layers.conv2d(*a),), *args)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", ["int8", "uint8", "int64", "bool"])
def test_max_pool_needs_floats(mode, dt):
    x = np.ones((1, 2, 4, 4), dtype=dt)
    with pytest.raises(TypeError, match=r"minpy\.nn\.max_pool: .* got " + dt):
        _run(mode, lambda x: (layers.max_pool(x),), x)


@pytest.mark.parametrize("mode", MODES)
def test_float16_max_pool_and_gradient(mode):
    x = onp.random.RandomState(5).randn(2, 3, 4, 6).astype("float16")
    gl = minpy.grad_and_loss(lambda x: (layers.max_pool(x) * 3.0).sum())

    def step(x):
        g, _ = gl(x)
        return layers.max_pool(x), g

    out, g = _run(mode, step, np.array(x))
    onp.testing.assert_array_equal(out, _pool_np(x, (2, 2), (2, 2)))
    assert out.dtype == g.dtype == onp.float16
    # each window's maximum (distinct values here) gets 3, everything else 0
    want = (x == onp.repeat(onp.repeat(out, 2, axis=2), 2, axis=3)) * 3.0
    onp.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", ["bool", "int8", "int32", "int64", "float16", "float64"])
def test_relu_and_sigmoid_follow_numpy_dtypes(mode, dt):
    """relu keeps the dtype (``maximum(x, 0)`` cast back); sigmoid of integers and
    bools is floating as ``np.exp`` of them is (MinPy's float32 for 32/64-bit ints)."""
    x = onp.array([-3, -1, 0, 1, 2, 5]).astype(dt)
    relu, sig = _run(mode, lambda v: (layers.relu(v), layers.sigmoid(v)), np.array(x, dtype=dt))
    want_relu = onp.maximum(x, 0).astype(dt)
    assert relu.dtype == want_relu.dtype
    onp.testing.assert_array_equal(relu, want_relu)
    assert sig.dtype == np.exp(np.array(x, dtype=dt)).dtype
    assert sig.dtype.kind == "f"
    want = 1.0 / (1.0 + onp.exp(-x.astype("float64")))
    onp.testing.assert_allclose(sig.astype("float64"), want, rtol=2e-3 if sig.dtype == onp.float16
                                else 1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", ["int32", "bool", "uint8"])
def test_dropout_of_integer_data_is_float(mode, dt):
    """The mask is drawn in float32 (MXNet samples floats only); the result is the
    float product NumPy's ``x * mask / (1 - p)`` gives."""
    x = onp.arange(24).reshape(4, 6).astype(dt)
    got, = _run(mode, lambda v: (layers.dropout(v, 0.5, seed=3),), np.array(x, dtype=dt))
    ref, = _run("eager", lambda v: (layers.dropout(v, 0.5, seed=3),),
                np.array(x, dtype="float32"))
    assert got.dtype == onp.float32
    onp.testing.assert_array_equal(got, ref)
    assert set(onp.unique(got / 2.0).tolist()) <= set(x.astype("float32").ravel().tolist())
