"""Exceptions of the writer service and the producer."""

from __future__ import annotations

from blissdata_core.errors import BlissdataError


class WriterError(BlissdataError):
    """Base of the writer's errors: each one fails a scan, never the service."""


class H5MapError(WriterError, ValueError):
    """A scan's ``h5maps`` does not follow the item/value format."""


class PathRefusedError(WriterError, PermissionError):
    """A target file is relative, or outside every ``--root`` directory."""


class EntryExistsError(WriterError, FileExistsError):
    """The target file already holds an object the scan wants to create."""


class ScanFailedError(WriterError):
    """A scan could not be written completely (``write`` command)."""


class DiskFullError(WriterError, OSError):
    """Writing would leave less free space than the reserve the writer keeps."""
