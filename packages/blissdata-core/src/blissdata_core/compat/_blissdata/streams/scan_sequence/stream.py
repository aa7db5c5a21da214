"""``blissdata.streams.scan_sequence.stream``."""

from blissdata_core.streams.plugins.scan_sequence import ScanSequenceStream as ScanStream  # noqa: F401
from blissdata_core.streams.plugins.scan_sequence import ScanSequenceView as ScanView  # noqa: F401
