"""Pending values of lazy mode: recorded nodes and references to their outputs."""
from __future__ import annotations

import contextlib
import os
import sys

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# id(code object) -> True when it belongs to the minpy package, else a memo of the user
# line at each instruction offset (finding a line scans the code's line table; a long
# user function pays that on every call it records). Keyed by id: hashing a code
# object hashes its constants and names every time (0.5 us for a large function,
# several per recorded call); the objects are kept in _codes so an id is never reused.
_inside: dict = {}
_codes: list = []


class LNode:
    """One recorded operation.

    ``desc`` is the node's part of the graph key, fixed at record time:
    ``(op, attrs, inputs)`` where an input is ``(position, output)`` for a node
    of the same epoch, ``("x", shape, dtype)`` for a concrete buffer and
    ``("s", type)`` for a Python scalar (fed at run time, never baked in).
    """

    __slots__ = ("op", "inputs", "attrs", "info", "shapes", "dtypes", "ctx", "pos", "epoch",
                 "desc", "where")

    def __init__(self, op, inputs, attrs, info, ctx, pos, epoch, desc, where) -> None:
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.info = info            # the dispatcher's facts for this call signature
        self.shapes = info.shapes
        self.dtypes = info.dtypes
        self.ctx = ctx
        self.pos = pos
        self.epoch = epoch
        self.desc = desc
        self.where = where

    def __repr__(self) -> str:
        return f"<lazy {self.op.name} #{self.pos} at {format_where(self.where)}>"


class Failed:
    """The value of a pending output whose computation failed: reading it raises the
    error again (every time), and arrays computed from it fail with the same error,
    while the other outputs of the same graph keep their own values."""

    __slots__ = ("cls", "message")

    def __init__(self, cls, message: str) -> None:
        self.cls = cls
        self.message = message

    def error(self) -> Exception:
        try:
            return self.cls(self.message)
        except Exception:
            return ValueError(self.message)


class LRef:
    """Output ``index`` of a node; ``value`` is set once a flush computed it (a
    ``Failed`` when its computation raised)."""

    __slots__ = ("node", "index", "value")

    def __init__(self, node: LNode, index: int) -> None:
        self.node = node
        self.index = index
        self.value = None

    def materialise(self, arr, reason: str = "value"):
        if self.value is None:
            # the user's line found from two frames up: this method's caller is minpy's
            # (an Array read), so the walk need not make frame objects of these
            _engine_for_flush().flush(reason, extra=(self,), where=user_frame(3))
        value = self.value
        if type(value) is Failed:
            raise value.error() from None
        if arr is not None and arr._data is self:
            arr._data = value
        return value


_CONTEXTLIB = contextlib.__file__


def _engine_for_flush():
    global _engine_for_flush
    from .engine import engine_for_flush     # imports this module: bound on first use
    _engine_for_flush = engine_for_flush
    return engine_for_flush()


def inside(code):
    """``True`` for code of the minpy package, else the code's memo of lines by
    instruction offset (remembered in ``_inside``)."""
    v = _inside.get(id(code))
    if v is None:
        # contextlib's frames too: a ``with minpy.lazy():`` block exits through them
        v = True if code.co_filename.startswith(_PKG) or code.co_filename == _CONTEXTLIB \
            else {}
        _codes.append(code)
        _inside[id(code)] = v
    return v


def line_of(f, lines: dict):
    """(filename, line) of frame ``f``, whose code's memo is ``lines``."""
    w = lines.get(f.f_lasti)
    if w is None:
        w = lines[f.f_lasti] = (f.f_code.co_filename, f.f_lineno)
    return w


def user_frame(depth: int = 2):
    """(filename, line) of the first caller outside the minpy package."""
    try:
        f = sys._getframe(depth)
    except ValueError:        # the stack is not that deep
        return None
    return frame_outside(f)


def frame_outside(f):
    """(filename, line) of ``f`` or the first frame above it outside the minpy package."""
    while f is not None:
        v = _inside.get(id(f.f_code))
        if v is None:
            v = inside(f.f_code)
        if v is not True:
            return line_of(f, v)
        f = f.f_back
    return None


def format_where(where) -> str:
    if not where:
        return "<unknown>"
    return f"{where[0]}:{where[1]}"
