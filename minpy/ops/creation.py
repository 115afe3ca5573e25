"""Array creation: zeros, ones, full, empty, *_like, arange, linspace, eye, identity."""
from __future__ import annotations

import numpy as _onp

from ..config import config as _config
from ..dispatch.registry import defop


def _dt(dtype):
    return _onp.dtype(dtype).name if dtype is not None else _config.default_dtype.name


def _shape_arg(shape):
    if isinstance(shape, (int, _onp.integer)):
        return (int(shape),)
    if isinstance(shape, (str, bytes, float)) or \
            any(not isinstance(s, (int, _onp.integer)) for s in shape):
        raise TypeError(f"expected a shape (int or tuple of ints), got {shape!r}")
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"expected a shape (int or tuple of ints), got {shape!r}") from None


def _filled_bind(name):
    def bind(shape, dtype=None, order="C", **kw):
        if kw:
            raise TypeError(f"minpy.numpy.{name}() got an unexpected keyword argument {next(iter(kw))!r}")
        shp = _shape_arg(shape)
        if any(s < 0 for s in shp):
            raise ValueError(f"minpy.numpy.{name}: negative dimensions are not allowed ({shp})")
        return (), (("shape", shp), ("dtype", _dt(dtype)))
    return bind


for _name in ("zeros", "ones", "empty"):
    defop(_name, nin=0, bind=_filled_bind(_name), nondiff=True,
          mx=(lambda n: lambda F, shape, dtype: getattr(F.np, "zeros" if n == "empty" else n)(shape, dtype=dtype))(_name),
          np=(lambda n: lambda shape, dtype: getattr(_onp, "zeros" if n == "empty" else n)(shape, dtype=dtype))(_name))


def _full_bind(shape, fill_value, dtype=None, order="C"):
    shp = _shape_arg(shape)
    if dtype is None:
        dtype = _onp.result_type(fill_value)
        if dtype == _onp.float64:
            dtype = _config.default_dtype
    if hasattr(fill_value, "item"):
        fill_value = fill_value.item()
    return (), (("shape", shp), ("fill_value", fill_value), ("dtype", _onp.dtype(dtype).name))


defop("full", nin=0, bind=_full_bind, nondiff=True,
      mx=lambda F, shape, fill_value, dtype: F.np.full(shape, fill_value, dtype=dtype),
      np=lambda shape, fill_value, dtype: _onp.full(shape, fill_value, dtype=dtype))


def _like_bind(name, filled):
    def bind(a, *args, dtype=None, order="K", subok=True, shape=None, **kw):
        if kw:
            raise TypeError(f"minpy.numpy.{name}() got an unexpected keyword argument {next(iter(kw))!r}")
        attrs = []
        if filled:
            if not args:
                raise TypeError("minpy.numpy.full_like() missing required argument 'fill_value'")
            fv = args[0]
            attrs.append(("fill_value", fv.item() if hasattr(fv, "item") else fv))
            args = args[1:]
        if args:
            dtype = args[0]
        attrs.append(("dtype", None if dtype is None else _onp.dtype(dtype).name))
        return (a,), tuple(attrs)
    return bind


def _like_mx(kind):
    def lower(F, a, dtype, fill_value=None):
        dt = dtype or a.dtype
        if kind == "full":
            return F.np.full_like(a, fill_value, dtype=dt)
        return getattr(F.np, "zeros_like" if kind == "empty" else kind + "_like")(a, dtype=dt)
    return lower


def _like_np(kind):
    def impl(a, dtype, fill_value=None):
        if kind == "full":
            return _onp.full_like(a, fill_value, dtype=dtype)
        return getattr(_onp, "zeros_like" if kind == "empty" else kind + "_like")(a, dtype=dtype)
    return impl


for _kind in ("zeros", "ones", "empty", "full"):
    defop(f"{_kind}_like", bind=_like_bind(f"{_kind}_like", _kind == "full"), nondiff=True,
          mx=_like_mx(_kind), np=_like_np(_kind))


