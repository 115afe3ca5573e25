"""MXNet running the backward pass of lazy graphs (minpy/jit/native_grad.py).

Every operator marked ``mxgrad`` is checked here: gradients with MXNet running
the backward pass equal MinPy's recorded backward pass and NumPy's numerical
differences, ties included. Graphs the native pass must refuse fall back to the
tape with the same results.
"""
import mxnet as mx
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import Function, grad_and_loss
from minpy.dispatch.registry import REGISTRY
from minpy.jit import native_grad
from refusing_op import REFUSE, refusing


@pytest.fixture(autouse=True)
def _restore(clean_jit_state):
    minpy.jit.compile.cache.clear()
    yield
    minpy.jit.compile.cache.clear()


class _Taken:
    """Records, while active, whether each backward pass was recorded natively."""

    def __init__(self) -> None:
        self.taken = []
        self.real = native_grad.try_record

    def __enter__(self):
        def spy(*a, **k):
            out = self.real(*a, **k)
            self.taken.append(out is not None)
            return out
        native_grad.try_record = spy
        return self.taken

    def __exit__(self, *exc):
        native_grad.try_record = self.real


def _grads(loss, args, mode, lazy=True):
    """Gradients and loss in lazy mode with ``native_backward=mode``; whether a
    ``_vjp`` node was recorded."""
    minpy.jit.config.native_backward = mode
    minpy.jit.compile.cache.clear()
    with _Taken() as recorded, minpy.lazy(lazy):
        gs, l = grad_and_loss(loss, list(range(len(args))))(*[np.array(a) for a in args])
        values = [g.asnumpy() for g in gs] + [float(l)]
    return values, any(recorded)


def _numeric(loss, args, eps=1e-3):
    """Central differences in float64 NumPy."""
    out = []
    for i, a in enumerate(args):
        g = onp.zeros_like(a, dtype="float64")
        for idx in onp.ndindex(a.shape):
            hi = [x.astype("float64") for x in args]
            lo = [x.astype("float64") for x in args]
            hi[i][idx] += eps
            lo[i][idx] -= eps
            g[idx] = (loss(onp, *hi) - loss(onp, *lo)) / (2 * eps)
        out.append(g)
    return out


rng = onp.random.RandomState(0)
A = rng.randn(3, 4).astype("float32")
B = rng.randn(3, 4).astype("float32")
P = (rng.rand(3, 4) + 0.5).astype("float32")
M = rng.randn(4, 5).astype("float32")
V = rng.randn(4).astype("float32")
TIES = onp.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 0.5, -1.0, 0.5]],
                 dtype="float32")

# convolution and pooling: MinPy's layers, or the operators' NumPy implementations
IMG = rng.randn(2, 2, 5, 6).astype("float32")
FILT = (rng.randn(3, 2, 3, 3) * 0.5).astype("float32")
CONV_COT = rng.randn(2, 3, 3, 3).astype("float32")
POOL_COT = rng.randn(2, 2, 2, 3).astype("float32")
IMG_TIES = onp.floor(rng.rand(2, 2, 5, 6) * 3).astype("float32")       # 0, 1, 2: many ties


def _conv(xp, x, w, b, stride, pad):
    if xp is onp:
        from minpy.ops.nn import _conv_np
        return _conv_np(x, w, b, (stride, stride), (pad, pad))
    from minpy.nn import layers
    return layers.conv2d(x, w, b, pad=pad, stride=stride)


def _pool(xp, x, pool, stride):
    if xp is onp:
        from minpy.ops.nn import _pool_np
        return _pool_np(x, (pool, pool), (stride, stride))
    from minpy.nn import layers
    return layers.max_pool(x, pool, pool, stride=stride)


