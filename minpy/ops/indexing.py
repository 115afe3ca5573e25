"""Indexing (``x[i]``, ``x[i] = v``), ``take``, dtype casts and copies.

An index is split into a hashable template (ints, slices, None, Ellipsis and
placeholders) and the integer index arrays, which become operands; boolean
masks are turned into integer arrays (their shape depends on their values).
"""
from __future__ import annotations

import functools as _functools

import numpy as _onp

from ..dispatch import call as _call_mod
from ..dispatch import infer as _infer
from ..dispatch.registry import defop
from . import _symindex as _sym
from ._util import c, unbroadcast, wrapped


def _to_int(v):
    if v is None or isinstance(v, int):
        return v
    return int(v)


def split_index(index, shape, check: bool = True):
    """(template, index_arrays) for one ``__getitem__``/``__setitem__`` index
    (``check=False``: out-of-range index arrays pass, for a shape only)."""
    from ..array import Array
    if not isinstance(index, tuple):
        index = (index,)
    template, arrays, masks = [], [], {}
    for item in index:
        if isinstance(item, bool) or isinstance(item, _onp.bool_):
            item = _onp.asarray(item)
        if isinstance(item, (int, _onp.integer)):
            template.append(("i", int(item)))
        elif isinstance(item, slice):
            template.append(("s", _to_int(item.start), _to_int(item.stop), _to_int(item.step)))
        elif item is None:
            template.append(("n",))
        elif item is Ellipsis:
            template.append(("e",))
        elif isinstance(item, Array) and item.ndim == 0 and item.dtype.kind in "iu":
            template.append(("i", int(item)))
        else:
            if isinstance(item, Array):
                kind = item.dtype.kind
            else:
                item = _onp.asarray(item)
                kind = item.dtype.kind
                if item.size == 0 and kind == "f":
                    item, kind = item.astype("int64"), "i"
            if kind == "b":
                host = item.asnumpy() if isinstance(item, Array) else item
                if host.ndim == 0:
                    # NumPy: a new length-1 axis, indexed by [0] (True) or [] (False)
                    template.append(("b", len(arrays)))
                    arrays.append(_onp.zeros(1 if host else 0, "int64"))
                    continue
                masks[len(template)] = host.shape
                for part in _onp.nonzero(host):
                    template.append(("a", len(arrays)))
                    arrays.append(part.astype("int64"))
                continue
            if kind not in "iu":
                raise IndexError("only integers, slices (`:`), ellipsis (`...`), "
                                 "numpy.newaxis (`None`) and integer or boolean arrays are valid indices")
            template.append(("a", len(arrays)))
            arrays.append(item)
    return _checked(template, arrays, shape, masks, check)


def _checked(template, arrays, shape, masks=None, check=True):
    """NumPy's bounds rules, applied before MXNet sees an index: negative entries
    wrap, anything out of range is an ``IndexError`` (MXNet would read or write
    outside the buffer), a boolean mask must match the axes it covers. As NumPy
    1.x still does, out-of-range index arrays pass (with a DeprecationWarning)
    when the result is empty."""
    used = sum(1 for t in template if t[0] in "isa")
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {used} were indexed")
    ax = 0
    oob = None
    for i, t in enumerate(template):
        if t[0] == "e":
            ax += len(shape) - used
            continue
        if t[0] in "nb":
            continue
        if masks and i in masks:
            for d, m in enumerate(masks[i]):
                # NumPy checks only a mask's nonzero lengths (a length-0 mask selects
                # nothing along any axis: ``zeros(5)[zeros(0, bool)]`` is empty)
                if m and shape[ax + d] != m:
                    raise IndexError(f"boolean index did not match indexed array along "
                                     f"dimension {ax + d}; dimension is {shape[ax + d]} but "
                                     f"corresponding boolean dimension is {m}")
        n = shape[ax]
        if t[0] == "i":
            if not -n <= t[1] < n:
                raise IndexError(f"index {t[1]} is out of bounds for axis {ax} with size {n}")
            template[i] = ("i", t[1] % n)
        elif t[0] == "a":
            try:
                arrays[t[1]] = normalise_indices(arrays[t[1]], n, ax)
            except IndexError as e:
                oob = oob or e
                arrays[t[1]] = _onp.zeros(tuple(arrays[t[1]].shape), "int64")
        ax += 1
    template = tuple(template)
    if oob is not None and check:
        out = _sym.plan(template, tuple(shape), tuple(tuple(a.shape) for a in arrays)).out
        if 0 not in out:
            raise oob
        import warnings
        warnings.warn("Out of bound index found. This was previously ignored when the indexing "
                      "result contained no elements. In the future the index error will be "
                      "raised. This error occurs either due to an empty slice, or if an array "
                      "has zero elements even before indexing.", DeprecationWarning, stacklevel=4)
    return template, arrays


