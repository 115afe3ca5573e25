"""MinPy 0.3.4's module API: models made of modules bound as attributes.

A :class:`Model` subclass assigns modules (``self.fc = FullyConnected(...)``, or
tuples and lists of them) as attributes; a :class:`Layer` creates its
parameters in ``model.params`` on its first call, from the shapes of what it is
called with. Training is::

    loss = model(data, labels=labels)   # forward pass, loss and gradients
    grads = model.backward()            # {parameter name: gradient}
    updater(grads)                      # Updater(model, update_rule='sgd', ...)

or ``grads, loss = model.grad_and_loss(data, labels)``. The gradients come from
:func:`minpy.grad_and_loss` over the model's parameters, so they are computed
while ``model(...)`` runs and ``backward`` hands them out.
"""
from __future__ import annotations

import copy
import functools
import itertools
import operator
from typing import Any, Callable, Optional

import numpy as _onp

from ...array import Array
from .. import init as _init
from .. import layers as _layers
from .. import optim as _optim
from ..model import ModelBase

__all__ = ["Module", "Container", "Sequential", "Parallel", "Binary", "Add", "Sub", "Mul",
           "Layer", "Model", "Updater"]

_counters: dict = {}


def _prefix(kind: str) -> str:
    """``kind`` followed by how many modules of that kind were made before (``ReLU0``)."""
    n = _counters.get(kind, 0)
    _counters[kind] = n + 1
    return f"{kind}{n}"


def _is_array(x) -> bool:
    return isinstance(x, (Array, _onp.ndarray))


# ------------------------------------------------------------------------------ modules

class Module:
    """Base of every building block. ``name`` defaults to the kind of module followed by
    a counter (``sequential0``, ``ReLU3``); ``a + b``, ``a - b`` and ``a * b`` of two
    modules are modules applying both to one input and combining the results."""

    _module_name: Optional[str] = None

    def __init__(self, name: Optional[str] = None) -> None:
        kind = self._module_name or type(self).__name__.lower()
        self._name = _prefix(kind) if name is None else str(name)

    @property
    def name(self) -> str:
        return self._name

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} is a declaration for model_builder.Model(network, loss, "
            f"input_shape) and cannot be called; use the modules of minpy.nn.modules")

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return self._name

    def __add__(self, other):
        return Add(self, other)

    def __sub__(self, other):
        return Sub(self, other)

    def __mul__(self, other):
        return Mul(self, other)

    def training(self) -> None:
        """Switch to training mode (Dropout drops, BatchNorm uses batch statistics)."""

    def inference(self) -> None:
        """Switch to inference mode."""

    def _affiliate_to(self, model) -> None:
        """Bind to ``model``: parameters live in ``model.params``."""

    def _children(self) -> list:
        return []


class Container(Module):
    """A module made of other modules; calling it runs ``forward``."""

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def training(self) -> None:
        for m in self._children():
            m.training()

    def inference(self) -> None:
        for m in self._children():
            m.inference()

    def _affiliate_to(self, model) -> None:
        for m in self._children():
            m._affiliate_to(model)

    def param_shapes(self, *args, **kwargs) -> dict:
        return {}

    def aux_param_shapes(self, *args, **kwargs) -> dict:
        return {}


class Sequential(Container):
    """Modules applied one after another: each one's outputs (a tuple is spread over
    several arguments) are the next one's inputs. Also the sequential network of
    ``model_builder.Model(network, loss, input_shape)``."""

    _module_name = "sequential"

    def __init__(self, *modules, name: Optional[str] = None) -> None:
        super().__init__(name)
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: expected modules, got {type(m).__name__}")
        self._modules = list(modules)

    @property
    def layers(self) -> list:
        """The contained modules, in order."""
        return self._modules

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end; returns the Sequential."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a module, got {type(module).__name__}")
        self._modules.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert: expected a module, got {type(module).__name__}")
        self._modules.insert(index, module)

    def remove(self, index: int) -> None:
        """Remove the module at ``index`` (MinPy 0.3)."""
        del self._modules[index]

    def pop(self, index: int = -1) -> Module:
        return self._modules.pop(index)

    def reverse(self) -> None:
        self._modules.reverse()

    def __iter__(self):
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index):
        return self._modules[index]

    def __str__(self) -> str:
        return str(self._modules)

    def _children(self) -> list:
        return list(self._modules)

    def forward(self, *args):
        for m in self._modules:
            out = m(*args)
            args = out if isinstance(out, tuple) else (out,)
        return args[0] if len(args) == 1 else args


