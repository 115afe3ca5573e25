"""MinPy 0.3.4's module API: Model subclasses holding minpy.nn.modules, model(data, labels=),
backward(), grad_and_loss, Updater; values and gradients checked against NumPy (issue 14)."""
import numpy as onp
import pytest

import minpy.numpy as np
from minpy.nn.model_builder import Model, Sequential, Updater, Layer
from minpy.nn.modules import (BatchFlatten, BatchNorm, Convolution, FullyConnected, Identity,
                              Logistic, Pooling, ReLU, Tanh, Variable, Dropout, LSTM, RNN)

_rng = onp.random.RandomState(11)


class MLP(Model):
    def __init__(self):
        super(MLP, self).__init__(loss="softmax_loss")
        self.net = Sequential(FullyConnected(num_hidden=5), ReLU(), FullyConnected(num_hidden=3))

    def forward(self, data, mode="training"):
        return self.net(data)


def _softmax_grad(s, y):
    p = onp.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -onp.log(p[onp.arange(len(y)), y]).mean()
    p[onp.arange(len(y)), y] -= 1
    return loss, p / len(y)


def test_mlp_loss_backward_and_updater_match_numpy():
    model = MLP()
    X, y = _rng.randn(6, 4), _rng.randint(0, 3, 6)
    loss = model(X, labels=y)
    names = sorted(model.params)
    assert len(names) == 4
    (w1, b1), (w2, b2) = [[model.params[n] for n in names if n.startswith(l.name)]
                          for l in (model.net[0], model.net[2])][0][::-1], \
        [[model.params[n] for n in names if n.startswith(l.name)] for l in (model.net[2],)][0][::-1]
    W1, B1, W2, B2 = (a.asnumpy().astype("float64") for a in (w1, b1, w2, b2))
    assert W1.shape == (5, 4) and W2.shape == (3, 5)        # MXNet's (num_hidden, in) layout
    h = onp.maximum(X @ W1.T + B1, 0)
    ref_loss, ds = _softmax_grad(h @ W2.T + B2, y)
    onp.testing.assert_allclose(float(loss), ref_loss, rtol=1e-5)
    grads = model.backward()
    dh = ds @ W2 * (h > 0)
    by_param = {id(w1): dh.T @ X, id(b1): dh.sum(0), id(w2): ds.T @ h, id(b2): ds.sum(0)}
    for n in names:
        onp.testing.assert_allclose(grads[n].asnumpy(), by_param[id(model.params[n])],
                                    rtol=1e-4, atol=1e-6)
    up = Updater(model, update_rule="sgd", learning_rate=0.1)
    assert up.learning_rate == 0.1
    up.learning_rate = up.learning_rate * 0.5
    before = {n: model.params[n].asnumpy() for n in names}
    up(grads)
    for n in names:
        onp.testing.assert_allclose(model.params[n].asnumpy(),
                                    before[n] - 0.05 * grads[n].asnumpy(), rtol=1e-5, atol=1e-7)
    g2, loss2 = model.grad_and_loss(X, y)
    assert sorted(g2) == names and float(loss2) < ref_loss
    assert isinstance(model(X, labels=y, reduce_array=True), float)


def test_first_call_does_not_update_batchnorm_twice_and_inference_uses_moving_stats():
    class Net(Model):
        def __init__(self):
            super().__init__(loss="l2_loss")
            self.bn = BatchNorm(fix_gamma=False)

        def forward(self, data, mode="training"):
            if mode == "training":
                self.training()
            else:
                self.inference()
            return self.bn(data)

    m = Net()
    X = _rng.randn(8, 3, 2, 2).astype("float32") + 2
    m(X, labels=onp.zeros_like(X))
    (mean_name,) = [n for n in m.aux_params if n.endswith("moving_mean")]
    (var_name,) = [n for n in m.aux_params if n.endswith("moving_var")]
    mu = X.mean(axis=(0, 2, 3))
    onp.testing.assert_allclose(m.aux_params[mean_name].asnumpy(), 0.1 * mu, rtol=1e-4, atol=1e-5)
    out = m.forward(X, "inference").asnumpy()
    mv = m.aux_params[var_name].asnumpy()
    ref = (X - (0.1 * mu).reshape(1, 3, 1, 1)) / onp.sqrt(mv.reshape(1, 3, 1, 1) + 1e-3)
    onp.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-3)


