"""``blissdata.streams.scan_sequence``: streams of scan keys (sequences, groups)."""

from .stream import ScanStream, ScanView  # noqa: F401

stream_cls = ScanStream
view_cls = ScanView
