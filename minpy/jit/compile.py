"""From pending nodes to a cached, bound MXNet executor (and back to values).

``run_graph`` is called by a flush. It orders the pending nodes a set of
outputs needs, computes a canonical key (operators, attributes, wiring, input
shapes and dtypes, output positions, context) and looks it up in an LRU cache
of compiled graphs. Only on a miss does it run the graph passes, build the
MXNet symbol and bind an executor.
"""
from __future__ import annotations

import collections
import math as _math
import threading
import time

import ctypes as _ctypes

import mxnet as _mx
import numpy as _onp
from mxnet.base import NDArrayHandle as _NDHandle, _LIB, c_array as _c_array
from mxnet.base import check_call as _check_call, mx_uint as _uint

from ..config import config as _mconfig
from ..dispatch import call as _call
from ..dispatch import errno_guard as _errno_guard
from ..ops import _util as _ops_util
from ..ops.fused import MX_BACKWARD_OPS
from . import counters as _stats
from . import codegen, native_grad, two_phase
from .config import config
from .graph import Failed, LRef, format_where
from .exclusive import _Busy, _exclusive  # noqa: F401 - vehicles here and elsewhere
from .binding import BIND_LOCK as _COMPILE_LOCK, quiet_native_stderr as _quiet_native_stderr
from .binding import bind as _bind, rebound as _rebound
from .passes import optimise

_MXND = _mx.np.ndarray
_F64 = _onp.dtype("float64")
_I64 = _onp.dtype("int64")
_INTERPRET = "interpret"

cache: "collections.OrderedDict" = collections.OrderedDict()
last_graph = None      # ((op, attrs, inputs) per node, outputs) of the latest flush


class LazyEvaluationError(ValueError):
    """An MXNet failure while evaluating recorded nodes (names the op and line)."""


def run_epoch(engine, nodes, ext, scalars, refs, reason, where) -> None:
    """Fast path: the refs all belong to the epoch ``nodes`` (keys built at record time)."""
    ctx = nodes[0].ctx
    outs = tuple([(r.node.pos, r.index) for r in refs])
    key = _Key((tuple([n.desc for n in nodes]), outs, ctx, config.codegen))
    # whether the nodes span contexts matters only when compiling: found on a miss
    _execute(engine, key, nodes, None, ext, scalars, outs, refs, None, reason, where, True)


def _spans_contexts(nodes) -> bool:
    ctx = nodes[0].ctx
    for n in nodes:
        if n.ctx is not ctx and n.ctx != ctx:
            return True
    return False


class _Key:
    """A graph key that hashes its large nested contents once, not per lookup."""

    __slots__ = ("items", "h")

    def __init__(self, items) -> None:
        self.items = items
        self.h = hash(items)

    def __hash__(self) -> int:
        return self.h

    def __eq__(self, other) -> bool:
        return type(other) is _Key and other.h == self.h and other.items == self.items

    def __getitem__(self, i):
        return self.items[i]


def _describe(order):
    """Indexed input descriptions, external buffers and scalars of a graph built
    from nodes of several epochs (the rare, slow path)."""
    pos = {id(n): i for i, n in enumerate(order)}
    ext, ext_ids, scalars, descs = [], {}, [], []
    for n in order:
        ins = []
        for x in n.inputs:
            t = type(x)
            if t is LRef:
                if x.value is None:
                    ins.append((pos[id(x.node)], x.index))
                    continue
                x = x.value
                t = type(x)
            if t is _MXND:
                k = ext_ids.get(id(x))
                if k is None:
                    k = ext_ids[id(x)] = len(ext)
                    ext.append(x)
                ins.append(("x", k))
            else:
                ins.append(("s", t, len(scalars)))
                scalars.append(x)
        descs.append(tuple(ins))
    return descs, ext, scalars, pos


def run_graph(engine, refs, reason, where, detach: bool = True) -> None:
    """Slow path: compute refs whose nodes span epochs (ordered by dependencies);
    ``detach=False`` keeps the refs' nodes (a flush in progress still describes them)."""
    order = _topo(refs)
    descs, ext, scalars, pos = _describe(order)
    outs = tuple((pos[id(r.node)], r.index) for r in refs)
    ctx = order[0].ctx
    # a Failed input (an array whose own computation raised) is handled node by node
    mixed = any(n.ctx != ctx for n in order) or any(type(v) is Failed for v in ext)
    key = _Key(("multi-epoch", tuple((n.op, n.attrs, d) for n, d in zip(order, descs)),
                tuple((getattr(v, "shape", None), getattr(v, "dtype", None)) for v in ext),
                outs, ctx, config.codegen))
    _execute(engine, key, order, descs, ext, scalars, outs, refs, mixed, reason, where,
             detach)


