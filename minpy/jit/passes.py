"""Graph passes run when a graph is compiled (cache misses only).

The recorded graph is rewritten as a small IR of :class:`PNode` objects whose
inputs point at other PNodes, external buffers or scalars; passes replace
references, then the graph is put back in topological order with networkx.

* batching: independent 2-D products that share their right operand
  (``xs[t] @ Wx`` at every step of an RNN) become one product and a split;
  sums of products contracted over rows (``sum_t xs[t].T @ d_t``, the weight
  gradient) become one product of concatenations, and sums of leading-axis
  reductions become one reduction;
* product lowering: large float32 2-D products run as oneDNN FullyConnected,
  several times faster than MXNet's OpenBLAS ``dot`` on this kind of CPU; a bias
  add joins the product, and a scaled product scales its smaller operand;
* constant folding: what reads no graph input is computed once at compile time;
* common-subexpression elimination (deterministic operators only);
* dead-code elimination (everything the outputs do not need).
"""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as _onp

from ..dispatch.registry import REGISTRY
from .config import config


class PNode:
    __slots__ = ("op", "attrs", "shapes", "dtypes", "where", "ins", "ctx", "rank", "info",
                 "__weakref__")

    def __init__(self, op, attrs, shapes, dtypes, where, ins, ctx, rank, info=None) -> None:
        self.op = op
        self.attrs = attrs
        self.shapes = shapes
        self.dtypes = dtypes
        self.where = where
        self.ins = ins
        self.ctx = ctx
        self.rank = rank
        self.info = info


_counter = itertools.count()


def to_ir(order, descs, keep, outs):
    nodes = {}
    for i in sorted(keep):
        n = order[i]
        ins = []
        for d in descs[i]:
            if d[0] == "x" or d[0] == "s":
                ins.append(d)
            else:
                ins.append(("n", nodes[d[0]], d[1]))
        nodes[i] = PNode(n.op, n.attrs, n.shapes, n.dtypes, n.where, ins, n.ctx, i, n.info)
    return list(nodes.values()), [(nodes[p], k) for p, k in outs]


def from_ir(pnodes, outs):
    """(order, descs, keep, outs) in the index form the builder reads."""
    g = nx.DiGraph()
    for n in pnodes:
        g.add_node(n)
        for d in n.ins:
            if d[0] == "n":
                g.add_edge(d[1], n)
    order = list(nx.lexicographical_topological_sort(g, key=lambda n: n.rank))
    pos = {n: i for i, n in enumerate(order)}
    descs = [tuple((pos[d[1]], d[2]) if d[0] == "n" else d for d in n.ins) for n in order]
    return order, descs, set(range(len(order))), tuple((pos[n], k) for n, k in outs)


def _resolve(ref, repl):
    while ref[0] == "n" and (ref[1], ref[2]) in repl:
        ref = repl[(ref[1], ref[2])]
    return ref


def _apply(pnodes, outs, repl):
    for n in pnodes:
        n.ins = [_resolve(d, repl) for d in n.ins]
    return [(r[1], r[2]) for r in (_resolve(("n", n, k), repl) for n, k in outs)]


def _rewired(pnodes, outs, repl):
    """Apply a pass's replacements (if any) and drop what became dead."""
    if not repl:
        return pnodes, outs
    outs = _apply(pnodes, outs, repl)
    return dce(pnodes, outs), outs


def dce(pnodes, outs):
    need = set()
    stack = [n for n, _ in outs]
    while stack:
        n = stack.pop()
        if n in need:
            continue
        need.add(n)
        stack.extend(d[1] for d in n.ins if d[0] == "n")
    return [n for n in pnodes if n in need]


def cse(pnodes, outs, scalars, baked):
    """Merge nodes computing the same deterministic operator on the same inputs."""
    seen, repl = {}, {}
    for n in sorted(pnodes, key=lambda n: n.rank):
        if n.op.random or n.op.lazy is not None:
            continue
        ins = tuple(_key_ref(_resolve(d, repl), scalars, baked) for d in n.ins)
        # the result dtypes too: a call whose operands were cast to its computation dtype
        # keeps NumPy's result dtype (``+float16_array`` runs as positive of a float32
        # cast, rounded back), the same operator and inputs as ``+float32_array``
        key = (n.op, n.attrs, ins, n.dtypes)
        try:
            first = seen.setdefault(key, n)
        except TypeError:          # unhashable attributes: leave the node alone
            continue
        if first is not n:
            for k in range(len(n.shapes)):
                repl[(n, k)] = ("n", first, k)
    return _rewired(pnodes, outs, repl)


