"""The path every MinPy call takes: bind arguments, normalise operands, pick a
backend, infer shape and dtype, run (or record), and tape for autograd."""
from __future__ import annotations

import threading
import warnings as _warnings

import mxnet as _mx
import numpy as _onp

from .. import context as _context
from ..config import config as _config
from . import errno_guard as _errno_guard
from . import policy as _policy
from . import stats as _stats
from .registry import Op
from .infer import (_HOLDABLE, _SCALAR_DUMMY, Inferred, _after_casts, _dummy,  # noqa: F401
                    _rename, _shape_cache, demote, infer, round_scalar)

F_ND = _mx.nd            # eager lowering namespace (F.np, F.npx)


def _enable_numpy_shapes() -> None:
    """NumPy shape semantics (0-d and zero-size arrays), for every thread."""
    import ctypes
    prev = ctypes.c_int()
    _mx.base.check_call(_mx.base._LIB.MXSetIsNumpyShape(ctypes.c_int(2), ctypes.byref(prev)))


_enable_numpy_shapes()
MXNetError = _mx.base.MXNetError
_SCALARS = (int, float, bool)
_TINY = 2.2250738585072014e-308   # smallest normal double: MXNet rejects smaller scalars
Array = None            # minpy.array.Array, bound when that module loads (no import on the hot path)
_F64 = _onp.dtype("float64")

# Hooks filled in by autograd and the lazy engine; kept as module globals so the
# common eager path is one attribute test each.
tape_hook = None        # callable(op, operands, attrs, results) when a gradient is being taken
grad_running = None     # callable() -> whether this thread is inside a grad call (autograd)
lazy_default = False    # lazy mode for threads that start using MinPy from now on
lazy_factory = None     # makes an engine; set by minpy.jit.engine


class _LazyState(threading.local):
    def __init__(self) -> None:
        self.engine = lazy_factory() if (lazy_default and lazy_factory is not None) else None
        self.spare = None


_lazy = _LazyState()


_ASTYPE = None          # the astype operator, bound once the registry is filled
_PREFER = _policy.PreferMXNetPolicy
_COUNTS = _stats._counts
_MX_CALLS = _stats._mx_calls


def lazy_engine():
    """The lazy engine recording this thread's calls, or None in eager mode."""
    return _lazy.engine


def checked_values(buf, check) -> _onp.ndarray:
    """The host values of computed buffer ``buf``, after ``check`` (which raises where
    NumPy would) has seen them. Inside a ``@jit`` trace the check also runs whenever a
    later call replays the graph: the trace checked the values it saw, each replay
    feeds the call's own (a new argument, a captured array written since)."""
    host = buf.asnumpy()
    check(host)
    eng = _lazy.engine
    if eng is not None and eng.tracing is not None:
        eng.tracing.note_check(buf, check)
    return host


# ----------------------------------------------------------------------------- binding

_PLAIN = (int, float, bool, str, type(None))


def _canon(v):
    t = type(v)
    if t in _PLAIN:
        return v
    if t is tuple and all(type(x) is int for x in v):
        return v
    if isinstance(v, list):
        return tuple(_canon(x) for x in v)
    if isinstance(v, tuple):
        return tuple(_canon(x) for x in v)
    if isinstance(v, (_onp.integer,)):
        return int(v)
    if isinstance(v, (_onp.floating,)):
        return float(v)
    if isinstance(v, _onp.dtype):
        return v.name
    if isinstance(v, type) and issubclass(v, (_onp.generic, float, int, bool)):
        return _onp.dtype(v).name
    if isinstance(v, Array):
        # an array where NumPy takes numbers (``axis=np.array(0)``, a shape as an array):
        # its values, read (inside a @jit trace that is a graph break: make it static)
        return _canon(v._host("parameter").tolist())
    if isinstance(v, _onp.ndarray):
        return _canon(v.tolist())
    return v


def _canon_kv(op: Op, k: str, v):
    """An attribute as the registry keys it; a ``dtype`` MXNet has no arrays of names
    the dtype that holds it (``np.zeros(3, dtype='uint16')`` is int32), except for
    ``astype``, whose lowering also wraps the values."""
    v = _canon(v)
    if k == "dtype" and v is not None and op.name != "astype":
        try:
            held = _HOLDABLE.get(_onp.dtype(v))
        except TypeError:
            return v
        if held is not None:
            return held.name
    return v


