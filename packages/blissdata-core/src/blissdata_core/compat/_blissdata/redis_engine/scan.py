"""``blissdata.redis_engine.scan``."""

from blissdata_core.scan import Scan, ScanState  # noqa: F401
