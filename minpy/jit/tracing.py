"""``@minpy.jit``: trace a function once per input signature, then replay its graph.

The first call with a signature runs the function in lazy mode while watching
what it reads and writes: which concrete buffers feed the graph (arguments or
captured arrays, told apart by the handle that was read), which handles it
re-pointed (in-place updates) and whether anything forced a value (a graph
break). A trace without breaks is compiled once; later calls with the same
signature skip the Python body: they feed the current buffers of arguments and
captured handles to the bound executor and re-point the handles it updates.
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, Optional, Sequence

import mxnet as _mx
import numpy as _onp

from ..array import Array
from ..config import config as _mconfig
from ..dispatch import call as _call
from . import counters as _stats
from .config import config
from .engine import _set_thread, _state
from .graph import LRef, format_where, user_frame

_MXND = _mx.np.ndarray
_FULL = _mx.nd._internal._full


class GraphBreakError(RuntimeError):
    """A ``strict`` jitted function needed a concrete value while being traced."""


class JitCheckError(AssertionError):
    """``check=True``: replaying the cached graph disagreed with running the function."""


# While a trace runs, three things must be seen that recording alone does not show:
# a read of a *concrete* array's value (``float(x)`` on an argument: the value would
# be baked into the graph), an operation that runs eagerly instead of being recorded
# (random sampling, eager-only operators), and autograd's snapshots of arrays (the
# user's handle, not the snapshot, is what later calls must read). Array._host,
# the dispatcher and autograd._snap report these to ``engine.tracing`` directly.


def _tracing():
    eng = _state.engine
    return eng.tracing if eng is not None else None


# ----------------------------------------------------------------------------- pytrees

def _flatten(obj, leaves: list):
    t = type(obj)
    if t is list or t is tuple:
        return (t, tuple(_flatten(v, leaves) for v in obj))
    if t is dict:
        keys = tuple(sorted(obj, key=repr))
        return (dict, keys, tuple(_flatten(obj[k], leaves) for k in keys))
    leaves.append(obj)
    return None


def _unflatten(tree, it):
    if tree is None:
        return next(it)
    if tree[0] is dict:
        return {k: _unflatten(t, it) for k, t in zip(tree[1], tree[2])}
    return tree[0](_unflatten(t, it) for t in tree[1])


# ----------------------------------------------------------------------------- signature

def _leaf_sig(x, static: bool):
    if static:
        try:
            hash(x)
        except TypeError:
            raise TypeError(f"minpy.jit: static argument {x!r} is not hashable") from None
        return ("K", type(x), x)
    t = type(x)
    if t is Array:
        return ("A", x._shape, x._dtype.char, x._ctx)
    if t is bool or t is int or t is float:
        return ("S", t)
    if isinstance(x, _onp.ndarray):
        return ("N", x.shape, x.dtype.char)
    try:
        hash(x)
        return ("K", t, x)
    except TypeError:
        return ("O", id(x))


class _TraceState:
    __slots__ = ("ext_handles", "mutated", "original", "breaks", "strict", "name", "origin")

    def __init__(self, strict: bool, name: str) -> None:
        self.ext_handles: list = []
        self.mutated: dict = {}       # id -> handle written during the trace
        self.original: dict = {}      # id -> the handle's state before its first write
        self.breaks: list = []
        self.strict = strict
        self.name = name
        self.origin: dict = {}        # id(snapshot) -> (snapshot, the handle it was taken of)

    def resolve(self, h):
        """The handle an autograd snapshot ``h`` was taken of (following chains)."""
        seen = 0
        while id(h) in self.origin and seen < 1000:
            h = self.origin[id(h)][1]
            seen += 1
        return h

    def eager_call(self, op) -> None:
        why = "random sampling" if op.random else "eagerly run operator"
        self.graph_break(f"{why} minpy.numpy.{op.name}", user_frame(3))

    def note_fallback(self, name: str) -> None:
        self.graph_break(f"NumPy fallback minpy.numpy.{name}", user_frame(2))

    def note_write(self, handle) -> None:
        if id(handle) not in self.mutated:
            self.mutated[id(handle)] = handle
            self.original[id(handle)] = (handle._data, handle._shape, handle._dtype, handle._ctx,
                                         handle._rec)

    def undo_writes(self) -> None:
        for k, h in self.mutated.items():
            h._data, h._shape, h._dtype, h._ctx, h._rec = self.original[k]

    def graph_break(self, reason: str, where) -> None:
        if self.breaks and self.breaks[-1][1] == where:
            return                    # one break per line (a fallback reads, then flushes)
        self.breaks.append((reason, where))
        if self.strict:
            raise GraphBreakError(
                f"minpy.jit({self.name}, strict=True): the traced function needs a concrete "
                f"value ({reason}) at {format_where(where)}; make that argument static or "
                f"move the value-dependent code out of the jitted function")


class _Entry:
    """A compiled trace and how to feed it."""

    __slots__ = ("compiled", "plan", "scalars", "out_tree", "out_plan", "muts",
                 "nodes", "kept", "captured", "breaks", "broken")

    def __init__(self) -> None:
        self.broken = False
        self.breaks: list = []
        self.captured: list = []


class JitFunction:
    """A function compiled per input signature; see :func:`jit`."""

    def __init__(self, fn: Callable, static_argnums: Sequence[int] = (),
                 static_argnames: Sequence[str] = (), strict: bool = False,
                 check: bool = False) -> None:
        self.fn = fn
        self.static_argnums = frozenset(static_argnums if not isinstance(static_argnums, int)
                                        else (static_argnums,))
        self.static_argnames = frozenset((static_argnames,) if isinstance(static_argnames, str)
                                         else static_argnames)
        self.strict = strict
        self.check = check
        self.cache: dict = {}
        self.traces = 0
        self.signatures: list = []
        self.warned = False
        functools.update_wrapper(self, fn)

    def __get__(self, obj, objtype=None):
        # ``@minpy.jit`` on a method: the instance is a static argument (by identity),
        # its array attributes are captured arrays, read by reference on every call
        return self if obj is None else functools.partial(self, obj)

    # -- signature ---------------------------------------------------------------------
    def _signature(self, args, kwargs):
        leaves: list = []
        statics: list = []
        trees = []
        for i, a in enumerate(args):
            n = len(leaves)
            trees.append(_flatten(a, leaves))
            statics += [i in self.static_argnums] * (len(leaves) - n)
        ktrees = []
        for k in sorted(kwargs):
            n = len(leaves)
            ktrees.append((k, _flatten(kwargs[k], leaves)))
            statics += [k in self.static_argnames] * (len(leaves) - n)
        for j, x in enumerate(leaves):
            if isinstance(x, _onp.ndarray) and not statics[j]:
                leaves[j] = _call.from_host(x)
        descs = tuple(_leaf_sig(x, s) for x, s in zip(leaves, statics))
        seen, alias = {}, []
        for j, x in enumerate(leaves):
            if type(x) is Array:
                alias.append(seen.setdefault(id(x._data), j))
        sig = (len(args), tuple(trees), tuple(ktrees), descs, tuple(alias), _mconfig.default_dtype)
        return sig, leaves, statics

    def _rebuild(self, sig, leaves):
        it = iter(leaves)
        args = [_unflatten(t, it) for t in sig[1]]
        kwargs = {k: _unflatten(t, it) for k, t in sig[2]}
        return args, kwargs

    # -- calling -----------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        sig, leaves, statics = self._signature(args, kwargs)
        if any(type(x) is Array and x._rec for x in leaves) or _tracing() is not None:
            # a gradient is being taken through this call (run the body on the tape), or
            # an enclosing jitted function is being traced (inline the body into its trace)
            return self.fn(*args, **kwargs)
        entry = self.cache.get(sig)
        if entry is None:
            return self._trace(sig, leaves, statics)
        if entry.broken:
            return self._run_lazy(sig, leaves)
        if self.check:
            return self._checked(entry, sig, leaves)
        _stats.bump("jit_replays")
        return self._replay(entry, leaves, sig)

    def _run_lazy(self, sig, leaves):
        args, kwargs = self._rebuild(sig, leaves)
        prev = _state.engine is not None
        _set_thread(True)
        try:
            return self.fn(*args, **kwargs)
        finally:
            _set_thread(prev)

    # -- tracing -----------------------------------------------------------------------
    def _trace(self, sig, leaves, statics):
        self.traces += 1
        self.signatures.append(sig)
        _stats.bump("jit_traces")
        self._guard()
        prev = _state.engine is not None
        _set_thread(True)
        eng = _state.engine
        eng.flush("jit")
        name = getattr(self.fn, "__name__", "function")
        tr = _TraceState(self.strict, name)
        call_leaves = list(leaves)
        arg_ids, arg_bufs = {}, {}
        for j, (x, d) in enumerate(zip(leaves, sig[3])):
            if d[0] == "S":
                dt = _mconfig.default_dtype if d[1] is float else ("int64" if d[1] is int else "bool")
                x = call_leaves[j] = _call.from_host(x, None, dt)
            if type(x) is Array:
                arg_ids.setdefault(id(x), j)
                if d[0] != "S":
                    arg_bufs.setdefault(id(x._data), j)
        args, kwargs = self._rebuild(sig, call_leaves)
        eng.tracing = tr
        self._last_trace = tr
        try:
            out = self.fn(*args, **kwargs)
        except BaseException:
            eng.tracing = None
            eng.flush("jit")
            _set_thread(prev)
            raise
        eng.tracing = None
        entry = _Entry()
        entry.breaks = tr.breaks
        done = False
        try:
            if tr.breaks:
                entry.broken = True
                done = True
                return out
            built = self._build(entry, eng, tr, arg_ids, arg_bufs, out, sig, leaves)
            if built is None:
                entry.broken = True
                done = True
                return out
            out = None      # the traced values are not needed: the graph computed them
            done = True
            return built
        finally:
            if done:
                self.cache[sig] = entry
                if not entry.broken:
                    eng.discard()       # the compiled graph produced every result already
            # else: interrupted (KeyboardInterrupt) or failed while compiling. Nothing is
            # cached, so the next call traces again; the traced values stay pending in
            # the engine and compute as in lazy mode
            _set_thread(prev)

    def _build(self, entry, eng, tr, arg_ids, arg_bufs, out, sig, leaves):
        from .compile import _INTERPRET, _compile, _indexed, _live_nodes
        epoch = eng.epoch
        nodes, ext, scalars = eng.nodes, eng.ext, eng.scalars
        out_leaves: list = []
        out_tree = _flatten(out, out_leaves)
        outs, out_plan = [], []

        def graph_output(a):
            d = a._data
            if type(d) is LRef and d.value is None and d.node.epoch is epoch:
                outs.append((d.node.pos, d.index))
                return len(outs) - 1
            return None
        for x in out_leaves:
            if type(x) is Array:
                j = arg_ids.get(id(x))
                if j is not None and sig[3][j][0] != "S" or id(x) in tr.mutated:
                    # an argument or captured handle itself (updated in place, maybe):
                    # return that handle, as an eager call would
                    out_plan.append(("arg", j) if j is not None else ("const", x))
                    continue
                k = graph_output(x)
                if k is not None:
                    out_plan.append(("out", k, x._shape, x._dtype, x._ctx))
                elif j is not None:
                    out_plan.append(("arg", j))
                else:
                    out_plan.append(("const", x))
            else:
                out_plan.append(("const", x))
        muts = []
        for h in tr.mutated.values():
            k = graph_output(h)
            if k is None:
                continue
            if id(h) in arg_ids:
                muts.append(("arg", arg_ids[id(h)], k))
            elif h._rec is None:
                muts.append(("cap", h, k))
        plan = []
        for k, h in enumerate(tr.ext_handles):
            h = tr.resolve(h)
            j = arg_ids.get(id(h))
            if j is None:
                j = arg_bufs.get(id(ext[k]))      # another handle on an argument's buffer
            if j is not None:
                plan.append(("sarg", j) if sig[3][j][0] == "S" else ("arg", j))
            else:
                plan.append(("cap", h))
                entry.captured.append(h)
        if not outs:
            return None
        descs = _indexed(nodes)
        keep = _live_nodes(descs, outs)
        ctx = nodes[0].ctx
        if any(n.ctx != ctx for n in nodes):
            return None
        compiled = _compile(eng, nodes, descs, keep, ext, scalars, set(range(len(scalars))),
                            outs, ctx)
        if compiled is _INTERPRET:
            return None
        entry.compiled = compiled
        entry.plan = plan
        entry.scalars = scalars
        entry.out_tree = out_tree
        entry.out_plan = out_plan
        entry.muts = muts
        entry.nodes = len(nodes)
        entry.kept = len(keep)
        # this first call's results come from the compiled graph too
        values = self._run(entry, list(ext))
        if values is None:      # it failed: the traced values (computed lazily) say where
            return None
        return self._deliver(entry, values, leaves)

    # -- replaying ---------------------------------------------------------------------
    def _run(self, entry, ext):
        """The compiled graph's outputs, or None when it failed (or was busy)."""
        from .compile import run_checked
        comp = entry.compiled
        values = run_checked(comp, ext, entry.scalars)
        if values is None:
            return None
        _stats.bump("executed_graphs")
        _stats.bump("executed_nodes", comp.nodes)
        return values

    def _replay(self, entry, leaves, sig):
        ext = []
        for kind, v in entry.plan:
            if kind == "arg":
                ext.append(leaves[v]._mx("jit"))
            elif kind == "sarg":
                ext.append(leaves[v])
            else:
                ext.append(v._mx("jit"))
        values = self._run(entry, ext)
        if values is None:
            # the graph failed as a whole (or this thread is already running it, from a
            # signal handler): run the body lazily, where each error stays with the
            # arrays computed from the operation that raised it
            return self._run_lazy(sig, leaves)
        return self._deliver(entry, values, leaves)

    def _deliver(self, entry, values, leaves):
        res = []
        for p in entry.out_plan:
            if p[0] == "out":
                res.append(Array._wrap(values[p[1]], p[2], p[3], p[4]))
            elif p[0] == "arg":
                res.append(leaves[p[1]])
            else:
                res.append(p[1])
        for kind, h, k in entry.muts:
            handle = leaves[h] if kind == "arg" else h
            if type(handle) is Array:
                handle._data, handle._rec = values[k], None
        return _unflatten(entry.out_tree, iter(res))

    def _checked(self, entry, sig, leaves):
        handles = [leaves[h] if kind == "arg" else h for kind, h, _ in entry.muts]
        before = [(h._data, h._rec) for h in handles]
        replayed = self._replay(entry, leaves, sig)
        after = [h._data for h in handles]
        for h, (d, r) in zip(handles, before):
            h._data, h._rec = d, r
        fresh = self._run_lazy(sig, leaves)
        a, b = [], []
        _flatten(replayed, a)
        _flatten(fresh, b)
        name = getattr(self.fn, "__name__", "function")
        for k, (x, y) in enumerate(zip(a + [Array._wrap(d, h._shape, h._dtype, h._ctx)
                                            for d, h in zip(after, handles)],
                                       b + handles)):
            xv = x.asnumpy() if isinstance(x, Array) else x
            yv = y.asnumpy() if isinstance(y, Array) else y
            if not _onp.allclose(xv, yv, rtol=1e-5, atol=1e-6, equal_nan=True):
                raise JitCheckError(f"minpy.jit({name}, check=True): the cached graph's result "
                                    f"{k} differs from running the function (a captured array "
                                    f"was rebound, or the function has side effects)")
        return fresh

    # -- recompile guard -----------------------------------------------------------------
    def _guard(self) -> None:
        if self.warned or self.traces <= config.jit_max_traces or len(self.signatures) < 2:
            return
        self.warned = True
        a, b = self.signatures[-2], self.signatures[-1]
        what = _describe_change(a, b)
        warnings.warn(f"minpy.jit: {getattr(self.fn, '__name__', 'function')} has been traced "
                      f"{self.traces} times; {what} keeps changing. Make it static, keep its "
                      f"shape fixed, or pass it as an array.", RuntimeWarning, stacklevel=4)


