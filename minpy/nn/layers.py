"""Differentiable layers as plain functions of MinPy arrays.

Every function here is built from MinPy operators, so ``minpy.grad`` can
differentiate through it and lazy mode records it like any other code. Shapes
follow the CS231n conventions: data is ``(N, ...)`` with the batch first,
images are ``(N, C, H, W)``, sequences are ``(N, T, D)``.
"""
from __future__ import annotations

import functools as _functools

import mxnet as _mx
import numpy as _onp

from .. import numpy as np
from ..array import Array
from ..dispatch import call as _call
from ..ops._util import c

_MXND = _mx.np.ndarray

__all__ = ["affine", "relu", "sigmoid", "tanh", "batchnorm", "dropout", "softmax_loss",
           "svm_loss", "l2_loss", "softmax_cross_entropy", "softmax", "conv2d", "max_pool",
           "rnn_step", "rnn_temporal", "lstm_step", "lstm_temporal", "gru_step",
           "gru_temporal", "temporal_affine", "temporal_softmax_loss", "embedding",
           "stop_gradient"]


def _arr(x):
    return x if isinstance(x, Array) else np.array(x)


# ----------------------------------------------------------------------------- basic layers

def affine(x, w, b):
    """``x.reshape(N, -1) @ w + b``: x of shape (N, d1, ..., dk), w of (D, M), b of (M,)."""
    x = _arr(x)
    if x.ndim != 2:
        x = np.reshape(x, (x.shape[0], -1))
    return np.dot(x, w) + b


