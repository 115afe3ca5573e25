"""Random-program gradient fuzzer: grad against NumPy central differences.

``python -m tests.grad_fuzz --programs N --seed S --mode eager|lazy|jit`` builds N random
programs of 3-10 differentiable operations on float64 inputs (0-d, broadcasting,
negative axes, keepdims...), takes ``grad`` with respect to every input in MinPy and
compares it with central differences of the same program run by real NumPy.
``tests/test_grad_trust.py`` runs a fixed small budget in CI.
"""
from __future__ import annotations

import argparse
import sys
import traceback

import numpy as onp

SHAPES = [(), (3,), (2, 3), (2, 1, 3), (1, 3), (2, 1)]


def _wsum(m, y):
    shape = onp.shape(y)
    size = int(onp.prod(shape)) if shape else 1
    w = (onp.cos(onp.arange(1, size + 1) * 0.7) + 1.5).reshape(shape)
    return m.sum(y * (m.array(w, dtype="float64") if m is not onp else w))


def _bshape(a, b):
    try:
        return onp.broadcast_shapes(a, b)
    except ValueError:
        return None


class Program:
    """A list of steps ``(name, fn(m, *vals) -> val, arg indices)`` over a value pool."""

    def __init__(self, rng: onp.random.RandomState, n_in: int) -> None:
        self.shapes = [SHAPES[rng.randint(len(SHAPES))] for _ in range(n_in)]
        self.inputs = [rng.uniform(0.3, 1.5, s) * onp.where(rng.rand(*s) < 0.5, -1, 1)
                       for s in self.shapes]
        self.steps = []
        vals = list(self.inputs)
        for _ in range(rng.randint(3, 11)):
            for _try in range(20):
                step = _random_step(rng, vals)
                if step is None:
                    continue
                name, fn, idx = step
                try:
                    with onp.errstate(all="raise"):
                        v = fn(onp, *[vals[i] for i in idx])
                except (ValueError, FloatingPointError, IndexError, TypeError):
                    continue
                v = onp.asarray(v, dtype="float64")
                # MXNet's broadcasting kernels stop at 5 dimensions (a forward limit)
                if not onp.all(onp.isfinite(v)) or v.size == 0 or v.size > 64 or v.ndim > 5 or \
                        onp.abs(v).max(initial=0) > 1e3:
                    continue
                self.steps.append(step)
                vals.append(v)
                break

    def run(self, m, *xs):
        vals = list(xs)
        for name, fn, idx in self.steps:
            vals.append(fn(m, *[vals[i] for i in idx]))
        out = _wsum(m, vals[-1])
        for v in vals[len(xs):-1]:
            out = out + 0.1 * _wsum(m, v)
        return out

    def describe(self) -> str:
        lines = [f"inputs {self.shapes}"]
        for k, (name, fn, idx) in enumerate(self.steps):
            lines.append(f"  v{len(self.shapes) + k} = {name}({', '.join(f'v{i}' for i in idx)})")
        return "\n".join(lines)


