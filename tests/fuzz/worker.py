"""A worker process: runs a batch of programs in one mode and writes one JSON line per
program. ``python -m tests.fuzz.worker JOB.json``; the parent watches the progress
file to find the program that was running if this process dies or hangs."""
from __future__ import annotations

import json
import os
import sys
import traceback
import warnings


def _clean(f: dict) -> dict:
    return {k: v for k, v in f.items() if not k.startswith("_")}


def main(job_path: str) -> None:
    os.environ.setdefault("MINPY_JIT_PROFILE", "none")
    warnings.simplefilter("ignore")
    with open(job_path) as fh:
        job = json.load(fh)
    import minpy  # noqa: F401  (import before timing anything)
    nb = os.environ.get("MINPY_FUZZ_NATIVE_BACKWARD")
    if nb:       # "always": MXNet runs every backward pass it can (two-phase graphs)
        minpy.jit.config.native_backward = nb
    if os.environ.get("MINPY_FUZZ_PLANT"):
        from .plant import plant
        plant(os.environ["MINPY_FUZZ_PLANT"])
    from .execute import RUNNERS, Progress
    from .gen import generate
    from .shrink import reproduce
    from . import grad as gradfuzz
    known = set(job.get("shrunk", []))
    mode = job["mode"]
    with open(job["progress"], "a") as pfh, open(job["out"], "a") as ofh:
        progress = Progress(pfh)
        for idx in job["indices"]:
            progress(f"P {idx}")
            try:
                if job.get("grad"):
                    prog = gradfuzz.generate(job["seed"], idx)
                    fails = gradfuzz.run(prog, mode, progress)
                else:
                    prog = generate(job["seed"], idx)
                    fails = RUNNERS[mode](prog, progress, job["seed"])
            except Exception:     # noqa: BLE001 - a bug of the fuzzer, not of MinPy
                ofh.write(json.dumps({"index": idx, "mode": mode, "calls": 0, "fails": [],
                                      "fuzzer_error": traceback.format_exc()[-2000:]}) + "\n")
                ofh.flush()
                continue
            progress(f"R {idx}")
            out = []
            for f in fails[:8]:
                if job.get("no_shrink"):
                    out.append(_clean(f))
                    continue
                if job.get("grad"):
                    # gradient failures learn their operation only by shrinking
                    try:
                        f.update(gradfuzz.reproduce(f, prog, mode))
                    except Exception as e:    # noqa: BLE001
                        f["repro_error"] = repr(e)[:200]
                elif f["kind"] not in ("crash", "hang"):
                    try:
                        f.update(reproduce(f, prog, f.get("_pnp")))
                    except Exception as e:    # noqa: BLE001
                        f["repro_error"] = repr(e)[:200]
                    if f.get("minimal") == "program" and f.get("step", -1) >= 0 \
                            and not f["label"].startswith("error of"):
                        # neither the call alone nor with what it depends on fails: the
                        # value was spoiled by another call (a failure leaking into its
                        # graph) -- one bucket, whatever the victim was
                        f["detail"] = f"at {f['label']} ({f['dtypes']}): {f['detail']}"
                        f["label"], f["dtypes"] = "in context", ""
                sig = f"{f['kind']}|{f['label']}|{f['dtypes']}"
                if sig in known:
                    f.pop("repro", None)
                elif "repro" in f:
                    known.add(sig)
                out.append(_clean(f))
            ofh.write(json.dumps({"index": idx, "mode": mode, "fails": out,
                                  "calls": sum(1 for s in prog["steps"] if s["k"] != "input")})
                      + "\n")
            ofh.flush()
            progress(f"D {idx}")


if __name__ == "__main__":
    main(sys.argv[1])
