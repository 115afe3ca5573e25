"""Planted bugs, for testing the fuzzer itself: ``MINPY_FUZZ_PLANT=kind:op`` makes a
worker patch one registry operator's MXNet lowering before it runs (kinds: ``value``,
``shape``, ``abort``, ``hang``)."""
from __future__ import annotations

import os
import time


def plant(spec: str) -> None:
    from minpy.dispatch.registry import REGISTRY
    import minpy.ops  # noqa: F401
    kind, name = spec.split(":", 1)
    op = REGISTRY[name]
    orig = op.mx

    def wrong(F, *a, **k):
        r = orig(F, *a, **k)
        if kind == "value":
            return r * 3 + 1
        if kind == "shape":
            return F.np.reshape(r, (-1,))
        if kind == "abort":
            os.abort()
        if kind == "hang":
            time.sleep(3600)
        return r
    op.mx = wrong