def bind_args(op: Op, args: tuple, kwargs: dict):
    """Split a NumPy-style call into (operands, attrs, out)."""
    out = kwargs.pop("out", None) if kwargs else None
    if kwargs is None:
        kwargs = {}
    if op.bind is not None:
        try:
            operands, attrs = op.bind(*args, **kwargs)
        except (TypeError, ValueError) as e:
            if "minpy" in str(e):
                raise
            raise _rename(op, e) from None
        return tuple(operands), tuple((k, _canon_kv(op, k, v)) for k, v in attrs), out
    nin = op.nin
    if len(args) < nin:
        names = op.params
        missing = nin - len(args)
        raise TypeError(f"minpy.numpy.{op.name}() missing {missing} required array argument(s)")
    operands = args[:nin]
    extra = args[nin:]
    if len(extra) == 1 and not op.params and out is None and type(op.np) is _onp.ufunc:
        out, extra = extra[0], ()       # a ufunc's out, given positionally (np.exp(x, z))
    if len(extra) > len(op.params):
        raise TypeError(f"minpy.numpy.{op.name}() takes {nin + len(op.params)} positional "
                        f"arguments but {len(args)} were given")
    if not kwargs:      # positional attributes only (the common internal call)
        n = len(extra)
        return operands, tuple([(k, _canon_kv(op, k, v)) for (k, _), v in zip(op.defaults, extra)]) + \
            op.defaults[n:], out
    vals = dict(op.defaults)
    for name, v in zip(op.params, extra):
        vals[name] = v
    if kwargs:
        for k, v in kwargs.items():
            if k not in vals:
                raise TypeError(f"minpy.numpy.{op.name}() got an unexpected keyword argument {k!r}")
            if k in op.params[:len(extra)]:
                raise TypeError(f"minpy.numpy.{op.name}() got multiple values for argument {k!r}")
            vals[k] = v
    attrs = tuple((k, _canon_kv(op, k, vals[k])) for k in op.params)
    return operands, attrs, out


# ----------------------------------------------------------------------------- operands

def _holds_taped(value) -> bool:
    """Whether a (nested) list/tuple holds a MinPy array that carries autograd records."""
    for e in value:
        t = type(e)
        if t is Array:
            if e._rec:
                return True
        elif t is list or t is tuple:
            if _holds_taped(e):
                return True
    return False


def _stack_nested(value, ctx, dtype):
    """``np.array([a, b])`` of MinPy arrays as MinPy ``stack`` calls, so a gradient taken
    with respect to ``a`` or ``b`` flows through (a host copy would drop it silently)."""
    from .registry import REGISTRY
    parts = [_stack_nested(e, ctx, None) if type(e) in (list, tuple) else
             (e if isinstance(e, Array) else from_host(e, ctx)) for e in value]
    out = call(REGISTRY["stack"], (parts,), None)
    if dtype is not None and out._dtype != _onp.dtype(dtype):
        out = call(REGISTRY["astype"], (out, _onp.dtype(dtype)), None)
    return out


def from_host(value, ctx=None, dtype=None):
    """Wrap host data (NumPy array, list, scalar) as a MinPy array."""
    if (type(value) is list or type(value) is tuple) and value and grad_running is not None and \
            grad_running() and _holds_taped(value):
        return _stack_nested(value, ctx, dtype)
    if dtype is not None:
        arr = _onp.asarray(value, dtype=_onp.dtype(dtype))
    else:
        with _warnings.catch_warnings():
            # ragged nested lists: NumPy warns and makes an object array, refused below
            _warnings.simplefilter("ignore", _onp.VisibleDeprecationWarning)
            arr = _onp.asarray(value)
        if arr.dtype == _F64:
            arr = arr.astype(_config.default_dtype)
    if arr.dtype.kind in "OUSVcMm":
        raise TypeError(f"minpy: cannot make an MXNet array from dtype {arr.dtype} "
                        f"(value of type {type(value).__name__})")
    held = _HOLDABLE.get(arr.dtype)
    if held is not None:       # uint16, uint64, ...: held in the next wider dtype MXNet has
        arr = arr.astype(held)
    elif arr.dtype.char == "q" and _onp.dtype(arr.dtype.name).char != "q":
        # NumPy's long long (``gcd`` of int64 returns it): equal to int64 but a type of
        # its own, which MXNet's dtype table has no entry for
        arr = arr.view(arr.dtype.name)
    ctx = ctx or _context.current_context()
    return Array._wrap(_mx.np.array(arr, dtype=arr.dtype, ctx=ctx.mx), arr.shape, arr.dtype, ctx)


