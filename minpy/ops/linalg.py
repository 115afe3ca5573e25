"""Products: dot, matmul, tensordot, outer, inner, vdot, einsum."""
from __future__ import annotations

import numpy as _onp

from ..dispatch import infer as _infer
from ..dispatch.registry import REGISTRY, defop, mark_mxgrad
from . import fused as _fused
from ._util import c, cast, operand_dtype, result_dtype, unbroadcast, wrapped


_F16, _F32, _F64 = _onp.dtype("float16"), _onp.dtype("float32"), _onp.dtype("float64")
_U8, _I32 = _onp.dtype("uint8"), _onp.dtype("int32")


def _in_float(fn, int_fn=None):
    """Products in NumPy's result dtype: MXNet's dot/matmul kernels take one float
    dtype only. Bool products run in float64 and become "any of the ands" (!= 0);
    integer products run ``int_fn`` on operands cast to the result dtype (exact,
    wrapping on overflow as NumPy's do), or ``fn`` itself where it is elementwise."""
    def lower(F, a, b, **attrs):
        dt = result_dtype(a, b)
        if dt.kind in "iu":
            if dt == _U8:
                # MXNet has no uint8 sum: int32 products and sums wrap to the same
                # value modulo 256
                r = (int_fn or fn)(F, cast(a, _I32), cast(b, _I32), **attrs)
                return r.astype("uint8")
            # (an int16 result, of int8 and uint8 operands, sums in int32 and wraps)
            return wrapped(F, (int_fn or fn)(F, cast(a, dt), cast(b, dt), **attrs), dt)
        # float16 products accumulate in float32, as NumPy's do (MXNet's CPU tensordot
        # has no float16 kernel); a float64 result demoted to float32 because of 32/64-bit
        # integer operands is computed in float64 and rounded once (float32 sums of such
        # products overflow to inf - inf = NaN where NumPy's finish at -inf)
        work = _F32 if dt == _F16 else (dt if dt.kind == "f" else _onp.dtype("float64"))
        if dt == _F32 and any(operand_dtype(v) is not None and
                              operand_dtype(v).char in _infer._WIDE_INTS for v in (a, b)) and \
                result_dtype(a, b, demote=False) == _F64:
            work = _F64
        r = fn(F, cast(a, work), cast(b, work), **attrs)
        if dt.kind == "f":
            return r if work == dt else r.astype(dt.name)
        return F.np.not_equal(r, 0)
    lower.__name__ = getattr(fn, "__name__", "mx_product")
    return lower


# Integer contractions as broadcast products summed over the contracted axis, in chunks
# of at most this many elements (float64 BLAS would round values beyond 2**53).
_INT_CHUNK = 1 << 22


