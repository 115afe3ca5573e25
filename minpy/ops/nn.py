"""Neural-network operators used by ``minpy.nn.layers``.

They are registered under ``nn.*`` names (not part of ``minpy.numpy``), each
with an MXNet lowering (``F.npx.convolution``, ``F.npx.pooling``...), a NumPy
implementation for fallback policies and an explicit shape rule (so shape
inference never runs a convolution on dummies).

Gradients are MXNet's own backward operators, as one node per layer:
``nn.conv2d_grad`` gives the data, weight and bias gradients of a convolution
(``_backward_Convolution``, called directly), ``nn.max_pool_grad`` the data
gradient of a pooling (``_backward_Pooling``, through a small cached executor:
oneDNN's max pooling needs the workspace its forward pass writes). Both are
marked ``mxgrad``, so a lazy or ``@jit`` training step whose every operation has
MXNet's gradient runs its backward pass in MXNet (``minpy.jit.native_grad``),
exactly as it would run eagerly. Where a lazy graph must hold them as nodes
(the tape ran because another operation lacks MXNet's gradient), they are built
from forward operators instead:

* the data gradient: a transposed convolution (``deconvolution``) of the output
  gradient with the same weights, with ``adj`` restoring the rows and columns
  the forward stride dropped;
* the weight gradient: a convolution whose "batch" is the input channels and
  whose "channels" are the samples -- the input with axes 0/1 swapped, convolved
  with the output gradient (axes 0/1 swapped) used as the kernel, dilated by the
  forward stride -- cropped to the kernel size;
* the max-pooling gradient (non-overlapping windows there): each output gradient
  goes to the first position of its window holding the maximum (row-major order),
  as MXNet's backward operator sends it.
"""
from __future__ import annotations

import collections as _collections
import ctypes as _ctypes
import os as _os
import threading as _threading

import mxnet as _mx
import numpy as _onp

from ..dispatch.registry import defop, mark_mxgrad
from ._util import activation, c, cast, operand_dtype, via_int8

# MXNet's MKLDNN subgraph fusion keeps the first weights of a bound executor;
# minpy/__init__.py turns the fused convolution/FullyConnected off (see there).


def _pair(v) -> tuple:
    if isinstance(v, (int, _onp.integer)):
        return (int(v), int(v))
    v = tuple(int(t) for t in v)
    if len(v) != 2:
        raise ValueError(f"expected an int or a pair of ints, got {v!r}")
    return v


def _floats(name: str, operands) -> None:
    """MXNet convolves and pools floating-point data only, and one dtype at a time:
    anything else is a TypeError at the call (not an MXNet error when the value is
    read, or a lazy graph failing later)."""
    dts = [_onp.dtype(o.dtype) for o in operands]
    if any(d.kind != "f" for d in dts) or len(set(dts)) > 1:
        got = ", ".join(d.name for d in dts)
        raise TypeError(f"minpy.nn.{name}: expected floating-point arrays of one dtype, got "
                        f"{got} (convert them with .astype('float32'))")


def _float32_for_float16(lower):
    """MXNet has no float16 convolution on CPU ("FP16 gemm on cpu not implemented"):
    float16 operands are convolved in float32 and the results rounded to float16, as
    MinPy's float16 products are."""
    def run(F, *operands, **attrs):
        if operand_dtype(operands[0]) != _onp.float16:
            return lower(F, *operands, **attrs)
        r = lower(F, *[cast(o, "float32") for o in operands], **attrs)
        if isinstance(r, (list, tuple)):
            return [cast(v, "float16") for v in r]
        return cast(r, "float16")
    run.__name__ = lower.__name__
    return run


def _same_dtype(shape):
    def rule(operands, attrs):
        return (shape(operands, attrs),), (operands[0].dtype,)
    return rule


# ----------------------------------------------------------------------------- activations

defop("nn.relu", mx=lambda F, x: via_int8(F, x, F.npx.relu),     # (bool runs as int8)
      np=lambda x: _onp.maximum(x, 0).astype(x.dtype),
      grad=lambda g, ans, x: g * (ans > 0), doc="max(x, 0)")


