"""Gradients of every differentiable registry operator against central differences.

Unlike ``test_gradients.py`` (one or two representative cases per operator), this
file walks each operator over the inputs that broke gradients in the fuzz runs of
issue 12: 0-d arrays, broadcasting in either direction, Python scalars, integer and
bool operands (which get no gradient), negative axes, tuples of axes, ``axis=None``,
``keepdims`` and zero-size arrays.

The oracle is independent of MinPy's forward pass: each case is a function of a
namespace ``m``, and the central differences run it with real NumPy in float64.
Every case runs eagerly and in lazy mode; a sample also runs under ``@minpy.jit``
(called twice, so the replay path runs too).
"""
from __future__ import annotations

import math

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad
from minpy.dispatch.registry import REGISTRY

_rng = onp.random.RandomState(1234)


# ----------------------------------------------------------------------------- input domains

def rnd(*s):
    return _rng.randn(*s)


def pos(*s):
    return _rng.uniform(0.5, 2.0, size=s)


def unit(*s):
    return _rng.uniform(-0.9, 0.9, size=s)


def away0(*s):
    return _rng.uniform(0.3, 2.0, size=s) * onp.where(_rng.rand(*s) < 0.5, -1.0, 1.0)


def frac(*s):
    return _rng.randint(-4, 4, size=s) + _rng.uniform(0.1, 0.4, size=s)


def big1(*s):
    return _rng.uniform(1.2, 3.0, size=s)


def distinct(*s):
    """Values with no ties (max/min/sort/ptp are not differentiable at ties)."""
    n = int(onp.prod(s)) if s else 1
    return (_rng.permutation(n) * 0.37 + _rng.uniform(0, 0.1, n) - n * 0.15).reshape(s)


def wsum(m, y):
    """A scalar that depends on every element of ``y`` with a distinct weight."""
    if isinstance(y, (list, tuple)):
        out = 0.0
        for v in y:
            out = out + wsum(m, v)
        return out
    shape = onp.shape(y)
    size = int(onp.prod(shape)) if shape else 1
    w = (onp.cos(onp.arange(1, size + 1) * 0.7) + 1.5).reshape(shape)
    w = m.array(w, dtype="float64") if m is np else w
    return m.sum(y * w)


# ----------------------------------------------------------------------------- cases

class Case:
    def __init__(self, op: str, name: str, fn, args: list, argnums, jit: bool, tol: float) -> None:
        self.op, self.name, self.fn, self.args, self.argnums = op, name, fn, args, argnums
        self.jit, self.tol = jit, tol


CASES: list = []


def case(op, fn, *args, argnums=(0,), name="", jit=False, tol=1e-6):
    """``fn(m, *args)`` returns a scalar; ``argnums`` are the float operands differentiated."""
    n = sum(1 for c in CASES if c.op == op)
    CASES.append(Case(op, f"{op}[{name or n}]", fn, list(args), tuple(argnums), jit, tol))


def fn_of(name):
    """``m.<name>``, or the NumPy function MinPy's internal name stands for."""
    return lambda m: getattr(m, name)


# unary elementwise ---------------------------------------------------------------------
_UNARY = [("exp", rnd), ("log", pos), ("log2", pos), ("log10", pos), ("log1p", pos),
          ("expm1", rnd), ("sqrt", pos), ("cbrt", away0), ("square", rnd), ("absolute", away0),
          ("fabs", away0), ("negative", rnd), ("positive", rnd), ("reciprocal", away0),
          ("sin", rnd), ("cos", rnd), ("tan", unit), ("arcsin", unit), ("arccos", unit),
          ("arctan", rnd), ("sinh", rnd), ("cosh", rnd), ("tanh", rnd), ("arcsinh", rnd),
          ("arccosh", big1), ("arctanh", unit), ("deg2rad", rnd), ("rad2deg", rnd),
          ("radians", rnd), ("degrees", rnd), ("sign", away0), ("floor", frac), ("ceil", frac),
          ("rint", frac), ("trunc", frac), ("fix", frac), ("round", frac), ("around", frac),
          ("exp2", rnd), ("sinc", away0), ("nan_to_num", rnd), ("copy", rnd),
          ("ravel", rnd), ("atleast_1d", rnd), ("atleast_2d", rnd), ("squeeze", rnd),
          ("transpose", rnd)]
for _op, _gen in _UNARY:
    for _i, _shape in enumerate([(), (3,), (2, 3), (0, 2)]):
        case(_op, (lambda o: lambda m, x: wsum(m, getattr(m, o)(x)))(_op), _gen(*_shape),
             name=str(_shape), jit=_i == 2)
