"""Where the tuned profile lives, and the one setting MinPy must apply before MXNet
runs anything: which MXNet engine runs the operators.

This module imports nothing heavy: ``minpy/__init__.py`` reads it before it
imports mxnet. ``minpy.jit.config.load_profile`` applies the rest of the profile.

MXNet reads ``MXNET_ENGINE_TYPE`` when it creates its engine, at its first
operation (not at ``import mxnet``; measured with MXNet 1.9.1). The choice, in
order of precedence:

1. the user's own ``MXNET_ENGINE_TYPE``, never overridden;
2. ``MINPY_ENGINE=naive|threaded``;
3. the profile written by ``python -m minpy.jit.tune`` (its ``"engine"`` entry);
4. MXNet's default, the threaded engine.

Only a choice of the naive engine sets ``MXNET_ENGINE_TYPE`` (the threaded
engine is MXNet's default), so child processes inherit it, like any setting of
the variable.
"""
from __future__ import annotations

import json
import os
from typing import Mapping, MutableMapping, NamedTuple, Optional, Tuple

PROFILE_ENV = "MINPY_JIT_PROFILE"
ENGINE_ENV = "MINPY_ENGINE"
MX_ENGINE_ENV = "MXNET_ENGINE_TYPE"
#: MinPy's names for MXNet's engines, and the engine type each sets
ENGINES = {"naive": "NaiveEngine", "threaded": "ThreadedEnginePerDevice"}
MX_DEFAULT_ENGINE = "ThreadedEnginePerDevice"


def profile_path(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Where the tuned profile is read from: ``$MINPY_JIT_PROFILE``, else
    ``$XDG_CONFIG_HOME/minpy/jit_profile.json`` (``~/.config/...`` when unset);
    ``None`` when ``MINPY_JIT_PROFILE=none``."""
    environ = os.environ if environ is None else environ
    env = environ.get(PROFILE_ENV, "").strip()
    if env.lower() == "none":
        return None
    if env:
        return os.path.expanduser(env)
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "minpy", "jit_profile.json")


class EngineInfo(NamedTuple):
    """Which MXNet engine MinPy asked for, and why (``minpy.mxnet_engine``)."""

    name: str     # MXNet's engine type: "NaiveEngine", "ThreadedEnginePerDevice", ...
    kind: str     # "naive" (operators run in the calling thread) or "threaded"
    source: str   # "MXNET_ENGINE_TYPE" (the user's), "MINPY_ENGINE", "profile" or "default"
    note: str     # why it may not hold (mxnet imported first), or ""

    def __str__(self) -> str:
        return f"{self.name} (from {self.source}{'; ' + self.note if self.note else ''})"


def engine_kind(name: str) -> str:
    """``"naive"`` for MXNet's NaiveEngine, ``"threaded"`` for its other engines."""
    return "naive" if name.strip() == "NaiveEngine" else "threaded"


def profile_engine(path: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """The profile's engine choice (``"naive"``/``"threaded"``, or None) and a problem
    worth a warning. An unreadable file is not reported here: ``load_profile``
    warns about it once when ``minpy.jit`` is imported."""
    if path is None or not os.path.exists(path):
        return None, None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None, None
    value = data.get("engine") if isinstance(data, dict) else None
    if value is None or value in ENGINES:
        return value, None
    return None, (f"MinPy jit profile {path}: invalid engine={value!r} (one of "
                  f"{tuple(ENGINES)}); MXNet's default kept (rerun python -m minpy.jit.tune, "
                  f"or set {PROFILE_ENV}=none)")


def choose_engine(environ: MutableMapping[str, str], mxnet_imported: bool
                  ) -> Tuple[EngineInfo, list]:
    """Decide the engine (see the module's docstring), set ``MXNET_ENGINE_TYPE`` in
    ``environ`` for the naive engine; returns the decision and warnings to give."""
    problems = []
    note = ("mxnet was imported before minpy: MXNet fixes its engine at its first "
            "operation, so this holds only if none ran before minpy was imported"
            if mxnet_imported else "")
    user = environ.get(MX_ENGINE_ENV, "").strip()
    asked = environ.get(ENGINE_ENV, "").strip().lower()
    if asked and asked != "auto" and asked not in ENGINES:
        problems.append(f"{ENGINE_ENV}={asked!r} is not one of {tuple(ENGINES)} or 'auto'; "
                        "ignored")
        asked = ""
    if user:
        if asked in ENGINES and engine_kind(user) != asked:
            problems.append(f"{ENGINE_ENV}={asked} ignored: {MX_ENGINE_ENV}={user} is set")
        return EngineInfo(user, engine_kind(user), MX_ENGINE_ENV, note), problems
    if asked in ENGINES:
        kind, source = asked, ENGINE_ENV
    else:
        kind, problem = profile_engine(profile_path(environ))
        if problem:
            problems.append(problem)
        source = "profile" if kind else "default"
        kind = kind or "threaded"
    if kind == "naive":
        environ[MX_ENGINE_ENV] = ENGINES["naive"]
    return EngineInfo(ENGINES[kind], kind, source, note), problems


def start_engine_quietly(mx) -> None:
    """Run one tiny operation with the C++ log hidden, so that MXNet creates the
    engine MinPy chose now: its one log line ("MXNet start using engine") stays
    out of the user's output, and the choice is fixed from here on."""
    import sys
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        fd = None
    saved = os.dup(fd) if fd is not None else None
    try:
        if saved is not None:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), fd)
        mx.nd.zeros((1,)).wait_to_read()
    finally:
        if saved is not None:
            os.dup2(saved, fd)
            os.close(saved)
