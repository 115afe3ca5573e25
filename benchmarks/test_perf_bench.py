"""Training steps, elementwise chains and reductions in every mode (issue 6, item 1).

Each workload in ``workloads.py`` is written once as NumPy/MinPy user code and run as
NumPy (hand-written backward where there is one), eager MinPy, lazy MinPy,
``@minpy.jit`` MinPy, and a hand-written MXNet symbolic executor of the same
computation, bound once (the "symbolic performance" reference). Every variant is
checked against NumPy once before it is timed. MXNet results stay on the device
and are waited for; NumPy results are host arrays.

Run: ``python -m benchmarks.report benchmarks/test_perf_bench.py``.
"""
import mxnet as mx
import numpy as onp
import pytest

import minpy
import minpy.numpy as mnp

from .workloads import (LR, MLP_NAMES, cnn_data, cnn_minpy_loss, cnn_numpy_step, cnn_symbol,
                        elementwise_chain,
                        minpy_runner, mlp_data, mlp_loss, mlp_numpy_step, mlp_symbol, sgd_step,
                        softmax_reductions, softmax_reductions_symbol, symbolic_sgd)

MODES = ["numpy", "eager", "lazy", "jit", "symbolic"]


@pytest.fixture(autouse=True)
def _eager_after():
    yield
    minpy.set_lazy(False)


def _bench(benchmark, fn, rounds):
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


def _close(got, ref, rtol=1e-3, atol=1e-5):
    got, ref = onp.asarray(got, dtype="float64"), onp.asarray(ref, dtype="float64")
    assert got.shape == ref.shape or got.size == ref.size, (got.shape, ref.shape)
    assert onp.allclose(got.reshape(ref.shape), ref, rtol=rtol, atol=atol), \
        float(onp.abs(got.reshape(ref.shape) - ref).max())


# ----------------------------------------------------------------------------- MLP step



@pytest.mark.benchmark(group="perf-mlp-step")
@pytest.mark.parametrize("mode", MODES)
def test_mlp_sgd_step(benchmark, mode):
    """784-512-512-10 ReLU MLP, batch 256: forward, backward, SGD (lr 0.1)."""
    params, x, onehot = mlp_data()
    ref_params = [p.copy() for p in params]
    ref_loss = mlp_numpy_step(ref_params, x, onehot, LR)
    if mode == "numpy":
        _bench(benchmark, lambda: mlp_numpy_step(params, x, onehot, LR), 20)
        return
    if mode == "symbolic":
        run, updated = symbolic_sgd(mlp_symbol(x.shape[0]), params, {"x": x, "onehot": onehot},
                                     MLP_NAMES, transpose=MLP_NAMES[::2])
        loss = run()
        got = updated()
    else:
        step = sgd_step(lambda *a: mlp_loss(mnp, *a), 6)
        if mode == "jit":
            step = minpy.jit(step)
        mparams = [mnp.array(p) for p in params]
        run = minpy_runner(step, mparams, (mnp.array(x), mnp.array(onehot)), mode)
        loss = run()
        got = [p.asnumpy() for p in mparams]
    _close(float(loss.asnumpy().reshape(-1)[0]), ref_loss)
    for g, r in zip(got, ref_params):
        _close(g, r)
    _bench(benchmark, run, 20)
    if mode == "jit":
        assert step.traces == 1


# ----------------------------------------------------------------------------- chains

def _chain(benchmark, n, mode):
    """:func:`elementwise_chain` on two n x n float32 arrays."""
    rng = onp.random.RandomState(0)
    x, y = rng.randn(n, n).astype("float32"), rng.randn(n, n).astype("float32")
    ref = elementwise_chain(onp, x, y)
    rounds = {64: 200, 256: 100, 1024: 20, 2048: 10}[n]
    if mode == "numpy":
        _bench(benchmark, lambda: elementwise_chain(onp, x, y), rounds)
        return
    if mode == "symbolic":
        sym = elementwise_chain(mx.sym, mx.sym.Variable("x"), mx.sym.Variable("y"))
        exe = sym.bind(mx.cpu(), args={"x": mx.nd.array(x), "y": mx.nd.array(y)}, grad_req="null")

        def run():
            out = exe.forward(is_train=False)[0]
            out.wait_to_read()
            return out
    else:
        mx_, my_ = mnp.array(x), mnp.array(y)
        fn = (lambda a, b: elementwise_chain(mnp, a, b))
        if mode == "jit":
            fn = minpy.jit(fn)

        def run():
            with minpy.lazy(mode == "lazy"):
                out = fn(mx_, my_)
                out.wait_to_read()
            return out
    _close(run().asnumpy(), ref, rtol=1e-4, atol=1e-5)
    _bench(benchmark, run, rounds)


def _chain_test(n):
    @pytest.mark.benchmark(group=f"perf-chain-{n:04d}")
    @pytest.mark.parametrize("mode", MODES)
    def test(benchmark, mode):
        _chain(benchmark, n, mode)
    test.__name__ = f"test_elementwise_chain_{n}"
    return test


test_elementwise_chain_64 = _chain_test(64)
test_elementwise_chain_256 = _chain_test(256)
test_elementwise_chain_1024 = _chain_test(1024)
test_elementwise_chain_2048 = _chain_test(2048)


# ----------------------------------------------------------------------------- softmax

