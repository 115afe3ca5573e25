"""Reproducers: shrink a failing call to a standalone program and print it as source."""
from __future__ import annotations

from typing import Any, Optional

import numpy as onp

from .program import _index_src, array_src, spec_src, step_refs


def _remap(spec: Any, m: dict) -> Any:
    if isinstance(spec, dict):
        if "v" in spec:
            return {"v": m[spec["v"]]}
        out = dict(spec)
        for k in ("t", "l"):
            if k in spec:
                out[k] = [_remap(s, m) for s in spec[k]]
        if "kw" in spec:
            out["kw"] = {n: _remap(s, m) for n, s in spec["kw"].items()}
        return out
    return spec


def _input_step(v: Any) -> dict:
    a = onp.asarray(v)
    data = a.ravel().tolist()
    return {"k": "input", "in": {"sh": list(a.shape), "dt": a.dtype.name, "data": data,
                                 "data2": data}, "nout": 1}


def single_call(step: dict, pool_np: list) -> dict:
    """A program of one call whose operands are literal inputs holding ``pool_np``'s values."""
    steps, m = [], {}
    for r in step_refs(step):
        if r not in m:
            m[r] = len(steps)
            steps.append(_input_step(pool_np[r]))
    s = dict(step)
    s["args"] = [_remap(a, m) for a in step.get("args", [])]
    if "kw" in step:
        s["kw"] = {n: _remap(a, m) for n, a in step["kw"].items()}
    steps.append(s)
    return {"steps": steps}


def closure(prog: dict, i: int) -> dict:
    """The steps call ``i`` depends on (and itself), renumbered."""
    steps = prog["steps"]
    starts, pos = [], 0
    for s in steps:
        starts.append(pos)
        pos += s.get("nout", 1)
    owner = {}
    for k, s in enumerate(steps):
        for j in range(s.get("nout", 1)):
            owner[starts[k] + j] = k
    need = {i}
    for k in range(i, -1, -1):
        if k in need:
            need |= {owner[r] for r in step_refs(steps[k])}
    keep = sorted(need)
    m, pos = {}, 0
    new = []
    for k in keep:
        s = steps[k]
        for j in range(s.get("nout", 1)):
            m[starts[k] + j] = pos + j
        pos += s.get("nout", 1)
        s2 = dict(s)
        if "args" in s:
            s2["args"] = [_remap(a, m) for a in s["args"]]
        if "kw" in s:
            s2["kw"] = {n: _remap(a, m) for n, a in s["kw"].items()}
        new.append(s2)
    return {"steps": new}


def program_src(prog: dict, mode: str, expect: str = "", got: str = "") -> str:
    """The program as a standalone script in ``mode``; the last value is printed."""
    steps = prog["steps"]
    lines, pos = [], 0
    inputs, names = [], []
    name = lambda k: f"v{k}"    # noqa: E731
    body = []
    for s in steps:
        n = s.get("nout", 1)
        outs = [name(pos + j) for j in range(n)]
        pos += n
        if s["k"] == "input":
            inputs.append(f"{outs[0]} = {array_src(_host(s), 'np')}")
            names.append(outs[0])
            continue
        args = s.get("args", [])
        if s["k"] == "setitem":
            body.append(f"{outs[0]} = {spec_src(args[0], name)}.copy()")
            body.append(f"{outs[0]}[{_index_src(args[1], name, 'np')}] = "
                        f"{spec_src(args[2], name)}")
        elif s["k"] == "iop":
            body.append(f"{outs[0]} = {spec_src(args[0], name)}.copy()")
            body.append(f"{outs[0]} {s['name']} {spec_src(args[1], name)}")
        else:
            from .program import step_src
            lhs = ", ".join(outs) + ("," if n == 1 and s.get("multi") else "")
            body.append(f"{lhs} = {step_src(s, name)}")
    last = ", ".join(name(pos - s) for s in range(steps[-1].get("nout", 1), 0, -1)) \
        if steps else "None"
    head = ["import minpy", "import minpy.numpy as np",
            "nan, inf = float('nan'), float('inf')"]
    tail = []
    if expect:
        tail.append(f"# NumPy: {expect}")
    if got:
        tail.append(f"# MinPy: {got}")
    if mode == "lazy":
        lines = head + inputs + ["with minpy.lazy():"] + ["    " + b for b in body] + \
            [f"    print({last})"] + tail
    elif mode == "jit":
        lines = head + inputs + ["", "@minpy.jit", f"def f({', '.join(names)}):"] + \
            ["    " + b for b in body] + [f"    return {last}", "",
                                          f"print(f({', '.join(names)}))",
                                          f"print(f({', '.join(names)}))  # replay"] + tail
    else:
        lines = head + inputs + body + [f"print({last})"] + tail
    return "\n".join(lines)


def _host(s: dict) -> onp.ndarray:
    from .program import host_array
    return host_array(s["in"])


def describe_ref(step: dict, pool_np: list) -> str:
    """What NumPy gives for the call (for the reproducer's comment)."""
    from .execute import numpy_ref, expected_dtype
    r, e = numpy_ref(step, pool_np)
    if e is not None:
        return f"raises {type(e).__name__}: {str(e)[:160]}"
    if isinstance(r, (list, tuple)):
        return f"{len(r)} arrays, shapes {[onp.shape(x) for x in r]}"
    r = onp.asarray(r)
    want = expected_dtype(step, r, pool_np)
    with onp.printoptions(precision=8, threshold=12, edgeitems=3):
        return f"{r.astype(want)!r} (shape {r.shape}" + \
            (f", MinPy dtype {want} by the demotion rule)" if want != r.dtype else ")")


def reproduce(fail: dict, prog: dict, pool_np: Optional[list]) -> dict:
    """Shrink ``fail`` (a judged failure at step ``fail['step']``) and return the
    reproducer fields: ``repro`` (source), ``minimal`` (one call) or not."""
    from .execute import RUNNERS, Progress
    i = fail["step"]
    mode = fail["mode"]
    step = prog["steps"][i] if i >= 0 else None

    def same(fails):
        return any(f["kind"] == fail["kind"] and f["label"] == fail["label"] for f in fails)

    candidates = []
    if step is not None and pool_np is not None:
        candidates.append(("call", single_call(step, pool_np)))
    if step is not None:
        candidates.append(("closure", closure(prog, i)))
    for how, p in candidates:
        try:
            fails = RUNNERS[mode](p, Progress())
        except Exception:     # noqa: BLE001
            continue
        if same(fails):
            expect = describe_ref(step, pool_np) if (pool_np is not None and how == "call") \
                else ""
            return {"repro": program_src(p, mode, expect, fail["detail"]), "minimal": how}
    return {"repro": program_src(prog, mode, "", fail["detail"]), "minimal": "program"}
