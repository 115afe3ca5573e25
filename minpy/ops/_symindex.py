"""Lowering of NumPy indexing to MXNet operators, for eager runs and graphs alike.

MXNet's own advanced indexing disagrees with NumPy in corner cases (a ``None``
next to an index array, empty slices next to arrays), and MXNet symbols index
only with ints and slices and cannot be assigned into. Every index is therefore
lowered here in one canonical way that follows NumPy's rules exactly:

1. each ``None`` becomes a length-1 axis of the input (a reshape) indexed by ``:``;
   ``...`` becomes full slices;
2. the slices are applied as one basic index;
3. when there are index arrays (ints among them count as 0-d arrays), the
   advanced axes are moved to the front and gathered with ``gather_nd``; the
   broadcast index dimensions then go back where NumPy puts them (in place
   when the advanced items are adjacent in the index, in front when a slice,
   ``None`` or ``...`` separates them).

Assignment and scatter-add go through the flat positions such an index selects
in ``arange(size)``, so they share the same rules; of several writes to one
element the last one wins, as in NumPy. An empty selection never reaches MXNet.
"""
from __future__ import annotations

import functools

import mxnet as _mx
import numpy as _onp


def _dummy(shape):
    return _onp.broadcast_to(_onp.zeros((), "int8"), shape)


def _slice(t):
    return slice(t[1], t[2], t[3])


def norm_slice(sl: slice, n: int) -> slice:
    """``sl`` with in-range bounds (MXNet fails on starts before -n, for one), or the
    slice itself when it selects nothing (empty selections never reach MXNet)."""
    if sl == slice(None):
        return sl
    start, stop, step = sl.indices(n)
    if len(range(start, stop, step)) == 0:
        return sl
    if step < 0 and stop < 0:
        stop = None
    return slice(start, stop, None if step == 1 else step)


class Plan:
    """Everything about one index template over given operand shapes (cached)."""

    __slots__ = ("out", "yshape", "key", "full", "adv", "front", "bshape", "ints", "rest",
                 "order")

    def __init__(self, template, xshape, ashapes):
        used = sum(1 for t in template if t[0] in "isa")
        items = []          # per axis of y: ("s", slice) | ("i", n) | ("a", k)
        yshape = []
        ax = 0
        for t in template:
            if t[0] == "n":
                items.append(("s", slice(None)))
                yshape.append(1)
            elif t[0] == "b":           # a 0-d boolean: a new axis it indexes
                items.append(("a", t[1]))
                yshape.append(1)
            elif t[0] == "e":
                for _ in range(len(xshape) - used):
                    items.append(("s", slice(None)))
                    yshape.append(xshape[ax])
                    ax += 1
            else:
                items.append(("s", norm_slice(_slice(t), xshape[ax])) if t[0] == "s" else t)
                yshape.append(xshape[ax])
                ax += 1
        while ax < len(xshape):
            items.append(("s", slice(None)))
            yshape.append(xshape[ax])
            ax += 1
        self.yshape = tuple(yshape)
        has_arrays = any(t[0] in "ab" for t in template)
        if not has_arrays:
            self.key = tuple(it[1] for it in items)
            self.adv = ()
        else:
            self.key = tuple(it[1] if it[0] == "s" else slice(None) for it in items)
            self.adv = tuple(i for i, it in enumerate(items) if it[0] != "s")
        self.full = all(k == slice(None) for k in self.key)
        sliced = _dummy(self.yshape)[self.key].shape
        if not has_arrays:
            self.out = sliced
            return
        # NumPy: advanced items adjacent in the index keep their place, otherwise
        # (a slice, None or ... between them) the broadcast dimensions go first
        pos = [i for i, t in enumerate(template) if t[0] in "iab"]
        self.front = pos[-1] - pos[0] + 1 != len(pos)
        shapes = [ashapes[it[1]] for it in items if it[0] == "a"]
        try:
            self.bshape = tuple(_onp.broadcast_shapes(*shapes))
        except ValueError:
            raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                             "with shapes " + " ".join(str(s) for s in shapes)) from None
        self.ints = tuple(items[a] for a in self.adv)
        others = tuple(i for i in range(len(items)) if i not in self.adv)
        self.order = self.adv + others
        self.rest = tuple(sliced[i] for i in others)
        at = 0 if self.front else self.adv[0]
        self.out = self.rest[:at] + self.bshape + self.rest[at:]


@functools.lru_cache(maxsize=4096)
def plan(template, xshape, ashapes) -> Plan:
    return Plan(template, xshape, ashapes)


