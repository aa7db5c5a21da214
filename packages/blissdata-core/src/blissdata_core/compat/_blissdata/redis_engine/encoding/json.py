"""``blissdata.redis_engine.encoding.json``."""

from blissdata_core.compat._blissdata.streams.encoding.json import JsonStreamEncoder  # noqa: F401
