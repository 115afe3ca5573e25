"""MinPy's lazy engine: record calls, run them as cached MXNet graphs."""
from __future__ import annotations

from .config import config, load_profile  # noqa: F401

load_profile()   # the settings python -m minpy.jit.tune chose on this machine, if any
from .engine import flush, is_lazy, lazy, set_lazy  # noqa: F401
from .counters import flush_log, print_flush_log, reset_stats, stats  # noqa: F401
from .compile import LazyEvaluationError  # noqa: F401
from .dot import last_graph_dot, write_last_graph  # noqa: F401
from . import backward_cache  # noqa: F401
from .tracing import (GraphBreakError, JitCheckError, JitFunction, JitSideEffectError,  # noqa: F401
                      explain, jit)


class _CallableModule(type(__import__("sys"))):
    """``minpy.jit`` is a package and also the decorator: ``@minpy.jit``."""

    def __call__(self, fn=None, **kwargs):
        return jit(fn, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
