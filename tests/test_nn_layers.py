"""minpy.nn.layers: forward values against NumPy references written here, and
gradients against central differences (float64, minpy.utils.gradient_checker)."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.nn import layers
from minpy.utils.gradient_checker import check_grad

TOL = 1e-5          # worst relative gradient error accepted (float64)
rng = onp.random.RandomState(0)


def r(*shape):
    return rng.randn(*shape)


def val(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else onp.asarray(x)


def a64(x):
    return np.array(x, dtype="float64")


def weighted(f, out_shape, seed=1):
    """Scalar loss sum(f(...) * c) with fixed random c: tests every output's gradient."""
    c = onp.random.RandomState(seed).randn(*out_shape)

    def loss(*args):
        return np.sum(f(*args) * np.array(c, dtype="float64"))
    return loss


# ----------------------------------------------------------------------------- references

def ref_softmax_logp(x):
    s = x - x.max(axis=1, keepdims=True)
    return s - onp.log(onp.exp(s).sum(axis=1, keepdims=True))


def ref_conv(x, w, b, pad, stride):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = onp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    out = onp.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = (patch * w[f]).sum() + b[f]
    return out


def ref_pool(x, ph, pw, s):
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // s + 1, (W - pw) // s + 1
    out = onp.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out


def ref_sigmoid(x):
    return 1.0 / (1.0 + onp.exp(-x))


# ----------------------------------------------------------------------------- basic layers

def test_affine_flattens_and_matches_numpy():
    x, w, b = r(4, 2, 3), r(6, 5), r(5)
    out = layers.affine(a64(x), a64(w), a64(b))
    onp.testing.assert_allclose(val(out), x.reshape(4, -1) @ w + b, rtol=1e-10)
    assert check_grad(weighted(layers.affine, (4, 5)), [x, w, b], [0, 1, 2]) < TOL


@pytest.mark.parametrize("name,ref", [("relu", lambda x: onp.maximum(x, 0)),
                                      ("sigmoid", ref_sigmoid), ("tanh", onp.tanh)])
def test_activations(name, ref):
    f = getattr(layers, name)
    x = r(3, 7)
    x[onp.abs(x) < 1e-3] = 0.5          # keep away from relu's kink
    onp.testing.assert_allclose(val(f(a64(x))), ref(x), rtol=1e-6, atol=1e-12)
    assert check_grad(weighted(f, (3, 7)), [x]) < TOL


def test_sigmoid_is_stable_for_large_inputs():
    out = val(layers.sigmoid(a64(onp.array([-800.0, 0.0, 800.0]))))
    onp.testing.assert_allclose(out, [0.0, 0.5, 1.0])


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 2, 2)])
def test_batchnorm_train(shape):
    x = r(*shape) * 3 + 1
    C = shape[1]
    gamma, beta = r(C), r(C)
    rm, rv = onp.zeros(C), onp.ones(C)
    out, nm, nv = layers.batchnorm(a64(x), a64(gamma), a64(beta), a64(rm), a64(rv), "train",
                                   eps=1e-5, momentum=0.9)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    bs = (1, C) if len(shape) == 2 else (1, C, 1, 1)
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    ref = (x - mu.reshape(bs)) / onp.sqrt(var.reshape(bs) + 1e-5) * gamma.reshape(bs) + beta.reshape(bs)
    onp.testing.assert_allclose(val(out), ref, rtol=1e-8, atol=1e-10)
    onp.testing.assert_allclose(val(nm), 0.9 * rm + 0.1 * mu, rtol=1e-10)
    onp.testing.assert_allclose(val(nv), 0.9 * rv + 0.1 * var, rtol=1e-10)

    def f(x, g, b):
        return layers.batchnorm(x, g, b, None, None, "train")[0]
    assert check_grad(weighted(f, shape), [x, gamma, beta], [0, 1, 2]) < TOL


def test_batchnorm_test_mode_uses_running_stats():
    x, gamma, beta, rm, rv = r(6, 4), r(4), r(4), r(4), onp.abs(r(4)) + 0.5
    out, nm, nv = layers.batchnorm(a64(x), a64(gamma), a64(beta), a64(rm), a64(rv), "test")
    onp.testing.assert_allclose(val(out), (x - rm) / onp.sqrt(rv + 1e-5) * gamma + beta, rtol=1e-10)
    onp.testing.assert_allclose(val(nm), rm)
    with pytest.raises(ValueError, match="mode"):
        layers.batchnorm(a64(x), a64(gamma), a64(beta), a64(rm), a64(rv), "eval")


def test_batchnorm_running_stats_carry_no_gradient():
    x, g, b = r(5, 3), onp.ones(3), onp.zeros(3)

    def f(x):
        out, nm, nv = layers.batchnorm(x, a64(g), a64(b), None, None, "train")
        return np.sum(nm) + np.sum(nv)
    onp.testing.assert_allclose(val(minpy.grad(f)(a64(x))), onp.zeros((5, 3)))