def normalise_indices(idx, n: int, axis: int):
    """Integer index array with negatives wrapped, checked against size ``n``.

    Concrete indices are checked on the host (inside a ``@jit`` trace too, where
    the check reads the buffer without baking it into the graph); pending lazy
    indices are computed first. Only indices that are values of the ``@jit``
    trace itself cannot be read: those are wrapped and clipped in the graph, so an
    out-of-range one there selects the edge element (docs/differences.md).
    """
    from ..array import Array
    from ..jit.graph import LRef
    if isinstance(idx, Array):
        eng = _call_mod._lazy.engine
        tracing = eng is not None and eng.tracing is not None
        if tracing and type(idx._data) is LRef and idx._data.value is None:
            wrapped = c("where", idx < 0, idx + n, idx)
            return c("clip", wrapped, 0, max(n - 1, 0))
        if tracing:
            _call_mod.checked_values(idx._mx("index"),
                                     _functools.partial(_check_bounds, n=n, axis=axis))
            wrapped = c("where", idx < 0, idx + n, idx)
            return c("clip", wrapped, 0, max(n - 1, 0))
        host = idx._host("index")
    else:
        host = _onp.asarray(idx)
    if _check_bounds(host, n, axis):
        return _onp.where(host < 0, host + n, host).astype("int64")
    return idx if isinstance(idx, Array) else host.astype("int64", copy=False)


def _check_bounds(host, n: int, axis: int) -> bool:
    """Raise NumPy's IndexError for entries outside [-n, n); True if any is negative."""
    if not host.size:
        return False
    lo, hi = int(host.min()), int(host.max())
    if lo < -n or hi >= n:
        bad = lo if lo < -n else hi
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
    return lo < 0


def build_index(template, arrays):
    out = []
    for t in template:
        k = t[0]
        if k == "i":
            out.append(t[1])
        elif k == "s":
            out.append(slice(t[1], t[2], t[3]))
        elif k == "n":
            out.append(None)
        elif k == "e":
            out.append(Ellipsis)
        elif k == "b":
            out.append(bool(arrays[t[1]].shape[0]))
        else:
            out.append(arrays[t[1]])
    return tuple(out)


def _is_template(index) -> bool:
    """An index already split by ``split_index`` (gradients re-index with it)."""
    return isinstance(index, tuple) and bool(index) and all(
        isinstance(t, tuple) and t and isinstance(t[0], str) for t in index)


def _getitem_bind(x, *arrays, index=None):
    if arrays or _is_template(index):
        return (x, *arrays), (("index", index),)
    template, arrays = split_index(index, tuple(getattr(x, "shape", ())))
    return (x, *arrays), (("index", template),)


def _getitem_mx(F, x, *arrays, index):
    return _sym.take(F, x, arrays, index)


def _view_width(first: int):
    """The most dimensions an array has on the way to ``x[index]`` (x with its new axes,
    the stacked gather index, the gathered block before its transpose, the view), for
    a lowering whose index arrays start at operand ``first`` (x is operand 0): MXNet's
    kernels must hold each of them."""
    def width(operands, kw) -> int:
        p = _sym.plan(kw["index"], tuple(operands[0].shape),
                      tuple(tuple(a.shape) for a in operands[first:]))
        if not p.adv:
            return max(len(p.yshape), len(p.out))
        return max(len(p.yshape), len(p.bshape) + 1, len(p.bshape) + len(p.rest), len(p.out))
    return width


