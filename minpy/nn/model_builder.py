"""Declare networks without writing a model class.

::

    from minpy.nn import model_builder as builder
    net = builder.Sequential(
        builder.Affine(100),
        builder.ReLU(),
        builder.Affine(3),
    )
    model = builder.Model(net, loss='softmax_loss', input_shape=(2,))

``Model(network, loss, input_shape)`` is a :class:`~minpy.nn.model.ModelBase`:
its parameters are named ``'<layer><index>_<name>'`` (``affine0_weight``,
``batchnorm2_gamma``...; the index counts the layers in the order they are
met, through nested ``Sequential`` and ``Add`` branches) and are created by
``Solver.init()`` or ``model.init_params()``. The layers here are MinPy 0.3's
(``Pooling('max', kernel, stride)``, ``SpatialBatchNormalization``, ``Add``,
``Export``...); a user layer may subclass :class:`Module` and define MinPy
0.3's ``forward(X, params)``, ``output_shape``, ``parameter_shape`` and
``parameter_settings``.

MinPy 0.3.4's later API lives here too: subclass :class:`Model`, bind modules
of :mod:`minpy.nn.modules` as attributes and train with :class:`Updater` (see
:mod:`minpy.nn.modules`).
"""
from __future__ import annotations

import functools
import math

import numpy as _onp

from .. import numpy as np
from . import layers
from .model import ModelBase
from .modules._core import (Add, Binary, Container, Layer, Model, Module, Mul, Parallel,
                            Sequential, Sub, Updater)

__all__ = ["Module", "Container", "Sequential", "Parallel", "Binary", "Add", "Sub", "Mul",
           "Layer", "Model", "Updater", "Block", "Affine", "ReLU", "Sigmoid", "Tanh",
           "BatchNorm", "BatchNormalization", "SpatialBatchNormalization", "Dropout",
           "Convolution", "Pooling", "Reshape", "Flatten", "Identity", "Export"]


def _pair(v) -> tuple:
    return (int(v), int(v)) if isinstance(v, (int, _onp.integer)) else tuple(int(x) for x in v)


class _NeedsImage(ValueError):
    """A layer that needs (C, H, W) samples was given another shape."""

    def __init__(self, layer, shape) -> None:
        super().__init__(f"minpy.nn.model_builder.{type(layer).__name__}: expected (C, H, W) "
                         f"samples, got shape {tuple(shape)} (give Model an input_shape of "
                         f"(C, H, W) or add a Reshape layer first)")
        self.shape = tuple(shape)


class Block(Module):
    """A layer of ``Model(network, loss, input_shape)``.

    ``build(input_shape)`` returns its parameter declarations ``{name: config}``, its
    auxiliary state ``{name: initial value}`` and its output shape (shapes exclude the
    batch axis); ``forward(X, params, aux, mode)`` returns the output (mode is
    'train' or 'test') and may write new auxiliary values into ``aux``.
    """

    kind = "layer"

    def __init__(self) -> None:
        super().__init__(None)

    def build(self, input_shape):
        return {}, {}, tuple(input_shape)

    def forward(self, X, params, aux, mode):
        raise NotImplementedError

    def __str__(self) -> str:
        return f"{type(self).__name__}()"


def _weight(shape, init_rule, init_config) -> dict:
    cfg = {"shape": tuple(shape)}
    if init_rule is not None:
        cfg["init_rule"] = init_rule
    if init_config is not None:
        cfg["init_config"] = init_config
    return cfg


def _initializer(initializer, local: str):
    """MinPy 0.3's ``initializer``: settings by parameter name (its own or the model's,
    matched by the part after the last '_'), e.g. ``{'weight': {'init_rule': 'gaussian'}}``."""
    if not initializer:
        return {}
    for key, settings in initializer.items():
        if key == local or str(key).rsplit("_", 1)[-1] == local:
            return dict(settings)
    return {}


