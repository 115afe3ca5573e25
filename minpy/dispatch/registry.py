"""The operator registry: one entry per NumPy function MinPy knows.

Each :class:`Op` holds everything MinPy needs about one function, so adding an
operator is one local ``defop`` call:

* ``mx``   -- the MXNet lowering ``mx(F, *operands, **attrs)``; ``F`` is
  ``mxnet.ndarray`` when running eagerly and ``mxnet.symbol`` when building a
  graph, so one lowering serves both (``F.np.exp`` / ``F.npx.relu``).
* ``np``   -- the NumPy implementation, used by fallback policies and to infer
  shapes and dtypes.
* ``grads`` -- one vector-Jacobian product per operand,
  ``vjp(g, ans, *operands, **attrs)``, written with MinPy operations so the
  backward pass can itself be differentiated and recorded lazily.
* ``shape`` -- an optional explicit shape/dtype rule; by default the NumPy
  implementation is run on zero-stride dummies of the operands (cached).
* ``mxgrad`` -- set (with :func:`mark_mxgrad`) where MXNet's own gradient of the
  lowering equals ``grads``: ``True``, or a lowering to use instead in graphs that
  MXNet differentiates. Lazy graphs whose backward pass touches only such
  operators let MXNet run it (``minpy.jit.native_grad``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as _onp

REGISTRY: dict[str, "Op"] = {}

_NO_DEFAULT = object()


def _default_mx(name: str) -> Callable:
    def lower(F, *operands, **attrs):
        return getattr(F.np, name)(*operands, **attrs)
    lower.__name__ = f"mx_{name}"
    return lower


class Op:
    """One registered function; see the module docstring."""

    __slots__ = ("name", "mx", "np", "grads", "nin", "params", "defaults", "shape",
                 "scalar_ok", "bind", "multi", "random", "doc", "nondiff", "lazy", "promote",
                 "mxgrad", "native_ok", "__weakref__")

    def __init__(self, name: str, *, mx: Optional[Callable], np: Optional[Callable],
                 grads: Optional[Sequence[Optional[Callable]]], nin: int,
                 params: Sequence[tuple], shape: Optional[Callable], scalar_ok: bool,
                 bind: Optional[Callable], multi: bool, random: bool, nondiff: bool,
                 doc: str, lazy=None, promote: bool = False) -> None:
        self.name = name
        self.mx = mx
        self.np = np
        self.grads = tuple(grads) if grads is not None else None
        self.nin = nin
        self.params = tuple(p[0] for p in params)
        self.defaults = tuple((p[0], p[1]) for p in params)
        self.shape = shape
        self.scalar_ok = scalar_ok
        self.bind = bind
        self.multi = multi
        self.random = random
        self.nondiff = nondiff
        self.doc = doc
        self.lazy = lazy
        self.promote = promote
        self.mxgrad = None
        self.native_ok = None

    def __repr__(self) -> str:
        where = "mxnet" if self.mx is not None else "numpy"
        return f"<minpy op {self.name} ({where})>"


def defop(name: str, *, mx: Any = "default", np: Any = "default", grad: Any = None,
          nin: int = 1, params: Sequence = (), shape: Optional[Callable] = None,
          scalar_ok: bool = False, bind: Optional[Callable] = None, multi: bool = False,
          random: bool = False, nondiff: bool = False, doc: str = "", lazy=None,
          promote: bool = False) -> Op:
    """Register an operator.

    ``params`` lists the non-array parameters after the ``nin`` operands as
    ``(name, default)`` pairs in NumPy's order. ``grad`` is a single vjp for
    one operand or a sequence with one entry (or ``None``) per operand.
    ``nondiff`` marks functions whose outputs carry no gradient (comparisons,
    argmax, integer-valued results). ``mx=None`` makes a NumPy-only function.
    ``lazy`` says whether lazy mode may defer a call: ``None`` (always),
    ``False`` (never: it has effects that must happen in program order), or a
    predicate on the call's attrs dict. ``promote`` marks elementwise math whose
    operands NumPy converts to one dtype first (``int_array + 2.5``, ``exp`` of
    integers); MinPy casts them before MXNet sees them.
    """
    if mx == "default":
        mx = _default_mx(name)
    if np == "default":
        np = getattr(_onp, name)
    if grad is not None and callable(grad):
        grad = (grad,)
    params = [p if isinstance(p, tuple) else (p, None) for p in params]
    op = Op(name, mx=mx, np=np, grads=grad, nin=nin, params=params, shape=shape,
            scalar_ok=scalar_ok, bind=bind, multi=multi, random=random,
            nondiff=nondiff, doc=doc, lazy=lazy, promote=promote)
    if name in REGISTRY:
        raise ValueError(f"operator {name!r} registered twice")
    REGISTRY[name] = op
    return op


def mark_mxgrad(names: Sequence[str], lowering: Any = True,
                native_ok: Optional[Callable] = None) -> None:
    """Declare that MXNet's gradient of these operators' lowering (or of ``lowering``)
    is the registered one, checked by ``tests/test_native_grad.py``; ``native_ok(attrs)``,
    where given, says whether that holds for one call."""
    for n in names:
        REGISTRY[n].mxgrad = lowering
        REGISTRY[n].native_ok = native_ok


def mxnet_functions() -> list[str]:
    """Names of registered functions that have an MXNet lowering."""
    return sorted(n for n, op in REGISTRY.items() if op.mx is not None and not n.startswith("_"))
