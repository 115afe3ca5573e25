"""Gradient checks for every differentiable operator in the registry.

Each case compares ``grad`` with float64 central differences
(:func:`minpy.utils.gradient_checker.check_grad`). ``test_every_differentiable_op_has_a_case``
enumerates the registry, so registering an operator with a gradient but no case
here fails CI.
"""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad
from minpy.dispatch.registry import REGISTRY
from minpy.ops._util import c as _call_op
from minpy.utils.gradient_checker import check_grad

# every test here runs eagerly and in lazy mode
pytestmark = pytest.mark.usefixtures("minpy_mode")

TOL = 1e-5
_rng = onp.random.RandomState(0)


def rnd(*shape):
    return _rng.randn(*shape)


def pos(*shape, lo=0.5, hi=2.0):
    return _rng.uniform(lo, hi, size=shape)


def unit(*shape):
    return _rng.uniform(-0.9, 0.9, size=shape)


def away0(*shape):
    """Values with |x| in [0.3, 2]: no kinks of abs/sign/reciprocal nearby."""
    return pos(*shape, lo=0.3) * onp.where(_rng.rand(*shape) < 0.5, -1.0, 1.0)


def frac(*shape):
    """Values well away from integers (for floor, round, mod...)."""
    return _rng.randint(-4, 4, size=shape) + _rng.uniform(0.1, 0.4, size=shape)


def wsum(y):
    """A scalar depending on every element of ``y`` with distinct weights."""
    if isinstance(y, (list, tuple)):
        return sum(wsum(v) for v in y)
    w = onp.cos(onp.arange(1, y.size + 1) * 0.7).reshape(y.shape) + 1.5
    return np.sum(y * np.array(w, dtype=y.dtype))


class Case:
    def __init__(self, op, fn, args, argnum=0, name="", tol=TOL):
        self.op, self.fn, self.args, self.argnum, self.tol = op, fn, args, argnum, tol
        self.name = f"{op}-{name}" if name else op


CASES = []
# Ops exempt from the coverage rule: internal helpers that user code cannot reach.
INTERNAL = set()


def case(op, fn, *args, argnum=0, name="", tol=TOL):
    CASES.append(Case(op, fn, list(args), argnum, name or str(len([c for c in CASES if c.op == op])), tol))


def unary(op, gen, shape=(3, 4), **attrs):
    f = getattr(np, op)
    case(op, lambda x: wsum(f(x, **attrs)), gen(*shape))


# ------------------------------------------------------------------------ unary elementwise
for _op, _gen in [("exp", rnd), ("log", pos), ("log2", pos), ("log10", pos), ("log1p", pos),
                  ("expm1", rnd), ("sqrt", pos), ("cbrt", away0), ("square", rnd),
                  ("absolute", away0), ("fabs", away0), ("negative", rnd), ("positive", rnd),
                  ("reciprocal", away0), ("sin", rnd), ("cos", rnd), ("tan", unit),
                  ("arcsin", unit), ("arccos", unit), ("arctan", rnd), ("sinh", rnd), ("cosh", rnd),
                  ("tanh", rnd), ("arcsinh", rnd), ("arccosh", lambda *s: pos(*s, lo=1.2, hi=3.0)),
                  ("arctanh", unit), ("deg2rad", rnd), ("rad2deg", rnd), ("radians", rnd),
                  ("degrees", rnd), ("sign", away0), ("floor", frac), ("ceil", frac), ("rint", frac),
                  ("trunc", frac), ("fix", frac), ("round", frac), ("around", frac), ("exp2", rnd),
                  ("sinc", rnd), ("nan_to_num", rnd)]:
    unary(_op, _gen)
unary("exp", rnd, shape=())
unary("tanh", rnd, shape=(2, 3, 2))
unary("round", lambda *s: frac(*s) + 0.02, decimals=1)
unary("around", lambda *s: frac(*s) + 0.02, decimals=1)
case("absolute", lambda x: wsum(abs(x)), away0(5), name="dunder")
case("negative", lambda x: wsum(-x), rnd(5), name="dunder")
case("sinc", lambda x: wsum(np.sinc(x)), onp.array([0.0, 0.5, -1.5, 2.25]), name="at0")
case("nan_to_num", lambda x: wsum(np.nan_to_num(np.log(x))), onp.array([0.5, 1.5, 2.0]),
     name="log")

