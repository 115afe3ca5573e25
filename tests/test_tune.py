"""python -m minpy.jit.tune writes a profile; import minpy.jit loads it safely."""
import json
import os
import subprocess
import sys
import warnings

import pytest

import minpy.jit

from minpy.jit import tune
from minpy import _profile
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
    prof = tune.tune(sweeps=sweeps, rounds=1, progress=False, engine=False)
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
                       capture_output=True, text=True, timeout=400, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "wrote" in r.stdout
    data = json.loads(out.read_text())
    assert set(data["config"]) == set(tune.SWEEPS)
    assert data["engine"] in ("naive", "threaded")
    assert set(data["measurements"]["engine"]) == {w.__name__ for w in tune.ENGINE_WORKLOADS} | \
        {"relative"}
    target = JitConfig()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_profile(out, target=target) == data["config"]


# -- MXNet's engine ------------------------------------------------------------------------

def _choose(tmp_path, **env):
    env.setdefault("MINPY_JIT_PROFILE", str(tmp_path / "absent.json"))
    environ = dict(env)
    info, problems = _profile.choose_engine(environ, mxnet_imported=False)
    return info, problems, environ.get("MXNET_ENGINE_TYPE")


def test_engine_default_is_mxnets_and_sets_nothing(tmp_path):
    info, problems, set_to = _choose(tmp_path)
    assert (info.kind, info.name, info.source, problems, set_to) == \
        ("threaded", "ThreadedEnginePerDevice", "default", [], None)


def test_minpy_engine_sets_the_naive_engine_only(tmp_path):
    info, problems, set_to = _choose(tmp_path, MINPY_ENGINE="naive")
    assert (info.kind, info.source, problems, set_to) == ("naive", "MINPY_ENGINE", [], "NaiveEngine")
    info, problems, set_to = _choose(tmp_path, MINPY_ENGINE="Threaded")
    assert (info.kind, info.source, problems, set_to) == ("threaded", "MINPY_ENGINE", [], None)


def test_users_mxnet_engine_type_is_never_overridden(tmp_path):
    p = _write(tmp_path / "p.json", {})
    data = json.loads(p.read_text())
    p.write_text(json.dumps(dict(data, engine="naive")))
    info, problems, set_to = _choose(tmp_path, MXNET_ENGINE_TYPE="ThreadedEngine",
                                     MINPY_JIT_PROFILE=str(p))
    assert (info.name, info.kind, info.source, problems, set_to) == \
        ("ThreadedEngine", "threaded", "MXNET_ENGINE_TYPE", [], "ThreadedEngine")
    info, problems, set_to = _choose(tmp_path, MXNET_ENGINE_TYPE="ThreadedEngine",
                                     MINPY_ENGINE="naive")
    assert set_to == "ThreadedEngine" and info.source == "MXNET_ENGINE_TYPE"
    assert len(problems) == 1 and "MINPY_ENGINE=naive ignored" in problems[0]


def test_profile_engine_applies_below_minpy_engine(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"config": {}, "engine": "naive"}))
    info, problems, set_to = _choose(tmp_path, MINPY_JIT_PROFILE=str(p))
    assert (info.kind, info.source, problems, set_to) == ("naive", "profile", [], "NaiveEngine")
    info, problems, set_to = _choose(tmp_path, MINPY_JIT_PROFILE=str(p), MINPY_ENGINE="threaded")
    assert (info.kind, info.source, set_to) == ("threaded", "MINPY_ENGINE", None)
    info, problems, set_to = _choose(tmp_path, MINPY_JIT_PROFILE="none")
    assert info.source == "default"


@pytest.mark.parametrize("profile,env,match", [
    ({"config": {}, "engine": "fast"}, {}, "invalid engine='fast'"),
    ({"config": {}}, {"MINPY_ENGINE": "turbo"}, "MINPY_ENGINE='turbo'"),
])
def test_bad_engine_settings_warn_and_keep_the_default(tmp_path, profile, env, match):
    p = tmp_path / "p.json"
    p.write_text(json.dumps(profile))
    info, problems, set_to = _choose(tmp_path, MINPY_JIT_PROFILE=str(p), **env)
    assert (info.kind, set_to) == ("threaded", None)
    assert len(problems) == 1 and match in problems[0], problems


