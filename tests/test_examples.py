"""The examples in examples/ run to the end and learn (each is a separate process)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# example -> (the line that reports accuracy, the least accuracy it must reach)
EXAMPLES = {
    "logistic_regression.py": (r"test accuracy ([0-9.]+)", 0.9),
    "mlp_digits.py": (r"test accuracy ([0-9.]+)", 0.95),
    "cnn_digits.py": (r"test accuracy ([0-9.]+)", 0.95),
    "rnn_sequence.py": (r"next-character accuracy ([0-9.]+)", 0.7),
    "distributed_mlp.py": (r"test accuracy ([0-9.]+)", 0.95),   # one process, KVStore 'local'
}


def test_every_example_is_covered():
    found = {p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_")}
    assert found == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs_and_learns(name):
    env = dict(os.environ, MINPY_JIT_PROFILE="none")
    r = subprocess.run([sys.executable, str(ROOT / "examples" / name)], capture_output=True,
                       text=True, timeout=600, cwd=ROOT, env=env)
    assert r.returncode == 0, f"examples/{name} failed:\n{r.stderr[-3000:]}"
    pattern, least = EXAMPLES[name]
    m = re.search(pattern, r.stdout)
    assert m, f"examples/{name} printed no accuracy:\n{r.stdout[-2000:]}"
    assert float(m.group(1)) >= least, m.group(0)
