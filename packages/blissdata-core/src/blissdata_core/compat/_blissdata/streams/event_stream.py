"""``blissdata.streams.event_stream``."""

from blissdata_core.streams.event_stream import EventStream  # noqa: F401
