"""Vectorisable float32/float64 math functions for the fused C++ kernels.

glibc's ``expf``, ``tanh``... are scalar calls, so a loop that uses them does not
vectorise. ``HEADER`` is C++ source of ``static inline`` functions made only of
arithmetic, bit operations and selects, which g++ inlines and vectorises inside
``#pragma omp simd`` loops. ``FUNCS`` maps a MinPy op name to the C functions and to
the largest error measured by ``tests/test_codegen_math.py`` (the test asserts these
bounds). Special values (NaN, +-inf, +-0, subnormals) behave as NumPy's functions do.

Compile with ``FLAGS`` (``-fno-math-errno -fno-trapping-math``); neither changes a
value. Without ``-fno-math-errno`` g++ keeps ``sqrt`` a scalar call (it may have to set
``errno``), so ``sqrt``, ``arcsin``, ``arccos``, ``arcsinh`` and ``arccosh`` loops stay
scalar. Without ``-fno-trapping-math`` g++ will not execute both sides of a ``?:`` whose
condition is a float comparison unless the target has AVX-512 masks, so on AVX2 and
older CPUs almost no loop vectorises. Do not use ``-ffast-math``: it lets g++ drop the
NaN and infinity handling.

How the float32 functions are built:
- ``exp``, ``log``, ``tanh``, ``sigmoid`` (the hot ones in training) compute in float32;
- the others compute in float64 through the float64 functions below and round once,
  so they are within about half a unit in the last place;
- ``sin``/``cos``/``tan`` reduce the argument exactly for every float32 (2/pi in 24-bit
  pieces whose products with a float32 are exact in float64), so ``sin(1e30)`` is right.
Float64 ``power``, ``sin``, ``cos``, ``tan``, ``sinh``, ``cosh``, the inverse
trigonometric and hyperbolic functions and ``cbrt`` call the C library (``std::``):
accurate but not vectorised.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Dict, Optional, Sequence

#: compiler flags the kernels that include ``HEADER`` should use (besides -O3 etc.)
FLAGS = ("-fno-math-errno", "-fno-trapping-math")


@dataclass(frozen=True)
class MathFunc:
    """One MinPy op: C function names per dtype, arity and the measured error bound.

    ``max_ulp_f32``/``max_ulp_f64`` bound the error against a more precise reference,
    in units in the last place of the result's dtype at the magnitude ``relative_to``
    names (the test asserts them). ``vector_f64`` is False where the float64 function
    calls the C library (accurate, but the loop stays scalar)."""
    name: str
    f32: str
    f64: str
    nin: int
    max_ulp_f32: float
    max_ulp_f64: float
    vector_f64: bool = True
    relative_to: str = "result"

    def cname(self, dtype: str) -> str:
        """The C function for ``dtype`` ("float32" or "float64")."""
        return {"float32": self.f32, "float64": self.f64}[dtype]


def _hex(v: Fraction | float) -> str:
    return float(v).hex()


def _horner(var: str, coeffs: Sequence[Fraction | float], suffix: str = "") -> str:
    """``c0 + var*(c1 + var*(c2 + ...))`` with exact hex constants."""
    expr = _hex(coeffs[-1]) + suffix
    for c in reversed(coeffs[:-1]):
        expr = f"({_hex(c)}{suffix} + {var} * {expr})"
    return expr


# Taylor coefficients: 1/k! for expm1 (k = 2..14), 2/(2j+1) for the log series in
# s = f/(2+f) (j = 1..10), (-1)^k/(2k+1) for arctan, the sin/cos series
_INVFACT = [Fraction(1, math.factorial(k)) for k in range(2, 15)]
_LOG_D = [Fraction(2, 2 * j + 1) for j in range(1, 11)]
_LOG_F = [Fraction(2, 2 * j + 1) for j in range(1, 6)]
_ATAN_D = [Fraction((-1) ** k, 2 * k + 1) for k in range(1, 21)]
_ATAN_F = [Fraction((-1) ** k, 2 * k + 1) for k in range(1, 12)]
_ATANH_FD = [Fraction(1, 2 * j + 1) for j in range(1, 9)]
_EXP_FD = [Fraction(1, math.factorial(k)) for k in range(1, 11)]
_SIN_F = [Fraction((-1) ** k, math.factorial(2 * k + 1)) for k in range(1, 7)]
_COS_F = [Fraction((-1) ** k, math.factorial(2 * k)) for k in range(2, 8)]

# 2/pi in 24-bit pieces: piece k holds bits 24k+1 .. 24k+24 after the binary point
_TWO_OVER_PI = ["0x1.45f306p-1", "0x1.b93910p-26", "0x1.529fc0p-52", "0x1.3abe88p-75",
                "0x1.ea69bap-97", "0x1.81b6c4p-121", "0x1.2b3278p-145", "0x1.0e4104p-170",
                "0x1.fca2c6p-193"]

_REDUCE_TERMS = "\n".join(
    f"  t = x * {c}; mp_acc_mod4_d(t, hi, lo);" for c in _TWO_OVER_PI[1:])

HEADER = r"""
// MinPy vectorisable math (minpy/jit/codegen/mathlib.py). Branch-free: selects only.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#define MP_INLINE static inline __attribute__((always_inline))