case("round", lambda m, x: wsum(m, m.round(x, 1)), frac(2, 3) + 0.02, name="decimals")
case("around", lambda m, x: wsum(m, m.around(x, -1)), frac(2, 3) * 3 + 2.1, name="decimals-neg")

# binary elementwise, every broadcasting direction, scalars, int and bool operands ----
_BINARY = [("add", rnd, rnd), ("subtract", rnd, rnd), ("multiply", rnd, rnd),
           ("true_divide", rnd, away0), ("divide", rnd, away0), ("power", pos, rnd),
           ("arctan2", away0, away0), ("hypot", away0, away0), ("mod", frac, pos),
           ("remainder", frac, pos), ("fmod", frac, pos), ("floor_divide", frac, pos),
           ("logaddexp", rnd, rnd), ("logaddexp2", rnd, rnd), ("copysign", away0, away0),
           ("maximum", distinct, distinct), ("minimum", distinct, distinct)]
_PAIRS = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)), ((), (2, 3)),
          ((2, 3), ()), ((), ()), ((1,), (2, 1, 3)), ((0, 3), (3,))]
for _op, _gx, _gy in _BINARY:
    for _i, (_sx, _sy) in enumerate(_PAIRS):
        if _op in ("maximum", "minimum"):
            _both = distinct(int(onp.prod(_sx)) + int(onp.prod(_sy)))
            _x, _y = _both[:int(onp.prod(_sx))].reshape(_sx), _both[int(onp.prod(_sx)):].reshape(_sy)
        else:
            _x, _y = _gx(*_sx), _gy(*_sy)
        case(_op, (lambda o: lambda m, x, y: wsum(m, getattr(m, o)(x, y)))(_op), _x, _y,
             argnums=(0, 1), name=f"{_sx}{_sy}", jit=_i == 1)
    _sc = {"power": 1.7, "mod": 1.3, "remainder": 1.3, "fmod": 1.3, "floor_divide": 1.3}.get(_op, 0.8)
    case(_op, (lambda o, s: lambda m, x: wsum(m, getattr(m, o)(x, s)))(_op, _sc), _gx(2, 3),
         name="scalar-right")
    if _op not in ("mod", "remainder", "fmod", "floor_divide"):
        _sl = 1.7 if _op == "power" else -0.6
        case(_op, (lambda o, s: lambda m, y: wsum(m, getattr(m, o)(s, y)))(_op, _sl),
             _gy(2, 3), name="scalar-left")
    # an integer array operand: no gradient flows into it, the float one still gets its own
    _ints = onp.array([1, 2, 3]) if _op not in ("maximum", "minimum") else onp.array([-5, 9, -7])
    case(_op, (lambda o, k: lambda m, x: wsum(m, getattr(m, o)(x, m.array(k))))(_op, _ints),
         _gx(2, 3) if _op not in ("maximum", "minimum") else distinct(2, 3) * 0.1, name="int-right")
    if _op not in ("mod", "remainder", "fmod", "floor_divide", "power"):
        case(_op, (lambda o, k: lambda m, y: wsum(m, getattr(m, o)(m.array(k), y)))(_op, _ints),
             _gy(2, 3) if _op not in ("maximum", "minimum") else distinct(2, 3) * 0.1,
             name="int-left")
case("multiply", lambda m, x: wsum(m, x * (x > 0)), away0(2, 3), name="bool-mask")
case("multiply", lambda m, x: wsum(m, m.multiply(m.array([True, False, True]), x)), rnd(2, 3),
     name="bool-left")
case("add", lambda m, x: wsum(m, x + m.array(onp.array([True, False, True]))), rnd(2, 3),
     name="bool-right")
case("power", lambda m, x: wsum(m, x ** 2 + x ** 3), rnd(2, 3), name="int-exponent")
case("power", lambda m, x: wsum(m, m.power(x, m.array(onp.array([2, 3, 1])))), rnd(2, 3),
     name="int-array-exponent")
case("power", lambda m, y: wsum(m, m.power(m.array(onp.array([1, 2, 3])), y)), rnd(2, 3),
     name="int-array-base")

# where / clip -------------------------------------------------------------------------------
_cond = rnd(2, 3) > 0
for _i, (_sc, _sx, _sy) in enumerate([((2, 3), (2, 3), (2, 3)), ((2, 3), (3,), (2, 1)),
                                       ((), (2, 3), ()), ((3,), (), (2, 3)), ((), (), ())]):
    _cv = rnd(*_sc) > 0
    case("where", (lambda cv: lambda m, x, y: wsum(m, m.where(m.array(cv) if m is np else cv,
                                                               x, y)))(_cv),
         rnd(*_sx), rnd(*_sy), argnums=(0, 1), name=f"{_sc}{_sx}{_sy}", jit=_i == 1)
