"""Models: named parameters plus ``forward`` and ``loss`` (the MinPy 0.3 shape).

Subclass :class:`ModelBase`, declare parameters in ``__init__`` with
``add_param`` (shapes and optional init rules; the solver creates the values)
and auxiliary state with ``add_aux_param`` (values, e.g. batch-norm running
statistics, updated by ``forward`` rather than by gradients), then write::

    def forward(self, X, mode):          # mode is 'train' or 'test'
        ...use self.params['w1'] ... return scores
    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)
"""
from __future__ import annotations

import os

import numpy as _onp

from .. import numpy as np
from ..array import Array
from . import init as _init

__all__ = ["ModelBase"]


class ModelBase:
    """Base class of trainable models.

    ``params``        name -> MinPy array, trained by the solver;
    ``aux_params``    name -> MinPy array, state kept by ``forward``;
    ``param_configs`` name -> {'shape', 'init_rule', 'init_config'} declarations.
    """

    def __init__(self) -> None:
        self.params: dict = {}
        self.aux_params: dict = {}
        self.param_configs: dict = {}

    # -- declarations ---------------------------------------------------------------------
    def add_param(self, name, shape, init_rule=None, init_config=None, **kwargs):
        """Declare a trainable parameter; ``init_rule``/``init_config`` override the
        solver's defaults for it (e.g. ``init_rule='constant'`` for biases)."""
        if name in self.param_configs:
            raise ValueError(f"minpy.nn.model: parameter {name!r} declared twice")
        cfg = {"shape": tuple(int(s) for s in shape)}
        if init_rule is not None:
            cfg["init_rule"] = init_rule
        if init_config is not None:
            cfg["init_config"] = dict(init_config)
        cfg.update(kwargs)
        self.param_configs[name] = cfg
        return self

    def add_params(self, param_dict):
        """Declare several parameters: ``{name: shape}`` or ``{name: config dict}``."""
        for name, v in param_dict.items():
            if isinstance(v, dict):
                v = dict(v)
                self.add_param(name, v.pop("shape"), **v)
            else:
                self.add_param(name, v)
        return self

    def add_aux_param(self, name, value):
        """Add (or replace) auxiliary state such as batch-norm running statistics."""
        self.aux_params[name] = value if isinstance(value, Array) or value is None else np.array(value)
        return self

    def init_params(self, init_rule="xavier", init_config=None, overwrite=True):
        """Create every declared parameter with its own rule or the given default."""
        for name, cfg in self.param_configs.items():
            if name in self.params and not overwrite:
                continue
            rule = _init.get(cfg.get("init_rule", init_rule))
            conf = dict(init_config or {})
            conf.update(cfg.get("init_config", {}))
            self.params[name] = rule(cfg["shape"], conf)
        return self

    # -- the model ------------------------------------------------------------------------
    def forward(self, X, mode):
        """Scores for a batch ``X`` in ``mode`` 'train' or 'test'."""
        raise NotImplementedError("subclasses of ModelBase define forward(X, mode)")

    def loss(self, predict, y):
        """Scalar loss of ``forward``'s output against labels ``y``."""
        raise NotImplementedError("subclasses of ModelBase define loss(predict, y)")

    def forward_batch(self, batch, mode):
        """``forward`` on a :class:`minpy.nn.io.DataBatch`."""
        return self.forward(batch.data[0], mode)

    def loss_batch(self, batch, forward_outputs):
        """``loss`` on a :class:`minpy.nn.io.DataBatch`."""
        return self.loss(forward_outputs, batch.label[0])

    # -- persistence ----------------------------------------------------------------------
    def save(self, prefix):
        """Write params and aux params to ``prefix + '.npz'``; returns the path."""
        path = str(prefix) + ".npz"
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        arrays = {}
        for k, v in self.params.items():
            arrays["param:" + k] = v.asnumpy() if isinstance(v, Array) else _onp.asarray(v)
        for k, v in self.aux_params.items():
            if v is not None:
                arrays["aux:" + k] = v.asnumpy() if isinstance(v, Array) else _onp.asarray(v)
        with open(path, "wb") as f:
            _onp.savez(f, **arrays)
        return path

    def load(self, prefix):
        """Read what ``save(prefix)`` wrote (``prefix`` may also end in '.npz')."""
        path = str(prefix)
        if not path.endswith(".npz"):
            path += ".npz"
        with _onp.load(path) as f:
            for key in f.files:
                kind, name = key.split(":", 1)
                value = f[key]
                arr = np.array(value, dtype=value.dtype)
                if kind == "param":
                    expected = self.param_configs.get(name, {}).get("shape")
                    if expected is not None and tuple(expected) != value.shape:
                        raise ValueError(f"minpy.nn.model.load: parameter {name!r} has shape "
                                         f"{value.shape} in {path}, the model declares {expected}")
                    self.params[name] = arr
                else:
                    self.aux_params[name] = arr
        return self