_getitem_mx.widest = _view_width(1)


def _getitem_np(x, *arrays, index):
    return x[build_index(index, arrays)]


def _getitem_vjp(g, ans, x, *arrays, index):
    return c("_index_add", c("zeros_like", x, dtype=g.dtype), g, *arrays, index=index)


defop("_getitem", bind=_getitem_bind, mx=_getitem_mx, np=_getitem_np,
      grad=(_getitem_vjp,))


def _index_add_bind(base, g, *arrays, index):
    return (base, g, *arrays), (("index", index),)


def _index_add_mx(F, base, g, *arrays, index):
    if not arrays:
        # a basic index selects each element at most once: nothing to accumulate
        return _sym.index_add_basic(F, base, g, build_index(index, ()))
    return _sym.index_add(F, base, g, arrays, index)


def _index_add_np(base, g, *arrays, index):
    out = base.copy()
    _onp.add.at(out, build_index(index, arrays), g)
    return out


_index_add_mx.widest = _view_width(2)
defop("_index_add", nin=-1, bind=_index_add_bind, mx=_index_add_mx, np=_index_add_np,
      grad=lambda g, ans, operands, index: [g, c("_getitem", g, *operands[2:], index=index)]
      + [None] * (len(operands) - 2))


def _setitem_bind(x, value, index=None):
    mask = index[0] if isinstance(index, tuple) and len(index) == 1 else index
    if getattr(getattr(mask, "dtype", None), "kind", None) == "b" and \
            tuple(_onp.shape(mask)) == tuple(getattr(x, "shape", ())) and _onp.ndim(value) > 1:
        # NumPy's whole-array boolean assignment takes values in mask order only (a
        # mask of another shape is an IndexError first)
        raise TypeError(f"NumPy boolean array indexing assignment requires a 0 or "
                        f"1-dimensional input, input has {_onp.ndim(value)} dimensions")
    shape = tuple(getattr(x, "shape", ()))
    try:
        template, arrays = split_index(index, shape)
    except IndexError:
        parts = index if isinstance(index, tuple) else (index,)
        late = [_checked_late(p) for p in parts]
        if any(late):
            # NumPy checks integers, bool masks and the index's form first, then converts
            # the value, then the integer arrays' bounds: is the error theirs?
            try:
                split_index(tuple(_onp.zeros((0,) * _onp.ndim(p), "int64") if lt else p
                                  for p, lt in zip(parts, late)), shape)
            except IndexError:
                pass
            else:
                _scalar_fits(x, value)
        _value_fits(value, index, shape)     # NumPy checks the value's shape first
        raise
    value = _scalar_fits(x, value)
    if not arrays and len(template) == len(shape) and all(t[0] == "i" for t in template):
        _element_fits(x, value)
        value = _through_int64(x, value)
    unique = not hasattr(value, "shape") or _unique(template, arrays, shape)
    return (x, value, *arrays), (("index", template), ("unique", unique))


def _checked_late(p) -> bool:
    """Whether NumPy checks this index part's bounds only after converting the value of
    an assignment: integer arrays of one or more dimensions and lists (not integers,
    0-d arrays or bool masks)."""
    if isinstance(p, list):
        return True
    dt = getattr(p, "dtype", None)
    return dt is not None and _onp.dtype(dt).kind in "iu" and _onp.ndim(p) > 0


def _scalar_fits(x, value):
    """NumPy converts a Python float written into an integer array with ``int()`` into
    a C long, then wraps it to the array's dtype (-1.5 into uint8 stores 255): NaN,
    infinities and values beyond int64 raise. The value MinPy stores is that integer
    (MXNet's float-to-integer cast of an out-of-range value is undefined)."""
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind not in ("i", "u") or not isinstance(value, (float, _onp.floating)):
        return value
    if value != value:
        raise ValueError("cannot convert float NaN to integer")
    if value in (float("inf"), float("-inf")):
        raise OverflowError("minpy.numpy._setitem: cannot convert float infinity to integer")
    v = int(value)
    if not -2 ** 63 <= v < 2 ** 63:
        raise OverflowError("Python int too large to convert to C long")
    return int(_onp.array(v, dtype="int64").astype(x.dtype))