def _shape(v):
    return tuple(int(s) for s in v.shape)


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _transpose(F, v, axes, dtype):
    if _onp.dtype(dtype) == _onp.bool_:
        return F.np.transpose(v.astype("int8"), axes).astype("bool")
    return F.np.transpose(v, axes)


def take(F, x, arrays, template, xshape=None, dtype=None):
    """``x[index]`` by NumPy's rules; ``x`` an MXNet array or symbol (``xshape`` and
    ``dtype`` give its metadata where the caller made ``x`` itself)."""
    xshape = _shape(x) if xshape is None else xshape
    p = plan(template, xshape, tuple(_shape(a) for a in arrays))
    dt = x.dtype if dtype is None else dtype
    if 0 in p.out:
        return F.np.zeros(p.out, dtype=_onp.dtype(dt).name)
    y = x if p.yshape == xshape else F.np.reshape(x, p.yshape)
    if not p.full:
        y = y[p.key]
    if not p.adv:
        if y is x and xshape == p.out or isinstance(y, _mx.np.ndarray) and y.shape == p.out:
            return y
        return F.np.reshape(y, p.out)
    if p.order != tuple(range(len(p.order))):
        y = _transpose(F, y, p.order, dt)
    r = F.npx.gather_nd(y, _stacked(F, p, arrays))
    nb = len(p.bshape)
    if not p.front and p.adv[0] > 0:
        at = p.adv[0]
        n = nb + len(p.rest)
        perm = tuple(range(nb, nb + at)) + tuple(range(nb)) + tuple(range(nb + at, n))
        r = _transpose(F, F.np.reshape(r, p.bshape + p.rest), perm, dt)
    return F.np.reshape(r, p.out)


def _stacked(F, p, arrays):
    """The advanced items as one (M, *B) int64 index for gather_nd (B=() as (M, 1))."""
    parts = []
    for it in p.ints:
        if it[0] == "i":
            parts.append(F.np.full(p.bshape, it[1], dtype="int64"))
        else:
            a = arrays[it[1]]
            a = a if a.dtype == _onp.int64 else a.astype("int64")
            parts.append(a if _shape(a) == p.bshape else F.np.broadcast_to(a, p.bshape))
    idx = F.np.stack(parts)
    return F.np.reshape(idx, (len(parts), 1)) if not p.bshape else idx


def _leading(p, xshape) -> bool:
    """Index arrays on the leading axes, full slices after, no None: the common
    ``x[rows]``, ``x[rows, cols]`` form, scattered per leading position."""
    return bool(p.adv) and p.adv == tuple(range(len(p.adv))) and p.yshape == xshape and p.full


def positions(F, xshape, arrays, template):
    """The flat positions ``arange(size).reshape(xshape)[index]`` as an int64 vector."""
    size = _size(xshape)
    lin = F.np.reshape(F.np.arange(size, dtype="int64"), xshape) if xshape else \
        F.np.reshape(F.np.arange(1, dtype="int64"), ())
    return F.np.reshape(take(F, lin, arrays, template, xshape, "int64"), (-1,))


def _scatter_add(F, values, lin, size):
    """A length-``size`` vector with ``values[k]`` added at ``lin[k]`` (float or int64)."""
    return F._internal._backward_gather_nd(values.as_nd_ndarray(),
                                           F.np.reshape(lin, (1, -1)).as_nd_ndarray(),
                                           shape=(size,)).as_np_ndarray()


def winners(F, lin, k: int, size: int):
    """For each of ``size`` elements, 1 + the position in ``lin`` (length ``k``) of the
    last write to it, 0 where nothing writes. Sorting ``lin * k + position`` groups the
    writes to one element in program order; the last of each group wins."""
    seq = F.np.arange(k, dtype="int64")
    order = F.np.argsort(lin * k + seq)
    sl = F.npx.gather_nd(lin, F.np.reshape(order, (1, -1)))
    if k > 1:
        last = F.np.concatenate([(sl[:-1] != sl[1:]).astype("int64"),
                                 F.np.ones((1,), dtype="int64")])
    else:
        last = F.np.ones((1,), dtype="int64")
    return _scatter_add(F, (order + 1) * last, sl, size)


def keep_mask(F, xshape, arrays, template, dtype):
    """1 where an element of the selection is the write that survives, else 0."""
    p = plan(template, xshape, tuple(_shape(a) for a in arrays))
    k = _size(p.out)
    if k == 0:
        return F.np.zeros(p.out, dtype=dtype)
    lin = positions(F, xshape, arrays, template)
    src = winners(F, lin, k, _size(xshape))
    won = F.npx.gather_nd(src, F.np.reshape(lin, (1, -1))) == F.np.arange(1, k + 1, dtype="int64")
    return F.np.reshape(won.astype(dtype), p.out)


