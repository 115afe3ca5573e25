"""Install metadata and import behaviour a new user meets first."""
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_requires_python_is_311_only():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["requires-python"] == ">=3.11,<3.12"
    assert meta["build-system"]["build-backend"] == "backend"
    assert meta["build-system"]["backend-path"] == ["minpy/_build"]


def test_build_backend_refuses_other_pythons_in_one_line():
    sys.path.insert(0, str(ROOT / "minpy" / "_build"))
    try:
        import backend
    finally:
        sys.path.pop(0)
    backend.check_python((3, 11))
    with pytest.raises(SystemExit) as err:
        backend.check_python((3, 12))
    msg = str(err.value)
    assert "\n" not in msg
    assert "needs Python 3.11 (this is Python 3.12)" in msg
    assert "numpy<1.24" in msg


def test_import_shows_no_mxnet_deprecation_warnings_and_keeps_user_filters():
    code = textwrap.dedent("""
        import warnings
        before = list(warnings.filters)
        import minpy.numpy as np
        print(float((np.ones(3) + 1).sum()))
        assert warnings.filters == before, "minpy changed the process-wide warning filters"
    """)
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "6.0"
    assert "DeprecationWarning" not in out.stderr


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    command = "pip install '.[test]' && python -m pytest -n auto"
    assert command in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install '.[test]'" in ci and ci.rstrip().endswith("python -m pytest -n auto")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "pytest-xdist" in meta["project"]["optional-dependencies"]["test"]
