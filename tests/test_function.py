"""minpy.core.Function: MXNet symbols as differentiable MinPy functions."""
import mxnet as mx
import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import Function, grad, grad_and_loss
from minpy.utils.gradient_checker import check_grad

_rng = onp.random.RandomState(3)


def _conv_symbol():
    x = mx.sym.Variable("x")
    return mx.sym.Convolution(data=x, kernel=(3, 3), num_filter=4, name="conv")


def test_seed_conv_example_runs():
    x = mx.sym.Variable("x")
    sym = mx.sym.Convolution(data=x, kernel=(3, 3), num_filter=4, name="conv", no_bias=True)
    conv = Function(sym, input_shapes={"x": (8, 3, 10, 10)})
    xv = np.random.normal(0, 1, (8, 3, 10, 10))
    w = np.random.normal(0, 1, (4, 3, 3, 3))
    y = np.exp(conv(x=xv, conv_weight=w) * 0.1)
    assert isinstance(y, minpy.Array) and y.shape == (8, 4, 8, 8)
    ref = onp.zeros((8, 4, 8, 8))
    xn, wn = xv.asnumpy(), w.asnumpy()
    for i in range(3):
        for j in range(3):
            ref += onp.einsum("nchw,fc->nfhw", xn[:, :, i:i + 8, j:j + 8], wn[:, :, i, j])
    assert onp.allclose(y.asnumpy(), onp.exp(ref * 0.1), rtol=1e-4)
    gx, gw = grad(lambda x, w: np.sum(np.exp(conv(x=x, conv_weight=w) * 0.1)), [0, 1])(xv, w)
    assert gx.shape == (8, 3, 10, 10) and gw.shape == (4, 3, 3, 3)


def test_gradients_match_central_differences_for_every_input():
    conv = Function(_conv_symbol(), input_shapes={"x": (2, 2, 4, 4)})

    def f(x, w, b):
        return np.sum(np.exp(conv(x=x, conv_weight=w, conv_bias=b) * 0.2))
    args = [_rng.randn(2, 2, 4, 4), _rng.randn(4, 2, 3, 3), _rng.randn(4)]
    assert check_grad(f, args, [0, 1, 2]) < 1e-5


def test_get_params_and_output_shapes():
    conv = Function(_conv_symbol(), input_shapes={"x": (8, 3, 10, 10)})
    assert conv.get_params() == {"conv_weight": {"shape": (4, 3, 3, 3)},
                                 "conv_bias": {"shape": (4,)}}
    assert conv.output_shapes == [(8, 4, 8, 8)]
    assert conv.arg_names == ["x", "conv_weight", "conv_bias"]


def test_multiple_outputs():
    x = mx.sym.Variable("x")
    f = Function(mx.sym.Group([mx.sym.tanh(x), mx.sym.sigmoid(x)]), {"x": (2, 3)})
    a, b = f(x=np.zeros((2, 3)))
    assert onp.allclose(a.asnumpy(), 0.0) and onp.allclose(b.asnumpy(), 0.5)
    xv = _rng.randn(2, 3)
    assert check_grad(lambda x: np.sum(f(x=x)[0] * 2.0 + f(x=x)[1] ** 2), [xv]) < 1e-5
    # only one output used: the other's cotangent is zero
    g = grad(lambda x: np.sum(f(x=x)[1]))(np.zeros((2, 3)))
    assert onp.allclose(g.asnumpy(), 0.25)


def test_rebinding_for_another_shape_and_executor_cache():
    conv = Function(_conv_symbol(), input_shapes={"x": (2, 3, 6, 6)})
    w, b = np.ones((4, 3, 3, 3)), np.zeros(4)
    assert conv(x=np.ones((2, 3, 6, 6)), conv_weight=w, conv_bias=b).shape == (2, 4, 4, 4)
    y = conv(x=np.ones((1, 3, 5, 7)), conv_weight=w, conv_bias=b)
    assert y.shape == (1, 4, 3, 5) and onp.allclose(y.asnumpy(), 27.0)
    g = grad(lambda x: np.sum(conv(x=x, conv_weight=w, conv_bias=b)))(np.ones((1, 3, 5, 7)))
    assert g.shape == (1, 3, 5, 7)
    for _ in range(20):
        conv(x=np.ones((2, 3, 6, 6)), conv_weight=w, conv_bias=b)
        grad(lambda x: np.sum(conv(x=x, conv_weight=w, conv_bias=b)))(np.ones((2, 3, 6, 6)))
        conv(x=np.ones((1, 3, 5, 7)), conv_weight=w, conv_bias=b)
    assert conv.num_executors() <= 6


def test_executors_stay_bounded_when_outputs_are_kept():
    x = mx.sym.Variable("x")
    f = Function(mx.sym.tanh(x), {"x": (2,)})
    kept = [f(x=np.ones(2)) for _ in range(30)]
    kept += [grad_and_loss(lambda v: np.sum(f(x=v)))(np.ones(2))[1] for _ in range(30)]
    assert f.num_executors() <= f.max_executors_per_signature
    assert onp.allclose(kept[-1].asnumpy(), 2 * onp.tanh(1.0))


def _dropout_function(is_train):
    x = mx.sym.Variable("x")
    return Function(mx.sym.Dropout(x, p=0.5) * 3.0, {"x": (4, 50)}, is_train=is_train)


def test_dropout_is_identity_when_not_training():
    f = _dropout_function(is_train=False)
    xv = np.array(_rng.randn(4, 50))
    assert onp.allclose(f(x=xv).asnumpy(), 3.0 * xv.asnumpy())
    g = grad(lambda x: np.sum(f(x=x)))(xv)
    assert onp.allclose(g.asnumpy(), 3.0)


