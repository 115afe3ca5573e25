"""What each node of a cluster becomes inside its kernel.

``generate`` walks a cluster in topological order: elementwise nodes join the open
loop group of their shape (``Kernel.open``), every other node closes it and emits a
stage of its own (a reduction, a product, a copy, a view); values another stage
reads are stored, the rest stay in registers.
"""
from __future__ import annotations

import numpy as _onp

from .emit import (CTYPE, MXTYPE, Kernel, Unsupported, _strides, _Val,
                   compute_type, literal)
from .ops_cpp import ELEMENTWISE, PRODUCTS, REDUCTIONS, SCALAR_GRAD


def _is_elementwise(n) -> bool:
    name = n.op.name
    return name in ELEMENTWISE or name in SCALAR_GRAD or name in (
        "broadcast_to", "astype", "where", "ones_like", "zeros_like", "copy", "_setitem")


def plan_groups(nodes) -> dict:
    """node -> loop group id for elementwise nodes (consecutive, same shape)."""
    groups, gid, shape = {}, 0, None
    for n in nodes:
        if _is_elementwise(n):
            if shape != tuple(n.shapes[0]):
                gid += 1
                shape = tuple(n.shapes[0])
            groups[n] = gid
        else:
            shape = None
    return groups


def generate(name, nodes, inputs, outputs, ext, scalars, baked, stages=None) -> tuple:
    """C++ body of operator ``name`` and its scratch size.

    ``inputs``: the cluster's operator inputs in order, each a graph reference
    (``("n", node, k)``, ``("x", k)``) or a fed scalar ``("s", type, k)``;
    ``outputs``: the (node, k) the operator returns."""
    K = Kernel(name, stages)
    inset = set(id(n) for n in nodes)
    groups = plan_groups(nodes)
    # which values must be in memory: read by another stage, or returned
    mem = set((id(n), k) for n, k in outputs)
    for c in nodes:
        for d in c.ins:
            if d[0] == "n" and id(d[1]) in inset:
                p = d[1]
                if groups.get(c) is None or groups.get(c) != groups.get(p):
                    mem.add((id(p), d[2]))
    vals = {}
    head = []
    for j, d in enumerate(inputs):
        if d[0] == "s":
            head.append(f"  const double s{d[2]} = minpy_scalar(in[{j}], itypes[{j}]);")
            K.decl[f"s{d[2]}"] = "double"
            vals[refkey(d)] = _Val((), "float64", expr=f"s{d[2]}")
            continue
        shape, dtype = ref_meta(d, ext)
        if dtype not in MXTYPE:
            raise Unsupported(f"input dtype {dtype}")
        ct = CTYPE[dtype]
        head.append(f"  const {ct}* __restrict in{j} = "
                    f"reinterpret_cast<const {ct}*>(in[{j}]);")
        K.decl[f"in{j}"] = f"const {ct}*"
        vals[refkey(d)] = _Val(shape, dtype, ptr=f"in{j}")
    outptr = {}
    for j, (n, k) in enumerate(outputs):
        ct = CTYPE[str(n.dtypes[k])]
        head.append(f"  {ct}* __restrict out{j} = "
                    f"reinterpret_cast<{ct}*>(out[{j}]);")
        K.decl[f"out{j}"] = f"{ct}*"
        outptr[(id(n), k)] = f"out{j}"

    def value(d):
        if d[0] == "s":
            k = d[2]
            if k in baked:
                return scalars[k]
        return vals[refkey(d)]

    def home(n, k):
        """Memory for output k of n: the operator's output, else scratch."""
        p = outptr.get((id(n), k))
        return p if p is not None else K.scratch(n.shapes[k], str(n.dtypes[k]))

    for n in nodes:
        name_ = n.op.name
        shape = tuple(n.shapes[0])
        dtype = str(n.dtypes[0])
        args = [value(d) for d in n.ins]
        if _is_elementwise(n):
            K.open(shape)
            expr = _elementwise(K, n, args, dtype)
            v = K.define(shape, dtype, expr)
            if (id(n), 0) in mem:
                K.store(v, home(n, 0))
            vals[("n", id(n), 0)] = v
            continue
        K.close()
        if name_ in REDUCTIONS:
            vals[("n", id(n), 0)] = _reduce(K, n, args[0], home(n, 0))
        elif name_ in PRODUCTS:
            vals[("n", id(n), 0)] = _product(K, n, args, home(n, 0))
        elif name_ == "reshape":
            src = args[0]
            if (id(n), 0) in outptr:
                vals[("n", id(n), 0)] = _copy(K, src, shape, dtype, outptr[(id(n), 0)])
            else:
                vals[("n", id(n), 0)] = _Val(shape, dtype, ptr=src.ptr)
        elif name_ == "transpose":
            vals[("n", id(n), 0)] = _transpose(K, n, args[0], home(n, 0))
        elif name_ == "concatenate":
            vals[("n", id(n), 0)] = _concat(K, n, args, home(n, 0))
        elif name_ == "split":
            for k, v in enumerate(_split(K, n, args[0], outptr)):
                vals[("n", id(n), k)] = v
        else:
            raise Unsupported(name_)
    K.close()
    # values returned that are views of other memory: copy them out
    for j, (n, k) in enumerate(outputs):
        v = vals[("n", id(n), k)]
        if v.ptr != f"out{j}":
            if v.ptr is None:
                raise Unsupported("an output never stored")
            K.stage(_copy(K, v, tuple(n.shapes[k]), str(n.dtypes[k]), f"out{j}", emit=False))
    return head, K.lines, K.arena


