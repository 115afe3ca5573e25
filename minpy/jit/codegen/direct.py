"""The "direct" vehicle: a graph that became one generated kernel runs without MXNet's graph.

When fusion leaves a single kernel reading only the graph's inputs (a chain of
elementwise operations, a small RNN's whole training step), binding an executor
would cost more than the kernel: its call, the copies of inputs and outputs and
the engine's thread hand-off are tens of microseconds. Here the kernel is called
through ctypes on the inputs' own buffers (after waiting for any pending write to
them) and writes into freshly allocated output arrays (never reused: a view of an
older output may still be alive).
"""
from __future__ import annotations

import ctypes
import threading

import mxnet as _mx
import numpy as _onp
from mxnet.base import _LIB

from ..compile import _exclusive

_getdata = _LIB.MXNDArrayGetData


class DirectGraph:
    """A compiled graph (vehicle interface: ``run(ext, scalars)``, ``nodes``)."""

    __slots__ = ("fn", "kinds", "ins", "outs", "types", "specs", "scal", "consts",
                 "nodes", "lock", "active", "ptr", "n_rec", "fixed", "pick")

    def __init__(self, address: int, inputs, ext, out_specs, pick, nodes, consts=()) -> None:
        self.lock, self.active = threading.RLock(), False
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
        self.fn = proto(address)
        self.kinds = []           # per kernel input: ("x", k) or ("s", k)
        self.scal = {}            # fed scalar / 0-d Python value -> a float64 or typed cell
        codes = []
        for d in inputs:
            if d[0] == "s":
                self.kinds.append(("s", d[2]))
                self.scal[("s", d[2])] = _onp.zeros(1, dtype=_onp.float64)
                codes.append(1)
            else:
                k = d[1]
                self.kinds.append(("x", k))
                dt = _onp.dtype(ext[k].dtype)
                self.scal[("x", k)] = _onp.zeros(1, dtype=dt)
                codes.append({"float32": 0, "float64": 1, "bool": 7}[dt.name])
        n_in, n_out = len(inputs), len(out_specs)
        self.ins = (ctypes.c_void_p * max(n_in, 1))()
        self.outs = (ctypes.c_void_p * max(n_out, 1))()
        self.types = (ctypes.c_int * max(n_in, 1))(*codes)
        self.specs = [(tuple(s), _onp.dtype(t).name) for s, t in out_specs]
        self.pick = pick          # the kernel output behind each graph output
        self.consts = list(consts)
        self.n_rec = len(ext) - len(self.consts)    # inputs after these are folded constants
        self.fixed = {}          # kernel input -> address of a constant (never written)
        self.nodes = nodes
        self.ptr = ctypes.c_void_p()

    def _address(self, arr) -> int:
        arr.wait_to_read()
        _getdata(arr.handle, ctypes.byref(self.ptr))
        return self.ptr.value

    @_exclusive
    def run(self, ext, scalars):
        if self.consts:
            ext = [*ext, *self.consts]
        ins = self.ins
        for j, (kind, k) in enumerate(self.kinds):
            if kind == "s":
                cell = self.scal[("s", k)]
                cell[0] = scalars[k]
                ins[j] = cell.ctypes.data
                continue
            if k >= self.n_rec and hasattr(ext[k], "handle"):
                a = self.fixed.get(j)
                if a is None:
                    a = self.fixed[j] = self._address(ext[k])
                ins[j] = a
                continue
            v = ext[k]
            t = type(v)
            if t is float or t is int or t is bool:
                cell = self.scal[("x", k)]
                cell[0] = v
                ins[j] = cell.ctypes.data
            else:
                ins[j] = self._address(v)
        res = []
        for j, (shape, dt) in enumerate(self.specs):
            a = _mx.np.empty(shape, dtype=dt)      # fresh: a view of an older output may live
            self.outs[j] = self._address(a)
            res.append(a)
        self.fn(self.ins, self.outs, self.types)
        return [res[k] for k in self.pick]