@pytest.mark.benchmark(group="perf-softmax-lse-reductions")
@pytest.mark.parametrize("mode", MODES)
def test_softmax_reductions(benchmark, mode):
    """Softmax, log-sum-exp, column mean and sum of squares of (256, 1000) float32."""
    x = onp.random.RandomState(0).randn(256, 1000).astype("float32")
    refs = softmax_reductions(onp, x)
    if mode == "numpy":
        _bench(benchmark, lambda: softmax_reductions(onp, x), 200)
        return
    if mode == "symbolic":
        exe = softmax_reductions_symbol(mx.sym.Variable("x")).bind(
            mx.cpu(), args={"x": mx.nd.array(x)}, grad_req="null")

        def run():
            outs = exe.forward(is_train=False)
            mx.nd.waitall()
            return outs
    else:
        mxx = mnp.array(x)
        fn = (lambda a: softmax_reductions(mnp, a))
        if mode == "jit":
            fn = minpy.jit(fn)

        def run():
            with minpy.lazy(mode == "lazy"):
                outs = fn(mxx)
                for o in outs:
                    o.wait_to_read()
            return outs
    for got, ref in zip(run(), refs):
        _close(got.asnumpy(), ref, rtol=1e-4, atol=1e-4)
    _bench(benchmark, run, 200)


# ----------------------------------------------------------------------------- reductions

@pytest.mark.benchmark(group="perf-sum-over-rows")
@pytest.mark.parametrize("mode", ["numpy", "eager", "mxnet-reduce"])
def test_sum_over_rows(benchmark, mode):
    """``x.sum(axis=0)`` of (256, 512) float32, the bias gradient of a 512-unit layer:
    eager MinPy runs it as a product with ones; "mxnet-reduce" is MXNet's own kernel."""
    x = onp.random.RandomState(0).randn(256, 512).astype("float32")
    if mode == "numpy":
        _bench(benchmark, lambda: x.sum(axis=0), 200)
        return
    if mode == "eager":
        mx_ = mnp.array(x)

        def run():
            out = mx_.sum(axis=0)
            out.wait_to_read()
            return out
    else:
        nd = mx.np.array(x)

        def run():
            out = mx.np.sum(nd, axis=0)
            out.wait_to_read()
            return out
    _close(run().asnumpy(), x.sum(axis=0), rtol=1e-4, atol=1e-4)
    _bench(benchmark, run, 200)


_LARGE = {"tanh": lambda xp, v: xp.tanh(v), "transpose": lambda xp, v: xp.transpose(v),
          "where": lambda xp, v: xp.where(v > 0, v, 0.0)}


@pytest.mark.benchmark(group="perf-large-elementwise")
@pytest.mark.parametrize("fn", sorted(_LARGE))
@pytest.mark.parametrize("mode", ["numpy", "eager", "mxnet-np"])
def test_large_elementwise(benchmark, mode, fn):
    """``tanh``, a transpose and ``where`` on (784, 512) float32: eager MinPy runs them as
    oneDNN's ``Activation``, a oneDNN reorder and MXNet's classic ``where``; "mxnet-np"
    is MXNet's ``np`` operator of the same name."""
    x = onp.random.RandomState(0).randn(784, 512).astype("float32")
    f = _LARGE[fn]
    if mode == "numpy":
        _bench(benchmark, lambda: onp.ascontiguousarray(f(onp, x)), 100)
        return
    lib, arr = (mnp, mnp.array(x)) if mode == "eager" else (mx.np, mx.np.array(x))

    def run():
        out = f(lib, arr)
        out.wait_to_read()
        return out
    _close(run().asnumpy(), f(onp, x), rtol=1e-5, atol=1e-6)
    _bench(benchmark, run, 100)


# ----------------------------------------------------------------------------- CNN step

@pytest.mark.benchmark(group="perf-cnn-step")
@pytest.mark.parametrize("mode", MODES)
def test_cnn_sgd_step(benchmark, mode):
    """Batch 32 of 1x16x16: 8 3x3 filters (pad 1), ReLU, 2x2 max pool, affine to 10
    classes, softmax cross-entropy, SGD (lr 0.1). MinPy runs the convolution and the
    pooling as ``Function``-wrapped symbols, spliced into lazy graphs; MXNet runs the
    backward pass (``config.native_backward``)."""
    params, x, onehot = cnn_data()
    ref_params = [p.copy() for p in params]
    ref_loss = cnn_numpy_step(ref_params, x, onehot, LR)
    filters = params[0].shape[0]
    if mode == "numpy":
        _bench(benchmark, lambda: cnn_numpy_step(params, x, onehot, LR), 50)
        return
    if mode == "symbolic":
        run, updated = symbolic_sgd(cnn_symbol(filters, onehot.shape[1], x.shape[0]), params,
                                    {"x": x, "onehot": onehot}, ["w", "b", "W", "bb"],
                                    transpose=("W",))
        loss = run()
        got = updated()
    else:
        loss_fn = cnn_minpy_loss(x.shape, filters)
        mparams = [mnp.array(p) for p in params]
        step = sgd_step(loss_fn, 4)
        if mode == "jit":
            step = minpy.jit(step)
        run = minpy_runner(step, mparams, (mnp.array(x), mnp.array(onehot)), mode)
        loss = run()
        got = [p.asnumpy() for p in mparams]
    _close(float(loss.asnumpy().reshape(-1)[0]), ref_loss)
    for g, r in zip(got, ref_params):
        _close(g, r)
    _bench(benchmark, run, 50)
    if mode == "jit":
        assert step.traces == 1
