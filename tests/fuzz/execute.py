"""Running programs in eager, lazy and @jit mode, and the NumPy oracle.

Each call is judged on the values the mode itself produced: MinPy's operands are
converted to NumPy, the same call runs in NumPy, and the results are compared. So a
wrong value is reported once, at the call that made it, and does not spoil the
calls after it.

The oracle knows exactly the differences that docs/differences.md documents:

* the float32 demotion rule: a result NumPy makes float64 is float32 unless an array
  operand is float64 or the call asked for ``dtype="float64"`` (``astype`` and
  creation functions included);
* reductions return 0-d arrays, not NumPy scalars;
* ``np.empty``/``empty_like`` values are arbitrary (only shape and dtype are judged);
* the kind rule: a Python number or 0-d array operand of a ufunc or array operator
  counts by its kind, not its value (``uint8_array - 1`` is uint8; see
  :func:`kind_rule_step`), where NumPy 1.x widens by value;
* inside @jit, a float value written into one element of an integer array is checked
  for NaN/infinity only when it is an argument (on every call; :func:`_unchecked_jit_write`).
"""
from __future__ import annotations

import random
import re
import warnings
from typing import Any, Callable, Optional

import numpy as onp

from .program import host_array, refs, resolve, run_step, step_label, step_refs

RTOL = {"float16": 1e-3, "float32": 2e-5, "float64": 1e-7}
# functions whose float32 result amplifies rounding of the argument (large |x| in exp,
# powers): judged at 10x the tolerance
LOOSE = {"power", "x**y", "x**=y", "exp", "exp2", "expm1", "cosh", "sinh", "tan", "prod",
         "cumprod", "x.prod", "x.cumprod", "logaddexp", "logaddexp2", "var", "std", "x.var",
         "x.std", "einsum", "arccosh", "arctanh", "sinc", "hypot", "cbrt"}
NO_VALUES = {"empty", "empty_like"}
WARN_FILTER = ("ignore",)


class Failure(dict):
    """One judged call that went wrong: kind, label, dtypes, detail, and where."""


def _builtin_class(e: BaseException) -> type:
    """The class a MinPy error must be an instance of: NumPy's AxisError (documented), or
    the nearest built-in class of NumPy's exception (UFuncTypeError -> TypeError)."""
    if isinstance(e, onp.AxisError):
        return onp.AxisError
    for c in type(e).__mro__:
        if c.__module__ == "builtins":
            return c
    return Exception


def _asked64(step: dict) -> bool:
    def has(spec):
        if spec in ("float64", "f8", "double"):
            return True
        if isinstance(spec, dict):
            return any(has(s) for k in ("t", "l") for s in spec.get(k, ()))
        return False
    return any(has(s) for s in step.get("args", ())) or \
        any(has(s) for s in step.get("kw", {}).values())


def operand_dtypes(step: dict, pool_np: list) -> list[str]:
    """Dtypes of the array operands (and kinds of scalar ones), for bucketing."""
    out = []
    if step["k"] == "input":
        return [step["in"]["dt"]]
    for s in step.get("args", []) + list(step.get("kw", {}).values()):
        if isinstance(s, dict):
            for r in refs(s):
                v = pool_np[r]
                out.append(str(v.dtype) if hasattr(v, "dtype") else type(v).__name__)
        elif isinstance(s, bool):
            out.append("bool_py")
        elif isinstance(s, int):
            out.append("int_py")
        elif isinstance(s, float):
            out.append("float_py")
    return out


# docs/differences.md, "Dtypes, integers and special values": integer dtypes MXNet has
# no arrays of are held in the next wider one it has
HELD = {onp.dtype(k): onp.dtype(v) for k, v in (("uint16", "int32"), ("int16", "int32"),
                                              ("uint32", "int64"), ("uint64", "int64"))}


def expected_dtype(step: dict, ref: onp.ndarray, pool_np: list) -> onp.dtype:
    """NumPy's result dtype after MinPy's documented float32 demotion and held dtypes."""
    if ref.dtype in HELD:
        return HELD[ref.dtype]
    if ref.dtype != onp.float64:
        return ref.dtype
    if step["k"] == "input":
        return ref.dtype
    if _asked64(step):
        return ref.dtype
    if step["k"] in ("setitem", "iop"):
        # the step writes into a copy of its target; a Python float target (NumPy's
        # count_nonzero gives an int, and 0.001 - 0 a float) is copied as np.array of
        # it: float32 in MinPy (docs/differences.md), whatever the written value's dtype
        spec = step["args"][0]
        if isinstance(spec, dict) and "v" in spec and type(pool_np[spec["v"]]) is float:
            return onp.dtype("float32")
    for r in step_refs(step):
        v = pool_np[r]
        if getattr(v, "dtype", None) == onp.float64:
            return ref.dtype
    return onp.dtype("float32")