def _topo(refs):
    """Nodes the refs need, producers before consumers."""
    order, state = [], {}
    for r in refs:
        stack = [(r.node, False)]
        while stack:
            n, done = stack.pop()
            if done:
                if state.get(id(n)) != 2:
                    state[id(n)] = 2
                    order.append(n)
                continue
            if id(n) in state:
                continue
            state[id(n)] = 1
            stack.append((n, True))
            for x in n.inputs:
                if type(x) is LRef and x.value is None and id(x.node) not in state:
                    stack.append((x.node, False))
    return order


def _indexed(nodes):
    """Record-time descriptions with external and scalar positions numbered."""
    descs, j = [], 0
    for n in nodes:
        ins = []
        for d in n.desc[2]:
            if d[0] == "x":
                ins.append(("x", d[1]))
            elif d[0] == "s":
                ins.append(("s", d[1], j))
                j += 1
            else:
                ins.append(d)
        descs.append(tuple(ins))
    return descs


def _live_nodes(descs, outs):
    """Dead-code elimination: positions of the nodes the outputs depend on."""
    need = set(p for p, _ in outs)
    for i in range(len(descs) - 1, -1, -1):
        if i in need:
            for d in descs[i]:
                if type(d[0]) is int:
                    need.add(d[0])
    return need


class _Entry:
    """Cache entry for one graph structure.

    Python scalars are first baked into the graph as constants (MXNet's fast
    scalar operators); a scalar position whose value changes between flushes
    is promoted to a graph input and the graph recompiled once, so a varying
    learning rate costs one extra compile, not one per step.
    """

    __slots__ = ("baked", "by_values", "last", "key")

    def __init__(self, nscalars: int, key=None) -> None:
        self.key = key            # the key it was stored under (the same object)
        self.baked = tuple(range(nscalars)) if config.scalar_promotion == "speculative" else ()
        self.by_values: dict = {}
        self.last = None


# the LRU cache and its entries are shared by every thread's engine
_CACHE_LOCK = threading.Lock()


def _execute(engine, key, nodes, descs, ext, scalars, outs, refs, mixed, reason, where,
             detach=True):
    global last_graph
    with _CACHE_LOCK:
        entry = cache.get(key)
        if entry is None:
            entry = cache[key] = _Entry(len(scalars), key)
            while len(cache) > config.cache_capacity:
                cache.popitem(last=False)
        elif next(reversed(cache)) is not entry.key:
            # a loop flushing one graph finds it most recent already: no second
            # comparison of the whole key to move it there
            cache.move_to_end(key)
        baked = entry.baked
        vkey = _values_key(scalars, baked) if baked else ()
        compiled = entry.by_values.get(vkey)
        if compiled is None and entry.by_values and entry.last is not None:
            changed = {i for i in baked if not _same(scalars[i], entry.last[i])}
            entry.baked = baked = tuple(i for i in baked if i not in changed)
            entry.by_values.clear()
            vkey = _values_key(scalars, baked)
        entry.last = scalars
    hit = compiled is not None
    if not hit:
        if descs is None:
            descs = _indexed(nodes)
        keep = _live_nodes(descs, outs)
        if mixed is None:
            mixed = _spans_contexts(nodes)
        if mixed or len(keep) < config.min_graph_nodes:
            compiled = _INTERPRET
        else:
            try:
                compiled = _compile(engine, nodes, descs, keep, ext, scalars,
                                    _bakeable(scalars, baked), outs, nodes[0].ctx)
            except codegen.SettingError:
                raise                # codegen="always" without a compiler, or a bad setting
            except Exception:        # compiling must never cost correctness: interpret
                compiled = _INTERPRET
        with _CACHE_LOCK:
            if len(entry.by_values) >= 64:
                entry.by_values.clear()
            entry.by_values[vkey] = compiled
    _stats.flushed(reason, where, len(nodes), hit)
    values = None
    if compiled is not _INTERPRET:
        values = run_checked(compiled, ext, scalars)
        if values is not None:
            _stats.executed(compiled.nodes)
    if values is None:
        # interpreted, or the graph failed as a whole: node by node, so that an error
        # stays with the outputs of the node that raised it (and what reads them)
        if descs is None:
            descs = _indexed(nodes)
        values = _interpret(nodes, descs, ext, scalars, outs)
    items = key.items
    last_graph = (items[1] if items[0] == "multi-epoch" else items[0], outs)
    for r, v in zip(refs, values):
        r.value = v
        if detach:
            r.node = None


