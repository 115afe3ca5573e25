"""``python -m tests.fuzz --minutes N [--modes eager,lazy,jit] [--seed S] [--grad]
[--out report.json] [--md report.md]``"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from .driver import MODES, ROOT, fuzz
from .report import markdown


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    ap.add_argument("--minutes", type=float, default=None, help="time budget (all modes)")
    ap.add_argument("--programs", type=int, default=None,
                    help="a fixed number of programs per mode instead of a time budget")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grad", action="store_true", help="also fuzz gradients")
    ap.add_argument("--grad-programs", type=int, default=None)
    ap.add_argument("--batch", type=int, default=40, help="programs per worker process")
    ap.add_argument("--hang", type=float, default=60.0, help="seconds before a program hangs")
    ap.add_argument("--no-shrink", action="store_true", help="skip reproducer shrinking")
    ap.add_argument("--out", default=None, help="write the JSON report here")
    ap.add_argument("--md", default=None, help="write the Markdown report here")
    ap.add_argument("--top", type=int, default=60,
                    help="buckets shown with reproducers in the Markdown report")
    a = ap.parse_args(argv)
    if a.minutes is None and a.programs is None:
        a.minutes = 1.0
    modes = tuple(m for m in a.modes.split(",") if m)
    for m in modes:
        if m not in MODES:
            ap.error(f"unknown mode {m!r}")
    rep = fuzz(minutes=a.minutes, programs=a.programs, modes=modes, seed=a.seed, grad=a.grad,
               batch=a.batch, hang_s=a.hang, no_shrink=a.no_shrink,
               grad_programs=a.grad_programs,
               log=lambda s: print(s, file=sys.stderr, flush=True))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    rep["commit"] = commit
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(rep, fh, indent=1)
    if a.md:
        with open(a.md, "w") as fh:
            fh.write(markdown(rep, commit, a.top))
    for mode, c in rep["counts"].items():
        print(f"{mode:12s} " + " ".join(f"{k}={v}" for k, v in c.items()))
    for b in rep["buckets"][:15]:
        print(f"{b['count']:5d}  {b['signature']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