# (name, loss(xp, *args), args): each mxgrad operator on the gradient path
CASES = [
    ("add", lambda xp, a, b: (xp.add(a, b) * a).sum(), (A, B)),
    ("add-broadcast", lambda xp, a, v: (xp.add(a, v) * a).sum(), (A, V)),
    ("subtract", lambda xp, a, b: (xp.subtract(a, b) * b).sum(), (A, B)),
    ("multiply", lambda xp, a, b: xp.multiply(a, b).sum(), (A, B)),
    ("true_divide", lambda xp, a, p: xp.true_divide(a, p).sum(), (A, P)),
    ("divide", lambda xp, a, p: xp.divide(p, a * 0.1 + 3.0).sum(), (A, P)),
    ("negative", lambda xp, a: (xp.negative(a) * a).sum(), (A,)),
    ("exp", lambda xp, a: xp.exp(a).sum(), (A,)),
    ("log", lambda xp, p: xp.log(p).sum(), (P,)),
    ("tanh", lambda xp, a: xp.tanh(a).sum(), (A,)),
    ("sqrt", lambda xp, p: xp.sqrt(p).sum(), (P,)),
    ("maximum", lambda xp, a, b: (xp.maximum(a, b) * a).sum(), (A, B)),
    ("maximum-ties", lambda xp, t: (xp.maximum(t, 2.0) * t).sum(), (TIES,)),
    ("minimum", lambda xp, a, b: (xp.minimum(a, b) * b).sum(), (A, B)),
    ("minimum-ties", lambda xp, t, u: (xp.minimum(t, u) * t).sum(), (TIES, TIES.copy())),
    ("power", lambda xp, a: (xp.power(a, 2) * a).sum(), (A,)),
    ("power-array", lambda xp, p, a: xp.power(p, a * 0.5).sum(), (P, A)),
    ("power-zeros", lambda xp, z, e: (xp.power(z, e) + z ** 0.0 * z).sum(),
     (onp.array([0.0, 1.0, 0.0, 2.0], "float32"), onp.array([0.0, 2.0, 3.0, 0.0], "float32"))),
    ("power-negative-base", lambda xp, a, p: xp.power(a, p * 0.0 + 2.0).sum(), (A, P)),
    ("dot", lambda xp, a, m: xp.dot(a, m).sum(), (A, M)),
    ("matmul", lambda xp, a, m: (xp.matmul(a, m) * 3.0).sum(), (A, M)),
    ("reshape", lambda xp, a: (xp.reshape(a, (4, 3)) * xp.arange(12.0).reshape(4, 3)).sum(),
     (A,)),
    ("transpose", lambda xp, a: (xp.transpose(a) * M[:, :3]).sum(), (A,)),
    ("broadcast_to", lambda xp, v: (xp.broadcast_to(v, (3, 4)) * A).sum(), (V,)),
    ("sum", lambda xp, a: (xp.sum(a, axis=0) * xp.arange(4.0)).sum(), (A,)),
    ("mean", lambda xp, a: (xp.mean(a, axis=1, keepdims=True) * a).sum(), (A,)),
    ("max-ties", lambda xp, t: (xp.max(t, axis=1) * xp.arange(3.0)).sum(), (TIES,)),
    ("min-ties", lambda xp, t: (xp.min(t, axis=0) * xp.arange(4.0)).sum(), (TIES,)),
    ("amax-ties-all", lambda xp, t: xp.amax(t) * 2.0, (TIES,)),
    ("amin-ties", lambda xp, t: (xp.amin(t, axis=1, keepdims=True) * t).sum(), (TIES,)),
    ("nn.conv2d", lambda xp, x, w, b: (_conv(xp, x, w, b, 2, 1) * CONV_COT).sum(),
     (IMG, FILT, FILT[:, 0, 0, 0] * 0.5)),
    ("nn.conv2d-pad", lambda xp, x, w, b: xp.tanh(_conv(xp, x, w, b, 1, 1)).sum(),
     (IMG, FILT, FILT[:, 0, 0, 0] * 0.5)),
    ("nn.max_pool", lambda xp, x: (_pool(xp, x, 2, 2) * POOL_COT).sum(), (IMG,)),
    ("nn.max_pool-ties", lambda xp, t: (_pool(xp, t, 2, 2) * POOL_COT).sum(), (IMG_TIES,)),
    ("nn.max_pool-overlapping", lambda xp, x: (_pool(xp, x, 3, 1) ** 2).sum(), (IMG,)),
]


