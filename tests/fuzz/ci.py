"""The fixed fuzzing budget tests/test_fuzz.py runs, and the tool that rewrites
known_failures.py from a run of it.

``python -m tests.fuzz.ci`` runs the CI budget and prints new and no-longer-seen
signatures; ``python -m tests.fuzz.ci --write`` rewrites known_failures.py with exactly
the signatures the run saw (reasons already in the file are kept, new ones get the
first failure's detail).
"""
from __future__ import annotations

import argparse
import pprint
import sys
from pathlib import Path

from .driver import MODES, fuzz

SEED = 12
PROGRAMS = 150          # per mode
GRAD_PROGRAMS = 30      # per mode
KNOWN_PATH = Path(__file__).with_name("known_failures.py")


def run(log=None) -> dict:
    return fuzz(programs=PROGRAMS, modes=MODES, seed=SEED, grad=True,
                grad_programs=GRAD_PROGRAMS, no_shrink=True, log=log)


def compare(rep: dict, known: dict) -> tuple[list[dict], list[str]]:
    """(buckets not in ``known``, known signatures the run did not see)."""
    seen = {b["signature"] for b in rep["buckets"]}
    new = [b for b in rep["buckets"] if b["signature"] not in known]
    gone = sorted(s for s in known if s not in seen)
    return new, gone


def write_known(rep: dict, known: dict) -> None:
    entries = {}
    for b in sorted(rep["buckets"], key=lambda b: b["signature"]):
        reason = known.get(b["signature"]) or b["detail"].replace("\n", " ")[:110]
        entries[b["signature"]] = reason
    text = ['"""Open bugs the CI fuzz budget (tests/fuzz/ci.py) hits: bucket signature ->',
            'one-line reason. tests/test_fuzz.py fails on any signature not listed here, and',
            'reports (fails with MINPY_FUZZ_STRICT=1) listed signatures that no longer occur,',
            'so this list only shrinks as bugs get fixed. Regenerate with',
            '``python -m tests.fuzz.ci --write`` (reasons already here are kept)."""',
            "", "KNOWN: dict[str, str] = {"]
    for s, r in entries.items():
        text.append(f"    {s!r}:")
        text.append(f"        {r!r},")
    text.append("}")
    KNOWN_PATH.write_text("\n".join(text) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.ci")
    ap.add_argument("--write", action="store_true", help="rewrite known_failures.py")
    a = ap.parse_args(argv)
    from .known_failures import KNOWN
    rep = run(log=lambda s: print(s, file=sys.stderr, flush=True))
    new, gone = compare(rep, KNOWN)
    pprint.pprint(rep["counts"])
    print(f"{len(new)} new signatures, {len(gone)} known signatures not seen")
    for b in new:
        print("NEW ", b["signature"], b["programs"][:2], b["detail"][:120])
    for s in gone:
        print("GONE", s)
    if a.write:
        write_known(rep, KNOWN)
        print(f"wrote {KNOWN_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
