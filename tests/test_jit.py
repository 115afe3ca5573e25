"""``@minpy.jit``: API, signatures, captured arrays, in-place updates, graph breaks,
side effects, autograd, the recompile guard, and agreement with eager MinPy/NumPy."""
import pathlib
import re
import subprocess
import sys
import warnings

import numpy as onp
import pytest

import minpy
import minpy.jit
import minpy.numpy as np
from minpy.core import grad, grad_and_loss
from minpy.jit import GraphBreakError, JitCheckError, JitFunction

ROOT = pathlib.Path(__file__).resolve().parents[1]
RNG = onp.random.RandomState(0)


# every test runs without and with generated kernels
pytestmark = pytest.mark.usefixtures("clean_jit_state", "codegen")


def traces():
    return minpy.jit.stats()["jit_traces"]


def replays():
    return minpy.jit.stats()["jit_replays"]


def rand(*shape, dtype="float32"):
    return RNG.randn(*shape).astype(dtype)


def close(a, b, tol=1e-5):
    a = a.asnumpy() if isinstance(a, minpy.Array) else onp.asarray(a)
    b = b.asnumpy() if isinstance(b, minpy.Array) else onp.asarray(b)
    return a.shape == b.shape and onp.allclose(a, b, rtol=tol, atol=tol)


# ------------------------------------------------------------------------------ API

def test_decorator_forms_and_package():
    def f(x, y):
        return x * y + 1

    assert callable(minpy.jit)                     # the module is the decorator
    assert isinstance(minpy.jit.stats(), dict)     # and still the package
    a, b = np.array(rand(3)), np.array(rand(3))
    want = f(a, b)
    for jf in (minpy.jit(f), minpy.jit.jit(f), minpy.jit(f, static_argnums=(), static_argnames=(),
                                                            strict=False),
               minpy.jit(static_argnums=())(f)):
        assert isinstance(jf, JitFunction)
        assert jf.__name__ == "f"
        assert close(jf(a, b), want) and close(jf(a, b), want)
    assert minpy.jit(minpy.jit(f)).fn is f         # jitting twice is a no-op
    with pytest.raises(TypeError):
        minpy.jit(3)


@minpy.jit
def _decorated(x):
    return np.exp(x) - 1


def test_decorated_at_module_level():
    x = rand(2, 3)
    assert close(_decorated(np.array(x)), onp.exp(x) - 1)
    assert close(_decorated(x), onp.exp(x) - 1)    # a NumPy argument works too


def test_argument_kinds_and_pytrees():
    @minpy.jit
    def f(params, batch, scale):
        h = np.tanh(batch["x"] @ params[0] + params[1])
        return {"out": h * scale, "parts": [h.sum(axis=0), (h.mean(), scale)], "n": 3}

    W, b, x = rand(4, 5), rand(5), rand(6, 4)
    for scale in (1.0, 0.5, 2.0):
        for params in ([np.array(W), np.array(b)], (W, b)):      # MinPy or NumPy leaves
            r = f(params, {"x": np.array(x)}, scale)
            h = onp.tanh(x @ W + b)
            assert set(r) == {"out", "parts", "n"} and r["n"] == 3
            assert close(r["out"], h * scale)
            assert isinstance(r["parts"], list) and isinstance(r["parts"][1], tuple)
            assert close(r["parts"][0], h.sum(axis=0)) and close(r["parts"][1][0], h.mean())
    # list vs tuple and the scale only changed the structure twice, never per value
    assert traces() == 2 and replays() == 4


def test_python_scalars_are_inputs_not_constants():
    @minpy.jit
    def step(w, g, lr):
        return w - lr * g

    w, g = np.array(rand(5)), np.array(rand(5))
    for k in range(6):
        lr = 0.1 / (k + 1)
        assert close(step(w, g, lr), w.asnumpy() - lr * g.asnumpy())
    assert traces() == 1 and replays() == 5
    step(w, g, 1)            # an int is a different signature (int64 input)
    assert traces() == 2


