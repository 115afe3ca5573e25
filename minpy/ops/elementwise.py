"""Elementwise functions: unary math, binary arithmetic, comparisons and logic."""
from __future__ import annotations

import math

import numpy as _onp

from ..dispatch.registry import defop
from ._util import c, unbroadcast


def _zero(g, ans, *xs, **k):
    return c("zeros_like", xs[0] if hasattr(xs[0], "shape") else ans)


# ---------------------------------------------------------------------------- unary
_UNARY = {
    "exp": lambda g, ans, x: g * ans,
    "log": lambda g, ans, x: g / x,
    "log2": lambda g, ans, x: g / (x * math.log(2.0)),
    "log10": lambda g, ans, x: g / (x * math.log(10.0)),
    "log1p": lambda g, ans, x: g / (x + 1.0),
    "expm1": lambda g, ans, x: g * (ans + 1.0),
    "sqrt": lambda g, ans, x: g * 0.5 / ans,
    "cbrt": lambda g, ans, x: g / (3.0 * ans * ans),
    "square": lambda g, ans, x: g * 2.0 * x,
    "absolute": lambda g, ans, x: g * c("sign", x),
    "fabs": lambda g, ans, x: g * c("sign", x),
    "negative": lambda g, ans, x: -g,
    "positive": lambda g, ans, x: g,
    "reciprocal": lambda g, ans, x: -g * ans * ans,
    "sin": lambda g, ans, x: g * c("cos", x),
    "cos": lambda g, ans, x: -g * c("sin", x),
    "tan": lambda g, ans, x: g * (1.0 + ans * ans),
    "arcsin": lambda g, ans, x: g / c("sqrt", 1.0 - x * x),
    "arccos": lambda g, ans, x: -g / c("sqrt", 1.0 - x * x),
    "arctan": lambda g, ans, x: g / (1.0 + x * x),
    "sinh": lambda g, ans, x: g * c("cosh", x),
    "cosh": lambda g, ans, x: g * c("sinh", x),
    "tanh": lambda g, ans, x: g * (1.0 - ans * ans),
    "arcsinh": lambda g, ans, x: g / c("sqrt", x * x + 1.0),
    "arccosh": lambda g, ans, x: g / c("sqrt", x * x - 1.0),
    "arctanh": lambda g, ans, x: g / (1.0 - x * x),
    "deg2rad": lambda g, ans, x: g * (math.pi / 180.0),
    "rad2deg": lambda g, ans, x: g * (180.0 / math.pi),
    "sign": _zero, "floor": _zero, "ceil": _zero, "rint": _zero, "trunc": _zero, "fix": _zero,
}
# NumPy names MXNet's namespaces lack, written with operators it has
_LOWER = {
    "positive": lambda F, x: F.np.copy(x),
    "floor_divide": lambda F, x, y: F.np.floor(F.np.true_divide(x, y)),
    "logical_and": lambda F, x, y: F.np.bitwise_and(x != 0, y != 0),
    "logical_or": lambda F, x, y: F.np.bitwise_or(x != 0, y != 0),
    "logical_xor": lambda F, x, y: F.np.not_equal(x != 0, y != 0),
    "signbit": lambda F, x: F.np.copysign(F.np.ones_like(x), x) < 0,
}

for _name, _vjp in _UNARY.items():
    defop(_name, grad=_vjp, promote=True, mx=_LOWER.get(_name, "default"))

defop("radians", mx=lambda F, x: F.np.deg2rad(x), grad=_UNARY["deg2rad"], promote=True)
defop("degrees", mx=lambda F, x: F.np.rad2deg(x), grad=_UNARY["rad2deg"], promote=True)
defop("round", params=[("decimals", 0)], mx=lambda F, x, decimals: F.np.round(x, decimals),
      grad=_zero)
defop("around", params=[("decimals", 0)], mx=lambda F, x, decimals: F.np.round(x, decimals),
      grad=_zero)
for _name in ("isnan", "isinf", "isfinite", "logical_not", "signbit", "isposinf", "isneginf"):
    defop(_name, nondiff=True, mx=_LOWER.get(_name, "default"))
defop("invert", nondiff=True,
      mx=lambda F, x: F.np.logical_not(x) if x.dtype == _onp.bool_ else F.np.invert(x))

# ---------------------------------------------------------------------------- binary


def _mul_vjp_x(g, ans, x, y):
    return unbroadcast(g * y, x)


def _pow_vjp_x(g, x, y):
    if not hasattr(y, "shape"):
        return g * y * x ** (y - 1) if y != 0 else c("zeros_like", g)
    return g * y * x ** c("where", y == 0, c("ones_like", y), y - 1)


def _pow_vjp_y(g, ans, x, y):
    safe = c("where", x > 0, x, 1.0)
    return unbroadcast(g * ans * c("log", safe), y)


