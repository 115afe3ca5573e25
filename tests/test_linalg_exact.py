"""Integer products are exact, as NumPy's (issue 12 fuzz: ``vdot``/``tensordot`` of
int64 values beyond 2**53 were computed in float64 and rounded)."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np

_rng = onp.random.RandomState(0)
CASES = [("vdot", (3,), (3,)), ("vdot", (2, 3), (3, 2)), ("dot", (2, 3), (3, 4)),
         ("dot", (3,), (3,)), ("dot", (2, 2, 3), (4, 3, 2)), ("dot", (), (2, 3)),
         ("matmul", (2, 3), (3, 4)), ("matmul", (3,), (3, 4)), ("matmul", (2, 3), (3,)),
         ("matmul", (3,), (3,)), ("matmul", (2, 1, 2, 3), (3, 3, 2)), ("tensordot", (2, 3, 4), (3, 4, 2)),
         ("inner", (2, 3), (4, 3)), ("inner", (3,), (3,)), ("matmul", (2, 0), (0, 3)),
         ("outer", (3,), (2,))]


def _f(name):
    if name == "tensordot":
        return lambda m: lambda x, y: m.tensordot(x, y, 2)
    return lambda m: lambda x, y: getattr(m, name)(x, y)


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
@pytest.mark.parametrize("dtype,lo,hi", [("int64", -2 ** 62, 2 ** 62), ("int32", -2 ** 30, 2 ** 30),
                                         ("int32", -100, 100)])
def test_integer_products_are_exact(mode, dtype, lo, hi):
    for name, sa, sb in CASES:
        a = _rng.randint(lo, hi, size=sa, dtype="int64").astype(dtype)
        b = _rng.randint(lo, hi, size=sb, dtype="int64").astype(dtype)
        want = _f(name)(onp)(a, b)
        f = _f(name)(np)
        if mode == "lazy":
            with minpy.lazy():
                got = f(np.array(a), np.array(b)).asnumpy()
        elif mode == "jit":
            j = minpy.jit(f)
            j(np.array(a), np.array(b))
            got = j(np.array(a), np.array(b)).asnumpy()
        else:
            got = f(np.array(a), np.array(b)).asnumpy()
        assert got.dtype == want.dtype and got.shape == want.shape, (name, sa, sb)
        assert onp.array_equal(got, want), (name, sa, sb, got, want)


@pytest.mark.parametrize("name,sa,sb", [("inner", (2, 3), (4, 3)), ("dot", (2, 3), (3, 2)),
                                        ("matmul", (2, 2, 3), (3, 2)), ("vdot", (2, 3), (3, 2)),
                                        ("tensordot", (2, 3, 4), (3, 4, 2)), ("outer", (3,), (2,))])
def test_float16_products(name, sa, sb):
    """MXNet's CPU tensordot has no float16 kernel (inner raised); NumPy accumulates
    float16 products in float32, and so does MinPy now."""
    a = _rng.randn(*sa).astype("float16")
    b = _rng.randn(*sb).astype("float16")
    want = _f(name)(onp)(a, b)
    got = _f(name)(np)(np.array(a), np.array(b)).asnumpy()
    assert got.dtype == onp.float16 and got.shape == want.shape
    assert onp.allclose(got.astype("float64"), want.astype("float64"), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_vdot_with_an_infinity(mode):
    """vdot was a product and MXNet's sum, which gives NaN for [inf, 1, 2]."""
    a = onp.array([0.8, -2.7, 2.16, 1e-30, -1e30, 0.7])
    b = onp.array([1.5, 2.9, onp.inf, 2.37, -1.7, -1e30])
    f = lambda x, y: np.vdot(x, y)
    args = (np.array(a, dtype="float64"), np.array(b, dtype="float64"))
    if mode == "lazy":
        with minpy.lazy():
            got = float(f(*args))
    elif mode == "jit":
        j = minpy.jit(f)
        j(*args)
        got = float(j(*args))
    else:
        got = float(f(*args))
    assert got == onp.vdot(a, b) == onp.inf


@pytest.mark.parametrize("mode", ["eager", "lazy"])
@pytest.mark.parametrize("op,sa,sb,flags", [
    ("_matmul_t", (0, 2), (0, 3), (True, False)), ("_matmul_t", (2, 0), (0, 3), (False, False)),
    ("_matmul_t", (2, 0), (3, 0), (False, True)), ("_matmul_t", (0, 2), (3, 0), (True, True)),
    ("_fully_connected", (2, 0), (3, 0), ()), ("_fully_connected", (2, 3), (0, 3), ()),
    ("_fully_connected", (0, 3), (2, 3), ())])
def test_empty_contractions_give_zeros(mode, op, sa, sb, flags):
    """The internal products gradients use: MXNet's dot raised SIGFPE on an empty
    contraction (matmul of (0, 3) and (3, 2) killed the backward pass) and oneDNN's
    FullyConnected refuses zero sizes."""
    from minpy.ops._util import c
    a, b = onp.ones(sa), onp.ones(sb)
    ta, tb = flags if flags else (False, True)
    want = (a.T if ta else a) @ (b.T if tb else b)
    with minpy.lazy(mode == "lazy"):
        got = c(op, np.array(a, dtype="float32"), np.array(b, dtype="float32"), *flags)
        got = got.asnumpy()
    assert got.shape == want.shape and onp.array_equal(got, want)


@pytest.mark.parametrize("dtype", ["bool", "int8", "int32", "int64", "float16", "float32"])
def test_trace_of_bool_and_integer_arrays(dtype):
    """trace of a bool array failed in MXNet ("Unknown type enum 7"); NumPy sums bool and
    integer diagonals in int64."""
    a = (onp.arange(12).reshape(3, 4) % 3).astype(dtype)
    for off in (0, 1, -1):
        want = onp.trace(a, off)
        for lazy in (False, True):
            with minpy.lazy(lazy):
                got = np.trace(np.array(a), off)
                assert got.dtype == want.dtype and float(got) == float(want), (off, lazy)