@pytest.mark.parametrize("name,loss,args", CASES, ids=[c[0] for c in CASES])
def test_mxnet_backward_equals_the_tape_and_numerical_differences(name, loss, args):
    native, used = _grads(lambda *a: loss(np, *a), args, "always")
    assert used, "the native backward pass was not taken"
    tape, used_tape = _grads(lambda *a: loss(np, *a), args, "never")
    assert not used_tape
    eager, _ = _grads(lambda *a: loss(np, *a), args, "always", lazy=False)
    for got, want, e in zip(native, tape, eager):
        assert onp.allclose(got, want, rtol=1e-5, atol=1e-5), (got, want)
        assert onp.allclose(got, e, rtol=1e-5, atol=1e-5)
    if "ties" not in name and "zeros" not in name:   # differences straddle a tie or a pole
        for got, num in zip(native, _numeric(loss, args)):
            assert onp.allclose(got, num, rtol=1e-2, atol=1e-2), (got, num)


@pytest.fixture
def two_phase_fails(monkeypatch):
    """Compiled graphs holding a ``_vjp`` node cannot be built: MinPy interprets them
    node by node (the path a graph MXNet cannot bind takes)."""
    from minpy.jit import two_phase

    def refuse(*a, **k):
        raise ValueError("this test: no two-phase vehicle")
    monkeypatch.setattr(two_phase, "compile_two_phase", refuse)


_FCONV = mx.sym.Convolution(data=mx.sym.Variable("x"), weight=mx.sym.Variable("w"),
                            bias=mx.sym.Variable("b"), kernel=(3, 3), pad=(1, 1), num_filter=3)


def _function_case():
    f = Function(_FCONV, {"x": IMG.shape})
    return ("_function", lambda xp, x, w, b: xp.tanh(f(x=x, w=w, b=b)).sum(),
            (IMG, FILT, FILT[:, 0, 0, 0] * 0.5))


@pytest.mark.parametrize("name,loss,args", CASES + [_function_case()],
                         ids=[c[0] for c in CASES] + ["_function"])
def test_an_interpreted_native_backward_pass_equals_the_tape(name, loss, args, two_phase_fails):
    # a Function's parameters had zero gradients here: its eager lowering runs an
    # executor, which mxnet.autograd does not record
    native, used = _grads(lambda *a: loss(np, *a), args, "always")
    assert used, "the native backward pass was not taken"
    tape, _ = _grads(lambda *a: loss(np, *a), args, "never")
    for got, want in zip(native, tape):
        assert onp.allclose(got, want, rtol=1e-5, atol=1e-5), (name, got, want)


def test_every_marked_operator_has_a_case():
    covered = {c[0].split("-")[0] for c in CASES}
    internal = {"_matmul_t", "_fully_connected", "_fully_connected_bias", "_function",
                "nn.relu", "nn.sigmoid", "_log_softmax"}   # covered by the tests below
    marked = {n for n, op in REGISTRY.items() if op.mxgrad is not None}
    assert marked - covered - internal == set()


def _op(name, *args):
    return minpy.dispatch.call.call(REGISTRY[name], args, {})


def test_internal_and_nn_operators():
    from minpy.ops.fused import matmul_t
    W = rng.randn(6, 4).astype("float32")

    def loss(x, w, v):
        a = _op("_fully_connected_bias", x, w, v)
        b = _op("_fully_connected", x, w)
        c = matmul_t(x, w, False, True)
        return (_op('nn.relu', a) * _op('nn.sigmoid', b) * c).sum()
    v6 = rng.randn(6).astype("float32")
    native, used = _grads(loss, (A, W, v6), "always")
    tape, _ = _grads(loss, (A, W, v6), "never")
    assert used
    for got, want in zip(native, tape):
        assert onp.allclose(got, want, rtol=1e-5, atol=1e-5)


def _sgd(loss, n, lr=0.1):
    gl = grad_and_loss(loss, list(range(n)))

    def step(*args):
        grads, l = gl(*args)
        for p, g in zip(args[:n], grads):
            p[:] = p - lr * g
        return l
    return step


def test_a_jitted_training_step_runs_as_two_phases_with_the_tape_results():
    X = rng.randn(16, 8).astype("float32")
    W0, b0 = rng.randn(8, 5).astype("float32") * 0.3, onp.zeros(5, "float32")

    def loss(W, b, x):
        s = np.maximum(x @ W + b, 0.0)
        return (s * s).mean()
    results = {}
    for mode in ("always", "never"):
        minpy.jit.config.native_backward = mode
        W, b = np.array(W0), np.array(b0)
        step = minpy.jit(_sgd(loss, 2))
        losses = [float(step(W, b, np.array(X))) for _ in range(3)]
        results[mode] = (losses, W.asnumpy(), b.asnumpy())
        kind = type(next(iter(step.cache.values())).compiled).__name__
        assert (kind == "_TwoPhase") == (mode == "always")
    for a, b in zip(results["always"], results["never"]):
        assert onp.allclose(a, b, rtol=1e-5, atol=1e-6)