class Parallel(Container):
    """Modules applied to the same input."""

    _module_name = "parallel"


class Binary(Parallel):
    """``operator(left(X), right(X))``."""

    def __init__(self, left: Module, right: Module, operator_: Callable, name=None) -> None:
        super().__init__(name)
        self._branches = [left, right]
        self._operator = operator_

    @property
    def _left(self):
        return self._branches[0]

    @property
    def _right(self):
        return self._branches[1]

    def __str__(self) -> str:
        return f" {self._module_name} ".join(str(b) for b in self._branches)

    def _children(self) -> list:
        return list(self._branches)

    def forward(self, X):
        return functools.reduce(self._operator, (b(X) for b in self._branches))


class Add(Binary):
    """The sum of the branches' outputs on one input: ``Add(left, right)``, or as
    MinPy 0.3's model_builder, ``Add(*branches)`` with any number of branches."""

    _module_name = "add"

    def __init__(self, *branches, name=None) -> None:
        if not branches:
            raise TypeError("Add: expected at least one branch")
        for b in branches:
            if not isinstance(b, Module):
                raise TypeError(f"Add: expected modules, got {type(b).__name__}")
        Parallel.__init__(self, name)
        self._branches = list(branches)
        self._operator = operator.add


class Sub(Binary):
    _module_name = "sub"

    def __init__(self, left, right, name=None) -> None:
        super().__init__(left, right, operator.sub, name)


class Mul(Binary):
    _module_name = "mul"

    def __init__(self, left, right, name=None) -> None:
        super().__init__(left, right, operator.mul, name)


# ------------------------------------------------------------------------------ layers

def _merge_configs(configs: dict, updates: dict) -> None:
    """``updates`` maps a parameter name to its own settings, or a setting name to a value
    for every parameter; the per-parameter settings win."""
    own = {}
    for key, value in updates.items():
        if key in configs:
            own[key] = value
        else:
            for cfg in configs.values():
                cfg[key] = value
    for key, value in own.items():
        configs[key].update(value)


def _default_init(name: str) -> dict:
    for part, cfg in (("weight", {"init_rule": "xavier"}),
                      ("bias", {"init_rule": "constant", "value": 0}),
                      ("beta", {"init_rule": "constant", "value": 0}),
                      ("gamma", {"init_rule": "constant", "value": 1}),
                      ("moving_mean", {"init_rule": "constant", "value": 0}),
                      ("moving_var", {"init_rule": "constant", "value": 1})):
        if part in name:
            return dict(cfg)
    return {"init_rule": "constant", "value": 0}