def _arange_bind(start, stop=None, step=None, dtype=None):
    if stop is None:
        start, stop = 0, start
    if step is None:
        step = 1
    if step == 0:
        raise ValueError("minpy.numpy.arange: step must not be zero")
    vals = [v.item() if hasattr(v, "item") else v for v in (start, stop, step)]
    if dtype is None:
        dtype = _onp.arange(vals[0], vals[0] + vals[2], vals[2]).dtype if all(
            isinstance(v, int) for v in vals) else _config.default_dtype
    return (), (("start", vals[0]), ("stop", vals[1]), ("step", vals[2]),
                ("dtype", _onp.dtype(dtype).name))


def _arange_np(start, stop, step, dtype):
    return _onp.arange(start, stop, step, dtype=dtype)


def _arange_mx(F, start, stop, step, dtype):
    """``start + step * k`` for NumPy's count of ``k``: the length always matches the
    inferred shape (MXNet's own arange counts in the requested dtype), integers are
    exact beyond 2**53 (the start is added in two parts that doubles hold exactly),
    floats are computed in float64 and rounded once."""
    dt = _onp.dtype(dtype)
    ints = all(type(v) is int for v in (start, stop, step))
    n = len(range(start, stop, step)) if ints else max(0, int(_onp.ceil((stop - start) / step)))
    if dt.kind in "iu":
        if not ints:
            # NumPy's integer arange of floats: the first value and the step are the
            # differences of the first two values, each truncated
            start, step = int(start), int(start + step) - int(start)
        r = F.np.arange(0, n, 1, dtype="int64")
        if step != 1:
            r = r * step
        high = (start >> 32) << 32
        for part in (high, start - high):
            if part:
                r = r + part
        return r if dt.name == "int64" else r.astype(dt.name)
    r = F.np.arange(0, n, 1, dtype="float64") * float(step) + float(start)
    return r.astype(dt.name)


defop("arange", nin=0, bind=_arange_bind, nondiff=True, np=_arange_np, mx=_arange_mx)


def _linspace_bind(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    if retstep:
        raise NotImplementedError("minpy.numpy.linspace: retstep=True is not supported")
    if axis != 0:
        raise NotImplementedError("minpy.numpy.linspace: only axis=0 is supported")
    if int(num) < 0:
        raise ValueError(f"minpy.numpy.linspace: number of samples, {num}, must be non-negative")
    return (), (("start", float(start)), ("stop", float(stop)), ("num", int(num)),
                ("endpoint", bool(endpoint)), ("dtype", _dt(dtype)))


def _linspace_mx(F, start, stop, num, endpoint, dtype):
    # computed in float64 as NumPy does; integer dtypes take the floor (NumPy >= 1.20),
    # not the truncation a cast gives (-3.5 becomes -4)
    r = F.np.linspace(start, stop, num, endpoint=endpoint, dtype="float64")
    if _onp.dtype(dtype).kind in "iu":
        r = F.np.floor(r)
    return r.astype(dtype)


defop("linspace", nin=0, bind=_linspace_bind, nondiff=True, mx=_linspace_mx,
      np=lambda start, stop, num, endpoint, dtype: _onp.linspace(start, stop, num, endpoint=endpoint, dtype=dtype))


def _eye_bind(N, M=None, k=0, dtype=None, order="C"):
    return (), (("N", int(N)), ("M", None if M is None else int(M)), ("k", int(k)), ("dtype", _dt(dtype)))


defop("eye", nin=0, bind=_eye_bind, nondiff=True,
      # MXNet's eye has no bool dtype: build it as int8
      mx=lambda F, N, M, k, dtype: F.np.eye(N, M, k, dtype="int8" if dtype == "bool" else dtype)
      .astype(dtype),
      np=lambda N, M, k, dtype: _onp.eye(N, M, k, dtype=dtype))


def _identity_bind(n, dtype=None):
    return (), (("n", int(n)), ("dtype", _dt(dtype)))


defop("identity", nin=0, bind=_identity_bind, nondiff=True,
      mx=lambda F, n, dtype: F.np.eye(n, dtype="int8" if dtype == "bool" else dtype).astype(dtype),
      np=lambda n, dtype: _onp.identity(n, dtype=dtype))
