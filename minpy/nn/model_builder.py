"""Declare sequential networks without writing a model class.

::

    from minpy.nn import model_builder as builder
    net = builder.Sequential(
        builder.Affine(100),
        builder.ReLU(),
        builder.Affine(3),
    )
    model = builder.Model(net, loss='softmax_loss', input_shape=(2,))

``Model`` is a :class:`~minpy.nn.model.ModelBase`: its parameters are named
``'<layer><index>_<name>'`` (``affine0_weight``, ``batchnorm2_gamma``...) and are
created by ``Solver.init()`` or ``model.init_params()``.
"""
from __future__ import annotations

import numpy as _onp

from .. import numpy as np
from . import layers
from .model import ModelBase

__all__ = ["Layer", "Affine", "ReLU", "Sigmoid", "Tanh", "BatchNorm", "Dropout", "Convolution",
           "Pooling", "Reshape", "Flatten", "Identity", "Sequential", "Model"]


class Layer:
    """A building block. ``build(input_shape)`` returns its parameter declarations
    ``{name: config}``, its aux params ``{name: initial value}`` and its output shape
    (shapes exclude the batch axis); ``forward(X, params, aux, mode)`` returns the
    output and may write new aux values into ``aux``."""

    name = "layer"

    def build(self, input_shape):
        return {}, {}, tuple(input_shape)

    def forward(self, X, params, aux, mode):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Affine(Layer):
    """Fully connected layer to ``hidden_num`` units (input flattened)."""
    name = "affine"

    def __init__(self, hidden_num, init_rule=None, init_config=None) -> None:
        self.hidden_num = int(hidden_num)
        self.init_rule, self.init_config = init_rule, init_config

    def build(self, input_shape):
        d = int(_onp.prod(input_shape))
        w = {"shape": (d, self.hidden_num)}
        if self.init_rule is not None:
            w["init_rule"] = self.init_rule
        if self.init_config is not None:
            w["init_config"] = self.init_config
        return {"weight": w, "bias": {"shape": (self.hidden_num,), "init_rule": "constant"}}, {}, \
            (self.hidden_num,)

    def forward(self, X, params, aux, mode):
        return layers.affine(X, params["weight"], params["bias"])

    def __repr__(self) -> str:
        return f"Affine({self.hidden_num})"


class _Activation(Layer):
    fn = None

    def forward(self, X, params, aux, mode):
        return type(self).fn(X)


class ReLU(_Activation):
    name = "relu"
    fn = staticmethod(layers.relu)


class Sigmoid(_Activation):
    name = "sigmoid"
    fn = staticmethod(layers.sigmoid)


class Tanh(_Activation):
    name = "tanh"
    fn = staticmethod(layers.tanh)


class BatchNorm(Layer):
    """Batch normalisation (per feature for 2-d data, per channel for 4-d data)."""
    name = "batchnorm"

    def __init__(self, eps=1e-5, momentum=0.9) -> None:
        self.eps, self.momentum = eps, momentum

    def build(self, input_shape):
        c = int(input_shape[0])
        params = {"gamma": {"shape": (c,), "init_rule": "constant", "init_config": {"value": 1.0}},
                  "beta": {"shape": (c,), "init_rule": "constant"}}
        return params, {"running_mean": None, "running_var": None}, tuple(input_shape)

    def forward(self, X, params, aux, mode):
        if mode == "test" and aux.get("running_mean") is None:
            mode = "train"          # never trained: use the batch statistics
        out, mean, var = layers.batchnorm(X, params["gamma"], params["beta"], aux.get("running_mean"),
                                          aux.get("running_var"), mode, self.eps, self.momentum)
        if mode == "train":
            aux["running_mean"], aux["running_var"] = mean, var
        return out


class Dropout(Layer):
    """Inverted dropout dropping each unit with probability ``prob`` in training."""
    name = "dropout"

    def __init__(self, prob) -> None:
        self.prob = float(prob)

    def forward(self, X, params, aux, mode):
        return layers.dropout(X, self.prob, mode)

    def __repr__(self) -> str:
        return f"Dropout({self.prob})"


