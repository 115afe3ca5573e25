"""Shape manipulation: reshape, transpose, joining, splitting, tiling, sorting."""
from __future__ import annotations

import mxnet as _mx
import numpy as _onp

from ..dispatch.registry import defop, mark_mxgrad
from ..dispatch.call import from_host as _from_host
from ._symindex import _meta_like as _meta
from ._util import (c, cast, operand_dtype, plain_layouts, pos_axis, result_dtype, unbroadcast,
                    via_int8)


def _to_shape(g, ans, x, *a, **k):
    return c("reshape", g, x.shape)


def _reshape_bind(a, newshape=None, order="C", shape=None):
    if newshape is None:
        newshape = shape
    if newshape is None:
        raise TypeError("minpy.numpy.reshape() missing required argument 'newshape'")
    if isinstance(newshape, (int, _onp.integer)):
        newshape = (int(newshape),)
    if order != "C":
        raise NotImplementedError("minpy.numpy.reshape: only order='C' is supported")
    return (a,), (("newshape", tuple(int(s) for s in newshape)), ("order", "C"))


def _reshape_mx(F, x, newshape, order):
    if not plain_layouts(F) and operand_dtype(x) == _onp.float32 and x.ndim and \
            0 not in x.shape and newshape:
        # a graph that may hold oneDNN blocked layouts: np.reshape of such an array is a
        # view no later oneDNN primitive can read (MXNet fails to build the reorder, even
        # for npx.sigmoid); the classic reshape converts it to the plain layout first. Its
        # -1 infers a size as NumPy's does; a valid shape here has no 0 (its other codes)
        return F.reshape(x.as_nd_ndarray(), shape=newshape).as_np_ndarray()
    return F.np.reshape(x, newshape)


defop("reshape", bind=_reshape_bind, grad=_to_shape, mx=_reshape_mx)
defop("ravel", params=[("order", "C")], grad=_to_shape,
      mx=lambda F, x, order: F.np.reshape(x, (-1,)))
defop("squeeze", params=[("axis", None)], grad=_to_shape)
def _expand_dims_mx(F, x, axis):
    if not isinstance(axis, tuple):
        return F.np.expand_dims(x, axis)
    # MXNet takes one axis at a time: insert them in increasing order of NumPy's positions
    ndim = x.ndim + len(axis)
    for a in sorted(a % ndim for a in axis):
        x = F.np.expand_dims(x, a)
    return x


defop("expand_dims", params=[("axis", 0)], grad=_to_shape, mx=_expand_dims_mx)
defop("atleast_1d", grad=_to_shape, mx=lambda F, x: F.np.reshape(x, (1,)) if x.ndim == 0 else x,
      np=lambda x: _onp.atleast_1d(x))
defop("atleast_2d", grad=_to_shape, mx=lambda F, x: F.np.atleast_2d(x),
      np=lambda x: _onp.atleast_2d(x))


def _transpose_vjp(g, ans, x, axes):
    if axes is None:
        return c("transpose", g)
    inv = tuple(int(i) for i in _onp.argsort([a % x.ndim for a in axes]))
    return c("transpose", g, inv)


def permute(F, x, axes):
    """``x`` with its axes in the order ``axes`` (None: reversed). float32 goes through
    MXNet's classic transpose, a oneDNN reorder: 2.7x faster than ``np.transpose`` for
    784x512 and 6-15x for 3-D/4-D permutations here; the two break even at 64x64 (the
    reorder costs about 0.7 us more a call on tiny arrays). Smaller arrays and other
    dtypes go through ``np.transpose`` (bool as int8: MXNet has no bool kernels for
    data movement), as do graphs that may hold oneDNN's blocked layouts (``plain_layouts``)."""
    if operand_dtype(x) == _onp.float32 and x.ndim >= 2 and int(_onp.prod(x.shape)) >= 4096 \
            and plain_layouts(F):
        perm = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
        return F.transpose(x.as_nd_ndarray(), axes=perm).as_np_ndarray()
    return via_int8(F, x, lambda v: F.np.transpose(v, axes))


def _swapped(ndim: int, axis1: int, axis2: int) -> tuple:
    perm = list(range(ndim))
    perm[axis1 % ndim], perm[axis2 % ndim] = perm[axis2 % ndim], perm[axis1 % ndim]
    return tuple(perm)


