"""Cluster IR -> C++ source of one MXNet extension operator.

A cluster is a list of graph nodes in topological order. The generated function
runs them as stages: consecutive elementwise nodes of one shape share one loop
nest (their intermediate values live in registers; only values read later are
stored), and products, reductions, copies and views are stages of their own.
Shapes and dtypes are fixed (they are part of the graph's cache key), so every
extent and stride is a constant the compiler can vectorise with.
"""
from __future__ import annotations

import math
import re

import numpy as _onp

from .ops_cpp import ELEMENTWISE, MOVES, PRODUCTS, REDUCTIONS, SCALAR_GRAD

CTYPE = {"float32": "float", "float64": "double", "bool": "bool"}
MXTYPE = {"float32": 0, "float64": 1, "bool": 7}


class Unsupported(Exception):
    """The emitter cannot express this cluster; ``node``, when known, is the one to
    leave out (the clusters are then cut again without it)."""

    def __init__(self, message: str, node=None) -> None:
        super().__init__(message)
        self.node = node


def _strides(shape) -> list:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


def broadcast_strides(src, dst) -> list:
    """Element strides of a contiguous ``src`` read at the index space of ``dst``."""
    st = _strides(src)
    off = len(dst) - len(src)
    out = []
    for d in range(len(dst)):
        j = d - off
        out.append(0 if j < 0 or src[j] == 1 and dst[d] != 1 else st[j])
    return out


def literal(v, ct: str) -> str:
    if type(v) is bool:
        return "true" if v else "false" if ct == "bool" else f"(({ct}){int(v)})"
    if type(v) is int:
        return f"(({ct}){v}LL)"
    v = float(v)
    if math.isnan(v):
        return f"(({ct})__builtin_nan(\"\"))" if math.copysign(1, v) > 0 else \
            f"(({ct})-__builtin_nan(\"\"))"
    if math.isinf(v):
        return f"(({ct}){'-' if v < 0 else ''}__builtin_inf())"
    return f"(({ct}){v.hex()})"


class _Val:
    """A value inside the kernel: in memory (``ptr``, contiguous ``shape``), in a
    register of the current loop (``reg``), or a scalar expression (``expr``)."""

    __slots__ = ("shape", "dtype", "ptr", "reg", "group", "expr")

    def __init__(self, shape, dtype, ptr=None, reg=None, group=None, expr=None) -> None:
        self.shape, self.dtype = tuple(shape), str(dtype)
        self.ptr, self.reg, self.group, self.expr = ptr, reg, group, expr


