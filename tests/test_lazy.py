"""Lazy mode: recording, flush triggers, the executor cache, autograd, robustness."""
import gc
import os
import subprocess
import sys
import threading

import mxnet as mx
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import Function, grad_and_loss
from minpy.dispatch.registry import REGISTRY, defop
from minpy.jit.graph import LRef


pytestmark = pytest.mark.usefixtures("clean_jit_state")


def _in_threads(worker, n: int) -> None:
    """worker(0..n-1) in n threads at once, joined (a hung thread fails the asserts after)."""
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)


def _pending(a) -> bool:
    return type(a._data) is LRef and a._data.value is None


# ------------------------------------------------------------------------------ the flag

def test_flag_and_context_managers():
    assert not minpy.is_lazy()
    minpy.set_lazy(True)
    assert minpy.is_lazy()
    with minpy.lazy(False):
        assert not minpy.is_lazy()
        y = np.ones((2, 2)) + 1
        assert not _pending(y)
    assert minpy.is_lazy()
    minpy.set_lazy(False)
    with minpy.lazy():
        y = np.ones((2, 2)) + 1
        assert _pending(y)
    assert not minpy.is_lazy()
    assert onp.allclose(y.asnumpy(), 2.0)


def test_lazy_as_decorator_in_threads_and_one_block_per_object():
    """``minpy.lazy`` restores the mode it found, per block: as a decorator each call
    (in any thread, recursively) has its own; an object already inside a block refuses
    a second one instead of mixing up what to restore."""
    @minpy.lazy()
    def work(k, depth=0):
        assert minpy.is_lazy()
        y = np.ones(3) * float(k)
        if depth < 2:
            work(k, depth + 1)
        return float(y.sum())

    results, errors = {}, []

    def worker(k):
        try:
            for _ in range(20):
                results[k] = work(k)
            results[(k, "mode")] = minpy.is_lazy()
        except Exception as e:        # pragma: no cover - reported below
            errors.append(e)
    _in_threads(worker, 4)
    assert not errors
    assert all(results[k] == 3.0 * k and results[(k, "mode")] is False for k in range(4))
    assert not minpy.is_lazy()
    cm = minpy.lazy()
    with cm:
        with pytest.raises(RuntimeError, match="already in use"):
            with cm:
                pass
        assert minpy.is_lazy()
    assert not minpy.is_lazy()
    with cm:                          # free again once its block ended
        assert minpy.is_lazy()
    assert not minpy.is_lazy()


