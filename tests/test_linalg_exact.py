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