def test_retrace_on_shape_dtype_and_static_values():
    @minpy.jit(static_argnums=(1,))
    def repeat(x, n):
        for _ in range(n):
            x = x * 2 + 1
        return x

    x = rand(3)
    for n in (1, 3, 1, 5, 3):
        want = x.copy()
        for _ in range(n):
            want = want * 2 + 1
        assert close(repeat(np.array(x), n), want)
    assert traces() == 3
    repeat(np.array(rand(4)), 1)                       # new shape
    repeat(np.array(rand(4), dtype="float64"), 1)      # new dtype
    assert traces() == 5 and len(repeat.cache) == 5

    @minpy.jit(static_argnames="mode")
    def act(x, mode="tanh"):
        return np.tanh(x) if mode == "tanh" else np.maximum(x, 0)

    assert close(act(np.array(x), mode="relu"), onp.maximum(x, 0))
    assert close(act(np.array(x), mode="tanh"), onp.tanh(x))
    assert close(act(np.array(x)), onp.tanh(x))
    with pytest.raises(TypeError, match="not hashable"):
        minpy.jit(lambda x, s: x, static_argnums=1)(np.array(x), {1, 2})


def test_method_decorated():
    class Model:
        def __init__(self):
            self.w = np.array(onp.full(3, 2.0, "float32"))

        @minpy.jit
        def __call__(self, x):
            return x * self.w

    m = Model()
    x = np.array(onp.arange(3, dtype="float32"))
    assert close(m(x), [0, 2, 4])
    m.w *= 3                                  # attribute updated in place: seen
    assert close(m(x), [0, 6, 12])
    assert traces() == 1


# ------------------------------------------------------------------------------ captured arrays

W_GLOBAL = np.array(onp.ones(3, "float32"))


def _uses_global(x):
    return x * W_GLOBAL


SCALE_GLOBAL = 2.0


def _uses_scale(x):
    return x * SCALE_GLOBAL


def test_captured_arrays_are_read_by_reference():
    global W_GLOBAL
    saved = W_GLOBAL
    W_GLOBAL = np.ones(3)        # a fresh one: the steps below change it in place
    try:
        x = np.array(onp.array([1, 2, 3], "float32"))
        f = minpy.jit(_uses_global)
        assert close(f(x), [1, 2, 3])
        W_GLOBAL[:] = 2                            # setitem between calls: seen
        assert close(f(x), [2, 4, 6])
        W_GLOBAL += 1                              # += between calls: seen
        assert close(f(x), [3, 6, 9])
        W_GLOBAL = np.zeros(3)                     # rebinding the name: seen as well
        assert close(f(x), [0, 0, 0])              # (the global's slot is read per call)
        assert traces() == 1
        # check=True re-runs the function and notices a baked Python scalar that changed
        global SCALE_GLOBAL
        SCALE_GLOBAL = 2.0
        fc = minpy.jit(_uses_scale, check=True)
        assert close(fc(x), [2, 4, 6]) and close(fc(x), [2, 4, 6])
        SCALE_GLOBAL = 3.0
        with pytest.raises(JitCheckError, match="differs"):
            fc(x)
    finally:
        W_GLOBAL = saved
        SCALE_GLOBAL = 2.0


def test_closure_capture_and_explain_reports_it():
    W = np.array(rand(4, 2))
    b = np.array(rand(2))

    def layer(x):
        return np.tanh(x @ W + b)

    f = minpy.jit(layer)
    x = np.array(rand(3, 4))
    assert close(f(x), onp.tanh(x.asnumpy() @ W.asnumpy() + b.asnumpy()))
    W[0] = 5.0
    b -= 1
    assert close(f(x), onp.tanh(x.asnumpy() @ W.asnumpy() + b.asnumpy()))
    e = minpy.jit.explain(f, x)
    assert e["captured"] == ["array(4, 2) float32", "array(2,) float32"]
    assert e["replayable"] and not e["breaks"]
    assert e["signature"] == "(array(3, 4) float32)"
    assert e["nodes"] >= 3 and e["kept"] <= e["nodes"] and e["inputs"] == 3 and e["outputs"] == 1
    text = str(e)
    assert "captured arrays: 2" in text and "graph breaks: none" in text


# ------------------------------------------------------------------------------ in-place updates

def test_inplace_updates_inside_take_effect():
    P = np.array(onp.zeros(3, "float32"))

    @minpy.jit
    def update(p_arg, g, lr):
        P[1:] = P[1:] + g[1:]      # setitem on a captured array
        P[0] += lr                 # setitem through +=
        p_arg -= lr * g            # += on an argument
        return p_arg

    q = np.array(onp.ones(3, "float32"))
    g = np.array(onp.array([1, 2, 3], "float32"))
    P_e, q_e = onp.zeros(3), onp.ones(3)
    for k in range(5):
        lr = 0.1 * (k + 1)
        r = update(q, g, lr)
        assert r is q                               # the argument handle itself, as eagerly
        P_e[1:] += [2, 3]
        P_e[0] += lr
        q_e -= lr * onp.array([1, 2, 3])
        assert close(P, P_e) and close(q, q_e)
    assert traces() == 1


