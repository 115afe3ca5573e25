"""NumPy's namespace on MXNet: ``import minpy.numpy as np``.

Registered functions run on MXNet (or as the policy says); any other public
NumPy name falls back to NumPy transparently.
"""
from __future__ import annotations

import inspect as _inspect

import numpy as _onp

from .. import ops as _ops  # noqa: F401  (registers every operator)
from ..array import Array
from ..dispatch import call as _call
from ..dispatch import fallback as _fallback
from ..dispatch.registry import REGISTRY as _REGISTRY
from ._composite import COMPOSITES as _COMPOSITES
from . import linalg, random  # noqa: F401

ndarray = Array


def _operand_names(op, base) -> list:
    """NumPy's names for the array operands (``a``, ``x1``...), for help and IDEs."""
    if isinstance(base, _onp.ufunc):
        return ["x"] if op.nin == 1 else [f"x{i + 1}" for i in range(op.nin)]
    try:
        names = [p.name for p in _inspect.signature(base).parameters.values()][:op.nin]
    except (TypeError, ValueError):
        names = []
    if len(names) == op.nin:
        return names
    return ["a", "b", "c"][:op.nin] if op.nin <= 3 else [f"a{i}" for i in range(op.nin)]


def _signature(op, base) -> _inspect.Signature:
    """The parameters a call really accepts: ``bind``'s own, or the operands
    (positional only, as ``call.bind_args`` takes them), the registry's
    attributes, and ``out``."""
    P = _inspect.Parameter
    out = [P("out", P.KEYWORD_ONLY, default=None)] if _takes_out(base) else []
    if op.bind is not None:
        params = list(_inspect.signature(op.bind).parameters.values())
        if out and "out" not in {p.name for p in params}:
            kw = [i for i, p in enumerate(params) if p.kind is P.VAR_KEYWORD]
            params[kw[0] if kw else len(params):0] = out
        return _inspect.Signature(params)
    params = [P(n, P.POSITIONAL_ONLY) for n in _operand_names(op, base)]
    params += [P(n, P.POSITIONAL_OR_KEYWORD, default=d) for n, d in op.defaults]
    return _inspect.Signature(params + out)


def _takes_out(base) -> bool:
    if isinstance(base, _onp.ufunc):
        return True
    try:
        return "out" in _inspect.signature(base).parameters
    except (TypeError, ValueError):
        return base is not None and "out=None" in (base.__doc__ or "").split("\n", 3)[1]


def _make(op):
    def fn(*args, **kwargs):
        return _call.call(op, args, kwargs, 1)      # 1: this wrapper is minpy's own frame
    fn.__name__ = fn.__qualname__ = op.name
    base = getattr(_onp, op.name, None)
    where = "Runs on MXNet." if op.mx is not None else "Runs in NumPy (MinPy knows its gradient)."
    fn.__doc__ = f"``numpy.{op.name}`` for MinPy arrays. {where}\n\n" + \
        ((base.__doc__ or "") if base is not None else "")
    fn.__module__ = __name__
    fn.__signature__ = _signature(op, base)
    return fn


for _name, _op in _REGISTRY.items():
    if not _name.startswith("_") and "." not in _name:
        globals()[_name] = _make(_op)

for _name, _fn in _COMPOSITES.items():
    globals()[_name] = _fn

abs = globals()["absolute"]
from .._compat_values import record_op_stat, set_policy, show_op_stat  # noqa: E402,F401  (MinPy 0.3)
newaxis = None


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    if name == "policy":        # MinPy 0.3: the policy in force (not cached: it may change)
        from ..dispatch.policy import get_global_policy
        return get_global_policy()
    try:
        obj = getattr(_onp, name)
    except AttributeError:
        from .._mxnet_ops import mxnet_function      # MXNet-only operators, as MinPy 0.3 had
        obj = mxnet_function(name)
        if obj is None:
            raise AttributeError(f"module 'minpy.numpy' has no attribute {name!r} "
                                 f"(and NumPy has none either)") from None
        globals()[name] = obj
        return obj
    value = _fallback.resolve(name, obj)
    globals()[name] = value
    return value


del annotations  # the __future__ flag's name, not a NumPy function


def __dir__():
    return sorted(set(n for n in globals() if n[:1] != "_" or n[:2] == "__")
                  | set(n for n in dir(_onp) if not n.startswith("_")))