def test_environment_variable_turns_lazy_on_at_import():
    code = ("import minpy, minpy.numpy as np\n"
            "y = np.ones(3) * 2\n"
            "print(minpy.is_lazy(), type(y._data).__name__, float(y.sum()))")
    env = dict(os.environ, MINPY_LAZY="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "LRef", "6.0"]


def test_same_results_in_both_modes():
    def program(x, w):
        h = np.tanh(x @ w + 0.5)
        h = np.maximum(h, 0.1) * np.exp(-h)
        return h.sum(axis=1), h.mean(), h[1:, ::2]
    x = onp.random.RandomState(0).randn(5, 4).astype("float32")
    w = onp.random.RandomState(1).randn(4, 6).astype("float32")
    eager = [r.asnumpy() for r in program(np.array(x), np.array(w))]
    with minpy.lazy():
        lazy = program(np.array(x), np.array(w))
        assert all(_pending(r) for r in lazy)
        lazy = [r.asnumpy() for r in lazy]
    for e, l in zip(eager, lazy):
        assert e.shape == l.shape and e.dtype == l.dtype
        assert onp.allclose(e, l, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------ recording

def test_metadata_never_forces():
    with minpy.lazy():
        x = np.ones((3, 4))
        y = (x @ np.ones((4, 5))).sum(axis=0, keepdims=True) > 2
        assert y.shape == (1, 5) and y.dtype == onp.bool_ and y.ndim == 2 and y.size == 5
        assert len(x @ np.ones((4, 5))) == 3
        assert _pending(y)
        assert minpy.jit.stats()["flushes"] == {}


@pytest.mark.parametrize("fn", [
    lambda: np.ones((2, 3)) + np.ones((4,)),
    lambda: np.ones((2, 3)) @ np.ones((2, 3)),
    lambda: np.ones((2, 3)).reshape((4, 2)),
    lambda: np.concatenate([np.ones((2, 3)), np.ones((2, 4))], axis=0),
    lambda: np.sum(np.ones((2, 3)), axis=5),
])
def test_shape_errors_raise_at_the_call_with_the_eager_message(fn):
    with pytest.raises(Exception) as eager:
        fn()
    with minpy.lazy():
        with pytest.raises(Exception) as lazy:
            fn()
        assert minpy.jit.stats()["flushes"] == {}
    assert type(eager.value) is type(lazy.value)
    assert str(eager.value) == str(lazy.value)


# ------------------------------------------------------------------------------ flush triggers

@pytest.mark.parametrize("reason,force", [
    ("asnumpy", lambda y: y.asnumpy()),
    ("item", lambda y: y[0, 0].item()),
    ("tolist", lambda y: y.tolist()),
    ("__array__", lambda y: onp.asarray(y)),
    ("repr", repr),
    ("str", str),
    ("format", lambda y: f"{y.sum():.3f}"),
    ("bool", lambda y: bool(y.sum() > 0)),
    ("float", lambda y: float(y.sum())),
    ("int", lambda y: int(y.sum())),
    ("index", lambda y: [0, 1, 2][y.astype("int64")[0, 0]]),
    ("fallback", lambda y: np.median(y)),
    ("flush", lambda y: minpy.flush()),
])
def test_each_value_access_flushes_with_its_reason(reason, force):
    with minpy.lazy():
        y = np.ones((2, 3)) * 0.5
        assert _pending(y)
        force(y)
        assert not _pending(y)
        assert minpy.jit.stats()["flushes"].get(reason, 0) >= 1


def test_if_and_while_on_values():
    with minpy.lazy():
        x = np.array([3.0, 0.0])
        steps = 0
        while x.sum() > 0:
            x = x - 1.0
            steps += 1
        if x[0] > 0:
            x = x * 10
    assert steps == 2 and onp.allclose(x.asnumpy(), [10.0, -20.0])


def test_bound_on_pending_nodes():
    minpy.jit.config.max_pending = 10
    with minpy.lazy():
        y = np.ones(3)
        for _ in range(35):
            y = y + 1.0
        assert minpy.jit.stats()["flushes"].get("bound", 0) == 3
        assert onp.allclose(y.asnumpy(), 36.0)


def test_fallback_result_becomes_a_concrete_graph_input():
    with minpy.lazy():
        x = np.arange(6.0).reshape((2, 3))
        m = np.median(x)                 # NumPy: forces x, result is concrete
        assert not _pending(m)
        z = x * m + 1
        assert _pending(z)
        assert onp.allclose(z.asnumpy(), onp.arange(6.0).reshape(2, 3) * 2.5 + 1)


def test_dead_intermediates_are_not_materialised():
    x = np.ones((3, 3))
    with minpy.lazy():
        y = x + 1
        z = np.exp(y) * 2
        del y
        z.asnumpy()
        nodes, outs = minpy.jit.compile.last_graph
        assert len(outs) == 1
        a = x + 1
        b = a * 3
        b.asnumpy()
        assert len(minpy.jit.compile.last_graph[1]) == 2   # a is still referenced
        assert not _pending(a) and onp.allclose(a.asnumpy(), 2.0)


# ------------------------------------------------------------------------------ executor cache

def _train(steps, lr_schedule, lazy=True):
    rng = onp.random.RandomState(0)
    X = np.array(rng.randn(16, 4))
    Y = np.array(rng.randn(16, 3))
    W = np.array(rng.randn(4, 3) * 0.1)
    b = np.zeros(3)

    def loss(W, b):
        p = np.tanh(X @ W + b)
        return ((p - Y) ** 2).mean()
    step = grad_and_loss(loss, [0, 1])
    losses = []
    with minpy.lazy(lazy):
        for t in range(steps):
            (gW, gb), l = step(W, b)
            lr = lr_schedule(t)
            W -= lr * gW
            b -= lr * gb
            losses.append(float(l))
    return W.asnumpy(), b.asnumpy(), losses


def test_training_loop_hits_the_cache_and_matches_eager():
    We, be, le = _train(30, lambda t: 0.1, lazy=False)
    minpy.jit.reset_stats()
    Wl, bl, ll = _train(30, lambda t: 0.1, lazy=True)
    s = minpy.jit.stats()
    assert onp.allclose(We, Wl, atol=1e-6) and onp.allclose(be, bl, atol=1e-6)
    assert onp.allclose(le, ll, atol=1e-6)
    assert s["cache_misses"] <= 2 and s["cache_hits"] >= 28
    assert s["executed_graphs"] == 30        # forward, backward and update: one graph per step


def test_changing_learning_rate_compiles_at_most_twice():
    _, _, losses = _train(100, lambda t: 0.5 / (1 + t), lazy=True)
    s = minpy.jit.stats()
    assert s["cache_misses"] <= 2, s
    We, _, le = _train(100, lambda t: 0.5 / (1 + t), lazy=False)
    assert onp.allclose(losses, le, atol=1e-6)


def test_scalar_inputs_keep_their_values_after_promotion():
    x = np.ones(4)
    with minpy.lazy():
        got = [float((x * s + 1.0).sum()) for s in (2.0, 3.0, 4.0, 4.0, 2.5)]
    assert got == [12.0, 16.0, 20.0, 20.0, 14.0]
    assert minpy.jit.stats()["cache_misses"] == 2


def test_cache_is_bounded_lru():
    minpy.jit.config.cache_capacity = 3
    with minpy.lazy():
        for n in range(2, 9):
            (np.ones(n) * 2).asnumpy()
    assert minpy.jit.stats()["cache_size"] == 3


def test_function_is_spliced_into_the_graph():
    minpy.jit.config.codegen = "off"         # counts MXNet's nodes: exp and * stay two
    net = mx.sym.Convolution(mx.sym.Variable("x"), name="conv", kernel=(3, 3), num_filter=4,
                             no_bias=True)
    conv = Function(net, input_shapes={"x": (2, 3, 5, 5)}, is_train=False)
    rng = onp.random.RandomState(0)
    x, w = np.array(rng.randn(2, 3, 5, 5)), np.array(rng.randn(4, 3, 3, 3))
    eager = np.exp(conv(x=x, conv_weight=w) * 0.1).asnumpy()
    minpy.jit.reset_stats()
    with minpy.lazy():
        y = np.exp(conv(x=x, conv_weight=w) * 0.1)
        assert _pending(y)
        assert onp.allclose(y.asnumpy(), eager, rtol=1e-5, atol=1e-5)
    s = minpy.jit.stats()
    assert s["eager_ops"] == 0 and s["executed_graphs"] == 1 and s["executed_nodes"] == 3


# ------------------------------------------------------------------------------ seeing inside

def test_stats_and_reset():
    with minpy.lazy():
        (np.ones(3) + 1).asnumpy()
    s = minpy.jit.stats()
    for k in ("flushes", "cache_hits", "cache_misses", "compile_seconds", "executed_graphs",
              "executed_nodes"):
        assert k in s
    assert s["executed_graphs"] == 1 and s["compile_seconds"] > 0
    minpy.jit.reset_stats()
    s = minpy.jit.stats()
    assert s["executed_graphs"] == 0 and s["flushes"] == {}


def test_dot_dump_and_flush_log(tmp_path):
    with minpy.lazy():
        y = np.tanh(np.ones((2, 2)) @ np.ones((2, 2)))
        float(y.sum())  # the flush happens on this line
    line = sys._getframe().f_lineno - 1
    path = minpy.jit.write_last_graph(str(tmp_path / "g.dot"))
    text = open(path).read()
    assert text.startswith("digraph") and "matmul" in text and "tanh" in text and "sum" in text
    g = minpy.jit.dot.last_graph_networkx()
    assert g.number_of_edges() >= 4
    log = minpy.jit.flush_log()
    assert log[-1]["reason"] == "float"
    assert log[-1]["where"] == (__file__, line)



def test_flush_at_the_end_of_a_with_block_names_the_users_line():
    minpy.jit.reset_stats()
    line = sys._getframe().f_lineno + 1
    with minpy.lazy():
        y = np.ones(3) * 2.0    # pending when the block ends: flushed by its exit
    log = minpy.jit.flush_log()
    assert log[-1]["where"][0] == __file__, log[-1]
    assert log[-1]["where"][1] in (line, line + 1)
    assert float(y.sum()) == 6.0


def test_recorded_nodes_and_read_flushes_name_the_users_line():
    """Each entry point (operators, reflected operators, namespace functions, methods,
    the dispatcher itself) records the line that called it, and a read's flush the
    line of the read: the walk that finds them skips minpy's own frames by depth."""
    from minpy.jit.engine import _state
    x = np.ones((2, 3))
    with minpy.lazy():
        eng = _state.engine
        cases = []
        y = x * 2.0; cases.append(sys._getframe().f_lineno)             # noqa: E702
        y = 1.0 - y; cases.append(sys._getframe().f_lineno)             # noqa: E702
        y = np.exp(y); cases.append(sys._getframe().f_lineno)           # noqa: E702
        s = y.sum(axis=0); cases.append(sys._getframe().f_lineno)       # noqa: E702
        t = y.reshape((3, 2)); cases.append(sys._getframe().f_lineno)   # noqa: E702
        u = minpy.dispatch.call.call(REGISTRY["negative"], (t,), None)
        cases.append(sys._getframe().f_lineno - 1)
        assert [n.where for n in eng.nodes] == [(__file__, k) for k in cases]
        minpy.jit.reset_stats()
        u.wait_to_read(); read = sys._getframe().f_lineno               # noqa: E702
        assert minpy.jit.flush_log()[-1]["where"] == (__file__, read)
        v = s + 1.0
        assert onp.allclose(v.asnumpy(), 2 * onp.exp(-1.0) + 1)
        assert minpy.jit.flush_log()[-1]["where"] == (__file__, read + 3)


# ------------------------------------------------------------------------------ robustness

def _failing_op():
    if "_test_fail" in REGISTRY:
        return REGISTRY["_test_fail"]

    def lower(F, x):
        if F is mx.sym:
            raise NotImplementedError("no symbolic form")
        raise mx.base.MXNetError("boom from the test operator")
    return defop("_test_fail", mx=lower, np=lambda x: x)


def test_mxnet_error_during_flush_names_op_and_line():
    op = _failing_op()
    try:
        with minpy.lazy():
            x = np.ones(3)
            ok = x + 1
            bad = minpy.dispatch.call.call(op, (x * 2,), None)
            line = sys._getframe().f_lineno - 1
            with pytest.raises(ValueError) as err:
                bad.asnumpy()
            assert "_test_fail" in str(err.value) and f"{__file__}:{line}" in str(err.value)
            assert "boom" in str(err.value)
            assert onp.allclose(ok.asnumpy(), 2.0)      # unrelated work is still usable
            assert onp.allclose((x * 3).asnumpy(), 3.0)
    finally:
        REGISTRY.pop("_test_fail", None)


def test_threads_have_their_own_lazy_state():
    results, errors = {}, []

    def worker(k):
        try:
            with minpy.lazy(k % 2 == 0):
                acc = np.zeros((8, 8))
                for i in range(50):
                    acc = acc + np.ones((8, 8)) * (k + 1)
                    if i % 10 == 0:
                        float(acc.sum())
                results[k] = acc.asnumpy()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    _in_threads(worker, 4)
    assert not errors, errors
    for k in range(4):
        assert onp.allclose(results[k], 50.0 * (k + 1))
    assert not minpy.is_lazy()


@pytest.mark.slow
def test_ten_thousand_lazy_steps_keep_memory_flat():
    rng = onp.random.RandomState(0)
    X, Y = np.array(rng.randn(8, 3)), np.array(rng.randn(8, 2))
    W = np.array(rng.randn(3, 2) * 0.1)

    def loss(W):
        return ((np.tanh(X @ W) - Y) ** 2).mean()
    step = grad_and_loss(loss)
    eng = None
    with minpy.lazy():
        eng = minpy.dispatch.call.lazy_engine()
        counts = []
        for t in range(10000):
            g, l = step(W)
            W -= (0.1 / (1 + t % 7)) * g
            if t % 50 == 0:
                float(l)
            if t in (1000, 9950):
                minpy.flush()
                gc.collect()
                counts.append((len(gc.get_objects()), minpy.jit.stats()["cache_size"],
                               len(eng.nodes), len(eng.live)))
    (objs0, cache0, _, _), (objs1, cache1, nodes1, live1) = counts
    assert cache1 == cache0
    assert nodes1 == 0 and live1 == 0
    assert objs1 - objs0 < 200, (objs0, objs1)
    assert onp.isfinite(W.asnumpy()).all()


def test_replayed_backward_passes_give_the_eager_gradients():
    """The second and later gradients of the same tape structure come from a replayed
    template; values must follow the new inputs, and changed Python scalars must not
    reuse a template made for other values."""
    rng = onp.random.RandomState(3)

    def loss(W, b, x, scale):
        h = np.tanh(x @ W + b)
        return (h * h * scale).sum() + (np.exp(h[0]) * 0.5).mean()
    step = grad_and_loss(loss, [0, 1])
    minpy.jit.backward_cache._templates.clear()
    for i, scale in enumerate([1.0, 1.0, 2.0, 2.0, 1.0]):
        W, b, x = rng.randn(4, 3), rng.randn(3), rng.randn(5, 4)
        (gWe, gbe), le = step(np.array(W), np.array(b), np.array(x), scale)
        with minpy.lazy():
            (gWl, gbl), ll = step(np.array(W), np.array(b), np.array(x), scale)
            assert onp.allclose(gWl.asnumpy(), gWe.asnumpy(), rtol=1e-5, atol=1e-6), i
            assert onp.allclose(gbl.asnumpy(), gbe.asnumpy(), rtol=1e-5, atol=1e-6), i
            assert abs(float(ll) - float(le)) < 1e-5
    # two scale values -> two tape structures -> two templates
    assert len(minpy.jit.backward_cache._templates) == 2


def test_backward_replay_records_fewer_python_calls():
    rng = onp.random.RandomState(4)
    W, x = np.array(rng.randn(6, 6)), np.array(rng.randn(2, 6))

    def loss(W):
        h = x
        for _ in range(5):
            h = np.tanh(h @ W)
        return h.sum()
    step = grad_and_loss(loss)
    minpy.jit.backward_cache._templates.clear()
    minpy.jit.config.native_backward = "never"      # the tape's own replay is measured
    with minpy.lazy():
        before = dict(minpy.call_stats())
        g1, _ = step(W)
        mid = dict(minpy.call_stats())
        g2, _ = step(W)
        after = dict(minpy.call_stats())
        assert onp.allclose(g1.asnumpy(), g2.asnumpy())
    calls = lambda a, b: sum(v["mxnet"] for v in a.values()) - sum(v["mxnet"] for v in b.values())  # noqa: E731
    assert calls(after, mid) < calls(mid, before)      # the replay ran no vjp calls


@pytest.mark.parametrize("bound", [55, 61, 67, 73, 97])
def test_a_pending_bound_reached_inside_a_replayed_backward_pass(bound):
    """A flush at the pending bound in the middle of a replayed backward pass leaves
    pending values of the ended epoch that no handle keeps; later replayed nodes read
    them, and must get their values (this crashed the logistic-regression example)."""
    rng = onp.random.RandomState(7)
    W0, x = rng.randn(4, 4) * 0.5, np.array(rng.randn(3, 4))

    def loss(W):
        h = x
        for _ in range(4):
            h = np.tanh(h @ W) * 0.9 + 0.1
        return (h * h).sum()
    want = grad_and_loss(loss)(np.array(W0))[0].asnumpy()
    minpy.jit.backward_cache._templates.clear()
    minpy.jit.config.max_pending = bound
    with minpy.lazy():
        grads = [grad_and_loss(loss)(np.array(W0))[0] for _ in range(6)]   # nothing read
        got = [g.asnumpy() for g in grads]
    for g in got:
        assert onp.allclose(g, want, rtol=1e-5, atol=1e-6)


def test_graph_with_a_result_computed_wider_than_its_dtype_still_compiles():
    """max's gradient divides a float32 mask by an int64 tie count: NumPy computes that in
    float64 and MinPy rounds it to float32; the graph must still compile (not fall back to
    running node by node) and give NumPy's values."""
    from minpy.core import grad
    a = onp.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]], "float32")
    minpy.jit.reset_stats()
    with minpy.lazy():
        g = grad(lambda x: np.sum((x - np.max(x, axis=1, keepdims=True)) * np.arange(3.0)))(
            np.array(a))
        got = g.asnumpy()
    assert minpy.jit.stats()["interpreted_nodes"] == 0, minpy.jit.stats()
    want = onp.tile(onp.arange(3.0), (2, 1))
    want[0, 1:] -= 3.0 / 2          # the two tied maxima share the row's gradient
    want[1, 0] -= 3.0
    onp.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("codegen", ["off", "auto"])
