"""MXNet reads a float attribute with dmlc's ``stod``, which calls inf "Out of range
value" whenever the calling thread's ``errno`` still says ERANGE from some earlier
math call on that thread (the C library sets it for ``log(0)`` or an overflow and
never clears it): ``np.equal(inf, x)`` then failed or succeeded depending on what
ran before it. The flag is cleared before MXNet parses such a value."""
from __future__ import annotations

import ctypes as _ctypes
import math as _math
from typing import Iterable


def _errno_cell():
    """libc's accessor of the calling thread's errno (glibc, macOS, Windows names)."""
    try:
        libc = _ctypes.CDLL(None)
    except (OSError, TypeError):
        return None
    for name in ("__errno_location", "__error", "_errno"):
        fn = getattr(libc, name, None)
        if fn is not None:
            fn.restype = _ctypes.POINTER(_ctypes.c_int)
            fn.argtypes = []
            return fn
    return None


_CELL = _errno_cell()


def clear_errno() -> None:
    if _CELL is not None:
        _CELL().contents.value = 0


def guard(values: Iterable) -> None:
    """Clear errno if MXNet is about to parse an inf or nan among ``values``."""
    for v in values:
        if type(v) is float and not _math.isfinite(v):
            clear_errno()
            return
