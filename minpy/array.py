"""The array type users hold.

An :class:`Array` is a handle: it points at an immutable MXNet buffer (or, in
lazy mode, at a pending graph value) plus its shape, dtype and context, which
are always known without evaluation. Writes (``x[i] = v``, ``x += y``) build a
new value and re-point the handle, so buffers are never mutated once made:
tape nodes and lazy graphs can hold them safely.
"""
from __future__ import annotations

import weakref as _weakref
from typing import Any

import mxnet as _mx
import numpy as _onp

from numpy.core._exceptions import _UFuncOutputCastingError

from . import context as _context
from .dispatch import call as _call
from .dispatch import infer as _infer
from .dispatch.registry import REGISTRY

_MXND = _mx.np.ndarray


def _c(name: str, *args, **kwargs):
    return _call.call(REGISTRY[name], args, kwargs, 1)


class Array:
    """A NumPy-like n-dimensional array backed by MXNet."""

    __slots__ = ("_data", "_shape", "_dtype", "_ctx", "_rec", "__weakref__")
    __array_priority__ = 100.0

    # -- construction -------------------------------------------------------------
    @classmethod
    def _wrap(cls, data, shape: tuple, dtype: _onp.dtype, ctx) -> "Array":
        a = object.__new__(cls)
        a._data = data
        a._shape = shape
        a._dtype = dtype
        a._ctx = ctx
        a._rec = None
        return a

    @classmethod
    def from_mx(cls, nd) -> "Array":
        """Wrap an MXNet NDArray (legacy or numpy flavour) without copying."""
        if not isinstance(nd, _MXND):
            nd = nd.as_np_ndarray()
        return cls._wrap(nd, tuple(nd.shape), _onp.dtype(nd.dtype), _context.from_mx(nd.ctx))

    def __init__(self, data: Any, dtype=None, ctx=None) -> None:
        other = _call.from_host(data, ctx, dtype) if not isinstance(data, Array) else data
        self._data, self._shape, self._dtype, self._ctx = other._data, other._shape, other._dtype, other._ctx
        self._rec = other._rec

    def _assign(self, other: "Array") -> None:
        """Re-point this handle at another value (the basis of every write)."""
        eng = _call.lazy_engine()
        if eng is not None and eng.tracing is not None:
            eng.tracing.note_write(self)
        self._data, self._shape, self._dtype, self._ctx, self._rec = \
            other._data, other._shape, other._dtype, other._ctx, other._rec
        if eng is not None and type(self._data) is not _MXND:
            eng.live.append(_weakref.ref(self))

    # -- materialisation ------------------------------------------------------------
    def _mx(self, reason: str = "value"):
        d = self._data
        if type(d) is _MXND:
            return d
        return d.materialise(self, reason)

    def asnumpy(self) -> _onp.ndarray:
        """Copy to a NumPy array (forces evaluation)."""
        return self._host("asnumpy")

    def _host(self, reason: str) -> _onp.ndarray:
        eng = _call._lazy.engine
        if eng is not None and eng.tracing is not None and type(self._data) is _MXND:
            # a @jit trace reading a concrete value: it would be baked into the graph
            from .jit.graph import user_frame
            eng.tracing.graph_break(reason, user_frame(2))
        d = self._mx(reason)
        try:
            return d.asnumpy()
        except _mx.base.MXNetError as e:
            raise RuntimeError(f"minpy: computing this array failed in MXNet: "
                               f"{_call.mx_message(e)}") from None

    def asmxnet(self):
        """The MXNet ``mx.np.ndarray`` behind this array (forces evaluation)."""
        return self._mx()

    def wait_to_read(self) -> "Array":
        self._mx().wait_to_read()
        return self

    def __array__(self, dtype=None):
        a = self._host("__array__")
        return a if dtype is None else a.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``numpy.exp(x)``, ``numpy.add.reduce(x)``...: a MinPy call where MinPy has the
        function (differentiable, recorded lazily), else NumPy on host copies."""
        from .dispatch.fallback import array_ufunc
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """``numpy.dot(x, w)``, ``numpy.concatenate([x, y])``...: MinPy's version where it
        has one (gradients flow), else NumPy's on host copies with MinPy arrays back; a
        gradient taken through such a NumPy-only function raises naming it."""
        from .dispatch.fallback import array_function
        return array_function(func, types, args, kwargs)

    def item(self, *args):
        return self._host("item").item(*args)

    def tolist(self):
        return self._host("tolist").tolist()

    # -- metadata (never forces evaluation) --------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def dtype(self) -> _onp.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self._shape:
            n *= s
        return n

    @property
    def context(self):
        return self._ctx

    ctx = context

    @property
    def T(self) -> "Array":
        return _c("transpose", self)

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d array")
        for i in range(self._shape[0]):
            yield self[i]

    # -- conversion to Python values -------------------------------------------------------
    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return bool(self._host("bool").reshape(()))

    def __float__(self) -> float:
        if self.size != 1:
            raise TypeError("only size-1 arrays can be converted to Python scalars")
        return float(self._host("float").reshape(()))

    def __int__(self) -> int:
        if self.size != 1:
            raise TypeError("only size-1 arrays can be converted to Python scalars")
        return int(self._host("int").reshape(()))

    def __index__(self) -> int:
        if self._dtype.kind not in "iub" or self._shape != ():
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._host("index"))

    def __complex__(self) -> complex:
        return complex(float(self))

    def __repr__(self) -> str:
        return repr(self._host("repr"))

    def __str__(self) -> str:
        return str(self._host("str"))

    def __format__(self, spec: str) -> str:
        if self._shape == () or self.size == 1 and spec:
            return format(self._host("format").reshape(()).item(), spec)
        return format(str(self), spec)

    def __hash__(self):
        raise TypeError("unhashable type: 'minpy.Array'")

    def __reduce__(self):
        return (_rebuild, (self.asnumpy(),))

    def __copy__(self) -> "Array":
        return self.copy()

    def __deepcopy__(self, memo) -> "Array":
        return self.copy()

    # -- contexts and dtypes --------------------------------------------------------------
    def as_in_context(self, ctx) -> "Array":
        """A copy on another context (a no-op when already there)."""
        if ctx == self._ctx:
            return self
        return _c("_to_context", self, ctx=ctx)

    def copyto(self, ctx) -> "Array":
        return _c("_to_context", self, ctx=ctx) if ctx != self._ctx else self.copy()

    def astype(self, dtype, copy: bool = True) -> "Array":
        dt = _onp.dtype(dtype)
        if dt == self._dtype and not copy:
            return self
        return _c("astype", self, dt)

    def copy(self) -> "Array":
        return _c("copy", self)

    # -- indexing ------------------------------------------------------------------
    def __getitem__(self, index) -> "Array":
        return _c("_getitem", self, index=index)

    def __setitem__(self, index, value) -> None:
        self._assign(_c("_setitem", self, value, index=index))

    # -- methods mirroring the namespace ----------------------------------------------------
    def reshape(self, *shape, order: str = "C") -> "Array":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _c("reshape", self, shape, order=order)

    def transpose(self, *axes) -> "Array":
        if len(axes) == 1 and (isinstance(axes[0], (tuple, list)) or axes[0] is None):
            axes = axes[0]
        return _c("transpose", self, axes if axes != () else None)

    def flatten(self) -> "Array":
        return _c("reshape", self, (-1,))

    def fill(self, value) -> None:
        self._assign(_c("full_like", self, value))

    def dot(self, b) -> "Array":
        return _c("dot", self, b)


_call.Array = Array
_infer.Array = Array


def _method(name: str):
    def m(self, *args, **kwargs):
        op = REGISTRY.get(name)
        if op is None:      # not registered: the namespace's NumPy fallback
            from . import numpy as _mnp
            return getattr(_mnp, name)(self, *args, **kwargs)
        return _call.call(op, (self,) + args, kwargs, 1)
    m.__name__ = name
    m.__doc__ = f"Same as ``minpy.numpy.{name}(self, ...)``."
    return m


def _sort_in_place(self, axis=-1, kind=None, order=None) -> None:
    """Sort in place, as ``numpy.ndarray.sort`` does (the handle is re-pointed)."""
    self._assign(_call.call(REGISTRY["sort"], (self, axis, kind, order), None))


Array.sort = _sort_in_place

for _n in ("sum", "mean", "prod", "max", "min", "argmax", "argmin", "std", "var", "all", "any",
           "cumsum", "swapaxes", "squeeze", "ravel", "clip", "round", "repeat", "argsort",
           "nonzero", "take", "trace", "diagonal", "cumprod", "ptp"):
    setattr(Array, _n, _method(_n))


def _binop(name: str, reflected: bool = False):
    if reflected:
        def f(self, other):
            return _call.call(REGISTRY[name], (other, self), None, 1)
    else:
        def f(self, other):
            return _call.call(REGISTRY[name], (self, other), None, 1)
    return f


# NumPy's ``ndarray ** scalar`` shortcut (``fast_scalar_power``): for a scalar exponent
# (a Python or NumPy number, or a NumPy 0-d array) NumPy calls a unary ufunc instead of
# ``power``, which decides the result's dtype (``bool_array ** 2`` is int8, a float16
# 0-d array ``** 2.0`` stays float16) and some values (``-inf ** 0.5`` is NaN, via sqrt).
_FLOAT_SHORTCUTS = {1.0: "positive", -1.0: "reciprocal", 0.0: "ones_like", 0.5: "sqrt",
                    2.0: "square"}


def _pow_shortcut(x: "Array", e: Any, inplace: bool):
    """The unary operator NumPy's shortcut uses for ``x ** e``, or None. MinPy arrays are
    never read for it (a 0-d MinPy exponent takes ``power``: dtypes never depend on
    values, see docs/differences.md)."""
    t = type(e)
    if t is int or t is bool:
        is_float = False
    elif t is float:
        is_float = True
    elif isinstance(e, (_onp.integer, _onp.floating)) or (
            isinstance(e, _onp.ndarray) and e.ndim == 0 and e.dtype.kind in "iuf"):
        is_float = e.dtype.kind == "f"
    else:
        return None
    try:
        v = float(e)
    except (OverflowError, ValueError):
        return None
    # Where ``power`` gives the same dtype and values, it stays: it is what graphs and
    # MXNet-run backward passes are tuned for (registry ``mxgrad``). The shortcut
    # differs for 0-d arrays (NumPy promotes 0-d ``power`` operands as scalars), bool
    # arrays (square is int8), sqrt (-inf ** 0.5 is NaN) and integer ``**= 2.0``.
    kind, zero_d = x._dtype.kind, x._shape == ()
    if kind == "f":
        name = _FLOAT_SHORTCUTS.get(v)
        return name if zero_d or name == "sqrt" else None
    if v == 2.0 and kind in "biu":
        if kind == "b" or inplace:
            return "square"
        # a float 2.0 with an integer array is NumPy's float64 square: power's values
        return "square" if zero_d and not is_float else None
    return None


def _pow(self, other):
    fast = _pow_shortcut(self, other, False)
    if fast is not None:
        return _call.call(REGISTRY[fast], (self,), None)
    return _call.call(REGISTRY["power"], (self, other), None)


def _inplace(name: str):
    """``x op= y``: NumPy computes into ``x``'s buffer, so the result must keep ``x``'s
    shape (no broadcasting of the target) and cast to ``x``'s dtype by 'same_kind'."""

    def f(self, other):
        op, operands = REGISTRY[name], (self, other)
        if name == "power":
            fast = _pow_shortcut(self, other, True)
            if fast is not None:
                op, operands = REGISTRY[fast], (self,)
        ufunc = getattr(_onp, op.name)
        try:
            res = _call.call(op, operands, None)
        except Exception:
            # NumPy checks the cast into the target before computing (``bool_array **=
            # -1`` is its casting error, not the negative power's ValueError)
            dt = _result_dtype(ufunc, operands)
            if dt is not None and not _onp.can_cast(dt, self._dtype, "same_kind"):
                raise _UFuncOutputCastingError(ufunc, "same_kind", dt, self._dtype, 0) from None
            raise
        return _store_in_place(self, res, ufunc)
    return f


