"""``blissdata.streams.encoding.json``."""

from blissdata_core.encoding import JsonEncoder as JsonStreamEncoder  # noqa: F401