def _int_bmm(F, a, b, ashape: tuple, bshape: tuple):
    """``matmul`` of integer arrays of shapes (..., M, K) and (..., K, N), exactly."""
    m, k = ashape[-2:]
    n = bshape[-1]
    batch = tuple(_onp.broadcast_shapes(ashape[:-2], bshape[:-2]))
    if k == 0:
        return F.np.zeros(batch + (m, n), dtype=_onp.dtype(a.dtype).name)
    per_k = max(int(_onp.prod(batch + (m, n))), 1)
    step = max(1, _INT_CHUNK // per_k)
    ea = F.np.expand_dims(a, -1)          # (..., M, K, 1)
    eb = F.np.expand_dims(b, -3)          # (..., 1, K, N)
    out = None
    for k0 in range(0, k, step):
        k1 = min(k, k0 + step)
        if k0 == 0 and k1 == k:
            pa, pb = ea, eb
        else:
            pa = F.npx.slice(ea, begin=(None,) * (len(ashape) - 1) + (k0, None),
                             end=(None,) * (len(ashape) - 1) + (k1, None))
            pb = F.npx.slice(eb, begin=(None,) * (len(bshape) - 1) + (k0, None),
                             end=(None,) * (len(bshape) - 1) + (k1, None))
        part = F.np.sum(pa * pb, axis=-2, dtype=_onp.dtype(a.dtype).name)
        out = part if out is None else out + part
    return out


def _int_tensordot(F, a, b, a_ax: tuple, b_ax: tuple):
    ashape, bshape = tuple(int(d) for d in a.shape), tuple(int(d) for d in b.shape)
    a_free = [i for i in range(len(ashape)) if i not in a_ax]
    b_free = [i for i in range(len(bshape)) if i not in b_ax]
    m = int(_onp.prod([ashape[i] for i in a_free]))
    k = int(_onp.prod([ashape[i] for i in a_ax]))
    n = int(_onp.prod([bshape[i] for i in b_free]))
    a2 = F.np.reshape(F.np.transpose(a, tuple(a_free) + tuple(a_ax)), (m, k))
    b2 = F.np.reshape(F.np.transpose(b, tuple(b_ax) + tuple(b_free)), (k, n))
    r = _int_bmm(F, a2, b2, (m, k), (k, n))
    return F.np.reshape(r, tuple(ashape[i] for i in a_free) + tuple(bshape[i] for i in b_free))


def _int_matmul(F, a, b):
    ashape, bshape = tuple(int(d) for d in a.shape), tuple(int(d) for d in b.shape)
    va, vb = len(ashape) == 1, len(bshape) == 1
    if va:
        a, ashape = F.np.expand_dims(a, 0), (1,) + ashape
    if vb:
        b, bshape = F.np.expand_dims(b, -1), bshape + (1,)
    r = _int_bmm(F, a, b, ashape, bshape)
    if va and vb:
        return F.np.reshape(r, tuple(_onp.broadcast_shapes(ashape[:-2], bshape[:-2])))
    if va:
        return F.np.squeeze(r, axis=-2)
    if vb:
        return F.np.squeeze(r, axis=-1)
    return r


def _int_dot(F, a, b):
    if a.ndim == 0 or b.ndim == 0:
        return F.np.multiply(a, b)
    return _int_tensordot(F, a, b, (a.ndim - 1,), (max(b.ndim - 2, 0),))


def _int_inner(F, a, b):
    if a.ndim == 0 or b.ndim == 0:
        return F.np.multiply(a, b)
    return _int_tensordot(F, a, b, (a.ndim - 1,), (b.ndim - 1,))


def _product_shape(ops, kw):
    """``dot``/``matmul`` of 1-d and 2-d operands, whose inference on dummies would
    multiply zeros at full size; other ranks, mismatches (NumPy's error) and zero-size
    operands decline to NumPy."""
    a, b = ops
    sa, sb = getattr(a, "shape", None), getattr(b, "shape", None)
    if sa is None or sb is None or not (0 < len(sa) <= 2 and 0 < len(sb) <= 2) or \
            sa[-1] != sb[0] or 0 in sa or 0 in sb:
        return None
    return (sa[:-1] + sb[1:],), (_onp.result_type(a.dtype, b.dtype),)


def _swap(a):
    return c("swapaxes", a, -1, -2)


def _matmul_vjp_a(g, ans, a, b):
    if b.ndim == 1:
        ga = c("expand_dims", g, -1) * b if a.ndim > 1 else g * b
        return unbroadcast(ga, a)
    if a.ndim == 1:
        return unbroadcast(c("matmul", c("expand_dims", g, -2), _swap(b))[..., 0, :], a)
    return unbroadcast(_fused.matmul_t(g, b, False, True), a)


def _matmul_vjp_b(g, ans, a, b):
    if a.ndim == 1:
        gb = c("expand_dims", a, -1) * c("expand_dims", g, -2) if b.ndim > 1 else g * a
        return unbroadcast(gb, b)
    if b.ndim == 1:
        return unbroadcast(c("matmul", _swap(a), c("expand_dims", g, -1))[..., 0], b)
    return unbroadcast(_fused.matmul_t(a, g, True, False), b)


defop("matmul", nin=2, grad=(_matmul_vjp_a, _matmul_vjp_b),
      mx=_in_float(lambda F, a, b: F.np.matmul(a, b), _int_matmul), shape=_product_shape)


def _dot_vjp(which):
    def vjp(g, ans, a, b):
        if a.ndim == 0 or b.ndim == 0:
            return (_BIN_MUL[which])(g, ans, a, b)
        if a.ndim <= 2 and b.ndim <= 2:
            return (_matmul_vjp_a if which == 0 else _matmul_vjp_b)(g, ans, a, b)
        axes = ((a.ndim - 1,), (max(b.ndim - 2, 0),))
        return _tensordot_vjp(which)(g, ans, a, b, axes)
    return vjp


_BIN_MUL = (lambda g, ans, a, b: unbroadcast(g * b, a), lambda g, ans, a, b: unbroadcast(g * a, b))


def _dot_mx(F, a, b):
    if a.ndim == 0 or b.ndim == 0:
        return F.np.multiply(a, b)
    return F.np.dot(a, b)


defop("dot", nin=2, mx=_in_float(_dot_mx, _int_dot), grad=(_dot_vjp(0), _dot_vjp(1)),
      shape=_product_shape)


def _canon_axes(axes, na: int, nb: int):
    if isinstance(axes, int):
        return tuple(range(na - axes, na)), tuple(range(axes))
    a_ax, b_ax = axes
    a_ax = (a_ax,) if isinstance(a_ax, int) else tuple(a_ax)
    b_ax = (b_ax,) if isinstance(b_ax, int) else tuple(b_ax)
    return tuple(i % na for i in a_ax), tuple(i % nb for i in b_ax)


def _tensordot_vjp(which):
    def vjp(g, ans, a, b, axes):
        a_ax, b_ax = _canon_axes(axes, a.ndim, b.ndim)
        a_free = [i for i in range(a.ndim) if i not in a_ax]
        b_free = [i for i in range(b.ndim) if i not in b_ax]
        nfa = len(a_free)
        if which == 0:
            # g has axes a_free + b_free; contract b_free with b, leaving a_free + b_ax order
            gb = c("tensordot", g, b, (tuple(range(nfa, g.ndim)), tuple(b_free)))
            b_rest = [i for i in range(b.ndim) if i not in b_free]     # b_ax in ascending order
            src = a_free + [a_ax[b_ax.index(i)] for i in b_rest]
            perm = tuple(int(p) for p in _onp.argsort(src))
            return c("transpose", gb, perm)
        ga = c("tensordot", a, g, (tuple(a_free), tuple(range(nfa))))
        a_rest = [i for i in range(a.ndim) if i not in a_free]
        src = [b_ax[a_ax.index(i)] for i in a_rest] + b_free
        perm = tuple(int(p) for p in _onp.argsort(src))
        return c("transpose", ga, perm)
    return vjp


def _tensordot_bind(a, b, axes=2):
    if not isinstance(axes, int):
        x, y = axes
        axes = (tuple(x) if isinstance(x, (list, tuple)) else int(x),
                tuple(y) if isinstance(y, (list, tuple)) else int(y))
    return (a, b), (("axes", axes),)


def _tensordot_shape(ops, kw):
    """The free axes of a, then of b (as ``_product_shape``: None leaves odd axes,
    mismatches and zero sizes to NumPy)."""
    a, b = ops
    sa, sb = getattr(a, "shape", None), getattr(b, "shape", None)
    if sa is None or sb is None or 0 in sa or 0 in sb:
        return None
    axes = kw["axes"]
    try:
        if isinstance(axes, int):
            if not 0 <= axes <= min(len(sa), len(sb)):
                return None
        elif any(not -n <= i < n for ax, n in zip(axes, (len(sa), len(sb)))
                 for i in ((ax,) if isinstance(ax, int) else ax)):
            return None
        a_ax, b_ax = _canon_axes(axes, len(sa), len(sb))
    except (TypeError, ValueError):
        return None
    if len(a_ax) != len(b_ax) or len(set(a_ax)) != len(a_ax) or len(set(b_ax)) != len(b_ax) or \
            any(sa[i] != sb[j] for i, j in zip(a_ax, b_ax)):
        return None
    shape = tuple(d for i, d in enumerate(sa) if i not in a_ax) + \
        tuple(d for i, d in enumerate(sb) if i not in b_ax)
    return (shape,), (_onp.result_type(a.dtype, b.dtype),)


defop("tensordot", nin=2, bind=_tensordot_bind, grad=(_tensordot_vjp(0), _tensordot_vjp(1)),
      shape=_tensordot_shape,
      mx=_in_float(lambda F, a, b, axes: F.np.tensordot(a, b, axes),
                   lambda F, a, b, axes: _int_tensordot(F, a, b, *_canon_axes(axes, a.ndim, b.ndim))))


def _outer_mx(F, a, b):
    return F.np.reshape(a, (-1, 1)) * F.np.reshape(b, (1, -1))


defop("outer", nin=2, mx=_in_float(_outer_mx), grad=(
    lambda g, ans, a, b: c("reshape", c("matmul", g, c("ravel", b)), a.shape),
    lambda g, ans, a, b: c("reshape", c("matmul", c("ravel", a), g), b.shape)))


def _inner_mx(F, a, b):
    if a.ndim == 0 or b.ndim == 0:
        return F.np.multiply(a, b)
    return F.np.tensordot(a, b, ((a.ndim - 1,), (b.ndim - 1,)))


def _inner_vjp(which):
    def vjp(g, ans, a, b):
        if a.ndim == 0 or b.ndim == 0:
            return _BIN_MUL[which](g, ans, a, b)
        return _tensordot_vjp(which)(g, ans, a, b, ((a.ndim - 1,), (b.ndim - 1,)))
    return vjp


defop("inner", nin=2, mx=_in_float(_inner_mx, _int_inner), grad=(_inner_vjp(0), _inner_vjp(1)))


def _vdot_mx(F, a, b):
    a, b = F.np.reshape(a, (-1,)), F.np.reshape(b, (-1,))
    if operand_dtype(a).kind == "f":
        return F.np.dot(a, b)       # BLAS: MXNet's sum gives NaN for [inf, 1, 2]
    return F.np.sum(a * b)


# vdot flattens both operands: each gradient is the other operand in this one's shape
defop("vdot", nin=2, mx=_in_float(_vdot_mx), grad=(lambda g, ans, a, b: c("reshape", g * b, a.shape),
                                                   lambda g, ans, a, b: c("reshape", g * a, b.shape)))


# ---------------------------------------------------------------------------- einsum

def _einsum_bind(subscripts, *operands, **kw):
    unknown = set(kw) - {"optimize"}
    if unknown:
        raise TypeError(f"minpy.numpy.einsum() got an unexpected keyword argument {unknown.pop()!r}")
    if not isinstance(subscripts, str):
        raise TypeError("minpy.numpy.einsum: the first argument must be a subscripts string")
    spec = subscripts.replace(" ", "")
    if "..." in spec:
        raise NotImplementedError("minpy.numpy.einsum: ellipsis subscripts are not supported")
    ins, _, out = spec.partition("->")
    in_list = ins.split(",")
    if len(in_list) != len(operands):
        raise ValueError(f"minpy.numpy.einsum: {len(in_list)} operand subscripts for "
                         f"{len(operands)} operands")
    if "->" not in spec:
        letters = "".join(in_list)
        out = "".join(sorted(ch for ch in set(letters) if letters.count(ch) == 1))
    return operands, (("subscripts", ",".join(in_list) + "->" + out),)


def _einsum_vjp(g, ans, operands, subscripts):
    ins, out = subscripts.split("->")
    in_list = ins.split(",")
    grads = []
    for i, x in enumerate(operands):
        target = in_list[i]
        if len(set(target)) != len(target):
            raise NotImplementedError("gradient of minpy.numpy.einsum with a repeated index "
                                      f"in one operand ({target!r})")
        others = [s for j, s in enumerate(in_list) if j != i]
        have = set(out).union(*others) if others else set(out)
        present = "".join(ch for ch in target if ch in have)
        spec = ",".join([out] + others) + "->" + present
        gi = c("einsum", spec, g, *[o for j, o in enumerate(operands) if j != i])
        if present != target:
            # indices summed away by this operand alone come back by broadcasting
            kept = tuple(x.shape[k] if ch in present else 1 for k, ch in enumerate(target))
            gi = c("broadcast_to", c("reshape", gi, kept), x.shape)
        grads.append(gi)
    return grads


defop("einsum", nin=-1, bind=_einsum_bind, grad=_einsum_vjp,
      mx=lambda F, *ops, subscripts: wrapped(F, F.np.einsum(
          subscripts, *[cast(o, result_dtype(*ops)) for o in ops]), result_dtype(*ops)),
      np=lambda *ops, subscripts: _onp.einsum(subscripts, *ops))


def _trace_vjp(g, ans, x, offset, axis1, axis2):
    n, m = x.shape[axis1], x.shape[axis2]
    eye = c("eye", n, m, offset, dtype=g.dtype)
    eye = c("moveaxis", c("reshape", eye, (n, m) + (1,) * (x.ndim - 2)), (0, 1), (axis1 % x.ndim, axis2 % x.ndim)) \
        if x.ndim > 2 else eye
    gx = g
    for ax in sorted((axis1 % x.ndim, axis2 % x.ndim)):
        gx = c("expand_dims", gx, ax)
    return gx * eye


def _trace_mx(F, x, offset, axis1, axis2):
    if operand_dtype(x).kind in "biu":
        # NumPy sums bool and integer diagonals in int64 (MXNet has no bool trace kernel)
        x = x.astype("int64")
    return F.np.trace(x, offset, axis1, axis2)


defop("trace", params=[("offset", 0), ("axis1", 0), ("axis2", 1)], grad=_trace_vjp, mx=_trace_mx)


def _matmul_mxgrad(F, a, b):
    """matmul for graphs MXNet differentiates: batch dimensions broadcast explicitly
    (MXNet 1.9's matmul gradient is wrong when its operands broadcast them)."""
    if a.ndim > 2 and b.ndim >= 2 or b.ndim > 2 and a.ndim >= 2:
        batch = _onp.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
        a, b = (_broadcast_batch(F, v, batch) for v in (a, b))
    return REGISTRY["matmul"].mx(F, a, b)


def _broadcast_batch(F, v, batch):
    shape = batch + tuple(v.shape[-2:])
    if tuple(v.shape) == shape:
        return v
    out = F.np.broadcast_to(v, shape)
    out.shape, out.ndim, out.dtype = shape, len(shape), v.dtype
    return out


mark_mxgrad(("dot",))
mark_mxgrad(("matmul",), _matmul_mxgrad)
