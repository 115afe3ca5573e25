"""MXNet runs the backward pass of a recorded forward graph itself.

Under ``grad`` in lazy mode or in a ``@minpy.jit`` trace, MinPy's tape would
record one node per vector-Jacobian product, and large products would then
need transposed copies for oneDNN's FullyConnected. When every operation
between the differentiated arrays and the loss has a lowering whose MXNet
gradient is MinPy's (registry ``mxgrad``), the backward pass is recorded as one
``_vjp`` node instead. A graph holding it runs in two phases (``two_phase``):
an executor bound with gradient buffers runs the forward pass and MXNet's
backward pass (oneDNN's FullyConnected backward, the spliced symbols of
``Function``), then what reads the gradients (a parameter update, say) runs on
those buffers. Graphs that cannot be compiled run the same node with
``mxnet.autograd``.
"""
from __future__ import annotations

import mxnet as _mx
import numpy as _onp

from ..array import Array
from ..dispatch.registry import defop
from .config import config
from .graph import LRef

_MXND = _mx.np.ndarray


def _vjp_np(*operands, n):
    raise NotImplementedError("minpy: the _vjp node exists only inside lazy graphs")


# a graph node: the gradients of operand 0 (a scalar) with respect to the other operands
VJP = defop("_vjp", nin=-1, mx=None, np=_vjp_np, multi=True, nondiff=True, lazy=False,
            params=[("n", 0)])


class _Info:
    """The dispatcher facts ``LNode`` reads."""
    __slots__ = ("shapes", "dtypes", "eager")

    def __init__(self, shapes, dtypes) -> None:
        self.shapes, self.dtypes, self.eager = shapes, dtypes, False


# ----------------------------------------------------------------------------- recording

# operators whose backward pass MXNet runs best ("auto" lets MXNet run a tape holding one):
# a Function's symbol (its backward would otherwise run eagerly, outside the graph), and
# convolution and pooling, whose gradients as graph nodes would be forward operators
# (transposed and dilated convolutions, window masks) several times slower than MXNet's
# backward operators
NATIVE_FIRST = frozenset({"_function", "nn.conv2d", "nn.max_pool"})


def _pending(d, epoch) -> bool:
    return type(d) is LRef and d.value is None and d.node is not None and d.node.epoch is epoch


def try_record(eng, out: Array, order, leaf_arrays) -> list | None:
    """Record the gradients of ``out`` with respect to ``leaf_arrays`` as one ``_vjp``
    node and return them (None where the loss does not depend on a leaf); None
    when the tape must run instead: an operator whose MXNet gradient is not
    MinPy's, a value computed outside the pending graph, a leaf also read
    untracked, or a second backward pass in this graph."""
    mode = config.native_backward
    if mode == "never" or eng.native_epoch is eng.epoch:
        return None
    if mode == "auto" and not any(n.op is not None and n.op.name in NATIVE_FIRST for n in order):
        return None            # MinPy's recorded backward ran faster where both can run
    epoch = eng.epoch
    loss = out._data
    if not _pending(loss, epoch):
        return None
    tape = {}                          # id(LNode) -> tape node
    for n in order:
        if n.op is None:
            continue
        if getattr(n.op, "mxgrad", None) is None or not n.ans:     # incl. NumPy fallbacks
            return None
        ok = getattr(n.op, "native_ok", None)       # the operator's say on this call
        if ok is not None and not ok(n.attrs):
            return None
        refs = [a._data for a in n.ans]
        if not all(_pending(r, epoch) for r in refs):
            return None
        tape[id(refs[0].node)] = n
    bufs = {}
    for i, a in enumerate(leaf_arrays):
        b = a._data
        if type(b) is not _MXND or id(b) in bufs:
            return None
        bufs[id(b)] = i
    # every node on a path from a leaf to the loss: a tape node reading that path tracked
    todo, seen = [loss.node], {}
    while todo:
        ln = todo.pop()
        if id(ln) in seen:
            continue
        seen[id(ln)] = ln
        todo.extend(x.node for x in ln.inputs if _pending(x, epoch))
    dep, used = set(), set()
    for ln in sorted(seen.values(), key=lambda ln: ln.pos):
        for j, x in enumerate(ln.inputs):
            if _pending(x, epoch):
                hit = id(x.node) in dep
            else:
                hit = id(x) in bufs
                if hit:
                    used.add(bufs[id(x)])
            if hit:
                t = tape.get(id(ln))
                if t is None or j >= len(t.parents) or t.parents[j] is None:
                    return None
                dep.add(id(ln))
    if id(loss.node) not in dep:
        return None
    leaves = sorted(used)
    data = [loss] + [leaf_arrays[i]._data for i in leaves]
    info = _Info(tuple(leaf_arrays[i]._shape for i in leaves),
                 tuple(leaf_arrays[i]._dtype for i in leaves))
    ctx = out._ctx
    refs = eng.record_data(VJP, data, (("n", len(leaves)),), info, ctx)
    eng.native_epoch = epoch
    grads = [None] * len(leaf_arrays)
    for i, r in zip(leaves, refs):
        a = leaf_arrays[i]
        grads[i] = Array._wrap(r, a._shape, a._dtype, ctx)
        eng.track(grads[i])
    return grads


# ----------------------------------------------------------------------------- interpreting

def interpret(order, descs, ext, scalars, i):
    """The ``_vjp`` node at ``i`` run eagerly: its loss's ancestors again, under
    ``mxnet.autograd``, with the leaves marked for gradients."""
    from mxnet import autograd
    from .compile import _live_nodes
    desc = descs[i]
    wrt = {d[1]: j for j, d in enumerate(desc[1:])}
    need = _live_nodes(descs, [desc[0]])
    leaves = {}
    for k in wrt:
        v = ext[k].copy()
        v.attach_grad()
        leaves[k] = v
    local = {}
    with autograd.record():
        for p in sorted(need):
            n = order[p]
            args = []
            for d in descs[p]:
                if d[0] == "x":
                    args.append(leaves.get(d[1], ext[d[1]]))
                elif d[0] == "s":
                    args.append(scalars[d[2]])
                else:
                    args.append(local[d[0]][d[1]])      # an ancestor: computed above
            low = n.op.mxgrad if callable(n.op.mxgrad) else n.op.mx
            with n.ctx.mx:
                res = low(_mx.nd, *args, **dict(n.attrs))
            local[p] = list(res) if n.op.multi else [res]
        loss = local[desc[0][0]][desc[0][1]]
    loss.backward()
    return [leaves[d[1]].grad for d in desc[1:]]


# ----------------------------------------------------------------------------- compiling

def split(order, descs, keep, outs):
    """(position of the ``_vjp`` node, the kept nodes before it (phase A), the kept
    nodes reading its gradients (phase B)); None when the graph has no such node."""
    vs = [i for i in sorted(keep) if order[i].op is VJP]
    if not vs:
        return None
    if len(vs) > 1:
        raise ValueError("more than one native backward pass in one graph")
    v = vs[0]
    later = {v}
    for i in sorted(keep):
        if i > v and any(type(d[0]) is int and d[0] in later for d in descs[i]):
            later.add(i)
    return v, set(keep) - later, later - {v}
