"""MXNet-only operators under ``minpy.numpy`` (``np.slice_axis``, ``np.onehot_encode``,
``np.softmax_output``...), as MinPy 0.3 exposed every ``mxnet.nd`` operator that
NumPy has no name for.

Each becomes an operator of its own (not in the registry's NumPy namespace): it
runs eagerly on MXNet (``mxnet.nd``, legacy semantics), NumPy policies run it on
host copies through MXNet as well, and its gradient is MXNet's (``mxnet.autograd``)
where MXNet has one; where it has none, ``grad`` raises ``TypeError`` naming it.
Array arguments are positional; keyword arguments are the operator's attributes.
"""
from __future__ import annotations

import inspect
from typing import Callable, Optional

import mxnet as _mx
import numpy as _onp

from .dispatch.registry import Op

_cache: dict = {}


def _bind(*operands, **kw):
    return operands, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kw.items()))


def _as_list(r):
    return list(r) if isinstance(r, (list, tuple)) else [r]


def _softmax_output(data, label=None, **kw):
    """MinPy 0.3's ``softmax_output(x, onehot)``: the row softmax of ``x``. Its gradient
    here is the softmax's own; followed by a cross-entropy against ``label`` it gives
    MinPy 0.3's ``(p - label) / N``."""
    return _mx.nd.softmax(data, axis=-1)


def _onehot_encode(indices, out):
    """MinPy 0.3's ``onehot_encode(indices, out)``: one-hot rows of ``out``'s width
    (written into ``out`` by the caller), for indices of any dtype."""
    return _mx.nd.one_hot(indices, out.shape[1], dtype=out.dtype)


def _message(e) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return next((ln for ln in lines if ln.startswith("MXNetError")), lines[-1] if lines else "")


def _done(outs):
    """Wait for MXNet, so that its errors surface at this call and not later."""
    for o in outs:
        o.wait_to_read()
    return outs


def _make(name: str, fn: Callable) -> Callable:
    def lower(F, *datas, **kw):
        if F is not _mx.nd:
            raise NotImplementedError(f"minpy.numpy.{name} (an MXNet operator) runs only eagerly")
        outs = _done(_as_list(fn(*[d.as_nd_ndarray() if hasattr(d, "as_nd_ndarray") else d
                                   for d in datas], **kw)))
        return [o.as_np_ndarray() for o in outs]

    def on_host(*host, **kw):
        args = [_mx.nd.array(h, dtype=h.dtype) if isinstance(h, _onp.ndarray) else h for h in host]
        return tuple(o.asnumpy() for o in _done(_as_list(fn(*args, **kw))))

    def shape(operands, attrs):
        from .array import Array
        args = [_mx.nd.zeros(o.shape, dtype=o.dtype) if isinstance(o, Array) else o for o in operands]
        try:
            outs = _done(_as_list(fn(*args, **attrs)))
        except _mx.base.MXNetError as e:
            raise ValueError(f"minpy.numpy.{name}: {_message(e)}") from None
        return tuple(tuple(o.shape) for o in outs), tuple(_onp.dtype(o.dtype) for o in outs)

    def vjp(gs, ans, operands, **attrs):
        from .array import Array
        xs = [o._mx().as_nd_ndarray().copy() if isinstance(o, Array) else o for o in operands]
        diff = [isinstance(o, Array) and o.dtype.kind == "f" for o in operands]
        for x, d in zip(xs, diff):
            if d:
                x.attach_grad()
        try:
            with _mx.autograd.record():
                outs = _as_list(fn(*xs, **attrs))
            heads = [(g if g is not None else None) for g in gs]
            heads = [h._mx().as_nd_ndarray() if h is not None else _mx.nd.zeros(o.shape, dtype=o.dtype)
                     for h, o in zip(heads, outs)]
            _mx.autograd.backward(outs, head_grads=heads)
            _done([x.grad for x, d in zip(xs, diff) if d])
        except _mx.base.MXNetError as e:
            raise TypeError(f"minpy.numpy.{name}: MXNet has no gradient for this operator "
                            f"({_message(e)})") from None
        return [Array.from_mx(x.grad.as_np_ndarray()) if d else None for x, d in zip(xs, diff)]

    op = Op(f"mxnet.{name}", mx=lower, np=on_host, grads=(vjp,), nin=-1, params=(), shape=shape,
            scalar_ok=True, bind=_bind, multi=True, random=False, nondiff=False,
            doc=fn.__doc__ or "", lazy=False)

    def call(*args, **kwargs):
        from .dispatch import call as _call
        res = _call.call(op, args, kwargs)
        if name == "onehot_encode" and len(args) > 1 and hasattr(args[1], "__setitem__"):
            args[1][...] = res[0]         # MXNet writes the encoding into its second argument
            return args[1]
        return res[0] if len(res) == 1 else list(res)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``mxnet.nd.{name}`` on MinPy arrays (MinPy 0.3's MXNet namespace).\n\n" + \
        (fn.__doc__ or "")
    call.__module__ = "minpy.numpy"
    return call


def mxnet_function(name: str) -> Optional[Callable]:
    """The MinPy function for MXNet operator ``name``, or None when MXNet has none."""
    if name in _cache:
        return _cache[name]
    if name == "softmax_output":
        fn = _softmax_output
    elif name == "onehot_encode":
        fn = _onehot_encode
    else:
        fn = getattr(_mx.nd, name, None)
        if name.startswith("_") or fn is None or not inspect.isroutine(fn):
            return None
    f = _cache[name] = _make(name, fn)
    return f
