"""How close can a MinPy-shaped MLP step get to the hand-written symbolic executor?

    python -m benchmarks.mlp_bound

Builds, by hand, the graph MinPy would run for :func:`workloads.mlp_loss` if
everything the remaining gap is blamed on were fixed: weights already in
FullyConnected's (out, in) layout (no transposes), MXNet running the backward
pass (a static CachedOp under ``mxnet.autograd``), and no copies in or out. What
is left to choose is what MinPy's semantics decide, and each choice is timed
against the symbolic executor, interleaved, best of 12 rounds:

* ReLU as ``np.maximum(x, 0)`` (NumPy's NaN propagation) or oneDNN's
  ``Activation`` (maps NaN to 0);
* the update as a graph computing ``p - lr * g`` into fresh buffers (MinPy's
  buffers are immutable) or ``sgd_update`` writing into the weights in place.

``python -m benchmarks.mlp_bound products`` times instead each matrix product of
the step, in a bound executor, as MinPy can lower it: oneDNN's FullyConnected
(``x @ w.T``) after the transposes it needs, or MXNet's ``dot`` with transpose
flags (no transposes), and the transposes alone.
"""
from __future__ import annotations

import time

import minpy   # before mxnet: MinPy sets MXNet's environment (engine, oneDNN fusions) first
import mxnet as mx
import numpy as onp
from mxnet import autograd

from .workloads import LR, MLP_NAMES, mlp_data, mlp_symbol, symbolic_sgd

_FLAGS = [("static_alloc", "true"), ("static_shape", "true")]


def _loss_symbol(batch: int, relu: str):
    S = mx.sym
    h = S.var("x")
    for i in range(3):
        h = S.FullyConnected(h, S.var(f"w{i}"), S.var(f"b{i}"), flatten=False,
                             num_hidden=10 if i == 2 else 512)
        if i < 2:
            h = (S.Activation(h, act_type="relu") if relu == "activation"
                 else S.np.maximum(h.as_np_ndarray(), 0.0).as_nd_ndarray())
    s = h.as_np_ndarray()
    sh = s - S.np.max(s, axis=1, keepdims=True)
    ls = sh - S.np.log(S.np.sum(S.np.exp(sh), axis=1, keepdims=True))
    loss = -S.np.sum(ls * S.var("onehot").as_np_ndarray()) / batch
    return S.MakeLoss(S.np.reshape(loss, (1,)).as_nd_ndarray())


def minpy_shaped_step(params, x, onehot, relu: str, update: str):
    """One step of the graph described above; returns a callable."""
    loss_sym = _loss_symbol(x.shape[0], relu)
    loss = mx.nd.CachedOp(loss_sym, _FLAGS)
    names = loss_sym.list_arguments()
    S = mx.sym
    upd = S.Group([(S.var(f"p{i}").as_np_ndarray() - LR * S.var(f"g{i}").as_np_ndarray())
                   .as_nd_ndarray() for i in range(6)])
    upd_names = upd.list_arguments()
    upd_op = mx.nd.CachedOp(upd, _FLAGS)
    state = [mx.nd.array(params[0].T), mx.nd.array(params[2].T), mx.nd.array(params[4].T),
             mx.nd.array(params[1]), mx.nd.array(params[3]), mx.nd.array(params[5])]
    grads = [mx.nd.zeros(a.shape) for a in state]
    data = {"x": mx.nd.array(x), "onehot": mx.nd.array(onehot)}

    def step():
        marked = [p.detach() for p in state]
        autograd.mark_variables(marked, grads)
        feed = dict(data)
        for i in range(3):
            feed[f"w{i}"], feed[f"b{i}"] = marked[i], marked[3 + i]
        with autograd.record():
            out = loss(*[feed[n] for n in names])
        autograd.backward([out])
        if update == "in-place":
            for p, g in zip(state, grads):
                mx.nd.sgd_update(p, g, lr=LR, wd=0.0, out=p)
        else:
            feed = {f"p{i}": state[i] for i in range(6)}
            feed.update({f"g{i}": grads[i] for i in range(6)})
            state[:] = upd_op(*[feed[n] for n in upd_names])
        mx.nd.waitall()
    return step


