"""MinPy: NumPy code on MXNet, with automatic gradients and NumPy fallback."""
from __future__ import annotations

__version__ = "0.4.0.dev0"

import os as _os

_os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")

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
from .jit import flush, is_lazy, lazy, set_lazy  # noqa: F401
