"""The ``hdf5_fallback`` plugin: a numeric stream whose old points live on in a file.

Redis keeps recent points only; a producer that also saves the stream into an
HDF5 dataset declares it with ``info["file_path"]`` and ``info["data_path"]``.
Points trimmed from Redis are then read from that dataset, by random access as
well as by cursors, so readers see one continuous stream.

Streams of older producers carry no ``plugin`` and no ``file_path``: when the
scan says ``info["save"]`` and the stream has a ``data_path``, the file is the
scan's ``path`` (see :func:`open_stream`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ExternalDataError, IndexNoMoreThereError
from ..cursor import BaseView, EventRange, View
from ..definition import StreamDefinition, make_definition
from ..event_stream import EventStream
from ..stream import Stream
from ._hdf5 import open_dataset, read_rows

if TYPE_CHECKING:
    from ...scan import Scan

PLUGIN_NAME = "hdf5_fallback"


class Hdf5FallbackView(View):
    """Points read by a cursor: the first ``nb_expired`` come from the file."""

    def __init__(self, events: EventRange, read_file: Callable[[slice], np.ndarray]):
        super().__init__(events)
        self._read_file = read_file

    def get_data(self, start: int | None = None, stop: int | None = None) -> Any:
        wanted = range(len(self))[start:stop]
        expired = self._events.nb_expired
        from_file = range(wanted.start, min(wanted.stop, expired))
        from_redis = range(max(wanted.start, expired), wanted.stop)
        parts = []
        if len(from_file):
            first = self.index + from_file.start
            parts.append(self._read_file(slice(first, first + len(from_file))))
        if len(from_redis):
            parts.append(self._events.data[from_redis.start - expired : from_redis.stop - expired])
        if not parts:
            return self._events.data[0:0]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts)

    def __repr__(self) -> str:
        return (
            f"Hdf5FallbackView(index={self.index}, len={len(self)}, "
            f"from_file={self._events.nb_expired})"
        )


class Hdf5FallbackStream(Stream):
    """A numeric stream that reads its trimmed points from an HDF5 dataset."""

    def __init__(self, event_stream: EventStream, file_path: str | None = None):
        super().__init__(event_stream)
        info = self.info
        if file_path is None:
            file_path = info.get("file_path")
        data_path = info.get("data_path")
        if not isinstance(file_path, str) or not file_path:
            raise ValueError(f"Stream {self.name!r} names no HDF5 file (info['file_path'])")
        if not isinstance(data_path, str) or not data_path:
            raise ValueError(f"Stream {self.name!r} names no HDF5 dataset (info['data_path'])")
        if event_stream.encoding.get("type") != "numeric":
            raise ValueError(
                f"Stream {self.name!r}: the hdf5_fallback plugin needs a numeric encoding, "
                f"not {event_stream.encoding.get('type')!r}"
            )
        self._file_path = file_path
        self._data_path = data_path

    @staticmethod
    def make_definition(  # type: ignore[override]
        name: str,
        file_path: str,
        data_path: str,
        dtype: Any,
        shape: Any = None,
        info: dict[str, Any] | None = None,
    ) -> StreamDefinition:
        """Definition of a numeric stream saved at ``file_path::data_path``.

        The argument order is the blissdata 2.x client's, so producer code ports
        unchanged.
        """
        if not isinstance(file_path, str) or not file_path:
            raise ValueError(f"file_path must be a non-empty string, not {file_path!r}")
        if not isinstance(data_path, str) or not data_path:
            raise ValueError(f"data_path must be a non-empty string, not {data_path!r}")
        if isinstance(dtype, str) and dtype == "json":
            raise ValueError("An hdf5_fallback stream is numeric; it cannot be a JSON stream")
        info = copy.deepcopy(dict(info or {}))
        info.update(file_path=file_path, data_path=data_path, save=True, plugin=PLUGIN_NAME)
        return make_definition(name, dtype, shape, info)

    @property
    def plugin(self) -> str:
        return PLUGIN_NAME

    @property
    def file_path(self) -> str:
        return self._file_path

    @property
    def data_path(self) -> str:
        return self._data_path

    def __getitem__(self, key: Any) -> Any:
        try:
            return super().__getitem__(key)
        except IndexNoMoreThereError:
            return self._read_file(self._resolve(key))

    def _resolve(self, key: Any) -> Any:
        """The file-side key: negative and open bounds made absolute, up to the stream length."""
        length = len(self)
        if isinstance(key, slice):
            return slice(*key.indices(length))
        index = int(key)
        return index + length if index < 0 else index

    def _read_file(self, key: Any) -> np.ndarray:
        where = f"{self._file_path}::{self._data_path}"
        with open_dataset(self._file_path, self._data_path) as dataset:
            if isinstance(key, slice) and key.stop > len(dataset):
                raise ExternalDataError(
                    f"Stream {self.name!r}: points up to {key.stop} were trimmed from Redis "
                    f"but {where} holds only {len(dataset)} yet"
                )
            data = read_rows(dataset, key, where)
        return np.asarray(data, dtype=self.dtype)

    def _build_view_from_events(
        self, hl_index: int, events: EventRange, last_only: bool
    ) -> BaseView:
        return Hdf5FallbackView(events, self._read_file)


def open_stream(event_stream: EventStream, scan: Scan) -> Stream:
    """Streams without ``info["file_path"]`` (older producers) are saved in the scan's file.

    An older stream whose scan names no file either stays a plain stream: its
    trimmed points are simply gone, as they would be for any other stream.
    """
    file_path = event_stream.info.get("file_path") or scan.path
    if not file_path and "plugin" not in event_stream.info:
        return Stream(event_stream)
    return Hdf5FallbackStream(event_stream, file_path)


stream_cls = Hdf5FallbackStream
view_cls = Hdf5FallbackView
