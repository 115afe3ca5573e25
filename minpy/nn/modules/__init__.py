"""MinPy 0.3.4's modules for :class:`minpy.nn.model_builder.Model` subclasses.

::

    from minpy.nn.model_builder import *
    from minpy.nn.modules import *

    class MLP(Model):
        def __init__(self):
            super().__init__(loss='softmax_loss')
            self.net = Sequential(FullyConnected(num_hidden=100), ReLU(),
                                  FullyConnected(num_hidden=10))

        def forward(self, data, mode='training'):
            return self.net(data)

The MXNet layers (``FullyConnected``, ``Convolution``, ``Pooling``, ``BatchNorm``,
``Embedding``, ``Symbolic``) take MXNet's keyword arguments and run the MXNet
operator through :class:`minpy.core.Function`; their parameters are named
``'<module name>_<MXNet argument name>'`` in ``model.params``.
"""
from __future__ import annotations

import functools
import operator

import mxnet as _mx

from ... import numpy as np
from ...function import Function
from .. import layers as _layers
from ._core import (Add, Binary, Container, Layer, Model, Module, Mul, Parallel, Sequential,
                    Sub, Updater)

__all__ = ["Variable", "Identity", "ReLU", "Dropout", "Logistic", "Tanh", "Reshape",
           "BatchReshape", "Flatten", "BatchFlatten", "Symbolic", "FullyConnected",
           "Embedding", "Convolution", "Pooling", "BatchNorm", "RNN", "LSTM"]


class Variable(Layer):
    """A free parameter of ``shape``: calling the module returns it."""
    _module_name = "variable"

    def __init__(self, shape, init_configs=None, update_configs=None, name=None) -> None:
        self._shape = tuple(shape)
        super().__init__(("variable",), None, name)
        self._register_init_configs(init_configs)
        self._register_update_configs(update_configs)

    def forward(self):
        return self._get_param(self.variable)

    def param_shapes(self, *args, **kwargs) -> dict:
        return {self.variable: self._shape}


class Identity(Layer):
    _module_name = "identity"

    def __init__(self, name=None) -> None:
        super().__init__(name=name)

    def forward(self, X):
        return X


class ReLU(Layer):
    _module_name = "ReLU"

    def __init__(self, name=None) -> None:
        super().__init__(name=name)

    def forward(self, X, *args):
        return _layers.relu(X)


class Dropout(Layer):
    """Inverted dropout with drop probability ``p`` in training mode."""
    _module_name = "dropout"

    def __init__(self, p, name=None) -> None:
        super().__init__(name=name)
        self._p = float(p)

    def forward(self, data):
        return _layers.dropout(data, self._p, "train" if self._mode == "training" else "test")


class Logistic(Layer):
    _module_name = "logistic"

    def __init__(self, name=None) -> None:
        super().__init__(name=name)

    def forward(self, X, *args):
        return _layers.sigmoid(X)


class Tanh(Layer):
    _module_name = "tanh"

    def __init__(self, name=None) -> None:
        super().__init__(name=name)

    def forward(self, X, *args):
        return np.tanh(X)


class Reshape(Layer):
    """Reshape the whole input (batch axis included) to ``shape``."""
    _module_name = "reshape"

    def __init__(self, shape, name=None) -> None:
        super().__init__(name=name)
        self._shape = tuple(shape)

    def forward(self, X, *args):
        return np.reshape(X, self._shape)


class BatchReshape(Layer):
    """Reshape every sample to ``shape`` (the batch axis is kept)."""
    _module_name = "batch_reshape"

    def __init__(self, shape, name=None) -> None:
        super().__init__(name=name)
        self._shape = tuple(shape)

    def forward(self, X, *args):
        return np.reshape(X, tuple(X.shape[:1]) + self._shape)


class Flatten(Layer):
    """The whole input as one vector."""
    _module_name = "flatten"

    def __init__(self, name=None) -> None:
        super().__init__(name=name)

    def forward(self, X):
        return np.reshape(X, (functools.reduce(operator.mul, X.shape, 1),))


class BatchFlatten(Layer):
    """Every sample as one vector: ``(N, D)``."""
    _module_name = "batch_flatten"

    def __init__(self, name=None) -> None:
        super().__init__(name=name)

    def forward(self, X):
        return np.reshape(X, (X.shape[0], functools.reduce(operator.mul, X.shape[1:], 1)))