def test_dropout():
    x = onp.ones((200, 50))
    out = val(layers.dropout(a64(x), 0.3, "train", seed=3))
    kept = out != 0
    assert 0.65 < kept.mean() < 0.75
    onp.testing.assert_allclose(out[kept], 1 / 0.7)
    onp.testing.assert_array_equal(out, val(layers.dropout(a64(x), 0.3, "train", seed=3)))
    onp.testing.assert_array_equal(val(layers.dropout(a64(x), 0.3, "test")), x)
    xs = r(4, 6)

    def f(x):
        return layers.dropout(x, 0.5, "train", seed=7)
    assert check_grad(weighted(f, (4, 6)), [xs]) < TOL
    with pytest.raises(ValueError):
        layers.dropout(a64(x), 1.0)


# ----------------------------------------------------------------------------- losses

def test_softmax_loss():
    x, y = r(6, 4), rng.randint(0, 4, 6)
    loss = float(layers.softmax_loss(a64(x), np.array(y)))
    assert abs(loss + ref_softmax_logp(x)[onp.arange(6), y].mean()) < 1e-10
    assert check_grad(lambda x: layers.softmax_loss(x, np.array(y)), [x]) < TOL
    big = onp.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    v = float(layers.softmax_loss(np.array(big, dtype="float32"), np.array([0, 0])))
    assert onp.isfinite(v) and abs(v - 500.0) < 1e-3
    # float32: the usual MinPy dtype
    v32 = float(layers.softmax_loss(np.array(x), np.array(y)))
    assert abs(v32 - loss) < 1e-5


def test_svm_loss():
    x, y = r(7, 5), rng.randint(0, 5, 7)
    correct = x[onp.arange(7), y][:, None]
    m = onp.maximum(0, x - correct + 1.0)
    m[onp.arange(7), y] = 0
    assert abs(float(layers.svm_loss(a64(x), np.array(y))) - m.sum() / 7) < 1e-10
    assert check_grad(lambda x: layers.svm_loss(x, np.array(y)), [x]) < TOL


def test_l2_loss():
    x, t = r(5, 3), r(5, 3)
    assert abs(float(layers.l2_loss(a64(x), a64(t))) - ((x - t) ** 2).sum() / 5) < 1e-10
    y = onp.array([0, 2, 1, 1, 0])
    assert abs(float(layers.l2_loss(a64(x), np.array(y))) -
               ((x - onp.eye(3)[y]) ** 2).sum() / 5) < 1e-10
    assert check_grad(lambda x: layers.l2_loss(x, a64(t)), [x]) < TOL


def test_softmax_cross_entropy():
    x = r(4, 3)
    oh = onp.eye(3)[[0, 2, 1, 1]]
    p = onp.exp(ref_softmax_logp(x))
    ref = -(onp.log(p) * oh).sum() / 4
    assert abs(float(layers.softmax_cross_entropy(a64(p), a64(oh))) - ref) < 1e-10
    assert abs(float(layers.softmax_cross_entropy(a64(x), a64(oh), from_logits=True)) - ref) < 1e-10
    assert check_grad(lambda x: layers.softmax_cross_entropy(x, a64(oh), from_logits=True), [x]) < TOL
    assert check_grad(lambda p: layers.softmax_cross_entropy(p, a64(oh)), [p]) < TOL
    onp.testing.assert_allclose(val(layers.softmax(a64(x))), p, rtol=1e-10)


# ----------------------------------------------------------------------------- conv / pool

CONV_CASES = [  # x shape, w shape, pad, stride
    ((2, 3, 6, 6), (4, 3, 3, 3), 1, 1),
    ((2, 2, 7, 6), (3, 2, 3, 3), 1, 2),     # stride drops a row/column: adj in the data grad
    ((1, 3, 8, 8), (2, 3, 2, 2), 0, 2),
    ((2, 1, 5, 7), (2, 1, 3, 2), 2, 3),
]


@pytest.mark.parametrize("xs,ws,pad,stride", CONV_CASES)
def test_conv2d(xs, ws, pad, stride):
    x, w, b = r(*xs), r(*ws), r(ws[0])
    ref = ref_conv(x, w, b, pad, stride)
    onp.testing.assert_allclose(val(layers.conv2d(a64(x), a64(w), a64(b), pad, stride)), ref,
                                rtol=1e-8, atol=1e-10)
    f = weighted(lambda x, w, b: layers.conv2d(x, w, b, pad, stride), ref.shape)
    assert check_grad(f, [x, w, b], [0, 1, 2]) < TOL


