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
import threading
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


def run_on_host(qualname: str, fn, args: tuple, kwargs: dict, mutates: bool = False):
    """Run NumPy's ``fn`` on host copies of the MinPy arrays in ``args``/``kwargs`` and
    wrap NumPy arrays in the result back as MinPy arrays (see the module docstring)."""
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
    if type(fn) is _onp.ufunc and len(host_args) > 1 and arrays:
        # Python numbers count by kind here too (``fmax(uint8_array, -1)`` is uint8)
        host_args = _call._kind_rule(fn, host_args)
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
        with _native():
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
    elif out is not None and _is_given(result, out):
        wrapped = result        # NumPy wrote into the caller's own NumPy array(s)
    else:
        wrapped = _call.from_host_result(result, ctx, f64)
    if _call.tape_hook is not None and arrays:
        from ..autograd import mark_nondifferentiable
        mark_nondifferentiable(qualname, arrays, wrapped)
    return wrapped


def _is_given(result, out) -> bool:
    """Whether ``result`` is the NumPy ``out=`` array (or tuple of them) the caller gave."""
    given = out if isinstance(out, tuple) else (out,)
    parts = result if isinstance(result, tuple) else (result,)
    return all(isinstance(r, _onp.ndarray) and any(r is o for o in given) for r in parts)


def fallback_function(qualname: str, fn) -> types.FunctionType:
    """Wrap a NumPy function: host copies in, MinPy arrays out."""
    key = (qualname, id(fn))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    mutates = qualname in MUTATES_FIRST

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return run_on_host(qualname, fn, args, kwargs, mutates)

    wrapper.__doc__ = f"NumPy fallback for ``numpy.{qualname}`` (runs on host copies).\n\n" + \
        (fn.__doc__ or "")
    wrapper._minpy_fallback = True
    _cache[key] = wrapper
    return wrapper


# ----------------------------------------------------------------------------- NumPy protocols
# ``numpy.f(minpy_array)`` reaches ``Array.__array_function__`` / ``__array_ufunc__``.
# Functions MinPy registers run as MinPy calls (taped for gradients, recorded lazily);
# others run in NumPy on host copies like any fallback, their results marked so that a
# gradient taken through them raises naming the function instead of being silently 0.

_proto = threading.local()


class _native:
    """While MinPy itself runs a NumPy function, NumPy calls on MinPy arrays made
    inside it (internal helpers, NumPy code handed MinPy arrays) take the host path
    instead of coming back to MinPy."""

    def __enter__(self):
        _proto.depth = getattr(_proto, "depth", 0) + 1

    def __exit__(self, *exc):
        _proto.depth -= 1


def _nested() -> bool:
    return getattr(_proto, "depth", 0) > 0


def _tracked(args, kwargs) -> bool:
    """Whether a gradient is being taken with respect to an array among the arguments."""
    if _call.tape_hook is None:
        return False
    from ..autograd import is_tracked
    return is_tracked(_arrays_in(args, []) + _arrays_in(kwargs, []))


# NumPy functions whose MinPy namesake differs in what it returns
_NOT_MAPPED = frozenset({"array", "asarray"})


def _minpy_function(func):
    """MinPy's own version of the top-level NumPy function ``func``, or None."""
    module = getattr(func, "__module__", None)
    if module not in ("numpy", "numpy.linalg"):
        return None
    name = getattr(func, "__name__", None)
    if not name or name.startswith("_") or name in _NOT_MAPPED:
        return None
    from .. import numpy as _mnp
    space = _mnp if module == "numpy" else _mnp.linalg
    fn = space.__dict__.get(name)
    if fn is None or getattr(fn, "_minpy_fallback", False) or not callable(fn) or \
            isinstance(fn, type):
        return None
    return fn


def _qualname(func) -> str:
    mod = getattr(func, "__module__", "") or ""
    name = getattr(func, "__name__", repr(func))
    sub = mod[len("numpy."):] if mod.startswith("numpy.") else ""
    return f"{sub}.{name}" if sub else name


