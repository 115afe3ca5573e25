"""The differential fuzzer (tests/fuzz) in CI: a fixed, seeded budget in eager, lazy and
@jit mode plus gradient programs, judged against NumPy; and tests of the fuzzer itself
(planted bugs are found, crashes are counted, reproducers are standalone)."""
import os
import subprocess
import sys
import warnings

import numpy as onp
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.fuzz import ci, fuzz
from tests.fuzz.execute import RUNNERS, Progress, compare, expected_dtype
from tests.fuzz.gen import COVERED, generate
from tests.fuzz.known_failures import KNOWN, UNSTABLE
from tests.fuzz.program import step_label

import minpy
from minpy.dispatch.registry import REGISTRY


def test_fixed_budget_has_only_known_failures():
    """No crash, silent wrong value, or unexpected/missing exception beyond the open bugs
    listed in tests/fuzz/known_failures.py; listed bugs that no longer occur are reported
    (and fail the test with MINPY_FUZZ_STRICT=1) so the list shrinks as bugs get fixed."""
    rep = ci.run()
    new, gone = ci.compare(rep, KNOWN, UNSTABLE)
    # a failure that does not come back when its program runs again reads values that vary
    # from run to run (an open bug too, but not a new signature): reported, not failed
    new, flaky = ci.recheck(new)
    if flaky:
        warnings.warn("failures that did not recur on a rerun (add their programs to "
                      "UNSTABLE in tests/fuzz/known_failures.py): " +
                      "; ".join(f"{b['signature']} {b['programs'][:2]}" for b in flaky))
    for mode in ("eager", "lazy", "jit"):
        assert rep["counts"][mode]["programs"] == ci.PROGRAMS, rep["counts"]
    msg = [f"{b['signature']}: {b['detail'][:160]} (mode, program, step: "
           f"{b['programs'][:2]}; rerun: python -m tests.fuzz --programs {ci.PROGRAMS} "
           f"--seed {ci.SEED} --md report.md)" for b in new]
    if gone:
        text = ("known failures no longer seen (remove them from tests/fuzz/known_failures.py, "
                "or run python -m tests.fuzz.ci --write): " + ", ".join(gone))
        if os.environ.get("MINPY_FUZZ_STRICT") == "1":
            msg.append(text)
        else:
            warnings.warn(text)
    assert not msg, "\n".join(msg)


def test_generator_covers_every_public_registry_op():
    public = {n for n, op in REGISTRY.items()
              if not n.startswith("_") and "." not in n and not op.random}
    assert public <= COVERED, sorted(public - COVERED)
    seen = set()
    for i in range(300):
        seen |= {step_label(s) for s in generate(3, i)["steps"]}
    missing = {n for n in COVERED if n not in seen and f"x.{n}" not in seen}
    assert not missing, sorted(missing)
    kinds = {lab.split("[")[0] for lab in seen}
    assert {"x", "x.T", "x+y", "x+=y", "-x"} <= kinds | seen


def test_oracle_sets_aside_overflowing_product_terms_only():
    """Where a float32 product's terms overflow, inf or NaN depends on the BLAS's order
    and fused multiply-adds (docs/differences.md): accepted when both are non-finite
    there, for every product that sums terms; every other element is still judged."""
    from tests.fuzz.execute import _overflow_agrees
    a = onp.array([[1e30, 1e30], [1, 2]], "float32")
    b = onp.array([1e30, -1e30], "float32")
    step = {"k": "call", "name": "dot", "args": [{"v": 0}, {"v": 1}]}
    with onp.errstate(all="ignore"):
        ref = onp.dot(a, b)
    assert onp.isnan(ref[0]) or onp.isinf(ref[0])
    assert _overflow_agrees(step, [a, b], ref, minpy.numpy.array(onp.array([onp.inf, -1e30],
                                                                            "float32")))
    # a finite value where NumPy has none, or a wrong value elsewhere, is still a mismatch
    for bad in ([1.0, -1e30], [onp.inf, 5.0]):
        assert not _overflow_agrees(step, [a, b], ref,
                                    minpy.numpy.array(onp.array(bad, "float32")))
    # matmul and einsum too (an inf term beside one that overflows: -inf + inf is NaN
    # in float32 sums, -inf where the BLAS fuses the multiply and add)
    a3 = onp.array([[[1e5, -1.0, -1e30]], [[1.0, 2.0, 3.0]]], "float32")
    b1 = onp.array([-onp.inf, 2.0, -1e30], "float32")
    for step in ({"k": "binop", "name": "@", "args": [{"v": 0}, {"v": 1}]},
                 {"k": "call", "name": "matmul", "args": [{"v": 0}, {"v": 1}]},
                 {"k": "call", "name": "einsum", "args": ["abc,c->ab", {"v": 0}, {"v": 1}]}):
        with onp.errstate(all="ignore"):
            ref = a3 @ b1
        assert onp.isnan(ref[0, 0])
        assert _overflow_agrees(step, [a3, b1], ref, minpy.numpy.array(
            onp.array([[-onp.inf], [-onp.inf]], "float32")))
        assert not _overflow_agrees(step, [a3, b1], ref, minpy.numpy.array(
            onp.array([[-onp.inf], [5.0]], "float32")))