def test_momentum_optimizer_matches_eager():
    def loss(w, x, y):
        return ((np.tanh(x @ w) - y) ** 2).mean()

    def make():
        w = np.array(onp.random.RandomState(1).randn(4, 2).astype("float32"))
        return w, np.zeros((4, 2))

    def step(w, v, x, y, lr):
        g, l = grad_and_loss(loss)(w, x, y)
        v[:] = 0.9 * v - lr * g
        w += v
        return l

    x, y = np.array(rand(16, 4)), np.array(rand(16, 2))
    we, ve = make()
    wj, vj = make()
    jstep = minpy.jit(step)
    for k in range(30):
        lr = 0.1 if k < 15 else 0.05
        le = step(we, ve, x, y, lr)
        lj = jstep(wj, vj, x, y, lr)
        assert close(le, lj, 1e-4)
    assert close(we, wj, 1e-4) and close(ve, vj, 1e-4)
    assert traces() == 1 and replays() == 29


# ------------------------------------------------------------------------------ graph breaks

def _branchy(x):
    if x.sum() > 0:
        return x * 2
    return x - 1


def _reads_float(x):
    return x * float(x[0])


def _falls_back(x):
    return x - np.median(x)


@pytest.mark.parametrize("fn, ref", [
    (_branchy, lambda v: v * 2 if v.sum() > 0 else v - 1),
    (_reads_float, lambda v: v * v[0]),
    (_falls_back, lambda v: v - onp.median(v)),
])
def test_graph_breaks_give_correct_results(fn, ref):
    f = minpy.jit(fn)
    for v in ([1.0, 2.0, 3.0], [-1.0, -2.0, 0.5], [3.0, -9.0, 4.0], [-5.0, 1.0, 1.0]) * 2:
        v = onp.array(v, "float32")
        assert close(f(np.array(v)), ref(v)), v
    assert traces() == 1 and replays() == 0     # broken traces run lazily every call


def test_concrete_reads_of_arguments_break_the_graph():
    @minpy.jit
    def scaled(x, s):
        return x * float(s)              # s is a 0-d argument: its value is needed

    @minpy.jit
    def loop(x, n):                      # non-static int used as a Python int
        for _ in range(n):
            x = x + 1
        return x

    @minpy.jit
    def flag(x, training):
        return x * 0.5 if training else x

    x = onp.ones(3, "float32")
    for s in (2.0, 3.0, -1.0):
        assert close(scaled(np.array(x), np.array(onp.float32(s))), x * s)
    for n in (1, 4, 2):
        assert close(loop(np.array(x), n), x + n)
    for t in (True, False, True):
        assert close(flag(np.array(x), t), x * 0.5 if t else x)


def test_random_inside_is_sampled_every_call():
    f = minpy.jit(lambda x: x + np.random.randn(4))
    a, b = f(np.zeros(4)), f(np.zeros(4))
    assert not onp.allclose(a.asnumpy(), b.asnumpy())
    assert "random" in minpy.jit.explain(f, np.zeros(4))["breaks"][0][0]


@pytest.mark.parametrize("fn, line", [
    (_branchy, "if x.sum() > 0:"), (_reads_float, "float(x[0])"), (_falls_back, "np.median(x)")])
def test_strict_raises_naming_the_line(fn, line):
    f = minpy.jit(fn, strict=True)
    with pytest.raises(GraphBreakError) as info:
        f(np.array(onp.ones(3, "float32")))
    m = re.search(r"at (\S+):(\d+)", str(info.value))
    assert m and m.group(1) == __file__
    assert line in pathlib.Path(m.group(1)).read_text().splitlines()[int(m.group(2)) - 1]


def test_explain_reports_breaks_with_lines():
    e = minpy.jit.explain(_falls_back, np.array(onp.ones(3, "float32")))
    assert not e["replayable"] and len(e["breaks"]) == 1
    reason, where = e["breaks"][0]
    assert "median" in reason and where.startswith(__file__ + ":")
    assert "graph breaks: 1" in str(e) and "median" in str(e)
    # explaining changes nothing: no in-place update survives it
    P = np.array(onp.zeros(2, "float32"))

    def bump(x):
        P[:] = P + x
        return P * 1
    minpy.jit.explain(bump, np.ones(2))
    assert close(P, [0, 0])


