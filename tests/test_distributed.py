"""minpy.distributed: allreduce and the optimizer in the KVStore in one process
(kvstore 'local'), and real jobs on loopback (scheduler + 1 server + 2 or 3 workers,
started by minpy.distributed.launch): dist_sync against one process, dist_async
converging, faults, and --hostfile through a stand-in ssh.

Run as a script (``python tests/test_distributed.py worker OUT``) this file is the
worker of the loopback tests.
"""
import os
import re
import socket
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy import distributed as dist

ROOT = Path(__file__).resolve().parents[1]
STEPS, B, D, H, C = 10, 8, 6, 16, 3          # 10 SGD steps, per-worker batch B
LR = 0.5
Pair = namedtuple("Pair", "W b")


# ----------------------------------------------------------------------------- the model

def _data():
    rng = onp.random.RandomState(0)
    X = rng.randn(STEPS * 2 * B, D).astype("float32")
    y = rng.randint(0, C, size=STEPS * 2 * B)
    # dicts, not named tuples: @minpy.jit takes a named tuple for one static value
    p = {"l1": {"W": rng.randn(D, H).astype("float32") * 0.5, "b": onp.zeros(H, "float32")},
         "l2": {"W": rng.randn(H, C).astype("float32") * 0.5, "b": onp.zeros(C, "float32")}}
    return X, onp.eye(C, dtype="float32")[y], p


def _loss(params, X, Y):
    h = np.tanh(np.dot(X, params["l1"]["W"]) + params["l1"]["b"])
    s = np.dot(h, params["l2"]["W"]) + params["l2"]["b"]
    s = s - np.max(s, axis=1, keepdims=True)
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(logp * Y) / X.shape[0]          # mean over the batch


def _sgd(params, grads):
    return {k: {f: params[k][f] - LR * grads[k][f] for f in params[k]} for k in params}


def _to_minpy(p):
    return {k: {f: np.array(a) for f, a in v.items()} for k, v in p.items()}


def _to_host(p):
    return {f"{k}.{f}": a.asnumpy() for k, v in p.items() for f, a in v.items()}


def train(mode, X, Y, p0, part=0, num_parts=1, reduce=True):
    """10 SGD steps; batch t of the global batch 2B is split between the workers.

    mode: 'eager'; 'lazy' (each step recorded, one flush before the allreduce);
    'jit' (gradient step and update each @minpy.jit, allreduce between them);
    'jit_inside' (allreduce inside the jitted step: a graph break, the step runs lazily).
    """
    gl = minpy.grad_and_loss(_loss)
    params = _to_minpy(p0)
    per = 2 * B // num_parts
    if mode == "jit":
        gl_step, update = minpy.jit(gl), minpy.jit(_sgd)
    else:
        gl_step, update = gl, _sgd

    def whole_step(params, Xb, Yb):
        g, _ = gl(params, Xb, Yb)
        return _sgd(params, dist.allreduce(g, "mean", name="grads"))

    inside = minpy.jit(whole_step)
    with minpy.lazy(mode != "eager"):
        for t in range(STEPS):
            lo = t * 2 * B + part * per
            Xb, Yb = np.array(X[lo:lo + per]), np.array(Y[lo:lo + per])
            if mode == "jit_inside":
                params = inside(params, Xb, Yb)
                continue
            g, _ = gl_step(params, Xb, Yb)
            if reduce:
                g = dist.allreduce(g, "mean", name="grads")
            params = update(params, g)
    return _to_host(params)


def train_server_sgd(X, Y, p0, part, num_parts, mode="lazy"):
    """10 SGD steps with MXNet's SGD where the parameters are stored (mean of gradients)."""
    import mxnet as mx
    dist.set_optimizer(mx.optimizer.SGD(learning_rate=LR, rescale_grad=1.0 / num_parts))
    gl = minpy.grad_and_loss(_loss)
    gl = minpy.jit(gl) if mode == "jit" else gl
    params = _to_minpy(p0)
    per = 2 * B // num_parts
    with minpy.lazy(mode != "eager"):
        for t in range(STEPS):
            lo = t * 2 * B + part * per
            g, _ = gl(params, np.array(X[lo:lo + per]), np.array(Y[lo:lo + per]))
            params = dist.server_update(params, g)
    return _to_host(params)


