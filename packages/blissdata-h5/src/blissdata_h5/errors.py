"""Errors of the h5 facade, all under :class:`blissdata_core.errors.BlissdataError`.

Lookup failures also derive from :class:`KeyError` so that code written for
h5py (``except KeyError``) keeps working; their message always names the path.
"""

from __future__ import annotations

from blissdata_core.errors import BlissdataError, H5MapError

__all__ = [
    "DanglingLinkError",
    "FileSourceError",
    "H5MapError",
    "H5PathError",
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


class FileSourceError(BlissdataError, OSError):
    """The HDF5 file could not be opened or read (within the retry timeout)."""
