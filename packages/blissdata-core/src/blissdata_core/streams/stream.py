"""High-level streams: what ``scan.streams[name]`` returns.

:class:`Stream` is the default: points are what was published.  Plugins
(``info["plugin"]``) subclass :class:`BaseStream` to interpret events
differently (frame references, scan keys, data backed by files).  A stream
whose plugin is missing or broken becomes a :class:`BrokenStream`, so the rest
of the scan stays readable and only that stream fails when used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import EndOfStream, MissingPluginException
from .cursor import BaseView, Cursor, EventRange, View
from .definition import StreamDefinition, make_definition
from .event_stream import EventStream


class BaseStream:
    """Common surface of every stream class; subclasses interpret the events."""

    def __init__(self, event_stream: EventStream):
        self._event_stream = event_stream

    # -- identity ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._event_stream.name

    @property
    def key(self) -> str:
        return self._event_stream.key

    @property
    def info(self) -> dict[str, Any]:
        return self._event_stream.info

    @property
    def event_stream(self) -> EventStream:
        return self._event_stream

    @property
    def kind(self) -> str:
        raise NotImplementedError

    @property
    def plugin(self) -> str | None:
        return None

    @property
    def dtype(self) -> Any:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @staticmethod
    def make_definition(*args: Any, **kwargs: Any) -> StreamDefinition:
        raise NotImplementedError

    # -- reading ---------------------------------------------------------------------
    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, key: Any) -> Any:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        """Every point, blocking until the stream is sealed."""
        cursor = self.cursor()
        while True:
            try:
                view = cursor.read()
            except EndOfStream:
                return
            if view is not None:
                yield from view

    def cursor(self) -> Cursor:
        return Cursor(self)

    def is_sealed(self) -> bool:
        return self._event_stream.is_sealed()

    def wait_seal(self, timeout: float = 0.0) -> bool:
        return self._event_stream.wait_seal(timeout)

    def need_last_only(self, last_only: bool) -> bool:
        """Whether a cursor reads only the last entry when asked for ``last_only``
        (what cursors call; subclasses override :meth:`_need_last_only`)."""
        return self._need_last_only(last_only)

    def build_view(self, hl_index: int, events: EventRange, last_only: bool) -> BaseView:
        """The view of ``events`` a cursor at ``hl_index`` returns (what cursors
        call; subclasses override :meth:`_build_view_from_events`)."""
        return self._build_view_from_events(hl_index, events, last_only)

    # The two hooks keep blissdata 2.x names: plugins written for it override them.
    def _need_last_only(self, last_only: bool) -> bool:
        return last_only

    def _build_view_from_events(
        self, hl_index: int, events: EventRange, last_only: bool
    ) -> BaseView:
        return View(events)

    # -- writing ---------------------------------------------------------------------
    def send(self, data: Any) -> None:
        """Queue one point, or a batch along the first axis; returns at once."""
        self._event_stream.send(data)

    def join(self, timeout: float | None = None) -> None:
        """Block until the server acknowledged everything sent to this stream."""
        self._event_stream.join(timeout)

    def seal(self) -> int:
        """Flush, then mark the end of the stream; returns its total length."""
        return self._event_stream.seal()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} key={self.key}>"


class Stream(BaseStream):
    """The default stream: numeric arrays or JSON values, exactly as published."""

    make_definition = staticmethod(make_definition)

    @property
    def kind(self) -> str:
        return "json" if self._event_stream.encoding.get("type") == "json" else "array"

    @property
    def dtype(self) -> np.dtype:
        return self._event_stream.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self._event_stream.shape

    def __len__(self) -> int:
        return len(self._event_stream)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self._event_stream.get_index(int(key))
        if isinstance(key, slice):
            return self._event_stream.get_slice(key.start, key.stop, key.step)
        raise TypeError(f"stream indices must be integers or slices, not {type(key).__name__}")


class BrokenStream(BaseStream):
    """Stands in for a stream that cannot be opened; raises the cause when used."""

    def __init__(self, event_stream: EventStream | None, name: str, key: str, info: dict, plugin: str | None,
                 exception: BaseException, kind: str):  # fmt: skip
        self._event_stream = event_stream  # type: ignore[assignment]
        self._name = name
        self._key = key
        self._info = info
        self._plugin = plugin
        self._exception = exception
        self._kind = kind

    @property
    def name(self) -> str:
        return self._name

    @property
    def key(self) -> str:
        return self._key

    @property
    def info(self) -> dict[str, Any]:
        return self._info

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def plugin(self) -> str | None:
        return self._plugin

    @property
    def exception(self) -> BaseException:
        return self._exception

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise self._exception

    dtype = property(_fail)  # type: ignore[assignment]
    shape = property(_fail)  # type: ignore[assignment]
    event_stream = property(_fail)  # type: ignore[assignment]
    __len__ = _fail
    __getitem__ = _fail
    cursor = _fail
    send = _fail
    join = _fail
    seal = _fail
    is_sealed = _fail
    wait_seal = _fail
    _need_last_only = _fail
    _build_view_from_events = _fail


class MissingPluginStream(BrokenStream):
    def __init__(
        self, event_stream: EventStream | None, name: str, key: str, info: dict, plugin: str
    ):
        super().__init__(
            event_stream,
            name,
            key,
            info,
            plugin,
            MissingPluginException(name, plugin),
            "missing_plugin",
        )


class BrokenPluginStream(BrokenStream):
    def __init__(self, event_stream: EventStream | None, name: str, key: str, info: dict, plugin: str | None,
                 exception: BaseException):  # fmt: skip
        super().__init__(event_stream, name, key, info, plugin, exception, "broken_plugin")
