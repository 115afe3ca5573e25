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


def result_dtype(*vals, float_only: bool = False, demote: bool = True):
    """NumPy's result dtype for these operands (Python scalars by value).

    float64 becomes the default float dtype unless an operand was float64
    (``demote=False`` keeps NumPy's choice, for comparisons); ``float_only``
    gives a float dtype for integer/bool inputs, as NumPy's float ufuncs do.
    """
    from ..config import config
    args, f64 = [], False
    for v in vals:
        d = operand_dtype(v)
        if d is None:
            args.append(v)
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

    A dtype MXNet has no arrays of (int16 from ``int8_array + 1000``) leaves ``v``
    as it is; the call path decides what such a result becomes.
    """
    d = operand_dtype(v)
    dt = _onp.dtype(dt)
    if d is None or d == dt or dt not in _MX_DTYPES:
        return v
    return v.astype(dt.name)


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