def refkey(d):
    """What identifies a graph reference inside a cluster (a node output, a graph
    input, or a fed scalar)."""
    if d[0] == "n":
        return ("n", id(d[1]), d[2])
    return ("x", d[1]) if d[0] == "x" else ("s", d[2])


def ref_meta(d, ext):
    """(shape, dtype name) of a reference to a node output or a graph input."""
    if d[0] == "x":
        b = ext[d[1]]
        return tuple(b.shape), str(_onp.dtype(b.dtype))
    n, k = d[1], d[2]
    return tuple(n.shapes[k]), str(n.dtypes[k])


def _elementwise(K: Kernel, n, args, dtype: str) -> str:
    name = n.op.name
    attrs = dict(n.attrs)
    arrays = [a for a in args if not _is_scalar(a)]
    if name in ("astype", "broadcast_to", "copy", "_setitem"):
        a = args[1] if name == "_setitem" else args[0]
        src = CTYPE.get(a.dtype, "double") if not _is_scalar(a) else "double"
        return K.operand(a, src) if not _is_scalar(a) else _sc(a, CTYPE[dtype])
    if name in ("ones_like", "zeros_like"):
        return literal(1 if name == "ones_like" else 0, CTYPE[dtype])
    if name == "where":
        ct = compute_type([a.dtype for a in args[1:] if not _is_scalar(a)] + [dtype])
        c = args[0]
        cond = f"({K.operand(c, CTYPE.get(c.dtype, 'double'))} != 0)" if not _is_scalar(c) \
            else f"({_sc(c, 'double')} != 0)"
        x, y = (_opnd(K, a, ct) for a in args[1:])
        return f"({cond} ? {x} : {y})"
    if name in SCALAR_GRAD:
        ct = compute_type([a.dtype for a in arrays] + [dtype])
        g, x = (_opnd(K, a, ct) for a in args[:2])
        s = literal(attrs.get("scalar", 0.0), ct)
        return f"({g} * (({ct})({x} {SCALAR_GRAD[name]} {s})))"
    nin, fn, kind = ELEMENTWISE[name]
    ct = compute_type([a.dtype for a in arrays] + ([] if kind == "cmp" else [dtype]))
    ops = [_opnd(K, a, ct) for a in args]
    return fn(*ops, ct=ct)


