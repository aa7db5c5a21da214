"""Backends a :class:`blissdata_h5.File` reads from: Redis scans, the HDF5 file, or both."""
