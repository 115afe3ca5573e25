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


@pytest.mark.benchmark(group="lazy-hot-path")
@pytest.mark.parametrize("call", ["array*array", "array*scalar", "maximum", "abs"])
def test_record_100_calls(benchmark, call):
    """The cost of recording one lazy call (dispatch, inference, the node, the handle):
    100 calls on a pending 64x64 array, then the epoch is dropped unevaluated."""
    from minpy.jit.engine import _state
    x, y = (mnp.array(a) for a in _chain_inputs(64))
    fns = {"array*array": lambda z: z * y, "array*scalar": lambda z: z * 0.5,
           "maximum": lambda z: mnp.maximum(z, 0.1), "abs": mnp.abs}
    f = fns[call]

    def run():
        z = x * y
        for _ in range(100):
            f(z)
        _state.engine.discard()
    with minpy.lazy():
        benchmark(run)


@pytest.mark.benchmark(group="lazy-hot-path")
def test_flush_cache_hit_chain_64(benchmark):
    """A flush that finds the 20-node chain's graph cached: key, lookup, inputs, the
    kernel (or executor), output binding, and the read that asked for it."""
    x, y = (mnp.array(a) for a in _chain_inputs(64))
    pending = []

    def setup():
        minpy.set_lazy(True)
        pending[:] = [elementwise_chain(mnp, x, y)]

    def flush():
        pending[0].wait_to_read()
    setup()
    flush()          # compiles once
    benchmark.pedantic(flush, setup=setup, rounds=300, iterations=1)
    minpy.set_lazy(False)
    assert onp.allclose(pending[0].asnumpy(), elementwise_chain(onp, *_chain_inputs(64)),
                        rtol=1e-4, atol=1e-5)