# ------------------------------------------------------------------------ binary elementwise
_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((3, 4), ()), ((1, 4), (3, 1))]
for _op, gx, gy in [("add", rnd, rnd), ("subtract", rnd, rnd), ("multiply", rnd, rnd),
                    ("true_divide", rnd, away0), ("divide", rnd, away0), ("power", pos, rnd),
                    ("arctan2", away0, away0), ("hypot", away0, away0), ("mod", frac, pos),
                    ("remainder", frac, pos), ("fmod", frac, pos), ("floor_divide", frac, pos),
                    ("logaddexp", rnd, rnd), ("logaddexp2", rnd, rnd), ("copysign", away0, away0),
                    ("maximum", rnd, rnd), ("minimum", rnd, rnd)]:
    _f = getattr(np, _op)
    for _sx, _sy in _SHAPES:
        _name = f"{_sx}{_sy}"
        case(_op, (lambda f: lambda x, y: wsum(f(x, y)))(_f), gx(*_sx), gy(*_sy), argnum=[0, 1],
             name=_name)
# Python scalars as the other operand, and the operators
case("add", lambda x: wsum(2.5 + x + 1.0), rnd(3), name="scalar")
case("subtract", lambda x: wsum(1.0 - x - 2.0), rnd(3), name="scalar")
case("multiply", lambda x: wsum(3.0 * x * 2.0), rnd(3), name="scalar")
case("true_divide", lambda x: wsum(1.0 / x + x / 4.0), away0(3), name="scalar")
case("power", lambda x: wsum(x ** 3 + x ** 2.0 + x ** 0 + x ** 1), rnd(4), name="int-exponent")
case("power", lambda x: wsum(2.0 ** x), rnd(4), name="scalar-base")
case("power", lambda x: wsum(x ** x), pos(4), name="self")
case("mod", lambda x: wsum(x % 1.5), frac(4), name="scalar")
case("maximum", lambda x: wsum(np.maximum(x, 0.0)), away0(3, 4), name="relu")
case("minimum", lambda x: wsum(np.minimum(x, 0.0)), away0(3, 4), name="scalar")

# ------------------------------------------------------------------------ where / clip
_cond = rnd(3, 4) > 0
case("where", lambda x, y: wsum(np.where(np.array(_cond), x, y)), rnd(3, 4), rnd(3, 4),
     argnum=[0, 1])
case("where", lambda x, y: wsum(np.where(np.array(_cond), x, y)), rnd(4), rnd(3, 1),
     argnum=[0, 1], name="broadcast")
case("where", lambda x: wsum(np.where(x > 0, x, 0.1 * x)), away0(3, 4), name="leaky")
case("where", lambda x: wsum(np.where(x > 0, x, 0.0)), away0(3, 4), name="scalar-branch")
_clip_in = away0(3, 4) * 2
_clip_in[onp.abs(onp.abs(_clip_in) - 1.0) < 0.05] = 0.5
case("clip", lambda x: wsum(np.clip(x, -1.0, 1.0)), _clip_in)
case("clip", lambda x: wsum(np.clip(x, None, 1.0)), _clip_in, name="upper")
case("clip", lambda x: wsum(x.clip(-1.0, None)), _clip_in, name="lower-method")

# ------------------------------------------------------------------------ reductions
_RED_AXES = [dict(), dict(axis=0), dict(axis=1), dict(axis=-1), dict(axis=(0, 2)),
             dict(axis=None, keepdims=True), dict(axis=1, keepdims=True),
             dict(axis=(0, 2), keepdims=True)]
for _op, _gen in [("sum", rnd), ("mean", rnd), ("prod", pos), ("max", rnd), ("min", rnd),
                  ("amax", rnd), ("amin", rnd), ("var", rnd), ("std", rnd)]:
    _f = getattr(np, _op)
    for _kw in _RED_AXES:
        case(_op, (lambda f, kw: lambda x: wsum(f(x, **kw)))(_f, _kw), _gen(2, 3, 4),
             name=str(_kw))