def _moved(ndim: int, source, destination) -> tuple:
    src = [s % ndim for s in ((source,) if isinstance(source, int) else source)]
    dst = [d % ndim for d in ((destination,) if isinstance(destination, int) else destination)]
    rest = [a for a in range(ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        rest.insert(d, s)
    return tuple(rest)


defop("transpose", params=[("axes", None)], grad=_transpose_vjp,
      mx=lambda F, x, axes: permute(F, x, axes))
defop("swapaxes", params=[("axis1", None), ("axis2", None)],
      mx=lambda F, x, axis1, axis2: permute(F, x, _swapped(x.ndim, axis1, axis2)),
      grad=lambda g, ans, x, axis1, axis2: c("swapaxes", g, axis1, axis2))
defop("moveaxis", params=[("source", None), ("destination", None)],
      mx=lambda F, x, source, destination: permute(F, x, _moved(x.ndim, source, destination)),
      grad=lambda g, ans, x, source, destination: c("moveaxis", g, destination, source))
defop("flip", params=[("axis", None)], grad=lambda g, ans, x, axis: c("flip", g, axis),
      mx=lambda F, x, axis: via_int8(F, x, lambda v: F.np.flip(
          v, pos_axis(axis, v.ndim) if axis is not None or v.ndim == 0 else tuple(range(v.ndim)))))
defop("broadcast_to", params=[("shape", None)], grad=lambda g, ans, x, shape: unbroadcast(g, x),
      mx=lambda F, x, shape: F.np.broadcast_to(x, shape))


def _roll_vjp(g, ans, x, shift, axis):
    neg = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    return c("roll", g, neg, axis)


def _roll_mx(F, x, shift, axis):
    if isinstance(axis, tuple) or isinstance(shift, tuple):
        # NumPy adds the shifts of a repeated axis; MXNet rejects repeated axes
        axes = axis if isinstance(axis, tuple) else (axis,) * len(shift)
        shifts = shift if isinstance(shift, tuple) else (shift,) * len(axes)
        total: dict = {}
        for a, k in zip(_onp.broadcast_to(axes, _onp.broadcast_shapes((len(axes),), (len(shifts),))),
                        _onp.broadcast_to(shifts, _onp.broadcast_shapes((len(axes),), (len(shifts),)))):
            a = int(a) % x.ndim
            total[a] = total.get(a, 0) + int(k)
        axis, shift = tuple(total), tuple(total.values())
    return via_int8(F, x, lambda v: F.np.roll(v, shift, axis))


defop("roll", params=[("shift", 0), ("axis", None)], grad=_roll_vjp, mx=_roll_mx)


# ---------------------------------------------------------------------------- joining

def _seq_bind(name, axis_default):
    def bind(arrays, axis=axis_default, **kw):
        if kw:
            raise TypeError(f"minpy.numpy.{name}() got an unexpected keyword argument "
                            f"{next(iter(kw))!r}")
        if not isinstance(arrays, (list, tuple)) and not hasattr(arrays, "__iter__"):
            raise TypeError(f"minpy.numpy.{name}: expected a sequence of arrays")
        arrays = tuple(arrays)
        if not arrays:
            raise ValueError(f"minpy.numpy.{name}: need at least one array to {name}")
        return arrays, (("axis", axis),)
    return bind


def _split_points(sizes):
    pts, acc = [], 0
    for s in sizes[:-1]:
        acc += s
        pts.append(acc)
    return pts


def _concat_vjp(g, ans, operands, axis):
    ax = 0 if axis is None else axis % g.ndim
    if axis is None:
        sizes = [o.size for o in operands]
    else:
        sizes = [o.shape[ax] for o in operands]
    parts = c("split", g, _split_points(sizes), ax)
    return [c("reshape", p, o.shape) for p, o in zip(parts, operands)]


def _concat_mx(F, *arrays, axis):
    # MXNet needs one dtype; NumPy joins in the common one
    dt = result_dtype(*arrays)
    arrays = [cast(a, dt) for a in arrays]
    if axis is None:
        arrays = [F.np.reshape(a, (-1,)) for a in arrays]
        axis = 0
    return F.np.concatenate(arrays, axis=axis)


defop("concatenate", nin=-1, bind=_seq_bind("concatenate", 0), mx=_concat_mx,
      np=lambda *a, axis: _onp.concatenate(a, axis=axis), grad=_concat_vjp)


def _stack_vjp(g, ans, operands, axis):
    ax = axis % g.ndim
    parts = c("split", g, len(operands), ax)
    return [c("reshape", p, o.shape) for p, o in zip(parts, operands)]


defop("stack", nin=-1, bind=_seq_bind("stack", 0),
      mx=lambda F, *arrays, axis: F.np.stack([cast(a, result_dtype(*arrays)) for a in arrays],
                                             axis=axis),
      np=lambda *a, axis: _onp.stack(a, axis=axis), grad=_stack_vjp)


def _vstack(tup):
    arrays = [c("atleast_2d", a) for a in tup]
    return c("concatenate", arrays, 0)


def _hstack(tup):
    arrays = [c("atleast_1d", a) for a in tup]
    return c("concatenate", arrays, 0 if arrays and arrays[0].ndim == 1 else 1)


def _column_stack(tup):
    arrays = [c("reshape", a, (-1, 1)) if a.ndim < 2 else a
              for a in (_from_host(t) if not hasattr(t, "ndim") else t for t in tup)]
    return c("concatenate", arrays, 1)


# ---------------------------------------------------------------------------- splitting

def _split_bind(ary, indices_or_sections, axis=0):
    if isinstance(indices_or_sections, (list, tuple)) or hasattr(indices_or_sections, "tolist"):
        ios = tuple(int(i) for i in _onp.asarray(indices_or_sections).tolist())
    else:
        ios = int(indices_or_sections)
    return (ary,), (("indices_or_sections", ios), ("axis", int(axis)))


def _split_np(ary, indices_or_sections, axis):
    return _onp.split(ary, list(indices_or_sections) if isinstance(indices_or_sections, tuple)
                      else indices_or_sections, axis=axis)


def _split_mx(F, x, indices_or_sections, axis):
    ios = indices_or_sections
    if isinstance(ios, tuple):
        n = x.shape[axis]
        bounds = [0] + [min(max(i if i >= 0 else i + n, 0), n) for i in ios] + [n]
        if F is _mx.sym and any(hi <= lo for lo, hi in zip(bounds[:-1], bounds[1:])):
            raise NotImplementedError("empty pieces inside a graph")   # runs eagerly
        idx = [slice(None)] * x.ndim
        out = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            idx[axis] = slice(lo, max(lo, hi))
            out.append(x[tuple(idx)])
        return out
    r = via_int8(F, x, lambda v: F.np.split(v, ios, axis=axis))
    return list(r) if isinstance(r, (list, tuple)) else [r]


def _split_vjp(gs, ans, operands, indices_or_sections, axis):
    x = operands[0]
    parts = [g if g is not None else c("zeros", a.shape, a.dtype) for g, a in zip(gs, ans)]
    return [c("concatenate", parts, axis)]


defop("split", bind=_split_bind, np=_split_np, mx=_split_mx, multi="list", grad=_split_vjp)


def _array_split_np(ary, indices_or_sections, axis):
    return _onp.array_split(ary, list(indices_or_sections) if isinstance(indices_or_sections, tuple)
                            else indices_or_sections, axis=axis)


def _array_split_mx(F, x, indices_or_sections, axis):
    if isinstance(indices_or_sections, int):
        n, k = x.shape[axis], indices_or_sections
        each, extra = divmod(n, k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        indices_or_sections = tuple(_split_points(sizes + [0]))[:k - 1] if k > 1 else ()
        return _split_mx(F, x, tuple(_split_points(sizes)), axis)
    return _split_mx(F, x, indices_or_sections, axis)


defop("array_split", bind=_split_bind, np=_array_split_np, mx=_array_split_mx, multi="list",
      grad=_split_vjp)


# ---------------------------------------------------------------------------- tiling

def _tile_vjp(g, ans, x, reps):
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    nd = max(len(reps), x.ndim)
    reps = (1,) * (nd - len(reps)) + reps
    shape = (1,) * (nd - x.ndim) + tuple(x.shape)
    inter = []
    for r, s in zip(reps, shape):
        inter += [r, s]
    summed = c("sum", c("reshape", g, tuple(inter)), tuple(range(0, 2 * nd, 2)))
    return c("reshape", summed, x.shape)


defop("tile", params=[("reps", 1)], grad=_tile_vjp,
      mx=lambda F, x, reps: F.np.tile(x, reps))


def _repeat_bind(a, repeats, axis=None):
    """Array or list repeats become a hashable tuple of ints (NumPy's casting rule)."""
    if not isinstance(repeats, (bool, int, float, _onp.integer, _onp.floating)):
        host = repeats._host("repeat") if hasattr(repeats, "_host") else _onp.asarray(repeats)
        if host.dtype.kind not in "biu":
            raise TypeError(f"Cannot cast array data from {host.dtype!r} to dtype('int64') "
                            f"according to the rule 'safe'")
        if host.ndim > 1:
            raise ValueError("object too deep for desired array")
        repeats = int(host) if host.ndim == 0 else tuple(int(r) for r in host)
    elif isinstance(repeats, (bool, _onp.integer)):
        repeats = int(repeats)
    return (a,), (("repeats", repeats), ("axis", axis if axis is None else int(axis)))


def _repeat_vjp(g, ans, x, repeats, axis):
    if not isinstance(repeats, int):
        # each input element receives the sum of the outputs it was copied to
        n = x.size if axis is None or x.ndim == 0 else x.shape[axis % x.ndim]
        pos = _onp.repeat(_onp.arange(n), repeats).astype("int64")
        if axis is None or x.ndim == 0:
            flat = c("_index_add", c("zeros", (x.size,), g.dtype), g, pos, index=(("a", 0),))
            return c("reshape", flat, x.shape)
        index = (("s", None, None, None),) * (axis % x.ndim) + (("a", 0),)
        return c("_index_add", c("zeros", x.shape, g.dtype), g, pos, index=index)
    if axis is None or x.ndim == 0:
        return c("reshape", c("sum", c("reshape", g, (x.size, repeats)), 1), x.shape)
    ax = axis % x.ndim
    shape = tuple(x.shape[:ax]) + (x.shape[ax], repeats) + tuple(x.shape[ax + 1:])
    return c("sum", c("reshape", g, shape), ax + 1)


def _flat(F, x):
    """``x`` as a vector, with the metadata graph lowerings read."""
    return _meta(F.np.reshape(x, (-1,)), (int(_onp.prod(x.shape)),), _onp.dtype(x.dtype))


def _repeat_mx(F, x, repeats, axis):
    if axis is None or x.ndim == 0:     # NumPy repeats a 0-d array along any axis given
        x, axis = _flat(F, x), 0
    axis %= x.ndim
    n = x.shape[axis]
    if isinstance(repeats, tuple) and len(repeats) == 1:
        repeats = repeats[0]
    if isinstance(repeats, int) and repeats > 0:
        return F.np.repeat(x, repeats, axis)
    # per-element repeats (and zero repeats, where MXNet loses the other axes):
    # take the positions NumPy's repeat would produce
    pos = _onp.repeat(_onp.arange(n), repeats)
    if pos.size == 0:
        shape = tuple(x.shape[:axis]) + (0,) + tuple(x.shape[axis + 1:])
        return F.np.zeros(shape, dtype=x.dtype)
    import mxnet as _mx
    if F is _mx.sym:
        raise NotImplementedError("per-element repeats inside a graph")
    return F.np.take(x, _mx.np.array(pos, dtype="int64", ctx=x.ctx), axis=axis)


defop("repeat", bind=_repeat_bind, grad=_repeat_vjp, mx=_repeat_mx,
      np=lambda x, repeats, axis: _onp.repeat(x, repeats, axis))


# ---------------------------------------------------------------------------- sorting

def _sort_vjp(g, ans, x, axis, kind=None, order=None):
    ax = -1 if axis is None else axis
    shape = x.shape
    if axis is None:
        x = c("ravel", x)
    inv = c("argsort", c("argsort", x, ax), ax)
    gx = c("take_along_axis", g, inv, ax)
    return c("reshape", gx, shape) if axis is None else gx


def _nan_last_key(F, x):
    """A key whose ascending order is NumPy's for float ``x``: NaN after +inf (MXNet's
    sort leaves NaNs where they fall). float64 keeps every float32/float16 value exact;
    +inf becomes a finite number above them and NaN becomes +inf."""
    k = x if x.dtype == _onp.float64 else x.astype("float64")
    top = _onp.finfo(_onp.float64).max if x.dtype == _onp.float64 else 1e300
    k = F.np.where(F.np.isinf(k) * (k > 0), F.np.full((), top, dtype="float64"), k)
    return F.np.where(F.np.isnan(k), F.np.full((), _onp.inf, dtype="float64"), k)


def _argsort_any(F, x, axis):
    if _onp.dtype(x.dtype).kind == "f":
        return F.np.argsort(_nan_last_key(F, x), axis=axis)
    if x.dtype == _onp.bool_:
        x = x.astype("int8")
    return F.np.argsort(x, axis=axis)


def _sort_mx(F, x, axis, kind, order):
    if axis is None or x.ndim == 0:
        x, axis = _flat(F, x), -1
    if 0 in tuple(x.shape):
        return F.np.copy(x)
    if _onp.dtype(x.dtype).kind == "f":
        idx = _meta(_argsort_any(F, x, axis), tuple(x.shape), _onp.int64)
        return _tal_mx(F, x, idx, axis)
    return via_int8(F, x, lambda v: F.np.sort(v, axis=axis))


def _argsort_mx(F, x, axis, kind, order):
    if axis is None or x.ndim == 0:
        x, axis = _flat(F, x), -1
    if 0 in tuple(x.shape):
        return F.np.zeros(tuple(x.shape), dtype="int64")
    return _argsort_any(F, x, axis).astype("int64")


_SORT = [("axis", -1), ("kind", None), ("order", None)]
defop("sort", params=_SORT, mx=_sort_mx, grad=_sort_vjp)
defop("argsort", params=_SORT, mx=_argsort_mx, nondiff=True)


def _tal_vjp(g, ans, arr, indices, axis):
    if axis is None:        # the flattened array was indexed
        base = c("zeros", (arr.size,), g.dtype)
        flat = c("_scatter_add_along_axis", base, indices, g, axis=0)
        return c("reshape", flat, arr.shape)
    base = c("zeros", arr.shape, g.dtype)
    return c("_scatter_add_along_axis", base, indices, g, axis=axis)


def _tal_mx(F, a, idx, axis):
    # MXNet 1.9 has no take_along_axis: gather with index grids for the other axes
    if axis is None:
        a, axis = _flat(F, a), 0
    axis %= a.ndim
    out = tuple(int(d) for d in _onp.broadcast_shapes(
        tuple(a.shape[:axis]) + (idx.shape[axis],) + tuple(a.shape[axis + 1:]), tuple(idx.shape)))
    if 0 in out:
        return F.np.zeros(out, dtype=_onp.dtype(a.dtype).name)
    idx = idx.astype("int64")
    idx = F.np.where(idx < 0, idx + a.shape[axis], idx)
    coords = []
    for d in range(a.ndim):
        if d == axis:
            coords.append(F.np.broadcast_to(idx, out))
        else:
            shape = [1] * len(out)
            shape[d] = out[d]
            grid = F.np.reshape(F.np.arange(out[d], dtype="int64"), tuple(shape))
            coords.append(F.np.broadcast_to(grid, out))
    return via_int8(F, a, lambda v: F.npx.gather_nd(v, F.np.stack(coords)))


defop("take_along_axis", nin=2, params=[("axis", None)], grad=(_tal_vjp, None), mx=_tal_mx)


def _scatter_np(base, indices, values, axis):
    out = base.copy()
    ax = axis % base.ndim
    idx = list(_onp.ix_(*[_onp.arange(s) for s in indices.shape]))
    idx[ax] = indices
    _onp.add.at(out, tuple(idx), values)
    return out


defop("_scatter_add_along_axis", nin=3, params=[("axis", -1)], mx=None, np=_scatter_np,
      grad=(lambda g, ans, base, indices, values, axis: g, None,
            lambda g, ans, base, indices, values, axis: c("take_along_axis", g, indices, axis)))


mark_mxgrad(("reshape", "transpose", "broadcast_to"))
