"""``blissdata.scan`` (deprecated path in the reference)."""

from blissdata_core.scan import Scan, ScanState  # noqa: F401
