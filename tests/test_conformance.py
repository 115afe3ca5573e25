"""Table-driven conformance tests: every MXNet-backed function against NumPy.

Each :class:`Case` names a function, builds host inputs with NumPy and says how
to call it. The checker runs NumPy on the host inputs and MinPy on copies of
them, then requires

* the same values (tolerances suited to float32 results),
* the same shape, and the dtype NumPy gives, except that a float64 result
  becomes float32 unless an input or the ``dtype=`` argument was float64,
* the shapes and dtypes ``minpy.dispatch.call.infer`` predicted, and the real
  MXNet buffer agreeing with the array's metadata,
* under ``prefer_mxnet``/``only_mxnet``, that ``minpy.call_stats()`` shows no
  NumPy fallback (so no MXNet path silently falls back),
* where NumPy raises, that MinPy raises a Python exception too.

``test_every_mxnet_function_is_in_the_table`` fails when a registered MXNet
function has no case, so adding an operator without a test fails CI.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as onp
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import minpy
import minpy.numpy as mnp
from minpy.array import Array
from minpy.dispatch import call as _call
from minpy.dispatch.registry import REGISTRY, mxnet_functions

# every test here runs eagerly and in lazy mode
pytestmark = pytest.mark.usefixtures("minpy_mode")

FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
NUM = FLOATS + INTS
ALL = NUM + ("bool",)
F64 = onp.dtype("float64")
POLICIES = ("prefer_mxnet", "only_numpy", "auto_blacklist", "only_mxnet")

# ----------------------------------------------------------------------------- inputs

DOMAINS = {
    "real": (-3.0, 3.0),
    "pos": (0.1, 3.0),
    "unit": (-0.9, 0.9),
    "ge1": (1.1, 4.0),
    "small": (-2.0, 2.0),
    "nonzero": (-3.0, 3.0),
    "special": (-3.0, 3.0),
    "nonneg": (0.0, 3.0),
}


def gen(rng, shape, dtype, domain="real"):
    """Random host data of ``shape``/``dtype`` inside ``domain``."""
    dt = onp.dtype(dtype)
    shape = tuple(shape)
    if dt.kind == "b":
        return onp.asarray(rng.random(shape) < 0.5)
    lo, hi = DOMAINS[domain]
    if dt.kind == "f":
        a = rng.uniform(lo, hi, shape)
        if domain == "nonzero":
            a = onp.where(onp.abs(a) < 0.25, 1.0, a)
        if domain == "special" and a.size:
            flat = a.reshape(-1)
            for i, v in zip(rng.permutation(a.size)[:3], (onp.nan, onp.inf, -onp.inf)):
                flat[i] = v
        return onp.asarray(a.astype(dt))
    lo_i, hi_i = int(onp.ceil(lo)), int(onp.floor(hi))
    a = rng.integers(lo_i, hi_i + 1, shape)
    if domain == "nonzero":
        a = onp.where(a == 0, 1, a)
    return onp.asarray(a.astype(dt))


def _is_f64(x) -> bool:
    if isinstance(x, onp.ndarray):
        return x.dtype == F64
    if isinstance(x, (list, tuple)):
        return any(_is_f64(v) for v in x)
    return False


def to_minpy(x):
    """Host inputs as MinPy inputs (arrays keep their dtype; containers recurse)."""
    if isinstance(x, onp.ndarray):
        return mnp.array(x, dtype=x.dtype)
    if isinstance(x, list):
        return [to_minpy(v) for v in x]
    if isinstance(x, tuple):
        return tuple(to_minpy(v) for v in x)
    return x


# ----------------------------------------------------------------------------- cases

@dataclass
class Case:
    """One row of the table.

    ``args(rng, dtype)`` returns the host positional arguments. ``call(mod,
    *args, **kwargs)`` runs the function given the module (``numpy`` or
    ``minpy.numpy``); by default ``mod.<name>``. ``op`` is the registry entry
    whose shape inference is checked (default: ``name`` when registered and
    ``call`` is the default). ``values`` is False where values are unspecified
    (``empty``). ``fallback_ok`` allows NumPy entries in the call statistics
    (a method that maps to a NumPy-only function).
    """
    name: str
    args: Callable
    kwargs: dict = field(default_factory=dict)
    dtypes: tuple = FLOATS
    call: Optional[Callable] = None
    tag: str = ""
    op: Optional[str] = None
    values: bool = True
    rtol: Optional[float] = None
    fallback_ok: bool = False
    f64: Optional[Callable] = None   # (host_args, dtype) -> bool, overrides the rule's input test

    @property
    def id(self) -> str:
        return self.name + (f"[{self.tag}]" if self.tag else "")

    def infer_op(self):
        if self.op is not None:
            return self.op
        if self.call is None and self.name in REGISTRY:
            return self.name
        return None


def _getfn(mod, name):
    for part in name.split("."):
        mod = getattr(mod, part)
    return mod


def arrays(*shapes, domain="real", domains=None, dtypes=None):
    """args builder: one array per shape (``dtypes`` overrides the case dtype)."""
    def build(rng, dt):
        doms = domains or (domain,) * len(shapes)
        dts = dtypes or (dt,) * len(shapes)
        return tuple(gen(rng, s, d, dm) for s, d, dm in zip(shapes, dts, doms))
    return build


TABLE: list[Case] = []


def add(*cases):
    TABLE.extend(cases)


# -- unary elementwise ------------------------------------------------------------------

UNARY = {
    "exp": ("real", NUM), "log": ("pos", NUM), "log2": ("pos", NUM), "log10": ("pos", NUM),
    "log1p": ("pos", NUM), "expm1": ("real", NUM), "sqrt": ("nonneg", NUM), "cbrt": ("real", NUM),
    "square": ("real", NUM), "absolute": ("real", NUM), "fabs": ("real", NUM),
    "negative": ("real", NUM), "positive": ("real", NUM), "reciprocal": ("nonzero", NUM),
    "sin": ("real", NUM), "cos": ("real", NUM), "tan": ("unit", NUM), "arcsin": ("unit", NUM),
    "arccos": ("unit", NUM), "arctan": ("real", NUM), "sinh": ("real", NUM),
    "cosh": ("real", NUM), "tanh": ("real", NUM), "arcsinh": ("real", NUM),
    "arccosh": ("ge1", NUM), "arctanh": ("unit", NUM), "deg2rad": ("real", NUM),
    "rad2deg": ("real", NUM), "radians": ("real", NUM), "degrees": ("real", NUM),
    "sign": ("real", NUM), "floor": ("real", NUM), "ceil": ("real", NUM), "rint": ("real", NUM),
    "trunc": ("real", NUM), "fix": ("real", NUM), "exp2": ("real", NUM),
    "isnan": ("special", ALL), "isinf": ("special", ALL), "isfinite": ("special", ALL),
    "logical_not": ("real", ALL), "signbit": ("special", NUM), "isposinf": ("special", NUM),
    "isneginf": ("special", NUM), "invert": ("real", INTS + ("bool",)),
}
for _n, (_dom, _dts) in UNARY.items():
    add(Case(_n, arrays((3, 4), domain=_dom), dtypes=_dts),
        Case(_n, arrays((), domain=_dom), dtypes=_dts[:1] + _dts[2:3], tag="0d"),
        Case(_n, arrays((0, 3), domain=_dom), dtypes=_dts[:1], tag="empty"))
add(Case("absolute", lambda rng, dt: (onp.array([-0.0, 0.0, -1.5, 2.0], dt),), tag="zeros"),
    Case("rint", lambda rng, dt: (onp.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.7], dt),),
         tag="halves"),
    Case("sign", lambda rng, dt: (onp.array([-2.0, -0.0, 0.0, 3.0], dt),), tag="zeros"))
for _n in ("round", "around"):
    add(Case(_n, arrays((3, 4)), dtypes=NUM),
        Case(_n, lambda rng, dt: (onp.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.25], dt),),
             tag="halves"),
        Case(_n, lambda rng, dt: (gen(rng, (3, 4), dt) * 10,), kwargs={"decimals": 1},
             tag="decimals=1"),
        Case(_n, lambda rng, dt: (gen(rng, (3, 4), dt) * 100,), kwargs={"decimals": -1},
             dtypes=NUM, tag="decimals=-1"))

# -- binary elementwise -----------------------------------------------------------------

BINARY = {
    "add": (("real", "real"), ALL), "subtract": (("real", "real"), NUM),
    "multiply": (("real", "real"), ALL), "true_divide": (("real", "nonzero"), NUM),
    "divide": (("real", "nonzero"), NUM), "power": (("pos", "small"), FLOATS),
    "maximum": (("real", "real"), ALL), "minimum": (("real", "real"), ALL),
    "arctan2": (("real", "real"), NUM), "hypot": (("real", "real"), NUM),
    "mod": (("real", "nonzero"), NUM), "remainder": (("real", "nonzero"), NUM),
    "floor_divide": (("real", "nonzero"), NUM), "copysign": (("real", "real"), NUM),
    "equal": (("small", "small"), ALL), "not_equal": (("small", "small"), ALL),
    "less": (("small", "small"), ALL), "less_equal": (("small", "small"), ALL),
    "greater": (("small", "small"), ALL), "greater_equal": (("small", "small"), ALL),
    "logical_and": (("small", "small"), ALL), "logical_or": (("small", "small"), ALL),
    "logical_xor": (("small", "small"), ALL),
    "bitwise_and": (("real", "real"), INTS + ("bool",)),
    "bitwise_or": (("real", "real"), INTS + ("bool",)),
    "bitwise_xor": (("real", "real"), INTS + ("bool",)),
}
BROADCAST = [((3, 4), (3, 4), ""), ((3, 1), (1, 4), "bcast"), ((2, 3, 4), (4,), "bcast3"),
             ((), (3,), "0d"), ((0, 4), (1, 4), "empty")]
MIXED = [("float32", "float64"), ("int32", "float32"), ("int64", "float64"), ("int32", "int64"),
         ("bool", "int32"), ("float64", "int32")]


def _scalar_for(dom, dt):
    return {"nonzero": 2, "small": 1, "pos": 2, "real": 2, "unit": 0}.get(dom, 2) if \
        onp.dtype(dt).kind in "iub" else {"nonzero": 1.5, "small": 0.5, "pos": 1.5}.get(dom, 1.5)


for _n, ((_d1, _d2), _dts) in BINARY.items():
    for _s1, _s2, _tag in BROADCAST:
        add(Case(_n, arrays(_s1, _s2, domains=(_d1, _d2)),
                 dtypes=_dts if _tag in ("", "bcast") else _dts[:1], tag=_tag))
    _int_ok = all(d in _dts for d in ("int32",))
    for _a, _b in MIXED:
        if _a in _dts and _b in _dts or (_a == "bool" and "bool" in _dts):
            if _n.startswith("bitwise") and "f" in (_a[0], _b[0]):
                continue
            add(Case(_n, arrays((3, 4), (4,), domains=(_d1, _d2), dtypes=(_a, _b)),
                     dtypes=(None,), tag=f"{_a}-{_b}"))
    # Python scalars on either side
    add(Case(_n, lambda rng, dt, _d1=_d1, _d2=_d2: (gen(rng, (3, 4), dt, _d1), _scalar_for(_d2, dt)),
             dtypes=_dts, tag="scalar-right"),
        Case(_n, lambda rng, dt, _d1=_d1, _d2=_d2: (_scalar_for(_d1, dt), gen(rng, (3, 4), dt, _d2)),
             dtypes=_dts, tag="scalar-left"))
    if _n not in ("power",) and not _n.startswith("bitwise"):
        add(Case(_n, lambda rng, dt, _d1=_d1, _d2=_d2: (gen(rng, (3, 4), dt, _d1), 1.5 if _d2 != "small" else 0.5),
                 dtypes=INTS, tag="int-floatscalar"))
add(Case("power", arrays((3, 4), (3, 4), domains=("small", "nonneg")), dtypes=INTS, tag="ints"),
    Case("power", lambda rng, dt: (gen(rng, (3, 4), dt, "small"), 2), dtypes=NUM, tag="square"),
    Case("power", lambda rng, dt: (2, gen(rng, (3, 4), dt, "nonneg")), dtypes=NUM, tag="rpow"))

# -- where / clip ---------------------------------------------------------------------
add(Case("where", lambda rng, dt: (gen(rng, (3, 4), "bool"), gen(rng, (3, 4), dt), gen(rng, (3, 4), dt)),
         dtypes=ALL),
    Case("where", lambda rng, dt: (gen(rng, (3, 1), "bool"), gen(rng, (4,), dt), gen(rng, (3, 4), dt)),
         dtypes=NUM, tag="bcast"),
    Case("where", lambda rng, dt: (gen(rng, (3, 4), dt), gen(rng, (3, 4), dt), 0), dtypes=NUM,
         tag="numcond-scalar"),
    Case("where", lambda rng, dt: (gen(rng, (3, 4), "bool"), 1.0, 0.0), dtypes=(None,),
         tag="scalars"),
    Case("where", lambda rng, dt: (gen(rng, (3, 4), "bool"), gen(rng, (3, 4), "int32"),
                                   gen(rng, (3, 4), "float32")), dtypes=(None,), tag="mixed"),
    Case("where", lambda rng, dt: (gen(rng, (0,), "bool"), gen(rng, (0,), dt), 1), tag="empty"))
for _lo, _hi in ((-1, 1), (None, 1), (-1, None), (-1.5, 0.5)):
    add(Case("clip", lambda rng, dt: (gen(rng, (3, 4), dt),), kwargs={"a_min": _lo, "a_max": _hi},
             dtypes=NUM, tag=f"{_lo},{_hi}"))
add(Case("clip", arrays(()), kwargs={"a_min": -1, "a_max": 1}, tag="0d"),
    Case("clip", lambda rng, dt: (gen(rng, (3, 4), dt),), kwargs={"a_min": None, "a_max": None},
         tag="none"))

# -- reductions ---------------------------------------------------------------------------

AXES = [None, 0, 1, -1, (0, 2), (-1, 0), ()]
REDUCE = {"sum": ALL, "mean": NUM + ("bool",), "prod": NUM + ("bool",), "max": NUM + ("bool",),
          "min": NUM + ("bool",), "amax": NUM, "amin": NUM, "var": NUM, "std": NUM,
          "all": ALL, "any": ALL}
for _n, _dts in REDUCE.items():
    for _ax in AXES:
        for _kd in (False, True):
            add(Case(_n, arrays((2, 3, 4), domain="small" if _n == "prod" else "real"),
                     kwargs={"axis": _ax, "keepdims": _kd},
                     dtypes=_dts if (_ax in (None, 1) and not _kd) else _dts[:1],
                     tag=f"axis={_ax},keepdims={_kd}"))
    add(Case(_n, arrays(()), dtypes=_dts[:1] + _dts[2:3], tag="0d"),
        Case(_n, arrays(()), kwargs={"axis": 0}, tag="0d-axis0"),
        Case(_n, arrays((0, 3)), kwargs={"axis": 0}, tag="empty-axis0"),
        Case(_n, arrays((0, 3)), tag="empty-all"),
        Case(_n, arrays((3, 0)), kwargs={"axis": 1, "keepdims": True}, tag="empty-axis1-kd"),
        Case(_n, arrays((2, 3)), kwargs={"axis": 2}, tag="bad-axis"))
# large float sums and means run as a product with ones (minpy/ops/reduction.py):
# leading, trailing and all axes take that path, a middle axis does not
for _n in ("sum", "mean"):
    for _ax in (None, 0, 1, 2, -1, (0, 1), (1, 2)):
        for _kd in (False, True):
            add(Case(_n, arrays((16, 24, 12)), kwargs={"axis": _ax, "keepdims": _kd},
                     dtypes=FLOATS + ("int32",) if _ax == 0 and not _kd else FLOATS[:1],
                     tag=f"large,axis={_ax},keepdims={_kd}"))
for _n in ("sum", "mean", "prod"):
    for _dt in ("float64", "float32", "int64"):
        add(Case(_n, arrays((2, 3), domain="small"), kwargs={"axis": 1, "dtype": _dt},
                 dtypes=("int32", "float32", "bool"), tag=f"dtype={_dt}"))
for _n in ("var", "std"):
    add(Case(_n, arrays((3, 4)), kwargs={"ddof": 1}, dtypes=NUM, tag="ddof=1"),
        Case(_n, arrays((3, 4)), kwargs={"axis": 0, "ddof": 1, "keepdims": True}, tag="ddof-axis"),
        Case(_n, arrays((3, 4)), kwargs={"dtype": "float64"}, dtypes=("float32",), tag="dtype"))
for _n in ("argmax", "argmin"):
    for _ax in (None, 0, 1, -1):
        add(Case(_n, arrays((3, 4, 2)), kwargs={"axis": _ax}, dtypes=NUM + ("bool",),
                 tag=f"axis={_ax}"))
    add(Case(_n, lambda rng, dt: (onp.array([[1, 3, 3], [2, 2, 0]], dt),), kwargs={"axis": 1},
             dtypes=NUM, tag="ties"),
        Case(_n, arrays(()), tag="0d"),
        Case(_n, arrays((0, 3)), kwargs={"axis": 1}, tag="empty-axis1"),
        Case(_n, arrays((0, 3)), tag="empty-raises"))
for _ax in (None, 0, 1, -1):
    add(Case("cumsum", arrays((3, 4)), kwargs={"axis": _ax}, dtypes=ALL, tag=f"axis={_ax}"))
add(Case("cumsum", arrays((3, 4)), kwargs={"axis": 1, "dtype": "float64"}, dtypes=("int32", "float32"),
         tag="dtype=f64"),
    Case("cumsum", arrays((3, 4)), kwargs={"axis": 0, "dtype": "int64"}, dtypes=("int32", "bool"),
         tag="dtype=i64"),
    Case("cumsum", arrays(()), tag="0d"),
    Case("cumsum", arrays((0, 3)), kwargs={"axis": 0}, tag="empty"))

# -- creation -------------------------------------------------------------------------------

for _n in ("zeros", "ones", "empty"):
    _vals = _n != "empty"
    add(Case(_n, lambda rng, dt: ((2, 3),), kwargs=None or {}, dtypes=(None,), values=_vals,
             tag="default-dtype"),
        Case(_n, lambda rng, dt: ((2, 3),), call=functools.partial(
            lambda n, mod, shape, dt=None: getattr(mod, n)(shape, dtype=dt), _n), values=_vals,
            dtypes=ALL, tag="dtype", op=_n),
        Case(_n, lambda rng, dt: (4,), dtypes=(None,), values=_vals, tag="int-shape"),
        Case(_n, lambda rng, dt: ((),), dtypes=(None,), values=_vals, tag="0d"),
        Case(_n, lambda rng, dt: ((0, 3),), dtypes=(None,), values=_vals, tag="empty"),
        Case(_n, lambda rng, dt: ((2, -1),), dtypes=(None,), values=_vals, tag="negative"))
    add(Case(_n + "_like", arrays((2, 3)), dtypes=ALL, values=_vals),
        Case(_n + "_like", arrays((2, 3)), kwargs={"dtype": "float64"}, dtypes=("int32", "float32"),
             values=_vals, tag="dtype=f64"),
        Case(_n + "_like", arrays((2, 3)), kwargs={"dtype": "int32"}, dtypes=("float32",),
             values=_vals, tag="dtype=i32"),
        Case(_n + "_like", arrays(()), values=_vals, tag="0d"))
add(Case("full", lambda rng, dt: ((2, 3), 1.5), dtypes=(None,), tag="float"),
    Case("full", lambda rng, dt: ((2, 3), 7), dtypes=(None,), tag="int"),
    Case("full", lambda rng, dt: ((2, 3), True), dtypes=(None,), tag="bool"),
    Case("full", lambda rng, dt: ((2, 3), 2.5), kwargs={}, call=lambda mod, s, v, dt=None:
         mod.full(s, v, dtype=dt), dtypes=ALL, tag="dtype", op="full"),
    Case("full", lambda rng, dt: ((), 3.0), dtypes=(None,), tag="0d"),
    Case("full", lambda rng, dt: ((2, 2), onp.float32(2.5)), dtypes=(None,), tag="npscalar"),
    Case("full_like", lambda rng, dt: (gen(rng, (2, 3), dt), 2.5), dtypes=ALL, tag="float-fill"),
    Case("full_like", lambda rng, dt: (gen(rng, (2, 3), dt), 3), kwargs={"dtype": "float64"},
         dtypes=("int32",), tag="dtype"))
for _args, _kw, _tag in ((((5,)), {}, "stop"), ((2, 9, 3), {}, "int-step"), ((0.5, 3.0, 0.5), {}, "float"),
                         ((5, 0, -1), {}, "neg-step"), ((0, 5), {"dtype": "float64"}, "dtype=f64"),
                         ((0, 5), {"dtype": "int32"}, "dtype=i32"), ((1, 1), {}, "empty"),
                         ((0, 1, 0.1), {}, "float-step"), ((-3.5,), {}, "neg-stop"),
                         ((0, 10, 3), {"dtype": "float32"}, "dtype=f32")):
    add(Case("arange", lambda rng, dt, _args=_args: _args, kwargs=_kw, dtypes=(None,), tag=_tag))
for _args, _kw, _tag in (((0, 1), {}, "default"), ((0, 1, 5), {}, "num"),
                         ((-2, 3, 7), {"endpoint": False}, "no-endpoint"),
                         ((0, 1, 0), {}, "empty"), ((0, 1, 1), {}, "one"),
                         ((0, 10, 6), {"dtype": "int32"}, "dtype=i32"),
                         ((0, 1, 4), {"dtype": "float64"}, "dtype=f64")):
    add(Case("linspace", lambda rng, dt, _args=_args: _args, kwargs=_kw, dtypes=(None,), tag=_tag))
for _args, _kw, _tag in (((3,), {}, "square"), ((3, 4), {}, "rect"), ((3, 4, 1), {}, "k=1"),
                         ((4, 3, -2), {}, "k=-2"), ((3,), {"dtype": "int32"}, "dtype=i32"),
                         ((2,), {"dtype": "bool"}, "dtype=bool"), ((0,), {}, "empty"),
                         ((3,), {"dtype": "float64"}, "dtype=f64")):
    add(Case("eye", lambda rng, dt, _args=_args: _args, kwargs=_kw, dtypes=(None,), tag=_tag))
for _kw in ({}, {"dtype": "int64"}, {"dtype": "float64"}):
    add(Case("identity", lambda rng, dt: (3,), kwargs=_kw, dtypes=(None,), tag=str(_kw)))

# -- shape manipulation ---------------------------------------------------------------------

for _shape, _tag in (((4, 6), "tuple"), ((-1,), "-1"), (24, "int"), ((2, -1, 3), "infer"),
                     ((4, 3, 2), "3d"), ((2, 5), "bad")):
    add(Case("reshape", lambda rng, dt, _s=_shape: (gen(rng, (2, 3, 4), dt), _s), dtypes=ALL
             if _tag == "tuple" else FLOATS[:1], tag=_tag))
add(Case("reshape", lambda rng, dt: (gen(rng, (), dt), (1, 1)), tag="0d"),
    Case("reshape", lambda rng, dt: (gen(rng, (0, 3), dt), (3, 0)), tag="empty"),
    Case("reshape", lambda rng, dt: (gen(rng, (1,), dt), ()), tag="to-0d"),
    Case("ravel", arrays((2, 3, 4)), dtypes=ALL), Case("ravel", arrays(()), tag="0d"),
    Case("ravel", arrays((0, 2)), tag="empty"))
for _ax in (None, 0, -1, (0, 2)):
    add(Case("squeeze", arrays((1, 3, 1)), kwargs={"axis": _ax}, dtypes=ALL if _ax is None else
             FLOATS[:1], tag=f"axis={_ax}"))
add(Case("squeeze", arrays((1, 3, 1)), kwargs={"axis": 1}, tag="bad-axis"),
    Case("squeeze", arrays(()), tag="0d"))
for _ax in (0, 1, -1, 3, -4):
    add(Case("expand_dims", arrays((2, 3, 4)), kwargs={"axis": _ax}, dtypes=ALL if _ax == 0
             else FLOATS[:1], tag=f"axis={_ax}"))
add(Case("expand_dims", arrays(()), kwargs={"axis": 0}, tag="0d"),
    Case("expand_dims", arrays((2, 3)), kwargs={"axis": 5}, tag="bad-axis"))
for _n in ("atleast_1d", "atleast_2d"):
    for _s in ((), (3,), (2, 3), (2, 3, 4), (0,)):
        add(Case(_n, arrays(_s), dtypes=ALL if _s == (3,) else FLOATS[:1], tag=str(_s)))
for _axes in (None, (1, 0, 2), (-1, 0, 1), (2, 1, 0)):
    add(Case("transpose", arrays((2, 3, 4)), kwargs={"axes": _axes}, dtypes=ALL if _axes is None
             else FLOATS[:1], tag=f"axes={_axes}"))
add(Case("transpose", arrays(()), tag="0d"), Case("transpose", arrays((3,)), tag="1d"),
    Case("transpose", arrays((0, 3)), tag="empty"))
for _a1, _a2 in ((0, 1), (0, -1), (2, 2)):
    add(Case("swapaxes", arrays((2, 3, 4)), kwargs={"axis1": _a1, "axis2": _a2},
             dtypes=ALL if (_a1, _a2) == (0, 1) else FLOATS[:1], tag=f"{_a1},{_a2}"))
for _src, _dst in ((0, -1), (-1, 0), ((0, 1), (2, 0)), (1, 1)):
    add(Case("moveaxis", arrays((2, 3, 4)), kwargs={"source": _src, "destination": _dst},
             dtypes=ALL if _src == 0 else FLOATS[:1], tag=f"{_src}->{_dst}"))
for _ax in (None, 0, -1, (0, 2)):
    add(Case("flip", arrays((2, 3, 4)), kwargs={"axis": _ax}, dtypes=ALL if _ax is None else
             FLOATS[:1], tag=f"axis={_ax}"))
add(Case("flip", arrays(()), tag="0d"), Case("flip", arrays((0, 3)), kwargs={"axis": 1}, tag="empty"))
for _src, _shape in (((3,), (2, 3)), ((3, 1), (3, 4)), ((), (2, 2)), ((1,), (0,)), ((2, 1), (4, 2, 3)),
                     ((3,), (4,))):
    add(Case("broadcast_to", arrays(_src), kwargs={"shape": _shape}, dtypes=ALL if _src == (3,)
             else FLOATS[:1], tag=f"{_src}->{_shape}"))
for _sh, _ax in ((1, None), (-2, None), (1, 0), (2, -1), ((1, 2), (0, 1)), (5, 1), ((1, -1), (2, 2))):
    add(Case("roll", arrays((2, 3, 4)), kwargs={"shift": _sh, "axis": _ax},
             dtypes=ALL if _ax is None and _sh == 1 else FLOATS[:1], tag=f"shift={_sh},axis={_ax}"))
add(Case("roll", arrays(()), kwargs={"shift": 1}, tag="0d"),
    Case("roll", arrays((0,)), kwargs={"shift": 1}, tag="empty"))


def _seq(*shapes, dtypes=None):
    def build(rng, dt):
        dts = dtypes or (dt,) * len(shapes)
        return ([gen(rng, s, d) for s, d in zip(shapes, dts)],)
    return build


for _ax in (0, 1, -1, None):
    add(Case("concatenate", _seq((2, 3), (4, 3)) if _ax == 0 else _seq((2, 3), (2, 1), (2, 2)),
             kwargs={"axis": _ax}, dtypes=ALL if _ax == 0 else FLOATS[:1], tag=f"axis={_ax}"))
add(Case("concatenate", _seq((2, 3), (2, 3), dtypes=("int32", "float32")), dtypes=(None,), tag="mixed"),
    Case("concatenate", _seq((2, 3), (0, 3)), tag="empty"),
    Case("concatenate", _seq((2, 3), (2, 4)), tag="bad-shapes"),
    Case("concatenate", _seq((3,), ()), kwargs={"axis": None}, tag="0d-axisNone"),
    Case("concatenate", _seq((3,)), tag="single"),
    Case("concatenate", lambda rng, dt: ((gen(rng, (2,), dt), gen(rng, (3,), dt)),), tag="tuple"))
for _ax in (0, 1, -1, 2):
    add(Case("stack", _seq((2, 3), (2, 3), (2, 3)), kwargs={"axis": _ax}, dtypes=ALL if _ax == 0
             else FLOATS[:1], tag=f"axis={_ax}"))
add(Case("stack", _seq((), ()), tag="0d"),
    Case("stack", _seq((2,), (2,), dtypes=("float32", "float64")), dtypes=(None,), tag="mixed"),
    Case("stack", _seq((2,), (3,)), tag="bad-shapes"))
for _n in ("split", "array_split"):
    for _ios, _ax in ((2, 0), (3, 1), ((1, 3), 1), ([1, -1], 0), ((0, 5), 1), ((), 0), (1, -1),
                      ((2, 1), 1)):
        add(Case(_n, lambda rng, dt, _i=_ios: (gen(rng, (4, 6), dt), _i), kwargs={"axis": _ax},
                 dtypes=ALL if (_ios, _ax) == (2, 0) else FLOATS[:1], tag=f"{_ios},axis={_ax}"))
    add(Case(_n, lambda rng, dt: (gen(rng, (0, 4), dt), 2), kwargs={"axis": 1}, tag="empty"))
add(Case("split", lambda rng, dt: (gen(rng, (5, 2), dt), 2), tag="uneven-raises"),
    Case("array_split", lambda rng, dt: (gen(rng, (5, 2), dt), 3), tag="uneven"),
    Case("array_split", lambda rng, dt: (gen(rng, (7,), dt), 3), tag="uneven7"),
    Case("array_split", lambda rng, dt: (gen(rng, (2, 3), dt), 4), kwargs={"axis": 0},
         tag="more-sections"))
for _reps in (2, (2, 1), (1, 2, 2), (0, 2), ()):
    add(Case("tile", lambda rng, dt, _r=_reps: (gen(rng, (2, 3), dt), _r), dtypes=ALL if _reps == 2
             else FLOATS[:1], tag=f"reps={_reps}"))
add(Case("tile", lambda rng, dt: (gen(rng, (), dt), 3), tag="0d"))
for _rep, _ax in ((2, None), (3, 0), (2, -1), (0, 1), ([1, 2], 0), ([1, 0, 2], 1)):
    add(Case("repeat", lambda rng, dt, _r=_rep: (gen(rng, (2, 3), dt), _r), kwargs={"axis": _ax},
             dtypes=ALL if (_rep, _ax) == (2, None) else FLOATS[:1], tag=f"{_rep},axis={_ax}"))
add(Case("repeat", lambda rng, dt: (gen(rng, (), dt), 3), tag="0d"))
for _n in ("sort", "argsort"):
    for _ax in (-1, 0, 1, None):
        add(Case(_n, arrays((3, 4, 2)), kwargs={"axis": _ax}, dtypes=NUM + ("bool",) if _ax == -1
                 else FLOATS[:1], tag=f"axis={_ax}"))
    add(Case(_n, arrays(()), kwargs={"axis": None}, tag="0d"),
        Case(_n, arrays((0, 3)), tag="empty"),
        Case(_n, lambda rng, dt: (onp.array([3, 1, 2, 1, 3, 0], dt),), dtypes=NUM, tag="ties"))
add(Case("take_along_axis", lambda rng, dt: (gen(rng, (3, 4), dt), rng.integers(0, 4, (3, 2))),
         kwargs={"axis": 1}, dtypes=ALL, tag="axis=1"),
    Case("take_along_axis", lambda rng, dt: (gen(rng, (3, 4), dt), rng.integers(0, 3, (2, 4))),
         kwargs={"axis": 0}, tag="axis=0"),
    Case("take_along_axis", lambda rng, dt: (gen(rng, (3, 4), dt), rng.integers(0, 4, (3, 1)).astype("int32")),
         kwargs={"axis": -1}, tag="int32-idx"),
    Case("take_along_axis", lambda rng, dt: (gen(rng, (3, 4), dt), onp.argsort(gen(rng, (3, 4), dt), axis=1)),
         kwargs={"axis": 1}, tag="argsort"),
    Case("take_along_axis", lambda rng, dt: (gen(rng, (3, 4), dt), rng.integers(0, 12, (5,))),
         kwargs={"axis": None}, tag="axis=None"))
for _ax, _ishape, _mode in ((None, (5,), "raise"), (0, (2, 2), "raise"), (1, (3,), "raise"),
                            (-1, (), "raise"), (1, (4,), "clip"), (0, (4,), "wrap")):
    def _take_args(rng, dt, _ax=_ax, _ishape=_ishape, _mode=_mode):
        x = gen(rng, (3, 4), dt)
        n = x.size if _ax is None else x.shape[_ax]
        lo, hi = (-n, n) if _mode == "raise" else (-2 * n, 2 * n)
        return x, onp.asarray(rng.integers(lo, hi, _ishape))
    add(Case("take", _take_args, kwargs={"axis": _ax, "mode": _mode},
             dtypes=ALL if _ax is None else FLOATS[:1], tag=f"axis={_ax},{_mode},{_ishape}"))
add(Case("take", lambda rng, dt: (gen(rng, (3, 4), dt), onp.array([0, 2], "int32")),
         kwargs={"axis": 1}, tag="int32-idx"),
    Case("take", lambda rng, dt: (gen(rng, (3, 4), dt), onp.array([0, 7])), kwargs={"axis": 1},
         tag="out-of-range"),
    Case("take", lambda rng, dt: (gen(rng, (3, 4), dt), [1, 0]), kwargs={"axis": 0}, tag="list-idx"),
    Case("take", lambda rng, dt: (gen(rng, (3, 4), dt), onp.zeros((0,), "int64")),
         kwargs={"axis": 0}, tag="empty-idx"))

# -- casts and copies ---------------------------------------------------------------------
for _src in ALL:
    add(Case("astype", lambda rng, dt, _src=_src: (gen(rng, (3, 4), _src),), dtypes=ALL,
             call=lambda mod, x, dt=None: (mod.astype(x, dt) if mod is mnp else x.astype(dt)),
             op="astype", tag=f"from-{_src}", f64=lambda host, dt: dt == "float64"))
add(Case("astype", lambda rng, dt: (onp.array([-1.7, -0.5, 0.5, 1.7, 2.5], "float32"),),
         dtypes=("int32", "int64", "bool"), call=lambda mod, x, dt=None: (mod.astype(x, dt) if mod is mnp
                                                                     else x.astype(dt)),
         op="astype", tag="truncation", f64=lambda host, dt: False),
    Case("copy", arrays((3, 4)), dtypes=ALL), Case("copy", arrays(()), tag="0d"),
    Case("copy", arrays((0, 2)), tag="empty"))

# -- products -------------------------------------------------------------------------------
for _s1, _s2 in (((3,), (3,)), ((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 4)), ((), (3,)),
                 ((2, 3), ()), ((2, 2, 3), (3, 4)), ((2, 2, 3), (4, 3, 2)), ((0, 3), (3, 2)),
                 ((2, 3), (2, 3))):
    _tag = f"{_s1}x{_s2}"
    add(Case("dot", arrays(_s1, _s2), dtypes=NUM + ("bool",) if _s1 == (2, 3) and _s2 == (3, 4)
             else FLOATS[:1], tag=_tag))
for _s1, _s2 in (((3,), (3,)), ((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((5, 2, 3), (1, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((0, 3), (3, 2)), ((), (3,)),
                 ((2, 3), (2, 3))):
    _tag = f"{_s1}x{_s2}"
    add(Case("matmul", arrays(_s1, _s2), dtypes=NUM if _s1 == (2, 3) and _s2 == (3, 4)
             else FLOATS[:1], tag=_tag))
add(Case("matmul", arrays((2, 3), (3, 4), dtypes=("float32", "float64")), dtypes=(None,), tag="mixed"),
    Case("dot", arrays((2, 3), (3, 4), dtypes=("int32", "float32")), dtypes=(None,), tag="mixed"))
for _s1, _s2, _axes in (((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0),
                        ((2, 3, 4), (4, 3, 2), ((1, 2), (1, 0))), ((3, 4), (4, 3), ([0], [1])),
                        ((2, 3), (2, 3), ((0, 1), (0, 1))), ((2, 3), (3, 2), ((-1,), (0,)))):
    add(Case("tensordot", lambda rng, dt, _s1=_s1, _s2=_s2: (gen(rng, _s1, dt), gen(rng, _s2, dt)),
             kwargs={"axes": _axes}, dtypes=NUM if _axes == 2 else FLOATS[:1], tag=f"axes={_axes}"))
for _n in ("outer", "inner", "vdot"):
    for _s1, _s2 in (((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 3)), ((), (3,)), ((0,), (0,))):
        if _n == "vdot" and _s1 != _s2:
            continue
        add(Case(_n, arrays(_s1, _s2), dtypes=NUM if _s1 == (3,) else FLOATS[:1], tag=f"{_s1}x{_s2}"))
    add(Case(_n, arrays((3,), (3,), dtypes=("int32", "float32")), dtypes=(None,), tag="mixed"))
add(Case("inner", arrays((2, 3), (4, 3)), tag="2dx2d"), Case("outer", arrays((2, 2), (3,)), tag="2d"))
for _spec, _shapes in (("ij,jk->ik", ((2, 3), (3, 4))), ("ij,jk", ((2, 3), (3, 4))),
                       ("ii->i", ((3, 3),)), ("ii", ((3, 3),)), ("ij->ji", ((2, 3),)),
                       ("i,i->", ((3,), (3,))), ("i,j->ij", ((2,), (3,))),
                       ("bij,bjk->bik", ((2, 2, 3), (2, 3, 4))), ("ij->", ((2, 3),)),
                       ("ij,ij->i", ((2, 3), (2, 3))), ("ijk,jl->ikl", ((2, 3, 4), (3, 2)))):
    add(Case("einsum", lambda rng, dt, _spec=_spec, _shapes=_shapes:
             (_spec,) + tuple(gen(rng, s, dt) for s in _shapes),
             dtypes=NUM if _spec == "ij,jk->ik" else FLOATS[:1], tag=_spec))
for _kw in ({}, {"offset": 1}, {"offset": -1}, {"offset": 5}, {"axis1": 1, "axis2": 2},
            {"axis1": -1, "axis2": 0, "offset": 1}):
    add(Case("trace", arrays((3, 4, 2)) if "axis1" in _kw else arrays((3, 4)), kwargs=_kw,
             dtypes=NUM if not _kw else FLOATS[:1], tag=str(_kw)))

# -- random (values cannot match NumPy's: shapes, dtypes and ranges are checked) ------------


def _random_case(name, args, kwargs, check, tag, dtypes=(None,)):
    def call(mod, *a, **k):
        if mod is onp:
            return check
        return _getfn(mod, name)(*a, **k)
    return Case(name, lambda rng, dt: args, kwargs=kwargs, call=call, op=name, tag=tag,
                dtypes=dtypes, values=False)


class RandomSpec:
    """What a random result must look like (stands in for NumPy's result)."""

    def __init__(self, shape, dtype, lo, hi, integer=False):
        self.shape, self.dtype, self.lo, self.hi, self.integer = shape, onp.dtype(dtype), lo, hi, integer


for _args, _kw, _spec, _tag in (
        ((0.0, 1.0, (3, 4)), {}, RandomSpec((3, 4), "float32", 0, 1), "shape"),
        ((-2.0, 5.0, 7), {}, RandomSpec((7,), "float32", -2, 5), "int-size"),
        ((1.0, 2.0), {}, RandomSpec((), "float32", 1, 2), "scalar"),
        ((0.0, 1.0, (2, 0)), {}, RandomSpec((2, 0), "float32", 0, 1), "empty"),
        ((0.0, 1.0, (2, 3)), {"dtype": "float64"}, RandomSpec((2, 3), "float64", 0, 1), "f64")):
    add(_random_case("random.uniform", _args, _kw, _spec, _tag))
for _args, _kw, _spec, _tag in (
        ((0.0, 1.0, (3, 4)), {}, RandomSpec((3, 4), "float32", -10, 10), "shape"),
        ((5.0, 0.0, (3,)), {}, RandomSpec((3,), "float32", 5, 5), "scale0"),
        ((0.0, 1.0), {}, RandomSpec((), "float32", -10, 10), "scalar"),
        ((0.0, 1.0, (4,)), {"dtype": "float64"}, RandomSpec((4,), "float64", -10, 10), "f64")):
    add(_random_case("random.normal", _args, _kw, _spec, _tag))
for _args, _kw, _spec, _tag in (
        ((5,), {"size": (3, 4)}, RandomSpec((3, 4), "int64", 0, 4, True), "high-only"),
        ((-3, 3, 10), {}, RandomSpec((10,), "int64", -3, 2, True), "range"),
        ((0, 100), {}, RandomSpec((), "int64", 0, 99, True), "scalar"),
        ((0, 10, (5,)), {"dtype": "int32"}, RandomSpec((5,), "int32", 0, 9, True), "int32")):
    add(_random_case("random.randint", _args, _kw, _spec, _tag))
for _args, _kw, _spec, _tag in (
        ((5, (3, 4)), {}, RandomSpec((3, 4), "int64", 0, 4, True), "shape"),
        ((5,), {}, RandomSpec((), "int64", 0, 4, True), "scalar"),
        ((6, 6), {"replace": False}, RandomSpec((6,), "int64", 0, 5, True), "no-replace")):
    add(_random_case("random.choice", _args, _kw, _spec, _tag))

# the further distributions: (args, support), each with a shape, a scalar and a float64 case
for _n, _args, _lo, _hi in (("random.beta", (2.0, 3.0), 0, 1), ("random.chisquare", (3.0,), 0, 1e4),
                            ("random.exponential", (2.0,), 0, 1e4),
                            ("random.gamma", (2.0, 3.0), 0, 1e4),
                            ("random.gumbel", (1.0, 2.0), -1e4, 1e4),
                            ("random.logistic", (1.0, 2.0), -1e4, 1e4),
                            ("random.lognormal", (0.5, 0.7), 0, 1e4), ("random.pareto", (3.0,), 0, 1e6),
                            ("random.power", (3.0,), 0, 1), ("random.rayleigh", (2.0,), 0, 1e4),
                            ("random.weibull", (2.0,), 0, 1e4)):
    add(_random_case(_n, _args, {"size": (3, 4)}, RandomSpec((3, 4), "float32", _lo, _hi), "shape"),
        _random_case(_n, _args, {}, RandomSpec((), "float32", _lo, _hi), "scalar"),
        _random_case(_n, _args, {"size": 5, "dtype": "float64"},
                     RandomSpec((5,), "float64", _lo, _hi), "f64"))

# -- MinPy's own operators (minpy/ops/nn.py): the reference is the op's NumPy implementation
for _n in ("nn.relu", "nn.sigmoid", "nn.stop_gradient"):
    add(Case(_n, arrays((3, 4)), dtypes=FLOATS), Case(_n, arrays(()), tag="0d"),
        Case(_n, arrays((0, 2)), tag="empty"))
for _st, _pd in ((1, 0), (2, 1), ((1, 2), (0, 1))):
    add(Case("nn.conv2d", arrays((2, 3, 5, 5), (4, 3, 3, 3), (4,)), kwargs={"stride": _st, "pad": _pd},
             dtypes=FLOATS if _st == 1 else FLOATS[:1], tag=f"stride={_st},pad={_pd}"))
for _st, _pd, _hw in (((1, 1), (0, 0), 3), ((2, 2), (1, 1), 3), ((2, 2), (0, 0), 2)):
    add(Case("nn.conv2d_data_grad", arrays((2, 4, _hw, _hw), (4, 3, 3, 3)),
             kwargs={"stride": _st, "pad": _pd}, dtypes=FLOATS, tag=f"stride={_st},pad={_pd}"))
for _st, _pd, _hw in (((1, 1), (0, 0), 3), ((2, 2), (1, 1), 3)):
    add(Case("nn.conv2d_weight_grad", arrays((2, 3, 5, 5), (2, 4, _hw, _hw)),
             kwargs={"kernel": (3, 3), "stride": _st, "pad": _pd}, dtypes=FLOATS,
             tag=f"stride={_st},pad={_pd}"))
for _kw in ({}, {"pool": 2, "stride": 1}, {"pool": (2, 1)}, {"pool": 3, "stride": 2}):
    add(Case("nn.max_pool", arrays((2, 3, 6, 6)), kwargs=_kw, dtypes=FLOATS, tag=str(_kw)))
# the gradient operators (MXNet's backward operators eagerly; forward operators in graphs)
for _st, _pd, _hw in (((1, 1), (1, 1), 5), ((2, 1), (0, 1), 2)):
    add(Case("nn.conv2d_grad", arrays((2, 4, _hw, 5), (2, 3, 5, 5), (4, 3, 3, 3), (4,)),
             kwargs={"stride": _st, "pad": _pd}, dtypes=FLOATS, tag=f"stride={_st},pad={_pd}"))
for _p, _s, _o in (((2, 2), (2, 2), (3, 3)), ((3, 3), (1, 2), (5, 2)), ((2, 3), (2, 3), (3, 2))):
    add(Case("nn.max_pool_grad", arrays((2, 3) + _o, (2, 3, 7, 6)),
             kwargs={"pool": _p, "stride": _s}, dtypes=FLOATS, tag=f"pool={_p},stride={_s}"))

# -- composites (minpy/numpy/_composite.py) ------------------------------------------------------
add(Case("array", lambda rng, dt: (gen(rng, (3, 4), dt).tolist(),), dtypes=(None,), tag="list"),
    Case("array", lambda rng, dt: (gen(rng, (3, 4), dt),), dtypes=ALL, tag="ndarray"),
    Case("array", lambda rng, dt: (gen(rng, (3, 4), "float32"),), kwargs={}, dtypes=ALL,
         call=lambda mod, x, dt=None: mod.array(x, dtype=dt), tag="dtype",
         f64=lambda host, dt: dt == "float64"),
    Case("array", lambda rng, dt: (3.5,), dtypes=(None,), tag="scalar"),
    Case("array", lambda rng, dt: ([[1, 2], [3, 4]],), dtypes=(None,), tag="intlist"),
    Case("array", lambda rng, dt: ([True, False],), dtypes=(None,), tag="boollist"),
    Case("array", lambda rng, dt: ([],), dtypes=(None,), tag="emptylist"),
    Case("array", lambda rng, dt: (gen(rng, (3,), dt),), kwargs={"ndmin": 3}, tag="ndmin"),
    Case("array", lambda rng, dt: (gen(rng, (2, 3), dt),), call=lambda mod, x: mod.array(mod.array(x)),
         dtypes=ALL, tag="from-array"),
    Case("asarray", lambda rng, dt: (gen(rng, (3, 4), dt),), dtypes=ALL),
    Case("asarray", lambda rng, dt: ([1.5, 2.5],), dtypes=(None,), tag="list"),
    Case("asarray", lambda rng, dt: (gen(rng, (3,), dt),), kwargs={"dtype": "int32"}, tag="dtype"),
    Case("asarray", lambda rng, dt: (gen(rng, (2, 3), dt),), call=lambda mod, x: mod.asarray(mod.asarray(x)),
         dtypes=ALL, tag="from-array"))
for _n in ("vstack", "hstack", "column_stack", "dstack"):
    for _shapes in (((3,), (3,)), ((2, 3), (4, 3)) if _n == "vstack" else ((2, 3), (2, 1)),
                    ((2, 3, 2), (2, 3, 2)), ((), ()) if _n != "column_stack" else ((2,), (2, 1))):
        add(Case(_n, _seq(*_shapes), dtypes=ALL if _shapes == ((3,), (3,)) else FLOATS[:1],
                 tag=str(_shapes)))
    add(Case(_n, _seq((3,), (3,), dtypes=("int32", "float32")), dtypes=(None,), tag="mixed"),
        Case(_n, lambda rng, dt: ([gen(rng, (2,), dt), [1.0, 2.0]],), tag="list-member"))
for _s in ((), (3,), (2, 3), (2, 3, 4), (1, 2, 3, 4)):
    add(Case("atleast_3d", arrays(_s), dtypes=ALL if _s == (3,) else FLOATS[:1], tag=str(_s)))
for _n, _shape in (("vsplit", (4, 6)), ("hsplit", (4, 6)), ("hsplit", (6,))):
    for _ios in (2, [1, 3]):
        add(Case(_n, lambda rng, dt, _s=_shape, _i=_ios: (gen(rng, _s, dt), _i),
                 dtypes=ALL if _ios == 2 else FLOATS[:1], tag=f"{_shape},{_ios}"))
add(Case("vsplit", lambda rng, dt: (gen(rng, (3,), dt), 3), tag="1d-raises"))

# -- Array methods, operators and indexing -----------------------------------------------------


def method(tag, fn, shapes=((3, 4),), dtypes=FLOATS, domains=None, fallback_ok=False, op=None):
    return Case("Array", arrays(*shapes, domains=domains), call=lambda mod, *a: fn(*a), tag=tag,
                dtypes=dtypes, fallback_ok=fallback_ok, op=op)


_OPS = {
    "+": (lambda x, y: x + y, ALL[:-1], ("real", "real")),
    "-": (lambda x, y: x - y, NUM, ("real", "real")),
    "*": (lambda x, y: x * y, ALL, ("real", "real")),
    "/": (lambda x, y: x / y, NUM, ("real", "nonzero")),
    "//": (lambda x, y: x // y, NUM, ("real", "nonzero")),
    "%": (lambda x, y: x % y, NUM, ("real", "nonzero")),
    "**": (lambda x, y: x ** y, FLOATS, ("pos", "small")),
    "@": (lambda x, y: x @ y.T, NUM, ("real", "real")),
    "&": (lambda x, y: x & y, INTS + ("bool",), ("real", "real")),
    "|": (lambda x, y: x | y, INTS + ("bool",), ("real", "real")),
    "^": (lambda x, y: x ^ y, INTS + ("bool",), ("real", "real")),
    "<": (lambda x, y: x < y, ALL, ("small", "small")),
    "<=": (lambda x, y: x <= y, ALL, ("small", "small")),
    ">": (lambda x, y: x > y, ALL, ("small", "small")),
    ">=": (lambda x, y: x >= y, ALL, ("small", "small")),
    "==": (lambda x, y: x == y, ALL, ("small", "small")),
    "!=": (lambda x, y: x != y, ALL, ("small", "small")),
}
_REFLECTED = {
    "r+": lambda x: 2 + x, "r-": lambda x: 2.5 - x, "r*": lambda x: 3 * x, "r/": lambda x: 1.5 / x,
    "r//": lambda x: 7 // x, "r%": lambda x: 7 % x, "r**": lambda x: 2 ** abs(x),
    "r<": lambda x: 0.5 < x, "r==": lambda x: 1 == x,
}
_INPLACE = {
    "+=": lambda x, y: x.__iadd__(y), "-=": lambda x, y: x.__isub__(y),
    "*=": lambda x, y: x.__imul__(y), "/=": lambda x, y: x.__itruediv__(y),
    "//=": lambda x, y: x.__ifloordiv__(y), "%=": lambda x, y: x.__imod__(y),
    "**=": lambda x, y: x.__ipow__(y),
}


def _inplace_case(tag, fn, dtypes, doms, ydtype=None):
    def call(mod, x, y):
        h = id(x)
        r = fn(x, y)
        assert id(r) == h, "in-place operator must return the same object"
        return x
    def build(rng, dt):
        return gen(rng, (3, 4), dt, doms[0]), gen(rng, (4,), ydtype or dt, doms[1])
    return Case("Array", build,
                call=call, tag=tag, dtypes=dtypes,
                f64=lambda host, dt: host[0].dtype == F64)


for _t, (_f, _dts, _doms) in _OPS.items():
    add(Case("Array", arrays((3, 4), (3, 4), domains=_doms), call=lambda mod, x, y, _f=_f: _f(x, y),
             tag=_t, dtypes=_dts),
        Case("Array", arrays((3, 4), (1, 4), domains=_doms), call=lambda mod, x, y, _f=_f: _f(x, y),
             tag=_t + " bcast", dtypes=_dts[:1]))
    if _t != "@":
        add(Case("Array", lambda rng, dt, _doms=_doms: (gen(rng, (3, 4), dt, _doms[0]),),
                 call=lambda mod, x, _f=_f, _doms=_doms: _f(x, 2 if _doms[1] != "small" else 1),
                 tag=_t + " scalar", dtypes=_dts))
for _t, _f in _REFLECTED.items():
    _dom = "nonzero" if _t in ("r/", "r//", "r%") else "small"
    add(Case("Array", arrays((3, 4), domain=_dom), call=lambda mod, x, _f=_f: _f(x), tag=_t,
             dtypes=NUM),
        Case("Array", arrays((), domain=_dom), call=lambda mod, x, _f=_f: _f(x), tag=_t + " 0d",
             dtypes=FLOATS[:1]))
add(Case("Array", arrays((3, 4), (3, 4)), call=lambda mod, x, y: x.__radd__(y), tag="radd-array"),
    Case("Array", arrays((3, 4), (3, 4), domains=("nonzero", "real")),
         call=lambda mod, x, y: x.__rtruediv__(y), tag="rtruediv-array"),
    Case("Array", arrays((3, 4), (4, 2)), call=lambda mod, x, y: x.__rmatmul__(y.T), tag="rmatmul"))
for _t, _f in _INPLACE.items():
    _doms = ("pos", "small") if _t == "**=" else ("real", "nonzero")
    add(_inplace_case(_t, _f, FLOATS if _t == "**=" else NUM, _doms),
        _inplace_case(_t + " f64-into-f32", _f, ("float32",), _doms, ydtype="float64"),
        _inplace_case(_t + " f32-into-f64", _f, ("float64",), _doms, ydtype="float32"))
for _t in ("&=", "|=", "^="):
    _f = {"&=": lambda x, y: x.__iand__(y), "|=": lambda x, y: x.__ior__(y),
          "^=": lambda x, y: x.__ixor__(y)}[_t]
    add(_inplace_case(_t, _f, INTS + ("bool",), ("real", "real")))
add(method("neg", lambda x: -x, dtypes=NUM), method("pos", lambda x: +x, dtypes=NUM),
    method("abs", lambda x: abs(x), dtypes=NUM), method("invert", lambda x: ~x, dtypes=INTS + ("bool",)),
    method("divmod", lambda x, y: divmod(x, y), shapes=((3, 4), (3, 4)), domains=("real", "nonzero"),
           dtypes=NUM),
    method("T", lambda x: x.T, shapes=((2, 3, 4),), dtypes=ALL),
    method("T-1d", lambda x: x.T, shapes=((3,),)),
    method("astype-i32", lambda x: x.astype("int32"), dtypes=ALL),
    Case("Array", arrays((3, 4)), call=lambda mod, x: x.astype(onp.float64), tag="astype-f64",
         dtypes=ALL, f64=lambda host, dt: True),
    method("astype-bool", lambda x: x.astype(bool), dtypes=NUM),
    method("astype-same", lambda x: x.astype(x.dtype), dtypes=ALL),
    method("copy", lambda x: x.copy(), dtypes=ALL),
    method("reshape-tuple", lambda x: x.reshape((4, 3))),
    method("reshape-args", lambda x: x.reshape(2, -1)),
    method("reshape-list", lambda x: x.reshape([12])),
    method("reshape-int", lambda x: x.reshape(12)),
    method("transpose-args", lambda x: x.transpose(2, 0, 1), shapes=((2, 3, 4),)),
    method("transpose-tuple", lambda x: x.transpose((1, 0, 2)), shapes=((2, 3, 4),)),
    method("transpose-none", lambda x: x.transpose(), shapes=((2, 3, 4),)),
    method("flatten", lambda x: x.flatten()),
    method("dot", lambda x, y: x.dot(y), shapes=((3, 4), (4, 2)), dtypes=NUM),
    method("fill", lambda x: (x.fill(2.5), x)[1], dtypes=NUM),
    method("swapaxes", lambda x: x.swapaxes(0, 2), shapes=((2, 3, 4),)),
    method("squeeze", lambda x: x.squeeze(), shapes=((1, 3, 1),)),
    method("ravel", lambda x: x.ravel()),
    method("clip", lambda x: x.clip(-1, 1), dtypes=NUM),
    method("round", lambda x: x.round(1)),
    method("repeat", lambda x: x.repeat(2, axis=1)),
    method("argsort", lambda x: x.argsort(axis=1)),
    method("take", lambda x: x.take([0, 2], axis=1)),
    method("trace", lambda x: x.trace()),
    method("cumsum", lambda x: x.cumsum(axis=1), dtypes=NUM),
    method("cumprod", lambda x: x.cumprod(axis=1), domains=("small",), fallback_ok=True),
    method("ptp", lambda x: x.ptp(axis=0), fallback_ok=True),
    method("nonzero", lambda x: x.nonzero(), dtypes=NUM, fallback_ok=True),
    method("diagonal", lambda x: x.diagonal(), fallback_ok=True))
for _m in ("sum", "mean", "prod", "max", "min", "std", "var", "all", "any"):
    for _kw in ({}, {"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)}):
        add(method(f"{_m}{_kw}", lambda x, _m=_m, _kw=_kw: getattr(x, _m)(**_kw),
                   domains=("small",), dtypes=NUM if _kw else ALL[:1] + ALL[2:]))
for _m in ("argmax", "argmin"):
    for _kw in ({}, {"axis": 1}):
        add(method(f"{_m}{_kw}", lambda x, _m=_m, _kw=_kw: getattr(x, _m)(**_kw), dtypes=NUM))


def _py(tag, fn, shapes=((3, 4),), dtypes=ALL):
    """A method whose result is a Python value (compared with ==)."""
    return method(tag, lambda *a: fn(*a), shapes=shapes, dtypes=dtypes)


add(_py("item-0d", lambda x: x.item(), shapes=((),)),
    _py("item-index", lambda x: x.item(5)),
    _py("item-tuple", lambda x: x.item((1, 2))),
    _py("tolist", lambda x: x.tolist()),
    _py("tolist-0d", lambda x: x.tolist(), shapes=((),)),
    _py("len", lambda x: len(x)),
    _py("len-0d", lambda x: len(x), shapes=((),)),
    _py("iter", lambda x: [r for r in x], shapes=((3, 2),)),
    _py("iter-1d", lambda x: [r for r in x], shapes=((3,),)),
    _py("iter-0d", lambda x: list(x), shapes=((),)),
    _py("repr", lambda x: repr(x)),
    _py("repr-0d", lambda x: repr(x), shapes=((),)),
    _py("repr-empty", lambda x: repr(x), shapes=((0, 3),)),
    _py("str", lambda x: str(x)),
    _py("bool-0d", lambda x: bool(x), shapes=((),)),
    _py("bool-many", lambda x: bool(x)),
    _py("float-1", lambda x: float(x), shapes=((1,),)),
    _py("int-0d", lambda x: int(x), shapes=((),)),
    _py("shape", lambda x: (x.shape, x.ndim, x.size, x.dtype), shapes=((2, 3, 4),)),
    _py("format", lambda x: f"{x:.3f}", shapes=((),), dtypes=FLOATS))

# indexing: the same index kinds for reading and writing
INDICES = [
    ("int", 1), ("neg-int", -1), ("tuple-int", (1, 2)), ("full-int", (1, 2, 3)),
    ("slice", slice(1, None)), ("slice-step", slice(None, None, 2)), ("slice-neg", slice(None, None, -1)),
    ("slice-empty", slice(2, 1)), ("multi-slice", (slice(0, 2), slice(1, 3))),
    ("ellipsis", Ellipsis), ("ellipsis-int", (Ellipsis, 1)), ("int-ellipsis", (0, Ellipsis, 2)),
    ("none", None), ("none-int", (None, 0)), ("slice-none-int", (slice(None), None, 1)),
    ("intarray", onp.array([0, 2])), ("intarray-neg", onp.array([-1, 0])),
    ("intarray-2d", onp.array([[0, 1], [2, 0]])), ("int32-array", onp.array([2, 0], "int32")),
    ("list", [0, 2]), ("two-arrays", (onp.array([0, 2]), onp.array([1, 3]))),
    ("array-slice", (slice(None), onp.array([0, 3]))),
    ("arrays-split", (onp.array([0, 1]), slice(None), onp.array([1, 3]))),
    ("int-array", (1, onp.array([0, 2]))), ("array-ellipsis", (onp.array([1, 2]), Ellipsis)),
    ("bool-mask-axis0", onp.array([True, False, True])),
    ("bool-mask-axis1", (slice(None), onp.array([True, False, True, False]))),
    ("bool-mask-all-false", onp.array([False, False, False])),
]


def _mask_full(x):
    return x > 0


def _idx_to_minpy(idx, as_arrays):
    if not as_arrays:
        return idx
    if isinstance(idx, onp.ndarray):
        return mnp.array(idx, dtype=idx.dtype)
    if isinstance(idx, tuple):
        return tuple(_idx_to_minpy(i, True) for i in idx)
    return idx


def _getitem_case(tag, idx, as_arrays, dtypes=FLOATS[:1]):
    def call(mod, x):
        return x[_idx_to_minpy(idx, as_arrays) if mod is mnp else idx]
    return Case("Array", arrays((3, 4, 5)), call=call, tag=f"getitem-{tag}" + ("-Array" if as_arrays else ""),
                dtypes=dtypes, op="_getitem",
                )


def _setitem_case(tag, idx, as_arrays, value_kind, dtypes=FLOATS[:1]):
    def call(mod, x):
        shape = onp.empty((3, 4, 5))[idx].shape
        rng = onp.random.default_rng(1)
        if value_kind == "scalar":
            v = 7
        elif value_kind == "array":
            v = gen(rng, shape, x.dtype.name)
            v = mnp.array(v, dtype=v.dtype) if mod is mnp else v
        else:  # broadcast from the last axis
            v = gen(rng, shape[-1:], "float64")
            v = mnp.array(v, dtype=v.dtype) if mod is mnp else v
        x[_idx_to_minpy(idx, as_arrays) if mod is mnp else idx] = v
        return x
    return Case("Array", arrays((3, 4, 5)), call=call, dtypes=dtypes,
                tag=f"setitem-{tag}-{value_kind}" + ("-Array" if as_arrays else ""),
                f64=lambda host, dt: host[0].dtype == F64)


for _tag, _idx in INDICES:
    _has_arr = any(isinstance(i, onp.ndarray) for i in (_idx if isinstance(_idx, tuple) else (_idx,)))
    add(_getitem_case(_tag, _idx, False, dtypes=ALL if _tag == "int" else FLOATS[:1]))
    for _vk in ("scalar", "array", "bcast"):
        add(_setitem_case(_tag, _idx, False, _vk, dtypes=ALL if (_tag, _vk) == ("int", "scalar")
                          else FLOATS[:1]))
    if _has_arr:
        add(_getitem_case(_tag, _idx, True), _setitem_case(_tag, _idx, True, "array"))
add(Case("Array", arrays((3, 4)), call=lambda mod, x: x[x > 0], tag="getitem-mask-full", dtypes=NUM),
    Case("Array", arrays((3, 4)), call=lambda mod, x: x[(x > 0).asnumpy() if mod is mnp else x > 0],
         tag="getitem-hostmask-full"),
    Case("Array", arrays((3, 4)), call=lambda mod, x: (x.__setitem__(x > 0, 0), x)[1],
         tag="setitem-mask-full", dtypes=NUM),
    Case("Array", arrays(()), call=lambda mod, x: x[()], tag="getitem-0d-empty-tuple"),
    Case("Array", arrays(()), call=lambda mod, x: x[...], tag="getitem-0d-ellipsis"),
    Case("Array", arrays(()), call=lambda mod, x: x[None], tag="getitem-0d-none"),
    Case("Array", arrays(()), call=lambda mod, x: (x.__setitem__((), 3), x)[1], tag="setitem-0d"),
    Case("Array", arrays((3, 4)), call=lambda mod, x: x[mnp.array(1) if mod is mnp else onp.array(1)],
         tag="getitem-0d-int-array"),
    Case("Array", arrays((3, 4)), call=lambda mod, x: x[5], tag="getitem-out-of-range"),
    Case("Array", arrays((3, 4)), call=lambda mod, x: x[1, 2, 3], tag="getitem-too-many"),
    Case("Array", arrays((3, 4)), call=lambda mod, x: x[1.5], tag="getitem-float-raises"),
    Case("Array", arrays((0, 4)), call=lambda mod, x: x[:, 1], tag="getitem-empty"),
    Case("Array", arrays((3, 4)), call=lambda mod, x: (x.__setitem__(slice(None), x[::-1]), x)[1],
         tag="setitem-self-reversed"),
    Case("Array", arrays((3, 4)), call=lambda mod, x: (x.__setitem__((0, slice(None)), 2.5), x)[1],
         dtypes=INTS, tag="setitem-int-float-value"),
    Case("Array", arrays((3, 4)), call=lambda mod, x: (x.__setitem__(onp.array([0, 0]), onp.array(
        [[1.0] * 4, [2.0] * 4], "float32") if mod is onp else mnp.array([[1.0] * 4, [2.0] * 4])), x)[1],
        tag="setitem-duplicate-index"))


# ============================================================================== the checker

def _tol(dtype: onp.dtype, case: Case):
    if case.rtol is not None:
        return case.rtol, case.rtol
    if dtype == F64:
        return 1e-10, 1e-12
    if dtype == onp.float16:
        return 1e-2, 1e-3
    return 2e-5, 1e-6


def expected_dtype(np_dtype: onp.dtype, f64: bool) -> onp.dtype:
    """The documented rule: NumPy's float64 becomes float32 unless float64 was asked for."""
    return onp.dtype("float32") if np_dtype == F64 and not f64 else np_dtype


def compare(exp, got, f64: bool, case: Case, path="result"):
    if isinstance(exp, RandomSpec):
        assert isinstance(got, Array), f"{path}: expected a MinPy array, got {type(got)}"
        assert got.shape == exp.shape and got.dtype == exp.dtype, (got.shape, got.dtype)
        h = got.asnumpy()
        assert h.shape == exp.shape and h.dtype == exp.dtype, (h.shape, h.dtype)
        if h.size:
            assert h.min() >= exp.lo and h.max() <= exp.hi, (h.min(), h.max())
            if exp.integer:
                assert h.dtype.kind == "i"
        return
    if isinstance(exp, (list, tuple)) and not (isinstance(got, Array)):
        assert isinstance(got, (list, tuple)), f"{path}: expected a sequence, got {type(got)}"
        assert len(got) == len(exp), f"{path}: {len(got)} results, NumPy gives {len(exp)}"
        for i, (e, g) in enumerate(zip(exp, got)):
            compare(e, g, f64, case, f"{path}[{i}]")
        return
    if isinstance(exp, (onp.ndarray, onp.generic)) and not isinstance(exp, (onp.str_, onp.bytes_)):
        exp = onp.asarray(exp)
        assert isinstance(got, Array), f"{path}: expected a MinPy array, got {type(got).__name__}"
        want = expected_dtype(exp.dtype, f64)
        assert got.shape == exp.shape, f"{path}: shape {got.shape}, NumPy gives {exp.shape}"
        assert got.dtype == want, f"{path}: dtype {got.dtype}, expected {want} (NumPy gives {exp.dtype})"
        h = got.asnumpy()
        assert h.shape == got.shape, f"{path}: MXNet buffer has shape {h.shape}, array says {got.shape}"
        assert h.dtype == got.dtype, f"{path}: MXNet buffer has dtype {h.dtype}, array says {got.dtype}"
        if not case.values:
            return
        if want.kind == "f" or exp.dtype.kind == "f":
            rtol, atol = _tol(want, case)
            onp.testing.assert_allclose(h.astype("float64"), exp.astype("float64"), rtol=rtol,
                                        atol=atol, equal_nan=True, err_msg=path)
        else:
            onp.testing.assert_array_equal(h, exp.astype(want), err_msg=path)
        return
    # Python values (item, tolist, len, repr...)
    assert not isinstance(got, Array), f"{path}: expected {type(exp).__name__}, got a MinPy array"
    if isinstance(exp, list) or isinstance(got, list):
        assert type(got) is type(exp) and len(got) == len(exp), (got, exp)
        for i, (e, g) in enumerate(zip(exp, got)):
            compare(e, g, f64, case, f"{path}[{i}]")
        return
    if isinstance(exp, float) and isinstance(got, float):
        assert got == pytest.approx(exp, rel=1e-6, nan_ok=True), (got, exp)
        return
    assert type(got) is type(exp) and got == exp, f"{path}: {got!r} != NumPy's {exp!r}"


def _deep_copy(x):
    return copy.deepcopy(x)


def _check_infer(case: Case, mp_args, kwargs, got):
    opname = case.infer_op()
    if opname is None:
        return
    op = REGISTRY[opname]
    if opname == "_getitem":
        return  # checked through the Array cases' metadata (index is built inside the call)
    if case.call is not None:
        # a custom call: rebuild the call it makes (dtype given positionally)
        return _check_infer_custom(case, op, mp_args, kwargs, got)
    operands, attrs, _ = _call.bind_args(op, tuple(mp_args), dict(kwargs))
    operands, _ = _call.normalise(op, operands) if operands else (operands, None)
    shapes, dtypes = _call.infer(op, operands, attrs)
    outs = tuple(got) if op.multi else (got,)
    assert tuple(o.shape for o in outs) == tuple(shapes), ("infer shapes", shapes)
    assert tuple(o.dtype for o in outs) == tuple(onp.dtype(d) for d in dtypes), ("infer dtypes", dtypes)


def _check_infer_custom(case, op, mp_args, kwargs, got):
    # every custom-call case with ``op`` set passes the dtype as the last positional argument
    if not case.op:
        return
    dt = getattr(case, "_dt", None)
    if op.random:
        operands, attrs, _ = _call.bind_args(op, tuple(mp_args), dict(kwargs))
    elif op.name in ("zeros", "ones", "empty"):
        operands, attrs, _ = _call.bind_args(op, tuple(mp_args), {"dtype": dt})
    elif op.name == "full":
        operands, attrs, _ = _call.bind_args(op, tuple(mp_args), {"dtype": dt})
    elif op.name == "astype":
        operands, attrs, _ = _call.bind_args(op, tuple(mp_args) + (onp.dtype(dt),), {})
    else:
        return
    shapes, dtypes = _call.infer(op, operands, attrs)
    assert (got.shape,) == tuple(shapes), ("infer shapes", shapes)
    assert (got.dtype,) == tuple(onp.dtype(d) for d in dtypes), ("infer dtypes", dtypes)


def run_case(case: Case, dt, policy: str = "prefer_mxnet", seed: int = 0):
    rng = onp.random.default_rng(seed)
    host = case.args(rng, dt)
    kwargs = dict(case.kwargs)
    case._dt = dt
    if case.call is None and case.name.startswith("nn."):
        op = REGISTRY[case.name]

        def np_fn(*a, **k):
            operands, attrs, _ = _call.bind_args(op, a, k)
            return op.np(*operands, **dict(attrs))

        def mp_fn(*a, **k):
            return _call.call(op, a, k)
    elif case.call is None:
        np_fn, mp_fn = _getfn(onp, case.name), _getfn(mnp, case.name)
    else:
        np_fn = functools.partial(case.call, onp)
        mp_fn = functools.partial(case.call, mnp)
    extra = () if dt is None or case.call is None or case.name == "Array" or \
        case.name in ("array",) and case.tag != "dtype" else (dt,)
    if case.call is not None and case.name == "array" and case.tag == "dtype":
        extra = (dt,)
    f64 = case.f64(host, dt) if case.f64 is not None else \
        (_is_f64(host) or kwargs.get("dtype") in ("float64", onp.float64) or dt == "float64" and bool(extra))
    mp_args = to_minpy(host)
    np_host = _deep_copy(host)
    try:
        with onp.errstate(all="ignore"):
            expected = np_fn(*np_host, *extra, **kwargs)
        np_error = None
    except Exception as e:  # noqa: BLE001 - NumPy raising is part of the specification
        np_error = e
    minpy.set_global_policy(policy)
    minpy.reset_call_stats()
    if np_error is not None:
        with pytest.raises(Exception) as info:
            r = mp_fn(*mp_args, *extra, **kwargs)
            _call.to_host(r)
        assert not isinstance(info.value, (KeyError, AttributeError, UnboundLocalError,
                                           NameError, AssertionError)), \
            f"NumPy raised {np_error!r}; MinPy raised an internal error {info.value!r}"
        return
    got = mp_fn(*mp_args, *extra, **kwargs)
    compare(expected, got, f64, case)
    _check_infer(case, mp_args, kwargs, got)
    if policy in ("prefer_mxnet", "only_mxnet") and not case.fallback_ok:
        fell_back = {n: d for n, d in minpy.call_stats().items() if d["numpy"]}
        assert not fell_back, f"fell back to NumPy under {policy}: {fell_back}"
    if policy in ("prefer_mxnet", "only_mxnet") and case.infer_op() and not case.fallback_ok:
        stats = minpy.call_stats()
        assert stats.get(case.infer_op(), {}).get("mxnet", 0) >= 1, stats


def _params():
    out = []
    for case in TABLE:
        for dt in case.dtypes:
            out.append(pytest.param(case, dt, id=f"{case.id}-{dt}" if dt else case.id,
                                    marks=()))
    return out


PARAMS = _params()


@pytest.fixture(autouse=True)
def _restore_policy(set_policy):
    set_policy("prefer_mxnet")
    yield


@pytest.mark.parametrize("case,dt", PARAMS)
def test_conformance(case, dt):
    run_case(case, dt, "prefer_mxnet")


def _policy_subset():
    """The first case of every function (and of every Array tag family) per policy."""
    seen, out = set(), []
    for case in TABLE:
        key = case.name if case.name != "Array" else case.tag.split("-")[0].split(" ")[0]
        if key in seen:
            continue
        seen.add(key)
        dt = case.dtypes[0]
        for pol in POLICIES:
            if pol == "only_mxnet" and (case.fallback_ok or case.name in REGISTRY
                                        and REGISTRY[case.name].mx is None):
                continue
            out.append(pytest.param(case, dt, pol, id=f"{case.id}-{dt}-{pol}",
                                    marks=()))
    return out


@pytest.mark.parametrize("case,dt,policy", _policy_subset())
def test_conformance_policies(case, dt, policy):
    run_case(case, dt, policy)


@pytest.mark.parametrize("case,dt", [p for p in PARAMS if p.values[0].infer_op() is not None
                                     and REGISTRY[p.values[0].infer_op()].mx is not None][::3])
def test_only_mxnet(case, dt):
    """Every third MXNet-path case again under only_mxnet (nothing may need NumPy)."""
    run_case(case, dt, "only_mxnet")


# ============================================================================== coverage

def _covered() -> set:
    return {c.infer_op() or c.name for c in TABLE} | {c.name for c in TABLE}


def test_every_mxnet_function_is_in_the_table():
    missing = sorted(set(mxnet_functions()) - _covered())
    assert not missing, f"MXNet functions without a conformance case: {missing}"


def test_every_composite_is_in_the_table():
    composites = {"array", "asarray", "vstack", "hstack", "column_stack", "dstack", "atleast_3d",
                  "vsplit", "hsplit"}
    assert not composites - _covered()


def test_at_least_100_mxnet_functions():
    assert len(mxnet_functions()) >= 100


def test_table_cases_are_many():
    assert len(PARAMS) >= 500


# ============================================================================== hypothesis

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
HSET = settings(max_examples=15, deadline=None, derandomize=True)


@pytest.mark.parametrize("name", sorted(UNARY))
@HSET
@given(shape=SHAPES, dt=st.sampled_from(FLOATS))
def test_unary_shapes(name, shape, dt):
    dom, dts = UNARY[name]
    run_case(Case(name, arrays(shape, domain=dom)), dt)


@pytest.mark.parametrize("name", sorted(BINARY))
@HSET
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       dt=st.sampled_from(NUM))
def test_binary_broadcasting(name, shapes, dt):
    (d1, d2), dts = BINARY[name]
    if dt not in dts:
        dt = dts[0]
    run_case(Case(name, arrays(*shapes.input_shapes, domains=(d1, d2))), dt)


@pytest.mark.parametrize("name", sorted(REDUCE))
@HSET
@given(data=st.data(), dt=st.sampled_from(FLOATS + INTS[:1]))
def test_reduction_axes(name, data, dt):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    axis = data.draw(st.one_of(st.none(), hnp.valid_tuple_axes(len(shape)),
                               st.integers(-len(shape), len(shape) - 1) if shape else st.none()))
    kd = data.draw(st.booleans())
    run_case(Case(name, arrays(shape, domain="small"), kwargs={"axis": axis, "keepdims": kd}), dt)


@HSET
@given(data=st.data())
def test_getitem_basic_indices(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    idx = data.draw(hnp.basic_indices(shape, allow_newaxis=True))
    run_case(Case("Array", arrays(shape), call=lambda mod, x: x[idx]), "float32")

    def write(mod, x):
        x[idx] = 3.0
        return x
    run_case(Case("Array", arrays(shape), call=write), "float32")


@HSET
@given(data=st.data())
def test_getitem_integer_arrays(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    idx = data.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=3)))
    run_case(Case("Array", arrays(shape), call=lambda mod, x: x[idx]), "float32")
