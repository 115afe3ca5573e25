"""MXNet symbols as differentiable MinPy functions.

``Function(symbol, input_shapes)`` binds the symbol to executors (one per
input signature, cached) and registers each call on the autograd tape; its
gradient is MXNet's own backward pass for the symbol.
"""
from __future__ import annotations

import itertools
import weakref
from typing import Optional

import mxnet as _mx
import numpy as _onp

from .array import Array
from .dispatch import call as _call
from .dispatch.registry import defop, mark_mxgrad

_ids = itertools.count()


class Function:
    """Call an MXNet symbol like a MinPy function: ``f(x=..., conv_weight=...)``."""

    def __init__(self, symbol, input_shapes: Optional[dict] = None, name: Optional[str] = None,
                 is_train: bool = True) -> None:
        if not isinstance(symbol, _mx.sym.Symbol):
            raise TypeError(f"minpy.core.Function: expected an mxnet Symbol, got {type(symbol).__name__}")
        self.symbol = symbol
        self.name = name or f"function{next(_ids)}"
        self.is_train = is_train
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self._aux: dict = {}
        self._executors: dict = {}
        self._pending: dict = {}
        self._eval_symbol = None
        self._mode_free = None        # no training-mode-dependent operator (see _splice_ok)
        self.input_shapes = None
        if input_shapes is not None:  # else inferred from the first call (as MinPy 0.3 did)
            self._set_input_shapes(input_shapes)

    def _set_input_shapes(self, input_shapes: dict) -> None:
        if not isinstance(input_shapes, dict):
            raise TypeError("minpy.core.Function: input_shapes must be a dict {name: shape}")
        unknown = set(input_shapes) - set(self.arg_names)
        if unknown:
            raise ValueError(f"minpy.core.Function({self.name}): {sorted(unknown)} are not "
                             f"arguments of the symbol (arguments: {self.arg_names})")
        self.input_shapes = {k: tuple(v) for k, v in input_shapes.items()}
        arg_shapes, out_shapes, aux_shapes = self._infer(self.input_shapes)
        self._param_shapes = {n: s for n, s in zip(self.arg_names, arg_shapes) if n not in input_shapes}
        self._aux_shapes = dict(zip(self.aux_names, aux_shapes))
        self.output_shapes = out_shapes

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

    def get_output_shapes(self) -> dict:
        """``{output name: shape}`` (MinPy 0.3's name)."""
        return dict(zip(self.symbol.list_outputs(), self.output_shapes))

    def get_one_output_shape(self) -> tuple:
        """The shape of the symbol's only output."""
        if len(self.output_shapes) != 1:
            raise ValueError(f"minpy.core.Function({self.name}) has {len(self.output_shapes)} outputs")
        return self.output_shapes[0]

    def get_aux_states(self) -> dict:
        """Current auxiliary states (BatchNorm running statistics), or None before a
        training-mode call has produced them."""
        return {n: Array.from_mx(self._aux[n]) if n in self._aux else None
                for n in self.aux_names}

    def num_executors(self) -> int:
        """How many MXNet executors are bound (they are cached and reused)."""
        return sum(len(pool) for pool in self._executors.values())

    # -- running -----------------------------------------------------------------------------
    #
    # An executor keeps the state of its last forward pass, which its backward pass needs.
    # A training-mode forward that is being recorded for a gradient therefore keeps its
    # executor reserved until the backward pass has used it (or its result is gone), so
    # that two calls of one Function inside a loss each get the backward pass of their own
    # forward pass (same Dropout mask, BatchNorm statistics updated once per call).
    max_executors_per_signature = 8

    def _inference_symbol(self):
        """The symbol for is_train=False: BatchNorm uses (and differentiates through) its
        running statistics."""
        if self._eval_symbol is None:
            import json
            graph = json.loads(self.symbol.tojson())
            for node in graph["nodes"]:
                if "BatchNorm" in node["op"]:
                    node.setdefault("attrs", {})["use_global_stats"] = "True"
            self._eval_symbol = _mx.sym.load_json(json.dumps(graph))
        return self._eval_symbol

    def _bind_executor(self, sig, is_train, ctx):
        shapes = {n: s for n, (s, _) in zip(self.arg_names, sig)}
        _, _, aux_shapes = self._infer(shapes)
        try:
            _, _, aux_types = self.symbol.infer_type(**{n: d for n, (_, d) in zip(self.arg_names, sig)})
        except _mx.base.MXNetError:
            aux_types = None
        aux_types = aux_types or [sig[0][1] if sig else "float32"] * len(aux_shapes)
        with ctx.mx:
            args = [_mx.nd.zeros(s, dtype=d) for s, d in sig]
            grads = [_mx.nd.zeros(s, dtype=d) for s, d in sig]
            aux = [_mx.nd.zeros(s, dtype=t) for s, t in zip(aux_shapes, aux_types)]
        for n, a in zip(self.aux_names, aux):
            if n.endswith("moving_var"):
                a[:] = 1
        sym = self.symbol if is_train else self._inference_symbol()
        from .jit.binding import bind
        return bind(sym, ctx.mx, args=args, args_grad=grads, grad_req="write", aux_states=aux)

    def _discard(self, exe) -> None:
        """Forget an executor whose run raised (``jit.binding.rebound`` says why); the
        pool binds a new one when it needs one."""
        self._pending.pop(id(exe), None)
        for pool in self._executors.values():
            if exe in pool:
                pool.remove(exe)

    def _free_executor(self, arrays, is_train, ctx):
        key = (tuple((tuple(a.shape), _onp.dtype(a.dtype).name) for a in arrays), ctx, is_train)
        pool = self._executors.setdefault(key, [])
        for exe in pool:
            held = self._pending.get(id(exe))
            if held is None or held[0]() is None:
                self._pending.pop(id(exe), None)
                return exe
        if len(pool) < self.max_executors_per_signature:
            exe = self._bind_executor(key[0], is_train, ctx)
            pool.append(exe)
            return exe
        # every executor waits for a backward pass: take the oldest; its backward pass
        # will recompute its forward pass
        exe = pool.pop(0)
        pool.append(exe)
        self._pending.pop(id(exe), None)
        return exe

    def _run_forward(self, datas, is_train, ctx, update_aux=True):
        exe = self._free_executor(datas, is_train, ctx)
        for dst, src in zip(exe.arg_arrays, datas):
            src.as_nd_ndarray().copyto(dst)
        for n, a in zip(self.aux_names, exe.aux_arrays):
            if n in self._aux:
                self._aux[n].as_nd_ndarray().copyto(a)
        try:
            outs = exe.forward(is_train=is_train)
        except Exception:
            self._discard(exe)
            raise
        if is_train and update_aux:
            # MXNet's engine does not order the executor's in-place writes to its aux states
            # before a read of them: wait for the pass to finish (only symbols with aux states)
            _wait_all(outs)
            for n, a in zip(self.aux_names, exe.aux_arrays):
                self._aux[n] = a.copy().as_np_ndarray()
        return exe, [o.copy().as_np_ndarray() for o in outs]

    def _forward(self, datas, is_train: bool, ctx, record: bool = False):
        exe, outs = self._run_forward(datas, is_train, ctx)
        if record:
            self._pending[id(exe)] = (weakref.ref(outs[0]), exe)
        return outs

    def _backward(self, datas, out_grads, first_out, is_train, ctx):
        exe = None
        for k, (ref, e) in list(self._pending.items()):
            if ref() is first_out:
                exe = e
                del self._pending[k]
                break
        if exe is None:
            exe, _ = self._run_forward(datas, is_train, ctx, update_aux=False)
        try:
            exe.backward([g.as_nd_ndarray() for g in out_grads])
        except Exception:
            self._discard(exe)
            raise
        if is_train and self.aux_names:
            _wait_all([g for g in exe.grad_arrays if g is not None])
            # some MXNet builds update running statistics in the backward pass
            for n, a in zip(self.aux_names, exe.aux_arrays):
                self._aux[n] = a.copy().as_np_ndarray()
        return [g.copy().as_np_ndarray() for g in exe.grad_arrays]

    def __call__(self, **kwargs):
        kwargs = self._compat_arguments(kwargs)
        missing = [n for n in self.arg_names if n not in kwargs]
        extra = [n for n in kwargs if n not in self.arg_names]
        if missing or extra:
            raise TypeError(f"minpy.core.Function({self.name}): "
                            + (f"missing arguments {missing}" if missing else "")
                            + ("; " if missing and extra else "")
                            + (f"unexpected arguments {extra}" if extra else ""))
        operands = tuple(kwargs[n] for n in self.arg_names)
        from .autograd import _active
        record = bool(self.is_train and _active() and any(
            isinstance(a, Array) and a._rec for a in operands))
        res = _call.call(_FUNCTION_OP, operands,
                         {"fn": self, "is_train": bool(self.is_train), "record": record})
        return res[0] if len(res) == 1 else res

    def _compat_arguments(self, kwargs: dict) -> dict:
        """MinPy 0.3's calling rules: keywords that are not arguments of the symbol are
        dropped; an omitted argument is zeros of its inferred shape; integer inputs are
        cast to the float dtype of the others (labels into SoftmaxOutput)."""
        if self.input_shapes is None:
            self._set_input_shapes({n: _onp.shape(v) for n, v in kwargs.items()
                                    if n in self.arg_names})
        kwargs = {n: v for n, v in kwargs.items() if n in self.arg_names}
        floats = [v.dtype for v in kwargs.values()
                  if hasattr(v, "dtype") and _onp.dtype(v.dtype).kind == "f"]
        dt = floats[0] if floats else _onp.dtype("float32")
        for n, v in list(kwargs.items()):
            if hasattr(v, "dtype") and _onp.dtype(v.dtype).kind in "iub":
                kwargs[n] = v.astype(dt)
        missing = [n for n in self.arg_names if n not in kwargs]
        if missing:
            from .numpy import zeros
            shapes = {n: _onp.shape(v) for n, v in kwargs.items()}
            arg_shapes, _, _ = self._infer(shapes)
            for n, shp in zip(self.arg_names, arg_shapes):
                if n in missing:
                    kwargs[n] = zeros(shp, dtype=dt)
        return kwargs

    def __repr__(self) -> str:
        return f"<minpy Function {self.name}: {self.arg_names} -> {len(self.output_shapes)} output(s)>"