class Symbolic(Layer):
    """An MXNet symbol as a layer. ``variables`` (default ``('data',)``) are the
    symbol's inputs, given as keywords when calling; its other arguments are
    parameters of the model and its auxiliary states (BatchNorm's moving mean and
    variance) auxiliary parameters."""
    _module_name = "symbolic"

    def __init__(self, symbol, variables=None, init_configs=None, update_configs=None,
                 name=None) -> None:
        if not isinstance(symbol, _mx.sym.Symbol):
            raise TypeError(f"Symbolic: expected an mxnet Symbol, got {type(symbol).__name__}")
        self._symbol = symbol
        self._variables = ("data",) if variables is None else tuple(variables)
        params = tuple(a for a in symbol.list_arguments() if a not in self._variables)
        super().__init__(params, tuple(symbol.list_auxiliary_states()), name)
        self._register_init_configs(init_configs)
        self._register_update_configs(update_configs)
        self._func = Function(symbol, name=self._name)

    def forward(self, **kwargs):
        missing = [v for v in self._variables if v not in kwargs]
        if missing:
            raise TypeError(f"{self._name}: missing inputs {missing}")
        for own, full in zip(self._module_param_names, self._param_names):
            kwargs[own] = self._get_param(full)
        fn = self._func
        fn.is_train = self._mode == "training"
        aux = self._model.aux_params
        for own, full in zip(self._module_aux_param_names, self._aux_param_names):
            if aux.get(full) is not None:
                fn._aux[own] = np.asarray(aux[full])._mx()
        out = fn(**kwargs)
        if fn.is_train:
            self._pull_aux()
        return out

    def _pull_aux(self) -> None:
        """Copy the Function's auxiliary states (updated by training-mode passes, in the
        forward or the backward pass depending on the MXNet build) into the model."""
        if not self._aux_param_names or self._model is None:
            return
        states = self._func.get_aux_states()
        for own, full in zip(self._module_aux_param_names, self._aux_param_names):
            if states.get(own) is not None:
                self._model.aux_params[full] = states[own]

    def _after_backward(self) -> None:
        if self._mode == "training":
            self._pull_aux()

    def _infer(self, shapes: dict):
        try:
            return self._symbol.infer_shape(**shapes)
        except _mx.base.MXNetError as e:
            raise ValueError(f"{self._name}: cannot infer parameter shapes from {shapes}: "
                             f"{str(e).strip().splitlines()[0]}") from None

    def param_shapes(self, *args, **kwargs) -> dict:
        if args:
            kwargs = dict(zip(self._variables, args), **kwargs)
        arg_shapes, _, _ = self._infer(kwargs)
        names = dict(zip(self._module_param_names, self._param_names))
        return {names[a]: tuple(s) for a, s in zip(self._symbol.list_arguments(), arg_shapes)
                if a in names}

    def aux_param_shapes(self, *args, **kwargs) -> dict:
        if not self._aux_param_names:
            return {}
        if args:
            kwargs = dict(zip(self._variables, args), **kwargs)
        _, _, aux_shapes = self._infer(kwargs)
        return dict(zip(self._aux_param_names, (tuple(s) for s in aux_shapes)))


def _mxnet_layer(op_name: str, kind: str, doc: str):
    """A one-input Symbolic layer over ``mxnet.symbol.<op_name>(data, **kwargs)``."""

    def __init__(self, *args, **kwargs):
        name = kwargs.pop("name", None)
        init_configs = kwargs.pop("init_configs", None)
        update_configs = kwargs.pop("update_configs", None)
        kwargs.setdefault("name", op_name.lower())     # parameters: <module>_<op>_weight
        symbol = getattr(_mx.sym, op_name)(_mx.sym.Variable("data"), *args, **kwargs)
        Symbolic.__init__(self, symbol, None, init_configs, update_configs, name)

    def forward(self, data):
        return Symbolic.forward(self, data=data)

    return type(op_name, (Symbolic,), {"__init__": __init__, "forward": forward,
                                       "_module_name": kind, "__doc__": doc,
                                       "__module__": __name__})


