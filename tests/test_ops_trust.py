"""Operators against NumPy where NumPy's answer depends on the kind of call, not only on
its operands (issue 12): the ``ndarray ** scalar`` shortcut, the order of checks in
in-place operators. Each case runs in eager, lazy and @jit mode (jit called twice, so
the replay path runs too)."""
import operator
import warnings

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from numpy.core._exceptions import _UFuncOutputCastingError

MODES = ["eager", "lazy", "jit"]


def run(mode, fn, *args):
    """``fn(*args)`` in one mode, read back as NumPy (or the exception it raises)."""
    def host(r):
        return tuple(host(x) for x in r) if isinstance(r, tuple) else \
            (r.asnumpy() if hasattr(r, "asnumpy") else r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "eager":
            return host(fn(*args))
        if mode == "lazy":
            with minpy.lazy():
                return host(fn(*args))
        f = minpy.jit(fn)
        f(*args)
        return host(f(*args))


def same(got, ref):
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    assert got.shape == ref.shape
    onp.testing.assert_array_equal(got, ref)


POW_CASES = [("bool", [True, False], 2), ("bool", [True, False], 2.0),
             ("int8", [3, -2], 2), ("uint8", [3, 200], 2), ("float16", 1.5, 2.0),
             ("float16", 1.5, 2), ("float32", [-onp.inf, -0.0, 4.0], 0.5),
             ("float64", [0.0, 2.0, onp.nan], -1), ("float32", [onp.nan, 2.0], 0.0),
             ("float32", [onp.nan, 2.0], True), ("int32", 3, 2), ("int64", [5, 2], 3),
             ("int32", [3, 2], 2.0), ("bool", [True, False], onp.int64(2)),
             ("float16", 1.5, onp.float64(2.0))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt,data,e", POW_CASES)
def test_power_by_a_scalar_takes_numpys_shortcut(dt, data, e, mode):
    """``x ** 2`` is NumPy's square (bool ** 2 is int8, a float16 0-d array ** 2.0 stays
    float16), ``x ** 0.5`` its sqrt (-inf ** 0.5 is NaN), ``x ** -1`` its reciprocal."""
    x = onp.array(data, dtype=dt)
    with onp.errstate(all="ignore"):
        ref = x ** e
    got = run(mode, lambda a: a ** e, np.array(x, dtype=dt))
    want = onp.dtype("float32") if ref.dtype == onp.float64 and dt != "float64" else ref.dtype
    same(got, ref.astype(want))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", ["int8", "uint8", "int32", "int64"])
def test_integer_power_in_place_by_float_two_is_a_square(dt, mode):
    """NumPy: ``int_array **= 2.0`` squares in place (no float cast error)."""
    x = onp.array([3, 2, 0, 5], dtype=dt)
    ref = x.copy()
    ref **= 2.0

    def f(a):
        a = a.copy()
        a **= 2.0
        return a
    same(run(mode, f, np.array(x, dtype=dt)), ref)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt,e", [("bool", 2), ("bool", 2.0), ("bool", -1), ("bool", "arr"),
                                  ("int32", 1.5)])
def test_in_place_checks_the_cast_before_computing(dt, e, mode):
    """``bool_array **= -1`` is NumPy's casting error (UFuncTypeError, a TypeError), not the
    ValueError of a negative integer power that computing first would raise."""
    x = onp.array([True, False], dtype=dt) if dt == "bool" else onp.array([1, 2], dtype=dt)
    y = onp.array([-3, -1], dtype="int32") if e == "arr" else e

    def f(a, b=None):
        a = a.copy()
        a **= (b if b is not None else y)
        return a
    with pytest.raises(TypeError) as np_err:
        f(x, y)
    assert isinstance(np_err.value, _UFuncOutputCastingError)
    args = (np.array(x),) + ((np.array(y),) if e == "arr" else ())
    with pytest.raises(TypeError, match="Cannot cast ufunc"):
        run(mode, f, *args)


@pytest.mark.parametrize("mode", MODES)
def test_power_by_a_0d_minpy_array_is_power(mode):
    """A 0-d MinPy exponent is never read for the shortcut (dtypes do not depend on
    values): ``float16_0d ** minpy_0d_float`` is power's float32, ``-inf ** 0.5`` inf."""
    got = run(mode, lambda a, b: a ** b, np.array([-onp.inf, 4.0], dtype="float32"),
              np.array(0.5, dtype="float32"))
    same(got, onp.power(onp.array([-onp.inf, 4.0], dtype="float32"), onp.float32(0.5)))


