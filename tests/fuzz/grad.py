"""Gradient fuzzing: smooth float64 programs, ``minpy.core.grad`` against central
differences of the same program run by NumPy, in eager, lazy and @jit mode."""
from __future__ import annotations

import random
import warnings
from typing import Any, Optional

import numpy as onp

from .gen import Gen, _axis, _const, _need, _reshape_target, _Skip
from .program import host_array, resolve, run_step, step_label, step_refs
from .shrink import closure, program_src as _program_src

SMOOTH_UNARY = ["tanh", "sin", "cos", "arctan", "arcsinh", "square", "negative", "expm1",
                "exp", "sinh", "cosh", "positive", "absolute"]
SMOOTH_BINARY = ["add", "subtract", "multiply", "hypot", "logaddexp", "arctan2"]
RTOL, ATOL = 1e-4, 1e-6


class GradGen(Gen):
    """Programs whose values stay smooth functions of float64 inputs."""

    linalg_names = Gen.linalg_names[:-1]     # not linalg.norm: kinked at zero

    def new_input(self, shape: tuple, dt: Optional[str] = None) -> int:
        n = int(onp.prod(shape)) if shape else 1
        mk = lambda: [round(self.rng.uniform(-1.5, 1.5), 3) or 0.25 for _ in range(n)]  # noqa
        d = {"sh": list(shape), "dt": "float64", "data": mk(), "data2": mk()}
        self.steps.append({"k": "input", "in": d, "nout": 1})
        self.pool.append(host_array(d))
        return len(self.pool) - 1

    def scalar(self, dt: str) -> Any:
        return self.rng.choice([0.5, 2.0, -1.5, 3, 1])

    def index_array(self, arr: onp.ndarray, data2: list) -> dict:
        """A constant: every input here is a float64 variable of the loss."""
        return _const(arr)

    def program(self, nsteps: int) -> dict:
        rng = self.rng
        self.special = False
        base = tuple(rng.randint(1, 3) for _ in range(rng.randint(0, 3)))
        for _ in range(rng.randint(1, 2)):
            self.new_input(base if rng.random() < 0.6 else
                           tuple(1 if rng.random() < 0.3 else d for d in base))
        self.grow(nsteps, 6, lambda vals: any(
            v is None or v.dtype != onp.float64 or v.size > 60 or not onp.isfinite(v).all()
            or (v.size and onp.abs(v).max() > 30) for v in vals))
        # the loss: sum(last * w)
        last = _need(self.pick(lambda v: v.size > 0))
        w = onp.round(onp.array([self.rng.uniform(-1, 1) for _ in range(self.pool[last].size)]),
                      3).reshape(self.pool[last].shape)
        self.add({"k": "binop", "name": "*", "args": [
            {"v": last}, {"a": w.ravel().tolist(), "dt": "float64", "sh": list(w.shape)}]})
        self.add({"k": "call", "name": "sum", "args": [{"v": len(self.pool) - 1}]})
        return {"steps": self.steps}

    def one(self) -> None:
        rng = self.rng
        kind = rng.choices(["unary", "binary", "binop", "reduce", "shape", "linalg", "getitem",
                            "setitem", "iop", "div", "kinked", "mixed"],
                           [14, 10, 10, 10, 14, 6, 8, 5, 4, 3, 4, 4])[0]
        if kind in ("kinked", "mixed"):
            getattr(self, "g_" + kind)()
            return
        if kind == "unary":
            i = _need(self.pick())
            self.add({"k": "call", "name": rng.choice(SMOOTH_UNARY), "args": [{"v": i}]})
        elif kind == "binary":
            i = _need(self.pick())
            j = self.partner(i)
            self.add({"k": "call", "name": rng.choice(SMOOTH_BINARY), "args": [{"v": i}, {"v": j}]})
        elif kind == "binop":
            i = _need(self.pick())
            op = rng.choice(["+", "-", "*", "**"])
            b: Any = {"v": self.partner(i)} if op != "**" else rng.choice([2, 3])
            if op != "**" and rng.random() < 0.3:
                b = self.scalar("float64")
            self.add({"k": "binop", "name": op, "args": [{"v": i}, b]})
        elif kind == "div":
            # a / (1 + b**2)
            i = _need(self.pick())
            j = self.partner(i)
            self.add({"k": "call", "name": "square", "args": [{"v": j}]})
            self.add({"k": "binop", "name": "+", "args": [{"v": len(self.pool) - 1}, 1.0]})
            self.add({"k": "binop", "name": "/", "args": [{"v": i}, {"v": len(self.pool) - 1}]})
        elif kind == "reduce":
            i = _need(self.pick())
            nd = self.pool[i].ndim
            name = rng.choice(["sum", "mean", "prod", "var", "cumsum", "cumprod", "max", "min"])
            if name in ("max", "min") and self.steps[self._owner(i)]["k"] != "input":
                name = "sum"        # ties (from broadcasting) make max/min non-smooth
            kw: dict = {"axis": _axis(rng, nd, tup=name not in ("cumsum", "cumprod"), bad=0)}
            if name not in ("cumsum", "cumprod") and rng.random() < 0.4:
                kw["keepdims"] = True
            self.add({"k": "call", "name": name, "args": [{"v": i}], "kw": kw})
        elif kind == "shape":
            self.g_shape_smooth()
        elif kind == "linalg":
            self.g_linalg()
        elif kind == "getitem":
            self.g_getitem()
        elif kind == "setitem":
            i = _need(self.pick())
            a = self.pool[i]
            idx = self.index(a.shape)
            from .program import resolve
            try:
                tsh = a[resolve(idx, self.pool, onp)].shape
            except Exception:     # noqa: BLE001
                raise _Skip
            val = {"v": self.new_input(tuple(tsh[rng.randint(0, len(tsh)):]) if tsh else ())}
            self.add({"k": "setitem", "args": [{"v": i}, idx, val]})
        else:
            i = _need(self.pick())
            self.add({"k": "iop", "name": rng.choice(["+=", "-=", "*="]),
                      "args": [{"v": i}, {"v": self.partner(i)}]})

    def arrays(self, pred=None) -> list[int]:
        # intermediate bool masks of the "mixed" steps are operands of those steps only
        return Gen.arrays(self, lambda v: v.dtype == onp.float64 and (pred is None or pred(v)))

    def _last(self) -> dict:
        return {"v": len(self.pool) - 1}

    def _const(self, a: onp.ndarray) -> dict:
        return {"a": a.ravel().tolist(), "dt": a.dtype.name, "sh": list(a.shape)}

    def g_kinked(self) -> None:
        """Piecewise-smooth functions away from their kinks and ties: maximum/minimum
        against an offset partner, sort/ptp/std of inputs (no ties), a power whose base
        stays positive."""
        rng = self.rng
        i = _need(self.pick())
        a = self.pool[i]
        r = rng.random()
        if r < 0.35:
            j = self.partner(i)
            hi = rng.random() < 0.5
            self.add({"k": "binop", "name": "*", "args": [{"v": j}, 1.01 if hi else 0.99]})
            self.add({"k": "binop", "name": "+", "args": [self._last(), 0.003 if hi else -0.003]})
            self.add({"k": "call", "name": "maximum" if hi else "minimum",
                      "args": [{"v": i}, self._last()]})
        elif r < 0.55:
            j = self.partner(i)
            self.add({"k": "call", "name": "square", "args": [{"v": i}]})
            self.add({"k": "binop", "name": "+", "args": [self._last(), 0.5]})
            base = len(self.pool) - 1
            self.add({"k": "call", "name": "tanh", "args": [{"v": j}]})
            self.add({"k": "call", "name": "power", "args": [{"v": base}, self._last()]})
        else:
            # inputs only: computed values may tie (broadcast copies)
            ins = [p for p in self.arrays() if self.pool[p].ndim and
                   self.steps[self._owner(p)]["k"] == "input"]
            i = _need(rng.choice(ins) if ins else None)
            a = self.pool[i]
            name = rng.choice(["sort", "ptp", "std"])
            ax = rng.randint(-a.ndim, a.ndim - 1)
            if name == "std" and a.shape[ax] < 2:
                raise _Skip      # std of one element: sqrt at 0
            self.add({"k": "call", "name": name, "args": [{"v": i}], "kw": {"axis": ax}})

    def g_mixed(self) -> None:
        """Integer and bool operands mixed into float expressions: they get no gradient,
        the float operand does (int constants, masks, a where on a comparison)."""
        rng = self.rng
        i = _need(self.pick())
        a = self.pool[i]
        n = a.shape[-1] if a.ndim else 1
        ints = self._const(onp.arange(1, n + 1, dtype="int64") - 2)
        r = rng.random()
        if r < 0.25:
            self.add({"k": "binop", "name": rng.choice(["*", "+"]), "args": [{"v": i}, ints]})
        elif r < 0.45:
            self.add({"k": "binop", "name": ">", "args": [{"v": i}, 0.2]})
            self.add({"k": "binop", "name": "*", "args": [{"v": i}, self._last()]})
        elif r < 0.7:
            self.add({"k": "binop", "name": ">", "args": [{"v": i}, 0.0]})
            mask = len(self.pool) - 1
            self.add({"k": "binop", "name": "*", "args": [{"v": i}, 0.1]})
            self.add({"k": "call", "name": "where", "args": [{"v": mask}, {"v": i}, self._last()]})
        else:
            self.add({"k": "call", "name": "square", "args": [{"v": i}]})
            self.add({"k": "binop", "name": "+", "args": [self._last(), 1.0]})
            self.add({"k": "call", "name": "power", "args": [self._last(), ints]})

    def _owner(self, p: int) -> int:
        pos = 0
        for k, s in enumerate(self.steps):
            pos += s.get("nout", 1)
            if p < pos:
                return k
        return len(self.steps) - 1

    def g_shape_smooth(self) -> None:
        rng = self.rng
        i = _need(self.pick())
        a = self.pool[i]
        r = rng.random()
        if r < 0.15:
            self.add({"k": "method", "name": "reshape",
                      "args": [{"v": i}, {"t": list(_reshape_target(rng, a.shape))}]})
        elif r < 0.25:
            self.add({"k": "attr", "name": "T", "args": [{"v": i}]})
        elif r < 0.35 and a.ndim:
            m = onp.array([rng.random() < 0.5 for _ in range(a.size)]).reshape(a.shape)
            j = self.partner(i)
            self.add({"k": "call", "name": "where", "args": [
                {"a": m.ravel().tolist(), "dt": "bool", "sh": list(m.shape)}, {"v": i}, {"v": j}]})
        else:
            name = rng.choice(["broadcast_to", "concatenate", "stack", "expand_dims", "flip",
                               "moveaxis", "repeat", "roll", "squeeze", "swapaxes", "tile",
                               "transpose", "array_split", "split", "take", "take_along_axis",
                               "clip", "trace"])
            Gen.g_shape(self, name, i)