def _store_in_place(self, res, ufunc):
    """An in-place operator's result written into ``self`` with NumPy's checks, in its
    order: the cast into the target first, then the target's shape."""
    dt = _onp.dtype(res.dtype)
    if dt != self._dtype and not _onp.can_cast(dt, self._dtype, "same_kind"):
        raise _UFuncOutputCastingError(ufunc, "same_kind", dt, self._dtype, 0)
    if tuple(res.shape) != self._shape:
        raise ValueError(f"non-broadcastable output operand with shape "
                         f"{_shape_str(self._shape)} doesn't match the broadcast shape "
                         f"{_shape_str(tuple(res.shape))}")
    self._assign(res.astype(self._dtype, copy=False))
    return self


def _result_dtype(ufunc, operands):
    """The dtype ``ufunc`` gives for these operands (by their dtypes and ranks, not
    their shapes: NumPy checks the cast into the target before broadcasting), or None."""
    def dummy(o):
        if type(o) is Array:
            return _onp.zeros((1,) * len(o._shape), o._dtype)
        return _call._dummy(o)
    try:
        with _onp.errstate(all="ignore"):
            return _onp.dtype(ufunc(*[dummy(o) for o in operands]).dtype)
    except Exception:
        return None


def _shape_str(shape: tuple) -> str:
    return "(" + ",".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


