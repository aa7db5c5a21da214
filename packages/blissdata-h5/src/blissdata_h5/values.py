"""h5maps values as h5py reads them back (decoding itself is :mod:`blissdata_core.h5maps`).

The core decodes a data item to the array the writer stores; h5py then
returns it with its own conventions (strings of a dataset as UTF-8 bytes, of
an attribute as ``str``), which :func:`decode`, :func:`as_attribute` and
:func:`as_dataset` reproduce so that live values equal values read from the file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blissdata_core import h5maps
from blissdata_core.h5maps import STRING_DTYPE, VALUE_TYPES, is_stream_ref

__all__ = ["STRING_DTYPE", "as_attribute", "as_dataset", "decode", "is_stream_ref"]

DATA_ITEM_TYPES = VALUE_TYPES


def decode(item: Any, where: str) -> np.ndarray:
    """The array h5py holds for a static ``item`` (``where`` names it in errors)."""
    return _h5py_strings(h5maps.decode(item, where))


def _h5py_strings(array: np.ndarray) -> np.ndarray:
    """Strings as the UTF-8 bytes h5py reads from variable-length strings (compounds too)."""
    if array.dtype.fields is not None:
        if not any(_holds_strings(array.dtype[name]) for name in array.dtype.names):
            return array
        out = np.empty(array.shape, dtype=array.dtype)
        for name in array.dtype.names:
            out[name] = _h5py_strings(array[name])
        return out
    if array.dtype.kind != "O":
        return array
    out = np.empty(array.shape, dtype=STRING_DTYPE)
    for index, text in np.ndenumerate(array):
        out[index] = text.encode() if isinstance(text, str) else text
    return out


def _holds_strings(dtype: np.dtype) -> bool:
    if dtype.fields is not None:
        return any(_holds_strings(dtype[name]) for name in dtype.names)
    return dtype.kind == "O"


def as_attribute(array: np.ndarray) -> Any:
    """The value h5py's ``attrs[name]`` returns for an attribute holding ``array``."""
    if array.dtype.kind == "O" and array.dtype.fields is None:
        if array.shape == ():
            return array[()].decode()
        out = np.empty(array.shape, dtype=object)
        for index, raw in np.ndenumerate(array):
            out[index] = raw.decode()
        return out
    if array.shape == ():
        return array[()]
    return array


def as_dataset(array: np.ndarray) -> np.ndarray:
    """The array h5py reads back for a dataset written from ``array`` (writable copy)."""
    return np.array(array, dtype=array.dtype, copy=True)
