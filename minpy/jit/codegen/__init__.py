"""Generated, fused C++ kernels that MXNet runs inside MinPy's compiled graphs.

On a cache miss, after the graph passes, ``fuse_graph`` cuts the graph into
clusters the emitter can express, writes one C++ operator per cluster (one
shared library per graph, built by the system compiler and cached on disk),
registers them with MXNet's extension-library API and returns the graph with
each cluster replaced by its operator. Without a working compiler (or with
``minpy.jit.config.codegen = "off"``) the graph is returned untouched and runs
on MXNet's own operators.
"""
from __future__ import annotations

import contextlib
import os
import threading

from .. import counters as _stats
from ..config import config
from . import emit, loader, toolchain
from .fuse import FusedOp, clusters, library_source, plan, supported

MODES = ("auto", "off", "always")
ENV = "MINPY_JIT_CODEGEN"
DUMP_ENV = "MINPY_JIT_DUMP"

_lock = threading.Lock()
_sources: list = []      # every kernel library's source this process built or loaded


class SettingError(Exception):
    """A codegen setting that cannot be honoured: raised to the user, never hidden."""


class CodegenUnavailable(SettingError, RuntimeError):
    """``codegen="always"`` was asked for where no C++ compiler works."""


class CodegenModeError(SettingError, ValueError):
    """``codegen`` (or ``MINPY_JIT_CODEGEN``) is not one of the modes."""


def mode() -> str:
    m = os.environ.get(ENV) or config.codegen
    if m not in MODES:
        raise CodegenModeError(f"minpy.jit.config.codegen must be one of {MODES}, not {m!r}")
    return m


@contextlib.contextmanager
def using(m: str):
    """``minpy.jit.config.codegen`` set to ``m`` inside a ``with`` block. Graphs are
    cached per mode, so code run under each mode keeps its own compiled graphs."""
    old = config.codegen
    config.codegen = m
    try:
        yield
    finally:
        config.codegen = old


def available() -> bool:
    """Whether generated kernels can be built here (a compiler works)."""
    return toolchain.compiler() is not None


def all_sources() -> list:
    """Sources of the kernel libraries this process built or loaded, oldest first."""
    with _lock:
        return list(_sources)


def fuse_graph(order, descs, keep, outs, ext, scalars, baked, scalar_dtype, whole=False):
    """The graph with fusible clusters replaced by generated operators, in the
    builder's index form, or ``None`` when nothing is fused (with ``whole``, also
    when some node cannot be: nothing is compiled then)."""
    m = mode()
    if m == "off":
        return None
    if toolchain.compiler() is None:
        if m == "always":
            raise CodegenUnavailable(
                "minpy.jit: codegen='always' needs a C++ compiler (set CXX or install g++); "
                "use codegen='auto' to run MXNet's operators where none works")
        return None
    from ..passes import PNode, _apply, from_ir, to_ir
    pnodes, pouts = to_ir(order, descs, keep, outs)
    graph_outs = {(id(n), k) for n, k in pouts}
    consumers: dict = {}
    for n in pnodes:
        for d in n.ins:
            if d[0] == "n":
                consumers.setdefault((id(d[1]), d[2]), []).append(n)
    ext = list(ext)

    fusible = {n for n in pnodes if supported(n, ext, scalars, baked, config.codegen_dot_max)}
    if whole and len(fusible) < len(pnodes):
        return None
    banned: set = set()

    def ok(n):
        return n in fusible and n not in banned

    smallest = 1 if m == "always" or whole else config.codegen_min_nodes
    for _ in range(4):        # cut again without the nodes a cluster could not keep
        plans, stages, again = [], {}, False
        # ``whole``: one kernel for every node, connected or not
        for group in [list(pnodes)] if whole else clusters(pnodes, ok):
            if len(group) < smallest or all(n.op.name in ("reshape", "split") for n in group):
                continue
            try:
                p = plan(group, consumers, graph_outs, ext, scalars, baked, scalar_dtype, stages)
            except emit.Unsupported as e:
                if e.node is not None and not whole:
                    banned.add(e.node)
                    again = True
                continue
            if p is not None:
                plans.append(p)
        if not again:
            break
    if not plans:
        return None
    source = library_source(plans, stages)
    path, seconds, hit = toolchain.build(source)
    addr = loader.addresses(path, [p.name for p in plans])
    if not _direct(plans, pnodes):
        loader.kernel_op()     # MXNet's extension glue: built once per machine, seconds
    _record(source, path, seconds, hit, len(plans), sum(len(p.nodes) for p in plans))
    repl, removed, fused = {}, set(), []
    for p in plans:
        p.op.address = addr[p.name]
        first = p.nodes[0]
        node = PNode(p.op, (), [tuple(n.shapes[k]) for n, k in p.outputs],
                     [n.dtypes[k] for n, k in p.outputs], first.where, list(p.inputs),
                     first.ctx, max(n.rank for n in p.nodes))
        for j, (n, k) in enumerate(p.outputs):
            repl[(n, k)] = ("n", node, j)
        removed.update(p.nodes)
        fused.append(node)
    kept = [n for n in pnodes if n not in removed] + fused
    pouts = _apply(kept, pouts, repl)
    return from_ir(kept, pouts)


