"""Process-wide settings that users and tests may change."""
from __future__ import annotations

import numpy as _onp

_FLOATS = ("float16", "float32", "float64")


class _Config:
    __slots__ = ("default_dtype",)

    def __init__(self) -> None:
        self.default_dtype = _onp.dtype("float32")


config = _Config()


def set_default_dtype(dtype) -> None:
    """Choose the float dtype used where NumPy would silently pick float64."""
    dt = _onp.dtype(dtype)
    if dt.name not in _FLOATS:
        raise TypeError(f"minpy.set_default_dtype: expected a float dtype, got {dt.name}")
    config.default_dtype = dt


def get_default_dtype() -> _onp.dtype:
    return config.default_dtype