def _describe_change(a, b) -> str:
    if a[0] != b[0] or a[1] != b[1] or a[2] != b[2]:
        return "the structure of the arguments"
    for j, (x, y) in enumerate(zip(a[3], b[3])):
        if x != y:
            if x[0] == y[0] == "A" and x[1] != y[1]:
                return f"the shape of argument leaf {j} ({x[1]} then {y[1]})"
            if x[0] == y[0] == "A":
                return f"the dtype or context of argument leaf {j}"
            if x[0] == "K":
                return f"the value of static argument leaf {j} ({x[2]!r} then {y[2]!r})"
            return f"the kind of argument leaf {j}"
    return "argument aliasing or the default dtype"


def jit(fn: Optional[Callable] = None, *, static_argnums: Sequence[int] = (),
        static_argnames: Sequence[str] = (), strict: bool = False, check: bool = False):
    """Compile ``fn`` per input signature; use as ``@minpy.jit`` or ``minpy.jit(fn, ...)``."""
    if fn is None:
        return lambda f: JitFunction(f, static_argnums, static_argnames, strict, check)
    if isinstance(fn, JitFunction):
        return fn
    if not callable(fn):
        raise TypeError(f"minpy.jit: expected a function, got {type(fn).__name__}")
    return JitFunction(fn, static_argnums, static_argnames, strict, check)


