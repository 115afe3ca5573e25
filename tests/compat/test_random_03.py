"""np.random.normal / uniform with array-valued parameters take the same sizes as with scalar
ones: integral floats (MinPy 0.3 programs written for Python 2 compute them with ``/``) are
accepted, other floats raise NumPy's TypeError (issue 14; the original's test_policy.py)."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np


@pytest.mark.parametrize("fn", ["normal", "uniform"])
def test_integral_float_sizes_with_array_parameters(fn):
    loc = np.zeros(3)
    for size in [(2.0, 3), (onp.float64(2), 3)]:
        assert getattr(np.random, fn)(loc, 1.0, size).shape == (2, 3)
        assert getattr(np.random, fn)(0.0, 1.0, size).shape == (2, 3)
    for first in (loc, 0.0):         # array-valued and scalar parameters alike
        with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
            getattr(np.random, fn)(first, 1.0, (2.5, 3))
    assert getattr(np.random, fn)(0.0, 1.0, 4).shape == (4,)
    assert getattr(np.random, fn)(0.0, 1.0).shape == ()
    with pytest.raises(ValueError, match="broadcast"):
        getattr(np.random, fn)(loc, 1.0, (2, 4))


def test_clusters_as_the_original_policy_test_draws_them():
    @minpy.wrap_policy("only_numpy")
    def clusters(n, d, k):
        mu = np.random.rand(k, d)
        x = np.zeros((n, d))
        m = n / k                                   # a float on Python 3
        for i in range(k):
            x[int(i * m):int((i + 1) * m)] = np.random.normal(mu[i, :], 0.1, (m, d))
        return x, mu
    x, mu = clusters(300, 4, 3)
    xs = x.asnumpy()
    for i in range(3):
        onp.testing.assert_allclose(xs[i * 100:(i + 1) * 100].mean(0), mu.asnumpy()[i], atol=0.05)
