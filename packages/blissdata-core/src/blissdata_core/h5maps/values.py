"""h5maps data items (PROTOCOL.md section 11.2) decoded to the numpy arrays a writer stores.

Raw JSON, ``inline``, ``inline_b64`` and ``compound`` decode to arrays;
``stream`` to a :class:`StreamRef`.  Strings are object arrays of ``str``
tagged as HDF5 variable-length UTF-8 (what ``h5py.string_dtype()`` is).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..encoding.numeric import check_integer_range
from ..errors import H5MapError

#: Variable-length UTF-8 strings (equal to ``h5py.string_dtype()``).
STRING_DTYPE = np.dtype("O", metadata={"vlen": str})

#: numpy dtype names accepted by ``{"type": "inline"}``: numbers and booleans.
INLINE_DTYPE = re.compile(
    r"^(bool|(int|uint)(8|16|32|64)|float(16|32|64|128)|complex(64|128|256))$"
)
#: array-interface type strings accepted for binary data (byte order included).
BINARY_DTYPE = re.compile(r"^(\|?[iub]1|[><]([iuf][248]|[fc](8|16)|c32))$")

VALUE_TYPES = ("inline", "inline_b64", "compound", "stream")

_INT64 = np.iinfo(np.int64)
_UINT64 = np.iinfo(np.uint64)


@dataclass(frozen=True)
class StreamRef:
    """A dataset whose data comes from the scan's stream ``stream``."""

    stream: str


@dataclass(frozen=True, eq=False)
class Value:
    """A data item: its raw JSON (compared to find changes) and what it decodes to."""

    raw: Any
    data: np.ndarray | StreamRef

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Value) and self.raw == other.raw

    __hash__ = None  # type: ignore[assignment]


def is_stream_ref(raw: Any) -> bool:
    return isinstance(raw, dict) and raw.get("type") == "stream"


def decode_value(raw: Any, where: str, allow_stream: bool = True) -> Value:
    """Parse one data item; ``allow_stream`` is False for attributes and compound columns."""
    return Value(raw, decode(raw, where, allow_stream))


def decode(raw: Any, where: str, allow_stream: bool = False) -> np.ndarray | StreamRef:
    if not isinstance(raw, dict):
        return _decode_raw(raw, where)
    kind = raw.get("type")
    if kind == "stream":
        if not allow_stream:
            raise H5MapError(where, "a stream reference is not a static value")
        name = raw.get("stream")
        if not isinstance(name, str) or not name:
            raise H5MapError(where, "stream reference without a stream name")
        return StreamRef(name)
    if kind == "inline":
        return _decode_inline(raw, where)
    if kind == "inline_b64":
        return _decode_b64(raw, where)
    if kind == "compound":
        return _decode_compound(raw, where)
    raise H5MapError(where, f"unknown item type {kind!r}")


# --- raw JSON -------------------------------------------------------------------

_RANK = {bool: 0, int: 1, float: 2, str: 3}


def _raw_shape(value: Any, where: str, kinds: set) -> tuple[int, ...]:
    """Shape of a rectangular nested list; collects the leaf types in ``kinds``."""
    if isinstance(value, list):
        shapes = {_raw_shape(v, where, kinds) for v in value}
        if len(shapes) > 1:
            raise H5MapError(where, "raw array is not rectangular")
        return (len(value), *(shapes.pop() if shapes else ()))
    if type(value) not in _RANK:
        what = "null" if value is None else type(value).__name__
        raise H5MapError(where, f"{what} is not a raw value (boolean, number or string)")
    kinds.add(type(value))
    return ()


def _decode_raw(raw: Any, where: str) -> np.ndarray:
    """bool < int64 (uint64 when every integer is >= 0 and one exceeds int64) < float64 < str."""
    kinds: set = set()
    _raw_shape(raw, where, kinds)
    kind = max(kinds, key=_RANK.__getitem__) if kinds else float
    if kind is str:
        return strings(np.asarray(raw))
    if kind is bool:
        return np.asarray(raw, dtype=bool)
    if kind is float:
        array = np.asarray(raw, dtype=np.float64)
        if not np.isfinite(array).all():
            raise H5MapError(where, "non-finite number in a raw value (use an inline item)")
        return array
    array = np.asarray(raw, dtype=object)
    low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
    if _INT64.min <= low and high <= _INT64.max:
        return array.astype(np.int64)
    if 0 <= low and high <= _UINT64.max:
        return array.astype(np.uint64)
    raise H5MapError(where, f"integers {low}..{high} fit neither int64 nor uint64")


def strings(array: np.ndarray) -> np.ndarray:
    """A str array as variable-length UTF-8 strings."""
    out = np.empty(array.shape, dtype=STRING_DTYPE)
    out[...] = array.astype(object)
    return out


# --- typed values -----------------------------------------------------------------


def _check_inline(value: Any, where: str) -> None:
    if isinstance(value, list):
        for v in value:
            _check_inline(v, where)
    elif type(value) not in _RANK:
        what = "null" if value is None else type(value).__name__
        raise H5MapError(where, f"inline value holds {what}, not a number, string or list")


def _decode_inline(raw: dict, where: str) -> np.ndarray:
    dtype = raw.get("dtype")
    if not isinstance(dtype, str) or not INLINE_DTYPE.match(dtype):
        raise H5MapError(where, f"inline dtype {dtype!r} is not a numeric numpy name")
    if "value" not in raw:
        raise H5MapError(where, "inline item without a value")
    _check_inline(raw["value"], where)
    try:
        check_integer_range(raw["value"], dtype)  # older numpy would wrap around silently
        return np.array(raw["value"], dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise H5MapError(where, f"inline value does not fit {dtype}: {exc}") from None


def check_binary_dtype(dtype: Any, where: str) -> str:
    if not isinstance(dtype, str) or not BINARY_DTYPE.match(dtype):
        raise H5MapError(where, f"dtype {dtype!r} is not an array-interface type string")
    return dtype


def _decode_b64(raw: dict, where: str) -> np.ndarray:
    dtype = check_binary_dtype(raw.get("dtype"), where)
    shape = raw.get("shape")
    try:
        data = base64.b64decode(raw.get("value", ""), validate=True)
        array = np.frombuffer(data, dtype=dtype)
        return array if shape is None else array.reshape(shape)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise H5MapError(where, f"bad inline_b64 value: {exc}") from None


def _decode_compound(raw: dict, where: str) -> np.ndarray:
    columns = raw.get("columns")
    if not isinstance(columns, list) or not columns:
        raise H5MapError(where, "compound needs a non-empty list of columns")
    names, arrays = [], []
    for column in columns:
        if not (isinstance(column, list) and len(column) == 2 and isinstance(column[0], str)):
            raise H5MapError(where, f"compound column must be [name, value], got {column!r}")
        names.append(column[0])
        arrays.append(decode(column[1], f"{where}[{column[0]!r}]"))
    if len(set(names)) != len(names):
        raise H5MapError(where, "compound column names repeat")
    if len({a.shape for a in arrays}) != 1:
        raise H5MapError(where, "compound columns differ in shape")
    # a plain structured dtype (not numpy.record): h5py reads back np.void scalars
    out = np.empty(arrays[0].shape, dtype=[(n, a.dtype) for n, a in zip(names, arrays)])
    for name, array in zip(names, arrays):
        out[name] = array
    return out