def _bakeable(scalars, baked) -> set:
    """The baked positions whose values MXNet can hold as an operator attribute: its
    parameter parser refuses inf and nan ("Out of range value for scalar"), so those
    are fed as graph inputs instead."""
    return {i for i in baked if type(scalars[i]) is not float or _math.isfinite(scalars[i])}


def run_checked(compiled, ext, scalars):
    """Run a compiled graph and wait until its outputs exist; None if it failed.

    MXNet reports a failing operator asynchronously, on the arrays it should have
    written, and forgets the error once one of them has been read: every other
    output of the graph would then read uninitialised memory without an error.
    So a graph's outputs are handed out only once they are known to be computed."""
    try:
        values = compiled.run(ext, scalars)
    except Exception:        # MXNetError (synchronous), _Busy
        return None
    # a vehicle whose outputs exist when ``run`` returns (a kernel called directly, not
    # through MXNet's engine) has nothing to wait for
    if config.wait_outputs and not compiled.synchronous and not _settled(values):
        return None
    return values


def _settled(values) -> bool:
    """Wait for every array; False if any reports an MXNet failure. Every one is read,
    so that no reported failure stays behind in MXNet (it would surface later, on an
    unrelated wait, or at exit)."""
    ok = True
    for v in values:
        if type(v) is not Failed:
            try:
                v.wait_to_read()
            except Exception:     # MXNetError, or the IndexError/ValueError... MXNet maps to
                ok = False
    return ok


def _same(a, b) -> bool:
    return type(a) is type(b) and (a == b and _zero_sign(a) == _zero_sign(b) or
                                   a != a and b != b)


def _zero_sign(v):
    """-0.0 apart from 0.0 (they compare equal; ``1 / v`` and ``copysign`` tell them apart)."""
    return type(v) is float and v == 0 and _math.copysign(1.0, v) < 0


def _values_key(scalars, baked) -> tuple:
    # ``baked`` is every position when its length is (positions only ever drop out)
    vals = tuple(scalars) if len(baked) == len(scalars) else tuple([scalars[i] for i in baked])
    if 0 in vals:       # rare: only a zero can be -0.0, which must key apart from 0.0
        return tuple([(v, True) if _zero_sign(v) else v for v in vals])
    return vals


# ----------------------------------------------------------------------------- interpreting

def _node_error(n, e: Exception) -> Failed:
    where = format_where(n.where)
    msg = str(e)
    native = isinstance(e, _mx.base.MXNetError) or "Traceback (most recent call last)" in msg
    if native:     # MXNet's own text (a C++ traceback): its informative line
        msg = f"minpy.numpy.{n.op.name} (recorded at {where}): MXNet failed: " \
              f"{_call.mx_message(e)}"
        # MXNetError, or the builtin class MXNet maps the error to (IndexError...)
        return Failed(LazyEvaluationError if isinstance(e, _mx.base.MXNetError) else type(e),
                      msg)
    if not msg.startswith("minpy"):
        msg = f"minpy.numpy.{n.op.name} (recorded at {where}): {msg}"
    return Failed(type(e), msg)


def _run_node(order, descs, ext, scalars, i, n, args, wait: bool):
    if n.op is native_grad.VJP:
        res = native_grad.interpret(order, descs, ext, scalars, i)
    else:
        attrs = dict(n.attrs)
        _errno_guard.guard(args)
        _errno_guard.guard(attrs.values())
        with n.ctx.mx:
            res = n.op.mx(_mx.nd, *args, **attrs)
        res = list(res) if n.op.multi else [res]
        res = [r if r.dtype == d else r.astype(d) for r, d in zip(res, n.dtypes)]
    if wait:
        for r in res:
            r.wait_to_read()
    return res


