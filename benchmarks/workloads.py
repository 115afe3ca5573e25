"""Workloads written once as MinPy/NumPy user code, shared by the benchmark suites.

Each workload takes ``xp`` (``numpy`` or ``minpy.numpy``) so the same source is
timed on NumPy, eager MinPy and lazy MinPy.
"""
from __future__ import annotations

import numpy as onp


def elementwise_chain(xp, x, y):
    """Twenty elementwise operations, the kind a NumPy user chains by hand."""
    z = x * 0.5 + y
    z = xp.maximum(z, 0.1)
    z = z * z - y
    z = xp.abs(z) + 1.0
    z = xp.sqrt(z) * x
    z = z / (xp.abs(y) + 1.0)
    z = xp.minimum(z, 3.0) - 0.25
    z = xp.negative(z) * 2.0
    z = z + x * y
    z = xp.square(z) * 0.01
    return z


def rnn_data(batch=4, steps=50, din=3, hidden=5, seed=0):
    rng = onp.random.RandomState(seed)
    xs = rng.randn(steps, batch, din).astype("float32")
    target = rng.randn(batch, hidden).astype("float32")
    Wx = (rng.randn(din, hidden) * 0.3).astype("float32")
    Wh = (rng.randn(hidden, hidden) * 0.3).astype("float32")
    b = onp.zeros(hidden, dtype="float32")
    return xs, target, Wx, Wh, b


def rnn_loss(xp, Wx, Wh, b, xs, target):
    """A vanilla tanh RNN over ``xs`` (steps, batch, input) with a squared loss."""
    h = xp.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = xp.tanh(xp.dot(xs[t], Wx) + xp.dot(h, Wh) + b)
    d = h - target
    return (d * d).sum()


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