case("var", lambda x: wsum(np.var(x, axis=1, ddof=1)), rnd(3, 4), name="ddof")
case("std", lambda x: wsum(np.std(x, ddof=1)), rnd(3, 4), name="ddof")
case("sum", lambda x: wsum(x.sum(1) + x.mean(0).sum()), rnd(3, 4), name="methods")
case("max", lambda x: wsum(x.max(axis=0)) - wsum(x.min(axis=1)), rnd(3, 4), name="methods")
case("prod", lambda x: wsum(x.prod(axis=0)), away0(3, 4), name="negative")
case("sum", lambda x: np.sum(x), rnd(), name="0d")
for _kw in [dict(), dict(axis=0), dict(axis=1), dict(axis=-1)]:
    case("cumsum", (lambda kw: lambda x: wsum(np.cumsum(x, **kw)))(_kw), rnd(3, 4), name=str(_kw))
    case("cumprod", (lambda kw: lambda x: wsum(np.cumprod(x, **kw)))(_kw), away0(3, 4),
         name=str(_kw))
for _kw in [dict(), dict(axis=0), dict(axis=1, keepdims=True)]:
    case("ptp", (lambda kw: lambda x: wsum(np.ptp(x, **kw)))(_kw), rnd(3, 4), name=str(_kw))

# ------------------------------------------------------------------------ products
for _sa, _sb in [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 2)), ((2, 1, 3, 4), (3, 4, 2)), ((3, 4), (2, 4, 5))]:
    case("matmul", lambda a, b: wsum(np.matmul(a, b)), rnd(*_sa), rnd(*_sb), argnum=[0, 1],
         name=f"{_sa}{_sb}")
case("matmul", lambda a, b: wsum(a @ b), rnd(3, 4), rnd(4, 2), argnum=[0, 1], name="@")
for _sa, _sb in [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)), ((), (3, 2)),
                 ((2, 3, 4), (4, 2)), ((2, 3, 4), (2, 4, 3))]:
    case("dot", lambda a, b: wsum(np.dot(a, b)), rnd(*_sa), rnd(*_sb), argnum=[0, 1],
         name=f"{_sa}{_sb}")
case("dot", lambda a, b: wsum(a.dot(b)), rnd(3, 4), rnd(4, 2), argnum=[0, 1], name="method")
for _sa, _sb, _ax in [((3, 4), (4, 2), 1), ((2, 3, 4), (3, 4, 2), 2),
                      ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])), ((3, 4), (2, 3), (0, 1)),
                      ((3,), (2,), 0)]:
    case("tensordot", (lambda ax: lambda a, b: wsum(np.tensordot(a, b, ax)))(_ax), rnd(*_sa),
         rnd(*_sb), argnum=[0, 1], name=f"{_ax}")
case("outer", lambda a, b: wsum(np.outer(a, b)), rnd(3), rnd(4), argnum=[0, 1])
case("outer", lambda a, b: wsum(np.outer(a, b)), rnd(2, 2), rnd(3), argnum=[0, 1], name="2d")
for _sa, _sb in [((4,), (4,)), ((3, 4), (2, 4)), ((2, 3, 4), (4,)), ((), (3,))]:
    case("inner", lambda a, b: wsum(np.inner(a, b)), rnd(*_sa), rnd(*_sb), argnum=[0, 1],
         name=f"{_sa}{_sb}")
case("vdot", lambda a, b: wsum(np.vdot(a, b)), rnd(3, 2), rnd(6), argnum=[0, 1])
for _spec, _shapes in [("ij,jk->ik", [(3, 4), (4, 2)]), ("ij->i", [(3, 4)]), ("i,i->", [(4,), (4,)]),
                       ("ijk,ik->j", [(2, 3, 4), (2, 4)]), ("ij,kj", [(2, 3), (4, 3)]),
                       ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]), ("i,j,k->ijk", [(2,), (3,), (2,)]),
                       ("ij->ji", [(3, 4)])]:
    case("einsum", (lambda s: lambda *xs: wsum(np.einsum(s, *xs)))(_spec),
         *[rnd(*s) for s in _shapes], argnum=list(range(len(_shapes))), name=_spec)
case("trace", lambda x: wsum(np.trace(x)), rnd(3, 4))
case("trace", lambda x: wsum(np.trace(x, 1)), rnd(4, 4), name="offset")
case("trace", lambda x: wsum(np.trace(x, -1)), rnd(4, 3), name="neg-offset")
case("trace", lambda x: wsum(np.trace(x, 0, 1, 2)), rnd(2, 3, 3), name="axes12")
case("trace", lambda x: wsum(np.trace(x, 0, 0, 2)), rnd(3, 2, 3), name="axes02")
case("trace", lambda x: wsum(x.trace()), rnd(3, 3), name="method")

