"""Internal operators that gradients use so that backward passes need fewer
graph nodes (each node costs about a microsecond in an MXNet executor and tens
of microseconds eagerly). They are differentiable themselves, so higher-order
gradients still work."""
from __future__ import annotations

import numpy as _onp

from ..dispatch.registry import defop, mark_mxgrad
from ._util import c


def _nd(x):
    return x.as_nd_ndarray()


def _matmul_t_mx(F, a, b, ta, tb):
    if a.shape[0 if ta else 1] == 0:
        # an empty contraction: MXNet's dot divides by zero (SIGFPE) instead of giving zeros
        rows, cols = a.shape[1 if ta else 0], b.shape[0 if tb else 1]
        return F.np.zeros((rows, cols), dtype=_onp.dtype(a.dtype).name)
    return F.dot(_nd(a), _nd(b), transpose_a=ta, transpose_b=tb).as_np_ndarray()


def _matmul_t_np(a, b, ta, tb):
    return (a.T if ta else a) @ (b.T if tb else b)


def _matmul_t_vjp_a(g, ans, a, b, ta, tb):
    if ta:
        return c("_matmul_t", b, g, tb, True)
    return c("_matmul_t", g, b, False, not tb)


def _matmul_t_vjp_b(g, ans, a, b, ta, tb):
    if tb:
        return c("_matmul_t", g, a, True, ta)
    return c("_matmul_t", a, g, not ta, False)


def _matmul_t_shape(ops, kw):
    """The product's shape without multiplying dummies (None: NumPy's error)."""
    a, b = ops
    ta, tb = kw["ta"], kw["tb"]
    if a.shape[0 if ta else 1] != b.shape[1 if tb else 0]:
        return None
    return ((a.shape[1 if ta else 0], b.shape[0 if tb else 1]),), \
        (_onp.result_type(a.dtype, b.dtype),)


# op(a) @ op(b) for 2-D float arrays, op = transpose when the flag is set
defop("_matmul_t", nin=2, params=[("ta", False), ("tb", False)], mx=_matmul_t_mx,
      np=_matmul_t_np, grad=(_matmul_t_vjp_a, _matmul_t_vjp_b), shape=_matmul_t_shape)


def matmul_t(a, b, ta: bool, tb: bool):
    """``op(a) @ op(b)`` as one node where MXNet's dot can do it, else with transposes."""
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype.kind == "f":
        return c("_matmul_t", a, b, ta, tb)
    a = c("swapaxes", a, -1, -2) if ta else a
    b = c("swapaxes", b, -1, -2) if tb else b
    return c("matmul", a, b)


def _tanh_grad_mx(F, g, y):
    if g.dtype != y.dtype:
        return g * (1.0 - y * y)
    return F._internal._backward_tanh(_nd(g), _nd(y)).as_np_ndarray()


defop("_tanh_grad", nin=2, mx=_tanh_grad_mx, np=lambda g, y: g * (1.0 - y * y), promote=True,
      grad=(lambda gg, ans, g, y: c("_tanh_grad", gg, y),
            lambda gg, ans, g, y: -2.0 * gg * g * y))


# operators lowered to MXNet's backward operators, which have no gradient of their own
MX_BACKWARD_OPS = frozenset({"_tanh_grad", "_maximum_scalar_grad", "_minimum_scalar_grad"})


def _mask_grad(mxname, np_test):
    def lower(F, g, x, scalar):
        return getattr(F._internal, mxname)(_nd(g), _nd(x), scalar=scalar).as_np_ndarray()
    return lower, (lambda g, x, scalar: g * np_test(x, scalar))


