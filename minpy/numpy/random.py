"""``minpy.numpy.random``: sampling on MXNet with NumPy's calling conventions.

``seed`` seeds both MXNet's and NumPy's generators, so fallback sampling is
reproducible too. Streams differ from NumPy's: the same seed does not give
NumPy's numbers.
"""
from __future__ import annotations

import mxnet as _mx
import numpy as _onp

from ..array import Array
from ..dispatch import call as _call
from ..dispatch import fallback as _fallback
from ..dispatch.registry import REGISTRY as _R


def seed(seed: int) -> None:
    if not isinstance(seed, (int, _onp.integer)) or seed < 0:
        raise ValueError(f"minpy.numpy.random.seed: expected a non-negative int, got {seed!r}")
    _mx.random.seed(int(seed))
    _onp.random.seed(int(seed) % (2 ** 32))


def uniform(low=0.0, high=1.0, size=None, dtype=None) -> Array:
    return _call.call(_R["random.uniform"], (low, high, size, dtype), None)


def normal(loc=0.0, scale=1.0, size=None, dtype=None) -> Array:
    return _call.call(_R["random.normal"], (loc, scale, size, dtype), None)


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


def __getattr__(name: str):
    obj = getattr(_onp.random, name)
    return _fallback.resolve(f"random.{name}", obj)