class Affine(Block):
    """Fully connected layer to ``hidden_num`` units (the input is flattened).
    MinPy 0.3's ``Affine(hidden_number, initializer)`` is accepted."""
    kind = "affine"

    def __init__(self, hidden_num=None, init_rule=None, init_config=None, initializer=None,
                 hidden_number=None) -> None:
        super().__init__()
        if hidden_num is None:
            hidden_num = hidden_number
        if hidden_num is None:
            raise TypeError("Affine: the number of hidden units is required")
        if isinstance(init_rule, dict):       # MinPy 0.3's positional initializer
            init_rule, initializer = None, init_rule
        self.hidden_num = int(hidden_num)
        self.init_rule, self.init_config, self.initializer = init_rule, init_config, initializer

    def build(self, input_shape):
        d = int(_onp.prod(input_shape))
        w = _weight((d, self.hidden_num), self.init_rule, self.init_config)
        w.update(_initializer(self.initializer, "weight"))
        b = {"shape": (self.hidden_num,), "init_rule": "constant"}
        b.update(_initializer(self.initializer, "bias"))
        return {"weight": w, "bias": b}, {}, (self.hidden_num,)

    def forward(self, X, params, aux, mode):
        return layers.affine(X, params["weight"], params["bias"])

    def __str__(self) -> str:
        return f"Affine({self.hidden_num})"


class _Activation(Block):
    fn = None

    def forward(self, X, params, aux, mode):
        return type(self).fn(X)


class ReLU(_Activation):
    kind = "relu"
    fn = staticmethod(layers.relu)


class Sigmoid(_Activation):
    kind = "sigmoid"
    fn = staticmethod(layers.sigmoid)


class Tanh(_Activation):
    kind = "tanh"
    fn = staticmethod(layers.tanh)


class BatchNorm(Block):
    """Batch normalisation: per feature for (D,) samples, per channel for (C, H, W)."""
    kind = "batchnorm"
    _spatial = False

    def __init__(self, eps=1e-5, momentum=0.9, epsilon=None) -> None:
        super().__init__()
        self.eps = float(eps if epsilon is None else epsilon)
        self.momentum = float(momentum)

    def build(self, input_shape):
        if self._spatial and len(input_shape) != 3:
            raise _NeedsImage(self, input_shape)
        c = int(input_shape[0]) if len(input_shape) in (1, 3) else None
        if c is None:
            raise ValueError(f"minpy.nn.model_builder.{type(self).__name__}: expected (D,) or "
                             f"(C, H, W) samples, got shape {tuple(input_shape)}")
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


class BatchNormalization(BatchNorm):
    """MinPy 0.3's name: ``BatchNormalization(epsilon=1e-5, momentum=0.9)``."""

    def __init__(self, epsilon=1e-5, momentum=0.9) -> None:
        super().__init__(epsilon, momentum)


class SpatialBatchNormalization(BatchNormalization):
    """Per-channel batch normalisation of (C, H, W) samples (MinPy 0.3)."""
    kind = "spatialbatchnorm"
    _spatial = True


class Dropout(Block):
    """Inverted dropout dropping each unit with probability ``prob`` in training."""
    kind = "dropout"

    def __init__(self, prob=None, p=None) -> None:
        super().__init__()
        prob = p if prob is None else prob
        if prob is None:
            raise TypeError("Dropout: the drop probability is required")
        self.prob = float(prob)

    def forward(self, X, params, aux, mode):
        return layers.dropout(X, self.prob, mode)

    def __str__(self) -> str:
        return f"Dropout({self.prob})"


class Convolution(Block):
    """2-d convolution with ``num_filter`` filters of ``kernel_shape`` (h, w).
    MinPy 0.3's ``Convolution(kernel_shape, kernel_number, stride, pad, initializer)``
    is accepted."""
    kind = "convolution"

    def __init__(self, kernel_shape, num_filter=None, stride=1, pad=0, init_rule=None,
                 init_config=None, initializer=None, kernel_number=None) -> None:
        super().__init__()
        if num_filter is None:
            num_filter = kernel_number
        if num_filter is None:
            raise TypeError("Convolution: the number of filters is required")
        if isinstance(init_rule, dict):       # MinPy 0.3's positional initializer
            init_rule, initializer = None, init_rule
        self.kernel = _pair(kernel_shape)
        self.num_filter = int(num_filter)
        self.stride, self.pad = _pair(stride), _pair(pad)
        self.init_rule, self.init_config, self.initializer = init_rule, init_config, initializer

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise _NeedsImage(self, input_shape)
        c, h, w = input_shape
        oh = (h + 2 * self.pad[0] - self.kernel[0]) // self.stride[0] + 1
        ow = (w + 2 * self.pad[1] - self.kernel[1]) // self.stride[1] + 1
        if oh < 1 or ow < 1:
            raise ValueError(f"minpy.nn.model_builder.Convolution: kernel {self.kernel} does not "
                             f"fit samples of shape {tuple(input_shape)}")
        wcfg = _weight((self.num_filter, c) + self.kernel, self.init_rule, self.init_config)
        wcfg.update(_initializer(self.initializer, "weight"))
        bcfg = {"shape": (self.num_filter,), "init_rule": "constant"}
        bcfg.update(_initializer(self.initializer, "bias"))
        return {"weight": wcfg, "bias": bcfg}, {}, (self.num_filter, oh, ow)

    def forward(self, X, params, aux, mode):
        return layers.conv2d(X, params["weight"], params["bias"], self.pad, self.stride)


