"""Functions built from registered operators (gradients come from their parts)."""
from __future__ import annotations

import numpy as _onp

from ..array import Array
from ..dispatch import call as _call
from ..ops._util import c
from ..ops import shape as _shape


def array(object, dtype=None, copy: bool = True, ndmin: int = 0, ctx=None) -> Array:
    """Make a MinPy array (float64 data becomes the default float dtype)."""
    if isinstance(object, Array):
        out = object.astype(dtype) if dtype is not None else (object.copy() if copy else object)
        if ctx is not None:
            out = out.as_in_context(ctx)
    else:
        out = _call.from_host(object, ctx, dtype)
    while out.ndim < ndmin:
        out = c("expand_dims", out, 0)
    return out


def asarray(a, dtype=None, ctx=None) -> Array:
    """Like ``array`` but returns ``a`` itself when nothing needs to change."""
    if isinstance(a, Array) and (dtype is None or _onp.dtype(dtype) == a.dtype) and \
            (ctx is None or ctx == a.context):
        return a
    return array(a, dtype=dtype, copy=False, ctx=ctx)


def vstack(tup) -> Array:
    return _shape._vstack(tup)


def hstack(tup) -> Array:
    return _shape._hstack(tup)


def column_stack(tup) -> Array:
    return _shape._column_stack(tup)


row_stack = vstack


def dstack(tup) -> Array:
    arrays = []
    for a in tup:
        a = asarray(a)
        if a.ndim == 0:
            a = c("reshape", a, (1, 1, 1))
        elif a.ndim == 1:
            a = c("reshape", a, (1, a.shape[0], 1))
        elif a.ndim == 2:
            a = c("expand_dims", a, 2)
        arrays.append(a)
    return c("concatenate", arrays, 2)


def atleast_3d(a) -> Array:
    a = asarray(a)
    if a.ndim == 0:
        return c("reshape", a, (1, 1, 1))
    if a.ndim == 1:
        return c("reshape", a, (1, a.shape[0], 1))
    if a.ndim == 2:
        return c("expand_dims", a, 2)
    return a


def vsplit(ary, indices_or_sections):
    ary = asarray(ary)
    if ary.ndim < 2:
        raise ValueError("minpy.numpy.vsplit only works on arrays of 2 or more dimensions")
    return c("split", ary, indices_or_sections, 0)


def hsplit(ary, indices_or_sections):
    ary = asarray(ary)
    if ary.ndim == 0:
        raise ValueError("minpy.numpy.hsplit only works on arrays of 1 or more dimensions")
    return c("split", ary, indices_or_sections, 1 if ary.ndim > 1 else 0)


def ndim(a) -> int:
    return asarray(a).ndim if not isinstance(a, Array) else a.ndim


def shape(a) -> tuple:
    return a.shape if isinstance(a, Array) else _onp.shape(a)


def size(a, axis=None) -> int:
    if isinstance(a, Array):
        return a.size if axis is None else a.shape[axis]
    return _onp.size(a, axis)


COMPOSITES = {f.__name__: f for f in (array, asarray, vstack, hstack, column_stack, dstack,
                                       atleast_3d, vsplit, hsplit, ndim, shape, size)}
COMPOSITES["row_stack"] = vstack
