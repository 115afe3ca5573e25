"""From pending nodes to a cached, bound MXNet executor (and back to values).

``run_graph`` is called by a flush. It orders the pending nodes a set of
outputs needs, computes a canonical key (operators, attributes, wiring, input
shapes and dtypes, output positions, context) and looks it up in an LRU cache
of compiled graphs. Only on a miss does it run the graph passes, build the
MXNet symbol and bind an executor.
"""
from __future__ import annotations

import collections
import time

import mxnet as _mx
import numpy as _onp

from ..config import config as _mconfig
from . import counters as _stats
from .config import config
from .graph import LRef, format_where

_MXND = _mx.np.ndarray
_F64 = _onp.dtype("float64")
_INTERPRET = "interpret"

cache: "collections.OrderedDict" = collections.OrderedDict()
last_graph = None      # (node keys, input signatures, outputs) of the latest flush


class LazyEvaluationError(ValueError):
    """An MXNet failure while evaluating recorded nodes (names the op and line)."""


def _collect(refs):
    nodes = {}
    stack = [r.node for r in refs]
    while stack:
        n = stack.pop()
        if id(n) in nodes:
            continue
        nodes[id(n)] = n
        for x in n.inputs:
            if type(x) is LRef and x.value is None:
                stack.append(x.node)
    return sorted(nodes.values(), key=lambda n: n.seq)


def _describe(order):
    """Canonical per-node keys, external buffers and scalars of a graph."""
    pos = {id(n): i for i, n in enumerate(order)}
    ext, ext_ids, scalars, keys = [], {}, [], []
    for n in order:
        ins = []
        for x in n.inputs:
            t = type(x)
            if t is LRef:
                if x.value is None:
                    ins.append((pos[id(x.node)], x.index))
                    continue
                x = x.value
                t = type(x)
            if t is _MXND:
                k = ext_ids.get(id(x))
                if k is None:
                    k = ext_ids[id(x)] = len(ext)
                    ext.append(x)
                ins.append(("x", k))
            else:
                ins.append(("s", t))
                scalars.append(x)
        keys.append((n.op.name, n.attrs, tuple(ins)))
    return keys, ext, scalars, pos


def run_graph(engine, refs, reason, where) -> None:
    order = _collect(refs)
    ctx = order[0].ctx
    keys, ext, scalars, pos = _describe(order)
    outs = tuple((pos[id(r.node)], r.index) for r in refs)
    ext_sig = tuple((v.shape, v.dtype) for v in ext)
    key = (tuple(keys), ext_sig, outs, ctx)
    global last_graph
    last_graph = (keys, ext_sig, outs)
    compiled = cache.get(key)
    hit = compiled is not None
    if hit:
        cache.move_to_end(key)
        _stats.bump("cache_hits")
    else:
        _stats.bump("cache_misses")
        if any(n.ctx != ctx for n in order) or len(order) < config.min_graph_nodes:
            compiled = _INTERPRET
        else:
            compiled = _compile(engine, order, keys, ext, scalars, outs, ctx)
        cache[key] = compiled
        while len(cache) > config.cache_capacity:
            cache.popitem(last=False)
    _stats.flushed(reason, where, len(order), hit)
    if compiled is _INTERPRET:
        values = _interpret(order, keys, ext, scalars, outs)
    else:
        values = compiled.run(ext, scalars)
        _stats.bump("executed_graphs")
        _stats.bump("executed_nodes", len(order))
    for r, v in zip(refs, values):
        r.value = v
        r.node = None


# ----------------------------------------------------------------------------- interpreting

def _interpret(order, keys, ext, scalars, outs):
    """Run the nodes one by one eagerly (graphs MXNet cannot compile, or tiny ones)."""
    vals = []
    si = 0
    for n, (_, _, ins) in zip(order, keys):
        args = []
        for d in ins:
            if d[0] == "x":
                args.append(ext[d[1]])
            elif d[0] == "s":
                args.append(scalars[si])
                si += 1
            else:
                args.append(vals[d[0]][d[1]])
        try:
            with n.ctx.mx:
                res = n.op.mx(_mx.nd, *args, **dict(n.attrs))
        except _mx.base.MXNetError as e:
            raise LazyEvaluationError(
                f"minpy.numpy.{n.op.name} (recorded at {format_where(n.where)}): MXNet failed: "
                f"{str(e).strip().splitlines()[0][:300]}") from None
        res = list(res) if n.op.multi else [res]
        res = [r if r.dtype == d else r.astype(d) for r, d in zip(res, n.dtypes)]
        vals.append(res)
    _stats.bump("interpreted_nodes", len(order))
    return [vals[p][i] for p, i in outs]


# ----------------------------------------------------------------------------- compiling

def _meta(sym, shape, dtype):
    sym.shape = shape
    sym.ndim = len(shape)
    sym.dtype = dtype
    return sym


def _scalar_dtype(value, node, arg_dtypes):
    kinds = "b" if type(value) is bool else ("iuf" if type(value) is int else "f")
    for dt in arg_dtypes:
        if dt is not None and dt.kind in kinds:
            return dt
    out = node.dtypes[0]
    return out if out.kind in kinds else _mconfig.default_dtype


