"""Binding MXNet executors: quietly, one thread at a time, and again after a failure."""
from __future__ import annotations

import contextlib
import os
import sys
import threading

from .config import config

# MXNet's symbol and bind calls are not thread-safe (and quiet_native_stderr swaps a
# process-wide file descriptor): threads compile and bind one graph at a time
BIND_LOCK = threading.RLock()


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence MXNet's C++ log lines while binding (it reports, per bind, which
    fusion passes are switched off); Python exceptions still carry any error."""
    if not config.quiet_bind:
        yield
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            try:
                yield
            finally:
                os.dup2(saved, fd)
    finally:
        os.close(saved)


def bind(sym, ctx, **kwargs):
    """``sym.bind(ctx, **kwargs)``, holding ``BIND_LOCK`` and with MXNet's log lines
    silenced: how every executor MinPy keeps is made."""
    with BIND_LOCK, quiet_native_stderr():
        return sym.bind(ctx, **kwargs)


def rebound(exe):
    """A new executor of ``exe``'s symbol bound to ``exe``'s very arrays (inputs,
    gradients, auxiliary states; the outputs are new).

    Under MXNet's naive engine an operator that raises inside an executor leaves that
    executor unusable: every later run fails with "Cannot find attribute shape in the
    graph", whatever its inputs. (The threaded engine reports the error on the outputs
    and keeps the executor.) So whoever keeps an executor replaces it after a failed run."""
    return bind(exe._symbol, exe._ctx, args=exe.arg_arrays, args_grad=exe.grad_arrays,
                grad_req=exe._grad_req, aux_states=exe.aux_arrays)