def _key_ref(d, scalars, baked):
    if d[0] == "n":
        return ("n", id(d[1]), d[2])
    if d[0] == "s":
        k = d[2]
        return ("s", type(scalars[k]), scalars[k]) if k in baked else d
    return d


# ----------------------------------------------------------------------------- batching

def _new(name, attrs, ins, shapes, dtype, like, rank):
    return PNode(REGISTRY[name], attrs, shapes, (dtype,) * len(shapes), like.where, ins,
                 like.ctx, rank)


_ext_shapes: list = []     # shapes of the graph's external inputs, during optimise()
_ext_dtypes: list = []     # ... and their dtypes


def _shape_of(ref):
    if ref[0] == "n":
        return tuple(ref[1].shapes[ref[2]])
    if ref[0] == "x" and ref[1] < len(_ext_shapes):
        return _ext_shapes[ref[1]]
    return None


def _stack_rows(refs, like, rank, new):
    """One reference to the row-wise concatenation of 2-D ``refs``."""
    first = refs[0]
    # consecutive x[0], x[1], ... of one 3-D array: a reshape of x, no copies
    if all(r[0] == "n" and r[1].op.name == "_getitem" and r[2] == 0 for r in refs):
        srcs = {r[1].ins[0] if r[1].ins[0][0] != "n" else (id(r[1].ins[0][1]), r[1].ins[0][2])
                for r in refs}
        idx = [r[1].attrs for r in refs]
        if len(srcs) == 1 and all(a == (("index", (("i", t),)),) for t, a in enumerate(idx)):
            src = refs[0][1].ins[0]
            full = _shape_of(src)
            if full is not None and len(full) == 3 and full[0] == len(refs):
                shape = (full[0] * full[1],) + tuple(full[2:])
                node = _new("reshape", (("newshape", shape), ("order", "C")), [src], (shape,),
                            first[1].dtypes[0], like, rank)
                new.append(node)
                return ("n", node, 0)
    shapes = [_shape_of(r) for r in refs]
    rows = sum(s[0] for s in shapes)
    node = _new("concatenate", (("axis", 0),), list(refs), ((rows,) + shapes[0][1:],),
                refs[0][1].dtypes[refs[0][2]], like, rank)
    new.append(node)
    return ("n", node, 0)


def _ancestors(pnodes):
    g = nx.DiGraph()
    for n in pnodes:
        for d in n.ins:
            if d[0] == "n":
                g.add_edge(d[1], n)
    return g


def batch_products(pnodes, outs):
    """Independent 2-D products sharing the right operand -> one product + split."""
    groups = {}
    for n in pnodes:
        if n.op.name not in ("dot", "matmul") or len(n.ins) != 2:
            continue
        a, b = n.ins
        if a[0] != "n" or len(a[1].shapes[a[2]]) != 2 or len(n.shapes[0]) != 2:
            continue
        bkey = (b[0], id(b[1]) if b[0] == "n" else b[1], b[2] if b[0] == "n" else None)
        groups.setdefault((n.op, bkey, tuple(a[1].shapes[a[2]]), n.dtypes[0]), []).append(n)
    groups = [g for g in groups.values() if len(g) >= config.batch_min_group]
    if not groups:
        return pnodes, outs
    dag = _ancestors(pnodes)
    repl, new = {}, []
    for members in groups:
        members.sort(key=lambda n: n.rank)
        chosen = []
        for m in members:
            anc = nx.ancestors(dag, m) if m in dag else set()
            if not any(c in anc for c in chosen):
                chosen.append(m)
        if len(chosen) < config.batch_min_group:
            continue
        first = chosen[0]
        left = _stack_rows([m.ins[0] for m in chosen], first, first.rank - 0.5, new)
        rows, cols = first.shapes[0]
        prod = _new(first.op.name, first.attrs, [left, first.ins[1]], ((rows * len(chosen), cols),),
                    first.dtypes[0], first, first.rank - 0.4)
        split = _new("split", (("indices_or_sections", len(chosen)), ("axis", 0)),
                     [("n", prod, 0)], ((rows, cols),) * len(chosen), first.dtypes[0], first,
                     first.rank - 0.3)
        new += [prod, split]
        for i, m in enumerate(chosen):
            repl[(m, 0)] = ("n", split, i)
    return _rewired(pnodes + new, outs, repl)


