"""Elementwise and reduction results against NumPy on the inputs that break kernels:
every dtype MinPy holds, special values (0, -0.0, NaN, +-inf, integers beyond 2**53,
INT_MIN/INT_MAX), 0-d, zero-size and broadcast shapes, in eager, lazy and @jit mode
(issue 12). Integers must match exactly, floats to float32/float64 precision with NaN
in the same places, dtypes under MinPy's float32 demotion rule, and where NumPy
raises, MinPy raises the same exception class. The sign of a zero result is not
compared (docs/differences.md)."""
import itertools
import warnings

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from mode_runner import MODES, run_in_mode as run

I32, I64 = onp.iinfo(onp.int32), onp.iinfo(onp.int64)
VALUES = {
    "bool": [False, True],
    "int32": [0, 1, -1, 7, -7, 3, I32.max, I32.min, 46341],
    "int64": [0, 1, -1, 7, -7, 3, 2 ** 53 + 1, I64.max, I64.min, 10 ** 17 + 3],
    "float32": [0.0, -0.0, 1.5, -2.5, 0.5, -0.5, 3.0, onp.nan, onp.inf, -onp.inf, 1e30],
    "float64": [0.0, -0.0, 1.5, -2.5, 0.5, -0.5, 3.0, onp.nan, onp.inf, -onp.inf, 1e300],
    "float16": [0.0, -0.0, 1.5, -2.5, 0.5, -0.5, 3.0, onp.nan, onp.inf, -onp.inf, 65504.0],
    "uint8": [0, 1, 255, 7, 3, 128],
}
# dtypes MXNet has no arrays of, and what MinPy gives instead (docs/differences.md)
HELD = {onp.dtype("uint16"): onp.dtype("int32"), onp.dtype("uint32"): onp.dtype("int64"),
        onp.dtype("uint64"): onp.dtype("int64"), onp.dtype("int16"): onp.dtype("int32")}
COMPARISONS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}
DTYPES = list(VALUES)

UNARY = ["exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "cbrt", "square", "absolute",
         "fabs", "negative", "positive", "reciprocal", "sin", "cos", "tan", "arcsin", "arccos",
         "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg",
         "radians", "degrees", "sign", "floor", "ceil", "rint", "trunc", "fix", "round", "around",
         "isnan", "isinf", "isfinite", "logical_not", "isposinf", "isneginf", "signbit", "invert",
         "sinc", "exp2", "nan_to_num", "clip"]
UNARY_EXTRA = {"round": [(), (-1,), (1,)], "around": [(), (-1,)],
               "clip": [(-1, 2), (0.5, 1.5), (None, 2), (3, 2)]}
# documented differences (docs/differences.md): a Python int takes an integer array's
# dtype (NumPy widens uint8 clipped at -1 to int16); float16 rounding computes in float32
# (NumPy's float16 65504 * 10 overflows)
KNOWN = {("clip", (-1, 2), "uint8"), ("round", (1,), "float16"), ("round", (-1,), "float16"),
         ("around", (-1,), "float16")}
BINARY = ["add", "subtract", "multiply", "true_divide", "divide", "power", "maximum", "minimum",
          "arctan2", "hypot", "mod", "remainder", "fmod", "floor_divide", "copysign", "logaddexp",
          "logaddexp2", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
          "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor"]
SCALARS = (2, -1, 0, 2.5, -0.0, True)
REDUCTIONS = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "all",
              "any", "var", "std", "cumsum", "cumprod", "ptp"]
NO_KEEPDIMS = {"argmax", "argmin", "cumsum", "cumprod"}


def _builtin_base(cls):
    return next(c for c in cls.__mro__ if c.__module__ == "builtins")


def expected_dtype(ref, inputs, kw):
    f64 = any(getattr(a, "dtype", None) == onp.float64 for a in inputs) or \
        kw.get("dtype") == "float64"
    dt = onp.dtype("float32") if ref.dtype == onp.float64 and not f64 else ref.dtype
    return HELD.get(dt, dt)