# g * (x >= s) and g * (x <= s), the gradients of maximum(x, s) and minimum(x, s) with
# respect to x (ties to x, as NumPy-style autograd gives them): one MXNet pass instead of
# a comparison, a cast and a product
for _name, _mxname, _test in (("_maximum_scalar_grad", "_backward_maximum_scalar",
                               lambda x, s: x >= s),
                              ("_minimum_scalar_grad", "_backward_minimum_scalar",
                               lambda x, s: x <= s)):
    _mx_low, _np_impl = _mask_grad(_mxname, _test)
    defop(_name, nin=2, params=[("scalar", 0.0)], mx=_mx_low, np=_np_impl,
          grad=((lambda n: lambda gg, ans, g, x, scalar: c(n, gg, x, scalar))(_name), None))


def _add_n_bind(*arrays):
    return arrays, ()


def _add_n_mx(F, *arrays):
    return F.add_n(*[_nd(a) for a in arrays]).as_np_ndarray()


def _add_n_np(*arrays):
    out = arrays[0]
    for a in arrays[1:]:
        out = out + a
    return out


# the sum of many same-shaped gradient contributions, as one node
defop("_add_n", nin=-1, bind=_add_n_bind, mx=_add_n_mx, np=_add_n_np,
      grad=lambda g, ans, operands: [g] * len(operands))


def _fc_empty(F, x, w):
    """x @ w.T when a dimension is zero: oneDNN's inner product refuses it."""
    shape = tuple(x.shape[:-1]) + (int(w.shape[0]),)
    return F.np.zeros(shape, dtype=_onp.dtype(x.dtype).name)


def _fc_mx(F, x, w):
    if 0 in tuple(w.shape) or 0 in tuple(x.shape):
        return _fc_empty(F, x, w)
    return F.npx.fully_connected(x, w, num_hidden=int(w.shape[0]), no_bias=True, flatten=False)


# x @ w.T through oneDNN's FullyConnected (several times faster than MXNet's
# OpenBLAS dot on CPUs it was not built for); the lazy engine's passes lower
# large float32 products to it
defop("_fully_connected", nin=2, mx=_fc_mx, np=lambda x, w: x @ w.T, grad=(
    lambda g, ans, x, w: c("matmul", g, w),
    lambda g, ans, x, w: c("_matmul_t", g, x, True, False)))


def _fc_bias_mx(F, x, w, b):
    if 0 in tuple(w.shape) or 0 in tuple(x.shape):
        return _fc_empty(F, x, w) + b
    return F.npx.fully_connected(x, w, b, num_hidden=int(w.shape[0]), no_bias=False,
                                 flatten=False)


# x @ w.T + b in one oneDNN call; the passes fuse a bias add into a lowered product
# (the add and, eagerly or not, the bias's broadcast cost a pass over the result)
defop("_fully_connected_bias", nin=3, mx=_fc_bias_mx, np=lambda x, w, b: x @ w.T + b, grad=(
    lambda g, ans, x, w, b: c("matmul", g, w),
    lambda g, ans, x, w, b: c("_matmul_t", g, x, True, False),
    lambda g, ans, x, w, b: c("sum", g, 0)))


mark_mxgrad(("_matmul_t", "_fully_connected", "_fully_connected_bias"))


def _log_softmax_mx(F, x, axis):
    return F.npx.log_softmax(x, axis=axis)


def _log_softmax_np(x, axis):
    sh = x - x.max(axis=axis, keepdims=True)
    return sh - _onp.log(_onp.exp(sh).sum(axis=axis, keepdims=True))


def _log_softmax_vjp(g, ans, x, axis):
    return g - c("exp", ans) * c("sum", g, axis, keepdims=True)


# ``s - max(s)`` then ``- log(sum(exp(.)))`` along one axis, as MXNet's one operator: a
# graph pass puts it where MXNet runs the backward pass (its gradient is two nodes; the
# recorded form's is about twenty, most of them the NumPy-exact gradient of ``max``,
# which cancels in this expression)
defop("_log_softmax", nin=1, params=[("axis", -1)], mx=_log_softmax_mx, np=_log_softmax_np,
      grad=_log_softmax_vjp)
mark_mxgrad(("_log_softmax",))