def test_function_symbols_are_differentiated_by_mxnet_inside_one_jitted_graph():
    x = rng.randn(4, 1, 6, 6).astype("float32")
    w0 = rng.randn(3, 1, 3, 3).astype("float32") * 0.3
    conv = mx.sym.Convolution(data=mx.sym.Variable("x"), weight=mx.sym.Variable("w"),
                              kernel=(3, 3), pad=(1, 1), num_filter=3, no_bias=True)
    f = Function(conv, {"x": x.shape})            # training mode: no mode-dependent ops

    def loss(w, x):
        t = np.tanh(f(x=x, w=w))
        return (t * t).sum()
    want_w = w0.copy()
    g_eager, l_eager = grad_and_loss(loss)(np.array(w0), np.array(x))
    step = minpy.jit(_sgd(loss, 1))
    w = np.array(w0)
    l_jit = step(w, np.array(x))
    assert step.traces == 1
    assert type(next(iter(step.cache.values())).compiled).__name__ == "_TwoPhase"
    assert onp.allclose(float(l_jit), float(l_eager), rtol=1e-5)
    assert onp.allclose(w.asnumpy(), want_w - 0.1 * g_eager.asnumpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sym", [
    mx.sym.Dropout(mx.sym.Variable("x"), p=0.5),
    mx.sym.LeakyReLU(mx.sym.Variable("x"), act_type="rrelu"),
], ids=["dropout", "rrelu"])
def test_mode_dependent_functions_are_not_spliced(sym):
    from minpy.function import _splice_ok
    f = Function(sym, {"x": (4, 4)})
    assert not _splice_ok((("fn", f), ("is_train", True), ("record", False)))
    assert _splice_ok((("fn", f), ("is_train", False), ("record", False)))
    leaky = Function(mx.sym.LeakyReLU(mx.sym.Variable("x"), act_type="leaky"), {"x": (4, 4)})
    assert _splice_ok((("fn", leaky), ("is_train", True), ("record", False)))


@pytest.mark.parametrize("case", ["untracked-leaf", "other-op", "second-pass", "outer-grad",
                                  "flushed-midway"])
def test_graphs_the_native_pass_refuses_use_the_tape(case):
    a0 = rng.randn(3, 4).astype("float32")

    def run(mode):
        minpy.jit.config.native_backward = mode
        minpy.jit.compile.cache.clear()
        with _Taken() as taken:
            with minpy.lazy():
                a = np.array(a0)
                if case == "untracked-leaf":       # a read through the leaf and untracked
                    g, _ = grad_and_loss(lambda x: (x * a).sum())(a)
                    out = [g]
                elif case == "other-op":           # sin has no mxgrad mark
                    g, _ = grad_and_loss(lambda x: np.sin(x).sum())(a)
                    out = [g]
                elif case == "second-pass":
                    g1, _ = grad_and_loss(lambda x: (x * x).sum())(a)
                    g2, _ = grad_and_loss(lambda x: (x * 3.0).sum())(a)
                    out = [g1, g2]
                elif case == "outer-grad":
                    inner = minpy.core.grad(lambda x: (x * x * x).sum())
                    g, _ = grad_and_loss(lambda x: inner(x).sum())(a)
                    out = [g]
                else:
                    def f(x):
                        y = x * 2.0
                        float(y.sum())            # flushes the pending forward pass
                        return (y * y).sum()
                    g, _ = grad_and_loss(f)(a)
                    out = [g]
                values = [o.asnumpy() for o in out]
        return values, taken
    native, taken = run("always")
    tape, _ = run("never")
    for got, want in zip(native, tape):
        assert onp.allclose(got, want, rtol=1e-5, atol=1e-5)
    expect = {"untracked-leaf": [False], "other-op": [False], "second-pass": [True, False],
              "outer-grad": [False], "flushed-midway": [False]}[case]
    assert taken[-len(expect):] == expect


