"""``blissdata.beacon.config``."""

from blissdata_core.compat.beacon import get_beacon_address  # noqa: F401