def _wait_all(arrays) -> None:
    for a in arrays:
        a.wait_to_read()


def _bind(*operands, fn, is_train, record=False):
    return operands, (("fn", fn), ("is_train", bool(is_train)), ("record", bool(record)))


def _shape(operands, attrs):
    fn = attrs["fn"]
    shapes = {n: a.shape for n, a in zip(fn.arg_names, operands)}
    _, out, _ = fn._infer(shapes)
    dt = operands[0].dtype if operands else _onp.dtype("float32")
    return tuple(out), tuple(dt for _ in out)


def _lower(F, *datas, fn, is_train, record):
    if F is not _mx.nd:
        # inside a lazy graph: splice the symbol in (inference without state only)
        outs = fn.symbol(**{n: d.as_nd_ndarray() for n, d in zip(fn.arg_names, datas)})
        return [outs[i].as_np_ndarray() for i in range(len(fn.output_shapes))]
    return fn._forward(datas, is_train, current_context_of(datas), record)


# operators whose results depend on training mode (random masks, batch statistics)
_TRAIN_MODE_OPS = frozenset({"Dropout", "_npx_dropout", "BatchNorm", "BatchNorm_v1",
                             "SyncBatchNorm", "_contrib_SyncBatchNorm", "RNN",
                             "_contrib_BatchNormWithReLU"})


