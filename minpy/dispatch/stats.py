"""Per-function call counts by backend, so users can see what fell back to NumPy."""
from __future__ import annotations

from collections import Counter

_counts: Counter = Counter()      # (name, backend) -> calls
_mx_calls: Counter = Counter()    # Op -> calls run (or recorded) on MXNet: the dispatcher's
#                                   hot path counts by the operator object, without a key tuple


def count(name: str, backend: str) -> None:
    _counts[(name, backend)] += 1


def call_stats() -> dict[str, dict[str, int]]:
    """``{function: {"mxnet": n, "numpy": m}}`` since the last reset."""
    out: dict[str, dict[str, int]] = {}
    for (name, backend), n in _counts.items():
        d = out.setdefault(name, {"mxnet": 0, "numpy": 0})
        d[backend] += n
    for op, n in list(_mx_calls.items()):
        d = out.setdefault(op.name, {"mxnet": 0, "numpy": 0})
        d["mxnet"] += n
    return out


def reset_call_stats() -> None:
    _counts.clear()
    _mx_calls.clear()


def format_call_stats() -> str:
    rows = sorted(call_stats().items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    width = max([8] + [len(n) for n, _ in rows])
    lines = [f"{'function':<{width}}  {'mxnet':>8}  {'numpy':>8}"]
    lines += [f"{n:<{width}}  {d['mxnet']:>8}  {d['numpy']:>8}" for n, d in rows]
    return "\n".join(lines)


def print_call_stats() -> None:
    print(format_call_stats())
