"""Operator definitions; importing this package fills the registry."""
from . import creation, elementwise, indexing, linalg, random, reduction, shape  # noqa: F401