def _element_fits(x, value) -> None:
    """Writing one element of an integer array, NumPy converts a float array value with
    ``int()`` too: NaN, infinities and values beyond int64 raise (a value of 1 or more
    dimensions as 'a sequence'). Only concrete values are read (inside a @jit trace on
    every call too): a value the @jit trace computes is stored as MXNet casts it
    (docs/differences.md)."""
    from ..array import Array
    from ..jit.graph import LRef
    if getattr(getattr(x, "dtype", None), "kind", None) not in ("i", "u") or \
            getattr(getattr(value, "dtype", None), "kind", None) != "f" or \
            int(_onp.prod(_onp.shape(value))) != 1:
        return
    if isinstance(value, Array):
        if type(value._data) is LRef and value._data.value is None and \
                _call_mod._lazy.engine is not None and _call_mod._lazy.engine.tracing is not None:
            return
        _call_mod.checked_values(value._mx("setitem"), _int_convertible)
    else:
        _int_convertible(_onp.asarray(value))


def _int_convertible(host) -> None:
    """NumPy's errors for ``int()`` of a one-element float array that has none."""
    v = float(host.reshape(-1)[0])
    if -(2.0 ** 63) <= v < 2.0 ** 63:          # a C long: -2**63 is one (NaN is not)
        return
    if host.ndim:
        raise ValueError("setting an array element with a sequence.")
    if v != v:
        raise ValueError("cannot convert float NaN to integer")
    if abs(v) == float("inf"):
        raise OverflowError("cannot convert float infinity to integer")
    raise OverflowError("Python int too large to convert to C long")


def _through_int64(x, value):
    """A float array written into one element of a narrower integer array goes through
    int64 first, as NumPy's ``int()`` of it does (2**60 into int32 stores 0, 3e9 stores
    -1294967296); MXNet's direct cast of a value beyond the dtype is undefined."""
    from ..array import Array
    dt = getattr(x, "dtype", None)
    if isinstance(value, Array) and value.dtype.kind == "f" and dt is not None and \
            _onp.dtype(dt).kind in "iu" and _onp.dtype(dt).itemsize < 8:
        return value.astype("int64")
    return value


def _value_fits(value, index, shape) -> None:
    """NumPy's ValueError when ``value`` cannot broadcast to the selection's shape."""
    if not hasattr(value, "shape") and not isinstance(value, (list, tuple)):
        return
    try:
        template, arrays = split_index(index, shape, check=False)
        sel = _sym.plan(template, shape, tuple(tuple(_onp.shape(a)) for a in arrays)).out
    except Exception:                       # noqa: BLE001 - the caller's error stands
        return
    vshape = tuple(_onp.shape(value))
    fit = vshape[len(vshape) - len(sel):] if len(vshape) > len(sel) else vshape
    try:
        if any(s != 1 for s in vshape[:len(vshape) - len(fit)]):
            raise ValueError
        _onp.broadcast_shapes(fit, sel)
        if _onp.broadcast_shapes(fit, sel) != sel:
            raise ValueError
    except ValueError:
        def fmt(t):
            return "(" + ",".join(str(d) for d in t) + ("," if len(t) == 1 else "") + ")"
        raise ValueError(f"shape mismatch: value array of shape {fmt(vshape)} could not be "
                         f"broadcast to indexing result of shape {fmt(sel)}") from None


def _unique(template, arrays, shape) -> bool:
    """Whether the index is known to select each element once (the host has its arrays),
    so an assignment needs no last-write-wins ordering."""
    from ..array import Array
    from ..jit.graph import LRef
    if not arrays:
        return True
    host = []
    for a in arrays:
        if isinstance(a, Array):
            if type(a._data) is LRef:
                return False
            a = a._data.asnumpy()
        host.append(_onp.asarray(a))
    p = _sym.plan(template, shape, tuple(h.shape for h in host))
    coords, dims = [], []
    for ax, it in zip(p.adv, p.ints):
        coords.append(_onp.broadcast_to(it[1] if it[0] == "i" else host[it[1]], p.bshape)
                      .reshape(-1))
        dims.append(p.yshape[ax])
    if not coords or coords[0].size < 2 or 0 in dims:
        return True
    flat = _onp.ravel_multi_index(tuple(coords), tuple(dims))
    return _onp.unique(flat).size == flat.size


