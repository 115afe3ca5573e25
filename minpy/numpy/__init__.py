"""NumPy's namespace on MXNet: ``import minpy.numpy as np``.

Registered functions run on MXNet (or as the policy says); any other public
NumPy name falls back to NumPy transparently.
"""
from __future__ import annotations

import numpy as _onp

from .. import ops as _ops  # noqa: F401  (registers every operator)
from ..array import Array
from ..dispatch import call as _call
from ..dispatch import fallback as _fallback
from ..dispatch.registry import REGISTRY as _REGISTRY
from ._composite import COMPOSITES as _COMPOSITES
from . import random  # noqa: F401

ndarray = Array


def _make(op):
    def fn(*args, **kwargs):
        return _call.call(op, args, kwargs)
    fn.__name__ = fn.__qualname__ = op.name
    base = getattr(_onp, op.name, None)
    where = "Runs on MXNet." if op.mx is not None else "Runs in NumPy (MinPy knows its gradient)."
    fn.__doc__ = f"``numpy.{op.name}`` for MinPy arrays. {where}\n\n" + \
        ((base.__doc__ or "") if base is not None else "")
    fn.__module__ = __name__
    return fn


for _name, _op in _REGISTRY.items():
    if not _name.startswith("_") and "." not in _name:
        globals()[_name] = _make(_op)

for _name, _fn in _COMPOSITES.items():
    globals()[_name] = _fn

abs = globals()["absolute"]
newaxis = None


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        obj = getattr(_onp, name)
    except AttributeError:
        raise AttributeError(f"module 'minpy.numpy' has no attribute {name!r} "
                             f"(and NumPy has none either)") from None
    value = _fallback.resolve(name, obj)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(n for n in dir(_onp) if not n.startswith("_")))
