"""``blissdata.streams.encoding``."""

from blissdata_core.encoding import Encoder as StreamEncoder  # noqa: F401