def _setitem_mx(F, x, value, *arrays, index, unique=False):
    if not arrays:
        return _sym.setitem_basic(F, x, value, build_index(index, ()))
    return _sym.assign(F, x, value, arrays, index, unique)


_setitem_mx.widest = _view_width(2)


def _setitem_np(x, value, *arrays, index, unique=False):
    out = _onp.array(x, copy=True)
    out[build_index(index, arrays)] = value
    return out


def _setitem_vjp(g, ans, operands, index, unique=False):
    """x gets g with the written positions zeroed; the value gets what its elements
    became: of several writes to one position only the last survives (NumPy), and
    surplus leading length-1 axes of the value are put back before unbroadcasting."""
    x, value, arrays = operands[0], operands[1], operands[2:]
    gx = c("_setitem", g, 0.0, *arrays, index=index, unique=True)   # a scalar: order is moot
    gv = None
    if hasattr(value, "shape"):
        sel = c("_getitem", g, *arrays, index=index)
        if sel.size == 0:               # nothing was written: no gradient (and no empty sums)
            return [gx, c("zeros", value.shape, value.dtype if value.dtype.kind == "f"
                          else g.dtype)] + [None] * len(arrays)
        if arrays and not unique:
            sel = sel * c("_setitem_keep", g, *arrays, index=index)
        extra = value.ndim - sel.ndim
        if extra > 0:
            sel = c("reshape", sel, (1,) * extra + tuple(sel.shape))
        gv = unbroadcast(sel, value)
    return [gx, gv] + [None] * len(arrays)


def _setitem_bind_any(x, value, *arrays, index=None, unique=False):
    if arrays or _is_template(index):
        return (x, value, *arrays), (("index", index), ("unique", unique))
    return _setitem_bind(x, value, index)


defop("_setitem", nin=-1, scalar_ok=True, bind=_setitem_bind_any, mx=_setitem_mx,
      np=_setitem_np, grad=_setitem_vjp)


def _keep_np(x, *arrays, index):
    lin = _onp.arange(x.size).reshape(x.shape)[build_index(index, arrays)]
    flat = lin.reshape(-1)
    keep = _onp.zeros(flat.size, x.dtype)
    if flat.size:
        _, first = _onp.unique(flat[::-1], return_index=True)
        keep[flat.size - 1 - first] = 1
    return keep.reshape(lin.shape)


# 1 where an element of ``x[index]`` is the write ``x[index] = v`` keeps, 0 where a later
# write to the same position replaces it (repeated entries in index arrays)
def _keep_bind(x, *arrays, index):
    return (x, *arrays), (("index", index),)


def _keep_mx(F, x, *arrays, index):
    return _sym.keep_mask(F, tuple(int(s) for s in x.shape), arrays, index,
                          _onp.dtype(x.dtype).name)


_keep_mx.widest = _view_width(1)
defop("_setitem_keep", nin=-1, bind=_keep_bind, nondiff=True, mx=_keep_mx, np=_keep_np)