def check(mode, np_fn, mp_fn, inputs, kw=None, what=""):
    """Compare ``mp_fn`` on MinPy copies of ``inputs`` with ``np_fn`` on the inputs.
    Returns a description of the mismatch, or None."""
    kw = kw or {}
    with onp.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ref, ref_exc = onp.asarray(np_fn(*inputs)), None
        except Exception as e:      # noqa: BLE001 - any NumPy error class is compared
            ref, ref_exc = None, e
    desc = f"{what} {[(a.dtype.name, a.shape) for a in inputs]} {kw} ({mode})"
    args = [np.array(a, dtype=a.dtype) for a in inputs]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = run(mode, mp_fn, *args)
            value = got.asnumpy()
        exc = None
    except Exception as e:      # noqa: BLE001
        exc = e
    if ref_exc is not None:
        if exc is None:
            return f"{desc}: NumPy raises {type(ref_exc).__name__}: {ref_exc}; MinPy does not"
        if not isinstance(exc, _builtin_base(type(ref_exc))):
            return f"{desc}: NumPy raises {type(ref_exc).__name__}, MinPy {type(exc).__name__}: {exc}"
        return None
    if exc is not None:
        return f"{desc}: MinPy raises {type(exc).__name__}: {str(exc)[:300]}"
    want_dt = expected_dtype(ref, inputs, kw)
    if onp.dtype(got.dtype) != want_dt:
        return f"{desc}: dtype {got.dtype}, NumPy (demoted) {want_dt}"
    if tuple(got.shape) != ref.shape or value.shape != ref.shape:
        return f"{desc}: shape {got.shape} holding {value.shape}, NumPy {ref.shape}"
    want = ref.astype(want_dt)
    if want_dt.kind in "biu":
        bad = want != value
    else:
        rtol = {onp.dtype("float16"): 1e-3, onp.dtype("float32"): 2e-5}.get(want_dt, 1e-12)
        with onp.errstate(all="ignore"):
            close = onp.isclose(value, want, rtol=rtol, atol=0, equal_nan=True)
        bad = ~close | (onp.isnan(value) != onp.isnan(want))
    if onp.any(bad):
        i = tuple(onp.argwhere(onp.atleast_1d(bad))[0])[:want.ndim]
        return f"{desc}: at {i} MinPy {value[i]!r}, NumPy {want[i]!r}"
    return None


def assert_clean(failures):
    failures = [f for f in failures if f]
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:25])


def arr(dt, values=None):
    return onp.array(VALUES[dt] if values is None else values, dtype=dt)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", UNARY)
def test_unary_against_numpy(name, mode):
    fails = []
    for dt in DTYPES:
        for extra in UNARY_EXTRA.get(name, [()]):
            if (name, extra, dt) in KNOWN:
                continue
            f_np = lambda x, e=extra: getattr(onp, name)(x, *e)   # noqa: E731
            f_mp = lambda x, e=extra: getattr(np, name)(x, *e)    # noqa: E731
            for x in (arr(dt), onp.array(VALUES[dt][-2], dtype=dt), onp.zeros((0, 3), dt)):
                fails.append(check(mode, f_np, f_mp, [x], what=f"{name}{extra}"))
    assert_clean(fails)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", BINARY)
def test_binary_against_numpy(name, mode):
    fails = []
    f_np, f_mp = getattr(onp, name), getattr(np, name)
    for d1, d2 in itertools.product(DTYPES, DTYPES):
        x, y = arr(d1).reshape(-1, 1), arr(d2).reshape(1, -1)     # every pair of values
        fails.append(check(mode, f_np, f_mp, [x, y], what=name))
        fails.append(check(mode, f_np, f_mp, [onp.zeros((0, 1), d1), onp.zeros(3, d2)],
                           what=name))
        fails.append(check(mode, f_np, f_mp, [onp.array(VALUES[d1][-1], d1),
                                              onp.array(VALUES[d2][1], d2)], what=name))
    for dt in DTYPES:
        for s in SCALARS:
            # a Python int takes an integer array's dtype (NumPy 1.x widens uint8 - 1 to
            # int16); comparisons compare the values as NumPy does
            t = s
            if type(s) is int and onp.dtype(dt).kind in "iu" and \
                    name not in COMPARISONS:
                with onp.errstate(all="ignore"):
                    if f_np(onp.zeros(1, dt), 0).dtype.kind in "iu":
                        t = onp.array(s).astype(dt)[()]
            # an integer to a negative power raises, as in NumPy
            tr = s if name == "power" and type(s) is int and s < 0 else t
            fails.append(check(mode, lambda x, s=s, t=tr: f_np(x, t), lambda x, s=s: f_mp(x, s),
                               [arr(dt)], what=f"{name}(x, {s!r})"))
            fails.append(check(mode, lambda x, s=s, t=t: f_np(t, x), lambda x, s=s: f_mp(s, x),
                               [arr(dt)], what=f"{name}({s!r}, x)"))
    assert_clean(fails)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_against_numpy(name, mode):
    fails = []
    for dt in DTYPES:
        v = VALUES[dt]
        for x in (onp.array(v, dt).reshape(1, -1), onp.array(v, dt), onp.array(v[1], dt),
                  onp.zeros((0, 3), dt), onp.zeros((3, 0), dt), onp.zeros((0, 0), dt),
                  onp.zeros((0,), dt), onp.full((2, 3), v[-1], dt),
                  onp.array([a for a in v if a == a and a != -onp.inf], dt)):   # +inf, no NaN
            for axis in (None, 0, -1):
                if x.ndim == 0 and axis is not None:
                    continue
                kws = [{}] if name in NO_KEEPDIMS else [{}, {"keepdims": True}]
                if name in ("sum", "prod", "mean"):
                    kws += [{"dtype": "float64"}, {"dtype": "int64"}]
                for kw in kws:
                    fails.append(check(
                        mode, lambda a, ax=axis, k=kw: getattr(onp, name)(a, axis=ax, **k),
                        lambda a, ax=axis, k=kw: getattr(np, name)(a, axis=ax, **k), [x], kw,
                        what=f"{name}(axis={axis})"))
    assert_clean(fails)