def solver_params(X, Y, kvstore, jit, part, num_parts, **kw):
    """One epoch of 10 SGD steps of the Solver (batch 2B over all workers)."""
    from minpy.nn import io, model_builder as builder
    from minpy.nn.solver import Solver
    np.random.seed(0)
    net = builder.Sequential(builder.Affine(H), builder.ReLU(), builder.Affine(C))
    model = builder.Model(net, loss="softmax_loss", input_shape=(D,))
    it = io.NDArrayIter(X, Y.argmax(axis=1), batch_size=2 * B // num_parts,
                        num_parts=num_parts, part_index=part)
    solver = Solver(model, it, num_epochs=1, update_rule="sgd", optim_config={"learning_rate": LR},
                    verbose=False, train_acc_num_samples=None, jit=jit, kvstore=kvstore, **kw)
    solver.init()
    solver.train()
    assert solver.iteration == STEPS
    params = {k: v.asnumpy() for k, v in model.params.items()}
    params["train_acc"] = onp.array(solver.train_acc_history[-1])
    return params


def worker_main(out_path):
    """One worker of the loopback job: every mode, plus the 1-process reference."""
    dist.init()
    r, n = dist.rank(), dist.num_workers()
    X, Y, p0 = _data()
    res = {"rank": onp.array(r), "n": onp.array(n)}
    t0 = time.perf_counter()
    for mode in ("eager", "lazy", "jit", "jit_inside"):
        for k, v in train(mode, X, Y, p0, part=r, num_parts=n).items():
            res[f"{mode}/{k}"] = v
    res["seconds"] = onp.array(time.perf_counter() - t0)
    for jit in (False, True):
        for k, v in solver_params(X, Y, "dist_sync", jit, r, n).items():
            res[f"solver_jit{int(jit)}/{k}"] = v
    # the same 10 steps in one process: batch t is the workers' batches t, concatenated
    order = onp.concatenate([onp.arange(p * STEPS * B + t * B, p * STEPS * B + (t + 1) * B)
                             for t in range(STEPS) for p in range(2)])
    for k, v in solver_params(X[order], Y[order], None, False, 0, 1).items():
        res[f"solver_ref/{k}"] = v
    for k, v in train("eager", X, Y, p0, reduce=False).items():   # 1 process, batch 2B
        res[f"ref/{k}"] = v
    # last: the optimizer on the server (it would apply to allreduce's keys too): MXNet's
    # SGD there, through the Solver (its first step pulls rank 0's initial parameters)
    for k, v in solver_params(X, Y, "dist_sync", True, r, n, update_on_kvstore=True).items():
        res[f"solver_server/{k}"] = v
    res["bytes_pushed"] = onp.array(dist.stats()["bytes_pushed"])
    dist.barrier()
    onp.savez(out_path, **res)
    print(f"worker {r} of {n} done")


def kill_main():
    """Worker 1 dies by SIGKILL in the middle of training; worker 0 waits in a pull."""
    import signal
    dist.init()
    r = dist.rank()
    X, Y, p0 = _data()
    params = _to_minpy(p0)
    gl = minpy.grad_and_loss(_loss)
    for t in range(100):
        if r == 1 and t == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        g, _ = gl(params, np.array(X[:B]), np.array(Y[:B]))
        params = _sgd(params, dist.allreduce(g, "mean"))
        float(params["l1"]["W"][0, 0])
    print("worker 0 should never finish")


