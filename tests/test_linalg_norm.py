"""``minpy.numpy.linalg.norm``: NumPy's values, errors and dtypes in every mode, and
gradients against central differences (it is built from differentiable operators)."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad

from mode_runner import MODES, run_in_mode

rng = onp.random.RandomState(3)
M = rng.randn(3, 4)
T = rng.randn(2, 3, 4)
V = rng.randn(5)

# (array, ord, axis, keepdims)
CASES = [
    (V, None, None, False), (V, 2, None, False), (V, 1, None, True), (V, onp.inf, None, False),
    (V, -onp.inf, 0, False), (V, 0, None, False), (V, 3, None, False), (V, 0.5, -1, False),
    (V, -1, None, False),
    (M, None, None, False), (M, None, None, True), (M, "fro", None, False), (M, "f", None, True),
    (M, 1, None, False), (M, -1, None, True), (M, onp.inf, None, False),
    (M, -onp.inf, (1, 0), False), (M, 2, 1, True), (M, 1, 0, False), (M, onp.inf, -1, False),
    (T, None, None, False), (T, None, (0, 2), True), (T, 1, (2, 0), False),
    (T, onp.inf, (-1, -2), True), (T, None, 1, False), (T, 4, -1, True), (T, "fro", (0, 1), False),
]


def _id(case):
    a, o, ax, k = case
    return f"{a.ndim}d-ord{o}-axis{ax}-keep{k}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_values_and_dtypes_match_numpy(case, dtype, mode):
    a, o, ax, k = case
    a = a.astype(dtype)
    want = onp.linalg.norm(a, o, ax, k)
    got = run_in_mode(mode, lambda x: np.linalg.norm(x, o, ax, k), np.array(a, dtype=dtype))
    got = got.asnumpy()
    assert got.dtype == onp.asarray(want).dtype
    assert got.shape == onp.shape(want)
    onp.testing.assert_allclose(got, want, rtol=2e-6 if dtype == "float64" else 2e-5)


@pytest.mark.parametrize("a", [onp.array([3, -4, 0]), onp.array([[True, False], [True, True]])],
                         ids=["int", "bool"])
def test_integers_and_bools_are_normed_in_the_default_float_dtype(a):
    # NumPy gives float64: MinPy's demotion rule makes it the default dtype, float32
    got = np.linalg.norm(np.array(a))
    want = onp.linalg.norm(a)
    assert got.dtype == minpy.get_default_dtype() == onp.float32
    assert float(got) == pytest.approx(float(want), rel=1e-6)
    got1 = np.linalg.norm(np.array(a), 1, 0)
    assert got1.dtype == onp.float32
    onp.testing.assert_allclose(got1.asnumpy(), onp.linalg.norm(a, 1, 0), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_fuzzer_finds(mode):
    """Large integers are normed in float64 and rounded once (their squares overflow
    float32); p-norms of float16 stay float16, also when the sum is 0-d."""
    big = onp.array([[2 ** 63 - 1, 2 ** 63 - 3, -2]] * 2, dtype="int64")
    got = run_in_mode(mode, lambda x: np.linalg.norm(x, "fro"), np.array(big, dtype="int64"))
    assert got.dtype == onp.float32
    assert float(got) == pytest.approx(float(onp.linalg.norm(big, "fro")), rel=1e-6)
    for a, o in ((onp.array([1.0, 4.0, 0.5]), 0.5), (onp.zeros(0), 3), (onp.array([3.0]), 3)):
        a16 = a.astype("float16")
        got = run_in_mode(mode, lambda x: np.linalg.norm(x, o), np.array(a16, dtype="float16"))
        want = onp.linalg.norm(a16, o)
        assert got.dtype == want.dtype == onp.float16
        assert float(got) == pytest.approx(float(want), rel=2e-3)


@pytest.mark.parametrize("a,o,ax", [
    (V, "fro", None), (M, 3, None), (M, "nucx", None), (M, None, (0, 0)), (T, 1, None),
    (T, None, (0, 1, 2)), (M, None, 2), (M, None, (0, 5)), (M, None, "a"), (V, "x", 0),
])
def test_errors_are_numpys(a, o, ax):
    with pytest.raises(Exception) as want:
        onp.linalg.norm(a, o, ax)
    with pytest.raises(type(want.value)) as got:
        np.linalg.norm(np.array(a), o, ax)
    assert str(got.value) == str(want.value)


def _numeric(f, x, eps=1e-6):
    g = onp.zeros_like(x)
    for idx in onp.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[idx] += eps
        lo[idx] -= eps
        g[idx] = (f(hi) - f(lo)) / (2 * eps)
    return g


GRAD_CASES = [(V, None, None), (V, 1, None), (V, onp.inf, None), (V, -onp.inf, None),
              (V, 3, None), (V, 0.5, None), (M, None, None), (M, "fro", None), (M, 1, None),
              (M, -1, None), (M, onp.inf, None), (M, 2, 1), (T, None, (2, 0)), (T, 4, -1)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("a,o,ax", GRAD_CASES, ids=[_id((a, o, ax, False)) for a, o, ax in GRAD_CASES])
def test_gradients_match_central_differences(a, o, ax, mode):
    w = rng.randn(*onp.shape(onp.linalg.norm(a, o, ax)))

    def f_np(x):
        return float((onp.linalg.norm(x, o, ax) * w).sum())

    def f(x):
        return (np.linalg.norm(x, o, ax) * np.array(w, dtype="float64")).sum()
    got = run_in_mode(mode, grad(f), np.array(a, dtype="float64")).asnumpy()
    onp.testing.assert_allclose(got, _numeric(f_np, a), rtol=1e-5, atol=1e-7)


def test_singular_value_norms_run_in_numpy_and_say_they_have_no_gradient():
    for o in ("nuc", 2, -2):
        got = np.linalg.norm(np.array(M), o)
        assert float(got) == pytest.approx(onp.linalg.norm(M.astype("float32"), o), rel=1e-5)
    with pytest.raises(TypeError, match="linalg.norm has no gradient"):
        grad(lambda x: np.linalg.norm(x, "nuc"))(np.array(M))


def test_numpys_own_norm_on_minpy_arrays_runs_minpys():
    x = np.array(V, dtype="float64")
    got = onp.linalg.norm(x, 3)
    assert isinstance(got, np.ndarray)
    assert float(got) == pytest.approx(onp.linalg.norm(V, 3), rel=1e-12)
    g = grad(lambda x: onp.linalg.norm(x))(x)
    onp.testing.assert_allclose(g.asnumpy(), V / onp.linalg.norm(V), rtol=1e-12)


def test_other_linalg_functions_still_fall_back():
    a = rng.randn(3, 3) + 3 * onp.eye(3)
    onp.testing.assert_allclose(np.linalg.inv(np.array(a, dtype="float64")).asnumpy(),
                                onp.linalg.inv(a), rtol=1e-10)
    assert "inv" in dir(np.linalg) and "norm" in dir(np.linalg)
    with pytest.raises(AttributeError, match="minpy.numpy.linalg"):
        np.linalg.no_such_function