def _host_call(func, args, kwargs):
    """``func`` as NumPy would run it on host copies (the pre-protocol behaviour)."""
    with _native():
        return func(*_call.to_host(args), **_call.to_host(kwargs))


def _understood(types_) -> bool:
    from ..array import Array
    return all(issubclass(t, (Array, _onp.ndarray)) for t in types_)


def array_function(func, types_, args: tuple, kwargs: dict):
    """``Array.__array_function__``: NumPy's functions called on MinPy arrays."""
    if not _understood(types_):
        return NotImplemented
    if _nested():
        return _host_call(func, args, kwargs)
    fn = _minpy_function(func)
    name = _qualname(func)
    if fn is not None:
        try:
            return fn(*args, **kwargs)
        except (TypeError, NotImplementedError) as e:
            # an argument MinPy's version does not take (out= a NumPy array, where=...)
            if _tracked(args, kwargs):
                raise TypeError(
                    f"numpy.{name} on MinPy arrays: MinPy's version cannot take this call "
                    f"({e}), and NumPy's own cannot be differentiated; call "
                    f"minpy.numpy.{name} with arguments it supports") from None
    return run_on_host(name, func, args, kwargs, name in MUTATES_FIRST)


# ufunc.reduce / accumulate that are MinPy functions: name -> (function, default dtype ok)
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "amax", "minimum": "amin",
           "logical_and": "all", "logical_or": "any"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}


def _ufunc_minpy(ufunc, method: str, inputs: tuple, kwargs: dict):
    """Run the ufunc call as a MinPy call; None where it does not map onto one."""
    from ..array import Array
    from .registry import REGISTRY
    kwargs = dict(kwargs)
    out = kwargs.pop("out", None)
    if out is not None and (len(out) != 1 or not isinstance(out[0], (Array, _onp.ndarray))):
        return None
    name = ufunc.__name__
    if method == "__call__":
        if kwargs:
            return None
        op = REGISTRY.get(name)
        if op is None or op.multi or op.nin != ufunc.nin or op.params:
            return None
        res = _call.call(op, inputs, None)
    elif method in ("reduce", "accumulate") and len(inputs) == 1:
        target = (_REDUCE if method == "reduce" else _ACCUMULATE).get(name)
        if target is None or target not in REGISTRY:
            return None
        allowed = {"axis", "dtype", "keepdims"} if method == "reduce" else {"axis", "dtype"}
        if set(kwargs) - allowed:
            return None
        attrs = {"axis": kwargs.pop("axis", 0)}
        if kwargs.get("dtype") is not None:
            if target in ("amax", "amin", "all", "any"):
                return None
            attrs["dtype"] = kwargs.pop("dtype")
        kwargs.pop("dtype", None)
        if kwargs.pop("keepdims", False):
            attrs["keepdims"] = True
        if isinstance(inputs[0], Array) and inputs[0].ndim == 0:
            return None         # NumPy's own error for reducing a 0-d array
        res = _call.call(REGISTRY[target], (inputs[0],), attrs)
    else:
        return None
    if out is None:
        return res
    o = out[0]
    if isinstance(o, Array):
        o[...] = res
        return o
    _onp.copyto(o, res._host("__array_ufunc__"), casting="same_kind")
    return o


def array_ufunc(ufunc, method: str, inputs: tuple, kwargs: dict):
    """``Array.__array_ufunc__``: NumPy ufuncs (and their methods) on MinPy arrays."""
    from ..array import Array
    for x in inputs + tuple(kwargs.get("out", None) or ()):
        h = getattr(type(x), "__array_ufunc__", None)
        if h is not None and not isinstance(x, (Array, _onp.ndarray)):
            return NotImplemented
    if _nested():
        return _host_call(getattr(ufunc, method), inputs, kwargs)
    res = _ufunc_minpy(ufunc, method, inputs, kwargs)
    if res is not None:
        return res
    name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    return run_on_host(name, getattr(ufunc, method), inputs, kwargs, method == "at")


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
