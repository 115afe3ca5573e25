"""MinPy 0.3 names (issue 14): values checked against NumPy, not only that they exist."""
import io
import contextlib

import mxnet as mx
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import Function, grad, grad_and_loss

_rng = onp.random.RandomState(1)


# -- grad: MinPy 0.3's seeding and promotion ---------------------------------------------------

@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_non_scalar_output_is_seeded_with_ones(mode):
    x = _rng.randn(3, 4)
    f = grad(lambda x: np.tanh(x) * 3.0)
    runs = 2 if mode == "jit" else 1
    if mode == "jit":
        f = minpy.jit(f)
    for _ in range(runs):
        if mode == "lazy":
            with minpy.lazy():
                g = f(x)
        else:
            g = f(x)
        onp.testing.assert_allclose(g.asnumpy(), 3 * (1 - onp.tanh(x) ** 2), rtol=1e-4)


def test_integer_arrays_are_promoted():
    x = onp.array([[1, 2], [3, 4]])
    g, loss = grad_and_loss(lambda x: np.sum(x ** 3))(x)
    assert g.dtype == onp.float32
    onp.testing.assert_array_equal(g.asnumpy(), 3.0 * x ** 2)
    assert float(loss) == float(onp.sum(x ** 3))
    g = grad(lambda x: np.sum(x, axis=0))(np.array([[1, 2], [3, 4]]))
    onp.testing.assert_array_equal(g.asnumpy(), onp.ones((2, 2)))


def test_argnum_range_returns_a_list():
    args = [_rng.randn(3) for _ in range(3)]
    gs = grad(lambda a, b, c: np.sum(a * b * c), range(3))(*args)
    assert isinstance(gs, list) and len(gs) == 3
    onp.testing.assert_allclose(gs[0].asnumpy(), args[1] * args[2], rtol=1e-5)


# -- Function ----------------------------------------------------------------------------------

def _fc():
    x = mx.sym.Variable("x")
    return mx.sym.FullyConnected(data=x, num_hidden=3, name="fc")


def test_function_omitted_arguments_are_zeros_and_extras_dropped():
    x, w = _rng.randn(4, 5).astype("float32"), _rng.randn(3, 5).astype("float32")
    f = Function(_fc(), {"x": (4, 5)})
    out = f(x=np.array(x), fc_weight=np.array(w), not_an_argument=np.ones(2))
    onp.testing.assert_allclose(out.asnumpy(), x @ w.T, rtol=1e-5)
    g = grad(lambda w: np.sum(f(x=np.array(x), fc_weight=w) ** 2))(np.array(w))
    onp.testing.assert_allclose(g.asnumpy(), 2 * (x @ w.T).T @ x, rtol=1e-4)


def test_function_input_shapes_inferred_and_output_shapes():
    f = Function(_fc())
    x, w, b = (_rng.randn(2, 5).astype("float32"), _rng.randn(3, 5).astype("float32"),
               _rng.randn(3).astype("float32"))
    onp.testing.assert_allclose(f(x=np.array(x), fc_weight=np.array(w), fc_bias=np.array(b)).asnumpy(),
                                x @ w.T + b, rtol=1e-5)
    assert f.get_output_shapes() == {"fc_output": (2, 3)}
    assert f.get_one_output_shape() == (2, 3)
    assert Function(_fc(), {"x": (2, 5)}).get_params() == \
        {"fc_weight": {"shape": (3, 5)}, "fc_bias": {"shape": (3,)}}