MP_INLINE uint32_t mp_bits_f(float x) { uint32_t u; std::memcpy(&u, &x, 4); return u; }
MP_INLINE float mp_float(uint32_t u) { float x; std::memcpy(&x, &u, 4); return x; }
MP_INLINE uint64_t mp_bits_d(double x) { uint64_t u; std::memcpy(&u, &x, 8); return u; }
MP_INLINE double mp_double(uint64_t u) { double x; std::memcpy(&x, &u, 8); return x; }
MP_INLINE float mp_abs_f(float x) { return mp_float(mp_bits_f(x) & 0x7fffffffu); }
MP_INLINE double mp_abs_d(double x) { return mp_double(mp_bits_d(x) & 0x7fffffffffffffffull); }
// magnitude of m with the sign of s
MP_INLINE float mp_sign_f(float m, float s) {
  return mp_float((mp_bits_f(m) & 0x7fffffffu) | (mp_bits_f(s) & 0x80000000u)); }
MP_INLINE double mp_sign_d(double m, double s) {
  return mp_double((mp_bits_d(m) & 0x7fffffffffffffffull) | (mp_bits_d(s) & 0x8000000000000000ull)); }
// round to nearest even, |x| < 2^51 (the sum rounds away the fraction)
MP_INLINE double mp_rint_d(double x) { return (x + 0x1.8p52) - 0x1.8p52; }
// 2^n for -1022 <= n <= 1023
MP_INLINE double mp_pow2_d(int64_t n) { return mp_double((uint64_t)(n + 1023) << 52); }
// (double)k for |k| < 2^51 through the bits of 1.5*2^52 + k: AVX2 has no vector
// int64 -> double conversion, and a loop with one does not vectorise there
MP_INLINE double mp_i64_to_d(int64_t k) {
  return mp_double(0x4338000000000000ull + (uint64_t)k) - 0x1.8p52; }
MP_INLINE float mp_pow2_f(int32_t n) { return mp_float((uint32_t)(n + 127) << 23); }

#define MP_NAN_F std::numeric_limits<float>::quiet_NaN()
#define MP_INF_F std::numeric_limits<float>::infinity()
#define MP_NAN_D std::numeric_limits<double>::quiet_NaN()
#define MP_INF_D std::numeric_limits<double>::infinity()

// c ? a : b through bit masks. The special-value cases end with this blend rather than
// a ?: because g++ (without -fno-trapping-math) may turn a final ?: into a branch
// around the ordinary computation (which could trap), and then not vectorise the loop.
MP_INLINE float mp_blend_f(bool c, float a, float b) {
  uint32_t m = 0u - (uint32_t)c;
  return mp_float((mp_bits_f(a) & m) | (mp_bits_f(b) & ~m)); }
MP_INLINE double mp_blend_d(bool c, double a, double b) {
  uint64_t m = 0ull - (uint64_t)c;
  return mp_double((mp_bits_d(a) & m) | (mp_bits_d(b) & ~m)); }

// ------------------------------------------------------------------ float64 exp family
// expm1(r) for |r| <= 0.35: Taylor series to r^14 (truncation < 2^-56 relative)
MP_INLINE double mp_expm1_poly_d(double r) {
  return r + (r * r) * @EXPM1_POLY_D@;
}

// x = n*ln2 + r + c with |r| <= ln2/2 (Cody-Waite: n*ln2_hi is exact); n as double and int
MP_INLINE void mp_exp_reduce_d(double x, double &n, int64_t &ni, double &r, double &c) {
  double kf = x * 0x1.71547652b82fep+0 + 0x1.8p52;
  ni = (int64_t)(mp_bits_d(kf) - mp_bits_d(0x1.8p52));
  n = kf - 0x1.8p52;
  double hi = x - n * 0x1.62e42feep-1;
  double lo = n * 0x1.a39ef35793c76p-33;
  r = hi - lo;
  c = (hi - r) - lo;
}

// p * 2^n for -1077 <= n <= 1025 in two exact steps, so that the one rounding happens
// at the end (subnormal results round once, overflow gives inf)
MP_INLINE double mp_scale_d(double p, int64_t n) {
  // floor(n / 2) with a logical shift (AVX2 has no 64-bit arithmetic shift)
  int64_t n1 = (int64_t)((uint64_t)(n + 4096) >> 1) - 2048;
  return p * mp_pow2_d(n1) * mp_pow2_d(n - n1);
}

MP_INLINE double mp_exp_d(double x) {
  double xc = x > 710.0 ? 710.0 : (x != x ? 0.0 : x);   // NaN: 0 here, x at the end
  xc = xc < -746.0 ? -746.0 : xc;
  double n, r, c; int64_t ni;
  mp_exp_reduce_d(xc, n, ni, r, c);
  double em = mp_expm1_poly_d(r);
  double y = mp_scale_d(1.0 + (em + (c + c * em)), ni);
  y = y > 0x1.fffffffffffffp+1023 ? 0x1.fffffffffffffp+1023 : y;
  y = y < 0x1p-1074 ? 0x1p-1074 : y;
  y = x >= 0x1.62e42fefa39f0p+9 ? MP_INF_D : y;
  y = x <= -0x1.74910d52d3052p+9 ? 0.0 : y;
  return x != x ? x : y;
}

