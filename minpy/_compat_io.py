"""MinPy 0.3's data-iterator names (``minpy.nn.io.DataIter``, ``save_data_labels``,
``load_data_labels``, MXNet's iterators) and the extra ``NDArrayIter`` methods."""
from __future__ import annotations

import pickle
from typing import Any

import numpy as _onp


class DataIter:
    """Base of MXNet-style iterators (MinPy 0.3's ``DataIter``): a subclass defines
    ``iter_next()`` (advance, True while a batch is there) and ``getdata()`` /
    ``getlabel()`` (that batch), optionally ``getpad()`` / ``getindex()`` and ``reset()``."""

    def __init__(self, batch_size: int = 0) -> None:
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self) -> None:
        pass

    def __next__(self):
        from .nn.io import DataBatch
        if not self.iter_next():
            raise StopIteration
        return DataBatch(self.getdata(), self.getlabel(), self.getpad(), self.getindex())

    next = __next__

    def iter_next(self) -> bool:
        raise NotImplementedError

    def getdata(self):
        raise NotImplementedError

    def getlabel(self):
        raise NotImplementedError

    def getindex(self):
        return None

    def getpad(self) -> int:
        return 0


class NDArrayIterCompat:
    """``NDArrayIter`` methods of MinPy 0.3 (mixed into :class:`minpy.nn.io.NDArrayIter`).
    ``getdata``/``getlabel``/``getindex`` describe the batch the last ``next()`` returned."""

    def _last(self):
        idx = getattr(self, "_last_idx", None)
        if idx is None:
            raise RuntimeError("minpy.nn.io.NDArrayIter: no batch yet; call next() first")
        return idx

    def getdata(self):
        return [self._make(a[self._last()]) for a in self.data]

    def getlabel(self):
        return [self._make(a[self._last()]) for a in self.label]

    def getindex(self):
        return self._last()

    def hard_reset(self) -> None:
        """Start again from the first sample, dropping any rolled-over samples."""
        self._order = None
        self.reset()

    def getnumiterations(self) -> int:
        """Batches per epoch."""
        return self.num_batches

    def getsubiter(self, num_samples: int):
        """A shuffled iterator over ``num_samples`` samples drawn without replacement."""
        pick = _onp.random.permutation(self.num_data)[:num_samples]
        return type(self)([a[pick] for a in self.data], [a[pick] for a in self.label] or None,
                          batch_size=self.batch_size, shuffle=True)


def save_data_labels(data_vec: Any, label_vec: Any, file_name: str) -> None:
    """Pickle ``{'data': data_vec, 'labels': label_vec}`` to ``file_name`` (MinPy arrays
    are stored as NumPy arrays)."""
    from .core import minpy_to_numpy
    with open(file_name, "wb") as f:
        pickle.dump({"data": minpy_to_numpy(data_vec), "labels": minpy_to_numpy(label_vec)}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)


def load_data_labels(file_name: str):
    """``(data_vec, label_vec)`` saved by :func:`save_data_labels`."""
    with open(file_name, "rb") as f:
        d = pickle.load(f)
    return d["data"], d["labels"]


def mxnet_iterator(name: str):
    """MXNet's data iterator ``name`` (``MNISTIter``, ``ImageRecordIter``...), or None."""
    import mxnet as _mx
    if not name.endswith("Iter"):
        return None
    return getattr(_mx.io, name, None)
