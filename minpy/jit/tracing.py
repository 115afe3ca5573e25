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
import os
import types
import warnings
from typing import Any, Callable, Optional, Sequence

import mxnet as _mx
import numpy as _onp

from ..array import Array
from ..config import config as _mconfig
from ..dispatch import call as _call
from . import counters as _stats
from .compile import run_checked as _run_checked
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
    """The structure of ``obj`` (hashable: part of the signature), its leaves appended to
    ``leaves``. Lists, tuples, named tuples and dicts are containers; a dict keeps its
    keys' order, so what a jitted function returns comes back in the user's order."""
    t = type(obj)
    if t is list or t is tuple:
        return (t, tuple(_flatten(v, leaves) for v in obj))
    if t is dict:
        keys = tuple(obj)
        return (dict, keys, tuple(_flatten(obj[k], leaves) for k in keys))
    if issubclass(t, tuple) and hasattr(t, "_fields"):
        return (t, tuple(_flatten(v, leaves) for v in obj), True)
    leaves.append(obj)
    return None


def _unflatten(tree, it):
    if tree is None:
        return next(it)
    if tree[0] is dict:
        return {k: _unflatten(t, it) for k, t in zip(tree[1], tree[2])}
    if len(tree) == 3:       # a named tuple
        return tree[0](*[_unflatten(t, it) for t in tree[1]])
    return tree[0](_unflatten(t, it) for t in tree[1])


# ----------------------------------------------------------------------------- signature

def _leaf_sig(x, static: bool):
    """The signature part of a leaf that is not a MinPy or NumPy array argument
    (``_describe`` writes those)."""
    if static:
        try:
            hash(x)
        except TypeError:
            raise TypeError(f"minpy.jit: static argument {x!r} is not hashable") from None
        return ("K", type(x), x)
    t = type(x)
    if t is bool or t is int or t is float:
        return ("S", t)
    try:
        hash(x)
        return ("K", t, x)
    except TypeError:
        return ("O", id(x))


def _describe(leaves: list, statics) -> tuple:
    """Per leaf its part of the signature, and per MinPy array the first leaf holding
    the same buffer; NumPy arrays among the non-static leaves (``statics``: a flag per
    leaf, or None for none static) become MinPy arrays in ``leaves``. One pass: it runs
    on every jitted call."""
    descs, seen, alias = [], {}, []
    for j, x in enumerate(leaves):
        if statics is not None and statics[j]:
            descs.append(_leaf_sig(x, True))
        else:
            if type(x) is not Array:
                if not isinstance(x, _onp.ndarray):
                    descs.append(_leaf_sig(x, False))
                    continue
                x = leaves[j] = _call.from_host(x)
            descs.append(("A", x._shape, x._dtype.char, x._ctx.key))
        if type(x) is Array:
            alias.append(seen.setdefault(id(x._data), j))
    return tuple(descs), tuple(alias)


class _TraceState:
    __slots__ = ("ext_handles", "mutated", "original", "breaks", "strict", "name", "origin",
                 "undo_stores", "checks")

    def __init__(self, strict: bool, name: str) -> None:
        self.ext_handles: list = []
        self.mutated: dict = {}       # id -> handle written during the trace
        self.original: dict = {}      # id -> the handle's state before its first write
        self.breaks: list = []
        self.strict = strict
        self.name = name
        self.origin: dict = {}        # id(snapshot) -> (snapshot, the handle it was taken of)
        self.undo_stores: list = []   # (slot, value before the trace, user arguments)
        self.checks: list = []        # (input buffer, check of its values on each replay)

    def resolve(self, h):
        """The handle an autograd snapshot ``h`` was taken of (following chains)."""
        seen = 0
        while id(h) in self.origin and seen < 1000:
            h = self.origin[id(h)][1]
            seen += 1
        return h

    def note_check(self, buf, check) -> None:
        self.checks.append((buf, check))

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
        for loc, old, uargs in self.undo_stores:
            if old is not _MISSING:
                loc.set(old, uargs)

    def graph_break(self, reason: str, where) -> None:
        if self.breaks and self.breaks[-1][1] == where:
            return                    # one break per line (a fallback reads, then flushes)
        self.breaks.append((reason, where))
        if self.strict:
            raise GraphBreakError(
                f"minpy.jit({self.name}, strict=True): the traced function needs a concrete "
                f"value ({reason}) at {format_where(where)}; make that argument static or "
                f"move the value-dependent code out of the jitted function")


