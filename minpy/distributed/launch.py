"""Start a data-parallel job on this machine: ``python -m minpy.distributed.launch
-n WORKERS [-s SERVERS] [--timeout SECONDS] script.py args...``.

It starts one ps-lite scheduler, ``SERVERS`` servers (``python -c 'import mxnet'``
with ``DMLC_ROLE`` set: importing MXNet runs the server loop) and ``WORKERS`` copies
of the script, all on 127.0.0.1, with the ``DMLC_*`` variables MXNet's KVStore
reads. Every output line is prefixed with its process (``[worker 1]``); worker ``i``
gets KVStore rank ``i`` (each worker is given a listening port, ps-lite ranks
workers by port). When any process fails (a non-zero exit, or a signal) the others
are stopped and the launcher exits non-zero naming it; so does ``--timeout``.

MXNet's own ``tools/launch.py`` (dmlc-tracker) sets the same variables, but its
local mode runs processes in threads without output prefixes, retries failed
workers, leaves the others waiting when one dies, and relies on
``Thread.isAlive``, which Python 3.9 removed; this launcher does the local case
itself. Several machines (``--hostfile`` over ssh) are not supported yet.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import List, Optional, Sequence

__all__ = ["main", "launch"]

_HOST = "127.0.0.1"


def _free_ports(k: int, host: str = _HOST) -> List[int]:
    """``k`` distinct ports the OS reports free now, ascending (all held open together
    until each is known, so none repeats)."""
    socks = []
    try:
        for _ in range(k):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return sorted(s.getsockname()[1] for s in socks)
    finally:
        for s in socks:
            s.close()


def _check_port(port: int, host: str = _HOST) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
    except OSError as e:
        raise SystemExit(f"minpy.distributed.launch: port {port} on {host} is not free "
                         f"({e.strerror}); pick another --port or leave it out") from None
    finally:
        s.close()


def _die_with_parent() -> None:
    """In the child (Linux): SIGKILL when the launcher dies, even by SIGKILL."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except Exception:
        pass


class _Proc:
    def __init__(self, label: str, cmd: Sequence[str], env: dict, out, lock) -> None:
        self.label = label
        self.p = subprocess.Popen(list(cmd), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True,
                                  preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        self.reader = threading.Thread(target=self._pump, args=(out, lock), daemon=True)
        self.reader.start()

    def _pump(self, out, lock) -> None:
        prefix = f"[{self.label}] ".encode()
        for line in iter(self.p.stdout.readline, b""):
            with lock:
                out.write(prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
                out.flush()
        self.p.stdout.close()

    def describe(self) -> str:
        rc = self.p.returncode
        if rc is not None and rc < 0:
            try:
                how = f"was killed by {signal.Signals(-rc).name}"
            except ValueError:
                how = f"was killed by signal {-rc}"
        else:
            how = f"exited with code {rc}"
        return f"{self.label} (pid {self.p.pid}) {how}"

    def kill(self, sig) -> None:
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def _say(msg: str, out, lock) -> None:
    with lock:
        out.write(f"[launch] {msg}\n".encode())
        out.flush()


def launch(command: Sequence[str], num_workers: int, num_servers: int = 1,
           timeout: Optional[float] = None, port: Optional[int] = None,
           env: Optional[dict] = None, grace: float = 10.0, out=None) -> int:
    """Run the job; returns 0 when every worker exited 0, else non-zero (124 on timeout)."""
    if num_workers < 1 or num_servers < 1:
        raise SystemExit("minpy.distributed.launch: -n and -s must be at least 1")
    command = list(command)
    if not command:
        raise SystemExit("minpy.distributed.launch: no script given")
    if command[0].endswith(".py"):
        command = [sys.executable, "-u"] + command
    out = out if out is not None else sys.stdout.buffer
    lock = threading.Lock()
    ports = _free_ports(num_workers + num_servers + (port is None))
    if port is None:
        port, ports = ports[-1], ports[:-1]
    else:
        _check_port(port)
    base = dict(os.environ if env is None else env)
    base.update({"DMLC_PS_ROOT_URI": _HOST, "DMLC_PS_ROOT_PORT": str(port),
                 "DMLC_NUM_WORKER": str(num_workers), "DMLC_NUM_SERVER": str(num_servers),
                 "DMLC_NODE_HOST": _HOST, "PYTHONUNBUFFERED": "1"})
    server_cmd = [sys.executable, "-c", "import mxnet"]
    procs: List[_Proc] = []
    workers: List[_Proc] = []

    def start(label, cmd, role, extra):
        e = dict(base, DMLC_ROLE=role, **extra)
        p = _Proc(label, cmd, e, out, lock)
        procs.append(p)
        return p

    status = 0
    t0 = time.monotonic()
    try:
        start("scheduler", server_cmd, "scheduler", {})
        for i in range(num_servers):
            start(f"server {i}", server_cmd, "server", {"PORT": str(ports[num_workers + i])})
        for i in range(num_workers):
            # ps-lite orders workers by (host, port): ascending ports make rank == i
            workers.append(start(f"worker {i}", command, "worker",
                                 {"PORT": str(ports[i]), "DMLC_TASK_ID": str(i)}))
        done_at = None
        while True:
            failed = [p for p in procs if p.p.poll() not in (None, 0)]
            if failed:
                first = min(failed, key=procs.index)
                _say(f"{first.describe()}; stopping the other processes", out, lock)
                status = first.p.returncode if first.p.returncode > 0 else 1
                break
            if all(w.p.poll() == 0 for w in workers):
                if done_at is None:
                    done_at = time.monotonic()
                if all(p.p.poll() is not None for p in procs):
                    break
                if time.monotonic() - done_at > grace:
                    _say(f"every worker finished; the scheduler and servers did not stop "
                         f"within {grace:g} s and are stopped", out, lock)
                    break
            if timeout is not None and time.monotonic() - t0 > timeout:
                _say(f"timeout: the job ran past {timeout:g} s; stopping every process", out, lock)
                status = 124
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        _say("interrupted; stopping every process", out, lock)
        status = 130
    finally:
        for p in procs:
            p.kill(signal.SIGTERM)
        deadline = time.monotonic() + 3.0
        for p in procs:
            try:
                p.p.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill(signal.SIGKILL)
                p.p.wait()
        for p in procs:
            p.reader.join(2.0)
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m minpy.distributed.launch",
        description="Run a MinPy data-parallel job (scheduler, servers, workers) on this machine.")
    ap.add_argument("-n", "--num-workers", type=int, required=True, help="worker processes")
    ap.add_argument("-s", "--num-servers", type=int, default=1, help="server processes (default 1)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="stop every process after this many seconds (exit code 124)")
    ap.add_argument("--port", type=int, default=None,
                    help="the scheduler's port (default: a free one)")
    ap.add_argument("--hostfile", default=None, help=argparse.SUPPRESS)
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="script.py and its arguments (or any command)")
    args = ap.parse_args(argv)
    if args.hostfile:
        ap.error("--hostfile (workers on other machines over ssh) is not supported yet")
    if not args.command:
        ap.error("no script given")
    def on_term(signum, frame):
        raise KeyboardInterrupt          # stop every process, as for Ctrl-C

    signal.signal(signal.SIGTERM, on_term)
    return launch(args.command, args.num_workers, args.num_servers, timeout=args.timeout,
                  port=args.port)


if __name__ == "__main__":
    sys.exit(main())
