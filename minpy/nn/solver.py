"""Train a :class:`~minpy.nn.model.ModelBase` with mini-batch gradient descent.

The training step is a plain function of arrays and update-rule configs
(:func:`make_train_step`); by default it runs in lazy mode, so forward pass,
backward pass and parameter update of one batch become one MXNet graph,
compiled on the first batch and then fetched from the executor cache.
"""
from __future__ import annotations

import copy
import time
import warnings

import numpy as _onp

import minpy
from .. import numpy as np
from ..array import Array
from ..autograd import grad_and_loss
from . import optim as _optim
from .io import NDArrayIter

__all__ = ["Solver", "make_train_step"]


def make_train_step(model, update_rule, keys, reduce=None):
    """``step(params, X, y, configs) -> (new_params, new_configs, loss)``.

    ``params`` and ``configs`` are lists ordered like ``keys``. The step takes the
    gradient of ``model.loss(model.forward(X, 'train'), y)`` with respect to every
    parameter and applies ``update_rule`` to each. It has no Python control flow
    that depends on array values, so it records as one lazy graph (or one
    ``@minpy.jit`` trace). ``reduce`` (a function of the gradient list, such as a
    mean over workers) runs between gradient and update; the two halves are also
    there as ``step.grad_step(params, X, y)`` and ``step.update_step(params, grads,
    configs)``, to be jitted on either side of it.
    """
    keys = list(keys)
    rule = _optim.get(update_rule)

    from .model import ModelBase
    # a model overriding forward_batch/loss_batch (MinPy 0.3's examples do) is trained with them
    by_batch = isinstance(model, ModelBase) and (
        type(model).forward_batch is not ModelBase.forward_batch or
        type(model).loss_batch is not ModelBase.loss_batch)

    def loss_of_params(*ps):
        saved = model.params
        model.params = dict(zip(keys, ps))
        try:
            if by_batch:
                from .io import DataBatch
                b = DataBatch([X_[0]], [y_[0]])
                return model.loss_batch(b, model.forward_batch(b, "train"))
            return model.loss(model.forward(X_[0], "train"), y_[0])
        finally:
            model.params = saved

    X_, y_ = [None], [None]
    gl = grad_and_loss(loss_of_params, list(range(len(keys))))

    def grad_step(params, X, y):
        X_[0], y_[0] = X, y
        try:
            grads, loss = gl(*params)
        finally:
            X_[0] = y_[0] = None
        return list(grads), loss

    def update_step(params, grads, configs):
        new_params, new_configs = [], []
        for w, dw, cfg in zip(params, grads, configs):
            nw, cfg = rule(w, dw, cfg)
            new_params.append(nw)
            new_configs.append(cfg)
        return new_params, new_configs

    def train_step(params, X, y, configs):
        grads, loss = grad_step(params, X, y)
        if reduce is not None:
            grads = reduce(grads)
        new_params, new_configs = update_step(params, grads, configs)
        return new_params, new_configs, loss

    train_step.grad_step, train_step.update_step = grad_step, update_step
    return train_step


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False)


