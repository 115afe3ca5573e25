"""Data-parallel training on MXNet's KVStore (ps-lite: a scheduler, servers, workers).

Every worker runs the same script on its shard of the data; after computing its
gradients it calls :func:`allreduce`, which pushes one KVStore key per array of the
tree and pulls back the sum (or mean) over all workers. The optimizer then runs
locally, on identical copies of the parameters in every worker. Or the optimizer
runs on the servers (:func:`set_optimizer`, :func:`server_init`,
:func:`server_update`): workers push gradients and pull parameters, which is also
how ``'dist_async'`` (every push an update of its own) trains.

Start the processes with ``python -m minpy.distributed.launch -n 2 script.py`` (see
:mod:`minpy.distributed.launch`); without a launcher (no ``DMLC_*`` variables) the
KVStore is ``'local'`` and the same script runs in one process with one worker.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import time
from typing import Any, Optional

import mxnet as _mx
import numpy as _onp

from .. import _pytree
from ..array import Array
from ..dispatch import call as _call

__all__ = ["init", "is_initialized", "kvstore", "kvstore_type", "rank", "num_workers", "barrier", "allreduce",
           "broadcast", "set_optimizer", "server_init", "server_update", "shutdown", "stats", "reset_stats", "DistributedError"]

_SYNC_TYPES = ("local", "device", "nccl", "dist_sync", "dist_sync_device", "dist_device_sync")
_ASYNC_TYPES = ("dist_async", "dist_device_async")


class DistributedError(RuntimeError):
    """Workers disagree (tree layouts, shapes, dtypes) or the KVStore cannot be used."""


class _State:
    def __init__(self) -> None:
        self.kv = None                 # the mxnet KVStore
        self.type: Optional[str] = None
        self.layouts: dict = {}        # name -> (signature digest, keys) checked with the others
        self.optimizer = None          # set_optimizer's, until the first server_update installs it
        self.opt_active = False        # the KVStore applies an optimizer to every push
        self.stats = {"calls": 0, "arrays": 0, "bytes_pushed": 0, "bytes_pulled": 0,
                      "seconds": 0.0}


_S = _State()


# ----------------------------------------------------------------------------- setup

def init(kvstore: Optional[str] = None, *, scheduler: Optional[str] = None,
         port: Optional[int] = None, num_workers: Optional[int] = None,
         num_servers: Optional[int] = None):
    """Join the job (idempotent); returns the MXNet KVStore.

    With no arguments the job comes from the environment the launcher sets
    (``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``, ``DMLC_PS_ROOT_PORT``, ``DMLC_NUM_WORKER``,
    ``DMLC_NUM_SERVER``): ``'dist_sync'`` when they are there, else ``'local'``
    (one process, one worker). ``scheduler``/``port``/``num_workers``/``num_servers``
    set those variables for this process before joining, for jobs started by hand.
    """
    if _S.kv is not None:
        if kvstore is not None and kvstore != _S.type:
            raise DistributedError(f"minpy.distributed.init: already joined a {_S.type!r} "
                                   f"KVStore, cannot switch to {kvstore!r}")
        return _S.kv
    explicit = {"DMLC_PS_ROOT_URI": scheduler, "DMLC_PS_ROOT_PORT": port,
                "DMLC_NUM_WORKER": num_workers, "DMLC_NUM_SERVER": num_servers}
    for k, v in explicit.items():
        if v is not None:
            os.environ[k] = str(v)
    if any(v is not None for v in explicit.values()):
        os.environ.setdefault("DMLC_ROLE", "worker")
    if kvstore is None:
        kvstore = "dist_sync" if "DMLC_PS_ROOT_URI" in os.environ else "local"
    if kvstore.startswith("dist"):
        missing = [k for k in ("DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_WORKER",
                               "DMLC_NUM_SERVER") if k not in os.environ]
        if missing:
            raise DistributedError(
                f"minpy.distributed.init({kvstore!r}): {', '.join(missing)} not set; start the "
                f"script with python -m minpy.distributed.launch -n N script.py, or pass "
                f"scheduler=, port=, num_workers=, num_servers=")
        if os.environ.get("DMLC_ROLE", "worker") != "worker":
            raise DistributedError(f"minpy.distributed.init: DMLC_ROLE is "
                                   f"{os.environ['DMLC_ROLE']!r}; only workers call init()")
    try:
        kv = _mx.kv.create(kvstore)
    except _mx.base.MXNetError as e:
        raise DistributedError(f"minpy.distributed.init: MXNet could not create the "
                               f"{kvstore!r} KVStore: {_call.mx_message(e)}") from None
    _S.kv, _S.type, _S.layouts = kv, kvstore, {}
    _S.optimizer, _S.opt_active = None, False
    if kvstore.startswith("dist"):
        _install_excepthook()
        task = os.environ.get("DMLC_TASK_ID")
        if task is not None and task.isdigit() and int(task) != kv.rank:
            import warnings
            warnings.warn(f"minpy.distributed.init: the launcher started this process as worker "
                          f"{task}, but the KVStore ranks it {kv.rank} (its port was taken and "
                          f"ps-lite picked another?); output prefixes name the launcher's number",
                          RuntimeWarning, stacklevel=2)
    return kv


def _install_excepthook() -> None:
    """An uncaught exception in a worker ends the process at once (exit code 1).

    A normal exit leaves the job through a barrier that waits for every other worker,
    and those may be waiting for this one's next push: the process would never end,
    and the launcher (which stops the job when a process fails) would never learn of it.
    """
    import sys
    prev = sys.excepthook
    if getattr(prev, "_minpy_distributed", False):
        return

    def hook(typ, value, tb):
        try:
            prev(typ, value, tb)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(1)

    hook._minpy_distributed = True
    sys.excepthook = hook


def is_initialized() -> bool:
    return _S.kv is not None


def kvstore_type() -> str:
    """The KVStore's type ('local', 'dist_sync', ...), joining with :func:`init` defaults first."""
    kvstore()
    return _S.type


