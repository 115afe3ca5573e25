"""Transparent NumPy fallback for any public NumPy name MinPy does not register.

A fallback function copies every MinPy array among its arguments to the host,
runs NumPy, and wraps NumPy arrays in the result back as MinPy arrays on the
context of the first MinPy array argument (Python values such as ``bool`` or
``tuple`` pass through). MinPy arrays are immutable buffers, so:

* host copies handed to NumPy are read-only, and a NumPy function that tries to
  write into an argument raises a ``ValueError`` naming itself instead of
  silently writing into a throw-away copy;
* the few NumPy functions whose whole purpose is to write into their first
  argument (``fill_diagonal``, ``copyto``, ``put``, ``place``, ``putmask``,
  ``put_along_axis``) run on a writable copy which is then written back by
  re-pointing the MinPy array, as ``x[i] = v`` does;
* ``out=`` given as a MinPy array (or a tuple of them) receives the result the
  same way.
"""
from __future__ import annotations

import functools
import types

import numpy as _onp

from .. import context as _context
from . import call as _call
from . import policy as _policy
from . import stats as _stats

_cache: dict = {}

# NumPy functions that exist to write into their first argument.
MUTATES_FIRST = frozenset({"fill_diagonal", "copyto", "put", "place", "putmask", "put_along_axis"})


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


def _host(x, writable: bool = False):
    """Host copy of ``x`` with MinPy arrays replaced by (read-only) NumPy arrays."""
    from ..array import Array
    if isinstance(x, Array):
        h = x.asnumpy()
        if not writable:
            h.flags.writeable = False
        return h
    if isinstance(x, list):
        return [_host(v) for v in x]
    if isinstance(x, tuple):
        t = [_host(v) for v in x]
        return type(x)(*t) if hasattr(x, "_fields") else type(x)(t)
    if isinstance(x, dict):
        return {k: _host(v) for k, v in x.items()}
    return x


def _write_back(arr, host) -> None:
    """Re-point MinPy array ``arr`` at the (mutated) host data ``host``."""
    arr._assign(_call.from_host(host, arr._ctx, arr._dtype))


def fallback_function(qualname: str, fn) -> types.FunctionType:
    """Wrap a NumPy function: host copies in, MinPy arrays out."""
    key = (qualname, id(fn))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    mutates = qualname in MUTATES_FIRST

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from ..array import Array
        _policy.current_policy().fallback(qualname)
        arrays = _arrays_in(args, []) + _arrays_in(kwargs, [])
        ctx = arrays[0]._ctx if arrays else _context.current_context()
        f64 = any(a._dtype == _onp.float64 for a in arrays) or \
            any(isinstance(a, _onp.ndarray) and a.dtype == _onp.float64 for a in args)
        eng = _call.lazy_engine()
        if eng is not None:
            eng.note_fallback(qualname)
        # out= given as MinPy array(s): NumPy writes into writable host copies.
        out = kwargs.get("out")
        outs = None
        if isinstance(out, Array):
            outs = (out,)
        elif isinstance(out, tuple) and out and all(isinstance(o, Array) for o in out):
            outs = out
        host_args = list(_host(a) for a in args)
        target = None
        if mutates and args and isinstance(args[0], Array):
            target = args[0]
            host_args[0] = _host(target, writable=True)
        host_kwargs = {k: _host(v) for k, v in kwargs.items() if k != "out" or outs is None}
        host_outs = None
        if outs is not None:
            host_outs = tuple(_host(o, writable=True) for o in outs)
            host_kwargs["out"] = host_outs[0] if isinstance(out, Array) else host_outs
        try:
            result = fn(*host_args, **host_kwargs)
        except ValueError as e:
            if "read-only" in str(e):
                raise ValueError(
                    f"minpy.numpy.{qualname}: this NumPy function writes into an argument, "
                    f"but MinPy arrays are immutable buffers and it runs on a host copy; "
                    f"use its result instead ({e})") from None
            raise
        _stats.count(qualname, "numpy")
        if target is not None:
            _write_back(target, host_args[0])
        if host_outs is not None:
            for o, h in zip(outs, host_outs):
                _write_back(o, h)
            if isinstance(out, Array):
                wrapped = out if result is host_outs[0] else _call.from_host_result(result, ctx, f64)
            else:
                wrapped = outs if isinstance(result, tuple) and \
                    all(r is h for r, h in zip(result, host_outs)) else \
                    _call.from_host_result(result, ctx, f64)
        else:
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
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            obj = getattr(self._module, name)
        except AttributeError:
            raise AttributeError(f"module 'minpy.numpy.{self._prefix}' has no attribute {name!r} "
                                 f"(and NumPy has none either)") from None
        return resolve(f"{self._prefix}.{name}", obj)

    def __dir__(self):
        return dir(self._module)


def resolve(qualname: str, obj):
    """What ``minpy.numpy.<qualname>`` should be for a NumPy object."""
    if isinstance(obj, types.ModuleType):
        return FallbackModule(qualname, obj)
    if isinstance(obj, type) or not callable(obj):
        return obj
    return fallback_function(qualname, obj)
