"""Datasets made from streams: numeric data appended as it arrives, points kept in
files (detector frames) referenced where they are.

Each writer counts the points it has put in the file, so that re-reading a
stream from its start (after a lost connection) never writes a point twice.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from h5py._objects import phil as _H5PY_LOCK  # private, but the one lock all of h5py takes

from blissdata_core.errors import ExternalDataError
from blissdata_core.streams.capabilities import HDF5, FileBacked, FileRun, LinkedDataset
from blissdata_core.streams.file_formats import ExternalStorage, external_storage

#: Aim for chunks of about this many bytes.
TARGET_CHUNK_BYTES = 1 << 20
#: Chunks hold at most this many points: small points (counters) make small
#: chunks, as a chunk takes its whole size on disk even when partly filled.
MAX_CHUNK_POINTS = 4096


def chunk_shape(
    point_shape: tuple[int, ...], itemsize: int, expected: int | None = None
) -> tuple[int, ...]:
    """About 1 MiB per chunk: whole points along axis 0, or a split point when it is bigger.

    ``expected`` (points announced by the scan) caps the chunk length.
    """
    dims = [max(1, n) for n in point_shape]
    nbytes = itemsize * math.prod(dims)
    # halve the largest dimensions until one point fits in a chunk
    while nbytes > TARGET_CHUNK_BYTES:
        largest = max(range(len(dims)), key=dims.__getitem__)
        dims[largest] = (dims[largest] + 1) // 2
        nbytes = itemsize * math.prod(dims)
    length = min(MAX_CHUNK_POINTS, TARGET_CHUNK_BYTES // nbytes, expected or MAX_CHUNK_POINTS)
    return (max(1, length),) + tuple(dims)


class ArrayDatasetWriter:
    """A numeric stream into a chunked dataset, resizable along axis 0 (and free dimensions)."""

    def __init__(self, path: str, dtype: Any, shape: tuple[int, ...], expected: int | None = None):
        self.path = path
        self.expected = expected  # points announced by the scan: a chunk size hint only
        self.dtype = np.dtype(dtype)
        self.declared = tuple(shape)
        self.free = tuple(n == -1 for n in shape)
        self.written = 0
        self.created = False
        self._point_shape = tuple(0 if n == -1 else n for n in shape)
        self._fill = np.nan if self.dtype.kind in "fc" else 0
        self._file: h5py.File | None = None
        self._dset: h5py.Dataset | None = None
        self._direct_chunk_length = 0  # points per chunk when whole chunks may be written directly
        self._dset_point_shape: tuple[int, ...] = ()

    def chunks(self, point_shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
        return chunk_shape(point_shape or self._point_shape, self.dtype.itemsize, self.expected)

    @property
    def chunk_nbytes(self) -> int:
        """Bytes of one chunk: what a write may allocate on disk beyond its data."""
        return math.prod(self.chunks()) * self.dtype.itemsize

    def add(self, file: h5py.File, index: int, data: Any) -> int:
        """Write points ``index, index+1, ...``; those already written are skipped. Returns how many were new."""
        points = self._as_points(data)
        skip = self.written - index
        if skip < 0:
            raise RuntimeError(
                f"{self.path}: gap in stream data (have {self.written}, got index {index})"
            )
        points = points[skip:]
        if not len(points):
            return 0
        dset = self._dataset(file, points)
        start, stop = self.written, self.written + len(points)
        if any(self.free):
            shape = tuple(max(a, b) for a, b in zip(dset.shape[1:], points.shape[1:]))
            if shape != dset.shape[1:]:
                self._point_shape = shape
            dset.resize((stop,) + shape)
            region = (slice(start, stop),) + tuple(slice(0, n) for n in points.shape[1:])
            dset[region] = points
            cached = True
        else:
            # the low-level call: h5py's resize() re-reads the shape, and this runs per read
            dset.id.set_extent((stop,) + self._dset_point_shape)
            first, last = self._whole_chunks(start, stop, points)
            if first < last:
                self._write_chunks(dset, first, points[first - start : last - start])
            spans = [(a, b) for a, b in ((start, first), (last, stop)) if a < b]
            for a, b in spans:
                dset[a:b] = points[a - start : b - start]
            cached = bool(spans)
        if cached:
            # out of HDF5's chunk cache at once: the free-space guard must see
            # what is written, and a crash must not lose what was counted
            dset.flush()
        self.written = stop
        return len(points)

    def _as_points(self, data: Any) -> np.ndarray:
        """A batch as one array; points of different shapes (free dimensions) padded with the fill value."""
        if isinstance(data, np.ndarray):
            return data.astype(self.dtype, copy=False)
        arrays = [np.asarray(p, dtype=self.dtype) for p in data]
        if not arrays:
            return np.empty((0,) + self._point_shape, dtype=self.dtype)
        shape = (
            tuple(max(dims) for dims in zip(*(a.shape for a in arrays))) if arrays[0].ndim else ()
        )
        out = np.full((len(arrays),) + shape, self._fill, dtype=self.dtype)
        for i, a in enumerate(arrays):
            out[(i,) + tuple(slice(0, n) for n in a.shape)] = a
        return out

    def _whole_chunks(self, start: int, stop: int, points: np.ndarray) -> tuple[int, int]:
        """The span ``[first, last)`` of points ``start..stop`` that fills whole chunks (empty if none).

        Whole chunks of a dataset without filters go to the file as they are,
        past HDF5's chunk cache and type conversion: one copy instead of two.
        """
        step = self._direct_chunk_length
        if not step or points.shape[1:] != self._dset_point_shape:
            return stop, stop
        first, last = -(-start // step) * step, stop // step * step
        return (first, last) if first < last else (stop, stop)

    def _write_chunks(self, dset: h5py.Dataset, first: int, points: np.ndarray) -> None:
        step = self._direct_chunk_length
        origin = (0,) * (points.ndim - 1)
        write = dset.id.write_direct_chunk
        # h5py's global lock, which write_direct_chunk takes itself only from
        # h5py 3.16 on: without it, two writer threads crash HDF5
        with _H5PY_LOCK:
            for offset in range(0, len(points), step):
                chunk = np.ascontiguousarray(points[offset : offset + step])
                write((first + offset,) + origin, chunk)

    def _dataset(self, file: h5py.File, points: np.ndarray) -> h5py.Dataset:
        # kept open between writes: opening costs, and closing flushes the chunk cache
        if self._dset is not None and self._file is file and self._dset.id.valid:
            return self._dset
        if self.created:
            return self._opened(file, file[self.path])
        point_shape = points.shape[1:]
        kwargs = {}
        if any(self.free):
            kwargs["fillvalue"] = self._fill
        dset = file.create_dataset(
            self.path,
            shape=(0,) + point_shape,
            maxshape=(None,) + tuple(None if f else n for f, n in zip(self.free, point_shape)),
            dtype=self.dtype,
            chunks=self.chunks(point_shape),
            **kwargs,
        )
        self.created = True
        return self._opened(file, dset)

    def _opened(self, file: h5py.File, dset: h5py.Dataset) -> h5py.Dataset:
        self._file, self._dset = file, dset
        self._dset_point_shape = tuple(dset.shape[1:])
        chunks = dset.chunks or (0,)
        direct = (
            not any(self.free)
            and dset.dtype == self.dtype
            and dset.shape[1:] == tuple(chunks[1:])
            and dset.id.get_create_plist().get_nfilters() == 0
        )
        self._direct_chunk_length = chunks[0] if direct else 0
        return dset

    def close(self, file: h5py.File) -> None:
        """Nothing pending: data goes to the file as it comes (closing the dataset flushes its chunk cache)."""
        if self._dset is not None and self._dset.id.valid:
            self._dset.id.close()
        self._file = self._dset = None


class FileBackedDatasetWriter:
    """Points a stream keeps in files (:class:`FileBacked`), referenced when the stream ends.

    The stream's runs say where the points are; they become a virtual dataset
    when every run is in an HDF5 file, or a dataset with HDF5 external storage
    over the raw data when they are uncompressed EDF frames.  Anything else
    cannot be referenced, and the writer copies nothing behind the stream's
    back: :meth:`locate` raises :class:`ExternalDataError` saying why.
    Virtual sources under the target file's directory are referenced by a
    relative path (HDF5 looks them up beside the file); external storage by
    the path the stream gives (HDF5 resolves relative ones from the reader's
    working directory).  A stream whose points are the rows of one dataset
    (:class:`LinkedDataset`, a Lima 2 master file) becomes an external link
    to it instead, as blisswriter writes it: a link, not a dataset, so it
    gets no attributes.
    """

    def __init__(
        self,
        path: str,
        target_file: str,
        stream: FileBacked,
        dtype: np.dtype | str,
        shape: tuple[int, ...],
    ):
        stream.file_runs(0, 0)  # ExternalDataError when the points are not saved in files
        self.path = path
        self.dtype = np.dtype(dtype)
        self.point_shape = tuple(shape)
        self.written = 0  # points known (the dataset itself is made at close)
        self.created = False
        self._stream = stream
        self._dir = os.path.dirname(target_file)
        self._virtual: list[FileRun] | None = None
        self._external: ExternalStorage | None = None
        self._link: tuple[str, str] | None = None

    def add(self, file: h5py.File, index: int, count: int) -> int:
        new = max(0, index + count - self.written)
        self.written += new
        return new

    def locate(self) -> None:
        """Ask where the points are (Redis, and the headers of raw files): before :meth:`close`,
        outside the file lock.  ExternalDataError when they cannot be referenced."""
        linked = self._stream.linked_dataset() if isinstance(self._stream, LinkedDataset) else None
        if linked is not None:
            self._link = linked
            return
        runs = self._stream.file_runs(0, self.written)
        if all(run.file_format == HDF5 for run in runs):
            if any(n < 0 for n in self.point_shape):
                raise ExternalDataError(
                    f"points of free shape {self.point_shape} cannot make a virtual dataset"
                )
            self._virtual = runs
        else:
            self._external = external_storage(runs, self.dtype, self.point_shape)

    def _relative(self, fpath: str) -> str:
        try:
            return str(Path(fpath).relative_to(self._dir))
        except ValueError:
            return fpath

    def close(self, file: h5py.File) -> None:
        if not self.written:
            return
        if self._virtual is None and self._external is None and self._link is None:
            raise RuntimeError(f"{self.path}: close() before locate()")
        if self.path in file:
            del file[self.path]
        if self._link is not None:
            file[self.path] = h5py.ExternalLink(self._relative(self._link[0]), self._link[1])
            return  # created stays False: a link takes no attributes
        if self._virtual is not None:
            self._close_virtual(file, self._virtual)
        elif self._external is not None:
            storage = self._external
            file.create_dataset(
                self.path,
                shape=(len(storage.segments),) + storage.shape,
                dtype=storage.dtype,
                external=storage.segments,
            )
        self.created = True

    def _close_virtual(self, file: h5py.File, runs: list[FileRun]) -> None:
        layout = h5py.VirtualLayout(
            shape=(self.written,) + self.point_shape,
            maxshape=(None,) + self.point_shape,
            dtype=self.dtype,
        )
        for run in runs:
            source = h5py.VirtualSource(
                self._relative(run.file_path),
                run.data_path,
                shape=(run.file_index + run.count,) + self.point_shape,
                dtype=self.dtype,
            )
            first, count, in_file = run.start, run.count, run.file_index
            layout[first : first + count] = source[in_file:] if in_file else source
        file.create_virtual_dataset(self.path, layout)
