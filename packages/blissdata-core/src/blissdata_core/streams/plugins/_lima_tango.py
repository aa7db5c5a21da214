"""Frames held in the memory of a Lima detector server, read over Tango.

Needs pytango (``pip install 'blissdata-core[tango]'``); imported only when a
frame is asked from the server.  What is read, as the blissdata 2.x client
does:

- attributes ``acq_mode``, ``lima_version``, ``acq_trigger_mode``,
  ``last_image_ready`` (read from the device, not its cache);
- command ``readImage(index)`` (``-1``: the last frame), which answers a
  ``DevEncoded`` ``("DATA_ARRAY", bytes)``: a little-endian header (see
  :func:`decode_data_array`) followed by the raw frame.

Every failure is a :class:`~blissdata_core.errors.LimaServerError` saying
why (:class:`~blissdata_core.errors.NoImageAvailable` when the server has no
frame yet).
"""

from __future__ import annotations

import re
import struct
import time
from typing import Any, NamedTuple

import numpy as np

from ...errors import LimaServerError, NoImageAvailable

#: The optional extra that brings pytango.
TANGO_EXTRA = "tango"

#: ``DATA_ARRAY`` magic number, as the little-endian uint32 the header starts with.
DATA_ARRAY_MAGIC = int.from_bytes(b"DTAY", "big")
#: magic, header version, header size (bytes before the data).
_PREAMBLE = struct.Struct("<IHH")
#: category, data type, endianness, number of dimensions, 6 dimensions.
_COMMON = "<IIHHHHHHHH"
#: What follows the dimensions, by header version: strides, then frame number and tag.
_TAILS = {
    1: struct.Struct(_COMMON + "8I"),
    3: struct.Struct(_COMMON + "6IQ"),
    4: struct.Struct(_COMMON + "6IQQII"),
}
#: Lima image data types, by code.
DATA_TYPES = {
    0: np.dtype("u1"), 1: np.dtype("u2"), 2: np.dtype("u4"), 3: np.dtype("u8"),
    4: np.dtype("i1"), 5: np.dtype("i2"), 6: np.dtype("i4"), 7: np.dtype("i8"),
    8: np.dtype("f4"), 9: np.dtype("f8"),
}  # fmt: skip


class ImageData(NamedTuple):
    """A frame from the Lima server (what ``get_last_live_image()`` returns)."""

    #: The frame.
    array: np.ndarray
    #: Its number in the Lima acquisition (0: first), None when unknown.
    frame_id: int | None
    #: The tag the control system gave the acquisition, None when unknown.
    acq_tag: int | None


def decode_data_array(raw: Any) -> ImageData:
    """A ``readImage`` answer (``("DATA_ARRAY", bytes)`` or the bytes) as an :class:`ImageData`."""
    if isinstance(raw, tuple):
        kind, raw = raw
        if kind != "DATA_ARRAY":
            raise LimaServerError(f"Lima image of type {kind!r}, not 'DATA_ARRAY'")
    raw = bytes(raw) if not isinstance(raw, (bytes, bytearray, memoryview)) else raw
    if len(raw) < _PREAMBLE.size:
        raise LimaServerError(f"Lima image of {len(raw)} bytes: shorter than its header")
    magic, version, header_size = _PREAMBLE.unpack_from(raw)
    if magic != DATA_ARRAY_MAGIC:
        raise LimaServerError(f"Lima image with magic number {magic:#x}, not a DATA_ARRAY")
    if version < 1:
        raise LimaServerError(f"Lima image header version {version} is not supported")
    layout = _TAILS[4] if version >= 4 else _TAILS[3] if version == 3 else _TAILS[1]
    if len(raw) < _PREAMBLE.size + layout.size or header_size > len(raw):
        raise LimaServerError(f"Lima image of {len(raw)} bytes: truncated header")
    fields = layout.unpack_from(raw, _PREAMBLE.size)
    _, data_type, endianness, ndim, width, height = fields[:6]
    frame_id = int(fields[16]) if version >= 3 else None
    acq_tag = int(fields[17]) if version >= 4 else None
    dtype = DATA_TYPES.get(data_type)
    if dtype is None:
        raise LimaServerError(f"Lima image data type {data_type} is not supported")
    if endianness != 0:
        raise LimaServerError(f"Lima image endianness {endianness} is not supported")
    if ndim != 2:
        raise LimaServerError(f"Lima image of {ndim} dimensions, not 2")
    size = width * height * dtype.itemsize
    if len(raw) - header_size < size:
        raise LimaServerError(
            f"Lima image of {len(raw) - header_size} data bytes, not the {size} of a "
            f"{dtype.name} {height}x{width} frame"
        )
    array = np.frombuffer(raw, dtype=dtype, count=width * height, offset=header_size)
    return ImageData(array.reshape(height, width).copy(), frame_id, acq_tag)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(text))[:3])


