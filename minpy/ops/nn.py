"""Neural-network operators used by ``minpy.nn.layers``.

They are registered under ``nn.*`` names (not part of ``minpy.numpy``), each
with an MXNet lowering (``F.npx.convolution``, ``F.npx.pooling``...), a NumPy
implementation for fallback policies, an explicit shape rule (so shape
inference never runs a convolution on dummies) and vector-Jacobian products
written as MinPy calls, so that a training step records lazily as one graph.

Gradients of the convolution:

* with respect to the data: a transposed convolution (``deconvolution``) of
  the output gradient with the same weights, with ``adj`` restoring the rows
  and columns the forward stride dropped;
* with respect to the weights: a convolution whose "batch" is the input
  channels and whose "channels" are the samples -- the input with axes 0/1
  swapped, convolved with the output gradient (axes 0/1 swapped) used as the
  kernel, dilated by the forward stride -- cropped to the kernel size.

The max-pooling gradient routes each output gradient to the positions equal
to the window's maximum (an upsampled equality mask). This is exact for
non-overlapping windows (stride equal to the pool size), the only case
supported; ties share the gradient of their window.
"""
from __future__ import annotations

import os as _os

import numpy as _onp

from ..dispatch.registry import defop, mark_mxgrad
from ._util import activation, c

# MXNet's MKLDNN subgraph fusion keeps the first weights of a bound executor;
# minpy/__init__.py turns the fused convolution/FullyConnected off (see there).


def _pair(v) -> tuple:
    if isinstance(v, (int, _onp.integer)):
        return (int(v), int(v))
    v = tuple(int(t) for t in v)
    if len(v) != 2:
        raise ValueError(f"expected an int or a pair of ints, got {v!r}")
    return v


def _same_dtype(shape):
    def rule(operands, attrs):
        return (shape(operands, attrs),), (operands[0].dtype,)
    return rule


# ----------------------------------------------------------------------------- activations

defop("nn.relu", mx=lambda F, x: F.npx.relu(x), np=lambda x: _onp.maximum(x, 0).astype(x.dtype),
      grad=lambda g, ans, x: g * (ans > 0), doc="max(x, 0)")


def _sigmoid_np(x):
    with _onp.errstate(over="ignore"):
        return (1.0 / (1.0 + _onp.exp(-x))).astype(x.dtype)


defop("nn.sigmoid", mx=lambda F, x: activation(F, x, "sigmoid", lambda F, x: F.npx.sigmoid(x)),
      np=_sigmoid_np,
      grad=lambda g, ans, x: g * ans * (1.0 - ans), doc="1 / (1 + exp(-x))")

defop("nn.stop_gradient", mx=lambda F, x: F.np.copy(x), np=lambda x: _onp.array(x), nondiff=True,
      doc="a copy of x that carries no gradient")


# ----------------------------------------------------------------------------- convolution

def _conv_out(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def _conv_shape(operands, attrs):
    x, w = operands[0], operands[1]
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"minpy.nn.conv2d: expected 4-d data (N, C, H, W) and weights "
                         f"(F, C, HH, WW), got {x.shape} and {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"minpy.nn.conv2d: data has {x.shape[1]} channels but the weights "
                         f"expect {w.shape[1]} (shapes {x.shape} and {w.shape})")
    if operands[2].shape != (w.shape[0],):
        raise ValueError(f"minpy.nn.conv2d: bias shape {operands[2].shape} should be ({w.shape[0]},)")
    (sh, sw), (ph, pw) = attrs["stride"], attrs["pad"]
    oh = _conv_out(x.shape[2], w.shape[2], sh, ph)
    ow = _conv_out(x.shape[3], w.shape[3], sw, pw)
    if oh <= 0 or ow <= 0:
        raise ValueError(f"minpy.nn.conv2d: kernel {w.shape[2:]} larger than the padded input "
                         f"{x.shape[2:]} (pad {attrs['pad']})")
    return (x.shape[0], w.shape[0], oh, ow)


def _windows(xp, kh, kw, stride):
    v = _onp.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return v[:, :, ::stride[0], ::stride[1]]


def _pad_hw(x, pad):
    return _onp.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))


