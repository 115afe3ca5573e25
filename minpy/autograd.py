"""Reverse-mode differentiation by tape, in the style of HIPS autograd.

While ``grad`` runs the user's function, every MinPy call whose operands
depend on a differentiated input adds a :class:`Node` to the result arrays'
records. Nodes hold snapshots of their operands (buffers are immutable, so a
later write to a Python variable does not change what was recorded). The
backward pass calls each operator's vjp, which are MinPy calls themselves:
under an outer ``grad`` they are recorded again (higher order), and in lazy
mode they are recorded lazily.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Sequence, Union

import numpy as _onp

from . import _pytree
from .array import Array
from .dispatch import call as _call

_local = threading.local()


class Trace:
    """One ``grad`` invocation; arrays depending on its inputs carry its nodes."""
    __slots__ = ("__weakref__",)


_order = itertools.count()


class Node:
    __slots__ = ("op", "operands", "attrs", "parents", "ans", "seq")

    def __init__(self, op, operands, attrs, parents, ans) -> None:
        self.op = op
        self.operands = operands
        self.attrs = attrs
        self.parents = parents
        self.ans = ans
        self.seq = next(_order)       # recording order: consumers come after producers


class _NoGradient:
    """Stands in for a NumPy-fallback function with no registered gradient."""
    __slots__ = ("name",)
    grads = None
    nondiff = False
    multi = False
    nin = 0

    def __init__(self, name: str) -> None:
        self.name = name


def _active() -> list:
    a = getattr(_local, "active", None)
    if a is None:
        a = _local.active = []
    return a


def _running() -> bool:
    return bool(getattr(_local, "active", None))


_call.grad_running = _running


def _origin():
    """Where a running @jit trace maps snapshots to the handles they copy (or None)."""
    eng = _call._lazy.engine
    return eng.tracing.origin if eng is not None and eng.tracing is not None else None


def _snap(a, rec, origin):
    s = Array._wrap(a._data, a._shape, a._dtype, a._ctx)
    s._rec = rec
    if origin is not None:
        origin[id(s)] = (s, a)     # a @jit trace reads ``a``, not the snapshot
    return s


def _record(op, operands, attrs, results) -> None:
    active = getattr(_local, "active", None)
    if not active or op.nondiff:
        return
    if len(active) == 1:
        _record_one(active[0], op, operands, attrs, results)
        return
    hits = []
    for t in active:
        parents = None
        for j, o in enumerate(operands):
            if type(o) is Array and o._rec is not None:
                entry = o._rec.get(t)
                if entry is not None:
                    if parents is None:
                        parents = [None] * len(operands)
                    parents[j] = entry
        if parents is not None:
            hits.append((t, parents))
    if not hits:
        return
    outs = [r for r in results if isinstance(r, Array)]
    new_recs = {}
    nodes = []
    for t, parents in hits:
        node = Node(op, None, attrs, parents, None)
        nodes.append((t, node))
        new_recs[t] = node
    origin = _origin()
    snaps = tuple(_snap(o, o._rec, origin) if type(o) is Array else o for o in operands)
    for t, node in nodes:
        node.operands = snaps
        if len(hits) == 1:
            node.ans = [_snap(r, r._rec, origin) for r in outs]
    for i, r in enumerate(outs):
        if r._dtype.kind not in "fc":
            continue
        rec = dict(r._rec) if r._rec else {}
        for t, node in nodes:
            rec[t] = (node, i)
        r._rec = rec
    if len(hits) > 1:
        for t, node in nodes:
            node.ans = [_snap(r, {k: v for k, v in (r._rec or {}).items() if k is not t}, origin)
                        for r in outs]


def _record_one(t, op, operands, attrs, results) -> None:
    """``_record`` for the usual case of one active trace, on the recording hot path."""
    parents = None
    for j, o in enumerate(operands):
        if type(o) is Array:
            rec = o._rec
            if rec is not None:
                entry = rec.get(t)
                if entry is not None:
                    if parents is None:
                        parents = [None] * len(operands)
                    parents[j] = entry
    if parents is None:
        return
    node = Node(op, None, attrs, parents, None)
    origin = _origin()
    node.operands = tuple(_snap(o, o._rec, origin) if type(o) is Array else o for o in operands)
    ans = []
    i = 0
    for r in results:
        if not isinstance(r, Array):
            continue
        ans.append(_snap(r, r._rec, origin))
        if r._dtype.kind in "fc":
            rec = dict(r._rec) if r._rec else {}
            rec[t] = (node, i)
            r._rec = rec
        i += 1
    node.ans = ans


def is_tracked(arrays) -> bool:
    """Whether any of ``arrays`` depends on an input of a running ``grad``."""
    active = getattr(_local, "active", None)
    if not active:
        return False
    for a in arrays:
        rec = a._rec
        if rec and any(t in rec for t in active):
            return True
    return False


def mark_nondifferentiable(name: str, inputs: Sequence[Array], results) -> None:
    """Results of an unregistered fallback depend on tracked inputs: poison them."""
    from .dispatch.fallback import _arrays_in
    outs = _arrays_in(results, [])
    if outs:
        _record(_NoGradient(name), tuple(inputs), (), outs)


def _toposort(start_nodes):
    """Nodes reachable from ``start_nodes``, every consumer before its producers
    (reverse recording order is such an order)."""
    seen = {}
    stack = list(start_nodes)
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen[id(n)] = n
        for p in n.parents:
            if p is not None and id(p[0]) not in seen:
                stack.append(p[0])
    return sorted(seen.values(), key=_seq, reverse=True)


def _seq(n):
    return n.seq


def _total(parts):
    """Sum of a node's gradient contributions: one node for many (add_n)."""
    if parts is None or len(parts) == 1:
        return None if parts is None else parts[0]
    from .ops._util import c
    first = parts[0]
    if all(p.shape == first.shape and p.dtype == first.dtype for p in parts):
        return c("_add_n", *parts)
    total = first
    for p in parts[1:]:
        total = total + p
    return total