def _row_order(p):
    """Sort key putting products of x[0], x[1], ... in index order (see _stack_rows)."""
    a = p.ins[0] if p.ins else None
    if a is not None and a[0] == "n" and a[1].op.name == "_getitem":
        idx = dict(a[1].attrs).get("index")
        if idx and len(idx) == 1 and idx[0][0] == "i":
            return (0, idx[0][1])
    return (1, p.rank)


def batch_accumulations(pnodes, outs):
    """``add_n`` of row-contracted products or of leading-axis sums -> one op."""
    repl, new = {}, []
    for n in pnodes:
        if n.op.name != "_add_n" or len(n.ins) < config.batch_min_group or \
                any(d[0] != "n" for d in n.ins):
            continue
        parts = sorted((d[1] for d in n.ins), key=_row_order)   # a sum: any order will do
        kinds = {(p.op.name, p.attrs) for p in parts}
        if len(kinds) != 1:
            continue
        name, attrs = kinds.pop()
        if name == "_matmul_t" and attrs == (("ta", True), ("tb", False)):
            a = _stack_rows([p.ins[0] for p in parts], n, n.rank - 0.6, new)
            b = _stack_rows([p.ins[1] for p in parts], n, n.rank - 0.5, new)
            node = _new("_matmul_t", attrs, [a, b], n.shapes, n.dtypes[0], n, n.rank - 0.4)
        elif name == "sum" and dict(attrs).get("axis") == (0,) and not dict(attrs).get("keepdims") \
                and all(len(p.ins[0][1].shapes[p.ins[0][2]]) == 2 for p in parts if p.ins[0][0] == "n") \
                and all(p.ins[0][0] == "n" for p in parts):
            x = _stack_rows([p.ins[0] for p in parts], n, n.rank - 0.5, new)
            node = _new("sum", attrs, [x], n.shapes, n.dtypes[0], n, n.rank - 0.4)
        else:
            continue
        new.append(node)
        repl[(n, 0)] = ("n", node, 0)
    return _rewired(pnodes + new, outs, repl)


def _flops(a_shape, b_shape, ta, tb):
    n, k = (a_shape[1], a_shape[0]) if ta else a_shape
    m = b_shape[0] if tb else b_shape[1]
    return n * k * m


# (a shape, b shape, ta, tb) -> whether MXNet's dot with transpose flags ran faster than
# FullyConnected after the transposes it needs, measured once per machine (kept on disk)
_measured: dict = {}


def _choice_file(key) -> str:
    """Where the choice for ``key`` is kept: next to the kernels (MINPY_CACHE_DIR)."""
    from .codegen import toolchain
    return toolchain.machine_path("fc", key)


def _stored_choice(key):
    """The choice a process on this machine measured for ``key``, or None."""
    try:
        with open(_choice_file(key)) as f:
            word = f.read().strip()
    except OSError:
        return None
    return {"dot": True, "fc": False}.get(word)


def _store_choice(key, won: bool) -> None:
    from .codegen import toolchain
    try:
        toolchain.write_text(_choice_file(key), "dot" if won else "fc")
    except OSError:
        pass                       # a read-only cache: measured again in the next process


def _timer(sym, args):
    """A function timing one forward pass of ``sym`` bound to ``args`` (seconds)."""
    import time
    import mxnet as mx
    from .binding import bind
    exe = bind(sym, mx.cpu(), args={k: args[k] for k in sym.list_arguments()},
               grad_req="null")
    exe.forward()
    mx.nd.waitall()

    def once():
        t = time.perf_counter()
        exe.forward()
        mx.nd.waitall()
        return time.perf_counter() - t
    return once