def _take_bind(a, indices, axis=None, out=None, mode="raise"):
    if mode != "raise" and mode != "clip" and mode != "wrap":
        raise ValueError(f"minpy.numpy.take: unknown mode {mode!r}")
    shape = tuple(getattr(a, "shape", _onp.shape(a)))
    if not shape and axis is not None:
        # NumPy takes from a 0-d array as from its 1-element ravel along axis 0 or -1
        if axis != 0 and axis != -1:
            raise _onp.AxisError(axis, 1)
        axis = None
    if mode == "raise":
        if axis is None:
            n = int(_onp.prod(shape))
        else:
            if not -len(shape) <= axis < len(shape):
                raise _onp.AxisError(axis, len(shape))
            n = shape[axis]
        outer = int(_onp.prod(shape[:axis])) if axis is not None else 1
        count = 1 if isinstance(indices, (int, _onp.integer)) else int(_onp.prod(_onp.shape(indices)))
        inner = int(_onp.prod(shape[axis + 1:])) if axis is not None else 1
        if n == 0 and outer * count * inner:
            raise IndexError("cannot do a non-empty take from an empty axes.")
        if not outer or not count:
            # NumPy checks indices only while it gathers; gathering nothing checks nothing
            mode = "clip"
        elif isinstance(indices, (int, _onp.integer)):
            if not -n <= indices < n:
                raise IndexError(f"index {indices} is out of bounds for axis "
                                 f"{0 if axis is None else axis} with size {n}")
            indices = int(indices) % n
        else:
            indices = normalise_indices(indices, n, 0 if axis is None else axis)
    return (a, indices), (("axis", axis), ("mode", mode))


def _take_mx(F, a, indices, axis, mode):
    if axis is None:
        a, axis = F.np.reshape(a, (-1,)), 0
    return F.np.take(a, indices.astype("int64"), axis=axis, mode=mode)


def _take_vjp(g, ans, a, indices, axis, mode):
    if g.size == 0:       # nothing gathered (its indices were never checked): no gradient
        return c("zeros", a.shape, g.dtype)
    if mode != "raise":
        # the positions the gather read: clipped into, or wrapped around, the axis
        n = a.size if axis is None else a.shape[axis]
        indices = c("clip", indices, 0, n - 1) if mode == "clip" else c("mod", indices, n)
    if axis is None:
        flat = c("_index_add", c("zeros", (a.size,), g.dtype), g, indices, index=(("a", 0),))
        return c("reshape", flat, a.shape)
    ax = axis % a.ndim
    index = (("s", None, None, None),) * ax + (("a", 0),)
    moved = c("moveaxis", g, tuple(range(ax, ax + indices.ndim)), tuple(range(indices.ndim))) \
        if ax else g
    base = c("zeros", a.shape, g.dtype)
    if ax == 0:
        return c("_index_add", base, moved, indices, index=index[:1])
    return c("_index_add", base, g, indices, index=index)


defop("take", bind=_take_bind, mx=_take_mx, np=lambda a, i, axis, mode: _onp.take(a, i, axis=axis, mode=mode),
      grad=(_take_vjp, None))

# ---------------------------------------------------------------------------- casts and copies


def _astype_vjp(g, ans, x, dtype):
    return c("astype", g, x.dtype) if x.dtype.kind == "f" else g


def _astype_bind(x, dtype=None, copy=True):
    dt = _onp.dtype(dtype)
    if dt.kind not in "biuf":
        raise TypeError(f"minpy.numpy.astype: MXNet has no {dt.name} arrays")
    return (x,), (("dtype", dt.name),)


def _astype_mx(F, x, dtype):
    """A cast; to an integer dtype MXNet cannot hold, the value that dtype would hold
    (wrapped to its bits, as NumPy's cast), in the dtype that holds it."""
    into = _infer._HOLDABLE.get(_onp.dtype(dtype))
    if into is None:
        return x.astype(dtype)
    return wrapped(F, x.astype("int64"), dtype).astype(into.name)


defop("astype", bind=_astype_bind, mx=_astype_mx,
      np=lambda x, dtype: x.astype(dtype), grad=_astype_vjp,
      shape=lambda ops, attrs: ((ops[0].shape,), (_onp.dtype(attrs["dtype"]),)))
defop("copy", mx=lambda F, x: F.np.copy(x), np=lambda x: _onp.array(x, copy=True),
      grad=lambda g, ans, x: g)


def _to_ctx_mx(F, x, ctx):
    return x.as_in_ctx(ctx.mx)


defop("_to_context", params=[("ctx", None)], mx=_to_ctx_mx, np=lambda x, ctx: x, lazy=False,
      grad=lambda g, ans, x, ctx: g.as_in_context(x.context))