case("where", lambda m, x: wsum(m, m.where(x > 0, x, 0.1)), away0(2, 3), name="scalar-branch")
case("where", lambda m, y: wsum(m, m.where(y > 0, 2, y)), away0(2, 3), name="int-scalar-branch")
case("where", lambda m, y: wsum(m, m.where(y > 0, m.array(onp.array([1, 2, 3])), y)),
     away0(2, 3), name="int-array-branch")
_clip_in = away0(2, 3) * 2
_clip_in[onp.abs(onp.abs(_clip_in) - 1.0) < 0.1] = 0.5
for _lo, _hi in [(-1.0, 1.0), (None, 1.0), (-1.0, None), (-1, 1)]:
    case("clip", (lambda lo, hi: lambda m, x: wsum(m, m.clip(x, lo, hi)))(_lo, _hi), _clip_in,
         name=f"{_lo},{_hi}")
case("clip", lambda m, x: wsum(m, m.clip(x, -1.0, 1.0)), onp.array(0.5), name="0d")

# reductions -------------------------------------------------------------------------------
_AXES = [dict(), dict(axis=None, keepdims=True), dict(axis=0), dict(axis=-1),
         dict(axis=(0, -1)), dict(axis=(-1, 0), keepdims=True), dict(axis=1, keepdims=True),
         dict(axis=-2, keepdims=True)]
for _op, _gen in [("sum", rnd), ("mean", rnd), ("prod", away0), ("max", distinct),
                  ("min", distinct), ("amax", distinct), ("amin", distinct), ("var", rnd),
                  ("std", rnd), ("ptp", distinct)]:
    for _i, _kw in enumerate(_AXES):
        if _op == "ptp" and isinstance(_kw.get("axis"), tuple):
            continue
        case(_op, (lambda o, kw: lambda m, x: wsum(m, getattr(m, o)(x, **kw)))(_op, _kw),
             _gen(2, 3, 2), name=str(_kw), jit=_i == 4)
    case(_op, (lambda o: lambda m, x: wsum(m, getattr(m, o)(x)))(_op), _gen(), name="0d")
    if _op not in ("ptp",):
        case(_op, (lambda o: lambda m, x: wsum(m, getattr(m, o)(x, axis=(), keepdims=False)))(_op)
             if _op not in ("max", "min", "amax", "amin") else
             (lambda o: lambda m, x: wsum(m, getattr(m, o)(x, axis=-1)))(_op),
             _gen(2, 3), name="empty-axes" if _op not in ("max", "min", "amax", "amin") else "neg")
    if _op in ("sum", "mean", "prod"):
        case(_op, (lambda o: lambda m, x: wsum(m, getattr(m, o)(x, axis=0)))(_op), rnd(0, 3),
             name="zero-size")
case("var", lambda m, x: wsum(m, m.var(x, axis=-1, ddof=1)), rnd(2, 3), name="ddof")
case("std", lambda m, x: wsum(m, m.std(x, axis=(0, 1), ddof=1, keepdims=True)), rnd(2, 3),
     name="ddof-tuple")
case("sum", lambda m, x: wsum(m, m.sum(x, axis=0, dtype="float64")), rnd(2, 3), name="dtype")
# prod at zeros: the gradient is the product of the other elements (#7)
_z1 = onp.array([[2.0, 0.0, 3.0], [1.5, -2.0, 0.5]])
_z2 = onp.array([[0.0, 0.0, 3.0], [0.0, -2.0, 0.5]])
for _kw in [dict(), dict(axis=1), dict(axis=0), dict(axis=-1, keepdims=True), dict(axis=(0, 1))]:
    case("prod", (lambda kw: lambda m, x: wsum(m, m.prod(x, **kw)))(_kw), _z1,
         name=f"one-zero{_kw}", jit=not _kw)
    case("prod", (lambda kw: lambda m, x: wsum(m, m.prod(x, **kw)))(_kw), _z2,
         name=f"two-zeros{_kw}")
case("prod", lambda m, x: wsum(m, m.prod(x)), onp.array(0.0), name="0d-zero")
for _kw in [dict(), dict(axis=0), dict(axis=-1)]:
    case("cumsum", (lambda kw: lambda m, x: wsum(m, m.cumsum(x, **kw)))(_kw), rnd(2, 3),
         name=str(_kw))
    case("cumprod", (lambda kw: lambda m, x: wsum(m, m.cumprod(x, **kw)))(_kw), away0(2, 3),
         name=str(_kw))
case("cumsum", lambda m, x: wsum(m, m.cumsum(x)), rnd(), name="0d")
case("cumprod", lambda m, x: wsum(m, m.cumprod(x)), away0(), name="0d")