def _random_step(rng, vals):
    i = rng.randint(len(vals))
    x = vals[i]
    sx = onp.shape(x)
    kind = rng.randint(9)
    nd = len(sx)
    if kind == 0:
        name = ["tanh", "sin", "cos", "arctan", "square", "exp-tanh", "softplus", "sqrt1", "log1"][
            rng.randint(9)]
        fns = {"tanh": lambda m, a: m.tanh(a), "sin": lambda m, a: m.sin(a),
               "cos": lambda m, a: m.cos(a), "arctan": lambda m, a: m.arctan(a),
               "square": lambda m, a: m.square(a), "exp-tanh": lambda m, a: m.exp(m.tanh(a)),
               "softplus": lambda m, a: m.log1p(m.exp(m.tanh(a))),
               "sqrt1": lambda m, a: m.sqrt(a * a + 1.0), "log1": lambda m, a: m.log(a * a + 1.0)}
        return name, fns[name], (i,)
    if kind in (1, 2):
        j = rng.randint(len(vals))
        if _bshape(sx, onp.shape(vals[j])) is None:
            return None
        name = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "hypot",
                "arctan2", "where", "scalar"][rng.randint(11)]
        fns = {"add": lambda m, a, b: a + b, "subtract": lambda m, a, b: a - b,
               "multiply": lambda m, a, b: a * b,
               "divide": lambda m, a, b: a / (b * b + 0.5),
               "maximum": lambda m, a, b: m.maximum(a, b * 1.01 + 0.003),
               "minimum": lambda m, a, b: m.minimum(a, b * 0.99 - 0.003),
               "power": lambda m, a, b: m.power(a * a + 0.5, m.tanh(b)),
               "hypot": lambda m, a, b: m.hypot(a, b), "arctan2": lambda m, a, b: m.arctan2(a, b),
               "where": lambda m, a, b: m.where(a > b, a * 2.0, b),
               "scalar": lambda m, a, b: 2.0 - a * 0.5 + b / 3.0}
        return name, fns[name], (i, j)
    if kind == 3 and nd:
        red = ["sum", "mean", "prod", "max", "min", "var", "std"][rng.randint(7)]
        axis = [None, rng.randint(-nd, nd), tuple(sorted(set(int(a) for a in
                                                              rng.randint(-nd, nd, size=2))))][
            rng.randint(3)]
        if isinstance(axis, tuple) and len(set(a % nd for a in axis)) != len(axis):
            axis = axis[0]
        keep = bool(rng.randint(2))
        return (f"{red}(axis={axis}, keepdims={keep})",
                (lambda r, ax, k: lambda m, a: getattr(m, r)(a, axis=ax, keepdims=k))(red, axis, keep),
                (i,))
    if kind == 4:
        opts = []
        if nd:
            ax = int(rng.randint(-nd, nd))
            opts += [("ravel", lambda m, a: m.ravel(a)), ("transpose", lambda m, a: m.transpose(a)),
                     (f"flip({ax})", lambda m, a: m.flip(a, ax)),
                     (f"cumsum({ax})", lambda m, a: m.cumsum(a, axis=ax)),
                     (f"sort({ax})", lambda m, a: m.sort(a, axis=ax)),
                     (f"roll(1,{ax})", lambda m, a: m.roll(a, 1, axis=ax)),
                     (f"repeat(2,{ax})", lambda m, a: m.repeat(a, 2, axis=ax)),
                     ("x[::-1]", lambda m, a: a[::-1]), ("x[-1]", lambda m, a: a[-1]),
                     ("x[..., :1]", lambda m, a: a[..., :1]),
                     ("take", lambda m, a: m.take(a, m.array(onp.array([0, -1, 0])))),
                     (f"swapaxes(0,{ax})", lambda m, a: m.swapaxes(a, 0, ax)),
                     (f"squeeze", lambda m, a: m.squeeze(a))]
        opts += [("expand_dims(-1)", lambda m, a: m.expand_dims(a, -1)),
                 ("expand_dims(0)", lambda m, a: m.expand_dims(a, 0)),
                 ("broadcast_to", (lambda s: lambda m, a: m.broadcast_to(a, (2,) + s))(sx)),
                 ("reshape-1", lambda m, a: m.reshape(a, (-1,))),
                 ("atleast_2d", lambda m, a: m.atleast_2d(a)),
                 ("tile", lambda m, a: m.tile(a, 2)),
                 ("clip", lambda m, a: m.clip(a, -0.77, 0.81))]
        name, fn = opts[rng.randint(len(opts))]
        return name, fn, (i,)
    if kind == 5:
        j = rng.randint(len(vals))
        sy = onp.shape(vals[j])
        name = ["dot", "matmul", "outer", "inner", "vdot", "tensordot0", "einsum-outer"][
            rng.randint(7)]
        fns = {"dot": lambda m, a, b: m.dot(a, b), "matmul": lambda m, a, b: m.matmul(a, b),
               "outer": lambda m, a, b: m.outer(a, b), "inner": lambda m, a, b: m.inner(a, b),
               "vdot": lambda m, a, b: m.vdot(a, b),
               "tensordot0": lambda m, a, b: m.tensordot(a, b, 0),
               "einsum-outer": lambda m, a, b: m.einsum("i,j->ij", m.ravel(a), m.ravel(b))}
        return name, fns[name], (i, j)
    if kind == 6:
        j = rng.randint(len(vals))
        ax = int(rng.randint(-max(nd, 1), max(nd, 1)))
        name = [f"concatenate({ax})", f"stack({ax})", "concatenate(None)"][rng.randint(3)]
        fns = {f"concatenate({ax})": lambda m, a, b: m.concatenate([a, b], axis=ax),
               f"stack({ax})": lambda m, a, b: m.stack([a, b], axis=ax),
               "concatenate(None)": lambda m, a, b: m.concatenate([a, b], axis=None)}
        return name, fns[name], (i, j)
    if kind == 7:
        # integer and bool operands mixed in: they get no gradient, the float one does
        ints = onp.arange(1, (sx[-1] if sx else 1) + 1) - 2
        name = ["leaky", "int-mul", "int-add", "mask-mul", "int-branch", "int-pow"][rng.randint(6)]
        fns = {"leaky": lambda m, a: m.where(a > 0, a, a * 0.1),
               "int-mul": lambda m, a: a * m.array(ints),
               "int-add": lambda m, a: m.array(ints) + a,
               "mask-mul": lambda m, a: a * (a > 0.2),
               "int-branch": lambda m, a: m.where(a > 0, m.array(ints), a),
               "int-pow": lambda m, a: m.power(a, 2) + m.power(a * a + 1.0, m.array(ints))}
        return name, fns[name], (i,)
    if kind == 8 and nd:
        ax = int(rng.randint(-nd, nd))
        name = [f"split({ax})[0]", f"ptp({ax})", f"cumprod({ax})", "abs"][rng.randint(4)]
        fns = {f"split({ax})[0]": lambda m, a: m.array_split(a, 2, axis=ax)[0],
               f"ptp({ax})": lambda m, a: m.ptp(a, axis=ax),
               f"cumprod({ax})": lambda m, a: m.cumprod(a, axis=ax),
               "abs": lambda m, a: m.abs(a)}
        return name, fns[name], (i,)
    return None