class Pooling(Block):
    """2-d pooling of (C, H, W) samples.

    ``Pooling(pool_shape=(2, 2), stride=None)``: max pooling, stride defaulting to the
    window. MinPy 0.3's ``Pooling(mode, kernel_shape, stride=(1, 1), pad=(0, 0))``
    with mode 'max', 'avg' or 'sum' (MXNet's pooling; the output size is
    ``(H + 2 pad - kernel) // stride + 1``).
    """
    kind = "pooling"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()
        if args and isinstance(args[0], str) or "mode" in kwargs:
            mode, kernel, stride, pad = _bind_args(("mode", "kernel_shape", "stride", "pad"),
                                                   args, kwargs, {"stride": (1, 1), "pad": (0, 0)},
                                                   "Pooling")
            if mode not in ("max", "avg", "sum"):
                raise ValueError(f"Pooling: mode must be 'max', 'avg' or 'sum', got {mode!r}")
            self.mode, self.pool, self.stride, self.pad = mode, _pair(kernel), _pair(stride), _pair(pad)
        else:
            pool, stride = _bind_args(("pool_shape", "stride"), args, kwargs,
                                      {"pool_shape": (2, 2), "stride": None}, "Pooling")
            self.mode, self.pool, self.pad = "max", _pair(pool), (0, 0)
            self.stride = self.pool if stride is None else _pair(stride)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise _NeedsImage(self, input_shape)
        c, h, w = input_shape
        oh = (h + 2 * self.pad[0] - self.pool[0]) // self.stride[0] + 1
        ow = (w + 2 * self.pad[1] - self.pool[1]) // self.stride[1] + 1
        if oh < 1 or ow < 1:
            raise ValueError(f"minpy.nn.model_builder.Pooling: window {self.pool} does not fit "
                             f"samples of shape {tuple(input_shape)}")
        return {}, {}, (c, oh, ow)

    def forward(self, X, params, aux, mode):
        if self.mode == "max" and self.stride == self.pool and self.pad == (0, 0) and \
                X.shape[2] % self.pool[0] == 0 and X.shape[3] % self.pool[1] == 0:
            return layers.max_pool(X, self.pool[0], self.pool[1], self.stride)
        return np.Pooling(X, kernel=self.pool, pool_type=self.mode, stride=self.stride,
                          pad=self.pad)

    def __str__(self) -> str:
        return f"Pooling({self.mode!r}, {self.pool}, {self.stride})"