# ------------------------------------------------------------------------------ side effects

def test_python_side_effects_run_only_while_tracing(capsys):
    seen = []

    @minpy.jit
    def f(x):
        print("tracing f with shape", x.shape)    # not an array: no break
        seen.append(1)
        return x + 1

    for _ in range(3):
        f(np.ones(2))
    f(np.ones(5))
    assert seen == [1, 1]
    assert capsys.readouterr().out.count("tracing f") == 2


def test_printing_an_array_is_a_break_and_prints_every_call(capsys):
    @minpy.jit
    def f(x):
        y = x + 1
        print(y)
        return y

    for v in (1.0, 2.0):
        f(np.array(onp.full(2, v, "float32")))
    out = capsys.readouterr().out
    assert "[2. 2.]" in out and "[3. 3.]" in out


# ------------------------------------------------------------------------------ autograd

def _loss(w, x, y):
    return ((x @ w - y) ** 2).sum()


def test_jit_of_grad_and_loss():
    x, y = np.array(rand(8, 3)), np.array(rand(8))
    gl = grad_and_loss(_loss)
    jgl = minpy.jit(gl)
    for k in range(4):
        w = np.array(rand(3))                     # a new argument value every call
        (ge, le), (gj, lj) = gl(w, x, y), jgl(w, x, y)
        assert close(ge, gj, 1e-4) and close(le, lj, 1e-4)
    assert traces() == 1
    assert minpy.jit.explain(jgl, w, x, y)["captured"] == []


def test_jitted_training_step_updates_captured_weights():
    X, Y = np.array(rand(8, 3)), np.array(rand(8))
    w0 = rand(3)
    W = np.array(w0)

    @minpy.jit
    def train(x, y, lr):
        g, l = grad_and_loss(_loss)(W, x, y)
        W[:] = W - lr * g
        return l

    we = w0.copy()
    xe, ye = X.asnumpy(), Y.asnumpy()
    for k in range(6):
        l = train(X, Y, 0.01)
        assert close(l, ((xe @ we - ye) ** 2).sum(), 1e-4)
        we = we - 0.01 * 2 * xe.T @ (xe @ we - ye)
        assert close(W, we, 1e-4)
    assert traces() == 1 and replays() == 5


def test_grad_through_a_jitted_function():
    inner = minpy.jit(lambda w, x: np.tanh(x @ w))
    w, x = np.array(rand(3)), np.array(rand(5, 3))
    inner(w, x)                                           # already traced: cache present
    gj = grad(lambda w, x: (inner(w, x) ** 2).sum())(w, x)
    ge = grad(lambda w, x: (np.tanh(x @ w) ** 2).sum())(w, x)
    assert close(gj, ge)


def test_nested_jit_is_inlined():
    inner = minpy.jit(lambda x: x * 3)
    outer = minpy.jit(lambda x: inner(x) + 1)
    inner(np.ones(2))                      # inner already has a cached graph
    for v in (1.0, 2.0, 3.0):
        assert close(outer(np.array(onp.full(2, v, "float32"))), onp.full(2, v * 3 + 1))
    assert outer.traces == 1 and replays() == 2
    assert minpy.jit.explain(outer, np.ones(2))["replayable"]


# ------------------------------------------------------------------------------ recompile guard

def test_recompile_guard_warns_once_naming_the_change():
    minpy.jit.config.jit_max_traces = 8

    @minpy.jit
    def f(x):
        return x + 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 13):
            assert close(f(np.ones(n)), onp.full(n, 2.0))
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
            and "minpy.jit" in str(w.message)]
    assert len(msgs) == 1 and f.traces == 12
    assert "traced 9 times" in msgs[0] and "shape of argument leaf 0" in msgs[0]
    assert caught[0].filename == __file__              # points at the caller


def test_recompile_guard_names_a_static_value():
    minpy.jit.config.jit_max_traces = 2
    f = minpy.jit(lambda x, k: x * k, static_argnums=1)
    with pytest.warns(RuntimeWarning, match="value of static argument leaf 1"):
        for k in range(4):
            f(np.ones(2), k)


# ------------------------------------------------------------------------------ jit == eager

def _idx_rows(x):
    return x[np.array(onp.array([2, 0], "int64"))]


