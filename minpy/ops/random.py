"""Random sampling (``minpy.numpy.random``): MXNet's generators, NumPy's API."""
from __future__ import annotations

import numpy as _onp

from ..config import config as _config
from ..dispatch.registry import defop


def _size(size):
    if size is None:
        return ()
    if isinstance(size, (int, _onp.integer)):
        return (int(size),)
    return tuple(int(s) for s in size)


def _fdt(dtype=None):
    return _onp.dtype(dtype).name if dtype is not None else _config.default_dtype.name


def _uniform_bind(low=0.0, high=1.0, size=None, dtype=None):
    return (), (("low", float(low)), ("high", float(high)), ("size", _size(size)), ("dtype", _fdt(dtype)))


def _normal_bind(loc=0.0, scale=1.0, size=None, dtype=None):
    if scale < 0:
        raise ValueError("minpy.numpy.random.normal: scale < 0")
    return (), (("loc", float(loc)), ("scale", float(scale)), ("size", _size(size)), ("dtype", _fdt(dtype)))


defop("random.uniform", nin=0, bind=_uniform_bind, random=True, nondiff=True,
      mx=lambda F, low, high, size, dtype: F.np.random.uniform(low, high, size=size, dtype=dtype),
      np=lambda low, high, size, dtype: _onp.random.uniform(low, high, size).astype(dtype))
defop("random.normal", nin=0, bind=_normal_bind, random=True, nondiff=True,
      mx=lambda F, loc, scale, size, dtype: F.np.random.normal(loc, scale, size=size, dtype=dtype),
      np=lambda loc, scale, size, dtype: _onp.random.normal(loc, scale, size).astype(dtype))


def _randint_bind(low, high=None, size=None, dtype="int64"):
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"minpy.numpy.random.randint: low >= high ({low} >= {high})")
    dt = _onp.dtype(dtype)
    if dt.kind not in "iu":
        raise TypeError(f"minpy.numpy.random.randint: unsupported dtype {dt.name}")
    return (), (("low", int(low)), ("high", int(high)), ("size", _size(size)), ("dtype", dt.name))


defop("random.randint", nin=0, bind=_randint_bind, random=True, nondiff=True,
      mx=lambda F, low, high, size, dtype: F.np.random.randint(low, high, size=size, dtype=dtype),
      np=lambda low, high, size, dtype: _onp.asarray(_onp.random.randint(low, high, size)).astype(dtype))


def _choice_bind(a, size=None, replace=True, p=None):
    if hasattr(a, "shape") or isinstance(a, (list, tuple)):
        raise NotImplementedError("array")
    n = int(a)
    if n <= 0:
        raise ValueError("minpy.numpy.random.choice: a must be a positive integer")
    if not replace and _onp.prod(_size(size)) > n:
        raise ValueError("minpy.numpy.random.choice: cannot take a larger sample than "
                         "population when replace=False")
    if p is not None:
        raise NotImplementedError("p")
    return (), (("a", n), ("size", _size(size)), ("replace", bool(replace)))


def _choice_mx(F, a, size, replace):
    return F.np.random.choice(a, size=size, replace=replace).astype("int64")


defop("random.choice", nin=0, bind=_choice_bind, random=True, nondiff=True, mx=_choice_mx,
      np=lambda a, size, replace: _onp.asarray(_onp.random.choice(a, size, replace)).astype("int64"))