def relu(x):
    """``max(x, 0)``; the gradient is 0 where x <= 0."""
    return c("nn.relu", _arr(x))


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))`` (MXNet's stable kernel)."""
    return c("nn.sigmoid", _arr(x))


def tanh(x):
    return np.tanh(x)


def stop_gradient(x):
    """A copy of ``x`` through which no gradient flows."""
    return c("nn.stop_gradient", _arr(x))


def batchnorm(x, gamma, beta, running_mean=None, running_var=None, mode="train",
              eps=1e-5, momentum=0.9):
    """Batch normalisation over the batch axis (and, for 4-d data, the spatial axes).

    x is ``(N, D)`` with gamma, beta and the running statistics of shape ``(D,)``,
    or ``(N, C, H, W)`` (spatial batch norm) with per-channel ``(C,)`` parameters.

    Returns ``(out, new_running_mean, new_running_var)``. In ``'train'`` mode the
    batch statistics normalise x and the running statistics move towards them,
    ``new = momentum * old + (1 - momentum) * batch`` (running values of None
    start from the batch statistics); the returned running statistics carry no
    gradient. In ``'test'`` mode the running statistics normalise x and are
    returned unchanged.
    """
    if isinstance(running_mean, str):
        # MinPy 0.3's positional order (x, gamma, beta, mode, eps, momentum, running_mean,
        # running_var): the slots hold those values; untouched defaults mean "not given"
        mode, eps, momentum, running_mean, running_var = (
            running_mean, 1e-5 if running_var is None else running_var,
            0.9 if isinstance(mode, str) else mode,
            None if isinstance(eps, (int, float)) else eps,
            None if isinstance(momentum, (int, float)) else momentum)
    x = _arr(x)
    if x.ndim == 4:
        axes, bshape = (0, 2, 3), (1, x.shape[1], 1, 1)
    elif x.ndim == 2:
        axes, bshape = (0,), (1, x.shape[1])
    else:
        raise ValueError(f"minpy.nn.layers.batchnorm: expected 2-d or 4-d data, got shape {x.shape}")

    def b(v):
        return np.reshape(v, bshape)

    if mode == "train":
        mean = np.mean(x, axis=axes, keepdims=True)
        centred = x - mean
        var = np.mean(centred * centred, axis=axes, keepdims=True)
        xhat = centred / np.sqrt(var + eps)
        bm = stop_gradient(np.reshape(mean, (x.shape[1],)))
        bv = stop_gradient(np.reshape(var, (x.shape[1],)))
        new_mean = bm if running_mean is None else momentum * running_mean + (1.0 - momentum) * bm
        new_var = bv if running_var is None else momentum * running_var + (1.0 - momentum) * bv
    elif mode == "test":
        if running_mean is None or running_var is None:
            raise ValueError("minpy.nn.layers.batchnorm: 'test' mode needs running_mean and running_var")
        xhat = (x - b(running_mean)) / np.sqrt(b(running_var) + eps)
        new_mean, new_var = running_mean, running_var
    else:
        raise ValueError(f"minpy.nn.layers.batchnorm: mode must be 'train' or 'test', got {mode!r}")
    return xhat * b(gamma) + b(beta), new_mean, new_var


def dropout(x, prob, mode="train", seed=None):
    """Inverted dropout: in ``'train'`` mode each unit is zeroed with probability
    ``prob`` and the survivors are scaled by ``1 / (1 - prob)``, so ``'test'``
    mode is the identity. ``seed`` seeds MinPy's generator first (reproducible masks).
    """
    x = _arr(x)
    if not 0.0 <= prob < 1.0:
        raise ValueError(f"minpy.nn.layers.dropout: prob must be in [0, 1), got {prob}")
    if mode == "test" or prob == 0.0:
        return x
    if mode != "train":
        raise ValueError(f"minpy.nn.layers.dropout: mode must be 'train' or 'test', got {mode!r}")
    if seed is not None:
        np.random.seed(seed)
    # (integer or bool data: a float mask, and a float result as NumPy's product gives)
    keep = np.random.uniform(0.0, 1.0, x.shape,
                             dtype=x.dtype if x.dtype.kind == "f" else "float32") >= prob
    return x * keep * (1.0 / (1.0 - prob))


# ----------------------------------------------------------------------------- losses

def _one_hot(label, n_class, dtype):
    """(N, C) indicator of integer (or integral float) labels; carries no gradient."""
    label = _arr(label)
    classes = np.arange(n_class, dtype=label.dtype)
    return (np.reshape(label, (-1, 1)) == classes).astype(dtype)


def _read_checked(a, check):
    """``a``'s values on the host, after ``check`` (which raises for invalid ones), where
    reading them costs no flush and no graph break: host data or a computed MinPy
    array. Inside a @jit trace such an array is an input of the graph, and the check
    runs again on the values of every later call. None for a value not computed yet
    (pending in a lazy graph, or computed by the traced function)."""
    if not isinstance(a, Array):
        host = _onp.asarray(a)
        check(host)
        return host
    d = a._data
    if not isinstance(d, _MXND):
        return None
    return _call.checked_values(d, check)


def _check_indices(values, n: int, fname: str, what: str = "label",
                   of: str = "classes") -> None:
    """Class indices must be integers (integral floats accepted) in ``[0, n)``."""
    if values.dtype.kind == "b" or values.dtype.kind not in "iuf":
        raise TypeError(f"minpy.nn.layers.{fname}: {what} values must be integer class "
                        f"indices, got dtype {values.dtype}")
    if values.size == 0:
        return
    if values.dtype.kind == "f":
        bad = values[~(_onp.isfinite(values) & (values == _onp.floor(values)))]
        if bad.size:
            raise ValueError(f"minpy.nn.layers.{fname}: {what} values must be integer class "
                             f"indices; got the non-integer value {bad.flat[0]!r}")
    lo, hi = values.min(), values.max()
    if lo < 0 or hi >= n:
        raise ValueError(f"minpy.nn.layers.{fname}: {what} {(lo if lo < 0 else hi).item()!r} is "
                         f"out of range for {n} {of} (valid values are 0..{n - 1})")


def _class_targets(x, label, fname: str, allow_dist: bool = False):
    """The (N, C) target rows for scores ``x`` of shape (N, C) and ``label``: N class
    indices, or (with ``allow_dist``) an (N, C) array of one-hot or soft targets.

    Returns ``(targets, guard)``. Indices are checked on the host when that is free
    (``_read_checked``; a @jit step checks the labels it is given on every call);
    otherwise ``guard`` is a 0-d term, 0 when every row picked a class and NaN when one
    did not, for the caller to add to its loss, so an invalid label computed in a lazy
    graph or a @jit step shows as a NaN loss instead of a silently ignored sample."""
    label = label if isinstance(label, Array) else _onp.asarray(label)
    if x.ndim != 2:
        raise ValueError(f"minpy.nn.layers.{fname}: expected (N, C) scores, got shape {x.shape}")
    n, classes = x.shape
    if allow_dist and label.ndim == 2 and tuple(label.shape) == tuple(x.shape) and \
            (label.dtype.kind == "f" or classes > 1):
        return _arr(label).astype(x.dtype), None       # one-hot or soft target rows
    if label.size != n or label.ndim > 2:
        raise ValueError(f"minpy.nn.layers.{fname}: expected {n} class labels for scores of "
                         f"shape {x.shape}, got labels of shape {tuple(label.shape)}")
    host = _read_checked(label, _functools.partial(_check_indices, n=classes, fname=fname))
    if host is not None:
        return _one_hot(np.array(host) if not isinstance(label, Array) else label,
                        classes, x.dtype), None
    if label.dtype.kind == "b" or label.dtype.kind not in "iuf":
        raise TypeError(f"minpy.nn.layers.{fname}: label values must be integer class "
                        f"indices, got dtype {label.dtype}")
    targets = _one_hot(label, classes, x.dtype)
    hit = np.min(np.sum(targets, axis=1))          # 1 when every row picked a class
    return targets, 0.0 * np.log(hit)


def _guarded(loss, guard):
    return loss if guard is None else loss + guard


def _log_softmax(x):
    shifted = x - stop_gradient(np.max(x, axis=1, keepdims=True))
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def softmax(x):
    """Row-wise softmax of (N, C) scores (shifted by the row maximum for stability)."""
    x = _arr(x)
    e = np.exp(x - stop_gradient(np.max(x, axis=1, keepdims=True)))
    return e / np.sum(e, axis=1, keepdims=True)


def softmax_loss(x, label):
    """Mean cross-entropy of (N, C) scores against N integer class labels in
    ``[0, C)`` (integral floats are accepted), or against an (N, C) float array of
    one-hot or soft target rows.

    Computed as ``logsumexp(x_i) - x_i[label_i]`` on scores shifted by their row
    maximum, so large scores do not overflow. Out-of-range or non-integer labels
    raise ``ValueError``, bool labels ``TypeError`` (inside a lazy graph or a @jit
    step, where the labels are not read, the loss is NaN instead).
    """
    x = _arr(x)
    targets, guard = _class_targets(x, label, "softmax_loss", allow_dist=True)
    logp = _log_softmax(x)
    return _guarded(-np.sum(logp * targets) / x.shape[0], guard)


def svm_loss(x, label, delta=1.0):
    """Mean multiclass hinge loss ``sum_{j != y} max(0, x_j - x_y + delta)`` of (N, C)
    scores against N integer class labels (checked as in :func:`softmax_loss`)."""
    x = _arr(x)
    onehot, guard = _class_targets(x, label, "svm_loss")
    correct = np.sum(x * onehot, axis=1, keepdims=True)
    margins = np.maximum(x - correct + delta, 0.0) * (1.0 - onehot)
    return _guarded(np.sum(margins) / x.shape[0], guard)


def l2_loss(x, label):
    """``sum((x - label) ** 2) / N`` (MinPy 0.3's value). ``label`` has x's shape; a 1-d integer
    ``label`` for 2-d ``x`` holds class indices, turned into one-hot rows first.
    Other shapes raise ``ValueError`` (broadcasting (N, 1) against (N,) would
    silently compare every prediction with every label)."""
    x = _arr(x)
    guard = None
    host_kind = label.dtype.kind if hasattr(label, "dtype") else _onp.asarray(label).dtype.kind
    if x.ndim == 2 and _onp.ndim(label) == 1 and host_kind in "iub":
        label, guard = _class_targets(x, label, "l2_loss")
    label = _arr(label)
    if tuple(label.shape) != tuple(x.shape):
        raise ValueError(f"minpy.nn.layers.l2_loss: label shape {tuple(label.shape)} does not "
                         f"match the prediction shape {tuple(x.shape)}")
    d = x - label
    return _guarded(np.sum(d * d) / x.shape[0], guard)


def softmax_cross_entropy(x, one_hot, from_logits=False, eps=1e-12):
    """Mean cross-entropy ``-sum(one_hot * log p) / N``.

    ``x`` holds probabilities (``from_logits=False``, clipped at ``eps`` before the
    log) or raw scores (``from_logits=True``, a stable log-softmax is applied).
    ``one_hot`` is an (N, C) array of targets of x's shape (rows may be soft labels).
    """
    x = _arr(x)
    if x.ndim == 2 and len(getattr(one_hot, "shape", _onp.shape(one_hot))) == 1:
        # N class indices (MinPy 0.3 accepted them too): one-hot rows, indices checked
        one_hot, guard = _class_targets(x, one_hot, "softmax_cross_entropy")
        return _guarded(softmax_cross_entropy(x, one_hot, from_logits, eps), guard)
    if tuple(_onp.shape(one_hot) if not isinstance(one_hot, Array) else one_hot.shape) != \
            tuple(x.shape):
        raise ValueError(f"minpy.nn.layers.softmax_cross_entropy: targets of shape "
                         f"{tuple(_onp.shape(one_hot))} for predictions of shape {x.shape}; "
                         f"pass (N, C) one-hot rows (softmax_loss takes class indices)")
    logp = _log_softmax(x) if from_logits else np.log(np.maximum(x, eps))
    return -np.sum(logp * one_hot) / x.shape[0]


# ----------------------------------------------------------------------------- convolution

def conv2d(x, w, b, pad=0, stride=1):
    """2-d convolution (cross-correlation, as in CS231n) on MXNet.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,); ``pad`` and ``stride`` are ints
    or (height, width) pairs. Output: (N, F, H', W') with
    ``H' = (H + 2 * pad - HH) // stride + 1``.
    """
    return c("nn.conv2d", _arr(x), _arr(w), _arr(b), stride=stride, pad=pad)


def max_pool(x, pool_height=2, pool_width=2, stride=None):
    """2-d max pooling of (N, C, H, W) data over ``pool_height x pool_width``
    windows (``stride`` defaults to the pool size). The gradient is MXNet's: each
    window's output gradient goes to the first position (row-major) holding its
    maximum; overlapping windows add up.
    """
    pool = (int(pool_height), int(pool_width))
    return c("nn.max_pool", _arr(x), pool, stride if stride is not None else pool)


# ----------------------------------------------------------------------------- recurrent

def rnn_step(x, prev_h, Wx, Wh, b):
    """One vanilla RNN step: ``tanh(x @ Wx + prev_h @ Wh + b)``.
    x: (N, D), prev_h: (N, H), Wx: (D, H), Wh: (H, H), b: (H,)."""
    return np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)


