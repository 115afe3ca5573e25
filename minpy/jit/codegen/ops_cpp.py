"""What each fusible MinPy operator is in C++: the one table the code generator reads.

Elementwise entries give the expression of one element from the expressions of
the operands, already converted to the compute type ``ct`` (``float`` or
``double``); the compute type follows NumPy (the widest float operand; Python
scalars take the array's type), and the result is converted to the node's
dtype when stored. Everything here computes what the operator's NumPy
implementation computes, rounding included (the library is built without
contracting ``a*b+c`` into one fused multiply-add).
"""
from __future__ import annotations

from . import mathfn


def _max(a, b, ct):
    # NumPy's maximum: NaN in either operand gives NaN; ties keep the first operand
    return f"(({a}) >= ({b}) || ({a}) != ({a}) ? ({a}) : ({b}))"


def _min(a, b, ct):
    return f"(({a}) <= ({b}) || ({a}) != ({a}) ? ({a}) : ({b}))"


def _add_n(*args, ct):
    out = args[0]
    for a in args[1:]:
        out = f"({out} + {a})"
    return out


def _unary_math(name):
    return lambda a, ct: mathfn.call(name, ct, a)


# name -> (number of array operands or -1, expression builder, result kind)
#   kind "arith": computes in the operands' float type; "cmp": a comparison (bool result)
ELEMENTWISE = {
    "add": (2, lambda a, b, ct: f"({a} + {b})", "arith"),
    "subtract": (2, lambda a, b, ct: f"({a} - {b})", "arith"),
    "multiply": (2, lambda a, b, ct: f"({a} * {b})", "arith"),
    "true_divide": (2, lambda a, b, ct: f"({a} / {b})", "arith"),
    "divide": (2, lambda a, b, ct: f"({a} / {b})", "arith"),
    "maximum": (2, _max, "arith"),
    "minimum": (2, _min, "arith"),
    "negative": (1, lambda a, ct: f"(-{a})", "arith"),
    "positive": (1, lambda a, ct: f"(+{a})", "arith"),
    "abs": (1, lambda a, ct: f"std::fabs({a})", "arith"),
    "absolute": (1, lambda a, ct: f"std::fabs({a})", "arith"),
    "square": (1, lambda a, ct: f"({a} * {a})", "arith"),
    "sqrt": (1, lambda a, ct: f"std::sqrt({a})", "arith"),
    "reciprocal": (1, lambda a, ct: f"(({ct})1 / {a})", "arith"),
    "_add_n": (-1, _add_n, "arith"),
    "_tanh_grad": (2, lambda g, y, ct: f"({g} * (({ct})1 - {y} * {y}))", "arith"),
    "greater": (2, lambda a, b, ct: f"({a} > {b})", "cmp"),
    "greater_equal": (2, lambda a, b, ct: f"({a} >= {b})", "cmp"),
    "less": (2, lambda a, b, ct: f"({a} < {b})", "cmp"),
    "less_equal": (2, lambda a, b, ct: f"({a} <= {b})", "cmp"),
    "equal": (2, lambda a, b, ct: f"({a} == {b})", "cmp"),
    "not_equal": (2, lambda a, b, ct: f"({a} != {b})", "cmp"),
}
for _name in mathfn.UNARY:
    ELEMENTWISE[_name] = (1, _unary_math(_name), "arith")
ELEMENTWISE["power"] = (2, lambda a, b, ct: mathfn.call("power", ct, a, b), "arith")

# g * (x >= s) and g * (x <= s): the gradients of maximum / minimum with a scalar
SCALAR_GRAD = {"_maximum_scalar_grad": ">=", "_minimum_scalar_grad": "<="}

REDUCTIONS = ("sum", "mean", "max", "min", "amax", "amin")
PRODUCTS = ("dot", "matmul", "_matmul_t")
# operators that only move or copy elements
MOVES = ("reshape", "broadcast_to", "astype", "transpose", "split", "concatenate", "where",
         "ones_like", "zeros_like", "copy")
