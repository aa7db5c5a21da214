"""``blissdata.redis_engine.event_stream`` (deprecated path in the reference)."""

from blissdata_core.streams.event_stream import EventStream  # noqa: F401