# ----------------------------------------------------------------------------- state writes
# A traced function may store a new array in a container it did not get back from the
# call: ``params["W"] = params["W"] - lr * g`` on a global, closure or argument dict or
# list, ``self.W = ...`` on an object, a ``global``/``nonlocal`` name. Replaying the graph
# must repeat that store, and must read such a slot afresh on every call (the next call
# reads the array the last one stored). The containers the function can reach by name
# are snapshotted before the trace and compared after it.

class JitSideEffectError(RuntimeError):
    """A jitted function stored a traced array where replaying cannot update it."""


_MISSING = object()
_NOT_WATCHED = (types.ModuleType, type, types.BuiltinFunctionType, types.MethodType,
                functools.partial, str, bytes, int, float, bool, complex, type(None))
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Loc:
    """One slot of a container: ``obj[key]``, ``obj.key``, a cell, or ``[key]`` of the
    argument container at ``path`` of the current call."""

    __slots__ = ("kind", "obj", "key")

    def __init__(self, kind: str, obj, key) -> None:
        self.kind, self.obj, self.key = kind, obj, key

    def container(self, uargs):
        if self.kind != "arg":
            return self.obj
        c = uargs[0][self.obj[0]] if type(self.obj[0]) is int else uargs[1][self.obj[0]]
        for k in self.obj[1:]:
            c = c[k]
        return c

    def get(self, uargs=None):
        if self.kind == "attr":
            return getattr(self.obj, self.key, None)
        if self.kind == "cell":
            try:
                return self.obj.cell_contents
            except ValueError:
                return None
        c = self.container(uargs)
        try:
            return c[self.key]
        except (LookupError, TypeError):
            return None

    def set(self, value, uargs=None) -> None:
        if self.kind == "attr":
            setattr(self.obj, self.key, value)
        elif self.kind == "cell":
            self.obj.cell_contents = value
        else:
            self.container(uargs)[self.key] = value

    def describe(self) -> str:
        if self.kind == "attr":
            return f"attribute {self.key!r} of a {type(self.obj).__name__}"
        if self.kind == "cell":
            return "a closure variable"
        if self.kind == "glob":
            return f"the global {self.key!r}"
        if self.kind == "arg":
            return f"entry {self.key!r} of an argument container"
        return f"entry {self.key!r} of a {type(self.obj).__name__}"


def _items(kind, obj, key=None):
    """The slots of a watched container as {key: value}."""
    if kind == "cell":
        try:
            return {None: obj.cell_contents}
        except ValueError:
            return {}
    if kind == "glob":
        return {k: obj[k] for k in key if k in obj}
    if kind == "attr":
        d = getattr(obj, "__dict__", None)
        return dict(d) if type(d) is dict else {}
    if type(obj) is list:
        return dict(enumerate(obj))
    return dict(obj)


def _user_code(code) -> bool:
    return not code.co_filename.startswith(_PKG)


def _watch_list(fn, uargs, rebuilt) -> list:
    """(kind, container, key-or-names, snapshot) of every container the traced function
    can reach: its globals and closure (and those of the user functions it names), the
    objects and containers among them, and the argument containers it was given."""
    out, seen, budget = [], set(), [20000]

    def visit(v, depth):
        if depth > 4 or id(v) in seen or budget[0] <= 0:
            return
        t = type(v)
        if t is Array or isinstance(v, _NOT_WATCHED) or isinstance(v, _onp.ndarray):
            return
        seen.add(id(v))
        if t is dict or t is list:
            budget[0] -= len(v)
            out.append(("item", v, None))
            for x in (list(v.values()) if t is dict else list(v)):
                visit(x, depth + 1)
        elif t is tuple:
            for x in v:
                visit(x, depth + 1)
        elif isinstance(v, types.FunctionType):
            visit_fn(v, depth)
        elif type(getattr(v, "__dict__", None)) is dict:
            d = v.__dict__
            budget[0] -= len(d)
            out.append(("attr", v, None))
            for x in list(d.values()):
                visit(x, depth + 1)

    def names(code, acc):
        acc.update(code.co_names)
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                names(c, acc)
        return acc

    def visit_fn(f, depth):
        code = getattr(f, "__code__", None)
        if code is None or not _user_code(code):
            return
        g = f.__globals__
        used = sorted(n for n in names(code, set()) if n in g)
        out.append(("glob", g, tuple(used)))
        for n in used:
            visit(g[n], depth + 1)
        for cell in f.__closure__ or ():
            out.append(("cell", cell, None))
            try:
                visit(cell.cell_contents, depth + 1)
            except ValueError:
                pass

    fn = getattr(fn, "__func__", fn)
    visit_fn(fn, 0) if isinstance(fn, types.FunctionType) else visit(fn, 0)
    for a in list(uargs[0]) + list(uargs[1].values()):
        visit(a, 1)             # the objects passed (``self``): their attributes
    for path, c in rebuilt:     # the argument containers the function was given (copies)
        seen.add(id(c))
        out.append(("arg", c, path))
    return [(kind, obj, key, _items(kind, obj, key)) for kind, obj, key in out]