def _is_scalar(v) -> bool:
    return not isinstance(v, _Val) or (v.expr is not None)


def _sc(v, ct: str) -> str:
    if isinstance(v, _Val):
        return f"(({ct}){v.expr})"
    return literal(v, ct)


def _opnd(K, v, ct):
    return _sc(v, ct) if _is_scalar(v) else K.operand(v, ct)


def _need_mem(v):
    if v.ptr is None or _is_scalar(v):
        raise Unsupported("operand not in memory")
    return v


def _copy(K, v, shape, dtype, dst, emit=True):
    _need_mem(v)
    ct = CTYPE[dtype]
    lines = K.nest(shape, [_strides(shape), _strides(shape)],
                   lambda ix: [f"{dst}[{ix[1]}] = ({ct}){v.ptr}[{ix[0]}];"])
    if not emit:
        return lines
    K.stage(lines)
    return _Val(shape, dtype, ptr=dst)


def _axes(axis, ndim):
    if axis is None or ndim == 0:     # a 0-d operand: its one element, for axis 0 or -1 too
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim for a in axis))


def _reduce(K, n, x, dst):
    _need_mem(x)
    name = n.op.name
    attrs = dict(n.attrs)
    if attrs.get("dtype") is not None or attrs.get("initial") is not None or \
            attrs.get("where") is not None:
        raise Unsupported("reduction options")
    shape = x.shape
    axes = _axes(attrs.get("axis"), len(shape))
    keep = tuple(1 if d in axes else shape[d] for d in range(len(shape)))
    m = int(_onp.prod(keep)) if keep else 1
    count = int(_onp.prod([shape[d] for d in axes])) if axes else 1
    dtype = str(n.dtypes[0])
    ct = CTYPE[dtype]
    is_sum = name in ("sum", "mean")
    acc_t = "double" if is_sum else ct
    acc = K.scratch((m,), "float64" if is_sum else dtype)
    init = "0" if is_sum else literal(float("-inf") if name in ("max", "amax") else float("inf"),
                                      acc_t)
    lines = [f"  for (long long j = 0; j < {m}LL; ++j) {acc}[j] = {init};"]
    ast = [0 if d in axes else s for d, s in enumerate(_strides(keep))]
    if is_sum:
        step = "{a}[{o}] += (double){x}[{i}];"
    elif name in ("max", "amax"):
        step = ("{{ const {t} v = {x}[{i}]; const {t} c = {a}[{o}]; "
                "{a}[{o}] = (v > c || v != v) ? v : c; }}")
    else:
        step = ("{{ const {t} v = {x}[{i}]; const {t} c = {a}[{o}]; "
                "{a}[{o}] = (v < c || v != v) ? v : c; }}")
    inner_reduced = len(shape) > 0 and (len(shape) - 1) in axes
    lines += K.nest(shape, [_strides(shape), ast],
                    lambda ix: [step.format(a=acc, o=ix[1], x=x.ptr, i=ix[0], t=acc_t)],
                    simd=not inner_reduced and is_sum, parallel=False)
    if name == "mean":
        lines.append(f"  for (long long j = 0; j < {m}LL; ++j) "
                     f"{dst}[j] = ({ct})({acc}[j] / {count}.0);")
    else:
        lines.append(f"  for (long long j = 0; j < {m}LL; ++j) {dst}[j] = ({ct}){acc}[j];")
    K.stage(lines)
    return _Val(n.shapes[0], dtype, ptr=dst)