def test_a_graph_too_small_to_compile_runs_the_pass_with_mxnet_autograd():
    minpy.jit.config.min_graph_nodes = 10_000
    C = np.array(rng.randn(3, 5).astype("float32"))

    def loss(a, m, t, z, e):   # sin (no mxgrad mark) reads no leaf; ties; 0 ** 0
        return (np.tanh(a @ m) * np.sin(C)).sum() + (np.max(t, axis=1) * np.arange(3.0)).sum() \
            + (np.power(z, e) * z).sum()
    args = (A, M, TIES, onp.array([0.0, 1.0, 0.0, 2.0], "float32"),
            onp.array([0.0, 2.0, 3.0, 0.0], "float32"))
    native, used = _grads(loss, args, "always")
    tape, _ = _grads(loss, args, "never")
    assert used and minpy.jit.stats().get("interpreted_nodes", 0) > 0
    for got, want in zip(native, tape):
        assert onp.allclose(got, want, rtol=1e-5, atol=1e-5)


def _gradient_cases():
    import test_gradients            # the gradient-check table, one case per operator
    return [pytest.param(c, id=c.name) for c in test_gradients.CASES]


@pytest.mark.parametrize("c", _gradient_cases())
def test_the_gradient_table_holds_with_mxnet_running_every_backward_pass_it_can(c):
    """The whole gradient-check table in lazy mode with ``native_backward="always"``:
    wherever a case's graph qualifies, MXNet's gradients must match numerical ones."""
    from minpy.utils.gradient_checker import check_grad
    minpy.jit.config.native_backward = "always"
    with minpy.lazy():
        err = check_grad(c.fn, c.args, c.argnum)
    assert err < c.tol, f"{c.name}: relative error {err:.3g}"


def _conv_function(x_shape, filters=2):
    sym = mx.sym.Convolution(data=mx.sym.Variable("x"), weight=mx.sym.Variable("w"),
                             kernel=(3, 3), pad=(1, 1), num_filter=filters, no_bias=True)
    return Function(sym, {"x": x_shape})


@pytest.mark.parametrize("extra", ["twice", "unmarked-op"])
def test_function_losses_match_eager_over_several_lazy_steps(extra):
    """A Function called twice in one loss (MXNet runs the pass), or next to an operator
    without an mxgrad mark (the tape runs, the Function's backward eagerly): three
    lazy SGD steps give the eager steps' weights."""
    x0 = rng.randn(2, 1, 5, 5).astype("float32")
    w0 = rng.randn(2, 1, 3, 3).astype("float32") * 0.3
    f = _conv_function(x0.shape)
    g = _conv_function((2, 2, 5, 5), filters=1) if extra == "twice" else None

    def loss(w, v, x):
        h = f(x=x, w=w)
        if extra == "twice":
            h = g(x=np.tanh(h), w=v) + g(x=h * 0.5, w=v)
        else:
            h = np.sin(h) * v.sum()
        return (h * h).mean()
    v0 = rng.randn(1, 2, 3, 3).astype("float32") * 0.3
    results = []
    for lazy in (False, True):
        w, v, x = np.array(w0), np.array(v0), np.array(x0)
        step = _sgd(loss, 2)
        with _Taken() as taken, minpy.lazy(lazy):
            losses = [float(step(w, v, x)) for _ in range(3)]
        results.append((losses, w.asnumpy(), v.asnumpy()))
        if lazy:
            assert all(taken) == (extra == "twice") and taken
    for a, b in zip(*results):
        assert onp.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_changing_learning_rate_feeds_the_two_phase_graph_as_an_input():
    """Scalars that vary between steps (a decaying learning rate) become inputs of the
    two-phase graph, which compiles at most twice and matches eager steps."""
    x0 = rng.randn(2, 1, 5, 5).astype("float32")
    w0 = rng.randn(2, 1, 3, 3).astype("float32") * 0.3
    f = _conv_function(x0.shape)

    def loss(w, x):
        h = np.tanh(f(x=x, w=w))
        return (h * h).mean()
    gl = grad_and_loss(loss)

    def step(w, x, lr):
        g, l = gl(w, x)
        w[:] = w - lr * g
        return l
    results = []
    for lazy in (False, True):
        minpy.jit.reset_stats()
        w, x = np.array(w0), np.array(x0)
        with _Taken() as taken, minpy.lazy(lazy):
            losses = [float(step(w, x, 0.5 / (t + 1))) for t in range(5)]
        results.append((losses, w.asnumpy()))
        if lazy:
            assert all(taken) and len(taken) == 5
            assert minpy.jit.stats()["cache_misses"] <= 2
    for a, b in zip(*results):
        assert onp.allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("codegen", ["off", "always"])