def test_dropout_in_training_and_switching_mode():
    f = _dropout_function(is_train=True)
    xv = np.ones((4, 50))
    y = f(x=xv).asnumpy()
    assert set(onp.unique(y)) <= {0.0, 6.0} and 0 < (y == 0).sum() < y.size
    # the gradient uses the mask of the forward pass it belongs to
    g, out = grad_and_loss(lambda x: np.sum(f(x=x) * x), 0)(xv)
    # d/dx sum(d(x) * x) with d(x) = m * 6 x / ... : forward value = sum(mask*6), grad = 2*mask*6
    assert onp.allclose(g.asnumpy(), 2.0 * (g.asnumpy() > 0) * 6.0)
    assert float(out) == pytest.approx(float(onp.sum(g.asnumpy())) / 2.0)
    # two calls in one loss: each backward pass uses its own mask
    g2, out2 = grad_and_loss(lambda x: np.sum(f(x=x)) + 10.0 * np.sum(f(x=x)))(xv)
    gv = g2.asnumpy()
    assert set(onp.unique(gv)) <= {0.0, 6.0, 60.0, 66.0}
    assert float(out2) == pytest.approx(float(gv.sum()))
    f.is_train = False
    assert onp.allclose(f(x=xv).asnumpy(), 3.0)


def _batchnorm_function(is_train=True):
    x = mx.sym.Variable("x")
    bn = mx.sym.BatchNorm(x, name="bn", fix_gamma=False, momentum=0.5)
    return Function(bn, {"x": (6, 3)}, is_train=is_train)


def _mxnet_updates_running_stats():
    """Whether this MXNet build's executor updates BatchNorm running statistics in a
    training forward + backward pass (the oneDNN CPU build of 1.9.1 does not,
    at least for fix_gamma=False)."""
    exe = _batchnorm_function().symbol.simple_bind(mx.cpu(), x=(6, 3))
    exe.arg_dict["x"][:] = mx.nd.array(onp.arange(18.0).reshape(6, 3))
    exe.arg_dict["bn_gamma"][:] = 1.0
    exe.forward(is_train=True)
    exe.backward([mx.nd.ones((6, 3))])
    return bool(onp.any(exe.aux_dict["bn_moving_mean"].asnumpy() != 0))


def test_batchnorm_modes_and_running_statistics():
    f = _batchnorm_function()
    assert f.get_aux_states() == {"bn_moving_mean": None, "bn_moving_var": None}
    xv = _rng.randn(6, 3) * 2.0 + 5.0
    gamma, beta = np.ones(3), np.zeros(3)
    y = f(x=np.array(xv), bn_gamma=gamma, bn_beta=beta).asnumpy()
    assert onp.allclose(y.mean(0), 0.0, atol=1e-4)        # normalised with batch statistics
    assert onp.allclose(y.std(0), 1.0, atol=1e-2)
    grad(lambda x: np.sum(f(x=x, bn_gamma=gamma, bn_beta=beta) ** 2))(np.array(xv))
    aux = f.get_aux_states()
    mean, var = aux["bn_moving_mean"].asnumpy(), aux["bn_moving_var"].asnumpy()
    if _mxnet_updates_running_stats():
        # one training step (forward + backward) updates the statistics once, momentum 0.5
        assert onp.allclose(mean, 0.5 * xv.mean(0), rtol=1e-3)
    # inference mode normalises with the running statistics and leaves them alone
    f.is_train = False
    y = f(x=np.array(xv), bn_gamma=gamma, bn_beta=beta).asnumpy()
    assert onp.allclose(y, (xv - mean) / onp.sqrt(var + 1e-3), rtol=1e-3, atol=1e-4)
    assert onp.allclose(f.get_aux_states()["bn_moving_mean"].asnumpy(), mean)


def test_batchnorm_gradients_in_both_modes():
    f = _batchnorm_function()
    args = [_rng.randn(6, 3), _rng.rand(3) + 0.5, _rng.randn(3)]
    loss = lambda x, g, b: np.sum(np.tanh(f(x=x, bn_gamma=g, bn_beta=b)) * np.arange(18.0).reshape(6, 3))
    assert check_grad(loss, args, [0, 1, 2]) < 1e-4
    f.is_train = False
    assert check_grad(loss, args, [0, 1, 2]) < 1e-4


def test_wrong_arguments_raise_type_error():
    conv = Function(_conv_symbol(), input_shapes={"x": (1, 3, 5, 5)})
    w, b, x = np.ones((4, 3, 3, 3)), np.zeros(4), np.ones((1, 3, 5, 5))
    # MinPy 0.3's rules (issue 14): an omitted argument is zeros, an unknown keyword is dropped
    full = conv(x=x, conv_weight=w, conv_bias=b).asnumpy()
    onp.testing.assert_array_equal(conv(x=x, conv_weight=w).asnumpy(), full)
    onp.testing.assert_array_equal(conv(x=x, conv_weight=w, conv_bias=b, bias=b).asnumpy(), full)
    with pytest.raises(TypeError):
        conv(x, w, b)
    with pytest.raises(TypeError):
        Function("not a symbol", {"x": (1,)})
    with pytest.raises(ValueError, match="not arguments"):
        Function(_conv_symbol(), {"y": (1, 3, 5, 5)})


def test_second_order_through_function_raises_clearly():
    x = mx.sym.Variable("x")
    f = Function(mx.sym.tanh(x), {"x": (3,)})
    with pytest.raises(TypeError, match="no gradient"):
        grad(lambda v: np.sum(grad(lambda u: np.sum(f(x=u)))(v)))(np.ones(3))