def _containers(tree, obj, path, acc) -> None:
    """(path, container) of the dicts and lists of a rebuilt argument tree."""
    if type(obj) is dict:
        acc.append((path, obj))
        for k, v in obj.items():
            _containers(None, v, path + (k,), acc)
    elif type(obj) is list:
        acc.append((path, obj))
        for k, v in enumerate(obj):
            _containers(None, v, path + (k,), acc)
    elif type(obj) is tuple:
        for k, v in enumerate(obj):
            _containers(None, v, path + (k,), acc)


def _location(kind, obj, key, k):
    if kind == "glob":
        return _Loc("glob", obj, k)
    if kind == "arg":
        return _Loc("arg", key, k)
    if kind == "cell":
        return _Loc("cell", obj, None)
    return _Loc(kind, obj, k)


class _Entry:
    """A compiled trace and how to feed it."""

    __slots__ = ("compiled", "plan", "scalars", "out_tree", "out_plan", "muts",
                 "nodes", "kept", "captured", "breaks", "broken", "stores", "checks")

    def __init__(self) -> None:
        self.broken = False
        self.checks: list = []        # (input position, check of its values)
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
        if not kwargs and not self.static_argnums:      # most calls: positional arrays
            trees = tuple([_flatten(a, leaves) for a in args])
            descs, alias = _describe(leaves, None)
            sig = (len(args), trees, (), descs, alias, _mconfig.default_dtype)
            return sig, leaves, [False] * len(leaves)
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
        descs, alias = _describe(leaves, statics)
        sig = (len(args), tuple(trees), tuple(ktrees), descs, alias, _mconfig.default_dtype)
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
        uargs = (args, kwargs)
        entry = self.cache.get(sig)
        if entry is None:
            return self._trace(sig, leaves, statics, uargs)
        if entry.broken:
            return self._run_lazy(sig, leaves, uargs)
        if self.check:
            return self._checked(entry, sig, leaves, uargs)
        _stats.bump("jit_replays")
        res = self._replay(entry, leaves, sig, uargs)
        if res is _RETRACE:          # a slot it reads now holds another shape or dtype
            self.cache.pop(sig, None)
            return self._trace(sig, leaves, statics, uargs)
        return res

    def _run_lazy(self, sig, leaves, uargs=None):
        # the user's own arguments: stores into argument containers reach the caller
        args, kwargs = self._rebuild(sig, leaves) if uargs is None else uargs
        prev = _state.engine is not None
        _set_thread(True)
        try:
            return self.fn(*args, **kwargs)
        finally:
            _set_thread(prev)

    # -- tracing -----------------------------------------------------------------------
    def _trace(self, sig, leaves, statics, uargs=None):
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
        if uargs is None:
            uargs = (args, kwargs)
        rebuilt: list = []
        for i, a in enumerate(args):
            _containers(None, a, (i,), rebuilt)
        for k, v in kwargs.items():
            _containers(None, v, (k,), rebuilt)
        try:
            watched = _watch_list(self.fn, uargs, rebuilt)
        except Exception:             # an odd object: watch nothing rather than fail
            watched = []
        eng.tracing = tr
        self._last_trace = tr
        try:
            out = self.fn(*args, **kwargs)
        except BaseException:
            eng.tracing = None
            self._store_back(_diff(watched)[0], uargs)
            eng.flush("jit")
            _set_thread(prev)
            raise
        eng.tracing = None
        entry = _Entry()
        entry.breaks = tr.breaks
        done = False
        try:
            stores, reads = _diff(watched)
            tr.undo_stores = [(loc, old, uargs) for loc, _, old in stores]
            self._store_back(stores, uargs)
            if tr.breaks:
                entry.broken = True
                done = True
                return out
            self._check_escapes(eng, tr, out, stores, watched)
            built = self._build(entry, eng, tr, arg_ids, arg_bufs, out, sig, leaves, stores,
                                reads, uargs)
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

    @staticmethod
    def _store_back(stores, uargs) -> None:
        """Stores into the copies of argument containers the trace was given reach the
        caller's containers, as they would in an eager call."""
        for loc, new, _ in stores:
            if loc.kind == "arg":
                loc.set(new, uargs)

    @staticmethod
    def _check_escapes(eng, tr, out, stores, watched) -> None:
        """Raise if a traced array was left in a container the function reaches by name
        where no replay updates it (appended to a list, inside a new container stored in
        a slot): later calls would silently leave the first call's value there."""
        epoch = eng.epoch
        leaves: list = []
        _flatten(out, leaves)
        ok = {id(x) for x in leaves}
        ok.update(tr.mutated)
        ok.update(id(new) for _, new, _ in stores)

        def bad(v, depth):
            t = type(v)
            if t is Array:
                d = v._data
                return id(v) not in ok and type(d) is LRef and d.value is None and \
                    d.node is not None and d.node.epoch is epoch
            if depth > 2:
                return False
            if t is list or t is tuple:
                return any(bad(x, depth + 1) for x in v)
            if t is dict:
                return any(bad(x, depth + 1) for x in v.values())
            return False
        for kind, obj, key, before in watched:
            for k, v in _items(kind, obj, key).items():
                if before.get(k, _MISSING) is v and type(v) is Array:
                    continue
                if bad(v, 0):
                    where = _location(kind, obj, key, k).describe()
                    raise JitSideEffectError(
                        f"minpy.jit({tr.name}): the traced function left a computed array in "
                        f"{where} where later calls cannot update it (they replay the "
                        f"compiled graph without running the Python body: an append, or an "
                        f"array inside a new container, is not repeated). Return the array "
                        f"instead, or assign it to a dict entry, list item or attribute "
                        f"(params[\"W\"] = ..., self.W = ...), which each call repeats")

    def _build(self, entry, eng, tr, arg_ids, arg_bufs, out, sig, leaves, stores=(),
               reads=None, uargs=None):
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
        st = []
        for loc, new, _ in stores:
            k = graph_output(new)
            if k is not None:
                st.append(("out", loc, k, new._shape, new._dtype, new._ctx))
            elif id(new) in arg_ids and sig[3][arg_ids[id(new)]][0] != "S":
                st.append(("arg", loc, arg_ids[id(new)]))
            else:
                st.append(("const", loc, new))
        entry.stores = st
        reads = reads or {}
        plan = []
        for k, h in enumerate(tr.ext_handles):
            h = tr.resolve(h)
            j = arg_ids.get(id(h))
            if j is None:
                j = arg_bufs.get(id(ext[k]))      # another handle on an argument's buffer
            if j is not None:
                plan.append(("sarg", j) if sig[3][j][0] == "S" else ("arg", j))
            elif id(h) in reads:      # read from a slot: the slot's array of each call
                plan.append(("loc", (reads[id(h)], h._shape, h._dtype, h._ctx)))
                entry.captured.append(h)
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
        where = {id(v): k for k, v in enumerate(ext)}
        entry.checks = [(where[id(b)], chk) for b, chk in tr.checks if id(b) in where]
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
        return self._deliver(entry, values, leaves, uargs)

    # -- replaying ---------------------------------------------------------------------
    def _run(self, entry, ext):
        """The compiled graph's outputs, or None when it failed (or was busy)."""
        comp = entry.compiled
        values = _run_checked(comp, ext, entry.scalars)
        if values is None:
            return None
        _stats.executed(comp.nodes)
        return values

    def _replay(self, entry, leaves, sig, uargs=None):
        ext = []
        for kind, v in entry.plan:
            if kind == "arg":
                ext.append(leaves[v]._mx("jit"))
            elif kind == "sarg":
                ext.append(leaves[v])
            elif kind == "cap":
                ext.append(v._mx("jit"))
            else:
                loc, shape, dtype, ctx = v
                a = loc.get(uargs)
                if type(a) is not Array or a._shape != shape or a._dtype != dtype or \
                        a._ctx != ctx:
                    return _RETRACE
                ext.append(a._mx("jit"))
        for k, check in entry.checks:     # index bounds, labels: as the trace checked them
            v = ext[k]                    # (a Python scalar for a scalar argument)
            try:
                check(v.asnumpy() if hasattr(v, "asnumpy") else _onp.asarray(v))
            except Exception:             # noqa: BLE001 - the body raises it where eager would
                # run the body lazily: the error comes from the statement that meets the
                # value, where the function's own ``try`` can catch it
                return self._run_lazy(sig, leaves, uargs)
        values = self._run(entry, ext)
        if values is None:
            # the graph failed as a whole (or this thread is already running it, from a
            # signal handler): run the body lazily, where each error stays with the
            # arrays computed from the operation that raised it
            return self._run_lazy(sig, leaves, uargs)
        return self._deliver(entry, values, leaves, uargs)

    def _deliver(self, entry, values, leaves, uargs=None):
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
        for st in entry.stores:
            if st[0] == "out":
                st[1].set(Array._wrap(values[st[2]], st[3], st[4], st[5]), uargs)
            elif st[0] == "arg":
                st[1].set(leaves[st[2]], uargs)
            else:
                st[1].set(st[2], uargs)
        return _unflatten(entry.out_tree, iter(res))

    def _checked(self, entry, sig, leaves, uargs=None):
        handles = [leaves[h] if kind == "arg" else h for kind, h, _ in entry.muts]
        before = [(h._data, h._rec) for h in handles]
        saved = [(st[1], st[1].get(uargs)) for st in entry.stores]
        replayed = self._replay(entry, leaves, sig, uargs)
        if replayed is _RETRACE:
            self.cache.pop(sig, None)
            return self._trace(sig, leaves, None, uargs)
        for loc, v in saved:
            loc.set(v, uargs)
        after = [h._data for h in handles]
        for h, (d, r) in zip(handles, before):
            h._data, h._rec = d, r
        fresh = self._run_lazy(sig, leaves, uargs)
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


