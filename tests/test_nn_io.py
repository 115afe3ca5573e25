"""minpy.nn.io.NDArrayIter: batch boundaries for every last_batch_handle."""
import numpy as onp
import pytest

import minpy.numpy as np
from minpy.nn.io import NDArrayIter

X = onp.arange(10 * 2, dtype="float64").reshape(10, 2)
Y = onp.arange(10)


def labels(it):
    return [(b.label[0].asnumpy().tolist(), b.pad) for b in it]


def test_pad():
    it = NDArrayIter(X, Y, batch_size=4)
    assert len(it) == 3
    got = labels(it)
    assert got == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0), ([8, 9, 0, 1], 2)]
    it.reset()
    assert labels(it) == got
    b = next(iter(NDArrayIter(X, Y, batch_size=4)))
    assert b.data[0].dtype == onp.float32 and b.data[0].shape == (4, 2)
    onp.testing.assert_array_equal(b.data[0].asnumpy(), X[:4])
    assert b.label[0].dtype == onp.int64


def test_pad_batch_larger_than_data():
    assert labels(NDArrayIter(X[:3], Y[:3], batch_size=5)) == [([0, 1, 2, 0, 1], 2)]


def test_exact_multiple_has_no_padding():
    for mode in ("pad", "discard", "roll_over"):
        got = labels(NDArrayIter(X, Y, batch_size=5, last_batch_handle=mode))
        assert got == [([0, 1, 2, 3, 4], 0), ([5, 6, 7, 8, 9], 0)], mode


def test_discard():
    it = NDArrayIter(X, Y, batch_size=4, last_batch_handle="discard")
    assert len(it) == 2
    assert labels(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]
    it.reset()
    assert labels(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]


def test_roll_over():
    it = NDArrayIter(X, Y, batch_size=4, last_batch_handle="roll_over")
    assert labels(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]
    it.reset()                       # 8, 9 open the next epoch
    assert labels(it) == [([8, 9, 0, 1], 0), ([2, 3, 4, 5], 0), ([6, 7, 8, 9], 0)]
    it.reset()                       # nothing left over this time
    assert labels(it) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]


def test_shuffle_is_a_permutation_and_keeps_pairs():
    onp.random.seed(0)
    it = NDArrayIter(X, Y, batch_size=3, shuffle=True, last_batch_handle="discard")
    seen = []
    for b in it:
        x, y = b.data[0].asnumpy(), b.label[0].asnumpy()
        onp.testing.assert_array_equal(x, X[y])
        seen += y.tolist()
    assert len(seen) == 9 and len(set(seen)) == 9
    it.reset()
    second = [v for b in it for v in b.label[0].asnumpy().tolist()]
    assert len(set(second)) == 9


def test_minpy_inputs_lists_and_getpad():
    it = NDArrayIter([np.array(X), X * 2], [Y], batch_size=6)
    assert it.getpad() == 0
    b1 = next(it)
    assert len(b1.data) == 2 and b1.pad == 0
    assert it.getpad() == 2
    b2 = next(it)
    assert b2.pad == 2
    onp.testing.assert_array_equal(b2.data[1].asnumpy()[:4], X[6:] * 2)
    with pytest.raises(StopIteration):
        next(it)
    assert it.provide_data == [("data", (6, 2)), ("data", (6, 2))]


def test_errors():
    with pytest.raises(ValueError, match="samples"):
        NDArrayIter(X, Y[:5], batch_size=2)
    with pytest.raises(ValueError, match="last_batch_handle"):
        NDArrayIter(X, Y, batch_size=2, last_batch_handle="wrap")
    with pytest.raises(ValueError, match="batch_size"):
        NDArrayIter(X, Y, batch_size=0)