def _reason(exc: BaseException) -> str:
    """What a Tango error says (``DevFailed`` carries its description in ``args``)."""
    for err in getattr(exc, "args", ()):
        desc = getattr(err, "desc", None)
        if desc:
            return str(desc).strip()
    return f"{type(exc).__name__}: {exc}"


class LimaServer:
    """The Lima Tango device at ``url``, connected on first use.

    A failed connection is not tried again for :attr:`retry_after` seconds
    (a read from the files should not wait for an unreachable host each time).
    """

    retry_after = 10.0

    def __init__(self, url: str):
        self.url = url
        self._proxy: Any = None
        self._failed: tuple[float, LimaServerError] | None = None
        self._trigger_mode: str | None = None
        self._reads_last: bool | None = None

    @property
    def proxy(self) -> Any:
        if self._proxy is None:
            if self._failed is not None and time.monotonic() - self._failed[0] < self.retry_after:
                raise self._failed[1]
            try:
                self._proxy = self._connect()
            except LimaServerError as exc:
                self._failed = (time.monotonic(), exc)
                raise
        return self._proxy

    def _connect(self) -> Any:
        try:
            import tango
        except ImportError:
            raise LimaServerError(
                f"Reading frames from the Lima server {self.url!r} needs pytango "
                f"(pip install 'blissdata-core[{TANGO_EXTRA}]')"
            ) from None
        try:
            proxy = tango.DeviceProxy(self.url)
            proxy.set_source(tango.DevSource.DEV)
        except Exception as exc:  # noqa: BLE001 - DevFailed and friends
            raise LimaServerError(
                f"Cannot reach the Lima server {self.url!r}: {_reason(exc)}"
            ) from exc
        return proxy

    def read_attribute(self, name: str) -> Any:
        try:
            return getattr(self.proxy, name)
        except LimaServerError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise LimaServerError(
                f"Cannot read {name!r} of the Lima server {self.url!r}: {_reason(exc)}"
            ) from exc

    @property
    def trigger_mode(self) -> str:
        """``acq_trigger_mode`` (read once: it does not change during a scan)."""
        if self._trigger_mode is None:
            self._trigger_mode = str(self.read_attribute("acq_trigger_mode"))
        return self._trigger_mode

    @property
    def reads_last(self) -> bool:
        """Whether ``readImage(-1)`` gives the last frame: always, except in
        accumulation mode before Lima 1.10."""
        if self._reads_last is None:
            accumulating = str(self.read_attribute("acq_mode")) == "ACCUMULATION"
            self._reads_last = not accumulating or _version(
                self.read_attribute("lima_version")
            ) >= (1, 10, 0)
        return self._reads_last

    def read_image(self, index: int) -> ImageData:
        """Frame ``index`` of the server's current acquisition (``-1``: its last one)."""
        proxy = self.proxy
        try:
            raw = proxy.readImage(index)
        except Exception as exc:  # noqa: BLE001
            reason = _reason(exc)
            if "not available yet" in reason:
                raise NoImageAvailable(
                    f"The Lima server {self.url!r} has no frame {index} yet: {reason}"
                ) from exc
            raise LimaServerError(
                f"The Lima server {self.url!r} did not give frame {index}: {reason}"
            ) from exc
        return decode_data_array(raw)

    def last_image(self) -> ImageData:
        if self.reads_last:
            return self.read_image(-1)
        return self.read_image(int(self.read_attribute("last_image_ready")))
