"""Interleaved best-of timings of the small RNN step, the 64x64 chain, the MLP and
the CNN training steps in every mode:
``python -m benchmarks.side_by_side [rnn] [chain] [mlp] [cnn] [parity] [--engine E]``.

Rounds alternate between the variants, so a noisy neighbour slows them alike;
the best round of each is reported, and the ratios the issues ask about.

MXNet's engine is fixed when MXNet starts, so by default (``--engine both``) two
child processes run the variants, one under the naive and one under the threaded
engine, taking turns round by round; both columns are printed, and the ratios
compare every system under its own best engine. ``--engine naive`` or
``threaded`` runs one child; ``--engine current`` runs in this process under the
engine ``import minpy`` chose.
"""
from __future__ import annotations

import argparse
import sys
import time

import minpy   # before mxnet: MinPy sets MXNet's environment (engine, oneDNN fusions) first
import minpy.numpy as mnp
import mxnet as mx
import numpy as onp
from minpy.jit import codegen
from minpy.jit import tune as _tune
from minpy.core import grad_and_loss

from .workloads import (MLP_NAMES, cnn_data, cnn_minpy_loss, cnn_numpy_step, cnn_registry_loss,
                        cnn_symbol,
                        elementwise_chain, minpy_runner, mlp_data, mlp_loss, mlp_numpy_step,
                        mlp_symbol, rnn_data, rnn_loss, rnn_numpy_grad, sgd_step,
                        softmax_reductions, symbolic_sgd)


def pinned(fn, mode):
    """``fn`` run with ``minpy.jit.config.codegen = mode`` (graphs are cached per mode)."""
    def run():
        with codegen.using(mode):
            return fn()
    return run


def variants():
    xs, target, Wx, Wh, b = rnn_data()
    args = [mnp.array(a) for a in (Wx, Wh, b, xs, target)]
    step = grad_and_loss(lambda Wx, Wh, b, xs, t: rnn_loss(mnp, Wx, Wh, b, xs, t), [0, 1, 2])
    jstep = minpy.jit(step)
    with codegen.using("off"):       # the executor jit replays without generated kernels
        xstep = minpy.jit(step)
        xstep(*args)
    exe = next(iter(xstep.cache.values())).compiled.exe

    def wait(grads):
        for g in grads:
            g.wait_to_read()

    def rnn_lazy():
        with minpy.lazy():
            wait(step(*args)[0])

    rng = onp.random.RandomState(0)
    xn, yn = rng.randn(64, 64).astype("float32"), rng.randn(64, 64).astype("float32")
    x, y = mnp.array(xn), mnp.array(yn)

    def chain_lazy():
        with minpy.lazy():
            elementwise_chain(mnp, x, y).wait_to_read()

    cjit = minpy.jit(lambda x, y: elementwise_chain(mnp, x, y))
    cjit_off = minpy.jit(lambda x, y: elementwise_chain(mnp, x, y))
    return {
        "rnn numpy": (lambda: rnn_numpy_grad(Wx, Wh, b, xs, target), 50),
        "rnn jit": (lambda: wait(jstep(*args)[0]), 50),
        "rnn jit-nocg": (pinned(lambda: wait(xstep(*args)[0]), "off"), 50),
        "rnn executor": (lambda: (exe.forward(is_train=False), mx.nd.waitall()), 50),
        "rnn lazy": (rnn_lazy, 5),
        "rnn eager": (lambda: wait(step(*args)[0]), 2),
        "chain numpy": (lambda: elementwise_chain(onp, xn, yn), 200),
        "chain lazy": (chain_lazy, 50),
        "chain lazy-nocg": (pinned(chain_lazy, "off"), 50),
        "chain jit": (lambda: cjit(x, y).wait_to_read(), 200),
        "chain jit-nocg": (pinned(lambda: cjit_off(x, y).wait_to_read(), "off"), 200),
        "chain eager": (lambda: elementwise_chain(mnp, x, y).wait_to_read(), 20),
    }