def test_generator_is_deterministic():
    assert generate(5, 7) == generate(5, 7)
    assert generate(5, 7) != generate(5, 8)


def test_oracle_applies_only_the_documented_demotion():
    f32 = onp.zeros(2, "float32")
    i64 = onp.zeros(2, "int64")
    f64 = onp.zeros(2, "float64")
    step = {"k": "call", "name": "true_divide", "args": [{"v": 0}, {"v": 1}]}
    assert expected_dtype(step, onp.zeros(2), [i64, i64]) == onp.float32
    assert expected_dtype(step, onp.zeros(2), [i64, f64]) == onp.float64
    mean64 = {"k": "call", "name": "mean", "args": [{"v": 0}], "kw": {"dtype": "float64"}}
    assert expected_dtype(mean64, onp.zeros(()), [f32]) == onp.float64
    assert expected_dtype(step, onp.zeros(2, "float16"), [i64, i64]) == onp.float16


def test_oracle_tolerances():
    step = {"k": "call", "name": "sin", "args": [{"v": 0}]}
    x = onp.array([1.0, 2.0], "float32")
    ref = onp.sin(x)
    ok = minpy.numpy.array(ref * (1 + 1e-6), dtype="float32")
    bad = minpy.numpy.array(ref * (1 + 1e-3), dtype="float32")
    assert compare(step, ref, ok, [x]) is None
    assert compare(step, ref, bad, [x])[0] == "value"
    nan = minpy.numpy.array([float("nan"), 1.0], dtype="float32")
    assert compare(step, onp.array([1.0, 1.0], "float32"), nan, [x])[0] == "value"
    assert compare(step, ref, minpy.numpy.array(ref, dtype="float64"), [x])[0] == "dtype"
    assert compare(step, ref[:1], ok, [x])[0] == "shape"


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_planted_wrong_value_is_found_in_process(mode, monkeypatch):
    """A lowering that returns wrong values is reported as a value mismatch of its op."""
    monkeypatch.setattr(minpy.jit.config, "codegen", "off")   # the plant is in MXNet's lowering
    op = REGISTRY["add"]
    orig = op.mx
    monkeypatch.setattr(op, "mx", lambda F, *a, **k: orig(F, *a, **k) * 3 + 1)
    prog = {"steps": [
        {"k": "input", "in": {"sh": [2, 3], "dt": "float32", "data": [1, 2, 3, 4, 5, 6],
                              "data2": [6, 5, 4, 3, 2, 1]}, "nout": 1},
        {"k": "call", "name": "tanh", "args": [{"v": 0}], "nout": 1},
        {"k": "binop", "name": "+", "args": [{"v": 1}, {"v": 0}], "nout": 1},
        {"k": "call", "name": "sum", "args": [{"v": 2}], "kw": {"axis": 0}, "nout": 1}]}
    fails = RUNNERS[mode](prog, Progress(), 0)
    sigs = {(f["kind"], f["label"]) for f in fails}
    assert ("value", "x+y") in sigs, fails
    assert not any(f["label"] == "sum" for f in fails), fails   # judged on MinPy's values