# ----------------------------------------------------------------------------- issue 12 reproducers

@pytest.mark.parametrize("mode", MODES)
def test_where_zero_size_broadcast_does_not_abort(mode):
    """#1: MXNet's where aborted the process on a (0, 3) condition with a (3,) operand."""
    r = run(mode, lambda c, x, y: np.where(c, x, y), np.zeros((0, 3)), np.zeros((0, 3)),
            np.zeros(3))
    assert r.shape == (0, 3) and r.asnumpy().shape == (0, 3)


def test_where_zero_size_with_float_scalar_under_jit():
    """#1 under @jit: a float scalar argument becomes a 0-d array operand."""
    f = minpy.jit(lambda c, x, s: np.where(c, x, s))
    for _ in range(2):
        r = f(np.zeros((0, 3)), np.zeros((0, 3)), 2.0)
        assert r.shape == (0, 3) and r.asnumpy().shape == (0, 3)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shapes", [((0, 5), (0, 5), (5,)), ((0, 5), (0, 1), (5,)),
                                    ((1, 5), (0, 5), (5,)), ((0, 1), (5,), (3, 0, 1))])
def test_where_zero_size_shapes(shapes, mode):
    """#5: where with a (0, 5) operand: .shape and the data agree with NumPy."""
    ops = [onp.zeros(s) for s in shapes]
    want = onp.where(*ops)
    r = run(mode, lambda c, x, y: np.where(c, x, y), *[np.array(o) for o in ops])
    assert r.shape == want.shape and r.asnumpy().shape == want.shape


@pytest.mark.parametrize("mode", MODES)
def test_empty_mean_does_not_poison_later_arrays(mode):
    """#3: MXNet's failed reduction over an empty axis wrote into memory a later,
    unrelated sum read (-4.2e15)."""
    m = run(mode, lambda x: np.mean(x, axis=0, keepdims=True), np.zeros((0, 0)))
    assert m.shape == (1, 0) and m.asnumpy().shape == (1, 0)
    for _ in range(3):
        assert float(np.sum(np.ones((3, 4)))) == 12.0
        assert float(run(mode, lambda x: np.sum(x), np.ones((7, 5)))) == 35.0


@pytest.mark.parametrize("mode", MODES)
def test_empty_reductions_follow_numpy(mode):
    """sum of nothing is 0, prod 1, mean NaN (with NumPy's warning), max/argmax raise."""
    e = np.zeros((0, 3))
    assert run(mode, lambda x: np.sum(x, axis=0), e).tolist() == [0.0, 0.0, 0.0]
    assert run(mode, lambda x: np.prod(x, axis=0), e).tolist() == [1.0, 1.0, 1.0]
    assert float(run(mode, lambda x: np.sum(x), e)) == 0.0
    with pytest.warns(RuntimeWarning):
        m = run(mode, lambda x: np.mean(x, axis=0), e)
        assert onp.isnan(m.asnumpy()).all()
    assert run(mode, lambda x: np.all(x, axis=0), e).tolist() == [True] * 3
    assert run(mode, lambda x: np.any(x, axis=0), e).tolist() == [False] * 3
    for f in (np.max, np.min, np.argmax, np.argmin):
        with pytest.raises(ValueError):
            run(mode, lambda x, f=f: f(x, axis=0), e).asnumpy()