# ------------------------------------------------------------------------ shape manipulation
case("reshape", lambda x: wsum(np.reshape(x, (4, 3))), rnd(3, 4))
case("reshape", lambda x: wsum(x.reshape(2, -1, 2)), rnd(3, 4), name="method")
case("ravel", lambda x: wsum(np.ravel(x)), rnd(3, 4))
case("ravel", lambda x: wsum(x.flatten() + x.ravel()), rnd(3, 4), name="methods")
case("squeeze", lambda x: wsum(np.squeeze(x)), rnd(3, 1, 4, 1))
case("squeeze", lambda x: wsum(np.squeeze(x, axis=1)), rnd(3, 1, 4, 1), name="axis")
case("expand_dims", lambda x: wsum(np.expand_dims(x, 1)), rnd(3, 4))
case("expand_dims", lambda x: wsum(np.expand_dims(x, -1)), rnd(3, 4), name="neg")
case("atleast_1d", lambda x: wsum(np.atleast_1d(x)), rnd())
case("atleast_1d", lambda x: wsum(np.atleast_1d(x)), rnd(3), name="1d")
case("atleast_2d", lambda x: wsum(np.atleast_2d(x)), rnd(3))
case("atleast_2d", lambda x: wsum(np.atleast_2d(x)), rnd(), name="0d")
case("transpose", lambda x: wsum(np.transpose(x)), rnd(2, 3, 4))
case("transpose", lambda x: wsum(np.transpose(x, (1, 2, 0))), rnd(2, 3, 4), name="axes")
case("transpose", lambda x: wsum(np.transpose(x, (-1, 0, 1))), rnd(2, 3, 4), name="neg-axes")
case("transpose", lambda x: wsum(x.T + x.transpose(1, 0)), rnd(3, 3), name="methods")
case("swapaxes", lambda x: wsum(np.swapaxes(x, 0, 2)), rnd(2, 3, 4))
case("moveaxis", lambda x: wsum(np.moveaxis(x, 0, -1)), rnd(2, 3, 4))
case("moveaxis", lambda x: wsum(np.moveaxis(x, (0, 1), (2, 0))), rnd(2, 3, 4), name="multi")
case("flip", lambda x: wsum(np.flip(x, 1)), rnd(3, 4))
case("flip", lambda x: wsum(np.flip(x)), rnd(3, 4), name="all")
case("flip", lambda x: wsum(np.flip(x, (0, 2))), rnd(2, 3, 4), name="tuple")
case("broadcast_to", lambda x: wsum(np.broadcast_to(x, (2, 3, 4))), rnd(3, 1))
case("broadcast_to", lambda x: wsum(np.broadcast_to(x, (3, 4))), rnd(), name="0d")
case("roll", lambda x: wsum(np.roll(x, 2)), rnd(3, 4))
case("roll", lambda x: wsum(np.roll(x, -1, axis=1)), rnd(3, 4), name="axis")
case("roll", lambda x: wsum(np.roll(x, (1, 2), axis=(0, 1))), rnd(3, 4), name="tuple")
case("concatenate", lambda x, y: wsum(np.concatenate([x, y])), rnd(2, 3), rnd(4, 3),
     argnum=[0, 1])
case("concatenate", lambda x, y: wsum(np.concatenate((x, y, x), axis=1)), rnd(3, 2), rnd(3, 1),
     argnum=[0, 1], name="axis1")
case("concatenate", lambda x, y: wsum(np.concatenate([x, y], axis=None)), rnd(2, 3), rnd(4),
     argnum=[0, 1], name="none")
case("concatenate", lambda x, y: wsum(np.vstack([x, y]) + np.hstack([x, y]).sum()),
     rnd(3), rnd(3), argnum=[0, 1], name="vstack-hstack")
case("stack", lambda x, y: wsum(np.stack([x, y])), rnd(2, 3), rnd(2, 3), argnum=[0, 1])
case("stack", lambda x, y: wsum(np.stack([x, y, x], axis=-1)), rnd(2, 3), rnd(2, 3),
     argnum=[0, 1], name="axis-1")