def test_planted_bugs_and_crash_are_found_in_workers(monkeypatch):
    """Worker processes with a planted wrong shape and a planted abort: the fuzzer reports
    the shape bug with a standalone reproducer, counts the abort as a crash and goes on."""
    monkeypatch.setenv("MINPY_FUZZ_PLANT", "shape:add")
    rep = fuzz(programs=30, modes=("eager",), seed=4)
    kinds = {(b["kind"], b["label"]) for b in rep["buckets"]}
    assert any(k == "shape" and lab in ("add", "x+y", "x+=y") for k, lab in kinds), kinds
    b = next(b for b in rep["buckets"] if b["kind"] == "shape" and b["label"] in ("add", "x+y"))
    script = b["repro"]
    assert "import minpy.numpy as np" in script
    # the reproducer, run standalone with the bug planted, shows the bug
    if b.get("minimal") == "call":
        var = [ln for ln in script.splitlines() if ln.startswith("print(")][-1][6:-1]
        code = ("from tests.fuzz.plant import plant; plant('shape:add')\n" + script +
                f"\nprint('MISMATCH', {var}.asnumpy().shape != {var}.shape)")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                             env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                             text=True, timeout=120)
        assert "MISMATCH True" in out.stdout, (out.stdout[-500:], out.stderr[-500:])

    monkeypatch.setenv("MINPY_FUZZ_PLANT", "abort:add")
    rep = fuzz(programs=12, modes=("eager",), seed=8, no_shrink=True)
    c = rep["counts"]["eager"]
    assert c["programs"] == 12 and c["crash"] >= 1, c
    crash = [b for b in rep["buckets"] if b["kind"] == "crash"]
    assert crash and crash[0]["label"] in ("add", "x+y", "x+=y"), crash
    assert "signal 6" in crash[0]["detail"]


@pytest.mark.slow
def test_planted_hang_is_counted(monkeypatch):
    monkeypatch.setenv("MINPY_FUZZ_PLANT", "hang:add")
    rep = fuzz(programs=12, modes=("eager",), seed=8, no_shrink=True, hang_s=5)
    assert rep["counts"]["eager"]["crash"] >= 1
    assert any(b["kind"] == "hang" for b in rep["buckets"])


def test_cli_smoke(tmp_path):
    out = tmp_path / "r.json"
    md = tmp_path / "r.md"
    r = subprocess.run([sys.executable, "-m", "tests.fuzz", "--programs", "3", "--modes",
                        "eager,lazy", "--seed", "2", "--out", str(out), "--md", str(md)],
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-1000:]
    import json
    rep = json.loads(out.read_text())
    assert rep["counts"]["eager"]["programs"] == 3
    assert md.read_text().startswith("# MinPy differential fuzzer findings")


def test_oracle_accepts_either_order_of_ties_in_argsort_only():
    x = onp.array([1.9, 0.5, 1.9, onp.nan], "float64")
    pool = [x]
    step = {"k": "call", "name": "argsort", "args": [{"v": 0}], "kw": {"axis": -1}}
    ref = onp.argsort(x)                                   # [1, 0, 2, 3]
    swapped = minpy.numpy.array(onp.array([1, 2, 0, 3], "int64"))
    wrong = minpy.numpy.array(onp.array([0, 1, 2, 3], "int64"))
    assert compare(step, ref, swapped, pool) is None
    assert compare(step, ref, wrong, pool)[0] == "value"
    other = {"k": "call", "name": "argmax", "args": [{"v": 0}], "kw": {}}
    assert compare(other, onp.array([1, 0, 2, 3]), swapped, pool)[0] == "value"


def test_oracle_encodes_the_documented_kind_rule_only():
    """docs/differences.md: a Python int or 0-d array operand counts by its kind, so
    ``uint8_array - 1`` is uint8 and wraps (NumPy 1.x widens to int16); a negative
    integer exponent still raises; comparisons and calls that are not ufuncs are NumPy's."""
    from tests.fuzz.execute import numpy_ref
    u8 = onp.array([0, 1, 200], "uint8")
    i32 = onp.array([1, -2], "int32")
    pool = [u8, i32, onp.array(-(2 ** 40), "int64")]
    r, e = numpy_ref({"k": "binop", "name": "-", "args": [{"v": 0}, 1]}, pool)
    assert e is None and r.dtype == onp.uint8 and r.tolist() == [255, 0, 199]
    r, e = numpy_ref({"k": "iop", "name": "+=", "args": [{"v": 0}, -1]}, pool)
    assert e is None and r.dtype == onp.uint8 and r.tolist() == [255, 0, 199]
    r, e = numpy_ref({"k": "call", "name": "bitwise_xor", "args": [{"v": 1}, {"v": 2}]}, pool)
    assert e is None and r.dtype == onp.int32
    assert r.tolist() == (i32 ^ onp.int32(0)).tolist()        # -2**40 wraps to 0 in int32
    r, e = numpy_ref({"k": "binop", "name": "**", "args": [{"v": 0}, -1]}, pool)
    assert isinstance(e, ValueError)
    r, e = numpy_ref({"k": "binop", "name": "==", "args": [{"v": 0}, -1]}, pool)
    assert e is None and r.tolist() == [False, False, False]
    # comparisons keep NumPy's rule for 0-d arrays too: 1 < 2**32 (cast to int32, 0)
    big = pool + [onp.array(2 ** 32, "int64")]
    for name in ("less", "greater_equal", "not_equal"):
        r, e = numpy_ref({"k": "call", "name": name, "args": [{"v": 1}, {"v": 3}]}, big)
        assert e is None and r.tolist() == getattr(onp, name)(i32, 2 ** 32).tolist()
    r, e = numpy_ref({"k": "binop", "name": "<", "args": [{"v": 0}, 256]}, pool)
    assert r.tolist() == [True, True, True]
    r, e = numpy_ref({"k": "binop", "name": "+", "args": [{"v": 0}, 1]}, pool)
    assert r.tolist() == [1, 2, 201]                               # values that fit: NumPy's
    r, e = numpy_ref({"k": "binop", "name": "+", "args": [{"v": 1}, 2.5]}, pool)
    assert r.dtype == onp.float64                                   # kinds still promote


