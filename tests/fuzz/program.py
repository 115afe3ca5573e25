"""Programs as plain data: steps, argument specs, how to run a step with NumPy or MinPy,
and how to print a step as Python source (for reproducers).

A program is a dict ``{"inputs": [...], "inputs2": [...], "steps": [...]}``. Every
value it makes goes into a *pool* (a list); a step names its operands by pool
position. Everything is JSON-able, so a program travels to a worker process and
into a report unchanged.

Argument specs (``spec``):

* ``{"v": i}``                  pool value ``i``
* ``{"t": [spec...]}``          a tuple; ``{"l": [...]}`` a list
* ``{"sl": [start, stop, step]}`` a slice; ``{"E": 1}`` Ellipsis
* ``{"a": data, "dt": dtype, "sh": shape}`` a constant array made by ``xp.array``
* ``{"f": "nan" | "inf" | "-inf"}`` a special Python float
* anything else (int, float, bool, str, None) is itself.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable

import numpy as onp

BINOPS: dict[str, Callable] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "@": operator.matmul,
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge, "&": operator.and_, "|": operator.or_,
    "^": operator.xor,
}
INPLACE: dict[str, Callable] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
}
UNOPS: dict[str, Callable] = {"-": operator.neg, "abs": abs, "~": operator.invert,
                              "+": operator.pos}


def host_array(d: dict, key: str = "data") -> onp.ndarray:
    """The NumPy array an input or constant description stands for."""
    data = [float(x) if isinstance(x, str) else x for x in d[key]]
    return onp.array(data, dtype=d["dt"]).reshape(d["sh"])


def resolve(spec: Any, pool: list, xp) -> Any:
    """The Python object ``spec`` stands for, with pool values and ``xp`` arrays."""
    if isinstance(spec, dict):
        if "v" in spec:
            return pool[spec["v"]]
        if "t" in spec:
            return tuple(resolve(s, pool, xp) for s in spec["t"])
        if "l" in spec:
            return [resolve(s, pool, xp) for s in spec["l"]]
        if "sl" in spec:
            return slice(*spec["sl"])
        if "E" in spec:
            return Ellipsis
        if "a" in spec:
            return xp.array(host_array({"data": spec["a"], "dt": spec["dt"], "sh": spec["sh"]}),
                            dtype=spec["dt"])
        if "f" in spec:
            return float(spec["f"])
        if "kw" in spec:
            return {k: resolve(v, pool, xp) for k, v in spec["kw"].items()}
        raise ValueError(f"bad spec {spec!r}")
    return spec


def refs(spec: Any) -> list[int]:
    """Pool positions a spec reads."""
    if isinstance(spec, dict):
        if "v" in spec:
            return [spec["v"]]
        out = []
        for k in ("t", "l"):
            for s in spec.get(k, ()):
                out += refs(s)
        for s in spec.get("kw", {}).values():
            out += refs(s)
        return out
    return []


def step_refs(step: dict) -> list[int]:
    out = []
    for s in step.get("args", ()):
        out += refs(s)
    for s in step.get("kw", {}).values():
        out += refs(s)
    return out


def run_step(step: dict, pool: list, xp, data: str = "data") -> Any:
    """Run one step with ``xp`` (``numpy`` or ``minpy.numpy``) on pool values.

    ``setitem`` and in-place steps work on a copy of their target, so pool values never
    change once made (each call can be judged on the values it saw)."""
    k = step["k"]
    if k == "input":
        d = step["in"]
        return xp.array(host_array(d, data), dtype=d["dt"])
    args = [resolve(s, pool, xp) for s in step.get("args", ())]
    kw = {n: resolve(s, pool, xp) for n, s in step.get("kw", {}).items()}
    if k == "call":
        fn = xp
        for part in step["name"].split("."):
            fn = getattr(fn, part)
        return fn(*args, **kw)
    if k == "method":
        return getattr(args[0], step["name"])(*args[1:], **kw)
    if k == "attr":
        return getattr(args[0], step["name"])
    if k == "binop":
        return BINOPS[step["name"]](args[0], args[1])
    if k == "unop":
        return UNOPS[step["name"]](args[0])
    if k == "getitem":
        return args[0][args[1]]
    if k == "setitem":
        t = _copy(args[0], xp)
        t[args[1]] = args[2]
        return t
    if k == "iop":
        t = _copy(args[0], xp)
        t = INPLACE[step["name"]](t, args[1])
        return t
    raise ValueError(f"bad step kind {k!r}")


def _copy(a: Any, xp) -> Any:
    """A writable copy of a pool value: ``.copy()`` of a MinPy array; NumPy scalars and
    Python numbers (``count_nonzero`` returns an int) become arrays, in both libraries."""
    if xp is onp:
        return onp.array(a)
    if hasattr(a, "asnumpy"):
        return a.copy()
    return xp.array(a)


# ----------------------------------------------------------------------------- source text

def _lit(x: Any) -> str:
    if isinstance(x, onp.floating):
        if onp.isfinite(x):
            return str(x) if x.dtype == onp.float32 else repr(float(x))
        x = float(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    return repr(x)


def array_src(a: onp.ndarray, mod: str = "np") -> str:
    """Source that rebuilds ``a`` (shape and dtype included)."""
    a = onp.asarray(a)
    dt = a.dtype.name
    if a.ndim == 0:
        return f"{mod}.array({_lit(a[()] if a.dtype.kind == 'f' else a.item())}, dtype='{dt}')"
    if a.size == 0:
        return f"{mod}.zeros({tuple(a.shape)!r}, dtype='{dt}')"
    items = list(a.ravel()) if a.dtype.kind == "f" else a.ravel().tolist()
    flat = "[" + ", ".join(_lit(x) for x in items) + "]"
    if a.ndim == 1:
        return f"{mod}.array({flat}, dtype='{dt}')"
    return f"{mod}.array({flat}, dtype='{dt}').reshape({tuple(a.shape)!r})"


def spec_src(spec: Any, names: Callable[[int], str], mod: str = "np") -> str:
    if isinstance(spec, dict):
        if "v" in spec:
            return names(spec["v"])
        if "t" in spec:
            items = [spec_src(s, names, mod) for s in spec["t"]]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if "l" in spec:
            return "[" + ", ".join(spec_src(s, names, mod) for s in spec["l"]) + "]"
        if "sl" in spec:
            a, b, c = spec["sl"]
            txt = ("" if a is None else str(a)) + ":" + ("" if b is None else str(b))
            return txt + (":" + str(c) if c is not None else "")
        if "E" in spec:
            return "..."
        if "a" in spec:
            return array_src(host_array({"data": spec["a"], "dt": spec["dt"], "sh": spec["sh"]}),
                             mod)
        if "f" in spec:
            return _lit(float(spec["f"]))
    return _lit(spec)


def _index_src(spec: Any, names, mod: str) -> str:
    """An index inside ``[...]``: a tuple prints without its parentheses, slices as ``a:b``."""
    if isinstance(spec, dict) and "t" in spec and spec["t"]:
        return ", ".join(_index_src(s, names, mod) for s in spec["t"])
    if isinstance(spec, dict) and "sl" in spec:
        return spec_src(spec, names, mod)
    if isinstance(spec, dict) and "t" in spec:
        return "()"
    return spec_src(spec, names, mod)


def step_src(step: dict, names: Callable[[int], str], mod: str = "np") -> str:
    """The expression (or statements ending in ``_``) one step runs, as source text."""
    k = step["k"]
    if k == "input":
        return array_src(host_array(step["in"]), mod)
    args = step.get("args", [])
    a = [spec_src(s, names, mod) for s in args]
    kw = [f"{n}={spec_src(s, names, mod)}" for n, s in step.get("kw", {}).items()]
    if k == "call":
        return f"{mod}.{step['name']}({', '.join(a + kw)})"
    if k == "method":
        return f"{a[0]}.{step['name']}({', '.join(a[1:] + kw)})"
    if k == "attr":
        return f"{a[0]}.{step['name']}"
    if k == "binop":
        return f"{a[0]} {step['name']} {a[1]}"
    if k == "unop":
        return f"abs({a[0]})" if step["name"] == "abs" else f"{step['name']}{a[0]}"
    if k == "getitem":
        return f"{a[0]}[{_index_src(args[1], names, mod)}]"
    if k == "setitem":
        return f"_ = {a[0]}.copy(); _[{_index_src(args[1], names, mod)}] = {a[2]}"
    if k == "iop":
        return f"_ = {a[0]}.copy(); _ {step['name']} {a[1]}"
    raise ValueError(k)


def step_label(step: dict) -> str:
    """The operation a step exercises, for bucketing: ``sum``, ``x.sum``, ``+``, ``[]``..."""
    k = step["k"]
    if k == "call":
        return step["name"]
    if k in ("method", "attr"):
        return "x." + step["name"]
    if k == "binop":
        return "x" + step["name"] + "y"
    if k == "unop":
        return step["name"] + "x" if step["name"] != "abs" else "abs(x)"
    if k == "getitem":
        return "x[" + index_kind(step["args"][1]) + "]"
    if k == "setitem":
        return "x[" + index_kind(step["args"][1]) + "]=v"
    if k == "iop":
        return "x" + step["name"] + "y"
    return k


def index_kind(spec: Any) -> str:
    """A coarse description of an index: int, slice, None, ..., intarr, mask, tuple of these."""
    def one(s):
        if isinstance(s, bool):
            return "bool"
        if isinstance(s, int):
            return "int"
        if s is None:
            return "None"
        if isinstance(s, dict):
            if "sl" in s:
                return "slice"
            if "E" in s:
                return "..."
            if "a" in s:
                return "mask" if s["dt"] == "bool" else "intarr"
            if "v" in s:
                return "arr"
            if "l" in s:
                return "list"
        return type(s).__name__
    if isinstance(spec, dict) and "t" in spec:
        return ",".join(one(s) for s in spec["t"]) or "()"
    return one(spec)
