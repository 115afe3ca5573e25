"""Cutting a compiled graph into fusible clusters and replacing each by one operator.

Runs on a cache miss, after the graph passes, on their IR (``passes.PNode``). A
node is fusible when the emitter can express it (``ops_cpp``) for its dtypes and
shapes; clusters grow along edges in topological order and stay convex (no path
leaves a cluster and comes back), so each becomes one node of the MXNet graph.
"""
from __future__ import annotations

import hashlib

import numpy as _onp

from . import emit, mathfn
from .stages import generate, ref_meta, refkey
from .ops_cpp import ELEMENTWISE, MOVES, PRODUCTS, REDUCTIONS, SCALAR_GRAD

_FLOATS = ("float32", "float64")
_READABLE = ("float32", "float64", "bool")


def supported(n, ext, scalars, baked, dot_max: int) -> bool:
    """Whether the emitter computes node ``n`` exactly as its NumPy implementation."""
    name = n.op.name
    if not (name in ELEMENTWISE or name in SCALAR_GRAD or name in REDUCTIONS or
            name in PRODUCTS or name in MOVES or name == "_setitem"):
        return False
    ctx = getattr(n, "ctx", None)
    if ctx is not None and getattr(getattr(ctx, "mx", None), "device_type", "cpu") != "cpu":
        return False
    outs = [str(d) for d in n.dtypes]
    if any(o not in _READABLE for o in outs) or any(0 in tuple(s) for s in n.shapes):
        return False
    arrays = 0
    for d in n.ins:
        if d[0] == "s":
            if d[1] not in (int, float):
                return False
            v = scalars[d[2]]
            if type(v) is int and not -2 ** 62 < v < 2 ** 62:
                return False
            continue
        shp, dt = ref_meta(d, ext)
        if dt not in _READABLE or 0 in shp:
            return False
        arrays += 1
    attrs = dict(n.attrs)
    if name in ELEMENTWISE:
        nin, _, kind = ELEMENTWISE[name]
        if nin >= 0 and len(n.ins) != nin:
            return False
        return outs[0] == "bool" if kind == "cmp" else outs[0] in _FLOATS
    if name in SCALAR_GRAD:
        return len(n.ins) == 2 and outs[0] in _FLOATS
    if name in REDUCTIONS:
        if any(attrs.get(k) is not None for k in ("dtype", "initial", "where", "out")):
            return False
        return outs[0] in _FLOATS and ref_meta(n.ins[0], ext)[1] in _FLOATS
    if name in PRODUCTS:
        if len(n.ins) != 2 or outs[0] not in _FLOATS:
            return False
        (sa, da), (sb, db) = (ref_meta(d, ext) for d in n.ins)
        if len(sa) != 2 or len(sb) != 2 or da not in _FLOATS or db not in _FLOATS:
            return False
        if name != "_matmul_t" and attrs:
            return False
        return int(_onp.prod(sa)) * int(n.shapes[0][1]) <= dot_max
    if name == "reshape":
        return attrs.get("order", "C") == "C"
    if name == "split":
        return isinstance(attrs.get("indices_or_sections"), int)
    if name == "concatenate":
        return isinstance(attrs.get("axis", 0), int)
    if name in ("ones_like", "zeros_like", "astype"):
        return arrays == 1
    if name == "where":
        return len(n.ins) == 3
    if name == "_setitem":          # x[:] = v, x[:, :] = v: v broadcast into x's shape
        index = attrs.get("index")
        return len(n.ins) == 2 and isinstance(index, tuple) and \
            len(index) <= len(n.shapes[0]) and \
            all(i == ("s", None, None, None) for i in index) and outs[0] in _FLOATS
    return True