def async_main(out_path):
    """A worker of the 'dist_async' job: the Solver with SGD (momentum) on the server, 3 epochs of
    40 steps on a learnable problem; saves its loss history and shard losses."""
    from minpy.nn import io, model_builder as builder
    from minpy.nn.solver import Solver
    dist.init("dist_async")
    r, n = dist.rank(), dist.num_workers()
    rng = onp.random.RandomState(5)
    X = rng.randn(40 * 2 * B, D).astype("float32")
    y = (X[:, :C] + 0.1 * rng.randn(len(X), C)).argmax(axis=1)     # learnable labels
    np.random.seed(r)                # different initial weights: the servers keep rank 0's
    net = builder.Sequential(builder.Affine(H), builder.ReLU(), builder.Affine(C))
    model = builder.Model(net, loss="softmax_loss", input_shape=(D,))
    it = io.NDArrayIter(X, y, batch_size=2 * B // n, shuffle=True, num_parts=n, part_index=r)
    solver = Solver(model, it, num_epochs=3, update_rule="sgd_momentum",
                    optim_config={"learning_rate": 0.05}, lr_decay=0.9, verbose=False,
                    train_acc_num_samples=None, kvstore="dist_async", jit=True)
    assert solver.update_on_kvstore
    solver.init()                    # every worker now holds rank 0's initial parameters

    def shard_loss():
        lo = r * (len(X) // n)
        Xs, ys = np.array(X[lo:lo + len(X) // n]), np.array(y[lo:lo + len(X) // n])
        return float(model.loss(model.forward(Xs, "train"), ys))

    before = shard_loss()
    dist.barrier()     # no worker trains before both pulled and measured the initial parameters
    solver.train()
    onp.savez(out_path, loss=onp.array(solver.loss_history), acc=onp.array(solver.train_acc_history),
              before=onp.array(before), after=onp.array(shard_loss()))
    print(f"worker {r}: shard loss {before:.3f} -> {shard_loss():.3f}, "
          f"accuracy {solver.train_acc_history[-1]:.3f}")


def hostfile_main(args):
    """A worker of the --hostfile job: reports its rank, host and argv, then sums."""
    dist.init()
    r = dist.rank()
    print(f"rank {r} task {os.environ['DMLC_TASK_ID']} host {os.environ['DMLC_NODE_HOST']} "
          f"argv {args!r} env {os.environ.get('MINPY_TEST_ENV')!r}")
    if args and args[0] == "fail":
        Path(args[1].format(rank=r)).write_text(str(os.getpid()))
        if r == 1:
            time.sleep(0.5)
            raise RuntimeError("worker one fails")
    s = dist.allreduce(np.ones(3) * (r + 1))
    print(f"sum {s.asnumpy().tolist()}")


def mismatch_main():
    dist.init()
    dist.allreduce({"w": np.ones((2, 3 + dist.rank()))}, name="bad")


# ----------------------------------------------------------------------------- one process

@pytest.fixture(scope="module")
def local_kv():
    dist.init()
    assert dist.rank() == 0 and dist.num_workers() == 1
    return dist.kvstore()


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_local_allreduce_keeps_values_and_tree(local_kv, mode):
    rng = onp.random.RandomState(1)
    a, b, c = (rng.randn(3, 2).astype("float32"), rng.randn(4).astype("float32"),
               rng.randn(2, 2).astype("float32"))

    def f(t):
        return dist.allreduce(t, op="mean", name=f"tree_{mode}")

    fn = minpy.jit(f) if mode == "jit" else f
    with minpy.lazy(mode != "eager"):
        for _ in range(2):
            tree = {"z": np.array(a) * 2, "a": [np.array(b), (np.array(c), Pair(np.array(c), np.array(b)))]}
            out = fn(tree)
            # the caller's key order, in every mode
            assert list(out) == ["z", "a"]
            assert isinstance(out["a"], list) and isinstance(out["a"][1], tuple)
            assert isinstance(out["a"][1][1], Pair)
            onp.testing.assert_array_equal(out["z"].asnumpy(), a * 2)
            onp.testing.assert_array_equal(out["a"][0].asnumpy(), b)
            onp.testing.assert_array_equal(out["a"][1][1].W.asnumpy(), c)
            assert out["z"].dtype == onp.float32


def test_one_flush_per_step_in_lazy_mode_and_two_graphs_per_step_with_jit(local_kv):
    X, Y, p0 = _data()
    minpy.jit.reset_stats()
    lazy = train("lazy", X, Y, p0)
    st = minpy.jit.stats()
    # the update of step t and the gradient of step t+1 are one graph, flushed by allreduce
    assert st["flushes"].get("allreduce") == STEPS and sum(st["flushes"].values()) == STEPS + 1
    minpy.jit.reset_stats()
    jit = train("jit", X, Y, p0)
    st = minpy.jit.stats()
    assert (st["jit_traces"], st["jit_replays"], st["executed_graphs"]) == (2, 2 * STEPS - 2, 2 * STEPS)
    ref = train("eager", X, Y, p0)
    for k in ref:
        onp.testing.assert_allclose(lazy[k], ref[k], rtol=1e-5, atol=1e-6)
        onp.testing.assert_allclose(jit[k], ref[k], rtol=1e-5, atol=1e-6)


def test_local_allreduce_single_array_numpy_leaves_and_stats(local_kv):
    dist.reset_stats()
    out = dist.allreduce(onp.arange(6, dtype="float64").reshape(2, 3), name="single")
    assert isinstance(out, minpy.Array)
    onp.testing.assert_array_equal(out.asnumpy(), onp.arange(6).reshape(2, 3))
    assert dist.stats()["calls"] == 1 and dist.stats()["bytes_pushed"] == out.size * out.dtype.itemsize


def test_local_allreduce_errors(local_kv):
    with pytest.raises(ValueError, match="op must be 'sum' or 'mean'"):
        dist.allreduce([np.ones(2)], op="max")
    with pytest.raises(TypeError, match=r"leaf at /1 is a str"):
        dist.allreduce([np.ones(2), "x"], name="bad_leaf")
    dist.allreduce({"w": np.ones(3)}, name="fixed")
    with pytest.raises(dist.DistributedError, match=r"layout changed.*\(4,\)"):
        dist.allreduce({"w": np.ones(4)}, name="fixed")
    with pytest.raises(dist.DistributedError, match="already joined a 'local'"):
        dist.init("dist_sync")


def test_barrier_and_broadcast_in_one_process(local_kv):
    dist.barrier()
    t = {"w": np.ones(2)}
    assert dist.broadcast(t) is t


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_optimizer_in_the_local_kvstore(local_kv, mode):
    import mxnet as mx
    X, Y, p0 = _data()
    dist.shutdown()                  # a fresh KVStore: its optimizer applies to every key
    try:
        with pytest.raises(dist.DistributedError, match="call set_optimizer first"):
            dist.server_update({"w": np.ones(2)}, {"w": np.ones(2)})
        with pytest.raises(TypeError, match="expected an mxnet.optimizer.Optimizer"):
            dist.set_optimizer("sgd")
        got = train_server_sgd(X[:2 * B * STEPS], Y, p0, 0, 1, mode)
        ref = train("eager", X, Y, p0, reduce=False)
        for k in ref:
            onp.testing.assert_allclose(got[k], ref[k], rtol=2e-5, atol=2e-6, err_msg=k)
        with pytest.raises(dist.DistributedError, match="runs the optimizer of set_optimizer"):
            dist.allreduce(np.ones(2))
        with pytest.raises(dist.DistributedError, match="one parameter tree per job"):
            dist.server_update({"w": np.ones(2)}, {"w": np.ones(2)}, name="other")
        with pytest.raises(dist.DistributedError, match=r"grads \{/w: \(3,\) float32\} do not match"):
            dist.server_update({"w": np.ones(2)}, {"w": np.ones(3)})
        with pytest.raises(dist.DistributedError,
                           match=r"server_update\(name='params'\): the tree's layout changed .*/w: \(2,\)"):
            dist.server_update({"w": np.ones(2)}, {"w": np.ones(2)})
        with pytest.raises(dist.DistributedError, match=r"server_init\(name='params'\): already stored"):
            dist.server_init({"w": np.ones(2)})
    finally:
        dist.shutdown()
        dist.init()


def test_launcher_port_in_use_is_a_clear_error(tmp_path):
    from minpy.distributed.launch import launch
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1\n")
    try:
        with pytest.raises(SystemExit, match=rf"port {s.getsockname()[1]} on 127.0.0.1 is not free"):
            launch(["x.py"], 2, port=s.getsockname()[1])
        with pytest.raises(SystemExit, match=rf"port {s.getsockname()[1]} on this machine is not "
                                             rf"free \(Address already in use\)"):
            launch(["x.py"], 2, port=s.getsockname()[1], hostfile=str(hosts), host_ip="10.9.9.9")
    finally:
        s.close()


def test_ndarrayiter_parts_are_equal_contiguous_shards():
    from minpy.nn.io import NDArrayIter
    X = onp.arange(22, dtype="float32").reshape(11, 2)
    y = onp.arange(11)
    parts = [NDArrayIter(X, y, batch_size=2, num_parts=3, part_index=i, last_batch_handle="pad")
             for i in range(3)]
    assert [p.num_data for p in parts] == [3, 3, 3]          # 11 // 3; the 2 left over are dropped
    assert [len(p) for p in parts] == [2, 2, 2]              # same number of batches everywhere
    for i, p in enumerate(parts):
        labels = onp.concatenate([b.label[0].asnumpy() for b in p])
        onp.testing.assert_array_equal(labels[:3], onp.arange(3 * i, 3 * i + 3))
        onp.testing.assert_array_equal(p.data[0], X[3 * i:3 * i + 3])
    whole = NDArrayIter(X, y, batch_size=2)
    assert whole.num_data == 11 and whole.num_parts == 1
    with pytest.raises(ValueError, match=r"part_index must be in 0..num_parts-1.*part_index=3"):
        NDArrayIter(X, y, num_parts=3, part_index=3)
    with pytest.raises(ValueError, match="11 samples cannot be split into 12 parts"):
        NDArrayIter(X, y, num_parts=12, part_index=0)
    with pytest.raises(ValueError, match="all arrays need 11 samples"):
        NDArrayIter(X, y[:10], num_parts=2, part_index=0)


def test_solver_with_local_kvstore_matches_plain_solver(local_kv):
    rng = onp.random.RandomState(3)
    X = rng.randn(2 * B * STEPS, D).astype("float32")
    Y = onp.eye(C, dtype="float32")[rng.randint(0, C, size=len(X))]
    for jit in (False, True):
        got = solver_params(X, Y, "local", jit, 0, 1)
        ref = solver_params(X, Y, None, jit, 0, 1)
        for k in ref:
            onp.testing.assert_allclose(got[k], ref[k], rtol=1e-6, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("rule,config", [
    ("sgd", {"learning_rate": LR}),
    ("sgd_momentum", {"learning_rate": 0.1, "momentum": 0.8}),
    ("adam", {"learning_rate": 0.01, "epsilon": 1e-7}),
    ("rmsprop", {"learning_rate": 0.01, "decay_rate": 0.9}),
])
def test_solver_update_on_kvstore_matches_local_rule(local_kv, rule, config):
    """MXNet's optimizer in the KVStore ('local': in this process) gives the MinPy rule's
    parameters, lr_decay included (a FactorScheduler per epoch). Adam and RMSProp only up
    to where epsilon enters (Adam: MXNet adds it to sqrt(v), MinPy to sqrt(v / (1 -
    beta2**t)); RMSProp: sqrt(n + eps**2) against sqrt(n) + eps): units with tiny
    gradients, whose steps hinge on epsilon, differ by up to 2e-3 (Adam), 6e-5 (RMSProp)."""
    from minpy.nn import io, model_builder as builder
    from minpy.nn.solver import Solver
    rng = onp.random.RandomState(4)
    X = rng.randn(2 * B * STEPS, D).astype("float32")
    y = rng.randint(0, C, size=len(X))

    def run(**kw):
        np.random.seed(0)
        net = builder.Sequential(builder.Affine(H), builder.ReLU(), builder.Affine(C))
        model = builder.Model(net, loss="softmax_loss", input_shape=(D,))
        it = io.NDArrayIter(X, y, batch_size=2 * B)
        solver = Solver(model, it, num_epochs=2, update_rule=rule, optim_config=config,
                        lr_decay=0.5, verbose=False, train_acc_num_samples=None, **kw)
        solver.train()
        return {k: v.asnumpy() for k, v in model.params.items()}, solver.loss_history

    ref, ref_loss = run()
    dist.shutdown()                  # a fresh KVStore: its optimizer applies to every key
    try:
        for jit in (False, True):
            got, loss = run(kvstore="local", update_on_kvstore=True, jit=jit)
            assert len(loss) == 2 * STEPS
            tol = {"adam": dict(rtol=1e-2, atol=5e-3), "rmsprop": dict(rtol=1e-3, atol=2e-4)}.get(
                rule, dict(rtol=1e-4, atol=2e-6))
            onp.testing.assert_allclose(loss, ref_loss, **tol)
            for k in ref:
                onp.testing.assert_allclose(got[k], ref[k], err_msg=k, **tol)
            dist.shutdown()
    finally:
        dist.shutdown()
        dist.init()


def test_solver_update_on_kvstore_errors(local_kv):
    from minpy.nn import io, model_builder as builder
    from minpy.nn.solver import Solver
    net = builder.Sequential(builder.Affine(C))
    model = builder.Model(net, loss="softmax_loss", input_shape=(D,))
    it = io.NDArrayIter(onp.zeros((4, D), "float32"), onp.zeros(4), batch_size=2)
    with pytest.raises(ValueError, match="update_on_kvstore needs a kvstore"):
        Solver(model, it, update_on_kvstore=True)
    with pytest.raises(ValueError, match=r"optim_config \['decay_rate'\] has no counterpart in "
                                         r"MXNet's SGD"):
        Solver(model, it, kvstore="local", update_on_kvstore=True,
               optim_config={"decay_rate": 0.9}).init()
    with pytest.raises(ValueError, match="update rule must be one of"):
        Solver(model, it, kvstore="local", update_on_kvstore=True,
               update_rule=lambda w, dw, c: (w - dw, c)).init()


def test_docs_example_runs_in_one_process():
    text = (ROOT / "docs" / "distributed.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for k in [k for k in env if k.startswith("DMLC_")]:
        env.pop(k)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert re.search(r"worker 0: loss 0\.0000", r.stdout), r.stdout


def test_launcher_timeout_stops_every_process():
    import io
    from minpy.distributed import launch as L
    started = []
    real = L._Proc.__init__

    def spy(self, *a, **k):
        real(self, *a, **k)
        started.append(self.p)

    buf = io.BytesIO()
    t0 = time.monotonic()
    L._Proc.__init__ = spy
    try:
        rc = L.launch([sys.executable, "-c", "print('hello', flush=True); import time; time.sleep(60)"],
                      2, timeout=6, out=buf)
    finally:
        L._Proc.__init__ = real
    out = buf.getvalue().decode()
    assert rc == 124 and time.monotonic() - t0 < 20, out
    assert "[worker 0] hello" in out and "[worker 1] hello" in out, out
    assert "[launch] timeout: the job ran past 6 s; stopping every process" in out, out
    assert len(started) == 4 and all(p.poll() is not None for p in started)   # no leftovers


# ----------------------------------------------------------------------------- loopback jobs

def _launch(args, timeout=90, launcher_args=("-n", "2", "-s", "1"), env=None):
    env = dict(env or os.environ, PYTHONPATH=str(ROOT), MINPY_JIT_PROFILE="none",
               OMP_NUM_THREADS="1")
    env.pop("DMLC_ROLE", None)
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "minpy.distributed.launch", *launcher_args,
                        "--timeout", "75", sys.executable, str(Path(__file__))] + args,
                       capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    return r, time.monotonic() - t0


def test_two_workers_match_one_process_with_twice_the_batch(tmp_path):
    r, secs = _launch(["worker", str(tmp_path / "w{rank}.npz")])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "[worker 0] worker 0 of 2 done" in r.stdout
    assert "[worker 1] worker 1 of 2 done" in r.stdout
    res = [dict(onp.load(tmp_path / f"w{i}.npz")) for i in range(2)]
    assert [int(x["rank"]) for x in res] == [0, 1]
    names = [k[4:] for k in res[0] if k.startswith("ref/")]
    for mode in ("eager", "lazy", "jit", "jit_inside"):
        for k in names:
            ref = res[0][f"ref/{k}"]
            for w in res:
                onp.testing.assert_allclose(w[f"{mode}/{k}"], ref, rtol=2e-5, atol=2e-6,
                                            err_msg=f"{mode} {k}")
            # both workers hold the very same parameters
            onp.testing.assert_array_equal(res[0][f"{mode}/{k}"], res[1][f"{mode}/{k}"])
    solver_keys = [k[11:] for k in res[0] if k.startswith("solver_ref/")]
    assert len(solver_keys) == 5
    for k in [k for k in solver_keys if k != "train_acc"]:   # accuracy: each its own shard's
        for w in res:
            onp.testing.assert_allclose(w[f"solver_server/{k}"], res[0][f"solver_ref/{k}"],
                                        rtol=2e-5, atol=2e-6, err_msg=f"SGD on the server {k}")
    for jit in (0, 1):
        for k in solver_keys:
            ref = res[0][f"solver_ref/{k}"]
            for w in res:
                onp.testing.assert_allclose(w[f"solver_jit{jit}/{k}"], ref, rtol=2e-5, atol=2e-6,
                                            err_msg=f"Solver jit={jit} {k}")
    print(f"loopback job: {secs:.1f} s; 4 x 10 steps took {float(res[0]['seconds']):.2f} s "
          f"in worker 0")


def test_dist_async_solver_converges_with_sgd_on_the_server(tmp_path):
    r, secs = _launch(["async", str(tmp_path / "w{rank}.npz")])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    for i in range(2):
        w = onp.load(tmp_path / f"w{i}.npz")
        loss = w["loss"]
        assert len(loss) == 3 * 40 and onp.isfinite(loss).all()
        # the loss of the whole shard, at rank 0's initial parameters and at the end
        # (each worker's updates reach the servers on their own: histories vary by run)
        assert float(w["after"]) < 0.5 * float(w["before"]), (w["before"], w["after"])
        assert w["acc"][-1] > 0.8
    print(f"dist_async job: {secs:.1f} s; " + "; ".join(
        l for l in r.stdout.splitlines() if "loss" in l))


def test_killed_worker_ends_the_job_naming_it():
    r, secs = _launch(["kill"])
    assert r.returncode != 0
    assert re.search(r"\[launch\] worker 1 \(pid \d+\) was killed by SIGKILL", r.stdout), \
        r.stdout[-3000:]
    assert "should never finish" not in r.stdout
    assert secs < 60


def test_mismatched_shapes_across_workers_raise_on_every_worker():
    r, _ = _launch(["mismatch"])
    assert r.returncode == 1
    # each worker raises; the launcher may stop the second before it prints
    found = re.findall(r"\[worker (\d)\] .*DistributedError: .*different layouts.*worker (\d) has "
                       r"\{/w: \(2, (\d)\) float32\}", r.stdout)
    assert found, r.stdout[-3000:]
    for label, rank, cols in found:
        assert label == rank and int(cols) == 3 + int(rank)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "worker":
        worker_main(sys.argv[2].format(rank=os.environ["DMLC_TASK_ID"]))
    elif what == "kill":
        kill_main()
    elif what == "async":
        async_main(sys.argv[2].format(rank=os.environ["DMLC_TASK_ID"]))
    elif what == "hostfile":
        hostfile_main(sys.argv[2:])
    elif what == "mismatch":
        mismatch_main()


# ----------------------------------------------------------------------------- --hostfile over (fake) ssh

FAKE_SSH = """#!PYTHON
# ssh stand-in: drops the options and the host and runs the command here through sh, in
# a new session, so that stopping this client leaves it running, as on a real remote host
import os, signal, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_SSH_LOG"], "a") as f:
    f.write(repr(args) + "\\n")
while args[0].startswith("-"):
    if args.pop(0) in ("-o", "-p", "-i", "-l"):
        args.pop(0)
p = subprocess.Popen(["sh", "-c", " ".join(args[1:])], start_new_session=True)
signal.signal(signal.SIGTERM, lambda *a: os._exit(255))
sys.exit(p.wait())
"""


def _fake_ssh_env(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(FAKE_SSH.replace("PYTHON", sys.executable, 1))
    ssh.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                FAKE_SSH_LOG=str(tmp_path / "ssh.log"))


def test_read_hostfile_formats_and_errors(tmp_path):
    from minpy.distributed.launch import Host, read_hostfile
    f = tmp_path / "hosts"
    f.write_text("# cluster\n\nnode1\nme@node2:2222 slots=4  # big one\n10.0.0.3 2\n")
    assert read_hostfile(str(f)) == [Host("node1", "node1", None, 1),
                                     Host("me@node2", "node2", 2222, 4),
                                     Host("10.0.0.3", "10.0.0.3", None, 2)]
    f.write_text("node1\nnode2 slots=x\n")
    with pytest.raises(SystemExit, match=r"line 2: 'node2 slots=x' is not"):
        read_hostfile(str(f))
    f.write_text("# nothing\n")
    with pytest.raises(SystemExit, match="names no host"):
        read_hostfile(str(f))
    with pytest.raises(SystemExit, match="cannot read the hostfile"):
        read_hostfile(str(tmp_path / "missing"))


def test_worker_labels_follow_pslite_rank_order():
    from minpy.distributed.launch import _rank_order
    # ps-lite: host names descending (bytes), then ports ascending
    places = [("10.0.0.1", 900), ("10.0.0.2", 100), ("10.0.0.1", 50), ("10.0.0.10", 1)]
    assert [places[i] for i in _rank_order(places)] == [
        ("10.0.0.2", 100), ("10.0.0.10", 1), ("10.0.0.1", 50), ("10.0.0.1", 900)]


def test_hostfile_job_over_ssh_quotes_and_ranks(tmp_path):
    """3 workers on two 'machines' (127.0.0.1 and 127.0.0.2: both this one) through a
    fake ssh: the ssh arguments, the quoting of awkward arguments, ranks = labels."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 slots=2\nme@127.0.0.2:2222\n")
    awkward = ["a b", "it's", "$HOME", "; echo injected", 'q"q']
    r, secs = _launch(["hostfile"] + awkward, env=_fake_ssh_env(tmp_path),
                      launcher_args=("-n", "3", "-s", "1", "--hostfile", str(hosts),
                                     "--env", "MINPY_TEST_ENV=x y'z $PATH"))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    # ps-lite ranks 127.0.0.2 first: worker 0 runs there
    assert "worker 0 on me@127.0.0.2, worker 1 on 127.0.0.1, worker 2 on 127.0.0.1" in r.stdout
    for i, host in enumerate(["127.0.0.2", "127.0.0.1", "127.0.0.1"]):
        assert (f"[worker {i}] rank {i} task {i} host {host} argv {awkward!r} "
                f"env \"x y'z $PATH\"") in r.stdout, r.stdout
        assert f"[worker {i}] sum [6.0, 6.0, 6.0]" in r.stdout
    assert "injected" not in r.stdout.replace("'; echo injected'", "")
    calls = [eval(line) for line in (tmp_path / "ssh.log").read_text().splitlines()]
    assert len(calls) == 4                                    # 1 server + 3 workers
    targets = sorted(c[c.index("-p") + 2] if "-p" in c else c[2] for c in calls)
    assert targets == ["127.0.0.1", "127.0.0.1", "127.0.0.1", "me@127.0.0.2"]
    assert all(c[:2] == ["-o", "BatchMode=yes"] for c in calls)
    assert any(c[2:5] == ["-p", "2222", "me@127.0.0.2"] for c in calls)
    print(f"hostfile job: {secs:.1f} s")


def test_hostfile_job_stops_remote_processes_when_a_worker_fails(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1\n127.0.0.2\n")
    pid_file = tmp_path / "pid{rank}"
    r, secs = _launch(["hostfile", "fail", str(pid_file)], env=_fake_ssh_env(tmp_path),
                      launcher_args=("-n", "2", "-s", "1", "--hostfile", str(hosts)))
    assert r.returncode == 1, r.stdout[-4000:]
    assert "[worker 1] RuntimeError: worker one fails" in r.stdout
    assert re.search(r"\[launch\] worker 1 on 127\.0\.0\.1 \(pid \d+\) exited with code 1; "
                     r"stopping the other processes", r.stdout), r.stdout[-3000:]
    assert "sum" not in r.stdout
    # the workers ran outside the launcher's process groups (as on other machines); the
    # remote command's watcher stopped worker 0 when the launcher closed its ssh session
    deadline = time.monotonic() + 5
    pids = [int((tmp_path / f"pid{i}").read_text()) for i in range(2)]
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.1)
    assert not any(Path(f"/proc/{p}").exists() for p in pids)
    assert secs < 60
