"""Interleaved best-of timings of the small RNN step, the 64x64 chain, the MLP and
the CNN training steps in every mode, in one process:
``python -m benchmarks.side_by_side [rnn] [chain] [mlp] [cnn] [parity]``.

Rounds alternate between the variants, so a noisy neighbour slows them alike;
the best round of each is reported, and the ratios the issues ask about.
"""
from __future__ import annotations

import time

import mxnet as mx
import numpy as onp

import minpy
import minpy.numpy as mnp
from minpy.core import grad_and_loss

from .workloads import (MLP_NAMES, cnn_data, cnn_minpy_loss, cnn_numpy_step, cnn_registry_loss,
                        cnn_symbol,
                        elementwise_chain, minpy_runner, mlp_data, mlp_loss, mlp_numpy_step,
                        mlp_symbol, rnn_data, rnn_loss, rnn_numpy_grad, sgd_step,
                        softmax_reductions, symbolic_sgd)


def variants():
    xs, target, Wx, Wh, b = rnn_data()
    args = [mnp.array(a) for a in (Wx, Wh, b, xs, target)]
    step = grad_and_loss(lambda Wx, Wh, b, xs, t: rnn_loss(mnp, Wx, Wh, b, xs, t), [0, 1, 2])
    jstep = minpy.jit(step)
    jstep(*args)
    exe = next(iter(jstep.cache.values())).compiled.exe

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

    return {
        "rnn numpy": (lambda: rnn_numpy_grad(Wx, Wh, b, xs, target), 50),
        "rnn jit": (lambda: wait(jstep(*args)[0]), 50),
        "rnn executor": (lambda: (exe.forward(is_train=False), mx.nd.waitall()), 50),
        "rnn lazy": (rnn_lazy, 5),
        "rnn eager": (lambda: wait(step(*args)[0]), 2),
        "chain numpy": (lambda: elementwise_chain(onp, xn, yn), 200),
        "chain lazy": (chain_lazy, 50),
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
    return {
        "mlp numpy": (lambda: mlp_numpy_step(nparams, x, onehot), 3),
        "mlp jit": (minpy_runner(minpy.jit(step), mparams, data, "jit"), 3),
        "mlp symbolic": (run_sym, 3),
        "mlp lazy": (minpy_runner(step, mparams, data, "lazy"), 3),
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


def measure(rounds: int = 15, groups=("rnn", "chain")) -> dict:
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
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, (f, n) in fns.items():
            f()      # untimed: what ran before (another workload) leaves cold caches
            t = time.perf_counter()
            for _ in range(n):
                f()
            best[k] = min(best[k], (time.perf_counter() - t) / n)
    return best


def main() -> None:
    import sys
    known = ("rnn", "chain", "mlp", "cnn", "parity")
    groups = tuple(sys.argv[1:]) or known
    unknown = [g for g in groups if g not in known]
    if unknown:
        sys.exit(f"unknown group(s) {unknown}; choose from {list(known)}")
    best = measure(groups=groups)
    for k, v in best.items():
        print(f"{k:14s} {v * 1e6:10.1f} us")
    if "mlp" in groups:
        print(f"mlp:   jit / symbolic {best['mlp jit'] / best['mlp symbolic']:.2f}x, "
              f"jit vs numpy {best['mlp numpy'] / best['mlp jit']:.2f}x faster, "
              f"lazy / symbolic {best['mlp lazy'] / best['mlp symbolic']:.2f}x, "
              f"symbolic vs numpy {best['mlp numpy'] / best['mlp symbolic']:.2f}x faster")
    if "cnn" in groups:
        print(f"cnn:   jit / symbolic {best['cnn jit'] / best['cnn symbolic']:.2f}x "
              f"(nn.layers conv2d/max_pool: {best['cnn jit nn'] / best['cnn symbolic']:.2f}x), "
              f"jit vs numpy {best['cnn numpy'] / best['cnn jit']:.2f}x faster, "
              f"lazy vs eager {best['cnn eager'] / best['cnn lazy']:.2f}x faster")
    if "parity" in groups:
        print("parity: lazy / eager " + ", ".join(
            f"{w} {best[f'parity {w} lazy'] / best[f'parity {w} eager']:.3f}"
            for w in ("chain256", "chain1024", "softmax")))
    if "rnn" not in groups or "chain" not in groups:
        return
    print(f"rnn:   jit vs eager {best['rnn eager'] / best['rnn jit']:.1f}x faster, "
          f"jit vs numpy {best['rnn numpy'] / best['rnn jit']:.2f}x faster, "
          f"jit over the bound executor {best['rnn jit'] / best['rnn executor']:.2f}x, "
          f"lazy vs eager {best['rnn eager'] / best['rnn lazy']:.2f}x faster")
    print(f"chain: lazy vs eager {best['chain eager'] / best['chain lazy']:.2f}x faster, "
          f"numpy vs lazy {best['chain lazy'] / best['chain numpy']:.1f}x faster")


if __name__ == "__main__":
    main()