def test_zero_size_results_skip_mxnet():
    """Every operator with a zero-size result gives zeros of the inferred shape and
    dtype (MXNet is not called: its kernels abort on some of these)."""
    e = np.zeros((0, 4), dtype="int32")
    for r, shape, dt in ((np.exp(e), (0, 4), "float32"), (e + e, (0, 4), "int32"),
                         (np.sum(e, axis=1), (0,), "int64"), (np.cumsum(e, axis=0), (0, 4), "int64"),
                         (np.matmul(np.ones((0, 3)), np.ones((3, 2))), (0, 2), "float32"),
                         (np.where(np.zeros((0, 1), dtype=bool), e, 1.5), (0, 4), "float32")):
        assert r.shape == shape and r.dtype == onp.dtype(dt) and r.asnumpy().shape == shape


def test_empty_inner_dimension_product_is_zeros():
    r = np.matmul(np.ones((2, 0)), np.ones((0, 3)))
    assert r.shape == (2, 3) and r.tolist() == [[0.0] * 3] * 2


@pytest.mark.parametrize("mode", MODES)
def test_clip_float64_keeps_its_bounds(mode):
    """#8: MXNet's clip rounded float64 bounds to float32."""
    x = onp.array([0.1, 0.7, 0.3])
    lo, hi = 0.1000000001, 0.6999999999
    r = run(mode, lambda a: np.clip(a, lo, hi), np.array(x, dtype="float64"))
    assert r.asnumpy().tolist() == onp.clip(x, lo, hi).tolist()


def test_clip_bounds_may_be_arrays_and_jit_scalars():
    x = onp.array([1.0, 5.0, -3.0])
    lo = onp.array([2.0, 0.0, -1.0])
    assert np.clip(np.array(x), np.array(lo), 4.0).tolist() == onp.clip(x, lo, 4.0).tolist()
    f = minpy.jit(lambda a, m: np.clip(a, m, 4.0))
    for _ in range(2):
        assert f(np.array(x), 0.5).tolist() == onp.clip(x, 0.5, 4.0).tolist()
    assert np.clip(np.array(x), 3, 2).tolist() == onp.clip(x, 3, 2).tolist()
    with pytest.raises(ValueError):
        np.clip(np.array(x), None, None)


