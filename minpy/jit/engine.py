"""Lazy mode: record MinPy calls as graph nodes; flush them as one MXNet graph.

Recording is the hot path: one node (whose key part is built right there),
one reference per output, one array handle, one weak reference. Ordering,
dead-code elimination, compiling and binding happen at flush time, and only
on a cache miss.
"""
from __future__ import annotations

import contextlib
import os
import sys
import weakref

import mxnet as _mx
from numpy import dtype as _onp_dtype

from ..array import Array
from ..dispatch import call as _call
from . import counters as _stats
from .config import config
from .compile import run_epoch, run_graph
from .graph import Failed, LNode, LRef, _inside, inside as _is_inside, line_of as _line_of, \
    user_frame

_MXND = _mx.np.ndarray
_getframe = sys._getframe
_new = object.__new__
_weakref = weakref.ref
_SCALAR_DESC = {t: ("s", t) for t in (float, int, bool)}   # one key part per scalar type


class _Epoch:
    """Identity of the nodes recorded since the last flush."""
    __slots__ = ()


class Engine:
    """Per-thread recorder of pending nodes."""

    def __init__(self) -> None:
        self.live: list = []          # weak references to handles that may hold pending values
        self.nodes: list = []         # this epoch's nodes, in record order
        self.ext: list = []           # concrete input buffers, each once, in first-use order
        self.ext_ids: dict = {}       # id(buffer) -> position in ext
        self.scalars: list = []       # Python scalars, likewise
        self.epoch = _Epoch()
        self.reason = None
        self.tracing = None           # a minpy.jit trace in progress (records handles, breaks)
        self.native_epoch = None      # the epoch holding a native backward pass (one per graph)
        self.busy = False             # recording or flushing (re-entry: a signal handler)
        self.deferred = False         # a flush asked for while busy: run it when done

    # -- hot path ----------------------------------------------------------------------
    def record(self, op, operands, attrs, info, ctx, skip: int = 0):
        """Append a node for one call (or run it eagerly); its output arrays. ``skip``:
        frames above ``call``'s caller known to be minpy's own (see ``call``)."""
        lz = op.lazy
        if lz is not None and (lz is False or not lz(attrs)) or info.eager or \
                info.empty or self.busy:           # MXNet graphs cannot hold empty arrays;
            _stats.bump("eager_ops")               # busy: a signal handler interrupted us
            if self.tracing is not None:
                self.tracing.eager_call(op)
            return _call.run_mxnet(op, operands, info, ctx)
        # ``busy`` while the lists are being changed: a signal handler that flushes or
        # records meanwhile must not see (or extend) a half-recorded node; what this call
        # appended is taken back if it is interrupted (KeyboardInterrupt)
        self.busy = True
        ext, scalars = self.ext, self.scalars
        n_ext, n_scalars = len(ext), len(scalars)
        stale = None
        try:
            epoch = self.epoch
            desc, inputs = [], []
            for o in operands:
                if type(o) is Array:
                    d = o._data
                    if type(d) is LRef:
                        v = d.value
                        if v is None:
                            n = d.node
                            if n.epoch is epoch:
                                desc.append((n.pos, d.index))
                                inputs.append(d)
                                continue
                            stale = (d, o)       # pending from an older epoch: computed below
                            break
                        if type(v) is Failed:    # computed from a failed value: fails alike
                            stale = v
                            break
                        d = v
                    ext_ids = self.ext_ids
                    k = ext_ids.get(id(d))
                    if k is None:
                        k = ext_ids[id(d)] = len(ext)
                        ext.append(d)
                        if self.tracing is not None:
                            self.tracing.ext_handles.append(o)
                    desc.append(("x", k, o._shape, o._dtype.char))
                    inputs.append(d)
                else:
                    t = type(o)
                    desc.append(_SCALAR_DESC.get(t) or ("s", t))
                    scalars.append(o)
                    inputs.append(o)
            if stale is None:
                nodes = self.nodes
                where = None
                if config.record_source_lines:
                    # the user's line: the first frame above ``call`` outside minpy
                    # (``graph.user_frame``, inlined: it runs once per recorded call)
                    try:
                        f = _getframe(2 + skip)
                    except ValueError:      # called from C with no Python frame above
                        f = _getframe(2)
                    while f is not None:
                        v = _inside.get(id(f.f_code))
                        if v is None:
                            v = _is_inside(f.f_code)
                        if v is not True:       # the user's code: its line, memoised
                            where = v.get(f.f_lasti)
                            if where is None:
                                where = _line_of(f, v)
                            break
                        f = f.f_back
                node = LNode(op, inputs, attrs, info, ctx, len(nodes), epoch,
                             (op, attrs, tuple(desc)), where)
                nodes.append(node)
        except BaseException:
            self._take_back(n_ext, n_scalars)
            raise
        finally:
            self.busy = False
        if stale is not None:
            self._take_back(n_ext, n_scalars)
            if type(stale) is Failed:
                return self._failed_outputs(stale, info, ctx)
            # pending from an older epoch that no live handle kept: compute it now,
            # then record again
            stale[0].materialise(stale[1], "stale")
            return self.record(op, operands, attrs, info, ctx, skip)
        shapes = info.shapes
        live = self.live
        if len(shapes) == 1:
            a = _new(Array)          # Array._wrap, inlined
            a._data = LRef(node, 0)
            a._shape = shapes[0]
            a._dtype = info.dtypes[0]
            a._ctx = ctx
            a._rec = None
            live.append(_weakref(a))
            out = [a]
        else:
            out = []
            for i, (s, d) in enumerate(zip(shapes, info.dtypes)):
                a = Array._wrap(LRef(node, i), s, d, ctx)
                live.append(_weakref(a))
                out.append(a)
        if len(nodes) >= config.max_pending or self.deferred:
            self.flush("bound" if not self.deferred else "deferred")
        return out

    def _take_back(self, n_ext: int, n_scalars: int) -> None:
        """Undo the list appends of an interrupted or restarted ``record``."""
        ext = self.ext
        if len(ext) > n_ext:
            for d in ext[n_ext:]:
                self.ext_ids.pop(id(d), None)
            del ext[n_ext:]
            if self.tracing is not None:
                del self.tracing.ext_handles[n_ext:]
        del self.scalars[n_scalars:]

    @staticmethod
    def _failed_outputs(failed, info, ctx) -> list:
        """Arrays for a call whose operand failed: reading them raises that error."""
        out = []
        for s, d in zip(info.shapes, info.dtypes):
            r = LRef(None, 0)
            r.value = failed
            out.append(Array._wrap(r, s, d, ctx))
        return out

    def record_data(self, op, data, attrs, info, ctx) -> list:
        """Append a node whose inputs are already values (pending references,
        buffers or scalars), as a replayed backward pass does; its output refs."""
        epoch = self.epoch
        desc = []
        n_ext, n_scalars = len(self.ext), len(self.scalars)
        for d in data:
            t = type(d)
            if t is LRef:
                if d.value is None:
                    if d.node.epoch is epoch:
                        desc.append((d.node.pos, d.index))
                        continue
                    # pending from an epoch a flush ended (a bound reached in the middle of
                    # a replayed backward pass) that no live handle kept: compute it, then
                    # describe the node again in the epoch now open
                    self._take_back(n_ext, n_scalars)
                    d.materialise(None, "stale")
                    return self.record_data(op, data, attrs, info, ctx)
                if type(d.value) is Failed:
                    self._take_back(n_ext, n_scalars)
                    return [a._data for a in self._failed_outputs(d.value, info, ctx)]
                d = d.value
                t = type(d)
            if t is float or t is int or t is bool:
                desc.append(("s", t))
                self.scalars.append(d)
                continue
            k = self.ext_ids.get(id(d))
            if k is None:
                k = self.ext_ids[id(d)] = len(self.ext)
                self.ext.append(d)
            desc.append(("x", k, tuple(d.shape), _onp_dtype(d.dtype).char))
        nodes = self.nodes
        node = LNode(op, list(data), attrs, info, ctx, len(nodes), epoch, (op, attrs, tuple(desc)),
                     None)
        nodes.append(node)
        refs = [LRef(node, i) for i in range(len(info.shapes))]
        if len(nodes) >= config.max_pending:
            self.flush("bound")
        return refs

    def track(self, arr) -> None:
        """A handle (not made by ``record``) now holds a pending value."""
        self.live.append(weakref.ref(arr))

    def note_fallback(self, name: str) -> None:
        if self.tracing is not None:        # inside a @jit trace a fallback is a break, by name
            self.tracing.note_fallback(name)
        else:
            self.reason = "fallback"

    def discard(self) -> None:
        """Start a new epoch without computing what is pending (a jit trace that
        produced its results by other means); leftovers compute on access."""
        self.live, self.nodes, self.ext, self.scalars = [], [], [], []
        self.ext_ids = {}
        self.epoch = _Epoch()

    # -- flush -------------------------------------------------------------------------
    def flush(self, reason: str = "flush", extra=(), where=None) -> None:
        """Compute what live handles (and ``extra``) need; ``where`` is the user's line
        when the caller found it already."""
        if not self.live and not self.nodes and not extra and self.tracing is None and \
                not self.busy and not self.deferred:
            # nothing pending (the end of a ``with minpy.lazy():`` block whose result
            # was read already): no graph, only the reason is used up
            self.reason = None
            return
        if self.busy:
            # re-entered (a signal handler, or a read made while this engine records or
            # flushes): compute only the values asked for, apart from the epoch in
            # progress; a plain flush waits until the interrupted work is done
            todo = [r for r in extra if r.value is None]
            if todo:
                run_graph(self, todo, reason, where or user_frame(2), detach=False)
            else:
                self.deferred = True
            return
        if self.reason is not None:
            reason, self.reason = self.reason, None
        if self.tracing is not None:
            if where is None:
                where = user_frame(2)
            self.tracing.graph_break(reason, where)
        self.busy = True
        try:
            self.deferred = False
            epoch = self.epoch
            refs, handles, stale = [], [], []
            seen = set()
            for a in [w() for w in self.live]:     # most are dead intermediates
                if a is None:
                    continue
                d = a._data
                if type(d) is LRef:
                    handles.append(a)
                    if d.value is None and id(d) not in seen:
                        seen.add(id(d))
                        (refs if d.node.epoch is epoch else stale).append(d)
            for r in extra:
                if r.value is None and id(r) not in seen:
                    seen.add(id(r))
                    (refs if r.node.epoch is epoch else stale).append(r)
            nodes, ext, scalars = self.nodes, self.ext, self.scalars
            self.live, self.nodes, self.ext, self.scalars = [], [], [], []
            self.ext_ids = {}
            self.epoch = _Epoch()
            if where is None:
                where = user_frame(2)
            if stale:
                run_graph(self, stale, reason, where)
            if refs:
                run_epoch(self, nodes, ext, scalars, refs, reason, where)
            for a in handles:
                d = a._data
                if type(d) is LRef:
                    v = d.value
                    if v is not None and type(v) is not Failed:
                        a._data = v
        finally:
            self.busy = False
        if self.deferred:
            self.deferred = False
            self.flush("deferred")


