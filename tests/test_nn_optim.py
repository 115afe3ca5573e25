"""minpy.nn.optim and minpy.nn.init: update rules against their formulas."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.nn import init, optim

rng = onp.random.RandomState(0)


def run(rule, steps, config, lazy=False):
    w0 = rng.randn(4, 3)
    grads = [rng.randn(4, 3) for _ in range(steps)]
    w, cfg = np.array(w0, dtype="float64"), dict(config)
    with minpy.lazy(lazy):
        for g in grads:
            w, cfg = rule(w, np.array(g, dtype="float64"), cfg)
        out = w.asnumpy()
    return w0, grads, out, cfg


def test_sgd():
    w0, gs, w, cfg = run(optim.sgd, 3, {"learning_rate": 0.5})
    onp.testing.assert_allclose(w, w0 - 0.5 * sum(gs), rtol=1e-12)
    _, _, _, cfg = run(optim.sgd, 1, {})
    assert cfg["learning_rate"] == 1e-2


def test_sgd_momentum():
    w0, gs, w, cfg = run(optim.sgd_momentum, 4, {"learning_rate": 0.1, "momentum": 0.8})
    v, ref = onp.zeros_like(w0), w0.copy()
    for g in gs:
        v = 0.8 * v - 0.1 * g
        ref = ref + v
    onp.testing.assert_allclose(w, ref, rtol=1e-12)
    onp.testing.assert_allclose(cfg["velocity"].asnumpy(), v, rtol=1e-12)
    assert run(optim.sgd_momentum, 1, {})[3]["momentum"] == 0.9


def test_rmsprop():
    w0, gs, w, cfg = run(optim.rmsprop, 4, {"learning_rate": 0.01})
    c, ref = onp.zeros_like(w0), w0.copy()
    for g in gs:
        c = 0.99 * c + 0.01 * g * g
        ref = ref - 0.01 * g / (onp.sqrt(c) + 1e-8)
    onp.testing.assert_allclose(w, ref, rtol=1e-10)
    onp.testing.assert_allclose(cfg["cache"].asnumpy(), c, rtol=1e-10)


@pytest.mark.parametrize("lazy", [False, True])
def test_adam_bias_corrected(lazy):
    w0, gs, w, cfg = run(optim.adam, 5, {"learning_rate": 0.1}, lazy=lazy)
    m, v, ref = onp.zeros_like(w0), onp.zeros_like(w0), w0.copy()
    for t, g in enumerate(gs, 1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref = ref - 0.1 * (m / (1 - 0.9 ** t)) / (onp.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    onp.testing.assert_allclose(w, ref, rtol=1e-9)
    assert cfg["t"] == 5
    onp.testing.assert_allclose(cfg["m"].asnumpy(), m, rtol=1e-10)
    # first step of Adam moves every weight by about the learning rate
    w1 = run(optim.adam, 1, {"learning_rate": 0.1})
    onp.testing.assert_allclose(onp.abs(w1[2] - w1[0]), 0.1, rtol=1e-5)


def test_adam_steps_reuse_one_graph_in_lazy_mode():
    """learning rate and beta**t are Python scalars: promoted to graph inputs, not recompiled."""
    w, cfg = np.ones((3, 3)), {"learning_rate": 0.01}
    g = np.ones((3, 3))
    minpy.jit.reset_stats()
    with minpy.lazy():
        for i in range(20):
            cfg["learning_rate"] = 0.01 / (1 + i)
            w, cfg = optim.adam(w, g, cfg)
            minpy.flush()
    s = minpy.jit.stats()
    assert s["executed_graphs"] == 20
    assert s["cache_misses"] <= 4, s


def test_get_rule():
    assert optim.get("adam") is optim.adam
    with pytest.raises(ValueError, match="unknown update rule"):
        optim.get("adagrad")


def test_initialisers():
    c = init.constant((2, 3), {"value": 0.5}).asnumpy()
    assert c.shape == (2, 3) and (c == 0.5).all()
    assert (init.constant((4,)).asnumpy() == 0).all()
    u = init.uniform((2000,), {"low": -0.2, "high": 0.3}).asnumpy()
    assert u.min() >= -0.2 and u.max() < 0.3 and abs(u.mean() - 0.05) < 0.02
    g = init.gaussian((20000,), {"mu": 1.0, "stdvar": 0.1}).asnumpy()
    assert abs(g.mean() - 1.0) < 0.01 and abs(g.std() - 0.1) < 0.01
    assert init.gaussian((5,)).asnumpy().std() < 0.01           # default stdvar 0.001
    x = init.xavier((300, 200)).asnumpy()
    a = onp.sqrt(6.0 / 500)
    assert onp.abs(x).max() <= a and abs(x.std() - a / onp.sqrt(3)) < 0.01 * a * 10
    xi = init.xavier((300, 200), {"mode": "in"}).asnumpy()
    assert onp.abs(xi).max() <= onp.sqrt(3.0 / 300) + 1e-7
    xc = init.xavier((8, 3, 3, 3), {"mode": "out"}).asnumpy()        # fan_out = 8*9
    assert onp.abs(xc).max() <= onp.sqrt(3.0 / 72) + 1e-7 and xc.shape == (8, 3, 3, 3)
    assert init.xavier((2, 2), {"dtype": "float64"}).dtype == onp.float64
    with pytest.raises(ValueError, match="unknown init rule"):
        init.get("zeros")
