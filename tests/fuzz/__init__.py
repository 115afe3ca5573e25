"""MinPy's differential fuzzer: random programs over the registry and array operators,
each call judged against NumPy, in eager, lazy and @jit mode; gradients against
central differences. ``python -m tests.fuzz --help``; see docs/testing.md."""
from .driver import MODES, fuzz, signature  # noqa: F401