def assign(F, x, value, arrays, template, unique=False):
    """A copy of ``x`` with ``x[index] = value`` done (NumPy's casting and last-write rule;
    ``unique``: the index is known to select each element once)."""
    xshape = _shape(x)
    p = plan(template, xshape, tuple(_shape(a) for a in arrays))
    k = _size(p.out)
    if k == 0:
        return F.np.copy(x)
    dt = _onp.dtype(x.dtype)
    work = "int8" if dt == _onp.bool_ else dt.name
    xv = x.astype(work) if dt == _onp.bool_ else x
    size = _size(xshape)
    lead = _leading(p, xshape)
    m = len(p.adv)
    nlead = _size(xshape[:m])
    if not hasattr(value, "shape"):     # one value written everywhere: order is moot
        fill = F.np.full((), bool(value) if dt == _onp.bool_ else value, dtype=work)
        if not arrays and p.full and not p.adv and p.out == xshape:
            out = F.np.broadcast_to(fill, xshape)
        elif lead:
            ones = F.np.ones(p.bshape or (1,), dtype="int64")
            hit = F._internal._backward_gather_nd(ones.as_nd_ndarray(),
                                                  _stacked(F, p, arrays).as_nd_ndarray(),
                                                  shape=xshape[:m]).as_np_ndarray() > 0
            out = F.np.where(F.np.reshape(hit, xshape[:m] + (1,) * (len(xshape) - m)), fill, xv)
        else:
            lin = positions(F, xshape, arrays, template)
            hit = _scatter_add(F, F.np.ones((k,), dtype="int64"), lin, size) > 0
            out = F.np.where(F.np.reshape(hit, xshape), fill, xv)
        return out.astype("bool") if dt == _onp.bool_ else out
    vshape = _shape(value)
    if value.dtype != dt:
        value = value.astype(dt.name)
    if dt == _onp.bool_:
        value = value.astype("int8")
    if len(vshape) > len(p.out):        # NumPy drops leading length-1 axes of the value
        vshape = vshape[len(vshape) - len(p.out):]
        value = F.np.reshape(value, vshape)
    if vshape != p.out:
        value = F.np.broadcast_to(value, p.out)
    if not arrays and p.full and not p.adv and p.out == xshape:
        out = value                     # x[...] = v, x[:] = v: every element replaced
    elif lead:
        # per leading position: which selected row (if any) lands there, last one winning
        kb = _size(p.bshape)
        lin = F.np.reshape(F.npx.gather_nd(
            F.np.reshape(F.np.arange(nlead, dtype="int64"), xshape[:m]), _stacked(F, p, arrays)),
            (-1,))
        src = winners(F, lin, kb, nlead) if not unique else \
            _scatter_add(F, F.np.arange(1, kb + 1, dtype="int64"), lin, nlead)
        rows = F.np.reshape(value, (kb,) + xshape[m:])
        picked = F.npx.gather_nd(rows, F.np.reshape(F.np.maximum(src - 1, 0), (1, -1)))
        hit = F.np.reshape(src > 0, xshape[:m] + (1,) * (len(xshape) - m))
        out = F.np.where(hit, F.np.reshape(picked, xshape), xv)
    else:
        lin = positions(F, xshape, arrays, template)
        src = winners(F, lin, k, size) if arrays and not unique else \
            _scatter_add(F, F.np.arange(1, k + 1, dtype="int64"), lin, size)
        picked = F.npx.gather_nd(F.np.reshape(value, (-1,)),
                                 F.np.reshape(F.np.maximum(src - 1, 0), (1, -1)))
        flat = F.np.where(src > 0, picked, F.np.reshape(xv, (-1,)))
        out = F.np.reshape(flat, xshape)
    return out.astype("bool") if dt == _onp.bool_ else out


def index_add(F, base, g, arrays, template):
    """``base`` with ``g`` added at ``base[index]`` (repeated positions accumulate)."""
    xshape = _shape(base)
    p = plan(template, xshape, tuple(_shape(a) for a in arrays))
    if 0 in p.out or 0 in xshape:
        return F.np.copy(base)
    if _leading(p, xshape):
        return base + F._internal._backward_gather_nd(
            F.np.reshape(g, p.bshape + xshape[len(p.adv):]).as_nd_ndarray(),
            _stacked(F, p, arrays).as_nd_ndarray(), shape=xshape).as_np_ndarray()
    lin = positions(F, xshape, arrays, template)
    acc = _scatter_add(F, F.np.reshape(g, (-1,)), lin, _size(xshape))
    return base + F.np.reshape(acc, xshape)