def test_inf_and_nan_scalars_in_graphs(codegen):
    """MXNet cannot hold inf or nan as an operator attribute ("Out of range value for
    scalar"): such scalars are fed as graph inputs, in lazy mode and under @jit."""
    minpy.jit.config.codegen = codegen
    v0 = np.array([False, True])
    with minpy.lazy():
        v5 = v0 - float("inf")
        v17 = v5 > -2
        v23 = np.log2(v17)
        got = [v5.asnumpy(), v17.asnumpy(), v23.asnumpy()]
    with onp.errstate(all="ignore"):
        w5 = onp.array([False, True]) - onp.float32(onp.inf)
        want = [w5, w5 > -2, onp.log2((w5 > -2).astype("float32"))]
    for g, w in zip(got, want):
        onp.testing.assert_array_equal(g, w)
    f = minpy.jit(lambda a, s: (a * s + 1.0, a - s))
    xh = onp.array([1.0, -2.0, 0.0], "float32")
    for s in (float("inf"), float("-inf"), float("nan"), 2.0):
        r = f(np.array(xh), s)
        with onp.errstate(all="ignore"):
            w = (xh * onp.float32(s) + onp.float32(1.0), xh - onp.float32(s))
        for a, b in zip(r, w):
            onp.testing.assert_array_equal(a.asnumpy(), b)