# the step's products as (name, a shape, b shape, transpose a, transpose b): op(a) @ op(b)
PRODUCTS = [
    ("x @ W1 (forward)", (256, 784), (784, 512), False, False),
    ("h1 @ W2 (forward)", (256, 512), (512, 512), False, False),
    ("h2 @ W3 (forward)", (256, 512), (512, 10), False, False),
    ("g2 @ W2.T (input gradient)", (256, 512), (512, 512), False, True),
    ("g3 @ W3.T (input gradient)", (256, 10), (512, 10), False, True),
    ("x.T @ g1 (weight gradient)", (256, 784), (256, 512), True, False),
    ("h1.T @ g2 (weight gradient)", (256, 512), (256, 512), True, False),
    ("h2.T @ g3 (weight gradient)", (256, 512), (256, 10), True, False),
]


def _product_symbols(sa, sb, ta, tb):
    """op(a) @ op(b) as FullyConnected after transposes, as dot with flags, and the
    transposes FullyConnected needs alone (None when it needs none)."""
    S = mx.sym
    a, b = S.var("a"), S.var("b")
    x = S.transpose(a) if ta else a           # FullyConnected: x @ w.T
    w = b if tb else S.transpose(b)
    units = sb[0] if tb else sb[1]
    fc = S.FullyConnected(x, w, no_bias=True, num_hidden=units, flatten=False)
    moved = [t for t, need in ((x, ta), (w, not tb)) if need]
    return {"transposes + FullyConnected": fc,
            "dot with flags": S.dot(a, b, transpose_a=ta, transpose_b=tb),
            "transposes alone": S.Group(moved) if moved else None}


def products(rounds: int = 12, calls: int = 10) -> dict:
    """Best microseconds of each lowering of each product, interleaved."""
    rng = onp.random.RandomState(0)
    fns = {}
    for name, sa, sb, ta, tb in PRODUCTS:
        args = {"a": mx.nd.array(rng.randn(*sa).astype("float32")),
                "b": mx.nd.array(rng.randn(*sb).astype("float32"))}
        for how, sym in _product_symbols(sa, sb, ta, tb).items():
            if sym is None:
                continue
            exe = sym.bind(mx.cpu(), args={k: args[k] for k in sym.list_arguments()},
                           grad_req="null")
            fns[name, how] = exe
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, exe in fns.items():
            exe.forward()
            mx.nd.waitall()
            t = time.perf_counter()
            for _ in range(calls):
                exe.forward()
            mx.nd.waitall()
            best[k] = min(best[k], (time.perf_counter() - t) / calls * 1e6)
    return best


def main_products(rounds: int = 12) -> None:
    best = products(rounds)
    hows = ("transposes + FullyConnected", "dot with flags", "transposes alone")
    print(f"MXNet engine: {minpy.mxnet_engine}")
    print(f"{'product':30s}" + "".join(f"{h:>30s}" for h in hows) + "   dot / FC")
    for name, *_ in PRODUCTS:
        cells = [best.get((name, h)) for h in hows]
        print(f"{name:30s}" + "".join(f"{c:27.1f} us" if c is not None else f"{'-':>30s}"
                                      for c in cells)
              + f"   {cells[1] / cells[0]:.2f}")
    fc = sum(best[n, hows[0]] for n, *_ in PRODUCTS)
    dot = sum(best[n, hows[1]] for n, *_ in PRODUCTS)
    moved = sum(best.get((n, hows[2]), 0.0) for n, *_ in PRODUCTS)
    print(f"{'whole step':30s}{fc:27.1f} us{dot:27.1f} us{moved:27.1f} us   {dot / fc:.2f}")


def main(rounds: int = 12) -> None:
    params, x, onehot = mlp_data()
    sym, _ = symbolic_sgd(mlp_symbol(x.shape[0]), params, {"x": x, "onehot": onehot},
                          MLP_NAMES, transpose=MLP_NAMES[::2])
    fns = {"symbolic executor": sym}
    for relu in ("np.maximum", "activation"):
        for update in ("fresh buffers", "in-place"):
            fns[f"relu {relu}, {update}"] = minpy_shaped_step(params, x, onehot, relu, update)
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            f()
            t = time.perf_counter()
            for _ in range(3):
                f()
            best[k] = min(best[k], (time.perf_counter() - t) / 3)
    for k, v in best.items():
        print(f"{k:36s} {v * 1e3:6.2f} ms  {v / best['symbolic executor']:.2f}x")


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["products"]:
        main_products()
    else:
        main()
