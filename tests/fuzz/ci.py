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
                grad_programs=GRAD_PROGRAMS, log=log)


def compare(rep: dict, known: dict, unstable: dict = {}) -> tuple[list[dict], list[str]]:
    """(buckets not in ``known``, known signatures the run did not see). Failures of the
    programs listed in ``unstable`` (whose results vary from run to run) are ignored."""
    seen: set = set()
    for prog, sigs in rep["programs"].items():
        if prog not in unstable:
            seen.update(sigs)
    new = [b for b in rep["buckets"] if b["signature"] in seen and b["signature"] not in known]
    gone = sorted(s for s in known if s not in seen)
    return new, gone


def recheck(new: list[dict], tries: int = 2) -> tuple[list[dict], list[dict]]:
    """Run the programs behind ``new`` buckets again: (buckets seen again, buckets that
    did not come back -- results that vary from run to run)."""
    import tempfile
    from pathlib import Path
    from .driver import _run_batch, signature
    again, flaky = [], []
    tmp = Path(tempfile.mkdtemp(prefix="minpy-fuzz-recheck-"))
    for b in new:
        seen = False
        for key, idx, _ in b["programs"][:2]:
            mode, _, g = key.partition(" ")
            for _ in range(tries):
                res, _ = _run_batch(mode, SEED, [idx], g == "grad", tmp, set(), 60.0, False,
                                    None)
                if any(signature(f) == b["signature"] for r in res for f in r["fails"]):
                    seen = True
                    break
            if seen:
                break
        (again if seen else flaky).append(b)
    return again, flaky


def write_known(reps: list[dict], known: dict, old_unstable: dict) -> None:
    """Rewrite known_failures.py from several runs of the same budget: programs whose
    failures differ between runs are unstable; the rest give the known signatures."""
    progs = set()
    for r in reps:
        progs |= set(r["programs"])
    unstable = {}
    for p in sorted(progs):
        sets = {tuple(r["programs"].get(p, ())) for r in reps}
        if len(sets) > 1 or p in old_unstable:
            unstable[p] = old_unstable.get(p) or \
                "failures vary between runs (uninitialised or poisoned values, issue 12 bug 2/3)"
    details = {}
    for r in reps:
        for b in r["buckets"]:
            details.setdefault(b["signature"], b["detail"])
    sigs = set()
    for r in reps:
        for p, ss in r["programs"].items():
            if p not in unstable:
                sigs.update(ss)
    text = ['"""Open bugs the CI fuzz budget (tests/fuzz/ci.py) hits.',
            "",
            "KNOWN: bucket signature -> one-line reason. tests/test_fuzz.py fails on any",
            "failure whose signature is not listed, and reports (fails with",
            "MINPY_FUZZ_STRICT=1) listed signatures that no longer occur, so the list only",
            "shrinks as bugs get fixed. UNSTABLE: programs (mode:index) whose failures vary",
            "from run to run (values read from uninitialised or poisoned buffers); their",
            "failures are not judged against KNOWN. Regenerate both with",
            "``python -m tests.fuzz.ci --runs 3 --write`` (reasons already here are kept).",
            '"""', "", "KNOWN: dict[str, str] = {"]
    for s in sorted(sigs):
        reason = known.get(s) or details.get(s, "").replace("\n", " ")[:110]
        text += [f"    {s!r}:", f"        {reason!r},"]
    text += ["}", "", "UNSTABLE: dict[str, str] = {"]
    for p, reason in unstable.items():
        text.append(f"    {p!r}: {reason!r},")
    text.append("}")
    KNOWN_PATH.write_text("\n".join(text) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.ci")
    ap.add_argument("--write", action="store_true", help="rewrite known_failures.py")
    ap.add_argument("--runs", type=int, default=1, help="runs (to find unstable programs)")
    ap.add_argument("--out", default=None, help="the last run's JSON report")
    ap.add_argument("--md", default=None, help="the last run's Markdown report")
    a = ap.parse_args(argv)
    from .known_failures import KNOWN, UNSTABLE
    reps = []
    for _ in range(a.runs):
        rep = run(log=lambda s: print(s, file=sys.stderr, flush=True))
        reps.append(rep)
        new, gone = compare(rep, KNOWN, UNSTABLE)
        pprint.pprint(rep["counts"])
        print(f"{len(new)} new signatures, {len(gone)} known signatures not seen")
        for b in new:
            print("NEW ", b["signature"], b["programs"][:2], b["detail"][:120])
        for s in gone:
            print("GONE", s)
    if a.out:
        import json
        with open(a.out, "w") as fh:
            json.dump(reps[-1], fh, indent=1)
    if a.md:
        from .report import markdown
        with open(a.md, "w") as fh:
            fh.write(markdown(reps[-1]))
    if a.write:
        write_known(reps, KNOWN, UNSTABLE)
        print(f"wrote {KNOWN_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
