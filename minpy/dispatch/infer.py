"""Shape and dtype inference: what a call returns, as NumPy would give it, and the
casts that make MXNet compute in NumPy's dtype. Cached per (op, attrs, operand
signature), so the eager and lazy hot paths pay one dict lookup."""
from __future__ import annotations

import math as _math
import warnings as _warnings

import numpy as _onp

from ..config import config as _config
from .registry import Op

Array = None            # minpy.array.Array, bound when that module loads (as in call.py)
_F64 = _onp.dtype("float64")
_F32 = _onp.dtype("float32")
_F16 = _onp.dtype("float16")


def demote(dt: _onp.dtype, inputs_f64: bool) -> _onp.dtype:
    """float64 appears only where the user asked for it (a float64 input or dtype)."""
    if dt == _F64 and not inputs_f64:
        return _config.default_dtype
    return dt


_shape_cache: dict = {}


# Python scalars are inferred from one value per type, so the cached facts hold for
# every value: a Python int takes the array's dtype (NumPy 1.x would widen int8 + 1000
# to int16, a dtype MXNet has no arrays of), as documented in docs/differences.md
_SCALAR_DUMMY = {int: 0, float: 0.0, bool: False}


def _dummy(o):
    if isinstance(o, Array):
        return _onp.broadcast_to(_onp.zeros((), o._dtype), o._shape)
    return _SCALAR_DUMMY.get(type(o), o)


# integer dtypes MXNet has no arrays of, and the dtype a result NumPy gives in one
# becomes (the sum of a uint8 image is uint64 in NumPy, int64 here)
_HOLDABLE = {_onp.dtype(k): _onp.dtype(v) for k, v in
             (("uint16", "int32"), ("uint32", "int64"), ("uint64", "int64"), ("int16", "int32"))}


def _rename(op: Op, e: Exception) -> Exception:
    msg = f"minpy.numpy.{op.name}: {e}"
    if isinstance(e, _onp.AxisError):
        return _onp.AxisError(msg)
    for cls in type(e).__mro__:
        # NumPy's UFuncTypeError and friends need extra constructor arguments: use the
        # first base class that takes a message (TypeError), so ``except TypeError`` works
        try:
            return cls(msg)
        except Exception:
            continue
    return ValueError(msg)


class Inferred:
    """Cached facts about one (op, attrs, operand signature): output shapes and
    dtypes, the attrs as keyword arguments, and whether MXNet's own output
    dtype was seen to match (so the eager path can skip checking)."""

    __slots__ = ("shapes", "dtypes", "kw", "verified", "casts", "empty", "eager", "lower",
                 "cast_info")

    def __init__(self, shapes, dtypes, kw, operands=()) -> None:
        self.shapes = shapes
        self.dtypes = dtypes
        self.kw = kw
        self.verified = False
        self.casts = None     # per operand: the dtype to cast it to first, or None
        # a zero-size operand or result: MXNet's kernels and graphs fail, or abort the
        # process, on these, so such calls never reach MXNet (see _run_zero_size)
        self.empty = any(0 in s for s in shapes) or \
            any(type(o) is Array and 0 in o._shape for o in operands)
        self.eager = False    # set when this signature could not be lowered into a graph
        self.lower = None     # the eager lowering to call (op.mx, or its plain form)
        self.cast_info = None     # the facts for the operands after ``casts``

    def __iter__(self):
        return iter((self.shapes, self.dtypes))

    def __getitem__(self, i):
        return (self.shapes, self.dtypes)[i]