FullyConnected = _mxnet_layer("FullyConnected", "fully_connected",
                              "MXNet's FullyConnected (``num_hidden=``, ``no_bias=``...).")
Embedding = _mxnet_layer("Embedding", "embedding",
                         "MXNet's Embedding (``input_dim=``, ``output_dim=``).")
Convolution = _mxnet_layer("Convolution", "convolution",
                           "MXNet's Convolution (``num_filter=``, ``kernel=``, ``stride=``, "
                           "``pad=``, ``no_bias=``...).")
Pooling = _mxnet_layer("Pooling", "pooling",
                       "MXNet's Pooling (``pool_type=``, ``kernel=``, ``stride=``, ``pad=``).")
BatchNorm = _mxnet_layer("BatchNorm", "batch_norm",
                         "MXNet's BatchNorm (``fix_gamma=``, ``eps=``, ``momentum=``): batch "
                         "statistics in training mode, the moving ones in inference mode.")


class RNN(Symbolic):
    """One step of an Elman RNN: ``act(data W + hidden U + b)`` with ``num_hidden``
    units; ``act_type`` is 'relu', 'sigmoid', 'softrelu' or 'tanh'. The hidden state
    starts at zeros when None."""
    _module_name = "rnn"

    def __init__(self, num_hidden, act_type, name=None) -> None:
        data = _mx.sym.FullyConnected(data=_mx.sym.Variable("data"), num_hidden=num_hidden,
                                      no_bias=True, name="IH")
        hidden = _mx.sym.FullyConnected(data=_mx.sym.Variable("hidden"), num_hidden=num_hidden,
                                        name="HH")
        net = _mx.sym.Activation(data=data + hidden, act_type=act_type)
        super().__init__(net, ("data", "hidden"), name=name)
        self._num_hidden = int(num_hidden)

    def forward(self, data, hidden=None):
        if hidden is None:
            hidden = np.zeros((data.shape[0], self._num_hidden), dtype=data.dtype)
        return super().forward(data=data, hidden=hidden)

    def param_shapes(self, data_shape, hidden_shape=None) -> dict:
        if hidden_shape is None:
            hidden_shape = (data_shape[0], self._num_hidden)
        return super().param_shapes(data=data_shape, hidden=hidden_shape)


class LSTM(Symbolic):
    """One LSTM step with ``num_hidden`` units: returns ``(next_hidden, next_cell)``;
    hidden state and cell start at zeros when None. Gates are laid out as input,
    forget, output, candidate in the ``4 * num_hidden`` columns."""
    _module_name = "lstm"

    def __init__(self, num_hidden, act_type="tanh", name=None) -> None:
        data = _mx.sym.FullyConnected(data=_mx.sym.Variable("data"), num_hidden=4 * num_hidden,
                                      no_bias=True, name="IH")
        hidden = _mx.sym.FullyConnected(data=_mx.sym.Variable("hidden"),
                                        num_hidden=4 * num_hidden, name="HH")
        gates = _mx.sym.SliceChannel(data=data + hidden, num_outputs=4, axis=1)
        i = _mx.sym.Activation(data=gates[0], act_type="sigmoid")
        f = _mx.sym.Activation(data=gates[1], act_type="sigmoid")
        o = _mx.sym.Activation(data=gates[2], act_type="sigmoid")
        g = _mx.sym.Activation(data=gates[3], act_type="tanh")
        cell = _mx.sym.Variable("cell")
        next_cell = f * cell + i * g
        next_hidden = o * _mx.sym.Activation(data=next_cell, act_type=act_type)
        super().__init__(_mx.sym.Group([next_hidden, next_cell]), ("data", "hidden", "cell"),
                         name=name)
        self._num_hidden = int(num_hidden)

    def forward(self, data, hidden=None, cell=None):
        zeros = (data.shape[0], self._num_hidden)
        hidden = np.zeros(zeros, dtype=data.dtype) if hidden is None else hidden
        cell = np.zeros(zeros, dtype=data.dtype) if cell is None else cell
        return super().forward(data=data, hidden=hidden, cell=cell)

    def param_shapes(self, data_shape, hidden_shape=None, cell_shape=None) -> dict:
        state = (data_shape[0], self._num_hidden)
        return super().param_shapes(data=data_shape, hidden=hidden_shape or state,
                                    cell=cell_shape or state)
