"""The fused kernels' math functions (minpy/jit/codegen/mathlib.py) against NumPy.

Each function is compiled into a small shared library with the kernels' flags and
applied to every 2039th float32 bit pattern (2.1 million values over all exponents,
subnormals and NaN payloads included) plus boundary values; the error against a float64
reference is measured in units in the last place (ULP) and must not exceed the bound
documented in ``FUNCS``. NaN, infinities and signed zeros must be NumPy's. Float64 is
checked on random bit patterns and special values against a long double reference.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as onp
import pytest

from minpy.jit.codegen import mathlib
from minpy.jit.codegen.mathlib import FUNCS, HEADER

_BASE_FLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC"] + list(mathlib.FLAGS)

# the same loop over the C library's functions, to measure the speed-up
_STD = {"exp": "std::exp(a[i])", "log": "std::log(a[i])", "tanh": "std::tanh(a[i])",
        "nn.sigmoid": "T(1) / (T(1) + std::exp(-a[i]))", "sin": "std::sin(a[i])",
        "expm1": "std::expm1(a[i])", "log1p": "std::log1p(a[i])", "arctan": "std::atan(a[i])",
        "power": "std::pow(a[i], b[i])"}

_SFX = {"float32": "f", "float64": "d"}
_CT = {"float32": "float", "float64": "double"}


def _kname(name: str, dtype: str, std: bool = False) -> str:
    return ("std_" if std else "mp_k_") + name.replace(".", "_") + "_" + _SFX[dtype]


def _source(with_std: bool = True) -> tuple[str, dict[int, str]]:
    """The library's C++ text and the line of each kernel's loop."""
    lines = HEADER.split("\n")
    loop_line: dict[int, str] = {}
    for dtype in ("float32", "float64"):
        T = _CT[dtype]
        for name, fn in FUNCS.items():
            for std in (False, True):
                if std and (name not in _STD or not with_std):
                    continue
                args = f"const {T}* a, " + (f"const {T}* b, " if fn.nin == 2 else "")
                call = (_STD[name] if std else
                        f"{fn.cname(dtype)}(a[i]{', b[i]' if fn.nin == 2 else ''})")
                lines.append(f'extern "C" void {_kname(name, dtype, std)}({args}{T}* out, long n) {{')
                lines.append(f"  typedef {T} T;")
                lines.append("#pragma omp simd")
                lines.append(f"  for (long i = 0; i < n; ++i) out[i] = {call};")
                loop_line[len(lines)] = _kname(name, dtype, std)
                lines.append("}")
    return "\n".join(lines) + "\n", loop_line


def _compiler() -> str | None:
    cxx = os.environ.get("CXX")
    if cxx:
        return shutil.which(cxx.split()[0]) and cxx
    return shutil.which("g++") or shutil.which("clang++")


class _Lib:
    def __init__(self, so: str | None, vectorised: set[str]):
        self.dll = ctypes.CDLL(so) if so else None
        self.vectorised = vectorised

    def apply(self, name: str, dtype: str, *xs: onp.ndarray, std: bool = False) -> onp.ndarray:
        xs = [onp.ascontiguousarray(x, dtype=dtype) for x in xs]
        out = onp.empty_like(xs[0])
        fn = getattr(self.dll, _kname(name, dtype, std))
        ptrs = [x.ctypes.data_as(ctypes.c_void_p) for x in xs]
        fn(*ptrs, out.ctypes.data_as(ctypes.c_void_p), ctypes.c_long(out.size))
        return out


@pytest.fixture(scope="module")
def lib() -> _Lib:
    return _build()


def _build(march: str = "-march=native", std: bool = True, load: bool = True) -> _Lib:
    cxx = _compiler()
    if cxx is None:
        pytest.skip("no C++ compiler (set CXX, or install g++ or clang++)")
    src, loop_line = _source(std)
    flags = [march if f == "-march=native" else f for f in _BASE_FLAGS]
    flags += ["-fopt-info-vec-optimized"]
    key = hashlib.sha256((src + cxx + " ".join(flags) + sys.platform).encode()).hexdigest()[:16]
    d = os.path.join(tempfile.gettempdir(), f"minpy-test-mathlib-{os.getuid()}")
    os.makedirs(d, exist_ok=True)
    so, log = os.path.join(d, key + ".so"), os.path.join(d, key + ".vec")
    if not (os.path.exists(so) and os.path.exists(log)):
        # pytest-xdist workers may build at the same time: private names, then rename
        tmp = f".{os.getpid()}.tmp"
        cpp = os.path.join(d, key + tmp + ".cpp")
        with open(cpp, "w") as f:
            f.write(src)
        t0 = time.perf_counter()
        res = subprocess.run(cxx.split() + flags + [cpp, "-o", so + tmp],
                             capture_output=True, text=True)
        os.unlink(cpp)
        if res.returncode != 0:
            if "march" in res.stderr or "fopenmp" in res.stderr:
                pytest.skip(f"compiler {cxx} does not take the kernel flags: {res.stderr[:300]}")
            raise AssertionError(f"mathlib HEADER does not compile:\n{res.stderr[:4000]}")
        print(f"\ncompiled the math harness in {time.perf_counter() - t0:.1f} s")
        with open(log + tmp, "w") as f:
            f.write(res.stderr)
        os.replace(log + tmp, log)
        os.replace(so + tmp, so)
    with open(log) as f:
        text = f.read()
    vec = set()
    for m in re.finditer(r":(\d+):\d+: optimized: loop vectorized", text):
        if int(m.group(1)) in loop_line:
            vec.add(loop_line[int(m.group(1))])
    return _Lib(so if load else None, vec)


# ----------------------------------------------------------------------------- samples

_BOUNDARIES = [0.0, 1.0, 0.5, 2.0, 0.625, 10.0, 22.0, 0.41421356, 1.5707964, 3.1415927,
               0.7853982, 88.72284, 103.97208, 87.33655, 89.41599, 104.0, 126.0, 127.0, 128.0,
               149.0, 150.0, 1e-8, 1e-30, 1e30, 709.78271, 745.13321, 1024.0, 1075.0, 40.0,
               0.34657359, 1e-4, 9.0, 16.0, 20.0, 0.99999994]


def _f32_samples() -> onp.ndarray:
    bits = onp.arange(0, 2 ** 32, 2039, dtype=onp.uint64).astype(onp.uint32)
    sweep = bits.view(onp.float32)
    b = onp.array(_BOUNDARIES, onp.float32)
    near = (b.view(onp.int32)[:, None] + onp.arange(-8, 9, dtype=onp.int32)[None, :]).ravel()
    near = near[near >= 0].view(onp.float32)
    tiny = onp.arange(0, 64, dtype=onp.uint32).view(onp.float32)        # subnormals
    ints = onp.arange(-300, 301, dtype=onp.float32)
    special = onp.array([onp.inf, onp.nan, onp.finfo(onp.float32).max,
                         onp.finfo(onp.float32).tiny, 2.0 ** -149], onp.float32)
    pos = onp.concatenate([near, tiny, special, ints])
    return onp.concatenate([sweep, pos, -pos])


def _f64_samples(n: int = 60000) -> onp.ndarray:
    rng = onp.random.default_rng(0)
    bits = rng.integers(0, 2 ** 64, n, dtype=onp.uint64).view(onp.float64)
    small = rng.uniform(-50, 50, n)
    tiny = rng.uniform(-3, 3, n) * 10.0 ** rng.uniform(-20, 0, n)
    b = onp.array(_BOUNDARIES, onp.float64)
    near = (b.view(onp.int64)[:, None] + onp.arange(-8, 9, dtype=onp.int64)[None, :]).ravel()
    near = near[near >= 0].view(onp.float64)
    special = onp.array([onp.inf, onp.nan, onp.finfo(onp.float64).max,
                         onp.finfo(onp.float64).tiny, 5e-324] +
                        [float.fromhex(h) for h in ("0x1.62e42fefa39f0p+9", "0x1.62e42fefa39efp+9",
                                                    "0x1.74910d52d3052p+9", "0x1.74910d52d3051p+9")])
    pos = onp.concatenate([near, special, onp.arange(-40, 41, dtype=onp.float64)])
    return onp.concatenate([bits, small, tiny, pos, -pos])


def _pairs(x: onp.ndarray, y: onp.ndarray) -> tuple[onp.ndarray, onp.ndarray]:
    return onp.repeat(x, y.size), onp.tile(y, x.size)


def _power_samples(dtype) -> tuple[onp.ndarray, onp.ndarray]:
    ft = onp.dtype(dtype).type
    it = onp.uint32 if ft is onp.float32 else onp.uint64
    top = 2 ** 32 if ft is onp.float32 else 2 ** 64
    step = top // (1500 if ft is onp.float32 else 300)
    xb = onp.arange(0, top - step, step, dtype=onp.uint64 if ft is onp.float32 else object)
    xs = onp.array([int(v) for v in xb], dtype=it).view(ft)
    xs = onp.concatenate([xs, onp.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, 10.0,
                                         -8.0, onp.inf, -onp.inf, onp.nan, 1e-40, -1e-40,
                                         1.0000001, 0.9999999], ft)])
    rng = onp.random.default_rng(1)
    ys = onp.concatenate([onp.arange(-10, 11), onp.arange(-10, 11) + 0.5,
                          [onp.inf, -onp.inf, onp.nan, 0.0, -0.0, 1e-3, -1e-3, 1 / 3, 100.5,
                           2.0 ** 24, 2.0 ** 24 + 2, 2.0 ** 24 - 1, 1e30, -1e30, 127.0, -149.0],
                          rng.uniform(-40, 40, 1000 if ft is onp.float32 else 150),
                          rng.standard_normal(300)]).astype(ft)
    return _pairs(xs, ys)


def _binary_samples(dtype) -> tuple[onp.ndarray, onp.ndarray]:
    ft = onp.dtype(dtype).type
    rng = onp.random.default_rng(2)
    v = onp.concatenate([rng.uniform(-100, 100, 600), rng.standard_normal(600),
                         [0.0, -0.0, onp.inf, -onp.inf, onp.nan, 1e-30, -1e-30, 1e30, -1e30,
                          88.0, -104.0, 700.0]]).astype(ft)
    return _pairs(v, v)


# ----------------------------------------------------------------------------- references

def _sigmoid_ref(x):
    # MinPy's nn.sigmoid: 1 / (1 + exp(-x)), 0 where exp(-x) overflows in x's dtype
    with onp.errstate(all="ignore"):
        over = onp.isinf(onp.exp(-x))
        w = x.astype(onp.longdouble)
        r = 1 / (1 + onp.exp(-w))
    return onp.where(over, 0, r)


_UNARY_REF = {
    "exp": onp.exp, "exp2": onp.exp2, "expm1": onp.expm1, "log": onp.log, "log2": onp.log2,
    "log10": onp.log10, "log1p": onp.log1p, "sqrt": onp.sqrt, "tanh": onp.tanh,
    "arctan": onp.arctan, "sin": onp.sin, "cos": onp.cos, "tan": onp.tan, "sinh": onp.sinh,
    "cosh": onp.cosh, "arcsin": onp.arcsin, "arccos": onp.arccos, "arcsinh": onp.arcsinh,
    "arccosh": onp.arccosh, "arctanh": onp.arctanh, "cbrt": onp.cbrt,
}
_BINARY_REF = {"power": onp.power, "logaddexp": onp.logaddexp, "logaddexp2": onp.logaddexp2}


def _numpy(name: str, *xs: onp.ndarray) -> onp.ndarray:
    """NumPy's own result in the inputs' dtype (what MinPy's op gives)."""
    with onp.errstate(all="ignore"):
        if name == "nn.sigmoid":
            x = xs[0]
            return (1.0 / (1.0 + onp.exp(-x))).astype(x.dtype)
        return (_UNARY_REF.get(name) or _BINARY_REF[name])(*xs)


def _reference(name: str, wide, *xs: onp.ndarray) -> onp.ndarray:
    """The function in a wider type (float64 for float32 inputs, long double for float64)."""
    with onp.errstate(all="ignore"):
        if name == "nn.sigmoid":
            return _sigmoid_ref(xs[0]).astype(wide)
        f = _UNARY_REF.get(name) or _BINARY_REF[name]
        return f(*[x.astype(wide) for x in xs])


def _ulp_error(ours: onp.ndarray, ref: onp.ndarray, dtype, scale=None) -> onp.ndarray:
    """|ours - ref| in ULP of the result dtype at ref, or at ``scale`` where that is
    larger (subnormal spacing below tiny)."""
    fi = onp.finfo(dtype)
    wide = ref.dtype
    r = onp.abs(ref)
    if scale is not None:
        r = onp.maximum(r, scale.astype(wide))
    _, e = onp.frexp(onp.where(r == 0, fi.tiny, r))
    e = onp.maximum(e - 1, fi.minexp)
    ulp = onp.ldexp(onp.ones_like(r), e - fi.nmant)
    return (onp.abs(ours.astype(wide) - ref) / ulp).astype(onp.float64)


def _check(name: str, dtype, ours, ref_wide, numpy_res, xs, bound: float) -> float:
    """Assert the error bound and NumPy's special values; returns the largest error."""
    ft = onp.dtype(dtype).type
    ref = ref_wide.astype(ft)
    it = onp.uint32 if ft is onp.float32 else onp.uint64

    def where(mask):
        i = onp.flatnonzero(mask)[:5]
        return ", ".join(f"x={tuple(float(x[j]) for x in xs)} ours={ours[j]!r} "
                         f"numpy={numpy_res[j]!r} ref={ref_wide[j]!r}" for j in i)

    nan = onp.isnan(ours)
    bad = nan != onp.isnan(numpy_res)
    assert not bad.any(), f"{name} {dtype}: NaN where NumPy differs: {where(bad)}"
    # infinities and zeros where NumPy's result is the correctly rounded one: same bits
    special = (onp.isinf(numpy_res) | (numpy_res == 0)) & (numpy_res.view(it) == ref.view(it))
    bad = special & (ours.view(it) != numpy_res.view(it))
    assert not bad.any(), f"{name} {dtype}: inf/zero differs from NumPy: {where(bad)}"
    bad = onp.isinf(ours) & ~onp.isinf(ref)
    assert not bad.any(), f"{name} {dtype}: overflows too early: {where(bad)}"
    bad = ~nan & (onp.signbit(ours) != onp.signbit(ref)) & ~onp.isnan(ref)
    assert not bad.any(), f"{name} {dtype}: wrong sign: {where(bad)}"
    fin = onp.isfinite(ours) & onp.isfinite(ref_wide)
    scale = None
    if FUNCS[name].relative_to != "result":          # logaddexp: max(|x|, |y|, |result|)
        scale = onp.maximum(onp.abs(xs[0]), onp.abs(xs[1]))[fin]
    err = _ulp_error(ours[fin], ref_wide[fin], ft, scale)
    worst = float(err.max()) if err.size else 0.0
    if worst > bound:
        sub = onp.zeros_like(fin)
        sub[onp.flatnonzero(fin)[err > bound]] = True
        raise AssertionError(f"{name} {dtype}: max error {worst:.3f} ULP > documented "
                             f"{bound}: {where(sub)}")
    return worst


_MEASURED: dict[tuple[str, str], float] = {}


def _measure(lib, name: str, dt, ref_dt, samples, max_ulp) -> None:
    """One function in one dtype against the reference computed in ``ref_dt``."""
    fn = FUNCS[name]
    if fn.nin == 1:
        xs = (samples(),)
    elif name == "power":
        xs = _power_samples(dt)
    else:
        xs = _binary_samples(dt)
    dname = onp.dtype(dt).name
    ours = lib.apply(name, dname, *xs)
    _MEASURED[(name, dname)] = _check(name, dt, ours, _reference(name, ref_dt, *xs),
                                      _numpy(name, *xs), xs, max_ulp)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_float32(lib, name):
    _measure(lib, name, onp.float32, onp.float64, _f32_samples, FUNCS[name].max_ulp_f32)
    assert _kname(name, "float32") in lib.vectorised, f"{name} float32 loop not vectorised"


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_float64(lib, name):
    _measure(lib, name, onp.float64, onp.longdouble, _f64_samples, FUNCS[name].max_ulp_f64)
    if FUNCS[name].vector_f64:
        assert _kname(name, "float64") in lib.vectorised, f"{name} float64 loop not vectorised"


def test_call_names_the_functions():
    assert mathlib.call("tanh", "float32", "a[i] * b[i]") == "mp_tanh_f(a[i] * b[i])"
    assert mathlib.call("power", "float64", "x", "y") == "mp_power_d(x, y)"
    assert mathlib.call("nn.sigmoid", "float32", "v") == "mp_sigmoid_f(v)"
    assert mathlib.call("add", "float32", "x", "y") is None
    assert mathlib.call("exp", "float16", "x") is None
    with pytest.raises(ValueError, match="exp takes 1 operand"):
        mathlib.call("exp", "float32", "x", "y")
    for fn in FUNCS.values():          # every function named is in the header
        assert f" {fn.f32}(" in HEADER and f" {fn.f64}(" in HEADER, fn.name


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 only")
def test_vectorises_on_avx2():
    """Compiled for an AVX2 CPU (not run: compiling needs no such CPU), every loop still
    vectorises: the header avoids what only AVX-512 has (64-bit integer to double
    conversion, 64-bit arithmetic shifts, masked execution of ?:). (SSE4.2 did too when
    this was written; plain SSE2 lacks 64-bit integer compares.)"""
    march = "-march=haswell"
    lib = _build(march, std=False, load=False)
    missing = [f"{name} {dtype}" for dtype in ("float32", "float64") for name, fn in FUNCS.items()
               if (dtype == "float32" or fn.vector_f64)
               and _kname(name, dtype) not in lib.vectorised]
    assert not missing, f"not vectorised with {march}: {missing}"


def test_speed_against_libm(lib, capsys):
    """Prints the speed-up over the same loop calling the C library (not asserted: the
    machine may be loaded); the vectorisation itself is asserted above."""
    x = onp.random.default_rng(3).uniform(-5, 5, 1 << 18)
    rows = []
    for dtype in ("float32", "float64"):
        a = x.astype(dtype)
        b = onp.full_like(a, 1.7)
        for name in _STD:
            if dtype == "float64" and not FUNCS[name].vector_f64:
                continue                # the same libm call on both sides
            args = (onp.abs(a) + 0.5, b) if name == "power" else (a,)

            t_std = t_mp = float("inf")
            for _ in range(7):          # interleaved, so that a load change hits both
                for std in (True, False):
                    t0 = time.perf_counter()
                    lib.apply(name, dtype, *args, std=std)
                    t = time.perf_counter() - t0
                    if std:
                        t_std = min(t_std, t)
                    else:
                        t_mp = min(t_mp, t)
            rows.append(f"{name:11s} {dtype}: {t_std / a.size * 1e9:6.2f} ns -> "
                        f"{t_mp / a.size * 1e9:6.2f} ns per element ({t_std / t_mp:4.1f}x)")
    with capsys.disabled():
        print("\nmathlib against the C library's functions (same loop):\n" + "\n".join(rows))
        if _MEASURED:
            print("measured max ULP: " + ", ".join(f"{n}/{d[5:]}={v:.3f}"
                                                   for (n, d), v in sorted(_MEASURED.items())))
