"""The examples on docs/coming-from-minpy-0.3.md run."""
import pathlib
import re
import subprocess
import sys
import os

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_coming_from_minpy_03_examples_run(tmp_path):
    page = (ROOT / "docs" / "coming-from-minpy-0.3.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", page, re.S))
    assert code
    script = tmp_path / "page.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


def test_page_is_in_the_nav():
    assert "coming-from-minpy-0.3.md" in (ROOT / "mkdocs.yml").read_text()