def mlp_variants():
    """The 784-512-512-10 MLP SGD step (issue 6): NumPy, @jit, lazy and the symbolic executor."""
    params, x, onehot = mlp_data()
    run_sym, _ = symbolic_sgd(mlp_symbol(x.shape[0]), params, {"x": x, "onehot": onehot},
                              MLP_NAMES, transpose=MLP_NAMES[::2])
    mparams = [mnp.array(p) for p in params]
    data = (mnp.array(x), mnp.array(onehot))
    step = sgd_step(lambda *a: mlp_loss(mnp, *a), 6)
    nparams = [p.copy() for p in params]
    # the same step with products as MXNet's dot with transpose flags (no transposes)
    saved = minpy.jit.config.fully_connected
    minpy.jit.config.fully_connected = False
    try:
        dparams = [mnp.array(p) for p in params]
        run_dot = minpy_runner(minpy.jit(step), dparams, data, "jit")
        run_dot()
    finally:
        minpy.jit.config.fully_connected = saved
    from .mlp_bound import minpy_shaped_step
    return {
        "mlp numpy": (lambda: mlp_numpy_step(nparams, x, onehot), 3),
        "mlp jit": (minpy_runner(minpy.jit(step), mparams, data, "jit"), 3),
        "mlp jit-nocg": (pinned(minpy_runner(minpy.jit(step), [mnp.array(p) for p in params],
                                             data, "jit"), "off"), 3),
        "mlp jit dot": (run_dot, 3),
        "mlp symbolic": (run_sym, 3),
        "mlp lazy": (minpy_runner(step, mparams, data, "lazy"), 3),
        # benchmarks/mlp_bound.py: weights kept in FullyConnected's layout, MXNet's backward
        "mlp bound": (minpy_shaped_step(params, x, onehot, "np.maximum", "fresh buffers"), 3),
    }


def cnn_variants():
    """The CNN SGD step (Function-wrapped convolution and pooling): NumPy, @jit, lazy,
    eager and the symbolic executor."""
    params, x, onehot = cnn_data()
    run_sym, _ = symbolic_sgd(cnn_symbol(params[0].shape[0], onehot.shape[1], x.shape[0]),
                              params, {"x": x, "onehot": onehot}, ["w", "b", "W", "bb"],
                              transpose=("W",))
    data = (mnp.array(x), mnp.array(onehot))
    step = sgd_step(cnn_minpy_loss(x.shape, params[0].shape[0]), 4)
    nparams = [p.copy() for p in params]

    def runner(mode):
        return minpy_runner(minpy.jit(step) if mode == "jit" else step,
                            [mnp.array(p) for p in params], data, mode)
    return {
        "cnn numpy": (lambda: cnn_numpy_step(nparams, x, onehot), 10),
        "cnn jit": (runner("jit"), 10),
        "cnn jit-nocg": (pinned(runner("jit"), "off"), 10),
        "cnn jit nn": (minpy_runner(minpy.jit(sgd_step(cnn_registry_loss(), 4)),
                                    [mnp.array(p) for p in params], data, "jit"), 10),
        "cnn symbolic": (run_sym, 10),
        "cnn lazy": (runner("lazy"), 10),
        "cnn eager": (runner("eager"), 3),
    }


def parity_variants():
    """Lazy against eager where arrays are large (issue 6: lazy at most 5% slower)."""
    rng = onp.random.RandomState(0)
    pairs = {n: [mnp.array(rng.randn(n, n).astype("float32")) for _ in range(2)]
             for n in (256, 1024)}
    s = mnp.array(rng.randn(256, 1000).astype("float32"))

    def chain(mode, n=256):
        x, y = pairs[n]

        def run():
            with minpy.lazy(mode == "lazy"):
                elementwise_chain(mnp, x, y).wait_to_read()
        return run

    def soft(mode):
        def run():
            with minpy.lazy(mode == "lazy"):
                for o in softmax_reductions(mnp, s):
                    o.wait_to_read()
        return run
    return {"parity chain256 lazy": (chain("lazy"), 5), "parity chain256 eager": (chain("eager"), 5),
            "parity chain1024 lazy": (chain("lazy", 1024), 2),
            "parity chain1024 eager": (chain("eager", 1024), 2),
            "parity softmax lazy": (soft("lazy"), 5), "parity softmax eager": (soft("eager"), 5)}


def _variants(groups) -> dict:
    fns = {k: v for k, v in variants().items() if k.split()[0] in groups}
    if "mlp" in groups:
        fns.update(mlp_variants())
    if "cnn" in groups:
        fns.update(cnn_variants())
    if "parity" in groups:
        fns.update(parity_variants())
    for f, _ in fns.values():
        f()
        f()
    return fns


def measure(rounds: int = 15, groups=("rnn", "chain")) -> dict:
    """Best seconds per call of each variant, in this process."""
    fns = _variants(groups)
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, (f, n) in fns.items():
            f()      # untimed: what ran before (another workload) leaves cold caches
            t = time.perf_counter()
            for _ in range(n):
                f()
            best[k] = min(best[k], (time.perf_counter() - t) / n)
    return best


ENGINES = ("threaded", "naive")


def measure_engines(rounds: int = 15, groups=("rnn", "chain"), engines=ENGINES) -> dict:
    """``{engine: {variant: best seconds}}``, one child process per engine, the
    children timing their rounds in turn."""
    workers = {}
    try:
        for e in engines:
            workers[e] = _tune.RoundWorker(e, ["-m", "benchmarks.side_by_side", "--worker",
                                               *groups])
        best = _tune.interleave(workers, rounds)
    finally:
        for w in workers.values():
            w.close()
    return {e: {v: t for (e2, v), t in best.items() if e2 == e} for e in engines}