class Layer(Module):
    """A module with parameters, created in its model on the first call.

    ``params`` and ``aux_params`` are the layer's own names for them; in the model
    they are ``'<layer name>_<own name>'``, which ``self.<own name>`` (and
    ``self._<own aux name>``) hold. Subclasses define ``forward`` and
    ``param_shapes`` / ``aux_param_shapes`` (the shapes of every parameter, by
    model name, from the shapes of the call's array arguments), and read values
    with ``self._get_param(self.weight)``.
    """

    def __init__(self, params=None, aux_params=None, name=None) -> None:
        super().__init__(name)
        self._module_param_names = tuple(params or ())
        self._param_names = tuple(f"{self._name}_{p}" for p in self._module_param_names)
        for p, g in zip(self._module_param_names, self._param_names):
            object.__setattr__(self, p, g)
        self._module_aux_param_names = tuple(aux_params or ())
        self._aux_param_names = tuple(f"{self._name}_{p}" for p in self._module_aux_param_names)
        for p, g in zip(self._module_aux_param_names, self._aux_param_names):
            object.__setattr__(self, "_" + p, g)
        self._model = None
        self._init_configs = {g: {} for g in self._param_names + self._aux_param_names}
        self._register_init_configs(
            {p: _default_init(p) for p in self._module_param_names + self._module_aux_param_names})
        self._update_configs = {g: {} for g in self._param_names}
        self._register_update_configs({"update_rule": "unspecified"})
        self._mode = "training"

    def __call__(self, *args, **kwargs):
        if self._model is None:
            raise RuntimeError(f"{self._name}: a layer must be bound to a model (assign it, or "
                               f"a container holding it, as an attribute of a model) before it "
                               f"is called")
        arg_shapes = tuple(a.shape for a in args if _is_array(a))
        kwarg_shapes = {k: v.shape for k, v in kwargs.items() if _is_array(v)}
        model = self._model
        if any(n not in model.params for n in self._param_names):
            self._init_params(self.param_shapes(*arg_shapes, **kwarg_shapes))
        if any(n not in model.aux_params for n in self._aux_param_names):
            self._init_aux_params(self.aux_param_shapes(*arg_shapes, **kwarg_shapes))
        return self.forward(*args, **kwargs)

    def _affiliate_to(self, model) -> None:
        model._update_configs.update(self._update_configs)
        self._model = model

    def _make(self, name, shape):
        cfg = dict(self._init_configs.get(name) or {"init_rule": "constant"})
        value = cfg.get("value")
        if _is_array(value) and tuple(value.shape) == tuple(shape):
            from ... import numpy as np
            return np.array(value)
        return _init.get(cfg.get("init_rule", "constant"))(tuple(shape), cfg)

    def _init_params(self, shapes: dict) -> None:
        for name, shape in shapes.items():
            if name not in self._model.params:      # pre-loaded parameters are kept
                self._model.params[name] = self._make(name, shape)

    def _init_aux_params(self, shapes: dict) -> None:
        for name, shape in shapes.items():
            if name not in self._model.aux_params:
                self._model.aux_params[name] = self._make(name, shape)

    def _get_param(self, name):
        return self._model.params[name]

    def _get_params(self, *names):
        return tuple(self._model.params[n] for n in names)

    def _get_aux_param(self, name):
        return self._model.aux_params[name]

    def _get_aux_params(self, *names):
        return tuple(self._model.aux_params[n] for n in names)

    def _parse_param_configs(self, configs) -> dict:
        """Own names become model names; a tuple of names shares one setting."""
        if not configs:
            return {}
        out = {}
        for key, value in configs.items():
            for k in (key if isinstance(key, tuple) else (key,)):
                out[k] = value
        local = dict(zip(self._module_param_names + self._module_aux_param_names,
                         self._param_names + self._aux_param_names))
        return {local.get(k, k): v for k, v in out.items()}

    def _register_init_configs(self, init_configs) -> None:
        _merge_configs(self._init_configs, self._parse_param_configs(init_configs))

    def _register_update_configs(self, update_configs) -> None:
        _merge_configs(self._update_configs, self._parse_param_configs(update_configs))

    def training(self) -> None:
        self._mode = "training"

    def inference(self) -> None:
        self._mode = "inference"

    @property
    def param_dict(self) -> dict:
        return dict(zip(self._param_names, self._get_params(*self._param_names)))

    @property
    def aux_param_dict(self) -> dict:
        return dict(zip(self._aux_param_names, self._get_aux_params(*self._aux_param_names)))

    def param_shapes(self, *args, **kwargs) -> dict:
        return {}

    def aux_param_shapes(self, *args, **kwargs) -> dict:
        return {}

    def _after_backward(self) -> None:
        """Called after the model's gradient pass (state kept outside the model syncs here)."""


