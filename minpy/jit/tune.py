"""Benchmark-driven tuning of ``minpy.jit.config`` on this machine.

``python -m minpy.jit.tune [--quick] [--output PATH]`` times a few small workloads
under each value of a few knobs, interleaving the variants round by round and
keeping the best round of each, and writes the chosen values (with the
measurements and a description of the machine) to a JSON profile that
``import minpy.jit`` loads (see :func:`minpy.jit.config.load_profile`).

Knobs are swept one after another, each on top of the values already chosen:

* ``vehicle``: small RNN gradient step under ``@minpy.jit`` and a 20-op elementwise
  chain in lazy mode (geometric mean of the two ratios);
* ``batch_min_group`` (2, 4, 8): the RNN step;
* ``pack_outputs`` (True, False): the RNN step;
* ``max_pending`` (500, 5000): a lazy loop of 2000 operations read once at the end.

A value other than the default is chosen only when it is at least ``MARGIN``
faster than the default, so noise does not move the settings.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import platform
import sys
import time

import numpy as onp

from .config import JitConfig, config, profile_path

MARGIN = 0.05  # a non-default value must be this much faster to be chosen


# -- workloads (benchmarks/workloads.py reuses these two; minpy does not import it) ----
def elementwise_chain(xp, x, y):
    """Twenty elementwise operations, the kind a NumPy user chains by hand."""
    z = x * 0.5 + y
    z = xp.maximum(z, 0.1)
    z = z * z - y
    z = xp.abs(z) + 1.0
    z = xp.sqrt(z) * x
    z = z / (xp.abs(y) + 1.0)
    z = xp.minimum(z, 3.0) - 0.25
    z = xp.negative(z) * 2.0
    z = z + x * y
    z = xp.square(z) * 0.01
    return z


def rnn_loss(xp, Wx, Wh, b, xs, target):
    """A vanilla tanh RNN over ``xs`` (steps, batch, input) with a squared loss."""
    h = xp.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = xp.tanh(xp.dot(xs[t], Wx) + xp.dot(h, Wh) + b)
    d = h - target
    return (d * d).sum()


def _rnn_args(steps):
    import minpy.numpy as mnp
    rng = onp.random.RandomState(0)
    arrays = (rng.randn(3, 5) * 0.3, rng.randn(5, 5) * 0.3, onp.zeros(5),
              rng.randn(steps, 4, 3), rng.randn(4, 5))
    return [mnp.array(a.astype("float32")) for a in arrays]


def _wait(values):
    for v in values:
        v.wait_to_read()


def rnn_jit(steps=50):
    """Variant factory: a jitted RNN gradient step, compiled under the current config."""
    import minpy
    import minpy.numpy as mnp
    from minpy.core import grad_and_loss
    args = _rnn_args(steps)
    step = minpy.jit(grad_and_loss(lambda Wx, Wh, b, xs, t: rnn_loss(mnp, Wx, Wh, b, xs, t),
                                   [0, 1, 2]))
    fn = lambda: _wait(step(*args)[0])  # noqa: E731
    fn()
    return fn, 30


def chain_lazy():
    """Variant factory: the 64x64 elementwise chain in lazy mode."""
    import minpy
    import minpy.numpy as mnp
    rng = onp.random.RandomState(0)
    x, y = (mnp.array(rng.randn(64, 64).astype("float32")) for _ in range(2))

    def fn():
        with minpy.lazy():
            elementwise_chain(mnp, x, y).wait_to_read()
    fn()
    return fn, 20


def loop_lazy(ops=2000):
    """Variant factory: a lazy loop with no value read until the end."""
    import minpy
    import minpy.numpy as mnp
    x0 = mnp.ones((8, 8))

    def fn():
        with minpy.lazy():
            x = x0
            for _ in range(ops):
                x = x * 0.999 + 0.001
            x.wait_to_read()
    fn()
    return fn, 1


# knob -> (values, workloads); the first value listed is JitConfig's default
SWEEPS = {
    "vehicle": (["auto", "executor", "cachedop"], [rnn_jit, chain_lazy]),
    "batch_min_group": ([4, 2, 8], [rnn_jit]),
    "pack_outputs": ([True, False], [rnn_jit]),
    "max_pending": ([5000, 500], [loop_lazy]),
}
ROUNDS = {"default": 15, "quick": 4}


# -- sweeping ---------------------------------------------------------------------------
class _Progress:
    """tqdm when it is installed (the ``progress`` extra), else one counter line."""

    def __init__(self, total, enabled=True):
        self.total, self.n, self.enabled, self.bar = total, 0, enabled, None
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc="minpy.jit.tune", unit="step",
                                leave=False, file=sys.stderr)
            except ImportError:
                pass

    def step(self, what):
        self.n += 1
        if self.bar is not None:
            self.bar.set_postfix_str(what, refresh=False)
            self.bar.update(1)
        elif self.enabled:
            sys.stderr.write(f"\rminpy.jit.tune: {self.n}/{self.total} {what:<40}")
            sys.stderr.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stderr.write("\n")


class _Variant:
    """One knob value on one workload: its own config values and graph cache."""

    def __init__(self, settings, factory):
        self.settings = settings
        self.cache = collections.OrderedDict()
        with self:
            self.fn, self.n = factory()

    def __enter__(self):
        from . import compile as _compile
        self.saved = {k: getattr(config, k) for k in self.settings}, _compile.cache
        vars(config).update(self.settings)
        _compile.cache = self.cache    # lazy-mode graphs compiled under these settings
        return self

    def __exit__(self, *exc):
        from . import compile as _compile
        vars(config).update(self.saved[0])
        _compile.cache = self.saved[1]

    def time_round(self):
        with self:
            t = time.perf_counter()
            for _ in range(self.n):
                self.fn()
            return (time.perf_counter() - t) / self.n


def sweep(sweeps=None, rounds=7, progress=True):
    """Time every knob value and choose; returns ``(chosen, measurements)``.

    ``chosen`` maps each swept knob to its value, ``measurements`` holds the best
    seconds per call of each workload under each value.
    """
    sweeps = SWEEPS if sweeps is None else sweeps
    defaults = vars(JitConfig())
    chosen, measurements = {}, {}
    bar = _Progress(sum(len(vals) * len(works) + rounds for vals, works in sweeps.values()),
                    progress)
    try:
        for knob, (values, works) in sweeps.items():
            # a spare build kept alive meanwhile: the first graph built ran slower here
            spare = [_Variant(dict(chosen), w) for w in works]  # noqa: F841
            variants = {}
            for v in values:
                for w in works:
                    bar.step(f"{knob}={v} compile {w.__name__}")
                    variants[v, w.__name__] = _Variant({**chosen, knob: v}, w)
            best = {k: math.inf for k in variants}
            for r in range(rounds):
                bar.step(f"{knob} round {r + 1}/{rounds}")
                keys = list(variants)
                for k in keys[r % len(keys):] + keys[:r % len(keys)]:   # rotate: no seat is favoured
                    best[k] = min(best[k], variants[k].time_round())
            base = defaults[knob] if defaults[knob] in values else values[0]
            score = {v: math.exp(sum(math.log(best[v, w.__name__] / best[base, w.__name__])
                                     for w in works) / len(works)) for v in values}
            pick = min(values, key=lambda v: score[v])
            chosen[knob] = pick if score[pick] < 1 - MARGIN else base
            measurements[knob] = {w.__name__: {str(v): best[v, w.__name__] for v in values}
                                  for w in works}
            measurements[knob]["relative"] = {str(v): score[v] for v in values}
    finally:
        bar.close()
    return chosen, measurements


def machine() -> dict:
    import mxnet
    return {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "numpy": onp.__version__,
            "mxnet": mxnet.__version__}


def tune(output=None, quick=False, progress=True, sweeps=None, rounds=None) -> dict:
    """Sweep from JitConfig's defaults, write the profile to ``output``, return it."""
    output = os.fspath(output or profile_path() or _default_path())
    rounds = rounds or ROUNDS["quick" if quick else "default"]
    saved = dict(vars(config))
    vars(config).update(vars(JitConfig()))   # tune from the defaults, not a loaded profile
    t0 = time.perf_counter()
    try:
        chosen, measurements = sweep(sweeps, rounds, progress)
    finally:
        vars(config).update(saved)
    profile = {"format": "minpy-jit-profile", "version": 1, "config": chosen,
               "measurements": measurements, "rounds": rounds, "quick": quick,
               "seconds": round(time.perf_counter() - t0, 2),
               "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine()}
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    tmp = output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(profile, f, indent=2)
        f.write("\n")
    os.replace(tmp, output)
    profile["path"] = output
    return profile


def _default_path():
    saved = os.environ.pop("MINPY_JIT_PROFILE", None)
    try:
        return profile_path()
    finally:
        if saved is not None:
            os.environ["MINPY_JIT_PROFILE"] = saved


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m minpy.jit.tune", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds (about 15 s)")
    p.add_argument("--output", help="profile path (default: $MINPY_JIT_PROFILE, "
                                    "else ~/.config/minpy/jit_profile.json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    a = p.parse_args(argv)
    prof = tune(a.output, a.quick, not a.no_progress)
    for knob, m in prof["measurements"].items():
        rel = ", ".join(f"{v}: {r:.2f}x" for v, r in m["relative"].items())
        print(f"{knob:16s} -> {prof['config'][knob]!r:12s} (time vs default: {rel})")
    print(f"wrote {prof['path']} in {prof['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
