"""Device contexts.

Rule for mixing contexts: an operation runs on the context of its first MinPy
array operand; other array operands are copied there. NumPy arrays and Python
scalars are placed on that context too (or on the current context when no
MinPy array is involved).
"""
from __future__ import annotations

import threading

import mxnet as _mx


class Context:
    """A device (``cpu(i)`` or ``gpu(i)``) usable as a ``with`` block."""

    __slots__ = ("device_type", "device_id", "mx", "key")

    def __init__(self, device_type: str, device_id: int = 0) -> None:
        if device_type not in ("cpu", "gpu"):
            raise ValueError(f"minpy.context.Context: unknown device type {device_type!r}")
        if not isinstance(device_id, int) or isinstance(device_id, bool) or device_id < 0:
            raise ValueError(f"minpy.context.Context: device id must be a non-negative int, got {device_id!r}")
        if device_type == "gpu":
            _check_gpu(device_id)
        self.device_type = device_type
        self.device_id = device_id
        self.mx = _mx.Context(device_type, device_id)
        self.key = (device_type, device_id)    # hashed and compared in C (jit signatures)

    def __eq__(self, other) -> bool:
        return isinstance(other, Context) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"{self.device_type}({self.device_id})"

    def __enter__(self) -> "Context":
        _stack().append(self)
        return self

    def __exit__(self, *exc) -> None:
        _stack().pop()


_local = threading.local()
_default = None


def _stack() -> list:
    s = getattr(_local, "stack", None)
    if s is None:
        s = _local.stack = []
    return s


def cpu(device_id: int = 0) -> Context:
    """A CPU context. MXNet treats ``cpu(0)``, ``cpu(1)``... as distinct devices."""
    return Context("cpu", device_id)


def num_gpus() -> int:
    try:
        return _mx.context.num_gpus()
    except _mx.base.MXNetError:
        return 0


# MXNet 1.9.1's CUDA builds on the package index, newest first (docs/gpu.md)
CUDA_BUILDS = ("mxnet-cu117", "mxnet-cu116", "mxnet-cu115", "mxnet-cu114", "mxnet-cu113",
               "mxnet-cu112", "mxnet-cu111", "mxnet-cu110", "mxnet-cu102", "mxnet-cu101")


def has_cuda() -> bool:
    """Whether the installed MXNet was built with CUDA."""
    try:
        return bool(_mx.runtime.Features().is_enabled("CUDA"))
    except Exception:
        return False


def _check_gpu(device_id: int) -> None:
    n = num_gpus()
    if device_id >= n:
        if not has_cuda():
            why = ("the installed MXNet is a CPU-only build. Install the CUDA build of "
                   "MXNet 1.9.1 that matches your CUDA toolkit instead of it, e.g. "
                   "`pip uninstall -y mxnet && pip install mxnet-cu112==1.9.1` "
                   f"(builds: {', '.join(CUDA_BUILDS)}; see docs/gpu.md)")
        elif n == 0:
            why = ("MXNet was built with CUDA but sees no GPU (check the driver, "
                   "nvidia-smi and CUDA_VISIBLE_DEVICES)")
        else:
            why = f"only {n} GPU(s) are visible"
        raise RuntimeError(f"minpy.context.gpu({device_id}): {why}")


def gpu(device_id: int = 0) -> Context:
    """A GPU context; raises ``RuntimeError`` when MXNet cannot reach that GPU."""
    return Context("gpu", device_id)


def current_context() -> Context:
    """The innermost ``with ctx:`` context of this thread, else the default."""
    s = _stack()
    if s:
        return s[-1]
    global _default
    if _default is None:
        _default = cpu()
    return _default


def set_context(ctx: Context) -> None:
    """Set the context used outside any ``with ctx:`` block."""
    if not isinstance(ctx, Context):
        raise TypeError(f"minpy.context.set_context: expected a Context, got {type(ctx).__name__}")
    global _default
    _default = ctx


def from_mx(mx_ctx) -> Context:
    return Context(mx_ctx.device_type if mx_ctx.device_type != "cpu_pinned" else "cpu", mx_ctx.device_id)
