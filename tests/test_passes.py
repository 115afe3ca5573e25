"""Compile-time graph passes: same results with and without them, fewer nodes with."""
import numpy as onp
import pytest
from hypothesis import given, settings, strategies as st

import minpy
import minpy.numpy as np
from minpy.core import grad_and_loss
from mode_runner import run_in_mode


@pytest.fixture(autouse=True)
def _restore():
    saved = dict(vars(minpy.jit.config))
    minpy.jit.config.codegen = "off"   # these tests count the passes' own nodes and vehicles
    minpy.jit.config.fc_transposed = "fc"   # ... and FullyConnected nodes (not measured choices)
    minpy.jit.compile.cache.clear()
    minpy.jit.reset_stats()
    yield
    vars(minpy.jit.config).update(saved)
    minpy.jit.compile.cache.clear()
    minpy.set_lazy(False)


def _run_lazy(fn, *args, passes=True):
    minpy.jit.config.graph_passes = passes
    minpy.jit.compile.cache.clear()
    minpy.jit.reset_stats()
    with minpy.lazy():
        out = fn(*args)
        out = [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])]
    return out, minpy.jit.stats()["executed_nodes"]


def _rnn_grad(Wx, Wh, xs):
    def loss(Wx, Wh):
        h = np.zeros((xs.shape[1], Wh.shape[0]))
        for t in range(xs.shape[0]):
            h = np.tanh(np.dot(xs[t], Wx) + np.dot(h, Wh))
        return (h * h).sum()
    grads, l = grad_and_loss(loss, [0, 1])(Wx, Wh)
    return grads + [l]


def test_batching_shrinks_the_rnn_gradient_graph_and_keeps_its_values():
    rng = onp.random.RandomState(0)
    xs = np.array(rng.randn(12, 4, 3))
    Wx, Wh = np.array(rng.randn(3, 5) * 0.3), np.array(rng.randn(5, 5) * 0.3)
    with_passes, n_with = _run_lazy(_rnn_grad, Wx, Wh, xs, passes=True)
    without, n_without = _run_lazy(_rnn_grad, Wx, Wh, xs, passes=False)
    for a, b in zip(with_passes, without):
        assert onp.allclose(a, b, rtol=1e-5, atol=1e-6)
    # 12 input projections -> 1 product; 12 weight-gradient products + their sum -> 1
    assert n_with <= n_without - 30, (n_with, n_without)


def test_cse_merges_repeated_work():
    x = np.array(onp.arange(12.0).reshape(3, 4))

    def f(x):
        a = np.exp(x * 0.1) + 1.0
        b = np.exp(x * 0.1) + 1.0
        return a * b
    with_passes, n_with = _run_lazy(f, x, passes=True)
    without, n_without = _run_lazy(f, x, passes=False)
    assert onp.allclose(with_passes[0], without[0])
    assert onp.allclose(with_passes[0], (onp.exp(onp.arange(12.0).reshape(3, 4) * 0.1) + 1) ** 2,
                        rtol=1e-5)
    assert n_with == n_without - 3


def test_random_operators_are_never_merged():
    def f(shape):
        return np.random.uniform(size=shape), np.random.uniform(size=shape)
    with minpy.lazy():
        a, b = f((50,))
        assert not onp.allclose(a.asnumpy(), b.asnumpy())


