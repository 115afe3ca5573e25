"""Operator definitions; importing this package fills the registry."""
from . import fused  # noqa: F401  (internal operators gradients use; before their users)
from . import creation, elementwise, indexing, linalg, random, reduction, shape  # noqa: F401
from . import nn  # noqa: F401,E402  (minpy.nn's operators)

from ..dispatch import call as _call
from ..dispatch.registry import REGISTRY as _REGISTRY

_call._ASTYPE = _REGISTRY["astype"]
