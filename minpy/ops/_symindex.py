"""Indexing inside MXNet graphs (lazy mode, ``@jit``).

MXNet symbols index only with ints and slices, and cannot be assigned into;
these helpers lower NumPy basic indexing (ints, slices, ``None``, ``...``),
assignment into basic slices, and advanced indexing by leading integer arrays
(``x[i]``, ``x[rows, cols]``) to graph operators. Other patterns raise
``NotImplementedError`` and lazy mode then runs that node eagerly.
"""
from __future__ import annotations

import numpy as _onp


def _expand(index, shape):
    """Ints/slices for every axis (``...`` expanded, ``None`` dropped)."""
    items = [t for t in index if t is not None]
    out = []
    for t in items:
        if t is Ellipsis:
            out += [slice(None)] * (len(shape) - (len(items) - 1))
        else:
            out.append(t)
    return tuple(out) + (slice(None),) * (len(shape) - len(out))


def _meta_like(sym, like, dtype):
    """Shape/dtype metadata (as the lazy builder attaches it) for a derived symbol."""
    sym.shape, sym.ndim, sym.dtype = like.shape, like.ndim, _onp.dtype(dtype)
    return sym


def _dummy(shape):
    return _onp.broadcast_to(_onp.zeros((), "int8"), shape)


def leading_arrays(template) -> int:
    """k when the template is k integer arrays followed only by full slices, else 0."""
    k = 0
    for t in template:
        if t[0] == "a" and k == template.index(t):
            k += 1
        elif t[0] == "s" and t[1:] == (None, None, None):
            continue
        else:
            return 0
    return k


def getitem_basic(F, x, idx):
    final = _dummy(x.shape)[idx].shape
    key = _expand(idx, x.shape)
    if all(k == slice(None) for k in key):
        y = x
    else:
        y = x[key] if key else x
    return F.np.reshape(y, final)


def _crop(idx, shape):
    """begin/end/step of the box an int/slice index selects, and the box's shape."""
    key = _expand(idx, shape)
    begin, end, step, box = [], [], [], []
    for k, n in zip(key, shape):
        if isinstance(k, int):
            i = k % n if n else 0
            begin.append(i), end.append(i + 1), step.append(1), box.append(slice(i, i + 1))
        else:
            begin.append(k.start), end.append(k.stop), step.append(k.step), box.append(k)
    return tuple(begin), tuple(end), tuple(step), _dummy(shape)[tuple(box)].shape


def _covers(begin, end, step, shape) -> bool:
    return all(b in (None, 0) and (e is None or e >= n) and s in (None, 1)
               for b, e, s, n in zip(begin, end, step, shape))


def setitem_basic(F, x, value, idx):
    if len(x.shape) == 0:              # x[()] = v, x[...] = v on a 0-d array: all of it
        v = value if hasattr(value, "shape") else F.np.full((), value, dtype=x.dtype.name)
        v = v.astype(x.dtype.name) if v.dtype != x.dtype else v
        return F.np.reshape(v, ())
    begin, end, step, box = _crop(idx, x.shape)
    if 0 in box:                       # an empty selection writes nothing
        return F.np.copy(x)
    if x.dtype == _onp.bool_:          # MXNet's slice assignment has no bool kernel
        v = value.astype("int8") if hasattr(value, "shape") else int(bool(value))
        return setitem_basic(F, _meta_like(x.astype("int8"), x, "int8"), v, idx) != 0
    if not hasattr(value, "shape"):
        return F._internal._slice_assign_scalar(x.as_nd_ndarray(), scalar=float(value), begin=begin,
                                                end=end, step=step).as_np_ndarray()
    sel = _dummy(x.shape)[idx].shape
    v = F.np.broadcast_to(value, sel) if tuple(value.shape) != sel else value
    v = v.astype(x.dtype.name) if value.dtype != x.dtype else v
    if sel != box:
        v = F.np.reshape(v, box)
    if _covers(begin, end, step, x.shape):
        return v                       # x[:] = v replaces every element: no copy of x
    return F._internal._slice_assign(x.as_nd_ndarray(), v.as_nd_ndarray(), begin=begin, end=end,
                                     step=step).as_np_ndarray()


def index_add_basic(F, base, g, idx):
    begin, end, step, box = _crop(idx, base.shape)
    if _covers(begin, end, step, tuple(base.shape)):
        # the whole array (x[()] and x[...] of a 0-d one, where _slice_assign with empty
        # begin/end adds nothing): a plain sum
        return base + F.np.reshape(g, tuple(base.shape))
    crop = F.np.reshape(getitem_basic(F, base, idx), box)
    return F._internal._slice_assign(base.as_nd_ndarray(),
                                     (crop + F.np.reshape(g, box)).as_nd_ndarray(),
                                     begin=begin, end=end, step=step).as_np_ndarray()


def _stacked(F, arrays):
    shape = _onp.broadcast_shapes(*[tuple(a.shape) for a in arrays])
    parts = [F.np.broadcast_to(a, shape) if tuple(a.shape) != shape else a for a in arrays]
    return F.np.stack([p.astype("int64") for p in parts])


def gather(F, x, arrays):
    return F.npx.gather_nd(x, _stacked(F, arrays))


def scatter_add(F, base, g, arrays):
    acc = F._internal._backward_gather_nd(g.as_nd_ndarray(), _stacked(F, arrays).as_nd_ndarray(),
                                          shape=tuple(base.shape)).as_np_ndarray()
    return base + acc


def scatter_set(F, x, value, arrays):
    # MXNet's scatter_set_nd writes in place, which a graph cannot express;
    # lazy mode runs assignments through integer arrays eagerly instead.
    raise NotImplementedError("assignment through integer index arrays inside a graph")
