"""A multilayer perceptron on the 8x8 digits, declared with model_builder and
trained by the Solver (lazy mode: one cached graph per mini-batch).

    python examples/mlp_digits.py
"""
import numpy as onp

import minpy.numpy as np
from minpy.nn import io, model_builder as builder
from minpy.nn.solver import Solver

from _digits import load_digits_split


def main(epochs=20):
    X_train, y_train, X_test, y_test = load_digits_split()
    onp.random.seed(0)
    np.random.seed(0)
    net = builder.Sequential(
        builder.Affine(128), builder.BatchNorm(), builder.ReLU(), builder.Dropout(0.2),
        builder.Affine(10),
    )
    model = builder.Model(net, loss="softmax_loss", input_shape=(64,))
    train = io.NDArrayIter(X_train, y_train, batch_size=64, shuffle=True)
    test = io.NDArrayIter(X_test, y_test, batch_size=128)
    solver = Solver(model, train, test, num_epochs=epochs, update_rule="adam",
                    optim_config={"learning_rate": 2e-3}, lr_decay=0.95, print_every=100,
                    verbose=True)
    solver.init()
    solver.train()
    print(f"train accuracy {solver.check_accuracy(train):.3f}, "
          f"test accuracy {solver.check_accuracy(test):.3f} (best epoch's parameters)")


if __name__ == "__main__":
    main()