def test_residual_sum_of_modules_conv_pooling_and_variable():
    class Net(Model):
        def __init__(self):
            super().__init__(loss="softmax_loss")
            conv = lambda: Convolution(num_filter=2, kernel=(3, 3), pad=(1, 1), no_bias=True)
            self.block = Sequential(conv(), ReLU()) + Identity()
            self.diff = Tanh() - Logistic()
            self.head = Sequential(Pooling(pool_type="max", kernel=(2, 2), stride=(2, 2)),
                                   BatchFlatten(), FullyConnected(num_hidden=3))
            self.offset = Variable((3,), init_configs={"init_rule": "constant", "value": 0.5})

        def forward(self, data, mode="training"):
            return self.head(self.diff(self.block(data))) + self.offset()

    m = Net()
    X, y = _rng.randn(4, 2, 4, 4), _rng.randint(0, 3, 4)
    loss = m(X, labels=y)
    assert onp.isfinite(float(loss))
    (off,) = [n for n in m.params if n.endswith("_variable")]
    onp.testing.assert_allclose(m.params[off].asnumpy(), 0.5)
    grads = m.backward()
    assert sorted(grads) == sorted(m.params)
    # the offset's gradient is the softmax gradient summed over the batch
    s = m.forward(X).asnumpy().astype("float64")
    _, ds = _softmax_grad(s, y)
    onp.testing.assert_allclose(grads[off].asnumpy(), ds.sum(0), rtol=1e-4, atol=1e-6)


def test_attach_all_false_and_detach():
    class Net(Model):
        def __init__(self):
            super().__init__(loss="l2_loss")
            self.fc = FullyConnected(num_hidden=2)

        def forward(self, data, mode="training"):
            if self.pick:
                self.attach(self.fc.name + "_fullyconnected_weight")
            return self.fc(data)

    m = Net()
    m.pick = False
    X, Y = _rng.randn(3, 4), _rng.randn(3, 2)
    m(X, labels=Y)
    assert sorted(m.backward()) == sorted(m.params)
    m.pick = True
    m(X, labels=Y, attach_all=False)
    assert list(m.backward()) == [m.fc.name + "_fullyconnected_weight"]
    with pytest.raises(ValueError, match="not a parameter"):
        m.attach("nothing")


def test_errors_are_clear():
    with pytest.raises(RuntimeError, match="bound to a model"):
        ReLU()(np.ones((2, 2)))
    m = MLP()
    with pytest.raises(RuntimeError, match="call the model first"):
        m.backward()
    m(_rng.randn(2, 4), labels=onp.array([0, 1]))
    with pytest.raises(ValueError, match="update_rule"):
        Updater(m)(m.backward())
    with pytest.raises(NotImplementedError, match="add_param"):
        m.add_param("w", (2,))
    with pytest.raises(NotImplementedError, match="upstream"):
        m.backward(np.ones(()))


def test_custom_layer_and_recurrent_modules():
    class Scale(Layer):
        _module_name = "scale"

        def __init__(self):
            super().__init__(params=("weight",))

        def forward(self, X):
            return X * self._get_param(self.weight)

        def param_shapes(self, shape):
            return {self.weight: shape[1:]}

    class Net(Model):
        def __init__(self):
            super().__init__(loss="l2_loss")
            self.scale = Scale()
            self.rnn = RNN(3, "tanh")
            self.lstm = LSTM(3)
            self.drop = Dropout(0.5)

        def forward(self, data, mode="training"):
            h = None
            x = self.scale(data)
            for t in range(data.shape[1]):
                h = self.rnn(x[:, t, :], h)
            h2, c2 = self.lstm(h)
            return self.drop(h2)

    m = Net()
    X = _rng.randn(2, 4, 5)
    loss = m(X, labels=onp.zeros((2, 3)))
    assert onp.isfinite(float(loss))
    assert m.scale.weight in m.params and m.params[m.scale.weight].shape == (4, 5)
    m.inference()
    a, b = m.forward(X, "inference").asnumpy(), m.forward(X, "inference").asnumpy()
    onp.testing.assert_array_equal(a, b)                 # no dropout in inference mode
