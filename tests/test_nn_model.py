"""ModelBase and model_builder: declarations, forward values, save/load round trip."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.nn import layers, model_builder as builder
from minpy.nn.model import ModelBase


class TwoLayerNet(ModelBase):
    def __init__(self):
        super().__init__()
        self.add_param("w1", (4, 5)).add_param("b1", (5,), init_rule="constant")
        self.add_param("w2", (5, 3)).add_param("b2", (3,), init_rule="constant",
                                               init_config={"value": 0.5})
        self.add_aux_param("steps", onp.zeros(1))

    def forward(self, X, mode):
        h = layers.relu(layers.affine(X, self.params["w1"], self.params["b1"]))
        return layers.affine(h, self.params["w2"], self.params["b2"])

    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)


def test_declare_and_init():
    m = TwoLayerNet().init_params("gaussian", {"stdvar": 0.1})
    assert set(m.params) == {"w1", "b1", "w2", "b2"}
    assert m.params["w1"].shape == (4, 5)
    assert (m.params["b2"].asnumpy() == 0.5).all() and (m.params["b1"].asnumpy() == 0).all()
    assert 0.02 < m.params["w1"].asnumpy().std() < 0.3
    with pytest.raises(ValueError, match="twice"):
        m.add_param("w1", (1,))


def test_save_load_round_trip(tmp_path):
    m = TwoLayerNet().init_params()
    m.aux_params["steps"] = np.array([7.0])
    path = m.save(tmp_path / "ckpt" / "net")
    assert path.endswith("net.npz")
    m2 = TwoLayerNet().load(tmp_path / "ckpt" / "net")
    for k in m.params:
        onp.testing.assert_array_equal(m.params[k].asnumpy(), m2.params[k].asnumpy())
        assert m2.params[k].dtype == m.params[k].dtype
    assert m2.aux_params["steps"].asnumpy().tolist() == [7.0]
    X = onp.random.randn(3, 4)
    onp.testing.assert_allclose(m.forward(np.array(X), "test").asnumpy(),
                                m2.forward(np.array(X), "test").asnumpy())

    class Other(ModelBase):
        def __init__(self):
            super().__init__()
            self.add_param("w1", (2, 2))
    with pytest.raises(ValueError, match="shape"):
        Other().load(path)


def test_builder_mlp_matches_layers():
    net = builder.Sequential(builder.Affine(6), builder.ReLU(), builder.Dropout(0.5),
                             builder.Affine(3))
    m = builder.Model(net, "softmax_loss", (2, 2))
    assert list(m.param_configs) == ["affine0_weight", "affine0_bias", "affine3_weight", "affine3_bias"]
    assert m.param_configs["affine0_weight"]["shape"] == (4, 6)
    m.init_params()
    X = onp.random.randn(5, 2, 2)
    p = {k: v.asnumpy() for k, v in m.params.items()}
    ref = onp.maximum(X.reshape(5, 4) @ p["affine0_weight"] + p["affine0_bias"], 0) @ \
        p["affine3_weight"] + p["affine3_bias"]
    onp.testing.assert_allclose(m.forward(np.array(X), "test").asnumpy(), ref, rtol=1e-5, atol=1e-6)
    y = np.array([0, 1, 2, 0, 1])
    assert abs(float(m.loss(m.forward(np.array(X), "test"), y)) -
               float(layers.softmax_loss(np.array(ref), y))) < 1e-5


def test_builder_cnn_shapes_batchnorm_and_gradients():
    net = builder.Sequential(
        builder.Reshape((1, 6, 6)),
        builder.Convolution((3, 3), 4, pad=1),
        builder.BatchNorm(),
        builder.ReLU(),
        builder.Pooling((2, 2)),
        builder.Flatten(),
        builder.Affine(3),
    )
    m = builder.Model(net, "softmax_loss", (36,))
    assert m.param_configs["convolution1_weight"]["shape"] == (4, 1, 3, 3)
    assert m.param_configs["affine6_weight"]["shape"] == (4 * 3 * 3, 3)
    assert m.output_shape == (3,)
    m.init_params()
    X, y = np.array(onp.random.randn(8, 36)), np.array(onp.arange(8) % 3)
    assert m.aux_params["batchnorm2_running_mean"] is None
    out = m.forward(X, "train")
    assert out.shape == (8, 3)
    assert m.aux_params["batchnorm2_running_mean"].shape == (4,)
    keys = list(m.params)

    def loss(*ps):
        m.params = dict(zip(keys, ps))
        return m.loss(m.forward(X, "train"), y)
    grads = minpy.grad(loss, list(range(len(keys))))(*[m.params[k] for k in keys])
    assert [g.shape for g in grads] == [m.params[k].shape for k in keys]
    assert all(onp.isfinite(g.asnumpy()).all() for g in grads)
    assert m.forward(X, "test").shape == (8, 3)


def test_builder_requires_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        builder.Model(builder.Sequential(builder.Affine(2)))
