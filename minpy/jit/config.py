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
        self.vehicle = "auto"            # "executor" (bound once, inputs/outputs copied), "cachedop"
        #                                  (fresh outputs, no copies), or "auto": the CachedOp
        #                                  for large outputs, else the executor, moved to the
        #                                  CachedOp when its runs keep copying large inputs in
        #                                  (a training step's new weights)
        self.cachedop_min_elements = 131072  # "auto": output elements that pick the CachedOp
        self.cachedop_min_copied = 65536  # "auto": input elements copied per run that move an
        #                                   executor graph to the CachedOp (runs 2 and 3 decide)
        self.pack_max_elements = 4096    # outputs up to this size share one copied buffer
        self.pack_outputs = True         # one executor output (one copy) per dtype
        self.quiet_bind = True           # hide MXNet's C++ log lines while binding graphs
        self.backward_cache = True       # lazy mode: replay a tape's recorded backward nodes
        self.native_backward = "auto"    # MXNet runs a backward pass it can run exactly:
        #                                  "always", "never", or "auto": when the tape holds a
        #                                  Function (whose backward would otherwise run eagerly)
        self.wait_outputs = True         # a flush / jit call returns once its graph's outputs
        #                                  are computed, so an MXNet failure (reported
        #                                  asynchronously, and forgotten once one array was
        #                                  read) is seen and stays with the arrays of the
        #                                  operator that raised it; False hands them out at
        #                                  once (overlaps Python with MXNet, but a failing
        #                                  graph then leaves its other outputs unwritten)
        self.graph_passes = True         # run the compile-time passes below at all
        self.constant_folding = True     # compute what reads no graph input once, at compile
        self.cse = True                  # common-subexpression elimination
        self.batching = True             # batch independent products / accumulations
        self.fully_connected = True      # lower large float32 products to FullyConnected
        self.fc_transposed = "measure"   # a product FullyConnected could only take after
        #                                  transposing an operand: "fc" (transposes + FC),
        #                                  "dot" (MXNet's dot with transpose flags), or
        #                                  "measure" (time both once per shape per process,
        #                                  keep the faster: which wins depends on the CPU)
        self.fc_min_flops = 500_000      # ... when n*k*m reaches this (dot vs transpose+FC
        #                                  broke even between 64^3 and 96^3 on the dev CPU)
        self.batch_min_group = 4         # smallest group of products worth batching
        self.codegen = "auto"            # generated C++ kernels for fusible clusters: "auto"
        #                                  (where a C++ compiler works), "off", or "always"
        #                                  (every fusible node, an error without a compiler);
        #                                  the MINPY_JIT_CODEGEN environment variable wins
        self.codegen_min_nodes = 2       # "auto": smallest cluster worth a kernel
        self.codegen_direct = True       # a graph fused into one kernel is called directly
        #                                  (ctypes, no MXNet executor: tens of us less a call)
        self.codegen_parallel_min = 131072  # elementwise loops this large run on OpenMP
        #                                  threads (OMP_NUM_THREADS), smaller ones on one
        self.codegen_dot_max = 32768     # products up to n*k*m multiply-adds inline into a
        #                                  kernel; larger ones stay on MXNet's BLAS / oneDNN

    def __repr__(self) -> str:
        return "JitConfig(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


config = JitConfig()


# -- tuned profile (python -m minpy.jit.tune) -----------------------------------------
from .._profile import PROFILE_ENV, profile_path  # noqa: E402,F401  (read before mxnet loads)
_CHOICES = {"vehicle": ("auto", "executor", "cachedop"), "scalar_promotion": ("speculative", "inputs"),
            "native_backward": ("auto", "always", "never"),
            "codegen": ("auto", "off", "always"), "fc_transposed": ("measure", "fc", "dot")}
_MINIMUM = {"max_pending": 1, "cache_capacity": 1, "batch_min_group": 2, "flush_log_size": 1,
            "jit_max_traces": 1}


def _invalid(key, value, default):
    """Why ``value`` is no valid setting for ``key`` (None when it is)."""
    if key in _CHOICES:
        return None if value in _CHOICES[key] else f"{key}={value!r} (one of {_CHOICES[key]})"
    if type(value) is not type(default):
        return f"{key}={value!r} (a {type(default).__name__} is expected)"
    if type(value) is int and value < _MINIMUM.get(key, 0):
        return f"{key}={value!r} (at least {_MINIMUM.get(key, 0)})"
    return None


def load_profile(path=None, target=None) -> dict:
    """Apply the settings of a tuned profile to ``config``; return those applied.

    A missing file is silent. A file that is not a valid profile (bad JSON, a value
    of the wrong type or out of range) changes nothing and warns once
    (``RuntimeWarning`` naming the file); unknown keys are ignored, with the warning.
    """
    import json
    import os
    import warnings
    target = config if target is None else target
    if path is None:
        path = profile_path()
        if path is None:
            return {}
    path = os.fspath(path)
    if not os.path.exists(path):
        return {}
    problems, chosen = [], {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        settings = data.get("config") if isinstance(data, dict) else None
        if not isinstance(settings, dict):
            raise ValueError('no "config" object')
    except (OSError, ValueError) as e:
        problems.append(f"unreadable ({e})")
    else:
        defaults = vars(JitConfig())
        bad = False
        for key, value in settings.items():
            if key not in defaults:
                problems.append(f"unknown setting {key!r} ignored")
                continue
            why = _invalid(key, value, defaults[key])
            if why is not None:
                problems.append(f"invalid {why}")
                bad = True
            chosen[key] = value
        if bad:
            chosen = {}
            problems.append("defaults kept")
    if problems:
        warnings.warn(f"MinPy jit profile {path}: " + "; ".join(problems)
                      + f" (rerun python -m minpy.jit.tune, or set {PROFILE_ENV}=none)",
                      RuntimeWarning, stacklevel=2)
    for key, value in chosen.items():
        setattr(target, key, value)
    return chosen
