"""``blissdata.streams.lima_stream`` (the 1.x path ewoksdata tries)."""

from .lima.stream import LimaStream  # noqa: F401
