"""Transcendental functions in generated kernels.

Kernels call the vectorisable implementations of ``mathlib`` (error bounds measured
by tests/test_codegen_math.py, docs/fusion-math.md) and, for what it does not cover,
the C++ standard library (glibc: NumPy's own float64 functions, not vectorised).
"""
from __future__ import annotations

from . import mathlib

# MinPy operator -> the C++ standard function (float and double overloads)
_STD = {"exp": "std::exp", "expm1": "std::expm1", "log": "std::log", "log1p": "std::log1p",
        "log2": "std::log2", "log10": "std::log10", "tanh": "std::tanh", "sin": "std::sin",
        "cos": "std::cos", "tan": "std::tan", "arctan": "std::atan", "arcsin": "std::asin",
        "arccos": "std::acos", "sinh": "std::sinh", "cosh": "std::cosh", "exp2": "std::exp2",
        "cbrt": "std::cbrt", "arcsinh": "std::asinh", "arccosh": "std::acosh",
        "arctanh": "std::atanh", "power": "std::pow"}
UNARY = tuple(k for k in _STD if k != "power") + ("nn.sigmoid",)
FLAGS = tuple(mathlib.FLAGS)


def header() -> str:
    return mathlib.HEADER


def call(name: str, ct: str, *args) -> str:
    dtype = "float32" if ct == "float" else "float64"
    expr = mathlib.call(name, dtype, *args)
    if expr is not None:
        return expr
    if name == "nn.sigmoid":
        return f"(({ct})1 / (({ct})1 + std::exp(-{args[0]})))"
    return f"{_STD[name]}({', '.join(args)})"
