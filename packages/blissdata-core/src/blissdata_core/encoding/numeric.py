"""The ``numeric`` encoding: C-order bytes of a numpy batch.

Fixed point shapes store the raw bytes of ``n`` points.  A point shape with a
free dimension (``-1``) stores a msgpack array ``[point_shape, bytes]`` per
entry, so every entry carries the actual shape of its points.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np

from ..errors import MalformedEntryError
from .base import Encoder, RawEntry
from .buffers import adjacent_block

_KINDS = "biufc"
_ENDIAN_NAMES = {"<": "little", ">": "big", "=": sys.byteorder, "|": "no"}
_STRUCT_CODES = {
    "b1": "?", "i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I",
    "i8": "q", "u8": "Q", "f2": "e", "f4": "f", "f8": "d",
}  # fmt: skip


def _normalise_shape(shape: Any) -> tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"Point shape must be a sequence of integers, not {shape!r}") from None
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < -1:
            raise ValueError(f"Point shape dimensions must be integers >= -1 (got {shape!r})")
    return tuple(int(d) for d in dims)


#: Largest rank of a point: a batch adds one axis, and numpy (1.x) stops at 32.
MAX_POINT_NDIM = 31
#: Largest size of one point (the fixed dimensions), far beyond any detector
#: but small enough that numpy can describe arrays of it.
MAX_POINT_BYTES = 2**48


def _check_size(shape: tuple[int, ...], itemsize: int) -> None:
    """Refuse shapes numpy cannot represent (an encoding read from Redis may be hostile)."""
    if len(shape) > MAX_POINT_NDIM:
        raise ValueError(f"A point has at most {MAX_POINT_NDIM} dimensions, not {len(shape)}")
    nbytes = itemsize
    for dim in shape:
        if dim > MAX_POINT_BYTES:
            raise ValueError(f"Point dimension {dim} is too large")
        if dim > 0:
            nbytes *= dim
    if nbytes > MAX_POINT_BYTES:
        raise ValueError(f"A point of shape {shape} would take {nbytes} bytes")


def check_integer_range(value: Any, dtype: Any) -> None:
    """Raise OverflowError when ``value`` (numbers, strings of numbers, nested
    lists) holds an integer ``dtype`` cannot represent.

    numpy >= 2 raises on such conversions, older numpy wraps around silently;
    callers that convert data with ``np.asarray(value, dtype)`` call this first
    so every numpy version refuses the same input.
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        return
    array = np.asarray(value)
    if not array.size:
        return
    if array.dtype.kind in "iu":
        low, high = int(array.min()), int(array.max())
    else:  # strings, floats, bools, huge ints: as numpy converts each element
        numbers = [int(element) for element in np.asarray(value, dtype=object).ravel()]
        low, high = min(numbers), max(numbers)
    limits = np.iinfo(dtype)
    if low < limits.min or high > limits.max:
        raise OverflowError(f"values {low}..{high} are out of range for {dtype}")