def _mode_free(fn) -> bool:
    """Whether ``fn``'s symbol computes the same in training and inference mode."""
    free = getattr(fn, "_mode_free", None)
    if free is None:
        import json
        nodes = json.loads(fn.symbol.tojson())["nodes"]
        free = fn._mode_free = not any(
            n["op"] in _TRAIN_MODE_OPS or     # randomised leaky ReLU draws slopes in training
            n["op"] == "LeakyReLU" and n.get("attrs", {}).get("act_type") == "rrelu"
            for n in nodes)
    return free


def _splice_ok(attrs) -> bool:
    """Lazy mode may defer a call only when it has no effects: no auxiliary states,
    and training mode only for symbols it does not change (no Dropout masks, no
    BatchNorm updates)."""
    kw = dict(attrs)
    fn = kw["fn"]
    return not fn.aux_names and (not kw["is_train"] or _mode_free(fn))


def current_context_of(datas):
    from .context import from_mx
    return from_mx(datas[0].ctx)


def _np_impl(*operands, fn, is_train, record=False):
    raise NotImplementedError(f"minpy.core.Function({fn.name}) runs only on MXNet")


def _vjp(gs, ans, operands, fn, is_train, record):
    from .ops._util import c
    gs = [g if g is not None else c("zeros_like", a) for g, a in zip(gs, ans)]
    # the first output identifies the forward pass whose executor state to use
    return list(_call.call(_BACKWARD_OP, tuple(operands) + tuple(gs) + (ans[0],),
                           {"fn": fn, "is_train": is_train}))