for _dunder, _op in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                     ("truediv", "true_divide"), ("floordiv", "floor_divide"), ("mod", "mod"),
                     ("pow", "power"), ("matmul", "matmul"), ("and", "bitwise_and"),
                     ("or", "bitwise_or"), ("xor", "bitwise_xor")):
    setattr(Array, f"__{_dunder}__", _binop(_op))
    setattr(Array, f"__r{_dunder}__", _binop(_op, True))
    setattr(Array, f"__i{_dunder}__", _inplace(_op))
Array.__pow__ = _pow

for _dunder, _op in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                     ("ge", "greater_equal"), ("eq", "equal"), ("ne", "not_equal")):
    setattr(Array, f"__{_dunder}__", _binop(_op))


def _none_compare(name: str, fill: bool):
    """``x == None`` / ``x != None``: NumPy compares elementwise with an object that no
    element equals (all False / all True); other operands as ``equal`` does."""
    plain = getattr(Array, name)

    def f(self, other):
        if other is None:
            return _call.call(REGISTRY["full_like"], (self, fill), {"dtype": "bool"}, 1)
        return plain(self, other)
    f.__name__ = name
    return f


Array.__eq__ = _none_compare("__eq__", False)
Array.__ne__ = _none_compare("__ne__", True)


def _round(self, ndigits=None):
    """Python's ``round()`` of a 0-d array (what MinPy's reductions return where NumPy's
    return scalars: ``round(loss.sum(), 4)``): its value rounded as Python rounds it.
    NumPy's arrays have no ``round()``; nor have larger MinPy arrays."""
    if self._shape != ():
        raise TypeError("type minpy.Array doesn't define __round__ method for arrays of "
                        "one or more dimensions (use np.round)")
    return round(self.item(), ndigits)


