"""A small convolutional network on the 8x8 digits: a ModelBase subclass using
minpy.nn.layers.conv2d / max_pool (MXNet convolution and pooling, with their
gradients), trained by the Solver.

    python examples/cnn_digits.py
"""
import numpy as onp

import minpy.numpy as np
from minpy.nn import io, layers
from minpy.nn.model import ModelBase
from minpy.nn.solver import Solver

from _digits import load_digits_split


class ConvNet(ModelBase):
    """conv 3x3 (16 filters, pad 1) - relu - 2x2 max pool - affine 64 - relu - affine 10."""

    def __init__(self, filters=16, hidden=64):
        super().__init__()
        self.add_param("conv_w", (filters, 1, 3, 3))
        self.add_param("conv_b", (filters,), init_rule="constant")
        self.add_param("w1", (filters * 4 * 4, hidden))
        self.add_param("b1", (hidden,), init_rule="constant")
        self.add_param("w2", (hidden, 10))
        self.add_param("b2", (10,), init_rule="constant")

    def forward(self, X, mode):
        p = self.params
        images = np.reshape(X, (X.shape[0], 1, 8, 8))
        h = layers.relu(layers.conv2d(images, p["conv_w"], p["conv_b"], pad=1, stride=1))
        h = layers.max_pool(h, 2, 2)
        h = layers.relu(layers.affine(h, p["w1"], p["b1"]))
        return layers.affine(h, p["w2"], p["b2"])

    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)


def main(epochs=12):
    X_train, y_train, X_test, y_test = load_digits_split()
    onp.random.seed(0)
    np.random.seed(0)
    train = io.NDArrayIter(X_train, y_train, batch_size=64, shuffle=True)
    test = io.NDArrayIter(X_test, y_test, batch_size=128)
    solver = Solver(ConvNet(), train, test, num_epochs=epochs, update_rule="adam",
                    optim_config={"learning_rate": 3e-3}, print_every=100)
    solver.init()
    solver.train()
    print(f"train accuracy {solver.check_accuracy(train):.3f}, "
          f"test accuracy {solver.check_accuracy(test):.3f} (best epoch's parameters)")


if __name__ == "__main__":
    main()
