"""MinPy 0.3's ``minpy.array_variants``: the names of the two array back ends.

MinPy 0.3 kept each array as NumPy or MXNet data and named the kinds here.
MinPy arrays always live in MXNet; the NumPy kind is what a policy's NumPy
path and NumPy-based custom operators (``customop('numpy')``) compute with.
"""
from __future__ import annotations

import mxnet as _mx
import numpy as _onp


class ArrayType:
    """The kinds of data a MinPy 0.3 array could hold."""
    NUMPY = 0
    MXNET = 1


variants = {"numpy": ArrayType.NUMPY, "mxnet": ArrayType.MXNET}
variants_repr = {ArrayType.NUMPY: "NumPy", ArrayType.MXNET: "MXNet"}
array_types = {"numpy": _onp.ndarray, "mxnet": _mx.nd.NDArray}
number_types = {"native": [int, float], "numpy": [_onp.float16, _onp.float32, _onp.float64,
                                                  _onp.int8, _onp.int16, _onp.int32, _onp.int64],
                "mxnet": []}
