"""Start a data-parallel job: ``python -m minpy.distributed.launch -n WORKERS
[-s SERVERS] [--hostfile F] [--timeout SECONDS] script.py args...``.

It starts one ps-lite scheduler, ``SERVERS`` servers (``python -c 'import mxnet'``
with ``DMLC_ROLE`` set: importing MXNet runs the server loop) and ``WORKERS`` copies
of the script, with the ``DMLC_*`` variables MXNet's KVStore reads. Every output
line is prefixed with its process (``[worker 1]``); worker ``i`` gets KVStore rank
``i`` (each worker is given a listening port, and the launcher orders the workers
as ps-lite ranks them: by host, then port). When any process fails (a non-zero exit,
or a signal) the others are stopped and the launcher exits non-zero naming it; so
does ``--timeout``.

Without ``--hostfile`` everything runs on 127.0.0.1. With it, the scheduler runs
here and the servers and workers run on the hosts of the file (one per line:
``host``, ``user@host``, ``host:SSH_PORT``, optionally followed by ``slots=N`` or
``N``, the number of workers it takes before the next host is used; ``#`` starts a
comment) through ``ssh HOST 'cd CWD; sh -c ...'``: the same working directory and
Python path on every host (a shared file system, or copies), as MXNet's launcher
assumes. The remote command ends its job when its ssh connection closes, so
stopping the launcher stops the remote processes too.

MXNet's own ``tools/launch.py`` (dmlc-tracker) sets the same variables, but it runs
processes from threads without output prefixes, retries failed workers, leaves the
others waiting when one dies, does not quote the command it sends over ssh, leaves
remote processes running when it stops, and relies on ``Thread.isAlive``, which
Python 3.9 removed. This launcher uses its hostfile format and its way of finding
this machine's address (``dmlc_tracker.tracker.get_host_ip``) and does the rest.
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, List, NamedTuple, Optional, Sequence

__all__ = ["main", "launch", "read_hostfile", "Host"]

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
        raise SystemExit(f"minpy.distributed.launch: port {port} on {host or 'this machine'} is "
                         f"not free ({e.strerror}); pick another --port or leave it out") from None
    finally:
        s.close()


class Host(NamedTuple):
    """One line of a hostfile: ``target`` for ssh (``user@host``), ``name`` the
    address the other processes reach it at, ``ssh_port`` (None: ssh's default) and
    ``slots`` (workers it takes before the next host is used)."""
    target: str
    name: str
    ssh_port: Optional[int]
    slots: int


_HOST_LINE = re.compile(r"^(?P<target>(?:[^\s@:]+@)?(?P<name>[^\s@:]+))(?::(?P<port>\d+))?"
                        r"(?:\s+(?:slots=)?(?P<slots>\d+))?$")


def read_hostfile(path: str) -> List[Host]:
    """Parse MXNet's (dmlc-tracker's) hostfile format: ``[user@]host[:ssh_port]
    [slots=N | N]`` one per line; blank lines and ``#`` comments are skipped."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise SystemExit(f"minpy.distributed.launch: cannot read the hostfile {path}: "
                         f"{e.strerror}") from None
    hosts = []
    for no, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        m = _HOST_LINE.match(text)
        if m is None or (m["slots"] is not None and int(m["slots"]) < 1):
            raise SystemExit(f"minpy.distributed.launch: {path}, line {no}: {line.strip()!r} is "
                             f"not '[user@]host[:ssh_port] [slots=N]' (N >= 1)")
        hosts.append(Host(m["target"], m["name"], int(m["port"]) if m["port"] else None,
                          int(m["slots"]) if m["slots"] else 1))
    if not hosts:
        raise SystemExit(f"minpy.distributed.launch: the hostfile {path} names no host")
    return hosts


def _is_loopback(name: str) -> bool:
    return name == "localhost" or name.startswith("127.") or name == "::1"


def _scheduler_address(hosts: Sequence[Host]) -> str:
    """This machine's address as the hosts reach it: 127.0.0.1 when every host is a
    loopback address, else what MXNet's launcher would pick."""
    if all(_is_loopback(h.name) for h in hosts):
        return _HOST
    try:
        from dmlc_tracker.tracker import get_host_ip
        return get_host_ip("auto")
    except Exception:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect(("10.255.255.255", 1))       # no packet is sent; picks the interface
            return s.getsockname()[0]
        finally:
            s.close()


def _pslite_order(a, b) -> int:
    """ps-lite's scheduler sorts the nodes with ``(a.hostname.compare(b.hostname) |
    (a.port < b.port)) > 0`` before giving ranks: host names descending (byte order),
    then ports ascending."""
    ha, hb = a[0].encode(), b[0].encode()
    if ha != hb:
        return -1 if ha > hb else 1
    return -1 if a[1] < b[1] else (1 if a[1] > b[1] else 0)


