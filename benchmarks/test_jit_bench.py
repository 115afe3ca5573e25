"""``@minpy.jit`` against eager and lazy MinPy, NumPy, and the bound MXNet executor
that jit itself replays (its fast-path overhead). Run:
``python -m pytest benchmarks/test_jit_bench.py --benchmark-group-by=group``."""
import mxnet as mx
import numpy as onp
import pytest

import minpy
import minpy.numpy as mnp
from minpy.core import grad_and_loss

from .workloads import rnn_data, rnn_loss, rnn_numpy_grad


def _loss(Wx, Wh, b, xs, t):
    return rnn_loss(mnp, Wx, Wh, b, xs, t)


@pytest.fixture(scope="module")
def rnn():
    xs, target, Wx, Wh, b = rnn_data()
    ref_grads, ref_loss = rnn_numpy_grad(Wx, Wh, b, xs, target)
    return (Wx, Wh, b, xs, target), ref_grads, ref_loss


def _check(grads, loss, ref_grads, ref_loss):
    assert abs(float(loss) - ref_loss) <= 1e-3 * max(1.0, abs(ref_loss))
    for g, r in zip(grads, ref_grads):
        assert onp.allclose(g.asnumpy(), r, rtol=1e-3, atol=1e-4)


@pytest.mark.benchmark(group="rnn-grad-jit")
@pytest.mark.parametrize("mode", ["numpy", "eager", "lazy", "jit", "executor"])
def test_small_rnn_grad_step(benchmark, rnn, mode):
    """One forward+backward of the small RNN; results stay on the device (waited for)."""
    host, ref_grads, ref_loss = rnn
    if mode == "numpy":
        benchmark(rnn_numpy_grad, *host)
        return
    args = [mnp.array(a) for a in host]
    step = grad_and_loss(_loss, [0, 1, 2])
    if mode in ("jit", "executor"):
        step = minpy.jit(step)
    if mode == "executor":
        old, minpy.jit.config.codegen = minpy.jit.config.codegen, "off"   # MXNet's executor
        try:
            step(*args)
        finally:
            minpy.jit.config.codegen = old
        entry = next(iter(step.cache.values()))
        exe = entry.compiled.exe
        benchmark(lambda: (exe.forward(is_train=False), mx.nd.waitall()))
        return

    def run():
        with minpy.lazy(mode == "lazy"):
            grads, loss = step(*args)
            for g in grads:
                g.wait_to_read()
        return grads, loss
    if mode == "eager":
        grads, loss = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    else:
        grads, loss = benchmark(run)
    _check(grads, loss, ref_grads, ref_loss)
