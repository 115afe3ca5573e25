"""Random sampling (``minpy.numpy.random``): MXNet's generators, NumPy's API."""
from __future__ import annotations

import numpy as _onp

from ..config import config as _config
from ..dispatch.registry import defop


def _size(size):
    if size is None:
        return ()
    if isinstance(size, (int, _onp.integer)):
        return (int(size),)
    return tuple(int(s) for s in size)


def _fdt(dtype=None):
    return _onp.dtype(dtype).name if dtype is not None else _config.default_dtype.name


def _uniform_bind(low=0.0, high=1.0, size=None, dtype=None):
    return (), (("low", float(low)), ("high", float(high)), ("size", _size(size)), ("dtype", _fdt(dtype)))


def _normal_bind(loc=0.0, scale=1.0, size=None, dtype=None):
    if scale < 0:
        raise ValueError("minpy.numpy.random.normal: scale < 0")
    return (), (("loc", float(loc)), ("scale", float(scale)), ("size", _size(size)), ("dtype", _fdt(dtype)))


defop("random.uniform", nin=0, bind=_uniform_bind, random=True, nondiff=True,
      mx=lambda F, low, high, size, dtype: F.np.random.uniform(low, high, size=size, dtype=dtype),
      np=lambda low, high, size, dtype: _onp.random.uniform(low, high, size).astype(dtype))
defop("random.normal", nin=0, bind=_normal_bind, random=True, nondiff=True,
      mx=lambda F, loc, scale, size, dtype: F.np.random.normal(loc, scale, size=size, dtype=dtype),
      np=lambda loc, scale, size, dtype: _onp.random.normal(loc, scale, size).astype(dtype))


def _randint_bind(low, high=None, size=None, dtype="int64"):
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"minpy.numpy.random.randint: low >= high ({low} >= {high})")
    dt = _onp.dtype(dtype)
    if dt.kind not in "iu":
        raise TypeError(f"minpy.numpy.random.randint: unsupported dtype {dt.name}")
    return (), (("low", int(low)), ("high", int(high)), ("size", _size(size)), ("dtype", dt.name))


defop("random.randint", nin=0, bind=_randint_bind, random=True, nondiff=True,
      mx=lambda F, low, high, size, dtype: F.np.random.randint(low, high, size=size, dtype=dtype),
      np=lambda low, high, size, dtype: _onp.asarray(_onp.random.randint(low, high, size)).astype(dtype))


def _choice_bind(a, size=None, replace=True, p=None):
    if hasattr(a, "shape") or isinstance(a, (list, tuple)):
        raise NotImplementedError("array")
    n = int(a)
    if n <= 0:
        raise ValueError("minpy.numpy.random.choice: a must be a positive integer")
    if not replace and _onp.prod(_size(size)) > n:
        raise ValueError("minpy.numpy.random.choice: cannot take a larger sample than "
                         "population when replace=False")
    if p is not None:
        raise NotImplementedError("p")
    return (), (("a", n), ("size", _size(size)), ("replace", bool(replace)))


def _choice_mx(F, a, size, replace):
    return F.np.random.choice(a, size=size, replace=replace).astype("int64")


defop("random.choice", nin=0, bind=_choice_bind, random=True, nondiff=True, mx=_choice_mx,
      np=lambda a, size, replace: _onp.asarray(_onp.random.choice(a, size, replace)).astype("int64"))


# Further distributions MXNet samples, with NumPy's parameters. Each maps NumPy's
# scalar parameters to an MXNet sampler; array-valued parameters take the NumPy
# path in minpy.numpy.random. MXNet's own chisquare has the wrong mean in 1.9.1
# (0.75 for df=3), so chisquare is drawn as 2 * gamma(df / 2).
_REQUIRED = object()
DISTRIBUTIONS = {
    "beta": (("a", _REQUIRED), ("b", _REQUIRED)),
    "chisquare": (("df", _REQUIRED),),
    "exponential": (("scale", 1.0),),
    "gamma": (("shape", _REQUIRED), ("scale", 1.0)),
    "gumbel": (("loc", 0.0), ("scale", 1.0)),
    "logistic": (("loc", 0.0), ("scale", 1.0)),
    "lognormal": (("mean", 0.0), ("sigma", 1.0)),
    "pareto": (("a", _REQUIRED),),
    "power": (("a", _REQUIRED),),
    "rayleigh": (("scale", 1.0),),
    "weibull": (("a", _REQUIRED),),
}


def _distribution(name: str, params: tuple) -> None:
    sampler = getattr(_onp.random, name)

    def bind(*args, size=None, dtype=None, **kwargs):
        names = [p for p, _ in params]
        if len(args) > len(names) + 1:
            raise TypeError(f"minpy.numpy.random.{name}() takes at most {len(names) + 1} "
                            f"positional arguments")
        values = dict(params)
        values.update(zip(names, args))
        if len(args) > len(names):
            size = args[len(names)]
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"minpy.numpy.random.{name}() got an unexpected keyword "
                                f"argument {k!r}")
            values[k] = v
        missing = [k for k in names if values[k] is _REQUIRED]
        if missing:
            raise TypeError(f"minpy.numpy.random.{name}() missing required argument {missing[0]!r}")
        vals = tuple(float(values[k]) for k in names)
        sampler(*vals, size=0)          # NumPy's own checks and messages (a <= 0, ...)
        return (), tuple(zip(names, vals)) + (("size", _size(size)), ("dtype", _fdt(dtype)))

    def mx(F, *, size, dtype, **vals):
        args = [vals[k] for k, _ in params]
        if name == "chisquare":
            out = F.np.random.gamma(args[0] / 2.0, 2.0, size=size)
        else:
            out = getattr(F.np.random, name)(*args, size=size)
        return out.astype(dtype, copy=False)

    def np(size, dtype, **vals):
        return _onp.asarray(sampler(*[vals[k] for k, _ in params], size=size)).astype(dtype)

    defop(f"random.{name}", nin=0, bind=bind, random=True, nondiff=True, mx=mx, np=np)


for _name, _params in DISTRIBUTIONS.items():
    _distribution(_name, _params)