def _product(K, n, args, dst):
    a, b = (_need_mem(v) for v in args)
    name = n.op.name
    attrs = dict(n.attrs)
    ta, tb = (attrs.get("ta", False), attrs.get("tb", False)) if name == "_matmul_t" else \
        (False, False)
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise Unsupported("product of non-matrices")
    rows, inner = (a.shape[1], a.shape[0]) if ta else a.shape
    cols = b.shape[0] if tb else b.shape[1]
    dtype = str(n.dtypes[0])
    ct = CTYPE[dtype]
    sa = (1, rows) if ta else (inner, 1)          # strides of (i, k) in a
    sb = (1, inner) if tb else (cols, 1)          # strides of (k, j) in b
    ca, cb = CTYPE[a.dtype], CTYPE[b.dtype]
    K.stage([
        f"  for (long long i = 0; i < {rows}LL; ++i) {{",
        f"    {ct}* __restrict c = {dst} + i * {cols}LL;",
        "    #pragma omp simd",
        f"    for (long long j = 0; j < {cols}LL; ++j) c[j] = 0;",
        f"    for (long long k = 0; k < {inner}LL; ++k) {{",
        f"      const {ct} av = ({ct})(({ca}){a.ptr}[i * {sa[0]}LL + k * {sa[1]}LL]);",
        "      #pragma omp simd",
        f"      for (long long j = 0; j < {cols}LL; ++j) "
        f"c[j] += av * ({ct})(({cb}){b.ptr}[k * {sb[0]}LL + j * {sb[1]}LL]);",
        "    }",
        "  }"])
    return _Val(n.shapes[0], dtype, ptr=dst)


def _transpose(K, n, x, dst):
    _need_mem(x)
    axes = dict(n.attrs).get("axes")
    nd = len(x.shape)
    axes = tuple(range(nd))[::-1] if axes is None else tuple(a % nd for a in axes)
    out_shape = tuple(x.shape[a] for a in axes)
    src_st = _strides(x.shape)
    ct = CTYPE[str(n.dtypes[0])]
    K.stage(K.nest(out_shape, [[src_st[a] for a in axes], _strides(out_shape)],
                   lambda ix: [f"{dst}[{ix[1]}] = ({ct}){x.ptr}[{ix[0]}];"]))
    return _Val(out_shape, str(n.dtypes[0]), ptr=dst)


def _concat(K, n, args, dst):
    axis = dict(n.attrs).get("axis", 0)
    out_shape = tuple(n.shapes[0])
    if axis is None:
        raise Unsupported("concatenate axis=None")
    axis %= len(out_shape)
    ost = _strides(out_shape)
    ct = CTYPE[str(n.dtypes[0])]
    off = 0
    for v in args:
        _need_mem(v)
        base = off * ost[axis]
        K.stage(K.nest(v.shape, [_strides(v.shape), ost],
                       lambda ix, v=v, base=base: [
                           f"{dst}[{base}LL + {ix[1]}] = ({ct}){v.ptr}[{ix[0]}];"]))
        off += v.shape[axis]
    return _Val(out_shape, str(n.dtypes[0]), ptr=dst)


def _split(K, n, x, outptr):
    _need_mem(x)
    attrs = dict(n.attrs)
    axis = attrs.get("axis", 0) % len(x.shape)
    xst = _strides(x.shape)
    out, off = [], 0
    for k, shp in enumerate(n.shapes):
        shp = tuple(shp)
        dtype = str(n.dtypes[k])
        base = off * xst[axis]
        p = outptr.get((id(n), k))
        if axis == 0 or all(d == 1 for d in x.shape[:axis]):
            view = _Val(shp, dtype, ptr=K.view(x.ptr, base, dtype))
            out.append(_copy(K, view, shp, dtype, p) if p is not None else view)
        else:
            dst = p if p is not None else K.scratch(shp, dtype)
            ct = CTYPE[dtype]
            K.stage(K.nest(shp, [xst, _strides(shp)],
                           lambda ix, base=base, dst=dst: [
                               f"{dst}[{ix[1]}] = ({ct}){x.ptr}[{base}LL + {ix[0]}];"]))
            out.append(_Val(shp, dtype, ptr=dst))
        off += shp[axis]
    return out
