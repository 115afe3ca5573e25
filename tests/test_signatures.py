"""help(), IDEs and tab completion see the parameters MinPy's functions accept."""
import inspect

import numpy as onp
import pytest

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