class _NeedsNumPy(Exception):
    """An operand only NumPy can hold (complex, object...): run the NumPy version."""


def _call_host(o):
    return o._host("fallback") if isinstance(o, Array) else o


def normalise(op: Op, operands: tuple):
    """Operands become Arrays on one context, or stay Python scalars where allowed."""
    ctx = None
    fast = True
    for o in operands:
        t = type(o)
        if t is Array:
            c = o._ctx
            if ctx is None:
                ctx = c
            elif c is not ctx and c != ctx:
                fast = False
        elif not (op.scalar_ok and t in _SCALARS) or t is float and 0.0 < abs(o) < _TINY:
            fast = False
    if fast and ctx is not None:
        return operands, ctx
    ctx = None
    for o in operands:
        if isinstance(o, Array):
            ctx = o._ctx
            break
    if ctx is None:
        ctx = _context.current_context()
    out = []
    for o in operands:
        if isinstance(o, Array):
            out.append(o if o._ctx == ctx else o.as_in_context(ctx))
        elif op.scalar_ok and isinstance(o, (_SCALARS + (_onp.generic,))) and \
                any(isinstance(x, Array) for x in operands) and \
                not (isinstance(o, float) and 0.0 < abs(o) < _TINY):
            out.append(o.item() if isinstance(o, _onp.generic) else o)
        elif isinstance(o, _mx.nd.NDArray):
            out.append(Array.from_mx(o))
        elif isinstance(o, _onp.ndarray) and o.dtype.kind not in "biuf":
            raise _NeedsNumPy()
        else:
            if o is None or isinstance(o, (str, dict, set)):
                raise TypeError(f"minpy.numpy.{op.name}: expected an array-like operand, "
                                f"got {type(o).__name__}")
            try:
                out.append(from_host(o, ctx))
            except (ValueError, TypeError) as e:
                raise TypeError(f"minpy.numpy.{op.name}: cannot convert operand of type "
                                f"{type(o).__name__} to an array: {e}") from None
    return tuple(out), ctx




# ----------------------------------------------------------------------------- running

def mx_message(e: Exception) -> str:
    """The informative line of an MXNet error (its text starts with a C++ traceback)."""
    lines = [l.strip() for l in str(e).strip().splitlines() if l.strip()]
    for l in lines:
        if ("Check failed" in l or "Error" in l) and not l.startswith("Traceback"):
            return l[:400]
    rest = [l for l in lines if not l.startswith(("Traceback", "File ", "["))]
    return (rest[-1] if rest else (lines[0] if lines else "unknown MXNet error"))[:400]


def _mx_error(op: Op, operands, e: Exception) -> Exception:
    shapes = [o._shape if isinstance(o, Array) else type(o).__name__ for o in operands]
    return ValueError(f"minpy.numpy.{op.name}: MXNet failed for operands {shapes}: {mx_message(e)}")


def _run_zero_size(op: Op, operands: tuple, info: Inferred, ctx):
    """A call with a zero-size operand or result, without MXNet (whose kernels fail
    asynchronously on them, writing into unrelated memory, or abort the process).

    Shape inference has already checked the call as NumPy would, so a zero-size
    result is zeros of the inferred shape and dtype; a result that is not (the sum
    over an empty axis, a product with an empty inner dimension) comes from NumPy's
    implementation, which gives its identity, NaN and warnings. Returns None where
    neither applies (an operator with no NumPy implementation)."""
    kw = info.kw
    if "ctx" in kw and kw["ctx"] is not None:
        ctx = kw["ctx"]
    if all(0 in s for s in info.shapes):
        return [Array._wrap(_mx.np.zeros(s, dtype=d, ctx=ctx.mx), s, d, ctx)
                for s, d in zip(info.shapes, info.dtypes)]
    if op.np is None or op.random:
        return None
    host = [o._host("fallback") if type(o) is Array else o for o in operands]
    with _onp.errstate(all="ignore"):
        try:
            r = op.np(*host, **kw)
        except Exception as e:
            raise _rename(op, e) from None
    rs = r if op.multi else (r,)
    return [from_host(_onp.asarray(x).astype(d), ctx, d)
            for x, d in zip(rs, info.dtypes)]


