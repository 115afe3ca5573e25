"""Data-parallel MLP on loopback (issue 15): step time and bytes exchanged per step
with 1, 2 and 4 workers (plus one scheduler and one server), all on this machine.

    python -m pytest benchmarks/test_distributed_bench.py --benchmark-columns=median -s

Only ``benchmarks/`` runs collect it (``testpaths`` is ``tests``). Each benchmark
round is one whole job (start-up included); the numbers that matter are measured
inside the workers and stored in the benchmark's ``extra_info`` (printed with ``-s``):
``step_ms`` (median over the timed steps of the gradient step, ``allreduce`` and the
update, worker 0), ``compute_ms`` (the same steps without ``allreduce``, before the
job's exchange starts), ``exchange_ms`` (median of ``allreduce`` of the gradients
alone, waiting for the sums) and the bytes pushed and pulled per step and worker. The model of what
N machines would reach from these is in docs/distributed.md.

Run as a script (``python benchmarks/test_distributed_bench.py worker OUT``) this file
is a worker of the job.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOBAL_BATCH, D, H, C = 64, 64, 128, 10           # the MLP of examples/distributed_mlp.py
WARMUP, STEPS = 10, 60


def worker(out_path: str) -> None:
    import numpy as onp
    import minpy
    import minpy.numpy as np
    from minpy import distributed as dist

    dist.init()
    r, n = dist.rank(), dist.num_workers()
    rng = onp.random.RandomState(0)
    per = GLOBAL_BATCH // n                        # a fixed global batch, split
    X = rng.randn(GLOBAL_BATCH, D).astype("float32")
    Y = onp.eye(C, dtype="float32")[rng.randint(0, C, size=GLOBAL_BATCH)]
    Xs, Ys = np.array(X[r * per:(r + 1) * per]), np.array(Y[r * per:(r + 1) * per])
    params = {"W1": np.array(rng.randn(D, H).astype("float32") * 0.1), "b1": np.zeros(H),
              "W2": np.array(rng.randn(H, C).astype("float32") * 0.1), "b2": np.zeros(C)}

    def loss(p, X, Y):
        h = np.maximum(np.dot(X, p["W1"]) + p["b1"], 0.0)
        s = np.dot(h, p["W2"]) + p["b2"]
        s = s - np.max(s, axis=1, keepdims=True)
        return -np.sum((s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))) * Y) / X.shape[0]

    grad_step = minpy.jit(minpy.grad_and_loss(loss))
    update = minpy.jit(lambda p, g: {k: p[k] - 0.01 * g[k] for k in p})

    def timed(exchange: bool, steps: int) -> list:
        nonlocal params
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            g, l = grad_step(params, Xs, Ys)
            if exchange:
                g = dist.allreduce(g, "mean", name="grads")
            params = update(params, g)
            float(l)                                # the step is done
            times.append(time.perf_counter() - t0)
        return times

    def exchange_alone(steps: int) -> list:
        g, _ = grad_step(params, Xs, Ys)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            dist.allreduce(g, "mean", name="grads")
            mx.nd.waitall()                         # the pulled sums are there
            times.append(time.perf_counter() - t0)
        return times

    import mxnet as mx
    timed(False, WARMUP)
    compute = timed(False, STEPS)
    exchange = exchange_alone(WARMUP + STEPS)[WARMUP:]
    timed(True, WARMUP)
    dist.reset_stats()
    step = timed(True, STEPS)
    st = dist.stats()
    res = {"rank": r, "workers": n, "step_ms": 1e3 * float(onp.median(step)),
           "compute_ms": 1e3 * float(onp.median(compute)),
           "exchange_ms": 1e3 * float(onp.median(exchange)),
           "bytes_pushed_per_step": st["bytes_pushed"] // STEPS,
           "bytes_pulled_per_step": st["bytes_pulled"] // STEPS, "arrays": st["arrays"] // STEPS}
    dist.barrier()
    Path(out_path).write_text(json.dumps(res))


def _job(n: int, tmp: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MINPY_JIT_PROFILE="none")
    env.pop("DMLC_ROLE", None)
    r = subprocess.run([sys.executable, "-m", "minpy.distributed.launch", "-n", str(n), "-s", "1",
                        "--timeout", "240", sys.executable, str(Path(__file__).resolve()), "worker",
                        str(tmp / "w{rank}.json")],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    return json.loads((tmp / "w0.json").read_text())


@pytest.mark.benchmark(group="distributed-mlp-loopback")
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_distributed_mlp_step(benchmark, workers, tmp_path):
    res = benchmark.pedantic(_job, args=(workers, tmp_path), rounds=1, iterations=1)
    benchmark.extra_info.update(res)
    nbytes = 4 * (D * H + H + H * C + C)            # float32 gradients, one key each
    assert res["workers"] == workers and res["arrays"] == 4
    assert res["bytes_pushed_per_step"] == res["bytes_pulled_per_step"] == nbytes
    print(f"\n{workers} worker(s): step {res['step_ms']:.2f} ms (compute alone "
          f"{res['compute_ms']:.2f} ms, allreduce {res['exchange_ms']:.2f} ms), "
          f"{nbytes / 1024:.1f} KiB pushed and pulled per step and worker")


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        worker(sys.argv[2].format(rank=os.environ["DMLC_TASK_ID"]))
