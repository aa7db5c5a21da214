"""``blissdata.beacon.data``: where the Redis databases are (Beacon, or an override)."""

from blissdata_core.compat.beacon import BeaconData  # noqa: F401