def backward(trace: Trace, out: Array, leaves: Sequence[Node], leaf_arrays=None) -> list:
    """Gradients of scalar ``out`` with respect to each leaf node's input
    (``leaf_arrays``: those inputs, which lets MXNet run the pass in lazy graphs)."""
    from .ops._util import c
    entry = out._rec.get(trace) if out._rec else None
    results = [None] * len(leaves)
    if entry is not None:
        node0, idx0 = entry
        order = _toposort([node0])
        eng = _call._lazy.engine
        if eng is not None and leaf_arrays is not None and not _active():
            from .jit import native_grad
            grads = native_grad.try_record(eng, out, order, leaf_arrays)
            if grads is not None:
                return grads
        key = None
        if eng is not None and eng.tracing is None and not _active() and _jit_config().backward_cache:
            from .jit import backward_cache
            key = backward_cache.tape_key(order, node0, idx0, out, leaves)
            template = backward_cache.lookup(key) if key is not None else None
            if template is not None and template is not backward_cache._UNCACHEABLE:
                replayed = backward_cache.replay(eng, template, order)
                if replayed is not None:
                    return replayed
            start, epoch = len(eng.nodes), eng.epoch
        pending = {id(node0): [None] * max(len(node0.ans or ()), 1)}
        pending[id(node0)][idx0] = [c("ones_like", out)]
        leaf_grads = {}
        for node in order:
            gs = pending.pop(id(node), None)
            if gs is None:
                continue
            gs = [_total(parts) for parts in gs]
            if all(g is None for g in gs):
                continue
            op = node.op
            if op is None:          # a leaf: an input of this trace
                leaf_grads[id(node)] = gs[0]
                continue
            if op.grads is None:
                raise TypeError(
                    f"minpy.numpy.{op.name} has no gradient: it "
                    f"{'runs in NumPy (fallback)' if op.__class__ is _NoGradient or op.mx is None else 'is not differentiable'}"
                    f" and cannot be differentiated; rewrite it with differentiable MinPy functions")
            attrs = dict(node.attrs)
            if op.multi or op.nin == -1:
                g = gs if op.multi else gs[0]
                ans = node.ans if op.multi else node.ans[0]
                in_grads = op.grads[0](g, ans, node.operands, **attrs)
            else:
                g = gs[0]
                ans = node.ans[0]
                in_grads = []
                for j, p in enumerate(node.parents):
                    if p is None:
                        in_grads.append(None)
                        continue
                    vjp = op.grads[j] if j < len(op.grads) else None
                    if vjp is None:
                        raise TypeError(f"minpy.numpy.{op.name}: no gradient with respect to "
                                        f"argument {j}")
                    in_grads.append(vjp(g, ans, *node.operands, **attrs))
            for j, (p, gi) in enumerate(zip(node.parents, in_grads)):
                if p is None or gi is None:
                    continue
                o = node.operands[j]
                if type(o) is Array and type(gi) is Array and \
                        (gi._shape != o._shape or gi._dtype != o._dtype):
                    gi = _fit(gi, o, op, j)
                pnode, pidx = p
                slot = pending.get(id(pnode))
                if slot is None:
                    slot = pending[id(pnode)] = [None] * max(len(pnode.ans or ()), 1)
                if slot[pidx] is None:
                    slot[pidx] = [gi]
                else:
                    slot[pidx].append(gi)
        results = [leaf_grads.get(id(leaf)) for leaf in leaves]
        if key is not None and backward_cache.lookup(key) is None:
            backward_cache.store(key, backward_cache.capture(eng, start, epoch, order, results))
    return results


