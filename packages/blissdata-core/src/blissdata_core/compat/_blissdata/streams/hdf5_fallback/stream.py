"""``blissdata.streams.hdf5_fallback.stream``."""

from blissdata_core.streams.plugins.hdf5_fallback import Hdf5FallbackStream as Hdf5BackedStream  # noqa: F401
from blissdata_core.streams.plugins.hdf5_fallback import Hdf5FallbackView as Hdf5BackedView  # noqa: F401
