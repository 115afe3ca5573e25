"""Lazy mode against eager MinPy and NumPy (issue: lazy evaluation engine).

Run: ``python -m pytest benchmarks/test_lazy_bench.py --benchmark-group-by=group``.
"""
import numpy as onp
import pytest

import minpy
import minpy.numpy as mnp
from minpy.core import grad_and_loss

from .workloads import elementwise_chain, rnn_data, rnn_loss, rnn_numpy_grad


@pytest.fixture(autouse=True)
def _eager_after():
    yield
    minpy.set_lazy(False)


def _chain_inputs(n):
    rng = onp.random.RandomState(0)
    return rng.randn(n, n).astype("float32"), rng.randn(n, n).astype("float32")


@pytest.mark.benchmark(group="chain-64")
@pytest.mark.parametrize("mode", ["numpy", "eager", "lazy"])
def test_elementwise_chain_64(benchmark, mode):
    x, y = _chain_inputs(64)
    if mode == "numpy":
        benchmark(lambda: elementwise_chain(onp, x, y))
        return
    mx_, my_ = mnp.array(x), mnp.array(y)
    minpy.set_lazy(mode == "lazy")
    out = benchmark(lambda: elementwise_chain(mnp, mx_, my_).asnumpy())
    assert onp.allclose(out, elementwise_chain(onp, x, y), rtol=1e-4, atol=1e-5)


@pytest.mark.benchmark(group="rnn-grad")
@pytest.mark.parametrize("mode", ["numpy", "eager", "lazy"])
def test_small_rnn_grad(benchmark, mode):
    xs, target, Wx, Wh, b = rnn_data()
    ref_grads, ref_loss = rnn_numpy_grad(Wx, Wh, b, xs, target)
    if mode == "numpy":
        benchmark(lambda: rnn_numpy_grad(Wx, Wh, b, xs, target))
        return
    args = [mnp.array(a) for a in (Wx, Wh, b, xs, target)]
    step = grad_and_loss(lambda Wx, Wh, b, xs, t: rnn_loss(mnp, Wx, Wh, b, xs, t), [0, 1, 2])
    minpy.set_lazy(mode == "lazy")

    def run():
        grads, loss = step(*args)
        return [g.asnumpy() for g in grads], float(loss)
    grads, loss = benchmark(run)
    assert abs(loss - ref_loss) <= 1e-3 * max(1.0, abs(ref_loss))
    for g, r in zip(grads, ref_grads):
        assert onp.allclose(g, r, rtol=1e-3, atol=1e-4)
