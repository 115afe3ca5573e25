"""Workloads written once as MinPy/NumPy user code, shared by the benchmark suites.

Each workload takes ``xp`` (``numpy`` or ``minpy.numpy``) so the same source is
timed on NumPy, eager MinPy and lazy MinPy.
"""
from __future__ import annotations

import numpy as onp

LR = 0.1

# one definition of each, shared with ``python -m minpy.jit.tune``
from minpy.jit.tune import (elementwise_chain, log_softmax, mlp_data, mlp_loss,  # noqa: F401
                            rnn_loss, softmax_ce)

import mxnet as mx  # noqa: E402  (after minpy, which sets MXNet's environment first)

import minpy  # noqa: E402
from minpy.core import grad_and_loss  # noqa: E402


def rnn_data(batch=4, steps=50, din=3, hidden=5, seed=0):
    rng = onp.random.RandomState(seed)
    xs = rng.randn(steps, batch, din).astype("float32")
    target = rng.randn(batch, hidden).astype("float32")
    Wx = (rng.randn(din, hidden) * 0.3).astype("float32")
    Wh = (rng.randn(hidden, hidden) * 0.3).astype("float32")
    b = onp.zeros(hidden, dtype="float32")
    return xs, target, Wx, Wh, b


def rnn_numpy_grad(Wx, Wh, b, xs, target):
    """Hand-written NumPy forward and backward of :func:`rnn_loss`."""
    hs = [onp.zeros((xs.shape[1], Wh.shape[0]), dtype=Wx.dtype)]
    for t in range(xs.shape[0]):
        hs.append(onp.tanh(xs[t] @ Wx + hs[-1] @ Wh + b))
    d = hs[-1] - target
    loss = (d * d).sum()
    dh = 2 * d
    dWx = onp.zeros_like(Wx)
    dWh = onp.zeros_like(Wh)
    db = onp.zeros_like(b)
    for t in range(xs.shape[0] - 1, -1, -1):
        da = dh * (1 - hs[t + 1] ** 2)
        dWx += xs[t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(0)
        dh = da @ Wh.T
    return (dWx, dWh, db), loss


# ----------------------------------------------------------------------------- training steps

def softmax_reductions(xp, x):
    """Softmax, log-sum-exp and two reductions of (N, C) scores."""
    m = xp.max(x, axis=1, keepdims=True)
    e = xp.exp(x - m)
    s = xp.sum(e, axis=1, keepdims=True)
    return e / s, xp.log(s) + m, xp.mean(x, axis=0), xp.sum(x * x)


def softmax_reductions_symbol(x):
    """:func:`softmax_reductions` hand-written as one MXNet symbol (explicit broadcasts)."""
    import mxnet as mx
    m = mx.sym.max(x, axis=1, keepdims=True)
    e = mx.sym.exp(mx.sym.broadcast_sub(x, m))
    s = mx.sym.sum(e, axis=1, keepdims=True)
    return mx.sym.Group([mx.sym.broadcast_div(e, s), mx.sym.log(s) + m,
                         mx.sym.mean(x, axis=0), mx.sym.sum(x * x)])


def mlp_numpy_step(params, x, onehot, lr=0.1):
    """Hand-written NumPy forward, backward and in-place SGD update of :func:`mlp_loss`."""
    W1, b1, W2, b2, W3, b3 = params
    n = x.shape[0]
    a1 = x @ W1 + b1
    h1 = onp.maximum(a1, 0)
    a2 = h1 @ W2 + b2
    h2 = onp.maximum(a2, 0)
    s = h2 @ W3 + b3
    sh = s - s.max(1, keepdims=True)
    e = onp.exp(sh)
    se = e.sum(1, keepdims=True)
    loss = -((sh - onp.log(se)) * onehot).sum() / n
    ds = (e / se * onehot.sum(1, keepdims=True) - onehot) / n
    dW3, db3 = h2.T @ ds, ds.sum(0)
    da2 = (ds @ W3.T) * (a2 > 0)
    dW2, db2 = h1.T @ da2, da2.sum(0)
    da1 = (da2 @ W2.T) * (a1 > 0)
    dW1, db1 = x.T @ da1, da1.sum(0)
    for p, g in zip(params, (dW1, db1, dW2, db2, dW3, db3)):
        p -= lr * g
    return loss


def cnn_data(batch=32, channels=1, size=16, filters=8, classes=10, seed=0):
    """Images, one-hot targets and (w, b, W, bb): 3x3 conv (pad 1), 2x2 pool, affine."""
    rng = onp.random.RandomState(seed)
    x = rng.randn(batch, channels, size, size).astype("float32")
    onehot = onp.eye(classes, dtype="float32")[rng.randint(0, classes, batch)]
    w = (rng.randn(filters, channels, 3, 3) * 0.3).astype("float32")
    b = onp.zeros(filters, dtype="float32")
    d = filters * (size // 2) ** 2
    W = (rng.randn(d, classes) * onp.sqrt(1.0 / d)).astype("float32")
    bb = onp.zeros(classes, dtype="float32")
    return [w, b, W, bb], x, onehot


def cnn_loss(xp, conv, pool, w, b, W, bb, x, onehot):
    """conv -> ReLU -> max pool -> affine -> softmax cross-entropy; ``conv(x, w, b)``
    and ``pool(h)`` are supplied by the caller (``Function``-wrapped symbols in MinPy)."""
    h = pool(xp.maximum(conv(x, w, b), 0.0))
    h = xp.reshape(h, (h.shape[0], -1))
    return softmax_ce(xp, xp.dot(h, W) + bb, onehot)


def cnn_numpy_step(params, x, onehot, lr=0.1):
    """Hand-written NumPy forward, backward and in-place SGD update of :func:`cnn_loss`
    (3x3 convolution with padding 1 as im2col, 2x2 max pooling)."""
    w, b, W, bb = params
    n, c, hh, ww = x.shape
    f = w.shape[0]
    xp_ = onp.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = onp.lib.stride_tricks.sliding_window_view(xp_, (3, 3), axis=(2, 3))
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * hh * ww, c * 9)
    a = (cols @ w.reshape(f, -1).T + b).reshape(n, hh, ww, f).transpose(0, 3, 1, 2)
    r = onp.maximum(a, 0)
    r6 = r.reshape(n, f, hh // 2, 2, ww // 2, 2)
    p = r6.max((3, 5))
    h = p.reshape(n, -1)
    s = h @ W + bb
    sh = s - s.max(1, keepdims=True)
    e = onp.exp(sh)
    se = e.sum(1, keepdims=True)
    loss = -((sh - onp.log(se)) * onehot).sum() / n
    ds = (e / se * onehot.sum(1, keepdims=True) - onehot) / n
    dW, dbb = h.T @ ds, ds.sum(0)
    dp = (ds @ W.T).reshape(p.shape)
    dr = ((r6 == p[:, :, :, None, :, None]) * dp[:, :, :, None, :, None]).reshape(r.shape)
    da = dr * (a > 0)
    da_cols = da.transpose(0, 2, 3, 1).reshape(-1, f)
    dw = (da_cols.T @ cols).reshape(w.shape)
    db = da_cols.sum(0)
    for q, g in zip(params, (dw, db, dW, dbb)):
        q -= lr * g
    return loss


# ----------------------------------------------------------------------------- runners

def sgd_step(loss_fn, nparams):
    """One SGD step as MinPy user code: gradients, then in-place parameter updates."""
    gl = grad_and_loss(loss_fn, list(range(nparams)))

    def step(*args):
        grads, loss = gl(*args)
        for p, g in zip(args[:nparams], grads):
            p[:] = p - LR * g
        return loss
    return step


def minpy_runner(step, params, data, mode):
    def run():
        with minpy.lazy(mode == "lazy"):
            loss = step(*params, *data)
            for p in params:
                p.wait_to_read()
        return loss
    return run


def symbolic_sgd(sym, params, data, names, transpose=()):
    """Bind ``sym`` once; a step is forward, backward and ``sgd_update`` of each weight."""
    shapes = {n: (p.T if n in transpose else p).shape for n, p in zip(names, params)}
    shapes.update(data_shapes := {n: a.shape for n, a in data.items()})
    req = {n: ("null" if n in data_shapes else "write") for n in sym.list_arguments()}
    exe = sym.simple_bind(mx.cpu(), grad_req=req, **shapes)
    for n, p in zip(names, params):
        exe.arg_dict[n][:] = p.T if n in transpose else p
    for n, a in data.items():
        exe.arg_dict[n][:] = a
    ws = [exe.arg_dict[n] for n in names]
    gs = [exe.grad_dict[n] for n in names]

    def run():
        exe.forward(is_train=True)
        exe.backward()
        for w, g in zip(ws, gs):
            mx.nd.sgd_update(w, g, lr=LR, wd=0.0, out=w)
        mx.nd.waitall()
        return exe.outputs[0]

    def updated():
        return [exe.arg_dict[n].asnumpy().T if n in transpose else exe.arg_dict[n].asnumpy()
                for n in names]
    return run, updated


def mlp_symbol(batch):
    """:func:`mlp_loss` hand-written as an MXNet symbol (FullyConnected, Activation)."""
    h = mx.sym.Variable("x")
    for i, units in enumerate((512, 512)):
        h = mx.sym.Activation(mx.sym.FullyConnected(h, num_hidden=units, name=f"fc{i + 1}"),
                              act_type="relu")
    s = mx.sym.FullyConnected(h, num_hidden=10, name="fc3")
    return mx.sym.MakeLoss(-mx.sym.sum(mx.sym.log_softmax(s) * mx.sym.Variable("onehot")) / batch)


MLP_NAMES = ["fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "fc3_weight", "fc3_bias"]


def _conv_symbol(filters):
    return mx.sym.Convolution(data=mx.sym.Variable("x"), weight=mx.sym.Variable("w"),
                              bias=mx.sym.Variable("b"), kernel=(3, 3), pad=(1, 1),
                              num_filter=filters, name="conv")


def _pool_symbol(data):
    return mx.sym.Pooling(data=data, kernel=(2, 2), stride=(2, 2), pool_type="max")


def cnn_symbol(filters, classes, batch):
    """:func:`cnn_loss` hand-written as an MXNet symbol."""
    h = _pool_symbol(mx.sym.Activation(_conv_symbol(filters), act_type="relu"))
    s = mx.sym.FullyConnected(mx.sym.Flatten(h), weight=mx.sym.Variable("W"),
                              bias=mx.sym.Variable("bb"), num_hidden=classes)
    return mx.sym.MakeLoss(-mx.sym.sum(mx.sym.log_softmax(s) * mx.sym.Variable("onehot")) / batch)


def cnn_minpy_loss(x_shape, filters):
    """:func:`cnn_loss` in MinPy, the convolution and pooling as ``Function``-wrapped symbols."""
    import minpy.numpy as mnp
    from minpy.core import Function
    n, _, hh, ww = x_shape
    convf = Function(_conv_symbol(filters), {"x": x_shape}, name="conv")
    poolf = Function(_pool_symbol(mx.sym.Variable("x")), {"x": (n, filters, hh, ww)}, name="pool")

    def loss_fn(w, b, W, bb, x, onehot):
        return cnn_loss(mnp, lambda x, w, b: convf(x=x, w=w, b=b), lambda h: poolf(x=h),
                        w, b, W, bb, x, onehot)
    return loss_fn


def cnn_registry_loss():
    """:func:`cnn_loss` in MinPy with ``nn.layers.conv2d`` / ``max_pool`` (registry
    operators, whose gradients are MXNet's backward operators)."""
    import minpy.numpy as mnp
    from minpy.nn import layers

    def loss_fn(w, b, W, bb, x, onehot):
        return cnn_loss(mnp, lambda x, w, b: layers.conv2d(x, w, b, pad=1),
                        lambda h: layers.max_pool(h, 2, 2), w, b, W, bb, x, onehot)
    return loss_fn