products = st.lists(st.tuples(st.integers(1, 4), st.sampled_from(["dot", "matmul"])),
                    min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(parts=products, shared=st.booleans(), accumulate=st.booleans(), seed=st.integers(0, 999))
def test_passes_preserve_results_on_generated_graphs(parts, shared, accumulate, seed):
    """Products that may share a right operand, chained or independent, summed or not."""
    rng = onp.random.RandomState(seed)
    W = np.array(rng.randn(3, 3))
    Ws = [np.array(rng.randn(3, 3)) for _ in parts]
    xs = [np.array(rng.randn(rows, 3)) for rows, _ in parts]

    def program():
        outs = []
        prev = None
        for i, ((rows, kind), x) in enumerate(zip(parts, xs)):
            right = W if shared else Ws[i]
            left = x if prev is None or prev.shape[0] != rows or i % 2 else x + prev
            y = getattr(np, kind)(left, right)
            outs.append(y)
            prev = y
        if accumulate:
            def loss(W):
                return sum((getattr(np, k)(x, W) * 0.5).sum() for (r, k), x in zip(parts, xs))
            g, _ = grad_and_loss(loss)(W)
            outs.append(g)
        return outs
    with_passes, _ = _run_lazy(program, passes=True)
    without, _ = _run_lazy(program, passes=False)
    for a, b in zip(with_passes, without):
        assert a.shape == b.shape
        assert onp.allclose(a, b, rtol=1e-5, atol=1e-5)


def test_large_products_run_as_fully_connected_with_the_same_values(monkeypatch):
    rng = onp.random.RandomState(1)
    X = np.array(rng.randn(64, 96))
    W1, W2 = np.array(rng.randn(96, 128) * 0.1), np.array(rng.randn(128, 10) * 0.1)

    def step(W1, W2):
        def loss(W1, W2):
            h = np.maximum(X @ W1, 0.0)
            return ((h @ W2) ** 2).mean()
        grads, l = grad_and_loss(loss, [0, 1])(W1, W2)
        return grads + [l]
    compiled_ops = _compiled_op_names(monkeypatch)
    minpy.jit.config.fully_connected = True
    with_fc, _ = _run_lazy(step, W1, W2)
    minpy.jit.config.fully_connected = False
    without, _ = _run_lazy(step, W1, W2)
    for a, b in zip(with_fc, without):
        assert onp.allclose(a, b, rtol=1e-4, atol=1e-6)
    # X @ W1 and its weight gradient reach fc_min_flops (64*96*128); the products
    # with the 10-wide W2 (64*128*10) do not
    assert compiled_ops[0].count("_fully_connected") == 2
    assert "_fully_connected" not in compiled_ops[1]


def test_constant_folding_computes_input_free_work_once():
    x = np.array(onp.arange(12.0).reshape(3, 4))

    def f(x):
        c = np.ones((3, 4)) * 2.0 + np.eye(3, 4).sum()      # reads no graph input
        return x * c + np.ones_like(x) * np.arange(4.0)      # ones_like reads only x's shape
    with_fold, n_with = _run_lazy(f, x, passes=True)
    without, n_without = _run_lazy(f, x, passes=False)
    ref = onp.arange(12.0).reshape(3, 4) * 5.0 + onp.arange(4.0)
    assert onp.allclose(with_fold[0], ref) and onp.allclose(without[0], ref)
    assert n_with == 2 and n_without > n_with          # x * c and the sum; the rest folded
    # cached: a second flush with a new x reuses the folded values
    minpy.jit.config.graph_passes = True
    with minpy.lazy():
        y = f(x + 1.0).asnumpy()
    assert onp.allclose(y, ref + 5.0)


def _compiled_op_names(monkeypatch):
    names = []
    real = minpy.jit.passes.from_ir

    def spy(pnodes, outs):
        names.append(sorted(n.op.name for n in pnodes))
        return real(pnodes, outs)
    monkeypatch.setattr(minpy.jit.passes, "from_ir", spy)
    return names


def test_a_bias_add_joins_the_fully_connected_product(monkeypatch):
    rng = onp.random.RandomState(2)
    X = np.array(rng.randn(64, 96))
    W, b = np.array(rng.randn(96, 128) * 0.1), np.array(rng.randn(128))

    def step(W, b):
        def loss(W, b):
            a = X @ W + b                       # fused: nothing else reads X @ W
            return (np.maximum(a, 0.0) ** 2).mean()
        grads, l = grad_and_loss(loss, [0, 1])(W, b)
        return grads + [l, b + X @ (W * 2.0)]   # the bias first: fused too
    names = _compiled_op_names(monkeypatch)
    fused, _ = _run_lazy(step, W, b)
    minpy.jit.config.fully_connected = False
    plain, _ = _run_lazy(step, W, b)
    Xn, Wn, bn = X.asnumpy(), W.asnumpy(), b.asnumpy()
    a = Xn @ Wn + bn
    ref = [Xn.T @ (2 * onp.maximum(a, 0) / a.size), (2 * onp.maximum(a, 0) / a.size).sum(0),
           (onp.maximum(a, 0) ** 2).mean(), Xn @ (Wn * 2.0) + bn]
    for got, other, want in zip(fused, plain, ref):
        assert onp.allclose(got, want, rtol=1e-4, atol=1e-6)
        assert onp.allclose(got, other, rtol=1e-4, atol=1e-6)
    assert names[0].count("_fully_connected_bias") == 2 and "add" not in names[0]
    assert "_fully_connected_bias" not in names[1]


@pytest.mark.parametrize("how", ["fc", "dot", "measure"])
def test_products_needing_transposes_keep_their_values_under_each_lowering(monkeypatch, how):
    """``fc_transposed``: a product FullyConnected could take only after a transpose runs
    as transposes + FC, as dot with transpose flags, or as whichever measured faster; an
    SGD step gives NumPy's values after several steps under each."""
    from minpy.jit import passes
    rng = onp.random.RandomState(5)
    Xn = rng.randn(64, 96).astype("float32")
    W1n, W2n = (rng.randn(96, 128) * 0.1).astype("float32"), (rng.randn(128, 96) * 0.1).astype("float32")
    X = np.array(Xn)
    minpy.jit.config.fc_transposed = how
    names = _compiled_op_names(monkeypatch)

    @minpy.jit
    def step(W1, W2):
        def loss(W1, W2):
            h = np.maximum(X @ W1, 0.0)
            return ((h @ W2) ** 2).mean()
        grads, l = grad_and_loss(loss, [0, 1])(W1, W2)
        W1[:] = W1 - 0.1 * grads[0]
        W2[:] = W2 - 0.1 * grads[1]
        return l
    W1, W2 = np.array(W1n), np.array(W2n)
    for _ in range(3):
        loss = step(W1, W2)
        h = onp.maximum(Xn @ W1n, 0)
        out = h @ W2n
        want = (out ** 2).mean()
        g_out = 2 * out / out.size
        g2 = h.T @ g_out
        g1 = Xn.T @ ((g_out @ W2n.T) * (h > 0))
        W1n, W2n = W1n - 0.1 * g1, W2n - 0.1 * g2
        assert onp.allclose(float(loss), want, rtol=1e-4)
    assert onp.allclose(W1.asnumpy(), W1n, rtol=1e-4, atol=1e-5)
    assert onp.allclose(W2.asnumpy(), W2n, rtol=1e-4, atol=1e-5)
    fcs = names[0].count("_fully_connected")
    # X @ W1 and h @ W2 (the weights transposed for FC), X.T @ g and h.T @ g_out (the
    # activations transposed) need transposes; g_out @ W2.T does not: FC under every setting
    if how == "fc":
        assert fcs == 5 and "transpose" in names[0]
    elif how == "dot":
        assert fcs == 1 and "transpose" not in names[0]
    else:
        assert 1 <= fcs <= 5
        assert all(type(won) is bool for won in passes._measured.values())


def test_the_measured_choice_is_made_once_per_shape():
    from minpy.jit import passes
    minpy.jit.config.fc_transposed = "measure"
    passes._measured.clear()
    first = passes.dot_beats_fc((64, 96), (96, 128), False, False)
    assert list(passes._measured) == [((64, 96), (96, 128), False, False)]
    passes._measured[((64, 96), (96, 128), False, False)] = not first   # cached: not timed again
    assert passes.dot_beats_fc((64, 96), (96, 128), False, False) is (not first)
    # measured on the CPU only: a graph on another device keeps FullyConnected
    assert passes.dot_beats_fc((32, 32), (32, 32), True, False, cpu=False) is False
    assert ((32, 32), (32, 32), True, False) not in passes._measured
    minpy.jit.config.fc_transposed = "dot"
    assert passes.dot_beats_fc((8, 8), (8, 8), True, False) is True
    minpy.jit.config.fc_transposed = "fc"
    assert passes.dot_beats_fc((8, 8), (8, 8), True, False) is False



def test_the_measured_choice_is_kept_on_disk_for_the_next_process(monkeypatch, tmp_path):
    """A new process reads the choice instead of timing again (a close call could flip,
    give another graph and miss the kernel cache); another cache directory measures."""
    from minpy.jit import passes
    monkeypatch.setenv("MINPY_CACHE_DIR", str(tmp_path))
    minpy.jit.config.fc_transposed = "measure"
    key = ((80, 48), (80, 96), True, False)       # op(a) @ op(b) = a.T @ b
    passes._measured.clear()
    first = passes.dot_beats_fc(*key)
    files = list((tmp_path / "kernels").glob("fc-*"))
    assert len(files) == 1 and files[0].read_text() == ("dot" if first else "fc")
    files[0].write_text("fc" if first else "dot")     # what "another process" measured
    passes._measured.clear()                          # this process forgets

    def no_timing(*a, **k):
        raise AssertionError("timed again although a choice was stored")
    monkeypatch.setattr(passes, "_timer", no_timing)
    assert passes.dot_beats_fc(*key) is (not first)
    files[0].write_text("garbage")       # unreadable: timed again; here the timer fails,
    passes._measured.clear()             # and a failed measurement keeps FullyConnected
    assert passes.dot_beats_fc(*key) is False

def test_a_bias_add_stays_apart_when_the_product_is_read_elsewhere(monkeypatch):
    rng = onp.random.RandomState(3)
    X, W = np.array(rng.randn(64, 96)), np.array(rng.randn(96, 128))
    b = np.array(rng.randn(128))
    names = _compiled_op_names(monkeypatch)
    def f():
        p = X @ W
        return p + b, p
    (s, p), _ = _run_lazy(f)
    assert onp.allclose(s, X.asnumpy() @ W.asnumpy() + b.asnumpy(), rtol=1e-4, atol=1e-4)
    assert onp.allclose(p, X.asnumpy() @ W.asnumpy(), rtol=1e-4, atol=1e-4)
    assert "_fully_connected_bias" not in names[0] and "add" in names[0]


@pytest.mark.parametrize("axis,ok", [(None, True), (0, True), ((0, 1), True), (2, True),
                                     ((1, 2), True), (1, False), ((0, 2), False)])
def test_large_float_sums_run_as_products_with_ones(axis, ok):
    import mxnet as mx
    from minpy.ops import reduction
    x = onp.random.RandomState(4).randn(16, 24, 12).astype("float32")
    out = reduction._sum_by_product(mx.nd, mx.nd.array(x).as_np_ndarray(), axis, True, False)
    assert (out is not None) == ok
    if ok:
        assert onp.allclose(out.asnumpy(), x.sum(axis=axis, keepdims=True), rtol=1e-4, atol=1e-4)
    # too small, or integer: MXNet's own reduction
    small = mx.nd.array(x[:2, :2]).as_np_ndarray()
    assert reduction._sum_by_product(mx.nd, small, axis, False, False) is None
    ints = mx.nd.array(x, dtype="int32").as_np_ndarray()
    assert reduction._sum_by_product(mx.nd, ints, axis, False, False) is None


def test_writing_a_whole_array_records_no_copy_of_the_old_value(monkeypatch):
    import mxnet as mx
    graphs = []
    real = mx.sym.Group

    def spy(symbols):
        g = real(symbols)
        graphs.append(g.tojson())
        return g
    monkeypatch.setattr(mx.sym, "Group", spy)
    w = np.array(onp.arange(12.0).reshape(3, 4))
    v = np.array(onp.ones((3, 4)))
    with minpy.lazy():
        u = w * 1.0
        u[:] = v * 2.0                           # every element: no _slice_assign
        got_u = u.asnumpy()
    whole = list(graphs)
    graphs.clear()
    with minpy.lazy():
        t = w * 1.0
        t[1:] = v[1:] * 2.0                      # part of it: a slice assignment
        got_t = t.asnumpy()
    assert onp.array_equal(got_u, onp.full((3, 4), 2.0))
    want_t = onp.arange(12.0).reshape(3, 4)
    want_t[1:] = 2.0
    assert onp.array_equal(got_t, want_t)
    assert whole and not any("_slice_assign" in g for g in whole)
    assert any("_slice_assign" in g for g in graphs)


def test_graphs_with_mxnet_backward_operators_can_run_as_a_cached_op():
    """ReLU and tanh gradients lower to MXNet's backward operators, which a CachedOp
    refuses unless a BlockGrad stops its gradient graph: a training step whose weights
    are new buffers every step still moves to one under vehicle="auto"."""
    rng = onp.random.RandomState(5)
    X = np.array(rng.randn(256, 300))
    W0 = rng.randn(300, 256) * 0.1

    def loss(W):
        return (np.tanh(np.maximum(X @ W, 0.0)) * 0.5).sum()
    for vehicle in ("auto", "executor"):
        minpy.jit.config.vehicle = vehicle
        minpy.jit.compile.cache.clear()
        W = np.array(W0)
        for step in range(4):
            with minpy.lazy():
                g, l = grad_and_loss(loss)(W)
                got = g.asnumpy()
            a = X.asnumpy() @ W.asnumpy()
            t = onp.tanh(onp.maximum(a, 0.0))
            want = X.asnumpy().T @ (0.5 * (1 - t * t) * (a >= 0))
            assert onp.allclose(got, want, rtol=1e-4, atol=1e-4)
            W = W - 0.01 * g              # a new buffer for the next step
        graphs = [v for e in minpy.jit.compile.cache.values() for v in e.by_values.values()]
        kinds = {type(getattr(v, "alt", None) or v).__name__ for v in graphs}
        assert kinds == ({"_CachedGraph"} if vehicle == "auto" else {"_Compiled"}), kinds


def test_auto_keeps_the_executor_for_graphs_fed_the_same_buffers():
    """A chain over fixed arrays copies nothing in after its first run: the executor,
    which ran such graphs faster than the CachedOp, stays; values match NumPy."""
    rng = onp.random.RandomState(7)
    xn, yn = rng.randn(300, 300).astype("float32"), rng.randn(300, 300).astype("float32")
    x, y = np.array(xn), np.array(yn)
    minpy.jit.config.vehicle = "auto"
    minpy.jit.compile.cache.clear()
    for _ in range(4):
        with minpy.lazy():
            got = (np.sqrt(np.abs(x * y) + 1.0) - x).asnumpy()
        onp.testing.assert_allclose(got, onp.sqrt(onp.abs(xn * yn) + 1.0) - xn, rtol=1e-5)
    graphs = [v for e in minpy.jit.compile.cache.values() for v in e.by_values.values()]
    assert graphs and all(type(v).__name__ == "_Compiled" and v.alt is None for v in graphs)


def test_a_scaled_product_scales_its_smaller_operand(monkeypatch):
    """``W - lr * (X.T @ G)``: the learning rate multiplies X.T (96x64, the smaller
    operand) inside the product rather than the 96x128 result; values as without it."""
    rng = onp.random.RandomState(6)
    X, G = np.array(rng.randn(64, 96)), np.array(rng.randn(64, 128))
    W = np.array(rng.randn(96, 128))
    seen = []
    real = minpy.jit.passes.from_ir

    def spy(pnodes, outs):
        for n in pnodes:
            if n.op.name == "_fully_connected":
                seen.append([d[1].op.name if d[0] == "n" else d[0] for d in n.ins])
        return real(pnodes, outs)
    monkeypatch.setattr(minpy.jit.passes, "from_ir", spy)
    got, _ = _run_lazy(lambda: W - 0.1 * (X.T @ G))
    plain, _ = _run_lazy(lambda: W - 0.1 * (X.T @ G), passes=False)
    want = W.asnumpy() - 0.1 * (X.asnumpy().T @ G.asnumpy())
    assert onp.allclose(got[0], want, rtol=1e-4, atol=1e-4)
    assert onp.allclose(got[0], plain[0], rtol=1e-4, atol=1e-4)
    assert seen == [["multiply", "transpose"]]        # X.T scaled, G.T as it was



def _max_split_grad(xh, axis):
    """NumPy reference: the gradient of max(x, axis).sum(), ties sharing it evenly."""
    m = xh.max(axis=axis, keepdims=True)
    hit = (xh == m)
    return hit / hit.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_max_gradient_stays_float32_and_splits_ties(mode):
    """The tie count of max's gradient is counted in the gradient's dtype: as int64 it
    promoted a float32 softmax step to float64 (NumPy's float32 / int64), and in a
    compiled graph made MXNet's type inference fail, which cast every node."""
    xh = onp.array([[1.0, 3.0, 3.0, 0.5], [2.0, -1.0, 0.0, 2.0], [5.0, 5.0, 5.0, 5.0]],
                   dtype="float32")
    x = np.array(xh)

    def loss(x):
        return (np.max(x, axis=1) * np.array([1.0, 2.0, 3.0], dtype="float32")).sum()
    g = grad_and_loss(loss)
    want = _max_split_grad(xh, 1) * onp.array([[1.0], [2.0], [3.0]])
    if mode == "jit":
        step = minpy.jit(lambda x: g(x)[0])
        outs = [step(x), step(x)]
    else:
        with minpy.lazy(mode == "lazy"):
            outs = [g(x)[0]]
    for out in outs:
        assert out.dtype == onp.float32
        onp.testing.assert_allclose(out.asnumpy(), want, rtol=1e-6)
    if mode == "lazy":
        from minpy.jit import compile as _c
        nodes, _ = _c.last_graph
        assert not any("float64" in repr(attrs) for _, attrs, _ in nodes), nodes


@pytest.mark.parametrize("name", ["positive", "negative", "sin", "exp", "sqrt", "absolute"])
@pytest.mark.parametrize("mode", ["lazy", "jit"])
def test_cse_keeps_apart_calls_of_other_result_dtypes(name, mode):
    """``op(float16_x)`` runs as ``op`` of a float32 cast of x, rounded back to float16:
    the same operator on the same input as ``op(x.astype('float32'))``. Merged, the
    float16 result held the float32 one's buffer (.dtype float16, data float32)."""
    fn = getattr(np, name)
    host = onp.array([1.5, 2.25, 0.1, 7.0], dtype="float16")

    def both(x):
        return [fn(x.astype("float32")), fn(x)]

    out = run_in_mode(mode, both, np.array(host))
    want = [getattr(onp, name)(host.astype("float32")), getattr(onp, name)(host)]
    for o, w in zip(out, want):
        assert o.dtype == w.dtype
        assert onp.dtype(o._mx().dtype) == w.dtype      # the buffer's own dtype
        onp.testing.assert_array_equal(o.asnumpy(), w)