def test_two_phase_outputs_fed_back_in_another_order_or_replaced(codegen):
    """Without generated kernels the vehicle packs its outputs and, when exactly those
    arrays come back as the next run's inputs, copies them in at once; with them,
    phase B is one kernel with fresh outputs, whose updated parameters are also
    copied into phase A's inputs, so those arrays coming back cost no copy. Any other
    inputs (swapped, new, or kept from earlier) are copied one by one, with the same
    results as eager steps, and the compiled graph never falls back."""
    if codegen == "always" and not minpy.jit.codegen.available():
        pytest.skip("no C++ compiler")
    minpy.jit.config.codegen = codegen
    if minpy.jit.codegen.mode() != codegen:
        pytest.skip("MINPY_JIT_CODEGEN sets another mode")
    x = rng.randn(6, 4).astype("float32")
    W0 = [rng.randn(4, 4).astype("float32") * 0.3 for _ in range(2)]

    def loss(W1, W2, x):
        f = Function(mx.sym.Activation(mx.sym.Variable("h"), act_type="tanh"), {"h": (6, 4)})
        return (f(h=x @ W1) @ W2).sum()
    minpy.jit.config.native_backward = "always"
    step = minpy.jit(_sgd(loss, 2))
    eager = _sgd(loss, 2)
    A, B = np.array(W0[0]), np.array(W0[1])
    C, D = np.array(W0[0]), np.array(W0[1])
    kept = None
    for i in range(5):
        if i == 2:                      # swapped: the packed copy does not apply
            A, B, C, D = B, A, D, C
        if i == 3:                      # replaced by new arrays
            A, B = np.array(A.asnumpy()), np.array(B.asnumpy())
        out = step(A, B, np.array(x))
        if i == 1:
            kept = out.asnumpy(), out               # a result: in the packed buffer
        la = float(out)
        lb = float(eager(C, D, np.array(x)))
        assert onp.allclose(la, lb, rtol=1e-5), (i, la, lb)
        assert onp.allclose(A.asnumpy(), C.asnumpy(), rtol=1e-5, atol=1e-6)
        assert onp.allclose(B.asnumpy(), D.asnumpy(), rtol=1e-5, atol=1e-6)
    assert onp.array_equal(kept[1].asnumpy(), kept[0])     # later runs did not touch it
    compiled = next(iter(step.cache.values())).compiled
    assert type(compiled).__name__ == "_TwoPhase"
    if codegen == "off":
        assert compiled.feed is not None and compiled.direct_b is None
    else:
        assert compiled.direct_b is not None and len(compiled.b_feed) == 2
        # the arrays the last step handed out are what phase A's inputs hold
        assert {id(v) for v in compiled.last} >= {id(A.asmxnet()), id(B.asmxnet())}
    assert minpy.jit.stats()["interpreted_nodes"] == 0



def test_a_two_phase_step_failing_inside_mxnet_hands_out_no_values(codegen):
    """An operator failing while phase A runs (with generated kernels, inside the one
    foreign call that also runs phase B): the step's results carry the error (as an
    eagerly failing step raises), nothing unwritten is handed out, the arrays the
    step did not write keep their values, and the next good step matches eager."""
    minpy.jit.config.native_backward = "always"
    f = Function(refusing("x"), {"x": (4, 3)}, name="refusing")

    def loss(w, x):
        return np.sum(np.tanh(f(x=x * w)))
    x0 = (onp.arange(12, dtype="float32").reshape(4, 3) - 5) / 10
    w0 = rng.randn(4, 3).astype("float32")
    step, eager = minpy.jit(_sgd(loss, 1)), _sgd(loss, 1)
    w, we, x = np.array(w0), np.array(w0), np.array(x0)
    for _ in range(2):
        assert onp.allclose(float(step(w, x)), float(eager(we, x)), rtol=1e-5)
    compiled = next(iter(step.cache.values())).compiled
    assert type(compiled).__name__ == "_TwoPhase"
    assert (compiled.direct_b is not None) == (codegen == "always")
    before = w.asnumpy()
    REFUSE[0] = True
    try:
        failed = r"minpy\.numpy\._function.*MXNet failed"       # MXNet's words follow
        with pytest.raises(ValueError, match=failed):
            eager(np.array(before), x)
        out = step(w, x)
        with pytest.raises(minpy.jit.LazyEvaluationError, match=failed):
            float(out)
        with pytest.raises(minpy.jit.LazyEvaluationError, match=failed):
            w.asnumpy()             # assigned from the failed gradient, as documented
        assert onp.array_equal(x.asnumpy(), x0)
    finally:
        REFUSE[0] = False
    w, we = np.array(before), np.array(before)
    for _ in range(2):
        assert onp.allclose(float(step(w, x)), float(eager(we, x)), rtol=1e-5)
        assert onp.allclose(w.asnumpy(), we.asnumpy(), rtol=1e-5, atol=1e-6)


