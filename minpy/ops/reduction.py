"""Reductions and scans along axes."""
from __future__ import annotations

from ..dispatch.registry import defop
from ._util import c, expand_reduced, norm_axes


def _count(shape, axis) -> int:
    n = 1
    for a in norm_axes(axis, len(shape)):
        n *= shape[a]
    return n


def _sum_vjp(g, ans, x, axis, dtype, keepdims):
    return expand_reduced(g, x.shape, axis, keepdims)


def _mean_vjp(g, ans, x, axis, dtype, keepdims):
    return expand_reduced(g, x.shape, axis, keepdims) / max(_count(x.shape, axis), 1)


def _prod_vjp(g, ans, x, axis, dtype, keepdims):
    return expand_reduced(g * ans, x.shape, axis, keepdims) / x


def _extreme_vjp(g, ans, x, axis, keepdims):
    a = expand_reduced(ans, x.shape, axis, keepdims)
    hit = c("equal", x, a)
    ties = expand_reduced(c("sum", hit, axis, keepdims=keepdims), x.shape, axis, keepdims)
    return expand_reduced(g, x.shape, axis, keepdims) * hit / ties


def _var_vjp(g, ans, x, axis, dtype, ddof, keepdims):
    n = _count(x.shape, axis) - ddof
    centred = x - c("mean", x, axis, keepdims=True)
    return expand_reduced(g, x.shape, axis, keepdims) * centred * (2.0 / n)


def _std_vjp(g, ans, x, axis, dtype, ddof, keepdims):
    n = _count(x.shape, axis) - ddof
    centred = x - c("mean", x, axis, keepdims=True)
    return expand_reduced(g / ans, x.shape, axis, keepdims) * centred / n


_RED = [("axis", None), ("dtype", None), ("keepdims", False)]


def _sum_mx(F, x, axis, dtype, keepdims):
    return F.np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _mean_mx(F, x, axis, dtype, keepdims):
    return F.np.mean(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _prod_mx(F, x, axis, dtype, keepdims):
    return F.np.prod(x, axis=axis, dtype=dtype, keepdims=keepdims)


defop("sum", params=_RED, mx=_sum_mx, grad=_sum_vjp)
defop("mean", params=_RED, mx=_mean_mx, grad=_mean_vjp)
defop("prod", params=_RED, mx=_prod_mx, grad=_prod_vjp)

_EXT = [("axis", None), ("keepdims", False)]
for _name, _mxname in (("max", "max"), ("min", "min"), ("amax", "max"), ("amin", "min")):
    defop(_name, params=_EXT, grad=_extreme_vjp,
          mx=(lambda m: lambda F, x, axis, keepdims: getattr(F.np, m)(x, axis=axis, keepdims=keepdims))(_mxname))

_VAR = [("axis", None), ("dtype", None), ("ddof", 0), ("keepdims", False)]
defop("var", params=_VAR, grad=_var_vjp,
      mx=lambda F, x, axis, dtype, ddof, keepdims: F.np.var(x, axis=axis, dtype=dtype, ddof=ddof,
                                                          keepdims=keepdims))
defop("std", params=_VAR, grad=_std_vjp,
      mx=lambda F, x, axis, dtype, ddof, keepdims: F.np.std(x, axis=axis, dtype=dtype, ddof=ddof,
                                                          keepdims=keepdims))


def _arg_mx(name):
    def lower(F, x, axis, keepdims=False):
        return getattr(F.np, name)(x, axis=axis)
    return lower


defop("argmax", params=[("axis", None)], mx=_arg_mx("argmax"), nondiff=True)
defop("argmin", params=[("axis", None)], mx=_arg_mx("argmin"), nondiff=True)


def _logic_mx(name):
    def lower(F, x, axis, keepdims):
        if x.dtype != "bool":
            x = x != 0
        if axis is None:
            y = getattr(F.np, "max" if name == "any" else "min")(x.astype("int8"))
            y = y != 0
            return F.np.reshape(y, (1,) * x.ndim) if keepdims else y
        return getattr(F.np, name)(x, axis=axis, keepdims=keepdims)
    return lower


defop("all", params=[("axis", None), ("keepdims", False)], mx=_logic_mx("all"), nondiff=True)
defop("any", params=[("axis", None), ("keepdims", False)], mx=_logic_mx("any"), nondiff=True)


def _cumsum_vjp(g, ans, x, axis, dtype):
    if axis is None:
        r = c("flip", c("cumsum", c("flip", g, 0), 0), 0)
        return c("reshape", r, x.shape)
    axis = axis % x.ndim
    return c("flip", c("cumsum", c("flip", g, axis), axis), axis)


def _cumprod_vjp(g, ans, x, axis, dtype):
    # d(prod_{k<=j} x_k)/dx_i = ans_j / x_i for j >= i (x must be nonzero)
    xf, ax = (c("ravel", x), 0) if axis is None else (x, axis % x.ndim)
    r = c("flip", c("cumsum", c("flip", g * ans, ax), ax), ax) / xf
    return c("reshape", r, x.shape) if axis is None else r


def _ptp_vjp(g, ans, x, axis, keepdims):
    hi = c("amax", x, axis, keepdims=keepdims)
    lo = c("amin", x, axis, keepdims=keepdims)
    return _extreme_vjp(g, hi, x, axis, keepdims) - _extreme_vjp(g, lo, x, axis, keepdims)


defop("cumsum", params=[("axis", None), ("dtype", None)],
      mx=lambda F, x, axis, dtype: F.np.cumsum(x, axis=axis, dtype=dtype), grad=_cumsum_vjp)
defop("cumprod", params=[("axis", None), ("dtype", None)], mx=None, grad=_cumprod_vjp)
defop("ptp", params=[("axis", None), ("keepdims", False)], mx=None, grad=_ptp_vjp)
defop("count_nonzero", params=[("axis", None)], mx=None, nondiff=True)
