"""Aggregating worker results: counts per mode, buckets with reproducers, Markdown."""
from __future__ import annotations

import inspect
import time
from typing import Optional

from .driver import CRASH, EXCEPTION, MISMATCH, signature

OPERATORS = {"+": "add", "-": "subtract", "*": "multiply", "/": "true_divide",
             "//": "floor_divide", "%": "mod", "**": "power", "@": "matmul", "==": "equal",
             "!=": "not_equal", "<": "less", "<=": "less_equal", ">": "greater",
             ">=": "greater_equal", "&": "bitwise_and", "|": "bitwise_or", "^": "bitwise_xor"}


def op_name(label: str) -> Optional[str]:
    """The registry operator a bucket label exercises, where there is one."""
    lab = label.split(" ")[0]
    if lab.startswith("x[") and lab.endswith("=v"):
        return "_setitem"
    if lab.startswith("x["):
        return "_getitem"
    if lab.startswith("x.") and lab != "x.T":
        return lab[2:]
    if lab == "x.T":
        return "transpose"
    if lab.startswith("x") and lab.endswith("y"):
        sym = lab[1:-1].rstrip("=") if lab[1:-1] not in OPERATORS else lab[1:-1]
        return OPERATORS.get(sym)
    if lab in ("-x",):
        return "negative"
    if lab == "+x":
        return "positive"
    if lab == "~x":
        return "invert"
    if lab == "abs(x)":
        return "absolute"
    return lab


def owner(label: str) -> str:
    """The file in minpy/ that most likely owns the operation (for the findings page)."""
    if label == "in context":
        return "minpy/jit/compile.py, engine.py (a failure poisoning its graph); " \
            "minpy/dispatch/call.py (eager: asynchronous MXNet errors)"
    if label.startswith("error of "):
        return "minpy/jit/compile.py (a failing node's error reaches other outputs)"
    if label.startswith("grad: "):
        return "minpy/autograd.py (crash while taking a gradient)"
    lab = label.split(" ")[0]
    if label == "end of minpy.lazy()":
        return "minpy/jit/engine.py (flush when the lazy block ends)"
    if lab == "@jit call":
        return "minpy/jit/tracing.py"
    if lab in ("flush", "program"):
        return "minpy/jit/engine.py, minpy/jit/compile.py"
    if lab.startswith("x[") or lab in ("_getitem", "_setitem"):
        return "minpy/ops/indexing.py (minpy/ops/_symindex.py in graphs)"
    if lab == "array":
        return "minpy/numpy/_composite.py"
    name = op_name(label)
    try:
        import minpy  # noqa: F401
        from minpy.dispatch.registry import REGISTRY
    except Exception:     # noqa: BLE001
        return "?"
    if name in ("astype", "copy", "flatten", "reshape", "transpose") and name not in REGISTRY:
        return "minpy/array.py"
    op = REGISTRY.get(name or "")
    if op is None:
        return "minpy/array.py" if lab.startswith("x.") else "?"
    for fn in (op.bind, op.shape, op.mx, op.np) + tuple(op.grads or ()):
        mod = getattr(fn, "__module__", "") or ""
        if mod.startswith("minpy.ops"):
            return mod.replace(".", "/") + ".py"
    import minpy.ops as ops_pkg
    import pkgutil
    for m in pkgutil.iter_modules(ops_pkg.__path__):
        src = inspect.getsource(__import__(f"minpy.ops.{m.name}", fromlist=["x"]))
        if f'"{name}"' in src or f"'{name}'" in src or f" {name} " in src:
            return f"minpy/ops/{m.name}.py"
    return "minpy/ops/ (generated in a loop)"


def _category(kind: str) -> str:
    if kind in ("grad_value", "grad_forward"):
        return "mismatch"
    if kind == "grad_exception":
        return "exception"
    if kind in MISMATCH:
        return "mismatch"
    if kind in EXCEPTION:
        return "exception"
    if kind in CRASH:
        return "crash"
    return "other"


