"""Lazy mode: record MinPy calls as graph nodes; flush them as one MXNet graph.

Recording is the hot path: one node, one reference per output, one array
handle, one weak reference. Everything else -- ordering, keys, compiling,
graph passes -- happens in :func:`Engine.flush`.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import weakref

import mxnet as _mx

from ..array import Array
from ..dispatch import call as _call
from . import counters as _stats
from .config import config
from .graph import LNode, LRef, user_frame

_MXND = _mx.np.ndarray
_seq = itertools.count()
_global_lazy = os.environ.get("MINPY_LAZY", "0").strip().lower() in ("1", "true", "yes", "on")


class Engine:
    """Per-thread recorder of pending nodes."""

    def __init__(self) -> None:
        self.live: list = []          # weak references to arrays made since the last flush
        self.pending = 0
        self.eager_only: set = set()  # (op name, attrs) whose symbolic lowering failed
        self.reason = None

    # -- hot path ----------------------------------------------------------------------
    def record(self, op, operands, attrs, shapes, dtypes, ctx):
        if (op.name, attrs) in self.eager_only or op.name in _EAGER_ONLY:
            _stats.bump("eager_ops")
            return _call.run_mxnet(op, operands, attrs, shapes, dtypes, ctx)
        inputs = []
        for o in operands:
            if type(o) is Array:
                d = o._data
                if type(d) is LRef and d.value is not None:
                    d = d.value
                inputs.append(d)
            else:
                inputs.append(o)
        where = user_frame(2) if config.record_source_lines else None
        node = LNode(op, tuple(inputs), attrs, shapes, dtypes, ctx, next(_seq), where)
        out = []
        live = self.live
        for i in range(len(shapes)):
            a = Array._wrap(LRef(node, i), shapes[i], dtypes[i], ctx)
            live.append(weakref.ref(a))
            out.append(a)
        self.pending += 1
        if self.pending >= config.max_pending:
            self.flush("bound")
        return out

    def note_fallback(self, name: str) -> None:
        self.reason = "fallback"

    # -- flush -------------------------------------------------------------------------
    def flush(self, reason: str = "flush", extra=()) -> None:
        if self.reason is not None:
            reason, self.reason = self.reason, None
        refs, arrays = [], []
        seen = set()
        for w in self.live:
            a = w()
            if a is None:
                continue
            d = a._data
            if type(d) is LRef:
                if d.value is None and id(d) not in seen:
                    seen.add(id(d))
                    refs.append(d)
                arrays.append(a)
        for r in extra:
            if r.value is None and id(r) not in seen:
                seen.add(id(r))
                refs.append(r)
        self.live = []
        self.pending = 0
        if refs:
            from .compile import run_graph
            run_graph(self, refs, reason, user_frame(2))
        for a in arrays:
            d = a._data
            if type(d) is LRef and d.value is not None:
                a._data = d.value


_EAGER_ONLY = {"_to_context", "_function_backward"}


_state = _call._lazy
_call.lazy_factory = lambda: Engine()
_call.lazy_default = _global_lazy
if _global_lazy and _state.engine is None:
    _state.engine = Engine()


def engine_for_flush() -> Engine:
    """The engine that can compute pending values in this thread."""
    eng = _state.engine
    if eng is None:
        eng = _state.spare
        if eng is None:
            eng = _state.spare = Engine()
    return eng


def is_lazy() -> bool:
    return _state.engine is not None


def set_lazy(flag: bool = True) -> None:
    """Turn lazy mode on or off for this thread (and threads that start using MinPy later)."""
    _call.lazy_default = bool(flag)
    _set_thread(bool(flag))


def _set_thread(flag: bool) -> None:
    if flag and _state.engine is None:
        _state.engine = _state.spare or Engine()
        _state.spare = None
    elif not flag and _state.engine is not None:
        _state.engine.flush("mode")
        _state.spare = _state.engine
        _state.engine = None


@contextlib.contextmanager
def lazy(flag: bool = True):
    """``with minpy.lazy():`` records lazily inside the block; ``lazy(False)`` forces eager."""
    prev = _state.engine is not None
    _set_thread(flag)
    try:
        yield
    finally:
        _set_thread(prev)


def flush() -> None:
    """Evaluate everything pending in this thread."""
    eng = _state.engine or _state.spare
    if eng is not None:
        eng.flush("flush")