def _fit(g: Array, operand: Array, op, j: int) -> Array:
    """A vjp's result made to match its operand: summed over broadcast axes and cast
    to the operand's float dtype. Any other shape is a bug in that vjp, reported
    here rather than passed on as a silently wrong gradient."""
    from .ops._util import c, unbroadcast
    shape = operand._shape
    if g._shape != shape:
        lead = len(g._shape) - len(shape)
        if lead < 0 or any(s != 1 and s != t for s, t in zip(shape, g._shape[lead:])):
            raise RuntimeError(
                f"minpy: internal error: the gradient of minpy.numpy.{op.name} with respect to "
                f"argument {j} has shape {g._shape}, but the argument has shape {shape}")
        g = unbroadcast(g, operand)
    if g._dtype != operand._dtype and operand._dtype.kind == "f":
        g = c("astype", g, operand._dtype)
    return g


def _jit_config():
    from .jit.config import config
    return config


# ----------------------------------------------------------------------------- user API

def _integer_array(x) -> bool:
    if isinstance(x, Array):
        return x._dtype.kind in "iu"
    if isinstance(x, (_onp.ndarray, _onp.generic)):
        return x.dtype.kind in "iu"
    if isinstance(x, (list, tuple)):
        return _onp.asarray(x).dtype.kind in "iu"
    return False


def _as_float_input(x, i, promote=False):
    """``x`` as a float Array. ``promote``: an integer array given as a whole positional
    argument (as MinPy 0.3 programs pass them) becomes one of the default float dtype."""
    if promote and _integer_array(x):
        from .config import config
        x = x.astype(config.default_dtype) if isinstance(x, Array) else \
            _call.from_host(_onp.asarray(x).astype(config.default_dtype))
    if isinstance(x, Array):
        if x._dtype.kind != "f":
            raise TypeError(f"grad: argument {i} has integer/bool dtype {x._dtype.name}; "
                            f"only float arrays can be differentiated (use .astype('float32'))")
        return x
    if isinstance(x, bool):
        raise TypeError(f"grad: argument {i} is a bool and cannot be differentiated")
    if isinstance(x, (int, float)):
        from .config import config
        return _call.from_host(float(x), None, config.default_dtype)
    if isinstance(x, (_onp.ndarray, _onp.generic, list, tuple)):
        host = _onp.asarray(x)
        if host.dtype.kind not in "f":
            raise TypeError(f"grad: argument {i} has dtype {host.dtype.name}; only float "
                            f"arrays can be differentiated")
        return _call.from_host(host)
    raise TypeError(f"grad: argument {i} of type {type(x).__name__} cannot be differentiated")


