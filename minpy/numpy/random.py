"""``minpy.numpy.random``: sampling on MXNet with NumPy's calling conventions.

``seed`` seeds both MXNet's and NumPy's generators, so fallback sampling is
reproducible too. Streams differ from NumPy's: the same seed does not give
NumPy's numbers.
"""
from __future__ import annotations

import operator as _operator

import mxnet as _mx

import numpy as _onp

from ..array import Array
from ..dispatch import call as _call
from ..dispatch import fallback as _fallback
from ..dispatch.registry import REGISTRY as _R
from ..ops.random import DISTRIBUTIONS as _DISTRIBUTIONS


def seed(seed: int) -> None:
    if not isinstance(seed, (int, _onp.integer)) or seed < 0:
        raise ValueError(f"minpy.numpy.random.seed: expected a non-negative int, got {seed!r}")
    _mx.random.seed(int(seed))
    _onp.random.seed(int(seed) % (2 ** 32))


def _is_scalar(v) -> bool:
    return isinstance(v, (int, float, _onp.integer, _onp.floating)) and not isinstance(v, bool) \
        or (isinstance(v, (Array, _onp.ndarray)) and v.ndim == 0 and v.dtype.kind in "iuf")


def _as_array(v) -> Array:
    return v if isinstance(v, Array) else _call.from_host(v)


def _dim(d) -> int:
    """A size entry: an int, or an integral float as the scalar samplers accept (MinPy 0.3
    programs written for Python 2 compute sizes with ``/``); others raise NumPy's TypeError."""
    if isinstance(d, (float, _onp.floating)) and float(d).is_integer():
        return int(d)
    return _operator.index(d)


def _sizes(size):
    return None if size is None else tuple(_dim(d) for d in ((size,) if _onp.ndim(size) == 0 else size))


def _affine(name: str, shift, spread, size, dtype, sample) -> Array:
    """``shift + spread * sample(shape)`` for array-valued parameters, broadcast as
    NumPy does (the result has ``size`` when given, else the parameters' shape)."""
    shift, spread = _as_array(shift), _as_array(spread)
    shape = _onp.broadcast_shapes(shift.shape, spread.shape)
    if size is not None:
        size = _sizes(size)
        try:
            fits = _onp.broadcast_shapes(shape, size) == size
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"minpy.numpy.random.{name}: parameters of shape {shape} do not "
                             f"broadcast to size {size}")
        shape = size
    if dtype is None and _onp.float64 in (shift.dtype, spread.dtype):
        dtype = "float64"
    return shift + spread * sample(shape, dtype)


def uniform(low=0.0, high=1.0, size=None, dtype=None) -> Array:
    if _is_scalar(low) and _is_scalar(high):
        return _call.call(_R["random.uniform"], (low, high, _sizes(size), dtype), None)
    low = _as_array(low)
    return _affine("uniform", low, _as_array(high) - low, size, dtype,
                   lambda shape, dt: uniform(0.0, 1.0, shape, dt))


def normal(loc=0.0, scale=1.0, size=None, dtype=None) -> Array:
    if _is_scalar(loc) and _is_scalar(scale):
        return _call.call(_R["random.normal"], (loc, scale, _sizes(size), dtype), None)
    scale = _as_array(scale)
    if bool((scale < 0).any()):
        raise ValueError("minpy.numpy.random.normal: scale < 0")
    return _affine("normal", loc, scale, size, dtype,
                   lambda shape, dt: normal(0.0, 1.0, shape, dt))


def rand(*shape) -> Array:
    return uniform(0.0, 1.0, shape)


def randn(*shape) -> Array:
    return normal(0.0, 1.0, shape)


def random_sample(size=None) -> Array:
    return uniform(0.0, 1.0, size)


random = sample = ranf = random_sample


def randint(low, high=None, size=None, dtype="int64") -> Array:
    return _call.call(_R["random.randint"], (low, high, size, dtype), None)


def choice(a, size=None, replace=True, p=None):
    """Integers below ``a`` on MXNet; sampling from an array or with ``p`` in NumPy."""
    if isinstance(a, (int, _onp.integer)) and p is None:
        return _call.call(_R["random.choice"], (a, size, replace), None)
    return _fallback.fallback_function("random.choice", _onp.random.choice)(a, size, replace, p)