# products ---------------------------------------------------------------------------------
for _i, (_sa, _sb) in enumerate([((2, 3), (3, 2)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)),
                                 ((2, 2, 3), (3, 2)), ((2, 1, 2, 3), (3, 3, 2)),
                                 ((2, 3), (2, 3, 2)), ((0, 3), (3, 2))]):
    case("matmul", lambda m, a, b: wsum(m, m.matmul(a, b)), rnd(*_sa), rnd(*_sb), argnums=(0, 1),
         name=f"{_sa}{_sb}", jit=_i == 4)
for _sa, _sb in [((2, 3), (3, 2)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)), ((), (3, 2)),
                 ((2, 3), ()), ((2, 2, 3), (3, 2)), ((2, 2, 3), (2, 3, 2)), ((3,), (2, 3, 2))]:
    case("dot", lambda m, a, b: wsum(m, m.dot(a, b)), rnd(*_sa), rnd(*_sb), argnums=(0, 1),
         name=f"{_sa}{_sb}")
for _sa, _sb, _ax in [((2, 3), (3, 2), 1), ((2, 3, 2), (3, 2, 2), 2), ((2, 3), (2, 2), 0),
                      ((2, 3, 2), (2, 3, 2), ([-1, 1], [2, -2])), ((2, 3), (3, 2), ((1,), (0,))),
                      ((3,), (3,), 1)]:
    case("tensordot", (lambda ax: lambda m, a, b: wsum(m, m.tensordot(a, b, ax)))(_ax), rnd(*_sa),
         rnd(*_sb), argnums=(0, 1), name=f"{_sa}{_sb}{_ax}")
for _sa, _sb in [((3,), (2,)), ((2, 2), (3,)), ((), (3,)), ((3,), ())]:
    case("outer", lambda m, a, b: wsum(m, m.outer(a, b)), rnd(*_sa), rnd(*_sb), argnums=(0, 1),
         name=f"{_sa}{_sb}")
for _sa, _sb in [((3,), (3,)), ((2, 3), (2, 3)), ((2, 2, 3), (3,)), ((), (3,)), ((2, 3), ())]:
    case("inner", lambda m, a, b: wsum(m, m.inner(a, b)), rnd(*_sa), rnd(*_sb), argnums=(0, 1),
         name=f"{_sa}{_sb}")
for _i, (_sa, _sb) in enumerate([((2, 3), (3, 2)), ((3, 2), (6,)), ((6,), (6,)), ((), ()),
                                 ((1, 4), (2, 2))]):
    case("vdot", lambda m, a, b: wsum(m, m.vdot(a, b)), rnd(*_sa), rnd(*_sb), argnums=(0, 1),
         name=f"{_sa}{_sb}", jit=_i == 0)
for _spec, _shapes in [("ij,jk->ik", [(2, 3), (3, 2)]), ("ij->", [(2, 3)]), ("i,i->", [(3,), (3,)]),
                       ("ijk,ik->j", [(2, 3, 2), (2, 2)]), ("ij,kj", [(2, 3), (2, 3)]),
                       ("i,j->ij", [(2,), (3,)]), ("ij->ji", [(2, 3)]), (",ij->ij", [(), (2, 3)])]:
    case("einsum", (lambda s: lambda m, *xs: wsum(m, m.einsum(s, *xs)))(_spec),
         *[rnd(*s) for s in _shapes], argnums=tuple(range(len(_shapes))), name=_spec)
for _kw, _shape in [(dict(), (3, 4)), (dict(offset=1), (3, 3)), (dict(offset=-1), (3, 3)),
                    (dict(axis1=-1, axis2=0), (3, 2, 3)), (dict(axis1=1, axis2=-1), (2, 3, 3))]:
    case("trace", (lambda kw: lambda m, x: wsum(m, m.trace(x, **kw)))(_kw), rnd(*_shape),
         name=f"{_kw}{_shape}")