def dot_beats_fc(sa, sb, ta: bool, tb: bool, cpu: bool = True) -> bool:
    """Whether ``op(a) @ op(b)`` ran faster as MXNet's ``dot`` with transpose flags than
    as oneDNN's FullyConnected after transposing what it needs (``config.fc_transposed``;
    "measure" times both, interleaved, best of three, once per shape and machine: on one
    AVX-512 machine the step's dot and FullyConnected ran at the same speed, so the
    transposes were pure cost, on another dot was 4-6x slower). The choice is kept on
    disk: processes measuring anew could choose differently (a close call, a busy
    moment), build another graph and miss the kernel cache on their first step."""
    how = config.fc_transposed
    if how != "measure":
        return how == "dot"
    if not cpu:                        # timed on the CPU only: another device keeps FC
        return False
    key = (tuple(sa), tuple(sb), bool(ta), bool(tb))
    won = _measured.get(key)
    if won is None:
        won = _stored_choice(key)
        if won is not None:
            _measured[key] = won
            return won
        try:
            import mxnet as mx
            S = mx.sym
            rng = _onp.random.RandomState(0)
            args = {"a": mx.nd.array(rng.rand(*sa).astype("float32")),
                    "b": mx.nd.array(rng.rand(*sb).astype("float32"))}
            a, b = S.var("a"), S.var("b")
            x = S.transpose(a) if ta else a
            w = b if tb else S.transpose(b)
            fc = S.FullyConnected(x, w, no_bias=True, num_hidden=sb[0] if tb else sb[1],
                                  flatten=False)
            dot = S.dot(a, b, transpose_a=ta, transpose_b=tb)
            run_fc, run_dot = _timer(fc, args), _timer(dot, args)
            t_fc = t_dot = float("inf")
            for _ in range(3):         # interleaved: a busy neighbour slows both alike
                t_fc = min(t_fc, run_fc())
                t_dot = min(t_dot, run_dot())
            won = t_dot < t_fc
            _store_choice(key, won)
        except Exception:              # measuring must never cost a compile: FC as before
            won = False
        _measured[key] = won
    return won


def lower_products(pnodes, outs):
    """Large float32 2-D products become oneDNN FullyConnected (``x @ w.T``), with
    transposes inserted where an operand is not in the layout it wants, unless
    :func:`dot_beats_fc` (then the product stays MXNet's dot with transpose flags)."""
    f32 = _onp.dtype("float32")
    new, repl = [], {}

    def transposed(ref, like, rank):
        shape = _shape_of(ref)
        node = _new("transpose", (("axes", None),), [ref], (shape[::-1],), f32, like, rank)
        new.append(node)
        return ("n", node, 0)
    for n in pnodes:
        name = n.op.name
        if name not in ("dot", "matmul", "_matmul_t") or len(n.ins) != 2 or n.dtypes[0] != f32:
            continue
        a, b = n.ins
        sa, sb = _shape_of(a), _shape_of(b)
        if sa is None or sb is None or len(sa) != 2 or len(sb) != 2:
            continue
        ta, tb = (dict(n.attrs).get("ta", False), dict(n.attrs).get("tb", False)) \
            if name == "_matmul_t" else (False, False)
        if _flops(sa, sb, ta, tb) < config.fc_min_flops:
            continue
        if (ta or not tb) and dot_beats_fc(sa, sb, ta, tb,
                                           getattr(n.ctx, "device_type", "cpu") == "cpu"):
            continue
        x = transposed(a, n, n.rank - 0.2) if ta else a
        w = b if tb else transposed(b, n, n.rank - 0.1)
        fc = _new("_fully_connected", (), [x, w], n.shapes, f32, n, n.rank)
        new.append(fc)
        repl[(n, 0)] = ("n", fc, 0)
    return _rewired(pnodes + new, outs, repl)


def _only(ref, name, uses, n_uses=1):
    """The node ``ref`` points at when it is output 0 of a ``name`` node read ``n_uses``
    times in all (graph outputs count), else None."""
    if ref[0] != "n" or ref[2] != 0 or ref[1].op.name != name or \
            uses.get((ref[1], 0)) != n_uses:
        return None
    return ref[1]


def _one_axis(node, ndim):
    """The single axis a keepdims reduction ``node`` reduces over, or None."""
    a = dict(node.attrs)
    axis = a.get("axis")
    if not a.get("keepdims") or a.get("dtype") is not None or type(axis) is not int:
        return None
    return axis % ndim if -ndim <= axis < ndim else None