def _interpret(order, descs, ext, scalars, outs, careful: bool = False):
    """Run the needed nodes one by one eagerly (graphs MXNet cannot compile, tiny ones,
    graphs that failed as a whole). A node that raises gets a ``Failed`` value, as do
    the nodes computed from it; the others are computed. Unless ``careful``, the
    outputs are waited for at the end and, if MXNet failed asynchronously, the graph
    runs again carefully: waiting after each node to see which one failed."""
    keep = _live_nodes(descs, outs)
    vals = [None] * len(order)
    for i, (n, ins) in enumerate(zip(order, descs)):
        if i not in keep:
            continue
        args = []
        failed = None
        for d in ins:
            if d[0] == "x":
                v = ext[d[1]]
            elif d[0] == "s":
                v = scalars[d[2]]
            else:
                v = vals[d[0]][d[1]]
            if type(v) is Failed:
                failed = v
                break
            args.append(v)
        if failed is None:
            try:
                res = _run_node(order, descs, ext, scalars, i, n, args, careful)
            except Exception as e:
                failed = _node_error(n, e)
        vals[i] = res if failed is None else [failed] * len(n.shapes)
    _stats.bump("interpreted_nodes", len(keep))
    values = [vals[p][i] for p, i in outs]
    if not careful and not _settled(values):
        return _interpret(order, descs, ext, scalars, outs, careful=True)
    return values


# ----------------------------------------------------------------------------- compiling

def _meta(sym, shape, dtype):
    sym.shape = shape
    sym.ndim = len(shape)
    sym.dtype = dtype
    return sym


def _scalar_dtype(value, node, arg_dtypes):
    kinds = "b" if type(value) is bool else ("iuf" if type(value) is int else "f")
    for dt in arg_dtypes:
        if dt is not None and dt.kind in kinds:
            if dt.kind in "iu" and node.dtypes[0].kind == "b":
                # a comparison: NumPy compares an int outside the array's range in a
                # wider type (``uint8_array < -1``); int64 gives its answer for any value
                return _I64
            return dt
    out = node.dtypes[0]
    return out if out.kind in kinds else _mconfig.default_dtype


def _build(order, descs, keep, ext, scalars, baked, casts, sdtypes, native=False, block=False):
    """Symbols of the kept nodes; ``native``: the graph MXNet differentiates (operators
    lowered so that MXNet's gradient is MinPy's, registry ``mxgrad``); ``block``: for a
    CachedOp, which builds its gradient graph when made and refuses MXNet's backward
    operators (they have no gradient) unless a BlockGrad stops the gradient first."""
    _ops_util.lowering.plain_layouts = not any(
        order[i].op.name in _ops_util.BLOCKED_LAYOUT_OPS for i in keep)
    try:
        return _build_symbols(order, descs, keep, ext, scalars, baked, casts, sdtypes, native,
                              block)
    finally:
        _ops_util.lowering.plain_layouts = False


def _build_symbols(order, descs, keep, ext, scalars, baked, casts, sdtypes, native, block):
    F = _mx.sym
    ins = {}
    svars = {}

    def piece(k, dt, zero_d):
        v = svars.get(k)
        if v is None:
            v = svars[k] = F.var(f"s{k}", shape=(1,), dtype=dt.name).as_np_ndarray()
        sdtypes[k] = dt
        return _meta(F.np.reshape(v, ()) if zero_d else v, () if zero_d else (1,), dt)

    built = [None] * len(order)
    for i, (n, desc) in enumerate(zip(order, descs)):
        if i not in keep:
            continue
        args = [None] * len(desc)
        dts = []
        for j, d in enumerate(desc):
            if d[0] == "x":
                k = d[1]
                v = ins.get(k)
                if v is None:
                    b = ext[k]
                    v = ins[k] = _meta(F.var(f"in{k}").as_np_ndarray(), tuple(b.shape),
                                       _onp.dtype(b.dtype))
                args[j] = v
                dts.append(v.dtype)
            elif d[0] != "s":
                args[j] = built[d[0]][d[1]]
                dts.append(args[j].dtype)
            else:
                dts.append(None)
        for j, d in enumerate(desc):
            if d[0] == "s":
                k = d[2]
                if k in baked:
                    args[j] = scalars[k]
                else:
                    hint = getattr(n.op, "scalar_dtypes", None)
                    dt = hint[k] if hint and k in hint else _scalar_dtype(scalars[k], n, dts)
                    args[j] = piece(k, dt, n.shapes[0] == ())
        lower = n.op.mxgrad if native and callable(n.op.mxgrad) else n.op.mx
        try:
            own = codegen.native_lowering(n, args) if native else None
            res = own(F) if own is not None else lower(F, *args, **dict(n.attrs))
        except Exception as e:
            raise _LoweringFailed(i, e) from None
        res = list(res) if n.op.multi else [res]
        if block and (n.op.name in MX_BACKWARD_OPS or getattr(n.op, "no_gradient", False)):
            res = [F.BlockGrad(r.as_nd_ndarray()).as_np_ndarray() for r in res]
        outs = []
        for k, (r, shp, dt) in enumerate(zip(res, n.shapes, n.dtypes)):
            if (i, k) in casts:
                r = r.astype(dt.name)
            outs.append(_meta(r, shp, dt))
        built[i] = outs
    return built




