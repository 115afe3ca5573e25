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
* ``max_pending`` (500, 5000): a lazy loop of 2000 operations read once at the end;
* ``fully_connected`` (True, False): the MLP step (below): large products through
  oneDNN's FullyConnected, with the transposes it needs, or MXNet's ``dot`` with
  transpose flags.

Before the knobs, MXNet's engine: the naive engine (operators run in the calling
thread) against the default threaded one, each in a child process (MXNet fixes its
engine when it starts), on a 64x64 elementwise chain, the small RNN gradient step and
a 784-512-512-10 MLP SGD step, all under ``@minpy.jit``, the two children timing
their rounds in turn. The choice is the profile's ``"engine"``, which ``import
minpy`` applies before MXNet runs anything (see ``minpy/_profile.py``); the knobs
are then swept under the chosen engine (in a child process when it is not this
process's).

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
import subprocess
import sys
import tempfile
import time

import numpy as onp

from .. import _profile
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


def log_softmax(xp, s):
    """Row-wise log-softmax of (N, C) scores, shifted by the row maximum."""
    sh = s - xp.max(s, axis=1, keepdims=True)
    return sh - xp.log(xp.sum(xp.exp(sh), axis=1, keepdims=True))


def softmax_ce(xp, s, onehot):
    """Mean softmax cross-entropy of (N, C) scores against one-hot rows."""
    return -xp.sum(log_softmax(xp, s) * onehot) / s.shape[0]


def mlp_data(batch=256, dims=(784, 512, 512, 10), seed=0):
    """Inputs, one-hot targets and (W1, b1, W2, b2, W3, b3) for a ReLU MLP."""
    rng = onp.random.RandomState(seed)
    x = rng.randn(batch, dims[0]).astype("float32")
    onehot = onp.eye(dims[-1], dtype="float32")[rng.randint(0, dims[-1], batch)]
    params = []
    for din, dout in zip(dims[:-1], dims[1:]):
        params.append((rng.randn(din, dout) * onp.sqrt(2.0 / din)).astype("float32"))
        params.append(onp.zeros(dout, dtype="float32"))
    return params, x, onehot


def mlp_loss(xp, W1, b1, W2, b2, W3, b3, x, onehot):
    """784-512-512-10 ReLU MLP with a softmax cross-entropy loss."""
    h = xp.maximum(xp.dot(x, W1) + b1, 0.0)
    h = xp.maximum(xp.dot(h, W2) + b2, 0.0)
    return softmax_ce(xp, xp.dot(h, W3) + b3, onehot)


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


def chain_jit():
    """Variant factory: the 64x64 elementwise chain under ``@minpy.jit``."""
    import minpy
    import minpy.numpy as mnp
    rng = onp.random.RandomState(0)
    x, y = (mnp.array(rng.randn(64, 64).astype("float32")) for _ in range(2))
    chain = minpy.jit(lambda x, y: elementwise_chain(mnp, x, y))
    fn = lambda: chain(x, y).wait_to_read()  # noqa: E731
    fn()
    return fn, 50


def mlp_jit(batch=256):
    """Variant factory: a jitted SGD step (gradients and in-place updates) of the
    784-512-512-10 MLP."""
    import minpy
    import minpy.numpy as mnp
    from minpy.core import grad_and_loss
    params, x, onehot = mlp_data(batch)
    args = [mnp.array(a) for a in (*params, x, onehot)]
    gl = grad_and_loss(lambda *a: mlp_loss(mnp, *a), list(range(6)))

    @minpy.jit
    def step(*a):
        grads, loss = gl(*a)
        for p, g in zip(a[:6], grads):
            p[:] = p - 0.1 * g
        return loss

    def fn():
        step(*args)
        _wait(args[:6])
    fn()
    return fn, 3


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
    # products through oneDNN's FullyConnected (with the transposes it needs) or
    # MXNet's dot with transpose flags: which is faster depends on the CPU
    "fully_connected": ([True, False], [mlp_jit]),
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


# -- MXNet's engine: one child process per engine -----------------------------------------
ENGINE_WORKLOADS = [chain_jit, rnn_jit, mlp_jit]
_MARK = "@@minpy-rounds "        # prefixes the children's answers (MXNet may print too)


class RoundWorker:
    """A child process that times workloads under one MXNet engine, one round each
    time it is asked, so that the rounds of several engines interleave (MXNet fixes
    its engine when it starts: two engines cannot share a process)."""

    def __init__(self, engine: str, argv: list, env: dict = None) -> None:
        env = dict(os.environ if env is None else env)
        env[_profile.MX_ENGINE_ENV] = _profile.ENGINES[engine]
        env.pop(_profile.ENGINE_ENV, None)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.engine = engine
        self.err = tempfile.TemporaryFile(mode="w+")   # read back only when it fails
        self.proc = subprocess.Popen([sys.executable, *argv], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True,
                                     env=env)
        self.hello = None

    def _answer(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith(_MARK):
                return json.loads(line[len(_MARK):])
        self.proc.wait()
        self.err.seek(0)
        raise RuntimeError(f"the {self.engine} engine's worker exited with {self.proc.returncode}:"
                           f"\n{self.err.read()[-3000:]}")

    def ready(self) -> dict:
        """The worker's greeting: the engine it runs and its variants' names."""
        if self.hello is None:
            self.hello = self._answer()
        return self.hello

    def round(self) -> dict:
        """Seconds per call of each variant, timed once now."""
        self.ready()
        self.proc.stdin.write("round\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.err.close()


def serve_rounds(variants: dict, warm: bool = False) -> None:
    """The child's side of :class:`RoundWorker`: ``variants`` maps names to ``(fn,
    calls)``; each "round" line on stdin times every variant once (``warm``: one
    untimed call first) and answers seconds per call."""
    import minpy
    print(_MARK + json.dumps({"engine": minpy.mxnet_engine.name, "variants": list(variants)}),
          flush=True)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        out = {}
        for name, (fn, n) in variants.items():
            if warm:
                fn()
            t = time.perf_counter()
            for _ in range(n):
                fn()
            out[name] = (time.perf_counter() - t) / n
        print(_MARK + json.dumps(out), flush=True)


def interleave(workers: dict, rounds: int, bar=None) -> dict:
    """Best seconds per call of every worker's variants over ``rounds`` rounds, the
    workers taking turns (rotating which goes first)."""
    for w in workers.values():
        w.ready()
    best = {}
    keys = list(workers)
    for r in range(rounds):
        if bar is not None:
            bar.step(f"engine round {r + 1}/{rounds}")
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            for name, sec in workers[k].round().items():
                best[k, name] = min(best.get((k, name), math.inf), sec)
    return best


def sweep_engine(rounds=7, progress=True, workloads=None) -> tuple:
    """Time the naive and the threaded engine (in child processes); returns the
    choice (the naive engine only when it is ``MARGIN`` faster, geometric mean over
    the workloads) and the measurements."""
    names = [w.__name__ for w in (workloads or ENGINE_WORKLOADS)]
    bar = _Progress(rounds + 1, progress)
    workers = {}
    try:
        env = dict(os.environ, **{_profile.PROFILE_ENV: "none"})   # from the defaults
        for engine in ("threaded", "naive"):
            workers[engine] = RoundWorker(engine, ["-m", "minpy.jit.tune", "--engine-worker",
                                                   ",".join(names)], env)
        bar.step("starting one process per engine")
        best = interleave(workers, rounds, bar)
    finally:
        for w in workers.values():
            w.close()
        bar.close()
    score = math.exp(sum(math.log(best["naive", n] / best["threaded", n]) for n in names)
                     / len(names))
    choice = "naive" if score < 1 - MARGIN else "threaded"
    measurements = {n: {e: best[e, n] for e in ("threaded", "naive")} for n in names}
    measurements["relative"] = {"threaded": 1.0, "naive": score}
    return choice, measurements


def _engine_worker(names: str) -> None:
    factories = {f.__name__: f for f in ENGINE_WORKLOADS + [chain_lazy, loop_lazy]}
    serve_rounds({n: factories[n]() for n in names.split(",")})


def _sweep_in_child(engine: str, rounds: int, knobs=None) -> tuple:
    """The knob sweep (``knobs``: some of SWEEPS) under ``engine`` in a child process:
    ``(chosen, measurements)``."""
    argv = ["-m", "minpy.jit.tune", "--knobs-worker", str(rounds)]
    if knobs:
        argv += ["--knobs", ",".join(knobs)]
    w = RoundWorker(engine, argv, dict(os.environ, **{_profile.PROFILE_ENV: "none"}))
    try:
        out = w.ready()
    finally:
        w.close()
    if out.get("engine") != _profile.ENGINES[engine]:
        raise RuntimeError(f"the knob sweep ran under {out.get('engine')}, not {engine}")
    return out["chosen"], out["measurements"]


def machine() -> dict:
    import mxnet
    return {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "numpy": onp.__version__,
            "mxnet": mxnet.__version__}


def tune(output=None, quick=False, progress=True, sweeps=None, rounds=None,
         engine: bool = True) -> dict:
    """Choose MXNet's engine (``engine``: else the profile keeps none), sweep the knobs
    from JitConfig's defaults under it, write the profile to ``output``, return it."""
    import minpy
    output = os.fspath(output or profile_path() or _default_path())
    rounds = rounds or ROUNDS["quick" if quick else "default"]
    t0 = time.perf_counter()
    chosen_engine, engine_measured = None, None
    if engine:
        chosen_engine, engine_measured = sweep_engine(rounds, progress)
    if chosen_engine is not None and sweeps is None and \
            chosen_engine != minpy.mxnet_engine.kind:
        chosen, measurements = _sweep_in_child(chosen_engine, rounds)
    else:
        saved = dict(vars(config))
        vars(config).update(vars(JitConfig()))   # tune from the defaults, not a loaded profile
        try:
            chosen, measurements = sweep(sweeps, rounds, progress)
        finally:
            vars(config).update(saved)
    profile = {"format": "minpy-jit-profile", "version": 1, "config": chosen,
               "measurements": measurements, "rounds": rounds, "quick": quick,
               "seconds": round(time.perf_counter() - t0, 2),
               "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine()}
    if chosen_engine is not None:
        profile["engine"] = chosen_engine
        profile["measurements"] = {"engine": engine_measured, **measurements}
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
    p.add_argument("--quick", action="store_true", help="fewer rounds (about half a minute)")
    p.add_argument("--output", help="profile path (default: $MINPY_JIT_PROFILE, "
                                    "else ~/.config/minpy/jit_profile.json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-engine", action="store_true",
                   help="keep MXNet's engine out of the profile (no child processes)")
    p.add_argument("--engine-worker", help=argparse.SUPPRESS)
    p.add_argument("--knobs-worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--knobs", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.engine_worker:
        _engine_worker(a.engine_worker)
        return 0
    if a.knobs_worker:
        import minpy
        sweeps = {k: SWEEPS[k] for k in a.knobs.split(",")} if a.knobs else None
        chosen, measured = sweep(sweeps, rounds=a.knobs_worker, progress=False)
        print(_MARK + json.dumps({"chosen": chosen, "measurements": measured,
                                  "engine": minpy.mxnet_engine.name}), flush=True)
        return 0
    prof = tune(a.output, a.quick, not a.no_progress, engine=not a.no_engine)
    for knob, m in prof["measurements"].items():
        rel = ", ".join(f"{v}: {r:.2f}x" for v, r in m["relative"].items())
        value = prof.get("engine") if knob == "engine" else prof["config"][knob]
        print(f"{knob:16s} -> {value!r:12s} (time vs default: {rel})")
    import minpy
    if prof.get("engine") and minpy.mxnet_engine.source == _profile.MX_ENGINE_ENV:
        print(f"note: {_profile.MX_ENGINE_ENV}={minpy.mxnet_engine.name} is set, and wins over "
              f"the profile's engine")
    print(f"wrote {prof['path']} in {prof['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