def kvstore():
    """The MXNet KVStore this process joined (joining with :func:`init` defaults first)."""
    return init() if _S.kv is None else _S.kv


def rank() -> int:
    """This worker's rank, 0 .. num_workers()-1 (the launcher's worker index)."""
    return int(kvstore().rank)


def num_workers() -> int:
    return int(kvstore().num_workers)


def barrier() -> None:
    """Wait until every worker reaches this call (nothing to wait for in one process)."""
    kv = kvstore()
    if _S.type.startswith("dist"):
        kv._barrier()


def shutdown() -> None:
    """Leave the job: the last reference to the KVStore goes, so ps-lite says goodbye
    (rank 0 also stops the servers). Runs at exit; calling it earlier is allowed."""
    kv, _S.kv, _S.type, _S.layouts = _S.kv, None, None, {}
    _S.optimizer, _S.opt_active = None, False
    if kv is not None:
        _mx.nd.waitall()
        del kv


atexit.register(shutdown)


def stats() -> dict:
    """Counters of :func:`allreduce` and :func:`server_update` in this process: calls,
    arrays, bytes pushed and pulled, seconds spent in the calls (the pulls complete
    asynchronously after them: waiting for the values is not counted)."""
    return dict(_S.stats)


def reset_stats() -> None:
    for k in _S.stats:
        _S.stats[k] = 0.0 if k == "seconds" else 0


# ----------------------------------------------------------------------------- pytrees

def _flatten(tree, path, leaves, paths):
    """Leaves in a stable order: dict keys sorted (workers may build dicts in another
    order), lists and tuples by position; NumPy data and numbers become MinPy arrays.
    Returns the structure to rebuild from (minpy._pytree, shared with grad)."""
    found, where, struct = _pytree.flatten(tree, sort_keys=True)
    for x, p in zip(found, where):
        at = path + "".join(f"/{k}" for k in p)
        if isinstance(x, Array):
            leaf = x
        elif isinstance(x, (_onp.ndarray, _onp.generic, int, float)) and not isinstance(x, bool):
            from .. import numpy as mnp
            leaf = mnp.array(x)
        else:
            raise TypeError(f"minpy.distributed.allreduce: the leaf at {at or '/'} is a "
                            f"{type(x).__name__}; leaves must be MinPy or NumPy arrays (in "
                            f"dicts, lists and tuples)")
        leaves.append(leaf)
        paths.append(at or "/")
    return struct


def _unflatten(struct, it):
    return _pytree.build(struct, it)