CONFORMANCE = [
    # elementwise
    ("add", lambda a, b: a + b, ((3, 4), (4,))),
    ("subtract", lambda a, b: np.subtract(a, b), ((3, 4), (3, 4))),
    ("multiply", lambda a, b: a * b * 2.5, ((3, 4), (3, 1))),
    ("divide", lambda a, b: a / (np.abs(b) + 1), ((3, 4), (3, 4))),
    ("power", lambda a: np.abs(a) ** 1.5, ((3, 4),)),
    ("exp", lambda a: np.exp(a), ((3, 4),)),
    ("log1p", lambda a: np.log1p(np.abs(a)), ((3, 4),)),
    ("sqrt", lambda a: np.sqrt(np.abs(a)), ((3, 4),)),
    ("tanh", lambda a: np.tanh(a), ((3, 4),)),
    ("sin_cos", lambda a: np.sin(a) * np.cos(a), ((3, 4),)),
    ("maximum", lambda a, b: np.maximum(a, b), ((3, 4), (4,))),
    ("where", lambda a, b: np.where(a > b, a, b), ((3, 4), (3, 4))),
    ("clip", lambda a: np.clip(a, -0.5, 0.5), ((3, 4),)),
    ("compare", lambda a, b: (a < b).astype("float32"), ((3, 4), (3, 4))),
    # reductions
    ("sum_axis", lambda a: a.sum(axis=1), ((2, 3, 4),)),
    ("mean_keepdims", lambda a: np.mean(a, axis=(0, 2), keepdims=True), ((2, 3, 4),)),
    ("max_axis", lambda a: np.max(a, axis=0), ((3, 4),)),
    ("argmax", lambda a: np.argmax(a, axis=1), ((3, 4),)),
    ("prod", lambda a: np.prod(a, axis=-1), ((3, 4),)),
    ("std", lambda a: np.std(a, axis=0), ((5, 4),)),
    ("cumsum", lambda a: np.cumsum(a, axis=1), ((3, 4),)),
    # shape ops
    ("reshape", lambda a: a.reshape(4, 3).T, ((3, 4),)),
    ("transpose", lambda a: np.transpose(a, (2, 0, 1)), ((2, 3, 4),)),
    ("concatenate", lambda a, b: np.concatenate([a, b], axis=0), ((2, 3), (4, 3))),
    ("stack", lambda a, b: np.stack([a, b], axis=1), ((2, 3), (2, 3))),
    ("expand_squeeze", lambda a: np.squeeze(np.expand_dims(a, 0), 0), ((3, 4),)),
    ("broadcast_to", lambda a: np.broadcast_to(a, (3, 4)), ((4,),)),
    # indexing
    ("basic_index", lambda a: a[1:, ::2] + a[0, 1], ((3, 4),)),
    ("int_array_index", _idx_rows, ((3, 4),)),
    ("ellipsis_newaxis", lambda a: a[..., None, 1], ((2, 3, 4),)),
    # linalg
    ("dot", lambda a, b: np.dot(a, b), ((3, 4), (4, 2))),
    ("matmul", lambda a, b: a @ b, ((2, 3, 4), (4, 5))),
    ("outer", lambda a, b: np.outer(a, b), ((3,), (4,))),
    ("einsum", lambda a, b: np.einsum("ij,jk->ik", a, b), ((3, 4), (4, 2))),
    ("trace_inner", lambda a, b: np.trace(a) + np.inner(b, b), ((3, 3), (4,))),
    ("tensordot", lambda a, b: np.tensordot(a, b, axes=1), ((2, 3), (3, 4))),
]


@pytest.mark.parametrize("name, fn, shapes", CONFORMANCE, ids=[c[0] for c in CONFORMANCE])
def test_jit_agrees_with_eager(name, fn, shapes):
    jf = minpy.jit(fn)
    for trial in range(2):                                 # trace, then replay
        host = [rand(*s) for s in shapes]
        eager = fn(*[np.array(h) for h in host])
        jitted = jf(*[np.array(h) for h in host])
        assert jitted.shape == eager.shape and jitted.dtype == eager.dtype
        assert close(jitted, eager), name
    assert traces() == 1
    assert replays() == 1 or name == "int_array_index"     # concrete indices are a break


# ------------------------------------------------------------------------------ the docs page

def test_docs_page_examples_run():
    text = (ROOT / "docs" / "jit.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    assert code
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
