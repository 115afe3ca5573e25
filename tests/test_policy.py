"""Dispatch policies: which backend runs each call, and what happens when MXNet fails."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.dispatch import call as _call
from minpy.dispatch.policy import current_policy
from minpy.dispatch.registry import REGISTRY, defop

NAMES = ("prefer_mxnet", "only_numpy", "only_mxnet", "auto_blacklist")


@pytest.fixture(autouse=True)
def _restore_policy():
    old = minpy.get_global_policy()
    minpy.reset_call_stats()
    yield
    minpy.set_global_policy(old)


def test_default_policy_is_prefer_mxnet():
    assert isinstance(minpy.get_global_policy(), minpy.PreferMXNetPolicy)


@pytest.mark.parametrize("name, cls", list(zip(NAMES, (minpy.PreferMXNetPolicy,
                                                        minpy.OnlyNumPyPolicy,
                                                        minpy.OnlyMXNetPolicy,
                                                        minpy.AutoBlacklistPolicy))))
def test_set_by_name(name, cls):
    minpy.set_global_policy(name)
    pol = minpy.get_global_policy()
    assert type(pol) is cls and pol.name == name
    assert current_policy() is pol


def test_set_instance_and_class():
    pol = minpy.AutoBlacklistPolicy()
    minpy.set_global_policy(pol)
    assert minpy.get_global_policy() is pol
    minpy.set_global_policy(minpy.OnlyNumPyPolicy)
    assert isinstance(minpy.get_global_policy(), minpy.OnlyNumPyPolicy)


def test_invalid_policy():
    before = minpy.get_global_policy()
    with pytest.raises(ValueError, match="unknown policy 'fastest'.*prefer_mxnet"):
        minpy.set_global_policy("fastest")
    with pytest.raises(TypeError, match="set_global_policy"):
        minpy.set_global_policy(3)
    with pytest.raises(ValueError, match="wrap_policy"):
        minpy.wrap_policy("nope")
    assert minpy.get_global_policy() is before


@pytest.mark.parametrize("name", NAMES)
def test_values_agree_across_policies(name):
    a = onp.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]], dtype="float32")
    minpy.set_global_policy(name)
    x = np.array(a)
    r = np.tanh(x @ x.T) + np.sum(x, axis=0).mean() - np.maximum(x, 0)[0, 1]
    want = onp.tanh(a @ a.T) + a.sum(axis=0).mean() - onp.maximum(a, 0)[0, 1]
    onp.testing.assert_allclose(r.asnumpy(), want, rtol=1e-5, atol=1e-6)
    assert r.dtype == onp.float32


def test_only_numpy_records_numpy():
    minpy.set_global_policy("only_numpy")
    x = np.ones((2, 3))
    y = np.exp(x) + 1
    onp.testing.assert_allclose(y.asnumpy(), onp.exp(onp.ones((2, 3))) + 1, rtol=1e-6)
    st = minpy.call_stats()
    for name in ("ones", "exp", "add"):
        assert st[name] == {"mxnet": 0, "numpy": 1}, name


def test_prefer_mxnet_records_mxnet():
    x = np.ones((2, 3))
    np.exp(x)
    np.logaddexp(x, x)
    st = minpy.call_stats()
    assert st["exp"] == {"mxnet": 1, "numpy": 0}
    assert st["logaddexp"] == {"mxnet": 0, "numpy": 1}


def test_only_mxnet_rejects_numpy_only_functions():
    x = np.ones(3)
    minpy.set_global_policy("only_mxnet")
    with pytest.raises(NotImplementedError, match="logaddexp"):
        np.logaddexp(x, x)
    with pytest.raises(NotImplementedError, match="median"):
        np.median(x)            # unregistered fallback
    onp.testing.assert_allclose(np.exp(x).asnumpy(), onp.exp(onp.ones(3)), rtol=1e-6)
    assert "logaddexp" not in minpy.call_stats()
    assert "median" not in minpy.call_stats()


def test_wrap_policy_applies_to_one_function():
    calls = []

    @minpy.wrap_policy("only_numpy")
    def f(a):
        calls.append(type(current_policy()).__name__)
        return np.exp(a) * 2

    x = np.ones(3)
    r = f(x)
    onp.testing.assert_allclose(r.asnumpy(), 2 * onp.exp(onp.ones(3)), rtol=1e-6)
    assert calls == ["OnlyNumPyPolicy"]
    assert f.__name__ == "f"
    st = minpy.call_stats()
    assert st["exp"] == {"mxnet": 0, "numpy": 1}
    assert st["multiply"] == {"mxnet": 0, "numpy": 1}
    np.exp(x)
    assert minpy.call_stats()["exp"] == {"mxnet": 1, "numpy": 1}
    assert isinstance(current_policy(), minpy.PreferMXNetPolicy)


def test_wrap_policy_restored_after_exception_and_nesting():
    @minpy.wrap_policy("only_mxnet")
    def inner(a):
        return np.logaddexp(a, a)

    @minpy.wrap_policy("only_numpy")
    def outer(a):
        before = type(current_policy())
        try:
            inner(a)
        except NotImplementedError:
            pass
        return before, type(current_policy())

    assert outer(np.ones(2)) == (minpy.OnlyNumPyPolicy, minpy.OnlyNumPyPolicy)
    with pytest.raises(NotImplementedError):
        inner(np.ones(2))
    assert isinstance(current_policy(), minpy.PreferMXNetPolicy)


def test_wrap_policy_beats_global():
    minpy.set_global_policy("only_mxnet")

    @minpy.wrap_policy("prefer_mxnet")
    def f(a):
        return np.logaddexp(a, a)

    onp.testing.assert_allclose(f(np.zeros(2)).asnumpy(), onp.log(2.0) * onp.ones(2), rtol=1e-6)


# ----------------------------------------------------------------------------- auto blacklist

@pytest.fixture
def flaky_op():
    """A temporary op whose MXNet lowering fails for integer operands."""
    mx_calls = []

    def lower(F, x):
        mx_calls.append(str(x.dtype))
        if onp.dtype(x.dtype).kind in "iu":
            raise _call.MXNetError("Check failed: test op does not take integers")
        return F.np.negative(x)

    op = defop("_test_flaky_negate", mx=lower, np=onp.negative)
    yield op, mx_calls
    REGISTRY.pop("_test_flaky_negate", None)
    _call._shape_cache.clear()


def test_flaky_op_fails_under_prefer_mxnet(flaky_op):
    op, _ = flaky_op
    with pytest.raises(ValueError, match="_test_flaky_negate.*does not take integers"):
        _call.call(op, (np.array([1, 2]),), {})


def test_auto_blacklist_remembers_failing_kind(flaky_op):
    op, mx_calls = flaky_op
    pol = minpy.AutoBlacklistPolicy()
    minpy.set_global_policy(pol)
    xi = np.array([1, 2])
    xf = np.array([1.0, 2.0])

    r = _call.call(op, (xi,), {})              # MXNet fails, NumPy answers
    onp.testing.assert_array_equal(r.asnumpy(), [-1, -2])
    assert r.dtype == onp.int64
    assert mx_calls == ["int64"]
    assert len(pol.blacklist) == 1

    r = _call.call(op, (xi + 5,), {})          # same kind: straight to NumPy
    onp.testing.assert_array_equal(r.asnumpy(), [-6, -7])
    assert mx_calls == ["int64"]

    r = _call.call(op, (xf,), {})              # float kind still tries MXNet
    onp.testing.assert_array_equal(r.asnumpy(), [-1.0, -2.0])
    assert mx_calls == ["int64", "float32"]
    assert minpy.call_stats()["_test_flaky_negate"] == {"mxnet": 1, "numpy": 2}


def test_auto_blacklist_is_per_instance(flaky_op):
    op, mx_calls = flaky_op
    minpy.set_global_policy("auto_blacklist")
    _call.call(op, (np.array([1]),), {})
    minpy.set_global_policy("auto_blacklist")   # a fresh instance forgets
    _call.call(op, (np.array([1]),), {})
    assert mx_calls == ["int64", "int64"]


def test_custom_policy_subclass():
    class NumPyForExp(minpy.Policy):
        name = "numpy_for_exp"

        def choose(self, op, operands, attrs):
            return "numpy" if op.name == "exp" else ("mxnet" if op.mx is not None else "numpy")

    minpy.set_global_policy(NumPyForExp())
    x = np.ones(2)
    np.exp(x)
    np.sin(x)
    st = minpy.call_stats()
    assert st["exp"] == {"mxnet": 0, "numpy": 1}
    assert st["sin"] == {"mxnet": 1, "numpy": 0}