def clusters(pnodes, ok, rounds: int = 64) -> list:
    """Convex groups of fusible nodes, in topological order (lists of nodes).

    The greedy pass below keeps clusters convex for the paths it sees node by
    node; merging can still close a cycle between two clusters, so the contracted
    graph is checked and, while it has a cycle, the member a cycle enters a
    cluster through is left out and the clusters are cut again.
    """
    import networkx as nx
    banned: set = set()
    for _ in range(rounds):
        groups = _greedy(pnodes, lambda n: n not in banned and ok(n))
        where = {n: j for j, g in enumerate(groups) for n in g}
        g = nx.DiGraph()
        enter = {}
        for n in pnodes:
            b = ("c", where[n]) if n in where else n
            g.add_node(b)
            for d in n.ins:
                if d[0] != "n":
                    continue
                a = ("c", where[d[1]]) if d[1] in where else d[1]
                if a != b:
                    g.add_edge(a, b)
                    enter.setdefault((a, b), n)
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return groups
        for a, b in cycle:
            if isinstance(b, tuple):
                banned.add(enter[(a, b)])
                break
    return []


def _greedy(pnodes, ok) -> list:
    """Clusters grown node by node (see ``clusters``).

    A node joins (and merges) the clusters of its fusible producers unless that
    would close a cycle through a node outside: ``reach`` holds, per node, the
    clusters with a path to it, and ``outer`` per cluster those with a path into
    it from outside it."""
    parent: list = []

    def find(c):
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    member, reach, outer = {}, {}, {}
    for n in pnodes:
        prods = [d[1] for d in n.ins if d[0] == "n"]
        r = set()
        for p in prods:
            r |= reach[p]
        if ok(n):
            good = {find(member[p]) for p in prods if p in member}
            while True:          # drop candidates that would close a cycle, until none does
                around = set()   # clusters reaching n through producers outside ``good``
                for p in prods:
                    if p not in member or find(member[p]) not in good:
                        around |= {find(c) for c in reach[p]}
                bad = {c for c in good
                       if c in around or any(find(o) in good and find(o) != c for o in outer[c][0])}
                if not bad:
                    break
                good -= bad
            if good:
                keep = min(good)
                for c in good:
                    if c != keep:
                        parent[c] = keep
                        outer[keep][0].update(outer[c][0])
                        outer[keep][1].extend(outer[c][1])
                        del outer[c]
            else:
                keep = len(parent)
                parent.append(keep)
                outer[keep] = (set(), [])
            member[n] = keep
            outer[keep][0].update(around)
            outer[keep][0].discard(keep)
            outer[keep][1].append(n)
            r.add(keep)
        reach[n] = frozenset(r)
    pos = {n: i for i, n in enumerate(pnodes)}
    groups: dict = {}
    for n, c in member.items():
        groups.setdefault(find(c), []).append(n)
    return [sorted(g, key=pos.__getitem__) for _, g in sorted(groups.items())]


class FusedOp:
    """The registry-like face of a generated kernel, for the symbol builder."""

    multi = True
    promote = False
    mxgrad = None
    nondiff = True
    no_gradient = True       # MXNet has no gradient for it: a CachedOp needs a BlockGrad after it

    def __init__(self, name: str, outputs, scalar_dtypes) -> None:
        self.name = name
        self.nout = len(outputs)
        self.zero_d = [tuple(n.shapes[k]) == () for n, k in outputs]
        self.types = ",".join(str(emit.MXTYPE[str(n.dtypes[k])]) for n, k in outputs)
        self.shapes = ";".join("x".join(str(int(d)) for d in (tuple(n.shapes[k]) or (1,)))
                               for n, k in outputs)
        self.scalar_dtypes = scalar_dtypes
        self.address = None
        self.nin = 0

    def mx(self, F, *args):
        from .loader import kernel_op
        s = kernel_op()(*[a.as_nd_ndarray() for a in args], fn=str(self.address),
                        nin=str(len(args)), nout=str(self.nout), types=self.types,
                        shapes=self.shapes)
        outs = [s[j].as_np_ndarray() for j in range(self.nout)] if self.nout > 1 else \
            [s.as_np_ndarray()]
        return [F.np.reshape(o, ()) if z else o for o, z in zip(outs, self.zero_d)]