def generate(seed: int, index: int) -> dict:
    rng = random.Random(f"grad:{seed}:{index}")
    g = GradGen(rng, grad=True)
    try:
        prog = g.program(rng.randint(3, 15))
    except _Skip:
        prog = {"steps": g.steps}
    prog["seed"], prog["index"] = seed, index
    return prog


# ----------------------------------------------------------------------------- running

def _inputs(prog: dict) -> list[dict]:
    return [s for s in prog["steps"] if s["k"] == "input"]


def _forward(prog: dict, xs: list, xp, progress=None) -> Any:
    it = iter(xs)
    pool: list = []
    for i, s in enumerate(prog["steps"]):
        if s["k"] == "input":
            pool.append(next(it))
            continue
        if progress is not None:
            progress(f"S {i} {step_label(s)}")
        out = run_step(s, pool, xp)
        if s.get("multi"):
            pool.extend(out)
        else:
            pool.append(out)
    if progress is not None:
        progress("S -1 backward")
    return pool[-1]


def _singular(prog: dict, xs: list) -> bool:
    """Whether the program meets arctan2 at (0, 0), where its derivative does not exist:
    reverse mode gives NaN there (0/0 times the chain's factor, even a zero one, as
    every autograd system does) while central differences of a constant path give 0."""
    it = iter(xs)
    pool: list = []
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for s in prog["steps"]:
            if s["k"] == "input":
                pool.append(next(it))
                continue
            if s["k"] == "call" and s["name"] == "arctan2":
                y, x = (onp.asarray(resolve(a, pool, onp)) for a in s["args"][:2])
                if ((y == 0) & (x == 0)).any():
                    return True
            out = run_step(s, pool, onp)
            pool.extend(out) if s.get("multi") else pool.append(out)
    return False


