"""``blissdata.streams.base``."""

from . import BaseStream, BaseView, Cursor, CursorGroup, EventRange, StreamDefinition  # noqa: F401