def run_mxnet(op: Op, operands: tuple, info: Inferred, ctx):
    if info.empty:
        res = _run_zero_size(op, operands, info, ctx)
        if res is not None:
            return res
    datas = [o._mx() if type(o) is Array else o for o in operands]
    kw = info.kw
    _errno_guard.guard(operands)
    if kw:
        _errno_guard.guard(kw.values())
    try:
        if not datas or "ctx" in kw:
            ctx = kw.get("ctx", ctx)
            with ctx.mx:
                res = info.lower(F_ND, *datas, **kw)
        else:
            res = info.lower(F_ND, *datas, **kw)
    except MXNetError as e:
        raise _mx_error(op, operands, e) from None
    if not op.multi:
        res = (res,)
    wrap = Array._wrap
    if info.verified:
        return [wrap(r, s, d, ctx) for r, s, d in zip(res, info.shapes, info.dtypes)]
    out = []
    same = True
    for r, s, d in zip(res, info.shapes, info.dtypes):
        if r.dtype != d:
            r = r.astype(d)
            same = False
        out.append(wrap(r, s, d, ctx))
    info.verified = same
    return out


def to_host(x):
    """Replace MinPy arrays (nested in lists/tuples/dicts) by NumPy arrays."""
    if isinstance(x, Array):
        return x._host("fallback")
    if isinstance(x, (list, tuple)):
        t = [to_host(v) for v in x]
        return type(x)(t) if isinstance(x, tuple) and not hasattr(x, "_fields") else \
            (type(x)(*t) if isinstance(x, tuple) else t)
    if isinstance(x, dict):
        return {k: to_host(v) for k, v in x.items()}
    return x


def from_host_result(r, ctx, f64: bool):
    """Wrap NumPy results back as MinPy arrays; other values pass through."""
    if isinstance(r, _onp.ndarray) or isinstance(r, _onp.generic) and not isinstance(r, (_onp.str_, _onp.bytes_)):
        arr = _onp.asarray(r)
        if arr.dtype.kind in "OUSVcMm":
            return r
        dt = demote(arr.dtype, f64)
        return from_host(arr, ctx, _HOLDABLE.get(dt, dt))
    if isinstance(r, list):
        return [from_host_result(v, ctx, f64) for v in r]
    if isinstance(r, tuple) and not hasattr(r, "_fields"):
        return tuple(from_host_result(v, ctx, f64) for v in r)
    return r


def _weak_kind(h) -> str:
    """The kind of a Python number or 0-d array (counted by kind), else ''."""
    t = type(h)
    if t is int:
        return "i"
    if t is float:
        return "f"
    return h.dtype.kind if t is _onp.ndarray and not h.ndim and h.dtype.kind in "iuf" else ""


def _kind_dummy(h):
    """A zero of ``h``'s type, which NumPy's value rule counts by kind alone."""
    return _onp.zeros((), h.dtype) if type(h) is _onp.ndarray else _SCALAR_DUMMY[type(h)]


def _kind_rule(uf, host: list) -> list:
    """Python numbers and 0-d arrays beside an n-d array counted by kind, as MXNet-run
    ufuncs count them (docs/differences.md): ``fmod(uint8_array, -2)`` is uint8 (NumPy
    1.x widens by value), the number cast to the common dtype first. Where the result
    is a float (``logaddexp(uint8_array, -1)``, float16) an integer keeps its value, as
    there."""
    kinds = [_weak_kind(h) for h in host]
    if not any(kinds) or not any(type(h) is _onp.ndarray and h.ndim for h in host):
        return host
    try:
        common = _onp.result_type(*[_kind_dummy(h) if k else h for h, k in zip(host, kinds)])
        with _onp.errstate(all="ignore"):
            out = uf(*[_onp.zeros(1, common)] * len(host))
    except (TypeError, ValueError):
        return host
    out = (out[0] if isinstance(out, tuple) else out).dtype
    if common.kind not in "iuf" or out.kind == "b":
        return host      # comparisons compare the values
    if out.kind == "f" and common.kind in "iu":
        # a float result of integers: an integer keeps its value, in that float type
        return [_onp.asarray(h).astype(out) if k in ("i", "u") else h
                for h, k in zip(host, kinds)]
    return [_onp.asarray(h).astype(common) if k in ("i", "u") or (k == "f" and common.kind == "f")
            else h for h, k in zip(host, kinds)]


