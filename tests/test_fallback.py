"""NumPy fallback: unregistered names run in NumPy on host copies, results wrap back."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.dispatch.registry import REGISTRY


@pytest.fixture(autouse=True)
def _clean():
    old = minpy.get_global_policy()
    minpy.reset_call_stats()
    yield
    minpy.set_global_policy(old)


def _data():
    return onp.array([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]], dtype="float32")


def test_logaddexp_example():
    x = np.zeros((2, 3))
    y = np.ones((2, 3))
    z = np.logaddexp(x, y)
    assert isinstance(z, minpy.Array)
    assert z.shape == (2, 3) and z.dtype == onp.float32
    onp.testing.assert_allclose(z.asnumpy(), onp.logaddexp(onp.zeros((2, 3)), onp.ones((2, 3))),
                                rtol=1e-6)
    assert minpy.call_stats()["logaddexp"] == {"mxnet": 0, "numpy": 1}


@pytest.mark.parametrize("name, call, ref", [
    ("median", lambda m, a: m.median(a), lambda a: onp.median(a)),
    ("median", lambda m, a: m.median(a, axis=1), lambda a: onp.median(a, axis=1)),
    ("percentile", lambda m, a: m.percentile(a, 30), lambda a: onp.percentile(a, 30)),
    ("linalg.det", lambda m, a: m.linalg.det(a[:, :2]), lambda a: onp.linalg.det(a[:, :2])),
    ("linalg.inv", lambda m, a: m.linalg.inv(a[:, :2]), lambda a: onp.linalg.inv(a[:, :2])),
    ("pad", lambda m, a: m.pad(a, 1), lambda a: onp.pad(a, 1)),
    ("unique", lambda m, a: m.unique(a > 0), lambda a: onp.unique(a > 0)),
    ("diff", lambda m, a: m.diff(a, axis=1), lambda a: onp.diff(a, axis=1)),
    ("tril", lambda m, a: m.tril(a), lambda a: onp.tril(a)),
])
def test_unregistered_functions_match_numpy(name, call, ref):
    assert name not in REGISTRY
    a = _data()
    got = call(np, np.array(a))
    want = ref(a)
    assert isinstance(got, minpy.Array)
    assert got.shape == onp.shape(want)
    assert got.dtype == (onp.float32 if onp.asarray(want).dtype == onp.float64 else onp.asarray(want).dtype)
    onp.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)
    assert minpy.call_stats()[name]["numpy"] == 1
    assert minpy.call_stats()[name]["mxnet"] == 0


def test_fft_returns_host_complex_values():
    a = onp.array([1.0, 2.0, 3.0, 4.0], dtype="float32")
    f = np.fft.fft(np.array(a))
    # MXNet has no complex dtype: complex results stay NumPy arrays.
    assert isinstance(f, onp.ndarray) and f.dtype.kind == "c"
    onp.testing.assert_allclose(onp.abs(f), onp.abs(onp.fft.fft(a)), rtol=1e-5)
    assert minpy.call_stats()["fft.fft"] == {"mxnet": 0, "numpy": 1}


def test_fft_magnitude_with_minpy_abs():
    a = onp.array([1.0, 2.0, 3.0, 4.0], dtype="float32")
    mag = np.abs(np.fft.fft(np.array(a)))
    onp.testing.assert_allclose(onp.asarray(mag), onp.abs(onp.fft.fft(a)), rtol=1e-5)


def test_nonzero_returns_tuple_of_arrays():
    a = onp.array([0, 3, 0, 5])
    got = np.nonzero(np.array(a))
    want = onp.nonzero(a)
    assert isinstance(got, tuple) and len(got) == 1
    assert isinstance(got[0], minpy.Array)
    onp.testing.assert_array_equal(got[0].asnumpy(), want[0])


def test_lists_of_minpy_arrays_are_accepted():
    a, b = _data(), _data() * 2
    got = np.median([np.array(a), np.array(b)], axis=0)
    onp.testing.assert_allclose(got.asnumpy(), onp.median([a, b], axis=0))
    got = np.linalg.norm([np.array(a[0]), a[1]])
    onp.testing.assert_allclose(float(got), onp.linalg.norm([a[0], a[1]]), rtol=1e-6)


def test_python_values_pass_through():
    x = np.array(_data())
    assert np.allclose(x, x) is True
    assert np.array_equal(x, x + 0) is True
    assert np.iscomplexobj(x) is False
    assert np.shape(x) == (2, 3)
    assert np.ndim(x) == 2


def test_constants_and_dtypes_pass_through():
    assert np.pi == onp.pi
    assert np.e == onp.e
    assert np.inf == onp.inf
    assert onp.isnan(np.nan)
    assert np.newaxis is None
    assert np.float32 is onp.float32
    assert np.int64 is onp.int64
    assert np.dtype is onp.dtype
    assert np.ones(2, dtype=np.float16).dtype == onp.float16
    x = np.ones((3,))
    assert x[np.newaxis].shape == (1, 3)


def test_missing_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_function"):
        np.no_such_function
    with pytest.raises(AttributeError, match="no_such_function"):
        np.linalg.no_such_function
    assert not hasattr(np, "definitely_not_numpy")


def test_fallback_result_context_follows_first_array():
    with minpy.context.cpu(1):
        x = np.array(_data())
    r = np.median(x, axis=0)
    assert r.context == minpy.context.cpu(1)
    r = np.median(_data())       # no MinPy array: current context
    assert r.context == minpy.context.current_context()


def test_float64_input_gives_float64_result():
    a = _data().astype("float64")
    r = np.median(np.array(a, dtype="float64"), axis=0)
    assert r.dtype == onp.float64
    r = np.median(np.array(a), axis=0)
    assert r.dtype == onp.float32


def test_mutating_functions_write_back():
    x = np.ones((3, 3))
    assert np.fill_diagonal(x, 0.0) is None
    want = onp.ones((3, 3), dtype="float32")
    onp.fill_diagonal(want, 0.0)
    onp.testing.assert_array_equal(x.asnumpy(), want)
    y = np.zeros(4)
    np.copyto(y, np.arange(4.0))
    onp.testing.assert_array_equal(y.asnumpy(), [0, 1, 2, 3])
    z = np.zeros(4)
    np.put(z, [1, 3], 7.0)
    onp.testing.assert_array_equal(z.asnumpy(), [0, 7, 0, 7])
    assert z.dtype == onp.float32


def test_out_argument_receives_result():
    x = np.array(_data())
    o = np.zeros(3)
    r = np.median(x, axis=0, out=o)
    assert r is o
    onp.testing.assert_allclose(o.asnumpy(), onp.median(_data(), axis=0))


def test_writing_into_a_host_copy_raises():
    from minpy.dispatch.fallback import fallback_function

    def writes(a):
        a[0] = 5.0

    x = np.ones(3)
    with pytest.raises(ValueError, match="minpy.numpy.test_writer.*immutable"):
        fallback_function("test_writer", writes)(x)
    onp.testing.assert_array_equal(x.asnumpy(), onp.ones(3))


def test_fallback_error_is_numpy_error():
    with pytest.raises(onp.linalg.LinAlgError):
        np.linalg.inv(np.zeros((2, 2)))
    assert "linalg.inv" not in minpy.call_stats()


def test_fallback_docstring_names_numpy():
    assert "numpy.median" in np.median.__doc__
    assert np.median.__name__ == "median"