def test_oracle_accepts_ieee_nan_in_products_only():
    """docs/differences.md: 0 * NaN is NaN in every product; NumPy's dot by a 0-d or 1x1
    operand (BLAS scaling) gives 0. Either answer passes for products, not elsewhere."""
    nan, inf = onp.nan, onp.inf
    a, b = onp.array([[0.0]]), onp.array([[nan, -inf, 2.0]])
    pool = [a, b]
    step = {"k": "call", "name": "dot", "args": [{"v": 0}, {"v": 1}], "kw": {}}
    ref = onp.dot(a, b)
    assert onp.isnan(ref).sum() == 0                       # NumPy's BLAS shortcut
    ieee = minpy.numpy.array(onp.array([[nan, nan, 0.0]]), dtype="float64")
    wrong = minpy.numpy.array(onp.array([[nan, nan, 1.0]]), dtype="float64")
    from tests.fuzz.execute import judge
    assert judge(step, pool, ieee, None) is None
    assert judge(step, pool, wrong, None)["kind"] == "value"
    mul = {"k": "call", "name": "multiply", "args": [{"v": 0}, {"v": 1}], "kw": {}}
    assert judge(mul, pool, minpy.numpy.array(onp.zeros((1, 3)), dtype="float64"), None)


def test_oracle_expects_valueerror_for_comparing_unbroadcastable_shapes():
    from tests.fuzz.execute import numpy_ref
    pool = [onp.ones(3, "float32"), onp.ones(2, "float32"), onp.ones((2, 1), "float32")]
    for name in ("==", "!="):
        r, e = numpy_ref({"k": "binop", "name": name, "args": [{"v": 0}, {"v": 1}]}, pool)
        assert isinstance(e, ValueError)
        r, e = numpy_ref({"k": "binop", "name": name, "args": [{"v": 2}, {"v": 1}]}, pool)
        assert e is None and r.shape == (2, 2)


def test_oracle_kind_rule_for_selections_casts_numpys_values():
    from tests.fuzz.execute import numpy_ref
    u8 = onp.array([0, 1, 7, 255], "uint8")
    m = onp.array([True, False, True, False])
    f16 = onp.array([4.0, -1.0, 0.0, 2.0], "float16")
    pool = [u8, m, f16, onp.array(2 ** 40, "int64")]
    r, e = numpy_ref({"k": "call", "name": "where", "args": [{"v": 1}, 300, {"v": 0}]}, pool)
    assert r.dtype == onp.uint8 and r.tolist() == [44, 1, 44, 255]
    r, e = numpy_ref({"k": "call", "name": "clip", "args": [{"v": 0}, -1, 2]}, pool)
    assert r.dtype == onp.uint8 and r.tolist() == [0, 1, 2, 2]
    r, e = numpy_ref({"k": "call", "name": "where", "args": [{"v": 2}, {"v": 3}, {"v": 2}]}, pool)
    assert r.dtype == onp.float16 and onp.isinf(r[0])