def _lowered(order, descs, keep, ext, scalars, baked, native=False, block=False):
    """``_build`` with the casts ``_check`` finds MXNet's dtypes need; the symbols and
    the dtypes of promoted scalars."""
    sdtypes = {}
    built = _build(order, descs, keep, ext, scalars, baked, set(), sdtypes, native, block)
    try:
        casts, bad = _check(order, built, keep, ext, sdtypes)
    except _mx.base.MXNetError:
        # MXNet's type inference stops where a node gets operands of two dtypes: a result
        # computed wider than NumPy's dtype (float32 / int64 runs in float64, then rounds)
        # reaching an operator that needs one dtype. Cast every promoting node's outputs to
        # their dtypes first, then check again.
        first = {(i, k) for i in keep for k in range(len(built[i]))
                 if getattr(getattr(order[i], "op", None), "promote", False)}
        built = _build(order, descs, keep, ext, scalars, baked, first, sdtypes, native, block)
        casts, bad = _check(order, built, keep, ext, sdtypes)
        casts = casts | first if casts is not None else casts
    if bad is not None:
        raise _LoweringFailed(bad[0], ValueError(bad[1]))
    for _ in range(8):
        if not casts:
            break
        built = _build(order, descs, keep, ext, scalars, baked, casts, sdtypes, native, block)
        # a cast changes what later lowerings read (``where(c, 4, fabs(float16 x))`` picks
        # its dtype from the operand that is now float16, not float32): check again
        more, bad = _check(order, built, keep, ext, sdtypes)
        if bad is not None:
            raise _LoweringFailed(bad[0], ValueError(bad[1]))
        if not more:
            break
        casts = casts | more
    return built, sdtypes


class _LoweringFailed(Exception):
    def __init__(self, index, error):
        super().__init__(str(error))
        self.index = index
        self.error = error


def _arg_types(ext):
    types = {f"in{k}": _onp.dtype(v.dtype) for k, v in enumerate(ext)}
    shapes = {f"in{k}": tuple(v.shape) for k, v in enumerate(ext)}
    return types, shapes


def _check(order, built, keep, ext, sdtypes):
    """Casts needed where MXNet's dtype differs from NumPy's; a reason if shapes differ."""
    idx = [(i, k) for i in sorted(keep) for k in range(len(built[i]))]
    grp = _mx.sym.Group([built[i][k] for i, k in idx])
    types, shapes = _arg_types(ext)
    types.update({f"s{k}": dt for k, dt in sdtypes.items()})
    shapes.update({f"s{k}": (1,) for k in sdtypes})
    names = set(grp.list_arguments())
    _, out_types, _ = grp.infer_type(**{k: v for k, v in types.items() if k in names})
    _, out_shapes, _ = grp.infer_shape(**{k: v for k, v in shapes.items() if k in names})
    casts = set()
    for (i, k), t, s in zip(idx, out_types, out_shapes):
        if tuple(s) != tuple(order[i].shapes[k]):
            return None, (i, f"MXNet gives shape {tuple(s)}, NumPy {order[i].shapes[k]}")
        if _onp.dtype(t) != order[i].dtypes[k]:
            casts.add((i, k))
    return casts, None


def _compile(engine, order, descs, keep, ext, scalars, baked, outs, ctx):
    with _COMPILE_LOCK:
        return _compile_unlocked(engine, order, descs, keep, ext, scalars, baked, outs, ctx)