class Solver:
    """Mini-batch training loop with history, learning-rate decay and checkpoints.

    model            a ModelBase (parameters declared; ``init()`` creates them)
    train_dataiter   a NDArrayIter (or anything yielding batches with data/label/pad
                     and having ``reset()``)
    test_dataiter    the validation iterator, or None
    num_epochs       passes over the training data
    update_rule      'sgd', 'sgd_momentum', 'rmsprop', 'adam' or a callable
    optim_config     hyperparameters for the rule (copied per parameter)
    init_rule, init_config  default initialiser for ``init()``
    lr_decay         the learning rate is multiplied by this after every epoch
    verbose, print_every  print the loss every ``print_every`` iterations and
                     the accuracies every epoch (with a tqdm bar when tqdm is installed)
    checkpoint       None or a path prefix: ``model.save(f'{prefix}-{epoch:04d}')``
                     after every ``checkpoint_every`` epochs
    train_acc_num_samples  samples used to measure training accuracy (None: all)
    lazy             run the training step (and accuracy checks) in lazy mode
    jit              wrap the step with ``@minpy.jit`` (trace once, replay the cached
                     graph); where ``minpy.jit`` is not callable this falls back to
                     lazy mode with a warning
    kvstore          None, or data-parallel training through ``minpy.distributed``
                     ('local', 'dist_sync'): the parameters start as rank 0's, every
                     step averages the gradients over the workers (each reading its
                     shard: ``NDArrayIter(num_parts=, part_index=)``) and every worker
                     applies the same update; accuracies over sharded iterators are
                     summed over the workers. With ``jit`` the gradient and the update
                     are two jitted graphs with the exchange between them.
                     'dist_async' runs the optimizer on the servers (below)
    update_on_kvstore  run the update where the KVStore keeps the parameters (MXNet's
                     optimizer of the same name as ``update_rule``, on the servers):
                     workers push gradients and pull parameters. Default: True for
                     'dist_async' (the only way there), else False

    After ``train()``: ``loss_history`` (per iteration), ``train_acc_history`` and
    ``val_acc_history`` (per epoch), ``best_val_acc`` / ``best_params`` (the model
    ends with the best parameters when there is validation data); ``plot()`` draws
    the curves.
    """

    def __init__(self, model, train_dataiter, test_dataiter=None, num_epochs=10,
                 update_rule="sgd", optim_config=None, init_rule="xavier", init_config=None,
                 lr_decay=1.0, verbose=True, print_every=100, checkpoint=None,
                 checkpoint_every=1, train_acc_num_samples=1000, lazy=True, jit=False,
                 kvstore=None, task_type="classification", batch_size=100,
                 update_on_kvstore=None) -> None:
        if task_type not in ("classification", "regression"):
            raise ValueError(f"minpy.nn.Solver: task_type must be 'classification' or "
                             f"'regression', got {task_type!r}")
        self.task_type = task_type
        if isinstance(train_dataiter, dict):
            # CS231n's form Solver(model, data, batch_size=...): data holds X_train, y_train,
            # X_val, y_val; the third positional argument (if any) is then num_epochs
            data = train_dataiter
            if test_dataiter is not None and not hasattr(test_dataiter, "reset"):
                num_epochs, test_dataiter = test_dataiter, None
            train_dataiter = NDArrayIter(data["X_train"], data["y_train"], batch_size, shuffle=True)
            if "X_val" in data:
                test_dataiter = NDArrayIter(data["X_val"], data["y_val"], batch_size)
        self.model = model
        self.train_dataiter = train_dataiter
        self.test_dataiter = test_dataiter
        self.num_epochs = int(num_epochs)
        self.update_rule = _optim.get(update_rule)
        self.optim_config = dict(optim_config or {})
        self.init_rule = init_rule
        self.init_config = dict(init_config or {})
        self.lr_decay = float(lr_decay)
        self.verbose = verbose
        self.print_every = int(print_every)
        self.checkpoint = checkpoint
        self.checkpoint_every = int(checkpoint_every)
        self.train_acc_num_samples = train_acc_num_samples
        self.lazy = bool(lazy) or bool(jit)
        self.jit = False
        if jit:
            jit_fn = getattr(minpy, "jit", None)
            if callable(jit_fn):
                self.jit = True
            else:
                warnings.warn("minpy.nn.Solver: @minpy.jit is not available yet; "
                              "training in lazy mode instead", stacklevel=2)
        self.kvstore = kvstore
        if kvstore is None and update_on_kvstore:
            raise ValueError("minpy.nn.Solver: update_on_kvstore needs a kvstore")
        if kvstore is not None:
            from .. import distributed
            distributed.init(kvstore)
            asynchronous = distributed.kvstore_type() in ("dist_async", "dist_device_async")
            if asynchronous and update_on_kvstore is False:
                raise ValueError(f"minpy.nn.Solver: kvstore={kvstore!r} has no synchronous sum of "
                                 f"gradients; its servers run the optimizer (update_on_kvstore=True)")
            update_on_kvstore = asynchronous if update_on_kvstore is None else update_on_kvstore
        self.update_on_kvstore = bool(update_on_kvstore)
        self._kv_rule = update_rule        # its MXNet optimizer is made by init()
        self._step_fn = None
        self._reset_history()

    def _reset_history(self):
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.epoch_times = []

    # -- setup ----------------------------------------------------------------------------
    def init(self):
        """Create the model's parameters and one optimiser config per parameter."""
        if hasattr(self.model, "bind_data"):    # model_builder: image shape from the data
            self.model.bind_data(self.train_dataiter)
        self.model.init_params(self.init_rule, self.init_config)
        self.optim_configs = {k: copy.deepcopy(self.optim_config) for k in self.model.params}
        self._keys = list(self.model.params)
        if self.kvstore is not None:
            self._init_distributed()
            return self
        step = make_train_step(self.model, self.update_rule, self._keys)
        self._step_fn = minpy.jit(step) if self.jit else step
        self._reset_history()
        return self

    def _init_distributed(self):
        from .. import distributed as dist
        if self.update_on_kvstore:
            return self._init_server_optimizer()
        self.model.params = dict(dist.broadcast(dict(self.model.params), name="solver_init"))

        def mean(grads):
            return dist.allreduce(grads, "mean", name="solver_grads")

        step = make_train_step(self.model, self.update_rule, self._keys, reduce=mean)
        if self.jit:
            grad_step, update_step = minpy.jit(step.grad_step), minpy.jit(step.update_step)

            def step(params, X, y, configs):
                grads, loss = grad_step(params, X, y)
                new_params, new_configs = update_step(params, mean(grads), configs)
                return new_params, new_configs, loss
        self._step_fn = step
        self._reset_history()

    def _mx_optimizer(self):
        """MXNet's optimizer for ``update_rule`` and ``optim_config`` (the same update
        up to where epsilon enters), with ``lr_decay`` as a per-epoch FactorScheduler."""
        import mxnet as mx
        from .. import distributed as dist
        rule = self._kv_rule
        asynchronous = dist.kvstore_type() in ("dist_async", "dist_device_async")
        # dist_sync: the servers sum the workers' gradients (each a mean over its shard)
        rescale = 1.0 if asynchronous else 1.0 / dist.num_workers()
        name = rule if isinstance(rule, str) else getattr(rule, "__name__", repr(rule))
        table = {   # MinPy rule: (MXNet class, {MinPy config name: MXNet argument}, defaults)
            "sgd": (mx.optimizer.SGD, {"learning_rate": "learning_rate"}, {"learning_rate": 1e-2}),
            "sgd_momentum": (mx.optimizer.SGD, {"learning_rate": "learning_rate",
                                                "momentum": "momentum"},
                             {"learning_rate": 1e-2, "momentum": 0.9}),
            "rmsprop": (mx.optimizer.RMSProp, {"learning_rate": "learning_rate",
                                               "decay_rate": "gamma1", "epsilon": "epsilon"},
                        {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}),
            "adam": (mx.optimizer.Adam, {"learning_rate": "learning_rate", "beta1": "beta1",
                                         "beta2": "beta2", "epsilon": "epsilon"},
                     {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
        }
        if name not in table:
            raise ValueError(f"minpy.nn.Solver: with update_on_kvstore the update rule must be one "
                             f"of {sorted(table)} or an mxnet.optimizer.Optimizer, got {name!r}")
        cls, names, defaults = table[name]
        unknown = sorted(set(self.optim_config) - set(names))
        if unknown:
            raise ValueError(f"minpy.nn.Solver: optim_config {unknown} has no counterpart in "
                             f"MXNet's {cls.__name__} (update_on_kvstore)")
        cfg = dict(defaults, **self.optim_config)
        kwargs = {names[k]: v for k, v in cfg.items()}
        if name == "rmsprop":
            # MXNet divides by sqrt(n + epsilon), MinPy by sqrt(n) + epsilon: nearest is epsilon**2
            kwargs["epsilon"] = cfg["epsilon"] ** 2
        if self.lr_decay != 1.0:
            batches = getattr(self.train_dataiter, "num_batches", None)
            if batches is None:
                raise ValueError("minpy.nn.Solver: lr_decay with update_on_kvstore needs the "
                                 "number of batches per epoch (train_dataiter.num_batches)")
            updates = batches * (dist.num_workers() if asynchronous else 1)
            kwargs["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(
                step=max(int(updates), 1), factor=self.lr_decay, base_lr=cfg["learning_rate"],
                stop_factor_lr=0.0)
        return cls(rescale_grad=rescale, wd=0.0, **kwargs)

    def _init_server_optimizer(self):
        """The optimizer where the KVStore keeps the parameters: every worker starts from
        rank 0's parameters; a step pushes gradients and pulls parameters."""
        from .. import distributed as dist
        keys = self._keys
        dist.set_optimizer(self._mx_optimizer())
        self.model.params = dict(dist.server_init(dict(self.model.params), name="solver_params"))
        step = make_train_step(self.model, self.update_rule, keys)
        grad_step = minpy.jit(step.grad_step) if self.jit else step.grad_step

        def server_step(params, X, y, configs):
            grads, loss = grad_step(params, X, y)
            new = dist.server_update(dict(zip(keys, params)), dict(zip(keys, grads)),
                                     name="solver_params")
            return [new[k] for k in keys], configs, loss

        self._step_fn = server_step
        self._reset_history()
        return self

    # -- training -------------------------------------------------------------------------
    def _step(self, batch):
        """One update on one batch; returns the loss (a MinPy array)."""
        params = [self.model.params[k] for k in self._keys]
        configs = [self.optim_configs[k] for k in self._keys]
        with minpy.lazy(self.lazy):
            new_params, new_configs, loss = self._step_fn(params, batch.data[0], batch.label[0],
                                                          configs)
            for k, w, cfg in zip(self._keys, new_params, new_configs):
                self.model.params[k] = w
                self.optim_configs[k] = cfg
            if self.lazy:
                minpy.flush()
        return loss

    def train(self):
        """Run ``num_epochs`` epochs; returns self."""
        if self._step_fn is None or not self.model.params:
            self.init()
        for _ in range(self.num_epochs):
            t0 = time.perf_counter()
            self.train_dataiter.reset()
            losses = []
            bar = _progress(self.train_dataiter, getattr(self.train_dataiter, "num_batches", None),
                            f"epoch {self.epoch + 1}/{self.num_epochs}", self.verbose)
            for batch in bar:
                loss = self._step(batch)
                losses.append(loss)
                self.iteration += 1
                if self.verbose and self.print_every and self.iteration % self.print_every == 0:
                    msg = f"(Iteration {self.iteration}) loss: {float(loss):.6f}"
                    bar.write(msg) if hasattr(bar, "write") else print(msg)
            if hasattr(bar, "close"):
                bar.close()
            self.loss_history.extend(float(l) for l in losses)
            self.epoch += 1
            for cfg in self.optim_configs.values():
                if "learning_rate" in cfg:
                    cfg["learning_rate"] = cfg["learning_rate"] * self.lr_decay
            train_acc = self.check_accuracy(self.train_dataiter, self.train_acc_num_samples)
            self.train_acc_history.append(train_acc)
            if self.test_dataiter is not None:
                val_acc = self.check_accuracy(self.test_dataiter)
                self.val_acc_history.append(val_acc)
                better = val_acc <= self.best_val_acc if self.task_type == "regression" \
                    else val_acc >= self.best_val_acc
                if better or not self.best_params:
                    self.best_val_acc = val_acc
                    self.best_params = dict(self.model.params)
            self.epoch_times.append(time.perf_counter() - t0)
            if self.verbose:
                val = f", val acc {self.val_acc_history[-1]:.4f}" if self.val_acc_history else ""
                print(f"(Epoch {self.epoch}/{self.num_epochs}) train acc {train_acc:.4f}{val}, "
                      f"loss {self.loss_history[-1]:.6f}, {self.epoch_times[-1]:.2f} s")
            if self.checkpoint and self.epoch % self.checkpoint_every == 0:
                self.model.save(f"{self.checkpoint}-{self.epoch:04d}")
        if self.best_params:
            self.model.params = dict(self.best_params)
        return self

    def plot(self, path=None, smooth: int = 0):
        """Loss per iteration and accuracy per epoch as a matplotlib Figure.

        ``path`` saves it (PNG, SVG or PDF, by extension); ``smooth`` adds a moving
        average over that many iterations to the loss curve (default: a 25th of
        the run, none for runs under 50 iterations). Needs matplotlib
        (``pip install 'minpy[plot]'``).
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("minpy.nn.Solver.plot needs matplotlib: pip install 'minpy[plot]' "
                              "(matplotlib 3.8 is the last release that supports numpy<1.24, "
                              "which MXNet 1.9.1 needs)") from None
        if not self.loss_history:
            raise RuntimeError("minpy.nn.Solver.plot: no history yet; call train() first")
        fig = Figure(figsize=(10, 4), layout="constrained")
        ax_loss, ax_acc = fig.subplots(1, 2)
        loss = _onp.asarray(self.loss_history, dtype="float64")
        its = _onp.arange(1, len(loss) + 1)
        window = int(smooth) if smooth else (max(len(loss) // 25, 2) if len(loss) > 50 else 0)
        smoothed = window > 1 and len(loss) >= window
        ax_loss.plot(its, loss, color="tab:blue", alpha=0.35 if smoothed else 1.0,
                     linewidth=1, label="loss per iteration")
        if smoothed:
            avg = _onp.convolve(loss, _onp.ones(window) / window, mode="valid")
            ax_loss.plot(its[window - 1:], avg, color="tab:blue", linewidth=2,
                         label=f"moving average ({window})")
        ax_loss.set(title="Training loss", xlabel="iteration", ylabel="loss")
        ax_loss.grid(alpha=0.3)
        ax_loss.legend()
        epochs = _onp.arange(1, len(self.train_acc_history) + 1)
        ax_acc.plot(epochs, self.train_acc_history, "o-", label="train")
        if self.val_acc_history:
            ax_acc.plot(epochs[:len(self.val_acc_history)], self.val_acc_history, "s-",
                        label="validation")
        ax_acc.set(title="Accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
        ax_acc.grid(alpha=0.3)
        ax_acc.legend(loc="lower right")
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig

    def check_accuracy(self, dataiter, num_samples=None):
        """Fraction of samples whose highest score is their label (padding excluded).

        For a :class:`NDArrayIter` the samples are read in order by a separate
        iterator (the training iterator's position and roll-over state are left
        alone); with ``num_samples`` a random subset of that many is used.
        """
        # with the optimizer on the servers every key is a parameter: no sums of counts,
        # each worker reports its own shard
        sharded = self.kvstore is not None and getattr(dataiter, "num_parts", 1) > 1 and \
            not self.update_on_kvstore
        if isinstance(dataiter, NDArrayIter):
            data, label = dataiter.data, dataiter.label
            n = dataiter.num_data
            if num_samples is not None and num_samples < n:
                idx = _onp.sort(_onp.random.choice(n, num_samples, replace=False))
                data, label = [a[idx] for a in data], [a[idx] for a in label]
            dataiter = NDArrayIter(data, label, dataiter.batch_size, shuffle=False,
                                   last_batch_handle="pad", dtype=dataiter.dtype)
            num_samples = None
        else:
            dataiter.reset()
        if self.task_type == "regression":
            return self._mean_loss(dataiter, num_samples)
        correct = total = 0
        with minpy.lazy(self.lazy):
            for batch in dataiter:
                pred = np.argmax(self.model.forward_batch(batch, "test"), axis=1).asnumpy()
                label = batch.label[0]
                label = label.asnumpy() if isinstance(label, Array) else _onp.asarray(label)
                n = len(pred) - batch.pad
                correct += int((pred[:n] == label[:n].reshape(-1)).sum())
                total += n
                if num_samples is not None and total >= num_samples:
                    break
        if sharded:
            from .. import distributed as dist
            correct, total = (int(round(float(v))) for v in dist.allreduce(
                _onp.array([correct, total], dtype="float64"), name="solver_accuracy").asnumpy())
        return correct / max(total, 1)

    def _mean_loss(self, dataiter, num_samples=None) -> float:
        """For ``task_type='regression'``: the model's loss in test mode, averaged over
        batches weighted by their samples (what the history records instead of accuracy)."""
        total = n_seen = 0.0
        with minpy.lazy(self.lazy):
            for batch in dataiter:
                n = batch.data[0].shape[0] - batch.pad
                loss = self.model.loss_batch(batch, self.model.forward_batch(batch, "test"))
                total += float(loss) * n
                n_seen += n
                if num_samples is not None and n_seen >= num_samples:
                    break
        return total / max(n_seen, 1)