def test_oracle_concatenate_of_0d_arrays_takes_them_as_zeros():
    """docs/differences.md: ``concatenate(axis=None)`` of 0-d arrays beside n-d ones
    has NumPy's dtype for the 0-d arrays at zero (NumPy reads their values)."""
    from tests.fuzz.execute import numpy_ref
    pool = [onp.array(2 ** 63 - 1), onp.array(0.0), onp.zeros(0, "float16"),
            onp.array(False), onp.array(-2), onp.array([1, 127], "int8")]
    step = {"k": "call", "name": "concatenate", "args": [{"l": [{"v": 0}, {"v": 1}, {"v": 2}]}],
            "kw": {"axis": None}}
    r, e = numpy_ref(step, pool)
    assert e is None and r.dtype == onp.float16 and onp.isinf(r[0])   # NumPy: float64
    step["args"] = [{"l": [{"v": 3}, {"v": 4}, {"v": 5}]}]
    r, e = numpy_ref(step, pool)
    assert e is None and r.dtype == onp.int16 and r.tolist() == [0, -2, 1, 127]
    step["args"] = [{"l": [{"v": 0}, {"v": 1}]}]                       # only 0-d: NumPy's
    r, e = numpy_ref(step, pool)
    assert r.dtype == onp.float64


def test_oracle_compares_a_0d_array_with_an_nd_one_in_their_common_dtype():
    """docs/differences.md: NumPy 1.x rounds a 0-d float64 to a float32 array's dtype
    before comparing; MinPy compares the values in float64 (as NumPy 2). Python numbers
    and comparisons of arrays of one kind of shape keep NumPy's answer."""
    from tests.fuzz.execute import numpy_ref
    f32 = onp.array([2.73, 1.0], "float32")
    pool = [onp.array(2.73), f32, onp.array(2.73, "float32"), onp.array([2.73, 1.0])]
    for step in ({"k": "binop", "name": "!=", "args": [{"v": 0}, {"v": 1}]},
                 {"k": "call", "name": "not_equal", "args": [{"v": 1}, {"v": 0}]}):
        r, e = numpy_ref(step, pool)
        assert e is None and r.tolist() == [True, True]
    r, e = numpy_ref({"k": "binop", "name": "!=", "args": [{"v": 1}, 2.73]}, pool)
    assert r.tolist() == [False, True]                           # a Python float: NumPy's
    r, e = numpy_ref({"k": "binop", "name": "==", "args": [{"v": 2}, {"v": 1}]}, pool)
    assert r.tolist() == [True, False]                           # one dtype: nothing cast
    r, e = numpy_ref({"k": "binop", "name": "==", "args": [{"v": 1}, {"v": 3}]}, pool)
    assert r.tolist() == (f32 == onp.array([2.73, 1.0])).tolist()   # two n-d arrays


def test_oracle_kind_rule_never_casts_an_in_place_target():
    from tests.fuzz.execute import numpy_ref
    pool = [onp.array(0, "int64"), onp.array([1.0], "float16")]
    r, e = numpy_ref({"k": "iop", "name": "*=", "args": [{"v": 0}, {"v": 1}]}, pool)
    assert isinstance(e, TypeError)          # NumPy's casting error, checked first


def test_oracle_negative_power_in_place_checks_the_cast_first():
    from tests.fuzz.execute import numpy_ref
    pool = [onp.array([False]), onp.array([3, 4], "uint8")]
    r, e = numpy_ref({"k": "iop", "name": "**=", "args": [{"v": 0}, -2]}, pool)
    assert isinstance(e, TypeError) and not isinstance(e, ValueError)
    r, e = numpy_ref({"k": "iop", "name": "**=", "args": [{"v": 1}, -2]}, pool)
    assert isinstance(e, ValueError)


def test_oracle_power_by_a_0d_array_is_np_power():
    from tests.fuzz.execute import numpy_ref
    pool = [onp.array(0.0, "float32"), onp.array(1.0, "float64")]
    r, e = numpy_ref({"k": "binop", "name": "**", "args": [{"v": 0}, {"v": 1}]}, pool)
    assert r.dtype == onp.float64            # np.power; NumPy's shortcut would be float32


def test_oracle_dtype_of_a_write_into_a_python_float():
    """A setitem or in-place step copies its target first; a Python float target
    (``0.001 - count_nonzero(x)``) becomes np.array of it, float32 in MinPy, and the
    written float64 value does not change that. An array target keeps its dtype."""
    from tests.fuzz.execute import expected_dtype
    v64 = onp.array([-2.4])
    for k, args in (("setitem", [{"v": 0}, {"t": [None]}, {"v": 1}]),
                    ("iop", [{"v": 0}, {"v": 1}])):
        step = {"k": k, "name": "+=", "args": args}
        assert expected_dtype(step, onp.array(0.5), [0.001, v64]) == onp.float32
        assert expected_dtype(step, onp.array(0.5), [onp.array(0.001), v64]) == onp.float64
        assert expected_dtype(step, onp.array(0.5, "float32"), [onp.array(1, "float32"),
                                                                  v64]) == onp.float32
