"""``blissdata.streams.hdf5_fallback``: streams whose trimmed points are read from the file."""

from .stream import Hdf5BackedStream, Hdf5BackedView  # noqa: F401

stream_cls = Hdf5BackedStream
view_cls = Hdf5BackedView
