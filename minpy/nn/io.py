"""Mini-batch iteration over in-memory arrays (MXNet's ``NDArrayIter`` shape)."""
from __future__ import annotations

import numpy as _onp

from .. import numpy as np
from ..array import Array

from .._compat_io import (DataIter, NDArrayIterCompat as _Compat,  # noqa: F401  (MinPy 0.3)
                          load_data_labels, save_data_labels)

__all__ = ["DataBatch", "DataIter", "NDArrayIter", "load_data_labels", "save_data_labels"]


class DataBatch:
    """One batch: ``data`` and ``label`` are lists of MinPy arrays (one per
    input), ``pad`` counts the trailing samples that repeat earlier ones (only
    with ``last_batch_handle='pad'``) and ``index`` holds the sample indices."""

    __slots__ = ("data", "label", "pad", "index")

    def __init__(self, data, label, pad=0, index=None) -> None:
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index

    def __repr__(self) -> str:
        shapes = [tuple(d.shape) for d in self.data]
        return f"DataBatch(data={shapes}, pad={self.pad})"


def _host_list(x, what):
    if x is None:
        return []
    if isinstance(x, dict):
        x = list(x.values())
    if not isinstance(x, (list, tuple)):
        x = [x]
    out = []
    for a in x:
        a = a.asnumpy() if isinstance(a, Array) else _onp.asarray(a)
        if a.ndim == 0:
            raise ValueError(f"minpy.nn.io.NDArrayIter: {what} must have a batch axis, got a 0-d array")
        out.append(a)
    return out


class NDArrayIter(_Compat, DataIter):
    """Iterate over ``data`` (and ``label``) in mini-batches along axis 0.

    ``last_batch_handle`` says what happens to the last ``num_data % batch_size``
    samples of an epoch:

    * ``'pad'`` (default): the last batch is filled up with samples from the
      start of the epoch's order; ``batch.pad`` says how many;
    * ``'discard'``: they are dropped;
    * ``'roll_over'``: they are kept for the next epoch, whose first batch starts
      with them (``reset()`` starts that epoch).

    ``shuffle=True`` draws a new order (NumPy's generator) at every ``reset()``.
    Data may be NumPy or MinPy arrays (or lists of them); batches are MinPy
    arrays, float64 data becoming MinPy's default float dtype.

    ``num_parts``/``part_index`` keep one contiguous shard of the samples (for one
    worker of a data-parallel job): every part gets ``num_data // num_parts`` samples,
    so all workers run the same number of batches; the remainder is left out.
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad",
                 dtype=None, num_parts: int = 1, part_index: int = 0) -> None:
        self.data = _host_list(data, "data")
        self.label = _host_list(label, "label")
        if not self.data:
            raise ValueError("minpy.nn.io.NDArrayIter: no data given")
        num_parts, part_index = int(num_parts), int(part_index)
        if num_parts < 1 or not 0 <= part_index < num_parts:
            raise ValueError(f"minpy.nn.io.NDArrayIter: part_index must be in 0..num_parts-1 "
                             f"(num_parts >= 1), got part_index={part_index}, num_parts={num_parts}")
        self.num_data = self.data[0].shape[0]
        for a in self.data + self.label:
            if a.shape[0] != self.num_data:
                raise ValueError(f"minpy.nn.io.NDArrayIter: all arrays need {self.num_data} "
                                 f"samples along axis 0, got shape {a.shape}")
        if num_parts > 1:
            per = self.num_data // num_parts
            if per == 0:
                raise ValueError(f"minpy.nn.io.NDArrayIter: {self.num_data} samples "
                                 f"cannot be split into {num_parts} parts")
            lo = part_index * per
            self.data = [a[lo:lo + per] for a in self.data]
            self.label = [a[lo:lo + per] for a in self.label]
            self.num_data = per
        self.num_parts, self.part_index = num_parts, part_index
        if last_batch_handle not in ("pad", "discard", "roll_over"):
            raise ValueError(f"minpy.nn.io.NDArrayIter: last_batch_handle must be 'pad', "
                             f"'discard' or 'roll_over', got {last_batch_handle!r}")
        batch_size = int(batch_size)
        if batch_size <= 0:
            raise ValueError(f"minpy.nn.io.NDArrayIter: batch_size must be positive, got {batch_size}")
        if batch_size > self.num_data and last_batch_handle != "pad":
            raise ValueError(f"minpy.nn.io.NDArrayIter: batch_size {batch_size} exceeds the "
                             f"{self.num_data} samples")
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.last_batch_handle = last_batch_handle
        self.dtype = dtype
        self._carry = _onp.zeros(0, dtype="int64")
        self._order = None
        self._cursor = 0
        self.reset()

    # -- epochs --------------------------------------------------------------------------
    def reset(self) -> None:
        """Start a new epoch (re-shuffling when ``shuffle``)."""
        if self._order is not None and self.last_batch_handle == "roll_over":
            self._carry = self._order[self._cursor:]
        else:
            self._carry = _onp.zeros(0, dtype="int64")
        perm = _onp.random.permutation(self.num_data) if self.shuffle else _onp.arange(self.num_data)
        self._order = _onp.concatenate([self._carry, perm]).astype("int64")
        self._cursor = 0

    @property
    def num_batches(self) -> int:
        """Batches in the current epoch."""
        n = len(self._order)
        if self.last_batch_handle == "pad":
            return -(-n // self.batch_size)
        return n // self.batch_size

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self):
        return self

    def iter_next(self) -> bool:
        n = len(self._order)
        if self.last_batch_handle == "pad":
            return self._cursor < n
        return self._cursor + self.batch_size <= n

    def __next__(self) -> DataBatch:
        if not self.iter_next():
            raise StopIteration
        start, stop = self._cursor, self._cursor + self.batch_size
        idx = self._order[start:stop]
        pad = self.batch_size - len(idx)
        if pad > 0:
            idx = _onp.concatenate([idx, _onp.resize(self._order, pad)])
        self._cursor = stop
        self._last_idx = idx
        return DataBatch([self._make(a[idx]) for a in self.data],
                         [self._make(a[idx]) for a in self.label], pad, idx)

    next = __next__

    def getpad(self) -> int:
        """Padding of the batch the next call would return (0 unless it is the padded last one)."""
        return max(0, self._cursor + self.batch_size - len(self._order)) \
            if self.last_batch_handle == "pad" else 0

    def _make(self, host):
        if self.dtype is not None and host.dtype.kind == "f":
            return np.array(host, dtype=self.dtype)
        return np.array(host)

    @property
    def provide_data(self):
        return [("data", (self.batch_size,) + a.shape[1:]) for a in self.data]

    @property
    def provide_label(self):
        return [("label", (self.batch_size,) + a.shape[1:]) for a in self.label]


def __getattr__(name: str):
    """MXNet's data iterators (``MNISTIter``...) under their names, as MinPy 0.3 had them."""
    from .._compat_io import mxnet_iterator
    it = mxnet_iterator(name)
    if it is None:
        raise AttributeError(f"module 'minpy.nn.io' has no attribute {name!r}")
    return it