def _compile_unlocked(engine, order, descs, keep, ext, scalars, baked, outs, ctx):
    t0 = time.perf_counter()
    _errno_guard.clear_errno()     # attributes of inf (clip bounds) parse as numbers
    try:
        original, consts = order, []
        try:
            order, descs, keep, outs, consts = optimise(order, descs, keep, outs, scalars, baked,
                                                        ext)
        except Exception:            # a pass must never cost correctness: compile as recorded
            order = original
        ext = list(ext) + consts     # folded constants are inputs after the recorded ones
        parts = native_grad.split(order, descs, keep, outs)
        if parts is not None:        # MXNet runs the backward pass: two phases
            def build(o, d, k, e, native):
                return _lowered(o, d, k, e, scalars, baked, native=native)

            def fuse(o, d, k, out, e, whole=False):   # phase B (reads the gradients) fuses
                return _fused(o, d, k, out, e, scalars, baked, whole)
            try:
                return two_phase.compile_two_phase(order, descs, ext, outs, ctx, parts, build,
                                                     consts, fuse=fuse)
            except (_LoweringFailed, _mx.base.MXNetError, ValueError):
                return _INTERPRET
        fused = _fused(order, descs, keep, outs, ext, scalars, baked)
        if fused is not None:
            order, descs, keep, outs = fused
            direct = codegen.direct_graph(order, descs, outs, ext, ctx, len(keep), consts)
            if direct is not None:
                return direct
        vehicle = config.vehicle
        promote = None
        if vehicle == "auto":
            size = sum(int(_onp.prod(order[p].shapes[k])) for p, k in outs)
            vehicle = "cachedop" if size >= config.cachedop_min_elements else "executor"
            if vehicle == "executor":     # until its copies show it is the wrong one
                promote = _cachedop_rebuild(order, descs, keep, ext, scalars, baked, outs, ctx,
                                            consts)
        try:
            built, sdtypes = _lowered(order, descs, keep, ext, scalars, baked,
                                      block=vehicle == "cachedop")
        except _LoweringFailed as f:
            info = getattr(order[f.index], "info", None)
            if info is not None:       # lazy mode runs this signature eagerly from now on
                info.eager = True
            return _INTERPRET
        except _mx.base.MXNetError:
            return _INTERPRET
        syms = [built[p][i] for p, i in outs]
        try:
            compiled = _VEHICLES[vehicle](syms, ext, sdtypes, ctx, len(keep), consts)
            if promote is not None:
                compiled.promote = promote
            return compiled
        except _mx.base.MXNetError:
            pass
        try:       # the chosen vehicle could not be made: the bound executor
            return _Compiled(syms, ext, sdtypes, ctx, len(keep), consts)
        except _mx.base.MXNetError:
            return _INTERPRET
    finally:
        _stats.bump("compile_seconds", time.perf_counter() - t0)


def _fused(order, descs, keep, outs, ext, scalars, baked, whole=False):
    """The graph with generated kernels for its fusible clusters (``codegen``), or None
    (with ``whole``, also None unless every node is fusible)."""
    if codegen.mode() == "off":
        return None
    try:
        return codegen.fuse_graph(order, descs, keep, outs, ext, scalars, baked, _scalar_dtype,
                                  whole)
    except codegen.SettingError:
        raise
    except Exception as e:          # a kernel that cannot be built costs speed, never a result
        _stats.bump("kernel_failures")
        import warnings
        warnings.warn(f"minpy.jit: generated kernels were skipped for a graph: {e}",
                      RuntimeWarning, stacklevel=2)
        return None


class _NodeFacts:
    """The parts of a node that lowering reads."""
    __slots__ = ("op", "attrs", "shapes", "dtypes")

    def __init__(self, n) -> None:
        self.op, self.attrs, self.shapes, self.dtypes = n.op, n.attrs, n.shapes, n.dtypes


def _cachedop_rebuild(order, descs, keep, ext, scalars, baked, outs, ctx, consts):
    """A call that builds this graph as a CachedOp later, keeping what lowering reads
    rather than the recorded nodes and buffers (which hold computed values)."""
    facts = [_NodeFacts(n) for n in order]
    metas = [two_phase._Placeholder(v.shape, v.dtype) for v in ext]
    svals = list(scalars)

    def rebuild():
        with _COMPILE_LOCK:
            built, sdtypes = _lowered(facts, descs, keep, metas, svals, baked, block=True)
            return _CachedGraph([built[p][i] for p, i in outs], metas, sdtypes, ctx, len(keep),
                                consts)
    return rebuild


