"""The "direct" vehicle: a graph that became one generated kernel runs without MXNet's graph.

When fusion leaves a single kernel reading only the graph's inputs (a chain of
elementwise operations, a small RNN's whole training step), binding an executor
would cost more than the kernel: its call, the copies of inputs and outputs and
the engine's thread hand-off are tens of microseconds. Here the kernel runs on the
inputs' own buffers (after waiting for any pending write to them) and writes into
freshly allocated output arrays (never reused: a view of an older output may still
be alive), all in one foreign call (``runtime``).
"""
from __future__ import annotations

import ctypes
import threading

import mxnet as _mx
import numpy as _onp
from mxnet.base import NDArrayHandle, check_call
from mxnet.ndarray.ndarray import _DTYPE_NP_TO_MX

from ..exclusive import _exclusive
from . import runtime

_MXND = _mx.np.ndarray


class DirectGraph:
    """A compiled graph (vehicle interface: ``run(ext, scalars)``, ``nodes``)."""

    __slots__ = ("kinds", "ins", "handles", "out_handles", "specs", "scal", "consts",
                 "nodes", "lock", "active", "pick", "call", "ref", "invoke", "keep")
    synchronous = True        # its outputs exist when run() returns: nothing to wait for

    def __init__(self, address: int, inputs, ext, out_specs, pick, nodes, consts=(),
                 ctx=None) -> None:
        self.invoke = runtime.call_function()       # CompileError: no direct vehicle
        self.lock, self.active = threading.RLock(), False
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
        P = ctypes.c_void_p
        self.ins = (P * max(n_in, 1))()
        self.handles = (P * max(n_in, 1))()
        self.out_handles = (P * max(n_out, 1))()
        outs = (P * max(n_out, 1))()
        types = (ctypes.c_int32 * max(n_in, 1))(*codes)
        self.specs = [(tuple(s), _onp.dtype(t).name) for s, t in out_specs]
        self.pick = pick          # the kernel output behind each graph output
        self.consts = list(consts)
        self.nodes = nodes
        mxctx = getattr(ctx, "mx", None) or _mx.cpu()
        flat = [d for s, _ in self.specs for d in s]
        shapes = (ctypes.c_uint32 * max(len(flat), 1))(*flat)
        ndims = (ctypes.c_uint32 * max(n_out, 1))(*[len(s) for s, _ in self.specs])
        dtypes = (ctypes.c_int32 * max(n_out, 1))(
            *[_DTYPE_NP_TO_MX[_onp.dtype(t).type] for _, t in self.specs])
        addr = ctypes.addressof
        self.call = runtime.MinpyCall(
            fn=address, n_in=n_in, n_out=n_out, handles=addr(self.handles),
            ins=addr(self.ins), types=addr(types), shapes=addr(shapes), ndims=addr(ndims),
            dtypes=addr(dtypes), dev_type=mxctx.device_typeid, dev_id=mxctx.device_id,
            out_handles=addr(self.out_handles), outs=addr(outs))
        self.keep = [outs, types, shapes, ndims, dtypes]     # what ``call`` points into
        self.ref = ctypes.byref(self.call)
        # scalars fed on every call are read from cells whose addresses never change
        for j, (kind, k) in enumerate(self.kinds):
            if kind == "s":
                self.ins[j] = self.scal[("s", k)].ctypes.data

    def before(self, exe_handle) -> None:
        """Run this executor's forward and backward pass (training) first, in the same call."""
        self.call.exe = exe_handle.value

    def copy_into(self, dst, pieces) -> None:
        """Also copy graph output ``j`` into ``dst`` at byte ``offset`` (``nbytes``) for
        each ``(j, offset, nbytes)`` of ``pieces``, after the kernel ran."""
        n = len(pieces)
        src = (ctypes.c_int32 * n)(*[self.pick[j] for j, _, _ in pieces])
        off = (ctypes.c_int64 * n)(*[o for _, o, _ in pieces])
        size = (ctypes.c_int64 * n)(*[b for _, _, b in pieces])
        self.keep += [dst, src, off, size]
        c = self.call
        c.copy_dst, c.n_copy = dst.handle.value, n
        c.copy_src, c.copy_off, c.copy_bytes = (ctypes.addressof(a) for a in (src, off, size))

    @_exclusive
    def run(self, ext, scalars):
        if self.consts:
            ext = [*ext, *self.consts]
        ins, handles, scal = self.ins, self.handles, self.scal
        for j, (kind, k) in enumerate(self.kinds):
            if kind == "s":
                scal[("s", k)][0] = scalars[k]
                continue
            v = ext[k]
            t = type(v)
            if t is float or t is int or t is bool:
                cell = scal[("x", k)]
                cell[0] = v
                ins[j] = cell.ctypes.data
                handles[j] = None
            else:
                handles[j] = v.handle.value
        check_call(self.invoke(self.ref))
        oh = self.out_handles
        res = [_MXND(handle=NDArrayHandle(oh[j])) for j in range(len(self.specs))]
        return [res[k] for k in self.pick]