Array.__round__ = _round


def _imatmul(self, other):
    raise TypeError("In-place matrix multiplication is not (yet) supported. "
                    "Use 'a = a @ b' instead of 'a @= b'.")


Array.__imatmul__ = _imatmul      # as NumPy 1.x: ``@=`` would need a buffer of a new shape


def _shift(name: str, reflected: bool = False, inplace: bool = False):
    """``<<`` and ``>>``: NumPy's left_shift/right_shift (the namespace's NumPy
    fallback: MXNet has no shift operators)."""
    def f(self, other):
        from . import numpy as _mnp
        fn = getattr(_mnp, name)
        if not inplace:
            return fn(other, self) if reflected else fn(self, other)
        return _store_in_place(self, fn(self, other), getattr(_onp, name))
    return f


for _dunder, _op in (("lshift", "left_shift"), ("rshift", "right_shift")):
    setattr(Array, f"__{_dunder}__", _shift(_op))
    setattr(Array, f"__r{_dunder}__", _shift(_op, reflected=True))
    setattr(Array, f"__i{_dunder}__", _shift(_op, inplace=True))
Array.__neg__ = lambda self: _c("negative", self)
# NumPy 1.x: ``+bool_array`` is a copy (with a DeprecationWarning), np.positive of one raises
Array.__pos__ = lambda self: _c("copy" if self._dtype.kind == "b" else "positive", self)
Array.__abs__ = lambda self: _c("absolute", self)
Array.__invert__ = lambda self: _c("invert", self)
Array.__divmod__ = lambda self, o: (self // o, self % o)


def _rebuild(host):
    return _call.from_host(host, None, host.dtype)




# MinPy 0.3 names (issue 14): Value, Number and wrap
from ._compat_values import Number, Value, wrap  # noqa: E402,F401

Value.register(Array)