case("split", lambda x: wsum(np.split(x, 3)[0] * 2 + np.split(x, 3)[2]), rnd(6, 2))
case("split", lambda x: wsum(np.split(x, [1, 3], axis=1)), rnd(2, 5), name="indices")
case("split", lambda x: wsum(np.split(x, [1, 3], axis=1)[1]), rnd(2, 5), name="one-part")
case("array_split", lambda x: wsum(np.array_split(x, 3)), rnd(7, 2))
case("array_split", lambda x: wsum(np.array_split(x, 3)[1]), rnd(7, 2), name="one-part")
case("tile", lambda x: wsum(np.tile(x, 2)), rnd(3))
case("tile", lambda x: wsum(np.tile(x, (2, 1, 3))), rnd(2, 3), name="more-reps")
case("tile", lambda x: wsum(np.tile(x, (2,))), rnd(2, 3), name="fewer-reps")
case("repeat", lambda x: wsum(np.repeat(x, 3)), rnd(2, 3))
case("repeat", lambda x: wsum(np.repeat(x, 2, axis=1)), rnd(2, 3), name="axis")
case("repeat", lambda x: wsum(x.repeat(2, axis=0)), rnd(2, 3), name="method")
case("sort", lambda x: wsum(np.sort(x)), rnd(3, 4))
case("sort", lambda x: wsum(np.sort(x, axis=0)), rnd(3, 4), name="axis0")
case("sort", lambda x: wsum(np.sort(x, axis=None)), rnd(3, 4), name="none")
_tal_idx = onp.argsort(rnd(3, 4), axis=1)[:, :3]
case("take_along_axis", lambda x: wsum(np.take_along_axis(x, np.array(_tal_idx), 1)), rnd(3, 4))
_tal_dup = onp.array([[0, 0, 2], [1, 1, 1], [3, 0, 3]])
case("take_along_axis", lambda x: wsum(np.take_along_axis(x, np.array(_tal_dup), 1)), rnd(3, 4),
     name="duplicates")
case("take_along_axis", lambda x: wsum(np.take_along_axis(x, np.array(onp.array([[2, 0, 1, 1]])), 0)),
     rnd(3, 4), name="axis0")
case("_scatter_add_along_axis",
     lambda b, v: wsum(_call_op("_scatter_add_along_axis", b, np.array(_tal_dup), v, axis=1)),
     rnd(3, 4), rnd(3, 3), argnum=[0, 1])

# ------------------------------------------------------------------------ indexing
_idx_dup = onp.array([0, 2, 2, 1, 0])
_mask = rnd(3, 4) > 0
for _name, _index in [("int", 1), ("neg-int", -1), ("slice", slice(1, None)),
                      ("step", (slice(None, None, 2), slice(None, None, -1))),
                      ("none", (None, 1)), ("ellipsis", (Ellipsis, 2)),
                      ("ellipsis-none", (Ellipsis, None, slice(0, 2))),
                      ("int-array-dup", _idx_dup), ("list", [2, 0, 2]),
                      ("two-arrays", (onp.array([0, 1, 1]), onp.array([2, 2, 3]))),
                      ("array-slice", (slice(None), onp.array([3, 3, 0]))),
                      ("array-2d", onp.array([[0, 1], [1, 1]])), ("mask", _mask),
                      ("row-mask", onp.array([True, False, True])), ("int-int", (1, 2))]:
    case("_getitem", (lambda i: lambda x: wsum(x[i]))(_index), rnd(3, 4), name=_name)
case("_getitem", lambda x: wsum(x[np.array(_idx_dup)]), rnd(3, 4), name="minpy-index")
case("_getitem", lambda x: wsum(x[np.array(_mask)]), rnd(3, 4), name="minpy-mask")
case("_getitem", lambda x: wsum(x[x > 0]), away0(3, 4), name="self-mask")
case("_getitem", lambda x: wsum(sum(row for row in x)), rnd(3, 4), name="iter")


def _set_slice(x, v):
    x = x * 1.0
    x[1] = v
    return wsum(x)


def _set_mask(x):
    y = x * 2.0
    y[y < 0] = 0
    return wsum(y)


def _set_dup_array(x, v):
    y = x + 0.0
    y[onp.array([0, 2]), 1:3] = v
    return wsum(y)


def _set_scalar(x):
    y = np.exp(x)
    y[0, 0] = 5.0
    y[:, -1] = 0.0
    return wsum(y)


def _set_broadcast(x, v):
    y = x * 1.0
    y[:, 1:3] = v          # v has shape (2,): broadcast over rows
    return wsum(y)