class _Compiled:
    """A bound executor and the input arrays it reads (the "executor" vehicle).

    Inputs are copied into the executor's own arrays, skipped when the same
    immutable buffer was fed last time; outputs are copied out because the
    next run overwrites them. Under ``vehicle="auto"`` a graph whose second and
    third runs both copied ``cachedop_min_copied`` input elements or more (a
    training step, whose weights are new buffers every time) moves to the
    CachedOp vehicle, which passes inputs by reference; graphs fed the same
    buffers (a chain over fixed arrays) keep the executor, which ran them faster.
    """

    __slots__ = ("exe", "views", "fill", "last", "svars", "nodes", "unpack", "consts", "sizes",
                 "promote", "alt", "runs", "heavy", "lock", "active")
    synchronous = False  # outputs may still be computed by MXNet's engine

    def __init__(self, syms, ext, sdtypes, ctx, nodes, consts=()) -> None:
        self.lock, self.active = threading.RLock(), False
        self.promote = self.alt = None
        self.runs = self.heavy = 0
        self.sizes = [int(_onp.prod(v.shape)) for v in ext]    # ext holds the consts already
        self.consts = list(consts)
        group, self.unpack = _pack(syms)
        names = group.list_arguments()
        types = {f"in{k}": v.dtype for k, v in enumerate(ext)}
        types.update({f"s{k}": dt for k, dt in sdtypes.items()})
        args = {}
        with ctx.mx:
            for k, v in enumerate(ext):
                if f"in{k}" in names:
                    args[f"in{k}"] = _mx.nd.zeros(tuple(v.shape), dtype=v.dtype)
            for n in names:
                if n[0] == "s":
                    args[n] = _mx.nd.zeros((1,), dtype=types[n])
        self.exe = _bind(group, ctx.mx, args=args, grad_req="null")
        d = self.exe.arg_dict
        self.views = [d[f"in{k}"].as_np_ndarray() if f"in{k}" in d else None for k in range(len(ext))]
        self.fill = [(d[f"in{k}"], _onp.dtype(ext[k].dtype).name) if f"in{k}" in d else None
                     for k in range(len(ext))]
        self.last = [None] * len(ext)
        # promoted scalars: [position, input array, dtype name, last value fed]
        self.svars = [[int(n[1:]), d[n], _onp.dtype(types[n]).name, None]
                      for n in names if n[0] == "s"]
        self.nodes = nodes

    @_exclusive
    def run(self, ext, scalars):
        """Outputs for inputs ``ext`` (buffers, or Python scalars for 0-d inputs)."""
        if self.alt is not None:
            return self.alt.run(ext, scalars)
        if self.consts:
            ext = [*ext, *self.consts]
        views, last = self.views, self.last
        copied = 0
        for k, v in enumerate(ext):
            view = views[k]
            if view is None:
                continue
            t = type(v)
            if t is float or t is int or t is bool:
                if t is not type(last[k]) or v != last[k] or \
                        v == 0 and _zero_sign(v) != _zero_sign(last[k]):
                    arr, dt = self.fill[k]
                    _FULL(shape=(), value=float(v), dtype=dt, out=arr)
                    last[k] = v
            elif v is not last[k]:
                v.copyto(view)
                last[k] = v
                copied += self.sizes[k]
        if self.promote is not None:
            self._watch(copied)
        _feed_scalars(self.svars, scalars)
        try:
            outs = self.exe.forward(is_train=False)
        except Exception:
            self.exe = _rebound(self.exe)      # the naive engine left it unusable
            raise
        copies = [o.copy() for o in outs]
        return [copies[k].as_np_ndarray() if shape is None else _view(copies[k], a, b, shape)
                for k, a, b, shape in self.unpack]

    def _watch(self, copied: int) -> None:
        """Runs 2 and 3 decide (run 1 copies every input); then the rebuild is dropped,
        with the first inputs it kept alive."""
        self.runs += 1
        if self.runs >= 2 and copied >= config.cachedop_min_copied:
            self.heavy += 1
        if self.runs < 3:
            return
        promote, self.promote = self.promote, None
        if self.heavy >= 2:
            try:
                self.alt = promote()
            except (_LoweringFailed, _mx.base.MXNetError):
                self.alt = None


def _pack(syms):
    """One executor output per dtype for the outputs of that dtype, flattened and
    concatenated (so one copy serves them all; each is handed out as a view), and
    how to cut them apart again."""
    groups = {}
    for j, sym in enumerate(syms):
        # large outputs are copied on their own (packing would copy them twice)
        small = int(_onp.prod(sym.shape)) <= config.pack_max_elements
        groups.setdefault((sym.dtype, small) if small else ("alone", j), []).append(j)
    outputs, unpack = [], [None] * len(syms)
    for members in groups.values():
        if len(members) < 2 or not config.pack_outputs:
            for j in members:
                unpack[j] = (len(outputs), None, None, None)
                outputs.append(syms[j])
            continue
        outputs.append(packed(syms, members, unpack, len(outputs)))
    return _mx.sym.Group(outputs), unpack