def _log_softmax_loss(W, b, x, y):
    s = x @ W + b
    sh = s - np.max(s, axis=1, keepdims=True)
    ls = sh - np.log(np.sum(np.exp(sh), axis=1, keepdims=True))
    return -(ls * y).sum() / x.shape[0]


def test_a_log_softmax_where_mxnet_differentiates_is_its_one_operator(monkeypatch):
    """The recorded ``s - max(s)`` ... ``- log(sum(exp(.)))`` becomes MXNet's log_softmax
    in a graph MXNet differentiates (the NumPy-exact gradient of ``max``, about twenty
    nodes, cancels there); losses and updated weights stay NumPy's over several steps,
    and a row holding inf or NaN gives NaN as NumPy's formula does."""
    names = []
    real = minpy.jit.passes.from_ir

    def spy(pnodes, outs):
        names.append([n.op.name for n in pnodes])
        return real(pnodes, outs)
    monkeypatch.setattr(minpy.jit.passes, "from_ir", spy)
    minpy.jit.config.native_backward = "always"
    X = rng.randn(16, 8).astype("float32")
    Y = onp.eye(5, dtype="float32")[rng.randint(0, 5, 16)]
    Wn, bn = (rng.randn(8, 5) * 0.3).astype("float32"), onp.zeros(5, "float32")
    W, b = np.array(Wn), np.array(bn)
    step = minpy.jit(_sgd(_log_softmax_loss, 2))
    for _ in range(3):
        got = float(step(W, b, np.array(X), np.array(Y)))
        s = X @ Wn + bn
        sh = s - s.max(1, keepdims=True)
        e = onp.exp(sh)
        want = -((sh - onp.log(e.sum(1, keepdims=True))) * Y).sum() / 16
        ds = (e / e.sum(1, keepdims=True) - Y) / 16
        Wn, bn = Wn - 0.1 * (X.T @ ds), bn - 0.1 * ds.sum(0)
        assert onp.allclose(got, want, rtol=1e-5, atol=1e-6)
    assert onp.allclose(W.asnumpy(), Wn, rtol=1e-5, atol=1e-6)
    assert onp.allclose(b.asnumpy(), bn, rtol=1e-5, atol=1e-6)
    assert "_log_softmax" in names[0] and "max" not in names[0] and "exp" not in names[0]
    # rows with +inf, -inf and NaN scores: NumPy's formula's values and NaN gradients
    Xb = X.copy()
    Xb[0, 0], Xb[1, 1], Xb[2, 2] = onp.inf, -onp.inf, onp.nan
    with onp.errstate(all="ignore"):
        s = Xb @ Wn + bn
        sh = s - s.max(1, keepdims=True)
        want = -((sh - onp.log(onp.exp(sh).sum(1, keepdims=True))) * Y).sum() / 16
    W2, b2 = np.array(Wn), np.array(bn)
    got = float(step(W2, b2, np.array(Xb), np.array(Y)))
    assert onp.isnan(got) and onp.isnan(want)


