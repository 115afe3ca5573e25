"""Knobs of the lazy engine, in one place."""
from __future__ import annotations


class JitConfig:
    """Tunable settings; see docs/lazy.md for what each one trades."""

    def __init__(self) -> None:
        self.max_pending = 5000          # flush when this many nodes wait
        self.cache_capacity = 256        # compiled graphs kept (LRU)
        self.record_source_lines = True  # remember the user line of each node (errors, logs)
        self.flush_log_size = 64         # recent flushes kept for minpy.jit.flush_log()
        self.min_graph_nodes = 1         # smaller graphs run op by op instead of compiling
        self.scalar_promotion = "speculative"  # bake scalars until they vary ("inputs": never bake)
        self.jit_max_traces = 8          # warn once when one jitted function traced more often
        self.vehicle = "executor"        # "executor" (bound once, inputs/outputs copied) or "cachedop"
        self.pack_outputs = True         # one executor output (one copy) per dtype
        self.quiet_bind = True           # hide MXNet's C++ log lines while binding graphs
        self.graph_passes = True         # run the compile-time passes below at all
        self.cse = True                  # common-subexpression elimination
        self.batching = True             # batch independent products / accumulations
        self.batch_min_group = 4         # smallest group of products worth batching

    def __repr__(self) -> str:
        return "JitConfig(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


config = JitConfig()
