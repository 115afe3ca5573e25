"""One run of a compiled graph at a time (every vehicle's ``run``)."""
from __future__ import annotations


class _Busy(Exception):
    """A compiled graph was entered again by the thread already running it (a signal
    handler): the caller computes the values another way."""


def _exclusive(run):
    """One run of a compiled graph at a time: its bound input and output buffers are
    shared by every thread (and signal handler) that reuses the cached graph."""
    def guarded(self, ext, scalars):
        with self.lock:
            if self.active:
                raise _Busy()
            self.active = True
            try:
                return run(self, ext, scalars)
            finally:
                self.active = False
    guarded.__name__ = run.__name__
    guarded.__doc__ = run.__doc__
    return guarded
