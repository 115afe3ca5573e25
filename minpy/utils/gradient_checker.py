"""Compare analytic gradients with central differences, in float64."""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as _onp

from .. import config as _config
from ..array import Array
from ..autograd import grad as _grad


def numerical_grad(fun: Callable, args: Sequence, argnum: int, eps: float = 1e-6) -> _onp.ndarray:
    """Central-difference gradient of scalar ``fun`` with respect to ``args[argnum]``."""
    base = [a.asnumpy().astype("float64") if isinstance(a, Array) else
            _onp.asarray(a, dtype="float64") if isinstance(a, (_onp.ndarray, list, float)) else a
            for a in args]
    x = base[argnum]
    out = _onp.zeros_like(x)
    it = _onp.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        vals = []
        for sign in (1.0, -1.0):
            xp = x.copy()
            xp[i] += sign * eps
            call = list(base)
            call[argnum] = Array(xp, dtype="float64")
            call = [Array(c, dtype="float64") if isinstance(c, _onp.ndarray) and k != argnum else c
                    for k, c in enumerate(call)]
            vals.append(float(fun(*call)))
        out[i] = (vals[0] - vals[1]) / (2.0 * eps)
    return out


def check_grad(fun: Callable, args: Sequence, argnum: Union[int, Sequence[int]] = 0,
               eps: float = 1e-6) -> float:
    """Worst relative error between ``grad(fun)`` and central differences.

    Everything runs in float64 (inputs are converted) so that the differences
    measure the gradient rather than rounding.
    """
    argnums = [argnum] if isinstance(argnum, int) else list(argnum)
    prev = _config.get_default_dtype()
    _config.set_default_dtype("float64")
    try:
        args64 = [Array(a.asnumpy().astype("float64"), dtype="float64") if isinstance(a, Array) else
                  Array(_onp.asarray(a, dtype="float64"), dtype="float64")
                  if isinstance(a, (_onp.ndarray, list, float)) else a for a in args]
        worst = 0.0
        for k in argnums:
            analytic = _grad(fun, k)(*args64).asnumpy().astype("float64")
            numeric = numerical_grad(fun, args64, k, eps)
            # entries far below the gradient's own scale are compared on that scale: central
            # differences resolve them only to about 1e-10 absolute
            scale = 1e-3 * max(float(_onp.abs(numeric).max(initial=0.0)), 1e-8)
            denom = _onp.maximum(_onp.abs(analytic) + _onp.abs(numeric), scale)
            err = float(_onp.max(_onp.abs(analytic - numeric) / denom)) if analytic.size else 0.0
            worst = max(worst, err)
        return worst
    finally:
        _config.set_default_dtype(prev)


def quick_grad_check(fun: Callable, arg, verbose: bool = True, eps: float = 1e-2,
                     rtol: float = 1e-2, atol: float = 1e-2, rs=None) -> None:
    """Check ``grad(fun)`` at ``arg`` along one random direction (MinPy 0.3's check).

    One directional central difference, ``(f(x + eps d) - f(x - eps d)) / 2 eps``,
    against the analytic ``<grad f(x), d>``: two evaluations instead of two per
    element, so large parameters are cheap to check. Runs in float64; raises
    ``AssertionError`` naming both numbers when they differ by more than
    ``atol + rtol * |numeric|``.
    """
    rs = rs if rs is not None else _onp.random.RandomState()
    prev = _config.get_default_dtype()
    _config.set_default_dtype("float64")
    try:
        x = arg.asnumpy() if isinstance(arg, Array) else _onp.asarray(arg)
        x = x.astype("float64")
        direction = rs.standard_normal(x.shape)
        norm = _onp.sqrt(_onp.sum(direction ** 2))
        direction = direction / norm if norm > 0 else direction

        def at(v):
            return float(fun(Array(v, dtype="float64")))
        numeric = (at(x + eps * direction) - at(x - eps * direction)) / (2 * eps)
        g = _grad(fun)(Array(x, dtype="float64"))
        analytic = float(_onp.sum(_onp.asarray(g.asnumpy(), dtype="float64") * direction))
    finally:
        _config.set_default_dtype(prev)
    if verbose:
        print(f"quick_grad_check: directional derivative numeric {numeric:.6g}, "
              f"analytic {analytic:.6g}")
    if not abs(numeric - analytic) <= atol + rtol * abs(numeric):
        raise AssertionError(f"quick_grad_check failed: the numeric directional derivative "
                             f"{numeric:.6g} and grad's {analytic:.6g} differ by more than "
                             f"atol={atol} + rtol={rtol} * |numeric|")