# ----------------------------------------------------------------------------- layouts

def _nibbles(digest: bytes) -> _onp.ndarray:
    b = _onp.frombuffer(digest, dtype=_onp.uint8)
    return _onp.stack([b >> 4, b & 15], axis=1).reshape(-1).astype("float32")


def _check_layout(kv, name, paths, leaves, n, init=None, caller="allreduce"):
    """Compare this worker's tree layout with every other worker's, once per name.

    The layout (paths, shapes, dtypes) is hashed to 32 values in 0..15; every worker
    pushes them and their squares to one small key and pulls the sums. All workers
    agree exactly when sum(x)**2 == n * sum(x*x) for every value (equality in the
    Cauchy-Schwarz inequality); the sums stay below 2**24, so float32 is exact. This
    runs before any leaf key is touched: a server never sees mismatched shapes.
    """
    layout = "\n".join(f"{p}:{tuple(a.shape)}:{_onp.dtype(a.dtype).str}"
                       for p, a in zip(paths, leaves))
    digest = hashlib.sha256(layout.encode()).digest()[:16]
    prev = _S.layouts.get(name)
    if prev is not None:
        if prev[0] == digest:
            return prev[1]
        raise DistributedError(
            f"minpy.distributed.{caller}(name={name!r}): the tree's layout changed since the "
            f"first call (now {_describe(paths, leaves)}); pass a new name= for another tree")
    keys = [f"{name}{p}" for p in paths]
    if n > 1:
        x = _nibbles(digest)
        vec = _onp.concatenate([x, x * x])
        skey = f"__minpy_layout__/{name}"
        kv.init(skey, _mx.nd.zeros(vec.shape))
        asynchronous = _S.type in _ASYNC_TYPES
        if asynchronous:
            # an asynchronous server applies each push on its own, through an optimizer
            # (without one it fails): MXNet's 'test' optimizer adds the pushes up
            kv.set_optimizer(_mx.optimizer.Test(rescale_grad=1.0))
            barrier()
        kv.push(skey, _mx.nd.array(vec))
        out = _mx.nd.zeros(vec.shape)
        if asynchronous:
            _mx.nd.waitall()       # this push is applied (the server answers after it) ...
            barrier()              # ... and so is every other worker's
        kv.pull(skey, out=out)
        tot = out.asnumpy().astype("float64")
        s, ss = tot[:32], tot[32:]
        if not _onp.array_equal(s * s, n * ss):
            raise DistributedError(
                f"minpy.distributed.{caller}(name={name!r}): the workers passed trees of "
                f"different layouts (paths, shapes or dtypes); worker {kv.rank} has "
                f"{_describe(paths, leaves)}")
    kv.init(keys, init() if init is not None else
            [_mx.nd.zeros(a.shape, dtype=a.dtype) for a in leaves])
    _S.layouts[name] = (digest, keys)
    return keys


def _describe(paths, leaves, limit=8):
    items = [f"{p}: {tuple(a.shape)} {_onp.dtype(a.dtype).name}" for p, a in zip(paths, leaves)]
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return "{" + ", ".join(items[:limit]) + more + "}"


# ----------------------------------------------------------------------------- reductions