# shape manipulation -----------------------------------------------------------------------
_SHAPE_CASES = [
    ("reshape", lambda m, x: m.reshape(x, (3, 2)), (2, 3)),
    ("reshape", lambda m, x: m.reshape(x, (-1,)), (2, 3)),
    ("reshape", lambda m, x: m.reshape(x, ()), (1, 1)),
    ("reshape", lambda m, x: m.reshape(x, (1, 1, 1)), ()),
    ("ravel", lambda m, x: m.ravel(x), (2, 1, 3)),
    ("squeeze", lambda m, x: m.squeeze(x, axis=-2), (2, 1, 3)),
    ("squeeze", lambda m, x: m.squeeze(x, axis=(0, 2)), (1, 3, 1)),
    ("squeeze", lambda m, x: m.squeeze(x), (1, 1)),
    ("expand_dims", lambda m, x: m.expand_dims(x, -1), (2, 3)),
    ("expand_dims", lambda m, x: m.expand_dims(x, 0), ()),
    ("expand_dims", lambda m, x: m.expand_dims(x, (0, -1)), (2, 3)),
    ("transpose", lambda m, x: m.transpose(x, (-1, 0, 1)), (2, 3, 2)),
    ("transpose", lambda m, x: m.transpose(x), ()),
    ("swapaxes", lambda m, x: m.swapaxes(x, -1, 0), (2, 3, 2)),
    ("moveaxis", lambda m, x: m.moveaxis(x, -1, 0), (2, 3, 2)),
    ("moveaxis", lambda m, x: m.moveaxis(x, (0, -1), (-1, 0)), (2, 3, 2)),
    ("flip", lambda m, x: m.flip(x), (2, 3)),
    ("flip", lambda m, x: m.flip(x, -1), (2, 3)),
    ("flip", lambda m, x: m.flip(x, (0, -1)), (2, 3, 2)),
    ("flip", lambda m, x: m.flip(x), ()),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3)), ()),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 2, 3)), (1, 3)),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3)), (2, 1)),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (0, 3)), (3,)),
    ("roll", lambda m, x: m.roll(x, -1), (2, 3)),
    ("roll", lambda m, x: m.roll(x, 4, axis=-1), (2, 3)),
    ("roll", lambda m, x: m.roll(x, (1, -1), axis=(0, -1)), (2, 3)),
    ("roll", lambda m, x: m.roll(x, 1), ()),
    ("tile", lambda m, x: m.tile(x, 2), (3,)),
    ("tile", lambda m, x: m.tile(x, (2, 1, 2)), (2, 3)),
    ("tile", lambda m, x: m.tile(x, (2, 2)), ()),
    ("tile", lambda m, x: m.tile(x, 0), (3,)),
    ("repeat", lambda m, x: m.repeat(x, 2), (2, 3)),
    ("repeat", lambda m, x: m.repeat(x, 2, axis=-1), (2, 3)),
    ("repeat", lambda m, x: m.repeat(x, 3), ()),
    ("repeat", lambda m, x: m.repeat(x, 0, axis=0), (2, 3)),
    ("sort", lambda m, x: m.sort(x), (2, 3)),
    ("sort", lambda m, x: m.sort(x, axis=0), (3, 2)),
    ("sort", lambda m, x: m.sort(x, axis=None), (2, 3)),
    ("sort", lambda m, x: m.sort(x, axis=-2), (3, 2)),
    ("atleast_1d", lambda m, x: m.atleast_1d(x), ()),
    ("atleast_2d", lambda m, x: m.atleast_2d(x), ()),
    ("atleast_2d", lambda m, x: m.atleast_2d(x), (3,)),
    ("take", lambda m, x: m.take(x, m.array(onp.array([0, 5, 5, -1]))), (2, 3)),
    ("take", lambda m, x: m.take(x, m.array(onp.array([1, 0, 1])), axis=-1), (2, 3)),
    ("take", lambda m, x: m.take(x, m.array(onp.array([[1], [-2]])), axis=0), (2, 3)),
    ("take", lambda m, x: m.take(x, 1, axis=1), (2, 3)),
    ("take_along_axis", lambda m, x: m.take_along_axis(
        x, m.array(onp.array([[0, 0], [2, 1]])), -1), (2, 3)),
    ("take_along_axis", lambda m, x: m.take_along_axis(
        x, m.array(onp.array([[1, 0, 1]])), 0), (2, 3)),
    ("take_along_axis", lambda m, x: m.take_along_axis(
        x, m.array(onp.array([2, 0, 0])), None), (2, 3)),
    ("astype", lambda m, x: x.astype("float64") * x, (2, 3)),
    ("astype", lambda m, x: x.astype("int64"), (2, 3)),
    ("nan_to_num", lambda m, x: m.nan_to_num(m.log(x)), (2, 3)),
]
for _i, (_op, _f, _shape) in enumerate(_SHAPE_CASES):
    _x = distinct(*_shape) if _op == "sort" else (pos(*_shape) if _op == "nan_to_num" else rnd(*_shape))
    case(_op, (lambda f: lambda m, x: wsum(m, f(m, x)))(_f), _x,
         name=f"{_i}{_shape}", jit=_i % 5 == 0)
for _i, (_shapes, _kw) in enumerate([([(2, 3), (1, 3)], dict()), ([(2, 3), (2, 1)], dict(axis=-1)),
                                     ([(2, 3), (4,)], dict(axis=None)),
                                     ([(3,), (0,)], dict()), ([(2, 3), (2, 3)], dict(axis=-2))]):
    case("concatenate", (lambda kw: lambda m, *xs: wsum(m, m.concatenate(list(xs), **kw)))(_kw),
         *[rnd(*s) for s in _shapes], argnums=tuple(range(len(_shapes))), name=f"{_shapes}{_kw}",
         jit=_i == 1)