def infer(op: Op, operands: tuple, attrs: tuple) -> Inferred:
    """Output shapes and dtypes as NumPy would give them (cached per signature)."""
    n = len(operands)
    if n == 2:      # the common signatures, spelled out (the same key as the general form)
        a, b = operands
        key = (op, attrs, (a._shape, a._dtype) if type(a) is Array else type(a),
               (b._shape, b._dtype) if type(b) is Array else type(b))
    elif n == 1 and type(operands[0]) is Array:
        a = operands[0]
        key = (op, attrs, (a._shape, a._dtype))
    else:
        key = (op, attrs, *[(o._shape, o._dtype) if type(o) is Array else type(o)
                            for o in operands])
    hit = _shape_cache.get(key)
    if hit is not None:
        return hit
    kw = dict(attrs)
    # a shape rule may decline (None): NumPy's function on dummies answers then, which
    # costs the whole computation (a product's rule saves a GEMM on zeros per signature)
    res = op.shape(operands, kw) if op.shape is not None else None
    if res is None:
        with _onp.errstate(all="ignore"), _warnings.catch_warnings():
            _warnings.simplefilter("ignore")     # warnings belong to the values, not dummies
            try:
                r = op.np(*[_dummy(o) for o in operands], **kw)
            except Exception as e:
                raise _rename(op, e) from None
        rs = r if op.multi else (r,)
        shapes = tuple(_onp.shape(x) for x in rs)
        dtypes = tuple(_onp.result_type(x) if not isinstance(x, _onp.ndarray) else x.dtype for x in rs)
        res = (shapes, dtypes)
    f64 = any(isinstance(o, Array) and o._dtype == _F64 for o in operands) or \
        kw.get("dtype") == "float64"
    dts = tuple(demote(_onp.dtype(d), f64) for d in res[1])
    entry = Inferred(tuple(tuple(int(d) for d in s) for s in res[0]),
                     tuple(_HOLDABLE.get(d, d) for d in dts), kw, operands)
    if op.promote:
        entry.casts = _promotion(operands, _onp.dtype(res[1][0]), entry.dtypes[0],
                                 getattr(op.mx, "half", False), getattr(op.mx, "stepped", False),
                                 getattr(op.mx, "narrow", False))
    entry.lower = mx = op.mx
    plain = getattr(mx, "plain", None)
    if plain is not None and op.promote and entry.casts is None and \
            not any(isinstance(o, Array) and o._dtype.kind == "b" for o in operands):
        entry.lower = plain
    elif entry.casts is None and all(o._dtype.kind == "f" for o in operands if type(o) is Array):
        # a lowering's fast form for float operands, where its dtype checks are moot
        entry.lower = getattr(mx, "float_plain", mx)
    check = getattr(mx, "eager_when", None)
    if check is not None and check(operands, entry.dtypes):
        entry.eager = True      # the lowering checks values (NumPy raises on some)
    check = getattr(mx, "host_when", None)
    if _too_wide(entry.shapes, operands, getattr(mx, "widest", None), kw):
        # MXNet's broadcasting kernels stop at 5 dimensions and its shapes at 6 (an abort,
        # or an error NumPy does not raise): such calls run NumPy's implementation
        entry.empty = True
    elif check is not None and check(operands):
        # MXNet cannot compute this signature (the sign bit of a NaN): it takes the path
        # of zero-size calls, NumPy's implementation on host copies, never a graph
        entry.empty = True
    if len(_shape_cache) > 100000:
        _shape_cache.clear()
    _shape_cache[key] = entry
    return entry


MX_MAX_NDIM = 5      # the widest array every MXNet kernel handles


def _too_wide(shapes, operands, widest, kw) -> bool:
    """Whether a result, an operand or (``widest``: the lowering's own rule) an array the
    lowering makes on the way has more dimensions than MXNet handles."""
    nd = max((len(s) for s in shapes), default=0)
    for o in operands:
        if type(o) is Array and len(o._shape) > nd:
            nd = len(o._shape)
    if widest is not None and nd <= MX_MAX_NDIM:
        nd = max(nd, widest(operands, kw))
    return nd > MX_MAX_NDIM


_WIDE_INTS = frozenset("iIlLqQ")     # integer types float32 cannot hold exactly


