"""docs/tutorial.md and docs/cs231n.md: their examples run and print what they claim."""
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_page(page):
    text = (ROOT / "docs" / page).read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    assert code, page
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    assert r.returncode == 0, f"examples in docs/{page} failed:\n{r.stderr[-3000:]}"
    return r.stdout


@pytest.mark.parametrize("page,claims", [("tutorial.md", 3), ("cs231n.md", 4)])
def test_page_examples_run_and_claims_hold(page, claims):
    out = run_page(page)
    assert "False" not in out, out
    assert out.count("True") == claims, out