def numeric_grad(prog: dict, xs: list[onp.ndarray]) -> tuple[float, list[onp.ndarray]]:
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        f0 = float(_forward(prog, xs, onp))
        out = []
        for k, x in enumerate(xs):
            g = onp.zeros(x.shape)
            for j in range(x.size):
                h = 1e-6 * max(1.0, abs(x.flat[j]))
                xp_ = [v.copy() for v in xs]
                xp_[k].flat[j] += h
                fp = float(_forward(prog, xp_, onp))
                xp_[k].flat[j] -= 2 * h
                fm = float(_forward(prog, xp_, onp))
                g.flat[j] = (fp - fm) / (2 * h)
            out.append(g)
    return f0, out


def _minpy_grad(prog: dict, mode: str, progress=None) -> list[tuple[Any, list, Optional[BaseException], str]]:
    """[(loss, grads, error, data key)] for each call the mode makes."""
    import minpy
    import minpy.numpy as mnp
    from minpy.core import grad_and_loss
    ins = _inputs(prog)
    argnum = list(range(len(ins)))

    def loss(*xs):
        return _forward(prog, list(xs), mnp, progress)
    gl = grad_and_loss(loss, argnum)
    out = []

    def mk(data):
        return [mnp.array(host_array(s["in"], data), dtype="float64") for s in ins]
    if mode == "jit":
        jf = minpy.jit(lambda *xs: gl(*xs))
        calls = [("data", jf), ("data2", jf)]
    else:
        calls = [("data", gl)]
    for data, fn in calls:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if mode == "lazy":
                    with minpy.lazy():
                        g, l_ = fn(*mk(data))
                        g = [x.asnumpy() for x in g]
                        l_ = float(l_)
                else:
                    g, l_ = fn(*mk(data))
                    g = [x.asnumpy() for x in g]
                    l_ = float(l_)
            out.append((l_, g, None, data))
        except Exception as e:    # noqa: BLE001
            out.append((None, None, e, data))
    return out