def _sigmoid_np(x):
    if x.dtype.kind != "f":          # integers and bools promote as in np.exp
        x = x.astype(_onp.exp(_onp.zeros(0, x.dtype)).dtype)
    with _onp.errstate(over="ignore"):
        return (1.0 / (1.0 + _onp.exp(-x))).astype(x.dtype)


defop("nn.sigmoid", mx=lambda F, x: activation(F, x, "sigmoid", lambda F, x: F.npx.sigmoid(x)),
      np=_sigmoid_np,
      grad=lambda g, ans, x: g * ans * (1.0 - ans), doc="1 / (1 + exp(-x))", promote=True)

defop("nn.stop_gradient", mx=lambda F, x: F.np.copy(x), np=lambda x: _onp.array(x), nondiff=True,
      doc="a copy of x that carries no gradient")


# ----------------------------------------------------------------------------- convolution

def _conv_out(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def _conv_shape(operands, attrs):
    x, w = operands[0], operands[1]
    _floats("conv2d", operands[:3])
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


@_float32_for_float16
def _conv_mx(F, x, w, b, stride, pad):
    k = (int(w.shape[2]), int(w.shape[3]))
    return F.npx.convolution(x, w, b, kernel=k, stride=stride, pad=pad,
                             num_filter=int(w.shape[0]), no_bias=False)


# ----------------------------------------------------------------------------- MXNet's backward operators

_HANDLES: dict = {}


def _backward_op(name: str, inputs, attrs: dict, outs) -> list:
    """Run MXNet's backward operator ``name`` on legacy NDArrays, writing ``outs``.

    Backward operators take their attributes from the forward node in a graph and
    cannot infer their output shapes alone, so the outputs are allocated here; run
    so, ``_backward_Convolution`` needs no forward pass (it reads the data, the
    weights and the output gradient only)."""
    from mxnet.base import _LIB, c_str, check_call
    from mxnet.ndarray._internal import _imperative_invoke
    h = _HANDLES.get(name)
    if h is None:
        ref = _ctypes.c_void_p()
        check_call(_LIB.NNGetOpHandle(c_str(name), _ctypes.byref(ref)))
        h = _HANDLES[name] = ref.value
    _imperative_invoke(h, list(inputs), list(attrs), [str(v) for v in attrs.values()], outs,
                       False, True)
    return outs


def _nd(a):
    return a.as_nd_ndarray() if isinstance(a, _mx.np.ndarray) else a


def _empty_like(shape, a):
    return _mx.nd.empty(tuple(int(d) for d in shape), ctx=a.ctx, dtype=a.dtype)


def _conv_backward(g, x, w, b, stride, pad, need=(True, True, True)):
    """(dx, dw, db) of ``conv2d(x, w, b)`` for output gradient ``g``: MXNet's
    ``_backward_Convolution``, run eagerly. ``b`` may be None (no bias output)."""
    k = (int(w.shape[2]), int(w.shape[3]))
    attrs = {"kernel": k, "stride": tuple(stride), "pad": tuple(pad),
             "num_filter": int(w.shape[0]), "no_bias": b is None}
    ins = [_nd(g), _nd(x), _nd(w)] + ([] if b is None else [_nd(b)])
    outs = [_empty_like(x.shape, ins[1]), _empty_like(w.shape, ins[2])]
    if b is not None:
        outs.append(_empty_like(b.shape, ins[3]))
    _backward_op("_backward_Convolution", ins, attrs, outs)
    return [o.as_np_ndarray() for o in outs]


def _conv_adj(xshape, kernel, stride, pad) -> tuple:
    """Rows/columns of the data the forward stride never reached (the data gradient's
    ``adj``)."""
    return ((xshape[2] + 2 * pad[0] - kernel[0]) % stride[0],
            (xshape[3] + 2 * pad[1] - kernel[1]) % stride[1])


def _conv_vjp(g, ans, operands, stride, pad):
    x, w, b = operands
    dx, dw, db = c("nn.conv2d_grad", g, x, w, b, stride, pad)
    return [dx, dw, db]


def _conv_bind(x, w, b, stride=1, pad=0):
    return (x, w, b), (("stride", _pair(stride)), ("pad", _pair(pad)))


# nin=-1: the tape calls one vjp for all three operands, which one backward node serves
defop("nn.conv2d", nin=-1, bind=_conv_bind, params=[("stride", (1, 1)), ("pad", (0, 0))],
      mx=_conv_mx, np=_conv_np, shape=_same_dtype(_conv_shape), grad=_conv_vjp,
      doc="2-d convolution, NCHW data and (F, C, HH, WW) weights")


def _cgrad_shape(operands, attrs):
    g, x, w, b = operands
    want = _conv_shape((x, w, b), attrs)
    if tuple(g.shape) != want:
        raise ValueError(f"minpy.nn.conv2d_grad: the output gradient has shape {g.shape}, "
                         f"the convolution's output {want}")
    return (x.shape, w.shape, b.shape), (x.dtype, w.dtype, b.dtype)


@_float32_for_float16
def _cgrad_mx(F, g, x, w, b, stride, pad):
    if F is _mx.nd:
        return _conv_backward(g, x, w, b, stride, pad)
    # inside a graph that holds the gradient as nodes: forward operators
    k = (int(w.shape[2]), int(w.shape[3]))
    adj = _conv_adj(tuple(x.shape), k, stride, pad)
    return [_dgrad_sym(F, g, w, stride, pad, adj), _wgrad_sym(F, x, g, k, stride, pad),
            F.np.sum(g, axis=(0, 2, 3))]


def _cgrad_np(g, x, w, b, stride, pad):
    k = (w.shape[2], w.shape[3])
    adj = _conv_adj(x.shape, k, stride, pad)
    return (_dgrad_np(g, w, stride, pad, adj).astype(x.dtype),
            _wgrad_np(x, g, k, stride, pad).astype(w.dtype), g.sum(axis=(0, 2, 3)).astype(b.dtype))


def _cgrad_vjp(cots, ans, operands, stride, pad):
    """The gradient is bilinear in (g, x) and (g, w): its own gradients are the other
    two convolutions (second derivatives of conv2d)."""
    cdx, cdw, cdb = cots
    g, x, w, b = operands
    k = (int(w.shape[2]), int(w.shape[3]))
    parts = []
    if cdx is not None:
        parts.append(_no_bias_conv(cdx, w, stride, pad))
    if cdw is not None:
        parts.append(_no_bias_conv(x, cdw, stride, pad))
    if cdb is not None:
        parts.append(c("broadcast_to", c("reshape", cdb, (1, -1, 1, 1)), g.shape))
    dg = parts[0] if parts else None
    for t in parts[1:]:
        dg = dg + t
    dx = None if cdw is None else \
        c("nn.conv2d_data_grad", g, cdw, stride, pad, _conv_adj(x.shape, k, stride, pad))
    dw = None if cdx is None else c("nn.conv2d_weight_grad", cdx, g, k, stride, pad)
    return [dg, dx, dw, None]


defop("nn.conv2d_grad", nin=4, params=[("stride", (1, 1)), ("pad", (0, 0))], multi=True,
      mx=_cgrad_mx, np=_cgrad_np, shape=_cgrad_shape, grad=_cgrad_vjp,
      doc="(data, weight, bias) gradients of conv2d for an output gradient g (MXNet's "
          "_backward_Convolution)")


def _dgrad_shape(operands, attrs):
    g, w = operands
    (sh, sw), (ph, pw), (ah, aw) = attrs["stride"], attrs["pad"], attrs["adj"]
    return (g.shape[0], w.shape[1], (g.shape[2] - 1) * sh - 2 * ph + w.shape[2] + ah,
            (g.shape[3] - 1) * sw - 2 * pw + w.shape[3] + aw)


def _dgrad_sym(F, g, w, stride, pad, adj):
    k = (int(w.shape[2]), int(w.shape[3]))
    return F.npx.deconvolution(g, w, None, kernel=k, stride=stride, pad=pad, adj=adj,
                               num_filter=int(w.shape[1]), no_bias=True)


@_float32_for_float16
def _dgrad_mx(F, g, w, stride, pad, adj):
    if F is _mx.nd:       # the data gradient of a convolution of zeros of the data's shape
        shape = _dgrad_shape((g, w), {"stride": stride, "pad": pad, "adj": adj})
        x = _mx.nd.zeros(shape, ctx=g.ctx, dtype=g.dtype)
        return _conv_backward(g, x, w, None, stride, pad)[0]
    return _dgrad_sym(F, g, w, stride, pad, adj)


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


@_float32_for_float16
def _wgrad_mx(F, x, g, kernel, stride, pad):
    if F is _mx.nd:       # the weight gradient of a convolution with zero weights
        w = _mx.nd.zeros((int(g.shape[1]), int(x.shape[1])) + tuple(kernel), ctx=x.ctx,
                         dtype=x.dtype)
        return _conv_backward(g, x, w, None, stride, pad)[1]
    return _wgrad_sym(F, x, g, kernel, stride, pad)


def _wgrad_sym(F, x, g, kernel, stride, pad):
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
    adj = _conv_adj(x.shape, kernel, stride, pad)
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
    _floats("max_pool", (x,))
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
    return c("nn.max_pool_grad", g, x, pool, stride)


def _pool_bind(x, pool=(2, 2), stride=None):
    pool = _pair(pool)
    return (x,), (("pool", pool), ("stride", _pair(stride) if stride is not None else pool))


defop("nn.max_pool", bind=_pool_bind, params=[("pool", (2, 2)), ("stride", (2, 2))],
      mx=_pool_mx, np=_pool_np, shape=_same_dtype(_pool_shape), grad=_pool_vjp,
      doc="2-d max pooling over NCHW data")


class _PoolExecutors:
    """Bound Pooling executors, one per (shape, dtype, context, window), that run the
    forward pass (oneDNN's max pooling writes the workspace its backward pass reads)
    and MXNet's backward pass. Least recently used ones are dropped past ``capacity``."""

    capacity = 32

    def __init__(self) -> None:
        self.lock = _threading.Lock()
        self.table: _collections.OrderedDict = _collections.OrderedDict()

    def get(self, x, pool, stride):
        key = (tuple(x.shape), _onp.dtype(x.dtype).name, x.ctx, tuple(pool), tuple(stride))
        with self.lock:
            hit = self.table.get(key)
            if hit is not None:
                self.table.move_to_end(key)
                return hit
        from ..jit.binding import bind
        sym = _mx.sym.Pooling(_mx.sym.var("x"), kernel=tuple(pool), stride=tuple(stride),
                              pool_type="max", pooling_convention="valid")
        shape, dt = tuple(int(d) for d in x.shape), _onp.dtype(x.dtype).name
        exe = bind(sym, x.ctx, args={"x": _mx.nd.zeros(shape, ctx=x.ctx, dtype=dt)},
                   args_grad={"x": _mx.nd.zeros(shape, ctx=x.ctx, dtype=dt)},
                   grad_req="write")
        hit = (_threading.Lock(), exe)
        with self.lock:
            self.table[key] = hit
            while len(self.table) > self.capacity:
                self.table.popitem(last=False)
        return hit


_POOL_EXECUTORS = _PoolExecutors()


def _pool_backward(g, x, pool, stride):
    """MXNet's max-pooling gradient, eagerly: a cached executor's forward and backward."""
    lock, exe = _POOL_EXECUTORS.get(x, pool, stride)
    with lock:
        _nd(x).copyto(exe.arg_arrays[0])
        exe.forward(is_train=True)
        exe.backward([_nd(g)])
        return exe.grad_arrays[0].copy().as_np_ndarray()


def _pgrad_mx(F, g, x, pool, stride):
    if F is _mx.nd:
        return _pool_backward(g, x, pool, stride)
    # inside a graph that holds the gradient as a node: each window's gradient goes to
    # the first position (row-major) holding its maximum, as MXNet's operator sends it
    if tuple(pool) != tuple(stride):
        raise NotImplementedError("minpy.nn.max_pool: the gradient of overlapping windows "
                                  "runs eagerly")
    kh, kw = pool
    n, ch, oh, ow = (int(d) for d in g.shape)
    hh, ww = int(x.shape[2]), int(x.shape[3])
    ans = _pool_mx(F, x, pool, stride)
    h, w = oh * kh, ow * kw
    dt = _onp.dtype(x.dtype).name
    xs = x if (h, w) == (hh, ww) else \
        F.npx.slice(x, begin=(None, None, 0, 0), end=(None, None, h, w))
    win = F.np.reshape(F.np.transpose(F.np.reshape(xs, (n, ch, oh, kh, ow, kw)),
                                      (0, 1, 2, 4, 3, 5)), (n, ch, oh, ow, kh * kw))
    hit = F.np.equal(win, F.np.reshape(ans, (n, ch, oh, ow, 1))).astype(dt)
    first = hit * F.np.equal(F.np.cumsum(hit, axis=4), 1).astype(dt)
    d = first * F.np.reshape(g, (n, ch, oh, ow, 1))
    d = F.np.reshape(F.np.transpose(F.np.reshape(d, (n, ch, oh, ow, kh, kw)), (0, 1, 2, 4, 3, 5)),
                     (n, ch, h, w))
    if h < hh:
        d = F.np.concatenate([d, F.np.zeros((n, ch, hh - h, w), dtype=dt)], axis=2)
    if w < ww:
        d = F.np.concatenate([d, F.np.zeros((n, ch, hh, ww - w), dtype=dt)], axis=3)
    return d


def _first_max(x, pool, stride, oh, ow):
    """Row and column of the first maximum (row-major) of every window."""
    kh, kw = pool
    win = _windows(x, kh, kw, stride)[:, :, :oh, :ow]
    idx = win.reshape(win.shape[:4] + (kh * kw,)).argmax(axis=-1)
    di, dj = _onp.divmod(idx, kw)
    rows = _onp.arange(oh).reshape(1, 1, oh, 1) * stride[0] + di
    cols = _onp.arange(ow).reshape(1, 1, 1, ow) * stride[1] + dj
    return rows, cols


def _pgrad_np(g, x, pool, stride):
    n, ch, oh, ow = g.shape
    rows, cols = _first_max(x, pool, stride, oh, ow)
    dx = _onp.zeros(x.shape, dtype=x.dtype)
    ni = _onp.arange(n).reshape(n, 1, 1, 1)
    ci = _onp.arange(ch).reshape(1, ch, 1, 1)
    _onp.add.at(dx, (ni, ci, rows, cols), g)
    return dx


def _pgrad_vjp_g(cot, ans, g, x, pool, stride):
    """The gradient is linear in g: its adjoint reads ``cot`` at each window's first
    maximum (non-overlapping windows; second derivatives of max pooling)."""
    if tuple(pool) != tuple(stride):
        raise NotImplementedError(
            "minpy.nn.max_pool: second derivatives are implemented only for non-overlapping "
            f"windows (stride == pool size); got pool {tuple(pool)} with stride {tuple(stride)}")
    kh, kw = pool
    n, ch, oh, ow = g.shape
    h, w = oh * kh, ow * kw

    def windows(a):
        a = a if (h, w) == tuple(a.shape[2:]) else a[:, :, :h, :w]
        a = c("transpose", c("reshape", a, (n, ch, oh, kh, ow, kw)), (0, 1, 2, 4, 3, 5))
        return c("reshape", a, (n, ch, oh, ow, kh * kw))
    y = c("nn.max_pool", x, pool, stride)
    hit = c("astype", windows(x) == c("reshape", y, (n, ch, oh, ow, 1)), cot.dtype)
    first = hit * c("astype", c("cumsum", hit, 4) == 1, cot.dtype)
    return c("sum", windows(cot) * first, 4)


def _pgrad_shape(operands, attrs):
    g, x = operands
    want = _pool_shape((x,), attrs)
    if tuple(g.shape) != want:
        raise ValueError(f"minpy.nn.max_pool_grad: the output gradient has shape {g.shape}, "
                         f"the pooling's output {want}")
    return (x.shape,), (x.dtype,)


def _zero_vjp(j):
    """Where the windows' maxima are does not move under small changes of the data."""
    return lambda cot, ans, *operands, pool, stride: c("zeros_like", operands[j])


defop("nn.max_pool_grad", nin=2, params=[("pool", (2, 2)), ("stride", (2, 2))],
      mx=_pgrad_mx, np=_pgrad_np, shape=_pgrad_shape,
      grad=(_pgrad_vjp_g, _zero_vjp(1)),
      doc="the gradient of max_pool(x) for an output gradient g (MXNet's _backward_Pooling)")


# MXNet's gradients of these lowerings are the registered ones (the same backward
# operators), so MXNet may run them inside lazy and @jit graphs
mark_mxgrad(("nn.relu", "nn.sigmoid", "nn.conv2d", "nn.max_pool"))
