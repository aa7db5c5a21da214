"""``blissdata.streams.encoding.numeric``."""

from blissdata_core.encoding import NumericEncoder as NumericStreamEncoder  # noqa: F401
