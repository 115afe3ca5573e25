"""Data-parallel training of a multilayer perceptron on the 8x8 digits.

Each worker reads its shard of the training set (NDArrayIter num_parts/part_index),
the Solver averages the gradients over the workers every step (MXNet's KVStore) and
every worker applies the same update. Run it on 2 worker processes of this machine:

    python -m minpy.distributed.launch -n 2 examples/distributed_mlp.py

or in one process (KVStore 'local'): python examples/distributed_mlp.py
Options: --epochs N, --batch B (the global batch, split between the workers), --jit,
--server-optimizer (Adam runs on the servers: workers push gradients, pull parameters),
--async (KVStore 'dist_async', under the launcher: every worker's gradient is an
update of its own on the servers, no worker waits for another).
"""
import argparse
import time

import numpy as onp

import minpy.numpy as np
from minpy import distributed as dist
from minpy.nn import io, model_builder as builder
from minpy.nn.solver import Solver

from _digits import load_digits_split


def main(epochs=20, batch=64, jit=False, server_optimizer=False, asynchronous=False):
    # 'dist_sync' under the launcher, else 'local'; 'dist_async' needs the launcher
    dist.init("dist_async" if asynchronous else None)
    rank, n = dist.rank(), dist.num_workers()
    X_train, y_train, X_test, y_test = load_digits_split()
    onp.random.seed(rank)                        # shuffles differ; initial weights come from rank 0
    np.random.seed(0)
    net = builder.Sequential(builder.Affine(128), builder.ReLU(), builder.Affine(10))
    model = builder.Model(net, loss="softmax_loss", input_shape=(64,))
    train = io.NDArrayIter(X_train, y_train, batch_size=batch // n, shuffle=True,
                           num_parts=n, part_index=rank)
    test = io.NDArrayIter(X_test, y_test, batch_size=128)
    solver = Solver(model, train, test, num_epochs=epochs, update_rule="adam",
                    optim_config={"learning_rate": 2e-3}, lr_decay=0.95,
                    verbose=False, jit=jit, kvstore=dist.kvstore_type(),
                    update_on_kvstore=True if server_optimizer or asynchronous else None)
    solver.init()
    dist.reset_stats()
    t0 = time.perf_counter()
    solver.train()
    seconds = time.perf_counter() - t0
    st = dist.stats()
    steps = max(solver.iteration, 1)
    print(f"rank {rank}/{n}: {steps} steps, {seconds / steps * 1e3:.2f} ms per step "
          f"(accuracy checks included), exchange calls {st['seconds'] / steps * 1e3:.2f} ms and "
          f"{st['bytes_pushed'] / steps / 1024:.1f} KiB pushed + "
          f"{st['bytes_pulled'] / steps / 1024:.1f} KiB pulled per step")
    # summed over the shards (with the optimizer on the servers: this worker's shard)
    train_acc = solver.check_accuracy(train)
    test_acc = solver.check_accuracy(test)
    if rank == 0:
        print(f"train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f} "
              f"(best epoch's parameters)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--jit", action="store_true")
    ap.add_argument("--server-optimizer", action="store_true")
    ap.add_argument("--async", dest="asynchronous", action="store_true")
    a = ap.parse_args()
    main(a.epochs, a.batch, a.jit, a.server_optimizer, a.asynchronous)
