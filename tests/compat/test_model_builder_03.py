"""model_builder as MinPy 0.3.0 wrote networks (Pooling('max', ...), SpatialBatchNormalization,
Add branches, Export, flat input_shape for convolutions, user Modules) and MinPy 0.3.4's module
API (Model subclasses, minpy.nn.modules, Updater), checked against NumPy (issue 14)."""
import numpy as onp
import pytest

import minpy.numpy as np
from minpy.nn import layers
from minpy.nn import model_builder as builder
from minpy.nn.io import NDArrayIter
from minpy.nn.solver import Solver

_rng = onp.random.RandomState(3)


def _np_pool(x, k, s, mode, pad=(0, 0)):
    x = onp.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    n, c, h, w = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    out = onp.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = x[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
            out[:, :, i, j] = {"max": win.max, "avg": win.mean, "sum": win.sum}[mode](axis=(2, 3))
    return out


@pytest.mark.parametrize("mode,k,s", [("max", (2, 2), (2, 2)), ("max", (3, 3), (1, 1)),
                                      ("avg", (2, 2), (2, 2)), ("sum", (3, 3), (2, 2))])
def test_pooling_03_modes_match_numpy(mode, k, s):
    X = _rng.randn(2, 3, 7, 7)
    m = builder.Model(builder.Sequential(builder.Pooling(mode, k, s)), "l2", (3, 7, 7))
    ref = _np_pool(X, k, s, mode)
    assert m.output_shape == ref.shape[1:]
    onp.testing.assert_allclose(m.forward(np.array(X), "test").asnumpy(), ref, rtol=1e-5, atol=1e-5)


def test_pooling_03_default_stride_is_one_and_ours_is_the_window():
    assert builder.Pooling("max", (2, 2)).stride == (1, 1)
    assert builder.Pooling((2, 2)).stride == (2, 2)
    with pytest.raises(ValueError, match="mode"):
        builder.Pooling("median", (2, 2))


def test_flat_input_shape_for_a_conv_net_trains_with_solver():
    net = builder.Sequential(builder.Convolution((3, 3), 4), builder.ReLU(),
                             builder.Pooling("max", (2, 2), (2, 2)), builder.Flatten(),
                             builder.Affine(8), builder.Affine(3))
    model = builder.Model(net, "softmax", (3 * 8 * 8,))
    X, y = _rng.randn(20, 3, 8, 8), _rng.randint(0, 3, 20)
    it = NDArrayIter(X, y, batch_size=10)
    solver = Solver(model, it, num_epochs=1, update_rule="sgd", verbose=False)
    solver.init()
    assert model.param_configs["convolution0_weight"]["shape"] == (4, 3, 3, 3)
    assert model.param_configs["affine4_weight"]["shape"] == (4 * 3 * 3, 8)
    solver.train()
    assert onp.isfinite(solver.loss_history).all()
    # the same network on flat samples reads them as 3 x 8 x 8 images
    p = {k: v.asnumpy() for k, v in model.params.items()}
    flat = builder.Model(net, "softmax", (192,))
    flat.init_params()
    flat.params = {k: np.array(v) for k, v in p.items()}
    onp.testing.assert_allclose(flat.forward(np.array(X.reshape(20, -1)), "test").asnumpy(),
                                model.forward(np.array(X), "test").asnumpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="samples of shape"):
        model.forward(np.array(_rng.randn(2, 1, 8, 24)), "test")


def test_flat_input_shape_uses_the_data_shape_when_not_square_rgb():
    net = builder.Sequential(builder.Convolution((1, 1), 2), builder.Flatten(), builder.Affine(2))
    model = builder.Model(net, "softmax", (4 * 2 * 2,))      # 16 would be guessed as 1 x 4 x 4
    model.forward(np.array(_rng.randn(3, 4, 2, 2)), "test")
    assert model.param_configs["convolution0_weight"]["shape"] == (2, 4, 1, 1)
    with pytest.raises(ValueError, match="as images"):
        builder.Model(net, "softmax", (7,)).init_params()
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):      # convolution after an affine layer
        builder.Model(builder.Sequential(builder.Affine(12), builder.Convolution((1, 1), 2)),
                      "softmax", (12,))