class Kernel:
    """Emits the body of one operator. ``inputs``: (shape, dtype, kind) per operator
    input, kind "array" or "scalar"; ``baked``: {scalar position: value}."""

    def __init__(self, name: str, stages=None) -> None:
        self.name = name
        self.stages = {} if stages is None else stages   # canonical text -> function name
        self.decl: dict = {}     # variable of the kernel function -> its C type
        self.lines: list = []
        self.arena = 0          # bytes of scratch memory
        self.tmp = 0
        self.group = None       # (shape, id) of the open elementwise loop
        self.gid = 0
        self.pending: list = []  # statements of the open loop
        self.loads: list = []    # (value, strides) read in the open loop
        self.stores: list = []   # (value, register) written by the open loop
        self.vals: dict = {}

    # ---------------------------------------------------------------- memory
    def scratch(self, shape, dtype) -> str:
        n = int(_onp.prod(shape)) if shape else 1
        off = self.arena
        self.arena += ((n * _onp.dtype(dtype).itemsize + 63) // 64) * 64
        self.tmp += 1
        name = f"t{self.tmp}"
        self.lines.append(f"  {CTYPE[dtype]}* __restrict {name} = "
                          f"reinterpret_cast<{CTYPE[dtype]}*>(arena + {off});")
        self.decl[name] = f"{CTYPE[dtype]}*"
        return name

    def view(self, base: str, offset: int, dtype) -> str:
        """A pointer variable ``offset`` elements into ``base`` (a split's part)."""
        self.tmp += 1
        name = f"v{self.tmp}"
        ct = CTYPE[dtype]
        self.lines.append(f"  const {ct}* {name} = {base} + {offset}LL;")
        self.decl[name] = f"const {ct}*"
        return name

    def stage(self, lines) -> None:
        """Emit ``lines`` as a call of a stage function shared by every identical stage
        (the RNN's fifty steps are one function each, not fifty copies to compile)."""
        text = "\n".join(lines)
        params, local = [], {}

        def name_of(m):
            tok = m.group(0)
            if tok in self.decl:
                if tok not in params:
                    params.append(tok)
                return f"p{params.index(tok)}"
            if tok[0] in "rl":
                return local.setdefault(tok, f"{tok[0]}{len(local)}")
            return tok
        canon = _TOKEN.sub(name_of, text)
        sig = ", ".join(f"{_restrict(self.decl[t])} p{i}" for i, t in enumerate(params))
        key = sig + "\n" + canon
        fn = self.stages.get(key)
        if fn is None:
            fn = self.stages[key] = f"minpy_stage{len(self.stages)}"
        self.lines.append(f"  {fn}({', '.join(params)});")

    # ---------------------------------------------------------------- loops
    def nest(self, shape, operand_strides, body, simd=True) -> list:
        """Lines of a loop nest over ``shape``; ``body(index expressions)`` gives the
        innermost lines. Adjacent dimensions every operand walks contiguously merge."""
        dims = [(shape[d], [s[d] for s in operand_strides]) for d in range(len(shape))
                if shape[d] != 1]
        merged = []
        for ext, st in dims:
            if merged:
                pe, pst = merged[-1]
                if all(a == b * ext for a, b in zip(pst, st)):
                    merged[-1] = (pe * ext, st)
                    continue
            merged.append((ext, st))
        lines = []
        idx = []
        for k in range(len(operand_strides)):
            terms = [f"i{d}*{st[k]}LL" if st[k] != 1 else f"i{d}"
                     for d, (_, st) in enumerate(merged) if st[k] != 0]
            idx.append(" + ".join(terms) if terms else "0")
        depth = len(merged)
        for d, (ext, _) in enumerate(merged):
            if d == depth - 1 and simd:
                lines.append("  " * (d + 1) + "#pragma omp simd")
            lines.append("  " * (d + 1) + f"for (long long i{d} = 0; i{d} < {ext}LL; ++i{d}) {{")
        pad = "  " * (depth + 1)
        lines += [pad + b for b in body(idx)]
        for d in range(depth - 1, -1, -1):
            lines.append("  " * (d + 1) + "}")
        if depth == 0:
            lines = ["  {"] + ["    " + b for b in body(idx)] + ["  }"]
        return lines

    # ---------------------------------------------------------------- elementwise groups
    def close(self) -> None:
        if self.group is None:
            return
        shape = self.group[0]
        vals = [v for v, _ in self.loads] + [v for v, _ in self.stores]
        strides = [broadcast_strides(v.shape, shape) for v, _ in self.loads] + \
            [_strides(shape) for _ in self.stores]
        loads, stores, pending = self.loads, self.stores, self.pending

        def body(idx):
            out = []
            for (v, var), ix in zip(loads, idx):
                out.append(f"const {CTYPE[v.dtype]} {var} = {v.ptr}[{ix}];")
            out += pending
            for (v, reg), ix in zip(stores, idx[len(loads):]):
                out.append(f"{v.ptr}[{ix}] = ({CTYPE[v.dtype]}){reg};")
            return out
        del vals
        self.stage(self.nest(shape, strides, body))
        self.group = None
        self.pending, self.loads, self.stores = [], [], []

    def open(self, shape) -> None:
        if self.group is not None and self.group[0] == tuple(shape):
            return
        self.close()
        self.gid += 1
        self.group = (tuple(shape), self.gid)

    def operand(self, v: _Val, ct: str) -> str:
        """The expression of ``v`` at the current loop's element, converted to ``ct``."""
        if v.expr is not None:
            e = v.expr
        elif v.reg is not None and v.group == self.group[1]:
            e = v.reg
        else:
            if v.ptr is None:
                raise Unsupported("a register value read outside its loop")
            for lv, var in self.loads:
                if lv is v:
                    e = var
                    break
            else:
                e = f"l{self.gid}_{len(self.loads)}"
                self.loads.append((v, e))
        src = CTYPE.get(v.dtype, "double") if v.expr is None else None
        return e if src == ct else f"(({ct}){e})"

    def define(self, shape, dtype, expr: str) -> _Val:
        self.tmp += 1
        reg = f"r{self.tmp}"
        self.pending.append(f"const {CTYPE[dtype]} {reg} = ({CTYPE[dtype]}){expr};")
        return _Val(shape, dtype, reg=reg, group=self.group[1])

    def store(self, v: _Val, ptr: str) -> None:
        """Make register value ``v`` also live at ``ptr`` (written by its loop)."""
        self.stores.append((_Val(v.shape, v.dtype, ptr=ptr), v.reg))
        v.ptr = ptr


_TOKEN = re.compile(r"\b(?:in|out|t|v|s|r|l)\d+(?:_\d+)?\b")


def _restrict(ctype: str) -> str:
    return ctype + " __restrict" if ctype.endswith("*") else "const " + ctype


def stage_functions(stages: dict) -> str:
    """The C++ definitions of the stage functions of ``stages`` (see ``Kernel.stage``)."""
    out = []
    for key, fn in stages.items():
        sig, body = key.split("\n", 1)
        out.append(f"static __attribute__((noinline)) void {fn}({sig}) {{\n{body}\n}}")
    return "\n".join(out)


def compute_type(dtypes) -> str:
    return "double" if any(str(d) == "float64" for d in dtypes) else "float"


# ==================================================================== a cluster's kernel

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
            vals[("s", d[2])] = _Val((), "float64", expr=f"s{d[2]}")
            continue
        shape, dtype = _ref_meta(d, ext)
        if dtype not in MXTYPE:
            raise Unsupported(f"input dtype {dtype}")
        ct = CTYPE[dtype]
        head.append(f"  const {ct}* __restrict in{j} = "
                    f"reinterpret_cast<const {ct}*>(in[{j}]);")
        K.decl[f"in{j}"] = f"const {ct}*"
        vals[_refkey(d)] = _Val(shape, dtype, ptr=f"in{j}")
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
            return vals[("s", k)]
        return vals[_refkey(d)]

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


def _refkey(d):
    return ("x", d[1]) if d[0] == "x" else ("n", id(d[1]), d[2])


def _ref_meta(d, ext):
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
    if axis is None:
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
                    simd=not inner_reduced and is_sum)
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