case("concatenate", lambda m, x: wsum(m, m.concatenate([x, m.array(onp.array([[1, 2, 3]]))])),
     rnd(2, 3), name="int-part")
for _shapes, _kw in [([(2, 3), (2, 3)], dict()), ([(2, 3), (2, 3)], dict(axis=-1)),
                     ([(), ()], dict()), ([(3,), (3,)], dict(axis=-2))]:
    case("stack", (lambda kw: lambda m, *xs: wsum(m, m.stack(list(xs), **kw)))(_kw),
         *[rnd(*s) for s in _shapes], argnums=tuple(range(len(_shapes))), name=f"{_shapes}{_kw}")
for _kw, _shape in [(dict(indices_or_sections=2), (4, 3)),
                    (dict(indices_or_sections=[1, 2], axis=-1), (2, 3)),
                    (dict(indices_or_sections=[0, 3], axis=1), (2, 3))]:
    case("split", (lambda kw: lambda m, x: wsum(m, m.split(x, **kw)))(_kw), rnd(*_shape),
         name=str(_kw))
    case("split", (lambda kw: lambda m, x: wsum(m, m.split(x, **kw)[-1]))(_kw), rnd(*_shape),
         name=f"last-{_kw}")
for _kw, _shape in [(dict(indices_or_sections=3), (4, 3)),
                    (dict(indices_or_sections=2, axis=-1), (2, 3))]:
    case("array_split", (lambda kw: lambda m, x: wsum(m, m.array_split(x, **kw)))(_kw),
         rnd(*_shape), name=str(_kw))
    case("array_split", (lambda kw: lambda m, x: wsum(m, m.array_split(x, **kw)[0]))(_kw),
         rnd(*_shape), name=f"first-{_kw}")

# indexing (read side) ------------------------------------------------------------------------
for _i, _index in enumerate([1, -1, (slice(None), -1), (Ellipsis, None), (None, 0),
                             onp.array([0, 0, 1]), onp.array([[1, -1]]), onp.array([True, False]),
                             (slice(None, None, -1), onp.array([2, 0])), ()]):
    case("_getitem", (lambda ix: lambda m, x: wsum(m, x[ix]))(_index), rnd(2, 3),
         name=str(_i), jit=_i == 5)
case("_getitem", lambda m, x: wsum(m, x[()]), rnd(), name="0d")
case("_getitem", lambda m, x: wsum(m, x[None]), rnd(), name="0d-none")


# ----------------------------------------------------------------------------- checking

def _numeric(fn, args, k, eps=1e-6):
    """Central differences of ``fn(numpy, *args)`` with respect to ``args[k]``, in float64."""
    base = [onp.array(a, dtype="float64") for a in args]
    x = base[k]
    out = onp.zeros_like(x)
    with onp.errstate(all="ignore"):
        for i in onp.ndindex(*x.shape):
            vals = []
            for sign in (1.0, -1.0):
                xp = x.copy()
                xp[i] += sign * eps
                call = list(base)
                call[k] = xp
                vals.append(float(fn(onp, *call)))
            out[i] = (vals[0] - vals[1]) / (2.0 * eps)
    return out


def _close(analytic, numeric, tol):
    assert analytic.shape == numeric.shape, f"gradient shape {analytic.shape}, want {numeric.shape}"
    assert analytic.dtype == onp.float64, f"gradient dtype {analytic.dtype}, want float64"
    if not numeric.size:
        return
    scale = max(float(onp.abs(numeric).max()), 1e-8) * 1e-3
    err = onp.abs(analytic - numeric) / onp.maximum(onp.abs(analytic) + onp.abs(numeric), scale)
    assert float(err.max()) < tol, (f"relative error {float(err.max()):.3g}\n"
                                    f"grad    {analytic.ravel()}\nnumeric {numeric.ravel()}")


def _minpy_args(c):
    return [np.array(a, dtype="float64") for a in c.args]


def _check(c, mode):
    argnums = list(c.argnums)
    want = [_numeric(c.fn, c.args, k) for k in argnums]

    def f(*xs):
        return c.fn(np, *xs)

    g = grad(f, argnums)
    if mode == "jit":
        jg = minpy.jit(lambda *xs: g(*xs))
        got = jg(*_minpy_args(c))
        got = jg(*_minpy_args(c))
    elif mode == "lazy":
        with minpy.lazy():
            got = g(*_minpy_args(c))
        minpy.flush()
    else:
        got = g(*_minpy_args(c))
    for k, gk, wk in zip(argnums, got, want):
        try:
            _close(onp.asarray(gk.asnumpy()), wk, c.tol * 100 if wk.size and onp.abs(wk).max() > 1e3 else c.tol + 1e-6)
        except AssertionError as e:
            raise AssertionError(f"{c.name} ({mode}), argument {k}: {e}") from None


