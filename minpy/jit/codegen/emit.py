"""The C++ text of a kernel being written: memory, loop nests, loop groups, stages.

A kernel runs a cluster's nodes as stages: consecutive elementwise nodes of one
shape share one loop nest (their intermediate values live in registers; only
values read later are stored), and products, reductions, copies and views are
stages of their own (``stages.py`` says what each node becomes). Shapes and
dtypes are fixed (they are part of the graph's cache key), so every extent and
stride is a constant the compiler can vectorise with; identical stages become one
shared function.
"""
from __future__ import annotations

import math
import re

import numpy as _onp


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
    def nest(self, shape, operand_strides, body, simd=True, parallel=True) -> list:
        """Lines of a loop nest over ``shape``; ``body(index expressions)`` gives the
        innermost lines. Adjacent dimensions every operand walks contiguously merge.
        ``parallel``: iterations are independent, so nests of ``codegen_parallel_min``
        elements or more share their outer loop among OpenMP threads."""
        from ..config import config
        size = 1
        for d in shape:
            size *= int(d)
        threads = parallel and size >= config.codegen_parallel_min
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
                lines.append("  " * (d + 1) + ("#pragma omp parallel for simd"
                                               if threads and depth == 1 else "#pragma omp simd"))
            elif d == 0 and threads:
                lines.append("  #pragma omp parallel for")
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