PRODUCTS = [("matmul", (2, 3), (3, 2), {}), ("matmul", (3,), (3, 1), {}),
            ("dot", (2, 3), (3, 2), {}), ("dot", (), (3, 2), {}),
            ("tensordot", (2, 3), (3, 2), {"axes": 1}), ("tensordot", (2, 3), (3, 2), {"axes": 0}),
            ("inner", (2, 3), (2, 3), {}), ("vdot", (2, 3), (2, 3), {}),
            ("outer", (2, 3), (3,), {}), ("einsum", (2, 3), (3, 2), {})]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,sa,sb,kw", PRODUCTS)
def test_uint8_products_wrap_as_numpys(name, sa, sb, kw, mode):
    """MXNet has no uint8 sum: uint8 products are exact modulo 256, NumPy's uint8."""
    a = (onp.arange(int(onp.prod(sa))).reshape(sa) * 37 % 251).astype("uint8")
    b = (onp.arange(int(onp.prod(sb))).reshape(sb) * 91 % 253).astype("uint8")
    if name == "einsum":
        ref = onp.einsum("ij,jk->ik", a, b)
        fn = lambda x, y: np.einsum("ij,jk->ik", x, y)     # noqa: E731
    else:
        ref = getattr(onp, name)(a, b, **kw)
        fn = lambda x, y: getattr(np, name)(x, y, **kw)     # noqa: E731
    same(run(mode, fn, np.array(a), np.array(b)), onp.asarray(ref))


