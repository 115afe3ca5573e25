"""python -m minpy.jit.tune writes a profile; import minpy.jit loads it safely."""
import json
import os
import subprocess
import sys
import warnings

import pytest

import minpy.jit

from minpy.jit import tune
from minpy.jit.config import JitConfig, load_profile, profile_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write(path, settings):
    path.write_text(json.dumps({"format": "minpy-jit-profile", "version": 1, "config": settings}))
    return path


def test_sweep_writes_profile_that_loads(tmp_path, monkeypatch):
    out = tmp_path / "p.json"
    monkeypatch.setenv("MINPY_JIT_PROFILE", str(out))
    sweeps = {"vehicle": (["executor", "cachedop"], [tune.chain_lazy]),
              "max_pending": ([5000, 500], [lambda: tune.loop_lazy(50)])}
    before = dict(vars(minpy.jit.config))
    prof = tune.tune(sweeps=sweeps, rounds=1, progress=False)
    assert vars(minpy.jit.config) == before            # the sweep restores the settings
    assert prof["path"] == str(out)
    data = json.loads(out.read_text())
    assert set(data["config"]) == {"vehicle", "max_pending"}
    assert set(data["measurements"]["vehicle"]["chain_lazy"]) == {"executor", "cachedop"}
    assert data["machine"]["cpus"] == os.cpu_count()
    target = JitConfig()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_profile(target=target) == data["config"]
    assert target.vehicle == data["config"]["vehicle"]


def test_loading_applies_values(tmp_path):
    p = _write(tmp_path / "p.json", {"vehicle": "cachedop", "batch_min_group": 8,
                                     "pack_outputs": False, "max_pending": 500})
    target = JitConfig()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_profile(p, target=target)
    assert (target.vehicle, target.batch_min_group, target.pack_outputs, target.max_pending) == \
        ("cachedop", 8, False, 500)
    assert target.cse is True


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps([1, 2]),
    json.dumps({"config": {"max_pending": "500"}}),
    json.dumps({"config": {"pack_outputs": 1}}),
    json.dumps({"config": {"batch_min_group": True}}),
    json.dumps({"config": {"batch_min_group": 0}}),
    json.dumps({"config": {"vehicle": "gpu", "max_pending": 500}}),
])
def test_corrupt_profile_warns_and_keeps_defaults(tmp_path, content):
    p = tmp_path / "bad.json"
    p.write_text(content)
    target = JitConfig()
    with pytest.warns(RuntimeWarning, match="bad.json") as rec:
        assert load_profile(p, target=target) == {}
    assert len(rec) == 1
    assert vars(target) == vars(JitConfig())


def test_unknown_keys_ignored_with_warning(tmp_path):
    p = _write(tmp_path / "p.json", {"turbo": True, "max_pending": 500})
    target = JitConfig()
    with pytest.warns(RuntimeWarning, match="turbo"):
        load_profile(p, target=target)
    assert target.max_pending == 500 and not hasattr(target, "turbo")


def test_missing_file_is_silent(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_profile(tmp_path / "absent.json", target=JitConfig()) == {}


def test_env_none_skips_loading(tmp_path, monkeypatch):
    monkeypatch.setenv("MINPY_JIT_PROFILE", "none")
    assert profile_path() is None
    assert load_profile(target=JitConfig()) == {}
    monkeypatch.setenv("MINPY_JIT_PROFILE", str(tmp_path / "x.json"))
    assert profile_path() == str(tmp_path / "x.json")
    monkeypatch.delenv("MINPY_JIT_PROFILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert profile_path() == str(tmp_path / "minpy" / "jit_profile.json")


def test_import_loads_profile(tmp_path):
    p = _write(tmp_path / "p.json", {"max_pending": 777})
    code = "import minpy.jit; print(minpy.jit.config.max_pending)"
    env = dict(os.environ, MINPY_JIT_PROFILE=str(p))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, cwd=ROOT, env=env)
    assert r.returncode == 0 and r.stdout.split()[-1] == "777", r.stderr[-2000:]
    env["MINPY_JIT_PROFILE"] = "none"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, cwd=ROOT, env=env)
    assert r.returncode == 0 and r.stdout.split()[-1] == "5000", r.stderr[-2000:]


def test_quick_command_writes_valid_profile(tmp_path):
    out = tmp_path / "prof.json"
    env = dict(os.environ, MINPY_JIT_PROFILE="none")
    r = subprocess.run([sys.executable, "-m", "minpy.jit.tune", "--quick", "--output", str(out)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "wrote" in r.stdout
    data = json.loads(out.read_text())
    assert set(data["config"]) == set(tune.SWEEPS)
    target = JitConfig()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_profile(out, target=target) == data["config"]
