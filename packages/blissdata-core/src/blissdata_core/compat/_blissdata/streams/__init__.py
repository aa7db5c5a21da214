"""``blissdata.streams``: the classes stream plugins subclass, cursors and definitions."""

from blissdata_core.streams.cursor import BaseView, Cursor, CursorGroup, EventRange
from blissdata_core.streams.definition import StreamDefinition
from blissdata_core.streams.event_stream import EventStream  # noqa: F401  (importable, as there)
from blissdata_core.streams.stream import BaseStream

__all__ = ["BaseStream", "BaseView", "Cursor", "CursorGroup", "EventRange", "StreamDefinition"]