MP_INLINE double mp_exp2_d(double x) {
  double xc = x > 1025.0 ? 1025.0 : (x != x ? 0.0 : x);
  xc = xc < -1077.0 ? -1077.0 : xc;
  double n = mp_rint_d(xc);
  int64_t ni = (int64_t)(mp_bits_d(n + 0x1.8p52) - mp_bits_d(0x1.8p52));
  double r = (xc - n) * 0x1.62e42fefa39efp-1;
  double y = mp_scale_d(1.0 + mp_expm1_poly_d(r), ni);
  // classified on the bits: x >= 1024 (inf), x <= -1075 (0), nan
  uint64_t b = mp_bits_d(x), ab = b & 0x7fffffffffffffffull;
  bool over = b - 0x4090000000000000ull <= 0x7ff0000000000000ull - 0x4090000000000000ull;
  double sp = over ? MP_INF_D : (ab > 0x7ff0000000000000ull ? x : 0.0);
  return mp_blend_d(over | (ab > 0x7ff0000000000000ull) | (b >= 0xc090cc0000000000ull), sp, y);
}

MP_INLINE double mp_expm1_d(double x) {
  double xc = x > 710.0 ? 710.0 : (x != x ? 0.0 : x);
  xc = xc < -40.0 ? -40.0 : xc;              // expm1(-40) rounds to -1
  double n, r, c; int64_t ni;
  mp_exp_reduce_d(xc, n, ni, r, c);
  double em0 = mp_expm1_poly_d(r);
  double em = em0 + (c + c * em0);           // expm1(r + c)
  // n >= 1: 2^n (em + (1 - 2^-n)); n <= -1: 2^n em + (2^n - 1); n == 0: em
  int64_t nneg = ni < 0 ? ni : -1;
  double tneg = mp_pow2_d(nneg);
  double yneg = em * tneg + (tneg - 1.0);
  int64_t npos = ni > 0 ? ni : 1;
  double inv = npos > 1022 ? 0.0 : mp_pow2_d(-(npos > 1022 ? 1 : npos));
  double ypos = mp_scale_d(em + (1.0 - inv), npos);
  double y = ni == 0 ? em0 : (ni > 0 ? ypos : yneg);
  y = y > 0x1.fffffffffffffp+1023 ? 0x1.fffffffffffffp+1023 : y;
  // classified on the bits: overflow (+inf included), +-0 (keeps -0) and nan
  uint64_t b = mp_bits_d(x), ab = b & 0x7fffffffffffffffull;
  bool over = b - 0x40862e42fefa39f0ull <= 0x7ff0000000000000ull - 0x40862e42fefa39f0ull;
  double sp = over ? MP_INF_D : x;
  return mp_blend_d(over | (ab == 0) | (ab > 0x7ff0000000000000ull), sp, y);
}

MP_INLINE double mp_tanh_d(double x) {
  // |x| < 1: -t/(t+2) with t = expm1(-2|x|); else 1 - 2/(t+2) with t = expm1(2|x|)
  double a = mp_abs_d(x);
  a = a > 22.0 ? 22.0 : a;                   // tanh(22) rounds to 1; NaN stays
  double small = a < 1.0 ? 1.0 : 0.0;
  double t = mp_expm1_d(small != 0.0 ? -2.0 * a : 2.0 * a);
  double y = small != 0.0 ? -t / (t + 2.0) : 1.0 - 2.0 / (t + 2.0);
  return mp_sign_d(y, x);
}

MP_INLINE double mp_sigmoid_d(double x) { return 1.0 / (1.0 + mp_exp_d(-x)); }

