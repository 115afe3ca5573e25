"""Issue 12: indexing and shape operators give NumPy's values, shapes, dtypes and
errors in eager, lazy and @jit mode, including zero-size and 0-d arrays.

Every result is also checked for agreement between its ``.shape`` (inferred, never
computed) and the buffer MXNet produced (``asnumpy().shape``).
"""
import random
import warnings

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.core import grad

MODES = ["eager", "lazy", "jit"]
NAN, INF = onp.nan, onp.inf


def Z(shape, dt="float32"):
    return onp.zeros(shape, dt)


def A(*s, dt="float32"):
    return onp.arange(int(onp.prod(s)), dtype=dt).reshape(s)


def run_in(mode, fn, host_args):
    """fn(*minpy arrays) in one mode; jit runs twice (trace, then replay)."""
    args = [np.array(a, dtype=a.dtype) for a in host_args]
    if mode == "eager":
        return fn(*args)
    if mode == "lazy":
        with minpy.lazy():
            # a pending operand, so the op is recorded into a graph
            return fn(*[a * 1 if a.dtype != onp.bool_ else a for a in args])
    jf = minpy.jit(fn)
    jf(*args)
    return jf(*[np.array(a, dtype=a.dtype) for a in host_args])   # fresh: fn may write


def outcome(fn):
    """(value, None) or (None, exception)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(), None
    except Exception as e:             # noqa: BLE001 - compared with NumPy's below
        return None, e


def check_same(want, we, got_fn):
    got, ge = outcome(got_fn)
    if we is not None or ge is not None:
        assert we is not None and ge is not None and isinstance(ge, type(we)), (we, ge)
        return
    want = onp.asarray(want)
    shape = got.shape
    host = got.asnumpy()
    assert shape == host.shape == want.shape, (shape, host.shape, want.shape)
    if want.dtype == onp.float64 and host.dtype == onp.float32:
        pass                            # MinPy's documented float32 default
    else:
        assert host.dtype == want.dtype
    assert onp.array_equal(host, want, equal_nan=True), (host, want)


SHAPE_CASES = [
 ("reshape", lambda m, a: m.reshape(a, (0, -1)), [Z((0, 3))]),
 ("reshape0neg", lambda m, a: m.reshape(a, (-1,)), [Z((0, 3))]),
 ("reshape0neg2", lambda m, a: m.reshape(a, (3, -1)), [Z((0, 3))]),
 ("reshape0neg3", lambda m, a: m.reshape(a, (0, -1)), [Z((2, 0))]),
 ("reshape_scalar", lambda m, a: m.reshape(a, ()), [A(1)]),
 ("reshape_0d", lambda m, a: m.reshape(a, (1, 1)), [onp.array(3.)]),
 ("reshape_bad", lambda m, a: m.reshape(a, (4, -1)), [A(6)]),
 ("ravel0", lambda m, a: m.ravel(a), [Z((0, 3))]),
 ("ravel0d", lambda m, a: m.ravel(a), [onp.array(3.)]),
 ("concat_empty", lambda m, a, b: m.concatenate([a, b]), [Z((0, 3)), A(2, 3)]),
 ("concat_empty2", lambda m, a, b: m.concatenate([a, b], axis=1), [Z((2, 0)), Z((2, 0))]),
 ("concat_none", lambda m, a, b: m.concatenate([a, b], axis=None), [Z((0, 3)), A(2)]),
 ("concat_0d", lambda m, a, b: m.concatenate([a, b]), [onp.array(1.), onp.array(2.)]),
 ("concat_mismatch", lambda m, a, b: m.concatenate([a, b]), [A(2, 3), A(2, 4)]),
 ("stack_empty", lambda m, a, b: m.stack([a, b]), [Z((0, 3)), Z((0, 3))]),
 ("stack_empty1", lambda m, a, b: m.stack([a, b], axis=-1), [Z((0, 3)), Z((0, 3))]),
 ("stack_0d", lambda m, a, b: m.stack([a, b]), [onp.array(1.), onp.array(2.)]),
 ("stack_mismatch", lambda m, a, b: m.stack([a, b]), [A(2), A(3)]),
 ("transpose0", lambda m, a: m.transpose(a), [Z((0, 3, 2))]),
 ("transpose0ax", lambda m, a: m.transpose(a, (1, 0, 2)), [Z((0, 3, 2))]),
 ("transpose0d", lambda m, a: m.transpose(a), [onp.array(2.)]),
 ("transpose_bad", lambda m, a: m.transpose(a, (0, 0)), [A(2, 2)]),
 ("squeeze0", lambda m, a: m.squeeze(a), [Z((0, 1, 3))]),
 ("squeeze_bad", lambda m, a: m.squeeze(a, 0), [A(2, 1)]),
 ("squeeze_bad0", lambda m, a: m.squeeze(a, 0), [Z((0, 1))]),
 ("squeeze0d", lambda m, a: m.squeeze(a), [onp.array(2.)]),
 ("squeeze0d_ax", lambda m, a: m.squeeze(a, 0), [onp.array(2.)]),
 ("expand0", lambda m, a: m.expand_dims(a, 1), [Z((0, 3))]),
 ("expand0d", lambda m, a: m.expand_dims(a, 0), [onp.array(2.)]),
 ("expand_neg", lambda m, a: m.expand_dims(a, -1), [onp.array(2.)]),
 ("expand_bad", lambda m, a: m.expand_dims(a, 3), [A(2)]),
 ("flip0", lambda m, a: m.flip(a, 0), [Z((0, 3))]),
 ("flip0all", lambda m, a: m.flip(a), [Z((0, 3))]),
 ("flip0d", lambda m, a: m.flip(a), [onp.array(2.)]),
 ("flip_bad", lambda m, a: m.flip(a, 2), [A(2, 2)]),
 ("roll0", lambda m, a: m.roll(a, 1, 0), [Z((0, 3))]),
 ("roll0none", lambda m, a: m.roll(a, 2), [Z((0, 3))]),
 ("roll0d", lambda m, a: m.roll(a, 1), [onp.array(2.)]),
 ("roll_big", lambda m, a: m.roll(a, 7, 1), [A(2, 3)]),
 ("roll_neg", lambda m, a: m.roll(a, -4), [A(2, 3)]),
 ("tile0", lambda m, a: m.tile(a, 2), [Z((0, 3))]),
 ("tile_r0", lambda m, a: m.tile(a, 0), [A(2, 3)]),
 ("tile_r0t", lambda m, a: m.tile(a, (2, 0)), [A(2, 3)]),
 ("tile0d", lambda m, a: m.tile(a, 3), [onp.array(2.)]),
 ("tile0d2", lambda m, a: m.tile(a, (2, 2)), [onp.array(2.)]),
 ("bcast0", lambda m, a: m.broadcast_to(a, (0, 3)), [A(3)]),
 ("bcast0d", lambda m, a: m.broadcast_to(a, (2, 3)), [onp.array(2.)]),
 ("bcast_to0d", lambda m, a: m.broadcast_to(a, ()), [onp.array(2.)]),
 ("bcast_bad", lambda m, a: m.broadcast_to(a, (2, 2)), [A(3)]),
 ("bcast1to0", lambda m, a: m.broadcast_to(a, (2, 0)), [A(2, 1)]),
 ("take0", lambda m, a: m.take(a, onp.array([], 'int64')), [A(2, 3)]),
 ("take0ax", lambda m, a: m.take(a, onp.array([], 'int64'), axis=1), [A(2, 3)]),
 ("take_from0", lambda m, a: m.take(a, onp.array([0]), axis=1), [Z((0, 3))]),
 ("take0d", lambda m, a: m.take(a, 0), [A(2, 3)]),
 ("take0d_from0d", lambda m, a: m.take(a, 0), [onp.array(3.)]),
 ("take_neg", lambda m, a: m.take(a, onp.array([-1, -6]), axis=None), [A(2, 3)]),
 ("take_oob", lambda m, a: m.take(a, onp.array([6])), [A(2, 3)]),
 ("take_clip", lambda m, a: m.take(a, onp.array([-9, 9]), mode='clip'), [A(2, 3)]),
 ("take_wrap", lambda m, a: m.take(a, onp.array([-9, 9]), mode='wrap'), [A(2, 3)]),
 ("repeat0", lambda m, a: m.repeat(a, 0, axis=-1), [A(2, 3)]),
 ("repeat0none", lambda m, a: m.repeat(a, 0), [A(2, 3)]),
 ("repeat_empty", lambda m, a: m.repeat(a, 2, axis=0), [Z((0, 3))]),
 ("repeat0d", lambda m, a: m.repeat(a, 3), [onp.array(2.)]),
 ("repeat0d_axis", lambda m, a: m.repeat(a, 3, axis=-1), [onp.array(2.)]),
 ("repeat0d_list", lambda m, a: m.repeat(a, [2], axis=0), [onp.array(2.)]),
 ("repeat_list", lambda m, a: m.repeat(a, [1, 0, 2], axis=1), [A(2, 3)]),
 ("repeat_neg", lambda m, a: m.repeat(a, -1), [A(2, 3)]),
 ("swap0", lambda m, a: m.swapaxes(a, 0, 2), [Z((0, 3, 2))]),
 ("moveaxis0", lambda m, a: m.moveaxis(a, 0, -1), [Z((0, 3, 2))]),
 ("split0", lambda m, a: m.split(a, 3, axis=1)[1], [Z((0, 3))]),
 ("split_bad", lambda m, a: m.split(a, 2, axis=1)[1], [A(2, 3)]),
 ("asplit", lambda m, a: m.array_split(a, 4, axis=1)[3], [A(2, 3)]),
 ("split_idx", lambda m, a: m.split(a, [1, 1, 5], axis=1)[1], [A(2, 3)]),
 ("sort0", lambda m, a: m.sort(a), [Z((2, 0))]),
 ("sort0d", lambda m, a: m.sort(a, axis=None), [onp.array(2.)]),
 ("sort0d_ax", lambda m, a: m.sort(a), [onp.array(2.)]),
 ("sort_nan", lambda m, a: m.sort(a),
  [onp.array([3., NAN, 1., -0., INF, 0., -INF, NAN], 'float32')]),
 ("sort_nan_ax0", lambda m, a: m.sort(a, axis=0),
  [onp.array([[3., NAN], [NAN, 1.], [-INF, INF]], 'float32')]),
 ("sort_nan64", lambda m, a: m.sort(a, axis=None),
  [onp.array([[3., NAN], [NAN, 1.], [-INF, INF]], 'float64')]),
 ("argsort_nan", lambda m, a: m.argsort(a), [onp.array([3., NAN, 1., INF, -INF], 'float32')]),
 ("argsort_nan_ax0", lambda m, a: m.argsort(a, axis=0),
  [onp.array([[3., NAN], [NAN, 1.], [INF, -INF]], 'float32')]),
 ("argsort0", lambda m, a: m.argsort(a), [Z((2, 0))]),
 ("argsort0d", lambda m, a: m.argsort(a), [onp.array(2.)]),
 ("sort_int", lambda m, a: m.sort(a), [onp.array([3, -1, 2], 'int64')]),
 ("sort_bool", lambda m, a: m.sort(a), [onp.array([True, False, True])]),
 ("tal0", lambda m, a, i: m.take_along_axis(a, i, 1), [Z((2, 0)), Z((2, 0), 'int64')]),
 ("tal_neg", lambda m, a, i: m.take_along_axis(a, i, 1), [A(2, 3), onp.array([[-1], [0]])]),
 ("atleast_2d_0", lambda m, a: m.atleast_2d(a), [Z((0,))]),
 ("atleast_1d_0d", lambda m, a: m.atleast_1d(a), [onp.array(2.)]),
 ("vstack0", lambda m, a, b: m.vstack([a, b]), [Z((0,)), Z((0,))]),
 ("hstack0", lambda m, a, b: m.hstack([a, b]), [Z((0,)), A(2)]),
 ("hstack0d", lambda m, a, b: m.hstack([a, b]), [onp.array(1.), onp.array(2.)]),
 ("column_stack0", lambda m, a, b: m.column_stack([a, b]), [Z((0,)), Z((0,))]),
 ("getitem0d", lambda m, a: a[()], [onp.array(2.)]),
 ("getitem0d_e", lambda m, a: a[..., None], [onp.array(2.)]),
 ("getitem0d_arr", lambda m, a: a[None][onp.array([0, 0])], [onp.array(2.)]),
 ("getitem_bool0d", lambda m, a: a[True], [A(2)]),
 ("getitem_neg", lambda m, a: a[onp.array([-1, -2]), ::-1], [A(2, 3)]),
 ("getitem_5a", lambda m, a: a[onp.array([0, 2]), None], [A(3)]),
 ("getitem_6", lambda m, a: a[2:-1:3, onp.array([0, 0])], [Z((3, 1, 4))]),
 ("getitem_oob", lambda m, a: a[onp.array([3])], [A(3)]),
 ("getitem_boolmix", lambda m, a: a[onp.array([True, False, True]), 1:], [A(3, 2)]),
 ("getitem_boolint", lambda m, a: a[onp.array([True, False, True]), 1], [A(3, 2)]),
 ("getitem_bool2d", lambda m, a: a[onp.array([[True, False], [False, True], [True, True]])],
  [A(3, 2)]),
 ("getitem_0darr", lambda m, a: a[onp.array(1), :, onp.array([0, 1])], [A(2, 3, 4)]),
 ("getitem_int_bool", lambda m, a: a[1, :, onp.array([True, False, False, True])], [A(2, 3, 4)]),
 ("getitem_f32", lambda m, a: a[onp.array([1.0])], [A(2, 3)]),
 ("getitem_bool_data", lambda m, a: a[onp.array([1, 0]), 1:], [A(2, 3) > 2]),
 ("getitem_int64", lambda m, a: a[onp.array([1, 0]), None, 1:], [A(2, 3, dt='int64')]),
]

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, fn, args", SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_shape_and_index_ops_match_numpy(name, fn, args, mode):
    want, we = outcome(lambda: fn(onp, *args))
    check_same(want, we, lambda: run_in(mode, lambda *xs: fn(np, *xs), args))


# ---------------------------------------------------------------------------- random indices

def _rand_item(rng, n):
    r = rng.random()
    if r < 0.2:
        return rng.randint(-n, n - 1) if n else slice(None)
    if r < 0.5:
        return slice(rng.choice([None, 0, 1, -1, 2, -5, 5]), rng.choice([None, 0, 1, -1, 3, -2, 9]),
                     rng.choice([None, 1, 2, -1, -2, 3]))
    if r < 0.55:
        return None
    if r < 0.6:
        return onp.array(rng.random() < .7)
    if r < 0.9:
        if n == 0:
            return onp.zeros((rng.randint(0, 1),), "int64")
        shp = rng.choice([(), (2,), (1,), (3,), (2, 1), (0,)])
        return onp.array(rng.choices(range(-n, n), k=int(onp.prod(shp))), "int64").reshape(shp)
    if n == 0:
        return slice(None)
    return onp.array([rng.random() < .5 for _ in range(n)])


def random_index(rng):
    shape = tuple(rng.choice([0, 1, 2, 3, 4]) for _ in range(rng.randint(0, 3)))
    idx, ax, ell = [], 0, False
    for _ in range(rng.randint(1, 4)):
        if not ell and rng.random() < .15:
            idx.append(Ellipsis)
            ell = True
            continue
        if ax >= len(shape):
            if rng.random() < .5:
                idx.append(None)
            break
        it = _rand_item(rng, shape[ax])
        idx.append(it)
        if it is not None and not (isinstance(it, onp.ndarray) and it.ndim == 0
                                   and it.dtype == onp.bool_):
            ax += 1
    return shape, tuple(idx)


def _mx_index(idx):
    return tuple(np.array(t) if isinstance(t, onp.ndarray) else t for t in idx)


@pytest.mark.parametrize("mode, seed, trials", [("eager", 0, 150), ("lazy", 1, 60), ("jit", 2, 40)])
def test_random_indices_get_and_set_like_numpy(mode, seed, trials):
    rng = random.Random(seed)
    for _ in range(trials):
        shape, idx = random_index(rng)
        x = A(*shape)
        want, we = outcome(lambda: x[idx])
        check_same(want, we, lambda: run_in(mode, lambda a: a[_mx_index(idx)], [x]))
        if we is not None:
            continue
        v = onp.full(want.shape, -1, "float32") if rng.random() < .5 else onp.float32(-7)
        if v.ndim and v.shape[0] > 1 and rng.random() < .5:
            v = v[:1]

        def numpy_set():
            y = x.copy()
            y[idx] = v
            return y

        def minpy_set(a, vv):
            z = a * 1
            z[_mx_index(idx)] = vv
            return z
        want, we = outcome(numpy_set)
        check_same(want, we, lambda: run_in(mode, minpy_set, [x, onp.asarray(v)]))


# ---------------------------------------------------------------------------- issue reproducers

@pytest.mark.parametrize("mode", MODES)
def test_none_after_index_array_keeps_numpy_layout(mode):
    r = run_in(mode, lambda a: a[np.array([0, 2]), None], [onp.arange(3.)])
    assert r.shape == (2, 1) and r.asnumpy().shape == (2, 1)
    assert onp.array_equal(r.asnumpy(), onp.arange(3.)[onp.array([0, 2]), None])


@pytest.mark.parametrize("mode", MODES)
def test_repeat_zero_times_on_negative_axis(mode):
    r = run_in(mode, lambda a: np.repeat(a, 0, axis=-1), [onp.ones((2, 3), "float32")])
    assert r.shape == (2, 0) and r.asnumpy().shape == (2, 0)


@pytest.mark.parametrize("mode", MODES)
def test_empty_slice_with_index_array(mode):
    r = run_in(mode, lambda a: a[2:-1:3, np.array([0, 0])], [onp.zeros((3, 1, 4), "float32")])
    assert r.shape == (0, 2, 4) and r.asnumpy().shape == (0, 2, 4)


@pytest.mark.parametrize("mode", MODES)
def test_in_place_op_cannot_broadcast_its_target(mode):
    def f(y, z):
        y += z
        return y
    with pytest.raises(ValueError, match="non-broadcastable output operand"):
        run_in(mode, f, [onp.ones(3, "float32"), onp.ones((2, 3), "float32")])


@pytest.mark.parametrize("mode", MODES)
def test_in_place_op_casting_rule(mode):
    def f(y):
        y += 1.5
        return y
    with pytest.raises(TypeError) as info:
        run_in(mode, f, [onp.ones(3, "int32")])
    with pytest.raises(type(info.value)):       # NumPy raises the same class
        y = onp.ones(3, "int32")
        y += 1.5

    def g(y):
        y *= 2
        return y
    r = run_in(mode, g, [onp.ones(3, "int32")])
    assert r.dtype == onp.int32 and r.asnumpy().tolist() == [2, 2, 2]


def test_in_place_matmul_raises_like_numpy():
    a = np.ones((2, 2))
    with pytest.raises(TypeError, match="In-place matrix multiplication"):
        a @= a


@pytest.mark.parametrize("mode", MODES)
def test_boolean_index_length_mismatch(mode):
    with pytest.raises(IndexError, match="boolean index did not match"):
        run_in(mode, lambda a: a[np.array([True, False])], [onp.ones((3, 4), "float32")])
    with pytest.raises(IndexError, match="boolean index did not match"):
        run_in(mode, lambda a: a[:, np.array([True, False])], [onp.ones((3, 4), "float32")])


@pytest.mark.parametrize("mode", MODES)
def test_setitem_value_not_broadcastable(mode):
    def f(a):
        a[0] = np.ones(3)
        return a
    with pytest.raises(ValueError, match="could not broadcast"):
        run_in(mode, f, [onp.ones((3, 4), "float32")])


@pytest.mark.parametrize("mode", MODES)
def test_out_of_bounds_index_array(mode):
    with pytest.raises(IndexError, match="out of bounds"):
        run_in(mode, lambda a: a[np.array([0, 3])], [onp.ones((3, 4), "float32")])
    with pytest.raises(IndexError, match="out of bounds"):
        run_in(mode, lambda a: a[:, np.array([-5])], [onp.ones((3, 4), "float32")])
    with pytest.raises(IndexError, match="shape mismatch"):
        run_in(mode, lambda a: a[np.array([0, 1]), np.array([0, 1, 2])],
               [onp.ones((3, 4), "float32")])


@pytest.mark.parametrize("mode", MODES)
def test_setitem_repeated_indices_last_write_wins(mode):
    def f(a):
        a[np.array([0, 0, 1, 0])] = np.array([1., 2., 3., 4.])
        return a
    r = run_in(mode, f, [onp.zeros(3, "float32")])
    assert r.asnumpy().tolist() == [4., 3., 0.]


@pytest.mark.parametrize("mode", MODES)
def test_sort_puts_nan_last(mode):
    x = onp.array([[3., NAN, -0., INF], [NAN, 1., -INF, 0.], [2., 2., NAN, INF]],
                  "float32")
    for axis in (-1, 0, None):
        r = run_in(mode, lambda a: np.sort(a, axis=axis), [x])
        assert onp.array_equal(r.asnumpy(), onp.sort(x, axis=axis), equal_nan=True)
        i = run_in(mode, lambda a: np.argsort(a, axis=axis), [x]).asnumpy()
        flat = x.reshape(-1) if axis is None else x
        ax = -1 if axis is None else axis
        assert onp.array_equal(onp.take_along_axis(flat, i, ax), onp.sort(x, axis=axis),
                               equal_nan=True)


# ---------------------------------------------------------------------------- gradients

def numeric_grad(f, xs, i, eps=1e-6):
    xs = [onp.array(x, dtype="float64") for x in xs]
    g = onp.zeros(xs[i].size)
    for j in range(xs[i].size):
        a = [x.copy() for x in xs]
        a[i].reshape(-1)[j] += eps
        b = [x.copy() for x in xs]
        b[i].reshape(-1)[j] -= eps
        fa = float(f(*[np.array(t, dtype="float64") for t in a]))
        fb = float(f(*[np.array(t, dtype="float64") for t in b]))
        g[j] = (fa - fb) / (2 * eps)
    return g.reshape(xs[i].shape)


def _set_dup(y, v):
    y[[0, 0]] = v


def _set_int(y, v):
    y[0] = v


def _set_empty(y, v):
    y[2:1] = v


def _set_empty_array(y, v):
    y[np.array([], dtype="int64")] = v


def _set_dup_cols(y, v):
    y[:, [1, 0, 1]] = v


def _set_mixed(y, v):
    y[[1, 0], None, [1, 1]] = v


SETTERS = [
    ("dup", _set_dup, (3,), (2,)),
    ("dup_broadcast", _set_dup, (3,), ()),
    ("int_value_1", _set_int, (3,), (1,)),
    ("int_value_112", _set_int, (3, 2), (1, 1, 2)),
    ("empty_slice", _set_empty, (3,), (1,)),
    ("empty_array", _set_empty_array, (3, 2), (2,)),
    ("dup_columns", _set_dup_cols, (2, 3), (2, 3)),
    ("mixed_none", _set_mixed, (2, 3), (2, 1)),
]


@pytest.mark.parametrize("mode", ["eager", "lazy"])
@pytest.mark.parametrize("name, setter, yshape, vshape", SETTERS, ids=[s[0] for s in SETTERS])
def test_setitem_gradients_match_central_differences(name, setter, yshape, vshape, mode):
    w = onp.random.RandomState(1).rand(*yshape)

    def f(y, v):
        y = y * 1.0
        setter(y, v * 2.0)
        return np.sum(y * np.array(w, dtype="float64") ** 2 + y ** 3)
    y0 = onp.random.RandomState(2).rand(*yshape)
    v0 = onp.asarray(onp.random.RandomState(3).rand(*vshape))
    args = (np.array(y0, dtype="float64"), np.array(v0, dtype="float64"))
    if mode == "lazy":
        with minpy.lazy():
            gy, gv = grad(f, argnum=[0, 1])(*args)
    else:
        gy, gv = grad(f, argnum=[0, 1])(*args)
    assert gv.shape == v0.shape and gy.shape == y0.shape
    assert onp.allclose(gy.asnumpy(), numeric_grad(f, [y0, v0], 0), atol=1e-5)
    assert onp.allclose(gv.asnumpy(), numeric_grad(f, [y0, v0], 1), atol=1e-5)


GETTERS = [
    ("array_none", lambda a: a[np.array([0, 1, 0]), None]),
    ("separated", lambda a: a[np.array([0, 1]), :, np.array([1, 1])]),
    ("int_and_array", lambda a: a[1, :, np.array([0, 1, 1])]),
    ("adjacent", lambda a: a[:, np.array([[0], [2]]), np.array([1, 0])]),
    ("bool_mask", lambda a: a[np.array([True, False])]),
    ("empty_slice", lambda a: a[2:1, np.array([0])]),
    ("neg_step", lambda a: a[::-1, np.array([-1, 0])]),
]


@pytest.mark.parametrize("mode", ["eager", "lazy"])
@pytest.mark.parametrize("name, getter", GETTERS, ids=[g[0] for g in GETTERS])
def test_getitem_gradients_match_central_differences(name, getter, mode):
    x0 = onp.random.RandomState(0).rand(2, 3, 2)

    def f(x):
        s = getter(x)
        return np.sum(s ** 3)
    if mode == "lazy":
        with minpy.lazy():
            g = grad(f)(np.array(x0, dtype="float64"))
    else:
        g = grad(f)(np.array(x0, dtype="float64"))
    assert onp.allclose(g.asnumpy(), numeric_grad(f, [x0], 0), atol=1e-5)


# ---------------------------------------------------------------------------- fuzzer findings

@pytest.mark.parametrize("mode", MODES)
def test_repeat_with_array_repeats(mode):
    x = A(2, 3)
    for reps in (onp.array([1, 0, 3]), [2, 1, 0], onp.array(2), onp.array([2])):
        r = run_in(mode, lambda a: np.repeat(a, reps, axis=1), [x])
        assert onp.array_equal(r.asnumpy(), onp.repeat(x, reps, axis=1))
    r = run_in(mode, lambda a: np.repeat(a, np.array([1, 0, 3, 1, 1, 2])), [x])
    assert onp.array_equal(r.asnumpy(), onp.repeat(x, [1, 0, 3, 1, 1, 2]))
    for bad, err in ((onp.array([1., 2., 0.]), TypeError), (onp.array([1, 2]), ValueError),
                     (-1, ValueError), (onp.array([[1, 2, 0]]), ValueError)):
        with pytest.raises(err):
            onp.repeat(x, bad, axis=1)
        with pytest.raises(err):
            run_in(mode, lambda a: np.repeat(a, bad, axis=1), [x])


def test_repeat_of_0d_gradient():
    def f(x):
        return np.sum(np.repeat(x, 3, axis=-1) * np.array([-1., 0., 2.], dtype="float64"))
    assert float(grad(f)(np.array(1.243, dtype="float64"))) == pytest.approx(1.0)


@pytest.mark.parametrize("axis", [None, 1, -1])
def test_repeat_per_element_gradient(axis):
    x0 = onp.random.RandomState(0).rand(2, 3)
    reps = [1, 0, 3, 1, 1, 2] if axis is None else [1, 0, 3]
    n = 8 if axis is None else 4
    w = onp.arange(float(n * (1 if axis is None else 2))).reshape((n,) if axis is None else (2, n))

    def f(x):
        return np.sum(np.repeat(x, reps, axis=axis) ** 2 * np.array(w, dtype="float64"))
    g = grad(f)(np.array(x0, dtype="float64"))
    assert onp.allclose(g.asnumpy(), numeric_grad(f, [x0], 0), atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_whole_array_mask_assignment_needs_flat_values(mode):
    def f(a):
        a[a > 0] = np.ones((2, 2))
        return a
    with pytest.raises(TypeError, match="0 or 1-dimensional input"):
        run_in(mode, f, [A(3, 4)])

    def g(a):
        a[a > 5] = np.arange(6.)
        return a
    want = A(3, 4)
    want[want > 5] = onp.arange(6.)
    assert onp.array_equal(run_in(mode, g, [A(3, 4)]).asnumpy(), want)


GRAPH_INDICES = [
    (slice(1, None), 0), (None, Ellipsis, 1), (onp.array([2, 0, 2]),),
    (onp.array([0, 2]), None), (slice(None), onp.array([1, 1]), None),
    (onp.array([[0], [1]]), slice(None), onp.array([0, 2, 1])), (onp.array(True),),
    (onp.array([True, False, True]), 1), (slice(None, None, -2), onp.array([-1, 0])),
]


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_indexing_lowers_into_graphs(dtype):
    """Every index form (get and set) compiles into the lazy graph: none falls back to
    the node-by-node interpreter, whose recovery would hide a lowering bug."""
    x = (A(3, 4, 3) % 3 == 1) if dtype == "bool" else A(3, 4, 3).astype(dtype)
    minpy.jit.reset_stats()
    for idx in GRAPH_INDICES:
        want = x[idx]
        with minpy.lazy():
            a = np.array(x, dtype=x.dtype).copy()
            got = a[_mx_index(idx)]
            b = np.array(x, dtype=x.dtype).copy()
            b[_mx_index(idx)] = np.array(onp.zeros(want.shape, x.dtype))
        assert onp.array_equal(got.asnumpy(), want)
        y = x.copy()
        y[idx] = 0
        assert onp.array_equal(b.asnumpy(), y)
    assert minpy.jit.stats()["interpreted_nodes"] == 0


def test_shape_ops_lower_into_graphs():
    """No shape/sort operator of the table falls back to the interpreter in lazy mode
    (per-element repeats are the one lowering that needs it)."""
    for name, fn, args in SHAPE_CASES:
        if outcome(lambda: fn(onp, *args))[1] is not None or name == "repeat_list":
            continue
        minpy.jit.reset_stats()
        with minpy.lazy():
            r = fn(np, *[np.array(a, dtype=a.dtype).copy() for a in args])
        r.asnumpy()
        assert minpy.jit.stats()["interpreted_nodes"] == 0, name


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("index", [(1, None), (slice(1, None),), (onp.array([1, 0]),)],
                         ids=["int_none", "slice", "array"])
def test_assigning_floats_into_bool_casts_like_numpy(mode, index):
    v = onp.array([0.5, 0., 2., -0.1])
    want = onp.zeros((2, 4), bool)
    want[index] = v

    def f(a, vv):
        a[_mx_index(index)] = vv
        return a
    got = run_in(mode, f, [onp.zeros((2, 4), bool), v])
    assert onp.array_equal(got.asnumpy(), want)


def test_empty_selection_setitem_gradient_under_jit():
    def loss(a, v):
        b = a * 2.0
        b[:0:-1, -1:3:-1, None, np.array([True])] = v
        return np.sum(b * np.array(onp.array([-1., 0., 1.]).reshape(3, 1, 1)))
    a0 = onp.array([-0.352, -0.652, 0.721]).reshape(3, 1, 1)
    g = minpy.jit(grad(loss, argnum=[0, 1]))
    for _ in range(2):
        ga, gv = g(np.array(a0, dtype="float64"), np.zeros((0, 1, 1), dtype="float64"))
        assert onp.allclose(ga.asnumpy(), [[[-2.]], [[0.]], [[2.]]]) and gv.shape == (0, 1, 1)


@pytest.mark.parametrize("mode", MODES)
def test_setitem_checks_value_shape_before_bounds(mode):
    """NumPy reports a value that cannot fit the selection before an index out of range."""
    def f(a, v):
        a[-1, np.array([0, -1, 0])] = v
        return a
    with pytest.raises(ValueError, match=r"value array of shape \(2,\) could not be broadcast"):
        run_in(mode, f, [onp.zeros((1, 0), bool), onp.zeros(2, bool)])
    with pytest.raises(IndexError, match="out of bounds"):
        run_in(mode, f, [onp.zeros((1, 0), bool), onp.zeros(3, bool)])


@pytest.mark.parametrize("value,cls", [(float("inf"), OverflowError), (-float("inf"), OverflowError),
                                       (float("nan"), ValueError), (1e30, OverflowError)])
@pytest.mark.parametrize("lazy", [False, True])
def test_nonfinite_float_into_integer_array_raises_like_numpy(value, cls, lazy):
    ref = onp.zeros(3, "int64")
    with pytest.raises(cls):
        ref[1:] = value
    with minpy.lazy(lazy):
        x = np.zeros(3, dtype="int64")
        with pytest.raises(cls):
            x[1:] = value
        x[1:] = 2.7                               # finite floats truncate, as NumPy's int()
        ref[1:] = 2.7
        onp.testing.assert_array_equal(x.asnumpy(), ref)


ELEMENT_WRITES = [((), "int32", ()), ((3,), "int64", 0), ((3,), "uint8", -1), ((2, 2), "int32", (0, 1)),
                  ((3,), "int32", slice(None)), ((2, 2), "int32", 0)]
ELEMENT_VALUES = [onp.array([[NAN]]), onp.array([[INF]]), onp.array([NAN]), onp.array(INF),
                  onp.array(-INF, "float32"), onp.array(1e30), onp.array(NAN), onp.array(2.5),
                  onp.array([[2.5]]),
                  # int64's bounds: -2**63 converts (float32 and float64), 2**63 does not
                  onp.array(-2.0 ** 63), onp.array(-2.0 ** 63, "float32"), onp.array(2.0 ** 63),
                  onp.array(9.2233715e18, "float32")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,dt,idx", ELEMENT_WRITES)
def test_writing_one_integer_element_converts_the_value_as_numpy(shape, dt, idx, mode):
    """NumPy writes one element of an integer array through ``int()``: a NaN, an
    infinity or a value beyond int64 raises (a 1+-d value as 'a sequence'); MinPy
    stored an arbitrary integer without an error."""
    for v in ELEMENT_VALUES:
        def f(x, y):
            x = x.copy()
            x[idx] = y
            return x
        def mine():
            args = [np.array(Z(shape, dt), dtype=dt), np.array(v, dtype=v.dtype)]
            if mode == "lazy":
                with minpy.lazy():            # x.copy() makes the target pending
                    return f(*args).asnumpy()
            return run_in(mode, f, [Z(shape, dt), v]).asnumpy()
        ref, rerr = outcome(lambda: f(Z(shape, dt), v))
        got, gerr = outcome(mine)
        if rerr is not None:
            assert type(gerr) is type(rerr), (v, gerr, rerr)
            assert str(rerr) in str(gerr)
        else:
            assert gerr is None, (v, gerr)
            assert got.dtype == ref.dtype
            onp.testing.assert_array_equal(got, ref)


def check_read_and_write(mode, x, idx):
    """``x[idx]`` and ``x[idx] = -1`` in one mode against NumPy (values, or the error's
    class); the index with MinPy arrays for NumPy's."""
    want, we = outcome(lambda: x[idx])
    midx = tuple(np.array(i) if isinstance(i, onp.ndarray) else i for i in idx)
    check_same(want, we, lambda: run_in(mode, lambda a: a[midx], [x]))

    def store(a):
        a = a.copy()
        a[midx] = -1.0
        return a
    ref = x.copy()
    want, we = outcome(lambda: ref.__setitem__(idx, -1.0))
    check_same(ref if we is None else None, we, lambda: run_in(mode, store, [x]))
    return midx