@pytest.mark.parametrize("mode", MODES)
def test_signbit_and_copysign_read_the_sign_bit_of_nans(mode):
    """NumPy reads a NaN's sign bit (x86 arithmetic makes -NaN: inf - inf); MXNet's
    operators cannot, so MinPy gave signbit False and copysign a positive result."""
    h = onp.array([-onp.inf, 1.0, onp.nan, -0.0, 0.0, -1.0], "float64")
    ints = onp.array([-1, 2, 3, -4, 5, 6])

    def f(m, x, k):
        y = x - x
        return (m.signbit(y), m.signbit(x), m.copysign(2.0, y), m.copysign(x, -0.0),
                m.copysign(x, k), m.copysign(y, x), m.signbit(k),
                m.copysign(k, y), m.copysign(k, y.astype("float32")))   # float64, demoted
    with onp.errstate(all="ignore"):
        ref = f(onp, h, ints)
    got = run(mode, lambda x, k: f(np, x, k), np.array(h, dtype="float64"), np.array(ints))
    ref = ref[:-1] + (ref[-1].astype("float32"),)     # MinPy's demotion rule
    for g, r in zip(got, ref):
        assert g.dtype == r.dtype
        if r.dtype.kind == "f":
            onp.testing.assert_array_equal(onp.signbit(g), onp.signbit(r))
            onp.testing.assert_array_equal(onp.abs(g), onp.abs(r))
        else:
            onp.testing.assert_array_equal(g, r)
    assert ref[0][0]            # the premise: inf - inf is a NaN with its sign bit set


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn", ["var", "std"])
@pytest.mark.parametrize("src", ["float64", "int64", "bool"])
def test_var_with_a_dtype_takes_deviations_in_the_data_dtype(fn, src, mode):
    """NumPy's var(x64, dtype=float32) subtracts the float32 mean from the float64 data:
    with ddof >= n the tiny remainder divided by 0 is inf (MinPy gave 0/0 = NaN)."""
    h = onp.array([[0.487832, 1.1], [0.487832, 2.3], [0.487832, -0.7]])
    x = h if src == "float64" else (h * 1e6 > 5e5) if src == "bool" else (h * 1e6).astype(src)
    with onp.errstate(all="ignore"):
        for axis, ddof in ((1, 2), (0, 3), (0, 1), (None, 1)):
            ref = getattr(onp, fn)(x, axis=axis, ddof=ddof, dtype="float32")
            got = run(mode, lambda a: getattr(np, fn)(a, axis=axis, ddof=ddof, dtype="float32"),
                      np.array(x, dtype=src))
            assert got.dtype == ref.dtype
            onp.testing.assert_allclose(got, ref, rtol=2e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", ["float64", "int32", "bool"])
def test_take_from_a_0d_array_along_axis_0_or_minus_1(dt, mode):
    """NumPy takes from a 0-d array as from its ravel for axis 0 and -1 (every mode);
    MinPy raised AxisError (mode='raise') or MXNet's error (wrap, clip)."""
    x = onp.array(1.5).astype(dt)
    for idx in (0, onp.array([0, -1]), onp.array([[0], [0]]), 3):
        for axis in (0, -1, None):
            for how in ("raise", "wrap", "clip"):
                if how == "raise" and isinstance(idx, int) and idx == 3:
                    with pytest.raises(IndexError):
                        run(mode, lambda a: np.take(a, idx, axis=axis, mode=how), np.array(x, dtype=dt))
                    continue
                ref = onp.take(x, idx, axis=axis, mode=how)
                i = np.array(idx) if isinstance(idx, onp.ndarray) else idx
                got = run(mode, lambda a, j: np.take(a, j, axis=axis, mode=how), np.array(x, dtype=dt), i)
                same(got, onp.asarray(ref))
    with pytest.raises(onp.AxisError):
        run(mode, lambda a: np.take(a, 0, axis=1), np.array(x))


def test_take_from_a_0d_array_gradient():
    g = minpy.grad(lambda a: np.sum(np.take(a, np.array([0, -1, 0]), axis=0) * 2.0))(
        np.array(1.5, dtype="float64"))
    assert g.shape == () and float(g) == 6.0


@pytest.mark.parametrize("mode", MODES)
def test_shift_operators(mode):
    """``x << y`` and ``x >> y`` (and reflected, in place) were TypeErrors."""
    x = onp.array([1, 2, 3, 100], dtype="uint8")
    k = onp.array([0, 1, 2, 3], dtype="int32")

    def f(m, a, b):
        c = a.copy() if m is onp else a.copy()
        c <<= 1
        d = b.copy()
        d >>= 1
        return a << 2, a >> 1, a << b, 3 << b, c, d
    ref = f(onp, x, k)
    got = run(mode, lambda a, b: f(np, a, b), np.array(x), np.array(k))
    for g, r in zip(got, ref):
        same(g, r)
    with pytest.raises(TypeError):
        b = np.array([True, False])
        b <<= 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", ["float64", "float32", "int64", "int32"])
def test_round_halves_to_even_at_every_magnitude(dt, mode):
    """MXNet's float64 round is wrong for halves beyond 2**31 (round(4198673000.5) gave
    ...001), and so was round(int64, -1) beyond 2**53; float32 with decimals differed."""
    rng = onp.random.RandomState(0)
    v = onp.concatenate([onp.floor(rng.uniform(2 ** e, 2 ** (e + 1), 8)) + 0.5
                         for e in range(0, 53, 2)])
    v = onp.concatenate([v, -v, [0.5, 1.5, 2.5, -0.5, onp.inf, -onp.inf, onp.nan, 1e300],
                         rng.uniform(-1e6, 1e6, 40)])
    if dt.startswith("int"):
        v = onp.concatenate([rng.randint(-2 ** 62, 2 ** 62, 60),
                             [18014398509481985, 25, 15, -25, 2 ** 63 - 1, -2 ** 63]])
        v = v.astype(dt) if dt == "int64" else (v // 2 ** 33).astype(dt)
    x = v.astype(dt)
    for fn, d in (("round", 0), ("around", 2), ("round", -1), ("round", -3), ("rint", 0)):
        f = (lambda a: np.rint(a)) if fn == "rint" else (lambda a: getattr(np, fn)(a, d))
        ref = onp.rint(x) if fn == "rint" else getattr(onp, fn)(x, d)
        if ref.dtype == onp.float64 and dt != "float64":
            ref = ref.astype("float32")
        got = run(mode, f, np.array(x, dtype=dt))
        assert got.dtype == ref.dtype
        onp.testing.assert_array_equal(got, ref, err_msg=f"{fn}({d})")


@pytest.mark.parametrize("mode", MODES)
def test_in_place_cast_error_comes_before_the_shape_error(mode):
    """NumPy: ``int64 /= float32`` of unbroadcastable shapes is the casting error."""
    def f(a, b):
        a = a.copy()
        a /= b
        return a
    with pytest.raises(TypeError):
        f(onp.array([4, 4, 4]), onp.array([1.5, 2.0], "float32"))
    with pytest.raises(TypeError, match="Cannot cast ufunc"):
        run(mode, f, np.array([4, 4, 4], dtype="int64"), np.array([1.5, 2.0], dtype="float32"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,idx,axis", [((0, 0), [5, 7], 1), ((0, 3), [5], 1), ((2, 0), [5], 0),
                                            ((0, 3), [5], None), ((0, 3), [], None), ((0, 3), 5, 1),
                                            ((2, 0), [5], 1), ((0, 0), [], 0), ((3, 0, 2), [9], 2)])
def test_take_checks_indices_only_where_numpy_gathers(shape, idx, axis, mode):
    """NumPy checks indices while gathering: nothing gathered (an empty leading extent or no
    indices) checks nothing, and an empty axis raises only for a non-empty result. MinPy
    raised IndexError where NumPy returns an empty array."""
    x = onp.zeros(shape, dtype="float32")
    i = onp.array(idx, dtype="int64") if isinstance(idx, list) else idx

    def f(a, j):
        return np.take(a, j, axis=axis)
    try:
        ref = onp.take(x, i, axis=axis)
    except IndexError as e:
        with pytest.raises(IndexError, match=str(e).split()[0]):
            run(mode, f, np.array(x), np.array(i) if isinstance(i, onp.ndarray) else i)
        return
    same(run(mode, f, np.array(x), np.array(i) if isinstance(i, onp.ndarray) else i), ref)


WIDE_CASES = [
    ("add broadcast", lambda M, a, b: a + b, (2, 1, 3, 1, 2, 1), (1, 2, 1, 2, 1, 3)),
    ("tanh 7-d", lambda M, a, b: M.tanh(a) * b, (1, 2, 1, 2, 1, 2, 3), (3,)),
    ("sum axis", lambda M, a, b: M.sum(a * 2.0, axis=(1, 4)) + b.sum(), (2, 3, 1, 2, 2, 3), (2,)),
    ("transpose", lambda M, a, b: M.transpose(a) - 1.0, (2, 1, 3, 1, 2, 1, 2), (1,)),
    ("getitem None", lambda M, a, b: a[None, None, None, :, M.asarray(b.astype("int64"))],
     (3, 4, 2), (2,)),
    ("setitem view", None, (2, 3, 4), (2,)),
    ("concatenate", lambda M, a, b: M.concatenate([a, a], axis=5), (1, 2, 1, 1, 2, 3), (1,)),
]


def _wide_setitem(M, a, b):
    x = a * 1.0
    x[None, None, None, None, :, M.asarray(b.astype("int64"))] = 2.5
    return x


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", [c[0] for c in WIDE_CASES])
def test_arrays_wider_than_mxnet_kernels_compute_numpys_values(case, mode):
    """MXNet's broadcasting kernels stop at 5 dimensions (and shapes at 6): calls with a
    6-d or wider operand, result or indexed view raised MXNet's errors; they run NumPy's
    implementation."""
    _, fn, sa, sb = next(c for c in WIDE_CASES if c[0] == case)
    fn = fn or _wide_setitem
    rng = onp.random.RandomState(0)
    a = rng.randn(*sa).astype("float32")
    b = (onp.arange(int(onp.prod(sb))) % 2).reshape(sb).astype("float32")
    ref = fn(onp, a, b)
    got = run(mode, lambda x, y: fn(np, x, y), np.array(a), np.array(b))
    same(got, ref.astype("float32"))


def test_gradient_through_a_6d_array():
    rng = onp.random.RandomState(1)
    a = rng.randn(2, 1, 3, 1, 2, 2)
    b = rng.randn(1, 2, 1, 2, 1, 2)

    def f(x):
        return np.sum(np.tanh(x * np.array(b)) ** 2)
    g = minpy.grad(f)(np.array(a)).asnumpy()
    eps, num = 1e-6, onp.zeros_like(a)
    for i in range(a.size):
        d = onp.zeros(a.size)
        d[i] = eps
        d = d.reshape(a.shape)
        num.flat[i] = (onp.sum(onp.tanh((a + d) * b) ** 2) - onp.sum(onp.tanh((a - d) * b) ** 2)) / (2 * eps)
    onp.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("codegen", ["off", "always"])
@pytest.mark.parametrize("dt", ["uint8", "int8", "int32"])
def test_comparison_with_a_changing_python_int_in_a_graph(dt, codegen):
    """A Python int that changes between flushes becomes a graph input; it took the
    array's dtype, so ``uint8_array < -1`` compared with 255 (silently True)."""
    from minpy.jit import codegen as cg
    if codegen == "always" and not cg.available():
        pytest.skip("no C++ compiler")
    x = onp.array([0, 3, 100, 127], dtype=dt)
    f = minpy.jit(lambda a, s: np.logical_and(a < s, (a + 1) >= s))
    with cg.using(codegen):
        for s in (5, -1, 300, 70000, -129, 2 ** 40, 101):
            ref = onp.logical_and(x < s, (x + onp.array(1, dt)) >= onp.int64(s))
            with minpy.lazy():
                lz = (np.array(x) < s).asnumpy()
            same(lz, x < s)
            same(f(np.array(x), s).asnumpy(), ref)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", ["float16", "float32", "int8", "uint8"])
def test_0d_array_compared_with_a_python_scalar_as_numpy_does(dt, mode):
    """NumPy treats a 0-d array as a scalar: with a Python float it compares in float64
    (``float32(0.1) == 0.1`` is False); MinPy compared in the array's dtype."""
    for v, s in ((0.1, 0.1), (0.0010004043579101562, 0.001), (3, 3.0000001), (100, 1000), (1, -1)):
        a = onp.array(v).astype(dt)
        for op in (operator.eq, operator.ne, operator.lt, operator.ge):
            ref = op(a, s)
            got = run(mode, lambda x: op(x, s), np.array(a, dtype=dt))
            same(onp.asarray(got), onp.asarray(ref))


@pytest.mark.parametrize("mode", MODES)
def test_round_float16_equals_numpy_on_every_value(mode):
    """NumPy rounds float16 with decimals through float16 steps (x * 10**d rounded to
    float16 first: round(0.5498, 1) is 0.6); MinPy scaled in float32 (0.5)."""
    bits = onp.arange(0, 65536, dtype=onp.uint16).view(onp.float16)
    for d in (-5, -1, 0, 1, 3, 6):
        with onp.errstate(all="ignore"):
            ref = onp.round(bits, d)
        got = run(mode, lambda a: np.round(a, d), np.array(bits, dtype="float16"))
        assert got.dtype == ref.dtype
        onp.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["fmod", "logaddexp", "logaddexp2", "fmax", "fmin", "gcd"])
@pytest.mark.parametrize("shape", [(0,), (3,)])
@pytest.mark.parametrize("zero_d", [False, True])
def test_numpy_run_ufuncs_count_python_ints_by_kind(name, shape, zero_d, mode):
    """Ufuncs MinPy runs through NumPy (registered without a lowering, or plain
    fallbacks such as fmax) took NumPy 1.x's value rule for a Python int or a 0-d
    array (``fmod(uint8_array, -2)`` int16 -> int32) where every MXNet-run one takes
    the kind rule of docs/differences.md (uint8, the int cast to uint8 first; where
    the result is a float, the int keeps its value, as in MXNet-run ufuncs)."""
    x = onp.array([7, 200, 3][:shape[0]], dtype="uint8")
    for s in (-2, 3):
        with onp.errstate(all="ignore"):
            ref = getattr(onp, name)(x, s if name.startswith("logaddexp") else
                                     onp.array(s).astype("uint8"))
        arg = np.array(s) if zero_d else s
        got = run(mode, lambda a: getattr(np, name)(a, arg), np.array(x, dtype="uint8"))
        same(got, ref)


@pytest.mark.parametrize("how", ["clip", "wrap"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_take_gradient_with_clip_and_wrap_modes(how, axis):
    """The gradient of take with mode='clip'/'wrap' raised NotImplementedError (and so
    did an empty take, which MinPy runs as 'clip')."""
    rng = onp.random.RandomState(0)
    a = rng.randn(3, 4)
    idx = onp.array([[5, -1, 0], [2, 7, -6]])

    def f(x, m):
        t = m.take(x, idx if m is onp else np.array(idx), axis=axis, mode=how)
        return m.sum(m.tanh(t) * onp.arange(t.size).reshape(t.shape) if m is onp else
                     m.tanh(t) * np.array(onp.arange(t.size).reshape(t.shape), dtype="float64"))
    g = minpy.grad(lambda x: f(x, np))(np.array(a, dtype="float64")).asnumpy()
    num = onp.zeros_like(a)
    for i in range(a.size):
        d = onp.zeros(a.size)
        d[i] = 1e-6
        d = d.reshape(a.shape)
        num.flat[i] = (f(a + d, onp) - f(a - d, onp)) / 2e-6
    onp.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)
    empty = minpy.grad(lambda x: np.sum(np.take(x, np.zeros((0,), dtype="int64"))))(
        np.array(a, dtype="float64"))
    same(empty.asnumpy(), onp.zeros_like(a))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt,held", [("uint16", "int32"), ("int16", "int32"), ("uint32", "int64"),
                                     ("uint64", "int64")])