def _conv_np(x, w, b, stride, pad):
    win = _windows(_pad_hw(x, pad), w.shape[2], w.shape[3], stride)
    out = _onp.einsum("nchwij,fcij->nfhw", win, w) + b.reshape(1, -1, 1, 1)
    return out.astype(x.dtype)


def _conv_mx(F, x, w, b, stride, pad):
    k = (int(w.shape[2]), int(w.shape[3]))
    return F.npx.convolution(x, w, b, kernel=k, stride=stride, pad=pad,
                             num_filter=int(w.shape[0]), no_bias=False)


def _conv_vjp_x(g, ans, x, w, b, stride, pad):
    h, wd = x.shape[2], x.shape[3]
    adj = ((h + 2 * pad[0] - w.shape[2]) % stride[0], (wd + 2 * pad[1] - w.shape[3]) % stride[1])
    return c("nn.conv2d_data_grad", g, w, stride, pad, adj)


def _conv_vjp_w(g, ans, x, w, b, stride, pad):
    return c("nn.conv2d_weight_grad", x, g, (int(w.shape[2]), int(w.shape[3])), stride, pad)


def _conv_vjp_b(g, ans, x, w, b, stride, pad):
    return c("sum", g, (0, 2, 3))


def _conv_bind(x, w, b, stride=1, pad=0):
    return (x, w, b), (("stride", _pair(stride)), ("pad", _pair(pad)))


defop("nn.conv2d", nin=3, bind=_conv_bind, params=[("stride", (1, 1)), ("pad", (0, 0))],
      mx=_conv_mx, np=_conv_np, shape=_same_dtype(_conv_shape),
      grad=(_conv_vjp_x, _conv_vjp_w, _conv_vjp_b),
      doc="2-d convolution, NCHW data and (F, C, HH, WW) weights")


def _dgrad_shape(operands, attrs):
    g, w = operands
    (sh, sw), (ph, pw), (ah, aw) = attrs["stride"], attrs["pad"], attrs["adj"]
    return (g.shape[0], w.shape[1], (g.shape[2] - 1) * sh - 2 * ph + w.shape[2] + ah,
            (g.shape[3] - 1) * sw - 2 * pw + w.shape[3] + aw)


def _dgrad_mx(F, g, w, stride, pad, adj):
    k = (int(w.shape[2]), int(w.shape[3]))
    return F.npx.deconvolution(g, w, None, kernel=k, stride=stride, pad=pad, adj=adj,
                               num_filter=int(w.shape[1]), no_bias=True)


def _dgrad_np(g, w, stride, pad, adj):
    n, f, oh, ow = g.shape
    _, ch, kh, kw = w.shape
    hp = (oh - 1) * stride[0] + kh + adj[0]
    wp = (ow - 1) * stride[1] + kw + adj[1]
    dxp = _onp.zeros((n, ch, hp, wp), dtype=g.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + stride[0] * oh:stride[0], j:j + stride[1] * ow:stride[1]] += \
                _onp.einsum("nfhw,fc->nchw", g, w[:, :, i, j])
    return dxp[:, :, pad[0]:hp - pad[0], pad[1]:wp - pad[1]]


def _no_bias_conv(x, w, stride, pad):
    return c("nn.conv2d", x, w, c("zeros", (w.shape[0],), w.dtype), stride, pad)


# Both helpers are bilinear, so their own gradients are the other two
# convolutions (which makes second derivatives of conv2d available too).
def _dgrad_vjp_g(cot, ans, g, w, stride, pad, adj):
    return _no_bias_conv(cot, w, stride, pad)


def _dgrad_vjp_w(cot, ans, g, w, stride, pad, adj):
    return c("nn.conv2d_weight_grad", cot, g, (int(w.shape[2]), int(w.shape[3])), stride, pad)


defop("nn.conv2d_data_grad", nin=2, params=[("stride", (1, 1)), ("pad", (0, 0)), ("adj", (0, 0))],
      mx=_dgrad_mx, np=_dgrad_np, shape=_same_dtype(_dgrad_shape),
      grad=(_dgrad_vjp_g, _dgrad_vjp_w),
      doc="gradient of conv2d with respect to its data (a transposed convolution)")


