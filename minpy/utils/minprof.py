"""A small wall-clock profiler with MinPy 0.3's interface (``minpy.utils.minprof``).

``@minprof`` times every call of a function; ``with minprof():`` (or
``with minprof('label'):``) times a block; ``minprof.print_stats()`` prints
calls and seconds per function or block, and ``minprof.stats()`` returns them.
Recursive calls count as calls, but their time only once (the outermost call).
MinPy runs MXNet asynchronously: time a block whose result you read (or call
``minpy.flush()``/``.asnumpy()`` inside it) to include the device work.
"""
from __future__ import annotations

import functools
import sys
import time
from typing import Callable, Optional, Union


class _Profiler:
    def __init__(self) -> None:
        self._calls: dict = {}       # label -> [calls, seconds]
        self._depth: dict = {}       # label -> active nesting depth

    def _enter(self, label: str) -> float:
        self._depth[label] = self._depth.get(label, 0) + 1
        return time.perf_counter()

    def _leave(self, label: str, start: float) -> None:
        spent = time.perf_counter() - start
        self._depth[label] -= 1
        entry = self._calls.setdefault(label, [0, 0.0])
        entry[0] += 1
        if self._depth[label] == 0:       # inner recursive calls are inside this time
            entry[1] += spent

    def __call__(self, func: Union[Callable, str, None] = None):
        """``@minprof`` on a function, or ``minprof()`` / ``minprof('label')`` for a block."""
        if callable(func):
            label = f"{getattr(func, '__qualname__', func)} ({func.__code__.co_filename.rsplit('/', 1)[-1]}" \
                    f":{func.__code__.co_firstlineno})" if hasattr(func, "__code__") else str(func)

            @functools.wraps(func)
            def timed(*args, **kwargs):
                start = self._enter(label)
                try:
                    return func(*args, **kwargs)
                finally:
                    self._leave(label, start)
            return timed
        return _Block(self, func)

    def stats(self) -> dict:
        """``{label: (calls, seconds)}``."""
        return {k: (v[0], v[1]) for k, v in self._calls.items()}

    def reset(self) -> None:
        self._calls.clear()

    def print_stats(self, file=None) -> None:
        rows = sorted(self._calls.items(), key=lambda kv: -kv[1][1])
        width = max([5] + [len(k) for k, _ in rows])
        out = file or sys.stdout
        print(f"{'block':<{width}}  {'calls':>8}  {'seconds':>10}", file=out)
        for k, (n, t) in rows:
            print(f"{k:<{width}}  {n:>8}  {t:>10.6f}", file=out)


class _Block:
    def __init__(self, prof: _Profiler, label: Optional[str]) -> None:
        self._prof = prof
        self._label = label

    def __enter__(self):
        if self._label is None:
            f = sys._getframe(1)
            self._label = f"with block ({f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_lineno})"
        self._start = self._prof._enter(self._label)
        return self

    def __exit__(self, *exc) -> None:
        self._prof._leave(self._label, self._start)


minprof = _Profiler()