def packed(syms, members, unpack, slot: int):
    """The symbols ``members`` flattened and concatenated as output ``slot``; records in
    ``unpack`` where each one lies in it (start, stop, shape)."""
    start, parts = 0, []
    for j in members:
        shape = tuple(syms[j].shape)
        size = int(_onp.prod(shape)) if shape else 1
        unpack[j] = (slot, start, start + size, shape)
        parts.append(_mx.sym.np.reshape(syms[j], (-1,)))
        start += size
    return _mx.sym.np.concatenate(parts, axis=0)


def _view(flat, start: int, stop: int, shape: tuple):
    """``flat[start:stop].reshape(shape)`` as a MinPy-ready view, without MXNet's
    (slow) Python indexing: two C calls."""
    h = _NDHandle()
    _check_call(_LIB.MXNDArraySlice(flat.handle, _uint(start), _uint(stop), _ctypes.byref(h)))
    out = _NDHandle()
    try:
        _check_call(_LIB.MXNDArrayReshape64(h, len(shape), _c_array(_ctypes.c_int64, shape), False,
                                       _ctypes.byref(out)))
    finally:
        _check_call(_LIB.MXNDArrayFree(h))
    return _MXND(handle=out)


class _CachedGraph:
    """The graph as an MXNet CachedOp with static allocation (the "cachedop"
    vehicle): inputs are passed by reference and every call returns fresh
    outputs, so nothing is copied in or out."""

    __slots__ = ("op", "order", "svars", "consts", "nodes", "ctx", "folded", "lock", "active")
    synchronous = False  # outputs may still be computed by MXNet's engine

    def __init__(self, syms, ext, sdtypes, ctx, nodes, folded=()) -> None:
        self.lock, self.active = threading.RLock(), False
        self.folded = list(folded)
        group = _mx.sym.Group(syms)
        names = group.list_arguments()
        with _quiet_native_stderr():
            self.op = _mx.nd.CachedOp(group, [("static_alloc", "true"), ("static_shape", "true")])
        self.order = [("x", int(n[2:])) if n[0] == "i" else ("s", int(n[1:])) for n in names]
        self.svars = []
        self.consts = {}
        with ctx.mx:
            for n in names:
                if n[0] == "s":
                    k = int(n[1:])
                    arr = _mx.nd.zeros((1,), dtype=sdtypes[k])
                    self.svars.append([k, arr, _onp.dtype(sdtypes[k]).name, None])
                    self.consts[("s", k)] = arr
                else:
                    k = int(n[2:])
                    self.consts[("x", k)] = [_mx.nd.zeros(tuple(ext[k].shape), dtype=ext[k].dtype),
                                             _onp.dtype(ext[k].dtype).name, None]
        self.nodes = nodes
        self.ctx = ctx

    @_exclusive
    def run(self, ext, scalars):
        if self.folded:
            ext = [*ext, *self.folded]
        args = []
        for kind, k in self.order:
            if kind == "x":
                v = ext[k]
                t = type(v)
                if t is float or t is int or t is bool:
                    slot = self.consts[("x", k)]
                    if t is not type(slot[2]) or v != slot[2] or \
                            v == 0 and _zero_sign(v) != _zero_sign(slot[2]):
                        _FULL(shape=(), value=float(v), dtype=slot[1], out=slot[0])
                        slot[2] = v
                    args.append(slot[0])
                else:
                    args.append(v.as_nd_ndarray())
            else:
                args.append(self.consts[("s", k)])
        _feed_scalars(self.svars, scalars)
        with self.ctx.mx:
            outs = self.op(*args)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        return [o.as_np_ndarray() for o in outs]


def _feed_scalars(svars, scalars) -> None:
    for sv in svars:
        v = scalars[sv[0]]
        if type(v) is not type(sv[3]) or v != sv[3] or \
                v == 0 and _zero_sign(v) != _zero_sign(sv[3]):
            _FULL(shape=(1,), value=float(v), dtype=sv[2], out=sv[1])
            sv[3] = v


_VEHICLES = {"executor": _Compiled, "cachedop": _CachedGraph}
_FULL_OP = _mx.nd._internal._full


def _FULL(shape, value, dtype, out):  # noqa: N802 - replaces MXNet's _full at its call sites
    """MXNet's ``_full`` into ``out``; -0.0 is copied in, since ``_full`` writes +0.0 for
    any zero (``x / s`` with a promoted scalar ``s = -0.0`` gave +inf)."""
    if value == 0 and _math.copysign(1.0, value) < 0 or not _math.isfinite(value):
        out[:] = _onp.full(shape, value, dtype=dtype)      # (and inf / nan: see _bakeable)
        return
    _FULL_OP(shape=shape, value=value, dtype=dtype, out=out)