# Known failures in code outside autograd/linalg/prod (owned elsewhere while issue 12 is
# worked on); non-strict, so a fix shows up as XPASS.
KNOWN: dict = {}


def _params(modes):
    out = []
    for c in CASES:
        for mode in modes:
            if mode == "jit" and not c.jit:
                continue
            marks = [pytest.mark.xfail(reason=KNOWN[c.name], strict=False)] if c.name in KNOWN else []
            out.append(pytest.param(c, mode, id=f"{c.name}-{mode}", marks=marks))
    return out


@pytest.mark.parametrize("c,mode", _params(("eager", "lazy", "jit")))
def test_gradient_matches_central_differences(c, mode):
    _check(c, mode)


def test_every_public_differentiable_op_is_covered():
    """A new differentiable operator must get cases here too."""
    covered = {c.op for c in CASES}
    public = sorted(n for n, op in REGISTRY.items()
                    if op.grads is not None and not op.nondiff and not n.startswith(("_", "nn.")))
    missing = [n for n in public if n not in covered]
    assert not missing, f"differentiable operators without cases in this file: {missing}"


def test_gradient_has_the_input_dtype_when_the_op_computes_in_another():
    """sum(x64, dtype=float32): the gradient with respect to x is float64, like x."""
    x = np.array(rnd(2, 3), dtype="float64")
    for mode in ("eager", "lazy"):
        with minpy.lazy(mode == "lazy"):
            g = grad(lambda x: np.sum(np.sum(x, axis=0, dtype="float32")))(x)
            assert g.dtype == onp.float64 and g.shape == (2, 3)
            assert onp.array_equal(g.asnumpy(), onp.ones((2, 3)))


def test_vdot_gradient_of_an_intermediate_has_its_shape():
    """#7: vdot flattens; the gradient flowing back into (2,3) and (3,2) operands keeps
    their shapes (it had the other operand's shape)."""
    a, b = rnd(2, 3), rnd(3, 2)

    def f(a, b):
        return np.vdot(np.tanh(a), np.exp(b) * 2.0)

    ga, gb = grad(f, [0, 1])(np.array(a, dtype="float64"), np.array(b, dtype="float64"))
    assert ga.shape == (2, 3) and gb.shape == (3, 2)
    want_a = (1 - onp.tanh(a) ** 2) * (onp.exp(b) * 2.0).reshape(2, 3)
    want_b = onp.tanh(a).reshape(3, 2) * onp.exp(b) * 2.0
    assert onp.allclose(ga.asnumpy(), want_a) and onp.allclose(gb.asnumpy(), want_b)