class Explanation(dict):
    """What ``minpy.jit.explain`` found; prints as a readable report."""

    def __str__(self) -> str:
        lines = [f"minpy.jit.explain({self['function']})",
                 f"  signature: {self['signature']}",
                 f"  graph: {self['nodes']} nodes recorded, {self['kept']} kept after "
                 f"dead-code elimination, {self['inputs']} inputs, {self['outputs']} outputs",
                 f"  captured arrays: {len(self['captured'])}"]
        lines += [f"    {c}" for c in self["captured"]]
        if self["breaks"]:
            lines.append(f"  graph breaks: {len(self['breaks'])} (calls run lazily, not replayed)")
            lines += [f"    {r} at {w}" for r, w in self["breaks"]]
        else:
            lines.append("  graph breaks: none (calls replay the cached executor)")
        return "\n".join(lines)


def explain(fn: Callable, *args, **kwargs) -> Explanation:
    """Trace ``fn`` on these arguments and report signature, captures, breaks and sizes."""
    jf = fn if isinstance(fn, JitFunction) else JitFunction(fn)
    probe = JitFunction(jf.fn, jf.static_argnums, jf.static_argnames, False, False)
    sig, leaves, statics = probe._signature(args, kwargs)
    try:
        probe._trace(sig, leaves, statics)
    finally:
        if getattr(probe, "_last_trace", None) is not None:
            probe._last_trace.undo_writes()    # explaining must not update anything
    entry = probe.cache[sig]
    described = []
    for d in sig[3]:
        if d[0] == "A":
            described.append(f"array{d[1]} {_onp.dtype(d[2]).name}")
        elif d[0] == "S":
            described.append(f"{d[1].__name__} (graph input)")
        elif d[0] == "K":
            described.append(f"static {d[2]!r}")
        else:
            described.append(d[0])
    return Explanation(
        function=getattr(jf.fn, "__name__", repr(jf.fn)),
        signature="(" + ", ".join(described) + ")",
        nodes=getattr(entry, "nodes", 0) if not entry.broken else 0,
        kept=getattr(entry, "kept", 0) if not entry.broken else 0,
        inputs=len(entry.plan) if not entry.broken else 0,
        outputs=len(entry.out_plan) + len(entry.muts) if not entry.broken else 0,
        captured=[f"array{h.shape} {h.dtype.name}" for h in entry.captured],
        breaks=[(r, format_where(w)) for r, w in entry.breaks],
        replayable=not entry.broken,
    )