def allreduce(tree: Any, op: str = "sum", name: str = "allreduce") -> Any:
    """Sum (``op='sum'``) or average (``op='mean'``) a tree of arrays over all workers.

    ``tree`` is an array or a dict/list/tuple (nested) of MinPy or NumPy arrays; the
    result has the same structure, with MinPy arrays on the leaves' contexts. Each
    leaf is one KVStore key named ``name`` + its path, so every worker must pass a
    tree of the same layout for a given ``name`` (checked once; a mismatch raises
    :class:`DistributedError` on every worker before anything is exchanged).

    Pending lazy values are computed by one flush before the push. Inside a
    ``@minpy.jit`` trace the call is a graph break (the values must leave the
    process); keep ``allreduce`` between jitted functions.
    """
    if op not in ("sum", "mean"):
        raise ValueError(f"minpy.distributed.allreduce: op must be 'sum' or 'mean', got {op!r}")
    kv = kvstore()
    if _S.opt_active or _S.optimizer is not None:
        raise DistributedError(
            "minpy.distributed.allreduce: the KVStore runs the optimizer of set_optimizer, which "
            "it would apply to these arrays too; use server_update, or sum gradients with "
            "allreduce and update locally, not both")
    if _S.type in _ASYNC_TYPES:
        raise DistributedError(
            f"minpy.distributed.allreduce: a {_S.type!r} KVStore applies each push on its own "
            f"and has no synchronous sum; use 'dist_sync', or the optimizer on the servers "
            f"(set_optimizer, server_update)")
    t0 = time.perf_counter()
    leaves, paths = [], []
    struct = _flatten(tree, "", leaves, paths)
    if not leaves:
        return tree
    n = int(kv.num_workers)
    keys = _check_layout(kv, name, paths, leaves, n)
    eng = _call.lazy_engine()
    if eng is not None:
        if eng.tracing is not None:
            # the values leave the process: a trace must never replay this call as a constant
            from ..jit.graph import user_frame
            eng.tracing.graph_break("minpy.distributed.allreduce", user_frame(2))
        if any(type(a._data) is not _mx.np.ndarray for a in leaves):
            eng.flush("allreduce")
    bufs = [a._mx("allreduce").as_nd_ndarray() for a in leaves]
    outs = [_mx.nd.empty(b.shape, ctx=b.context, dtype=b.dtype) for b in bufs]
    kv.push(keys, bufs)
    kv.pull(keys, out=outs)
    if op == "mean" and n > 1:
        for o in outs:
            o /= n
    res = [Array.from_mx(o) for o in outs]
    nbytes = sum(int(b.size) * _onp.dtype(b.dtype).itemsize for b in bufs)
    st = _S.stats
    st["calls"] += 1
    st["arrays"] += len(bufs)
    st["bytes_pushed"] += nbytes
    st["bytes_pulled"] += nbytes
    st["seconds"] += time.perf_counter() - t0
    return _unflatten(struct, iter(res))


def broadcast(tree: Any, root: int = 0, name: str = "broadcast") -> Any:
    """Every worker gets ``root``'s values (for identical initial parameters)."""
    kv = kvstore()
    n = int(kv.num_workers)
    if n == 1:
        return tree
    if not 0 <= root < n:
        raise ValueError(f"minpy.distributed.broadcast: root {root} is not a rank (0..{n - 1})")
    leaves, paths = [], []
    struct = _flatten(tree, "", leaves, paths)
    if rank() != root:
        from .. import numpy as mnp
        zero = [mnp.zeros(a.shape, dtype=a.dtype) for a in leaves]
        tree = _unflatten(struct, iter(zero))
    return allreduce(tree, "sum", name)


# ----------------------------------------------------------------------------- optimizer on the servers

def _buffers(leaves, reason):
    """The leaves' MXNet buffers, pending lazy values computed by one flush."""
    eng = _call.lazy_engine()
    if eng is not None:
        if eng.tracing is not None:
            from ..jit.graph import user_frame
            eng.tracing.graph_break(f"minpy.distributed.{reason}", user_frame(3))
        if any(type(a._data) is not _mx.np.ndarray for a in leaves):
            eng.flush(reason)
    return [a._mx(reason).as_nd_ndarray() for a in leaves]


def set_optimizer(optimizer) -> None:
    """Run ``optimizer`` (an ``mxnet.optimizer.Optimizer``, e.g.
    ``mx.optimizer.SGD(learning_rate=0.1, rescale_grad=1 / num_workers())``) where the
    parameters are stored: on the servers with ``'dist_sync'`` (sent pickled), in this
    process with ``'local'``. Then :func:`server_init` stores the parameters there and
    :func:`server_update` pushes gradients and pulls the updated parameters. With
    ``'dist_sync'`` the servers sum the workers' gradients before the update, hence
    ``rescale_grad`` for a mean; with ``'dist_async'`` each worker's push is an update
    of its own (``rescale_grad=1``). Every worker calls this, before training.
    """
    kv = kvstore()
    if not isinstance(optimizer, _mx.optimizer.Optimizer):
        raise TypeError(f"minpy.distributed.set_optimizer: expected an mxnet.optimizer.Optimizer, "
                        f"got {type(optimizer).__name__}")
    if _S.opt_active:
        raise DistributedError("minpy.distributed.set_optimizer: an optimizer is already running "
                               "on the KVStore")
    _S.optimizer = optimizer      # installed by the first server_update, after its layout check