class Plan:
    """One cluster's kernel: its operator inputs and outputs and generated C++."""

    __slots__ = ("nodes", "inputs", "outputs", "source", "name", "op")


def plan(nodes, consumers, graph_outs, ext, scalars, baked, scalar_dtype, stages=None):
    inset = set(id(n) for n in nodes)
    inputs, seen = [], set()
    for n in nodes:
        for d in n.ins:
            if d[0] == "n" and id(d[1]) in inset:
                continue
            if d[0] == "s" and d[2] in baked:
                continue
            key = refkey(d)
            if key not in seen:
                seen.add(key)
                inputs.append(d)
    for d in inputs:                 # MXNet hands extension operators float arrays only
        if d[0] != "s" and ref_meta(d, ext)[1] not in _FLOATS:
            reader = next(n for n in nodes if any(e is d or e == d for e in n.ins))
            raise emit.Unsupported("a non-float array enters the cluster", reader)
    outputs = []
    for n in nodes:
        for k in range(len(n.shapes)):
            used = any(id(c) not in inset for c in consumers.get((id(n), k), ())) or \
                (id(n), k) in graph_outs
            if used:
                outputs.append((n, k))
    if not outputs:
        return None
    for n, k in outputs:
        if str(n.dtypes[k]) not in _FLOATS:
            raise emit.Unsupported("a bool value leaves the cluster", n)
    head, body, arena = generate("K", nodes, inputs, outputs, ext, scalars, baked, stages)
    p = Plan()
    p.nodes, p.inputs, p.outputs = nodes, inputs, outputs
    sdt = {}
    for d in inputs:
        if d[0] == "s":
            for n in nodes:
                if any(e[0] == "s" and e[2] == d[2] for e in n.ins):
                    dts = [_onp.dtype(ref_meta(e, ext)[1]) for e in n.ins if e[0] != "s"]
                    sdt[d[2]] = scalar_dtype(scalars[d[2]], n, dts)
                    break
    text = "\n".join(head + ([f"  char* arena = minpy_arena({arena});"] if arena else []) + body)
    p.name = "minpy_k" + hashlib.sha1(text.encode()).hexdigest()[:20]
    p.source = (f'extern "C" void {p.name}(const void* const* in, void* const* out, '
                f'const int* itypes) {{\n{text}\n}}\n')
    p.op = FusedOp(p.name, outputs, sdt)
    return p


PRELUDE = r"""
#include <cmath>
#include <cstdint>
#include <cstdlib>

// a fed scalar (a (1,)-shaped input of MXNet dtype code ``t``) as a double
static inline double minpy_scalar(const void* p, int t) {
  switch (t) {
    case 0: return *reinterpret_cast<const float*>(p);
    case 1: return *reinterpret_cast<const double*>(p);
    case 3: return *reinterpret_cast<const uint8_t*>(p);
    case 4: return *reinterpret_cast<const int32_t*>(p);
    case 5: return *reinterpret_cast<const int8_t*>(p);
    case 6: return (double)*reinterpret_cast<const int64_t*>(p);
    default: return *reinterpret_cast<const bool*>(p);
  }
}

// scratch memory of a kernel call, per thread, grown when a kernel needs more
static inline char* minpy_arena(size_t bytes) {
  static thread_local char* buf = nullptr;
  static thread_local size_t cap = 0;
  if (cap < bytes) {
    std::free(buf);
    cap = (bytes + 4095) / 4096 * 4096;
    buf = static_cast<char*>(std::aligned_alloc(64, cap));
  }
  return buf;
}
"""


def library_source(plans, stages=None) -> str:
    seen, parts = set(), [PRELUDE, mathfn.header(), emit.stage_functions(stages or {})]
    for p in plans:
        if p.name not in seen:
            seen.add(p.name)
            parts.append(p.source)
    return "\n".join(parts)
