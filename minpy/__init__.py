"""MinPy: NumPy code on MXNet, with automatic gradients and NumPy fallback."""
from __future__ import annotations

__version__ = "0.4.0.dev0"

import os as _os
import sys as _sys

_os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
# MXNet 1.9.1's MKLDNN subgraph backend fuses Convolution and FullyConnected nodes
# of a bound executor into operators that keep the weights of its first forward:
# an executor reused with new weights (every cached lazy or @jit graph) would
# compute with the old ones. The fusions are switched off; MXNet reads these
# variables when it loads, so when mxnet was imported before minpy the whole
# subgraph backend is switched off instead (read at every bind; MXNet then logs
# one line per bind). A user's own settings win.
_os.environ.setdefault("MXNET_DISABLE_MKLDNN_CONV_OPT", "1")
_os.environ.setdefault("MXNET_DISABLE_MKLDNN_FC_OPT", "1")
# MXNet's engine (naive: operators run in the calling thread; threaded: handed to
# worker threads), from the user's MXNET_ENGINE_TYPE, else MINPY_ENGINE, else the
# tuned profile (python -m minpy.jit.tune), else MXNet's default; MXNet reads it at its
# first operation. ``minpy.mxnet_engine`` says which and why.
from . import _profile


def _choose_engine():
    import warnings
    info, problems = _profile.choose_engine(_os.environ, "mxnet" in _sys.modules)
    for p in problems:
        warnings.warn(f"minpy: {p}", RuntimeWarning, stacklevel=3)
    return info


mxnet_engine = _choose_engine()
if "mxnet" in _sys.modules:
    _os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
else:
    # MXNet 1.9.1 touches names NumPy deprecated (np.bool, NEP 32 financial
    # functions, distutils' LooseVersion) while it imports; those warnings are
    # about MXNet, not about the user's code, so they are silenced here, for
    # this import only, instead of in the user's process-wide filters.
    import warnings as _warnings

    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", DeprecationWarning)
        import mxnet as _mxnet  # noqa: F401
    del _warnings, _mxnet

if mxnet_engine.kind == "naive" and mxnet_engine.source in ("MINPY_ENGINE", "profile"):
    import mxnet as _mxnet
    _profile.start_engine_quietly(_mxnet)
    del _mxnet

from . import context  # noqa: F401
from .config import get_default_dtype, set_default_dtype  # noqa: F401
from .dispatch.policy import (AutoBlacklistPolicy, OnlyMXNetPolicy, OnlyNumPyPolicy,  # noqa: F401
                              Policy, PreferMXNetPolicy, get_global_policy, set_global_policy,
                              wrap_policy)
from .dispatch.stats import call_stats, format_call_stats, print_call_stats, reset_call_stats  # noqa: F401
from . import numpy  # noqa: F401
from .array import Array  # noqa: F401
from . import core  # noqa: F401
from .core import grad, grad_and_loss  # noqa: F401
from . import jit  # noqa: F401
from ._compat_values import ConfigDict as _ConfigDict

Config = _ConfigDict(modules=[])   # MinPy 0.3's settings dict; Config['default_policy'] is the global policy
from .jit import flush, is_lazy, lazy, set_lazy  # noqa: F401
