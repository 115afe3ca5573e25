"""The system C++ compiler and the on-disk kernel cache.

A compiler is an accelerator, never a requirement: ``compiler()`` is probed once
per process and answers ``None`` where nothing works, and the caller then runs
MXNet's own operators. Built libraries live under ``MINPY_CACHE_DIR`` (default
``~/.cache/minpy/kernels``), keyed by the source text, the compiler, its flags,
the CPU and the MXNet version; files are written under a temporary name and
renamed into place, so processes sharing the cache never read half a library.
"""
from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time

import mxnet as _mx

FLAGS = ("-O3", "-march=native", "-std=c++17", "-fPIC", "-fopenmp", "-fno-math-errno",
         "-fno-trapping-math", "-ffp-contract=off", "-fno-plt", "-fno-tree-slp-vectorize")
# -fno-tree-slp-vectorize: GCC 12's straight-line vectoriser turned the tail of a loop
# computing (double)(float)x - x into x - x (0 instead of the rounding error: the float32
# round trip vanished); the loop vectoriser, which does the real work, stays on
# -ffp-contract=off: a*b+c is rounded twice, as NumPy rounds it (no fused multiply-add);
# -fno-math-errno, -fno-trapping-math: loops calling sqrt and the math header vectorise
# (errno and FP traps are never read; no value changes); no -ffast-math: NaN and inf
# behave as in NumPy

_lock = threading.Lock()
_probed: dict = {}


class CompileError(RuntimeError):
    """The C++ compiler rejected generated source (a MinPy bug: the message has the log)."""


def cache_dir() -> str:
    root = os.environ.get("MINPY_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "minpy")
    path = os.path.join(root, "kernels")
    os.makedirs(path, exist_ok=True)
    return path


def _candidates() -> list:
    env = os.environ.get("CXX")
    if env:
        return [env]
    return [c for c in ("g++", "clang++", "c++") if shutil.which(c)]


def _cpu_id() -> str:
    """What the machine code depends on: the CPU model and its feature flags."""
    model = flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not model and line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif not flags and line.startswith("flags"):
                    flags = line.split(":", 1)[1].strip()
                if model and flags:
                    break
    except OSError:
        pass
    return f"{platform.machine()}|{model}|{hashlib.sha1(flags.encode()).hexdigest()[:12]}"


def _mxnet_dir() -> str:
    return os.path.dirname(_mx.__file__)


def compiler():
    """``(path, version line)`` of a C++ compiler that builds kernels here, or ``None``;
    probed once per process (per ``CXX`` and ``PATH``). A compiler that worked once
    is remembered in the cache directory (keyed by its path, size and time stamp), so
    a new process does not compile the probe again."""
    key = os.environ.get("CXX", "") + "|" + os.environ.get("PATH", "")
    with _lock:
        if key in _probed:
            return _probed[key]
        found = None
        inc = os.path.join(_mxnet_dir(), "include")
        if os.path.exists(os.path.join(inc, "mxnet", "lib_api.h")):
            for cxx in _candidates():
                found = _probe(shutil.which(cxx) or cxx)
                if found is not None:
                    break
        _probed[key] = found
        return found


def _probe(exe: str):
    try:
        st = os.stat(exe)
    except OSError:
        return None
    marker = os.path.join(cache_dir(), "probe-" + _key(exe, st.st_size, st.st_mtime_ns, FLAGS))
    try:
        with open(marker) as f:
            return (exe, f.read().strip())
    except OSError:
        pass
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            return None
        version = out.stdout.splitlines()[0] if out.stdout else exe
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.cc")
            with open(src, "w") as f:
                f.write("#include <cmath>\nextern \"C\" float probe(float x)"
                        "{ return std::sqrt(x); }\n")
            r = subprocess.run([exe, *FLAGS, "-shared", src, "-o", os.path.join(tmp, "probe.so")],
                               capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            return None
    except (OSError, subprocess.SubprocessError):
        return None
    write_text(marker, version)
    return (exe, version)


def _key(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def _run(cmd, what: str) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise CompileError(f"minpy.jit codegen: compiling {what} failed:\n{r.stderr[-4000:]}")


def _publish(tmp: str, final: str) -> None:
    os.replace(tmp, final)      # atomic: readers see the old file, the new one or none


def write_text(path: str, text: str) -> None:
    """Write a small file of the cache under a temporary name, then rename it."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as f:
        f.write(text)
    _publish(tmp, path)


def machine_path(prefix: str, *parts) -> str:
    """A file of the cache keyed by ``parts`` and, as kernels are, by the CPU and MXNet's
    version (a measurement made on this machine)."""
    return os.path.join(cache_dir(), f"{prefix}-" + _key(*parts, _cpu_id(), _mx.__version__))


def _compile_to_cache(name: str, suffix: str, source: str, extra: list, what: str) -> tuple:
    """Compile ``source`` into the cache unless a build of it is there already:
    ``(path, seconds, cache hit)``."""
    cxx = compiler()
    if cxx is None:
        raise CompileError("minpy.jit codegen: no working C++ compiler (set CXX, or install "
                           "g++ or clang++); codegen='auto' runs MXNet's operators instead")
    exe, version = cxx
    key = _key(name, source, exe, version, FLAGS, _cpu_id(), _mx.__version__)
    d = cache_dir()
    final = os.path.join(d, f"{name}-{key}{suffix}")
    if os.path.exists(final):
        return final, 0.0, True
    t0 = time.perf_counter()
    fd, src = tempfile.mkstemp(suffix=".cc", dir=d)
    with os.fdopen(fd, "w") as f:
        f.write(source)
    tmp = src[:-3] + suffix
    try:
        _run([exe, *FLAGS, *extra, src, "-o", tmp], what)
        _publish(tmp, final)
    finally:
        for p in (src, tmp):
            if os.path.exists(p):
                os.unlink(p)
    return final, time.perf_counter() - t0, False


def build_glue(source: str) -> str:
    """MXNet's extension-library glue and the one generic operator, built once per
    compiler, CPU and MXNet version (several seconds: ``lib_api.cc`` is large)."""
    inc = os.path.join(_mxnet_dir(), "include")
    glue = source + "\n#include \"" + os.path.join(_mxnet_dir(), "src", "lib_api.cc") + "\"\n"
    return _compile_to_cache("glue", ".so", glue, ["-shared", "-O2", "-I", inc],
                             "MXNet's extension glue")[0]


def build(source: str) -> tuple:
    """A kernel library: ``(path, compile seconds, found in the disk cache)``."""
    return _compile_to_cache("k", ".so", source, ["-shared"], "a fused kernel")


def build_runtime(source: str) -> str:
    """``runtime.SOURCE``: the one-call runner of directly called kernels."""
    return _compile_to_cache("rt", ".so", source, ["-shared"], "MinPy's kernel runtime")[0]
