"""One way to run a function in each of MinPy's modes, for tests that compare them."""
import minpy

MODES = ["eager", "lazy", "jit"]


def run_in_mode(mode, fn, *args):
    """``fn(*args)`` eagerly, inside ``minpy.lazy()``, or as a ``@minpy.jit`` function
    called twice (its trace, then a replay of the cached graph, which is returned)."""
    if mode == "eager":
        return fn(*args)
    if mode == "lazy":
        with minpy.lazy():
            return fn(*args)
    f = minpy.jit(fn)
    f(*args)
    return f(*args)
