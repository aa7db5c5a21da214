"""Common part of plugins whose Redis stream only reports a detector's progress.

The detector keeps its data (frames, spectra) to itself and saves them into
files; each event of the stream is a status whose newest one says everything
(how many points exist, how many are saved).  :class:`StatusStream` follows
those statuses, gives the stream's length, checks indexes and builds cursor
views of the points acquired; subclasses decode a status and read points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import (
    EmptyViewException,
    IndexNotYetThereError,
    IndexWontBeThereError,
    MalformedEntryError,
)
from ..cursor import BaseView, EventRange
from ..event_stream import EventStream
from ..stream import BaseStream


@dataclass(frozen=True)
class Progress:
    """What the newest status says: points acquired, points saved (a count), sealed."""

    length: int = 0
    saved: int = 0
    sealed: bool = False


class PointView(BaseView):
    """Points ``index .. index + len - 1`` that a cursor saw acquired."""

    def __init__(self, stream: StatusStream, start: int, stop: int):
        self._stream = stream
        self._range = range(start, stop)

    @property
    def index(self) -> int:
        return self._range.start

    def __len__(self) -> int:
        return len(self._range)

    def __iter__(self):
        for i in self._range:
            yield self._stream[i]

    def get_data(self, start: int | None = None, stop: int | None = None) -> np.ndarray:
        wanted = self._range[start:stop]
        return self._stream[wanted.start : wanted.stop]

    def get_references(self, start: int | None = None, stop: int | None = None) -> list[Any]:
        wanted = self._range[start:stop]
        return self._stream.get_references(slice(wanted.start, wanted.stop))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, len={len(self)})"


class StatusStream(BaseStream):
    """A stream of status events standing for points kept elsewhere (see the module)."""

    view_cls: type[PointView] = PointView
    #: The ``plugin`` name in the stream's info.
    plugin_name: str = ""

    def __init__(self, event_stream: EventStream):
        super().__init__(event_stream)
        # each point is an array the detector describes in the stream's info
        self._dtype = np.dtype(self.info["dtype"])
        self._shape = tuple(int(n) for n in self.info["shape"])
        self._progress = Progress()
        self._seen_end = 0  # entries read so far
        self._last_only_asked: bool | None = None

    # -- to implement ------------------------------------------------------------------
    def _decode_progress(self, status: Any, previous: Progress) -> tuple[int, int]:
        """(points acquired, points saved) from one status event (ValueError if malformed)."""
        raise NotImplementedError

    # -- description --------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "array"

    @property
    def plugin(self) -> str:
        return self.plugin_name

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    # -- statuses -----------------------------------------------------------------------
    def _update(self, status: Any, sealed: bool) -> None:
        length, saved = self._progress.length, self._progress.saved
        if status is not None:
            try:
                length, saved = self._decode_progress(status, self._progress)
            except (ValueError, TypeError, KeyError) as exc:
                raise MalformedEntryError(f"bad status {status!r}: {exc}", self.name) from None
            # statuses only move forward (a late duplicate never shrinks the stream)
            length = max(length, self._progress.length)
            saved = max(saved, self._progress.saved)
        self._progress = Progress(length, saved, self._progress.sealed or sealed)

    def _apply(self, entries: list[Any]) -> None:
        data = [e for e in entries if not e.is_seal]
        sealed = any(e.is_seal for e in entries)
        for entry in entries:
            self._event_stream.note_seal(entry)
        status = None
        if data:
            status = self._last_point(self._event_stream.decode(data[-1:]))
            self._seen_end = max(self._seen_end, data[-1].end)
        self._update(status, sealed)

    @staticmethod
    def _last_point(decoded: Any) -> Any:
        return decoded[-1]

    def _refresh(self) -> Progress:
        """Read the newest status (one round trip), unless the stream is known sealed."""
        if not self._progress.sealed:
            self._apply(self._event_stream.revrange(count=2))
        return self._progress

    def _wait_status(self, timeout: float | None) -> bool:
        """Block until a status newer than the ones seen arrives (or the seal)."""
        block_s = 0.0 if timeout is None else max(timeout, 0.001)
        entries = self._event_stream.wait_entries(self._seen_end, block_s)
        if not entries:
            return False
        self._apply(entries)
        return True

    def _wait_progress(self, done, timeout: float | None) -> bool:
        """Wait until ``done(progress)``; False when the stream is sealed first, or on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        progress = self._refresh()
        while not done(progress):
            if progress.sealed:
                return False
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._wait_status(remaining)
            progress = self._progress
        return True

    def __len__(self) -> int:
        return self._refresh().length

    # -- indexes -------------------------------------------------------------------------
    def _point_range(self, key: Any) -> range | int:
        """The points of ``key``: a range for a slice, an int for an index (checked).

        As for the reference plugins and plain streams, counting from the end
        needs the end: negative indexes and slice bounds raise
        :class:`IndexNotYetThereError` until the stream is sealed.
        """
        if isinstance(key, slice):
            if key.step is not None and key.step <= 0:
                raise ValueError("slice step must be a positive integer")
            if any(b is not None and b < 0 for b in (key.start, key.stop)):
                self._need_end()
            return range(*key.indices(len(self)))
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            index = int(key)
            length = self._progress.length
            if index < 0 or index >= length:
                length = self._refresh().length
            if index < 0:
                self._need_end()
                index += length
            if not 0 <= index < length:
                if self._progress.sealed:
                    raise IndexWontBeThereError(
                        f"Stream {self.name!r} is sealed with {length} points, "
                        f"there will be no point {int(key)}"
                    )
                raise IndexNotYetThereError(f"Point {index} of {self.name!r} not yet acquired")
            return index
        raise TypeError(f"stream indices must be integers or slices, not {type(key).__name__}")

    def _need_end(self) -> None:
        if not self._refresh().sealed:
            raise IndexNotYetThereError(
                f"Stream {self.name!r} is not sealed: indexes from its end have no meaning yet"
            )

    # -- cursors -------------------------------------------------------------------------
    def _need_last_only(self, last_only: bool) -> bool:
        # Remember what the reader asked: some cursor versions pass last_only=True
        # to the view builder whenever this returns True.
        self._last_only_asked = last_only
        return True  # the newest status says everything

    def _build_view_from_events(
        self, hl_index: int, events: EventRange, last_only: bool
    ) -> BaseView:
        if self._last_only_asked is not None:
            last_only = self._last_only_asked
        status = self._last_point(events.data) if len(events.data) else None
        self._update(status, events.end_of_stream)
        self._seen_end = max(self._seen_end, events.index + len(events))
        length = self._progress.length
        if length <= hl_index:
            raise EmptyViewException()
        return self.view_cls(self, length - 1 if last_only else hl_index, length)