WIDE_VIEWS = [((1, 1, 2, 2, 3), (slice(-3, None), onp.array([True]), onp.array([False, True]), -2,
                                 None, slice(-3, None, 2))),
              ((2, 2, 2, 2, 2), (None, 0, slice(None), onp.array([1, 0]), slice(None), None)),
              ((2, 3, 2, 2, 2), (onp.array([[0], [1]]), slice(None), 1, None, onp.array([0, 1])))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,idx", WIDE_VIEWS)
def test_index_whose_intermediates_pass_five_dimensions(shape, idx, mode):
    """``x[:, mask, mask, -2, None, ::2]`` on a 5-d array: its result has 4 dimensions
    but the lowering's view with the new axis has 6, past MXNet's kernels ('ndim=6
    too large', from a 30-minute fuzz run): such an index runs on host copies; the
    assignment and the gradient through the same index too."""
    x = A(*shape)
    midx = check_read_and_write(mode, x, idx)
    g = grad(lambda a: (a[midx] * 2.0).sum())(np.array(x))
    gref = onp.zeros_like(x)
    onp.add.at(gref, idx, 2.0)
    onp.testing.assert_array_equal(g.asnumpy(), gref)


@pytest.mark.parametrize("mode", MODES)
def test_boolean_mask_of_another_shape_is_an_index_error_before_the_value(mode):
    """NumPy checks a boolean mask's shape before the value of a whole-array mask
    assignment: ``v[mask_of_2] = zeros((1, 4))`` on a (4,) array is IndexError (MinPy
    raised the value's TypeError first)."""
    for shape, mask, vshape in (((4,), [True, False], (1, 4)),
                                ((2, 2), [[1, 0, 1], [1, 1, 1]], (1, 3)),
                                ((4,), [True, False, True, True], (1, 3))):
        m = onp.array(mask, dtype=bool)
        x = onp.ones(shape, "float32")

        def store(a):
            a = a.copy()
            a[np.array(m)] = np.zeros(vshape)
            return a
        ref = x.copy()
        want, we = outcome(lambda: ref.__setitem__(m, onp.zeros(vshape, "float32")))
        assert we is not None
        check_same(None, we, lambda: run_in(mode, store, [x]))


EMPTY_MASKS = [((5,), (Z(0, "bool"),)),
               ((5, 3), (Z((0, 3), "bool"),)),
               ((5, 3), (Z((0, 2), "bool"),)),                 # a nonzero length is checked
               ((2, 5), (slice(None), Z(0, "bool"))),
               ((3, 5, 0, 4), (Ellipsis, Z(0, "bool"), slice(7, None, -1), 0)),
               ((2, 5), (Z(0, "bool"), onp.array([1, 2]))),    # does not broadcast
               ((2, 5), (Z(0, "bool"), onp.array([1]))),
               ((2, 5), (Z(0, "bool"), 7))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,idx", EMPTY_MASKS)
def test_length_zero_boolean_mask_is_not_checked_against_its_axis(shape, idx, mode):
    """NumPy checks only a mask's nonzero lengths against the axes they cover:
    ``x[..., zeros(0, bool), 7::-1, 0]`` on a (3, 5, 0, 4) array is an empty (0, 3, 0)
    array (MinPy raised IndexError; from a 30-minute fuzz run); reading and writing."""
    check_read_and_write(mode, A(*shape), idx)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", ["int32", "int8", "uint8", "int64"])
def test_float_array_into_one_integer_element_goes_through_int64(dt, mode):
    """NumPy's ``int()`` of a float value written into one element is a C long first,
    then wraps to the array's dtype: a float32 2**60 into int32 stores 0, 3e9 stores
    -1294967296 (MinPy stored MXNet's direct cast, -2147483648; from a 30-minute fuzz
    run)."""
    for v in (onp.array(2.0 ** 60, "float32"), onp.array(3e9, "float32"),
              onp.array(-3.7, "float32"), onp.array(60000.0, "float16"),
              onp.array(-(2.0 ** 62)), onp.array(255.9, "float32")):
        def f(x, y):
            x = x.copy()
            x[-2] = y
            return x
        ref = f(Z(4, dt), v)
        check_same(ref, None, lambda: run_in(mode, f, [Z(4, dt), v]))
