"""The parent process: hands batches of programs to worker processes, counts crashes
and hangs, and aggregates the workers' findings into a report."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
MODES = ("eager", "lazy", "jit")
MISMATCH = {"value", "shape", "dtype", "type", "missing_error", "error_class"}
EXCEPTION = {"unexpected_exception"}
CRASH = {"crash", "hang"}
GRAD_KINDS = {"grad_value", "grad_exception", "grad_forward"}


def signature(f: dict) -> str:
    """The bucket a failure belongs to: ``kind|operation|operand dtypes``."""
    return f"{f['kind']}|{f['label']}|{f['dtypes']}"


class Batch:
    """One worker process running ``indices`` in ``mode``."""

    def __init__(self, mode: str, seed: int, indices: list, grad: bool, tmp: Path,
                 shrunk: set, no_shrink: bool) -> None:
        self.mode, self.indices, self.grad = mode, list(indices), grad
        tag = f"{mode}{'-grad' if grad else ''}-{indices[0]}-{time.monotonic_ns()}"
        self.job = tmp / f"{tag}.job.json"
        self.progress = tmp / f"{tag}.progress"
        self.out = tmp / f"{tag}.out"
        self.err = tmp / f"{tag}.err"
        self.job.write_text(json.dumps({
            "mode": mode, "seed": seed, "indices": self.indices, "grad": grad,
            "progress": str(self.progress), "out": str(self.out), "shrunk": sorted(shrunk),
            "no_shrink": no_shrink}))
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("MINPY_JIT_PROFILE", "none")
        env.setdefault("OMP_NUM_THREADS", "1")
        self.errfh = open(self.err, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker", str(self.job)],
                                     cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL,
                                     stderr=self.errfh, start_new_session=True)

    def last_lines(self) -> list[str]:
        try:
            return self.progress.read_text().splitlines()
        except FileNotFoundError:
            return []

    def results(self) -> list[dict]:
        try:
            return [json.loads(x) for x in self.out.read_text().splitlines() if x.strip()]
        except FileNotFoundError:
            return []

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def close(self) -> None:
        self.errfh.close()
        for p in (self.job, self.progress, self.out, self.err):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def _run_batch(mode: str, seed: int, indices: list, grad: bool, tmp: Path, shrunk: set,
               hang_s: float, no_shrink: bool, deadline: Optional[float]) -> tuple[list, list]:
    """Run ``indices``; returns (per-program results, indices not run because time ran out)."""
    results: list = []
    todo = list(indices)
    while todo:
        if deadline is not None and time.monotonic() > deadline:
            break
        b = Batch(mode, seed, todo, grad, tmp, shrunk, no_shrink)
        started, cur = time.monotonic(), None
        while True:
            rc = b.proc.poll()
            lines = b.last_lines()
            p_lines = [x for x in lines if x.startswith("P ")]
            if p_lines and p_lines[-1] != cur:
                cur, started = p_lines[-1], time.monotonic()
            if rc is not None:
                break
            limit = hang_s if cur is not None else hang_s + 60
            if time.monotonic() - started > limit:
                b.kill()
                rc = "hang"
                break
            time.sleep(0.05)
        done = b.results()
        results += done
        finished = {r["index"] for r in done}
        todo = [i for i in todo if i not in finished]
        for r in done:
            for f in r["fails"]:
                if "repro" in f:
                    shrunk.add(signature(f))
        if rc != 0 and todo:
            # the program that was running crashed or hung
            idx = int(cur.split()[1]) if cur else todo[0]
            after = lines[lines.index(cur) + 1:] if cur in lines else []
            where = after[-1] if after else ""
            b.errfh.flush()
            err = b.err.read_text(errors="replace").strip().splitlines()[-6:]
            results.append(_crash_record(mode, seed, idx, grad, rc, where, err))
            todo = [i for i in todo if i != idx]
        b.close()
    return results, todo


def _crash_record(mode, seed, idx, grad, rc, where, err) -> dict:
    from .gen import generate
    from . import grad as gradfuzz
    from .shrink import closure, program_src
    prog = gradfuzz.generate(seed, idx) if grad else generate(seed, idx)
    label, step = "program", -1
    parts = where.split()
    if parts and parts[0] == "S":
        step, label = int(parts[1]), parts[2] if len(parts) > 2 else "?"
        if mode != "eager" and not grad:
            label = f"{label} (recorded)"
        if grad:
            label = f"grad: {label}"
    elif parts and parts[0] in ("J", "C"):
        label = "flush" if mode == "lazy" else "@jit call"
    kind = "hang" if rc == "hang" else "crash"
    sig_rc = "timeout" if rc == "hang" else (f"signal {-rc}" if isinstance(rc, int) and rc < 0
                                               else f"exit {rc}")
    detail = f"{sig_rc}; " + " | ".join(x.strip()[:200] for x in err if x.strip())[-600:]
    if grad:
        repro = gradfuzz.program_src(prog, mode)
    else:
        p = closure(prog, step) if step >= 0 and mode == "eager" else prog
        repro = program_src(p, mode)
    return {"index": idx, "mode": mode, "calls": 0,
            "fails": [{"kind": kind, "label": label, "dtypes": "", "detail": detail,
                       "step": step, "mode": mode, "call": 1, "repro": repro,
                       "minimal": "closure" if (step >= 0 and mode == "eager") else "program"}]}


def fuzz(minutes: Optional[float] = None, programs: Optional[int] = None,
         modes: tuple = MODES, seed: int = 0, grad: bool = False, batch: int = 40,
         hang_s: float = 60.0, no_shrink: bool = False, grad_programs: Optional[int] = None,
         log=None) -> dict:
    """Run the fuzzer for ``minutes`` (shared by the modes, and by gradient fuzzing when
    ``grad``) or a fixed number of ``programs`` per mode; returns the report dict."""
    t0 = time.monotonic()
    deadline = t0 + minutes * 60 if minutes else None
    tmp = Path(tempfile.mkdtemp(prefix="minpy-fuzz-"))
    results: dict = {m: [] for m in modes}
    gresults: dict = {m: [] for m in modes} if grad else {}
    shrunk: set = set()
    nxt = {m: 0 for m in modes}
    gnxt = {m: 0 for m in modes}
    lanes = [(m, False) for m in modes] + ([(m, True) for m in modes] if grad else [])
    # in timed runs gradient fuzzing gets a fifth of the time
    while True:
        progressed = False
        for mode, is_grad in lanes:
            if deadline is not None and time.monotonic() > deadline:
                break
            if is_grad:
                total = grad_programs if grad_programs is not None else programs
                start = gnxt[mode]
                if total is not None:
                    n = min(batch, total - start)
                else:
                    spent = len(gresults[mode])
                    n = batch // 2 if spent * 3 <= len(results[mode]) else 0
            else:
                start = nxt[mode]
                n = min(batch, programs - start) if programs is not None else batch
            if n <= 0:
                continue
            idx = list(range(start, start + n))
            res, left = _run_batch(mode, seed, idx, is_grad, tmp, shrunk, hang_s, no_shrink,
                                   deadline)
            ran = [i for i in idx if i not in left]
            (gresults if is_grad else results)[mode] += res
            if is_grad:
                gnxt[mode] += len(ran) if left else n
            else:
                nxt[mode] += len(ran) if left else n
            progressed = progressed or bool(res)
            if log:
                log(f"{mode}{' grad' if is_grad else ''}: {nxt[mode] if not is_grad else gnxt[mode]}"
                    f" programs, {time.monotonic() - t0:.0f}s")
        if deadline is not None and time.monotonic() > deadline:
            break
        if not progressed:
            break
    try:
        tmp.rmdir()
    except OSError:
        pass
    from .report import build
    return build(results, gresults, seed=seed, seconds=time.monotonic() - t0)
