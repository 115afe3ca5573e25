"""Multinomial logistic regression on the 8x8 digits, written as plain NumPy code.

No minpy.nn here: the model is ``softmax(X @ W + b)``, the loss is written with
``np.exp``/``np.log``, and ``grad_and_loss`` supplies the gradients.

    python examples/logistic_regression.py
"""
import time

import numpy as onp

import minpy
import minpy.numpy as np
from minpy.core import grad_and_loss

from _digits import load_digits_split


def loss(W, b, X, Y):
    scores = np.dot(X, W) + b
    scores = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    return -np.sum(log_probs * Y) / X.shape[0] + 1e-4 * np.sum(W * W)


def main(iters=300, lr=0.5):
    X_train, y_train, X_test, y_test = load_digits_split()
    X, Y = np.array(X_train), np.array(onp.eye(10)[y_train])
    W, b = np.zeros((64, 10)), np.zeros(10)
    step = grad_and_loss(loss, [0, 1])
    t0 = time.perf_counter()
    with minpy.lazy():                         # one cached graph per iteration
        for i in range(iters):
            (dW, db), value = step(W, b, X, Y)
            W, b = W - lr * dW, b - lr * db
            if (i + 1) % 100 == 0:
                print(f"iteration {i + 1}: loss {float(value):.4f}")

    def accuracy(Xs, ys):
        return float((np.argmax(np.dot(np.array(Xs), W) + b, axis=1).asnumpy() == ys).mean())
    print(f"trained in {time.perf_counter() - t0:.2f} s")
    print(f"train accuracy {accuracy(X_train, y_train):.3f}, test accuracy {accuracy(X_test, y_test):.3f}")


if __name__ == "__main__":
    main()