def test_prod_gradient_at_zeros_is_the_product_of_the_others():
    """#7: prod's gradient at a zero was NaN (it divided by x)."""
    x = onp.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]])
    want = onp.array([[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [8.0, 4.0, 2.0]])
    for mode in ("eager", "lazy"):
        with minpy.lazy(mode == "lazy"):
            g = grad(lambda x: np.sum(np.prod(x, axis=1)))(np.array(x, dtype="float64"))
            assert onp.array_equal(g.asnumpy(), want), mode
    g = grad(lambda x: np.prod(x))(np.array([3.0, 0.0, 2.0], dtype="float64"))
    assert onp.array_equal(g.asnumpy(), [0.0, 6.0, 0.0])


def test_a_wrongly_shaped_vjp_raises_instead_of_a_silent_reshape(monkeypatch):
    """A vjp whose result has the operand's size but not its shape is a bug: backward
    names the operator instead of reshaping (which hid vdot's wrong gradient)."""
    from minpy.ops._util import c
    monkeypatch.setattr(REGISTRY["sinh"], "grads",
                        (lambda g, ans, x: c("reshape", g * 2.0, (x.size,)),))
    x = np.array(rnd(2, 3), dtype="float64")
    with pytest.raises(RuntimeError, match="sinh with respect to argument 0 has shape"):
        grad(lambda x: np.sum(np.sinh(x) * 1.0))(x)


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_random_programs(mode):
    """A fixed budget of the gradient fuzzer (tests/fuzz/grad.py; ``python -m tests.fuzz
    --grad`` runs longer): random smooth programs, grad against NumPy's central
    differences, each failure with a reproducer."""
    from tests.fuzz import grad as gfuzz
    seed = {"eager": 0, "lazy": 100, "jit": 200}[mode]
    failures = []
    for i in range(60):
        prog = gfuzz.generate(seed, i)
        prog["index"] = i
        failures += [(i, f) for f in gfuzz.check(prog, mode)]
    assert not failures, "\n".join(
        f"program {i} (seed {seed}): {f['kind']} {f.get('detail', '')[:300]}\n"
        f"{gfuzz.program_src(gfuzz.generate(seed, i), mode)}" for i, f in failures)


@pytest.mark.parametrize("mode", ["eager", "lazy"])
def test_gradient_flows_through_a_list_of_arrays(mode):
    """Issue 12 fuzz: ``np.array([a, b])`` or ``list_of_arrays * w`` made host copies of
    arrays being differentiated: a silent zero gradient."""
    x = np.array([1.0, 2.0], dtype="float64")
    with minpy.lazy(mode == "lazy"):
        g = grad(lambda x: np.sum(np.array([x, x * 2.0]) ** 2))(x)
        assert onp.allclose(g.asnumpy(), [10.0, 20.0])
        g = grad(lambda x: np.sum(np.array([[x[0], 3.0], [x[1], x[0]]], dtype="float32")))(x)
        assert g.dtype == onp.float64 and onp.allclose(g.asnumpy(), [2.0, 1.0])
        w = np.array([[1.0, -2.0]], dtype="float64")
        g = grad(lambda x: np.sum(np.array_split(x, 1) * w))(x)
        assert onp.allclose(g.asnumpy(), [1.0, -2.0])


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumprod_gradient_at_zeros(axis, mode):
    """cumprod's gradient divided by x: NaN at zeros (fuzz: cumprod of [0, 0, 0])."""
    x = onp.array([[0.0, 0.0, 0.0, 1.5], [2.0, 0.0, 3.0, 0.0], [1.5, -2.0, 0.5, 3.0]])
    w = onp.cos(onp.arange(x.size) * 0.7).reshape(-1) + 1.5

    def f(m, v):
        r = m.cumprod(v, axis=axis)
        ww = w.reshape(r.shape)
        return m.sum(r * (m.array(ww, dtype="float64") if m is np else ww))
    want = onp.zeros_like(x)
    for i in range(x.size):
        e = onp.zeros(x.size)
        e[i] = 1e-6
        e = e.reshape(x.shape)
        want.flat[i] = (f(onp, x + e) - f(onp, x - e)) / 2e-6
    g = grad(lambda v: f(np, v))
    if mode == "jit":
        g = minpy.jit(g)
        g(np.array(x, dtype="float64"))
    with minpy.lazy(mode != "eager"):
        got = g(np.array(x, dtype="float64")).asnumpy()
    onp.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_backward_template_of_fewer_arguments_is_not_reused(mode):
    """Lazy mode replays recorded backward passes by tape structure; a tape that does not
    reach every argument was replayed for a call with more arguments (StopIteration)."""
    x = np.array([1.0, 2.0], dtype="float64")
    g2 = grad(lambda a, b: np.sum(a * 2.0), [0, 1])
    g3 = grad(lambda a, b, c: np.sum(a * 2.0), [0, 1, 2])
    if mode == "jit":
        g2, g3 = minpy.jit(g2), minpy.jit(g3)
    for _ in range(2):
        with minpy.lazy(mode != "eager"):
            r2 = [v.asnumpy() for v in g2(x, x + 1)]
            r3 = [v.asnumpy() for v in g3(x, x + 1, x + 2)]
        assert len(r2) == 2 and len(r3) == 3
        onp.testing.assert_array_equal(r3[0], [2.0, 2.0])
        onp.testing.assert_array_equal(r3[2], [0.0, 0.0])


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_hypot_gradient_at_the_origin_is_zero(mode):
    """hypot's gradient divided by hypot: NaN at (0, 0) (fuzz, seed 45); central
    differences give 0 there."""
    x = onp.array([0.0, 0.776, -1.27, 0.0])
    y = onp.array([0.0, 0.65, 0.85, 0.0])
    g = grad(lambda a, b: np.sum(np.hypot(a, b) * np.array([1.0, -2.0, 0.5, 3.0],
                                                         dtype="float64")), [0, 1])
    if mode == "jit":
        g = minpy.jit(g)
        g(np.array(x, dtype="float64"), np.array(y, dtype="float64"))
    with minpy.lazy(mode != "eager"):
        gx, gy = [v.asnumpy() for v in g(np.array(x, dtype="float64"),
                                         np.array(y, dtype="float64"))]
    h = onp.hypot(x, y)
    w = onp.array([1.0, -2.0, 0.5, 3.0])
    safe = onp.where(h == 0, 1.0, h)
    onp.testing.assert_allclose(gx, w * x / safe, rtol=1e-12)
    onp.testing.assert_allclose(gy, w * y / safe, rtol=1e-12)
    assert gx[0] == 0.0 and gy[3] == 0.0