def _scale(step: dict, pool_np: list, out_size: int) -> tuple[float, float]:
    """(largest finite operand magnitude, contraction factor) for the absolute tolerance."""
    m, n_in = 0.0, 0
    for r in step_refs(step):
        v = onp.asarray(pool_np[r])
        n_in += v.size
        if v.size and v.dtype.kind in "fiub":
            f = onp.abs(v.astype("float64"))
            f = f[onp.isfinite(f)]
            if f.size:
                m = max(m, float(f.max()))
    k = max(1.0, (n_in / max(out_size, 1)) ** 0.5)
    return m, k


def compare(step: dict, ref: Any, got: Any, pool_np: list) -> Optional[tuple[str, str]]:
    """None when ``got`` (a MinPy result) matches NumPy's ``ref``; else (kind, detail)."""
    from minpy import Array
    if isinstance(ref, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(ref):
            return "shape", f"NumPy gives {len(ref)} arrays, MinPy {type(got).__name__} " \
                f"of {len(got) if isinstance(got, (list, tuple)) else '-'}"
        for i, (r, g) in enumerate(zip(ref, got)):
            bad = compare(step, r, g, pool_np)
            if bad:
                return bad[0], f"output {i}: {bad[1]}"
        return None
    if isinstance(ref, (int, float, bool)) and not isinstance(ref, onp.generic):
        # NumPy returns a Python number (count_nonzero with axis=None): so may MinPy
        if isinstance(got, Array):
            got = got.asnumpy()
        if isinstance(got, (int, float, bool, onp.generic, onp.ndarray)) and \
                onp.ndim(got) == 0 and (got == ref or (got != got and ref != ref)):
            return None
        return "value", f"MinPy {got!r}, NumPy {ref!r}"
    if not isinstance(got, Array):
        return "type", f"MinPy returns {type(got).__name__}, expected a MinPy array"
    ref = onp.asarray(ref)
    meta_shape, meta_dtype = got.shape, got.dtype
    g = got.asnumpy()
    if tuple(meta_shape) != g.shape:
        return "shape", f".shape says {tuple(meta_shape)}, the data has shape {g.shape}"
    if onp.dtype(meta_dtype) != g.dtype:
        return "dtype", f".dtype says {meta_dtype}, the data has {g.dtype}"
    if ref.shape != g.shape:
        return "shape", f"shape {g.shape}, NumPy {ref.shape}"
    want = expected_dtype(step, ref, pool_np)
    if g.dtype != want:
        return "dtype", f"dtype {g.dtype}, NumPy {ref.dtype}" + \
            (f" (demoted: {want})" if want != ref.dtype else "")
    if step_label(step) in NO_VALUES or g.size == 0:
        return None
    if step_label(step) in ("argsort", "x.argsort") and _same_order(step, pool_np, ref, g):
        return None       # ties may come in either order: both are valid sorts
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        r = ref.astype(want)
    if want.kind not in "fc":
        if not onp.array_equal(r, g):
            return "value", _diff(r, g)
        return None
    rn, gn = onp.isnan(r), onp.isnan(g)
    if not onp.array_equal(rn, gn):
        return "value", "NaN positions differ: " + _diff(r, g)
    ri, gi = onp.isinf(r), onp.isinf(g)
    if not onp.array_equal(ri, gi) or not onp.array_equal(r[ri], g[gi]):
        return "value", "inf positions/signs differ: " + _diff(r, g)
    fin = ~(rn | ri)
    if fin.any():
        rtol = RTOL.get(want.name, 2e-5)
        if step_label(step) in LOOSE:
            rtol *= 10
        m, k = _scale(step, pool_np, g.size)
        r64, g64 = r[fin].astype("float64"), g[fin].astype("float64")
        tol = rtol * k * (onp.abs(r64) + m)
        if not (onp.abs(r64 - g64) <= tol).all():
            return "value", _diff(r, g)
    return None


# docs/differences.md, "Products with NaN or inf": zero times NaN or inf is NaN in every
# product, as IEEE arithmetic and np.matmul give; NumPy's dot (and tensordot, inner,
# which call it) scales by a 0-d or 1x1 operand with BLAS, which gives 0 there instead
PRODUCTS = {"dot", "x.dot", "tensordot", "inner", "vdot"}


def ieee_product(step: dict, pool_np: list, absolute: bool = False) -> Optional[onp.ndarray]:
    """The product ``step`` computes, without BLAS shortcuts (einsum sums every
    product), in NumPy's result dtype; None where it does not apply. ``absolute``: the
    sum of the terms' magnitudes instead, in float64."""
    label = step_label(step)
    if label not in PRODUCTS:
        return None
    args = [resolve(a, pool_np, onp) for a in step.get("args", ())]
    kw = {k: resolve(v, pool_np, onp) for k, v in step.get("kw", {}).items()}
    if len(args) < 2:
        return None
    a, b = onp.asarray(args[0]), onp.asarray(args[1])
    letters = "abcdefghijklmnopqrstuvwxyz"
    if label == "vdot":
        a, b = a.ravel(), b.ravel()
    if a.ndim == 0 or b.ndim == 0:
        spec = None
    elif label == "tensordot":
        axes = kw.get("axes", args[2] if len(args) > 2 else 2)
        if isinstance(axes, int):
            aa, ba = list(range(a.ndim - axes, a.ndim)), list(range(axes))
        else:
            aa, ba = [list(x) if isinstance(x, (list, tuple)) else [x] for x in axes]
        aa = [x % a.ndim for x in aa]
        ba = [x % b.ndim for x in ba]
        la = list(letters[:a.ndim])
        lb = list(letters[a.ndim:a.ndim + b.ndim])
        for i, j in zip(aa, ba):
            lb[j] = la[i]
        out = [la[i] for i in range(a.ndim) if i not in aa] + \
            [lb[j] for j in range(b.ndim) if j not in ba]
        spec = f"{''.join(la)},{''.join(lb)}->{''.join(out)}"
    else:
        la = list(letters[:a.ndim])
        lb = list(letters[a.ndim:a.ndim + b.ndim])
        k = b.ndim - 1 if label == "inner" or b.ndim == 1 else b.ndim - 2
        lb[k] = la[-1]
        spec = f"{''.join(la)},{''.join(lb)}->{''.join(la[:-1] + lb[:k] + lb[k + 1:])}"
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            dt = onp.result_type(a.dtype, b.dtype)     # a product's dtype, not by value
            if absolute:
                dt = onp.dtype("float64")
                a, b = onp.abs(a.astype(dt)), onp.abs(b.astype(dt))
            if spec is None:
                r = onp.multiply(a, b)
            else:
                r = onp.einsum(spec, a.astype(dt), b.astype(dt))
            return onp.asarray(r).astype(dt)
        except Exception:     # noqa: BLE001 - NumPy's own answer stands
            return None


# every product whose elements are sums of terms (the overflow rule below)
SUMMED_PRODUCTS = PRODUCTS | {"matmul", "x@y", "einsum"}


def _term_magnitudes(step: dict, pool_np: list) -> Optional[onp.ndarray]:
    """The sum of the magnitudes of each element's terms, in float64."""
    label = step_label(step)
    if label in PRODUCTS:
        return ieee_product(step, pool_np, absolute=True)
    args = [resolve(a, pool_np, onp) for a in step.get("args", ())]
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            if label == "einsum":
                return onp.asarray(onp.einsum(args[0], *[onp.abs(onp.asarray(x, "float64"))
                                                         for x in args[1:]]))
            a, b = (onp.abs(onp.asarray(x, "float64")) for x in args[:2])
            return onp.asarray(onp.matmul(a, b))
        except Exception:     # noqa: BLE001 - no rule applies
            return None


def _overflow_agrees(step: dict, pool_np: list, ref: onp.ndarray, got) -> bool:
    """docs/differences.md, "Products with NaN or inf": where the terms of a float
    product reach beyond the dtype's range, its BLAS's order and fused multiply-adds
    decide between inf and NaN (NumPy's own answer depends on its BLAS build). True
    when ``got`` matches ``ref`` once such elements, non-finite in both, are set aside."""
    from minpy import numpy as mnp
    g = got.asnumpy() if hasattr(got, "asnumpy") else None
    if g is None or g.dtype.kind != "f" or onp.shape(ref) != g.shape:
        return False
    mag = _term_magnitudes(step, pool_np)
    if mag is None or mag.shape != g.shape:
        return False
    r = onp.array(ref, dtype=g.dtype)
    moot = (mag > onp.finfo(g.dtype).max) & ~onp.isfinite(r) & ~onp.isfinite(g)
    if not moot.any():
        return False
    r[moot] = 0
    g = g.copy()
    g[moot] = 0
    return compare(step, r, mnp.array(g, dtype=g.dtype), pool_np) is None


def _same_order(step: dict, pool_np: list, ref: onp.ndarray, got: onp.ndarray) -> bool:
    """Whether ``got`` sorts the operand as NumPy's ``ref`` does: the values it picks
    equal those ``ref`` picks (NaN last) and each lane is a permutation."""
    from .program import resolve
    args = [resolve(a, pool_np, onp) for a in step.get("args", ())]
    kw = {k: resolve(v, pool_np, onp) for k, v in step.get("kw", {}).items()}
    x = onp.asarray(args[0])
    axis = kw.get("axis", args[1] if len(args) > 1 else -1)
    if axis is None:
        x, axis = x.ravel(), 0
    if x.ndim == 0:
        return False
    try:
        pick_r = onp.take_along_axis(x, ref, axis)
        pick_g = onp.take_along_axis(x, got.astype(ref.dtype), axis)
    except (IndexError, ValueError):
        return False
    lanes = onp.sort(onp.moveaxis(got, axis, -1), axis=-1)
    perm = onp.arange(x.shape[axis])
    return bool(onp.array_equal(pick_r, pick_g, equal_nan=pick_r.dtype.kind == "f")
                and (lanes == perm).all())


def _diff(r: onp.ndarray, g: onp.ndarray) -> str:
    with onp.printoptions(precision=8, threshold=12, edgeitems=3):
        return f"MinPy {g.ravel()!r}, NumPy {r.ravel()!r}"


# docs/differences.md, "Dtypes, integers and special values": a Python number or a 0-d
# array operand counts by its kind, not its value (``uint8_array - 1`` stays uint8 and
# wraps around, where NumPy 1.x widens to int16). Encoded for ufuncs and the array
# operators: such an operand is first cast to the common dtype NumPy finds for zeros of
# the same types, so NumPy computes in that dtype too. Comparisons compare the values.
_OPERATOR_UFUNC = {"+": "add", "-": "subtract", "*": "multiply", "/": "true_divide",
                   "//": "floor_divide", "%": "remainder", "**": "power",
                   "&": "bitwise_and", "|": "bitwise_or", "^": "bitwise_xor"}


def _by_kind(v: Any) -> bool:
    if type(v) is int or type(v) is float:
        return True
    return isinstance(v, (onp.ndarray, onp.generic)) and onp.ndim(v) == 0


def _zero_like(v: Any) -> Any:
    if type(v) is int or type(v) is float:
        return type(v)(0)
    return onp.zeros((), onp.asarray(v).dtype)


def _gathers(vals) -> bool:
    """Whether a ufunc on these operands computes any element (NumPy's loop checks,
    such as a negative integer exponent, run per element)."""
    try:
        return bool(onp.broadcast(*[onp.asarray(v) for v in vals]).size)
    except ValueError:
        return True


def kind_rule_step(step: dict, pool_np: list) -> Optional[tuple[dict, list, Optional[Exception]]]:
    """The step NumPy must run under MinPy's documented kind rule, as (step, pool,
    error): ``step`` reads its by-kind operands, cast, from ``pool``; ``error`` is the
    error MinPy raises instead (a negative integer exponent, which MinPy checks as
    NumPy does). None where the rule changes nothing."""
    k = step["k"]
    if k in ("binop", "iop"):
        name = _OPERATOR_UFUNC.get(step["name"].rstrip("=") if k == "iop" else step["name"])
        nin = 2
    elif k == "call":
        name, nin = step["name"], getattr(getattr(onp, step["name"], None), "nin", 0)
    else:
        return None
    uf = getattr(onp, name or "", None)
    if not isinstance(uf, onp.ufunc) or _bool_result(uf):
        return None      # not a ufunc, or a comparison (or logical function): NumPy's rule
    specs = step.get("args", [])[:nin]
    vals = [resolve(a, pool_np, onp) for a in specs]
    # the target of an in-place operator keeps its dtype: it is the output
    weak = [i for i, v in enumerate(vals) if _by_kind(v) and not (k == "iop" and i == 0)]
    if not weak or not any(isinstance(v, onp.ndarray) and v.ndim > 0 for v in vals):
        return None
    try:
        common = onp.result_type(*[_zero_like(v) if i in weak else v for i, v in enumerate(vals)])
    except TypeError:
        return None
    if name == "power" and common.kind in "iu" and _gathers(vals) and any(
            onp.asarray(vals[i]).dtype.kind in "iu" and (onp.asarray(vals[i]) < 0).any()
            for i in weak if i == 1):
        if k == "iop" and not onp.can_cast(common, onp.asarray(vals[0]).dtype, "same_kind"):
            return None      # NumPy checks the cast into the target first (bool **= -2)
        return step, pool_np, ValueError("Integers to negative integer powers are not allowed.")
    pool = list(pool_np)
    args = list(step["args"])
    with onp.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = uf(*[onp.zeros(1, common)] * uf.nin)
            out = (out[0] if isinstance(out, tuple) else out).dtype
        except (TypeError, ValueError):
            # no loop for the common dtype (``ldexp(float16_array, 1)``, whose operands
            # have different roles): NumPy's own rule, as minpy's ``_kind_rule`` leaves it
            return None
        for i in weak:
            if onp.asarray(vals[i]).dtype.kind == "b" or \
                    (common.kind in "iub" and onp.asarray(vals[i]).dtype.kind == "f"):
                continue     # no kind change (bools; floats NumPy rejects for ints)
            # a float result of integers: a Python int or 0-d integer array keeps its
            # value, in that float type
            to = out if out.kind == "f" and common.kind in "iu" and \
                onp.asarray(vals[i]).dtype.kind in "iu" else common
            args[i] = {"v": len(pool)}
            pool.append(onp.asarray(vals[i]).astype(to))
    return dict(step, args=args), pool, None


def _bool_result(uf: onp.ufunc) -> bool:
    """A comparison or logical function: every numeric loop gives bool (their object
    loop 'OO->O' is no numeric result)."""
    return all(t.endswith("?") for t in uf.types if "O" not in t)


def _exact_comparison(step: dict, pool_np: list) -> Optional[tuple[dict, list]]:
    """docs/differences.md: a comparison of a 0-d array with an n-d one compares the
    values in their common dtype, as NumPy 2 does; NumPy 1.x first rounds the 0-d value
    to the array's dtype (a 0-d float64 2.73 != a float32 array's 2.73: True in MinPy,
    False in NumPy 1.x). The (step, pool) NumPy runs for it, or None."""
    from .report import OPERATORS
    k = step["k"]
    name = OPERATORS.get(step["name"]) if k == "binop" else step["name"] if k == "call" else ""
    uf = getattr(onp, name or "", None)
    if not isinstance(uf, onp.ufunc) or uf.nin != 2 or not _bool_result(uf):
        return None
    vals = [resolve(a, pool_np, onp) for a in step["args"][:2]]
    arrs = [v for v in vals if isinstance(v, onp.ndarray)]
    if not any(v.ndim == 0 for v in arrs) or not any(v.ndim > 0 for v in arrs):
        return None
    common = onp.result_type(*[v.dtype for v in arrs])
    pool, args = list(pool_np), list(step["args"])
    for i, v in enumerate(vals):
        if isinstance(v, onp.ndarray) and v.dtype != common:
            args[i] = {"v": len(pool)}
            pool.append(v.astype(common))
    return dict(step, args=args), pool


def _unbroadcastable_comparison(step: dict, pool_np: list) -> Optional[Exception]:
    """docs/differences.md: ``==``/``!=`` of arrays whose shapes do not broadcast raise
    ValueError, as in NumPy 1.25+ (NumPy 1.x returns False with a DeprecationWarning)."""
    if step["k"] != "binop" or step["name"] not in ("==", "!="):
        return None
    a, b = (onp.shape(resolve(s, pool_np, onp)) for s in step["args"][:2])
    try:
        onp.broadcast_shapes(a, b)
    except ValueError as e:
        return e
    return None


# Selections and bounds (no arithmetic on the by-kind operand): the kind rule gives the
# dtype, and NumPy's values are cast to it (``np.where(m, 300, uint8_array)`` is uint8,
# 300 wrapping to 44; ``np.clip(uint8_array, -1, 2)`` is uint8 with NumPy's values)
_KIND_RULE_RESULT = {"where", "clip", "x.clip", "concatenate"}


def _concat_kind_dtype(step: dict, pool_np: list) -> Optional[onp.dtype]:
    """``concatenate(..., axis=None)`` of 0-d arrays beside n-d ones: NumPy's dtype with
    the 0-d arrays taken as zeros (docs/differences.md), where NumPy reads their values
    (an int64 0-d 2**63-1 with a float16 array is float64 there)."""
    seq = step["args"][0] if step.get("args") else None
    if not isinstance(seq, dict) or "l" not in seq:
        return None
    vals = [resolve(s, pool_np, onp) for s in seq["l"]]
    if not any(_by_kind(v) for v in vals) or not any(onp.ndim(v) > 0 for v in vals):
        return None
    try:
        return onp.concatenate([_zero_like(v) if _by_kind(v) else v for v in vals],
                               axis=None).dtype
    except Exception:     # noqa: BLE001 - NumPy's own answer stands
        return None


def _kind_rule_dtype(step: dict, pool_np: list) -> Optional[onp.dtype]:
    """The result dtype under the kind rule (by-kind operands taken as zeros), where a
    by-kind operand meets an array of one or more dimensions; else None."""
    if step_label(step) not in _KIND_RULE_RESULT:
        return None
    if step_label(step) == "concatenate":
        return _concat_kind_dtype(step, pool_np)
    specs = list(step.get("args", ())) + list(step.get("kw", {}).values())
    vals = [resolve(a, pool_np, onp) for a in specs]
    weak = [i for i, v in enumerate(vals) if _by_kind(v)]
    if not weak or not any(isinstance(v, onp.ndarray) and v.ndim > 0 for v in vals):
        return None
    pool = list(pool_np)
    args = list(step.get("args", ()))
    kw = dict(step.get("kw", {}))
    keys = list(kw)
    for i in weak:
        spec = {"v": len(pool)}
        pool.append(_zero_like(vals[i]))
        if i < len(args):
            args[i] = spec
        else:
            kw[keys[i - len(args)]] = spec
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return onp.asarray(run_step(dict(step, args=args, kw=kw), pool, onp)).dtype
        except Exception:     # noqa: BLE001 - NumPy's own answer stands
            return None


def numpy_ref(step: dict, pool_np: list) -> tuple[Any, Optional[BaseException]]:
    r, e = _numpy_ref(step, pool_np)
    if e is None and isinstance(r, onp.ndarray):
        dt = _kind_rule_dtype(step, pool_np)
        if dt is not None and dt != r.dtype:
            with warnings.catch_warnings(), onp.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                r = r.astype(dt)
    return r, e


def _numpy_ref(step: dict, pool_np: list) -> tuple[Any, Optional[BaseException]]:
    if step["k"] == "binop" and step["name"] == "**" and \
            isinstance(resolve(step["args"][1], pool_np, onp), onp.ndarray) and \
            onp.ndim(resolve(step["args"][1], pool_np, onp)) == 0:
        # docs/differences.md: a 0-d array exponent is never read for NumPy's ``**``
        # shortcuts (its value would decide the dtype): np.power
        step = dict(step, k="call", name="power")
    if step["k"] == "iop" and step["name"] == "**=":
        e = resolve(step["args"][1], pool_np, onp)
        if isinstance(e, onp.ndarray) and e.ndim == 0:
            # the same for ``x **= e`` (NumPy squares an integer x in place when the
            # 0-d e holds 2.0): np.power into x, which checks the cast into x's dtype
            x = onp.array(resolve(step["args"][0], pool_np, onp))
            with warnings.catch_warnings(), onp.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                try:
                    onp.power(x, e, out=x)
                except Exception as ex:     # noqa: BLE001 - NumPy's error is the reference
                    return None, ex
            return x, None
    bad = _unbroadcastable_comparison(step, pool_np)
    if bad is not None:
        return None, bad
    exact = _exact_comparison(step, pool_np)
    if exact is not None:
        step, pool_np = exact
    ruled = kind_rule_step(step, pool_np)
    if ruled is not None:
        if ruled[2] is not None:
            return None, ruled[2]
        step, pool_np = ruled[0], ruled[1]
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            r = run_step(step, pool_np, onp)
            if step["k"] == "input":
                r = host_array(step["in"])
            return r, None
        except Exception as e:      # noqa: BLE001 - any NumPy error is an expectation
            return None, e


def to_np(x: Any) -> Any:
    from minpy import Array
    if isinstance(x, Array):
        return x.asnumpy()
    if isinstance(x, (list, tuple)):
        return type(x)(to_np(v) for v in x)
    return x


def judge(step: dict, pool_np: list, got: Any, exc: Optional[BaseException],
          data: str = "data") -> Optional[Failure]:
    """Judge one call; ``pool_np`` holds NumPy copies of MinPy's operand values."""
    if step["k"] == "input":
        d = step["in"]
        ref, nexc = host_array(d, data), None
    else:
        ref, nexc = numpy_ref(step, pool_np)
    label = step_label(step)
    if label == "input":
        label = "array"
    dts = ",".join(operand_dtypes(step, pool_np))
    if nexc is not None:
        want = _builtin_class(nexc)
        if exc is None:
            # the error may only show when the value is read
            try:
                to_np(got)
            except Exception as e:    # noqa: BLE001
                exc = e
        if exc is None:
            return Failure(kind="missing_error", label=label, dtypes=dts,
                           detail=f"NumPy raises {type(nexc).__name__}: {str(nexc)[:200]}")
        if not isinstance(exc, want):
            return Failure(kind="error_class", label=label, dtypes=dts,
                           detail=f"MinPy raises {type(exc).__name__}: {_msg(exc)}; NumPy "
                           f"raises {type(nexc).__name__}: {str(nexc)[:160]}")
        return None
    if exc is None:
        try:
            bad = compare(step, ref, got, pool_np)
        except Exception as e:    # noqa: BLE001 - reading the value failed
            exc = e
        else:
            if bad is None:
                return None
            if bad[0] == "value" and label in SUMMED_PRODUCTS:
                alt = ieee_product(step, pool_np)
                if alt is not None and alt.shape == onp.shape(ref) and \
                        compare(step, alt, got, pool_np) is None or \
                        _overflow_agrees(step, pool_np, ref, got):
                    return None
            return Failure(kind=bad[0], label=label, dtypes=dts, detail=bad[1])
    leak = _LEAK.search(str(exc))
    if leak and leak.group(1) not in _own_names(step):
        # another call's error reached this array (one failure poisoning its graph)
        return Failure(kind="unexpected_exception", label=f"error of {leak.group(1)} leaked",
                       dtypes="", detail=f"{type(exc).__name__}: {_msg(exc)}")
    return Failure(kind="unexpected_exception", label=label, dtypes=dts,
                   detail=f"{type(exc).__name__}: {_msg(exc)}")


_LEAK = re.compile(r"minpy\.numpy\.(\w+) \(recorded at")


def _own_names(step: dict) -> set:
    from .report import op_name
    names = {step.get("name"), op_name(step_label(step))}
    if step["k"] in ("getitem", "setitem"):
        names |= {"_getitem", "_setitem", "getitem", "setitem"}
    if step["k"] == "iop":
        names.add("astype")
    return names


def _msg(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    s = [x for x in s if x.strip() and not x.startswith("Stack trace")]
    return (" ".join(s[:3]))[:300]


# ----------------------------------------------------------------------------- modes

class Progress:
    """Where the worker is, written before each step so a crash can be located."""

    def __init__(self, fh=None) -> None:
        self.fh = fh

    def __call__(self, what: str) -> None:
        if self.fh is not None:
            self.fh.write(what + "\n")
            self.fh.flush()


def _np_operands(step: dict, pool: list) -> list:
    """A pool of NumPy copies of the operands ``step`` reads (others None)."""
    out: list = [None] * len(pool)
    for r in step_refs(step):
        out[r] = to_np(pool[r])
    return out


def _runnable(step: dict, pool: list, failed: set) -> bool:
    return not any(r in failed for r in step_refs(step))


def _push(pool: list, step: dict, out: Any, failed: set) -> None:
    n = step.get("nout", 1)
    multi = step.get("multi") or n > 1
    if out is None or (multi and not (isinstance(out, (list, tuple)) and len(out) == n)):
        for _ in range(n):
            failed.add(len(pool))
            pool.append(None)
        return
    if multi:
        pool.extend(out)
    else:
        pool.append(out)


def _where(f: Failure, i: int, step: dict, mode: str, call: int = 1) -> Failure:
    f.update(step=i, mode=mode, call=call)
    return f


def _attempt(step: dict, pool: list, mnp) -> tuple[Any, Optional[BaseException]]:
    """(result, None) or (None, the exception) of one step in MinPy, warnings silenced."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run_step(step, pool, mnp), None
    except Exception as e:    # noqa: BLE001 - any MinPy error is judged against NumPy
        return None, e


def _judged(i: int, step: dict, pool: list, out: Any, exc, mode: str, call: int = 1,
            data: str = "data") -> Optional[Failure]:
    """Step ``i`` judged on the operand values ``pool`` holds; None when it is clean or an
    operand cannot be read (that operand's own step was judged already)."""
    try:
        pnp = _np_operands(step, pool)
    except Exception:     # noqa: BLE001
        return None
    f = judge(step, pnp, out, exc, data)
    if f:
        f["_pnp"] = pnp
        _where(f, i, step, mode, call)
    return f


def run_eager(prog: dict, progress: Progress, seed: int = 0) -> list[Failure]:
    import minpy.numpy as mnp
    fails: list[Failure] = []
    pool: list = []
    failed: set = set()
    for i, step in enumerate(prog["steps"]):
        if not _runnable(step, pool, failed):
            _push(pool, step, None, failed)
            continue
        progress(f"S {i} {step_label(step)}")
        out, exc = _attempt(step, pool, mnp)
        f = _judged(i, step, pool, out, exc, "eager")
        if f:
            fails.append(f)
            out = None if f["kind"] in ("unexpected_exception",) else out
        _push(pool, step, None if exc else out, failed)
    return fails


def run_lazy(prog: dict, progress: Progress, seed: int = 0) -> list[Failure]:
    import minpy
    import minpy.numpy as mnp
    rng = random.Random(f"lazy:{seed}:{prog.get('index')}")
    fails: list[Failure] = []
    pool: list = []
    failed: set = set()
    pending: list = []

    def judge_pending():
        progress("J")
        for i, step, pool_at, out, exc in pending:
            f = _judged(i, step, pool_at, out, exc, "lazy")
            if f:
                fails.append(f)
        pending.clear()

    try:
        _lazy_body(prog, progress, rng, pool, failed, pending, judge_pending, mnp, minpy)
    except Exception as e:    # noqa: BLE001 - leaving the lazy block flushed and failed
        fails.append(Failure(kind="unexpected_exception", label="end of minpy.lazy()",
                             dtypes="", detail=f"{type(e).__name__}: {_msg(e)}", step=-1,
                             mode="lazy", call=1))
    return fails


def _lazy_body(prog, progress, rng, pool, failed, pending, judge_pending, mnp, minpy) -> None:
    with minpy.lazy():
        for i, step in enumerate(prog["steps"]):
            if not _runnable(step, pool, failed):
                _push(pool, step, None, failed)
                continue
            progress(f"S {i} {step_label(step)}")
            out, exc = _attempt(step, pool, mnp)
            pending.append((i, step, list(pool), out, exc))
            _push(pool, step, None if exc else out, failed)
            if rng.random() < 0.08:
                judge_pending()
        judge_pending()


def _unchecked_jit_write(f: Failure, step: dict, steps: list) -> bool:
    """docs/differences.md, "Indexing": inside @jit, writing one element of an integer
    array checks a float value's int() conversion on every call for a value that is
    an argument; a value the traced function computes is cast."""
    if f["kind"] != "missing_error" or step["k"] != "setitem" or \
            "convert float" not in f["detail"] and "sequence" not in f["detail"] and \
            "too large" not in f["detail"]:
        return False
    spec = step["args"][2]
    if not isinstance(spec, dict) or "v" not in spec:
        return False
    at = 0
    for s in steps:
        n = s.get("nout", 1)
        if at <= spec["v"] < at + n:
            return s["k"] != "input"
        at += n
    return False


def run_jit(prog: dict, progress: Progress, seed: int = 0) -> list[Failure]:
    import minpy
    import minpy.numpy as mnp
    steps = prog["steps"]
    errors: dict = {}
    inputs = [s for s in steps if s["k"] == "input"]

    def body(*args):
        it = iter(args)
        pool: list = []
        failed: set = set()
        for i, step in enumerate(steps):
            if step["k"] == "input":
                pool.append(next(it))
                continue
            if not _runnable(step, pool, failed):
                _push(pool, step, None, failed)
                continue
            try:
                out = run_step(step, pool, mnp)
            except Exception as e:    # noqa: BLE001
                errors[i] = e
                out = None
            _push(pool, step, out, failed)
        return pool

    fn = minpy.jit(body)
    fails: list[Failure] = []
    for call, data in ((1, "data"), (2, "data2")):
        errors.clear()
        args = [mnp.array(host_array(s["in"], data), dtype=s["in"]["dt"]) for s in inputs]
        progress(f"C {call}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pool = fn(*args)
        except Exception as e:    # noqa: BLE001 - the call itself failed
            fails.append(Failure(kind="unexpected_exception", label="@jit call", dtypes="",
                                 detail=f"{type(e).__name__}: {_msg(e)}", step=-1,
                                 mode="jit", call=call))
            return fails
        progress(f"J {call}")
        for i, step in enumerate(steps):
            if step["k"] == "input":
                continue
            if any(pool[r] is None for r in step_refs(step)):
                continue
            start = sum(s.get("nout", 1) for s in steps[:i])
            n = step.get("nout", 1)
            if call == 2 and i in first_errors:
                continue    # the body did not run again; its error was judged at call 1
            exc = errors.get(i)
            multi = step.get("multi") or n > 1
            out = None if exc else (pool[start:start + n] if multi else pool[start])
            if exc is None and (out is None or (multi and any(o is None for o in out))):
                continue
            f = _judged(i, step, pool, out, exc, "jit", call, data)
            if f and not _unchecked_jit_write(f, step, steps):
                fails.append(f)
        if call == 1:
            first_errors = set(errors)
    return fails


RUNNERS: dict[str, Callable] = {"eager": run_eager, "lazy": run_lazy, "jit": run_jit}