def test_log_softmax_operator_gradient_matches_the_tape():
    x = rng.randn(4, 6).astype("float32")
    w = rng.randn(4, 6).astype("float32")
    loss = lambda x: (_op("_log_softmax", x) * np.array(w)).sum()     # noqa: E731
    native, used = _grads(loss, (x,), "always")
    tape, _ = _grads(loss, (x,), "never")
    assert used
    sh = x - x.max(1, keepdims=True)
    p = onp.exp(sh) / onp.exp(sh).sum(1, keepdims=True)
    want = w - p * w.sum(1, keepdims=True)
    for got in (native[0], tape[0]):
        assert onp.allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("s", [0.0, -1.5, 2.0, onp.inf, onp.nan])
def test_maximum_with_a_number_where_mxnet_differentiates(dtype, s):
    """``maximum(x, s)`` in a graph MXNet differentiates runs as one generated operator
    (with a C++ compiler) or MXNet's ``_maximum_scalar``: NumPy's values (NaN kept, a
    tie keeps x, -0.0 included) and MinPy's gradient (to x where x >= s, 0 at NaN), as
    MinPy's recorded backward pass computes them."""
    x0 = onp.array([[onp.nan, -0.0, 0.0, 2.0, -1.5, 3.0],
                    [onp.inf, -onp.inf, 1e-40, -2.5, 0.5, -0.0]], dtype=dtype)
    c0 = onp.arange(1.0, 13.0).reshape(2, 6).astype(dtype)

    def loss(x, c):
        return (np.maximum(x, s) * c).sum()
    results = {}
    for mode in ("always", "never"):
        minpy.jit.config.native_backward = mode
        minpy.jit.compile.cache.clear()
        gl = grad_and_loss(loss, [0])

        @minpy.jit
        def step(x, c):
            g, _ = gl(x, c)
            return g[0], np.maximum(x, s) + 0.0
        with _Taken() as taken:
            g, m = step(np.array(x0, dtype=dtype), np.array(c0, dtype=dtype))
            g2, _ = step(np.array(x0, dtype=dtype), np.array(c0, dtype=dtype))   # a replay
        assert any(taken) == (mode == "always")
        assert onp.array_equal(g.asnumpy(), g2.asnumpy())
        results[mode] = g.asnumpy(), m.asnumpy()
        assert minpy.jit.stats()["interpreted_nodes"] == 0
    with onp.errstate(invalid="ignore"):
        want_m = onp.maximum(x0, onp.asarray(s, dtype)) + 0.0
        want_g = onp.where(x0 >= onp.asarray(s, dtype), c0, 0).astype(dtype)
    for g, m in results.values():
        assert m.dtype == dtype and g.dtype == dtype
        assert onp.array_equal(m, want_m, equal_nan=True)
        assert onp.array_equal(onp.signbit(m), onp.signbit(want_m))
        assert onp.array_equal(g, want_g)


@pytest.mark.parametrize("native", ["auto", "always"])
@pytest.mark.parametrize("lazy_or_jit", ["lazy", "jit"])
def test_an_inference_mode_function_is_not_differentiated_in_training_mode(native, lazy_or_jit):
    """A Function made with ``is_train=False`` around a Dropout is spliced into lazy
    graphs (inference mode, no effects); MXNet's backward pass needs the graph's
    forward pass in training mode, where the Dropout would drop: the tape runs
    instead, and the loss and gradient are the eager ones (they were not: 36 or 52
    where eager gives 48)."""
    f = Function(mx.sym.Dropout(mx.sym.Variable("x"), p=0.5), {"x": (4, 6)}, is_train=False)
    x0 = onp.ones((4, 6), "float32")
    w0 = rng.rand(4, 6).astype("float32") + 0.5

    def loss(w, x):
        return (f(x=x * w) * np.tanh(w)).sum()
    gl = grad_and_loss(loss, [0])
    (ge,), le = gl(np.array(w0), np.array(x0))
    minpy.jit.config.native_backward = native
    with _Taken() as taken:
        for _ in range(3):
            if lazy_or_jit == "lazy":
                with minpy.lazy():
                    (g,), l = gl(np.array(w0), np.array(x0))
                    g, l = g.asnumpy(), float(l)
            else:
                jf = minpy.jit(lambda w, x: gl(w, x))
                (g,), l = jf(np.array(w0), np.array(x0))
                g, l = g.asnumpy(), float(l)
            assert l == pytest.approx(float(le), rel=1e-6)
            onp.testing.assert_allclose(g, ge.asnumpy(), rtol=1e-6)
    assert not any(taken)
