"""Run MinPy 0.3.4's documented snippets against this MinPy and count what runs.

Not a pytest module (it needs a checkout of the original): ::

    git clone https://github.com/dmlc/minpy /tmp/minpy03 && git -C /tmp/minpy03 checkout v0.3.4
    PYTHONPATH=. python tests/compat/audit_minpy03.py /tmp/minpy03

Snippets: README code blocks, literal and code blocks of the docs' ``.rst`` pages,
notebook code cells, the scripts under ``docs/`` and ``examples/{basics,nn,profile}``.
Each document runs in a fresh process, its snippets in one namespace in order (as a
notebook runs), each stopped after ``--limit`` seconds. Python 2 statements are
converted with lib2to3 first; fragments of ``docs/`` (excerpts a page includes) get
the imports their page shows. The examples' ``utils/data_utils.py`` imports ``six``
(have it importable). A JSON line per snippet is written to ``--out``; the
summary counts statuses. The write-up of the last run is in
docs/coming-from-minpy-0.3.md.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import glob
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import traceback
import warnings

_PRELUDE = """
import numpy as onp
import mxnet as mx
import minpy
import minpy.numpy as np
from minpy.core import grad, grad_and_loss, Function
from minpy.nn import layers
from minpy.nn.model import ModelBase
from minpy.nn.solver import Solver
from minpy.nn.io import NDArrayIter
import minpy.nn.model_builder as builder
from minpy.primitive import customop
"""

_SHELL = ("sudo", "brew", "export", "pip", "mkvirtualenv", "workon", "docker", "nvidia-docker",
          "git", "cd ", "make", "python ")


def _rst_blocks(text: str):
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*\.\. code-block::\s*(\w*)", line)
        literal = line.rstrip().endswith("::") and not line.strip().startswith("..")
        if not (m or literal):
            i += 1
            continue
        lang = m.group(1) if m else "literal"
        indent = len(line) - len(line.lstrip())
        i += 1
        while i < len(lines) and lines[i].strip().startswith(":"):
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(body)).strip("\n")
        if code and lang not in ("bash", "shell", "sh", "console", "text", "none"):
            yield code


def extract(root: str) -> list:
    """[{'group': document, 'id': 'document#k', 'code': ...}] in document order."""
    out = []

    def add(group, code):
        k = sum(1 for o in out if o["group"] == group)
        out.append({"group": group, "id": f"{group}#{k}", "code": code})

    for m in re.finditer(r"```python\n(.*?)```", open(os.path.join(root, "README.md")).read(), re.S):
        add("README.md", m.group(1))
    for path in sorted(glob.glob(f"{root}/docs/**/*.rst", recursive=True)):
        rel = os.path.relpath(path, root)
        if not rel.startswith("docs/api/"):
            for code in _rst_blocks(open(path).read()):
                add(rel, code)
    for path in sorted(glob.glob(f"{root}/**/*.ipynb", recursive=True)):
        try:
            nb = json.load(open(path))
        except ValueError:
            continue            # a symbolic link stored as text: the notebook is elsewhere
        rel = os.path.relpath(path, root)
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "code" and src.strip():
                add(rel, src)
    for pattern in ("docs/**/*.py", "examples/basics/*.py", "examples/nn/*.py", "examples/profile/*.py"):
        for path in sorted(glob.glob(f"{root}/{pattern}", recursive=True)):
            rel = os.path.relpath(path, root)
            if rel != "docs/conf.py":
                add(rel, open(path).read())
    return out


def _python3(code: str) -> str:
    try:
        compile(code, "snippet", "exec")
        return code
    except SyntaxError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lib2to3 import refactor
        names = ("print", "xrange", "dict", "except", "has_key", "raise", "ne", "exec",
                 "raw_input", "basestring", "itertools")
        tool = refactor.RefactoringTool([f"lib2to3.fixes.fix_{n}" for n in names])
        try:
            return str(tool.refactor_string(code.rstrip("\n") + "\n", "snippet"))
        except Exception:
            return code


class _Timeout(Exception):
    pass


def run_group(root: str, snippets: list, limit: int) -> None:
    """Run one document's snippets in this process, printing a JSON line each."""
    group = snippets[0]["group"]
    where = os.path.dirname(os.path.join(root, group))
    sys.path[:0] = [where, root]
    os.chdir(where)
    import builtins
    builtins.xrange = range                        # Python 2's name in notebook cells
    import matplotlib
    matplotlib.use("Agg")
    import scipy.misc
    for name in ("imread", "imresize"):     # gone from SciPy; the examples load data with them
        if not hasattr(scipy.misc, name):
            setattr(scipy.misc, name, None)

    def alarm(*_):
        raise _Timeout()
    signal.signal(signal.SIGALRM, alarm)
    ns = {"__name__": "__main__"}
    sys.argv = [os.path.join(root, group)]
    if group.startswith("docs/") and not group.endswith(".ipynb"):
        exec(_PRELUDE, ns)
    for s in snippets:
        code = "\n".join(l for l in s["code"].split("\n") if not l.lstrip().startswith(("%", "!")))
        code = _python3(code)
        rec = {"id": s["id"]}
        first = code.strip().split("\n")[0]
        try:
            compiled = compile(code, s["id"], "exec")
        except SyntaxError as e:
            shell = first.lstrip("$ ").startswith(_SHELL)
            rec.update(status="shell" if shell else "syntax", error=f"SyntaxError: {e.msg}")
            print(json.dumps(rec), flush=True)
            continue
        signal.alarm(limit)
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compiled, ns)
            rec["status"] = "ok"
        except _Timeout:
            rec["status"] = "timeout"
        except SystemExit as e:
            rec.update(status="exit", error=f"SystemExit({e.code})")
        except BaseException as e:     # noqa: BLE001 - a snippet may raise anything
            rec.update(status="error", error=f"{type(e).__name__}: {str(e)[:300]}",
                       where=[f"{f.filename}:{f.lineno}" for f in traceback.extract_tb(e.__traceback__)][-3:])
        finally:
            signal.alarm(0)
        print(json.dumps(rec), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", help="a checkout of dmlc/minpy at v0.3.4")
    ap.add_argument("--limit", type=int, default=60, help="seconds per snippet")
    ap.add_argument("--out", default="minpy03-snippets.jsonl")
    ap.add_argument("--group", help=argparse.SUPPRESS)
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    snippets = extract(root)
    if args.group:
        run_group(root, [s for s in snippets if s["group"] == args.group], args.limit)
        return
    groups = list(dict.fromkeys(s["group"] for s in snippets))
    counts = collections.Counter()
    with open(args.out, "w") as out:
        for g in groups:
            r = subprocess.run([sys.executable, os.path.abspath(__file__), root, "--group", g,
                                "--limit", str(args.limit)], capture_output=True, text=True,
                               timeout=args.limit * 40 + 120)
            lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
            for l in lines:
                out.write(l + "\n")
                counts[json.loads(l)["status"]] += 1
            if not lines:
                counts["crash"] += 1
    print(f"{len(snippets)} snippets:", dict(counts))


if __name__ == "__main__":
    main()