_BINARY = {
    "add": (lambda g, ans, x, y: unbroadcast(g, x), lambda g, ans, x, y: unbroadcast(g, y)),
    "subtract": (lambda g, ans, x, y: unbroadcast(g, x), lambda g, ans, x, y: unbroadcast(-g, y)),
    "multiply": (_mul_vjp_x, lambda g, ans, x, y: unbroadcast(g * x, y)),
    "true_divide": (lambda g, ans, x, y: unbroadcast(g / y, x),
                    lambda g, ans, x, y: unbroadcast(-g * ans / y, y)),
    "power": (lambda g, ans, x, y: unbroadcast(_pow_vjp_x(g, x, y), x), _pow_vjp_y),
    "maximum": (lambda g, ans, x, y: unbroadcast(g * (x >= y), x),
                lambda g, ans, x, y: unbroadcast(g * (x < y), y)),
    "minimum": (lambda g, ans, x, y: unbroadcast(g * (x <= y), x),
                lambda g, ans, x, y: unbroadcast(g * (x > y), y)),
    "arctan2": (lambda g, ans, x, y: unbroadcast(g * y / (x * x + y * y), x),
                lambda g, ans, x, y: unbroadcast(-g * x / (x * x + y * y), y)),
    "hypot": (lambda g, ans, x, y: unbroadcast(g * x / ans, x),
              lambda g, ans, x, y: unbroadcast(g * y / ans, y)),
    "mod": (lambda g, ans, x, y: unbroadcast(g, x),
            lambda g, ans, x, y: unbroadcast(-g * c("floor", x / y), y)),
    "floor_divide": (lambda g, ans, x, y: unbroadcast(c("zeros_like", g), x),
                     lambda g, ans, x, y: unbroadcast(c("zeros_like", g), y)),
    "copysign": (lambda g, ans, x, y: unbroadcast(g * c("sign", x) * c("sign", ans), x),
                 lambda g, ans, x, y: unbroadcast(c("zeros_like", g), y)),
}
for _name, (_gx, _gy) in _BINARY.items():
    defop(_name, nin=2, scalar_ok=True, grad=(_gx, _gy), promote=True,
          mx=_LOWER.get(_name, "default"))


def _divide_mx(F, x, y):
    return F.np.true_divide(x, y)


defop("divide", nin=2, scalar_ok=True, mx=_divide_mx, grad=_BINARY["true_divide"], promote=True)
defop("remainder", nin=2, scalar_ok=True, mx=lambda F, x, y: F.np.mod(x, y), grad=_BINARY["mod"],
      promote=True)
defop("fmod", nin=2, scalar_ok=True, mx=None, grad=(
    lambda g, ans, x, y: unbroadcast(g, x),
    lambda g, ans, x, y: unbroadcast(-g * c("trunc", x / y), y)))
defop("logaddexp", nin=2, scalar_ok=True, mx=None, grad=(
    lambda g, ans, x, y: unbroadcast(g * c("exp", x - ans), x),
    lambda g, ans, x, y: unbroadcast(g * c("exp", y - ans), y)))
defop("logaddexp2", nin=2, scalar_ok=True, mx=None, grad=(
    lambda g, ans, x, y: unbroadcast(g * c("exp2", x - ans), x),
    lambda g, ans, x, y: unbroadcast(g * c("exp2", y - ans), y)))

for _name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
              "logical_and", "logical_or", "logical_xor"):
    defop(_name, nin=2, scalar_ok=True, nondiff=True, promote=True,
          mx=_LOWER.get(_name, "default"))
for _name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    defop(_name, nin=2, scalar_ok=True, nondiff=True)

# ---------------------------------------------------------------------------- three-way


def _where_bind(condition, x=None, y=None):
    if x is None or y is None:
        raise TypeError("minpy.numpy.where(condition) with one argument is not supported on "
                        "arrays; use minpy.numpy.nonzero(condition)")
    return (condition, x, y), ()


defop("where", nin=3, scalar_ok=True, bind=_where_bind, grad=(
    None,
    lambda g, ans, cond, x, y: unbroadcast(c("where", cond, g, 0.0), x),
    lambda g, ans, cond, x, y: unbroadcast(c("where", cond, 0.0, g), y)))


def _clip_mx(F, x, a_min, a_max):
    return F.np.clip(x, a_min, a_max)


def _clip_vjp(g, ans, x, a_min, a_max):
    keep = c("ones_like", g)
    if a_min is not None:
        keep = keep * (x >= a_min)
    if a_max is not None:
        keep = keep * (x <= a_max)
    return g * keep


defop("clip", params=[("a_min", None), ("a_max", None)], mx=_clip_mx, grad=_clip_vjp)

# ---------------------------------------------------------------------------- NumPy-only, with gradients


# sinc'(x) = (cos(pi x) - sinc(x)) / x; at x = 0 use its Taylor term -pi^2 x / 3 (value 0,
# correct slope) so that second derivatives are right there too.
defop("sinc", mx=None, grad=lambda g, ans, x: g * c("where", x == 0, x * (-math.pi ** 2 / 3.0), (
    c("cos", math.pi * x) - ans) / c("where", x == 0, 1.0, x)))
defop("exp2", mx=lambda F, x: F.np.power(2.0, x), grad=lambda g, ans, x: g * ans * math.log(2.0),
      promote=True)
defop("nan_to_num", mx=None, grad=lambda g, ans, x, copy, nan, posinf, neginf: g * c("isfinite", x),
      params=[("copy", True), ("nan", 0.0), ("posinf", None), ("neginf", None)])