def _rank_order(places):
    """Indices of ``places`` ((host name, port) per worker) in KVStore rank order."""
    return sorted(range(len(places)), key=functools.cmp_to_key(
        lambda i, j: _pslite_order(places[i], places[j])))


# names forwarded to the remote processes when they are set here (MXNet's launcher
# forwards a similar list); --env adds more
_FORWARD = ("OMP_NUM_THREADS", "KMP_AFFINITY", "DMLC_INTERFACE", "PS_VERBOSE", "PYTHONPATH")
_FORWARD_PREFIXES = ("MXNET_", "MINPY_", "PS_")


def _remote_command(cwd: str, env: Dict[str, str], argv: Sequence[str]) -> str:
    """The command line ssh runs on a host (through the login shell there).

    The job runs in the background with the given variables; the foreground waits
    for it and exits with its status. A watcher reads the ssh session's standard
    input and sends the job SIGTERM at its end, which comes when the launcher closes
    it or the connection drops: stopping the launcher stops the remote job. Every
    piece is quoted with ``shlex.quote``, then the whole script once more for ``sh -c``.
    """
    assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    job = " ".join(shlex.quote(a) for a in argv)
    script = (f"cd {shlex.quote(cwd)} || exit 127\n"
              f"exec 3<&0\n"
              f"env {assigns} {job} </dev/null 3<&- &\n"
              f"pid=$!\n"
              f"{{ cat <&3; kill -TERM $pid; }} >/dev/null 2>&1 &\n"
              f"wait $pid\n")
    return "exec sh -c " + shlex.quote(script)


def _die_with_parent() -> None:
    """In the child (Linux): SIGKILL when the launcher dies, even by SIGKILL."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except Exception:
        pass


class _Proc:
    def __init__(self, label: str, cmd: Sequence[str], env: dict, out, lock,
                 host: Optional[str] = None) -> None:
        self.label = label
        self.host = host                   # None: runs here; else started through ssh
        self.p = subprocess.Popen(list(cmd), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL if host is None else subprocess.PIPE,
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
        where = "" if self.host is None else f" on {self.host}"
        if rc is not None and rc < 0:
            try:
                how = f"was killed by {signal.Signals(-rc).name}"
            except ValueError:
                how = f"was killed by signal {-rc}"
            if self.host is not None:
                how = f"(its ssh client) {how}"
        else:
            how = f"exited with code {rc}"
            if self.host is not None and rc == 255:
                how += " (ssh's own failure: the host could not be reached or logged into?)"
            elif self.host is not None and rc is not None and rc > 128:
                try:
                    how += f" (killed by {signal.Signals(rc - 128).name} there?)"
                except ValueError:
                    pass
        return f"{self.label}{where} (pid {self.p.pid}) {how}"

    def hang_up(self) -> None:
        """Close the ssh session's input: the remote job is stopped at its end."""
        if self.p.stdin is not None and not self.p.stdin.closed:
            try:
                self.p.stdin.close()
            except OSError:
                pass

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


def _forwarded(base: dict, names: Sequence[str]) -> Dict[str, str]:
    env = {k: v for k, v in base.items()
           if k in _FORWARD or k.startswith(_FORWARD_PREFIXES)}
    for item in names:
        k, eq, v = item.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise SystemExit(f"minpy.distributed.launch: --env {item!r}: not NAME or NAME=VALUE")
        if eq:
            env[k] = v
        elif k in base:
            env[k] = base[k]
    return env


