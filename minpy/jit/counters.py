"""Counters that let users see why graphs were cut and whether the cache works."""
from __future__ import annotations

import collections
import threading

from .config import config

_lock = threading.Lock()


def _fresh() -> dict:
    return {"flushes": {}, "cache_hits": 0, "cache_misses": 0, "compile_seconds": 0.0,
            "executed_graphs": 0, "executed_nodes": 0, "interpreted_nodes": 0,
            "eager_ops": 0, "jit_traces": 0, "jit_replays": 0,
            "fused_kernels": 0, "fused_nodes": 0, "kernel_builds": 0, "kernel_disk_hits": 0,
            "kernel_compile_seconds": 0.0, "kernel_failures": 0}


_stats = _fresh()
_log: collections.deque = collections.deque(maxlen=config.flush_log_size)


def bump(key: str, n=1) -> None:
    with _lock:
        _stats[key] += n


def flushed(reason: str, where, nodes: int, hit) -> None:
    """One flush: its reason and line in the log, a cache hit or miss."""
    with _lock:
        _stats["cache_hits" if hit else "cache_misses"] += 1
        f = _stats["flushes"]
        f[reason] = f.get(reason, 0) + 1
        _log.append((reason, where, nodes, hit))     # a dict only when read (flush_log)


def executed(nodes: int) -> None:
    """A compiled graph of ``nodes`` nodes ran (both counters under one lock: a flush
    is tens of microseconds, each acquisition a fraction of one)."""
    with _lock:
        _stats["executed_graphs"] += 1
        _stats["executed_nodes"] += nodes


def stats() -> dict:
    """Counters since the last reset (a copy)."""
    with _lock:
        out = dict(_stats)
        out["flushes"] = dict(_stats["flushes"])
        out["cache_size"] = _cache_size()
        return out


def _cache_size() -> int:
    from .compile import cache
    return len(cache)


def reset_stats() -> None:
    with _lock:
        _stats.clear()
        _stats.update(_fresh())
        _log.clear()


def flush_log() -> list:
    """Recent flushes: reason, the user line that forced it, graph size, cache hit."""
    with _lock:
        entries = list(_log)
    return [{"reason": r, "where": w, "nodes": n, "cache_hit": h} for r, w, n, h in entries]


def print_flush_log() -> None:
    from .graph import format_where
    for e in flush_log():
        hit = {True: "hit", False: "miss", None: "-"}[e["cache_hit"]]
        print(f"{e['reason']:<12} {e['nodes']:>5} nodes  cache {hit:<4}  at {format_where(e['where'])}")
