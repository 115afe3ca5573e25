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
from mxnet.base import _LIB, NDArrayHandle, check_call, mx_uint
from mxnet.ndarray.ndarray import _DTYPE_NP_TO_MX

from ..exclusive import _exclusive

_getdata = _LIB.MXNDArrayGetData
_create = _LIB.MXNDArrayCreateEx
_MXND = _mx.np.ndarray


class DirectGraph:
    """A compiled graph (vehicle interface: ``run(ext, scalars)``, ``nodes``)."""

    __slots__ = ("fn", "kinds", "ins", "outs", "types", "specs", "scal", "consts",
                 "nodes", "lock", "active", "ptr", "n_rec", "fixed", "pick", "plan", "plain",
                 "alloc")
    synchronous = True        # its outputs exist when run() returns: nothing to wait for

    def __init__(self, address: int, inputs, ext, out_specs, pick, nodes, consts=(),
                 ctx=None) -> None:
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
        # what ``run`` does per kernel input, decided once: (j, cell, k) feeds
        # ``scalars[k]`` through a cell, (j, None, k) an input buffer
        self.plan = tuple((j, self.scal[d] if d[0] == "s" else None, d[1])
                          for j, d in enumerate(self.kinds))
        self.plain = not self.consts and all(kind == "s" or self.n_rec > k
                                             for kind, k in self.kinds)
        # MXNDArrayCreateEx's arguments per output, built once (``mx.np.empty`` rebuilds
        # them and looks up the current context on every call, 5 us of a 30 us flush)
        mxctx = getattr(ctx, "mx", None) or _mx.cpu()
        dev = (ctypes.c_int(mxctx.device_typeid), ctypes.c_int(mxctx.device_id))
        self.alloc = [((mx_uint * max(len(s), 1))(*s), mx_uint(len(s)), *dev, ctypes.c_int(0),
                       ctypes.c_int(_DTYPE_NP_TO_MX[_onp.dtype(t).type]))
                      for s, t in self.specs]

    def _address(self, arr) -> int:
        arr.wait_to_read()
        _getdata(arr.handle, ctypes.byref(self.ptr))
        return self.ptr.value

    @_exclusive
    def run(self, ext, scalars):
        if not self.plain:
            return self._run_general(ext, scalars)
        # the common case: recorded buffers and fed scalars only
        ins, ptr, ref = self.ins, self.ptr, ctypes.byref(self.ptr)
        for j, cell, k in self.plan:
            if cell is not None:
                cell[0] = scalars[k]
                ins[j] = cell.ctypes.data
                continue
            v = ext[k]
            t = type(v)
            if t is float or t is int or t is bool:
                ins[j] = self._scalar_at(k, v)
            else:
                v.wait_to_read()         # a pending write to the input (threaded engine)
                _getdata(v.handle, ref)
                ins[j] = ptr.value
        return self._call_kernel()

    def _scalar_at(self, k: int, v) -> int:
        """The address of recorded Python scalar ``k``'s cell, holding ``v``."""
        cell = self.scal[("x", k)]
        cell[0] = v
        return cell.ctypes.data

    def _call_kernel(self) -> list:
        """Fresh outputs (a view of an older output may live), the kernel call, the
        graph's outputs."""
        outs, ptr, ref = self.outs, self.ptr, ctypes.byref(self.ptr)
        res = []
        for j, args in enumerate(self.alloc):
            h = NDArrayHandle()
            check_call(_create(*args, ctypes.byref(h)))
            a = _MXND(handle=h)
            _getdata(h, ref)             # new, so nothing is pending on it
            outs[j] = ptr.value
            res.append(a)
        self.fn(self.ins, outs, self.types)
        return [res[k] for k in self.pick]

    def _run_general(self, ext, scalars):
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
            ins[j] = self._scalar_at(k, v) if t is float or t is int or t is bool else \
                self._address(v)
        return self._call_kernel()
