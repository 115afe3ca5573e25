"""User-defined operators with their own gradient: MinPy 0.3's ``customop``.

::

    @customop('numpy')            # the function receives NumPy arrays
    def softmax_loss(x, label): ...
    softmax_loss.def_grad(lambda ans, x, label: lambda g: ...)   # gradient wrt x

``customop('mxnet')`` passes ``mxnet.nd.NDArray``s instead (on the arrays'
device). The operator is an :class:`~minpy.dispatch.registry.Op` of its own,
run through MinPy's ordinary call path, so ``grad`` records it like any other
function. It always runs eagerly: inside ``minpy.lazy()`` its inputs are
computed first, and ``@minpy.jit`` breaks its graph there.

A gradient function has MinPy 0.3's form ``gradfun(ans, *args, **kwargs)``
returning ``lambda g: gradient``; ``ans``, ``args`` and ``g`` are of the
operator's kind (NumPy or MXNet arrays, or Python scalars).
"""
from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as _onp

from ..dispatch.registry import Op

_ids = itertools.count()


class CustomOp:
    """A user function called like a MinPy function, differentiable through the
    gradient functions given with :meth:`def_grad` / :meth:`def_multiple_grad`."""

    def __init__(self, func: Callable, kind: str) -> None:
        if kind not in ("numpy", "mxnet"):
            raise ValueError(f"minpy.primitive.customop: kind must be 'numpy' or 'mxnet', got {kind!r}")
        self.func = func
        self.kind = kind
        self.__name__ = getattr(func, "__name__", "customop")
        self.__doc__ = getattr(func, "__doc__", None)
        self._grads: dict = {}           # argnum -> (gradfun, argnums it returns, or None)
        name = f"customop_{self.__name__}_{next(_ids)}"
        if kind == "numpy":
            mx, np = None, self._run_numpy
        else:
            mx, np = self._lower_mxnet, self._run_mxnet_on_host
        self.op = Op(name, mx=mx, np=np, grads=(self._vjp,), nin=-1, params=(),
                     shape=self._shape if kind == "mxnet" else None, scalar_ok=True,
                     bind=_bind, multi=False, random=False, nondiff=False,
                     doc=self.__doc__ or "", lazy=False)

    # -- running ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        from ..dispatch import call as _call
        return _call.call(self.op, args, kwargs)

    def _run_numpy(self, *host, **kw):
        r = self.func(*host, **kw)
        # a Python number becomes a 0-d array, so that gradients can flow through it
        return _onp.asarray(r) if isinstance(r, (int, float)) and not isinstance(r, bool) else r

    def _run_mxnet_on_host(self, *host, **kw):
        """The MXNet kind run from NumPy data (a NumPy-only policy is in force)."""
        return _to_numpy(self.func(*[_to_nd(h) for h in host], **kw))

    def _lower_mxnet(self, F, *datas, **kw):
        import mxnet as _mx
        if F is not _mx.nd:
            raise NotImplementedError(f"minpy.primitive.customop {self.__name__} runs only eagerly")
        out = self.func(*[d.as_nd_ndarray() if hasattr(d, "as_nd_ndarray") else d for d in datas], **kw)
        if isinstance(out, _mx.nd.NDArray):
            return out.as_np_ndarray()
        ctx = next((d.ctx for d in datas if hasattr(d, "ctx")), None)
        return _mx.np.array(_onp.asarray(out), dtype=_onp.asarray(out).dtype, ctx=ctx)

    def _shape(self, operands, attrs):
        """Result shape and dtype, from one run on zeros (cached per signature)."""
        import mxnet as _mx
        from ..array import Array
        args = [_mx.nd.zeros(o.shape, dtype=o.dtype) if isinstance(o, Array) else o for o in operands]
        r = _to_numpy(self.func(*args, **attrs))
        r = _onp.asarray(r)
        return (r.shape,), (r.dtype,)

    # -- gradients ----------------------------------------------------------------------------
    def def_grad(self, func: Callable, argnum: int = 0) -> "CustomOp":
        """Gradient with respect to positional argument ``argnum``:
        ``func(ans, *args, **kwargs)`` returns ``lambda g: gradient``."""
        self._grads[argnum] = (func, None)
        return self

    def def_multiple_grad(self, func: Callable, argnums: Sequence[int]) -> "CustomOp":
        """One ``func(ans, *args)`` whose ``lambda g`` returns the gradients of all
        ``argnums`` (a tuple in that order)."""
        argnums = tuple(argnums)
        if len(set(argnums)) != len(argnums):
            raise ValueError("minpy.primitive.customop.def_multiple_grad: duplicate argnums")
        for i in argnums:
            self._grads[i] = (func, argnums)
        return self

    def def_grad_zero(self, argnum: int = 0) -> "CustomOp":
        """Declare the gradient with respect to ``argnum`` zero."""
        self._grads[argnum] = (None, None)
        return self

    def _vjp(self, g, ans, operands, **attrs):
        from ..array import Array
        from ..dispatch import call as _call
        from ..ops._util import c
        conv = _host if self.kind == "numpy" else (lambda a: a._mx().as_nd_ndarray()
                                                   if isinstance(a, Array) else a)
        args = [conv(o) for o in operands]
        cache: dict = {}
        out = []
        for j, o in enumerate(operands):
            if not isinstance(o, Array) or not o._rec:
                out.append(None)
                continue
            if j not in self._grads:
                raise TypeError(f"minpy.primitive.customop {self.__name__}: no gradient defined "
                                f"for argument {j} (use def_grad(func, argnum={j}))")
            func, group = self._grads[j]
            if func is None:
                out.append(c("zeros_like", o))
                continue
            key = (id(func), group)
            if key not in cache:
                cache[key] = func(conv(ans), *args, **attrs)(conv(g))
            r = cache[key]
            if group is not None:
                r = r[group.index(j)]
            r = _to_numpy(r) if self.kind == "mxnet" else r
            r = _onp.broadcast_to(_onp.asarray(r, dtype=o.dtype), o.shape)
            out.append(_call.from_host(_onp.ascontiguousarray(r), None, o.dtype))
        return out

    def __repr__(self) -> str:
        return f"<minpy customop {self.__name__} ({self.kind})>"


Primitive = CustomOp


def customop(kind: str) -> Callable[[Callable], CustomOp]:
    """Decorator making ``func`` a MinPy operator that computes with ``kind``
    ('numpy' or 'mxnet') arrays; add its gradient with ``.def_grad``."""
    if kind not in ("numpy", "mxnet"):
        raise ValueError(f"minpy.primitive.customop: kind must be 'numpy' or 'mxnet', got {kind!r}")

    def deco(func: Callable) -> CustomOp:
        return CustomOp(func, kind)
    return deco


def _bind(*operands, **kw):
    return operands, tuple(sorted(kw.items()))


def _host(a):
    from ..array import Array
    return a._host("customop") if isinstance(a, Array) else a


def _to_nd(h):
    import mxnet as _mx
    return _mx.nd.array(h, dtype=h.dtype) if isinstance(h, _onp.ndarray) else h


def _to_numpy(r):
    import mxnet as _mx
    if isinstance(r, _mx.nd.NDArray):
        return r.asnumpy()
    if isinstance(r, (tuple, list)):
        return type(r)(_to_numpy(v) for v in r)
    return r
