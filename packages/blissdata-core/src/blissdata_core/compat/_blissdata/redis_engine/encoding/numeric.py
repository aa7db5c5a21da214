"""``blissdata.redis_engine.encoding.numeric``."""

from blissdata_core.compat._blissdata.streams.encoding.numeric import NumericStreamEncoder  # noqa: F401