def test_dtypes_mxnet_cannot_hold_are_held_wider(dt, held, mode):
    """np.array(5, dtype='uint64') raised MXNet's KeyError, np.zeros(3, dtype='uint16')
    an MXNetError; docs/differences.md: such dtypes are held in the next wider one.
    astype to them wraps the values as NumPy's cast does."""
    assert np.array(5, dtype=dt).dtype == held
    assert np.array(onp.array([1, 2], dtype=dt)).dtype == held
    for make in (lambda: np.zeros(3, dtype=dt), lambda: np.ones(2, dtype=dt),
                 lambda: np.full(2, 3, dtype=dt), lambda: np.arange(3, dtype=dt),
                 lambda: np.eye(2, dtype=dt)):
        r = make()
        assert r.dtype == held
    src = onp.array([-1, 70000, 3, 40000])
    ref = src.astype(dt)
    got = run(mode, lambda a: a.astype(dt), np.array(src, dtype="int64"))
    assert got.dtype == held
    if dt != "uint64":          # 2**64 - 1 does not fit int64
        onp.testing.assert_array_equal(got, ref.astype(held))


@pytest.mark.parametrize("mode", MODES)
def test_float32_product_with_int64_is_computed_in_float64(mode):
    """float32 @ int64 is float64 in NumPy (float32 here, demoted): its sums were made in
    float32, where a product of 1e30 and 2**31 overflows and inf - inf gave NaN."""
    a = onp.array([[1e30, -onp.inf, 2.0]], dtype="float32")
    b = onp.array([[2147483647], [4611686018427387904], [3]], dtype="int64")
    ref = (a @ b).astype("float32")
    for f in (lambda x, y: x @ y, lambda x, y: np.dot(x, y)):
        same(run(mode, f, np.array(a), np.array(b)), ref)