def test_function_integer_labels_into_softmax_output():
    x = mx.sym.Variable("x")
    sym = mx.sym.SoftmaxOutput(data=x, label=mx.sym.Variable("softmax_label"), name="softmax")
    f = Function(sym, {"x": (3, 4), "softmax_label": (3,)})
    data, label = _rng.randn(3, 4).astype("float32"), onp.array([0, 3, 1], dtype="int64")
    p = onp.exp(data - data.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onp.testing.assert_allclose(f(x=np.array(data), softmax_label=np.array(label)).asnumpy(), p, rtol=1e-5)
    g = grad(lambda d: f(x=d, softmax_label=np.array(label)))(np.array(data))
    expected = p.copy()
    expected[onp.arange(3), label] -= 1
    onp.testing.assert_allclose(g.asnumpy(), expected, rtol=1e-4, atol=1e-6)


# -- values, variants, policies, Config ----------------------------------------------------------

def test_value_number_wrap():
    from minpy.array import Number, Value, wrap
    a = wrap(onp.arange(6.0).reshape(2, 3))
    assert isinstance(a, minpy.Array) and isinstance(a, Value)
    onp.testing.assert_array_equal(a.asnumpy(), onp.arange(6.0).reshape(2, 3))
    n = wrap(2.5)
    assert isinstance(n, Number) and isinstance(n, Value) and n.val == 2.5 and n.asnumpy() == 2.5
    assert n * 2 == 5.0
    nested = wrap({"w": [onp.ones(2), mx.nd.array([1.0, 2.0])]})
    onp.testing.assert_array_equal(nested["w"][1].asnumpy(), [1.0, 2.0])
    assert wrap(None) is None and wrap(a) is a
    with pytest.raises(TypeError):
        wrap(object())


def test_array_variants():
    from minpy.array_variants import ArrayType, array_types, variants
    assert variants == {"numpy": ArrayType.NUMPY, "mxnet": ArrayType.MXNET}
    assert array_types["numpy"] is onp.ndarray and array_types["mxnet"] is mx.nd.NDArray


def test_policy_create_set_policy_and_config(set_policy):
    from minpy.dispatch import policy
    assert isinstance(policy.create("only_numpy"), policy.OnlyNumPyPolicy)
    p = policy.PreferMXNetPolicy()
    assert policy.create(p) is p
    with pytest.raises(ValueError):
        policy.create("no_such_policy")
    set_policy("prefer_mxnet")
    np.set_policy(policy.OnlyNumPyPolicy())
    assert isinstance(minpy.Config["default_policy"], policy.OnlyNumPyPolicy)
    x = _rng.randn(3)
    onp.testing.assert_allclose(np.exp(np.array(x)).asnumpy(), onp.exp(x), rtol=1e-6)
    minpy.Config["default_policy"] = "only_mxnet"
    assert isinstance(minpy.get_global_policy(), policy.OnlyMXNetPolicy)
    with pytest.raises(policy.PrimitivePolicyError, match="median"):
        np.median(np.array(x))
    assert issubclass(policy.PrimitivePolicyError, NotImplementedError)
    assert "modules" in minpy.Config


def test_auto_blacklist_policy_takes_minpy_03_arguments(set_policy):
    from minpy.dispatch.policy import AutoBlacklistPolicy
    pol = AutoBlacklistPolicy(gen_rule=True, append_rule=False)
    set_policy(pol)
    x = _rng.randn(4)
    onp.testing.assert_allclose(float(np.sum(np.array(x) ** 2)), onp.sum(x ** 2), rtol=1e-5)
    assert pol.gen_rule and not pol.append_rule


def test_record_and_show_op_stat():
    np.record_op_stat()
    a = np.array(_rng.randn(3))
    np.exp(a)
    np.exp(a)
    np.median(a)            # a NumPy fallback
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        np.show_op_stat()
    text = buf.getvalue()
    assert " exp : 2" in text and " median : 1" in text and "Total Dispatch Proportion" in text
    assert minpy.call_stats()["exp"]["mxnet"] == 2


def test_minprof_counts_calls_and_blocks():
    from minpy.utils.minprof import minprof
    minprof.reset()

    @minprof
    def rec(i):
        return 0 if i == 0 else rec(i - 1)

    rec(10)
    with minprof("block"):
        np.exp(np.ones(2)).asnumpy()
    stats = minprof.stats()
    (label,) = [k for k in stats if "rec" in k]
    assert stats[label][0] == 11 and stats["block"][0] == 1 and stats["block"][1] >= 0
    buf = io.StringIO()
    minprof.print_stats(file=buf)
    assert "block" in buf.getvalue()


# -- nn -----------------------------------------------------------------------------------------

def test_init_custom():
    from minpy.nn import init
    out = init.custom((2, 3), {"function": lambda s: np.ones(s) * 2})
    onp.testing.assert_array_equal(out.asnumpy(), onp.full((2, 3), 2.0))
    onp.testing.assert_array_equal(init.custom((2,), {}).asnumpy(), onp.zeros(2))
    assert init.get("custom") is init.custom
    with pytest.raises(ValueError):
        init.custom((2, 3), {"function": lambda s: np.ones(4)})


def test_ndarrayiter_minpy_03_methods(tmp_path):
    from minpy.nn import io as nio
    data, label = onp.arange(20.0).reshape(10, 2), onp.arange(10)
    it = nio.NDArrayIter(data, label, batch_size=4)
    assert it.getnumiterations() == 3
    b = next(it)
    onp.testing.assert_array_equal(it.getdata()[0].asnumpy(), data[:4])
    onp.testing.assert_array_equal(it.getlabel()[0].asnumpy(), label[:4])
    onp.testing.assert_array_equal(it.getindex(), onp.arange(4))
    onp.testing.assert_array_equal(b.data[0].asnumpy(), data[:4])
    next(it)
    it.hard_reset()
    onp.testing.assert_array_equal(next(it).index, onp.arange(4))
    sub = it.getsubiter(6)
    assert sub.num_data == 6 and sub.shuffle
    seen = onp.concatenate([bb.label[0].asnumpy() for bb in sub])[:6]
    assert set(seen.tolist()) <= set(range(10)) and len(set(seen.tolist())) == 6
    for i, row in enumerate(sub.data[0]):
        assert row[0] == 2 * sub.label[0][i]          # data and labels stay paired
    nio.save_data_labels(np.array(data), label, str(tmp_path / "d.pkl"))
    d, l = nio.load_data_labels(str(tmp_path / "d.pkl"))
    onp.testing.assert_array_equal(d, data)
    onp.testing.assert_array_equal(l, label)
    assert isinstance(it, nio.DataIter)


def test_dataiter_subclass_in_mxnet_style():
    from minpy.nn.io import DataIter

    class Counting(DataIter):
        def __init__(self):
            super().__init__(batch_size=2)
            self.i = 0

        def iter_next(self):
            self.i += 1
            return self.i <= 3

        def getdata(self):
            return [np.ones(2) * self.i]

        def getlabel(self):
            return [np.zeros(2)]

    batches = list(Counting())
    assert [float(b.data[0][0]) for b in batches] == [1.0, 2.0, 3.0]
    assert all(b.pad == 0 for b in batches)


def test_mxnet_iterators_under_minpy_io():
    import minpy.io
    import minpy.nn.io
    assert minpy.io.MNISTIter is mx.io.MNISTIter and minpy.nn.io.CSVIter is mx.io.CSVIter
    assert minpy.io.NDArrayIter is minpy.nn.io.NDArrayIter
    with pytest.raises(AttributeError):
        minpy.io.NoSuchThing
