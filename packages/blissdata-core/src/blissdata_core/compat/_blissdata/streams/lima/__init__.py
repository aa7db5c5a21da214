"""``blissdata.streams.lima``: the project's lima plugin (frames referenced in files)."""

from .stream import LimaStream, LimaView  # noqa: F401

stream_cls = LimaStream
view_cls = LimaView
