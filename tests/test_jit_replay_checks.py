"""What a @jit trace checks on the values it is given (index bounds, class labels,
a float written into an integer element) it checks again on every replay, before
the cached graph runs: the graph itself would clip an index or ignore a label."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.nn import layers

W_HOST = onp.arange(12.0).reshape(4, 3)


@pytest.fixture(autouse=True)
def _restore(clean_jit_state):
    yield


INDEXERS = {
    "take": lambda w, i: np.take(w, i, axis=0) * 2.0,
    "getitem": lambda w, i: w[i] * 2.0,
    "getitem_axis1": lambda w, i: w[:, i] + 1.0,
}


@pytest.mark.parametrize("name", sorted(INDEXERS))
def test_index_arguments_are_checked_on_every_call(name):
    fn = INDEXERS[name]
    w = np.array(W_HOST)
    f = minpy.jit(lambda i: fn(w, i))
    n = 4 if name != "getitem_axis1" else 3
    calls = [[0, 1], [n - 1, -1], [n, 0], [-n - 1, 0], [-n, 2]]
    for idx in calls:
        try:
            want = fn(W_HOST, onp.array(idx))
        except IndexError as e:
            with pytest.raises(IndexError, match=f"index {str(e).split()[1]} is out of bounds"):
                f(np.array(idx))
            continue
        onp.testing.assert_array_equal(f(np.array(idx)).asnumpy(), want)
    assert f.traces == 1


def test_index_written_through_is_checked_on_every_call():
    def step(i, v):
        y = np.zeros(5)
        y[i] = v
        return y

    f = minpy.jit(step)
    onp.testing.assert_array_equal(f(np.array([1, 3]), np.array([1.0, 2.0])).asnumpy(),
                                   [0, 1, 0, 2, 0])
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 5"):
        f(np.array([5, 0]), np.array([1.0, 2.0]))
    onp.testing.assert_array_equal(f(np.array([-1, 0]), np.array([1.0, 2.0])).asnumpy(),
                                   [2, 0, 0, 0, 1])
    assert f.traces == 1


def test_captured_index_written_in_place_is_checked():
    idx = np.array([0, 2])
    w = np.array(W_HOST)
    f = minpy.jit(lambda: w[idx] + 0.0)
    onp.testing.assert_array_equal(f().asnumpy(), W_HOST[[0, 2]])
    idx[1] = 7
    with pytest.raises(IndexError, match="index 7 is out of bounds"):
        f()
    idx[1] = 3
    onp.testing.assert_array_equal(f().asnumpy(), W_HOST[[0, 3]])


def test_gradient_through_an_index_argument_is_checked():
    w = np.array(W_HOST)
    f = minpy.jit(lambda i: minpy.grad(lambda w: np.sum(np.take(w, i, axis=0) ** 2))(w))
    want = onp.zeros_like(W_HOST)
    onp.add.at(want, [1, 1, 3], 2 * W_HOST[[1, 1, 3]])
    onp.testing.assert_allclose(f(np.array([1, 1, 3])).asnumpy(), want)
    with pytest.raises(IndexError, match="index 4 is out of bounds"):
        f(np.array([1, 4, 3]))


def _scores():
    return onp.random.RandomState(0).randn(4, 3)


LOSSES = {
    "softmax_loss": lambda x, y: layers.softmax_loss(x, y),
    "svm_loss": lambda x, y: layers.svm_loss(x, y),
    "l2_loss": lambda x, y: layers.l2_loss(x, y),
    "softmax_cross_entropy": lambda x, y: layers.softmax_cross_entropy(x, y, from_logits=True),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_labels_given_to_a_jit_step_are_checked_on_every_call(name):
    loss = LOSSES[name]
    x = np.array(_scores())
    step = minpy.jit(lambda y: minpy.grad_and_loss(lambda x: loss(x, y))(x))
    good = [0, 2, 1, 2]
    g0, l0 = step(np.array(good))
    ge, le = minpy.grad_and_loss(lambda x: loss(x, np.array(good)))(x)
    onp.testing.assert_allclose(float(l0), float(le), rtol=1e-6)
    onp.testing.assert_allclose(g0.asnumpy(), ge.asnumpy(), rtol=1e-6)
    for bad, word in [([0, 3, 1, 2], "label 3 is out of range for 3 classes"),
                      ([0, -1, 1, 2], "label -1 is out of range")]:
        with pytest.raises(ValueError, match=f"minpy.nn.layers.{name}: {word}"):
            step(np.array(bad))
    _, l1 = step(np.array(good))
    assert float(l1) == pytest.approx(float(le), rel=1e-6)
    assert step.traces == 1


def test_float_labels_are_checked_on_every_call():
    x = np.array(_scores())
    step = minpy.jit(lambda y: layers.softmax_loss(x, y))
    step(np.array([0.0, 2.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="non-integer value 1.5"):
        step(np.array([0.0, 1.5, 1.0, 2.0]))
    assert step.traces == 1


def test_temporal_softmax_loss_and_embedding_check_on_every_call():
    x = np.array(onp.random.RandomState(1).randn(2, 3, 4))
    mask = np.array(onp.ones((2, 3), bool))
    loss = minpy.jit(lambda y: layers.temporal_softmax_loss(x, y, mask))
    loss(np.array([[0, 1, 2], [3, 0, 1]]))
    with pytest.raises(ValueError, match="label 4 is out of range for 4 classes"):
        loss(np.array([[0, 1, 2], [4, 0, 1]]))
    w = np.array(W_HOST)
    emb = minpy.jit(lambda i: layers.embedding(i, w))
    onp.testing.assert_array_equal(emb(np.array([3, 0])).asnumpy(), W_HOST[[3, 0]])
    for bad in ([4, 0], [-1, 0]):
        with pytest.raises(ValueError, match=f"embedding: index {bad[0]} is out of range "
                                             f"for 4 rows of W"):
            emb(np.array(bad))
    assert loss.traces == emb.traces == 1


def test_labels_the_step_computes_still_give_nan():
    """Labels computed inside the @jit step cannot be read while tracing: an invalid
    one makes the loss NaN (documented), valid ones the right loss."""
    x = np.array(_scores())
    step = minpy.jit(lambda y: layers.softmax_loss(x, y + 0))
    want = float(layers.softmax_loss(x, np.array([0, 2, 1, 2])))
    assert float(step(np.array([0, 2, 1, 2]))) == pytest.approx(want, rel=1e-6)
    assert onp.isnan(float(step(np.array([0, 5, 1, 2]))))


@pytest.mark.parametrize("value,error,words", [
    (float("nan"), ValueError, "cannot convert float NaN to integer"),
    (float("inf"), OverflowError, "cannot convert float infinity to integer"),
    (1e30, OverflowError, "Python int too large")])
def test_float_written_into_an_int_element_is_checked_on_every_call(value, error, words):
    def put(v):
        y = np.arange(4)
        y[2] = v
        return y

    f = minpy.jit(put)
    onp.testing.assert_array_equal(f(np.array(7.5, dtype="float64")).asnumpy(), [0, 1, 7, 3])
    with pytest.raises(error, match=words):
        f(np.array(value, dtype="float64"))
    onp.testing.assert_array_equal(f(np.array(-2.0, dtype="float64")).asnumpy(), [0, 1, -2, 3])
    assert f.traces == 1
    # a Python float argument: fed to the graph as a scalar, checked alike
    g = minpy.jit(put)
    onp.testing.assert_array_equal(g(2.5).asnumpy(), [0, 1, 2, 3])
    with pytest.raises(error, match=words):
        g(value)
    onp.testing.assert_array_equal(g(7.9).asnumpy(), [0, 1, 7, 3])
    assert g.traces == 1


def test_a_failed_check_raises_where_the_function_meets_the_value():
    """A replay whose check fails runs the body as lazy mode would: the error comes
    from the statement that meets the value, so the function's own ``try`` sees it
    and every other result is computed."""
    w = np.array(W_HOST)

    def f(i, x):
        y = x * 2.0
        try:
            picked = w[i] + 1.0
        except IndexError as e:
            picked = np.full((2, 3), -1.0)
            assert "out of bounds" in str(e)
        return y, picked

    g = minpy.jit(f)
    x = np.array([1.0, 2.0])
    for idx, want in [([0, 3], W_HOST[[0, 3]] + 1), ([4, 0], onp.full((2, 3), -1.0)),
                      ([-1, 1], W_HOST[[-1, 1]] + 1)]:
        y, picked = g(np.array(idx), x)
        onp.testing.assert_array_equal(y.asnumpy(), [2.0, 4.0])
        onp.testing.assert_array_equal(picked.asnumpy(), want)
    assert g.traces == 1