def server_init(params: Any, name: str = "params") -> Any:
    """Store ``params`` on the servers and start the optimizer of :func:`set_optimizer`;
    returns the stored values (rank 0's ``params``) to every worker.

    Every worker calls it once, before the first :func:`server_update`, with a tree of
    the same layout (checked across workers first: the optimizer would apply to the
    check's key too, so one tree per job). :func:`server_update` calls it itself
    when it was not called.
    """
    kv = kvstore()
    if _S.opt_active:
        if name in _S.layouts:
            raise DistributedError(f"minpy.distributed.server_init(name={name!r}): already "
                                   f"stored; the optimizer is running")
        raise DistributedError(
            f"minpy.distributed.server_init(name={name!r}): the optimizer already runs for "
            f"{[k for k in _S.layouts]}; one parameter tree per job")
    if _S.optimizer is None:
        raise DistributedError("minpy.distributed.server_init: call set_optimizer first")
    leaves, paths = [], []
    struct = _flatten(params, "", leaves, paths)
    if not leaves:
        raise DistributedError("minpy.distributed.server_init: the tree has no arrays")
    keys = _check_layout(kv, name, paths, leaves, int(kv.num_workers),
                         init=lambda: _buffers(leaves, "server_init"), caller="server_init")
    kv.set_optimizer(_S.optimizer)
    _S.optimizer, _S.opt_active = None, True
    barrier()      # no worker pushes before every server has the optimizer
    outs = [_mx.nd.empty(a.shape, ctx=b.context, dtype=a.dtype)
            for a, b in zip(leaves, _buffers(leaves, "server_init"))]
    kv.pull(keys, out=outs)
    return _unflatten(struct, iter([Array.from_mx(o) for o in outs]))


def server_update(params: Any, grads: Any, name: str = "params") -> Any:
    """Push ``grads`` and pull the parameters the optimizer of :func:`set_optimizer`
    made of them; returns a tree like ``params``.

    The values of ``params`` are not used, only its layout (``grads`` must have the
    same), except by the first call when :func:`server_init` was not called: it calls
    it, storing ``params`` (rank 0's values; every worker then starts from them).

    With ``'dist_sync'`` the servers sum the workers' gradients of a step and update
    once; with ``'dist_async'`` every push is an update of its own, and the pull returns
    the parameters as they are then (other workers' updates included).
    """
    kv = kvstore()
    if _S.optimizer is None and not _S.opt_active:
        raise DistributedError("minpy.distributed.server_update: call set_optimizer first")
    if _S.opt_active and name not in _S.layouts:
        raise DistributedError(
            f"minpy.distributed.server_update(name={name!r}): the optimizer already runs for "
            f"{[k for k in _S.layouts]}; one parameter tree per job")
    t0 = time.perf_counter()
    leaves, paths = [], []
    struct = _flatten(params, "", leaves, paths)
    gleaves, gpaths = [], []
    _flatten(grads, "", gleaves, gpaths)
    if gpaths != paths or any(tuple(g.shape) != tuple(a.shape) for g, a in zip(gleaves, leaves)):
        raise DistributedError(
            f"minpy.distributed.server_update: grads {_describe(gpaths, gleaves)} do not match "
            f"params {_describe(paths, leaves)}")
    if not _S.opt_active:
        server_init(params, name)
    # cached; a changed layout raises
    keys = _check_layout(kv, name, paths, leaves, int(kv.num_workers), caller="server_update")
    bufs = _buffers(gleaves, "server_update")
    outs = [_mx.nd.empty(a.shape, ctx=b.context, dtype=a.dtype) for a, b in zip(leaves, bufs)]
    kv.push(keys, bufs)
    kv.pull(keys, out=outs)
    nbytes = sum(int(b.size) * _onp.dtype(b.dtype).itemsize for b in bufs)
    st = _S.stats
    st["calls"] += 1
    st["arrays"] += len(bufs)
    st["bytes_pushed"] += nbytes
    st["bytes_pulled"] += sum(int(o.size) * _onp.dtype(o.dtype).itemsize for o in outs)
    st["seconds"] += time.perf_counter() - t0
    return _unflatten(struct, iter([Array.from_mx(o) for o in outs]))
