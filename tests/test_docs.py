"""The user guide stays true: function list complete, examples run, mkdocs builds."""
import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

from minpy.dispatch.registry import mxnet_functions

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_every_mxnet_function_is_listed():
    page = (DOCS / "mxnet-functions.md").read_text()
    listed = set(re.findall(r"`([\w.]+)`", page))
    missing = [n for n in mxnet_functions() if n not in listed]
    assert not missing, (f"{missing} missing from docs/mxnet-functions.md; "
                         f"rerun: python docs/gen_function_list.py > docs/mxnet-functions.md")


def test_generator_runs_and_covers_registry():
    r = subprocess.run([sys.executable, str(DOCS / "gen_function_list.py")],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("# Functions on the MXNet path")
    for n in mxnet_functions():
        assert f"`{n}`" in r.stdout
    # the measured known-gaps section of the committed page is today's
    page = (DOCS / "mxnet-functions.md").read_text()
    gaps = lambda text: text[text.index("## Known gaps"):].strip()  # noqa: E731
    assert gaps(page) == gaps(r.stdout), \
        "rerun: python docs/gen_function_list.py > docs/mxnet-functions.md"


def _python_blocks(page: str) -> str:
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, page
    return "\n".join(blocks)


@pytest.mark.parametrize("page", ["getting-started.md", "differences.md", "lazy.md", "autograd.md",
                                  "jit.md"])
def test_examples_run(page):
    code = _python_blocks(page)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, f"examples in docs/{page} failed:\n{r.stderr[-3000:]}"


def test_getting_started_outputs():
    code = _python_blocks("getting-started.md")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    out = r.stdout
    for expected in ("Array (2, 2) float32", "(2, 1)", "float32\nfloat32\nfloat32\nint64\nbool\nint64",
                     "<OnlyNumPyPolicy>", "minpy.numpy.logaddexp", "cpu(1)", "'median': {'mxnet': 0, 'numpy': 1}"):
        assert expected in out, (expected, out)


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed")
def test_mkdocs_build_strict(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                        "--site-dir", str(tmp_path / "site")],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
