"""Label checks of the losses in ``minpy.nn.layers`` (issue 12: ``softmax_loss``
accepted label 5 for 3 classes, and float labels, silently)."""
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad
from minpy.nn import layers

X = onp.random.RandomState(5).randn(2, 3)


def _ref(x, y):
    p = onp.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return -onp.log(p[onp.arange(len(y)), y]).mean()


@pytest.mark.parametrize("fn", [layers.softmax_loss, layers.svm_loss])
@pytest.mark.parametrize("label,err,msg", [
    ([0, 5], ValueError, "label 5 is out of range for 3 classes"),
    ([0, -1], ValueError, "label -1 is out of range"),
    ([0.0, 2.5], ValueError, "non-integer value 2.5"),
    ([True, False], TypeError, "dtype bool"),
    ([0, 1, 2], ValueError, "expected 2 class labels"),
])
def test_invalid_labels_raise(fn, label, err, msg):
    x = np.array(X, dtype="float64")
    with pytest.raises(err, match=msg):
        fn(x, np.array(label))
    with pytest.raises(err, match=msg):
        fn(x, onp.array(label))          # host labels too


def test_valid_label_forms_agree():
    x = np.array(X, dtype="float64")
    want = _ref(X, onp.array([0, 2]))
    for lab in (np.array([0, 2]), onp.array([0, 2]), [0, 2], np.array([0.0, 2.0]),
                onp.array([[0], [2]]), np.array([[1.0, 0, 0], [0, 0, 1.0]], dtype="float64"),
                np.array([[1, 0, 0], [0, 0, 1]])):
        assert float(layers.softmax_loss(x, lab)) == pytest.approx(want), lab
    g = grad(lambda x: layers.softmax_loss(x, np.array([0, 2])))(x)
    assert onp.all(onp.isfinite(g.asnumpy()))


def test_unread_labels_give_a_nan_loss_not_a_silent_one():
    """Labels pending in a lazy graph or computed by a @jit step are not read back: an
    out-of-range label makes the loss NaN (a sample silently dropped before). Labels a
    @jit step is given are checked on every call (tests/test_jit_replay_checks.py)."""
    x = np.array(X, dtype="float64")
    with minpy.lazy():
        y = np.array([0, 5]) + 0          # a pending value
        assert onp.isnan(float(layers.softmax_loss(x, y)))
        y = np.array([0, 2]) + 0
        assert float(layers.softmax_loss(x, y)) == pytest.approx(_ref(X, onp.array([0, 2])))
    step = minpy.jit(lambda x, y: layers.softmax_loss(x, y * 1))
    for _ in range(2):
        assert onp.isnan(float(step(x, np.array([0, 5]))))
        assert float(step(x, np.array([0, 2]))) == pytest.approx(_ref(X, onp.array([0, 2])))
    given = minpy.jit(lambda x, y: layers.softmax_loss(x, y))
    for _ in range(2):
        with pytest.raises(ValueError, match="label 5 is out of range for 3 classes"):
            given(x, np.array([0, 5]))
        assert float(given(x, np.array([0, 2]))) == pytest.approx(_ref(X, onp.array([0, 2])))


def test_other_losses_check_shapes_and_indices():
    with pytest.raises(ValueError, match="does not match the prediction shape"):
        layers.l2_loss(np.ones((3, 1)), np.ones(3))
    with pytest.raises(ValueError, match="out of range"):
        layers.l2_loss(np.ones((2, 3)), np.array([0, 3]))
    assert float(layers.l2_loss(np.ones((2, 3)), np.array([0, 2]))) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="index 4 is out of range for 4 rows of W"):
        layers.embedding(np.array([0, 4]), np.ones((4, 2)))
    with pytest.raises(ValueError, match="targets of shape"):
        layers.softmax_cross_entropy(np.ones((2, 3)), np.ones((3, 2)))
    # class indices are accepted as MinPy 0.3 did (issue 14), and checked
    p = onp.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    assert float(layers.softmax_cross_entropy(np.array(p), np.array([0, 2]))) == \
        pytest.approx(-(onp.log(0.2) + onp.log(0.1)) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        layers.softmax_cross_entropy(np.array(p), np.array([0, 3]))
    x3 = np.array(onp.random.randn(2, 2, 3))
    with pytest.raises(ValueError, match="out of range"):
        layers.temporal_softmax_loss(x3, np.array([[0, 3], [1, 1]]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="must both be"):
        layers.temporal_softmax_loss(x3, np.array([0, 1]), np.ones((2, 2)))


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_loss_of_no_rows_is_nan_in_every_mode(mode):
    """NumPy's mean over no samples is NaN. (Inside a @jit step the labels' NaN guard
    took the minimum of no rows and raised; labels the step is given are now read.)"""
    def loss():
        return layers.softmax_loss(np.zeros((0, 3)), np.zeros(0, dtype="int64"))
    if mode == "eager":
        v = loss()
    elif mode == "lazy":
        with minpy.lazy():
            v = float(loss())
    else:
        v = minpy.jit(loss)()
    assert onp.isnan(float(v))