def launch(command: Sequence[str], num_workers: int, num_servers: int = 1,
           timeout: Optional[float] = None, port: Optional[int] = None,
           env: Optional[dict] = None, grace: float = 10.0, out=None,
           hostfile: Optional[str] = None, host_ip: Optional[str] = None,
           ssh: str = "ssh", pass_env: Sequence[str] = ()) -> int:
    """Run the job; returns 0 when every worker exited 0, else non-zero (124 on timeout).

    ``hostfile``: run servers and workers on its hosts through ``ssh`` (a command
    line, split like a shell would); ``host_ip``: the scheduler's address as they
    reach this machine (default: found); ``pass_env``: more ``NAME`` or
    ``NAME=VALUE`` for the remote processes.
    """
    if num_workers < 1 or num_servers < 1:
        raise SystemExit("minpy.distributed.launch: -n and -s must be at least 1")
    command = list(command)
    if not command:
        raise SystemExit("minpy.distributed.launch: no script given")
    if command[0].endswith(".py"):
        command = [sys.executable, "-u"] + command
    hosts = read_hostfile(hostfile) if hostfile is not None else None
    out = out if out is not None else sys.stdout.buffer
    lock = threading.Lock()
    root = host_ip or (_scheduler_address(hosts) if hosts else _HOST)
    ports = _free_ports(num_workers + num_servers + (port is None))
    if port is None:
        port, ports = ports[-1], ports[:-1]
    else:
        # with hosts, root may be an address this machine is reached by but does not hold
        _check_port(port, root if hosts is None else "")
    base = dict(os.environ if env is None else env)
    job = {"DMLC_PS_ROOT_URI": root, "DMLC_PS_ROOT_PORT": str(port),
           "DMLC_NUM_WORKER": str(num_workers), "DMLC_NUM_SERVER": str(num_servers),
           "PYTHONUNBUFFERED": "1"}
    server_cmd = [sys.executable, "-c", "import mxnet"]
    # where each process runs: (host or None, its address, its PORT)
    if hosts is None:
        w_places = [(None, _HOST, ports[i]) for i in range(num_workers)]
        s_places = [(None, _HOST, ports[num_workers + j]) for j in range(num_servers)]
    else:
        slots = [h for h in hosts for _ in range(h.slots)]
        w_places = [(slots[i % len(slots)], slots[i % len(slots)].name, ports[i])
                    for i in range(num_workers)]
        s_places = [(hosts[j % len(hosts)], hosts[j % len(hosts)].name, ports[num_workers + j])
                    for j in range(num_servers)]
        # label the workers as ps-lite will rank them
        w_places = [w_places[i] for i in _rank_order([(w[1], w[2]) for w in w_places])]
        remote_env = _forwarded(base, pass_env)
        ssh_argv = shlex.split(ssh) + ["-o", "BatchMode=yes"]
        cwd = os.getcwd()
    procs: List[_Proc] = []
    workers: List[_Proc] = []

    def start(label, cmd, role, place, extra):
        host, addr, p = place
        vars_ = dict(job, DMLC_ROLE=role, DMLC_NODE_HOST=addr, **extra)
        if p is not None:
            vars_["PORT"] = str(p)
        if host is None:
            proc = _Proc(label, cmd, dict(base, **vars_), out, lock)
        else:
            argv = ssh_argv + (["-p", str(host.ssh_port)] if host.ssh_port else []) + \
                [host.target, _remote_command(cwd, dict(remote_env, **vars_), cmd)]
            proc = _Proc(label, argv, dict(base), out, lock, host=host.target)
        procs.append(proc)
        return proc

    status = 0
    t0 = time.monotonic()
    try:
        start("scheduler", server_cmd, "scheduler", (None, root, None), {})
        for i, place in enumerate(s_places):
            start(f"server {i}", server_cmd, "server", place, {})
        for i, place in enumerate(w_places):
            workers.append(start(f"worker {i}", command, "worker", place,
                                 {"DMLC_TASK_ID": str(i)}))
        if hosts is not None:
            _say(f"scheduler at {root}:{port}; " + ", ".join(
                f"{p.label} on {p.host}" for p in procs[1:]), out, lock)
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
            p.hang_up()
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
        description="Run a MinPy data-parallel job (scheduler, servers, workers) on this "
                    "machine or, with --hostfile, on several over ssh.")
    ap.add_argument("-n", "--num-workers", type=int, required=True, help="worker processes")
    ap.add_argument("-s", "--num-servers", type=int, default=1, help="server processes (default 1)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="stop every process after this many seconds (exit code 124)")
    ap.add_argument("--port", type=int, default=None,
                    help="the scheduler's port (default: a free one)")
    ap.add_argument("-H", "--hostfile", default=None,
                    help="run servers and workers on these hosts over ssh: one per line, "
                         "[user@]host[:ssh_port] [slots=N]")
    ap.add_argument("--host-ip", default=None,
                    help="with --hostfile: this machine's address as the hosts reach it "
                         "(the scheduler runs here; default: found)")
    ap.add_argument("--ssh", default="ssh", help="with --hostfile: the ssh command (default ssh)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                    help="with --hostfile: pass this variable to the remote processes "
                         "(repeatable; MXNET_*, MINPY_*, PS_*, DMLC_INTERFACE, OMP_NUM_THREADS and "
                         "PYTHONPATH are passed anyway)")
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="script.py and its arguments (or any command)")
    args = ap.parse_args(argv)
    if not args.command:
        ap.error("no script given")
    def on_term(signum, frame):
        raise KeyboardInterrupt          # stop every process, as for Ctrl-C

    signal.signal(signal.SIGTERM, on_term)
    return launch(args.command, args.num_workers, args.num_servers, timeout=args.timeout,
                  port=args.port, hostfile=args.hostfile, host_ip=args.host_ip,
                  ssh=args.ssh, pass_env=args.env)


if __name__ == "__main__":
    sys.exit(main())
