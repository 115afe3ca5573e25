"""Transcendental functions in generated kernels.

Where ``mathlib`` (vectorisable implementations with a measured error bound)
covers a function, kernels call it; otherwise they call the C++ standard
library, which is exact to glibc's accuracy but not vectorised.
"""
from __future__ import annotations

try:
    from . import mathlib as _lib
except ImportError:          # not built into this tree
    _lib = None

# MinPy operator -> the C++ standard function (float and double overloads)
_STD = {"exp": "std::exp", "expm1": "std::expm1", "log": "std::log", "log1p": "std::log1p",
        "log2": "std::log2", "log10": "std::log10", "tanh": "std::tanh", "sin": "std::sin",
        "cos": "std::cos", "tan": "std::tan", "arctan": "std::atan", "arcsin": "std::asin",
        "arccos": "std::acos", "sinh": "std::sinh", "cosh": "std::cosh", "exp2": "std::exp2",
        "cbrt": "std::cbrt", "power": "std::pow"}
UNARY = tuple(k for k in _STD if k != "power")


def _vectorised(name: str, ct: str):
    if _lib is None:
        return None
    rec = getattr(_lib, "FUNCS", {}).get(name)
    if rec is None:
        return None
    fn = _field(rec, "f32" if ct == "float" else "f64")
    return fn


def _field(rec, which):
    if isinstance(rec, dict):
        for k in (which, "c_" + which, which + "_name"):
            if k in rec:
                return rec[k]
        return None
    for k in (which, "c_" + which, which + "_name"):
        if hasattr(rec, k):
            return getattr(rec, k)
    return None


def header() -> str:
    return getattr(_lib, "HEADER", "") if _lib is not None else ""


def call(name: str, ct: str, *args) -> str:
    fn = _vectorised(name, ct) or _STD[name]
    return f"{fn}({', '.join(args)})"
