"""Transparent NumPy fallback for any public NumPy name MinPy does not register."""
from __future__ import annotations

import functools
import types

import numpy as _onp

from .. import context as _context
from . import call as _call
from . import stats as _stats

_cache: dict = {}


def _arrays_in(x, out: list) -> list:
    from ..array import Array
    if isinstance(x, Array):
        out.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _arrays_in(v, out)
    elif isinstance(x, dict):
        for v in x.values():
            _arrays_in(v, out)
    return out


def fallback_function(qualname: str, fn) -> types.FunctionType:
    """Wrap a NumPy function: host copies in, MinPy arrays out."""
    key = (qualname, id(fn))
    hit = _cache.get(key)
    if hit is not None:
        return hit

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        arrays = _arrays_in(args, []) + _arrays_in(kwargs, [])
        ctx = arrays[0]._ctx if arrays else _context.current_context()
        f64 = any(a._dtype == _onp.float64 for a in arrays) or \
            any(isinstance(a, _onp.ndarray) and a.dtype == _onp.float64 for a in args)
        eng = _call.lazy_engine()
        if eng is not None:
            eng.note_fallback(qualname)
        host_args = _call.to_host(args)
        host_kwargs = _call.to_host(kwargs)
        _stats.count(qualname, "numpy")
        result = fn(*host_args, **host_kwargs)
        wrapped = _call.from_host_result(result, ctx, f64)
        if _call.tape_hook is not None and arrays:
            from ..autograd import mark_nondifferentiable
            mark_nondifferentiable(qualname, arrays, wrapped)
        return wrapped

    wrapper.__doc__ = f"NumPy fallback for ``numpy.{qualname}`` (runs on host copies).\n\n" + \
        (fn.__doc__ or "")
    _cache[key] = wrapper
    return wrapper


class FallbackModule(types.ModuleType):
    """A NumPy submodule (``linalg``, ``fft``...) whose functions fall back."""

    def __init__(self, prefix: str, module) -> None:
        super().__init__(f"minpy.numpy.{prefix}")
        self._prefix = prefix
        self._module = module

    def __getattr__(self, name: str):
        return resolve(f"{self._prefix}.{name}", getattr(self._module, name))

    def __dir__(self):
        return dir(self._module)


def resolve(qualname: str, obj):
    """What ``minpy.numpy.<qualname>`` should be for a NumPy object."""
    if isinstance(obj, types.ModuleType):
        return FallbackModule(qualname, obj)
    if isinstance(obj, type) or not callable(obj):
        return obj
    return fallback_function(qualname, obj)