def fuse_log_softmax(pnodes, outs):
    """``sh = s - max(s, axis, keepdims=True); sh - log(sum(exp(sh), axis, keepdims=True))``
    -> MXNet's ``log_softmax(s, axis)`` when nothing else reads the steps in between
    (so only where MXNet differentiates the graph: MinPy's own backward pass reads them).
    Same formula, same NaN and infinity rows; MXNet's backward pass of it is two nodes."""
    uses = _consumers(pnodes, outs)
    new, repl = [], {}
    for n in pnodes:
        if n.op.name != "subtract" or len(n.ins) != 2 or n.dtypes[0].kind != "f":
            continue
        sh_ref, lg_ref = n.ins
        lg = _only(lg_ref, "log", uses)
        sh = _only(sh_ref, "subtract", uses, 2)
        if lg is None or sh is None or len(sh.ins) != 2:
            continue
        total = _only(lg.ins[0], "sum", uses)
        e = _only(total.ins[0], "exp", uses) if total is not None and total.ins else None
        if e is None or len(e.ins) != 1 or e.ins[0][0] != "n" or e.ins[0][1] is not sh or \
                e.ins[0][2] != 0:
            continue
        s_ref, m_ref = sh.ins
        m = _only(m_ref, "max", uses)
        if m is None or len(m.ins) != 1 or m.ins[0] != s_ref or s_ref[0] == "s":
            continue
        shape = tuple(n.shapes[0])
        if _shape_of(s_ref) != shape or _dtype_of(s_ref) != n.dtypes[0] or not shape:
            continue
        axis = _one_axis(m, len(shape))
        if axis is None or axis != _one_axis(total, len(shape)):
            continue
        node = _new("_log_softmax", (("axis", axis),), [s_ref], n.shapes, n.dtypes[0], n, n.rank)
        new.append(node)
        repl[(n, 0)] = ("n", node, 0)
    return _rewired(pnodes + new, outs, repl)


def _consumers(pnodes, outs):
    count = {}
    for n in pnodes:
        for d in n.ins:
            if d[0] == "n":
                count[(d[1], d[2])] = count.get((d[1], d[2]), 0) + 1
    for n, k in outs:
        count[(n, k)] = count.get((n, k), 0) + 1
    return count


def fuse_bias(pnodes, outs):
    """``fully_connected(x, w) + b`` with a row-vector ``b`` -> one FullyConnected with a bias
    (when nothing else reads the product)."""
    f32 = _onp.dtype("float32")
    uses = _consumers(pnodes, outs)
    new, repl = [], {}
    for n in pnodes:
        if n.op.name != "add" or len(n.ins) != 2 or n.dtypes[0] != f32:
            continue
        for fc_ref, b in (n.ins, n.ins[::-1]):
            if fc_ref[0] != "n" or fc_ref[1].op.name != "_fully_connected" or \
                    uses.get((fc_ref[1], fc_ref[2])) != 1:
                continue
            fc = fc_ref[1]
            rows, units = fc.shapes[0]
            if b[0] == "s" or _shape_of(b) != (units,) or tuple(n.shapes[0]) != (rows, units):
                continue
            if _dtype_of(b) != f32:
                continue
            node = _new("_fully_connected_bias", (), [*fc.ins, b], n.shapes, f32, n, n.rank)
            new.append(node)
            repl[(n, 0)] = ("n", node, 0)
            break
    return _rewired(pnodes + new, outs, repl)


def scale_smaller_operand(pnodes, outs, scalars, baked):
    """``fully_connected(x, w) * c`` with a baked number ``c`` -> the product of ``x * c``
    or ``w * c``, whichever is smaller than the result (``lr * (h.T @ g)`` in an SGD
    step scales the batch-sized operand instead of the weight-sized gradient)."""
    uses = _consumers(pnodes, outs)
    new, repl = [], {}
    for n in pnodes:
        if n.op.name != "multiply" or len(n.ins) != 2:
            continue
        fcs = [d for d in n.ins if d[0] == "n" and d[1].op.name == "_fully_connected"]
        cs = [d for d in n.ins if d[0] == "s" and d[2] in baked and
              type(scalars[d[2]]) in (int, float)]
        if len(fcs) != 1 or len(cs) != 1 or uses.get((fcs[0][1], fcs[0][2])) != 1:
            continue
        fc, c = fcs[0][1], cs[0]
        if tuple(n.shapes[0]) != tuple(fc.shapes[0]) or n.dtypes[0] != fc.dtypes[0]:
            continue
        sizes = [int(_onp.prod(_shape_of(d))) if _shape_of(d) is not None else None
                 for d in fc.ins]
        if None in sizes:
            continue
        k = 0 if sizes[0] <= sizes[1] else 1
        if sizes[k] >= int(_onp.prod(n.shapes[0])):
            continue
        d = fc.ins[k]
        scaled = _new("multiply", (), [d, c], (_shape_of(d),), n.dtypes[0], n, n.rank - 0.2)
        ins = list(fc.ins)
        ins[k] = ("n", scaled, 0)
        prod = _new("_fully_connected", (), ins, n.shapes, n.dtypes[0], n, n.rank)
        new += [scaled, prod]
        repl[(n, 0)] = ("n", prod, 0)
    return _rewired(pnodes + new, outs, repl)


