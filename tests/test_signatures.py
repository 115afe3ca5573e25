"""help(), IDEs and tab completion see the parameters MinPy's functions accept."""
import inspect

import numpy as onp
import pytest

import minpy
import minpy.numpy as mnp
from minpy.dispatch import call
from minpy.dispatch.registry import REGISTRY

PUBLIC = sorted(n for n in REGISTRY if not n.startswith("_") and "." not in n
                and hasattr(mnp, n) and getattr(mnp, n).__module__ == "minpy.numpy")


def test_common_signatures_read_like_numpy():
    assert str(inspect.signature(mnp.dot)) == "(a, b, /, *, out=None)"
    assert str(inspect.signature(mnp.add)) == "(x1, x2, /, *, out=None)"
    assert str(inspect.signature(mnp.tanh)) == "(x, /, *, out=None)"
    assert str(inspect.signature(mnp.sum)) == \
        "(a, /, axis=None, dtype=None, keepdims=False, *, out=None)"
    import pydoc
    assert "dot(a, b, /, *, out=None)" in pydoc.render_doc(mnp.dot, renderer=pydoc.plaintext)


@pytest.mark.parametrize("name", PUBLIC)
def test_signature_matches_what_the_call_accepts(name):
    op = REGISTRY[name]
    sig = inspect.signature(getattr(mnp, name))
    if op.bind is not None:        # the signature is bind's own
        assert list(sig.parameters)[:1] == list(inspect.signature(op.bind).parameters)[:1]
        return
    P = inspect.Parameter
    params = list(sig.parameters.values())
    operands = [p for p in params if p.kind is P.POSITIONAL_ONLY]
    assert len(operands) == op.nin
    dummies = tuple(onp.ones((2, 2), "float32") for _ in operands)
    for p in params:
        if p.kind is P.POSITIONAL_OR_KEYWORD:
            _, attrs, _ = call.bind_args(op, dummies, {p.name: p.default})
            assert (p.name, p.default) in attrs or p.default is None
    with pytest.raises(TypeError, match="unexpected keyword"):
        call.bind_args(op, dummies, {"not_a_parameter": 1})
    base = getattr(onp, name, None)
    if isinstance(base, onp.ufunc):
        assert [p.name for p in operands] == (["x"] if op.nin == 1 else ["x1", "x2"])
    else:
        try:
            numpy_names = set(inspect.signature(base).parameters)
        except (TypeError, ValueError):
            return
        # every attribute MinPy shows is one NumPy's function has too
        assert {p.name for p in params if p.kind is P.POSITIONAL_OR_KEYWORD} <= numpy_names


def test_dir_has_no_module_internals():
    names = dir(mnp)
    assert "annotations" not in names
    assert "_onp" not in names and "dot" in names and "median" in names


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_arrays_where_numpy_takes_numbers(mode):
    """NumPy takes a 0-d integer array as an axis (``__index__``) and arrays as shapes
    and fill values; MinPy raised "unhashable type: 'minpy.Array'". Inside @jit the
    values are read (a graph break: the function runs lazily), so every call is right."""
    host = onp.arange(6.0).reshape(2, 3)

    def f(x, ax):
        return (onp if isinstance(x, onp.ndarray) else mnp).sum(x, axis=ax)

    def g(x):
        m = onp if isinstance(x, onp.ndarray) else mnp
        return m.reshape(x, m.array([3, 2])), m.full((2,), m.array(2.5)), \
            m.round(x / 7, m.array(2))

    for ax in (0, 1, -1):
        want = f(host, onp.array(ax))
        if mode == "eager":
            got = f(mnp.array(host), mnp.array(ax))
        elif mode == "lazy":
            with minpy.lazy():
                got = f(mnp.array(host), mnp.array(ax)).asnumpy()
        else:
            got = minpy.jit(f)(mnp.array(host), ax)      # a scalar argument: a 0-d array
        onp.testing.assert_allclose(onp.asarray(got), want)
    if mode == "jit":
        got = minpy.jit(g)(mnp.array(host))
    elif mode == "lazy":
        with minpy.lazy():
            got = [v.asnumpy() for v in g(mnp.array(host))]
    else:
        got = g(mnp.array(host))
    for a, b in zip(got, g(host)):
        onp.testing.assert_allclose(onp.asarray(a), b, rtol=1e-6)
        assert onp.shape(a) == b.shape