_FUNCTION_OP = defop("_function", nin=-1, bind=_bind, shape=_shape, mx=_lower, np=_np_impl,
                     multi=True, grad=_vjp, lazy=_splice_ok)


def _bw_bind(*operands, fn, is_train):
    return operands, (("fn", fn), ("is_train", bool(is_train)))


def _bw_shape(operands, attrs):
    fn = attrs["fn"]
    n = len(fn.arg_names)
    return tuple(o.shape for o in operands[:n]), tuple(o.dtype for o in operands[:n])


def _bw_lower(F, *datas, fn, is_train):
    n = len(fn.arg_names)
    return fn._backward(datas[:n], datas[n:-1], datas[-1], is_train, current_context_of(datas))


_BACKWARD_OP = defop("_function_backward", nin=-1, bind=_bw_bind, shape=_bw_shape, mx=_bw_lower,
                     np=lambda *a, fn, is_train: _np_impl(fn=fn, is_train=is_train), multi=True,
                     grad=None, lazy=False)


def _lower_recorded(F, *datas, fn, is_train, record):
    """The lowering where MXNet differentiates: spliced into a graph, or, eagerly (a
    graph MinPy interprets node by node), run as a CachedOp, which ``mxnet.autograd``
    records; the executor ``_lower`` runs eagerly is invisible to it, so the
    parameters' gradients would be zeros."""
    if F is not _mx.nd:
        return _lower(F, *datas, fn=fn, is_train=is_train, record=record)
    if fn.aux_names:       # never in a lazy graph (``_splice_ok``)
        raise NotImplementedError(f"minpy.core.Function({fn.name}): a symbol with auxiliary "
                                  "states inside a graph MXNet differentiates")
    op = getattr(fn, "_recorded_op", None)
    if op is None:
        op = fn._recorded_op = _mx.nd.CachedOp(fn.symbol)
    outs = op(*[d.as_nd_ndarray() for d in datas])
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    return [o.as_np_ndarray() for o in outs[:len(fn.output_shapes)]]


def _native_ok(attrs) -> bool:
    """Whether MXNet may differentiate this call inside a graph: its forward pass runs
    in training mode there, so a call in inference mode must not change with the
    mode (a Dropout of a Function made with ``is_train=False`` would drop)."""
    kw = dict(attrs)
    return bool(kw["is_train"]) or _mode_free(kw["fn"])


# a spliced symbol is differentiated by MXNet in a graph just as its executor's backward
# pass does eagerly
mark_mxgrad(("_function",), _lower_recorded, _native_ok)
