"""MXNet symbols as differentiable MinPy functions.

``Function(symbol, input_shapes)`` binds the symbol to executors (one per
input signature, cached) and registers each call on the autograd tape; its
gradient is MXNet's own backward pass for the symbol.
"""
from __future__ import annotations

import itertools
from typing import Optional

import mxnet as _mx
import numpy as _onp

from .array import Array
from .dispatch import call as _call
from .dispatch.registry import defop

_ids = itertools.count()


class Function:
    """Call an MXNet symbol like a MinPy function: ``f(x=..., conv_weight=...)``."""

    def __init__(self, symbol, input_shapes: dict, name: Optional[str] = None,
                 is_train: bool = True) -> None:
        if not isinstance(symbol, _mx.sym.Symbol):
            raise TypeError(f"minpy.core.Function: expected an mxnet Symbol, got {type(symbol).__name__}")
        if not isinstance(input_shapes, dict):
            raise TypeError("minpy.core.Function: input_shapes must be a dict {name: shape}")
        self.symbol = symbol
        self.name = name or f"function{next(_ids)}"
        self.is_train = is_train
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        unknown = set(input_shapes) - set(self.arg_names)
        if unknown:
            raise ValueError(f"minpy.core.Function({self.name}): {sorted(unknown)} are not "
                             f"arguments of the symbol (arguments: {self.arg_names})")
        self.input_shapes = {k: tuple(v) for k, v in input_shapes.items()}
        arg_shapes, out_shapes, aux_shapes = self._infer(self.input_shapes)
        self._param_shapes = {n: s for n, s in zip(self.arg_names, arg_shapes) if n not in input_shapes}
        self._aux_shapes = dict(zip(self.aux_names, aux_shapes))
        self.output_shapes = out_shapes
        self._aux: dict = {}
        self._executors: dict = {}
        self._last = None

    # -- shapes ------------------------------------------------------------------------------
    def _infer(self, shapes: dict):
        try:
            arg, out, aux = self.symbol.infer_shape(**shapes)
        except _mx.base.MXNetError as e:
            raise ValueError(f"minpy.core.Function({self.name}): cannot infer shapes from "
                             f"{shapes}: {str(e).strip().splitlines()[0]}") from None
        if arg is None:
            raise ValueError(f"minpy.core.Function({self.name}): input_shapes {shapes} do not "
                             f"determine every argument's shape")
        return [tuple(s) for s in arg], [tuple(s) for s in out], [tuple(s) for s in aux]

    def get_params(self) -> dict:
        """Shapes of the symbol's arguments other than the declared inputs."""
        return {n: {"shape": s} for n, s in self._param_shapes.items()}

    def get_aux_states(self) -> dict:
        return {n: self._aux.get(n) for n in self.aux_names}

    # -- running -----------------------------------------------------------------------------
    def _executor(self, arrays, ctx):
        key = (tuple((a.shape, a.dtype.name) for a in arrays), ctx)
        exe = self._executors.get(key)
        if exe is None:
            shapes = {n: s for n, (s, _) in zip(self.arg_names, key[0])}
            _, _, aux_shapes = self._infer(shapes)
            with ctx.mx:
                args = [_mx.nd.zeros(s, dtype=d) for s, d in key[0]]
                grads = [_mx.nd.zeros(s, dtype=d) for s, d in key[0]]
                aux = [_mx.nd.zeros(s) for s in aux_shapes]
            for n, a in zip(self.aux_names, aux):
                if n.endswith("moving_var"):
                    a[:] = 1
            exe = self.symbol.bind(ctx.mx, args=args, args_grad=grads, grad_req="write",
                                    aux_states=aux)
            self._executors[key] = exe
        return exe

    def _forward(self, datas, is_train: bool, ctx):
        exe = self._executor(datas, ctx)
        for dst, src in zip(exe.arg_arrays, datas):
            src.as_nd_ndarray().copyto(dst)
        for n, a in zip(self.aux_names, exe.aux_arrays):
            if n in self._aux:
                self._aux[n].as_nd_ndarray().copyto(a)
        outs = exe.forward(is_train=is_train)
        if is_train:
            for n, a in zip(self.aux_names, exe.aux_arrays):
                self._aux[n] = a.copy().as_np_ndarray()
        self._last = (exe, tuple(id(d) for d in datas), is_train)
        return [o.copy().as_np_ndarray() for o in outs]

    def _backward(self, datas, out_grads, ctx):
        exe = self._executor(datas, ctx)
        if self._last is None or self._last[0] is not exe or \
                self._last[1] != tuple(id(d) for d in datas) or not self._last[2]:
            self._forward(datas, True, ctx)
        exe.backward([g.as_nd_ndarray() for g in out_grads])
        return [g.copy().as_np_ndarray() for g in exe.grad_arrays]

    def __call__(self, **kwargs):
        missing = [n for n in self.arg_names if n not in kwargs]
        extra = [n for n in kwargs if n not in self.arg_names]
        if missing or extra:
            raise TypeError(f"minpy.core.Function({self.name}): "
                            + (f"missing arguments {missing}" if missing else "")
                            + ("; " if missing and extra else "")
                            + (f"unexpected arguments {extra}" if extra else ""))
        res = _call.call(_FUNCTION_OP, tuple(kwargs[n] for n in self.arg_names),
                         {"fn": self, "is_train": self.is_train})
        return res[0] if len(res) == 1 else res

    def __repr__(self) -> str:
        return f"<minpy Function {self.name}: {self.arg_names} -> {len(self.output_shapes)} output(s)>"


def _bind(*operands, fn, is_train):
    return operands, (("fn", fn), ("is_train", bool(is_train)))


def _shape(operands, attrs):
    fn = attrs["fn"]
    shapes = {n: a.shape for n, a in zip(fn.arg_names, operands)}
    _, out, _ = fn._infer(shapes)
    dt = operands[0].dtype if operands else _onp.dtype("float32")
    return tuple(out), tuple(dt for _ in out)


def _lower(F, *datas, fn, is_train):
    if F is not _mx.nd:
        raise NotImplementedError("symbolic lowering of Function")
    return fn._forward(datas, is_train, current_context_of(datas))


def current_context_of(datas):
    from .context import from_mx
    return from_mx(datas[0].ctx)


def _np_impl(*operands, fn, is_train):
    raise NotImplementedError(f"minpy.core.Function({fn.name}) runs only on MXNet")


def _vjp(gs, ans, operands, fn, is_train):
    from .ops._util import c
    gs = [g if g is not None else c("zeros_like", a) for g, a in zip(gs, ans)]
    return list(_call.call(_BACKWARD_OP, tuple(operands) + tuple(gs), {"fn": fn}))


_FUNCTION_OP = defop("_function", nin=-1, bind=_bind, shape=_shape, mx=_lower, np=_np_impl,
                     multi=True, grad=_vjp)


def _bw_bind(*operands, fn):
    return operands, (("fn", fn),)


def _bw_shape(operands, attrs):
    fn = attrs["fn"]
    n = len(fn.arg_names)
    return tuple(o.shape for o in operands[:n]), tuple(o.dtype for o in operands[:n])


def _bw_lower(F, *datas, fn):
    n = len(fn.arg_names)
    return fn._backward(datas[:n], datas[n:], current_context_of(datas))


_BACKWARD_OP = defop("_function_backward", nin=-1, bind=_bw_bind, shape=_bw_shape, mx=_bw_lower,
                     np=lambda *a, fn: _np_impl(fn=fn, is_train=True), multi=True, grad=None)
