"""The ``scan_sequence`` plugin: a stream whose points are other scans.

A sequence (or group) of scans publishes the scans it runs, one JSON event
``{"key": <scan key>}`` each.  Readers get :class:`~blissdata_core.scan.Scan`
objects loaded from the same data store, or the bare keys with ``get_keys``.
Older producers mark such streams with ``info["format"] = "subscan"`` only.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from ...encoding import JsonEncoder
from ...errors import IndexNoMoreThereError, MalformedEntryError
from ..cursor import BaseView, EventRange, View
from ..definition import StreamDefinition
from ..stream import BaseStream

if TYPE_CHECKING:
    from ...scan import Scan
    from ...store import DataStore

PLUGIN_NAME = "scan_sequence"
LEGACY_FORMAT = "subscan"


def event_key(event: Any, stream: str | None = None) -> str:
    """The scan key an event refers to (``{"key": ...}``, or a bare string)."""
    if isinstance(event, dict):
        event = event.get("key")
    if not isinstance(event, str):
        raise MalformedEntryError(f"Scan sequence event has no scan key: {event!r}", stream)
    return event


class ScanSequenceView(View):
    """Scans a cursor read; trimmed ones cannot be given back."""

    def __init__(self, data_store: DataStore, events: EventRange, stream_name: str):
        super().__init__(events)
        self._data_store = data_store
        self._stream_name = stream_name

    def get_keys(self, start: int | None = None, stop: int | None = None) -> list[str]:
        try:
            events = View.get_data(self, start, stop)
        except IndexNoMoreThereError as exc:
            raise IndexNoMoreThereError(f"{exc} (stream {self._stream_name!r})") from None
        return [event_key(e, self._stream_name) for e in events]

    def get_data(self, start: int | None = None, stop: int | None = None) -> list[Scan]:
        return [self._data_store.load_scan(k) for k in self.get_keys(start, stop)]

    def __repr__(self) -> str:
        return f"ScanSequenceView(index={self.index}, len={len(self)})"


class ScanSequenceStream(BaseStream):
    """Points are scans: ``stream[i]`` loads the i-th scan of the sequence."""

    @staticmethod
    def make_definition(name: str, info: dict[str, Any] | None = None) -> StreamDefinition:  # type: ignore[override]
        info = copy.deepcopy(dict(info or {}))
        info["format"] = LEGACY_FORMAT  # what blissdata < 2 readers look for
        info["plugin"] = PLUGIN_NAME
        return StreamDefinition(name, info, JsonEncoder())

    def __init__(self, event_stream: Any):
        super().__init__(event_stream)
        if event_stream.encoding.get("type") != "json":
            raise ValueError(
                f"Stream {self.name!r}: the scan_sequence plugin needs a JSON encoding, "
                f"not {event_stream.encoding.get('type')!r}"
            )

    @property
    def kind(self) -> str:
        return "scan"

    @property
    def plugin(self) -> str:
        return PLUGIN_NAME

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(object)

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    @property
    def _data_store(self) -> DataStore:
        return self._event_stream.data_store

    def __len__(self) -> int:
        return len(self._event_stream)

    def get_keys(self, key: int | slice) -> str | list[str]:
        """The scan key(s) at ``key``, without loading the scans."""
        if isinstance(key, slice):
            events = self._event_stream.get_slice(key.start, key.stop, key.step)
            return [event_key(e, self.name) for e in events]
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return event_key(self._event_stream.get_index(int(key)), self.name)
        raise TypeError(f"stream indices must be integers or slices, not {type(key).__name__}")

    def __getitem__(self, key: int | slice) -> Scan | list[Scan]:
        keys = self.get_keys(key)
        if isinstance(keys, str):
            return self._data_store.load_scan(keys)
        return [self._data_store.load_scan(k) for k in keys]

    def send(self, data: Any) -> None:
        """Publish scans: a Scan, a scan key, or a list of them."""
        if isinstance(data, (list, tuple)):
            for item in data:
                self.send(item)
            return
        key = getattr(data, "key", data)
        if isinstance(key, dict):
            key = key.get("key")
        if not isinstance(key, str):
            raise TypeError(f"A scan sequence takes scans or scan keys, not {data!r}")
        self._event_stream.send({"key": key})

    def _build_view_from_events(
        self, hl_index: int, events: EventRange, last_only: bool
    ) -> BaseView:
        return ScanSequenceView(self._data_store, events, self.name)


stream_cls = ScanSequenceStream
view_cls = ScanSequenceView