def numeric(prog: Program, k: int, eps: float = 1e-6) -> onp.ndarray:
    base = [onp.array(a) for a in prog.inputs]
    x = base[k]
    out = onp.zeros_like(x)
    for idx in onp.ndindex(*x.shape):
        vals = []
        for sgn in (1.0, -1.0):
            xp = x.copy()
            xp[idx] += sgn * eps
            args = list(base)
            args[k] = xp
            vals.append(float(prog.run(onp, *args)))
        out[idx] = (vals[0] - vals[1]) / (2 * eps)
    return out


def check(prog: Program, mode: str):
    """None when the gradients match, else a description of the failure."""
    import minpy
    import minpy.numpy as np
    from minpy.core import grad
    n = len(prog.inputs)
    want = [numeric(prog, k) for k in range(n)]
    g = grad(lambda *xs: prog.run(np, *xs), list(range(n)))
    args = [np.array(a, dtype="float64") for a in prog.inputs]
    try:
        if mode == "jit":
            jg = minpy.jit(lambda *xs: g(*xs))
            jg(*args)
            got = jg(*args)
        elif mode == "lazy":
            with minpy.lazy():
                got = g(*args)
                got = [v.asnumpy() for v in got]
        else:
            got = g(*args)
        got = [onp.asarray(v.asnumpy() if hasattr(v, "asnumpy") else v) for v in got]
    except Exception as e:      # noqa: BLE001 -- every failure is reported
        return f"exception {type(e).__name__}: {str(e)[:300]}"
    for k, (a, w) in enumerate(zip(got, want)):
        if a.shape != w.shape:
            return f"argument {k}: shape {a.shape}, want {w.shape}"
        if a.dtype != onp.float64:
            return f"argument {k}: dtype {a.dtype}"
        scale = max(float(onp.abs(w).max(initial=0)) * 1e-3, 1e-7)
        err = onp.abs(a - w) / onp.maximum(onp.abs(a) + onp.abs(w), scale)
        if err.size and float(err.max()) > 1e-4:
            return (f"argument {k}: relative error {float(err.max()):.3g}\n"
                    f"    grad    {a.ravel()[:8]}\n    numeric {w.ravel()[:8]}")
    return None


def fuzz(programs: int, seed: int, mode: str, verbose: bool = True) -> list:
    failures = []
    for p in range(programs):
        rng = onp.random.RandomState(seed + p)
        prog = Program(rng, 1 + rng.randint(2))
        if not prog.steps:
            continue
        try:
            res = check(prog, mode)
        except Exception:       # noqa: BLE001
            res = "harness: " + traceback.format_exc(limit=2)
        if res is not None:
            failures.append((seed + p, prog.describe(), res))
            if verbose:
                print(f"--- seed {seed + p} ({mode})\n{prog.describe()}\n  {res}", flush=True)
    return failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--programs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", default="eager", choices=("eager", "lazy", "jit"))
    a = ap.parse_args(argv)
    fails = fuzz(a.programs, a.seed, a.mode)
    print(f"{a.mode}: {len(fails)} failing of {a.programs} programs")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
