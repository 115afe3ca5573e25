"""MinPy 0.3's ``minpy.io``: MXNet's data iterators (``MNISTIter``, ``ImageRecordIter``,
``CSVIter``...) and MinPy's in-memory ``NDArrayIter``/``DataIter``."""
from __future__ import annotations

from .nn.io import DataBatch, DataIter, NDArrayIter, load_data_labels, save_data_labels  # noqa: F401


def __getattr__(name: str):
    from ._compat_io import mxnet_iterator
    it = mxnet_iterator(name)
    if it is None:
        raise AttributeError(f"module 'minpy.io' has no attribute {name!r}")
    return it
