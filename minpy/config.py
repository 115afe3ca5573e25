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
    try:
        dt = _onp.dtype(dtype)
    except TypeError:
        raise TypeError(f"minpy.set_default_dtype: {dtype!r} is not a dtype; "
                        f"expected one of {', '.join(_FLOATS)}") from None
    if dt.name not in _FLOATS:
        raise TypeError(f"minpy.set_default_dtype: expected a float dtype "
                        f"({', '.join(_FLOATS)}), got {dt.name}")
    if dt != config.default_dtype:
        config.default_dtype = dt
        _forget_inferred()


def _forget_inferred() -> None:
    """Drop cached shape/dtype inference: cached dtypes depend on the default."""
    import sys
    call = sys.modules.get("minpy.dispatch.call")
    cache = getattr(call, "_shape_cache", None)
    if cache is not None:
        cache.clear()


def get_default_dtype() -> _onp.dtype:
    return config.default_dtype