def _promotion(operands, numpy_out: _onp.dtype, out: _onp.dtype, half: bool = False,
               stepped: bool = False, narrow: bool = False):
    """Casts that make MXNet compute in the dtype NumPy computes in (or an exact
    equivalent: float16 results are computed in float32 and rounded, as NumPy does).

    ``numpy_out`` is NumPy's result dtype, ``out`` MinPy's (float64 demoted). A
    float result is computed in its own dtype, except that a demoted result of
    32/64-bit integer operands is computed in float64 and then rounded once
    (``sin`` of an int32 near 2**31, ``int64 / 3``): the integers would lose digits
    in float32 first. An integer result is computed in its dtype (``square`` of
    bool is int8 in NumPy; ``int32 + int64`` adds in int64); a bool result
    (comparisons) in NumPy's common operand dtype, undemoted (``int64 == 0.5``
    compares in float64; so does a 0-d float32 array with a Python float).

    ``stepped``: the lowering's result jumps with the operands' last bits (``//``,
    ``%``); there a demoted result of only 0-d arrays and Python numbers is computed in
    float64 as NumPy's scalar rule does (``float32(-0.61) // 0.001`` is -611, in
    float32 -610). Continuous ops keep float32: their difference is a rounding, and a
    cast in a training graph would keep MXNet's native backward pass from being taken.

    ``narrow``: the lowering computes an integer result of a dtype MXNet lacks itself
    (``int8_array ** uint8_array`` is int16, held in int32, and wraps as int16): its
    operands reach it uncast."""
    kind = out.kind
    if kind == "f":
        target = out
        if numpy_out != out and (
                any(type(o) is Array and o._dtype.char in _WIDE_INTS for o in operands) or
                stepped and all(not o._shape for o in operands if type(o) is Array)):
            target = numpy_out
        elif out == _F16 and not half:
            # NumPy's float16 loops compute in float32 and round (``half``: the lowering
            # rounds its float16 steps itself)
            target = _F32
    elif kind in "iu":
        if narrow and numpy_out != out:
            return None
        target = out
    else:
        try:
            # a 0-d array is a scalar to NumPy: with only scalars a Python float is
            # float64 (``float32(0.1) == 0.1`` is False, compared in float64)
            scalars = all(not o._shape for o in operands if isinstance(o, Array))
            target = _onp.result_type(*[(_onp.zeros((), o._dtype) if scalars else o._dtype)
                                        if isinstance(o, Array) else
                                        _SCALAR_DUMMY.get(type(o), o) for o in operands])
        except TypeError:
            return None
    casts = tuple(target if isinstance(o, Array) and o._dtype != target else None
                  for o in operands)
    if target == _F32 and out == _F16:
        # NumPy's float16 loop takes its operands as float16 first: an int64 of 2**63
        # is inf there (float32 would hold it), a 0-d float32 or a Python float 0.1 is
        # 0.0999755859375; the lowering widens float16 to float32. A Python float's
        # entry is rounded by the caller (``round_scalar``). A Python int keeps its
        # value (NumPy widens the result for one float16 cannot hold: 2049 + 1 is 2050,
        # which MinPy's float16 result holds).
        casts = tuple(_F16 if (o._dtype != _F16 and o._dtype.itemsize > 1
                               if isinstance(o, Array) else type(o) is float)
                      else c for c, o in zip(casts, operands))
    return casts if any(c is not None for c in casts) else None


def round_scalar(value: float, dtype: _onp.dtype) -> float:
    """A Python float as NumPy's loop of ``dtype`` takes it: rounded to float16 where
    float16 holds its magnitude (beyond, NumPy widens the result: ``0 * 1e5`` is 0,
    not ``0 * inf``)."""
    with _onp.errstate(over="ignore"):
        r = float(dtype.type(value))
    return r if _math.isfinite(r) or not _math.isfinite(value) else value


def _after_casts(op: Op, operands: tuple, attrs: tuple, outer: Inferred) -> Inferred:
    """The facts for a call whose operands were cast to its computation dtype. The
    result keeps the dtype inferred before the casts (a float64 computation for int64
    operands still gives the demoted float32), so MXNet's result is cast to it."""
    inner = infer(op, operands, attrs)
    if inner.dtypes != outer.dtypes:
        fixed = Inferred(inner.shapes, outer.dtypes, inner.kw, operands)
        fixed.lower = inner.lower
        fixed.empty, fixed.eager = inner.empty, inner.eager    # the host path stays taken
        inner = fixed
    outer.cast_info = inner
    return inner