def test_spatial_batchnorm_add_identity_export_match_numpy():
    store = {}
    conv = builder.Convolution((3, 3), 2, (1, 1), (1, 1))
    net = builder.Sequential(
        builder.Add(builder.Sequential(conv, builder.SpatialBatchNormalization()), builder.Identity()),
        builder.Export("block", store),
        builder.Flatten(), builder.Affine(3))
    assert store == {"block": None}
    with pytest.raises(ValueError, match="already"):
        builder.Export("block", store)
    m = builder.Model(net, "softmax", (2, 4, 4))
    assert sorted(m.param_configs) == ["affine5_bias", "affine5_weight", "convolution0_bias",
                                       "convolution0_weight", "spatialbatchnorm1_beta",
                                       "spatialbatchnorm1_gamma"]
    m.init_params()
    p = {k: v.asnumpy().astype("float64") for k, v in m.params.items()}
    X = _rng.randn(5, 2, 4, 4)
    xp = onp.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv_out = onp.zeros((5, 2, 4, 4))
    for i in range(4):
        for j in range(4):
            conv_out[:, :, i, j] = onp.tensordot(xp[:, :, i:i + 3, j:j + 3], p["convolution0_weight"],
                                                 axes=([1, 2, 3], [1, 2, 3]))
    conv_out += p["convolution0_bias"].reshape(1, 2, 1, 1)
    mu = conv_out.mean(axis=(0, 2, 3), keepdims=True)
    var = conv_out.var(axis=(0, 2, 3), keepdims=True)
    bn = (conv_out - mu) / onp.sqrt(var + 1e-5) * p["spatialbatchnorm1_gamma"].reshape(1, 2, 1, 1) + \
        p["spatialbatchnorm1_beta"].reshape(1, 2, 1, 1)
    block = bn + X
    ref = block.reshape(5, -1) @ p["affine5_weight"] + p["affine5_bias"]
    out = m.forward(np.array(X), "train")
    onp.testing.assert_allclose(out.asnumpy(), ref, rtol=1e-4, atol=1e-4)
    onp.testing.assert_allclose(store["block"].asnumpy(), block, rtol=1e-4, atol=1e-4)
    onp.testing.assert_allclose(m.aux_params["spatialbatchnorm1_running_mean"].asnumpy(),
                                mu.reshape(-1), rtol=1e-4, atol=1e-5)


def test_batchnormalization_and_03_argument_names():
    bn = builder.BatchNormalization(epsilon=1e-3, momentum=0.5)
    assert (bn.eps, bn.momentum) == (1e-3, 0.5)
    c = builder.Convolution((3, 3), kernel_number=5, stride=(2, 2),
                            initializer={"weight": {"init_rule": "constant", "init_config": {"value": 0.5}}})
    a = builder.Affine(hidden_number=4)
    d = builder.Dropout(p=0.25)
    assert (c.num_filter, c.stride, a.hidden_num, d.prob) == (5, (2, 2), 4, 0.25)
    m = builder.Model(builder.Sequential(builder.Reshape((1, 5, 5)), c, builder.Flatten(), a,
                                         builder.BatchNormalization()), "l2", (25,))
    m.init_params()
    assert (m.params["convolution1_weight"].asnumpy() == 0.5).all()
    assert m.param_configs["batchnorm4_gamma"]["shape"] == (4,)


def test_sequential_03_insert_remove():
    s = builder.Sequential(builder.Affine(2))
    s.insert(0, builder.ReLU())
    s.append(builder.Tanh())
    s.remove(0)
    assert [type(x).__name__ for x in s] == ["Affine", "Tanh"]
    with pytest.raises(TypeError):
        builder.Sequential(builder.Affine(2), "relu")


class _Scale(builder.Module):
    """A MinPy 0.3 user layer: names its parameter, forward(X, params)."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, inputs, params):
        self.modes.append(params["__training_in_progress__"])
        return inputs * params["scale_w"]

    def output_shape(self, input_shape):
        return input_shape

    def parameter_shape(self, input_shape):
        return {"scale_w": input_shape}

    def parameter_settings(self):
        return {"scale_w": {"init_rule": "constant", "init_config": {"value": 2.0}}}


def test_user_module_03_protocol():
    layer = _Scale()
    m = builder.Model(builder.Sequential(layer, builder.Affine(2)), "l2", (3,))
    m.init_params()
    X = _rng.randn(4, 3)
    p = {k: v.asnumpy() for k, v in m.params.items()}
    ref = (X * 2.0) @ p["affine1_weight"] + p["affine1_bias"]
    onp.testing.assert_allclose(m.forward(np.array(X), "train").asnumpy(), ref, rtol=1e-5, atol=1e-6)
    assert layer.modes == ["train"]


def test_network_model_with_updater_and_call():
    """Model(network, ...) also answers model(X, labels=) / backward() / Updater."""
    m = builder.Model(builder.Sequential(builder.Affine(3)), "softmax", (4,))
    X, y = _rng.randn(6, 4), _rng.randint(0, 3, 6)
    m.init_params()
    w0 = {k: v.asnumpy().astype("float64") for k, v in m.params.items()}
    loss = m(X, labels=y)
    grads = m.backward()
    s = X @ w0["affine0_weight"] + w0["affine0_bias"]
    pr = onp.exp(s - s.max(1, keepdims=True))
    pr /= pr.sum(1, keepdims=True)
    ref_loss = -onp.log(pr[onp.arange(6), y]).mean()
    pr[onp.arange(6), y] -= 1
    onp.testing.assert_allclose(float(loss), ref_loss, rtol=1e-5)
    onp.testing.assert_allclose(grads["affine0_weight"].asnumpy(), X.T @ pr / 6, rtol=1e-4, atol=1e-6)
    up = builder.Updater(m, update_rule="sgd", learning_rate=0.5)
    up(grads)
    onp.testing.assert_allclose(m.params["affine0_bias"].asnumpy(),
                                w0["affine0_bias"] - 0.5 * pr.sum(0) / 6, rtol=1e-4, atol=1e-6)
