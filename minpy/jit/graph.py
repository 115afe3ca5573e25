"""Pending values of lazy mode: recorded nodes and references to their outputs."""
from __future__ import annotations

import os
import sys

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LNode:
    """One recorded operation: operator, inputs (refs, buffers or scalars), attributes."""

    __slots__ = ("op", "inputs", "attrs", "shapes", "dtypes", "ctx", "seq", "where")

    def __init__(self, op, inputs, attrs, shapes, dtypes, ctx, seq, where) -> None:
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.shapes = shapes
        self.dtypes = dtypes
        self.ctx = ctx
        self.seq = seq
        self.where = where

    def __repr__(self) -> str:
        return f"<lazy {self.op.name} #{self.seq} at {format_where(self.where)}>"


class LRef:
    """Output ``index`` of a node; ``value`` is set once a flush computed it."""

    __slots__ = ("node", "index", "value")

    def __init__(self, node: LNode, index: int) -> None:
        self.node = node
        self.index = index
        self.value = None

    def materialise(self, arr, reason: str = "value"):
        if self.value is None:
            from .engine import engine_for_flush
            engine_for_flush().flush(reason, extra=(self,))
        value = self.value
        if arr is not None and arr._data is self:
            arr._data = value
        return value


def user_frame(depth: int = 2):
    """(filename, line) of the first caller outside the minpy package."""
    f = sys._getframe(depth)
    while f is not None and f.f_code.co_filename.startswith(_PKG):
        f = f.f_back
    if f is None:
        return None
    return (f.f_code.co_filename, f.f_lineno)


def format_where(where) -> str:
    if not where:
        return "<unknown>"
    return f"{where[0]}:{where[1]}"
