"""Points of :class:`~blissdata_core.streams.capabilities.FileRun` runs: reading them,
and how an HDF5 file can reference them without copying.

- :data:`~.capabilities.HDF5` runs are rows of a dataset: h5py reads them, and an
  HDF5 virtual dataset can map them.
- :data:`~.capabilities.EDF` runs are frames of an uncompressed EDF file: an ASCII
  header (``{ key = value ; ... }``) before each frame's raw binary data.  HDF5
  external storage can map them: :func:`external_storage` gives the
  ``(file, offset, size)`` of every point.
- Any other format a detector saves (compressed EDF ``edfgz``, ``cbf``,
  ``tiff``...) is read through fabio, an optional extra
  (``pip install 'blissdata-core[fabio]'``); HDF5 cannot reference it.
  Without fabio, plain EDF is still read by this module's own parser, and
  the other formats raise :class:`~blissdata_core.errors.ExternalDataError`
  naming the extra.

Every failure to reach file data is an ``ExternalDataError`` naming the file.
h5py is needed for HDF5 runs only (``pip install 'blissdata-core[hdf5]'``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, BinaryIO

import numpy as np

from ..errors import ExternalDataError
from .capabilities import EDF, HDF5, FileRun
from .plugins._hdf5 import open_dataset, open_file, read_rows

#: Opens an HDF5 file for reading as every reader of this project does (no
#: locking, unless this process already holds the file with locking).
open_hdf5_file = open_file


@dataclass(frozen=True)
class ExternalStorage:
    """Raw binary data of consecutive points: one ``(file, offset, size)`` segment per point.

    ``dtype`` is the data as stored (the files' byte order), ``shape`` one point's.
    """

    dtype: np.dtype
    shape: tuple[int, ...]
    segments: list[tuple[str, int, int]]


def read_points(
    runs: Sequence[FileRun], rows: range, dtype: Any, shape: Sequence[int], where: str
) -> np.ndarray:
    """Points ``rows`` (a range with a positive step, covered by ``runs``) as one array.

    ``shape`` is a point's shape as the stream declares it (``-1``: free, the
    files tell); ``where`` names the stream in error messages.
    """
    dtype = np.dtype(dtype)
    blocks = []
    for run in runs:
        wanted = _rows_in(run, rows)
        if not len(wanted):
            continue
        if run.file_format == HDF5:
            block = _read_hdf5(run, wanted)
        elif run.file_format in UNREADABLE_FORMATS:
            raise ExternalDataError(
                f"Points of {where} are saved as {run.file_format!r} files ({run.file_path}), "
                "a format no longer read (the detector should save another one)"
            )
        else:
            fabio = fabio_module()
            if fabio is not None:
                block = _read_fabio(fabio, run, wanted)
            elif run.file_format == EDF:
                block = _read_edf(run, wanted, dtype, shape)
            else:
                raise ExternalDataError(
                    f"Points of {where} are saved as {run.file_format!r} files "
                    f"({run.file_path}): reading them needs fabio "
                    f"(pip install 'blissdata-core[{FABIO_EXTRA}]'); without it this client "
                    "reads HDF5 and uncompressed EDF only"
                )
        blocks.append(np.asarray(block, dtype=dtype))
    found = sum(len(b) for b in blocks)
    if found != len(rows):
        raise ExternalDataError(f"Files of {where} hold {found} of the {len(rows)} points asked")
    if not blocks:
        return np.empty((0, *(max(int(n), 0) for n in shape)), dtype=dtype)
    try:
        return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    except ValueError as exc:  # free point shapes: only the files know
        raise ExternalDataError(f"Points of {where} differ in shape: {exc}") from None


#: The optional extra that brings fabio.
FABIO_EXTRA = "fabio"
#: Formats a detector may name that no reader here reads (the reference refuses them too).
UNREADABLE_FORMATS = frozenset({"edfconcat"})


def fabio_module() -> ModuleType | None:
    """fabio, when installed (the ``fabio`` extra); None otherwise."""
    try:
        import fabio
    except ImportError:
        return None
    return fabio


def _read_fabio(fabio: ModuleType, run: FileRun, items: range) -> np.ndarray:
    """Frames ``items`` of a file fabio reads (EDF, gzip'ed EDF, CBF, TIFF...)."""
    frames = []
    try:
        with fabio.open(run.file_path) as image:
            count = image.nframes
            if items[-1] >= count:
                raise ExternalDataError(
                    f"{run.file_format} file {run.file_path!r} holds {count} frame(s), "
                    f"not the {items[-1] + 1} expected"
                )
            for item in items:
                frame = image if count == 1 and item == 0 else image.get_frame(item)
                frames.append(np.asarray(frame.data))
    except ExternalDataError:
        raise
    except Exception as exc:  # noqa: BLE001 - fabio raises anything on a bad file
        raise ExternalDataError(
            f"Cannot read {run.file_format} file {run.file_path!r} with fabio: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return np.stack(frames)


def _rows_in(run: FileRun, rows: range) -> range:
    """The items of ``run``'s file holding the points of ``rows`` that the run covers."""
    low, high = max(run.start, rows.start), min(run.stop, rows.stop)
    if low > rows.start:
        low = rows.start + -(-(low - rows.start) // rows.step) * rows.step
    if low >= high:
        return range(0)
    offset = run.file_index - run.start
    return range(low + offset, high + offset, rows.step)


def _read_hdf5(run: FileRun, items: range) -> Any:
    where = f"{run.file_path}::{run.data_path}"
    with open_dataset(run.file_path, run.data_path or "") as dataset:
        block = read_rows(dataset, np.s_[items.start : items[-1] + 1 : items.step], where)
    if len(block) != len(items):
        raise ExternalDataError(
            f"{where} holds {len(block)} of the {len(items)} points expected from index {items.start}"
        )
    return block


def _read_edf(run: FileRun, items: range, dtype: np.dtype, shape: Sequence[int]) -> np.ndarray:
    span = FileRun(0, items[-1] + 1 - items.start, run.file_path, EDF, None, items.start)
    storage = external_storage([span], dtype, shape)
    chosen = storage.segments[:: items.step]
    out = np.empty((len(chosen), *storage.shape), dtype=storage.dtype)
    try:
        with open(run.file_path, "rb") as handle:
            for index, (_, offset, size) in enumerate(chosen):
                handle.seek(offset)
                raw = handle.read(size)
                if len(raw) != size:
                    raise ExternalDataError(
                        f"EDF file {run.file_path!r} ends inside frame {items.start + index * items.step}"
                    )
                out[index] = np.frombuffer(raw, dtype=storage.dtype).reshape(storage.shape)
    except OSError as exc:
        raise ExternalDataError(f"Cannot read EDF file {run.file_path!r}: {exc}") from exc
    return out


# -- EDF ------------------------------------------------------------------------------------

#: EDF ``DataType`` names (the format's own vocabulary) and what they hold.
EDF_DATA_TYPES = {
    name.lower(): np.dtype(kind)
    for kind, names in {
        "i1": ("SignedByte", "Signed8"),
        "u1": ("UnsignedByte", "Unsigned8"),
        "i2": ("SignedShort", "Signed16"),
        "u2": ("UnsignedShort", "Unsigned16", "UnsignedShortInteger"),
        "i4": ("SignedInteger", "Signed32", "SignedLong"),
        "u4": ("UnsignedInteger", "Unsigned32", "UnsignedLong"),
        "i8": ("Signed64",),
        "u8": ("Unsigned64",),
        "f4": ("FloatValue", "Float", "FloatIEEE32", "Float32"),
        "f8": ("DoubleValue", "Double", "FloatIEEE64", "DoubleIEEE64"),
    }.items()
    for name in names
}
_BYTE_ORDERS = {"lowbytefirst": "<", "highbytefirst": ">"}
_NO_COMPRESSION = {"", "none", "nocompression"}
#: A header longer than this is not an EDF header.
_MAX_HEADER = 1 << 20


@dataclass(frozen=True)
class EdfFrame:
    """One frame of an EDF file: where its raw data starts, its size, type and shape."""

    offset: int
    size: int
    dtype: np.dtype
    shape: tuple[int, ...]


def external_storage(runs: Sequence[FileRun], dtype: Any, shape: Sequence[int]) -> ExternalStorage:
    """Where the raw data of every point of ``runs`` is, for HDF5 external storage.

    Only uncompressed EDF frames qualify, all of one type and shape, matching
    the stream's ``dtype`` and ``shape`` (``-1``: any length); anything else
    raises :class:`~blissdata_core.errors.ExternalDataError` saying why.
    Reads the frame headers: the files must be there.
    """
    dtype = np.dtype(dtype)
    first: EdfFrame | None = None
    segments: list[tuple[str, int, int]] = []
    for run in runs:
        if run.file_format != EDF:
            raise ExternalDataError(
                f"Points saved as {run.file_format!r} files ({run.file_path}) cannot be "
                "referenced as raw binary data (only uncompressed EDF frames can)"
            )
        frames = edf_frames(run.file_path, run.file_index + run.count)
        if len(frames) < run.file_index + run.count:
            raise ExternalDataError(
                f"EDF file {run.file_path!r} holds {len(frames)} frame(s), "
                f"not the {run.file_index + run.count} expected"
            )
        for frame in frames[run.file_index : run.file_index + run.count]:
            if first is None:
                _check_frame(frame, dtype, shape, run.file_path)
                first = frame
            elif (frame.dtype, frame.shape) != (first.dtype, first.shape):
                raise ExternalDataError(
                    f"EDF frames differ: {run.file_path!r} has a {frame.dtype} frame of shape "
                    f"{frame.shape} after {first.dtype} frames of shape {first.shape}"
                )
            segments.append((run.file_path, frame.offset, frame.size))
    if first is None:
        point = tuple(max(int(n), 0) for n in shape)
        return ExternalStorage(dtype, point, [])
    return ExternalStorage(first.dtype, first.shape, segments)


def _check_frame(frame: EdfFrame, dtype: np.dtype, shape: Sequence[int], path: str) -> None:
    if frame.dtype.newbyteorder("=") != dtype.newbyteorder("="):
        raise ExternalDataError(
            f"EDF file {path!r} holds {frame.dtype.name} frames, the stream declares {dtype.name}"
        )
    declared = tuple(int(n) for n in shape)
    if len(declared) != len(frame.shape) or any(
        n >= 0 and n != m for n, m in zip(declared, frame.shape)
    ):
        raise ExternalDataError(
            f"EDF file {path!r} holds frames of shape {frame.shape}, the stream declares {declared}"
        )


def edf_frames(path: str, stop: int | None = None) -> list[EdfFrame]:
    """The frames of an uncompressed EDF file, reading headers up to frame ``stop``."""
    frames: list[EdfFrame] = []
    try:
        with open(path, "rb") as handle:
            position = 0
            while stop is None or len(frames) < stop:
                header = _read_header(handle, position, path)
                if header is None:
                    break
                text, data_offset = header
                frame = _parse_header(text, data_offset, path, len(frames))
                frames.append(frame)
                position = frame.offset + frame.size
    except OSError as exc:
        raise ExternalDataError(f"Cannot read EDF file {path!r}: {exc}") from exc
    return frames


def _read_header(handle: BinaryIO, position: int, path: str) -> tuple[str, int] | None:
    """The header text at ``position`` and where its data starts; None at the end of the file."""
    handle.seek(position)
    buffer = b""
    while True:
        block = handle.read(512)
        if not block:
            if not buffer.strip():
                return None
            raise ExternalDataError(f"EDF file {path!r} ends inside a header")
        buffer += block
        start = len(buffer) - len(buffer.lstrip())
        if buffer.strip() and buffer[start : start + 1] != b"{":
            raise ExternalDataError(
                f"{path!r} is not an uncompressed EDF file (no header at byte {position})"
            )
        end = buffer.find(b"}", start)
        if end >= 0:
            break
        if len(buffer) > _MAX_HEADER:
            raise ExternalDataError(f"{path!r}: no end of the EDF header at byte {position}")
    data = end + 1
    if buffer[data : data + 2] == b"\r\n":
        data += 2
    elif buffer[data : data + 1] == b"\n":
        data += 1
    return buffer[start + 1 : end].decode("latin-1"), position + data


def _parse_header(text: str, offset: int, path: str, number: int) -> EdfFrame:
    keys = {}
    for entry in text.split(";"):
        key, sep, value = entry.partition("=")
        if sep:
            keys[key.strip().lower()] = value.strip()
    where = f"EDF file {path!r}, frame {number}"
    compression = keys.get("compression", "").lower()
    if compression not in _NO_COMPRESSION:
        raise ExternalDataError(
            f"{where} is compressed ({keys['compression']}): fabio reads it "
            f"(pip install 'blissdata-core[{FABIO_EXTRA}]'), raw-data references cannot"
        )
    kind = EDF_DATA_TYPES.get(keys.get("datatype", "").lower())
    if kind is None:
        raise ExternalDataError(f"{where}: unknown DataType {keys.get('datatype')!r}")
    order = _BYTE_ORDERS.get(keys.get("byteorder", "lowbytefirst").lower())
    if order is None:
        raise ExternalDataError(f"{where}: unknown ByteOrder {keys.get('byteorder')!r}")
    dims = []
    while f"dim_{len(dims) + 1}" in keys:
        dims.append(_int(keys[f"dim_{len(dims) + 1}"], where))
    if not dims:
        raise ExternalDataError(f"{where}: no Dim_1")
    shape = tuple(reversed(dims))  # Dim_1 varies fastest
    dtype = kind.newbyteorder(order)
    size = keys.get("size", keys.get("edf_binarysize"))
    expected = math.prod(shape) * dtype.itemsize
    if size is None or _int(size, where) != expected:
        raise ExternalDataError(
            f"{where}: Size {size} is not the {expected} bytes of a {dtype.name} frame "
            f"of shape {shape} (compressed?)"
        )
    return EdfFrame(offset, expected, dtype, shape)


def _int(value: str, where: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ExternalDataError(f"{where}: {value!r} is not an integer") from None
    if number < 0:
        raise ExternalDataError(f"{where}: {value!r} is negative")
    return number