def report(best: dict, groups) -> None:
    """The ratios the issues ask about, from ``best`` (seconds per variant)."""
    if "mlp" in groups:
        print(f"mlp:   jit / symbolic {best['mlp jit'] / best['mlp symbolic']:.2f}x, "
              f"jit vs numpy {best['mlp numpy'] / best['mlp jit']:.2f}x faster, "
              f"lazy / symbolic {best['mlp lazy'] / best['mlp symbolic']:.2f}x, "
              f"symbolic vs numpy {best['mlp numpy'] / best['mlp symbolic']:.2f}x faster, "
              f"jit without codegen / symbolic {best['mlp jit-nocg'] / best['mlp symbolic']:.2f}x")
        print(f"mlp:   jit with dot / jit {best['mlp jit dot'] / best['mlp jit']:.2f}x, "
              f"layout-kept bound / symbolic {best['mlp bound'] / best['mlp symbolic']:.2f}x")
    if "cnn" in groups:
        print(f"cnn:   jit / symbolic {best['cnn jit'] / best['cnn symbolic']:.2f}x "
              f"(nn.layers conv2d/max_pool: {best['cnn jit nn'] / best['cnn symbolic']:.2f}x), "
              f"jit vs numpy {best['cnn numpy'] / best['cnn jit']:.2f}x faster, "
              f"lazy vs eager {best['cnn eager'] / best['cnn lazy']:.2f}x faster, "
              f"jit without codegen / symbolic {best['cnn jit-nocg'] / best['cnn symbolic']:.2f}x")
    if "parity" in groups:
        print("parity: lazy / eager " + ", ".join(
            f"{w} {best[f'parity {w} lazy'] / best[f'parity {w} eager']:.3f}"
            for w in ("chain256", "chain1024", "softmax")))
    if "rnn" in groups:
        print(f"rnn:   jit vs eager {best['rnn eager'] / best['rnn jit']:.1f}x faster, "
              f"jit vs numpy {best['rnn numpy'] / best['rnn jit']:.2f}x faster, "
              f"jit over the bound executor {best['rnn jit'] / best['rnn executor']:.2f}x, "
              f"lazy vs eager {best['rnn eager'] / best['rnn lazy']:.2f}x faster, "
              f"jit without codegen vs numpy {best['rnn numpy'] / best['rnn jit-nocg']:.2f}x faster")
    if "chain" in groups:
        print(f"chain: lazy vs eager {best['chain eager'] / best['chain lazy']:.2f}x faster "
              f"(without codegen {best['chain eager'] / best['chain lazy-nocg']:.2f}x), "
              f"jit / numpy {best['chain jit'] / best['chain numpy']:.2f}x "
              f"(without codegen {best['chain jit-nocg'] / best['chain numpy']:.2f}x)")


def main(argv=None) -> None:
    known = ("rnn", "chain", "mlp", "cnn", "parity")
    p = argparse.ArgumentParser(prog="python -m benchmarks.side_by_side",
                                description="Interleaved best-of timings of MinPy's "
                                            "benchmark workloads in every mode.")
    p.add_argument("groups", nargs="*", help=f"some of {list(known)} (default: all)")
    p.add_argument("--engine", choices=("both", *ENGINES, "current"), default="both",
                   help="MXNet engine(s) to time under (default: both, in child processes)")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    groups = tuple(a.groups) or known
    unknown = [g for g in groups if g not in known]
    if unknown:
        sys.exit(f"unknown group(s) {unknown}; choose from {list(known)}")
    if a.worker:
        _tune.serve_rounds(_variants(groups), warm=True)
        return
    if a.engine == "current":
        best = measure(a.rounds, groups)
        print(f"MXNet engine: {minpy.mxnet_engine}")
        for k, v in best.items():
            print(f"{k:22s} {v * 1e6:10.1f} us")
        report(best, groups)
        return
    engines = ENGINES if a.engine == "both" else (a.engine,)
    per = measure_engines(a.rounds, groups, engines)
    names = list(per[engines[0]])
    best = {k: min(per[e][k] for e in engines) for k in names}
    print(f"{'variant':22s}" + "".join(f"{e + ' (us)':>16s}" for e in engines)
          + ("   best engine" if len(engines) > 1 else ""))
    for k in names:
        row = "".join(f"{per[e][k] * 1e6:16.1f}" for e in engines)
        if len(engines) > 1:
            row += "   " + min(engines, key=lambda e: per[e][k])
        print(f"{k:22s}{row}")
    if len(engines) > 1:
        print("ratios, each variant under its best engine:")
    report(best, groups)


if __name__ == "__main__":
    main()
