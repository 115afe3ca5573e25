"""@jit arguments and results that are containers (issue 12): named tuples of arrays are
pytrees like tuples (one trace for every call with the same shapes, new values seen),
and a returned dict keeps the user's key order."""
import collections

import numpy as onp

import minpy
import minpy.numpy as np

Layer = collections.namedtuple("Layer", "W b")


def test_named_tuple_argument_is_a_pytree_not_a_static_value():
    @minpy.jit
    def step(p, x):
        return p.W * x + p.b

    for i in range(4):
        w = onp.full(3, float(i), "float32")
        out = step(Layer(np.array(w), np.ones(3)), np.ones(3) * 2)
        onp.testing.assert_allclose(out.asnumpy(), w * 2 + 1)
    assert step.traces == 1


def test_named_tuple_result_keeps_its_type():
    @minpy.jit
    def f(x):
        return Layer(x + 1, x * 2)

    for _ in range(2):
        r = f(np.ones(2))
        assert type(r) is Layer
        onp.testing.assert_allclose(r.b.asnumpy(), [2.0, 2.0])


def test_returned_dict_keeps_the_users_key_order():
    @minpy.jit
    def f(x):
        return {"zeta": x + 1, "alpha": x * 2, "mid": [x, {"b": x, "a": x}]}

    for _ in range(2):          # trace, then replay
        r = f(np.ones(2))
        assert list(r) == ["zeta", "alpha", "mid"]
        assert list(r["mid"][1]) == ["b", "a"]
        onp.testing.assert_allclose(r["alpha"].asnumpy(), [2.0, 2.0])


def test_dict_argument_in_another_order_still_gives_right_values():
    @minpy.jit
    def f(d):
        return d["a"] - d["b"]

    a, b = np.array([5.0]), np.array([2.0])
    assert float(f({"a": a, "b": b})[0]) == 3.0
    assert float(f({"b": b, "a": a})[0]) == 3.0