@pytest.mark.parametrize("mode", MODES)
def test_int_operand_of_a_float16_result_is_rounded_to_float16_first(mode):
    """NumPy's float16 loops take their operands as float16: an int64 0-d array of
    -2**63 is -inf there (mod gives NaN); MinPy computed in float32 and gave 0."""
    x = onp.array(-9223372036854775808, dtype="int64")
    y = onp.array([0.0, 1.0, 3.0], dtype="float16")
    with onp.errstate(all="ignore"):
        ref = onp.mod(x.astype("float16"), y)      # the kind rule: x counts as float16
    got = run(mode, lambda a, b: np.mod(a, b), np.array(x, dtype="int64"), np.array(y, dtype="float16"))
    same(got, ref)


@pytest.mark.parametrize("mode", MODES)
def test_0d_float32_floor_divide_and_mod_compute_as_numpy_scalars(mode):
    """NumPy computes a 0-d array with a Python float in float64 (its scalar rule):
    float32(-0.61) // 0.001 is -611 there, -610 in float32; MinPy's result stays the
    demoted float32 but its value is NumPy's, for // and % (whose results jump with
    the last bits), in place too."""
    v = onp.array(-0.61, dtype="float32")

    def inplace(a):
        b = a.copy()
        b //= 0.001
        return b

    def inplace_mod(a):
        b = a.copy()
        b %= 0.001
        return b
    for f, ref in ((lambda a: a // 0.001, v // 0.001), (inplace, v // 0.001),
                   (lambda a: np.floor_divide(a, 0.001), v // 0.001),
                   (lambda a: a % 0.001, v % 0.001), (inplace_mod, v % 0.001),
                   (lambda a: np.remainder(a, 0.001), v % 0.001)):
        got = run(mode, f, np.array(v))
        same(got, onp.asarray(ref).astype("float32"))


@pytest.mark.parametrize("mode", MODES)
def test_python_floats_with_float16_arrays_are_rounded_to_float16_first(mode):
    """NumPy's float16 loop takes a Python float (or a 0-d float32 array) as float16:
    x + 0.1 adds 0.0999755859375 (one float16 ULP apart from adding 0.1 in float32 on
    about 11,000 of the finite values); a float beyond float16's range keeps its value
    (NumPy widens the result: 0 * 1e5 is 0, not NaN)."""
    x = onp.arange(65536, dtype="uint16").view("float16")
    x = x[onp.isfinite(x)]
    s32 = onp.array(2.7, dtype="float32")
    with onp.errstate(all="ignore"):
        for f, ref in ((lambda a: a + 0.1, x + 0.1), (lambda a: a * 2.7, x * 2.7),
                       (lambda a: 0.3 - a, 0.3 - x), (lambda a: a / 0.3, x / 0.3),
                       (lambda a: a * np.array(s32), x * s32),
                       (lambda a: a * 1e5, (x * 1e5).astype("float16"))):
            same(run(mode, f, np.array(x)), ref)


@pytest.mark.parametrize("mode", MODES)
def test_float_written_into_integer_arrays_converts_as_numpy(mode):
    """NumPy stores int(v) wrapped to the dtype (-1.5 into uint8 is 255) and raises
    OverflowError beyond int64 and ValueError for NaN before checking the index; MinPy
    raised OverflowError for -1.5 and IndexError before the NaN's ValueError."""
    m = onp.array([True, False, True, True])
    for dt in ("uint8", "int32"):
        for idx in (m, 0, slice(None), [0, 1]):
            for v in (-1.5, 300.7, 3e9, 1e30, onp.nan):
                def f(a):
                    a = a.copy()
                    a[np.array(idx) if isinstance(idx, onp.ndarray) else idx] = v
                    return a
                x = onp.ones(4, dt)
                try:
                    ref = x.copy()
                    ref[idx] = v
                except (ValueError, OverflowError) as e:
                    with pytest.raises(type(e)):
                        run(mode, f, np.array(x, dtype=dt))
                    continue
                same(run(mode, f, np.array(x, dtype=dt)), ref)
    with pytest.raises(ValueError, match="NaN"):
        run(mode, lambda a: _nan_into(a), np.zeros((1, 0), dtype="int32"))


ORDER_CASES = [((1, 0), (onp.array([0, 0]), -1)), ((3,), (onp.array([5]),)),
               ((1, 3), (onp.array([0, 0]), 7)), ((1, 3), (0, onp.array([7]))),
               ((2, 3), (slice(None), onp.array([5]))), ((1, 3), (onp.array([0]), onp.array(5))),
               ((3,), ([5],)), ((3,), (onp.array([0]), 1)),
               ((2, 3), (onp.array([0]), onp.array([True, False]))),
               ((1, 0), (onp.array([0, 0]), onp.array([-1])))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,idx", ORDER_CASES)
@pytest.mark.parametrize("v", [onp.nan, 1e30])
def test_assignment_checks_index_and_value_in_numpys_order(shape, idx, v, mode):
    """NumPy checks integers, 0-d and bool indices and the index's form first, converts
    the value next (NaN: ValueError, 1e30: OverflowError), and checks integer arrays'
    bounds last; MinPy converted the value first whenever any part was an array
    (``z[np.array([0, 0]), -1] = nan`` on a (1, 0) array: ValueError, NumPy IndexError)."""
    ref = onp.zeros(shape, "int32")
    with pytest.raises(Exception) as want:
        ref[idx] = v
    m_idx = tuple(np.array(p) if isinstance(p, onp.ndarray) else p for p in idx)

    def f(a):
        a = a.copy()
        a[m_idx] = v
        return a
    with pytest.raises(want.type):
        run(mode, f, np.zeros(shape, dtype="int32"))


def _nan_into(a):
    a = a.copy()
    a[-1, np.array([-1, -1], dtype="int32")] = onp.nan
    return a


@pytest.mark.parametrize("mode", MODES)
def test_0d_int64_compared_with_an_int32_array_keeps_int64(mode):
    """Only all-scalar comparisons take NumPy's scalar rule: a 0-d int64 of 2**53 + 1
    against an int32 array compares in int64 (it was cast to int32 and wrapped)."""
    a = onp.array(9007199254740993, dtype="int64")
    b = onp.array([[-4, 2]], dtype="int32")
    same(run(mode, lambda x, y: x < y, np.array(a, dtype="int64"), np.array(b, dtype="int32")), a < b)
    same(run(mode, lambda x, y: x > y, np.array(a, dtype="int64"), np.array(b, dtype="int32")), a > b)


@pytest.mark.parametrize("mode", MODES)
def test_numpy_long_long_results_are_int64(mode):
    """NumPy's ``gcd`` of int64 operands can return its long long type (equal to int64,
    a type of its own), which MXNet's dtype table lacked: KeyError under @jit."""
    big = 9007199254740993
    x = onp.array([big, 0, 12], dtype="int64")
    s = onp.array(big, dtype="int64")
    for f, ref in ((lambda a, b: np.gcd(a, b), onp.gcd(x, s)),
                   (lambda a, b: np.lcm(a, 3) + b, onp.lcm(x, 3) + s)):
        same(run(mode, f, np.array(x), np.array(s)), ref)
    got = np.array(onp.array([1, -2], dtype="q"))
    assert got.dtype == onp.int64 and got.dtype.char == onp.dtype("int64").char
    same(got.asnumpy(), onp.array([1, -2], dtype="int64"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_bitwise_ops_of_int8_and_uint8_arrays(name, mode):
    """NumPy's int8 & uint8 is int16 (held in int32 by MinPy); MXNet refused the mixed
    operands ('Incompatible attr ... expected int8, got uint8', from a 30-minute fuzz
    run): the operands are cast to the result's dtype first, as for arithmetic."""
    a = onp.array([-3, 5, 127, -128], dtype="int8")
    b = onp.array([1, 254, 255, 128], dtype="uint8")
    for x, y in ((a, b), (b, a), (a[:1].reshape(()), b), (a, b[2:3].reshape(()))):
        ref = getattr(onp, name)(x, y)
        if x.ndim and y.ndim:
            ref = ref.astype("int32")       # NumPy's int16, held in int32
        else:
            # the kind rule: a 0-d operand takes the other array's dtype
            dt = (x if x.ndim else y).dtype
            ref = getattr(onp, name)(x.astype(dt), y.astype(dt))
        got = run(mode, lambda u, v: getattr(np, name)(u, v), np.array(x), np.array(y))
        same(got, ref)


_I8 = onp.array([[-128, 127, -5], [7, 3, -1]], dtype="int8")
_U8 = onp.array([[255, 200, 3], [128, 1, 0]], dtype="uint8")
_MIXED = {
    "power": lambda xp, a, b: xp.power(a, b % 16),
    "dot": lambda xp, a, b: xp.dot(a, b.T),
    "matmul": lambda xp, a, b: xp.matmul(a.T, b),
    "tensordot": lambda xp, a, b: xp.tensordot(a, b, 2),
    "inner": lambda xp, a, b: xp.inner(a, b),
    "vdot": lambda xp, a, b: xp.vdot(a, b),
    "outer": lambda xp, a, b: xp.outer(a, b),
    "einsum": lambda xp, a, b: xp.einsum("ij,kj->ik", a, b),
    "where": lambda xp, a, b: xp.where(a > 0, a, b),
    "concatenate": lambda xp, a, b: xp.concatenate([a, b]),
    "stack": lambda xp, a, b: xp.stack([a, b]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(_MIXED))
def test_int8_and_uint8_operands_compute_numpys_int16(name, mode):
    """NumPy's int16 result of int8 and uint8 arrays (held in int32 by MinPy): MXNet
    refused the mixed operands of products, where, concatenate and stack (found when the
    fuzzer drew int8/uint8 inputs); products and powers that overflow int16 wrap as
    NumPy's int16 does (the int32 sums did not)."""
    fn = _MIXED[name]
    for a, b in ((_I8, _U8), (_U8, _I8)):
        ref = fn(onp, a, b)
        assert ref.dtype == onp.int16
        got = run(mode, lambda u, v: fn(np, u, v), np.array(a), np.array(b))
        same(got, ref.astype("int32"))



_ERANGE_THEN_INF = """
import minpy
import minpy.numpy as np
with minpy.lazy():
    r = np.ones(3) + 1
r.asnumpy()
inf = float("inf")

@minpy.jit
def f(v0):
    v2 = v0 < 3.25
    v3 = np.mean(v2)
    v4 = v2 < v3
    v10 = np.equal(inf, v0)
    v13 = v10.flatten()
    v15 = np.log10(v4)
    v16 = np.flip(v4, axis=None)
    v24 = v13.copy()
    v24[np.array([False], dtype="bool")] = -1
    return v2, v3, v4, v10, v13, v15, v16, v24
for _ in range(2):
    out = f(np.array(-0.3, dtype="float32"))
    print([o.asnumpy().tolist() for o in out])
"""


def test_inf_scalar_after_a_math_error_on_the_calling_thread():
    """MXNet parses a float attribute with a check of the thread's errno: after a math
    call had left ERANGE behind on the calling thread, ``inf`` was "Out of range value
    for scalar" for an operator run node by node (here: a @jit trace cut by a
    boolean-mask write; from a 30-minute fuzz run). A fresh process, since what ran
    before decides the thread's errno."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-c", _ERANGE_THEN_INF], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    want = [True, 1.0, False, False, [False], float("-inf"), False, [False]]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2 and all(
        eval(line, {"inf": float("inf")}) == want for line in lines), r.stdout



@pytest.mark.parametrize("mode", MODES)
def test_negative_0d_integer_exponent_of_an_unsigned_array_raises(mode):
    """``uint8_array ** int32_0d(-1)``: the kind rule makes the result uint8, but NumPy's
    check of a negative integer exponent comes first. MinPy cast the exponent to uint8
    (255) and returned a wrong power without an error (found by the CI fuzz budget)."""
    a = onp.array([[1, 2], [3, 255]], dtype="uint8")
    for e in (onp.array(-1, dtype="int32"), onp.array(-(2 ** 31), dtype="int32"),
              onp.array(-2, dtype="int8")):
        with pytest.raises(ValueError, match="negative integer powers"):
            run(mode, lambda x, y: x ** y, np.array(a), np.array(e))
    got = run(mode, lambda x, y: x ** y, np.array(a), np.array(onp.array(3, dtype="int32")))
    same(got, a ** onp.uint8(3))


@pytest.mark.parametrize("mode", MODES)
def test_0d_integer_powers_follow_numpys_scalar_rule(mode):
    """Only 0-d operands and Python ints: NumPy's own rule (``int8_0d(6) ** 3`` is int64
    216); beside an n-d array a 0-d exponent counts by kind and is cast to the array's
    dtype once its sign is checked (``int32_array ** int64_0d(2**40)`` is ``a ** 0``)."""
    got = run(mode, lambda x: x ** 3, np.array(onp.array(6, dtype="int8")))
    same(got, onp.array(6, dtype="int8") ** 3)
    a = onp.array([2, 3], dtype="int32")
    got = run(mode, lambda x, y: x ** y, np.array(a), np.array(onp.array(2 ** 40)))
    same(got, a ** onp.int32(0))
