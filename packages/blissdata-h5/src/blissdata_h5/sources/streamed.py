"""A dataset whose rows are the points of a scan stream.

``shape[0]`` is the number of points published so far.  Once the stream is
sealed the dataset is final; a stream sealed without any point is *hidden*,
because the writer creates no dataset for it.  Points of variable shape (a
``-1`` dimension) are padded to the largest point seen, with NaN for floats
and 0 otherwise, as the writer pads them in the file.

A :class:`~blissdata_core.streams.capabilities.FileBacked` stream (detector
frames saved in files) gives a :class:`FileBackedDataset`: its rows are read
from the files its runs name, as the writer's virtual dataset (HDF5 runs) or
external storage (uncompressed EDF frames) reads them.

A stream that cannot be read (its plugin is missing or broken) gives an
:class:`UnreadableStreamDataset`: listed, opened and iterated over like any
dataset (name, attributes), it raises an error naming the plugin as soon as
its shape, dtype or data is asked for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from blissdata_core import BaseStream
from blissdata_core.errors import (
    BrokenPluginException,
    ExternalDataError,
    MissingPluginException,
)
from blissdata_core.streams.capabilities import FileBacked
from blissdata_core.streams.file_formats import read_points
from blissdata_core.streams.stream import BrokenStream

from ..errors import H5MapError, MissingPluginError
from ..nodes import DatasetNode

_POLL_PERIOD = 0.02


class UnreadableStreamDataset(DatasetNode):
    """Stands in for a dataset whose stream cannot be read; data access raises why."""

    def __init__(self, stream: BrokenStream, attrs: Mapping[str, Any], path: str):
        self._attrs = attrs
        self.path = path
        cause = stream.exception
        if isinstance(cause, MissingPluginException):
            self._error: Exception = MissingPluginError(path, stream.name, cause.plugin_name)
        else:
            self._error = BrokenPluginException(f"{path}: {cause}")
        self._error.__cause__ = cause

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    def _fail(self, *args: Any) -> Any:
        raise self._error

    dtype = property(_fail)  # type: ignore[assignment]
    shape = property(_fail)  # type: ignore[assignment]
    live = property(_fail)  # type: ignore[assignment]
    read_all = _fail
    read_rows = _fail
    wait = _fail


class StreamDataset(DatasetNode):
    def __init__(self, stream: BaseStream, attrs: Mapping[str, Any], path: str):
        kind = stream.kind
        if kind != "array":
            what = "JSON events" if kind == "json" else f"{kind} items"
            raise H5MapError(path, f"stream {stream.name!r} holds {what}, not array data")
        self._stream = stream
        self._attrs = attrs
        self.path = path
        self._point_shape = tuple(int(n) for n in stream.shape)
        self._ragged = any(n < 0 for n in self._point_shape)
        self._ragged_cache: tuple[int, np.ndarray] | None = None

    @property
    def stream(self) -> BaseStream:
        return self._stream

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._stream.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        if self._ragged:
            return self._padded().shape
        return (len(self._stream),) + self._point_shape

    @property
    def hidden(self) -> bool:
        return self._stream.is_sealed() and len(self._stream) == 0

    @property
    def live(self) -> bool:
        return not self._stream.is_sealed()

    def wait(self, length: float, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            sealed = self._stream.is_sealed()
            if len(self._stream) >= length:
                return True
            if sealed:
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_PERIOD)

    def read_all(self) -> np.ndarray:
        return self.read_rows(0, self.shape[0], 1)

    def read_rows(self, start: int, stop: int, step: int) -> np.ndarray:
        if self._ragged:
            return self._padded()[start:stop:step]
        if stop <= start:
            return np.empty((0,) + self._point_shape, dtype=self.dtype)
        data = self._points(start, stop, step)
        return np.asarray(data, dtype=self.dtype).reshape((-1,) + self._point_shape)

    def _points(self, start: int, stop: int, step: int) -> Any:
        return self._stream[start:stop:step]

    def _padded(self) -> np.ndarray:
        length = len(self._stream)
        if self._ragged_cache is not None and self._ragged_cache[0] == length:
            return self._ragged_cache[1]
        points = (
            [np.asarray(p, dtype=self.dtype) for p in self._points(0, length, 1)] if length else []
        )
        ndim = len(self._point_shape)
        shape = tuple(
            max([fixed if fixed >= 0 else 0] + [p.shape[axis] for p in points])
            for axis, fixed in enumerate(self._point_shape)
        )
        fill = math.nan if self.dtype.kind in "fc" else 0
        out = np.full((length,) + shape, fill, dtype=self.dtype)
        for index, point in enumerate(points):
            point = point.reshape(point.shape[:ndim])
            out[(index,) + tuple(slice(0, n) for n in point.shape)] = point
        self._ragged_cache = (length, out)
        return out


class FileBackedDataset(StreamDataset):
    """A stream whose points live in files: rows are read where its runs say.

    A read waits until the rows sit in finished files (the producer may still
    be writing one), as long as the stream may still save them.
    """

    def __init__(self, stream: BaseStream, attrs: Mapping[str, Any], path: str):
        if not isinstance(stream, FileBacked):
            raise TypeError(f"{path}: stream {stream.name!r} does not keep its points in files")
        super().__init__(stream, attrs, path)
        self._files: FileBacked = stream

    def _points(self, start: int, stop: int, step: int) -> np.ndarray:
        if not self._files.wait_saved(stop):
            # not in files: the stream may still have them elsewhere (a Lima
            # detector's memory), else it says why not
            try:
                return np.asarray(self._stream[start:stop:step], dtype=self.dtype)
            except ExternalDataError as exc:
                raise ExternalDataError(
                    f"{self.path}: stream {self._stream.name!r} did not save its points "
                    f"up to {stop - 1} in files ({exc})"
                ) from exc
        runs = self._files.file_runs(start, stop)
        return read_points(
            runs, range(start, stop, step), self.dtype, self._point_shape, repr(self.path)
        )