def test_clip_gradients_reach_array_bounds():
    x = onp.array([1.0, 5.0, -3.0, 0.5])
    lo = onp.array([2.0, 0.0, -1.0, 0.0])

    def loss(a, b):
        return np.sum(np.clip(a, b, 4.0) * np.array([1.0, 2.0, 3.0, 4.0]))
    ga, gb = minpy.grad(loss, argnum=(0, 1))(np.array(x), np.array(lo))
    assert ga.tolist() == [0.0, 0.0, 0.0, 4.0]
    assert gb.tolist() == [1.0, 0.0, 3.0, 0.0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", [
    ("round", lambda m: m.round(m.array([-9, 15, 25, -25, 5, 14]), -1)),
    ("round-int-decimals", lambda m: m.round(m.array([-9, 15], dtype="int32"), 2)),
    ("abs-int64", lambda m: m.abs(m.array([2 ** 53 + 1, -(2 ** 53) - 3, I64.max, I64.min],
                                          dtype="int64"))),
    ("square-int32", lambda m: m.square(m.array([I32.max, 46341, -7], dtype="int32"))),
    ("square-int64", lambda m: m.square(m.array([2 ** 53 + 1, 3 * 10 ** 9], dtype="int64"))),
    ("linspace-int64", lambda m: m.linspace(-3.5, 3.5, 8, dtype="int64")),
    ("linspace-int32", lambda m: m.linspace(0, 1, 5, dtype="int32")),
    ("sign-nan", lambda m: m.sign(m.array([m.nan, -0.0, 2.0, -m.inf]))),
    ("mod-zero", lambda m: m.mod(m.array([3.0, -3.0, 0.0]), 0.0)),
    ("mod-zero-array", lambda m: m.mod(m.array([3.0, -3.0]), m.array([0.0, 2.0]))),
    ("mod-signs", lambda m: m.mod(m.array([-7, 7, -7, 7]), m.array([2, -2, -2, 2]))),
    ("remainder-float-signs", lambda m: m.remainder(m.array([-3.5, 3.5]), -2.0)),
    ("fmod-signs", lambda m: m.fmod(m.array([-3.5, 3.5]), 2.0)),
    ("int-mod-zero", lambda m: m.mod(m.array([3, -3, 0]), 0)),
    ("int-floordiv-zero", lambda m: m.floor_divide(m.array([3, -3]), m.array([0, 0]))),
    ("int-floordiv-min", lambda m: m.floor_divide(m.array([I64.min], dtype="int64"), -1)),
    ("int64-mod-exact", lambda m: m.mod(m.array([2 ** 53 + 1], dtype="int64"), 7)),
    ("int64-floordiv-exact", lambda m: m.array([I64.max], dtype="int64") // 2),
    ("int-power", lambda m: m.power(m.array([3, -3, 2], dtype="int64"), 39)),
    ("int-power-array", lambda m: m.array([3, -3, 2, 0], dtype="int64") **
        m.array([39, 41, 64, 0], dtype="int64")),
    ("int32-wrap", lambda m: m.array([I32.max], dtype="int32") + m.array([1], dtype="int32")),
    ("int64-wrap", lambda m: m.array([I64.max], dtype="int64") * 3),
    ("int32-scalar-left", lambda m: m.add(2, m.array([I32.max], dtype="int32"))),
    ("cumsum-int32", lambda m: m.cumsum(m.array([I32.max, I32.max], dtype="int32"))),
    ("sum-int32", lambda m: m.sum(m.array([I32.max, I32.max], dtype="int32"))),
    ("arange-int64", lambda m: m.arange(2 ** 53, 2 ** 53 + 3)),
    ("sin-int32", lambda m: m.sin(m.array([I32.max, 2 ** 25 + 1], dtype="int32"))),
    ("compare-int64-float", lambda m: m.array([2 ** 24 + 1], dtype="int32") > 16777216.0),
    ("copysign-neg-zero", lambda m: m.copysign(m.array([1.0, 2.0]), m.array([-0.0, 0.0]))),
    ("floordiv-inf", lambda m: m.floor_divide(m.array([1.0, -1.0, 0.0]), -m.inf)),
])
def test_numerics_match_numpy(case, mode):
    """#8: each of these differed from NumPy."""
    name, fn = case
    with onp.errstate(all="ignore"):
        want = onp.asarray(fn(onp))
    got = run(mode, lambda: fn(np))
    want_dt = onp.dtype("float32") if want.dtype == onp.float64 and got.dtype != onp.float64 \
        else want.dtype
    assert got.dtype == want_dt, name
    assert got.shape == want.shape, name
    assert onp.array_equal(got.asnumpy(), want.astype(want_dt), equal_nan=True), \
        f"{name}: {got.asnumpy()} vs {want}"


@pytest.mark.parametrize("mode", ["eager", "lazy"])
def test_integer_negative_power_raises(mode):
    """#8: NumPy refuses integers to negative integer powers."""
    for fn in (lambda: np.power(np.array([2, 3]), -1),
               lambda: np.array([2, 3]) ** np.array([1, -1]),
               lambda: np.array([True, False]) ** np.array([1, -1], dtype="int32")):
        with pytest.raises(ValueError, match="negative integer powers"):
            run(mode, fn).asnumpy()
    assert np.power(np.array([2.0]), -1).tolist() == [0.5]


