"""Parameter initialisers: ``rule(shape, config) -> Array``.

Each takes the parameter's shape and a config dict (missing keys take the
documented defaults) and returns a fresh MinPy array of the default float
dtype (or ``config['dtype']``). Use them directly or name them in
``ModelBase.add_param(..., init_rule='xavier')`` / ``Solver(init_rule=...)``.
"""
from __future__ import annotations

import math

import numpy as _onp

from .. import numpy as np

__all__ = ["constant", "uniform", "gaussian", "xavier", "custom", "get"]


def _dtype(config):
    return (config or {}).get("dtype")


def constant(shape, config=None):
    """Every entry is ``config['value']`` (default 0)."""
    config = config or {}
    return np.full(tuple(shape), float(config.get("value", 0.0)), dtype=_dtype(config))


def uniform(shape, config=None):
    """Uniform on ``[config['low'], config['high'])`` (default [-0.1, 0.1))."""
    config = config or {}
    return np.random.uniform(float(config.get("low", -0.1)), float(config.get("high", 0.1)),
                             tuple(shape), dtype=_dtype(config))


def gaussian(shape, config=None):
    """Normal with mean ``config['mu']`` (0) and standard deviation ``config['stdvar']`` (0.001)."""
    config = config or {}
    return np.random.normal(float(config.get("mu", 0.0)), float(config.get("stdvar", 0.001)),
                            tuple(shape), dtype=_dtype(config))


def _fans(shape):
    shape = tuple(shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:                       # affine weights (in, out)
        return shape[0], shape[1]
    receptive = int(_onp.prod(shape[2:]))      # conv weights (out, in, kh, kw)
    return shape[1] * receptive, shape[0] * receptive


def xavier(shape, config=None):
    """Glorot/Xavier uniform on ``[-a, a)``.

    ``config['mode']`` picks the scale: ``'avg'`` (default) ``a = sqrt(6 / (fan_in + fan_out))``,
    ``'in'`` ``a = sqrt(3 / fan_in)``, ``'out'`` ``a = sqrt(3 / fan_out)``; ``config['magnitude']``
    (default 1) multiplies ``a``. Fans: (in, out) for 2-d affine weights, and
    ``C * HH * WW`` / ``F * HH * WW`` for (F, C, HH, WW) convolution weights.
    """
    config = config or {}
    fan_in, fan_out = _fans(shape)
    mode = config.get("mode", "avg")
    mag = float(config.get("magnitude", 1.0))
    if mode == "avg":
        a = math.sqrt(6.0 / (fan_in + fan_out))
    elif mode == "in":
        a = math.sqrt(3.0 / fan_in)
    elif mode == "out":
        a = math.sqrt(3.0 / fan_out)
    else:
        raise ValueError(f"minpy.nn.init.xavier: mode must be 'avg', 'in' or 'out', got {mode!r}")
    return np.random.uniform(-a * mag, a * mag, tuple(shape), dtype=_dtype(config))


def custom(shape, config=None):
    """``config['function'](shape)``: a user's initialiser (MinPy 0.3); zeros without one."""
    func = (config or {}).get("function")
    if func is None:
        return np.zeros(tuple(shape), dtype=_dtype(config))
    out = func(tuple(shape))
    if tuple(getattr(out, "shape", ())) != tuple(shape):
        raise ValueError(f"minpy.nn.init.custom: the function returned shape "
                         f"{getattr(out, 'shape', None)}, expected {tuple(shape)}")
    return out


def get(rule):
    """An initialiser by name (or the callable itself)."""
    if callable(rule):
        return rule
    try:
        return {"constant": constant, "uniform": uniform, "gaussian": gaussian,
                "xavier": xavier, "custom": custom}[rule]
    except KeyError:
        raise ValueError(f"minpy.nn.init: unknown init rule {rule!r}; use constant, uniform, "
                         f"gaussian, xavier or a callable(shape, config)") from None