case("_setitem", _set_slice, rnd(3, 4), rnd(4), argnum=[0, 1], name="row")
case("_setitem", _set_mask, away0(3, 4), name="mask")
case("_setitem", _set_dup_array, rnd(3, 4), rnd(2, 2), argnum=[0, 1], name="array")
case("_setitem", _set_scalar, rnd(3, 4), name="scalar")
case("_setitem", _set_broadcast, rnd(3, 4), rnd(2), argnum=[0, 1], name="broadcast")
case("_index_add",
     lambda b, g: wsum(_call_op("_index_add", b, g, np.array(_idx_dup), index=(("a", 0),))),
     rnd(3, 4), rnd(5, 4), argnum=[0, 1], name="dup")
case("_index_add",
     lambda b, g: wsum(_call_op("_index_add", b, g, index=(("s", 1, None, None),))),
     rnd(3, 4), rnd(2, 4), argnum=[0, 1], name="basic")
# minpy.nn's operators (the layers in minpy.nn.layers are built on them)
case("nn.conv2d", lambda x, w, b: wsum(_call_op("nn.conv2d", x, w, b, stride=1, pad=1)),
     rnd(2, 3, 5, 5), rnd(4, 3, 3, 3), rnd(4), argnum=[0, 1, 2], name="pad1")
case("nn.conv2d", lambda x, w, b: wsum(_call_op("nn.conv2d", x, w, b, stride=2, pad=0)),
     rnd(1, 2, 5, 5), rnd(3, 2, 3, 3), rnd(3), argnum=[0, 1, 2], name="stride2")
# conv2d's gradient operators are differentiable too (second derivatives of conv2d)
case("nn.conv2d_data_grad",
     lambda g, w: wsum(_call_op("nn.conv2d_data_grad", g, w, (1, 1), (1, 1), (0, 0))),
     rnd(2, 4, 5, 5), rnd(4, 3, 3, 3), argnum=[0, 1])
case("nn.conv2d_weight_grad",
     lambda x, g: wsum(_call_op("nn.conv2d_weight_grad", x, g, (3, 3), (1, 1), (1, 1))),
     rnd(2, 3, 5, 5), rnd(2, 4, 5, 5), argnum=[0, 1])
case("nn.max_pool", lambda x: wsum(_call_op("nn.max_pool", x, (2, 2))),
     onp.random.RandomState(7).permutation(64).reshape(1, 4, 4, 4) * 0.1)
case("nn.max_pool", lambda x: wsum(_call_op("nn.max_pool", x, (3, 3), (1, 2))),
     onp.random.RandomState(8).permutation(70).reshape(1, 2, 5, 7) * 0.1, name="overlapping")
# the gradient operators MXNet runs (first: data, weights and bias; then pooling's, whose
# gradient with respect to g reads each window's maximum)
case("nn.conv2d_grad",
     lambda g, x, w: wsum(list(_call_op("nn.conv2d_grad", g, x, w, np.zeros(4), (2, 1), (1, 0)))),
     rnd(2, 4, 3, 3), rnd(2, 3, 5, 5), rnd(4, 3, 3, 3), argnum=[0, 1, 2])
case("nn.max_pool_grad",
     lambda g, x: wsum(_call_op("nn.max_pool_grad", g, x, (2, 2), (2, 2))),
     rnd(1, 2, 2, 3), onp.random.RandomState(9).permutation(48).reshape(1, 2, 4, 6) * 0.1,
     argnum=[0, 1])
case("nn.relu", lambda x: wsum(_call_op("nn.relu", x)), away0(3, 4))
case("nn.sigmoid", lambda x: wsum(_call_op("nn.sigmoid", x)), rnd(3, 4))
# internal operators that gradients are built from (second order runs through them)
for _ta, _tb, _sa, _sb in [(False, False, (3, 4), (4, 2)), (True, False, (4, 3), (4, 2)),
                           (False, True, (3, 4), (2, 4)), (True, True, (4, 3), (2, 4))]:
    case("_matmul_t",
         (lambda ta, tb: lambda a, b: wsum(_call_op("_matmul_t", a, b, ta, tb)))(_ta, _tb),
         rnd(*_sa), rnd(*_sb), argnum=[0, 1], name=f"ta={_ta},tb={_tb}")
case("_fully_connected", lambda x, w: wsum(_call_op("_fully_connected", x, w)), rnd(3, 4),
     rnd(5, 4), argnum=[0, 1])
case("_fully_connected_bias", lambda x, w, b: wsum(_call_op("_fully_connected_bias", x, w, b)),
     rnd(3, 4), rnd(5, 4), rnd(5), argnum=[0, 1, 2])