def build(results: dict, gresults: dict, seed: int, seconds: float) -> dict:
    counts, buckets, per_prog = {}, {}, {}
    for group, res in (("", results), ("grad", gresults)):
        for mode, progs in res.items():
            key = f"{mode} grad" if group else mode
            c = {"programs": 0, "calls": 0, "clean": 0, "mismatch": 0, "exception": 0,
                 "crash": 0}
            for r in progs:
                if r.get("fuzzer_error"):
                    fe = c.setdefault("fuzzer_errors", [])
                    fe.append(r["fuzzer_error"][-300:]) if len(fe) < 3 else None
                    continue
                c["programs"] += 1
                c["calls"] += r.get("calls", 0)
                cats = {_category(f["kind"]) for f in r["fails"]}
                if not r["fails"]:
                    c["clean"] += 1
                for cat in cats:
                    if cat in c:
                        c[cat] += 1
                per_prog[f"{key}:{r['index']}"] = sorted({signature(f) for f in r["fails"]})
                for f in r["fails"]:
                    s = signature(f)
                    b = buckets.setdefault(s, {"signature": s, "kind": f["kind"],
                                               "label": f["label"], "dtypes": f["dtypes"],
                                               "count": 0, "modes": {}, "detail": f["detail"],
                                               "programs": []})
                    b["count"] += 1
                    b["modes"][key] = b["modes"].get(key, 0) + 1
                    if len(b["programs"]) < 5:
                        b["programs"].append([key, r["index"], f.get("step")])
                    if "repro" in f and ("repro" not in b or _better(f, b)):
                        b["repro"], b["minimal"] = f["repro"], f.get("minimal")
                        b["repro_mode"] = key
                        b["detail"] = f["detail"]
            counts[key] = c
    for b in buckets.values():
        b["owner"] = owner(b["label"])
        b["category"] = _category(b["kind"]) if b["kind"] not in ("grad_value", "grad_exception") \
            else b["kind"]
    blist = sorted(buckets.values(), key=lambda b: (-b["count"], b["signature"]))
    return {"seed": seed, "seconds": round(seconds, 1),
            "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "counts": counts, "buckets": blist, "programs": per_prog}


def _better(f: dict, b: dict) -> bool:
    rank = {"call": 0, "closure": 1, "program": 2, None: 3}
    return rank.get(f.get("minimal"), 3) < rank.get(b.get("minimal"), 3)


def markdown(rep: dict, commit: str = "", top: Optional[int] = 60) -> str:
    """The findings page: counts, buckets by owner file, the ``top`` buckets with their
    reproducers, then every other bucket in one table."""
    lines = ["# MinPy differential fuzzer findings", "",
             f"Run at {rep['time']}{', commit ' + commit if commit else ''}, seed {rep['seed']}, "
             f"{rep['seconds']:.0f} s. Rerun: `python -m tests.fuzz --minutes N "
             f"--seed {rep['seed']} --grad --out report.json --md report.md` (docs/testing.md).",
             "", "| mode | programs | calls | clean | mismatch (value/shape/dtype/missing or "
             "wrong error) | exception NumPy does not raise | crash/hang |",
             "|---|---|---|---|---|---|---|"]
    for mode, c in rep["counts"].items():
        lines.append(f"| {mode} | {c['programs']} | {c['calls']} | {c['clean']} | "
                     f"{c['mismatch']} | {c['exception']} | {c['crash']} |")
    lines += ["", "A program counts once in each column it has a failure of. Grad rows: "
              "mismatch = wrong gradient or loss, exception = an error in the backward pass.", "",
              "Signature = kind | operation | operand dtypes (`int_py`/`float_py`/`bool_py` are "
              "Python scalars; `x[...]` labels list the index components). Every call is judged "
              "on the operand values the mode itself produced. `minimal: call` = the single "
              "call on those values (as literals) reproduces it standalone; `closure` = the "
              "call and the steps it depends on; `program` = only the whole program "
              "reproduces it (lazy/jit context, or an earlier asynchronous failure).", "",
              "## Buckets per owner file", "", "| owner | buckets | failures |", "|---|---|---|"]
    by: dict = {}
    for b in rep["buckets"]:
        o = by.setdefault(b["owner"], [0, 0])
        o[0] += 1
        o[1] += b["count"]
    for o, (nb, nf) in sorted(by.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| `{o}` | {nb} | {nf} |")
    bl = rep["buckets"] if top is None else rep["buckets"][:top]
    lines += ["", f"## Top {len(bl)} of {len(rep['buckets'])} buckets, by count", ""]
    for n, b in enumerate(bl, 1):
        modes = ", ".join(f"{m} {k}" for m, k in b["modes"].items())
        lines += [f"### {n}. `{b['signature']}` - {b['count']} ({modes})", "",
                  f"- owner: `{b['owner']}`", f"- detail: {b['detail'][:600]}",
                  f"- programs (mode, index, step): {b['programs']}", ""]
        if "repro" in b:
            lines += [f"Reproducer ({b.get('repro_mode')}, minimal: {b.get('minimal')}):", "",
                      "```python", b["repro"], "```", ""]
    rest = rep["buckets"][len(bl):]
    if rest:
        lines += ["## Other buckets", "", "Reproducers for these are in the JSON report "
                  "(`buckets[].repro`).", "", "| signature | count | modes | owner | minimal | "
                  "detail |", "|---|---|---|---|---|---|"]
        for b in rest:
            modes = ", ".join(f"{m} {k}" for m, k in b["modes"].items())
            det = b["detail"][:140].replace("|", "\\|").replace("\n", " ")
            sig = b["signature"].replace("|", "\\|")
            lines.append(f"| `{sig}` | {b['count']} | {modes} | `{b['owner']}` | "
                         f"{b.get('minimal')} | {det} |")
    return "\n".join(lines) + "\n"