class NumericEncoder(Encoder):
    def __init__(self, dtype: Any, shape: Any = ()):
        try:
            self._dtype = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"Not a numpy dtype: {dtype!r}") from exc
        if self._dtype.kind not in _KINDS or self._dtype.fields is not None or self._dtype.subdtype:
            raise ValueError(
                f"Numeric streams take bool, int, uint, float or complex dtypes, not {self._dtype}"
            )
        self._shape = _normalise_shape(shape)
        _check_size(self._shape, self._dtype.itemsize)
        self._free = -1 in self._shape
        self._point_items = math.prod(self._shape) if not self._free else -1
        self._point_bytes = self._point_items * self._dtype.itemsize if not self._free else -1
        self.concatenable = not self._free
        # Scalar fast path: a Python number packed straight to bytes.
        self._scalar_struct: struct.Struct | None = None
        code = _STRUCT_CODES.get(f"{self._dtype.kind}{self._dtype.itemsize}")
        if not self._shape and code is not None:
            order = (
                "<"
                if self._dtype.byteorder in "<|"
                or (self._dtype.byteorder == "=" and sys.byteorder == "little")
                else ">"
            )
            self._scalar_struct = struct.Struct(order + code)

    # -- description -------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def point_nbytes(self) -> int:
        """Bytes per point, or -1 with a free dimension."""
        return self._point_bytes

    def info(self) -> dict[str, Any]:
        return {"type": "numeric", "dtype_str": self._dtype.str, "shape": list(self._shape)}

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> NumericEncoder:
        from ..errors import UnknownEncodingError

        dtype_str = info.get("dtype_str")
        shape = info.get("shape", [])
        if not isinstance(dtype_str, str) or not isinstance(shape, (list, tuple)):
            raise UnknownEncodingError(f"Malformed numeric encoding {info!r}")
        try:
            return cls(dtype_str, shape)
        except (TypeError, ValueError) as exc:
            raise UnknownEncodingError(f"Malformed numeric encoding {info!r}: {exc}") from exc

    # -- encoding --------------------------------------------------------------
    def encode(self, data: Any) -> tuple[bytes, int]:
        packer = self._scalar_struct
        if packer is not None:
            kind = self._dtype.kind
            tp = type(data)
            if (
                (tp is float and kind in "fc")
                or (tp is int and kind in "iuf")
                or (tp is bool and kind == "b")
            ):
                if kind == "c":
                    return np.asarray(data, self._dtype).tobytes(), 1
                try:
                    return packer.pack(data), 1
                except (struct.error, OverflowError):
                    raise ValueError(f"{data!r} does not fit in {self._dtype}") from None
        batch = self._as_batch(self._as_array(data))
        if self._free:
            payload = msgpack.packb(
                [list(batch.shape[1:]), memoryview(np.ascontiguousarray(batch)).cast("B")]
            )
            return payload, batch.shape[0]
        return batch.tobytes(), batch.shape[0]

    def _as_array(self, data: Any) -> np.ndarray:
        if isinstance(data, (np.ndarray, np.generic)):
            array = np.asarray(data)
            if array.dtype.str != self._dtype.str:
                self._raise_dtype_mismatch(array.dtype)
            return array
        try:
            natural = np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Cannot make a {self._dtype} array of the data: {exc}") from exc
        if natural.dtype.str == self._dtype.str:
            return natural
        if natural.dtype.kind not in _KINDS or not self._may_convert(natural.dtype):
            raise TypeError(
                f"Expected numpy.{self._dtype} data, received {natural.dtype} ({type(data).__name__})"
            )
        try:
            check_integer_range(natural, self._dtype)
        except OverflowError as exc:
            raise ValueError(f"Data does not fit in {self._dtype}: {exc}") from None
        try:
            with np.errstate(over="raise", invalid="raise"):
                return np.asarray(data, dtype=self._dtype)
        except (OverflowError, FloatingPointError, ValueError) as exc:
            raise ValueError(f"Data does not fit in {self._dtype}: {exc}") from exc

    def _may_convert(self, source: np.dtype) -> bool:
        """Python numbers convert when the kind allows it (int -> float, float -> float32...)."""
        target = self._dtype.kind
        if source.kind == "b":
            return target in _KINDS
        if source.kind in "iu":
            return target in "iufc"
        if source.kind == "f":
            return target in "fc"
        if source.kind == "c":
            return target == "c"
        return False

    def _raise_dtype_mismatch(self, actual: np.dtype) -> None:
        expected = self._dtype
        if (
            actual.newbyteorder("=") == expected.newbyteorder("=")
            and actual.byteorder != expected.byteorder
            and "|" not in (actual.byteorder, expected.byteorder)
        ):
            raise TypeError(
                f"Expected {_ENDIAN_NAMES[expected.byteorder]} endian, "
                f"received {_ENDIAN_NAMES[actual.byteorder]} endian (see numpy.dtype.byteorder)"
            )
        raise TypeError(f"Expected numpy.{expected} data, received numpy.{actual}")

    def _as_batch(self, array: np.ndarray) -> np.ndarray:
        if array.size == 0:
            raise ValueError("Cannot send empty data")
        rank = len(self._shape)
        if array.ndim == rank:
            batch = array.reshape((1,) + array.shape)
        elif array.ndim == rank + 1:
            batch = array
        else:
            raise ValueError(
                f"Expected a point of shape {self._shape} or a batch of shape {(-1,) + self._shape}, "
                f"received shape {array.shape}"
            )
        for expected, actual in zip(self._shape, batch.shape[1:]):
            if expected != -1 and expected != actual:
                raise ValueError(
                    f"Expected a point of shape {self._shape} or a batch of shape "
                    f"{(-1,) + self._shape}, received shape {array.shape}"
                )
        return batch

    # -- decoding --------------------------------------------------------------
    def empty(self) -> np.ndarray:
        shape = tuple(0 if d == -1 else d for d in self._shape)
        return np.empty((0,) + shape, dtype=self._dtype)

    def decode(self, entries: Sequence[RawEntry], stream: str | None = None) -> Any:
        if not entries:
            return self.empty()
        if self._free:
            return self._decode_free(entries, stream)
        point_bytes = self._point_bytes
        total = 0
        for entry in entries:
            if entry.length < 1 or len(entry.payload) != entry.length * point_bytes:
                raise MalformedEntryError(
                    f"Payload of {len(entry.payload)} bytes does not hold {entry.length} point(s) "
                    f"of {point_bytes} bytes ({self._dtype.str}, shape {self._shape})",
                    stream,
                    entry.index,
                )
            total += entry.length
        block = adjacent_block([entry.payload for entry in entries], self._dtype.alignment)
        if block is not None:  # read without copy: the points are already in place
            return block.view(self._dtype).reshape((total,) + self._shape)
        out = np.empty((total,) + self._shape, dtype=self._dtype)
        if len(entries) == 1:
            out.reshape(-1).view(np.uint8)[:] = np.frombuffer(entries[0].payload, np.uint8)
            return out
        flat = out.reshape(-1).view(np.uint8)
        pos = 0
        for entry in entries:
            size = len(entry.payload)
            flat[pos : pos + size] = np.frombuffer(entry.payload, np.uint8)
            pos += size
        return out

    def _decode_free(self, entries: Sequence[RawEntry], stream: str | None) -> Any:
        points: list[np.ndarray] = []
        itemsize = self._dtype.itemsize
        for entry in entries:
            try:
                # [shape, bytes] only: tiny container limits, so a hostile
                # payload cannot make millions of objects
                unpacked = msgpack.unpackb(
                    entry.payload,
                    raw=False,
                    strict_map_key=True,
                    max_array_len=MAX_POINT_NDIM + 1,
                    max_map_len=0,
                    max_str_len=0,
                    max_ext_len=0,
                )
            except Exception as exc:
                raise MalformedEntryError(
                    f"Payload is not valid msgpack: {exc}", stream, entry.index
                ) from None
            if (
                not isinstance(unpacked, (list, tuple))
                or len(unpacked) != 2
                or not isinstance(unpacked[0], (list, tuple))
                or not isinstance(unpacked[1], (bytes, bytearray))
            ):
                raise MalformedEntryError(
                    "Payload is not [point_shape, bytes]", stream, entry.index
                )
            shape, buffer = unpacked
            if len(shape) != len(self._shape) or any(
                isinstance(d, bool) or not isinstance(d, int) or d < 0 or (e != -1 and e != d)
                for d, e in zip(shape, self._shape)
            ):
                raise MalformedEntryError(
                    f"Point shape {shape} does not match the stream shape {self._shape}",
                    stream,
                    entry.index,
                )
            if entry.length < 1 or len(buffer) != entry.length * math.prod(shape) * itemsize:
                raise MalformedEntryError(
                    f"Payload of {len(buffer)} bytes does not hold {entry.length} point(s) of shape {tuple(shape)}",
                    stream,
                    entry.index,
                )
            try:
                block = np.frombuffer(buffer, dtype=self._dtype).reshape((entry.length, *shape))
            except ValueError as exc:  # e.g. a zero dimension next to a huge one
                raise MalformedEntryError(
                    f"Point shape {shape} cannot be decoded: {exc}", stream, entry.index
                ) from None
            block = block.copy()
            points.extend(block)
        shapes = {p.shape for p in points}
        if len(shapes) == 1:
            return np.stack(points)
        return points
