"""Decode ``h5maps`` data items into the numpy values h5py reads back.

A data item is raw JSON (coerced bool < int64 < float64 < str), or a typed
mapping: ``inline`` (explicit dtype), ``inline_b64`` (binary), ``compound``
(named columns).  The writer stores the decoded array; h5py then returns it
with its own conventions, which :func:`as_attribute` and :func:`as_dataset`
reproduce so that live values equal values read from the file.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import numpy as np

from blissdata_core.encoding.numeric import check_integer_range

from .errors import H5MapError

#: h5py's variable-length UTF-8 string type (object dtype tagged ``vlen=str``).
STRING_DTYPE = np.dtype("O", metadata={"vlen": str})

_INLINE_DTYPE = re.compile(
    r"^(bool|(int|uint)(8|16|32|64)|float(16|32|64|128)|complex(64|128|256))$"
)
_BINARY_DTYPE = re.compile(r"^(\|?[iub]1|[><]([iuf][248]|[fc](8|16)|c32))$")

DATA_ITEM_TYPES = ("inline", "inline_b64", "compound", "stream")


def is_stream_ref(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") == "stream"


def decode(item: Any, where: str) -> np.ndarray:
    """Numpy array the writer stores for ``item`` (``where`` names it in errors)."""
    if isinstance(item, dict):
        kind = item.get("type")
        if kind == "inline":
            return _decode_inline(item, where)
        if kind == "inline_b64":
            return _decode_b64(item, where)
        if kind == "compound":
            return _decode_compound(item, where)
        if kind == "stream":
            raise H5MapError(where, "a stream reference is not a static value")
        raise H5MapError(where, f"unknown data item type {kind!r}")
    return _decode_raw(item, where)


def _decode_raw(value: Any, where: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError as exc:  # ragged nesting
        raise H5MapError(where, f"not a regular array: {exc}") from None
    kind = array.dtype.kind
    if kind == "b":
        return array
    if kind == "i":
        return array.astype(np.int64)
    if kind == "u":  # only integers beyond int64 come out unsigned
        raise H5MapError(where, "integer out of int64 range")
    if kind == "f":
        if not np.isfinite(array).all():
            raise H5MapError(where, "non-finite numbers need an 'inline' item")
        return array.astype(np.float64)
    if kind == "U":
        return encode_strings(array)
    raise H5MapError(where, f"value of type {type(value).__name__} is not a valid raw item")


def encode_strings(array: np.ndarray) -> np.ndarray:
    """str array -> object array of UTF-8 bytes, as h5py reads vlen strings."""
    out = np.empty(array.shape, dtype=STRING_DTYPE)
    for index, text in np.ndenumerate(array):
        out[index] = str(text).encode()
    return out


def _decode_inline(item: dict, where: str) -> np.ndarray:
    dtype = item.get("dtype")
    if not isinstance(dtype, str) or not _INLINE_DTYPE.match(dtype):
        raise H5MapError(where, f"inline item with invalid dtype {dtype!r}")
    if "value" not in item or isinstance(item["value"], dict) or item["value"] is None:
        raise H5MapError(where, "inline item needs a non-null, non-mapping 'value'")
    try:
        check_integer_range(item["value"], dtype)
        return np.array(item["value"], dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise H5MapError(where, f"inline value does not fit {dtype}: {exc}") from None


def _decode_b64(item: dict, where: str) -> np.ndarray:
    dtype = item.get("dtype")
    if not isinstance(dtype, str) or not _BINARY_DTYPE.match(dtype):
        raise H5MapError(where, f"inline_b64 item with invalid dtype {dtype!r}")
    try:
        raw = base64.b64decode(item.get("value", ""), validate=True)
        array = np.frombuffer(raw, dtype=dtype)
        shape = item.get("shape")
        return array if shape is None else array.reshape(shape)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise H5MapError(where, f"bad inline_b64 value: {exc}") from None


def _decode_compound(item: dict, where: str) -> np.ndarray:
    columns = item.get("columns")
    if not isinstance(columns, list) or not columns:
        raise H5MapError(where, "compound item needs a non-empty 'columns' list")
    names, arrays = [], []
    for column in columns:
        if not (
            isinstance(column, list | tuple) and len(column) == 2 and isinstance(column[0], str)
        ):
            raise H5MapError(where, f"compound column must be [name, value], got {column!r}")
        name, value = column
        if is_stream_ref(value):
            raise H5MapError(where, f"compound column {name!r} cannot be a stream")
        names.append(name)
        arrays.append(decode(value, f"{where}[{name!r}]"))
    if len(set(names)) != len(names):
        raise H5MapError(where, "compound column names must be unique")
    if len({a.shape for a in arrays}) != 1:
        raise H5MapError(where, "compound columns have different shapes")
    # a plain structured dtype (not numpy.record) keeps h5py's np.void scalars
    out = np.empty(arrays[0].shape, dtype=[(n, a.dtype) for n, a in zip(names, arrays)])
    for name, array in zip(names, arrays):
        out[name] = array
    return out


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