def permutation(x):
    if isinstance(x, (int, _onp.integer)):
        return _call.from_host(_onp.random.permutation(int(x)), None, "int64")
    x = x if isinstance(x, Array) else _call.from_host(x)
    return x[_onp.random.permutation(x.shape[0])]


def shuffle(x: Array) -> None:
    """Shuffle along the first axis in place (the handle is re-pointed)."""
    if not isinstance(x, Array):
        raise TypeError("minpy.numpy.random.shuffle: expected a MinPy array")
    if x.ndim == 0:
        raise TypeError("minpy.numpy.random.shuffle: cannot shuffle a 0-d array")
    x._assign(x[_onp.random.permutation(x.shape[0])])


def _sampler(name: str):
    op = _R[f"random.{name}"]
    host = _fallback.fallback_function(f"random.{name}", getattr(_onp.random, name))

    def sample(*args, **kwargs):
        values = list(args) + [v for k, v in kwargs.items() if k not in ("size", "dtype")]
        if all(_is_scalar(v) for v in values):
            return _call.call(op, args, kwargs)
        return host(*args, **kwargs)       # array-valued parameters: NumPy broadcasts them
    sample.__name__ = sample.__qualname__ = name
    sample.__doc__ = (f"``numpy.random.{name}``: drawn by MXNet for scalar parameters, "
                      f"by NumPy for array-valued ones.\n\n" + (getattr(_onp.random, name).__doc__ or ""))
    return sample


for _name in _DISTRIBUTIONS:
    globals()[_name] = _sampler(_name)


class _HostGenerator:
    """A NumPy ``Generator`` or ``RandomState`` whose draws are MinPy arrays.

    NumPy's bit generators give NumPy's streams (the same seed, the same numbers
    as NumPy), which MXNet's samplers cannot; MinPy arrays passed in are read on
    the host, and ``shuffle`` re-points a MinPy array as ``x[...] = v`` would.
    """

    def __init__(self, rng) -> None:
        self._rng = rng

    def __repr__(self) -> str:
        return f"minpy {self._rng!r}"

    def __dir__(self):
        return dir(self._rng)

    def __getattr__(self, name: str):
        attr = getattr(self._rng, name)
        if name.startswith("_") or not callable(attr):
            return attr
        if name == "shuffle":
            return self._shuffle

        def method(*args, **kwargs):
            f64 = _onp.dtype(kwargs.get("dtype") or "float32") == _onp.float64 or any(
                getattr(a, "dtype", None) == _onp.float64 for a in args)
            arrays = _fallback._arrays_in(args, []) + _fallback._arrays_in(kwargs, [])
            ctx = arrays[0]._ctx if arrays else None
            result = attr(*_fallback._host(args), **_fallback._host(kwargs))
            return _call.from_host_result(result, ctx, f64)
        method.__name__ = method.__qualname__ = name
        method.__doc__ = attr.__doc__
        return method

    def _shuffle(self, x, *args, **kwargs) -> None:
        if not isinstance(x, Array):
            return self._rng.shuffle(x, *args, **kwargs)
        host = x.asnumpy().copy()
        self._rng.shuffle(host, *args, **kwargs)
        x._assign(_call.from_host(host, x._ctx, x._dtype))


def default_rng(seed=None) -> _HostGenerator:
    """``numpy.random.default_rng`` whose draws are MinPy arrays."""
    return _HostGenerator(_onp.random.default_rng(seed))


def RandomState(seed=None) -> _HostGenerator:  # noqa: N802  (NumPy's name)
    """``numpy.random.RandomState`` whose draws are MinPy arrays."""
    return _HostGenerator(_onp.random.RandomState(seed))


def __getattr__(name: str):
    obj = getattr(_onp.random, name)
    return _fallback.resolve(f"random.{name}", obj)


def __dir__():
    return sorted(set(n for n in globals() if not n.startswith("_"))
                  | set(n for n in dir(_onp.random) if not n.startswith("_")))