def rnn_temporal(x, h0, Wx, Wh, b):
    """Run :func:`rnn_step` over a sequence x: (N, T, D) from h0: (N, H);
    returns the hidden states (N, T, H)."""
    x = _arr(x)
    h = h0
    hs = []
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t, :], h, Wx, Wh, b)
        hs.append(h)
    return np.stack(hs, axis=1)


def lstm_step(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step. Wx: (D, 4H), Wh: (H, 4H), b: (4H,); the 4H pre-activations
    are, in order, the input, forget and output gates and the candidate cell.
    Returns ``(next_h, next_c)``."""
    H = prev_h.shape[1]
    a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c


def lstm_temporal(x, h0, Wx, Wh, b):
    """Run :func:`lstm_step` over x: (N, T, D) from h0 (the cell starts at zero);
    returns the hidden states (N, T, H)."""
    x = _arr(x)
    h, cell = h0, np.zeros(h0.shape, dtype=h0.dtype)
    hs = []
    for t in range(x.shape[1]):
        h, cell = lstm_step(x[:, t, :], h, cell, Wx, Wh, b)
        hs.append(h)
    return np.stack(hs, axis=1)


def gru_step(x, prev_h, Wx, Wh, b, Wxh, Whh, bh):
    """One GRU step.

    Wx: (D, 2H), Wh: (H, 2H), b: (2H,) give the update gate z (first H columns)
    and the reset gate r (last H); Wxh: (D, H), Whh: (H, H), bh: (H,) give the
    candidate ``tanh(x @ Wxh + (r * prev_h) @ Whh + bh)``. The new state is
    ``z * prev_h + (1 - z) * candidate``.
    """
    H = prev_h.shape[1]
    a = sigmoid(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
    z, r = a[:, :H], a[:, H:]
    cand = np.tanh(np.dot(x, Wxh) + np.dot(r * prev_h, Whh) + bh)
    return z * prev_h + (1.0 - z) * cand


def gru_temporal(x, h0, Wx, Wh, b, Wxh, Whh, bh):
    """Run :func:`gru_step` over x: (N, T, D); returns (N, T, H)."""
    x = _arr(x)
    h = h0
    hs = []
    for t in range(x.shape[1]):
        h = gru_step(x[:, t, :], h, Wx, Wh, b, Wxh, Whh, bh)
        hs.append(h)
    return np.stack(hs, axis=1)


def temporal_affine(x, w, b):
    """Affine map applied at every time step: x (N, T, D), w (D, M), b (M,) -> (N, T, M)."""
    x = _arr(x)
    N, T, D = x.shape
    out = np.dot(np.reshape(x, (N * T, D)), w) + b
    return np.reshape(out, (N, T, w.shape[1]))


def temporal_softmax_loss(x, y, mask):
    """Softmax loss summed over time steps where ``mask`` is true, divided by N.

    x: (N, T, V) scores, y: (N, T) integer targets, mask: (N, T) booleans (or 0/1).
    """
    x = _arr(x)
    N, T, V = x.shape
    flat = np.reshape(x, (N * T, V))
    if tuple(_onp.shape(y)) != (N, T) or tuple(_onp.shape(mask)) != (N, T):
        raise ValueError(f"minpy.nn.layers.temporal_softmax_loss: targets {tuple(_onp.shape(y))} "
                         f"and mask {tuple(_onp.shape(mask))} must both be (N, T) = {(N, T)}")
    y = _arr(y)
    # checked before the reshape: a @jit step checks the (N, T) labels it is given
    known = _read_checked(y, _functools.partial(_check_indices, n=V,
                                                fname="temporal_softmax_loss"))
    y = np.reshape(y, (N * T,))
    if known is not None:
        targets, guard = _one_hot(y, V, x.dtype), None
    else:
        targets, guard = _class_targets(flat, y, "temporal_softmax_loss")
    m = np.reshape(_arr(mask), (N * T, 1)).astype(x.dtype)
    logp = _log_softmax(flat)
    return _guarded(-np.sum(logp * targets * m) / N, guard)


def embedding(x, W):
    """Rows of W: (V, D) picked by integer indices x of any shape -> x.shape + (D,)."""
    x = _arr(x)
    _read_checked(x, _functools.partial(_check_indices, n=W.shape[0], fname="embedding",
                                        what="index", of="rows of W"))
    if x.dtype.kind not in "iu":
        x = x.astype("int64")
    return np.take(W, x, axis=0)