case("_maximum_scalar_grad", lambda g, x: wsum(_call_op("_maximum_scalar_grad", g, x, 0.25)),
     rnd(3, 4), away0(3, 4))
case("_minimum_scalar_grad", lambda g, x: wsum(_call_op("_minimum_scalar_grad", g, x, -0.25)),
     rnd(3, 4), away0(3, 4))
case("_tanh_grad", lambda g, y: wsum(_call_op("_tanh_grad", g, y)), rnd(3, 4), unit(3, 4),
     argnum=[0, 1])
case("_log_softmax", lambda x: wsum(_call_op("_log_softmax", x, 1)), rnd(3, 4))
case("_log_softmax", lambda x: wsum(_call_op("_log_softmax", x, 0)), rnd(3, 4), name="axis0")
case("_add_n", lambda a, b, d: wsum(_call_op("_add_n", a, b, d) * a), rnd(3, 4), rnd(3, 4),
     rnd(3, 4), argnum=[0, 1, 2])
case("take", lambda x: wsum(np.take(x, np.array(_idx_dup))), rnd(3, 4))
case("take", lambda x: wsum(np.take(x, np.array(_idx_dup), axis=0)), rnd(3, 4), name="axis0")
case("take", lambda x: wsum(np.take(x, np.array([3, 1, 1]), axis=1)), rnd(3, 4), name="axis1")
case("take", lambda x: wsum(np.take(x, np.array([[0, 1], [1, 1]]), axis=-1)), rnd(2, 2, 3),
     name="2d-indices-last-axis")
case("take", lambda x: wsum(x.take(np.array([2, 2]), axis=1)), rnd(2, 3, 2), name="middle-axis")
case("astype", lambda x: wsum(x.astype("float64") * x), rnd(3, 4))
case("copy", lambda x: wsum(np.copy(x) * x.copy()), rnd(3, 4))
case("_to_context", lambda x: wsum(x.as_in_context(minpy.context.cpu(1)) * 2.0), rnd(3, 4))


def _function_case():
    import mxnet as mx
    from minpy.core import Function
    data = mx.sym.Variable("x")
    fc = mx.sym.FullyConnected(data=data, num_hidden=3, name="fc")
    f = Function(mx.sym.tanh(fc), {"x": (2, 4)})
    case("_function", lambda x, w, b: wsum(f(x=x, fc_weight=w, fc_bias=b)), rnd(2, 4), rnd(3, 4),
         rnd(3), argnum=[0, 1, 2])


_function_case()


# ------------------------------------------------------------------------ the tests

def _differentiable_ops():
    return sorted(n for n, op in REGISTRY.items()
                  if not op.nondiff and op.grads is not None and n not in INTERNAL)


def test_every_differentiable_op_has_a_case():
    covered = {c.op for c in CASES}
    missing = [n for n in _differentiable_ops() if n not in covered]
    assert not missing, f"registered differentiable ops without a gradient-check case: {missing}"


def test_no_op_is_left_without_gradient_or_nondiff_mark():
    """Every op either has a gradient or is declared non-differentiable (or is NumPy-only
    backward plumbing); otherwise grad would fail on it at run time."""
    allowed = {"_function_backward"}
    missing = [n for n, op in REGISTRY.items()
               if not op.nondiff and op.grads is None and n not in allowed]
    assert not missing, f"ops with neither a gradient nor nondiff=True: {missing}"


def _params(cases):
    out = []
    for c in cases:
        out.append(pytest.param(c, id=c.name))
    return out


@pytest.mark.parametrize("c", _params(CASES))
def test_gradient(c):
    err = check_grad(c.fn, c.args, c.argnum)
    assert err < c.tol, f"{c.name}: relative error {err:.3g}"


# ------------------------------------------------------------------------ behaviours

def test_unused_input_gets_zeros_of_its_shape():
    g = grad(lambda x, y: np.sum(x * 2.0), [0, 1])(np.ones((2, 3)), np.ones((4, 1)))
    assert g[1].shape == (4, 1)
    assert onp.all(g[1].asnumpy() == 0)
    assert onp.allclose(g[0].asnumpy(), 2.0)


