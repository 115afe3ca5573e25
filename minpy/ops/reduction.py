"""Reductions and scans along axes."""
from __future__ import annotations

import mxnet as _mx
import numpy as _onp

from ..dispatch.registry import REGISTRY, defop, mark_mxgrad
from ..config import config as _config
from ._util import (c, cast, expand_reduced, kept_shape, norm_axes, operand_dtype, pos_axis,
                    stop, straight_through)


def _count(shape, axis) -> int:
    n = 1
    for a in norm_axes(axis, len(shape)):
        n *= shape[a]
    return n


def _sum_vjp(g, ans, x, axis, dtype, keepdims):
    return expand_reduced(g, x.shape, axis, keepdims)


def _mean_vjp(g, ans, x, axis, dtype, keepdims):
    return expand_reduced(g, x.shape, axis, keepdims) / max(_count(x.shape, axis), 1)


def _exclusive_cumprod(y, n: int):
    """Products of the elements before each one along the last axis (length ``n``):
    a shift and a log2(n)-step doubling scan, all differentiable MinPy calls."""
    lead = y.shape[:-1]

    def ones(k):
        return c("ones", lead + (k,), y.dtype)

    out = c("concatenate", [ones(1), y[..., :n - 1]], -1)
    k = 1
    while k < n:
        out = out * c("concatenate", [ones(k), out[..., :n - k]], -1)
        k *= 2
    return out


def _prod_vjp(g, ans, x, axis, dtype, keepdims):
    """d prod / d x_i is the product of the other elements, computed from prefix and
    suffix products (no division by x: exact at zeros, 0 where two or more are zero)."""
    shape = x.shape
    gx = expand_reduced(g, shape, axis, keepdims) if x.ndim else g
    axes = norm_axes(axis, x.ndim)
    n = _count(shape, axis)
    if n <= 1 or x.size == 0:
        return gx
    rest = [i for i in range(x.ndim) if i not in axes]
    perm = tuple(rest) + axes
    xt = c("transpose", x, perm) if perm != tuple(range(x.ndim)) else x
    flat = c("reshape", xt, tuple(shape[i] for i in rest) + (n,))
    before = _exclusive_cumprod(flat, n)
    after = c("flip", _exclusive_cumprod(c("flip", flat, -1), n), -1)
    others = c("reshape", before * after, tuple(shape[i] for i in perm))
    if perm != tuple(range(x.ndim)):
        others = c("transpose", others, tuple(int(i) for i in _onp.argsort(perm)))
    return gx * others


def _extreme_vjp(g, ans, x, axis, keepdims):
    a = expand_reduced(ans, x.shape, axis, keepdims)
    hit = c("equal", x, a)
    # the tie count in the gradient's float dtype: counted as int64 it would promote a
    # float32 gradient to float64 (NumPy's float32 / int64), doubling the work and, in a
    # compiled graph, casting every node (one count <= 2**24 is exact in float32, and
    # float32 division is correctly rounded, so the values are the same)
    dt = g.dtype if _onp.dtype(g.dtype).kind == "f" else None
    ties = expand_reduced(c("sum", hit, axis, dt, keepdims=keepdims), x.shape, axis, keepdims)
    return expand_reduced(g, x.shape, axis, keepdims) * hit / ties


def _var_vjp(g, ans, x, axis, dtype, ddof, keepdims):
    n = _count(x.shape, axis) - ddof
    centred = x - c("mean", x, axis, keepdims=True)
    return expand_reduced(g, x.shape, axis, keepdims) * centred * (2.0 / n)


def _std_vjp(g, ans, x, axis, dtype, ddof, keepdims):
    n = _count(x.shape, axis) - ddof
    centred = x - c("mean", x, axis, keepdims=True)
    # where the deviation is 0 (one element, or all equal) the gradient is taken as 0,
    # the subgradient of |x| at its kink, instead of 0 / 0
    safe = c("where", ans == 0, 0.0, g / c("where", ans == 0, 1.0, ans))
    return expand_reduced(safe, x.shape, axis, keepdims) * centred / n


_RED = [("axis", None), ("dtype", None), ("keepdims", False)]


def _red_axis(x, axis):
    # MXNet rejects axis=0 on 0-d arrays (NumPy accepts it) and some negative axes
    return None if x.ndim == 0 else pos_axis(axis, x.ndim)


def _fdtype(x, dtype):
    """The float dtype a mean/var/std is computed in: NumPy's float64 for integers
    float32 cannot hold exactly (the result is then rounded once to the demoted
    dtype), the default float dtype for other integers and bool."""
    if dtype is not None:
        return dtype
    dt = operand_dtype(x)
    if dt.kind == "f":
        return x.dtype
    return "float64" if dt.kind in "iu" and dt.itemsize >= 4 else _config.default_dtype.name