def _numeric_nest(x) -> bool:
    """A list/tuple of plain numbers (nested): array data, not a tree of parameters."""
    return all(_numeric_nest(v) if isinstance(v, (list, tuple)) else
               isinstance(v, (int, float, _onp.number)) for v in x)


def _data_leaf(x) -> bool:
    return isinstance(x, (list, tuple)) and bool(x) and _numeric_nest(x)


def _flatten(x, label: str, out: list):
    """Leaves of a parameter tree (dicts, lists, tuples, named tuples, nested) into
    ``out`` as (label, value); returns a function rebuilding the tree from an iterator.
    A list of numbers is array data, one leaf."""
    leaves, paths, struct = _pytree.flatten(x, is_leaf=_data_leaf)
    out.extend((label + "".join(f"[{k!r}]" for k in p), v) for v, p in zip(leaves, paths))
    return lambda it: _pytree.build(struct, it)


def _grad_impl(fun: Callable, argnum, args: tuple, kwargs: dict):
    # any iterable of ints (a list, a tuple, range(5)) asks for a list of gradients
    multi = not isinstance(argnum, (int, _onp.integer)) and hasattr(argnum, "__iter__")
    argnums = [int(i) if isinstance(i, _onp.integer) else i for i in argnum] if multi \
        else [int(argnum) if isinstance(argnum, _onp.integer) else argnum]
    args = list(args)
    for i in argnums:
        if not isinstance(i, int) or not -len(args) <= i < len(args):
            raise IndexError(f"grad: argnum {i} is out of range for {len(args)} positional arguments")
    trace = Trace()
    leaves, inputs, rebuild = [], [], []
    for i in argnums:
        found: list = []
        build = _flatten(args[i], str(i), found)
        snaps = []
        for label, value in found:
            x = _as_float_input(value, label, promote=not label.endswith("]"))
            leaf = Node(None, (), None, (), None)
            xt = _snap(x, dict(x._rec) if x._rec else {}, _origin())
            xt._rec[trace] = (leaf, 0)
            snaps.append(xt)
            leaves.append(leaf)
            inputs.append((label, xt))
        args[i] = build(iter(snaps))
        rebuild.append((build, len(snaps)))
    active = _active()
    active.append(trace)
    _call.tape_hook = _record
    try:
        out = fun(*args, **kwargs)
    finally:
        active.pop()
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        loss = out
        grads = [None] * len(leaves)
    else:
        if not isinstance(out, Array):
            raise TypeError(f"grad: the function must return a scalar array, got {type(out).__name__}")
        # an output of any shape is differentiated as MinPy 0.3 did: the backward pass
        # starts from ones, which is the gradient of sum(out)
        loss = out
        grads = backward(trace, out, leaves, [x for _, x in inputs])
    from .ops._util import c
    grads = [g if g is not None else c("zeros_like", x) for g, (_, x) in zip(grads, inputs)]
    for g, (label, x) in zip(grads, inputs):
        if g.shape != x.shape:
            raise RuntimeError(f"minpy: internal error: the gradient with respect to argument "
                               f"{label} has shape {g.shape}, but the argument has shape "
                               f"{x.shape}")
    it = iter(grads)
    grads = [build(it) for build, _ in rebuild]      # each argument's tree, rebuilt
    return (grads if multi else grads[0]), loss


def grad_and_loss(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """``f(*args) -> (gradients, loss)``; a list of gradients when ``argnum`` is a sequence."""
    def wrapped(*args, **kwargs):
        return _grad_impl(fun, argnum, args, kwargs)
    wrapped.__name__ = f"grad_and_loss_{getattr(fun, '__name__', 'fun')}"
    wrapped.__doc__ = f"Gradient and loss of {getattr(fun, '__name__', 'fun')}."
    return wrapped


def grad(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """``f(*args) -> gradient`` of scalar-valued ``fun`` with respect to ``argnum``."""
    def wrapped(*args, **kwargs):
        return _grad_impl(fun, argnum, args, kwargs)[0]
    wrapped.__name__ = f"grad_{getattr(fun, '__name__', 'fun')}"
    wrapped.__doc__ = f"Gradient of {getattr(fun, '__name__', 'fun')}."
    return wrapped
