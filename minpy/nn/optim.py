"""First-order update rules: ``next_w, config = rule(w, dw, config)``.

``config`` is a dict of hyperparameters and per-parameter state; missing
entries take the defaults below and state (velocity, moments, step count) is
created on the first call. Use one config dict per parameter.

Hyperparameters and step-dependent factors (the learning rate, Adam's bias
corrections ``1 - beta ** t``) are Python floats computed outside the array
expression, so in lazy mode they become inputs of the cached graph and a
changing learning rate or step count does not recompile it.
"""
from __future__ import annotations

from .. import numpy as np

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam", "get"]


def sgd(w, dw, config=None):
    """``w - learning_rate * dw``. Defaults: learning_rate=1e-2."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """``v = momentum * v - learning_rate * dw; w + v``.
    Defaults: learning_rate=1e-2, momentum=0.9, velocity starts at zero."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """``cache = decay_rate * cache + (1 - decay_rate) * dw**2;
    w - learning_rate * dw / (sqrt(cache) + epsilon)``.
    Defaults: learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    d = config["decay_rate"]
    cache = d * cache + (1.0 - d) * (dw * dw)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    """Adam with bias correction:
    ``t += 1; m = beta1 m + (1 - beta1) dw; v = beta2 v + (1 - beta2) dw**2;
    w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)``.
    Defaults: learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    m, v = config.get("m"), config.get("v")
    if m is None:
        m = np.zeros_like(w)
    if v is None:
        v = np.zeros_like(w)
    # hyperparameters stay as given (Python numbers, or 0-d arrays inside @jit, where
    # reading their value would break the trace)
    b1, b2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = b1 * m + (1.0 - b1) * dw
    v = b2 * v + (1.0 - b2) * (dw * dw)
    corr1 = 1.0 - b1 ** t          # Python floats: graph inputs in lazy mode
    corr2 = 1.0 - b2 ** t
    next_w = w - config["learning_rate"] * (m / corr1) / (np.sqrt(v / corr2) +
                                                                 config["epsilon"])
    config.update(t=t, m=m, v=v)
    return next_w, config


def get(rule):
    """An update rule by name (or the callable itself)."""
    if callable(rule):
        return rule
    try:
        return {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}[rule]
    except KeyError:
        raise ValueError(f"minpy.nn.optim: unknown update rule {rule!r}; use sgd, sgd_momentum, "
                         f"rmsprop, adam or a callable(w, dw, config)") from None