def native_lowering(n, args):
    """A lowering of node ``n`` for a graph MXNet differentiates (phase A of a two-phase
    graph) through one of the glue's operators, given its lowered operands; None
    where MXNet's own operators are to be used. ``maximum(x, s)`` of a float array
    and a baked number is one pass each way (``_maximum_scalar`` and its backward
    are two slower ones); its NumPy semantics and MinPy's gradient are the glue's."""
    if n.op.name != "maximum" or len(args) != 2 or mode() == "off":
        return None
    x, s = args
    if type(s) not in (int, float) or not hasattr(x, "as_nd_ndarray") or \
            str(n.dtypes[0]) not in ("float32", "float64") or \
            str(getattr(x, "dtype", "")) != str(n.dtypes[0]) or toolchain.compiler() is None:
        return None
    try:
        op = loader.extension_op("_minpy_maximum_scalar")
    except Exception:       # the glue cannot be built here: MXNet's operator
        return None
    return lambda F: op(x.as_nd_ndarray(), scalar=repr(float(s))).as_np_ndarray()


def _direct(plans, pnodes) -> bool:
    """Whether the fused graph will be one kernel reading only graph inputs, run by the
    direct vehicle (which needs no MXNet operator)."""
    return config.codegen_direct and len(plans) == 1 and \
        len(plans[0].nodes) == len(pnodes) and all(d[0] in ("x", "s") for d in plans[0].inputs)


def direct_graph(order, descs, outs, ext, ctx, nodes, consts):
    """A ``DirectGraph`` when the fused graph is one kernel reading only graph inputs
    (``config.codegen_direct``), else None."""
    if not config.codegen_direct or len(order) != 1 or not isinstance(order[0].op, FusedOp):
        return None
    if any(d[0] not in ("x", "s") for d in descs[0]):
        return None
    from .direct import DirectGraph
    node = order[0]
    try:
        return DirectGraph(node.op.address, descs[0], ext, list(zip(node.shapes, node.dtypes)),
                           [k for _, k in outs], nodes, consts, ctx)
    except toolchain.CompileError:       # the runtime did not build: MXNet runs the kernel
        return None


def _record(source, path, seconds, hit, kernels, nodes) -> None:
    _stats.bump("fused_kernels", kernels)
    _stats.bump("fused_nodes", nodes)
    _stats.bump("kernel_compile_seconds", seconds)
    _stats.bump("kernel_disk_hits" if hit else "kernel_builds", 1)
    with _lock:
        _sources.append(source)
    dump = os.environ.get(DUMP_ENV)
    if dump:
        os.makedirs(dump, exist_ok=True)
        name = os.path.basename(path)[:-3] + ".cc"
        with open(os.path.join(dump, name), "w") as f:
            f.write(source)