def _build(order, keys, ext, nscalars, casts):
    F = _mx.sym
    ins = [_meta(F.var(f"in{k}").as_np_ndarray(), tuple(v.shape), _onp.dtype(v.dtype))
           for k, v in enumerate(ext)]
    sv = F.var("scalars").as_np_ndarray() if nscalars else None
    built = []
    si = 0
    for i, (n, (_, _, desc)) in enumerate(zip(order, keys)):
        args = [None] * len(desc)
        dts = []
        for j, d in enumerate(desc):
            if d[0] == "x":
                args[j] = ins[d[1]]
                dts.append(args[j].dtype)
            elif d[0] != "s":
                args[j] = built[d[0]][d[1]]
                dts.append(args[j].dtype)
            else:
                dts.append(None)
        for j, d in enumerate(desc):
            if d[0] == "s":
                dt = _scalar_dtype(_SCALAR_PROTOS[d[1]], n, dts)
                s = F.np.reshape(sv[si], ())
                args[j] = _meta(s.astype(dt.name) if dt != _F64 else s, (), dt)
                si += 1
        try:
            res = n.op.mx(F, *args, **dict(n.attrs))
        except Exception as e:
            raise _LoweringFailed(i, e) from None
        res = list(res) if n.op.multi else [res]
        outs = []
        for k, (r, shp, dt) in enumerate(zip(res, n.shapes, n.dtypes)):
            if (i, k) in casts:
                r = r.astype(dt.name)
            outs.append(_meta(r, shp, dt))
        built.append(outs)
    return built


_SCALAR_PROTOS = {int: 1, float: 1.0, bool: True}


class _LoweringFailed(Exception):
    def __init__(self, index, error):
        super().__init__(str(error))
        self.index = index
        self.error = error


def _arg_types(ext, nscalars):
    types = {f"in{k}": _onp.dtype(v.dtype) for k, v in enumerate(ext)}
    shapes = {f"in{k}": tuple(v.shape) for k, v in enumerate(ext)}
    if nscalars:
        types["scalars"] = _F64
        shapes["scalars"] = (nscalars,)
    return types, shapes


def _check(order, built, ext, nscalars):
    """Casts needed where MXNet's dtype differs from NumPy's; False if shapes differ."""
    flat = [s for outs in built for s in outs]
    grp = _mx.sym.Group(flat)
    types, shapes = _arg_types(ext, nscalars)
    names = grp.list_arguments()
    _, out_types, _ = grp.infer_type(**{k: v for k, v in types.items() if k in names})
    _, out_shapes, _ = grp.infer_shape(**{k: v for k, v in shapes.items() if k in names})
    casts = set()
    it = iter(zip(out_types, out_shapes))
    for i, n in enumerate(order):
        for k in range(len(built[i])):
            t, s = next(it)
            if tuple(s) != tuple(n.shapes[k]):
                return None, (i, f"MXNet gives shape {tuple(s)}, NumPy {n.shapes[k]}")
            if _onp.dtype(t) != n.dtypes[k]:
                casts.add((i, k))
    return casts, None


def _compile(engine, order, keys, ext, scalars, outs, ctx):
    t0 = time.perf_counter()
    try:
        nsc = len(scalars)
        try:
            built = _build(order, keys, ext, nsc, set())
            casts, bad = _check(order, built, ext, nsc)
            if bad is not None:
                raise _LoweringFailed(bad[0], ValueError(bad[1]))
            if casts:
                built = _build(order, keys, ext, nsc, casts)
        except _LoweringFailed as f:
            n = order[f.index]
            engine.eager_only.add((n.op.name, n.attrs))
            return _INTERPRET
        except _mx.base.MXNetError:
            return _INTERPRET
        group = _mx.sym.Group([built[p][i] for p, i in outs])
        try:
            return _Compiled(group, ext, nsc, ctx, len(order))
        except _mx.base.MXNetError:
            return _INTERPRET
    finally:
        _stats.bump("compile_seconds", time.perf_counter() - t0)


class _Compiled:
    """A bound executor plus the views used to feed it."""

    __slots__ = ("exe", "views", "scalar_arg", "last_scalars", "nodes")

    def __init__(self, group, ext, nscalars, ctx, nodes) -> None:
        names = set(group.list_arguments())
        args = {}
        with ctx.mx:
            for k, v in enumerate(ext):
                if f"in{k}" in names:
                    args[f"in{k}"] = _mx.nd.zeros(tuple(v.shape), dtype=v.dtype)
            if nscalars and "scalars" in names:
                args["scalars"] = _mx.nd.zeros((nscalars,), dtype="float64")
        self.exe = group.bind(ctx.mx, args=args, grad_req="null")
        d = self.exe.arg_dict
        self.views = [d[f"in{k}"].as_np_ndarray() if f"in{k}" in d else None for k in range(len(ext))]
        self.scalar_arg = d.get("scalars")
        self.last_scalars = None
        self.nodes = nodes

    def run(self, ext, scalars):
        for v, view in zip(ext, self.views):
            if view is not None:
                v.copyto(view)
        if scalars and self.scalar_arg is not None and scalars != self.last_scalars:
            _mx.nd.array(_onp.asarray(scalars, dtype=_F64), dtype="float64").copyto(self.scalar_arg)
            self.last_scalars = list(scalars)
        outs = self.exe.forward(is_train=False)
        return [o.copy().as_np_ndarray() for o in outs]