def test_broadcast_gradient_reduces_to_input_shape():
    gx, gy = grad(lambda x, y: np.sum(x * y), [0, 1])(np.ones((3, 1)), np.ones((1, 4)) * 2)
    assert gx.shape == (3, 1) and gy.shape == (1, 4)
    assert onp.allclose(gx.asnumpy(), 8.0) and onp.allclose(gy.asnumpy(), 3.0)


def test_inplace_operators_inside_grad():
    def f(x, y):
        z = x * 1.0
        z += y
        z -= 0.5 * x
        z *= y
        z /= 2.0
        z[0] = z[0] * 3.0
        z[z < 0] = 0
        return np.sum(z * z)
    x, y = away0(3, 4), away0(3, 4)
    assert check_grad(f, [x, y], [0, 1]) < TOL


def test_inplace_on_the_differentiated_input_itself():
    def f(x):
        x += 1.0
        x *= x
        return np.sum(x)
    g = grad(f)(np.array([1.0, 2.0]))
    assert onp.allclose(g.asnumpy(), [4.0, 6.0])


def test_logsumexp_pattern():
    def logsumexp(x):
        m = np.max(x, axis=1, keepdims=True)
        return np.sum(np.log(np.sum(np.exp(x - m), axis=1)) + m[:, 0])
    x = rnd(3, 5) * 3
    assert check_grad(logsumexp, [x]) < TOL
    g = grad(logsumexp)(np.array(x, dtype="float64")).asnumpy()
    soft = onp.exp(x - x.max(1, keepdims=True))
    assert onp.allclose(g, soft / soft.sum(1, keepdims=True), atol=1e-6)


@pytest.mark.parametrize("fn", [lambda x: np.median(x), lambda x: np.sum(x * 2.0) + np.median(x),
                                lambda x: np.sum(np.percentile(x, 30) * x)],
                         ids=["median", "median-mixed", "percentile"])
def test_unregistered_fallback_raises_naming_it(fn):
    x = np.array(pos(5))
    fn(x)   # runs fine outside grad
    with pytest.raises(TypeError, match=r"(median|percentile).*no gradient"):
        grad(fn)(x)


def test_unregistered_fallback_on_constants_is_fine():
    c = np.median(np.array([1.0, 3.0, 2.0]))
    g = grad(lambda x: np.sum(x * c) + np.median(np.array([1.0, 5.0, 4.0])))(np.ones(3))
    assert onp.allclose(g.asnumpy(), 2.0)


def test_fallback_functions_with_gradients_run_in_numpy():
    """logaddexp, logaddexp2, sinc, fmod and nan_to_num run on the host but are differentiable."""
    x, y = rnd(4), rnd(4)
    for op in ("logaddexp", "logaddexp2", "fmod"):
        assert REGISTRY[op].mx is None
        assert check_grad(lambda a, b: wsum(getattr(np, op)(a, b)), [x, pos(4)], [0, 1]) < TOL
    for op in ("sinc", "nan_to_num"):
        assert REGISTRY[op].mx is None
        assert check_grad(lambda a: wsum(getattr(np, op)(a)), [y]) < TOL


def test_integer_results_carry_no_gradient():
    def f(x):
        i = np.argmax(x)
        return x[int(i)] * 2.0 + np.sum(x > 0)
    g = grad(f)(np.array([0.5, 3.0, -1.0]))
    assert onp.allclose(g.asnumpy(), [0.0, 2.0, 0.0])


def test_gradient_dtype_follows_input():
    g32 = grad(lambda x: np.sum(x.astype("float64") ** 2))(np.ones(3, dtype="float32"))
    assert g32.dtype == onp.float32
    g64 = grad(lambda x: np.sum(x ** 2))(np.ones(3, dtype="float64"))
    assert g64.dtype == onp.float64


# Second order: the vjps are MinPy calls, so differentiating them again must work too.
# One case per op (the first); the backward of an MXNet symbol (Function) has no gradient.
_NO_SECOND_ORDER = {"_function"}
_SECOND = [c for i, c in enumerate(CASES)
           if c.op not in _NO_SECOND_ORDER and all(d.op != c.op for d in CASES[:i])]


@pytest.mark.parametrize("c", _params(_SECOND))
def test_second_order_gradient(c):
    an = c.argnum if isinstance(c.argnum, int) else c.argnum[0]

    def first(*args):
        return wsum(grad(c.fn, an)(*args))
    err = check_grad(first, c.args, an)
    assert err < 1e-4, f"{c.name}: second-order relative error {err:.3g}"