# ------------------------------------------------------------------------------ model

def _arrayish(x):
    from ... import numpy as np
    if isinstance(x, Array):
        return x
    if isinstance(x, (_onp.ndarray, list, float, int)) and not isinstance(x, bool):
        return np.array(x)
    return x


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def _scalar_sum(results):
    from ... import numpy as np
    parts = [np.sum(r) for r in _as_tuple(results) if isinstance(r, Array)]
    if not parts:
        raise TypeError("Model: the loss (or forward) returned no array to differentiate")
    return functools.reduce(operator.add, parts)


class Model(ModelBase):
    """A model whose modules are its attributes (MinPy 0.3.4).

    Subclass it, create modules in ``__init__`` after ``super().__init__(loss=...)``
    (``loss`` names a function of :mod:`minpy.nn.layers`, e.g. ``'softmax_loss'``, or
    is a callable ``loss(*predictions, *labels)``), and define
    ``forward(self, data, mode='training')``.

    ``model_builder.Model(network, loss, input_shape)`` with a network of
    model_builder layers gives MinPy 0.3.0's declarative model instead.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args and isinstance(args[0], Module) or
                             isinstance(kwargs.get("network", kwargs.get("container")), Module)):
            from ..model_builder import _NetworkModel
            return ModelBase.__new__(_NetworkModel)
        return ModelBase.__new__(cls)

    def __init__(self, loss=None) -> None:
        object.__setattr__(self, "_modules", [])
        object.__setattr__(self, "_module_names", set())
        object.__setattr__(self, "_update_configs", {})
        object.__setattr__(self, "_attached", None)
        object.__setattr__(self, "_detached", set())
        object.__setattr__(self, "_grad_dict", None)
        object.__setattr__(self, "_results", None)
        object.__setattr__(self, "_never_called", frozenset())
        super().__init__()
        if loss is not None:
            self.loss = getattr(_layers, loss) if isinstance(loss, str) else loss

    def __setattr__(self, attr: str, value) -> None:
        # modules (also inside tuples and lists) assigned to a model are bound to it
        if isinstance(value, Module):
            self._register_module(value)
        elif isinstance(value, (tuple, list)):
            self._register_iterable(value)
        object.__setattr__(self, attr, value)

    def _register_module(self, module: Module) -> None:
        if any(m is module for m in self._modules):
            return
        if module.name in self._module_names:
            raise ValueError(f"Model: two modules are named {module.name!r}")
        self._modules.append(module)
        self._module_names.add(module.name)
        module._affiliate_to(self)

    def _register_iterable(self, items) -> None:
        for x in items:
            if isinstance(x, Module):
                self._register_module(x)
            elif isinstance(x, (tuple, list)):
                self._register_iterable(x)

    def add_param(self, *args, **kwargs):
        raise NotImplementedError("Model: layers create their parameters; add_param is for "
                                  "minpy.nn.model.ModelBase")

    def add_params(self, *args, **kwargs):
        raise NotImplementedError("Model: layers create their parameters; add_params is for "
                                  "minpy.nn.model.ModelBase")

    def add_aux_param(self, *args, **kwargs):
        raise NotImplementedError("Model: layers create their auxiliary parameters; "
                                  "add_aux_param is for minpy.nn.model.ModelBase")

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward(data, mode='training') "
                                  f"is not defined")

    def loss(self, *args, **kwargs):
        return None

    def training(self) -> None:
        for m in self._modules:
            m.training()

    def inference(self) -> None:
        for m in self._modules:
            m.inference()

    def forward_batch(self, batch, mode):
        return self.forward(batch.data[0], _long_mode(mode))

    # -- gradients --------------------------------------------------------------------------
    def __call__(self, forward_args=None, forward_kwargs=None, labels=None, loss_kwargs=None,
                 forward=None, loss=None, attach_all=True, reduce_array=False):
        """Forward pass in training mode, then the loss (``loss`` or the model's); the
        gradients with respect to the parameters are kept for :meth:`backward`.
        Returns the loss (the predictions when there is no loss); ``reduce_array``
        turns a one-element result into a float."""
        from ...autograd import grad_and_loss
        args = tuple(_arrayish(a) for a in _as_tuple(forward_args)) if forward_args is not None else ()
        kwargs = dict(forward_kwargs or {})
        kwargs["mode"] = "training"
        forward = self.forward if forward is None else forward
        loss = self.loss if loss is None else loss
        if isinstance(loss, str):
            loss = getattr(_layers, loss)
        labels_t = tuple(_arrayish(y) for y in _as_tuple(labels)) if labels is not None else ()

        def run():
            preds = forward(*args, **kwargs)
            out = loss(*(_as_tuple(preds) + labels_t), **(loss_kwargs or {})) if callable(loss) else None
            return preds if out is None else out

        self._ensure_params(run)
        object.__setattr__(self, "_attached", set() if not attach_all else None)
        object.__setattr__(self, "_detached", set())
        keys = list(self.params)
        box = {}

        def objective(params):
            saved = self.params
            object.__setattr__(self, "params", params)
            try:
                res = run()
            finally:
                object.__setattr__(self, "params", saved)
            box["results"] = res
            return _scalar_sum(res)

        grads, _ = grad_and_loss(objective)({k: self.params[k] for k in keys})
        for layer in self._layers():
            layer._after_backward()
        chosen = keys if attach_all else [k for k in keys if k in self._attached]
        grad_dict = {k: grads[k] for k in chosen if k not in self._detached}
        object.__setattr__(self, "_grad_dict", grad_dict)
        object.__setattr__(self, "_attached", None)
        results = box["results"]
        object.__setattr__(self, "_results", results)
        if reduce_array:
            if isinstance(results, tuple):
                return tuple(_reduce(r) for r in results)
            return _reduce(results)
        return results

    def _layers(self) -> list:
        out, todo = [], list(self._modules)
        while todo:
            m = todo.pop()
            if isinstance(m, Layer):
                out.append(m)
            todo.extend(m._children())
        return out

    def _missing(self) -> frozenset:
        p, a = self.params, self.aux_params
        return frozenset(id(m) for m in self._layers()
                         if any(n not in p for n in m._param_names) or
                         any(n not in a for n in m._aux_param_names))

    def _ensure_params(self, run) -> None:
        """Layers create their parameters on their first call. When some are missing, one
        probing run (outside the gradient pass) creates them, so that the gradient pass
        differentiates them too; auxiliary state is left as it was before the probe."""
        missing = self._missing()
        if not missing or missing == self._never_called:
            return
        before = dict(self.aux_params)
        run()
        object.__setattr__(self, "_never_called", self._missing())
        for k in list(self.aux_params):
            if k in before:
                self.aux_params[k] = before[k]
            else:       # made by the probe: made again (fresh) by the gradient pass
                del self.aux_params[k]

    def backward(self, upstream=None) -> dict:
        """``{parameter name: gradient}`` of the last call's loss (a sum of its entries
        when it is not a scalar)."""
        if upstream is not None:
            raise NotImplementedError("Model.backward: an upstream gradient is not supported; "
                                      "multiply it into the loss instead")
        if self._grad_dict is None:
            raise RuntimeError("Model.backward: call the model first (loss = model(data, "
                               "labels=labels))")
        return dict(self._grad_dict)

    def grad_and_loss(self, data, labels):
        """``(gradients by parameter name, loss)`` for one batch."""
        if isinstance(data, list):
            data = tuple(data)
        if isinstance(labels, list):
            labels = tuple(labels)
        loss = self(data, labels=labels)
        return self.backward(), loss

    def grad(self):
        return self.backward()

    def attach(self, name: str, array=None) -> "Model":
        """Differentiate parameter ``name`` (with ``attach_all=False``)."""
        if name not in self.params:
            raise ValueError(f"Model.attach: {name!r} is not a parameter of the model (only "
                             f"parameters can be differentiated)")
        if self._attached is not None:
            self._attached.add(name)
        return self

    def detach(self, name: str) -> "Model":
        """Leave parameter ``name`` out of the gradients of the running call."""
        self._detached.add(name)
        return self

    def detach_graph(self) -> None:
        return None


def _long_mode(mode):
    return {"train": "training", "test": "inference"}.get(mode, mode)


def _reduce(x):
    if isinstance(x, Array) and x.size == 1:
        return float(x.asnumpy().reshape(()))
    return x


# ------------------------------------------------------------------------------ updater

class _ConfigParser:
    """Settings per parameter; attribute access reads or writes a setting of all."""

    class _ParamRef:
        def __init__(self, configs) -> None:
            object.__setattr__(self, "_param_configs", configs)

        def __getattr__(self, attr):
            try:
                return self._param_configs[attr]
            except KeyError:
                raise AttributeError(attr) from None

        def __setattr__(self, attr, value) -> None:
            self._param_configs[attr] = value

    def __init__(self, configs: dict) -> None:
        object.__setattr__(self, "_configs", configs)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        values = []
        for cfg in self._configs.values():
            if attr in cfg and not any(v is cfg[attr] or _same(v, cfg[attr]) for v in values):
                values.append(cfg[attr])
        if len(values) != 1:
            raise AttributeError(f"{attr!r} is {'not set' if not values else 'not the same'} "
                                 f"for every parameter")
        return values[0]

    def __setattr__(self, attr, value) -> None:
        for cfg in self._configs.values():
            cfg[attr] = value

    def __getitem__(self, name):
        return _ConfigParser._ParamRef(self._configs[name])

    def __setitem__(self, name, configs) -> None:
        if not isinstance(configs, dict):
            raise TypeError("Updater: a parameter's settings are a dict")
        self._configs[name] = copy.deepcopy(configs)

    def keys(self):
        return self._configs.keys()

    def values(self):
        return self._configs.values()

    def items(self):
        return self._configs.items()


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


class Updater(_ConfigParser):
    """Applies an update rule of :mod:`minpy.nn.optim` to the parameters in a gradient
    dict: ``Updater(model, update_rule='sgd', learning_rate=0.1)``. Settings given here
    apply to every parameter; ``updater.learning_rate *= 0.1`` changes them all and
    ``updater['fc0_weight'].learning_rate = ...`` one."""

    def __init__(self, model, **kwargs) -> None:
        super().__init__(copy.deepcopy(getattr(model, "_update_configs", None) or
                                       {k: {} for k in model.params}))
        object.__setattr__(self, "_model", model)
        for attr, value in kwargs.items():
            setattr(self, attr, value)

    def __call__(self, grad_dict: dict) -> None:
        for name, g in grad_dict.items():
            cfg = self._configs.get(name)
            if cfg is None:
                cfg = self._configs[name] = {k: v for k, v in next(iter(self._configs.values()),
                                                                   {}).items()
                                             if k not in _STATE_KEYS}
            rule_name = cfg.get("update_rule", "unspecified")
            if rule_name == "unspecified":
                raise ValueError(f"Updater: no update_rule for parameter {name!r}; give one, "
                                 f"e.g. Updater(model, update_rule='sgd', learning_rate=0.1)")
            rule = _optim.get(rule_name)
            settings = {k: v for k, v in cfg.items() if k != "update_rule"}
            new, settings = rule(self._model.params[name], g, settings)
            self._model.params[name] = new
            cfg.update(settings)


_STATE_KEYS = frozenset({"velocity", "cache", "m", "v", "t"})
