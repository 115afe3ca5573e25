"""Solver as MinPy 0.3 programs drive it (issue 14): forward_batch/loss_batch, regression,
CS231n's Solver(model, data, batch_size=...). One SGD step is checked against NumPy."""
import numpy as onp
import pytest

import minpy.numpy as np
from minpy.nn import layers
from minpy.nn.io import NDArrayIter
from minpy.nn.model import ModelBase
from minpy.nn.solver import Solver

_rng = onp.random.RandomState(7)


class Linear(ModelBase):
    def __init__(self, d=3, k=1):
        super().__init__()
        self.add_param("w", (d, k), init_rule="constant", init_config={"value": 0.1})
        self.calls = 0

    def forward_batch(self, batch, mode):
        self.calls += 1
        return np.dot(batch.data[0], self.params["w"])

    def loss_batch(self, batch, out):
        return layers.l2_loss(out, batch.label[0])


def test_forward_batch_and_regression_one_sgd_step_matches_numpy():
    X, Y = _rng.randn(8, 3), _rng.randn(8, 1)
    model = Linear()
    solver = Solver(model, NDArrayIter(X, Y, batch_size=8), NDArrayIter(X, Y, batch_size=8),
                    num_epochs=1, update_rule="sgd", optim_config={"learning_rate": 0.1},
                    task_type="regression", verbose=False, lazy=False)
    solver.train()
    w0 = onp.full((3, 1), 0.1)
    dw = 2 * X.T @ (X @ w0 - Y) / 8                       # l2_loss = sum((Xw - y)^2) / N
    w1 = w0 - 0.1 * dw
    onp.testing.assert_allclose(model.params["w"].asnumpy(), w1, rtol=1e-4, atol=1e-6)
    assert model.calls >= 1
    # the history holds the regression loss of the data, not an accuracy
    onp.testing.assert_allclose(solver.val_acc_history[0], ((X @ w1 - Y) ** 2).sum() / 8, rtol=1e-4)
    with pytest.raises(ValueError, match="task_type"):
        Solver(model, NDArrayIter(X, Y), task_type="ranking")


class Softmax(ModelBase):
    def __init__(self):
        super().__init__()
        self.add_param("w", (4, 3))

    def forward(self, X, mode):
        return np.dot(X, self.params["w"])

    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)


def test_cs231n_form_with_a_data_dict():
    X = _rng.randn(60, 4)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)
    data = {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}
    solver = Solver(Softmax(), data, num_epochs=3, batch_size=10, update_rule="sgd",
                    optim_config={"learning_rate": 0.5}, verbose=False)
    assert solver.train_dataiter.batch_size == 10 and solver.train_dataiter.num_data == 40
    assert solver.test_dataiter.num_data == 20
    solver.train()
    assert len(solver.loss_history) == 12 and len(solver.val_acc_history) == 3
    assert solver.loss_history[-1] < solver.loss_history[0]


def test_model_builder_minpy_03_names():
    from minpy.nn import model_builder as builder
    net = builder.Sequential(builder.Affine(3)).append(builder.Identity())
    assert len(net.layers) == 2
    x, y = _rng.randn(5, 4), onp.array([0, 2, 1, 1, 0])
    for short, fn in (("softmax", layers.softmax_loss), ("svm", layers.svm_loss)):
        model = builder.Model(net, short, input_shape=(4,))
        model.init_params()
        out = model.forward(np.array(x), "test")
        assert out.shape == (5, 3)
        assert float(model.loss(out, np.array(y))) == pytest.approx(float(fn(out, np.array(y))), rel=1e-6)
    model = builder.Model(builder.Sequential(builder.Affine(2)), "l2", input_shape=(4,))
    model.init_params()
    out = model.forward(np.array(x), "test")
    t = _rng.randn(5, 2)
    assert float(model.loss(out, np.array(t))) == pytest.approx(((out.asnumpy() - t) ** 2).sum() / 5, rel=1e-4)
