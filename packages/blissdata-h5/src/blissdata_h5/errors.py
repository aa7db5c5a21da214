"""Errors of the h5 facade, all under :class:`blissdata_core.errors.BlissdataError`.

Lookup failures also derive from :class:`KeyError` so that code written for
h5py (``except KeyError``) keeps working; their message always names the path.
"""

from __future__ import annotations

from blissdata_core.errors import BlissdataError, H5MapError, MissingPluginException

__all__ = [
    "DanglingLinkError",
    "FileSourceError",
    "H5MapError",
    "H5PathError",
    "MissingPluginError",
    "MissingStreamError",
]


class _KeyErrorMessage(KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class H5PathError(BlissdataError, _KeyErrorMessage):
    """Nothing lives at that path (or a link on the way leads nowhere)."""


class DanglingLinkError(H5PathError):
    """A soft or external link points to nothing."""


class MissingStreamError(H5PathError):
    """A dataset refers to a stream the scan does not have."""


class MissingPluginError(MissingPluginException):
    """A streamed dataset's stream needs a plugin that is not installed here."""

    def __init__(self, path: str, stream_name: str, plugin_name: str):
        self.path = path
        self.stream_name = stream_name
        self.plugin_name = plugin_name
        BlissdataError.__init__(
            self,
            f"{path}: stream {stream_name!r} needs plugin {plugin_name!r}, which is not installed",
        )


class FileSourceError(BlissdataError, OSError):
    """The HDF5 file could not be opened or read (within the retry timeout)."""


class OutsideRootsError(BlissdataError, PermissionError):
    """The requested file is in none of the served directories."""
