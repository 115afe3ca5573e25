"""Generated, fused C++ kernels (minpy.jit.codegen) compute what NumPy computes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as onp
import pytest

import minpy
import minpy.numpy as mnp
from minpy.jit import codegen
from minpy.jit.codegen import fuse
from minpy.nn import layers as nn_layers

needs_compiler = pytest.mark.skipif(not codegen.available(), reason="no C++ compiler")


@pytest.fixture
def always(clean_jit_state):
    minpy.jit.config.codegen = "always"
    yield
    minpy.jit.config.codegen = "auto"


def _lazy(fn, *args):
    with minpy.lazy():
        out = fn(*[mnp.array(a, dtype=a.dtype) for a in args])
        return [o.asnumpy() for o in out] if isinstance(out, tuple) else out.asnumpy()


def _jit(fn, *args):
    f = minpy.jit(fn)
    xs = [mnp.array(a, dtype=a.dtype) for a in args]
    f(*xs)
    out = f(*xs)           # the replayed graph
    return [o.asnumpy() for o in out] if isinstance(out, tuple) else out.asnumpy()


def _check(fn, *args, rtol=1e-6, atol=0.0):
    want = fn(*args)
    for run in (_lazy, _jit):
        before = minpy.jit.stats()["fused_kernels"]
        got = run(lambda *a: fn(*a), *args)
        assert minpy.jit.stats()["fused_kernels"] > before, "nothing was fused"
        wants = want if isinstance(want, tuple) else (want,)
        gots = got if isinstance(got, list) else [got]
        wide = any(onp.asarray(a).dtype == onp.float64 for a in args)
        for w, g in zip(wants, gots):
            w = onp.asarray(w)
            if w.dtype == onp.float64 and not wide:     # MinPy's documented float32 rule
                w = w.astype(onp.float32)
            assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
            onp.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)


RNG = onp.random.RandomState(0)
A = RNG.randn(4, 5).astype("float32")
B = RNG.randn(4, 5).astype("float32")
R = RNG.randn(5).astype("float32")
C = RNG.randn(4, 1).astype("float32")
D = RNG.randn(4, 5)                      # float64


def _np(xp):
    return xp


@needs_compiler
@pytest.mark.parametrize("expr", [
    lambda xp, a, b: xp.tanh(a * b + b) - a / (xp.abs(b) + 1.0),
    lambda xp, a, b: xp.maximum(a, 0.0) * (a > b) + xp.minimum(a, b),
    lambda xp, a, b: xp.sqrt(xp.abs(a)) * xp.exp(-b * b) + xp.log(xp.abs(a) + 2.0),
    lambda xp, a, b: xp.where(a > 0, a, b * 2.0) ** 2,
    lambda xp, a, b: xp.negative(a) * 2 + xp.square(b) - 1,
])
def test_elementwise_chains(always, expr):
    _check(lambda a, b: expr(mnp if isinstance(a, minpy.array.Array) else onp, a, b), A, B)


@needs_compiler
def test_broadcasting_operands(always):
    def f(a, r, c):
        xp = mnp if isinstance(a, minpy.array.Array) else onp
        return xp.tanh(a + r) * c - r * 0.5
    _check(f, A, R, C)


@needs_compiler
@pytest.mark.parametrize("red", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_closing_reductions(always, red, axis, keepdims):
    def f(a, b):
        xp = mnp if isinstance(a, minpy.array.Array) else onp
        return getattr(xp, red)(a * b + 1.0, axis=axis, keepdims=keepdims) * 2.0
    _check(f, A, B, rtol=2e-6)


@needs_compiler
def test_nan_and_inf_propagate_as_in_numpy(always):
    a = onp.array([[onp.nan, 1.0, -onp.inf], [0.0, -0.0, onp.inf]], dtype="float32")
    b = onp.array([[1.0, onp.nan, 2.0], [-0.0, 0.0, onp.nan]], dtype="float32")

    def f(x, y):
        xp = mnp if isinstance(x, minpy.array.Array) else onp
        return xp.maximum(x, y) + xp.minimum(y, x) * 0.5, xp.max(x * y, axis=1)
    _check(f, a, b)


@needs_compiler
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True)])
def test_small_products_inline(always, ta, tb):
    x = RNG.randn(4, 3).astype("float32")
    w = RNG.randn(3, 5).astype("float32")
    xa = x.T.copy() if ta else x
    wb = w.T.copy() if tb else w

    def f(p, q):
        xp = mnp if isinstance(p, minpy.array.Array) else onp
        return xp.tanh(xp.dot(p.T if ta else p, q.T if tb else q) + 1.0)
    _check(f, xa, wb, rtol=1e-5)


@needs_compiler
def test_mixed_float32_float64_promote(always):
    def f(a, d):
        xp = mnp if isinstance(a, minpy.array.Array) else onp
        return (a * d + 1.0) / 3.0, xp.sum(a * 2.0)
    _check(f, A, D, rtol=1e-6)


@needs_compiler
def test_scalar_that_varies_is_an_input_not_a_constant(always):
    f = minpy.jit(lambda x, s: mnp.tanh(x * s) + s)
    x = mnp.array(A)
    for s in (0.5, 1.5, -2.0, 3.25):
        onp.testing.assert_allclose(f(x, s).asnumpy(), onp.tanh(A * onp.float32(s)) + onp.float32(s),
                                    rtol=1e-6)


@needs_compiler
def test_rnn_gradient_is_one_kernel_and_matches_numpy(always):
    from minpy.core import grad_and_loss
    from minpy.jit.tune import _rnn_args, rnn_loss
    from benchmarks.workloads import rnn_numpy_grad
    args = _rnn_args(12)
    g = minpy.jit(grad_and_loss(lambda *a: rnn_loss(mnp, *a), [0, 1, 2]))
    g(*args)
    grads, loss = g(*args)
    want, wloss = rnn_numpy_grad(*[a.asnumpy() for a in args])
    onp.testing.assert_allclose(float(loss), wloss, rtol=1e-5)
    for got, w in zip(grads, want):
        onp.testing.assert_allclose(got.asnumpy(), w, rtol=1e-4, atol=1e-5)
    assert minpy.jit.stats()["fused_nodes"] > 50


@needs_compiler
def test_split_and_concatenate_views(always):
    x = RNG.randn(6, 4).astype("float32")

    def f(a):
        xp = mnp if isinstance(a, minpy.array.Array) else onp
        p, q, r = xp.split(a * 2.0, 3, axis=0)
        s, t = xp.split(a + 1.0, 2, axis=1)
        return xp.concatenate([p + q, r * 3.0], axis=0), xp.concatenate([t, s * s], axis=1)
    _check(f, x)


@needs_compiler
def test_codegen_off_fuses_nothing(clean_jit_state):
    minpy.jit.config.codegen = "off"
    f = minpy.jit(lambda a, b: mnp.tanh(a * b) + b)
    x = mnp.array(A)
    onp.testing.assert_allclose(f(x, x).asnumpy(), onp.tanh(A * A) + A, rtol=1e-6)
    assert minpy.jit.stats()["fused_kernels"] == 0


def test_invalid_codegen_mode_is_a_clear_error(clean_jit_state):
    minpy.jit.config.codegen = "sometimes"
    with pytest.raises(ValueError, match="codegen must be one of"):
        with minpy.lazy():
            (mnp.ones(3) * 2.0 + 1.0).asnumpy()


def _run(code: str, env: dict) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.update(env)
    full["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full,
                          capture_output=True, text=True, timeout=600)


def test_without_a_compiler_auto_falls_back_and_always_says_why(tmp_path):
    code = """
        import numpy as onp, minpy, minpy.numpy as mnp
        from minpy.jit import codegen
        assert not codegen.available()
        f = minpy.jit(lambda a, b: mnp.tanh(a * b) + b)
        x = mnp.array(onp.ones((3, 3), dtype="float32"))
        r = f(x, x).asnumpy()
        assert onp.allclose(r, onp.tanh(1.0) + 1.0), r
        assert minpy.jit.stats()["fused_kernels"] == 0
        minpy.jit.config.codegen = "always"
        try:
            with minpy.lazy():
                (mnp.tanh(x * 3.0) + x).asnumpy()
        except codegen.CodegenUnavailable as e:
            print("raised:", e)
        else:
            raise SystemExit("no error")
    """
    r = _run(code, {"CXX": str(tmp_path / "no-such-compiler"), "MINPY_CACHE_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "needs a C++ compiler" in r.stdout


@needs_compiler
def test_disk_cache_serves_a_new_process(tmp_path):
    code = """
        import numpy as onp, minpy, minpy.numpy as mnp
        minpy.jit.config.codegen = "always"
        f = minpy.jit(lambda a, b: mnp.tanh(a * b) + b * 0.25)
        x = mnp.array(onp.arange(12, dtype="float32").reshape(3, 4) / 10)
        r = f(x, x).asnumpy()
        w = onp.arange(12, dtype="float32").reshape(3, 4) / 10
        assert onp.allclose(r, onp.tanh(w * w) + w * onp.float32(0.25), rtol=1e-6)
        s = minpy.jit.stats()
        print("builds", s["kernel_builds"], "hits", s["kernel_disk_hits"])
    """
    env = {"MINPY_CACHE_DIR": str(tmp_path), "MINPY_JIT_DUMP": str(tmp_path / "dump")}
    first = _run(code, env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "builds 1 hits 0" in first.stdout
    second = _run(code, env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "builds 0 hits 1" in second.stdout
    dumped = list((tmp_path / "dump").iterdir())
    assert dumped and "tanh" in dumped[0].read_text()


def test_clusters_stay_convex():
    """A node outside a cluster that reads one member and feeds another splits it."""
    class Op:
        def __init__(self, name):
            self.name = name

    class N:
        def __init__(self, name, ins):
            self.op, self.ins = Op(name), [("n", p, 0) for p in ins]
    a = N("add", [])
    b = N("blocked", [a])
    c = N("add", [a, b])
    d = N("add", [c])
    groups = fuse.clusters([a, b, c, d], lambda n: n.op.name != "blocked")
    assert [len(g) for g in groups] == [1, 2]
    assert groups[0] == [a] and groups[1] == [c, d]
    e = N("add", [])
    f = N("add", [])
    g = N("add", [e, f])        # two independent clusters merge through their consumer
    assert fuse.clusters([e, f, g], lambda n: True) == [[e, f, g]]


@needs_compiler
def test_explain_shows_the_generated_source(always):
    def step(a, b):
        return mnp.tanh(a * b) + mnp.maximum(b, 0.5)
    x = mnp.array(onp.linspace(-1, 1, 10, dtype="float32").reshape(2, 5) * 1.37)
    report = minpy.jit.explain(step, x, x)
    text = str(report)
    assert "generated kernels: 1" in text
    assert "std::tanh" in text or "tanh" in report["kernels"][0]


def test_clusters_never_form_a_cycle_on_random_graphs():
    """The graph of clusters (each contracted to one node) stays acyclic."""
    import networkx as nx

    class Op:
        def __init__(self, name):
            self.name = name

    class N:
        def __init__(self, i, ins):
            self.i, self.op, self.ins = i, Op("n"), [("n", p, 0) for p in ins]
    rng = onp.random.RandomState(1)
    total = kept = 0
    for trial in range(300):
        nodes = []
        for i in range(int(rng.randint(2, 30))):
            k = int(rng.randint(0, min(i, 3) + 1))
            ins = list(rng.choice(nodes, size=k, replace=False)) if k else []
            nodes.append(N(i, ins))
        fusible = set(int(i) for i in onp.nonzero(rng.rand(len(nodes)) < 0.7)[0])
        groups = fuse.clusters(nodes, lambda n: n.i in fusible)
        where = {n: ("c", j) for j, g in enumerate(groups) for n in g}
        g = nx.DiGraph()
        for n in nodes:
            g.add_node(where.get(n, n))
            for d in n.ins:
                a, b = where.get(d[1], d[1]), where.get(n, n)
                if a != b:
                    g.add_edge(a, b)
        assert nx.is_directed_acyclic_graph(g), trial
        members = [n.i for grp in groups for n in grp]
        assert len(members) == len(set(members)) and set(members) <= fusible
        total += len(members)
        kept += len(fusible)
    assert total > 0.9 * kept      # cycles are broken by leaving few nodes out


@needs_compiler
def test_sgd_update_into_the_parameter_fuses(always):
    w0 = RNG.randn(6, 5).astype("float32")
    g0 = RNG.randn(6, 5).astype("float32")

    def step(w, g, lr):
        w[:] = w - lr * g
        return w
    f = minpy.jit(step)
    w, g = mnp.array(w0), mnp.array(g0)
    before = minpy.jit.stats()["fused_kernels"]
    f(w, g, 0.1)
    f(w, g, 0.2)
    want = w0 - onp.float32(0.1) * g0
    want = want - onp.float32(0.2) * g0
    onp.testing.assert_allclose(w.asnumpy(), want, rtol=1e-6)
    assert minpy.jit.stats()["fused_kernels"] > before


@needs_compiler
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_vectorised_math_in_kernels(always, dtype):
    x = onp.concatenate([onp.linspace(-30, 30, 97), [0.0, -0.0, onp.inf, -onp.inf, onp.nan]])
    x = x.astype(dtype).reshape(-1, 17) if x.size % 17 == 0 else x.astype(dtype)

    def f(a):
        xp = mnp if isinstance(a, minpy.array.Array) else onp
        sig = nn_layers.sigmoid(a) if xp is mnp else 1.0 / (1.0 + onp.exp(-a))
        return xp.tanh(a) * 2.0 + xp.exp(a * 0.1), sig * 1.0, xp.log(xp.abs(a) + 1.0) - a
    with onp.errstate(all="ignore"):         # inf - inf: NaN, as in NumPy
        _check(f, x, rtol=1e-6 if dtype == "float32" else 1e-14, atol=1e-30)


@needs_compiler
def test_bool_arrays_stay_outside_kernels_and_the_graph_still_compiles(always):
    """MXNet's extension operators take float arrays only: a cluster reading a bool
    array is cut before that reader (it used to fail at run time and fall back)."""
    a = onp.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]], "float32")
    m = onp.array([[True, False, True], [False, False, True]])

    def f(x, mask):
        xp = mnp if isinstance(x, minpy.array.Array) else onp
        return xp.where(mask, x * 2.0, x - 1.0) + 1.0
    minpy.jit.reset_stats()
    _check(f, a, m)
    assert minpy.jit.stats()["interpreted_nodes"] == 0


@needs_compiler
def test_processes_sharing_a_cold_cache_build_safely(tmp_path):
    """Two processes compiling the same kernels into one cache at the same time both
    get working libraries (files are written under a temporary name, then renamed)."""
    code = """
        import numpy as onp, minpy, minpy.numpy as mnp
        minpy.jit.config.codegen = "always"
        f = minpy.jit(lambda a, b: mnp.exp(a * 0.5) - mnp.sqrt(mnp.abs(b)) * 3.0)
        w = onp.linspace(-2, 2, 24, dtype="float32").reshape(4, 6)
        x = mnp.array(w)
        r = f(x, x).asnumpy()
        want = onp.exp(w * onp.float32(0.5)) - onp.sqrt(onp.abs(w)) * onp.float32(3.0)
        assert onp.allclose(r, want, rtol=1e-6), (r, want)
        print("ok", minpy.jit.stats()["fused_kernels"])
    """
    full = dict(os.environ)
    full.update({"MINPY_CACHE_DIR": str(tmp_path),
                 "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=full,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        assert out.startswith("ok 1"), out
    left = [f.name for f in (tmp_path / "kernels").iterdir()]
    assert not [f for f in left if f.startswith("tmp")], left     # no half-written files


@needs_compiler
def test_large_loops_share_threads_and_stay_exact(always):
    big = RNG.randn(512, 300).astype("float32")
    row = RNG.randn(300).astype("float32")
    built = len(codegen.all_sources())

    def f(a, r):
        xp = mnp if isinstance(a, minpy.array.Array) else onp
        return xp.maximum(a * r + 1.0, 0.0) - xp.square(r), xp.sum(a * a, axis=0)
    _check(f, big, row, rtol=1e-5)
    assert any("omp parallel for" in s for s in codegen.all_sources()[built:])


@needs_compiler
def test_two_phase_graphs_fuse_what_reads_the_gradients(always):
    """A CNN step whose backward pass MXNet runs: the parameter updates after it fuse."""
    from benchmarks.workloads import cnn_data, cnn_minpy_loss, cnn_numpy_step, sgd_step
    params, x, oh = cnn_data(batch=4, size=8, filters=3)
    step = minpy.jit(sgd_step(cnn_minpy_loss(x.shape, params[0].shape[0]), 4))
    mp = [mnp.array(p) for p in params]
    npp = [p.copy() for p in params]
    before = minpy.jit.stats()["fused_kernels"]
    for _ in range(3):
        loss = step(*mp, mnp.array(x), mnp.array(oh))
        want = cnn_numpy_step(npp, x, oh)
        onp.testing.assert_allclose(float(loss), float(want), rtol=1e-5)
    for got, w in zip(mp, npp):
        onp.testing.assert_allclose(got.asnumpy(), w, rtol=1e-5, atol=1e-6)
    assert minpy.jit.stats()["fused_kernels"] > before


@needs_compiler
@pytest.mark.parametrize("red", ["sum", "max"])
def test_reduction_of_a_0d_operand_fuses(always, red):
    """A 0-d operand reduced over axis 0 (MinPy accepts it: its one element)."""
    built = minpy.jit.stats()["kernel_failures"]
    x = mnp.array(onp.float32(1.5))
    with minpy.lazy():
        got = getattr(mnp, red)(x * 2.0 + 1.0, axis=0).asnumpy()
    assert float(got) == 4.0 and minpy.jit.stats()["kernel_failures"] == built


@needs_compiler
def test_a_training_step_with_kernels_runs_as_a_cachedop_with_numpys_values(always):
    """MXNet's CachedOp builds a gradient graph when made and refused ``_minpy_kernel``
    (it has no gradient), so a graph with kernels fell back to the bound executor, which
    copies every weight in and out each step; a BlockGrad after each kernel lets it run
    as a CachedOp. Values after several SGD steps stay NumPy's."""
    from minpy.core import grad_and_loss
    from minpy.jit import compile as jc
    rng = onp.random.RandomState(7)
    xn = rng.randn(256, 300).astype("float32")
    yn = onp.eye(10, dtype="float32")[rng.randint(0, 10, 256)]
    Wn = [(rng.randn(300, 400) * 0.05).astype("float32"), onp.zeros(400, "float32"),
          (rng.randn(400, 10) * 0.05).astype("float32"), onp.zeros(10, "float32")]

    def loss(W1, b1, W2, b2, x, y):
        h = mnp.maximum(mnp.dot(x, W1) + b1, 0.0)
        s = mnp.dot(h, W2) + b2
        sh = s - mnp.max(s, axis=1, keepdims=True)
        ls = sh - mnp.log(mnp.sum(mnp.exp(sh), axis=1, keepdims=True))
        return -mnp.sum(ls * y) / x.shape[0]
    gl = grad_and_loss(loss, [0, 1, 2, 3])

    @minpy.jit
    def step(W1, b1, W2, b2, x, y):
        grads, l = gl(W1, b1, W2, b2, x, y)
        for p, g in zip((W1, b1, W2, b2), grads):
            p[:] = p - 0.1 * g
        return l
    params = [mnp.array(w) for w in Wn]
    x, y = mnp.array(xn), mnp.array(yn)
    for _ in range(4):
        got = float(step(*params, x, y))
        W1, b1, W2, b2 = Wn
        a = xn @ W1 + b1
        h = onp.maximum(a, 0)
        s = h @ W2 + b2
        sh = s - s.max(1, keepdims=True)
        e = onp.exp(sh)
        want = -((sh - onp.log(e.sum(1, keepdims=True))) * yn).sum() / 256
        ds = (e / e.sum(1, keepdims=True) - yn) / 256
        da = (ds @ W2.T) * (a > 0)
        Wn = [W1 - 0.1 * (xn.T @ da), b1 - 0.1 * da.sum(0), W2 - 0.1 * (h.T @ ds),
              b2 - 0.1 * ds.sum(0)]
        assert onp.allclose(got, want, rtol=1e-4)
    for p, w in zip(params, Wn):
        assert onp.allclose(p.asnumpy(), w, rtol=1e-4, atol=1e-5)
    entry = next(iter(step.cache.values()))
    assert minpy.jit.stats()["fused_kernels"] >= 1
    # a CachedOp from the start (large outputs) or after the executor's copies showed it
    c = entry.compiled
    assert type(c) is jc._CachedGraph or type(getattr(c, "alt", None)) is jc._CachedGraph


@pytest.mark.parametrize("n", [6, 7, 13, 64])
def test_a_float32_round_trip_inside_a_kernel_keeps_its_rounding(n):
    """GCC 12's straight-line vectoriser folded (double)(float)x - x to 0 in the tail of
    a loop (found by the fuzzer as float32(x) < x being False in lazy mode)."""
    if not codegen.available():
        pytest.skip("no C++ compiler")
    v = onp.random.RandomState(n).randn(n) * 3
    with codegen.using("always"):
        f = minpy.jit(lambda a: ((a * 1.0).astype("float32").astype("float64") - a * 1.0,
                                 (a * 1.0).astype("float32") < a * 1.0))
        f(mnp.array(v, dtype="float64"))
        d, lt = f(mnp.array(v, dtype="float64"))
    onp.testing.assert_array_equal(d.asnumpy(), v.astype("float32").astype("float64") - v)
    onp.testing.assert_array_equal(lt.asnumpy(), v.astype("float32") < v)
