"""MinPy 0.3's value classes (``minpy.array.Value``, ``Number``, ``wrap``).

MinPy 0.3 had two wrappers: ``Array`` for arrays and ``Number`` for Python
scalars carrying gradient information. Here every MinPy result is an
:class:`~minpy.array.Array` (scalars are 0-d arrays); ``Number`` remains a
plain ``float`` subclass so that code constructing or testing for it still
runs, and ``Value`` is the common base both register with.
"""
from __future__ import annotations

import abc
from typing import Any

import numpy as _onp


class Value(abc.ABC):
    """Base of MinPy's value types: :class:`Array` and :class:`Number` are ``Value``s."""


class Number(float):
    """A Python float as MinPy 0.3 wrapped it (``.val``, ``.asnumpy()``)."""

    @property
    def val(self) -> float:
        return float(self)

    def asnumpy(self) -> float:
        return float(self)


Value.register(Number)


def wrap(data: Any) -> Any:
    """MinPy value for ``data``: NumPy and MXNet arrays (nested in lists, tuples and
    dicts) become :class:`Array`, Python and NumPy scalars :class:`Number`;
    MinPy values and ``None`` pass through."""
    from .array import Array
    from .dispatch import call as _call
    import mxnet as _mx
    if data is None or isinstance(data, (Array, Number)):
        return data
    if isinstance(data, _mx.nd.NDArray):
        return Array.from_mx(data.as_np_ndarray() if hasattr(data, "as_np_ndarray") else data)
    if isinstance(data, _mx.np.ndarray):
        return Array.from_mx(data)
    if isinstance(data, _onp.ndarray):
        return _call.from_host(data, None, data.dtype if data.dtype != _onp.float64 else None)
    if isinstance(data, bool):
        return data
    if isinstance(data, (int, float, _onp.integer, _onp.floating)):
        return Number(data)
    if isinstance(data, (list, tuple)) and not hasattr(data, "_fields"):
        return type(data)(wrap(v) for v in data)
    if isinstance(data, dict):
        return {k: wrap(v) for k, v in data.items()}
    raise TypeError(f"minpy.array.wrap: cannot wrap a {type(data).__name__}")


class ConfigDict(dict):
    """``minpy.Config``: MinPy 0.3's settings dict. ``Config['default_policy']`` reads
    and sets the global policy (as ``minpy.get_global_policy`` / ``set_global_policy``)."""

    def __getitem__(self, key):
        if key == "default_policy":
            from .dispatch.policy import get_global_policy
            return get_global_policy()
        return super().__getitem__(key)

    def __setitem__(self, key, value) -> None:
        if key == "default_policy":
            from .dispatch.policy import set_global_policy
            set_global_policy(value)
            return
        super().__setitem__(key, value)

    def get(self, key, default=None):
        return self[key] if key == "default_policy" or key in self else default

    def __contains__(self, key) -> bool:
        return key == "default_policy" or super().__contains__(key)


def show_op_stat() -> None:
    """Print how many calls of each function ran on MXNet and on NumPy since
    ``record_op_stat()`` (MinPy 0.3's report; ``minpy.call_stats()`` returns the numbers)."""
    from .dispatch.stats import call_stats
    stats = call_stats()
    n_mx = sum(d["mxnet"] for d in stats.values())
    n_np = sum(d["numpy"] for d in stats.values())
    print("--------Op Dispatch Statistics Start--------")
    for backend in ("mxnet", "numpy"):
        print(f"{'MXNET' if backend == 'mxnet' else 'NUMPY'} op called times:")
        for name, d in sorted(stats.items()):
            if d[backend]:
                print(f" {name} : {d[backend]}")
    if n_mx + n_np:
        print(f"Total Dispatch Proportion: {n_mx / (n_mx + n_np):.1%} in MXNet, "
              f"{n_np / (n_mx + n_np):.1%} in NumPy")
    print("--------Op Dispatch Statistics End--------")


def record_op_stat() -> None:
    """Start counting calls per function and back end from zero (see ``show_op_stat``)."""
    from .dispatch.stats import reset_call_stats
    reset_call_stats()


def set_policy(policy) -> None:
    """MinPy 0.3's ``minpy.numpy.set_policy``: sets the global policy (MinPy has one
    policy for every module)."""
    from .dispatch.policy import set_global_policy
    set_global_policy(policy)