def test_conv2d_second_order():
    """The gradient helpers have gradients too: d/dw of a function of dL/dx."""
    x, w, b = r(1, 2, 5, 5), r(3, 2, 3, 3), r(3)
    cot = r(1, 3, 3, 3)

    def gx_norm(w, x):
        gx = minpy.grad(lambda x: np.sum(layers.conv2d(x, w, a64(b), 1, 2) * a64(cot)))(x)
        return np.sum(gx * gx)

    def gw_norm(x, w):
        gw = minpy.grad(lambda w: np.sum(layers.conv2d(x, w, a64(b), 1, 2) * a64(cot)))(w)
        return np.sum(gw * gw)
    assert check_grad(gx_norm, [w, x], 0) < TOL
    assert check_grad(gw_norm, [x, w], 0) < TOL


def test_conv2d_lazy_matches_eager_and_float32():
    x, w, b = r(2, 3, 7, 7), r(4, 3, 3, 3), r(4)
    ref = ref_conv(x, w, b, 1, 2)
    with minpy.lazy():
        out = layers.conv2d(np.array(x), np.array(w), np.array(b), pad=1, stride=2)
        f = weighted(lambda x, w, b: layers.conv2d(x, w, b, 1, 2), ref.shape)
        err = check_grad(f, [x, w, b], [0, 1, 2])
    assert out.dtype == onp.float32
    onp.testing.assert_allclose(val(out), ref, rtol=1e-4, atol=1e-4)
    assert err < TOL


def test_conv2d_cached_lazy_graph_sees_new_weights():
    """A cache hit must compute with the weights fed now (MXNet's MKLDNN subgraph
    backend keeps the first weights of a bound executor; minpy turns that fusion off)."""
    x, b = r(2, 1, 6, 6), onp.zeros(3)
    minpy.jit.reset_stats()
    for i in range(3):
        w = r(3, 1, 3, 3)
        with minpy.lazy():
            out = (layers.conv2d(np.array(x), np.array(w), np.array(b), pad=1) * 1.0).asnumpy()
        onp.testing.assert_allclose(out, ref_conv(x, w, b, 1, 1), rtol=1e-4, atol=1e-4)
    assert minpy.jit.stats()["cache_hits"] >= 2


def test_conv2d_shape_errors():
    with pytest.raises(ValueError, match="channels"):
        layers.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3)), np.zeros(2))


@pytest.mark.parametrize("xs,p", [((2, 3, 4, 6), 2), ((1, 2, 7, 5), 2), ((2, 2, 6, 6), 3)])
def test_max_pool(xs, p):
    x = r(*xs)
    ref = ref_pool(x, p, p, p)
    out = layers.max_pool(a64(x), p, p)
    onp.testing.assert_allclose(val(out), ref)
    assert check_grad(weighted(lambda x: layers.max_pool(x, p, p), ref.shape), [x]) < TOL


def test_max_pool_overlapping_windows_have_gradients():
    """MXNet's backward operator handles any stride (the gradient used to raise)."""
    x = r(1, 2, 6, 5)
    ref = ref_pool(x, 3, 3, 1)
    onp.testing.assert_allclose(val(layers.max_pool(a64(x), 3, 3, stride=1)), ref)
    f = weighted(lambda x: layers.max_pool(x, 3, 3, stride=1), ref.shape)
    assert check_grad(f, [x]) < TOL


# ----------------------------------------------------------------------------- recurrent

def ref_lstm_step(x, h, c, Wx, Wh, b):
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    i, f, o = ref_sigmoid(a[:, :H]), ref_sigmoid(a[:, H:2 * H]), ref_sigmoid(a[:, 2 * H:3 * H])
    g = onp.tanh(a[:, 3 * H:])
    c2 = f * c + i * g
    return o * onp.tanh(c2), c2


def test_rnn_step_and_temporal():
    N, T, D, H = 3, 4, 5, 6
    x, h0, Wx, Wh, b = r(N, T, D), r(N, H), r(D, H) * 0.3, r(H, H) * 0.3, r(H)
    hs, h = [], h0
    for t in range(T):
        h = onp.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    ref = onp.stack(hs, axis=1)
    onp.testing.assert_allclose(val(layers.rnn_step(a64(x[:, 0]), a64(h0), a64(Wx), a64(Wh), a64(b))),
                                hs[0], rtol=1e-10)
    onp.testing.assert_allclose(val(layers.rnn_temporal(a64(x), a64(h0), a64(Wx), a64(Wh), a64(b))),
                                ref, rtol=1e-10)
    assert check_grad(weighted(layers.rnn_temporal, ref.shape), [x, h0, Wx, Wh, b],
                      [0, 1, 2, 3, 4]) < TOL


