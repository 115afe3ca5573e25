"""A NumPy logistic-regression training script runs on MinPy by changing only its
import, and matches NumPy's numbers."""
import numpy as onp

import minpy.numpy as mnp


def logistic_regression(np, X, y, steps=200, lr=0.5):
    """Plain NumPy code; ``np`` is whichever module the user imported as np."""
    n, d = X.shape
    w = np.zeros(d, dtype="float32")
    b = 0.0
    losses = []
    for _ in range(steps):
        z = X.dot(w) + b
        p = 1.0 / (1.0 + np.exp(-z))
        loss = -np.mean(y * np.log(p + 1e-7) + (1 - y) * np.log(1 - p + 1e-7))
        dz = (p - y) / n
        w = w - lr * X.T.dot(dz)
        b = b - lr * float(np.sum(dz))
        losses.append(float(loss))
    acc = float(np.mean((X.dot(w) + b > 0) == (y > 0.5)))
    return w, b, losses, acc


def test_same_script_same_numbers():
    rng = onp.random.RandomState(0)
    X = rng.randn(200, 5).astype("float32")
    true_w = onp.array([1.5, -2.0, 0.5, 0.0, 1.0], dtype="float32")
    y = (X @ true_w + 0.3 * rng.randn(200) > 0).astype("float32")
    w_np, b_np, l_np, acc_np = logistic_regression(onp, X, y)
    w_mp, b_mp, l_mp, acc_mp = logistic_regression(mnp, mnp.array(X), mnp.array(y))
    assert onp.allclose(onp.asarray(w_mp), w_np, rtol=1e-3, atol=1e-4)
    assert abs(b_mp - b_np) < 1e-4
    assert onp.allclose(l_mp, l_np, rtol=1e-4, atol=1e-5)
    assert abs(acc_mp - acc_np) < 1e-6 and acc_np > 0.9
