"""``blissdata.redis_engine.store``."""

from blissdata_core.compat.adapters import DataStore  # noqa: F401