def test_mxnet_imported_first_is_said():
    info, _ = _profile.choose_engine({"MINPY_JIT_PROFILE": "none"}, mxnet_imported=True)
    assert "imported before minpy" in info.note and "imported before minpy" in str(info)


_ENGINE_PROBE = """
import os, sys
import minpy, minpy.numpy as np
assert (np.ones(3) + 1).asnumpy().tolist() == [2.0, 2.0, 2.0]
print(minpy.mxnet_engine.name, minpy.mxnet_engine.source, os.environ.get("MXNET_ENGINE_TYPE"),
      len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else -1)
"""


def _probe(env, pre=""):
    r = subprocess.run([sys.executable, "-c", pre + _ENGINE_PROBE], capture_output=True,
                       text=True, timeout=120, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.split(), r.stderr


def test_import_sets_the_engine_before_mxnet_runs(tmp_path):
    """Through a profile and through MINPY_ENGINE; MXNet's log line about it stays hidden,
    and the naive engine starts no worker threads."""
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"config": {}, "engine": "naive"}))
    base = {k: v for k, v in os.environ.items() if k not in ("MXNET_ENGINE_TYPE", "MINPY_ENGINE")}
    (name, source, var, naive_threads), err = _probe(dict(base, MINPY_JIT_PROFILE=str(p)))
    assert (name, source, var) == ("NaiveEngine", "profile", "NaiveEngine")
    assert "start using engine" not in err
    (name, source, var, _), _ = _probe(dict(base, MINPY_JIT_PROFILE=str(p), MINPY_ENGINE="naive"))
    assert (name, source) == ("NaiveEngine", "MINPY_ENGINE")
    (name, source, var, threaded_threads), _ = _probe(dict(base, MINPY_JIT_PROFILE="none"))
    assert (name, source, var) == ("ThreadedEnginePerDevice", "default", "None")
    if int(naive_threads) > 0:
        assert int(naive_threads) < int(threaded_threads)
    # mxnet imported first, no operation run yet: the choice still takes effect
    (name, source, var, first), _ = _probe(dict(base, MINPY_JIT_PROFILE=str(p)), "import mxnet\n")
    assert (name, var) == ("NaiveEngine", "NaiveEngine")
    if int(naive_threads) > 0:
        assert int(first) == int(naive_threads)


def test_engine_sweep_times_both_engines_in_child_processes():
    choice, measured = tune.sweep_engine(rounds=1, progress=False, workloads=[tune.chain_jit])
    assert choice in ("naive", "threaded")
    assert set(measured) == {"chain_jit", "relative"}
    assert all(0 < t < 1 for t in measured["chain_jit"].values())
    assert measured["relative"]["threaded"] == 1.0


def test_side_by_side_times_every_variant_under_both_engines():
    env = {k: v for k, v in os.environ.items() if k not in ("MXNET_ENGINE_TYPE", "MINPY_ENGINE")}
    r = subprocess.run([sys.executable, "-m", "benchmarks.side_by_side", "chain", "--rounds", "1"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert "threaded (us)" in lines[0] and "naive (us)" in lines[0] and "best engine" in lines[0]
    rows = {}
    for line in lines[1:]:
        if line.startswith("ratios"):
            break
        rows[line.split()[0] + " " + line.split()[1]] = line.split()[2:]
    assert set(rows) == {"chain numpy", "chain lazy", "chain lazy-nocg", "chain jit",
                         "chain jit-nocg", "chain eager"}, r.stdout
    for cols in rows.values():
        assert float(cols[0]) > 0 and float(cols[1]) > 0 and cols[2] in ("threaded", "naive")
    assert "each variant under its best engine" in r.stdout and "chain: lazy vs eager" in r.stdout


def test_knobs_are_swept_under_the_chosen_engine_in_a_child():
    """When the chosen engine is not this process's, the knobs are timed in a child
    process running it."""
    chosen, measured = tune._sweep_in_child("naive", 1, ["max_pending"])
    assert set(chosen) == {"max_pending"} and chosen["max_pending"] in (500, 5000)
    assert set(measured["max_pending"]["loop_lazy"]) == {"5000", "500"}