// ------------------------------------------------------------------ float64 log family
// x > 0 finite: x = 2^k (1 + f), sqrt(2)/2 <= 1+f < sqrt(2); log(1+f) = f - hfsq + sR
MP_INLINE void mp_log_parts_d(double x, double &dk, double &f, double &hfsq, double &sR) {
  bool sub = mp_bits_d(x) < 0x0010000000000000ull;     // +0 and subnormals
  double xs = sub ? x * 0x1p54 : x;
  uint64_t ix = mp_bits_d(xs) + (0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull);
  int64_t k = (int64_t)(ix >> 52) - 1023 - (sub ? 54 : 0);
  double m = mp_double((ix & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull);
  f = m - 1.0;
  double s = f / (2.0 + f);
  double z = s * s;
  double R = z * @LOG_POLY_D@;
  hfsq = 0.5 * f * f;
  sR = s * (hfsq + R);
  dk = mp_i64_to_d(k);
}

// log of x <= 0, inf, NaN as NumPy: log(0) = -inf, log(<0) = nan, log(inf) = inf
MP_INLINE double mp_log_special_d(double x, double y) {
  uint64_t b = mp_bits_d(x);
  double sp = b == 0x7ff0000000000000ull ? x : 0.0;
  sp = (b & 0x7fffffffffffffffull) == 0 ? -MP_INF_D : sp;
  sp = b > 0x8000000000000000ull ? MP_NAN_D : sp;
  sp = (b & 0x7fffffffffffffffull) > 0x7ff0000000000000ull ? x : sp;
  return mp_blend_d(b - 1 >= 0x7fefffffffffffffull, sp, y);   // not positive and finite
}

MP_INLINE double mp_log_d(double x) {
  double dk, f, hfsq, sR;
  mp_log_parts_d(x, dk, f, hfsq, sR);
  double y = dk * 0x1.62e42feep-1 - ((hfsq - (sR + dk * 0x1.a39ef35793c76p-33)) - f);
  return mp_log_special_d(x, y);
}

// log2 and log10: log(1+f) split as hi + lo with hi's low 32 bits zero, so that
// hi times the 21-bit high part of the constant is exact (as fdlibm's e_log2.c)
MP_INLINE double mp_log2_d(double x) {
  double dk, f, hfsq, sR;
  mp_log_parts_d(x, dk, f, hfsq, sR);
  double hi = mp_double(mp_bits_d(f - hfsq) & 0xffffffff00000000ull);
  double lo = (f - hi) - hfsq + sR;
  double vhi = hi * 0x1.71547652p+0;
  double vlo = (lo + hi) * 0x1.705fc2eefa200p-33 + lo * 0x1.71547652p+0;
  double w = dk + vhi;
  vlo += (dk - w) + vhi;
  return mp_log_special_d(x, vlo + w);
}

MP_INLINE double mp_log10_d(double x) {
  double dk, f, hfsq, sR;
  mp_log_parts_d(x, dk, f, hfsq, sR);
  double hi = mp_double(mp_bits_d(f - hfsq) & 0xffffffff00000000ull);
  double lo = (f - hi) - hfsq + sR;
  double vhi = hi * 0x1.bcb7b152p-2;
  double y2 = dk * 0x1.34413508p-2;
  double vlo = dk * 0x1.f79fef311f12bp-34 + (lo + hi) * 0x1.b9438ca9aadd5p-36
               + lo * 0x1.bcb7b152p-2;
  double w = y2 + vhi;
  vlo += (y2 - w) + vhi;
  return mp_log_special_d(x, vlo + w);
}

MP_INLINE double mp_log1p_d(double x) {
  // u = 1 + x rounded; c = (1 + x) - u corrects it (as musl's log1p)
  double u = 1.0 + x;
  // (for u <= 0, inf or nan the bits give garbage that the special cases replace)
  uint64_t iu = mp_bits_d(u) + (0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull);
  int64_t k = (int64_t)(iu >> 52) - 1023;
  double m = mp_double((iu & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull);
  double c = (k >= 2 ? 1.0 - (u - x) : x - (u - 1.0)) / u;
  c = mp_blend_d((k == 0) | (k >= 54), 0.0, c);
  double f = k == 0 ? x : m - 1.0;
  double s = f / (2.0 + f);
  double z = s * s;
  double R = z * @LOG_POLY_D@;
  double hfsq = 0.5 * f * f;
  double dk = mp_i64_to_d(k);
  double y = s * (hfsq + R) + (dk * 0x1.a39ef35793c76p-33 + c) - hfsq + f + dk * 0x1.62e42feep-1;
  // classified on the bits: +-0 (keeps -0), inf and nan give x, -1 -inf, below nan
  uint64_t b = mp_bits_d(x), ab = b & 0x7fffffffffffffffull;
  double sp = b == 0xbff0000000000000ull ? -MP_INF_D : x;
  sp = b > 0xbff0000000000000ull ? MP_NAN_D : sp;
  return mp_blend_d((ab == 0) | (ab >= 0x7ff0000000000000ull) | (b >= 0xbff0000000000000ull),
                    sp, y);
}

// ------------------------------------------------------------------ float64 arctan
// atan(t), 0 <= t <= 1: atan(t) = pi/4 + atan((t-1)/(t+1)) above tan(pi/8)
MP_INLINE double mp_atan01_d(double t) {
  bool big = t > 0x1.a827999fcef32p-2;
  double u = big ? (t - 1.0) / (t + 1.0) : t;
  double z = u * u;
  double p = u + u * (z * @ATAN_POLY_D@);
  return big ? 0x1.921fb54442d18p-1 + (p + 0x1.1a62633145c07p-55) : p;
}

MP_INLINE double mp_arctan_d(double x) {
  double a = mp_abs_d(x);
  bool inv = a > 1.0;
  double t = inv ? 1.0 / a : a;
  double p = mp_atan01_d(t);
  double y = inv ? 0x1.921fb54442d18p+0 + (0x1.1a62633145c07p-54 - p) : p;
  return mp_sign_d(y, x);
}

MP_INLINE double mp_logaddexp_d(double x, double y) {
  // NumPy: x == y gives x + log(2) (also for infinities); NaN in, NaN out
  double d = x - y;
  double m = d > 0.0 ? x : y;
  double ad = mp_abs_d(d);
  double r = m + mp_log1p_d(mp_exp_d(-ad));
  double sp = x == y ? x + 0x1.62e42fefa39efp-1 : d;
  return mp_blend_d((x == y) | (d != d), sp, r);
}

MP_INLINE double mp_logaddexp2_d(double x, double y) {
  double d = x - y;
  double m = d > 0.0 ? x : y;
  double ad = mp_abs_d(d);
  double r = m + mp_log1p_d(mp_exp2_d(-ad)) * 0x1.71547652b82fep+0;
  double sp = x == y ? x + 1.0 : d;
  return mp_blend_d((x == y) | (d != d), sp, r);
}

// ------------------------------------------------------------------ float64 via libm
MP_INLINE double mp_sqrt_d(double x) { return std::sqrt(x); }
MP_INLINE double mp_power_d(double x, double y) { return std::pow(x, y); }
MP_INLINE double mp_sin_d(double x) { return std::sin(x); }
MP_INLINE double mp_cos_d(double x) { return std::cos(x); }
MP_INLINE double mp_tan_d(double x) { return std::tan(x); }
MP_INLINE double mp_sinh_d(double x) { return std::sinh(x); }
MP_INLINE double mp_cosh_d(double x) { return std::cosh(x); }
MP_INLINE double mp_arcsin_d(double x) { return std::asin(x); }
MP_INLINE double mp_arccos_d(double x) { return std::acos(x); }
MP_INLINE double mp_arcsinh_d(double x) { return std::asinh(x); }
MP_INLINE double mp_arccosh_d(double x) { return std::acosh(x); }
MP_INLINE double mp_arctanh_d(double x) { return std::atanh(x); }
MP_INLINE double mp_cbrt_d(double x) { return std::cbrt(x); }

// ------------------------------------------------------------------ float32, native
// exp: Cody-Waite with ln2 = 0.693359375 - 2.12194440e-4 (n*C1 exact), Cephes' degree-7
// polynomial, 2^n in two steps; the thresholds make overflow and underflow exact
MP_INLINE float mp_exp_core_f(float x, int32_t &ni) {
  float kf = x * 0x1.715476p+0f + 0x1.8p23f;
  ni = (int32_t)(mp_bits_f(kf) - mp_bits_f(0x1.8p23f));
  float n = kf - 0x1.8p23f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r
              + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
  return (p * (r * r) + r) + 1.0f;
}

MP_INLINE float mp_exp_f(float x) {
  float xc = x > 89.0f ? 89.0f : (x != x ? 0.0f : x);
  xc = xc < -104.0f ? -104.0f : xc;
  int32_t ni;
  float p = mp_exp_core_f(xc, ni);
  int32_t n1 = ni / 2;
  float y = p * mp_pow2_f(n1) * mp_pow2_f(ni - n1);
  y = y > 0x1.fffffep+127f ? 0x1.fffffep+127f : y;
  y = y < 0x1p-149f ? 0x1p-149f : y;
  y = x >= 0x1.62e43p+6f ? MP_INF_F : y;
  y = x <= -0x1.9fe36ap+6f ? 0.0f : y;
  return x != x ? x : y;
}

// log: x = 2^k (1+f), log(1+f) = f - hfsq + s(hfsq + R) with s = f/(2+f)
MP_INLINE float mp_log_f(float x) {
  uint32_t b = mp_bits_f(x);
  uint32_t sub = b < 0x00800000u ? 23u : 0u;      // +0 and subnormals: scale by 2^23
  float xs = sub ? x * 0x1p23f : x;
  uint32_t ix = mp_bits_f(xs) + (0x3f800000u - 0x3f3504f3u);
  int32_t k = (int32_t)(ix >> 23) - 127 - (int32_t)sub;
  float m = mp_float((ix & 0x007fffffu) + 0x3f3504f3u);
  float f = m - 1.0f;
  float s = f / (2.0f + f);
  float z = s * s;
  float R = z * @LOG_POLY_F@;
  float hfsq = 0.5f * f * f;
  float dk = (float)k;
  float y = dk * 0x1.62e4p-1f - ((hfsq - (s * (hfsq + R) + dk * 0x1.7f7d1cp-20f)) - f);
  float sp = b == 0x7f800000u ? x : 0.0f;
  sp = (b & 0x7fffffffu) == 0u ? -MP_INF_F : sp;
  sp = b > 0x80000000u ? MP_NAN_F : sp;
  sp = (b & 0x7fffffffu) > 0x7f800000u ? x : sp;
  return mp_blend_f(b - 1u >= 0x7f7fffffu, sp, y);   // not positive and finite
}

// tanh: odd polynomial (Cephes) below 0.625, else 1 - 2/(exp(2|x|) + 1)
MP_INLINE float mp_tanh_f(float x) {
  float a = mp_abs_f(x);
  float ac = a > 10.0f ? 10.0f : (a != a ? 1.0f : a);   // tanh(10) rounds to 1
  ac = ac < 0.5f ? 0.5f : ac;                // keep the unused branch in range
  int32_t ni;
  float p = mp_exp_core_f(2.0f * ac, ni);
  float e = p * mp_pow2_f(ni);               // 2 <= e <= exp(20)
  float big = 1.0f - 2.0f / (e + 1.0f);
  float z = x * x;
  float sm = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
               + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * a + a;
  float y = a < 0.625f ? sm : big;
  y = x != x ? x : y;
  return mp_sign_f(y, x);
}

// sigmoid as MinPy's nn.sigmoid computes it: 1 / (1 + exp(-x)) (0 once exp(-x) overflows)
MP_INLINE float mp_sigmoid_f(float x) { return 1.0f / (1.0f + mp_exp_f(-x)); }

MP_INLINE float mp_sqrt_f(float x) { return std::sqrt(x); }

// ------------------------------------------------------------------ float32 via float64
MP_INLINE float mp_expm1_f(float x) { return (float)mp_expm1_d((double)x); }
MP_INLINE float mp_exp2_f(float x) { return (float)mp_exp2_d((double)x); }
MP_INLINE float mp_log1p_f(float x) { return (float)mp_log1p_d((double)x); }
MP_INLINE float mp_log2_f(float x) { return (float)mp_log2_d((double)x); }
MP_INLINE float mp_log10_f(float x) { return (float)mp_log10_d((double)x); }
MP_INLINE float mp_logaddexp_f(float x, float y) { return (float)mp_logaddexp_d(x, y); }
MP_INLINE float mp_logaddexp2_f(float x, float y) { return (float)mp_logaddexp2_d(x, y); }

MP_INLINE double mp_atan01_fd(double t) {   // float32 accuracy is enough here
  bool big = t > 0x1.a827999fcef32p-2;
  double u = big ? (t - 1.0) / (t + 1.0) : t;
  double z = u * u;
  double p = u + u * (z * @ATAN_POLY_F@);
  return big ? 0x1.921fb54442d18p-1 + p : p;
}

MP_INLINE float mp_arctan_f(float x) {
  double a = (double)mp_abs_f(x);
  bool inv = a > 1.0;
  double p = mp_atan01_fd(inv ? 1.0 / a : a);
  return mp_sign_f((float)(inv ? 0x1.921fb54442d18p+0 - p : p), x);
}

// x*(2/pi) mod 4, exactly enough for every float32: each piece of 2/pi has 24 bits, so
// its product with x is exact in float64; each product is reduced mod 4 exactly and
// the residues are summed as a double-double (hi + lo)
MP_INLINE void mp_acc_mod4_d(double t, double &hi, double &lo) {
  double q = 4.0 * mp_rint_d(t * 0.25);
  t = mp_abs_d(t) >= 0x1p50 ? 0.0 : t - q;  // products of 2^50 or more are multiples of 4
  double s = hi + t;
  double bb = s - hi;
  lo += (hi - (s - bb)) + (t - bb);
  hi = s;
}

// x = q*pi/2 + r, |r| <= pi/4 (slightly more), q mod 4 in the low bits of qi
MP_INLINE double mp_reduce_pio2_f(float xf, int64_t &qi) {
  double x = (double)xf;
  double hi = 0.0, lo = 0.0, t;
  t = x * 0x1.45f306p-1; mp_acc_mod4_d(t, hi, lo);
@REDUCE_TERMS@
  double n = mp_rint_d(hi);
  double f = (hi - n) + lo;
  double n2 = mp_rint_d(f);                  // f may pass 1/2 by a little
  f -= n2;
  n += n2;
  qi = (int64_t)(mp_bits_d(n + 0x1.8p52) - mp_bits_d(0x1.8p52));
  return f * 0x1.921fb54442d18p+0;
}

MP_INLINE void mp_sincos_poly_d(double r, double &s, double &c) {
  double z = r * r;
  s = r + r * (z * @SIN_POLY@);
  c = 1.0 - 0.5 * z + (z * z) * @COS_POLY@;
}

MP_INLINE float mp_sin_f(float x) {
  int64_t q;
  double r = mp_reduce_pio2_f(x, q);
  double s, c;
  mp_sincos_poly_d(r, s, c);
  double y = (q & 1) ? c : s;
  y = (q & 2) ? -y : y;
  float sp = x == 0.0f ? x : MP_NAN_F;      // keeps -0; inf gives nan
  return mp_blend_f((x == 0.0f) | (mp_abs_f(x) == MP_INF_F), sp, (float)y);
}

MP_INLINE float mp_cos_f(float x) {
  int64_t q;
  double r = mp_reduce_pio2_f(x, q);
  double s, c;
  mp_sincos_poly_d(r, s, c);
  double y = (q & 1) ? s : c;
  y = ((q + 1) & 2) ? -y : y;
  return mp_blend_f(mp_abs_f(x) == MP_INF_F, MP_NAN_F, (float)y);
}

MP_INLINE float mp_tan_f(float x) {
  int64_t q;
  double r = mp_reduce_pio2_f(x, q);
  double s, c;
  mp_sincos_poly_d(r, s, c);
  double y = (q & 1) ? -c / s : s / c;
  float sp = x == 0.0f ? x : MP_NAN_F;
  return mp_blend_f((x == 0.0f) | (mp_abs_f(x) == MP_INF_F), sp, (float)y);
}

MP_INLINE float mp_sinh_f(float x) {
  double a = (double)mp_abs_f(x);
  a = a > 100.0 ? 100.0 : a;                 // overflows float32 anyway
  double em = mp_expm1_d(a);
  return mp_sign_f((float)(0.5 * (em + em / (em + 1.0))), x);
}

MP_INLINE float mp_cosh_f(float x) {
  double a = (double)mp_abs_f(x);
  a = a > 100.0 ? 100.0 : a;
  double e = mp_exp_d(a);
  return (float)(0.5 * e + 0.5 / e);
}

MP_INLINE float mp_arcsin_f(float x) {
  double a = (double)mp_abs_f(x);
  double d = (1.0 - a) * (1.0 + a);          // exact: a has 24 bits
  double t = a / std::sqrt(d > 0.0 ? d : 0.0);    // inf at 1
  double y = t > 1.0 ? 0x1.921fb54442d18p+0 - mp_atan01_fd(1.0 / t) : mp_atan01_fd(t);
  return mp_blend_f((mp_bits_f(x) & 0x7fffffffu) > 0x3f800000u, MP_NAN_F, mp_sign_f((float)y, x));
}

MP_INLINE float mp_arccos_f(float x) {
  // 2 atan(sqrt((1-x)/(1+x))), exact at both ends
  double xd = (double)x;
  double q = (1.0 - xd) / (1.0 + xd);
  double t = std::sqrt(q > 0.0 ? q : 0.0);
  double y = t > 1.0 ? 0x1.921fb54442d18p+0 - mp_atan01_fd(1.0 / t) : mp_atan01_fd(t);
  return mp_blend_f((mp_bits_f(x) & 0x7fffffffu) > 0x3f800000u, MP_NAN_F, (float)(2.0 * y));
}

MP_INLINE float mp_arcsinh_f(float x) {
  double a = (double)mp_abs_f(x);
  double a2 = a * a;
  double y = mp_log1p_d(a + a2 / (1.0 + std::sqrt(1.0 + a2)));
  return mp_blend_f((mp_bits_f(x) & 0x7fffffffu) == 0x7f800000u, x, mp_sign_f((float)y, x));
}

MP_INLINE float mp_arccosh_f(float x) {
  double t = (double)x - 1.0;                // exact
  double y = mp_log1p_d(t + std::sqrt(t * (2.0 + t)));    // nan below 1, replaced
  uint32_t b = mp_bits_f(x);                 // below 1 (and -0, negatives), inf, nan
  return mp_blend_f((b < 0x3f800000u) | (b >= 0x7f800000u), b == 0x7f800000u ? x : MP_NAN_F,
                    (float)y);
}

MP_INLINE float mp_arctanh_f(float x) {
  double a = (double)mp_abs_f(x);
  double y = 0.5 * mp_log1p_d(2.0 * a / (1.0 - a));  // a = 1: log1p(inf) = inf
  return mp_blend_f((mp_bits_f(x) & 0x7fffffffu) > 0x3f800000u, MP_NAN_F, mp_sign_f((float)y, x));
}

MP_INLINE float mp_cbrt_f(float x) {
  double a = (double)mp_abs_f(x);
  double y = mp_exp2_d(mp_log2_d(a) * (1.0 / 3.0));   // 0 -> 0, inf -> inf, NaN -> NaN
  return mp_sign_f((float)y, x);
}

// log2(a) for a positive finite float32 (a normal double), relative error below 2^-45:
// a = 2^k (1+f), log2(1+f) = 2 atanh(s) / ln2 with s = f/(2+f), series to s^17
MP_INLINE double mp_log2_fd(double a) {
  uint64_t ix = mp_bits_d(a) + (0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull);
  double k = mp_i64_to_d((int64_t)(ix >> 52) - 1023);
  double f = mp_double((ix & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull) - 1.0;
  double s = f / (2.0 + f);
  double z = s * s;
  return k + (s * 0x1.71547652b82fep+1) * (1.0 + z * @ATANH_POLY_FD@);
}

// 2^t for |t| <= 200 with a relative error below 2^-40: t = n + g, |g| <= 1/2, and the
// series of exp(g ln2) to the 10th power (2^n is a normal double)
MP_INLINE double mp_exp2_fd(double t) {
  double n = mp_rint_d(t);
  int64_t ni = (int64_t)(mp_bits_d(n + 0x1.8p52) - mp_bits_d(0x1.8p52));
  double r = (t - n) * 0x1.62e42fefa39efp-1;
  return (1.0 + r * @EXP_POLY_FD@) * mp_pow2_d(ni);
}

// power as C's powf (what NumPy's float32 power uses), through float64:
// |x|^y = 2^(y log2|x|) has a relative error near 2^-40, then one rounding to float32
MP_INLINE float mp_power_f(float xf, float yf) {
  double x = (double)xf, y = (double)yf;
  double ax = mp_abs_d(x), ay = mp_abs_d(y);
  // only positive finite |x| reach the series; 0 and inf give -inf and inf, nan nan
  uint64_t ab = mp_bits_d(ax);
  double l = mp_log2_fd(ax);                 // (garbage for 0, inf and nan, replaced)
  l = mp_blend_d(ab - 1 >= 0x7fefffffffffffffull, ab == 0 ? -MP_INF_D : ax, l);
  double t = y * l;                          // 2^t overflows past 128 and is 0 below -150
  double tc = t > 200.0 ? 200.0 : (t < -200.0 ? -200.0 : t);
  double mag = mp_exp2_fd(t != t ? 0.0 : tc);
  mag = mp_blend_d(t != t, t, mag);
  // every float32 of 2^24 or more is an even integer (yb = 0 stands for them); below,
  // y is odd when y is an integer and y/2 is not. Selects on doubles only: g++ does
  // not vectorise this loop with integer or bool masks made from these comparisons.
  double yb = ay >= 0x1p24 ? 0.0 : y;
  double half = yb * 0.5;
  double frac = mp_rint_d(yb) == yb ? 0.0 : 1.0;        // 1: y not an integer (or nan)
  double odd = mp_rint_d(half) != half ? 1.0 - frac : 0.0;
  double r = odd != 0.0 ? mp_sign_d(mag, x) : mag;     // -0 and -inf keep the sign too
  double bad = x < 0.0 ? frac : 0.0;                   // negative base, fractional power
  bad = ax == MP_INF_D ? 0.0 : bad;
  r = mp_blend_d(bad != 0.0, MP_NAN_D, r);
  r = mp_blend_d((x == -1.0) & (ay == MP_INF_D), 1.0, r);
  // x == 1 or y == 0 gives 1 even for a quiet NaN in the other operand, but C's powf
  // (and so NumPy) gives NaN for a signalling one, which float64 conversion would quiet
  double xsnan = (mp_bits_f(xf) & 0x7fffffffu) - 0x7f800001u < 0x3fffffu ? 1.0 : 0.0;
  double ysnan = (mp_bits_f(yf) & 0x7fffffffu) - 0x7f800001u < 0x3fffffu ? 1.0 : 0.0;
  r = mp_blend_d(x == 1.0, ysnan != 0.0 ? y : 1.0, r);
  r = mp_blend_d(y == 0.0, xsnan != 0.0 ? x : 1.0, r);
  return (float)r;
}
"""

HEADER = (HEADER.replace("@EXPM1_POLY_D@", _horner("r", _INVFACT))
          .replace("@ATANH_POLY_FD@", _horner("z", _ATANH_FD))
          .replace("@EXP_POLY_FD@", _horner("r", _EXP_FD))
          .replace("@LOG_POLY_D@", _horner("z", _LOG_D))
          .replace("@LOG_POLY_F@", _horner("z", _LOG_F, "f"))
          .replace("@ATAN_POLY_D@", _horner("z", _ATAN_D))
          .replace("@ATAN_POLY_F@", _horner("z", _ATAN_F))
          .replace("@SIN_POLY@", _horner("z", _SIN_F))
          .replace("@COS_POLY@", _horner("z", _COS_F))
          .replace("@REDUCE_TERMS@", _REDUCE_TERMS))


def _f(name: str, ulp32: float, ulp64: float, nin: int = 1, vector_f64: bool = True,
       cname: Optional[str] = None, relative_to: str = "result") -> MathFunc:
    c = cname or name
    return MathFunc(name, f"mp_{c}_f", f"mp_{c}_d", nin, ulp32, ulp64, vector_f64, relative_to)


# The bounds are the largest errors measured, rounded up a little (g++ chooses where to
# fuse a*b+c, which moves the last bit between builds). Float32 functions computed
# through float64 are within half an ULP plus the float64 error: 0.51. Native float32
# ones were swept over every 53rd float32 (81 million values: exp 0.99, log 0.75, tanh
# 1.30, sigmoid 2.37); float64 ones over random bit patterns, ranges and special values
# against long double. Where the float64 function is libm's (vector_f64=False) it is
# NumPy's own float64 function; the bound is what glibc documents or was measured.
#: MinPy op name -> its functions and maximum errors (ULP of the result dtype)
FUNCS: Dict[str, MathFunc] = {f.name: f for f in [
    _f("exp", 1.1, 1.2),
    _f("exp2", 0.51, 1.3),
    _f("expm1", 0.51, 2.0),
    _f("log", 0.9, 1.0),
    _f("log2", 0.51, 0.9),
    _f("log10", 0.51, 0.9),
    _f("log1p", 0.51, 1.0),
    _f("sqrt", 0.5, 0.5),
    _f("tanh", 1.5, 2.5),
    _f("nn.sigmoid", 2.5, 2.5, cname="sigmoid"),
    _f("arctan", 0.51, 2.5),
    _f("power", 0.51, 1.0, nin=2, vector_f64=False),
    # x + log1p(exp(y - x)) as NumPy computes it: near a zero result the sum cancels, so
    # the error is counted in ULP of max(|x|, |y|, |result|) (NumPy's own is the same)
    _f("logaddexp", 0.51, 3.0, nin=2, relative_to="max(|x|, |y|, |result|)"),
    _f("logaddexp2", 0.51, 3.0, nin=2, relative_to="max(|x|, |y|, |result|)"),
    _f("sin", 0.51, 1.0, vector_f64=False),
    _f("cos", 0.51, 1.0, vector_f64=False),
    _f("tan", 0.51, 1.0, vector_f64=False),
    _f("sinh", 0.51, 2.0, vector_f64=False),
    _f("cosh", 0.51, 2.0, vector_f64=False),
    _f("arcsin", 0.51, 1.0, vector_f64=False),
    _f("arccos", 0.51, 1.0, vector_f64=False),
    _f("arcsinh", 0.51, 2.0, vector_f64=False),
    _f("arccosh", 0.51, 2.0, vector_f64=False),
    _f("arctanh", 0.51, 2.0, vector_f64=False),
    _f("cbrt", 0.51, 4.0, vector_f64=False),
]}


def call(op: str, dtype: str, *args: str) -> Optional[str]:
    """The C++ expression for MinPy op ``op`` on the C expressions ``args`` in ``dtype``
    ("float32" or "float64"), or None where this module has no function for them."""
    fn = FUNCS.get(op)
    if fn is None or dtype not in ("float32", "float64"):
        return None
    if len(args) != fn.nin:
        raise ValueError(f"mathlib.call: {op} takes {fn.nin} operand(s), got {len(args)}")
    return f"{fn.cname(dtype)}({', '.join(args)})"
