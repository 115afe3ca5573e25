"""``python -m minpy``: a short tour -- versions, then one small network trained
in every execution mode MinPy has, timed side by side.

The network is the two-layer classifier of the CS231n spiral case study: 300
points on three interleaved spiral arms, 100 hidden ReLU units, softmax loss
with L2 regularisation, full-batch Adam. The same Python function computes the
loss in every MinPy mode; only the mode changes.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
import time

import numpy as onp


def spiral(points_per_class=100, classes=3, seed=0):
    """Points on ``classes`` interleaved spiral arms in 2-d, with integer labels."""
    rng = onp.random.RandomState(seed)
    n = points_per_class * classes
    X = onp.zeros((n, 2))
    y = onp.zeros(n, dtype="int64")
    for k in range(classes):
        rows = slice(k * points_per_class, (k + 1) * points_per_class)
        radius = onp.linspace(0.0, 1.0, points_per_class)
        angle = onp.linspace(k * 4.0, (k + 1) * 4.0, points_per_class) + \
            rng.randn(points_per_class) * 0.2
        X[rows] = onp.stack([radius * onp.sin(angle), radius * onp.cos(angle)], axis=1)
        y[rows] = k
    return X, y


def init_params(hidden=100, classes=3, seed=1):
    rng = onp.random.RandomState(seed)
    return [0.1 * rng.randn(2, hidden), onp.zeros(hidden),
            0.1 * rng.randn(hidden, classes), onp.zeros(classes)]


ADAM = dict(lr=0.02, b1=0.9, b2=0.999, eps=1e-8)
REG = 1e-4


def train_numpy(X, y, iters):
    """Reference: plain NumPy with the backward pass written by hand."""
    W1, b1, W2, b2 = params = init_params()
    m = [onp.zeros_like(p) for p in params]
    v = [onp.zeros_like(p) for p in params]
    n = X.shape[0]
    for t in range(1, iters + 1):
        hidden = onp.maximum(X @ W1 + b1, 0.0)
        scores = hidden @ W2 + b2
        scores -= scores.max(axis=1, keepdims=True)
        probs = onp.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        dscores = probs
        dscores[onp.arange(n), y] -= 1.0
        dscores /= n
        dW2 = hidden.T @ dscores + 2 * REG * W2
        db2 = dscores.sum(axis=0)
        dhidden = dscores @ W2.T
        dhidden[hidden <= 0] = 0.0
        dW1 = X.T @ dhidden + 2 * REG * W1
        db1 = dhidden.sum(axis=0)
        grads = [dW1, db1, dW2, db2]
        c1, c2 = 1.0 - ADAM["b1"] ** t, 1.0 - ADAM["b2"] ** t
        for i, g in enumerate(grads):
            m[i] = ADAM["b1"] * m[i] + (1 - ADAM["b1"]) * g
            v[i] = ADAM["b2"] * v[i] + (1 - ADAM["b2"]) * g * g
            params[i] = params[i] - ADAM["lr"] * (m[i] / c1) / (onp.sqrt(v[i] / c2) + ADAM["eps"])
        W1, b1, W2, b2 = params
    scores = onp.maximum(X @ W1 + b1, 0.0) @ W2 + b2
    return float((scores.argmax(axis=1) == y).mean())


def train_minpy(X, y, iters, mode):
    """The same network in MinPy: NumPy-style forward code, gradients from autograd."""
    import minpy
    import minpy.numpy as np
    from minpy.core import grad_and_loss
    from minpy.nn import layers, optim

    def loss(W1, b1, W2, b2, X, y):
        hidden = layers.relu(np.dot(X, W1) + b1)
        scores = np.dot(hidden, W2) + b2
        return layers.softmax_loss(scores, y) + REG * (np.sum(W1 * W1) + np.sum(W2 * W2))

    grad_loss = grad_and_loss(loss, [0, 1, 2, 3])
    config = dict(learning_rate=ADAM["lr"], beta1=ADAM["b1"], beta2=ADAM["b2"], epsilon=ADAM["eps"])

    def step(params, configs, X, y):
        grads, value = grad_loss(*params, X, y)
        new = [optim.adam(p, g, c) for p, g, c in zip(params, grads, configs)]
        return [p for p, _ in new], [c for _, c in new], value

    if mode == "jit":
        step = minpy.jit(step)
    params = [np.array(p) for p in init_params()]
    configs = [dict(config) for _ in params]
    Xm, ym = np.array(X), np.array(y)
    with minpy.lazy(mode in ("lazy", "jit")):
        for _ in range(iters):
            params, configs, value = step(params, configs, Xm, ym)
            minpy.flush()
        W1, b1, W2, b2 = params
        scores = np.dot(layers.relu(np.dot(Xm, W1) + b1), W2) + b2
        pred = np.argmax(scores, axis=1).asnumpy()
    return float((pred == y).mean())


def _features() -> str:
    try:
        from mxnet.runtime import Features
        feats = Features()
        on = [k for k in ("CUDA", "CUDNN", "MKLDNN", "BLAS_OPEN", "BLAS_MKL", "OPENMP")
              if k in feats and feats.is_enabled(k)]
        return ", ".join(on) or "none of CUDA/MKLDNN/BLAS"
    except Exception as e:       # pragma: no cover - depends on the MXNet build
        return f"unknown ({type(e).__name__})"


MODES = [
    ("numpy", "plain NumPy, backward pass written by hand (the reference)"),
    ("eager", "MinPy: every operation runs at once as one MXNet call"),
    ("lazy", "MinPy lazy mode: each step is recorded, then run as one cached graph"),
    ("jit", "MinPy @jit: the step is traced once, later calls replay its graph"),
]


def _run_mode(mode: str, X, y, iters: int):
    """(accuracy, seconds, what the lazy engine did) for one mode."""
    import minpy
    minpy.jit.reset_stats()
    t0 = time.perf_counter()
    acc = train_numpy(X, y, iters) if mode == "numpy" else train_minpy(X, y, iters, mode)
    dt = time.perf_counter() - t0
    s = minpy.jit.stats()
    if mode == "lazy":
        note = (f"{s['cache_misses']} graph(s) compiled, {s['cache_hits']} run(s) from the "
                f"cache")
    elif mode == "jit":
        note = f"{s['jit_traces']} trace(s), {s['jit_replays']} replay(s)"
    else:
        note = ""
    return acc, dt, note


def _takeaway(times: dict) -> str:
    base, eager, jit = times["numpy"], times["eager"], times.get("jit")
    best = min(("lazy", "jit"), key=lambda m: times.get(m, float("inf")))
    line = (f"Takeaway: on a network this small every MXNet call costs more than NumPy's "
            f"whole operation, so eager MinPy took {eager / base:.1f}x NumPy's time; "
            f"{'@jit' if best == 'jit' else 'lazy mode'} cuts that overhead "
            f"({eager / times[best]:.1f}x faster than eager, ")
    if times[best] <= base:
        line += f"{base / times[best]:.2f}x faster than NumPy)"
    else:
        line += f"{times[best] / base:.2f}x NumPy's time)"
    return line + (". MinPy wrote the backward pass that NumPy needed by hand; larger arrays "
                   "and GPUs are where MXNet's kernels pay off (docs/benchmarks.md).")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minpy", description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=300, help="training iterations per mode")
    args = parser.parse_args(argv)

    import mxnet
    import minpy

    print(f"MinPy {minpy.__version__} on MXNet {mxnet.__version__}, NumPy {onp.__version__}, "
          f"Python {sys.version.split()[0]}")
    print(f"MXNet features: {_features()}; context: {minpy.context.current_context()}")
    X, y = spiral()
    print("\n" + textwrap.fill(
        f"One small network trained four ways: a 2-100-3 ReLU net with a softmax loss on the "
        f"3-arm spiral ({len(y)} points), {args.iters} full-batch Adam steps each. The same loss "
        f"function serves every MinPy mode; its gradients come from autograd.", width=90) + "\n")
    for mode, what in MODES:
        print(f"  {mode:<6} {what}")
    print("\nAll modes should reach about the same training accuracy (float32 vs NumPy's "
          "float64);\ntime is wall-clock for all steps, first-step compiles included.\n")
    print(f"{'mode':<7} {'train acc':>9} {'time (s)':>9} {'ms/step':>8} {'vs NumPy':>9}  notes")
    print("-" * 78, flush=True)
    times = {}
    for mode, _ in MODES:
        if sys.stdout.isatty():
            print(f"{mode:<7} running...", end="\r", flush=True)
        acc, dt, note = _run_mode(mode, X, y, args.iters)
        times[mode] = dt
        ratio = "1.00x" if mode == "numpy" else f"{dt / times['numpy']:.2f}x"
        print(f"{mode:<7} {acc:>9.3f} {dt:>9.2f} {1000 * dt / args.iters:>8.2f} {ratio:>9}  "
              f"{note}", flush=True)
    print("\n" + textwrap.fill(_takeaway(times), width=90))
    return 0


if __name__ == "__main__":
    sys.exit(main())
