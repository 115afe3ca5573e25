"""Helpers shared by operator definitions (gradients are MinPy calls)."""
from __future__ import annotations

from ..dispatch import call as _call
from ..dispatch.registry import REGISTRY


def c(name: str, *args, **kwargs):
    """Call a registered function by name (recorded like any user call)."""
    return _call.call(REGISTRY[name], args, kwargs)


def unbroadcast(g, x):
    """Sum ``g`` down to the shape of operand ``x`` (undoing broadcasting)."""
    shape = x.shape if hasattr(x, "shape") else ()
    if g.shape != shape:
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                          if s == 1 and g.shape[i + lead] != 1)
        if axes:
            g = c("sum", g, axes, keepdims=True)
        if lead:
            g = c("reshape", g, shape)
        elif g.shape != shape:
            g = c("reshape", g, shape)
    dt = getattr(x, "dtype", None)
    if dt is not None and g.dtype != dt and dt.kind == "f":
        g = c("astype", g, dt)
    return g


def norm_axes(axis, ndim: int) -> tuple:
    """Axis argument (None, int or tuple, negatives allowed) as sorted positive ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim if ndim else 0 for a in axis))


def expand_reduced(g, shape: tuple, axis, keepdims: bool):
    """Broadcast a reduction's cotangent back over the reduced axes."""
    if not keepdims:
        axes = norm_axes(axis, len(shape))
        kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
        g = c("reshape", g, kept)
    return c("broadcast_to", g, shape)