def check(prog: dict, mode: str, progress=None) -> list[dict]:
    """Failures of one gradient program in ``mode`` (kind grad_value/grad_exception)."""
    fails = []
    for l_, g, exc, data in _minpy_grad(prog, mode, progress):
        call = 1 if data == "data" else 2
        if exc is not None:
            from .execute import _msg
            fails.append({"kind": "grad_exception", "detail": f"{type(exc).__name__}: "
                          f"{_msg(exc)}", "call": call})
            continue
        xs = [host_array(s["in"], data) for s in _inputs(prog)]
        if _singular(prog, xs):
            continue
        f0, ng = numeric_grad(prog, xs)
        if not onp.isclose(l_, f0, rtol=1e-6, atol=1e-8):
            fails.append({"kind": "grad_forward", "detail": f"loss {l_}, NumPy {f0}",
                          "call": call})
            continue
        for k, (a, b) in enumerate(zip(g, ng)):
            a = onp.asarray(a)
            if a.shape != b.shape:
                fails.append({"kind": "grad_value", "detail": f"gradient {k} has shape "
                              f"{a.shape}, input {b.shape}", "call": call})
                break
            scale = 1.0 + (onp.abs(b).max() if b.size else 0)
            if not (onp.abs(a - b) <= RTOL * onp.abs(b) + ATOL * scale * 10).all():
                with onp.printoptions(precision=6, threshold=10):
                    fails.append({"kind": "grad_value", "detail": f"gradient {k}: MinPy "
                                  f"{a.ravel()!r}, central differences {b.ravel()!r}",
                                  "call": call})
                break
    return fails


def run(prog: dict, mode: str, progress) -> list[dict]:
    out = []
    for f in check(prog, mode, progress):
        f.update(label="program", dtypes="float64", step=len(prog["steps"]) - 1, mode=mode)
        out.append(f)
    return out[:1]


