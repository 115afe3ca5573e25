"""Per-call cost of one eager MinPy call next to a raw ``mx.np`` call and a NumPy
call on small arrays, and of one ``grad_and_loss`` of a small MLP next to the same
computation with ``mxnet.autograd`` (foundation and autograd issues)."""
import mxnet as mx
import numpy as onp
import pytest

import minpy.numpy as mnp
from minpy.core import grad_and_loss


@pytest.mark.benchmark(group="call-overhead")
@pytest.mark.parametrize("impl", ["numpy", "mx.np", "minpy"])
def test_small_add_call(benchmark, impl):
    a = onp.ones((4, 4), dtype="float32")
    if impl == "numpy":
        x = a
        benchmark(onp.add, x, x)
    elif impl == "mx.np":
        x = mx.np.array(a)
        benchmark(lambda: mx.np.add(x, x))
        mx.nd.waitall()
    else:
        x = mnp.array(a)
        benchmark(lambda: mnp.add(x, x))
        mx.nd.waitall()


def _mlp_data(seed=0):
    rng = onp.random.RandomState(seed)
    X = rng.randn(64, 20).astype("float32")
    y = rng.randint(0, 5, size=64)
    W1 = (rng.randn(20, 32) * 0.1).astype("float32")
    W2 = (rng.randn(32, 5) * 0.1).astype("float32")
    return X, y, W1, W2


@pytest.mark.benchmark(group="mlp-grad-eager")
@pytest.mark.parametrize("impl", ["mxnet.autograd", "minpy"])
def test_small_mlp_grad_and_loss(benchmark, impl):
    X, y, W1, W2 = _mlp_data()
    onehot = onp.eye(5, dtype="float32")[y]
    if impl == "minpy":
        Xm, Om = mnp.array(X), mnp.array(onehot)

        def loss(W1, W2):
            h = mnp.maximum(Xm @ W1, 0.0)
            s = h @ W2
            s = s - s.max(axis=1, keepdims=True)
            logp = s - mnp.log(mnp.exp(s).sum(axis=1, keepdims=True))
            return -(logp * Om).sum() / X.shape[0]
        step = grad_and_loss(loss, [0, 1])
        w1, w2 = mnp.array(W1), mnp.array(W2)

        def run():
            (g1, g2), l = step(w1, w2)
            g1.wait_to_read()
            g2.wait_to_read()
            return float(l), g1.asnumpy()
    else:
        Xm, Om = mx.np.array(X), mx.np.array(onehot)
        w1, w2 = mx.np.array(W1), mx.np.array(W2)
        w1.attach_grad()
        w2.attach_grad()

        def run():
            with mx.autograd.record():
                h = mx.np.maximum(mx.np.dot(Xm, w1), 0.0)
                s = mx.np.dot(h, w2)
                s = s - s.max(axis=1, keepdims=True)
                logp = s - mx.np.log(mx.np.exp(s).sum(axis=1, keepdims=True))
                l = -(logp * Om).sum() / X.shape[0]
            l.backward()
            w1.grad.wait_to_read()
            w2.grad.wait_to_read()
            return float(l), w1.grad.asnumpy()
    loss_value, g1 = benchmark(run)
    # both compute the same loss and gradient
    h = onp.maximum(X @ W1, 0)
    s = h @ W2
    s = s - s.max(1, keepdims=True)
    p = onp.exp(s) / onp.exp(s).sum(1, keepdims=True)
    assert abs(loss_value - (-(onp.log(p) * onehot).sum() / 64)) < 1e-4
    ref_g1 = X.T @ (((p - onehot) / 64) @ W2.T * (h > 0))
    assert onp.allclose(g1, ref_g1, rtol=1e-3, atol=1e-5)
