"""The MinPy 0.x core API: gradients and argument conversion helpers."""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as _onp

from .array import Array
from .autograd import grad, grad_and_loss  # noqa: F401
from .dispatch import call as _call


def numpy_to_minpy(var: Any) -> Any:
    """Convert NumPy arrays (nested in lists/tuples/dicts) to MinPy arrays."""
    if isinstance(var, _onp.ndarray):
        return _call.from_host(var, None, var.dtype if var.dtype != _onp.float64 else None)
    if isinstance(var, (list, tuple)):
        return type(var)(numpy_to_minpy(v) for v in var)
    if isinstance(var, dict):
        return {k: numpy_to_minpy(v) for k, v in var.items()}
    return var


def minpy_to_numpy(var: Any) -> Any:
    """Convert MinPy arrays (nested in lists/tuples/dicts) to NumPy arrays."""
    return _call.to_host(var)


def convert_args(fn: Callable) -> Callable:
    """Decorator: NumPy array arguments arrive as MinPy arrays."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*numpy_to_minpy(args), **numpy_to_minpy(kwargs))
    return wrapper


def return_numpy(fn: Callable) -> Callable:
    """Decorator: MinPy array results come back as NumPy arrays."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return minpy_to_numpy(fn(*args, **kwargs))
    return wrapper


def __getattr__(name: str):
    if name == "Function":
        from .function import Function
        return Function
    raise AttributeError(f"module 'minpy.core' has no attribute {name!r}")
