"""``minpy.numpy.linalg``: ``norm`` built from MinPy's operators (so it runs on MXNet,
lazily and under ``@jit``, and has a gradient); every other function is NumPy's,
run on host copies (no gradient: taking one raises, naming the function).

``norm`` follows ``numpy.linalg.norm``: vector norms (``ord`` None/2, 1, inf, -inf,
0, any other number), matrix norms over two axes (None/'fro', 1, -1, inf, -inf);
integer and bool arrays are normed in the default float dtype (NumPy: float64);
the matrix norms that need singular values ('nuc', 2, -2) run in NumPy.
"""
from __future__ import annotations

import numpy as _onp

from ..array import Array
from ..config import config as _config
from ..dispatch import fallback as _fallback
from ..ops._util import c
from ._composite import asarray as _asarray

_normalize_axis_index = _onp.core.multiarray.normalize_axis_index

_SVD_ORDS = ("nuc", 2, -2)
# NumPy's norm on host copies: for what MinPy's cannot take, and the singular-value norms
_numpy_norm = _fallback.fallback_function("linalg.norm", _onp.linalg.norm)


def _is_inf(ord_, sign: int) -> bool:
    return isinstance(ord_, (int, float, _onp.number)) and not isinstance(ord_, bool) and \
        _onp.isinf(ord_) and (ord_ > 0) == (sign > 0)


def _axes(axis, ndim: int) -> tuple:
    """``axis`` as a tuple of non-negative ints, checked as NumPy's ``norm`` checks it."""
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, tuple):
        try:
            axis = (int(axis),)
        except Exception as e:
            raise TypeError("'axis' must be None, an integer or a tuple of integers") from e
    return tuple(_normalize_axis_index(a, ndim) for a in axis)


def _vector_norm(x: Array, ord_, axis, keepdims: bool) -> Array:
    if ord_ is None or ord_ == 2:
        return c("sqrt", c("sum", x * x, axis=axis, keepdims=keepdims))
    if isinstance(ord_, str):
        raise ValueError(f"Invalid norm order '{ord_}' for vectors")
    a = c("absolute", x)
    if _is_inf(ord_, 1):
        return c("amax", a, axis=axis, keepdims=keepdims)
    if _is_inf(ord_, -1):
        return c("amin", a, axis=axis, keepdims=keepdims)
    if ord_ == 0:
        return c("sum", c("astype", x != 0, x.dtype), axis=axis, keepdims=keepdims)
    if ord_ == 1:
        return c("sum", a, axis=axis, keepdims=keepdims)
    try:
        p = float(ord_)
    except (TypeError, ValueError):
        raise ValueError("Invalid norm order for vectors.") from None
    s = c("sum", c("power", a, p), axis=axis, keepdims=keepdims)
    # NumPy: ``s **= reciprocal(ord, dtype=s.dtype)``, in place: s keeps its dtype (a 0-d
    # float16 ``s`` to a Python float's power would be float32 here)
    r = c("power", s, float(_onp.reciprocal(p, dtype=s.dtype)))
    return r if r.dtype == s.dtype else c("astype", r, s.dtype)


def _matrix_norm(x: Array, ord_, rows: int, cols: int, keepdims: bool) -> Array:
    if ord_ is None or ord_ in ("fro", "f"):
        r = c("sqrt", c("sum", x * x, axis=(rows, cols)))
    elif ord_ in (1, -1) or _is_inf(ord_, 1) or _is_inf(ord_, -1):
        # 1 / -1: the largest / smallest column sum; inf / -inf: of the row sums
        over, across = (rows, cols) if ord_ in (1, -1) else (cols, rows)
        sums = c("sum", c("absolute", x), axis=over)
        if across > over:
            across -= 1
        largest = ord_ == 1 or _is_inf(ord_, 1)
        r = c("amax" if largest else "amin", sums, axis=across)
    else:
        raise ValueError("Invalid norm order for matrices.")
    if keepdims:
        shape = list(x.shape)
        shape[rows] = shape[cols] = 1
        r = c("reshape", r, tuple(shape))
    return r


def norm(x, ord=None, axis=None, keepdims: bool = False):  # noqa: A002 - NumPy's name
    """``numpy.linalg.norm`` (see the module's docstring for what runs where)."""
    if not isinstance(x, (Array, _onp.ndarray, list, tuple, int, float, bool, _onp.number)):
        return _numpy_norm(x, ord, axis, keepdims)
    x = _asarray(x)
    if x.dtype.kind not in "f":
        # NumPy norms integers and bools as float64; the result is demoted to the
        # default float dtype (differences.md), rounded once from float64 (squares of
        # large integers overflow float32)
        r = _norm(c("astype", x, _onp.dtype("float64")), ord, axis, keepdims)
        dt = _onp.dtype(_config.default_dtype)
        return r if r.dtype == dt else c("astype", r, dt)
    return _norm(x, ord, axis, keepdims)


def _norm(x: Array, ord, axis, keepdims: bool):  # noqa: A002
    nd = x.ndim
    if axis is None and ord is None:
        r = c("sqrt", c("sum", x * x))
        if keepdims:
            r = c("reshape", r, (1,) * nd)
        return r
    if axis is None and nd not in (1, 2):
        raise ValueError("Improper number of dimensions to norm.")
    axes = _axes(axis, nd)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        if axes[0] == axes[1]:
            raise ValueError("Duplicate axes given.")
        if ord in _SVD_ORDS and not isinstance(ord, bool):
            # singular values: NumPy's (values only; a gradient through it raises)
            return _numpy_norm(x, ord, axis, keepdims)
        return _matrix_norm(x, ord, axes[0], axes[1], keepdims)
    raise ValueError("Improper number of dimensions to norm.")


_REST = _fallback.FallbackModule("linalg", _onp.linalg)     # every other function


def __getattr__(name: str):
    return getattr(_REST, name)


def __dir__():
    return sorted(set(dir(_REST)) | {"norm"})