def _wgrad_mx(F, x, g, kernel, stride, pad):
    oh, ow = int(g.shape[2]), int(g.shape[3])
    r = F.npx.convolution(F.np.swapaxes(x, 0, 1), F.np.swapaxes(g, 0, 1), None, kernel=(oh, ow),
                          stride=(1, 1), dilate=stride, pad=pad, num_filter=int(g.shape[1]),
                          no_bias=True)
    r = F.npx.slice(r, begin=(None, None, 0, 0), end=(None, None, kernel[0], kernel[1]))
    return F.np.swapaxes(r, 0, 1)


def _wgrad_np(x, g, kernel, stride, pad):
    win = _windows(_pad_hw(x, pad), kernel[0], kernel[1], stride)[:, :, :g.shape[2], :g.shape[3]]
    return _onp.einsum("nchwij,nfhw->fcij", win, g).astype(x.dtype)


def _wgrad_vjp_x(cot, ans, x, g, kernel, stride, pad):
    adj = ((x.shape[2] + 2 * pad[0] - kernel[0]) % stride[0],
           (x.shape[3] + 2 * pad[1] - kernel[1]) % stride[1])
    return c("nn.conv2d_data_grad", g, cot, stride, pad, adj)


def _wgrad_vjp_g(cot, ans, x, g, kernel, stride, pad):
    return _no_bias_conv(x, cot, stride, pad)


defop("nn.conv2d_weight_grad", nin=2, params=[("kernel", (1, 1)), ("stride", (1, 1)), ("pad", (0, 0))],
      mx=_wgrad_mx, np=_wgrad_np, grad=(_wgrad_vjp_x, _wgrad_vjp_g),
      shape=_same_dtype(lambda ops, a: (ops[1].shape[1], ops[0].shape[1]) + tuple(a["kernel"])),
      doc="gradient of conv2d with respect to its weights (a dilated convolution)")


# ----------------------------------------------------------------------------- pooling

def _pool_shape(operands, attrs):
    x = operands[0]
    if x.ndim != 4:
        raise ValueError(f"minpy.nn.max_pool: expected 4-d data (N, C, H, W), got {x.shape}")
    (kh, kw), (sh, sw) = attrs["pool"], attrs["stride"]
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(f"minpy.nn.max_pool: pool {attrs['pool']} larger than the input {x.shape[2:]}")
    return (x.shape[0], x.shape[1], oh, ow)


def _pool_mx(F, x, pool, stride):
    return F.npx.pooling(x, kernel=pool, stride=stride, pool_type="max",
                         pooling_convention="valid")


def _pool_np(x, pool, stride):
    return _windows(x, pool[0], pool[1], stride).max(axis=(4, 5))


def _pool_vjp(g, ans, x, pool, stride):
    if tuple(pool) != tuple(stride):
        raise NotImplementedError(
            f"minpy.nn.max_pool: the gradient is implemented only for non-overlapping windows "
            f"(stride == pool size); got pool {tuple(pool)} with stride {tuple(stride)}")
    kh, kw = pool
    n, ch, oh, ow = ans.shape
    h, w = oh * kh, ow * kw
    xs = x if (h, w) == tuple(x.shape[2:]) else x[:, :, :h, :w]
    up_ans = c("repeat", c("repeat", ans, kh, 2), kw, 3)
    up_g = c("repeat", c("repeat", g, kh, 2), kw, 3)
    dx = up_g * (xs == up_ans)
    if h < x.shape[2]:
        dx = c("concatenate", [dx, c("zeros", (n, ch, x.shape[2] - h, w), x.dtype)], 2)
    if w < x.shape[3]:
        dx = c("concatenate", [dx, c("zeros", (n, ch, x.shape[2], x.shape[3] - w), x.dtype)], 3)
    return dx


def _pool_bind(x, pool=(2, 2), stride=None):
    pool = _pair(pool)
    return (x,), (("pool", pool), ("stride", _pair(stride) if stride is not None else pool))


defop("nn.max_pool", bind=_pool_bind, params=[("pool", (2, 2)), ("stride", (2, 2))],
      mx=_pool_mx, np=_pool_np, shape=_same_dtype(_pool_shape), grad=_pool_vjp,
      doc="2-d max pooling over NCHW data")


mark_mxgrad(("nn.relu", "nn.sigmoid"))
