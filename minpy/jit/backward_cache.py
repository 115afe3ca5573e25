"""Replaying a recorded backward pass in lazy mode.

In a training loop the forward pass records the same tape every step, so the
backward pass records the same nodes every step too -- but producing them runs
every vector-Jacobian product in Python. The first time a tape structure is
differentiated lazily, the nodes its backward pass recorded are captured as a
template (operators, attributes, the dispatcher's facts, and where each input
came from: an earlier node of the template, a value of the tape, or a constant
scalar). Later backward passes over a tape with the same key re-create those
nodes directly.

The key covers everything the products can depend on: each tape node's
operator, attributes, operand shapes/dtypes and Python scalar values, which
operands are differentiated and the tape's wiring. Templates are taken only
when nothing ran eagerly or forced a value during the backward pass, and are
not used under an outer gradient or a ``@jit`` trace.
"""
from __future__ import annotations

import collections

from ..array import Array
from .config import config
from .graph import LRef

_templates: "collections.OrderedDict" = collections.OrderedDict()
_UNCACHEABLE = object()


def tape_key(order, node0, idx0, out, leaves):
    """A hashable description of the tape, or None when it cannot be replayed."""
    pos = {id(n): i for i, n in enumerate(order)}
    leaf_pos = {id(leaf): k for k, leaf in enumerate(leaves)}
    items = []
    for n in order:
        op = n.op
        if op is None:
            items.append(("leaf", leaf_pos.get(id(n))))
            continue
        if op.grads is None or op.random or op.lazy is not None or n.ans is None:
            return None
        ops = []
        for o in n.operands:
            if type(o) is Array:
                ops.append((o._shape, o._dtype.char))
            else:
                ops.append((type(o), o))
        parents = tuple(None if p is None else (pos[id(p[0])], p[1]) for p in n.parents)
        items.append((op, n.attrs, tuple(ops), parents,
                      tuple((a._shape, a._dtype.char) for a in n.ans)))
    # the number of leaves too: a leaf the output does not reach is not on the tape, but
    # still has a (None) place in the results the template gives back
    key = (tuple(items), pos[id(node0)], idx0, out._shape, out._dtype.char, len(leaves))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _tape_data(order, ref):
    n = order[ref[1]]
    return (n.operands[ref[3]] if ref[2] == "o" else n.ans[ref[3]])._data


def _data_map(order):
    """id(data object) -> where it sits on the tape."""
    found = {}
    for i, n in enumerate(order):
        if n.op is None:
            continue
        for kind, arrays in (("o", n.operands), ("a", n.ans)):
            for k, a in enumerate(arrays):
                if type(a) is Array:
                    ref = ("t", i, kind, k)
                    found.setdefault(id(a._data), ref)
                    if type(a._data) is LRef and a._data.value is not None:
                        found.setdefault(id(a._data.value), ref)
    return found


def capture(eng, start, epoch, order, results):
    """The template of the nodes a backward pass just recorded (None if it cannot be)."""
    if eng.epoch is not epoch:
        return None
    where = _data_map(order)

    def ref_of(x):
        if type(x) is LRef and x.value is None and x.node.epoch is epoch and x.node.pos >= start:
            return ("b", x.node.pos - start, x.index)
        return where.get(id(x))
    specs = []
    for node in eng.nodes[start:]:
        ins = []
        for x, d in zip(node.inputs, node.desc[2]):
            if d[0] == "s":
                ins.append(("s", x))
                continue
            r = ref_of(x)
            if r is None:
                return None
            ins.append(r)
        specs.append((node.op, node.attrs, node.info, node.ctx, tuple(ins)))
    outs = []
    for g in results:
        if g is None:
            outs.append(None)
            continue
        r = ref_of(g._data)
        if r is None:
            return None
        outs.append((r, g._shape, g._dtype, g._ctx))
    return specs, outs


def replay(eng, template, order):
    """Re-create the template's nodes for this tape; the gradients, or None."""
    epoch = eng.epoch
    specs, outs = template
    for n in order:                 # every tape value must still be usable here
        if n.op is None:
            continue
        for a in (*n.operands, *n.ans):
            if type(a) is Array and type(a._data) is LRef and a._data.value is None \
                    and a._data.node.epoch is not epoch:
                return None
    made = []

    def value(s):
        k = s[0]
        if k == "b":
            return made[s[1]][s[2]]
        if k == "s":
            return s[1]
        return _tape_data(order, s)
    for op, attrs, info, ctx, ins in specs:
        made.append(eng.record_data(op, [value(s) for s in ins], attrs, info, ctx))
    results = []
    for o in outs:
        if o is None:
            results.append(None)
            continue
        r, shape, dtype, ctx = o
        a = Array._wrap(value(r), shape, dtype, ctx)
        eng.track(a)
        results.append(a)
    return results


def lookup(key):
    t = _templates.get(key)
    if t is not None:
        _templates.move_to_end(key)
    return t


def store(key, template) -> None:
    _templates[key] = template if template is not None else _UNCACHEABLE
    while len(_templates) > config.cache_capacity:
        _templates.popitem(last=False)