def run_numpy(op: Op, operands: tuple, attrs: tuple, ctx):
    f64 = any(isinstance(o, Array) and o._dtype == _F64 for o in operands) or \
        dict(attrs).get("dtype") == "float64"
    eng = lazy_engine()
    if eng is not None:
        eng.note_fallback(op.name)
    host = [o._host("fallback") if isinstance(o, Array) else o for o in operands]
    if type(op.np) is _onp.ufunc and len(host) > 1:
        host = _kind_rule(op.np, host)
    try:
        with _onp.errstate(all="ignore"):
            r = op.np(*host, **dict(attrs))
    except Exception as e:
        raise _rename(op, e) from None
    res = r if op.multi else (r,)
    return [from_host_result(x, ctx, f64) for x in res]


def call(op: Op, args: tuple, kwargs: dict, skip: int = 0):
    """Run one registered function on user arguments.

    ``skip=1`` from minpy's own thin wrappers (array operators, ``minpy.numpy``
    functions): the lazy engine then looks for the user's line above the wrapper
    without making a frame object of it (0.2 us of a 3 us recorded call)."""
    operands, attrs, out = bind_args(op, args, kwargs) if (kwargs or len(args) != op.nin or op.bind) \
        else (args, op.defaults, None)
    ctx = None
    if operands:
        # the commonest signatures inline, as ``normalise`` finds them (an array, or an
        # array and an array on the same context or a Python scalar the op keeps)
        a = operands[0]
        if type(a) is Array and len(operands) <= 2:
            ctx = a._ctx
            if len(operands) == 2:
                b = operands[1]
                t = type(b)
                if t is Array:
                    if b._ctx is not ctx:
                        ctx = None
                elif not (op.scalar_ok and (t is int or t is bool or
                                            t is float and not 0.0 < abs(b) < _TINY)):
                    ctx = None
    if ctx is None and operands:
        try:
            operands, ctx = normalise(op, operands)
        except _NeedsNumPy:      # e.g. complex data, which MXNet cannot hold
            if op.np is None:
                raise TypeError(f"minpy.numpy.{op.name}: MXNet cannot hold these operands "
                                f"and there is no NumPy implementation") from None
            _stats.count(op.name, "numpy")
            host = [_call_host(o) for o in operands]
            f64 = any(getattr(h, "dtype", None) in (_F64, _onp.complex128) for h in host)
            r = op.np(*host, **dict(attrs))
            return from_host_result(r, _context.current_context(), f64)
    if ctx is None:
        ctx = _context.current_context()
    pol = _policy.current_policy() if _policy.pushed else _policy._global
    if pol.__class__ is _PREFER:
        backend = "mxnet" if op.mx is not None else "numpy"
    else:
        backend = pol.choose(op, operands, attrs)
    if backend == "mxnet":
        info = infer(op, operands, attrs)
        if info.casts is not None:
            pre = getattr(op.mx, "before_casts", None)
            if pre is not None:
                pre(operands, info.dtypes[0])
            astype = _ASTYPE
            operands = tuple(o if dt is None else call(astype, (o, dt), None)
                             if type(o) is Array else round_scalar(o, dt)
                             for o, dt in zip(operands, info.casts))
            info = info.cast_info or _after_casts(op, operands, attrs, info)
        eng = _lazy.engine
        try:
            if eng is not None and not op.random:
                results = eng.record(op, operands, attrs, info, ctx, skip)
            else:
                if eng is not None and eng.tracing is not None:
                    eng.tracing.eager_call(op)
                results = run_mxnet(op, operands, info, ctx)
        except ValueError:
            if pol.failed(op, operands, attrs):
                backend = "numpy"
                results = run_numpy(op, operands, attrs, ctx)
            else:
                raise
    else:
        if op.np is None:
            raise NotImplementedError(f"minpy.numpy.{op.name} has no NumPy implementation")
        results = run_numpy(op, operands, attrs, ctx)
    if backend == "mxnet":
        _MX_CALLS[op] += 1
    else:
        _COUNTS[(op.name, backend)] += 1
    if tape_hook is not None:
        tape_hook(op, operands, attrs, results)
    if op.multi:
        res = tuple(results) if not isinstance(results, list) or op.multi != "list" else list(results)
    else:
        res = results[0]
    if out is not None:
        if not isinstance(out, Array):
            raise TypeError(f"minpy.numpy.{op.name}: out= must be a MinPy array")
        if type(op.np) is _onp.ufunc and not op.multi and \
                not _onp.can_cast(res.dtype, out.dtype, casting="same_kind"):
            # NumPy's ufuncs write out= under 'same_kind' casting (no float into int)
            raise _onp.core._exceptions._UFuncOutputCastingError(
                op.np, "same_kind", res.dtype, out.dtype, 0)
        out[...] = res
        return out
    return res
