"""Interleaved best-of timings of the small RNN step and the 64x64 chain in every
mode, in one process: ``python -m benchmarks.side_by_side``.

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

from .workloads import elementwise_chain, rnn_data, rnn_loss, rnn_numpy_grad


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


def measure(rounds: int = 15) -> dict:
    fns = variants()
    for f, _ in fns.values():
        f()
        f()
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, (f, n) in fns.items():
            t = time.perf_counter()
            for _ in range(n):
                f()
            best[k] = min(best[k], (time.perf_counter() - t) / n)
    return best


def main() -> None:
    best = measure()
    for k, v in best.items():
        print(f"{k:14s} {v * 1e6:10.1f} us")
    print(f"rnn:   jit vs eager {best['rnn eager'] / best['rnn jit']:.1f}x faster, "
          f"jit vs numpy {best['rnn numpy'] / best['rnn jit']:.2f}x faster, "
          f"jit over the bound executor {best['rnn jit'] / best['rnn executor']:.2f}x, "
          f"lazy vs eager {best['rnn eager'] / best['rnn lazy']:.2f}x faster")
    print(f"chain: lazy vs eager {best['chain eager'] / best['chain lazy']:.2f}x faster, "
          f"numpy vs lazy {best['chain lazy'] / best['chain numpy']:.1f}x faster")


if __name__ == "__main__":
    main()