def _loss_at(prog: dict, k: int) -> Optional[dict]:
    """The program cut after step ``k`` (its dependencies only), with a weighted-sum loss."""
    if prog["steps"][k]["k"] == "input" or prog["steps"][k].get("multi"):
        return None
    p = closure(prog, k)
    pool = []
    for s in p["steps"]:
        pool.append(None)
        for _ in range(s.get("nout", 1) - 1):
            pool.append(None)
    last = len(pool) - 1
    xs = [host_array(s["in"]) for s in _inputs(p)]
    try:
        with warnings.catch_warnings(), onp.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            v = onp.asarray(_forward(p, xs, onp))
    except Exception:     # noqa: BLE001
        return None
    if v.dtype != onp.float64 or v.size == 0:
        return None
    w = onp.linspace(-1, 1, v.size).reshape(v.shape) if v.size > 1 else onp.ones(v.shape)
    p["steps"] = p["steps"] + [
        {"k": "binop", "name": "*", "args": [{"v": last}, {"a": w.ravel().tolist(),
                                                            "dt": "float64", "sh": list(w.shape)}],
         "nout": 1},
        {"k": "call", "name": "sum", "args": [{"v": last + 1}], "nout": 1}]
    return p


def reproduce(fail: dict, prog: dict, mode: str) -> dict:
    """Find the first step whose gradient is wrong; label the failure with it, and try
    that step alone on literal inputs."""
    steps = prog["steps"]
    for k in range(len(steps) - 2):
        p = _loss_at(prog, k)
        if p is None:
            continue
        try:
            fails = check(p, mode)
        except Exception:     # noqa: BLE001
            continue
        if any(f["kind"] == fail["kind"] for f in fails):
            step = steps[k]
            from .shrink import single_call
            pools = _values(prog)
            out = {"label": step_label(step), "repro": program_src(p, mode), "minimal": "closure"}
            if pools is not None:
                sp = single_call(step, pools)
                q = _loss_at(sp, len(sp["steps"]) - 1)
                if q is not None:
                    try:
                        if any(f["kind"] == fail["kind"] for f in check(q, mode)):
                            out.update(repro=program_src(q, mode), minimal="call")
                    except Exception:     # noqa: BLE001
                        pass
            out["dtypes"] = "float64"
            return out
    return {"repro": program_src(prog, mode), "minimal": "program"}


def _values(prog: dict) -> Optional[list]:
    pool: list = []
    try:
        with warnings.catch_warnings(), onp.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for s in prog["steps"]:
                out = run_step(s, pool, onp)
                if s.get("multi"):
                    pool.extend(onp.asarray(o) for o in out)
                else:
                    pool.append(onp.asarray(out))
    except Exception:     # noqa: BLE001
        return None
    return pool


def program_src(prog: dict, mode: str) -> str:
    """The gradient program as a script: grad of the program's last value (a scalar)."""
    body = _program_src(prog, "eager").splitlines()
    head = body[:3]
    rest = body[3:]
    ins = [ln for ln in rest if ln.startswith("v") and "= np.array(" in ln or "= np.zeros(" in ln]
    ins = [ln for ln in ins if ln.split(" = ")[0] in {f"v{k}" for k in _input_positions(prog)}]
    calc = [ln for ln in rest if ln not in ins and not ln.startswith("print(")]
    names = [ln.split(" = ")[0] for ln in ins]
    last = calc[-1].split(" = ")[0] if calc else "None"
    lines = head + ["from minpy.core import grad"] + ins + ["", f"def loss({', '.join(names)}):"] \
        + ["    " + c for c in calc] + [f"    return {last}", "",
                                       f"g = grad(loss, argnum={list(range(len(names)))})"]
    if mode == "lazy":
        lines += ["with minpy.lazy():", f"    print(g({', '.join(names)}))"]
    elif mode == "jit":
        lines += ["jg = minpy.jit(g)", f"print(jg({', '.join(names)}))",
                  f"print(jg({', '.join(names)}))  # replay"]
    else:
        lines += [f"print(g({', '.join(names)}))"]
    lines.append("# compare with central differences of the same function in NumPy")
    return "\n".join(lines)


def _input_positions(prog: dict) -> list[int]:
    pos, out = 0, []
    for s in prog["steps"]:
        if s["k"] == "input":
            out.append(pos)
        pos += s.get("nout", 1)
    return out