def _bind_args(names, args, kwargs, defaults, fname):
    if len(args) > len(names):
        raise TypeError(f"{fname}: at most {len(names)} positional arguments")
    values = dict(defaults)
    values.update(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(f"{fname}: unexpected argument {k!r}")
        values[k] = v
    missing = [n for n in names if n not in values]
    if missing:
        raise TypeError(f"{fname}: missing {missing}")
    return [values[n] for n in names]


class Reshape(Block):
    """Reshape every sample to ``shape`` (the batch axis is kept; -1 allowed)."""
    kind = "reshape"

    def __init__(self, shape) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def build(self, input_shape):
        out = _onp.empty(tuple(input_shape), dtype="int8").reshape(self.shape).shape
        return {}, {}, tuple(out)

    def forward(self, X, params, aux, mode):
        return np.reshape(X, (X.shape[0],) + self.shape)


class Flatten(Reshape):
    kind = "flatten"

    def __init__(self) -> None:
        super().__init__((-1,))


class Identity(Block):
    """Passes its input on unchanged."""
    kind = "identity"

    def forward(self, X, params, aux, mode):
        return X


class Export(Identity):
    """Passes its input on and keeps it in ``storage[label]`` (MinPy 0.3): a window on
    an intermediate result after each forward pass."""
    kind = "export"

    def __init__(self, label, storage: dict) -> None:
        super().__init__()
        if label in storage:
            raise ValueError(f"Export: label {label!r} is already in the storage")
        self.label, self.storage = label, storage
        storage[label] = None

    def forward(self, X, params, aux, mode):
        self.storage[self.label] = X
        return X


# ------------------------------------------------------------------------------ the model

_SHORT_LOSS = {"softmax": "softmax_loss", "svm": "svm_loss", "l2": "l2_loss"}
_MODES = {"training": "train", "inference": "test"}


def _guess_image(d: int):
    """(C, H, W) for a flat sample of ``d`` values: 3 or 1 channels of a square image."""
    for c in (3, 1):
        if d % c == 0:
            side = math.isqrt(d // c)
            if side * side * c == d:
                return (c, side, side)
    return None


class _NetworkModel(Model):
    """``Model(network, loss, input_shape)``: a model running a network of layers.

    ``loss`` names a function of :mod:`minpy.nn.layers` (``'softmax_loss'`` or
    MinPy 0.3's ``'softmax'``, ``'svm'``, ``'l2'``) or is a callable
    ``loss(predict, y)``. ``input_shape`` is one sample's shape. A flat
    ``input_shape`` given to a network starting with convolutions (MinPy 0.3's
    ``Model(net, 'softmax', (3 * 32 * 32,))``) is read as images: their
    (C, H, W) comes from the training data when a Solver or the first forward
    pass shows it, else 3 (or 1) channels of a square image.
    """

    def __setattr__(self, attr, value) -> None:
        object.__setattr__(self, attr, value)

    add_param = ModelBase.add_param
    add_params = ModelBase.add_params
    add_aux_param = ModelBase.add_aux_param

    def __init__(self, network=None, loss="softmax_loss", input_shape=None, container=None) -> None:
        super().__init__()
        network = container if network is None else network
        if input_shape is None:
            raise ValueError("minpy.nn.model_builder.Model: input_shape (one sample's shape) is required")
        if not isinstance(network, Sequential):
            network = Sequential(network)
        self.network = network
        if isinstance(loss, str):
            loss = _SHORT_LOSS.get(loss, loss)
            if not hasattr(layers, loss):
                raise ValueError(f"minpy.nn.model_builder.Model: unknown loss {loss!r}; use "
                                 f"'softmax', 'svm', 'l2', a function name of minpy.nn.layers "
                                 f"or a callable")
        self._loss = getattr(layers, loss) if isinstance(loss, str) else loss
        self.input_shape = tuple(int(s) for s in input_shape)
        self._image_shape = None
        self._pending = False
        try:
            self._declare(self.input_shape)
        except _NeedsImage as e:
            if len(self.input_shape) != 1 or self._touched:
                raise
            self._pending = True          # flat samples into convolutions: (C, H, W) later

    def _declare(self, shape) -> None:
        self._entries = {}
        self._count = 0
        self._touched = False
        self.param_configs = {}
        self.output_shape = self._plan(self.network, tuple(shape))
        self._update_configs = {k: {"update_rule": "unspecified"} for k in self.param_configs}

    def _plan(self, block, shape):
        if isinstance(block, Sequential):
            for m in block:
                shape = self._plan(m, shape)
            return shape
        if isinstance(block, Binary):
            outs = [self._plan(b, shape) for b in block._branches]
            if any(o != outs[0] for o in outs):
                raise ValueError(f"minpy.nn.model_builder.{type(block).__name__}: the branches "
                                 f"give different shapes {outs}")
            return outs[0]
        seen = self._entries.get(id(block))
        if seen is not None:            # one layer used twice shares its parameters
            if seen[0] != shape:
                raise ValueError(f"minpy.nn.model_builder: {block} is used on shapes "
                                 f"{seen[0]} and {shape}")
            return seen[-1]
        if isinstance(block, Block):
            prefix = f"{block.kind}{self._count}_"
            self._count += 1
            decls, aux, out = block.build(shape)
            if not isinstance(block, (_Activation, Dropout, Identity)):
                self._touched = True    # the samples are no longer the model's input
            for k, cfg in decls.items():
                cfg = dict(cfg)
                self.add_param(prefix + k, cfg.pop("shape"), **cfg)
            for k, v in aux.items():
                if prefix + k not in self.aux_params:
                    self.aux_params[prefix + k] = v
            self._entries[id(block)] = (shape, prefix, list(decls), list(aux), tuple(out))
            return tuple(out)
        if hasattr(block, "output_shape") and hasattr(block, "forward"):
            # a MinPy 0.3 user layer: it names its parameters itself
            self._count += 1
            self._touched = True
            shapes = block.parameter_shape(shape) if hasattr(block, "parameter_shape") else {}
            settings = block.parameter_settings() if hasattr(block, "parameter_settings") else {}
            for k, shp in shapes.items():
                self.add_param(k, shp, **dict(settings.get(k) or {}))
            out = tuple(int(s) for s in block.output_shape(shape))
            self._entries[id(block)] = (shape, None, list(shapes), [], out)
            return out
        raise TypeError(f"minpy.nn.model_builder.Model: {block!r} is not a model_builder layer")

    # -- flat samples into convolutional networks -------------------------------------------
    def _bind_image(self, sample_shape=None) -> None:
        if not self._pending:
            return
        d = self.input_shape[0]
        shape = tuple(int(s) for s in sample_shape) if sample_shape is not None else None
        if shape is not None and int(_onp.prod(shape)) != d:
            raise ValueError(f"minpy.nn.model_builder.Model: samples of shape {shape} do not "
                             f"match input_shape {self.input_shape}")
        if shape is None or len(shape) != 3:
            shape = _guess_image(d)
            if shape is None:
                raise ValueError(f"minpy.nn.model_builder.Model: cannot read flat samples of "
                                 f"{d} values as images; give input_shape=(C, H, W)")
        self._declare(shape)
        self._image_shape = shape
        self._pending = False

    def bind_data(self, dataiter) -> None:
        """Learn the samples' (C, H, W) from a data iterator (``Solver.init`` calls this)."""
        if not self._pending:
            return
        data = getattr(dataiter, "data", None)
        if data:
            first = data[0][1] if isinstance(data[0], tuple) else data[0]
            if hasattr(first, "shape") and len(first.shape) == 4:
                self._bind_image(tuple(first.shape[1:]))

    def init_params(self, init_rule="xavier", init_config=None, overwrite=True):
        self._bind_image()
        return super().init_params(init_rule, init_config, overwrite)

    # -- running ----------------------------------------------------------------------------
    def _ensure_params(self, run) -> None:
        self._bind_image()
        if any(k not in self.params for k in self.param_configs):
            self.init_params(overwrite=False)

    def forward(self, X, mode="train"):
        mode = _MODES.get(mode, mode)
        if self._pending:
            self._bind_image(tuple(X.shape[1:]) if len(X.shape) == 4 else None)
            self.init_params(overwrite=False)
        if self._image_shape is not None:
            if len(X.shape) == 2:
                X = np.reshape(X, (X.shape[0],) + self._image_shape)
            elif tuple(X.shape[1:]) != self._image_shape:
                raise ValueError(f"minpy.nn.model_builder.Model: the network was built for "
                                 f"samples of shape {self._image_shape}, got {tuple(X.shape[1:])}")
        return self._run(self.network, X, mode)

    def _run(self, block, X, mode):
        if isinstance(block, Sequential):
            for m in block:
                X = self._run(m, X, mode)
            return X
        if isinstance(block, Binary):
            return functools.reduce(block._operator, [self._run(b, X, mode) for b in block._branches])
        _, prefix, pnames, anames, _ = self._entries[id(block)]
        if prefix is None:                      # MinPy 0.3 user layer: forward(X, params)
            view = dict(self.params)
            view["__training_in_progress__"] = mode
            return block.forward(X, view)
        params = {k: self.params[prefix + k] for k in pnames}
        aux = {k: self.aux_params.get(prefix + k) for k in anames}
        X = block.forward(X, params, aux, mode)
        for k in anames:
            self.aux_params[prefix + k] = aux[k]
        return X

    def loss(self, predict, y):
        return self._loss(predict, y)

    def training(self) -> None:
        return None

    def inference(self) -> None:
        return None

    @property
    def layers(self) -> list:
        return self.network.layers