# ---------------------------------------------------------------------------- basic indices
# ints, slices, None and ... only: MXNet's slice assignment does these in one operator


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


def _crop(idx, shape):
    """begin/end/step of the box an int/slice index selects, and the box's shape."""
    key = _expand(idx, shape)
    begin, end, step, box = [], [], [], []
    for k, n in zip(key, shape):
        if isinstance(k, int):
            i = k % n if n else 0
            begin.append(i), end.append(i + 1), step.append(1), box.append(slice(i, i + 1))
        else:
            k = norm_slice(k, n)
            begin.append(k.start), end.append(k.stop), step.append(k.step), box.append(k)
    return tuple(begin), tuple(end), tuple(step), _dummy(shape)[tuple(box)].shape


def _covers(begin, end, step, shape) -> bool:
    return all(b in (None, 0) and (e is None or e >= n) and s in (None, 1)
               for b, e, s, n in zip(begin, end, step, shape))


def fit_value(F, value, sel):
    """``value`` (an MXNet array) broadcast to the selection shape ``sel``, NumPy's way:
    surplus leading length-1 axes of the value are dropped first."""
    vshape = _shape(value)
    if len(vshape) > len(sel):
        vshape = vshape[len(vshape) - len(sel):]
        value = F.np.reshape(value, vshape)
    return value if vshape == sel else F.np.broadcast_to(value, sel)


def setitem_basic(F, x, value, idx):
    xshape = _shape(x)
    dname = _onp.dtype(x.dtype).name
    if len(xshape) == 0:               # x[()] = v, x[...] = v on a 0-d array: all of it
        if not hasattr(value, "shape"):
            return F.np.full((), value, dtype=dname)
        v = F.np.reshape(value, ()) if _shape(value) else value
        return v.astype(dname) if value.dtype != x.dtype else v
    begin, end, step, box = _crop(idx, xshape)
    if 0 in box:                       # an empty selection writes nothing
        return F.np.copy(x)
    if x.dtype == _onp.bool_:          # MXNet's slice assignment has no bool kernel
        if hasattr(value, "shape"):    # NumPy's cast to bool first: 0.5 is True
            b = value if value.dtype == _onp.bool_ else value != 0
            v = _meta_like(b.astype("int8"), _shape(value), "int8")
        else:
            v = int(bool(value))
        xi = _meta_like(x.astype("int8"), xshape, "int8")
        return setitem_basic(F, xi, v, idx) != 0
    if not hasattr(value, "shape") and _onp.dtype(x.dtype).kind != "f":
        value = F.np.full((1,), value, dtype=dname)    # exact for int64 beyond 2**53
        value = _meta_like(value, (1,), dname)
    if not hasattr(value, "shape"):
        return F._internal._slice_assign_scalar(x.as_nd_ndarray(), scalar=float(value), begin=begin,
                                                end=end, step=step).as_np_ndarray()
    sel = _dummy(xshape)[idx].shape
    v = fit_value(F, value, sel)
    v = v.astype(dname) if value.dtype != x.dtype else v
    if sel != box:
        v = F.np.reshape(v, box)
    if _covers(begin, end, step, xshape):
        return v                       # x[:] = v replaces every element: no copy of x
    return F._internal._slice_assign(x.as_nd_ndarray(), v.as_nd_ndarray(), begin=begin, end=end,
                                     step=step).as_np_ndarray()


def _meta_like(sym, shape, dtype):
    """Shape/dtype metadata (as the lazy builder attaches it) for a derived symbol."""
    if not isinstance(sym, _mx.np.ndarray):
        sym.shape, sym.ndim, sym.dtype = shape, len(shape), _onp.dtype(dtype)
    return sym


def index_add_basic(F, base, g, idx):
    xshape = _shape(base)
    if not xshape:
        return base + F.np.reshape(g, ())
    begin, end, step, box = _crop(idx, xshape)
    if 0 in box:
        return F.np.copy(base)
    crop = F.np.reshape(base[_expand(idx, xshape)], box)
    return F._internal._slice_assign(base.as_nd_ndarray(),
                                     (crop + F.np.reshape(g, box)).as_nd_ndarray(),
                                     begin=begin, end=end, step=step).as_np_ndarray()
