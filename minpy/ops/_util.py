"""Helpers shared by operator definitions (gradients are MinPy calls)."""
from __future__ import annotations

import threading as _threading

import mxnet as _mx
import numpy as _onp

from ..dispatch import call as _call
from ..dispatch.registry import REGISTRY


def c(name: str, *args, **kwargs):
    """Call a registered function by name (recorded like any user call)."""
    return _call.call(REGISTRY[name], args, kwargs)


def unbroadcast(g, x):
    """Sum ``g`` down to the shape of operand ``x`` (undoing broadcasting)."""
    shape = x.shape if hasattr(x, "shape") else ()
    if g.shape != shape:
        lead = g.ndim - len(shape)
        inner = tuple(i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
        if not inner:
            # only leading axes were broadcast: one reduction gives the shape
            g = c("sum", g, tuple(range(lead)))
        else:
            g = c("sum", g, tuple(range(lead)) + inner, keepdims=True)
            g = c("reshape", g, shape)
    dt = getattr(x, "dtype", None)
    if dt is not None and g.dtype != dt and dt.kind == "f":
        g = c("astype", g, dt)
    return g


def norm_axes(axis, ndim: int) -> tuple:
    """Axis argument (None, int or tuple, negatives allowed) as sorted positive ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim if ndim else 0 for a in axis))


def kept_shape(shape: tuple, axis) -> tuple:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    axes = norm_axes(axis, len(shape))
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def expand_reduced(g, shape: tuple, axis, keepdims: bool):
    """Broadcast a reduction's cotangent back over the reduced axes."""
    if not keepdims:
        g = c("reshape", g, kept_shape(shape, axis))
    return c("broadcast_to", g, shape)


# ----------------------------------------------------------------------------- lowering helpers
# MXNet's numpy operators mostly need both operands to share one dtype and many
# reject bool or integer inputs; lowerings use these helpers to cast first, so
# the values match NumPy's (the call path casts the result to the inferred dtype).

def operand_dtype(v):
    """The NumPy dtype of an MXNet operand, or None for a Python scalar."""
    dt = getattr(v, "dtype", None)
    return None if dt is None else _onp.dtype(dt)


_SCALAR_KIND = {int: 0, float: 0.0, bool: False}


def result_dtype(*vals, float_only: bool = False, demote: bool = True):
    """NumPy's result dtype for these operands (Python scalars by their type).

    float64 becomes the default float dtype unless an operand was float64
    (``demote=False`` keeps NumPy's choice, for comparisons); ``float_only``
    gives a float dtype for integer/bool inputs, as NumPy's float ufuncs do.
    """
    from ..config import config
    args, f64 = [], False
    for v in vals:
        d = operand_dtype(v)
        if d is None:
            # a Python scalar by its type, not its value (as the dispatcher infers):
            # uint8_array % -1 stays uint8, as documented
            args.append(_SCALAR_KIND.get(type(v), v))
        else:
            args.append(d)
            f64 = f64 or d == _onp.float64
    r = _onp.result_type(*args)
    if float_only and r.kind != "f":
        return config.default_dtype
    if demote and r == _onp.float64 and not f64:
        return config.default_dtype
    return r


_MX_DTYPES = frozenset(_onp.dtype(d) for d in ("float16", "float32", "float64", "uint8", "int8",
                                                 "int32", "int64", "bool"))


def cast(v, dt):
    """``v`` as dtype ``dt`` (Python scalars and arrays already of ``dt`` unchanged).

    A dtype MXNet has no arrays of (int16, NumPy's dtype for ``int8_array @
    uint8_array``) is its holding dtype, as results of that dtype are (int32): the
    operands then reach MXNet in one dtype.
    """
    d = operand_dtype(v)
    dt = _call._HOLDABLE.get(_onp.dtype(dt), _onp.dtype(dt))
    if d is None or d == dt or dt not in _MX_DTYPES:
        return v
    r = v.astype(dt.name)
    if not hasattr(r, "shape") and hasattr(v, "shape"):     # a symbol: keep its facts
        r.shape, r.ndim, r.dtype = v.shape, v.ndim, dt
    return r


def legacy(F, name: str, *xs, **kw):
    """MXNet's classic operator ``name`` on numpy-flavoured arrays or symbols."""
    return getattr(F, name)(*[x.as_nd_ndarray() for x in xs], **kw).as_np_ndarray()


def broadcast_pair(F, x, y, dt=None):
    """``x`` and ``y`` (operands: arrays, symbols that carry their shape, or Python
    scalars, one at least an array) as arrays of dtype ``dt`` and of their common
    shape (MXNet's classic binary operators need equal shapes)."""
    if dt is not None:
        x, y = cast(x, dt), cast(y, dt)
    if operand_dtype(x) is None:
        return F.np.full_like(y, x), y
    if operand_dtype(y) is None:
        return x, F.np.full_like(x, y)
    shape = tuple(_onp.broadcast_shapes(tuple(x.shape), tuple(y.shape)))
    if tuple(x.shape) != shape:
        x = F.np.broadcast_to(x, shape)
    if tuple(y.shape) != shape:
        y = F.np.broadcast_to(y, shape)
    return x, y


def _div_scalar(F, x, s: int):
    """Integer ``x / s`` truncated, exactly (MXNet's classic scalar division)."""
    return F._internal._div_scalar(x.as_nd_ndarray(), scalar=s).as_np_ndarray()


def _and(F, a, b):
    return F.np.not_equal(a.astype("int8") * b.astype("int8"), 0)


def int_divmod(F, x, y, dt):
    """NumPy's floor quotient and remainder (``//``, ``%``) of integers of one dtype.

    MXNet has no floor_divide and its ``mod`` goes through float64 (wrong beyond
    2**53); its classic division of integer arrays truncates exactly, so the floor is
    that quotient less one where the remainder's sign differs from the divisor's.
    A zero divisor gives 0 and 0, as NumPy does (NumPy also warns); a divisor of -1
    is handled apart (``INT_MIN / -1`` traps in C)."""
    if operand_dtype(y) is None:            # a Python int divisor, in the array's dtype
        x, y = cast(x, dt), int(_onp.array(int(y)).astype(dt))
        if y == 0:
            z = F.np.zeros_like(x) if operand_dtype(x) is not None else 0
            return z, z
        if y == -1:
            return F.np.negative(x), F.np.zeros_like(x)
        q = _div_scalar(F, x, y)
        r = x - q * y
        fix = F.np.less(r, 0) if y > 0 else F.np.greater(r, 0)
        return F.np.where(fix, q - 1, q), F.np.where(fix, r + y, r)
    x, y = broadcast_pair(F, x, y, dt)
    zero = F.np.equal(y, 0)
    ones = F.np.ones_like(y)
    if _onp.dtype(dt).kind == "u":      # no negative divisors, quotients or remainders
        q = legacy(F, "broadcast_div", x, F.np.where(zero, ones, y))
        r = x - q * y
    else:
        minus = F.np.equal(y, -1)
        safe = F.np.where(zero, ones, F.np.where(minus, ones, y))
        q = legacy(F, "broadcast_div", x, safe)
        q = F.np.where(minus, F.np.negative(x), q)
        r = x - q * y
        fix = _and(F, F.np.not_equal(r, 0), F.np.not_equal(F.np.less(r, 0), F.np.less(y, 0)))
        q = F.np.where(fix, q - 1, q)
        r = F.np.where(fix, r + y, r)
    zeros = F.np.zeros_like(q)
    return F.np.where(zero, zeros, q), F.np.where(zero, zeros, r)


NEGATIVE_POWER = "Integers to negative integer powers are not allowed."     # NumPy's words


def int_power(F, x, y, dt, bits: int = None):
    """``x ** y`` for integers of one dtype, exactly and wrapping around as NumPy does
    (MXNet's power goes through float64): binary exponentiation, one squaring per
    bit of the exponent. A negative exponent raises NumPy's ValueError (only
    checkable here for a Python int exponent; the dispatcher runs integer powers
    eagerly and the eager lowering checks array exponents)."""
    neg = ValueError(NEGATIVE_POWER)
    if operand_dtype(y) is None:
        e = int(y)
        if e < 0:
            raise neg
        x = cast(x, dt)
        out, base = F.np.ones_like(x), x
        while e:
            if e & 1:
                out = out * base
            e >>= 1
            if e:
                base = base * base
        return wrapped(F, out, dt)
    if F is _mx.nd:
        host = y.asnumpy()
        if host.size and host.min() < 0:
            raise neg
        bits = int(host.max()).bit_length() if host.size else 0
    elif bits is None:
        bits = 8 * _onp.dtype(y.dtype).itemsize
    x, y = broadcast_pair(F, x, y, dt)
    out, base, e = F.np.ones_like(x), x, y
    for k in range(bits):
        odd = F.np.not_equal(F.np.bitwise_and(e, 1), 0)
        out = F.np.where(odd, out * base, out)
        if k + 1 < bits:
            base = base * base
            e = _div_scalar(F, e, 2)
    return wrapped(F, out, dt)


def wrapped(F, out, dt):
    """Integers computed in the holding dtype of ``dt`` (int32 for int16), wrapped
    around as ``dt`` would (``int8_array ** uint8_array`` is int16 in NumPy): the low
    bits of a product do not depend on the width it was computed in."""
    dt = _onp.dtype(dt)
    bits = 8 * dt.itemsize
    if dt in _MX_DTYPES or dt.kind not in "iu" or bits >= 64:
        return out           # (uint64 is held in int64: the same bits)
    mask = (1 << bits) - 1
    if dt.kind == "u":
        return F.np.bitwise_and(out, mask)
    half = 1 << (bits - 1)
    return F.np.bitwise_and(out + half, mask) - half


def via_int8(F, x, fn):
    """Run ``fn`` (a data-movement op) on bool ``x`` as int8 (MXNet lacks bool kernels)."""
    if operand_dtype(x) == _onp.bool_:
        r = fn(x.astype("int8"))
        if isinstance(r, (list, tuple)):
            return [p.astype("bool") for p in r]
        return r.astype("bool")
    return fn(x)


# Operators whose oneDNN kernels may leave arrays in blocked memory layouts. In an MXNet
# graph, np.reshape of such an array (and copies of that view) cannot be handed to
# another oneDNN primitive ("could not create a primitive descriptor for a reorder
# primitive"), so graphs holding one of them keep transposes and activations on
# MXNet's np kernels (compile._build sets ``lowering.plain_layouts``).
BLOCKED_LAYOUT_OPS = frozenset({"nn.conv2d", "nn.conv2d_data_grad", "nn.conv2d_weight_grad",
                                "nn.max_pool", "_function"})
lowering = _threading.local()      # .plain_layouts: the graph being built has none of them


def plain_layouts(F) -> bool:
    """Whether oneDNN reorders are safe here: always eagerly (MXNet reorders a
    reshaped oneDNN array to the plain layout first), in a graph unless it holds a
    :data:`BLOCKED_LAYOUT_OPS` operator."""
    return F is not _mx.sym or getattr(lowering, "plain_layouts", False)


def activation(F, x, act_type: str, fallback):
    """float32 ``act_type`` ("tanh", "sigmoid") as MXNet's ``Activation``, a oneDNN
    eltwise primitive (tanh of 256x256: 31 us against 1.4 ms as ``np.tanh`` on the
    development CPU; sigmoid of 784x512: 0.28 vs 2.0 ms) for arrays of 256 elements or
    more; ``fallback(F, x)`` below that, where the oneDNN call costs more (4x5: 16 vs 24 us
    eagerly, 0.8 vs 1.9 us a node in a graph; the two broke even at 16x16)."""
    shape = x.shape
    if operand_dtype(x) == _onp.float32 and shape and int(_onp.prod(shape)) >= 256 and \
            plain_layouts(F):
        return F.Activation(x.as_nd_ndarray(), act_type=act_type).as_np_ndarray()
    return fallback(F, x)


def pos_axis(axis, ndim: int):
    """Negative axes (int or tuple) made positive (MXNet rejects some negatives)."""
    if axis is None:
        return None
    if isinstance(axis, tuple):
        return tuple(a % ndim if ndim else a for a in axis)
    return axis % ndim if ndim else axis


def stop(F, s):
    """``s`` with no gradient in a graph MXNet differentiates."""
    return F.BlockGrad(s.as_nd_ndarray()).as_np_ndarray()


def straight_through(F, value, terms):
    """``value`` for graphs MXNet differentiates, with MXNet's gradient taken
    from ``terms`` instead: symbols of ``value``'s shape whose gradients are the
    wanted ones (``x * stop(F, d)`` has gradient ``d``). Each term is added and
    subtracted again, so the value is exact; a non-finite term adds nothing."""
    out = stop(F, value)
    for t in terms:
        fixed = stop(F, t)
        out = out + F.np.where(F.np.isfinite(fixed), t - fixed, F.np.zeros_like(fixed))
    return out