# operators whose result depends only on their operand's shape and dtype
_SHAPE_ONLY = frozenset({"zeros_like", "ones_like", "empty_like", "full_like"})


def fold_constants(pnodes, outs, scalars, baked, n_ext):
    """Nodes that read no graph input (creation ops, ``ones_like``-style ops, and
    deterministic ops on those and on baked scalars) are computed once, here; the
    values are fed to the graph as inputs ``n_ext, n_ext + 1, ...``."""
    import mxnet as mx
    dag = nx.DiGraph()
    dag.add_nodes_from(pnodes)
    for n in pnodes:
        for d in n.ins:
            if d[0] == "n":
                dag.add_edge(d[1], n)
    const = set()
    for n in nx.lexicographical_topological_sort(dag, key=lambda n: n.rank):
        op = n.op
        if op.random or op.lazy is not None or op.mx is None or op.multi:
            continue
        if op.name in _SHAPE_ONLY or all(
                (d[0] == "n" and d[1] in const) or (d[0] == "s" and d[2] in baked)
                for d in n.ins):
            const.add(n)
    out_nodes = {n for n, _ in outs}
    frontier = [n for n in const if n not in out_nodes and
                any(c not in const for c in dag.successors(n))]
    if not frontier:
        return pnodes, outs, []
    values, consts, repl = {}, [], {}

    def value(n):
        if n not in values:
            args = []
            for d in n.ins:
                if d[0] == "s":
                    args.append(scalars[d[2]])
                elif n.op.name in _SHAPE_ONLY:
                    shape = _shape_of(d)
                    args.append(mx.nd.np.zeros(shape, dtype=_dtype_of(d)))
                else:
                    args.append(value(d[1]))
            with n.ctx.mx:
                v = n.op.mx(mx.nd, *args, **dict(n.attrs))
            values[n] = v if v.dtype == n.dtypes[0] else v.astype(n.dtypes[0])
        return values[n]
    for n in sorted(frontier, key=lambda n: n.rank):
        repl[(n, 0)] = ("x", n_ext + len(consts))
        consts.append(value(n))
        _ext_shapes.append(tuple(n.shapes[0]))
        _ext_dtypes.append(n.dtypes[0])
    pnodes, outs = _rewired(pnodes, outs, repl)
    return pnodes, outs, consts


def _dtype_of(ref):
    if ref[0] == "n":
        return ref[1].dtypes[ref[2]]
    if ref[0] == "x" and ref[1] < len(_ext_dtypes):
        return _ext_dtypes[ref[1]]
    return None


def optimise(order, descs, keep, outs, scalars, baked, ext=()):
    """Run the enabled passes; returns the graph in the builder's index form and
    the values of folded constants (extra inputs after ``ext``)."""
    if not config.graph_passes or len(keep) < 2:
        return order, descs, keep, outs, []
    _ext_shapes[:] = [tuple(b.shape) for b in ext]
    _ext_dtypes[:] = [_onp.dtype(b.dtype) for b in ext]
    pnodes, routs = to_ir(order, descs, keep, outs)
    consts = []
    if config.constant_folding:
        pnodes, routs, consts = fold_constants(pnodes, routs, scalars, baked, len(ext))
    if config.batching:
        pnodes, routs = batch_products(pnodes, routs)
        pnodes, routs = batch_accumulations(pnodes, routs)
    if any(n.op.name == "_vjp" for n in pnodes):     # MXNet runs the backward pass
        pnodes, routs = fuse_log_softmax(pnodes, routs)
    if config.fully_connected:
        pnodes, routs = lower_products(pnodes, routs)
        pnodes, routs = fuse_bias(pnodes, routs)
        pnodes, routs = scale_smaller_operand(pnodes, routs, scalars, baked)
    if config.cse:
        pnodes, routs = cse(pnodes, routs, scalars, baked)
    return (*from_ir(pnodes, routs), consts)
