"""Shared by the digits examples: scikit-learn's 8x8 digits, split and scaled."""
import sys

import numpy as onp


def load_digits_split(test_fraction=0.2, seed=0):
    """(X_train, y_train, X_test, y_test): 1797 8x8 images as 64 floats in [0, 1]."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("This example needs scikit-learn for its data set: pip install 'minpy[examples]' "
                 "(or pip install 'scikit-learn<1.4' 'scipy<1.12', which keep NumPy below 1.24 "
                 "for MXNet)")
    digits = load_digits()
    X = digits.data.astype("float32") / 16.0
    y = digits.target.astype("int64")
    order = onp.random.RandomState(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]