_state = _call._lazy
_call.lazy_factory = Engine
_call.lazy_default = os.environ.get("MINPY_LAZY", "0").strip().lower() in ("1", "true", "yes", "on")
if _call.lazy_default and _state.engine is None:
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
    """Whether calls in this thread are recorded lazily."""
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


class lazy(contextlib.ContextDecorator):
    """``with minpy.lazy():`` records lazily inside the block; ``lazy(False)`` forces eager.

    A class rather than a generator: entering and leaving a block is on the path of a
    short lazy loop body (microseconds). Also usable as a decorator (each call of the
    decorated function uses its own instance)."""

    __slots__ = ("flag", "prev")

    def __init__(self, flag: bool = True) -> None:
        self.flag = flag
        self.prev = None          # the mode to restore, while the block runs

    def __enter__(self) -> None:
        if self.prev is not None:
            raise RuntimeError("minpy.lazy(): this object is already in use by a with-block; "
                               "use a new minpy.lazy() for each block")
        prev = _state.engine is not None
        _set_thread(self.flag)
        self.prev = prev

    def __exit__(self, *exc) -> None:
        prev, self.prev = self.prev, None
        _set_thread(prev)

    def _recreate_cm(self) -> "lazy":
        return lazy(self.flag)


def flush() -> None:
    """Evaluate everything pending in this thread."""
    eng = _state.engine or _state.spare
    if eng is not None:
        eng.flush("flush")