# Sums of float arrays run as a product with a vector of ones: MXNet's reduce
# kernels ran 3-10x slower than its BLAS matrix-vector product from 64x64 up
# on the development CPU (benchmarks/test_perf_bench.py::test_sum_over_rows).
# Only a leading or trailing run of axes qualifies (a reshape to 2-D, no copy).
_GEMV_MIN = 2048
_FLOATS = frozenset({_onp.dtype("float32"), _onp.dtype("float64")})
_ones_cache: dict = {}


def _ones(F, n, dtype, like):
    if F is _mx.sym:
        return F.np.ones((n,), dtype=dtype.name)
    key = (n, dtype, str(like.ctx))
    v = _ones_cache.get(key)
    if v is None:
        if len(_ones_cache) > 64:
            _ones_cache.clear()
        v = _ones_cache[key] = _mx.nd.ones((n,), ctx=like.ctx, dtype=dtype).as_np_ndarray()
    return v


def _reshaped(F, x, shape):
    if F is _mx.sym:
        return F.np.reshape(x, shape)
    return x.as_nd_ndarray().reshape(shape).as_np_ndarray()     # a view, no operator call


def _sum_by_product(F, x, axis, keepdims, mean):
    """``sum``/``mean`` of ``x`` as ``ones @ x2`` or ``x2 @ ones``; None when it does not apply."""
    shape = tuple(x.shape)
    nd, size = len(shape), int(_onp.prod(shape)) if shape else 1
    if nd == 0 or size < _GEMV_MIN or _onp.dtype(x.dtype) not in _FLOATS:
        return None
    axes = norm_axes(axis, nd)
    k = len(axes)
    if not k or len(set(axes)) != k:
        return None
    red = int(_onp.prod([shape[a] for a in axes]))
    rest = size // red
    dt = _onp.dtype(x.dtype)
    if k == nd and nd > 1:      # rows, then their sums: two short vectors of ones
        rows = shape[0]
        inner = F.np.dot(_reshaped(F, x, (rows, size // rows)), _ones(F, size // rows, dt, x))
        out = F.np.dot(inner, _ones(F, rows, dt, x))
    elif k == nd:
        out = F.np.dot(x, _ones(F, size, dt, x))
    elif axes == tuple(range(k)):
        out = F.np.dot(_ones(F, red, dt, x), _reshaped(F, x, (red, rest)))
    elif axes == tuple(range(nd - k, nd)):
        out = F.np.dot(_reshaped(F, x, (rest, red)), _ones(F, red, dt, x))
    else:
        return None
    if mean:
        out = out / float(red)
    kept = kept_shape(shape, axes) if keepdims else \
        tuple(s for i, s in enumerate(shape) if i not in axes)
    return _reshaped(F, out, kept)


def _acc_dtype(x):
    """The dtype NumPy sums and multiplies ``x`` in without a ``dtype=``: bool and
    integers narrower than 64 bits accumulate in int64 (MXNet keeps their own dtype
    and wraps around early: the sum of two int32 maxima is -2)."""
    dt = operand_dtype(x)
    if dt.kind in "biu" and dt.itemsize < 8:
        return "int64"
    return None


def _empty_reduction(F, x, axis, keepdims, value, dtype):
    """A reduction over an empty axis as a constant, without MXNet's reduce kernels
    (they fail asynchronously on zero-size input). The dispatcher already sends such
    calls to NumPy; this guards graphs built some other way."""
    shape = tuple(x.shape)
    out = kept_shape(shape, axis) if keepdims else \
        tuple(s for i, s in enumerate(shape) if i not in norm_axes(axis, len(shape)))
    if F is _mx.sym:
        return F.np.full(out, value, dtype=dtype)
    return F.np.full(out, value, dtype=dtype, ctx=x.ctx)


def _float_sum(F, x, ax, keepdims, mean=False, ndim=None):
    """``sum``/``mean`` of a float array by MXNet's classic operator: the numpy one adds
    with a compensation term that turns any infinity into NaN (sum([inf, 1]) is NaN)."""
    nd = x.ndim if ndim is None else ndim
    if nd == 0 or ax == ():
        return F.np.copy(x)
    kw = {"keepdims": keepdims}
    if ax is not None:
        kw["axis"] = ax
    r = getattr(F, "mean" if mean else "sum")(x.as_nd_ndarray(), **kw)
    if not keepdims and len(norm_axes(ax, nd)) == nd:
        # the classic operator leaves shape (1,); eagerly a view gives shape ()
        return r.reshape(()).as_np_ndarray() if F is _mx.nd else \
            F.np.reshape(r.as_np_ndarray(), ())
    return r.as_np_ndarray()


def _reduction(name):
    def lower(F, x, axis, dtype, keepdims):
        ax = _red_axis(x, axis)
        if dtype is None and name != "prod":
            out = _sum_by_product(F, x, axis, keepdims, name == "mean")
            if out is not None:
                return out
        if dtype is not None:
            # NumPy converts each element first: sum(x, dtype=int64) truncates, then adds
            x = cast(x, dtype)
        elif name == "mean":
            # float16 means accumulate in float32, as NumPy's do
            x = cast(x, "float32" if operand_dtype(x) == _onp.float16 else _fdtype(x, None))
        else:
            x = cast(x, _acc_dtype(x) or x.dtype)
        n = _count(x.shape, axis) if x.ndim else 1
        if n == 0:
            value = {"sum": 0, "prod": 1}.get(name, float("nan"))
            return _empty_reduction(F, x, axis, keepdims, value, x.dtype)
        kind = _onp.dtype(x.dtype).kind
        if name == "mean" and kind != "f":
            # an integer mean (dtype=int64): NumPy sums in that dtype, divides in float64
            # and truncates
            s = F.np.sum(x, axis=ax, keepdims=keepdims).astype("float64")
            return (s / float(n)).astype(_onp.dtype(x.dtype).name)
        if kind == "f" and name != "prod":
            return _float_sum(F, x, ax, keepdims, name == "mean")
        return getattr(F.np, name)(x, axis=ax, keepdims=keepdims)
    lower.__name__ = f"mx_{name}"
    return lower


_sum_mx, _mean_mx, _prod_mx = _reduction("sum"), _reduction("mean"), _reduction("prod")


defop("sum", params=_RED, mx=_sum_mx, grad=_sum_vjp)
defop("mean", params=_RED, mx=_mean_mx, grad=_mean_vjp)
defop("prod", params=_RED, mx=_prod_mx, grad=_prod_vjp)

_EXT = [("axis", None), ("keepdims", False)]
for _name, _mxname in (("max", "max"), ("min", "min"), ("amax", "max"), ("amin", "min")):
    defop(_name, params=_EXT, grad=_extreme_vjp,
          mx=(lambda m: lambda F, x, axis, keepdims: getattr(F.np, m)(
              x, axis=_red_axis(x, axis), keepdims=keepdims))(_mxname))

_VAR = [("axis", None), ("dtype", None), ("ddof", 0), ("keepdims", False)]


def _moment(name):
    def lower(F, x, axis, dtype, ddof, keepdims):
        # MXNet computes var/std of integers in integer arithmetic and has no bool kernel
        acc = _onp.dtype(_fdtype(x, dtype))
        # NumPy sums (the mean, the squares) in ``dtype`` but takes the deviations in
        # the common dtype of x and the mean: var(float64, dtype=float32) subtracts a
        # float32 mean from the float64 data (not 0 where the data do not round), which
        # decides inf or NaN when ddof >= n
        dev = _onp.result_type(operand_dtype(x), acc) if dtype is not None and \
            acc.kind == "f" else acc
        raw, x = x, cast(x, acc)
        ax = _red_axis(x, axis)
        n = _count(x.shape, axis) if x.ndim else 1
        if n == 0:
            return _empty_reduction(F, x, axis, keepdims, float("nan"), x.dtype)
        # NumPy's two-pass formula: MXNet's kernel gives NaN where squared deviations
        # overflow (NumPy: inf), and ddof >= n divides by zero as NumPy does
        mean = _float_sum(F, x, ax, True, mean=True)
        if dev != acc:
            d = cast(raw, dev) - mean.astype(dev.name)
            sq = (d * d).astype(acc.name)
        else:
            d = x - mean
            sq = d * d
        v = _float_sum(F, sq, ax, keepdims, ndim=x.ndim) / float(max(n - ddof, 0))
        return F.np.sqrt(v) if name == "std" else v
    lower.__name__ = f"mx_{name}"
    return lower


defop("var", params=_VAR, grad=_var_vjp, mx=_moment("var"))
defop("std", params=_VAR, grad=_std_vjp, mx=_moment("std"))


def _arg_mx(name):
    def lower(F, x, axis, keepdims=False):
        ax = _red_axis(x, axis)
        if operand_dtype(x).kind == "b":
            x = x.astype("int8")        # MXNet has no bool argmax kernel
        return getattr(F.np, name)(x, axis=ax)
    return lower


defop("argmax", params=[("axis", None)], mx=_arg_mx("argmax"), nondiff=True)
defop("argmin", params=[("axis", None)], mx=_arg_mx("argmin"), nondiff=True)


def _logic_mx(name):
    def lower(F, x, axis, keepdims):
        ndim = x.ndim
        if ndim and _count(x.shape, axis) == 0:
            # MXNet's max/min have no identity for empty input
            return _empty_reduction(F, x, axis, keepdims, name == "all", "bool")
        if operand_dtype(x).kind != "b":
            x = F.np.not_equal(x, 0)
        if axis is None:
            y = getattr(F.np, "max" if name == "any" else "min")(x.astype("int8"))
            y = y != 0
            return F.np.reshape(y, (1,) * ndim) if keepdims else y
        return getattr(F.np, name)(x, axis=axis, keepdims=keepdims)
    return lower


defop("all", params=[("axis", None), ("keepdims", False)], mx=_logic_mx("all"), nondiff=True)
defop("any", params=[("axis", None), ("keepdims", False)], mx=_logic_mx("any"), nondiff=True)


def _cumsum_vjp(g, ans, x, axis, dtype):
    if axis is None or x.ndim == 0:
        r = c("flip", c("cumsum", c("flip", g, 0), 0), 0)
        return c("reshape", r, x.shape)
    axis = axis % x.ndim
    return c("flip", c("cumsum", c("flip", g, axis), axis), axis)


def _cumprod_vjp(g, ans, x, axis, dtype):
    """d ans_j / d x_i = prod_{k<=j, k!=i} x_k for j >= i. Before the first zero of a lane
    that is ans_j / x_i; at the first zero it is the cumulative product with that zero
    taken as 1; after it every term has the zero as a factor (0). No 0/0 NaN at zeros."""
    xf, ax = (c("ravel", x), 0) if axis is None else (x, axis % x.ndim)
    if xf.ndim == 0:
        xf, ax = c("reshape", xf, (1,)), 0

    def rev_cumsum(v):
        return c("flip", c("cumsum", c("flip", v, ax), ax), ax)
    zero = c("equal", xf, 0)
    seen = c("cumsum", zero, ax)                        # zeros up to and including i
    first = c("logical_and", zero, c("equal", seen, 1))
    ones = c("ones_like", xf)
    before = rev_cumsum(g * ans) / c("where", zero, ones, xf)
    at = rev_cumsum(g * c("cumprod", c("where", first, ones, xf), ax))
    r = c("where", c("equal", seen, 0), before, c("where", first, at, c("zeros_like", xf)))
    return c("reshape", r, x.shape) if r.shape != x.shape else r


def _ptp_vjp(g, ans, x, axis, keepdims):
    hi = c("amax", x, axis, keepdims=keepdims)
    lo = c("amin", x, axis, keepdims=keepdims)
    return _extreme_vjp(g, hi, x, axis, keepdims) - _extreme_vjp(g, lo, x, axis, keepdims)


def _cumsum_mx(F, x, axis, dtype):
    if x.ndim == 0:             # NumPy: a 0-d array cumulates as its 1-element ravel
        x, axis = F.np.reshape(x, (1,)), None
    ax = pos_axis(axis, x.ndim)
    x = cast(x, dtype if dtype is not None else (_acc_dtype(x) or x.dtype))
    return F.np.cumsum(x, axis=ax)


defop("cumsum", params=[("axis", None), ("dtype", None)], mx=_cumsum_mx, grad=_cumsum_vjp)
defop("cumprod", params=[("axis", None), ("dtype", None)], mx=None, grad=_cumprod_vjp)
defop("ptp", params=[("axis", None), ("keepdims", False)], mx=None, grad=_ptp_vjp)
defop("count_nonzero", params=[("axis", None)], mx=None, nondiff=True)


def _extreme_mxgrad(F, x, axis, keepdims, name):
    """max/min whose MXNet gradient splits ties evenly, as ``_extreme_vjp`` does
    (MXNet's own gives every tied element the whole gradient)."""
    y = REGISTRY[name].mx(F, x, axis, keepdims)
    ax = _red_axis(x, axis)
    yk = y if keepdims else F.np.reshape(y, kept_shape(tuple(x.shape), axis))
    hit = F.np.equal(x, F.np.broadcast_to(yk, tuple(x.shape))).astype(x.dtype.name)
    share = stop(F, hit / F.np.sum(hit, axis=ax, keepdims=True))
    return straight_through(F, y, [F.np.sum(x * share, axis=ax, keepdims=keepdims)])


for _name in ("max", "min", "amax", "amin"):
    mark_mxgrad((_name,), (lambda n: lambda F, x, axis, keepdims: _extreme_mxgrad(
        F, x, axis, keepdims, n))(_name))
mark_mxgrad(("sum", "mean"))