_RETRACE = object()


def _diff(watched):
    """Slots the trace stored an array in: [(slot, new array, old value)], and the slot
    each captured array was read from {id(array): slot} (a slot written wins)."""
    stores, reads = [], {}
    for kind, obj, key, before in watched:
        after = _items(kind, obj, key)
        for k, old in before.items():
            if type(old) is Array:
                reads.setdefault(id(old), _location(kind, obj, key, k))
        grown = type(obj) is list and len(after) != len(before)
        for k, new in after.items():
            old = before.get(k, _MISSING)
            if grown and old is _MISSING:
                continue              # appended: no replay repeats that (see _check_escapes)
            if type(new) is Array and old is not new:
                loc = _location(kind, obj, key, k)
                stores.append((loc, new, old))
                if type(old) is Array:
                    reads[id(old)] = loc
    return stores, reads


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
        kernels = self.get("kernels") or []
        lines.append(f"  generated kernels: {len(kernels)} libraries built by this trace"
                     " (MINPY_JIT_DUMP=dir keeps every one)")
        lines += ["    " + line for src in kernels for line in src.splitlines()]
        return "\n".join(lines)


def explain(fn: Callable, *args, **kwargs) -> Explanation:
    """Trace ``fn`` on these arguments and report signature, captures, breaks and sizes."""
    jf = fn if isinstance(fn, JitFunction) else JitFunction(fn)
    probe = JitFunction(jf.fn, jf.static_argnums, jf.static_argnames, False, False)
    sig, leaves, statics = probe._signature(args, kwargs)
    from . import codegen
    built = len(codegen.all_sources())
    try:
        probe._trace(sig, leaves, statics, (args, kwargs))
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
        kernels=codegen.all_sources()[built:],
    )