def test_lstm_step_and_temporal():
    N, T, D, H = 2, 3, 4, 3
    x, h0, Wx, Wh, b = r(N, T, D), r(N, H), r(D, 4 * H) * 0.3, r(H, 4 * H) * 0.3, r(4 * H)
    c0 = r(N, H)
    nh, nc = layers.lstm_step(a64(x[:, 0]), a64(h0), a64(c0), a64(Wx), a64(Wh), a64(b))
    rh, rc = ref_lstm_step(x[:, 0], h0, c0, Wx, Wh, b)
    onp.testing.assert_allclose(val(nh), rh, rtol=1e-10)
    onp.testing.assert_allclose(val(nc), rc, rtol=1e-10)
    h, c, hs = h0, onp.zeros((N, H)), []
    for t in range(T):
        h, c = ref_lstm_step(x[:, t], h, c, Wx, Wh, b)
        hs.append(h)
    ref = onp.stack(hs, axis=1)
    onp.testing.assert_allclose(val(layers.lstm_temporal(a64(x), a64(h0), a64(Wx), a64(Wh), a64(b))),
                                ref, rtol=1e-10)

    def step_loss(x, h, c, Wx, Wh, b):
        nh, nc = layers.lstm_step(x, h, c, Wx, Wh, b)
        return np.sum(nh * nh) + np.sum(nc)
    assert check_grad(step_loss, [x[:, 0], h0, c0, Wx, Wh, b], [0, 1, 2, 3, 4, 5]) < TOL
    assert check_grad(weighted(layers.lstm_temporal, ref.shape), [x, h0, Wx, Wh, b],
                      [0, 1, 2, 3, 4]) < TOL


def test_gru_step():
    N, D, H = 3, 4, 5
    x, h = r(N, D), r(N, H)
    Wx, Wh, b, Wxh, Whh, bh = r(D, 2 * H), r(H, 2 * H), r(2 * H), r(D, H), r(H, H), r(H)
    a = ref_sigmoid(x @ Wx + h @ Wh + b)
    z, rr = a[:, :H], a[:, H:]
    ref = z * h + (1 - z) * onp.tanh(x @ Wxh + (rr * h) @ Whh + bh)
    args = [x, h, Wx, Wh, b, Wxh, Whh, bh]
    onp.testing.assert_allclose(val(layers.gru_step(*map(a64, args))), ref, rtol=1e-10)
    assert check_grad(weighted(layers.gru_step, ref.shape), args, list(range(8))) < TOL
    xs = r(N, 2, D)
    out = val(layers.gru_temporal(a64(xs), *map(a64, args[1:])))
    h1 = val(layers.gru_step(a64(xs[:, 0]), *map(a64, args[1:])))
    onp.testing.assert_allclose(out[:, 0], h1, rtol=1e-10)


def test_temporal_affine():
    x, w, b = r(2, 3, 4), r(4, 5), r(5)
    ref = onp.einsum("ntd,dm->ntm", x, w) + b
    onp.testing.assert_allclose(val(layers.temporal_affine(a64(x), a64(w), a64(b))), ref, rtol=1e-10)
    assert check_grad(weighted(layers.temporal_affine, ref.shape), [x, w, b], [0, 1, 2]) < TOL


def test_temporal_softmax_loss():
    N, T, V = 3, 4, 5
    x, y = r(N, T, V), rng.randint(0, V, (N, T))
    mask = rng.rand(N, T) > 0.3
    logp = ref_softmax_logp(x.reshape(N * T, V))
    ref = -(logp[onp.arange(N * T), y.reshape(-1)] * mask.reshape(-1)).sum() / N
    got = float(layers.temporal_softmax_loss(a64(x), np.array(y), np.array(mask)))
    assert abs(got - ref) < 1e-10
    assert check_grad(lambda x: layers.temporal_softmax_loss(x, np.array(y), np.array(mask)), [x]) < TOL


def test_embedding():
    W = r(6, 3)
    idx = onp.array([[0, 5, 2], [2, 2, 1]])
    onp.testing.assert_allclose(val(layers.embedding(np.array(idx), a64(W))), W[idx])
    assert check_grad(weighted(lambda W: layers.embedding(np.array(idx), W), (2, 3, 3)), [W]) < TOL


def test_two_layer_net_lazy_equals_eager():
    x, y = r(8, 5), rng.randint(0, 3, 8)
    w1, b1, w2, b2 = r(5, 6), r(6), r(6, 3), r(3)

    def loss(w1, b1, w2, b2):
        h = layers.relu(layers.affine(np.array(x), w1, b1))
        return layers.softmax_loss(layers.affine(h, w2, b2), np.array(y))
    g = minpy.grad(loss, [0, 1, 2, 3])
    eager = [val(t) for t in g(*map(np.array, (w1, b1, w2, b2)))]
    with minpy.lazy():
        lazy = [val(t) for t in g(*map(np.array, (w1, b1, w2, b2)))]
    for e, l in zip(eager, lazy):
        onp.testing.assert_allclose(e, l, rtol=1e-5, atol=1e-6)
