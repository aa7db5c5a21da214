"""``blissdata``: the reference client's layout, answered by blissdata_core."""

from blissdata_core.compat.adapters import DataStore
from blissdata_core.scan import Scan, ScanState

__all__ = ["DataStore", "Scan", "ScanState"]
