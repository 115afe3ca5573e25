"""Registering the glue's operators with MXNet and finding generated kernels.

``mx.library.load`` regenerates every operator wrapper in Python (~0.4 s a call);
the C call alone takes under a millisecond, and only ``_minpy_kernel`` needs a
symbol function, so this module does just that, once per process. Kernel
libraries are plain shared objects opened with ctypes and kept open for the
life of the process (MXNet graphs hold their functions' addresses).
"""
from __future__ import annotations

import ctypes
import threading

from mxnet.base import OpHandle, _LIB, c_str, check_call, mx_uint
from mxnet.symbol.register import _make_symbol_function

from . import glue, toolchain

_lock = threading.Lock()
_op = None
_others: dict = {}
_libs: dict = {}


def kernel_op():
    """The symbol function of ``_minpy_kernel`` (built and registered on first use)."""
    global _op
    with _lock:
        if _op is None:
            path = toolchain.build_glue(glue.SOURCE)
            check_call(_LIB.MXLoadLib(c_str(path), mx_uint(0)))
            h = OpHandle()
            check_call(_LIB.NNGetOpHandle(c_str("_minpy_kernel"), ctypes.byref(h)))
            _op = _make_symbol_function(h, "_minpy_kernel", "_minpy_kernel")
        return _op


def extension_op(name: str):
    """The symbol function of another operator of the glue (``glue.SOURCE``)."""
    kernel_op()
    with _lock:
        fn = _others.get(name)
        if fn is None:
            h = OpHandle()
            check_call(_LIB.NNGetOpHandle(c_str(name), ctypes.byref(h)))
            fn = _others[name] = _make_symbol_function(h, name, name)
        return fn


def addresses(path: str, names) -> dict:
    """``{kernel name: function address}`` in the kernel library at ``path``."""
    with _lock:
        lib = _libs.get(path)
        if lib is None:
            lib = _libs[path] = ctypes.CDLL(path)
        return {n: ctypes.cast(getattr(lib, n), ctypes.c_void_p).value for n in names}