class Convolution(Layer):
    """2-d convolution with ``num_filter`` filters of ``kernel_shape`` (h, w)."""
    name = "convolution"

    def __init__(self, kernel_shape, num_filter, stride=1, pad=0, init_rule=None,
                 init_config=None) -> None:
        self.kernel = (kernel_shape, kernel_shape) if isinstance(kernel_shape, int) else tuple(kernel_shape)
        self.num_filter = int(num_filter)
        self.stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
        self.pad = (pad, pad) if isinstance(pad, int) else tuple(pad)
        self.init_rule, self.init_config = init_rule, init_config

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"minpy.nn.model_builder.Convolution: expected (C, H, W) input, "
                             f"got {tuple(input_shape)} (add a Reshape layer first)")
        c, h, w = input_shape
        oh = (h + 2 * self.pad[0] - self.kernel[0]) // self.stride[0] + 1
        ow = (w + 2 * self.pad[1] - self.kernel[1]) // self.stride[1] + 1
        wcfg = {"shape": (self.num_filter, c) + self.kernel}
        if self.init_rule is not None:
            wcfg["init_rule"] = self.init_rule
        if self.init_config is not None:
            wcfg["init_config"] = self.init_config
        return {"weight": wcfg, "bias": {"shape": (self.num_filter,), "init_rule": "constant"}}, {}, \
            (self.num_filter, oh, ow)

    def forward(self, X, params, aux, mode):
        return layers.conv2d(X, params["weight"], params["bias"], self.pad, self.stride)


class Pooling(Layer):
    """Max pooling over ``pool_shape`` windows (stride defaults to the window)."""
    name = "pooling"

    def __init__(self, pool_shape=(2, 2), stride=None) -> None:
        self.pool = (pool_shape, pool_shape) if isinstance(pool_shape, int) else tuple(pool_shape)
        self.stride = self.pool if stride is None else \
            ((stride, stride) if isinstance(stride, int) else tuple(stride))

    def build(self, input_shape):
        c, h, w = input_shape
        return {}, {}, (c, (h - self.pool[0]) // self.stride[0] + 1,
                        (w - self.pool[1]) // self.stride[1] + 1)

    def forward(self, X, params, aux, mode):
        return layers.max_pool(X, self.pool[0], self.pool[1], self.stride)


class Reshape(Layer):
    """Reshape every sample to ``shape`` (the batch axis is kept; -1 allowed)."""
    name = "reshape"

    def __init__(self, shape) -> None:
        self.shape = tuple(shape)

    def build(self, input_shape):
        out = _onp.empty(tuple(input_shape), dtype="int8").reshape(self.shape).shape
        return {}, {}, tuple(out)

    def forward(self, X, params, aux, mode):
        return np.reshape(X, (X.shape[0],) + self.shape)


class Flatten(Reshape):
    name = "flatten"

    def __init__(self) -> None:
        super().__init__((-1,))


class Identity(Layer):
    """Passes its input on unchanged (MinPy 0.3's ``Identity``)."""
    name = "identity"

    def forward(self, X, params, aux, mode):
        return X


class Sequential(Layer):
    """Layers applied one after another."""
    name = "sequential"

    def __init__(self, *layers_) -> None:
        self.layers = list(layers_)

    def append(self, layer) -> "Sequential":
        """Add ``layer`` at the end (MinPy 0.3); returns the Sequential."""
        self.layers.append(layer)
        return self

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"


class Model(ModelBase):
    """A ModelBase running a :class:`Sequential` network.

    ``loss`` names a function of :mod:`minpy.nn.layers` (``'softmax_loss'``,
    ``'svm_loss'``, ``'l2_loss'``) or is a callable ``loss(predict, y)``.
    ``input_shape`` is the shape of one sample (no batch axis).
    """

    def __init__(self, network, loss="softmax_loss", input_shape=None) -> None:
        super().__init__()
        if input_shape is None:
            raise ValueError("minpy.nn.model_builder.Model: input_shape (one sample's shape) is required")
        if not isinstance(network, Sequential):
            network = Sequential(network)
        self.network = network
        if isinstance(loss, str):       # MinPy 0.3's short names: 'softmax', 'svm', 'l2'
            loss = {"softmax": "softmax_loss", "svm": "svm_loss", "l2": "l2_loss"}.get(loss, loss)
        self._loss = getattr(layers, loss) if isinstance(loss, str) else loss
        self._names = []
        shape = tuple(input_shape)
        for i, layer in enumerate(network.layers):
            prefix = f"{layer.name}{i}_"
            decls, aux, shape = layer.build(shape)
            for k, cfg in decls.items():
                cfg = dict(cfg)
                self.add_param(prefix + k, cfg.pop("shape"), **cfg)
            for k, v in aux.items():
                self.aux_params[prefix + k] = v
            self._names.append((prefix, list(decls), list(aux)))
        self.output_shape = shape

    def forward(self, X, mode):
        for layer, (prefix, pnames, anames) in zip(self.network.layers, self._names):
            params = {k: self.params[prefix + k] for k in pnames}
            aux = {k: self.aux_params.get(prefix + k) for k in anames}
            X = layer.forward(X, params, aux, mode)
            for k in anames:
                self.aux_params[prefix + k] = aux[k]
        return X

    def loss(self, predict, y):
        return self._loss(predict, y)