@pytest.mark.parametrize("mode", MODES)
def test_bool_operands_compute_what_numpy_computes(mode):
    """#8: bool operands reached MXNet kernels with no bool version ("Unknown type
    enum 7") or gave float16 values MXNet computed in float16."""
    b = onp.array([True, False])
    cases = {
        "square": lambda m, x: m.square(x), "reciprocal": lambda m, x: m.reciprocal(x),
        "abs": lambda m, x: m.abs(x), "rint": lambda m, x: m.rint(x),
        "round": lambda m, x: m.round(x), "exp": lambda m, x: m.exp(x),
        "sqrt": lambda m, x: m.sqrt(x), "add": lambda m, x: x + x,
        "mul": lambda m, x: x * x, "mod": lambda m, x: m.mod(x, x),
        "floordiv": lambda m, x: m.floor_divide(x, x), "pow": lambda m, x: x ** x,
        "sum": lambda m, x: m.sum(x), "mean": lambda m, x: m.mean(x),
        "prod": lambda m, x: m.prod(x), "cumsum": lambda m, x: m.cumsum(x),
        "max": lambda m, x: m.max(x), "argmax": lambda m, x: m.argmax(x),
        "var": lambda m, x: m.var(x), "true_divide": lambda m, x: x / (x | True),
    }
    fails = [check(mode, lambda x, f=f: f(onp, x), lambda x, f=f: f(np, x), [b], what=n)
             for n, f in cases.items()]
    assert_clean(fails)
    for bad in (lambda m, x: x - x, lambda m, x: -x, lambda m, x: m.sign(x),
                lambda m, x: m.positive(x)):
        with pytest.raises(TypeError):
            run(mode, lambda x: bad(np, x), np.array(b)).asnumpy()


def test_numpy_type_errors_keep_their_class():
    """NumPy's UFuncTypeError needs extra constructor arguments: MinPy's renamed error
    is still a TypeError naming the function."""
    with pytest.raises(TypeError, match="minpy.numpy.sign"):
        np.sign(np.array([True]))


def test_python_int_scalar_takes_the_array_dtype_whatever_its_value():
    """Inference is cached per scalar type, so the value must not change the dtype
    (int8 + 1000 was int16 or int8 depending on the first call)."""
    a = np.array([1, 2], dtype="int8")
    assert (a + 1000).dtype == onp.int8 and (a + 1).dtype == onp.int8
    assert (a + 1000).tolist() == onp.array([1, 2], dtype="int8").__add__(
        onp.int8(1000 - 1024)).tolist()


def test_uint8_sum_is_held_as_int64():
    """NumPy sums uint8 in uint64, a dtype MXNet has no arrays of."""
    x = np.array(onp.array([200, 100, 255], dtype="uint8"))
    assert np.sum(x).dtype == onp.int64 and int(np.sum(x)) == 555
    assert np.cumsum(x).tolist() == [200, 300, 555]


def test_float32_paths_do_not_cast():
    """The ordinary float32 path keeps its plain lowerings (no casts, no checks)."""
    from minpy.dispatch import call
    from minpy.dispatch.registry import REGISTRY
    x = np.ones((2, 2))
    for name in ("add", "multiply", "exp", "absolute", "square", "power"):
        args = (x, x) if REGISTRY[name].nin == 2 else (x,)
        info = call.infer(REGISTRY[name], args, REGISTRY[name].defaults)
        assert info.casts is None and info.lower is not REGISTRY[name].mx, name


@pytest.mark.parametrize("axis", [None, 0, -1])
def test_cumsum_of_a_0d_array(axis):
    """NumPy treats a 0-d array as its 1-element ravel for any valid axis."""
    from minpy.core import grad
    want = onp.cumsum(onp.array(-3, dtype="int32"), axis=axis)
    for lazy in (False, True):
        with minpy.lazy(lazy):
            got = np.cumsum(np.array(-3, dtype="int32"), axis=axis)
            assert got.shape == want.shape and got.dtype == want.dtype
            onp.testing.assert_array_equal(got.asnumpy(), want)
            g = grad(lambda x: np.sum(np.cumsum(x, axis=axis) * 2.0))(np.array(1.5))
            assert g.shape == () and float(g) == 2.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bounds", [(float("nan"), 3.0), (1.0, float("nan")),
                                    (onp.float32("nan"), None), (None, onp.float64("nan"))])
def test_clip_reads_a_nan_number_bound_as_no_bound(mode, bounds):
    """NumPy 1.x's deprecated rule (with its DeprecationWarning): a NaN given as a number
    means no clipping on that side; MinPy gave NaN everywhere."""
    host = onp.array([-2.0, 0.5, 2.0, 7.0, onp.nan], dtype="float32")
    with pytest.warns(DeprecationWarning, match="Passing `np.nan` to mean no clipping"):
        want = onp.clip(host, *bounds)
    with pytest.warns(DeprecationWarning, match="Passing `np.nan` to mean no clipping"):
        got = run(mode, lambda x: np.clip(x, *bounds), np.array(host))
    assert got.dtype == want.dtype
    onp.testing.assert_array_equal(got, want)
