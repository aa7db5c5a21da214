"""Exceptions of the writer service and the producer."""

from __future__ import annotations

from blissdata_core.errors import BlissdataError, H5MapError


class WriterError(BlissdataError):
    """Base of the writer's errors: each one fails a scan, never the service."""


#: Errors that fail a scan with their message alone (no traceback, no class name);
#: a bad map raises the core's :class:`H5MapError`, shared with the h5 facade.
SCAN_ERRORS = (WriterError, H5MapError)

__all__ = [
    "SCAN_ERRORS",
    "DiskFullError",
    "EntryExistsError",
    "H5MapError",
    "PathRefusedError",
    "ScanFailedError",
    "WriterError",
]


class PathRefusedError(WriterError, PermissionError):
    """A target file is relative, or outside every ``--root`` directory."""


class EntryExistsError(WriterError, FileExistsError):
    """The target file already holds an object the scan wants to create."""


class ScanFailedError(WriterError):
    """A scan could not be written completely (``write`` command)."""


class DiskFullError(WriterError, OSError):
    """Writing would leave less free space than the reserve the writer keeps."""


class Interrupted(WriterError):
    """The service is stopping: leave the scan for a restarted writer."""
