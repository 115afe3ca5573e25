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
"""
from __future__ import annotations

import time

import mxnet as mx
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
    main()
